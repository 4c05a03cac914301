/* The interactive, accessible SVG: Cairo's drawing plus a layer of our own.
 *
 * Cairo writes text as glyph outlines and knows nothing of series or data,
 * so the scene is drawn in runs, one Cairo SVG document each: consecutive
 * primitives of one series (or of none), in scene order, which keeps the
 * painter's order exactly. Their <defs> and bodies are merged into one
 * <svg> with every id prefixed (run by run, so glyph ids of two runs never
 * collide, and by the caller's prefix, so several charts can share a page);
 * a series' runs are groups of class PREFIX-sN that the HTML page can hide;
 * every datum gets a hit target with a <title> tooltip and keyboard focus.
 * The root is role="img" with <title> and <desc> (the generated summary),
 * which is what a screen reader announces. No script: an SVG opened on its
 * own still shows native tooltips and focus rings. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "muse_hash.h"
#include "viz/viz_int.h"

#define MAX_HITS_PER_SERIES 3000

/* Glyph outlines shared between runs: Cairo writes each run's glyphs
 * anew, and text in ten runs would carry the alphabet ten times. A symbol
 * whose outline was already written becomes an alias of the first. */
typedef struct sym {
    uint64_t hash;
    const char *body;   /* points into a run's document, alive while merging */
    size_t len;
    char id[64];        /* the id it was written under */
} sym_t;

typedef struct alias {
    uint64_t hash;      /* of `from` */
    char from[64];
    char to[64];
} alias_t;

typedef struct dedupe {
    sym_t *syms;
    size_t nsyms, capsyms;
    alias_t *aliases;
    size_t naliases, capaliases;
    int oom;
} dedupe_t;

static const char *alias_of(const dedupe_t *d, const char *id, size_t n)
{
    uint64_t h = muse_fnv1a64(MUSE_FNV64_SEED, id, n);
    for (size_t i = 0; i < d->naliases; i++)
        if (d->aliases[i].hash == h && strlen(d->aliases[i].from) == n &&
            memcmp(d->aliases[i].from, id, n) == 0)
            return d->aliases[i].to;
    return NULL;
}

/* Copies src[0..n) to out, prefixing ids and their references; references
 * to deduplicated glyphs point at the glyph kept. */
static void put_prefixed(viz_buf_t *out, const char *src, size_t n, const char *pre,
                         const dedupe_t *d)
{
    static const char *const pats[] = {" id=\"", "href=\"#", "url(#"};
    static const size_t plen[] = {5, 7, 5};
    size_t i = 0, run = 0, pl = strlen(pre);
    while (i < n) {
        /* Cheap first-byte test: this runs over every byte of the drawing. */
        int k = src[i] == ' ' ? 0 : src[i] == 'h' ? 1 : src[i] == 'u' ? 2 : -1;
        int hit = -1;
        if (k >= 0 && i + plen[k] <= n && memcmp(src + i, pats[k], plen[k]) == 0) {
            hit = k;
            i += plen[k];
        }
        if (hit < 0) {
            i++;
            continue;
        }
        vb_put(out, src + run, i - run);
        run = i;
        if (hit == 1 && d && d->naliases) {
            size_t e = i;
            while (e < n && src[e] != '"')
                e++;
            char full[128];
            if (pl + (e - i) < sizeof full) {
                memcpy(full, pre, pl);
                memcpy(full + pl, src + i, e - i);
                const char *to = alias_of(d, full, pl + (e - i));
                if (to) {
                    vb_puts(out, to);
                    run = i = e;
                    continue;
                }
            }
        }
        vb_puts(out, pre);
    }
    vb_put(out, src + run, n - run);
}

