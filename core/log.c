/* See log.h. A single atomic level keeps concurrent log calls cheap. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "core/log.h"

static atomic_int level = LOG_WARN;

void log_set_level(log_level_t l)
{
    atomic_store(&level, (int)l);
}

log_level_t log_get_level(void)
{
    return (log_level_t)atomic_load(&level);
}

void log_msg(log_level_t l, const char *fmt, ...)
{
    if ((int)l > atomic_load(&level))
        return;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s muse[%s]: %s\n", ts, names[l], line);
}
