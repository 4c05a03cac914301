/* Helpers shared by the viz tests: reading spec files from the source tree,
 * parsing and laying out with assertions, and a small XML well-formedness
 * check (tags balance, attributes are quoted, entities are known), so the
 * SVG tests need no XML library. */
#ifndef MUSE_VIZ_TEST_H
#define MUSE_VIZ_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "viz/viz.h"

#ifndef MUSE_TEST_SOURCE_ROOT
#define MUSE_TEST_SOURCE_ROOT "."
#endif

static inline char *vt_read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    if (b) {
        b[n] = '\0';
        if (len)
            *len = (size_t)n;
    }
    return b;
}

/* A file under the source tree ($MUSE_SOURCE_ROOT, else the build's). */
static inline char *vt_read(const char *rel)
{
    const char *root = getenv("MUSE_SOURCE_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root && *root ? root : MUSE_TEST_SOURCE_ROOT, rel);
    char *b = vt_read_path(path, NULL);
    if (!b)
        fail_msg("cannot read %s", path);
    return b;
}

static inline viz_chart_t *vt_chart(const char *json)
{
    viz_chart_t *c = NULL;
    muse_error_t e = {0};
    int rc = viz_chart_parse(json, &c, &e);
    if (rc != MUSE_OK)
        fail_msg("spec did not parse: %s", e.message);
    return c;
}

static inline viz_scene_t *vt_scene(const viz_chart_t *c, const viz_render_opts_t *o)
{
    viz_scene_t *s = NULL;
    muse_error_t e = {0};
    if (viz_scene_build(c, o, &s, &e) != MUSE_OK)
        fail_msg("layout failed: %s", e.message);
    return s;
}

/* Parses spec_json, expecting failure; returns the message (static buffer). */
static inline const char *vt_parse_error(const char *json, int *code)
{
    static muse_error_t e;
    memset(&e, 0, sizeof e);
    viz_chart_t *c = NULL;
    int rc = viz_chart_parse(json, &c, &e);
    viz_chart_free(c);
    if (code)
        *code = rc;
    if (rc == MUSE_OK)
        fail_msg("expected an error for: %.200s", json);
    return e.message;
}

#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static unsigned char *vt_render(const viz_chart_t *c, viz_format_t f, const viz_render_opts_t *o,
                                size_t *len)
{
    unsigned char *out = NULL;
    muse_error_t e = {0};
    if (viz_render(c, f, o, &out, len, &e) != MUSE_OK)
        fail_msg("render failed: %s", e.message);
    return out;
}

/* Group teardown: Cairo and fontconfig keep font caches for the life of
 * the process; drop them so LeakSanitizer sees only our own leaks. */
static inline int vt_teardown(void **state)
{
    (void)state;
    cairo_debug_reset_static_data();
    FcFini();
    return 0;
}

/* ---- XML well-formedness -------------------------------------------------- */

/* Returns NULL when well formed, else what is wrong (static buffer). Checks
 * element nesting, quoted attributes, entity references and that nothing
 * follows the root; enough to catch a broken merge or bad escaping. */
static inline const char *vt_xml_check(const char *s, size_t n)
{
    static char msg[256];
    char stack[256][64];
    int depth = 0, roots = 0;
    size_t i = 0;
    while (i < n) {
        if (s[i] == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"};
            int ok = 0;
            for (int k = 0; k < 6; k++)
                if (strncmp(s + i, ents[k], strlen(ents[k])) == 0)
                    ok = 1;
            if (!ok) {
                snprintf(msg, sizeof msg, "bare '&' at byte %zu", i);
                return msg;
            }
            i++;
            continue;
        }
        if (s[i] != '<') {
            if (depth == 0 && roots && s[i] != '\n' && s[i] != ' ' && s[i] != '\r' && s[i] != '\t') {
                snprintf(msg, sizeof msg, "text after the root at byte %zu", i);
                return msg;
            }
            i++;
            continue;
        }
        if (strncmp(s + i, "<?", 2) == 0) {
            const char *e = strstr(s + i, "?>");
            if (!e)
                return "unterminated <?";
            i = (size_t)(e - s) + 2;
            continue;
        }
        if (strncmp(s + i, "<!--", 4) == 0) {
            const char *e = strstr(s + i, "-->");
            if (!e)
                return "unterminated comment";
            i = (size_t)(e - s) + 3;
            continue;
        }
        int closing = s[i + 1] == '/';
        size_t j = i + 1 + (size_t)closing, k = j;
        while (k < n && s[k] != ' ' && s[k] != '>' && s[k] != '/' && s[k] != '\n')
            k++;
        char name[64];
        size_t nl = k - j < 63 ? k - j : 63;
        memcpy(name, s + j, nl);
        name[nl] = '\0';
        if (!nl) {
            snprintf(msg, sizeof msg, "empty tag name at byte %zu", i);
            return msg;
        }
        /* attributes */
        int self = 0;
        while (k < n && s[k] != '>') {
            if (s[k] == '"' || s[k] == '\'') {
                char q = s[k];
                const char *e = memchr(s + k + 1, q, n - k - 1);
                if (!e)
                    return "unterminated attribute value";
                if (memchr(s + k + 1, '<', (size_t)(e - (s + k + 1)))) {
                    snprintf(msg, sizeof msg, "'<' inside an attribute of <%s>", name);
                    return msg;
                }
                k = (size_t)(e - s) + 1;
                continue;
            }
            if (s[k] == '=' && k + 1 < n && s[k + 1] != '"' && s[k + 1] != '\'') {
                snprintf(msg, sizeof msg, "unquoted attribute in <%s>", name);
                return msg;
            }
            if (s[k] == '/' && k + 1 < n && s[k + 1] == '>')
                self = 1;
            k++;
        }
        if (k >= n)
            return "unterminated tag";
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                snprintf(msg, sizeof msg, "</%s> does not close <%s>", name, depth ? stack[depth - 1] : "");
                return msg;
            }
            depth--;
        } else if (!self) {
            if (depth == 0)
                roots++;
            if (depth >= 255)
                return "nesting too deep";
            snprintf(stack[depth++], 64, "%s", name);
        } else if (depth == 0) {
            roots++;
        }
        i = k + 1;
    }
    if (depth) {
        snprintf(msg, sizeof msg, "<%s> is never closed", stack[depth - 1]);
        return msg;
    }
    if (roots != 1)
        return "not exactly one root element";
    return NULL;
}

static inline size_t vt_count(const char *hay, const char *needle)
{
    size_t c = 0, nl = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        c++;
    return c;
}

#endif