/* Writes a run's <defs> content, glyph symbols deduplicated. */
static void put_defs(viz_buf_t *out, const char *src, size_t n, const char *pre, dedupe_t *d)
{
    const char *end = src + n, *p = src;
    for (;;) {
        const char *sy = NULL;
        for (const char *q = p; q + 7 <= end; q++)
            if (memcmp(q, "<symbol", 7) == 0) {
                sy = q;
                break;
            }
        const char *gt = sy ? memchr(sy, '>', (size_t)(end - sy)) : NULL;
        const char *close = NULL;
        if (gt)
            for (const char *q = gt; q + 9 <= end; q++)
                if (memcmp(q, "</symbol>", 9) == 0) {
                    close = q;
                    break;
                }
        const char *idp = NULL;
        if (close)
            for (const char *q = sy; q + 4 < gt; q++)
                if (memcmp(q, "id=\"", 4) == 0) {
                    idp = q + 4;
                    break;
                }
        const char *ide = idp ? memchr(idp, '"', (size_t)(gt - idp)) : NULL;
        if (!ide) {
            put_prefixed(out, p, (size_t)(end - p), pre, NULL);
            return;
        }
        put_prefixed(out, p, (size_t)(sy - p), pre, NULL);
        const char *body = gt + 1;
        size_t blen = (size_t)(close - body);
        uint64_t h = muse_fnv1a64(MUSE_FNV64_SEED, body, blen);
        char id[64];
        size_t pl = strlen(pre), il = (size_t)(ide - idp);
        if (pl + il >= sizeof id) {   /* never with our prefixes; keep it as it is */
            put_prefixed(out, sy, (size_t)(close + 9 - sy), pre, NULL);
            p = close + 9;
            continue;
        }
        memcpy(id, pre, pl);
        memcpy(id + pl, idp, il);
        id[pl + il] = '\0';
        const sym_t *same = NULL;
        for (size_t i = 0; i < d->nsyms && !same; i++)
            if (d->syms[i].hash == h && d->syms[i].len == blen && memcmp(d->syms[i].body, body, blen) == 0)
                same = &d->syms[i];
        if (same) {
            if (d->naliases == d->capaliases) {
                size_t cap = d->capaliases ? d->capaliases * 2 : 64;
                alias_t *a = realloc(d->aliases, cap * sizeof *a);
                if (!a) {
                    d->oom = 1;
                    return;
                }
                d->aliases = a;
                d->capaliases = cap;
            }
            alias_t *a = &d->aliases[d->naliases++];
            memcpy(a->from, id, sizeof a->from);
            snprintf(a->to, sizeof a->to, "%s", same->id);
            a->hash = muse_fnv1a64(MUSE_FNV64_SEED, a->from, strlen(a->from));
        } else {
            if (d->nsyms == d->capsyms) {
                size_t cap = d->capsyms ? d->capsyms * 2 : 64;
                sym_t *sm = realloc(d->syms, cap * sizeof *sm);
                if (!sm) {
                    d->oom = 1;
                    return;
                }
                d->syms = sm;
                d->capsyms = cap;
            }
            sym_t *sm = &d->syms[d->nsyms++];
            sm->hash = h;
            sm->body = body;
            sm->len = blen;
            memcpy(sm->id, id, sizeof sm->id);
            put_prefixed(out, sy, (size_t)(close + 9 - sy), pre, NULL);
        }
        p = close + 9;
    }
}

static const char *find(const char *hay, const char *end, const char *needle)
{
    size_t nl = strlen(needle);
    for (const char *p = hay; p + nl <= end; p++)
        if (memcmp(p, needle, nl) == 0)
            return p;
    return NULL;
}

static const char *rfind(const char *hay, const char *end, const char *needle)
{
    size_t nl = strlen(needle);
    for (const char *p = end - nl; p >= hay; p--)
        if (memcmp(p, needle, nl) == 0)
            return p;
    return NULL;
}

/* Splits a Cairo SVG document into its <defs> content and its body. */
static int split_cairo_svg(const viz_buf_t *doc, const char **defs, size_t *ndefs,
                           const char **body, size_t *nbody)
{
    const char *s = doc->p, *end = doc->p + doc->len;
    const char *root = find(s, end, "<svg");
    const char *root_end = root ? find(root, end, ">") : NULL;
    const char *close = rfind(s, end, "</svg>");
    if (!root_end || !close || close < root_end)
        return MUSE_EINTERNAL;
    const char *d0 = find(root_end, close, "<defs>");
    const char *d1 = d0 ? find(d0, close, "</defs>") : NULL;
    *defs = NULL;
    *ndefs = 0;
    const char *b0 = root_end + 1;
    if (d0 && d1) {
        *defs = d0 + 6;
        *ndefs = (size_t)(d1 - *defs);
        b0 = d1 + 7;
    }
    *body = b0;
    *nbody = (size_t)(close - b0);
    return MUSE_OK;
}

