/* Helpers every subcommand shares: error printing, usage errors, and the
 * file I/O rules (read with a size limit; write to a temporary name and
 * rename, so a failed run never leaves a half-written file behind). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "muse_err.h"

int cli_fail(const muse_error_t *err)
{
    fprintf(stderr, "muse: %s\n", err && err->message[0] ? err->message : muse_strerror(err ? err->code : MUSE_EINTERNAL));
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "muse %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'muse %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

int cli_write_file(const char *path, const void *data, size_t len, muse_error_t *err)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return muse_err(err, MUSE_EIO, "writing to standard output failed: %s", strerror(errno));
        return MUSE_OK;
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = muse_err(err, MUSE_EIO, "%s: cannot write: %s", path, strerror(errno));
        free(tmp);
        return rc;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fflush(f) == 0;
    ok &= fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        int rc = muse_err(err, MUSE_EIO, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return MUSE_OK;
}

int cli_read_file(const char *path, char **out, size_t *len, size_t max, muse_error_t *err)
{
    *out = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return muse_err(err, MUSE_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    int rc = MUSE_OK;
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > max) {
            rc = muse_err(err, MUSE_ELIMIT, "%s: larger than the %zu-byte limit", path, max);
            break;
        }
        if (r == 0)
            break;
        if (n == cap) {
            char *b = realloc(buf, cap * 2 + 1);
            if (!b)
                break;
            buf = b;
            cap *= 2;
        }
    }
    if (!buf && rc == MUSE_OK)
        rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", path);
    if (rc == MUSE_OK && ferror(f))
        rc = muse_err(err, MUSE_EIO, "%s: read error: %s", path, strerror(errno));
    if (f != stdin)
        fclose(f);
    if (rc != MUSE_OK) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return MUSE_OK;
}
