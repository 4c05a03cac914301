/* The report's document model laid out on A4 pages with libharu.
 *
 * A small flow layout: blocks go down the page from a cursor, and a block
 * that does not fit starts a new page. The rules that keep a printed report
 * readable are the classic typesetting ones:
 *   - a heading never ends a page: it moves with the start of what follows
 *     (a few lines of a paragraph, the header and first rows of a table, or
 *     the whole chart);
 *   - a paragraph leaves at least two lines at the bottom of a page and
 *     carries at least two to the next (no widows or orphans); short ones
 *     are never split;
 *   - a chart or a finding is never split;
 *   - a table repeats its caption ("continued") and header row on every
 *     page, and a narrow table flows into two columns side by side,
 *     balanced on its last page;
 *   - a section starts on a new page when less than ~45% of a page is left.
 * Page numbers ("Page 3 of 9") are written on every page once the total is
 * known; libharu keeps pages open until the document is saved.
 *
 * libharu reports errors through a callback; it is recorded (first error
 * wins) and checked once at the end, so a drawing call never needs its own
 * error path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

#define PAGE_W 595.276
#define PAGE_H 841.89
#define ML 56.0
#define MR 56.0 /* RP_TEXT_WIDTH in report_int.h follows these */
#define MT 54.0
#define MB 62.0
#define CW (PAGE_W - ML - MR)
#define BOTTOM (PAGE_H - MB)
#define BODY_H (BOTTOM - MT)
#define FLOW_GAP 16.0

typedef struct rgb {
    float r, g, b;
} rgb_t;

static const rgb_t INK = {0.13f, 0.13f, 0.13f};
static const rgb_t MUTED = {0.36f, 0.38f, 0.4f};
static const rgb_t ACCENT = {0.07f, 0.23f, 0.4f};
static const rgb_t RULE = {0.78f, 0.8f, 0.83f};
static const rgb_t HEAD_BG = {0.91f, 0.93f, 0.95f};

typedef struct hpdf_err {
    HPDF_STATUS code, detail;
} hpdf_err_t;

static void on_error(HPDF_STATUS code, HPDF_STATUS detail, void *ud)
{
    hpdf_err_t *e = ud;
    if (!e->code) {
        e->code = code;
        e->detail = detail;
    }
}

typedef struct lay {
    report_t *r;
    HPDF_Doc pdf;
    rp_fonts_t *f;
    HPDF_Encoder enc;
    HPDF_Page *pages;
    size_t np, pcap;
    HPDF_Page page;
    double y;               /* distance from the page top to where the next block starts */
    HPDF_Outline h1;
    int oom;
} lay_t;

/* ---- Pages -------------------------------------------------------------------------- */

static void new_page(lay_t *L)
{
    if (L->np == L->pcap) {
        size_t cap = L->pcap ? L->pcap * 2 : 16;
        HPDF_Page *p = realloc(L->pages, cap * sizeof *p);
        if (!p) {
            L->oom = 1;
            return;
        }
        L->pages = p;
        L->pcap = cap;
    }
    HPDF_Page p = HPDF_AddPage(L->pdf);
    if (!p) {
        L->oom = 1;
        return;
    }
    HPDF_Page_SetWidth(p, (HPDF_REAL)PAGE_W);
    HPDF_Page_SetHeight(p, (HPDF_REAL)PAGE_H);
    L->pages[L->np++] = p;
    L->page = p;
    L->y = MT;
}

static int at_top(const lay_t *L)
{
    return L->y <= MT + 0.5;
}

/* Starts a new page unless h more points fit on this one; 1 when it did. */
static int ensure(lay_t *L, double h)
{
    if (L->y + h <= BOTTOM || at_top(L))
        return 0;
    new_page(L);
    return 1;
}

static double Y(double y)
{
    return PAGE_H - y;
}

static void fill_rgb(lay_t *L, rgb_t c)
{
    HPDF_Page_SetRGBFill(L->page, c.r, c.g, c.b);
}

static void hrule(lay_t *L, double x, double y, double w, rgb_t c, double width)
{
    HPDF_Page_SetRGBStroke(L->page, c.r, c.g, c.b);
    HPDF_Page_SetLineWidth(L->page, (HPDF_REAL)width);
    HPDF_Page_MoveTo(L->page, (HPDF_REAL)x, (HPDF_REAL)Y(y));
    HPDF_Page_LineTo(L->page, (HPDF_REAL)(x + w), (HPDF_REAL)Y(y));
    HPDF_Page_Stroke(L->page);
}

