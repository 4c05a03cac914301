/* Layout: a parsed chart into a scene.
 *
 * Space is handed out top-down: title, subtitle and legend first, then the
 * panels. Inside a panel the x axis's height is fixed (one line of labels
 * and a title), so y ticks can be chosen first; their widest label sets the
 * left margin, and only then is the plot's width known for the x ticks.
 * Band labels get a gutter on the right so they never sit under the data.
 *
 * Guideline bands are drawn first, then the grid, then the data, so the
 * data is never hidden; bands carry a hatching pattern as well as a tint so
 * they can be told apart in greyscale print and by people who do not see
 * the colours. Every text colour here keeps a contrast of at least 4.5:1 on
 * white and on the band tints (tests/viz/test_render.c checks it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/viz_int.h"

#define PAD 12.0
#define TITLE_SIZE 15.0
#define SUBTITLE_SIZE 11.0
#define HEADING_SIZE 10.5
#define AXIS_TITLE_SIZE 10.0
#define TICK_SIZE 9.5
#define LEGEND_SIZE 10.0
#define BAND_LABEL_SIZE 9.0
#define NOTE_SIZE 8.5
#define MAX_ROW_MARKS 20000   /* rects, rules, texts drawn from data rows */

static const viz_rgba_t INK = {0x22, 0x22, 0x22, 255};       /* 15.9:1 on white */
static const viz_rgba_t INK_SOFT = {0x44, 0x44, 0x44, 255};  /* 9.7:1 */
static const viz_rgba_t INK_NOTE = {0x59, 0x59, 0x59, 255};  /* 7.0:1 */
static const viz_rgba_t GRID = {0x00, 0x00, 0x00, 30};
static const viz_rgba_t AXIS = {0x76, 0x76, 0x76, 255};
static const viz_rgba_t WHITE = {255, 255, 255, 255};
static const viz_rgba_t NONE = {0, 0, 0, 0};

typedef struct lay {
    const viz_chart_t *c;
    viz_scene_t *s;
    viz_measure_t *m;
    int rc;
    viz_buf_t note;
} lay_t;

typedef struct box {
    double x0, y0, x1, y1;
} box_t;

/* ---- Emitting ------------------------------------------------------------------ */

static void add(lay_t *L, const viz_prim_t *p)
{
    if (L->rc == MUSE_OK && viz_scene_add(L->s, p) != MUSE_OK)
        L->rc = MUSE_ENOMEM;
}

static viz_prim_t prim(viz_prim_kind_t k, viz_role_t role, int series, long datum)
{
    viz_prim_t p;
    memset(&p, 0, sizeof p);
    p.kind = k;
    p.role = role;
    p.series = series;
    p.datum = datum;
    return p;
}

static void emit_rect(lay_t *L, viz_role_t role, int series, long datum, double x, double y,
                      double w, double h, viz_rgba_t fill, viz_rgba_t stroke, double sw)
{
    viz_prim_t p = prim(VIZ_PRIM_RECT, role, series, datum);
    p.x = x;
    p.y = y;
    p.w = w;
    p.h = h;
    p.style.fill = fill;
    p.style.stroke = stroke;
    p.style.stroke_width = sw;
    add(L, &p);
}

static void emit_text(lay_t *L, viz_role_t role, int series, double x, double y, const char *t,
                      double size, int bold, viz_anchor_t a, double angle, viz_rgba_t color)
{
    viz_prim_t p = prim(VIZ_PRIM_TEXT, role, series, -1);
    p.x = x;
    p.y = y;
    p.text = t;
    p.font_size = size;
    p.bold = bold;
    p.anchor = a;
    p.angle = angle;
    p.style.fill = color;
    add(L, &p);
}

static void emit_line(lay_t *L, viz_role_t role, int series, long datum, const viz_point_t *pts,
                      size_t n, viz_rgba_t color, double width, const double *dash, int ndash,
                      int round)
{
    if (n < 2)
        return;
    viz_prim_t p = prim(VIZ_PRIM_LINE, role, series, datum);
    p.pts = pts;
    p.npts = n;
    p.style.stroke = color;
    p.style.stroke_width = width;
    p.style.round = round;
    for (int i = 0; i < ndash && i < 4; i++)
        p.style.dash[i] = dash[i];
    p.style.ndash = ndash;
    add(L, &p);
}

static void emit_seg(lay_t *L, viz_role_t role, double x0, double y0, double x1, double y1,
                     viz_rgba_t color, double width)
{
    viz_point_t pts[2] = {{x0, y0}, {x1, y1}};
    emit_line(L, role, -1, -1, pts, 2, color, width, NULL, 0, 0);
}

static void emit_clip(lay_t *L, const box_t *b)
{
    viz_prim_t p = prim(VIZ_PRIM_CLIP_BEGIN, VIZ_ROLE_BACKGROUND, -1, -1);
    p.x = b->x0;
    p.y = b->y0;
    p.w = b->x1 - b->x0;
    p.h = b->y1 - b->y0;
    add(L, &p);
}

static void emit_unclip(lay_t *L)
{
    viz_prim_t p = prim(VIZ_PRIM_CLIP_END, VIZ_ROLE_BACKGROUND, -1, -1);
    add(L, &p);
}

/* A point marker of a shape; filled, or white with a coloured outline. */
static void emit_marker(lay_t *L, viz_role_t role, int series, long datum, viz_series_shape_t shape,
                        double x, double y, double r, viz_rgba_t color, int filled)
{
    viz_rgba_t fill = filled ? color : WHITE;
    viz_rgba_t stroke = filled ? WHITE : color;
    double sw = filled ? 0.8 : 1.5;
    if (shape == VIZ_SHAPE_CIRCLE) {
        viz_prim_t p = prim(VIZ_PRIM_CIRCLE, role, series, datum);
        p.x = x;
        p.y = y;
        p.r = r;
        p.style.fill = fill;
        p.style.stroke = stroke;
        p.style.stroke_width = sw;
        add(L, &p);
        return;
    }
    if (shape == VIZ_SHAPE_SQUARE) {
        double h = r * 0.9;
        emit_rect(L, role, series, datum, x - h, y - h, 2 * h, 2 * h, fill, stroke, sw);
        return;
    }
    viz_path_el_t els[5];
    size_t n = 0;
    double k = r * 1.25;
    if (shape == VIZ_SHAPE_DIAMOND) {
        els[n++] = (viz_path_el_t){VIZ_PATH_MOVE, {{x, y - k}}};
        els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{x + k, y}}};
        els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{x, y + k}}};
        els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{x - k, y}}};
    } else {
        double dir = shape == VIZ_SHAPE_TRIANGLE_DOWN ? -1 : 1;
        els[n++] = (viz_path_el_t){VIZ_PATH_MOVE, {{x, y - dir * k}}};
        els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{x + k * 0.95, y + dir * k * 0.65}}};
        els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{x - k * 0.95, y + dir * k * 0.65}}};
    }
    els[n++] = (viz_path_el_t){VIZ_PATH_CLOSE, {{0, 0}}};
    viz_prim_t p = prim(VIZ_PRIM_PATH, role, series, datum);
    p.els = els;
    p.nels = n;
    p.style.fill = fill;
    p.style.stroke = stroke;
    p.style.stroke_width = sw;
    add(L, &p);
}

/* Hatching inside a rectangle, aligned to the page so neighbouring bands'
 * lines meet. One path primitive per band. */