static void hit_target(viz_buf_t *b, const viz_datum_t *d, const char *pre, size_t index)
{
    /* aria-label reads the tooltip lines as one phrase. */
    char *flat = viz_strdup(d->label);
    if (flat)
        for (char *p = flat; *p; p++)
            if (*p == '\n')
                *p = ';';
    if (d->w > 0 && d->h > 0) {
        double w = fmax(d->w, 6), h = fmax(d->h, 6);
        vb_printf(b, "<rect class=\"%s-hit\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"",
                  pre, d->x - w / 2, d->y - h / 2, w, h);
    } else {
        vb_printf(b, "<circle class=\"%s-hit\" cx=\"%.2f\" cy=\"%.2f\" r=\"7\"", pre, d->x, d->y);
    }
    vb_printf(b, " tabindex=\"0\" data-i=\"%zu\" aria-label=\"", index);
    vb_put_xml(b, flat ? flat : "");
    vb_puts(b, "\"><title>");
    vb_put_xml(b, d->label);
    vb_puts(b, d->w > 0 && d->h > 0 ? "</title></rect>\n" : "</title></circle>\n");
    free(flat);
}

static void hits_for(viz_buf_t *b, const viz_scene_t *s, int series, const char *pre)
{
    size_t n = viz_scene_datum_count(s), count = 0;
    for (size_t i = 0; i < n && count < MAX_HITS_PER_SERIES; i++) {
        const viz_datum_t *d = viz_scene_datum(s, i);
        if (d->series != series || !isfinite(d->x) || !isfinite(d->y))
            continue;
        hit_target(b, d, pre, i);
        count++;
    }
}

/* A run: consecutive primitives of one series (or of none), in scene order.
 * Drawing runs in order keeps the painter's order exactly, while each run
 * can sit in its own group (clip primitives join whatever run they are in:
 * every pass applies them anyway). */
typedef struct run {
    size_t start, end;
    int series;
} run_t;

static int make_runs(const viz_scene_t *s, run_t **out, size_t *nout)
{
    size_t n = viz_scene_count(s), cap = 16, nr = 0;
    run_t *r = malloc(cap * sizeof *r);
    if (!r)
        return MUSE_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        int clip = p->kind == VIZ_PRIM_CLIP_BEGIN || p->kind == VIZ_PRIM_CLIP_END;
        int ser = p->series < 0 ? -1 : p->series;
        if (nr && (clip || r[nr - 1].series == ser)) {
            r[nr - 1].end = i + 1;
            continue;
        }
        if (nr == cap) {
            cap *= 2;
            run_t *t = realloc(r, cap * sizeof *t);
            if (!t) {
                free(r);
                return MUSE_ENOMEM;
            }
            r = t;
        }
        r[nr++] = (run_t){i, i + 1, ser};
    }
    *out = r;
    *nout = nr;
    return MUSE_OK;
}

