/* The scene: a display list in points, the one picture every renderer draws.
 *
 * Primitives live in one growable array; what they point to (polyline
 * points, path elements, text) lives in an arena of chunks that never move,
 * so the pointers a backend reads stay valid for the scene's life and a
 * scene frees in a handful of calls however many points it holds. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>

#include "muse_err.h"
#include "viz/viz_int.h"

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
} chunk_t;

struct viz_scene {
    double width, height;
    char *title, *summary;
    viz_prim_t *prims;
    size_t nprims, cap_prims;
    viz_series_t *series;
    size_t nseries;
    viz_datum_t *data;
    size_t ndata, cap_data;
    chunk_t *arena;
};

static void *arena_alloc(viz_scene_t *s, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0)
        n = sizeof(max_align_t);
    chunk_t *c = s->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = s->arena;
        s->arena = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *arena_text(viz_scene_t *s, const char *text, int keep_newline)
{
    char *clean = viz_utf8_clean(text, keep_newline);
    if (!clean)
        return NULL;
    size_t n = strlen(clean) + 1;
    char *p = arena_alloc(s, n);
    if (p)
        memcpy(p, clean, n);
    free(clean);
    return p;
}

viz_scene_t *viz_scene_new(double width, double height)
{
    viz_scene_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->width = width;
    s->height = height;
    return s;
}

void viz_scene_free(viz_scene_t *s)
{
    if (!s)
        return;
    for (chunk_t *c = s->arena; c;) {
        chunk_t *n = c->next;
        free(c);
        c = n;
    }
    free(s->prims);
    free(s->series);
    free(s->data);
    free(s->title);
    free(s->summary);
    free(s);
}

double viz_scene_width(const viz_scene_t *s) { return s->width; }
double viz_scene_height(const viz_scene_t *s) { return s->height; }
const char *viz_scene_font(const viz_scene_t *s) { (void)s; return "DejaVu Sans"; }
const char *viz_scene_title(const viz_scene_t *s) { return s->title ? s->title : ""; }
const char *viz_scene_summary(const viz_scene_t *s) { return s->summary ? s->summary : ""; }
size_t viz_scene_count(const viz_scene_t *s) { return s->nprims; }
size_t viz_scene_series_count(const viz_scene_t *s) { return s->nseries; }
size_t viz_scene_datum_count(const viz_scene_t *s) { return s->ndata; }

const viz_prim_t *viz_scene_prim(const viz_scene_t *s, size_t i)
{
    return i < s->nprims ? &s->prims[i] : NULL;
}

const viz_series_t *viz_scene_series(const viz_scene_t *s, size_t i)
{
    return i < s->nseries ? &s->series[i] : NULL;
}

const viz_datum_t *viz_scene_datum(const viz_scene_t *s, size_t i)
{
    return i < s->ndata ? &s->data[i] : NULL;
}

int viz_scene_set_text(viz_scene_t *s, const char *title, const char *summary)
{
    char *t = viz_utf8_clean(title ? title : "", 0);
    char *d = viz_utf8_clean(summary ? summary : "", 0);
    if (!t || !d) {
        free(t);
        free(d);
        return MUSE_ENOMEM;
    }
    free(s->title);
    free(s->summary);
    s->title = t;
    s->summary = d;
    return MUSE_OK;
}

int viz_scene_add(viz_scene_t *s, const viz_prim_t *p)
{
    if (s->nprims == s->cap_prims) {
        size_t cap = s->cap_prims ? s->cap_prims * 2 : 256;
        viz_prim_t *v = realloc(s->prims, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        s->prims = v;
        s->cap_prims = cap;
    }
    viz_prim_t q = *p;
    if (q.kind == VIZ_PRIM_LINE) {
        if (q.npts > SIZE_MAX / sizeof *q.pts)
            return MUSE_ENOMEM;
        viz_point_t *pts = arena_alloc(s, q.npts * sizeof *pts);
        if (!pts)
            return MUSE_ENOMEM;
        if (q.npts)
            memcpy(pts, p->pts, q.npts * sizeof *pts);
        q.pts = pts;
    } else {
        q.pts = NULL;
        q.npts = 0;
    }
    if (q.kind == VIZ_PRIM_PATH) {
        if (q.nels > SIZE_MAX / sizeof *q.els)
            return MUSE_ENOMEM;
        viz_path_el_t *els = arena_alloc(s, q.nels * sizeof *els);
        if (!els)
            return MUSE_ENOMEM;
        if (q.nels)
            memcpy(els, p->els, q.nels * sizeof *els);
        q.els = els;
    } else {
        q.els = NULL;
        q.nels = 0;
    }
    if (q.kind == VIZ_PRIM_TEXT) {
        q.text = arena_text(s, p->text ? p->text : "", 0);
        if (!q.text)
            return MUSE_ENOMEM;
    } else {
        q.text = NULL;
    }
    if (q.style.ndash < 0 || q.style.ndash > 4)
        q.style.ndash = 0;
    s->prims[s->nprims++] = q;
    return MUSE_OK;
}

int viz_scene_add_series(viz_scene_t *s, const viz_series_t *series, int *index)
{
    viz_series_t *v = realloc(s->series, (s->nseries + 1) * sizeof *v);
    if (!v)
        return MUSE_ENOMEM;
    s->series = v;
    viz_series_t q = *series;
    q.name = arena_text(s, series->name ? series->name : "", 0);
    if (!q.name)
        return MUSE_ENOMEM;
    if (q.ndash < 0 || q.ndash > 4)
        q.ndash = 0;
    v[s->nseries] = q;
    if (index)
        *index = (int)s->nseries;
    s->nseries++;
    return MUSE_OK;
}

int viz_scene_add_datum(viz_scene_t *s, const viz_datum_t *d, long *index)
{
    if (s->ndata == s->cap_data) {
        size_t cap = s->cap_data ? s->cap_data * 2 : 256;
        viz_datum_t *v = realloc(s->data, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        s->data = v;
        s->cap_data = cap;
    }
    viz_datum_t q = *d;
    q.label = arena_text(s, d->label ? d->label : "", 1);
    if (!q.label)
        return MUSE_ENOMEM;
    s->data[s->ndata] = q;
    if (index)
        *index = (long)s->ndata;
    s->ndata++;
    return MUSE_OK;
}

/* ---- Text measure -------------------------------------------------------------- */