static void emit_hatch(lay_t *L, viz_pattern_t pat, double x0, double y0, double x1, double y1,
                       viz_rgba_t ink)
{
    if (pat == VIZ_PAT_NONE || x1 - x0 < 1 || y1 - y0 < 1)
        return;
    double sp = pat == VIZ_PAT_DENSE ? 5.0 : pat == VIZ_PAT_HORIZONTAL || pat == VIZ_PAT_VERTICAL ? 6.0 : 8.0;
    int fam[2] = {-1, -1};   /* 0 horizontal, 1 diagonal, 2 back-diagonal, 3 vertical */
    switch (pat) {
    case VIZ_PAT_HORIZONTAL: fam[0] = 0; break;
    case VIZ_PAT_VERTICAL: fam[0] = 3; break;
    case VIZ_PAT_DIAGONAL: fam[0] = 1; break;
    case VIZ_PAT_BACK_DIAGONAL: fam[0] = 2; break;
    case VIZ_PAT_CROSS:
    case VIZ_PAT_DENSE: fam[0] = 1; fam[1] = 2; break;
    default: return;
    }
    size_t cap = 0, n = 0;
    viz_path_el_t *els = NULL;
    for (int f = 0; f < 2; f++) {
        if (fam[f] < 0)
            continue;
        double step = (fam[f] == 1 || fam[f] == 2) ? sp * M_SQRT2 : sp;
        double c0, c1;
        if (fam[f] == 0) { c0 = y0; c1 = y1; }
        else if (fam[f] == 3) { c0 = x0; c1 = x1; }
        else if (fam[f] == 1) { c0 = x0 + y0; c1 = x1 + y1; }
        else { c0 = x0 - y1; c1 = x1 - y0; }
        for (double cc = ceil(c0 / step) * step; cc <= c1; cc += step) {
            double ax, ay, bx, by;
            if (fam[f] == 0) { ax = x0; bx = x1; ay = by = cc; }
            else if (fam[f] == 3) { ay = y0; by = y1; ax = bx = cc; }
            else if (fam[f] == 1) {
                ax = fmax(x0, cc - y1); bx = fmin(x1, cc - y0);
                ay = cc - ax; by = cc - bx;
            } else {
                ax = fmax(x0, y0 + cc); bx = fmin(x1, y1 + cc);
                ay = ax - cc; by = bx - cc;
            }
            if (bx - ax < 0.5 && fabs(by - ay) < 0.5)
                continue;
            if (n + 2 > cap) {
                cap = cap ? cap * 2 : 64;
                viz_path_el_t *e = realloc(els, cap * sizeof *e);
                if (!e) {
                    free(els);
                    L->rc = MUSE_ENOMEM;
                    return;
                }
                els = e;
            }
            els[n++] = (viz_path_el_t){VIZ_PATH_MOVE, {{ax, ay}}};
            els[n++] = (viz_path_el_t){VIZ_PATH_LINE, {{bx, by}}};
            if (n > 200000)
                break;
        }
    }
    if (n) {
        viz_prim_t p = prim(VIZ_PRIM_PATH, VIZ_ROLE_BAND, -1, -1);
        p.els = els;
        p.nels = n;
        p.style.stroke = ink;
        p.style.stroke_width = 0.7;
        add(L, &p);
    }
    free(els);
}

/* ---- Data access ----------------------------------------------------------------- */

static const viz_table_t *ltable(const lay_t *L, const viz_layer_t *l)
{
    return l->table >= 0 ? L->c->tables[l->table] : NULL;
}

static size_t lrows(const lay_t *L, const viz_layer_t *l)
{
    const viz_table_t *t = ltable(L, l);
    if (!t)
        return 0;
    return l->rows ? l->nrows : t->n;
}

static size_t lrow(const viz_layer_t *l, size_t k)
{
    return l->rows ? l->rows[k] : k;
}

/* Layers that draw from data rows (as opposed to one datum). */
static int layer_has_rows(const viz_layer_t *l)
{
    return l->x.kind == VIZ_CH_FIELD || l->y.kind == VIZ_CH_FIELD || l->x2.kind == VIZ_CH_FIELD ||
           l->y2.kind == VIZ_CH_FIELD || l->text.kind == VIZ_CH_FIELD;
}

static double chan_num(const lay_t *L, const viz_layer_t *l, const viz_chan_t *ch, size_t row)
{
    if (ch->kind == VIZ_CH_DATUM)
        return ch->num;
    if (ch->kind == VIZ_CH_VALUE)
        return ch->str ? NAN : ch->num;
    if (ch->kind != VIZ_CH_FIELD || ch->col < 0)
        return NAN;
    const viz_table_t *t = ltable(L, l);
    return t ? t->cols[ch->col].num[row] : NAN;
}

/* A category name for band scales and nominal values. */
static const char *chan_cat(const lay_t *L, const viz_layer_t *l, const viz_chan_t *ch, size_t row,
                            char *buf, size_t cap)
{
    if (ch->kind == VIZ_CH_DATUM || ch->kind == VIZ_CH_VALUE) {
        if (ch->str)
            return ch->str;
        viz_format_number(ch->num, ch->decimals, buf, cap);
        return buf;
    }
    const viz_table_t *t = ltable(L, l);
    if (!t || ch->col < 0)
        return NULL;
    const viz_col_t *col = &t->cols[ch->col];
    if (col->str && col->str[row])
        return col->str[row];
    if (!isfinite(col->num[row]))
        return NULL;
    if (col->is_time)
        viz_format_datetime(col->num[row], col->has_clock, buf, cap);
    else
        viz_format_number(col->num[row], ch->decimals, buf, cap);
    return buf;
}

/* The value as people read it: "142 mmHg", "Mar 3, 2024 08:30", "HbA1c". */
static void chan_format(const lay_t *L, const viz_layer_t *l, const viz_chan_t *ch, size_t row,
                        const char *unit, char *out, size_t cap)
{
    out[0] = '\0';
    if (ch->kind == VIZ_CH_VALUE || (ch->kind == VIZ_CH_DATUM && ch->str)) {
        if (ch->str)
            snprintf(out, cap, "%s", ch->str);
        else
            viz_format_number(ch->num, ch->decimals, out, cap);
        return;
    }
    int is_time = ch->type == VIZ_TYPE_TIME, has_clock = 1;
    const char *s = NULL;
    double v = ch->num;
    if (ch->kind == VIZ_CH_FIELD) {
        const viz_table_t *t = ltable(L, l);
        if (!t || ch->col < 0)
            return;
        const viz_col_t *col = &t->cols[ch->col];
        s = col->str ? col->str[row] : NULL;
        v = col->num[row];
        is_time = col->is_time;
        has_clock = col->has_clock;
    }
    if (s) {
        snprintf(out, cap, "%s", s);
        return;
    }
    if (!isfinite(v)) {
        snprintf(out, cap, "no value");
        return;
    }
    if (is_time) {
        viz_format_datetime(v, has_clock, out, cap);
        return;
    }
    char num[64];
    viz_format_number(v, ch->decimals, num, sizeof num);
    const char *u = viz_unit_display(ch->unit ? ch->unit : unit);
    snprintf(out, cap, "%s%s%s", num, *u && strcmp(u, "%") ? " " : "", u);
}

static const char *chan_title(const viz_chan_t *ch, const char *fallback)
{
    if (ch->title)
        return ch->title;
    if (ch->field)
        return ch->field;
    return fallback;
}

/* Tooltip lines for one row of a layer. */
static char *tooltip(const lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, size_t row)
{
    viz_buf_t b = {0};
    char val[160];
    if (l->ntips) {
        for (size_t i = 0; i < l->ntips; i++) {
            const viz_chan_t *ch = &l->tips[i];
            chan_format(L, l, ch, row, NULL, val, sizeof val);
            if (ch->kind == VIZ_CH_FIELD && strcmp(val, "no value") == 0)
                continue;   /* an optional field this row lacks (a pulse) */
            vb_printf(&b, "%s%s: %s", b.len ? "\n" : "", chan_title(ch, "value"), val);
        }
    } else {
        const viz_chan_t *xs[] = {&l->x, &l->x2}, *ys[] = {&l->y, &l->y2};
        for (int i = 0; i < 2; i++)
            if (xs[i]->kind == VIZ_CH_FIELD) {
                chan_format(L, l, xs[i], row, pn->x.unit, val, sizeof val);
                vb_printf(&b, "%s%s: %s", b.len ? "\n" : "",
                          chan_title(xs[i], pn->x.title ? pn->x.title : "x"), val);
            }
        for (int i = 0; i < 2; i++)
            if (ys[i]->kind == VIZ_CH_FIELD) {
                chan_format(L, l, ys[i], row, pn->y.unit, val, sizeof val);
                const char *t = i == 0 && l->name ? l->name : chan_title(ys[i], "y");
                vb_printf(&b, "%s%s: %s", b.len ? "\n" : "", t, val);
            }
        if (l->text.kind == VIZ_CH_FIELD) {
            chan_format(L, l, &l->text, row, NULL, val, sizeof val);
            vb_printf(&b, "%s%s: %s", b.len ? "\n" : "", chan_title(&l->text, "text"), val);
        }
    }
    return vb_steal(&b, NULL);
}

static long add_datum(lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, int series, size_t row,
                      double x, double y, double w, double h)
{
    if (L->rc != MUSE_OK || l->tips_off || l->table < 0)
        return -1;
    char *label = tooltip(L, pn, l, row);
    if (!label) {
        L->rc = MUSE_ENOMEM;
        return -1;
    }
    viz_datum_t d = {series, l->table, (long)row, x, y, w, h, label};
    long idx = -1;
    if (viz_scene_add_datum(L->s, &d, &idx) != MUSE_OK)
        L->rc = MUSE_ENOMEM;
    free(label);
    return idx;
}

/* ---- Scales ---------------------------------------------------------------------- */

typedef struct axis {
    viz_scale_t sc;
    int used;          /* some layer puts data on this axis */
    int finite;        /* the domain came out of data or the spec */
} axis_t;

