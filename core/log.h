/* Logging to stderr with levels. The level is per process (set once by the
 * CLI or server at start-up, before threads exist). Question text and PHI are
 * never logged above debug level: callers log sizes and verdicts, not text. */
#ifndef MUSE_LOG_H
#define MUSE_LOG_H

typedef enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level_t;

void log_set_level(log_level_t level);
log_level_t log_get_level(void);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void log_msg(log_level_t level, const char *fmt, ...);

#endif