/* The SVG itself; `standalone` adds the XML declaration. */
static int svg_doc(const viz_scene_t *s, const char *pre, int standalone, viz_buf_t *out,
                   muse_error_t *err)
{
    size_t n = viz_scene_count(s), ns = viz_scene_series_count(s);
    run_t *runs = NULL;
    size_t nruns = 0;
    viz_buf_t *docs = NULL;
    unsigned char *mask = malloc(n ? n : 1);
    size_t *last_run = calloc(ns + 1, sizeof *last_run);
    dedupe_t dd = {0};
    int rc = MUSE_OK;
    if (!mask || !last_run || make_runs(s, &runs, &nruns) != MUSE_OK ||
        !(docs = calloc(nruns ? nruns : 1, sizeof *docs))) {
        rc = muse_err(err, MUSE_ENOMEM, "SVG: out of memory");
        goto done;
    }
    for (size_t k = 0; k < nruns; k++) {
        memset(mask, 0, n);
        memset(mask + runs[k].start, 1, runs[k].end - runs[k].start);
        if ((rc = viz_cairo_svg_mask(s, mask, &docs[k], err)) != MUSE_OK)
            goto done;
        if (runs[k].series >= 0 && (size_t)runs[k].series < ns)
            last_run[runs[k].series] = k + 1;
    }

    double W = viz_scene_width(s), H = viz_scene_height(s);
    const char *title = *viz_scene_title(s) ? viz_scene_title(s) : "Chart";
    if (standalone)
        vb_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    vb_printf(out,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "
              "version=\"1.1\" width=\"%gpt\" height=\"%gpt\" viewBox=\"0 0 %g %g\" id=\"%s\" "
              "class=\"muse-chart-svg\" role=\"img\" aria-labelledby=\"%s-title %s-desc\" "
              "data-prefix=\"%s\">\n",
              W, H, W, H, pre, pre, pre, pre);
    vb_printf(out, "<title id=\"%s-title\">", pre);
    vb_put_xml(out, title);
    vb_printf(out, "</title>\n<desc id=\"%s-desc\">", pre);
    vb_put_xml(out, viz_scene_summary(s));
    vb_puts(out, "</desc>\n");
    /* Hover and focus show which point the tooltip belongs to. */
    vb_printf(out,
              "<style>\n"
              "#%s .%s-hit{fill:#000;fill-opacity:0;stroke:none;pointer-events:all;cursor:pointer}\n"
              "#%s .%s-hit:hover,#%s .%s-hit:focus{fill-opacity:.14;stroke:#000;stroke-width:1.5;"
              "stroke-opacity:.85;outline:none}\n"
              "#%s .%s-off{display:none}\n"
              "</style>\n",
              pre, pre, pre, pre, pre, pre, pre, pre);
    vb_puts(out, "<defs>\n");
    for (size_t k = 0; k < nruns; k++) {
        const char *defs, *body;
        size_t nd, nb;
        if (split_cairo_svg(&docs[k], &defs, &nd, &body, &nb) != MUSE_OK) {
            rc = muse_err(err, MUSE_EINTERNAL, "SVG: unexpected output from cairo");
            goto done;
        }
        char pp[64];
        snprintf(pp, sizeof pp, "%s-r%zu-", pre, k);
        if (defs)
            put_defs(out, defs, nd, pp, &dd);
    }
    vb_puts(out, "</defs>\n");
    for (size_t k = 0; k < nruns; k++) {
        const char *defs, *body;
        size_t nd, nb;
        char pp[64];
        snprintf(pp, sizeof pp, "%s-r%zu-", pre, k);
        int ser = runs[k].series;
        if (ser >= 0) {
            const viz_series_t *se = viz_scene_series(s, (size_t)ser);
            vb_printf(out, "<g id=\"%s-run%zu\" class=\"%s-series %s-s%d\" data-series=\"%d\" aria-label=\"",
                      pre, k, pre, pre, ser, ser);
            vb_put_xml(out, se ? se->name : "");
            vb_puts(out, "\">\n");
        } else {
            vb_printf(out, "<g id=\"%s-run%zu\">\n", pre, k);
        }
        if (split_cairo_svg(&docs[k], &defs, &nd, &body, &nb) == MUSE_OK)
            put_prefixed(out, body, nb, pp, &dd);
        /* A series' hit targets go in its last run, so they sit on top and
         * hide with it. */
        if (ser >= 0 && last_run[ser] == k + 1)
            hits_for(out, s, ser, pre);
        vb_puts(out, "</g>\n");
    }
    /* Data that belong to no series (bands from data rows): on top. */
    vb_printf(out, "<g id=\"%s-hits\">\n", pre);
    hits_for(out, s, -1, pre);
    for (size_t i = 0; i < ns; i++)
        if (!last_run[i])
            hits_for(out, s, (int)i, pre);   /* a series with data but nothing drawn */
    vb_puts(out, "</g>\n</svg>\n");
    if (out->oom || dd.oom)
        rc = muse_err(err, MUSE_ENOMEM, "SVG: out of memory");
done:
    free(dd.syms);
    free(dd.aliases);
    for (size_t i = 0; docs && i < nruns; i++)
        vb_free(&docs[i]);
    free(docs);
    free(runs);
    free(mask);
    free(last_run);
    return rc;
}

int viz_render_svg(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err)
{
    const char *pre = o && o->id_prefix ? o->id_prefix : "muse";
    if (!viz_prefix_ok(pre))
        return muse_err(err, MUSE_EINVAL,
                        "id prefix \"%.40s\": use a letter then up to 31 letters, digits, '-' or '_'", pre);
    return svg_doc(s, pre, 1, out, err);
}

/* For the HTML page: the same SVG without the XML declaration. */
int viz_svg_inline(const viz_scene_t *s, const char *pre, viz_buf_t *out, muse_error_t *err)
{
    return svg_doc(s, pre, 0, out, err);
}