static int add_cat(viz_scale_t *s, const char *name)
{
    for (size_t i = 0; i < s->ncats; i++)
        if (strcmp(s->cats[i], name) == 0)
            return (int)i;
    if (s->ncats >= 200)
        return -1;
    char **c = realloc(s->cats, (s->ncats + 1) * sizeof *c);
    if (!c)
        return -1;
    s->cats = c;
    c[s->ncats] = viz_strdup(name);
    if (!c[s->ncats])
        return -1;
    return (int)s->ncats++;
}

static int cat_index(const viz_scale_t *s, const char *name)
{
    for (size_t i = 0; name && i < s->ncats; i++)
        if (strcmp(s->cats[i], name) == 0)
            return (int)i;
    return -1;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The smallest gap between distinct x values of the bar layers (0: none). */
static double bar_gap(const lay_t *L, const viz_panel_t *pn)
{
    double gap = INFINITY;
    size_t total = 0;
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->mark == VIZ_MARK_BAR && l->x.kind == VIZ_CH_FIELD && l->x.col >= 0)
            total += lrows(L, l);
    }
    if (total == 0 || pn->x.type == VIZ_SCALE_BAND || pn->x.type == VIZ_SCALE_LOG)
        return 0;
    double *v = malloc(total * sizeof *v);
    if (!v)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->mark != VIZ_MARK_BAR || l->x.kind != VIZ_CH_FIELD || l->x.col < 0)
            continue;
        const double *x = ltable(L, l)->cols[l->x.col].num;
        for (size_t r = 0; r < lrows(L, l); r++)
            if (isfinite(x[lrow(l, r)]))
                v[n++] = x[lrow(l, r)];
    }
    qsort(v, n, sizeof *v, cmp_dbl);
    for (size_t k = 1; k < n; k++)
        if (v[k] > v[k - 1] && v[k] - v[k - 1] < gap)
            gap = v[k] - v[k - 1];
    free(v);
    if (!isfinite(gap))
        gap = pn->x.type == VIZ_SCALE_TIME ? 86400 : 1;
    return gap;
}

/* The domain of one axis over every layer that counts towards it. */
static void axis_domain(lay_t *L, const viz_panel_t *pn, int is_x, axis_t *ax)
{
    const viz_axis_spec_t *as = is_x ? &pn->x : &pn->y;
    viz_scale_t *s = &ax->sc;
    s->type = as->type;
    double lo = INFINITY, hi = -INFINITY;
    int bars_zero = 0;
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        const viz_chan_t *chs[2] = {is_x ? &l->x : &l->y, is_x ? &l->x2 : &l->y2};
        for (int k = 0; k < 2; k++) {
            const viz_chan_t *ch = chs[k];
            if (!ch->kind)
                continue;
            ax->used = 1;
            if (!l->domain)
                continue;
            if (s->type == VIZ_SCALE_BAND) {
                char buf[64];
                size_t n = ch->kind == VIZ_CH_FIELD ? lrows(L, l) : 1;
                for (size_t r = 0; r < n; r++) {
                    const char *name = chan_cat(L, l, ch, lrow(l, r), buf, sizeof buf);
                    if (name)
                        add_cat(s, name);
                }
                continue;
            }
            if (ch->kind == VIZ_CH_DATUM) {
                if (isfinite(ch->num) && (s->type != VIZ_SCALE_LOG || ch->num > 0)) {
                    lo = fmin(lo, ch->num);
                    hi = fmax(hi, ch->num);
                }
                continue;
            }
            if (ch->kind != VIZ_CH_FIELD || ch->col < 0)
                continue;
            const double *v = ltable(L, l)->cols[ch->col].num;
            size_t n = lrows(L, l);
            for (size_t r = 0; r < n; r++) {
                double d = v[lrow(l, r)];
                if (!isfinite(d) || (s->type == VIZ_SCALE_LOG && d <= 0))
                    continue;
                if (d < lo)
                    lo = d;
                if (d > hi)
                    hi = d;
            }
        }
        if (!is_x && l->mark == VIZ_MARK_BAR)
            bars_zero = 1;
    }
    if (s->type == VIZ_SCALE_BAND) {
        s->padding = 0.25;
        ax->finite = s->ncats > 0;
        return;
    }
    if (s->type == VIZ_SCALE_TIME) {
        /* Dates without clock times get day ticks, never "12:00". */
        int fields = 0, clock = 0;
        for (size_t i = 0; i < pn->nlayers; i++) {
            const viz_layer_t *l = &pn->layers[i];
            const viz_chan_t *chs[2] = {is_x ? &l->x : &l->y, is_x ? &l->x2 : &l->y2};
            for (int k = 0; k < 2; k++)
                if (chs[k]->kind == VIZ_CH_FIELD && chs[k]->col >= 0 && ltable(L, l)) {
                    fields++;
                    clock |= ltable(L, l)->cols[chs[k]->col].has_clock;
                }
        }
        s->dates_only = fields > 0 && !clock;
    }
    /* Bars on a continuous x need half a bar of room at each end. */
    double bar_pad = is_x ? bar_gap(L, pn) / 2 : 0;
    if (bar_pad > 0 && isfinite(lo) && !as->has_domain) {
        lo -= bar_pad;
        hi += bar_pad;
    }
    int zero = as->zero >= 0 ? as->zero : bars_zero;
    if (zero && s->type == VIZ_SCALE_LINEAR && isfinite(lo)) {
        lo = fmin(lo, 0);
        hi = fmax(hi, 0);
    }
    if (as->has_domain) {
        lo = as->lo;
        hi = as->hi;
    }
    if (!isfinite(lo) || !isfinite(hi)) {
        ax->finite = 0;
        s->d0 = 0;
        s->d1 = 1;
        return;
    }
    ax->finite = 1;
    if (hi - lo <= fabs(hi) * 1e-12) {
        /* One value: centre it in a sensible window. */
        if (s->type == VIZ_SCALE_TIME) {
            lo -= 86400;
            hi += 86400;
        } else if (s->type == VIZ_SCALE_LOG) {
            lo /= 2;
            hi *= 2;
        } else {
            double d = fmax(1, fabs(lo) * 0.1);
            lo -= d;
            hi += d;
        }
    } else if (s->type == VIZ_SCALE_TIME && !as->has_domain) {
        double padt = (hi - lo) * 0.03;
        lo -= padt;
        hi += padt;
    }
    s->d0 = lo;
    s->d1 = hi;
}

/* A position on a scale for a row's channel: 0 when missing. */
static int pos(const lay_t *L, const viz_scale_t *s, const viz_layer_t *l, const viz_chan_t *ch,
               size_t row, double *out)
{
    if (s->type == VIZ_SCALE_BAND) {
        char buf[64];
        int i = cat_index(s, chan_cat(L, l, ch, row, buf, sizeof buf));
        if (i < 0)
            return 0;
        *out = viz_scale_map(s, (double)i);
        return 1;
    }
    double v = chan_num(L, l, ch, row);
    if (!isfinite(v) || (s->type == VIZ_SCALE_LOG && v <= 0))
        return 0;
    *out = viz_scale_map(s, v);
    return isfinite(*out);
}

/* ---- Marks ------------------------------------------------------------------------- */

typedef struct xy {
    double x, y;
    size_t row;
    size_t seg;   /* gap counter: points of different segments are not joined */
} xy_t;

static int cmp_xy(const void *a, const void *b)
{
    const xy_t *p = a, *q = b;
    if (p->x < q->x)
        return -1;
    if (p->x > q->x)
        return 1;
    return p->row < q->row ? -1 : p->row > q->row;
}

typedef struct plot {
    box_t b;
    axis_t *x, *y;
    int series_base;   /* series index of the panel's first layer */
} plot_t;

static double line_width(const viz_layer_t *l)
{
    return l->stroke_width >= 0 ? l->stroke_width : 2.0;
}

static double point_radius(const viz_layer_t *l)
{
    return l->size > 0 ? l->size : 3.2;
}

static viz_rgba_t with_opacity(viz_rgba_t c, double op)
{
    c.a = (unsigned char)lround(c.a * op);
    return c;
}

/* Lines, areas, points and bars of one layer: sorted by x, thinned with
 * LTTB past two points per pixel, with a datum for every point drawn. */
