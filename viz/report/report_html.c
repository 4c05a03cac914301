/* The report as one self-contained HTML page, from the same document model
 * as the PDF.
 *
 * Charts are viz's own HTML output (the interactive SVG with tooltips,
 * series toggles, keyboard focus and a data table), so a chart here behaves
 * exactly like `muse chart -o x.html`. viz writes a whole page per chart;
 * the report takes from the first one its style and script (which handle
 * several charts on one page, each under its own id prefix) and from every
 * one its <figure>. Should viz's page ever change shape so that the figure
 * cannot be found, the chart's page is embedded whole in an iframe's srcdoc
 * instead: still self-contained, still interactive.
 *
 * Nothing is fetched: no fonts, scripts or images from elsewhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

static const char CSS[] =
    ":root{--ink:#222;--muted:#5c6166;--accent:#123a66;--rule:#c8ccd3;--head:#e8edf2}\n"
    "body{margin:0;color:var(--ink);font:16px/1.5 'DejaVu Sans',system-ui,sans-serif;background:#fff}\n"
    ".report{max-width:52rem;margin:0 auto;padding:1.5rem}\n"
    ".report>h1{color:var(--accent);font-size:1.9rem;border-bottom:2px solid var(--accent);margin:.5rem 0 1rem}\n"
    ".report>h2{color:var(--accent);font-size:1.45rem;border-bottom:1px solid var(--accent);margin-top:2.5rem}\n"
    ".report>h3{color:var(--accent);font-size:1.15rem;margin-top:1.6rem}\n"
    ".report>h4{font-size:1rem;margin:1.2rem 0 .3rem}\n"
    ".report .note{color:var(--muted);font-size:.85rem;overflow-wrap:anywhere}\n"
    ".report table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}\n"
    ".report caption{text-align:left;font-weight:bold;padding:.2rem 0}\n"
    ".report th,.report td{padding:.2rem .5rem;border-bottom:1px solid var(--rule);text-align:left;"
    "vertical-align:top}\n"
    ".report thead th{background:var(--head);border-bottom:1px solid var(--muted)}\n"
    ".report td.num,.report th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".report .flag{padding:.5rem .8rem;margin:.6rem 0;border-left:5px solid #2166ac;background:#e8f0f8}\n"
    ".report .flag.warning{border-color:#d95f02;background:#fdf0dc}\n"
    ".report .flag.urgent{border-color:#b2182b;background:#fbe3e3}\n"
    ".report nav ol{columns:2;font-size:.9rem}\n"
    ".report details.readings summary{cursor:pointer;font-weight:bold}\n"
    ".report .chart-frame{width:100%;border:0}\n"
    ".report footer{margin-top:3rem;color:var(--muted);font-size:.8rem;border-top:1px solid var(--rule)}\n"
    "@media print{.report>h2{break-before:page}.report details{display:block}}\n";

#define LONG_TABLE 40

typedef struct html {
    rp_buf_t b;
    rp_buf_t style, script;  /* viz's chart style and script, taken once */
    int have_assets;
    size_t charts;
    muse_error_t *err;
    int rc;
} html_t;

/* The text between open (exclusive) and the first close after it. */
static int slice(const char *s, const char *open, const char *close, int last_close, const char **a, size_t *n)
{
    const char *p = strstr(s, open);
    if (!p)
        return 0;
    p += strlen(open);
    const char *q = NULL;
    if (last_close) {
        for (const char *x = strstr(p, close); x; x = strstr(x + 1, close))
            q = x;
    } else {
        q = strstr(p, close);
    }
    if (!q)
        return 0;
    *a = p;
    *n = (size_t)(q - p);
    return 1;
}

