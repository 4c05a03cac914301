/* The self-contained HTML page: the interactive SVG, a small script for
 * tooltips and series toggles, and the data as a table.
 *
 * Nothing is fetched: style and script are inlined (viz/html/, embedded at
 * build time), so the page works offline and can be mailed or archived.
 * The table is built from the data's tooltip lines ("Key: value"), one row
 * per data row however many series show it, so what a screen reader reads
 * is exactly what a sighted reader hovers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/viz_int.h"

#define MAX_TABLE_ROWS 1000
#define MAX_TABLE_COLS 16

typedef struct trow {
    int table;
    long row;
    const char *label;
} trow_t;

static int cmp_trow(const void *a, const void *b)
{
    const trow_t *p = a, *q = b;
    if (p->table != q->table)
        return p->table < q->table ? -1 : 1;
    return p->row < q->row ? -1 : p->row > q->row;
}

/* The value for key in "Key: value\nKey2: value2", copied to out. */
static int label_value(const char *label, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = label;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > kl + 1 && strncmp(p, key, kl) == 0 && p[kl] == ':' && p[kl + 1] == ' ') {
            size_t vl = ll - kl - 2;
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, p + kl + 2, vl);
            out[vl] = '\0';
            return 1;
        }
        p = eol ? eol + 1 : NULL;
    }
    return 0;
}

static void table_html(viz_buf_t *b, const viz_scene_t *s)
{
    size_t n = viz_scene_datum_count(s);
    trow_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) {
        b->oom = 1;
        return;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const viz_datum_t *d = viz_scene_datum(s, i);
        if (d->label && *d->label)
            rows[m++] = (trow_t){d->table, d->row, d->label};
    }
    qsort(rows, m, sizeof *rows, cmp_trow);
    size_t u = 0;   /* one row per (table, row) */
    for (size_t i = 0; i < m; i++)
        if (u == 0 || rows[u - 1].table != rows[i].table || rows[u - 1].row != rows[i].row)
            rows[u++] = rows[i];
    if (u == 0) {
        vb_puts(b, "<p>No data.</p>\n");
        free(rows);
        return;
    }
    size_t start = 0;
    while (start < u) {
        size_t end = start;
        while (end < u && rows[end].table == rows[start].table)
            end++;
        /* Columns: every key, in first-seen order. */
        char keys[MAX_TABLE_COLS][64];
        size_t nk = 0;
        for (size_t i = start; i < end && i < start + MAX_TABLE_ROWS; i++) {
            const char *p = rows[i].label;
            while (p && *p) {
                const char *eol = strchr(p, '\n');
                const char *colon = strstr(p, ": ");
                size_t ll = eol ? (size_t)(eol - p) : strlen(p);
                if (colon && (size_t)(colon - p) < ll && (size_t)(colon - p) < 63) {
                    char k[64];
                    memcpy(k, p, (size_t)(colon - p));
                    k[colon - p] = '\0';
                    size_t j = 0;
                    while (j < nk && strcmp(keys[j], k) != 0)
                        j++;
                    if (j == nk && nk < MAX_TABLE_COLS)
                        memcpy(keys[nk++], k, sizeof k);
                }
                p = eol ? eol + 1 : NULL;
            }
        }
        size_t count = end - start;
        vb_puts(b, "<table>\n<caption>");
        if (count > MAX_TABLE_ROWS)
            vb_printf(b, "The first %d of %zu rows drawn.", MAX_TABLE_ROWS, count);
        else
            vb_printf(b, "%zu row%s.", count, count == 1 ? "" : "s");
        vb_puts(b, "</caption>\n<thead><tr>");
        for (size_t j = 0; j < nk; j++) {
            vb_puts(b, "<th scope=\"col\">");
            vb_put_xml(b, keys[j]);
            vb_puts(b, "</th>");
        }
        vb_puts(b, "</tr></thead>\n<tbody>\n");
        for (size_t i = start; i < end && i < start + MAX_TABLE_ROWS; i++) {
            vb_puts(b, "<tr>");
            for (size_t j = 0; j < nk; j++) {
                char v[256];
                if (!label_value(rows[i].label, keys[j], v, sizeof v))
                    v[0] = '\0';
                vb_puts(b, j == 0 ? "<th scope=\"row\">" : "<td>");
                vb_put_xml(b, v);
                vb_puts(b, j == 0 ? "</th>" : "</td>");
            }
            vb_puts(b, "</tr>\n");
        }
        vb_puts(b, "</tbody>\n</table>\n");
        start = end;
    }
    free(rows);
}

int viz_render_html(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                    muse_error_t *err)
{
    const char *pre = o && o->id_prefix ? o->id_prefix : "muse";
    if (!viz_prefix_ok(pre))
        return muse_err(err, MUSE_EINVAL,
                        "id prefix \"%.40s\": use a letter then up to 31 letters, digits, '-' or '_'", pre);
    const char *title = *viz_scene_title(s) ? viz_scene_title(s) : "Chart";
    vb_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<meta name=\"generator\" content=\"Muse " MUSE_VERSION_STRING "\">\n<title>");
    vb_put_xml(out, title);
    vb_puts(out, "</title>\n<style>\n");
    vb_put(out, (const char *)viz_asset_chart_css, viz_asset_chart_css_len);
    vb_puts(out, "</style>\n</head>\n<body>\n<main>\n");
    vb_printf(out, "<figure class=\"muse-figure\" id=\"%s-figure\" data-prefix=\"%s\">\n", pre, pre);
    vb_puts(out, "<figcaption><h1 class=\"muse-sr\">");
    vb_put_xml(out, title);
    vb_puts(out, "</h1><p>");
    vb_put_xml(out, viz_scene_summary(s));
    vb_puts(out, "</p></figcaption>\n");
    size_t ns = viz_scene_series_count(s);
    if (ns > 1) {
        vb_puts(out, "<div class=\"muse-toggles\" role=\"group\" aria-label=\"Show or hide series\">\n");
        for (size_t i = 0; i < ns; i++) {
            const viz_series_t *se = viz_scene_series(s, i);
            vb_printf(out, "<button type=\"button\" aria-pressed=\"true\" data-series=\"%zu\">"
                           "<span class=\"sw\" style=\"background:#%02x%02x%02x\" aria-hidden=\"true\"></span>",
                      i, se->color.r, se->color.g, se->color.b);
            vb_put_xml(out, se->name);
            vb_puts(out, "</button>\n");
        }
        vb_puts(out, "</div>\n");
    }
    vb_puts(out, "<div class=\"muse-chart\">\n");
    int rc = viz_svg_inline(s, pre, out, err);
    if (rc != MUSE_OK)
        return rc;
    vb_puts(out, "<div class=\"muse-tip\" role=\"tooltip\" hidden></div>\n</div>\n");
    vb_puts(out, "<details class=\"muse-table\">\n<summary>Data table</summary>\n");
    table_html(out, s);
    vb_puts(out, "</details>\n</figure>\n</main>\n<script>\n");
    vb_put(out, (const char *)viz_asset_chart_js, viz_asset_chart_js_len);
    vb_puts(out, "</script>\n</body>\n</html>\n");
    if (out->oom)
        return muse_err(err, MUSE_ENOMEM, "HTML: out of memory");
    return MUSE_OK;
}