static void rect_fill(lay_t *L, double x, double y, double w, double h, rgb_t c)
{
    fill_rgb(L, c);
    HPDF_Page_Rectangle(L->page, (HPDF_REAL)x, (HPDF_REAL)Y(y + h), (HPDF_REAL)w, (HPDF_REAL)h);
    HPDF_Page_Fill(L->page);
}

/* ---- Text: words, lines, runs ------------------------------------------------------------ */

typedef struct word {
    const char *s;
    size_t len;
    int bold;
    double w;
} word_t;

typedef struct text {
    char *clean[2];         /* label (bold) and text, cleaned for the font */
    word_t *w;
    size_t nw, wcap;
    size_t *line;           /* index of each line's first word; line[nl] == nw */
    size_t nl, lcap;
    double size, lead, space[2];
} text_t;

static void text_free(text_t *t)
{
    free(t->clean[0]);
    free(t->clean[1]);
    free(t->w);
    free(t->line);
    memset(t, 0, sizeof *t);
}

static double width_of(const lay_t *L, int bold, double size, const char *s, size_t len)
{
    if (!len)
        return 0;
    HPDF_TextWidth tw = HPDF_Font_TextWidth(rp_font(L->f, bold), (const HPDF_BYTE *)s, (HPDF_UINT)len);
    return tw.width * size / 1000.0;
}

static int push_word(text_t *t, const char *s, size_t len, int bold, double w)
{
    if (t->nw == t->wcap) {
        size_t cap = t->wcap ? t->wcap * 2 : 32;
        word_t *v = realloc(t->w, cap * sizeof *v);
        if (!v)
            return -1;
        t->w = v;
        t->wcap = cap;
    }
    t->w[t->nw++] = (word_t){s, len, bold, w};
    return 0;
}

static int push_line(text_t *t, size_t first)
{
    if (t->nl + 1 >= t->lcap) {
        size_t cap = t->lcap ? t->lcap * 2 : 16;
        size_t *v = realloc(t->line, cap * sizeof *v);
        if (!v)
            return -1;
        t->line = v;
        t->lcap = cap;
    }
    t->line[t->nl++] = first;
    return 0;
}

/* Splits a word wider than the line at character boundaries. */
static int push_long_word(lay_t *L, text_t *t, const char *s, size_t len, int bold, double width)
{
    size_t start = 0;
    while (start < len) {
        size_t end = start, best = start;
        while (end < len) {
            size_t nx = end + 1;
            while (nx < len && ((unsigned char)s[nx] & 0xC0) == 0x80)
                nx++;
            if (width_of(L, bold, t->size, s + start, nx - start) > width && best > start)
                break;
            best = end = nx;
        }
        if (push_word(t, s + start, best - start, bold, width_of(L, bold, t->size, s + start, best - start)))
            return -1;
        start = best;
    }
    return 0;
}

/* Wraps a bold label and a text into lines of at most width points. */
static int wrap(lay_t *L, text_t *t, const char *label, const char *text, int bold_text, double size, double lead,
                double width)
{
    memset(t, 0, sizeof *t);
    t->size = size;
    t->lead = lead;
    t->space[0] = width_of(L, 0, size, " ", 1);
    t->space[1] = width_of(L, 1, size, " ", 1);
    const char *src[2] = {label, text};
    for (int part = 0; part < 2; part++) {
        if (!src[part] || !*src[part])
            continue;
        t->clean[part] = rp_fonts_clean(L->f, src[part]);
        if (!t->clean[part])
            goto oom;
        int bold = part == 0 ? 1 : bold_text;
        char *p = t->clean[part];
        while (*p) {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            char *e = p;
            while (*e && *e != ' ')
                e++;
            double w = width_of(L, bold, size, p, (size_t)(e - p));
            if (w > width) {
                if (push_long_word(L, t, p, (size_t)(e - p), bold, width))
                    goto oom;
            } else if (push_word(t, p, (size_t)(e - p), bold, w)) {
                goto oom;
            }
            p = e;
        }
    }
    double x = 0;
    for (size_t i = 0; i < t->nw; i++) {
        double sp = i == 0 ? 0 : t->space[t->w[i - 1].bold];
        if (i == 0 || x + sp + t->w[i].w > width + 0.01) {
            if (push_line(t, i))
                goto oom;
            x = t->w[i].w;
        } else {
            x += sp + t->w[i].w;
        }
    }
    if (t->nl == 0 && push_line(t, 0))
        goto oom;
    t->line[t->nl] = t->nw;
    return 0;
oom:
    L->oom = 1;
    text_free(t);
    t->nl = 0;
    return -1;
}