struct viz_measure {
    cairo_surface_t *surf;
    cairo_t *cr;
    char family[64];
    double last_size;
    int last_bold;
};

viz_measure_t *viz_measure_new(const char *family)
{
    viz_measure_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    snprintf(m->family, sizeof m->family, "%s", family);
    m->surf = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    m->cr = cairo_create(m->surf);
    if (cairo_status(m->cr) != CAIRO_STATUS_SUCCESS) {
        viz_measure_free(m);
        return NULL;
    }
    m->last_size = -1;
    m->last_bold = -1;
    return m;
}

void viz_measure_free(viz_measure_t *m)
{
    if (!m)
        return;
    if (m->cr)
        cairo_destroy(m->cr);
    if (m->surf)
        cairo_surface_destroy(m->surf);
    free(m);
}

double viz_text_width(viz_measure_t *m, const char *text, double size, int bold)
{
    if (!text || !*text)
        return 0;
    if (size != m->last_size || bold != m->last_bold) {
        cairo_select_font_face(m->cr, m->family, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(m->cr, size);
        m->last_size = size;
        m->last_bold = bold;
    }
    cairo_text_extents_t e;
    cairo_text_extents(m->cr, text, &e);
    return e.x_advance;
}

/* ---- JSON ------------------------------------------------------------------------ */

static const char *const role_names[VIZ_ROLE_COUNT] = {
    "background", "band", "band_label", "grid", "axis", "tick_label", "axis_title",
    "mark", "mark_label", "legend", "title", "subtitle", "annotation", "note"};

const char *viz_role_name(viz_role_t r)
{
    return (unsigned)r < VIZ_ROLE_COUNT ? role_names[r] : "?";
}

static double r2(double v)
{
    if (!isfinite(v))
        return 0;
    return round(v * 100) / 100;
}

static void color_hex(viz_rgba_t c, char out[10])
{
    if (c.a == 255)
        snprintf(out, 10, "#%02x%02x%02x", c.r, c.g, c.b);
    else
        snprintf(out, 10, "#%02x%02x%02x%02x", c.r, c.g, c.b, c.a);
}

int viz_scene_to_json(const viz_scene_t *s, char **out, muse_error_t *err)
{
    static const char *const kinds[] = {"rect", "line", "path", "circle", "text", "clip", "endclip"};
    static const char *const anchors[] = {"start", "middle", "end"};
    static const char *const ops[] = {"M", "L", "C", "Z"};
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    char hex[10];
    cJSON_AddNumberToObject(root, "width", r2(s->width));
    cJSON_AddNumberToObject(root, "height", r2(s->height));
    cJSON_AddStringToObject(root, "font", viz_scene_font(s));
    cJSON_AddStringToObject(root, "title", viz_scene_title(s));
    cJSON_AddStringToObject(root, "summary", viz_scene_summary(s));
    cJSON *ser = cJSON_AddArrayToObject(root, "series");
    for (size_t i = 0; i < s->nseries; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", s->series[i].name);
        color_hex(s->series[i].color, hex);
        cJSON_AddStringToObject(o, "color", hex);
        cJSON_AddItemToArray(ser, o);
    }
    cJSON *data = cJSON_AddArrayToObject(root, "data");
    for (size_t i = 0; i < s->ndata; i++) {
        const viz_datum_t *d = &s->data[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "series", d->series);
        cJSON_AddNumberToObject(o, "table", d->table);
        cJSON_AddNumberToObject(o, "row", (double)d->row);
        cJSON_AddNumberToObject(o, "x", r2(d->x));
        cJSON_AddNumberToObject(o, "y", r2(d->y));
        if (d->w > 0 || d->h > 0) {
            cJSON_AddNumberToObject(o, "w", r2(d->w));
            cJSON_AddNumberToObject(o, "h", r2(d->h));
        }
        cJSON_AddStringToObject(o, "label", d->label);
        cJSON_AddItemToArray(data, o);
    }
    cJSON *prims = cJSON_AddArrayToObject(root, "prims");
    for (size_t i = 0; i < s->nprims; i++) {
        const viz_prim_t *p = &s->prims[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "kind", kinds[p->kind]);
        if (p->kind != VIZ_PRIM_CLIP_END)
            cJSON_AddStringToObject(o, "role", viz_role_name(p->role));
        if (p->series >= 0)
            cJSON_AddNumberToObject(o, "series", p->series);
        if (p->datum >= 0)
            cJSON_AddNumberToObject(o, "datum", (double)p->datum);
        if (p->kind != VIZ_PRIM_CLIP_BEGIN && p->kind != VIZ_PRIM_CLIP_END) {
            if (p->style.fill.a) {
                color_hex(p->style.fill, hex);
                cJSON_AddStringToObject(o, "fill", hex);
            }
            if (p->style.stroke.a) {
                color_hex(p->style.stroke, hex);
                cJSON_AddStringToObject(o, "stroke", hex);
                cJSON_AddNumberToObject(o, "stroke_width", r2(p->style.stroke_width));
                if (p->style.ndash) {
                    cJSON *d = cJSON_AddArrayToObject(o, "dash");
                    for (int k = 0; k < p->style.ndash; k++)
                        cJSON_AddItemToArray(d, cJSON_CreateNumber(r2(p->style.dash[k])));
                }
            }
        }
        switch (p->kind) {
        case VIZ_PRIM_RECT:
        case VIZ_PRIM_CLIP_BEGIN:
            cJSON_AddNumberToObject(o, "x", r2(p->x));
            cJSON_AddNumberToObject(o, "y", r2(p->y));
            cJSON_AddNumberToObject(o, "w", r2(p->w));
            cJSON_AddNumberToObject(o, "h", r2(p->h));
            break;
        case VIZ_PRIM_CIRCLE:
            cJSON_AddNumberToObject(o, "x", r2(p->x));
            cJSON_AddNumberToObject(o, "y", r2(p->y));
            cJSON_AddNumberToObject(o, "r", r2(p->r));
            break;
        case VIZ_PRIM_LINE: {
            cJSON *pts = cJSON_AddArrayToObject(o, "points");
            for (size_t k = 0; k < p->npts; k++) {
                cJSON_AddItemToArray(pts, cJSON_CreateNumber(r2(p->pts[k].x)));
                cJSON_AddItemToArray(pts, cJSON_CreateNumber(r2(p->pts[k].y)));
            }
            break;
        }
        case VIZ_PRIM_PATH: {
            viz_buf_t b = {0};
            for (size_t k = 0; k < p->nels; k++) {
                const viz_path_el_t *e = &p->els[k];
                vb_printf(&b, "%s%s", k ? " " : "", ops[e->op]);
                int np = e->op == VIZ_PATH_CURVE ? 3 : e->op == VIZ_PATH_CLOSE ? 0 : 1;
                for (int q = 0; q < np; q++)
                    vb_printf(&b, " %g %g", r2(e->p[q].x), r2(e->p[q].y));
            }
            char *d = vb_steal(&b, NULL);
            cJSON_AddStringToObject(o, "d", d ? d : "");
            free(d);
            break;
        }
        case VIZ_PRIM_TEXT:
            cJSON_AddNumberToObject(o, "x", r2(p->x));
            cJSON_AddNumberToObject(o, "y", r2(p->y));
            cJSON_AddStringToObject(o, "text", p->text);
            cJSON_AddNumberToObject(o, "size", r2(p->font_size));
            if (p->bold)
                cJSON_AddBoolToObject(o, "bold", 1);
            cJSON_AddStringToObject(o, "anchor", anchors[p->anchor]);
            if (p->angle != 0)
                cJSON_AddNumberToObject(o, "angle", r2(p->angle));
            break;
        case VIZ_PRIM_CLIP_END:
            break;
        }
        cJSON_AddItemToArray(prims, o);
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    /* cJSON's allocator is malloc unless a program changed its hooks; copy so
     * the caller's free() is right either way. */
    *out = viz_strdup(txt);
    cJSON_free(txt);
    return *out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
}