static int chart_html(html_t *h, const rp_block_t *blk)
{
    const rp_chart_t *c = &blk->chart;
    char prefix[32];
    snprintf(prefix, sizeof prefix, "rc%zu", ++h->charts);
    viz_render_opts_t o = {c->width, c->height, 0, prefix};
    unsigned char *page = NULL;
    size_t len = 0;
    muse_error_t e = {0};
    viz_scene_t *s = NULL;
    int rc = viz_scene_build(c->chart, &o, &s, &e);
    if (rc == MUSE_OK)
        rc = viz_scene_render(s, VIZ_HTML, &o, &page, &len, &e);
    viz_scene_free(s);
    if (rc == MUSE_ENOMEM)
        return muse_err(h->err, rc, "%s", e.message);
    if (rc != MUSE_OK) {
        rb_puts(&h->b, "<p class=\"note\">The chart could not be drawn: ");
        rb_put_html(&h->b, e.message);
        rb_puts(&h->b, "</p>\n");
        return MUSE_OK;
    }
    char *text = malloc(len + 1);
    if (!text) {
        free(page);
        return muse_err(h->err, MUSE_ENOMEM, "out of memory");
    }
    memcpy(text, page, len);
    text[len] = '\0';
    free(page);
    const char *a, *fa;
    size_t n, fn;
    int ok = slice(text, "<figure", "</figure>", 1, &fa, &fn);
    if (ok && !h->have_assets) {
        if (slice(text, "<style>\n", "</style>", 0, &a, &n))
            rb_put(&h->style, a, n);
        if (slice(text, "<script>\n", "</script>", 1, &a, &n))
            rb_put(&h->script, a, n);
        h->have_assets = 1;
    }
    if (ok) {
        rb_puts(&h->b, "<figure");
        rb_put(&h->b, fa, fn);
        rb_puts(&h->b, "</figure>\n");
    } else {
        rb_puts(&h->b, "<iframe class=\"chart-frame\" title=\"");
        rb_put_html(&h->b, blk->text ? blk->text : "Chart");
        rb_printf(&h->b, "\" style=\"height:%.0fpx\" srcdoc=\"", c->height * 1.6 + 120);
        rb_put_html(&h->b, text);
        rb_puts(&h->b, "\"></iframe>\n");
    }
    free(text);
    return MUSE_OK;
}

static void table_html(html_t *h, const rb_table_t *t)
{
    rp_buf_t *b = &h->b;
    int fold = t->nrows > LONG_TABLE;
    if (fold) {
        rb_puts(b, "<details class=\"readings\"><summary>");
        rb_put_html(b, t->caption ? t->caption : "Table");
        rb_printf(b, " — show all %zu rows</summary>\n", t->nrows);
    }
    rb_puts(b, "<table>\n");
    if (t->caption && !fold) {
        rb_puts(b, "<caption>");
        rb_put_html(b, t->caption);
        rb_puts(b, "</caption>\n");
    }
    rb_puts(b, "<thead><tr>");
    for (int c = 0; c < t->ncols; c++) {
        rb_printf(b, "<th scope=\"col\"%s>", t->align[c] == RB_RIGHT ? " class=\"num\"" : "");
        rb_put_html(b, t->head[c]);
        rb_puts(b, "</th>");
    }
    rb_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < t->nrows; i++) {
        rb_puts(b, "<tr>");
        for (int c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[i * (size_t)t->ncols + (size_t)c];
            if (c == 0)
                rb_puts(b, "<th scope=\"row\">");
            else
                rb_puts(b, t->align[c] == RB_RIGHT ? "<td class=\"num\">" : "<td>");
            rb_put_html(b, cell);
            rb_puts(b, c == 0 ? "</th>" : "</td>");
        }
        rb_puts(b, "</tr>\n");
    }
    rb_puts(b, "</tbody>\n</table>\n");
    if (fold)
        rb_puts(b, "</details>\n");
}

static void labelled(rp_buf_t *b, const rp_block_t *blk)
{
    if (blk->label && *blk->label) {
        rb_puts(b, "<strong>");
        rb_put_html(b, blk->label);
        rb_puts(b, "</strong>");
    }
    rb_put_html(b, blk->text);
}

/* Contents: the sections' headings, as the PDF's outline lists them. */
static void contents(rp_buf_t *b, const rp_doc_t *doc)
{
    rb_puts(b, "<nav aria-label=\"Contents\"><ol>\n");
    for (size_t i = 0; i < doc->n; i++) {
        const rp_block_t *blk = &doc->v[i];
        if (blk->kind == RB_HEADING && blk->level == 1 && blk->anchor) {
            rb_printf(b, "<li><a href=\"#%s\">", blk->anchor);
            rb_put_html(b, blk->text);
            rb_puts(b, "</a></li>\n");
        }
    }
    rb_puts(b, "</ol></nav>\n");
}