static double line_width(const text_t *t, size_t i)
{
    double x = 0;
    for (size_t k = t->line[i]; k < t->line[i + 1]; k++)
        x += (k == t->line[i] ? 0 : t->space[t->w[k - 1].bold]) + t->w[k].w;
    return x;
}

/* Baseline of a line whose box starts at top (DejaVu: ascent 0.928 em, descent 0.236). */
static double baseline(double top, double size, double lead)
{
    return top + size * 0.928 + (lead - size * 1.164) / 2;
}

/* Draws line i with its box top at y; runs of one weight go out as one string. */
static void draw_line(lay_t *L, const text_t *t, size_t i, double x, double y, rgb_t color)
{
    char buf[2048];
    size_t k = t->line[i], end = t->line[i + 1];
    double bx = x;
    double by = baseline(y, t->size, t->lead);
    while (k < end) {
        int bold = t->w[k].bold;
        size_t o = 0;
        double w = 0;
        size_t j = k;
        for (; j < end && t->w[j].bold == bold; j++) {
            if (o + t->w[j].len + 2 >= sizeof buf)
                break;
            if (j > k) {
                buf[o++] = ' ';
                w += t->space[bold];
            }
            memcpy(buf + o, t->w[j].s, t->w[j].len);
            o += t->w[j].len;
            w += t->w[j].w;
        }
        if (j == k) { /* a single word over the buffer: cannot happen after wrapping, but never loop */
            j = k + 1;
            continue;
        }
        buf[o] = '\0';
        fill_rgb(L, color);
        HPDF_Page_BeginText(L->page);
        HPDF_Page_SetFontAndSize(L->page, rp_font(L->f, bold), (HPDF_REAL)t->size);
        HPDF_Page_TextOut(L->page, (HPDF_REAL)bx, (HPDF_REAL)Y(by), buf);
        HPDF_Page_EndText(L->page);
        bx += w + (j < end ? t->space[bold] : 0);
        k = j;
    }
}

/* A paragraph at x, width w, keeping two lines together at either side of a
 * page break. */
static void flow_text(lay_t *L, const text_t *t, double x, rgb_t color)
{
    size_t n = t->nl, i = 0;
    if (n <= 3)
        ensure(L, (double)n * t->lead);
    while (i < n) {
        size_t fit = (size_t)floor((BOTTOM - L->y) / t->lead + 1e-6);
        size_t left = n - i;
        if (fit >= left) {
            fit = left;
        } else {
            if (fit < 2 || left <= 3) {
                new_page(L);
                continue;
            }
            if (left - fit < 2)
                fit = left - 2;
        }
        for (size_t k = 0; k < fit; k++) {
            draw_line(L, t, i + k, x, L->y, color);
            L->y += t->lead;
        }
        i += fit;
        if (i < n)
            new_page(L);
    }
}

/* ---- Blocks ------------------------------------------------------------------------------ */

static void outline(lay_t *L, int level, const char *title)
{
    HPDF_Outline parent = level > 1 ? L->h1 : NULL;
    HPDF_Outline o = HPDF_CreateOutline(L->pdf, parent, title, L->enc);
    if (!o)
        return;
    HPDF_Destination d = HPDF_Page_CreateDestination(L->page);
    if (d) {
        HPDF_Destination_SetFitH(d, (HPDF_REAL)Y(L->y - 6));
        HPDF_Outline_SetDestination(o, d);
    }
    if (level == 1) {
        L->h1 = o;
        HPDF_Outline_SetOpened(o, HPDF_TRUE);
    }
}

static const double H_SIZE[] = {22, 17, 12.5, 10.5};
static const double H_BEFORE[] = {0, 14, 12, 8};

static double heading_height(int level)
{
    return H_SIZE[level] * 1.35 + (level <= 1 ? 8 : 3);
}

/* How much of block b must fit under a heading for the heading to stay. */
static double min_next(lay_t *L, const rp_block_t *b)
{
    switch (b->kind) {
    case RB_CHART:
        return b->chart.height + 6;
    case RB_TABLE:
        return (b->table->caption ? 18 : 0) + 14 * (1 + (b->table->nrows < 3 ? (double)b->table->nrows : 3));
    case RB_FLAG: {
        text_t t;
        if (wrap(L, &t, b->label, b->text, 0, 9.5, 13, CW - 22))
            return 60;
        double h = (double)t.nl * 13 + 12;
        text_free(&t);
        return h;
    }
    case RB_HEADING:
        return heading_height(b->level) + 40;
    default:
        return 3 * 14;
    }
}