static void draw_series(lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, const plot_t *P,
                        int series, int pass)
{
    const viz_scale_t *xs = &P->x->sc, *ys = &P->y->sc;
    size_t n = lrows(L, l);
    if (n == 0)
        return;
    int horizontal_bars = l->mark == VIZ_MARK_BAR && ys->type == VIZ_SCALE_BAND &&
                          xs->type != VIZ_SCALE_BAND;
    xy_t *v = malloc(n * sizeof *v);
    size_t *idx = NULL, *keep = NULL;
    double *ax = NULL, *ay = NULL;
    viz_point_t *pts = NULL;
    if (!v) {
        L->rc = MUSE_ENOMEM;
        return;
    }
    /* Rows with an x but no y stay in (as NAN) until the sort is done:
     * a missing value breaks a line where it falls in x order. */
    size_t m = 0, dropped = 0;
    int sorted = 1;
    for (size_t k = 0; k < n; k++) {
        size_t row = lrow(l, k);
        double px, py;
        if (!pos(L, xs, l, &l->x, row, &px)) {
            dropped += isfinite(chan_num(L, l, &l->y, row)) ? 1 : 0;
            continue;
        }
        if (!pos(L, ys, l, &l->y, row, &py)) {
            dropped++;
            py = NAN;
        }
        if (m && px < v[m - 1].x)
            sorted = 0;
        v[m++] = (xy_t){px, py, row, 0};
    }
    if (!sorted && (l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_AREA))
        qsort(v, m, sizeof *v, cmp_xy);
    size_t seg = 0, w = 0;
    for (size_t k = 0; k < m; k++) {
        if (isnan(v[k].y)) {
            seg++;
            continue;
        }
        v[k].seg = seg;
        v[w++] = v[k];
    }
    m = w;
    if (m == 0)
        goto done;
    /* Thin: two points per pixel of plot width is more than the eye or a
     * printer can tell apart. */
    size_t threshold = (size_t)fmax(500, 2 * (P->b.x1 - P->b.x0));
    idx = malloc(m * sizeof *idx);
    keep = malloc((m < threshold ? m : threshold + 1) * sizeof *keep);
    if (!idx || !keep) {
        L->rc = MUSE_ENOMEM;
        goto done;
    }
    size_t kept = m;
    if (m > threshold && !horizontal_bars) {
        ax = malloc(m * sizeof *ax);
        ay = malloc(m * sizeof *ay);
        if (!ax || !ay) {
            L->rc = MUSE_ENOMEM;
            goto done;
        }
        for (size_t k = 0; k < m; k++) {
            ax[k] = v[k].x;
            ay[k] = -v[k].y;   /* page y grows downwards: the maximum is the top */
            idx[k] = k;
        }
        kept = viz_lttb(ax, ay, idx, m, threshold, keep);
        if (pass == 0) {
            char a[32], b[32];
            viz_format_number((double)m, 0, a, sizeof a);
            viz_format_number((double)kept, 0, b, sizeof b);
            vb_printf(&L->note, "%s%s: %s points drawn as %s (LTTB), keeping the highest and lowest.",
                      L->note.len ? " " : "", l->name ? l->name : "Series", a, b);
        }
    } else {
        for (size_t k = 0; k < m; k++)
            keep[k] = k;
    }
    if (pass == 0 && dropped) {
        vb_printf(&L->note, "%s%s: %zu value%s without a usable position left out.",
                  L->note.len ? " " : "", l->name ? l->name : "Series", dropped, dropped == 1 ? "" : "s");
    }
    pts = malloc((kept + 2) * 2 * sizeof *pts);
    if (!pts) {
        L->rc = MUSE_ENOMEM;
        goto done;
    }
    viz_rgba_t col = l->color;
    if (pass == 0 && (l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_AREA)) {
        /* Pass 0 (clipped): the line or area itself, one polyline per segment. */
        size_t start = 0;
        double base = ys->type == VIZ_SCALE_LOG ? P->b.y1
                      : fmin(P->b.y1, fmax(P->b.y0, viz_scale_map(ys, fmax(ys->d0, fmin(0, ys->d1)))));
        for (size_t k = 0; k <= kept; k++) {
            int brk = k == kept || (k > start && v[keep[k]].seg != v[keep[k - 1]].seg);
            if (!brk)
                continue;
            size_t cnt = k - start;
            if (l->mark == VIZ_MARK_AREA && cnt >= 2) {
                viz_path_el_t *els = malloc((2 * cnt + 2) * sizeof *els);
                if (!els) {
                    L->rc = MUSE_ENOMEM;
                    goto done;
                }
                size_t e = 0;
                for (size_t q = 0; q < cnt; q++) {
                    const xy_t *p = &v[keep[start + q]];
                    els[e++] = (viz_path_el_t){q ? VIZ_PATH_LINE : VIZ_PATH_MOVE, {{p->x, p->y}}};
                }
                for (size_t q = cnt; q-- > 0;) {
                    const xy_t *p = &v[keep[start + q]];
                    double y2 = base;
                    if (l->y2.kind) {
                        double py2;
                        if (pos(L, ys, l, &l->y2, p->row, &py2))
                            y2 = py2;
                    }
                    els[e++] = (viz_path_el_t){VIZ_PATH_LINE, {{p->x, y2}}};
                }
                els[e++] = (viz_path_el_t){VIZ_PATH_CLOSE, {{0, 0}}};
                viz_prim_t pr = prim(VIZ_PRIM_PATH, VIZ_ROLE_MARK, series, -1);
                pr.els = els;
                pr.nels = e;
                pr.style.fill = with_opacity(col, l->opacity < 1 ? l->opacity : 0.3);
                add(L, &pr);
                free(els);
            }
            if (cnt >= 2) {
                for (size_t q = 0; q < cnt; q++) {
                    pts[q].x = v[keep[start + q]].x;
                    pts[q].y = v[keep[start + q]].y;
                }
                emit_line(L, VIZ_ROLE_MARK, series, -1, pts, cnt,
                          with_opacity(col, l->mark == VIZ_MARK_LINE ? l->opacity : 1),
                          l->mark == VIZ_MARK_AREA ? fmin(line_width(l), 1.5) : line_width(l),
                          l->dash, l->ndash, 1);
            }
            start = k;
        }
    }
    if (pass == 0 && l->mark == VIZ_MARK_BAR) {
        double bw;
        const viz_scale_t *bs = horizontal_bars ? ys : xs;
        if (bs->type == VIZ_SCALE_BAND) {
            bw = viz_scale_bandwidth(bs);
        } else {
            double gap = INFINITY;
            for (size_t k = 1; k < kept; k++) {
                double d = fabs(v[keep[k]].x - v[keep[k - 1]].x);
                if (d > 0.01 && d < gap)
                    gap = d;
            }
            bw = isfinite(gap) ? fmin(40, fmax(1, gap * 0.8)) : 20;
        }
        const viz_scale_t *vs = horizontal_bars ? xs : ys;
        double lo_edge = horizontal_bars ? P->b.x0 : P->b.y1;
        double zero = vs->type == VIZ_SCALE_LOG ? lo_edge : viz_scale_map(vs, fmax(vs->d0, fmin(0, vs->d1)));
        for (size_t k = 0; k < kept; k++) {
            const xy_t *p = &v[keep[k]];
            double base = zero;
            const viz_chan_t *c2 = horizontal_bars ? &l->x2 : &l->y2;
            double b2;
            if (c2->kind && pos(L, vs, l, c2, p->row, &b2))
                base = b2;
            double x, y, w, h;
            if (horizontal_bars) {
                x = fmin(base, p->x);
                w = fabs(p->x - base);
                y = p->y - bw / 2;
                h = bw;
            } else {
                x = p->x - bw / 2;
                w = bw;
                y = fmin(base, p->y);
                h = fabs(p->y - base);
            }
            long d = add_datum(L, pn, l, series, p->row, x + w / 2, y + h / 2, w, fmax(h, 4));
            emit_rect(L, VIZ_ROLE_MARK, series, d, x, y, w, h, with_opacity(col, l->opacity), NONE, 0);
        }
    }
    /* Pass 1 (not clipped): point markers and the data for hit targets. */
    if (pass == 1 && l->mark != VIZ_MARK_BAR) {
        int show = l->mark == VIZ_MARK_POINT || l->points == 1 || (l->points < 0 && kept <= 120 &&
                                                                  l->mark == VIZ_MARK_LINE);
        double r = point_radius(l);
        for (size_t k = 0; k < kept; k++) {
            const xy_t *p = &v[keep[k]];
            if (p->x < P->b.x0 - 0.5 || p->x > P->b.x1 + 0.5 || p->y < P->b.y0 - 0.5 ||
                p->y > P->b.y1 + 0.5)
                continue;
            long d = add_datum(L, pn, l, series, p->row, p->x, p->y, 0, 0);
            if (show)
                emit_marker(L, VIZ_ROLE_MARK, series, d, l->shape, p->x, p->y, r,
                            with_opacity(col, l->opacity), l->filled);
        }
    }
done:
    free(v);
    free(idx);
    free(keep);
    free(ax);
    free(ay);
    free(pts);
}

