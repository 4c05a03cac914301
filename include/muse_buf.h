/* Internal helper shared by every module (not installed): a growable,
 * always NUL-terminated text buffer. Appends after a failed allocation are
 * no-ops and set oom, so a builder checks once at the end:
 *     muse_buf_t b = {0};
 *     muse_buf_printf(&b, "%d readings", n);
 *     if (b.oom) ...; free(b.p);
 * Header-only, like muse_err.h, so modules low in the dependency order can
 * use it without depending on core/. */
#ifndef MUSE_BUF_H
#define MUSE_BUF_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct muse_buf {
    char *p;     /* the text, or NULL before the first append; free() */
    size_t n;    /* its length */
    size_t cap;
    int oom;     /* sticky: an allocation failed */
} muse_buf_t;

/* Makes room for `more` bytes and the NUL. */
static inline int muse_buf_reserve(muse_buf_t *b, size_t more)
{
    if (b->oom)
        return 0;
    if (b->p && b->n + more < b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap <= b->n + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->p = p;
    b->cap = cap;
    return 1;
}

static inline void muse_buf_add(muse_buf_t *b, const char *s, size_t n)
{
    if (!muse_buf_reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static inline void muse_buf_puts(muse_buf_t *b, const char *s)
{
    muse_buf_add(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static inline void muse_buf_printf(muse_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if (!muse_buf_reserve(b, (size_t)k))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

#endif