static void draw_heading(lay_t *L, const rp_block_t *b, const rp_block_t *next)
{
    int level = b->level < 1 ? 1 : b->level > 3 ? 3 : b->level;
    double need = heading_height(level) + (next ? min_next(L, next) : 0);
    if (level == 1 && !at_top(L) && BOTTOM - L->y < 0.45 * BODY_H)
        new_page(L);
    else if (!at_top(L))
        L->y += H_BEFORE[level];
    ensure(L, need);
    if (level == 1 || (level == 2 && b->anchor))
        outline(L, level, b->text);
    text_t t;
    if (wrap(L, &t, NULL, b->text, 1, H_SIZE[level], H_SIZE[level] * 1.3, CW))
        return;
    for (size_t i = 0; i < t.nl; i++) {
        draw_line(L, &t, i, ML, L->y, level == 3 ? INK : ACCENT);
        L->y += t.lead;
    }
    text_free(&t);
    if (level == 1) {
        hrule(L, ML, L->y + 2, CW, ACCENT, 0.8);
        L->y += 10;
    } else {
        L->y += 3;
    }
}

static void draw_title(lay_t *L, const rp_block_t *b)
{
    outline(L, 1, "Summary");
    text_t t;
    if (wrap(L, &t, NULL, b->text, 1, H_SIZE[0], H_SIZE[0] * 1.2, CW))
        return;
    for (size_t i = 0; i < t.nl; i++) {
        draw_line(L, &t, i, ML, L->y, ACCENT);
        L->y += t.lead;
    }
    text_free(&t);
    hrule(L, ML, L->y + 4, CW, ACCENT, 1.2);
    L->y += 14;
}

static void draw_para(lay_t *L, const rp_block_t *b, double size, double lead, rgb_t color, double indent,
                      double after)
{
    text_t t;
    if (wrap(L, &t, b->label, b->text, 0, size, lead, CW - indent))
        return;
    if (b->kind == RB_BULLET) {
        ensure(L, lead * (t.nl < 2 ? (double)t.nl : 2));
        text_t bt;
        if (!wrap(L, &bt, NULL, "•", 0, size, lead, 20)) {
            draw_line(L, &bt, 0, ML + 3, L->y, color);
            text_free(&bt);
        }
    }
    flow_text(L, &t, ML + indent, color);
    text_free(&t);
    L->y += after;
}

static void draw_flag(lay_t *L, const rp_block_t *b)
{
    static const rgb_t bar[] = {{0.13f, 0.4f, 0.67f}, {0.85f, 0.37f, 0.01f}, {0.7f, 0.09f, 0.17f}};
    static const rgb_t bg[] = {{0.91f, 0.94f, 0.97f}, {0.99f, 0.94f, 0.86f}, {0.98f, 0.89f, 0.89f}};
    int s = b->severity < 0 ? 0 : b->severity > 2 ? 2 : b->severity;
    char *label = rp_strdupf("%s: ", b->label ? b->label : "Finding");
    if (!label) {
        L->oom = 1;
        return;
    }
    text_t t;
    int rc = wrap(L, &t, label, b->text, 0, 9.5, 13, CW - 22);
    free(label);
    if (rc)
        return;
    double h = (double)t.nl * t.lead + 12;
    ensure(L, h);
    rect_fill(L, ML, L->y, CW, h, bg[s]);
    rect_fill(L, ML, L->y, 4, h, bar[s]);
    double y = L->y + 6;
    for (size_t i = 0; i < t.nl; i++) {
        draw_line(L, &t, i, ML + 14, y, INK);
        y += t.lead;
    }
    text_free(&t);
    L->y += h + 6;
}

/* ---- Tables ------------------------------------------------------------------------------ */

#define T_SIZE 8.5
#define T_LEAD 11.0
#define T_PADX 4.0
#define T_PADY 2.5

static double row_height(lay_t *L, const rb_table_t *tb, char *const *cells, const double *colw, int bold)
{
    double h = T_LEAD;
    for (int c = 0; c < tb->ncols; c++) {
        if (!cells[c] || !*cells[c])
            continue;
        /* Most cells are one short line: measure before wrapping. */
        double w = rp_text_width(L->f, bold, T_SIZE, cells[c]);
        if (w <= colw[c] - 2 * T_PADX && !strpbrk(cells[c], "\n\t"))
            continue;
        text_t t;
        if (wrap(L, &t, NULL, cells[c], bold, T_SIZE, T_LEAD, colw[c] - 2 * T_PADX))
            continue;
        if ((double)t.nl * T_LEAD > h)
            h = (double)t.nl * T_LEAD;
        text_free(&t);
    }
    return h + 2 * T_PADY;
}