int rp_render_html(const report_t *r, const rp_doc_t *doc, char **out, size_t *len, muse_error_t *err)
{
    html_t h;
    memset(&h, 0, sizeof h);
    h.err = err;
    int rc = MUSE_OK;
    rp_buf_t *b = &h.b;
    int in_list = 0;
    for (size_t i = 0; i < doc->n && rc == MUSE_OK; i++) {
        const rp_block_t *blk = &doc->v[i];
        if (in_list && blk->kind != RB_BULLET) {
            rb_puts(b, "</ul>\n");
            in_list = 0;
        }
        switch (blk->kind) {
        case RB_TITLE:
            rb_puts(b, "<h1 id=\"summary\">");
            rb_put_html(b, blk->text);
            rb_puts(b, "</h1>\n");
            contents(b, doc);
            break;
        case RB_HEADING: {
            int lv = blk->level < 1 ? 2 : blk->level > 3 ? 4 : blk->level + 1;
            rb_printf(b, "<h%d", lv);
            if (blk->anchor)
                rb_printf(b, " id=\"%s\"", blk->anchor);
            rb_puts(b, ">");
            rb_put_html(b, blk->text);
            rb_printf(b, "</h%d>\n", lv);
            break;
        }
        case RB_PARA:
            rb_puts(b, "<p>");
            labelled(b, blk);
            rb_puts(b, "</p>\n");
            break;
        case RB_BULLET:
            if (!in_list) {
                rb_puts(b, "<ul>\n");
                in_list = 1;
            }
            rb_puts(b, "<li>");
            labelled(b, blk);
            rb_puts(b, "</li>\n");
            break;
        case RB_NOTE:
            if (!blk->text)
                break; /* a PDF-only note (characters outside the font) */
            rb_puts(b, "<p class=\"note\">");
            rb_put_html(b, blk->text);
            rb_puts(b, "</p>\n");
            break;
        case RB_FLAG:
            rb_printf(b, "<div class=\"flag %s\" role=\"note\"><strong>",
                      blk->severity == 2 ? "urgent" : blk->severity == 1 ? "warning" : "info");
            rb_put_html(b, blk->label);
            rb_puts(b, ":</strong> ");
            rb_put_html(b, blk->text);
            rb_puts(b, "</div>\n");
            break;
        case RB_TABLE:
            table_html(&h, blk->table);
            break;
        case RB_CHART:
            rc = chart_html(&h, blk);
            break;
        case RB_PAGE_BREAK:
            break;
        }
    }
    if (in_list)
        rb_puts(b, "</ul>\n");
    if (rc != MUSE_OK)
        goto done;

    rp_buf_t page = {0};
    rb_puts(&page, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    rb_printf(&page, "<meta name=\"generator\" content=\"Muse %s\">\n<title>", MUSE_VERSION_STRING);
    rb_put_html(&page, r->title);
    rb_puts(&page, "</title>\n<style>\n");
    rb_put(&page, h.style.p ? h.style.p : "", h.style.n);
    rb_puts(&page, "\n");
    rb_puts(&page, CSS);
    rb_puts(&page, "</style>\n</head>\n<body>\n<main class=\"report\">\n");
    rb_put(&page, b->p ? b->p : "", b->n);
    rb_puts(&page, "<footer><p>");
    rb_put_html(&page, r->title);
    if (r->label) {
        rb_puts(&page, " · ");
        rb_put_html(&page, r->label);
    }
    rb_printf(&page, " · made by Muse %s. Not a diagnosis: discuss these readings with a clinician.</p>"
                     "</footer>\n</main>\n",
              MUSE_VERSION_STRING);
    if (h.script.n) {
        rb_puts(&page, "<script>\n");
        rb_put(&page, h.script.p, h.script.n);
        rb_puts(&page, "</script>\n");
    }
    rb_puts(&page, "</body>\n</html>\n");
    if (page.oom || b->oom || h.style.oom || h.script.oom) {
        free(page.p);
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    *out = page.p;
    *len = page.n;
done:
    free(h.b.p);
    free(h.style.p);
    free(h.script.p);
    return rc;
}

int report_html(report_t *r, char **out, size_t *len, muse_error_t *err)
{
    if (!r || !out || !len)
        return muse_err(err, MUSE_EINVAL, "report_html: no report or output");
    *out = NULL;
    *len = 0;
    const rp_doc_t *doc = NULL;
    int rc = rp_doc_get(r, &doc, err);
    if (rc != MUSE_OK)
        return rc;
    return rp_render_html(r, doc, out, len, err);
}