/* Bounds of a rect/rule along one axis: a missing bound is the plot edge. */
static int span(const lay_t *L, const viz_scale_t *s, const viz_layer_t *l, const viz_chan_t *c1,
                const viz_chan_t *c2, size_t row, double lo_edge, double hi_edge, double *a, double *b)
{
    double p1 = lo_edge, p2 = hi_edge;
    if (c1->kind && !pos(L, s, l, c1, row, &p1))
        return 0;
    if (c2->kind && !pos(L, s, l, c2, row, &p2))
        return 0;
    if (s->type == VIZ_SCALE_BAND && c1->kind && !c2->kind) {
        /* A category: its whole band. */
        double w = viz_scale_bandwidth(s);
        p1 -= w / 2;
        p2 = p1 + w;
    }
    *a = fmax(fmin(p1, p2), fmin(lo_edge, hi_edge) - 1);
    *b = fmin(fmax(p1, p2), fmax(lo_edge, hi_edge) + 1);
    return *b > *a;
}

static viz_rgba_t darken(viz_rgba_t c, double t, unsigned char alpha)
{
    viz_rgba_t o = {(unsigned char)lround(c.r * (1 - t)), (unsigned char)lround(c.g * (1 - t)),
                    (unsigned char)lround(c.b * (1 - t)), alpha};
    return o;
}

typedef struct glabel {
    double y;        /* wanted centre */
    double top, bot; /* the band's visible extent */
    const char *text;
} glabel_t;

typedef struct gutter {
    glabel_t v[64];
    size_t n;
    double x;
} gutter_t;

/* Label position for a rect layer (AUTO resolved). */
static viz_labelpos_t rect_label_pos(const viz_layer_t *l)
{
    if (l->label_pos != VIZ_LABEL_AUTO)
        return l->label_pos;
    if (l->mark == VIZ_MARK_RECT)
        return !l->x.kind && !l->x2.kind ? VIZ_LABEL_RIGHT : VIZ_LABEL_INSIDE;
    return VIZ_LABEL_INSIDE;
}

/* A band label that fits maxw: the whole label at 9 to 8 pt, else its
 * short form (before " (" or ":"), else nothing; the tooltip and the
 * summary still name the band. */
static const char *fit_label(lay_t *L, const char *text, double maxw, double *size, char *buf,
                             size_t cap)
{
    for (int pass = 0; pass < 2; pass++) {
        const char *t = text;
        if (pass == 1) {
            snprintf(buf, cap, "%s", text);
            char *cut = strstr(buf, " (");
            char *colon = strchr(buf, ':');
            if (colon && (!cut || colon < cut))
                cut = colon;
            if (!cut || cut == buf)
                break;
            *cut = '\0';
            t = buf;
        }
        for (double s = BAND_LABEL_SIZE; s >= 8; s -= 0.5)
            if (viz_text_width(L->m, t, s, 0) <= maxw) {
                *size = s;
                return t;
            }
    }
    *size = 0;
    return NULL;
}

/* Truncates text with an ellipsis to fit maxw (titles, headings). */
static const char *fit_width(lay_t *L, const char *text, double size, int bold, double maxw,
                             char *buf, size_t cap)
{
    if (!text || viz_text_width(L->m, text, size, bold) <= maxw)
        return text;
    size_t n = strlen(text);
    if (n >= cap - 4)
        n = cap - 4;
    while (n > 0) {
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;   /* stay on a UTF-8 boundary */
        memcpy(buf, text, n);
        memcpy(buf + n, "…", sizeof "…");
        if (viz_text_width(L->m, buf, size, bold) <= maxw)
            return buf;
        n--;
    }
    return "";
}

static void draw_rects(lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, const plot_t *P,
                       gutter_t *g, int labels_pass)
{
    const viz_scale_t *xs = &P->x->sc, *ys = &P->y->sc;
    size_t n = layer_has_rows(l) ? lrows(L, l) : 1;
    if (n > MAX_ROW_MARKS)
        n = MAX_ROW_MARKS;
    viz_rgba_t fill = with_opacity(l->color, l->opacity);
    viz_rgba_t ink = darken(l->color, 0.45, 110);
    for (size_t k = 0; k < n; k++) {
        size_t row = layer_has_rows(l) ? lrow(l, k) : 0;
        double x0, x1, y0, y1;
        if (!span(L, xs, l, &l->x, &l->x2, row, P->b.x0, P->b.x1, &x0, &x1) ||
            !span(L, ys, l, &l->y, &l->y2, row, P->b.y1, P->b.y0, &y0, &y1))
            continue;
        if (!labels_pass) {
            long d = layer_has_rows(l) ? add_datum(L, pn, l, -1, row, (x0 + x1) / 2, (y0 + y1) / 2,
                                                   x1 - x0, y1 - y0)
                                       : -1;
            emit_rect(L, VIZ_ROLE_BAND, -1, d, x0, y0, x1 - x0, y1 - y0, fill,
                      l->has_stroke ? l->stroke : NONE, l->has_stroke ? 0.8 : 0);
            emit_hatch(L, l->pattern, fmax(x0, P->b.x0), fmax(y0, P->b.y0), fmin(x1, P->b.x1),
                       fmin(y1, P->b.y1), ink);
            continue;
        }
        const char *text = l->label;
        char buf[96];
        if (l->text.kind) {
            chan_format(L, l, &l->text, row, NULL, buf, sizeof buf);
            text = buf;
        }
        if (!text || !*text)
            continue;
        double vx0 = fmax(x0, P->b.x0), vx1 = fmin(x1, P->b.x1);
        double vy0 = fmax(y0, P->b.y0), vy1 = fmin(y1, P->b.y1);
        if (vx1 - vx0 < 1 || vy1 - vy0 < 1)
            continue;
        switch (rect_label_pos(l)) {
        case VIZ_LABEL_RIGHT:
            if (g->n < 64) {
                g->v[g->n++] = (glabel_t){(vy0 + vy1) / 2, vy0, vy1, l->label};
            }
            break;
        case VIZ_LABEL_LEFT:
            if (vy1 - vy0 >= BAND_LABEL_SIZE)
                emit_text(L, VIZ_ROLE_BAND_LABEL, -1, vx0 + 4, (vy0 + vy1) / 2 + BAND_LABEL_SIZE * 0.35,
                          text, BAND_LABEL_SIZE, 0, VIZ_ANCHOR_START, 0, INK_SOFT);
            break;
        case VIZ_LABEL_TOP:
            emit_text(L, VIZ_ROLE_BAND_LABEL, -1, (vx0 + vx1) / 2, P->b.y0 - 4, text,
                      BAND_LABEL_SIZE, 0, VIZ_ANCHOR_MIDDLE, 0, INK_SOFT);
            break;
        default: {
            double size;
            char sb[96];
            const char *t = fit_label(L, text, vx1 - vx0 - 6, &size, sb, sizeof sb);
            if (!t || vy1 - vy0 < size + 2)
                break;
            double y = rect_label_pos(l) == VIZ_LABEL_BOTTOM ? vy1 - fmin(8, (vy1 - vy0) * 0.25)
                                                             : (vy0 + vy1) / 2 + size * 0.35;
            emit_text(L, VIZ_ROLE_BAND_LABEL, -1, (vx0 + vx1) / 2, y, t, size, 0, VIZ_ANCHOR_MIDDLE, 0,
                      INK_SOFT);
            break;
        }
        }
    }
}