static void draw_row(lay_t *L, const rb_table_t *tb, char *const *cells, const double *colw, double x, double y,
                     double h, int header)
{
    double w = 0;
    for (int c = 0; c < tb->ncols; c++)
        w += colw[c];
    if (header)
        rect_fill(L, x, y, w, h, HEAD_BG);
    double cx = x;
    for (int c = 0; c < tb->ncols; c++) {
        if (cells[c] && *cells[c]) {
            text_t t;
            if (!wrap(L, &t, NULL, cells[c], header, T_SIZE, T_LEAD, colw[c] - 2 * T_PADX)) {
                for (size_t i = 0; i < t.nl; i++) {
                    double lw = line_width(&t, i);
                    double lx = tb->align[c] == RB_RIGHT    ? cx + colw[c] - T_PADX - lw
                                : tb->align[c] == RB_CENTER ? cx + (colw[c] - lw) / 2
                                                            : cx + T_PADX;
                    draw_line(L, &t, i, lx, y + T_PADY + (double)i * T_LEAD, header ? INK : INK);
                }
                text_free(&t);
            }
        }
        cx += colw[c];
    }
    hrule(L, x, y + h, w, header ? MUTED : RULE, header ? 0.6 : 0.4);
}

static double draw_caption(lay_t *L, const rb_table_t *tb, int continued)
{
    if (!tb->caption)
        return 0;
    char *c = rp_strdupf("%s%s", tb->caption, continued ? " (continued)" : "");
    if (!c) {
        L->oom = 1;
        return 0;
    }
    text_t t;
    double h = 0;
    if (!wrap(L, &t, NULL, c, 1, 9.5, 13, CW)) {
        for (size_t i = 0; i < t.nl; i++) {
            draw_line(L, &t, i, ML, L->y + h, INK);
            h += t.lead;
        }
        text_free(&t);
    }
    free(c);
    return h + 3;
}

/* The widest word of a cell, in points. */
static double widest_word(lay_t *L, const char *s, int bold)
{
    double best = 0;
    while (s && *s) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (e > s) {
            double w = width_of(L, bold, T_SIZE, s, (size_t)(e - s));
            if (w > best)
                best = w;
        }
        s = e;
    }
    return best;
}

/* Widens a column whose heading or first cells have a word that would be
 * split mid-word, taking the room from columns that have some to spare. */
static void fit_columns(lay_t *L, const rb_table_t *tb, double *colw, int nc)
{
    double need[16], deficit = 0, slack = 0;
    for (int c = 0; c < nc; c++) {
        double w = widest_word(L, tb->head[c], 1);
        for (size_t i = 0; i < tb->nrows && i < 50; i++) {
            double x = widest_word(L, tb->cells[i * (size_t)tb->ncols + (size_t)c], 0);
            if (x > w)
                w = x;
        }
        need[c] = w + 2 * T_PADX + 0.5;
        if (need[c] > colw[c])
            deficit += need[c] - colw[c];
        else
            slack += colw[c] - need[c];
    }
    if (deficit <= 0 || slack <= 0)
        return;
    double take = deficit < slack ? deficit : slack;
    for (int c = 0; c < nc; c++) {
        if (need[c] > colw[c])
            colw[c] += (need[c] - colw[c]) * take / deficit;
        else
            colw[c] -= (colw[c] - need[c]) * take / slack;
    }
}

static void draw_table(lay_t *L, const rb_table_t *tb)
{
    int slots = tb->flow >= 1 && tb->flow <= 3 ? tb->flow : 1;
    double tw = slots > 1 ? (CW - FLOW_GAP * (slots - 1)) / slots
                          : CW * (tb->scale > 0 && tb->scale < 1 ? tb->scale : 1);
    double colw[16];
    int nc = tb->ncols < 16 ? tb->ncols : 16;
    for (int c = 0; c < nc; c++)
        colw[c] = tb->width[c] * tw;
    fit_columns(L, tb, colw, nc);
    double *rh = malloc((tb->nrows ? tb->nrows : 1) * sizeof *rh);
    if (!rh) {
        L->oom = 1;
        return;
    }
    double total = 0;
    for (size_t i = 0; i < tb->nrows; i++) {
        rh[i] = row_height(L, tb, tb->cells + i * (size_t)tb->ncols, colw, 0);
        total += rh[i];
    }
    double hh = row_height(L, tb, tb->head, colw, 1);
    double first = 0;
    for (size_t i = 0; i < tb->nrows && i < 3; i++)
        first += rh[i];
    double cap_h = tb->caption ? 16 : 0;
    /* A short table is never split; a long one starts with a few rows. */
    if (slots == 1 && cap_h + hh + total <= 0.4 * BODY_H)
        ensure(L, cap_h + hh + total);
    else
        ensure(L, cap_h + hh + first);
    int continued = 0;
    size_t i = 0;
    double remaining = total;
    while (1) {
        /* One page of the table: caption, then up to `slots` columns. */
        L->y += draw_caption(L, tb, continued);
        double top = L->y, maxy = top + hh;
        double cap_col = BOTTOM - top - hh;
        /* Balance the columns when the rest fits on this page. */
        double target = remaining <= slots * cap_col ? remaining / slots : cap_col;
        for (int s = 0; s < slots; s++) {
            double x = ML + s * (tw + FLOW_GAP);
            if (s > 0 && i >= tb->nrows)
                break;
            draw_row(L, tb, tb->head, colw, x, top, hh, 1);
            double yy = top + hh, col = 0;
            while (i < tb->nrows) {
                if (yy + rh[i] > BOTTOM + 0.01)
                    break;
                /* No lone last row at the top of the next page. */
                if (s + 1 == slots && i + 2 == tb->nrows && col > 2 * T_LEAD &&
                    yy + rh[i] + rh[i + 1] > BOTTOM + 0.01)
                    break;
                if (s + 1 < slots && col > 0 && col + rh[i] > target + 0.5)
                    break;
                draw_row(L, tb, tb->cells + i * (size_t)tb->ncols, colw, x, yy, rh[i], 0);
                yy += rh[i];
                col += rh[i];
                remaining -= rh[i];
                i++;
            }
            if (yy > maxy)
                maxy = yy;
        }
        L->y = maxy;
        if (i >= tb->nrows || L->oom)
            break;
        new_page(L);
        continued = 1;
    }
    free(rh);
    L->y += 8;
}

/* ---- Charts ------------------------------------------------------------------------------ */

static int draw_chart(lay_t *L, const rp_block_t *b, muse_error_t *err)
{
    const rp_chart_t *c = &b->chart;
    viz_render_opts_t o = {c->width, c->height, 0, NULL};
    viz_scene_t *s = NULL;
    muse_error_t e = {0};
    int rc = viz_scene_build(c->chart, &o, &s, &e);
    if (rc == MUSE_ENOMEM)
        return muse_err(err, rc, "%s", e.message);
    if (rc != MUSE_OK) {
        /* The readings are still in the table below; say why the picture is missing. */
        rp_block_t nb = {0};
        char *t = rp_strdupf("The chart could not be drawn: %s", e.message);
        nb.kind = RB_NOTE;
        nb.text = t;
        draw_para(L, &nb, 8.5, 11.5, MUTED, 0, 6);
        free(t);
        return MUSE_OK;
    }
    double w = viz_scene_width(s), h = viz_scene_height(s);
    ensure(L, h + 4);
    double x = ML + (CW - w) / 2;
    rc = rp_draw_scene(L->page, L->pdf, L->f, s, x, Y(L->y), err);
    viz_scene_free(s);
    if (rc != MUSE_OK)
        return rc;
    report_t *r = L->r;
    rp_chart_pos_t *cp = realloc(r->charts, (r->n_charts + 1) * sizeof *cp);
    if (!cp)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    r->charts = cp;
    cp = &r->charts[r->n_charts++];
    memset(cp, 0, sizeof *cp);
    cp->page = (int)L->np;
    cp->x = x;
    cp->y = L->y;
    cp->w = w;
    cp->h = h;
    snprintf(cp->kind, sizeof cp->kind, "%s", c->kind);
    snprintf(cp->preset, sizeof cp->preset, "%s", c->preset);
    L->y += h + 10;
    return MUSE_OK;
}

/* ---- Document ------------------------------------------------------------------------------- */