static void draw_rules(lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, const plot_t *P,
                       gutter_t *g, int labels_pass)
{
    const viz_scale_t *xs = &P->x->sc, *ys = &P->y->sc;
    size_t n = layer_has_rows(l) ? lrows(L, l) : 1;
    if (n > MAX_ROW_MARKS)
        n = MAX_ROW_MARKS;
    double w = l->stroke_width >= 0 ? l->stroke_width : 1.2;
    for (size_t k = 0; k < n; k++) {
        size_t row = layer_has_rows(l) ? lrow(l, k) : 0;
        double x0 = P->b.x0, x1 = P->b.x1, y0 = P->b.y1, y1 = P->b.y0, px, py;
        if (l->x.kind) {
            if (!pos(L, xs, l, &l->x, row, &px))
                continue;
            x0 = x1 = px;
            if (l->x2.kind && pos(L, xs, l, &l->x2, row, &px))
                x1 = px;
        }
        if (l->y.kind) {
            if (!pos(L, ys, l, &l->y, row, &py))
                continue;
            y0 = y1 = py;
            if (l->y2.kind && pos(L, ys, l, &l->y2, row, &py))
                y1 = py;
        }
        if (l->x.kind && !l->y.kind && !l->x2.kind) {
            y0 = P->b.y1;
            y1 = P->b.y0;
        }
        if (!labels_pass) {
            viz_point_t pts[2] = {{x0, y0}, {x1, y1}};
            long d = layer_has_rows(l) ? add_datum(L, pn, l, -1, row, (x0 + x1) / 2, (y0 + y1) / 2,
                                                   fmax(4, fabs(x1 - x0)), fmax(4, fabs(y1 - y0)))
                                       : -1;
            emit_line(L, VIZ_ROLE_ANNOTATION, -1, d, pts, 2, with_opacity(l->color, l->opacity), w,
                      l->dash, l->ndash, 0);
            continue;
        }
        if (!l->label)
            continue;
        int horizontal = fabs(y1 - y0) < 0.5;
        if (horizontal && y0 >= P->b.y0 && y0 <= P->b.y1) {
            if (l->label_pos == VIZ_LABEL_RIGHT && g->n < 64)
                g->v[g->n++] = (glabel_t){y0, y0 - 5, y0 + 5, l->label};
            else
                emit_text(L, VIZ_ROLE_ANNOTATION, -1, fmin(x0, x1) + 4, y0 - 3, l->label,
                          BAND_LABEL_SIZE, 0, VIZ_ANCHOR_START, 0, INK);
        } else if (!horizontal && x0 >= P->b.x0 && x0 <= P->b.x1) {
            emit_text(L, VIZ_ROLE_ANNOTATION, -1, x0 + 3, P->b.y0 + BAND_LABEL_SIZE + 2, l->label,
                      BAND_LABEL_SIZE, 0, x0 > (P->b.x0 + P->b.x1) / 2 ? VIZ_ANCHOR_END : VIZ_ANCHOR_START,
                      0, INK);
        }
    }
}

static void draw_texts(lay_t *L, const viz_panel_t *pn, const viz_layer_t *l, const plot_t *P,
                       int series)
{
    (void)pn;
    const viz_scale_t *xs = &P->x->sc, *ys = &P->y->sc;
    size_t n = layer_has_rows(l) ? lrows(L, l) : 1;
    if (n > MAX_ROW_MARKS)
        n = MAX_ROW_MARKS;
    double size = l->size > 0 ? l->size : TICK_SIZE;
    viz_rgba_t col = l->has_color ? l->color : INK;
    /* Text stays dark enough to read: a light colour given for text is
     * darkened until it keeps 4.5:1 on white. */
    for (int i = 0; i < 10 && viz_contrast_ratio(col, WHITE) < 4.6; i++)
        col = darken(col, 0.15, 255);
    for (size_t k = 0; k < n; k++) {
        size_t row = layer_has_rows(l) ? lrow(l, k) : 0;
        double x = (P->b.x0 + P->b.x1) / 2, y = P->b.y0 + size + 2;
        if (l->x.kind && !pos(L, xs, l, &l->x, row, &x))
            continue;
        if (l->y.kind && !pos(L, ys, l, &l->y, row, &y))
            continue;
        char buf[160];
        const char *text = l->label;
        if (l->text.kind) {
            chan_format(L, l, &l->text, row, NULL, buf, sizeof buf);
            text = buf;
        }
        if (!text || !*text)
            continue;
        emit_text(L, l->legend ? VIZ_ROLE_MARK_LABEL : VIZ_ROLE_ANNOTATION, series, x + l->dx,
                  y + l->dy, text, size, l->bold, l->anchor, 0, col);
    }
}

/* Right-gutter labels: centred on their band, nudged apart so none overlap,
 * and kept inside the band's visible extent where they can be. */
static void place_gutter(lay_t *L, gutter_t *g, const box_t *plot)
{
    if (!g->n)
        return;
    for (size_t i = 1; i < g->n; i++)
        for (size_t j = i; j > 0 && g->v[j].y < g->v[j - 1].y; j--) {
            glabel_t t = g->v[j];
            g->v[j] = g->v[j - 1];
            g->v[j - 1] = t;
        }
    double h = BAND_LABEL_SIZE + 2;
    double prev = -INFINITY;
    for (size_t i = 0; i < g->n; i++) {
        double y = g->v[i].y;
        if (y < prev + h)
            y = prev + h;
        if (y > plot->y1 + 4)
            continue;
        if (g->v[i].bot - g->v[i].top < 6 && y - g->v[i].y > h)
            continue;   /* a sliver far from its label slot: leave it to the tooltip */
        emit_text(L, VIZ_ROLE_BAND_LABEL, -1, g->x, y + BAND_LABEL_SIZE * 0.35, g->v[i].text,
                  BAND_LABEL_SIZE, 0, VIZ_ANCHOR_START, 0, INK_SOFT);
        prev = y;
    }
}

/* ---- Axes ------------------------------------------------------------------------------ */

static double max_label_width(lay_t *L, const viz_scale_t *s)
{
    double w = 0;
    for (size_t i = 0; i < s->nticks; i++)
        w = fmax(w, viz_text_width(L->m, s->labels[i], TICK_SIZE, 0));
    return w;
}

static const char *axis_title(const viz_panel_t *pn, int is_x, char *buf, size_t cap)
{
    const viz_axis_spec_t *a = is_x ? &pn->x : &pn->y;
    const char *t = a->title;
    if (!t) {
        for (size_t i = 0; i < pn->nlayers && !t; i++) {
            const viz_chan_t *ch = is_x ? &pn->layers[i].x : &pn->layers[i].y;
            if (ch->kind == VIZ_CH_FIELD)
                t = ch->title ? ch->title : ch->field;
        }
    }
    const char *u = a->unit ? viz_unit_display(a->unit) : "";
    if (t && !*t && *u && !is_x) {
        snprintf(buf, cap, "%s", u);   /* "" with a unit: just the unit */
        return buf;
    }
    if (!t || !*t)
        return NULL;
    if (*u)
        snprintf(buf, cap, "%s (%s)", t, u);
    else
        snprintf(buf, cap, "%s", t);
    return buf;
}

/* ---- Panels ------------------------------------------------------------------------------- */

static int panel_is_empty(const lay_t *L, const viz_panel_t *pn)
{
    int data_layers = 0;
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (!layer_has_rows(l))
            continue;
        data_layers++;
        if (lrows(L, l) > 0)
            return 0;
    }
    return data_layers > 0;
}

/* Lays out one panel in box b. With measure set it draws nothing and only
 * reports the left margin and right gutter it needs, so stacked panels can
 * share one plot width and their x axes line up. */