static void footers(lay_t *L)
{
    report_t *r = L->r;
    char *left = r->label ? rp_strdupf("%s · %s", r->title, r->label) : rp_strdup(r->title);
    if (!left) {
        L->oom = 1;
        return;
    }
    char *clean = rp_fonts_clean(L->f, left);
    free(left);
    if (!clean) {
        L->oom = 1;
        return;
    }
    /* Keep a long title from running into the page number: the longest
     * prefix that fits with an ellipsis. */
    double maxw = CW - 90;
    if (rp_text_width(L->f, 0, 8, clean) > maxw) {
        size_t len = strlen(clean);
        char *buf = malloc(len + 4);
        if (!buf) {
            free(clean);
            L->oom = 1;
            return;
        }
        while (len > 0) {
            do
                len--;
            while (len > 0 && ((unsigned char)clean[len] & 0xC0) == 0x80);
            memcpy(buf, clean, len);
            memcpy(buf + len, "\xE2\x80\xA6", 4);
            if (rp_text_width(L->f, 0, 8, buf) <= maxw)
                break;
        }
        free(clean);
        clean = buf;
    }
    for (size_t i = 0; i < L->np; i++) {
        L->page = L->pages[i];
        double fy = PAGE_H - MB + 22;
        hrule(L, ML, fy - 10, CW, RULE, 0.5);
        char num[64];
        snprintf(num, sizeof num, "Page %zu of %zu", i + 1, L->np);
        fill_rgb(L, MUTED);
        HPDF_Page_BeginText(L->page);
        HPDF_Page_SetFontAndSize(L->page, rp_font(L->f, 0), 8);
        HPDF_Page_TextOut(L->page, (HPDF_REAL)ML, (HPDF_REAL)Y(fy), clean);
        HPDF_Page_TextOut(L->page, (HPDF_REAL)(ML + CW - rp_text_width(L->f, 0, 8, num)), (HPDF_REAL)Y(fy), num);
        HPDF_Page_TextOut(L->page, (HPDF_REAL)ML, (HPDF_REAL)Y(fy + 11),
                          "Not a diagnosis: discuss these readings with a clinician.");
        HPDF_Page_EndText(L->page);
    }
    free(clean);
}

static void metadata(lay_t *L)
{
    report_t *r = L->r;
    /* The title only: a patient label stays out of metadata, which file
     * managers and search indexes read without opening the document. */
    HPDF_SetInfoAttr(L->pdf, HPDF_INFO_TITLE, r->title);
    HPDF_SetInfoAttr(L->pdf, HPDF_INFO_CREATOR, "Muse");
    char prod[96];
    snprintf(prod, sizeof prod, "Muse %s with libharu %s", MUSE_VERSION_STRING, HPDF_GetVersion());
    HPDF_SetInfoAttr(L->pdf, HPDF_INFO_PRODUCER, prod);
    HPDF_SetInfoAttr(L->pdf, HPDF_INFO_SUBJECT, "Readings against guideline ranges");
    time_t t = (time_t)r->now;
    struct tm tm;
    if (gmtime_r(&t, &tm)) {
        HPDF_Date d = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, 'Z', 0, 0};
        HPDF_SetInfoDateAttr(L->pdf, HPDF_INFO_CREATION_DATE, d);
        HPDF_SetInfoDateAttr(L->pdf, HPDF_INFO_MOD_DATE, d);
    }
}

/* A random owner password: libharu needs one different from the user's,
 * and nobody should be able to lift the restrictions with a known one. */