static void layout_panel(lay_t *L, const viz_panel_t *pn, box_t b, int *series_of_layer,
                         int measure, double *left, double *gutter)
{
    if (pn->title && !measure) {
        char tb[256];
        const char *t = fit_width(L, pn->title, HEADING_SIZE, 1, b.x1 - b.x0, tb, sizeof tb);
        emit_text(L, VIZ_ROLE_SUBTITLE, -1, b.x0, b.y0 + HEADING_SIZE, t, HEADING_SIZE, 1,
                  VIZ_ANCHOR_START, 0, INK);
        double w = viz_text_width(L->m, t, HEADING_SIZE, 1);
        if (pn->subtitle && b.x0 + w + 8 < b.x1 - 20) {
            t = fit_width(L, pn->subtitle, HEADING_SIZE, 0, b.x1 - b.x0 - w - 8, tb, sizeof tb);
            emit_text(L, VIZ_ROLE_SUBTITLE, -1, b.x0 + w + 8, b.y0 + HEADING_SIZE, t,
                      HEADING_SIZE, 0, VIZ_ANCHOR_START, 0, INK_SOFT);
        }
    }
    if (pn->title)
        b.y0 += HEADING_SIZE + 8;
    if (panel_is_empty(L, pn)) {
        if (measure)
            return;
        emit_rect(L, VIZ_ROLE_NOTE, -1, -1, b.x0, b.y0, b.x1 - b.x0, fmax(0, b.y1 - b.y0),
                  viz_rgb(0xF6F6F6), NONE, 0);
        emit_text(L, VIZ_ROLE_NOTE, -1, (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2 + 5, "No data", 13, 1,
                  VIZ_ANCHOR_MIDDLE, 0, INK_SOFT);
        emit_text(L, VIZ_ROLE_NOTE, -1, (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2 + 22,
                  "There are no readings to draw yet.", NOTE_SIZE, 0, VIZ_ANCHOR_MIDDLE, 0, INK_NOTE);
        return;
    }
    axis_t ax = {0}, ay = {0};
    axis_domain(L, pn, 1, &ax);
    axis_domain(L, pn, 0, &ay);
    int show_x = pn->x.show && ax.used && ax.finite;
    int show_y = pn->y.show && ay.used && ay.finite;
    char xt[200], yt[200];
    const char *x_title = show_x ? axis_title(pn, 1, xt, sizeof xt) : NULL;
    const char *y_title = show_y ? axis_title(pn, 0, yt, sizeof yt) : NULL;

    /* Vertical space first: it does not depend on any label's width. */
    box_t p = b;
    p.y0 = b.y0 + (show_y ? 6 : 2);
    p.y1 = b.y1 - (show_x ? TICK_SIZE + 8 : 2) - (x_title ? AXIS_TITLE_SIZE + 8 : 0);
    if (p.y1 - p.y0 < 10)
        p.y1 = p.y0 + 10;
    ay.sc.r0 = p.y1;
    ay.sc.r1 = p.y0;
    int nice_y = pn->y.nice >= 0 ? pn->y.nice : !pn->y.has_domain;
    int target_y = pn->y.ticks ? pn->y.ticks : (int)fmax(2, fmin(10, (p.y1 - p.y0) / 34));
    if (ay.used && ay.finite && viz_scale_ticks(&ay.sc, target_y, nice_y, pn->y.decimals) != MUSE_OK)
        L->rc = MUSE_ENOMEM;
    double ylw = show_y ? max_label_width(L, &ay.sc) : 0;
    double need_left = (show_y ? ylw + 8 : 2) + (y_title ? AXIS_TITLE_SIZE + 8 : 0);

    /* The right gutter: as wide as the widest band label that goes there. */
    double gw = 0;
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->label && ((l->mark == VIZ_MARK_RECT && rect_label_pos(l) == VIZ_LABEL_RIGHT) ||
                         (l->mark == VIZ_MARK_RULE && l->label_pos == VIZ_LABEL_RIGHT)))
            gw = fmax(gw, viz_text_width(L->m, l->label, BAND_LABEL_SIZE, 0) + 8);
    }
    gw = fmin(gw, (b.x1 - b.x0) * 0.3);
    if (measure) {
        *left = need_left;
        *gutter = gw;
        goto cleanup;
    }
    p.x0 = b.x0 + fmax(need_left, *left);
    gw = fmax(gw, *gutter);
    p.x1 = b.x1 - gw - 4;
    if (p.x1 - p.x0 < 20)
        p.x1 = p.x0 + 20;
    ax.sc.r0 = p.x0;
    ax.sc.r1 = p.x1;
    /* x ticks: fewer until the labels fit side by side. */
    int nice_x = pn->x.nice >= 0 ? pn->x.nice : (!pn->x.has_domain && ax.sc.type != VIZ_SCALE_TIME);
    if (ax.used && ax.finite) {
        int target_x = pn->x.ticks ? pn->x.ticks : (int)fmax(2, fmin(12, (p.x1 - p.x0) / 55));
        double d0 = ax.sc.d0, d1 = ax.sc.d1;
        for (int tries = 0; tries < 6; tries++) {
            ax.sc.d0 = d0;
            ax.sc.d1 = d1;
            if (viz_scale_ticks(&ax.sc, target_x, nice_x, pn->x.decimals) != MUSE_OK) {
                L->rc = MUSE_ENOMEM;
                break;
            }
            if (ax.sc.type == VIZ_SCALE_BAND || pn->x.ticks || target_x <= 2)
                break;
            double need = (max_label_width(L, &ax.sc) + 12) * (double)ax.sc.nticks;
            if (need <= (p.x1 - p.x0) * 1.05)
                break;
            target_x = (int)fmax(2, target_x * (p.x1 - p.x0) / need);
        }
    }
    plot_t P = {p, &ax, &ay, 0};

    /* Bands and grid, clipped to the plot. */
    emit_clip(L, &p);
    gutter_t g = {.n = 0, .x = p.x1 + 6};
    for (size_t i = 0; i < pn->nlayers; i++)
        if (pn->layers[i].mark == VIZ_MARK_RECT)
            draw_rects(L, pn, &pn->layers[i], &P, &g, 0);
    int grid_y = pn->y.grid >= 0 ? pn->y.grid : show_y;
    int grid_x = pn->x.grid >= 0 ? pn->x.grid : 0;
    if (grid_y)
        for (size_t i = 0; i < ay.sc.nticks; i++) {
            double y = round(viz_scale_map(&ay.sc, ay.sc.ticks[i])) + 0.5;
            emit_seg(L, VIZ_ROLE_GRID, p.x0, y, p.x1, y, GRID, 0.6);
        }
    if (grid_x && show_x)
        for (size_t i = 0; i < ax.sc.nticks; i++) {
            double x = round(viz_scale_map(&ax.sc, ax.sc.ticks[i])) + 0.5;
            emit_seg(L, VIZ_ROLE_GRID, x, p.y0, x, p.y1, GRID, 0.6);
        }
    emit_unclip(L);

    /* Axes. */
    if (show_x) {
        emit_seg(L, VIZ_ROLE_AXIS, p.x0, p.y1 + 0.5, p.x1, p.y1 + 0.5, AXIS, 1);
        double last_right = -INFINITY;
        for (size_t i = 0; i < ax.sc.nticks; i++) {
            double x = viz_scale_map(&ax.sc, ax.sc.ticks[i]);
            if (x < p.x0 - 0.5 || x > p.x1 + 0.5)
                continue;
            emit_seg(L, VIZ_ROLE_AXIS, x, p.y1, x, p.y1 + 4, AXIS, 1);
            double w = viz_text_width(L->m, ax.sc.labels[i], TICK_SIZE, 0);
            double left = x - w / 2;
            viz_anchor_t a = VIZ_ANCHOR_MIDDLE;
            double tx = x;
            if (left < b.x0) {
                a = VIZ_ANCHOR_START;
                tx = left = b.x0;
            } else if (x + w / 2 > b.x1) {
                a = VIZ_ANCHOR_END;
                tx = b.x1;
                left = b.x1 - w;
            }
            if (left < last_right + 6)
                continue;   /* would overlap the previous label */
            emit_text(L, VIZ_ROLE_TICK_LABEL, -1, tx, p.y1 + 4 + TICK_SIZE + 1, ax.sc.labels[i],
                      TICK_SIZE, 0, a, 0, INK_SOFT);
            last_right = left + w;
        }
        if (x_title)
            emit_text(L, VIZ_ROLE_AXIS_TITLE, -1, (p.x0 + p.x1) / 2,
                      p.y1 + TICK_SIZE + 8 + AXIS_TITLE_SIZE + 4, x_title, AXIS_TITLE_SIZE, 0,
                      VIZ_ANCHOR_MIDDLE, 0, INK);
    }
    if (show_y) {
        for (size_t i = 0; i < ay.sc.nticks; i++) {
            double y = viz_scale_map(&ay.sc, ay.sc.ticks[i]);
            if (y < p.y0 - 0.5 || y > p.y1 + 0.5)
                continue;
            emit_text(L, VIZ_ROLE_TICK_LABEL, -1, p.x0 - 6, y + TICK_SIZE * 0.35, ay.sc.labels[i],
                      TICK_SIZE, 0, VIZ_ANCHOR_END, 0, INK_SOFT);
        }
        if (y_title)
            emit_text(L, VIZ_ROLE_AXIS_TITLE, -1, b.x0 + AXIS_TITLE_SIZE, (p.y0 + p.y1) / 2, y_title,
                      AXIS_TITLE_SIZE, 0, VIZ_ANCHOR_MIDDLE, 90, INK);
    }

    /* The data, clipped: after the axes, so each series' line and its
     * points are neighbours in the display list (one SVG group each). */
    emit_clip(L, &p);
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->mark == VIZ_MARK_RULE)
            draw_rules(L, pn, l, &P, &g, 0);
        else if (l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_AREA || l->mark == VIZ_MARK_BAR)
            draw_series(L, pn, l, &P, series_of_layer[i], 0);
    }
    emit_unclip(L);


    /* Points over the axes; labels last, so nothing covers them. */
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_AREA || l->mark == VIZ_MARK_POINT)
            draw_series(L, pn, l, &P, series_of_layer[i], 1);
    }
    for (size_t i = 0; i < pn->nlayers; i++) {
        const viz_layer_t *l = &pn->layers[i];
        if (l->mark == VIZ_MARK_RECT)
            draw_rects(L, pn, l, &P, &g, 1);
        else if (l->mark == VIZ_MARK_RULE)
            draw_rules(L, pn, l, &P, &g, 1);
        else if (l->mark == VIZ_MARK_TEXT)
            draw_texts(L, pn, l, &P, series_of_layer[i]);
    }
    place_gutter(L, &g, &p);