static void owner_password(char *out, size_t cap)
{
    unsigned char b[16] = {0};
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(b, 1, sizeof b, f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof b) {
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ (unsigned long)(uintptr_t)out;
        for (size_t i = 0; i < sizeof b; i++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < sizeof b && o + 3 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
}

static int save(lay_t *L, unsigned char **out, size_t *len, muse_error_t *err)
{
    if (HPDF_SaveToStream(L->pdf) != HPDF_OK)
        return muse_err(err, MUSE_EINTERNAL, "libharu could not write the PDF");
    HPDF_UINT32 size = HPDF_GetStreamSize(L->pdf);
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    HPDF_ResetStream(L->pdf);
    HPDF_UINT32 off = 0;
    while (off < size) {
        HPDF_UINT32 n = size - off;
        HPDF_STATUS st = HPDF_ReadFromStream(L->pdf, buf + off, &n);
        off += n;
        if (n == 0 || (st != HPDF_OK && st != HPDF_STREAM_EOF))
            break;
    }
    if (off != size) {
        free(buf);
        return muse_err(err, MUSE_EINTERNAL, "libharu returned a short PDF (%u of %u bytes)", (unsigned)off,
                        (unsigned)size);
    }
    *out = buf;
    *len = size;
    return MUSE_OK;
}

int rp_render_pdf(report_t *r, const rp_doc_t *doc, unsigned char **out, size_t *len, muse_error_t *err)
{
    hpdf_err_t he = {0, 0};
    lay_t L;
    memset(&L, 0, sizeof L);
    L.r = r;
    int rc = MUSE_OK;
    *out = NULL;
    *len = 0;
    free(r->charts);
    r->charts = NULL;
    r->n_charts = 0;
    L.pdf = HPDF_New(on_error, &he);
    if (!L.pdf)
        return muse_err(err, MUSE_ENOMEM, "out of memory (libharu)");
    HPDF_SetCompressionMode(L.pdf, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(L.pdf);
    HPDF_SetCurrentEncoder(L.pdf, "UTF-8");
    L.enc = HPDF_GetEncoder(L.pdf, "UTF-8");
    if ((rc = rp_fonts_load(L.pdf, r->font_path, r->font_bold_path, &L.f, err)) != MUSE_OK)
        goto done;
    HPDF_SetPageMode(L.pdf, HPDF_PAGE_MODE_USE_OUTLINE);
    new_page(&L);
    for (size_t i = 0; i < doc->n && !L.oom; i++) {
        const rp_block_t *b = &doc->v[i];
        const rp_block_t *next = i + 1 < doc->n ? &doc->v[i + 1] : NULL;
        switch (b->kind) {
        case RB_TITLE:
            draw_title(&L, b);
            break;
        case RB_HEADING:
            draw_heading(&L, b, next);
            break;
        case RB_PARA:
            draw_para(&L, b, 10, 14, INK, 0, 6);
            break;
        case RB_BULLET:
            draw_para(&L, b, 10, 14, INK, 14, 3);
            break;
        case RB_NOTE:
            if (b->anchor && strcmp(b->anchor, "replaced-characters") == 0) {
                size_t n = rp_fonts_replaced(L.f);
                if (!n)
                    break;
                rp_block_t nb = *b;
                char *t = rp_strdupf("%zu character%s in this report %s not in the font (DejaVu Sans) and %s "
                                     "printed as \xEF\xBF\xBD. The JSON and HTML outputs keep %s as given.",
                                     n, n == 1 ? "" : "s", n == 1 ? "is" : "are", n == 1 ? "is" : "are",
                                     n == 1 ? "it" : "them");
                nb.text = t;
                draw_para(&L, &nb, 8.5, 11.5, MUTED, 0, 6);
                free(t);
            } else {
                draw_para(&L, b, 8.5, 11.5, MUTED, 0, 6);
            }
            break;
        case RB_FLAG:
            draw_flag(&L, b);
            break;
        case RB_TABLE:
            draw_table(&L, b->table);
            break;
        case RB_CHART:
            if ((rc = draw_chart(&L, b, err)) != MUSE_OK)
                goto done;
            break;
        case RB_PAGE_BREAK:
            if (!at_top(&L) && (b->level == 0 || L.np == 1 || L.y - MT > 0.4 * BODY_H))
                new_page(&L);
            break;
        }
    }
    if (L.oom) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    r->chars_replaced = rp_fonts_replaced(L.f);
    footers(&L);
    metadata(&L);
    if (r->password) {
        char owner[40];
        owner_password(owner, sizeof owner);
        HPDF_SetPassword(L.pdf, owner, r->password);
        HPDF_SetEncryptionMode(L.pdf, HPDF_ENCRYPT_R3, 16);
        HPDF_SetPermission(L.pdf, HPDF_ENABLE_READ | HPDF_ENABLE_PRINT | HPDF_ENABLE_COPY);
        memset(owner, 0, sizeof owner);
    }
    if (he.code) {
        rc = muse_err(err, he.code == HPDF_FAILD_TO_ALLOC_MEM ? MUSE_ENOMEM : MUSE_EINTERNAL,
                      "libharu failed while laying out the report (error 0x%04X, detail %u)", (unsigned)he.code,
                      (unsigned)he.detail);
        goto done;
    }
    if ((rc = save(&L, out, len, err)) != MUSE_OK)
        goto done;
    r->pdf_pages = (int)L.np;
    r->pdf_bytes = *len;
done:
    HPDF_Free(L.pdf);
    rp_fonts_free(L.f);
    free(L.pages);
    return rc;
}

int report_pdf(report_t *r, unsigned char **out, size_t *len, muse_error_t *err)
{
    if (!r || !out || !len)
        return muse_err(err, MUSE_EINVAL, "report_pdf: no report or output");
    *out = NULL;
    *len = 0;
    const rp_doc_t *doc = NULL;
    int rc = rp_doc_get(r, &doc, err);
    if (rc != MUSE_OK)
        return rc;
    return rp_render_pdf(r, doc, out, len, err);
}