cleanup:
    viz_scale_clear(&ax.sc);
    viz_scale_clear(&ay.sc);
    for (size_t i = 0; i < ax.sc.ncats; i++)
        free(ax.sc.cats[i]);
    free(ax.sc.cats);
    for (size_t i = 0; i < ay.sc.ncats; i++)
        free(ay.sc.cats[i]);
    free(ay.sc.cats);
}

/* ---- Legend ------------------------------------------------------------------------------ */

typedef struct litem {
    int series;
    double w;
} litem_t;

static void legend_swatch(lay_t *L, const viz_series_t *s, double x, double y)
{
    switch (s->mark) {
    case 0: {
        viz_point_t pts[2] = {{x, y}, {x + 18, y}};
        emit_line(L, VIZ_ROLE_LEGEND, -1, -1, pts, 2, s->color, 2, s->dash, s->ndash, 1);
        emit_marker(L, VIZ_ROLE_LEGEND, -1, -1, s->shape, x + 9, y, 3, s->color, 1);
        break;
    }
    case 1:
        emit_marker(L, VIZ_ROLE_LEGEND, -1, -1, s->shape, x + 9, y, 3.5, s->color, 1);
        break;
    default:
        emit_rect(L, VIZ_ROLE_LEGEND, -1, -1, x + 3, y - 6, 12, 12,
                  s->mark == 2 ? with_opacity(s->color, 0.4) : s->color, s->color, 1);
    }
}

/* Lays the legend out in rows; returns its height. draw = 0 only measures. */
static double legend(lay_t *L, double x0, double x1, double top, int draw)
{
    size_t n = viz_scene_series_count(L->s);
    if (n < 2)
        return 0;   /* one series: the title says what it is */
    double x = x0, y = top + 8, rowh = LEGEND_SIZE + 6;
    for (size_t i = 0; i < n; i++) {
        const viz_series_t *s = viz_scene_series(L->s, i);
        double w = 22 + viz_text_width(L->m, s->name, LEGEND_SIZE, 0) + 14;
        if (x > x0 && x + w > x1) {
            x = x0;
            y += rowh;
        }
        if (draw) {
            legend_swatch(L, s, x, y);
            emit_text(L, VIZ_ROLE_LEGEND, -1, x + 22, y + LEGEND_SIZE * 0.35, s->name, LEGEND_SIZE, 0,
                      VIZ_ANCHOR_START, 0, INK);
        }
        x += w;
    }
    return y - top + rowh - 2;
}

/* ---- Chart ---------------------------------------------------------------------------------- */

int viz_layout(const viz_chart_t *c, double W, double H, viz_scene_t *s, muse_error_t *err)
{
    lay_t L = {c, s, NULL, MUSE_OK, {0}};
    L.m = viz_measure_new(viz_scene_font(s));
    int *series_of = NULL;
    size_t total_layers = 0;
    for (size_t i = 0; i < c->npanels; i++)
        total_layers += c->panels[i].nlayers;
    series_of = calloc(total_layers ? total_layers : 1, sizeof *series_of);
    if (!L.m || !series_of) {
        viz_measure_free(L.m);
        free(series_of);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    if (viz_scene_set_text(s, c->title, c->summary) != MUSE_OK)
        L.rc = MUSE_ENOMEM;

    /* Series: every named data layer, in order. */
    size_t li = 0;
    for (size_t pi = 0; pi < c->npanels; pi++)
        for (size_t i = 0; i < c->panels[pi].nlayers; i++, li++) {
            const viz_layer_t *l = &c->panels[pi].layers[i];
            series_of[li] = -1;
            int is_series = l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_POINT ||
                            l->mark == VIZ_MARK_AREA || l->mark == VIZ_MARK_BAR ||
                            (l->mark == VIZ_MARK_TEXT && l->legend && l->name);
            if (!is_series || !l->name)
                continue;
            viz_series_t se;
            memset(&se, 0, sizeof se);
            se.name = l->name;
            se.color = l->color;
            se.mark = l->mark == VIZ_MARK_LINE ? 0 : l->mark == VIZ_MARK_POINT ? 1
                      : l->mark == VIZ_MARK_AREA ? 2 : 3;
            se.shape = l->shape;
            se.ndash = l->ndash;
            memcpy(se.dash, l->dash, sizeof se.dash);
            if (!l->legend || l->mark == VIZ_MARK_TEXT)
                continue;
            int idx;
            if (viz_scene_add_series(s, &se, &idx) != MUSE_OK) {
                L.rc = MUSE_ENOMEM;
                continue;
            }
            series_of[li] = idx;
        }

    emit_rect(&L, VIZ_ROLE_BACKGROUND, -1, -1, 0, 0, W, H, WHITE, NONE, 0);
    double top = PAD;
    double x0 = PAD, x1 = W - PAD;
    char fb[512];
    if (c->title && *c->title) {
        emit_text(&L, VIZ_ROLE_TITLE, -1, x0, top + TITLE_SIZE * 0.8,
                  fit_width(&L, c->title, TITLE_SIZE, 1, x1 - x0, fb, sizeof fb), TITLE_SIZE, 1,
                  VIZ_ANCHOR_START, 0, INK);
        top += TITLE_SIZE * 1.3;
    }
    if (c->subtitle && *c->subtitle) {
        emit_text(&L, VIZ_ROLE_SUBTITLE, -1, x0, top + SUBTITLE_SIZE * 0.85,
                  fit_width(&L, c->subtitle, SUBTITLE_SIZE, 0, x1 - x0, fb, sizeof fb), SUBTITLE_SIZE,
                  0, VIZ_ANCHOR_START, 0, INK_SOFT);
        top += SUBTITLE_SIZE * 1.45;
    }
    double bottom = H - PAD;
    if (c->legend == 1) {
        top += legend(&L, x0, x1, top, 1);
    } else if (c->legend == 2) {
        double h = legend(&L, x0, x1, 0, 0);
        bottom -= h;
        legend(&L, x0, x1, bottom, 1);
    }
    top += 6;
    /* The note (data left out, downsampling) goes at the bottom; its text is
     * only known after the panels, so keep a line for it. */
    int has_note_line = c->note != NULL;
    for (size_t pi = 0; pi < c->npanels && !has_note_line; pi++)
        for (size_t i = 0; i < c->panels[pi].nlayers; i++) {
            const viz_layer_t *l = &c->panels[pi].layers[i];
            if (lrows(&L, l) > (size_t)fmax(500, 2 * (W - 2 * PAD)))
                has_note_line = 1;
        }
    if (has_note_line)
        bottom -= NOTE_SIZE + 6;

    /* Panels share the height left: fixed ones first. */
    double avail = bottom - top, fixed = 0;
    size_t nflex = 0;
    const double gap = 10;
    for (size_t i = 0; i < c->npanels; i++) {
        if (c->panels[i].height > 0)
            fixed += c->panels[i].height;
        else
            nflex++;
    }
    avail -= gap * (double)(c->npanels - 1);
    double flex = nflex ? fmax(40, (avail - fixed) / nflex) : 0;
    double scale = 1;
    if (!nflex && fixed > avail && fixed > 0)
        scale = avail / fixed;   /* squeeze fixed panels to fit */
    /* Two passes: measure every panel's margins, then draw with the widest. */
    double left = 0, gutter = 0;
    for (int pass = 0; pass < 2; pass++) {
        double y = top;
        li = 0;
        for (size_t i = 0; i < c->npanels; i++) {
            const viz_panel_t *pn = &c->panels[i];
            double h = pn->height > 0 ? pn->height * scale : flex;
            box_t b = {x0, y, x1, fmin(y + h, bottom)};
            if (b.y1 - b.y0 >= 20) {
                double l = 0, g = 0;
                layout_panel(&L, pn, b, series_of + li, pass == 0, pass == 0 ? &l : &left,
                             pass == 0 ? &g : &gutter);
                if (pass == 0) {
                    left = fmax(left, l);
                    gutter = fmax(gutter, g);
                }
            }
            li += pn->nlayers;
            y += h + gap;
        }
    }
    if (c->note)
        vb_printf(&L.note, "%s%s", L.note.len ? " " : "", c->note);
    if (L.note.len && !L.note.oom)
        emit_text(&L, VIZ_ROLE_NOTE, -1, x0, H - PAD + 2,
                  fit_width(&L, L.note.p, NOTE_SIZE, 0, x1 - x0, fb, sizeof fb), NOTE_SIZE, 0,
                  VIZ_ANCHOR_START, 0, INK_NOTE);
    int rc = L.rc;
    if (L.note.oom)
        rc = MUSE_ENOMEM;
    vb_free(&L.note);
    viz_measure_free(L.m);
    free(series_of);
    if (rc != MUSE_OK)
        return muse_err(err, rc, "laying out the chart: out of memory");
    return MUSE_OK;
}
