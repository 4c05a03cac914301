/* viz: health charts. A chart spec (JSON, docs/chart-spec.md) or a health
 * preset that expands into one goes through scales and layout into a scene,
 * a display list of primitives each tagged with the datum it shows; renderers
 * draw the scene with Cairo (SVG, PDF, PNG), add an interaction and
 * accessibility layer to SVG, wrap it in HTML, or (reports) draw it on a
 * libharu page. */
#ifndef MUSE_VIZ_H
#define MUSE_VIZ_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "muse.h"

typedef struct viz_chart viz_chart_t;

typedef enum viz_format {
    VIZ_SVG = 0,
    VIZ_PDF,
    VIZ_PNG,
    VIZ_HTML,
} viz_format_t;

/* Parses a spec: a plain layered spec, or {"preset": NAME, "data": [...], ...}
 * which is expanded first. Errors name the JSON path ("layers[2].mark").
 * *out is freed with viz_chart_free(). */
int viz_chart_parse(const char *spec_json, viz_chart_t **out, muse_error_t *err);
int viz_chart_from_json(const cJSON *spec, viz_chart_t **out, muse_error_t *err);
void viz_chart_free(viz_chart_t *c);

typedef struct viz_render_opts {
    double width, height;   /* points (1/72 in); 0: the spec's or 640x400 */
    double dpi;             /* PNG only; 0: 96 */
    const char *id_prefix;  /* prefix for every SVG id; NULL: "muse" */
} viz_render_opts_t;

/* "svg", "pdf", "png", "html" (also from a file name's extension). */
int viz_format_parse(const char *name_or_path, viz_format_t *out, muse_error_t *err);

/* Renders to memory; *out freed with free(). */
int viz_render(const viz_chart_t *c, viz_format_t fmt, const viz_render_opts_t *o,
               unsigned char **out, size_t *len, muse_error_t *err);

/* Renders to a file, format from the extension; written to a temporary name
 * and renamed, so a failure never leaves a half-written chart at path. */
int viz_render_file(const viz_chart_t *c, const char *path, const viz_render_opts_t *o,
                    muse_error_t *err);

/* ------------------------------------------------------------------------
 * Added by the viz module on top of the contract above.
 * ------------------------------------------------------------------------ */

/* Size limits. A chart is 50..10000 points on a side; a PNG at most 16384
 * pixels on a side and 64 megapixels in all (MUSE_ELIMIT past that); dpi
 * 10..1200. */
#define VIZ_MIN_SIDE 50.0
#define VIZ_MAX_SIDE 10000.0
#define VIZ_MAX_PNG_SIDE 16384
#define VIZ_MAX_PNG_PIXELS (64.0 * 1024 * 1024)

/* Expands a preset spec ({"preset": NAME, "data": [...], "title"?: ...})
 * into the plain layered spec the renderers know; a plain spec comes back as
 * a copy. Guideline bands come from medical_ranges(). *out is freed by the
 * caller with cJSON_Delete(). Errors name the JSON path ("data[3].systolic"). */
int viz_preset_expand(const cJSON *spec, cJSON **out, muse_error_t *err);

/* Names of the presets, NULL-terminated (static). */
const char *const *viz_preset_names(void);

/* The chart's title (the spec's, possibly "") and its text summary for
 * people: the spec's "description", or one generated from the data ("Systolic
 * averaged 142 mmHg over 10 readings; 6 were stage 2 hypertension"). Owned by
 * the chart. */
const char *viz_chart_title(const viz_chart_t *c);
const char *viz_chart_summary(const viz_chart_t *c);

/* ---- Scene: the display list every renderer draws ----------------------
 *
 * Layout turns a chart into a scene in points (1/72 in), origin at the top
 * left, y down. Primitives are drawn in order (painter's model). Text is
 * placed by its alphabetic baseline and a horizontal anchor, so a backend
 * needs only its own width measure for the font (scene->font, e.g. "DejaVu
 * Sans"). Every primitive that shows data carries the index of its datum
 * (viz_datum_t: tooltip, table row) and of its series (legend entry, HTML
 * toggle); a second backend (libharu in reports) can draw the same picture
 * from rects, polylines, paths, circles, text and clip groups alone. */

typedef struct viz_rgba {
    unsigned char r, g, b, a;   /* a == 0: not painted */
} viz_rgba_t;

typedef struct viz_point {
    double x, y;
} viz_point_t;

typedef enum viz_prim_kind {
    VIZ_PRIM_RECT = 0,      /* x, y, w, h */
    VIZ_PRIM_LINE,          /* open polyline pts[0..npts), stroked only */
    VIZ_PRIM_PATH,          /* els[0..nels): filled (nonzero rule) then stroked */
    VIZ_PRIM_CIRCLE,        /* centre x, y; radius r */
    VIZ_PRIM_TEXT,          /* text at baseline point x, y */
    VIZ_PRIM_CLIP_BEGIN,    /* clip what follows to x, y, w, h until CLIP_END; nests */
    VIZ_PRIM_CLIP_END,
} viz_prim_kind_t;

/* What a primitive is for: backends may ignore it; the SVG layer, tests and
 * reports use it (a report may drop VIZ_ROLE_BACKGROUND, for instance). */
typedef enum viz_role {
    VIZ_ROLE_BACKGROUND = 0,
    VIZ_ROLE_BAND,          /* guideline band fill and its hatching */
    VIZ_ROLE_BAND_LABEL,
    VIZ_ROLE_GRID,
    VIZ_ROLE_AXIS,          /* axis line and tick marks */
    VIZ_ROLE_TICK_LABEL,
    VIZ_ROLE_AXIS_TITLE,
    VIZ_ROLE_MARK,          /* a datum or series: line, point, bar, area */
    VIZ_ROLE_MARK_LABEL,    /* text showing a datum's value */
    VIZ_ROLE_LEGEND,
    VIZ_ROLE_TITLE,
    VIZ_ROLE_SUBTITLE,
    VIZ_ROLE_ANNOTATION,
    VIZ_ROLE_NOTE,          /* "No data", notes about dropped values */
    VIZ_ROLE_COUNT
} viz_role_t;

typedef enum viz_path_op {
    VIZ_PATH_MOVE = 0,      /* p[0] */
    VIZ_PATH_LINE,          /* p[0] */
    VIZ_PATH_CURVE,         /* cubic Bezier: controls p[0], p[1], end p[2] */
    VIZ_PATH_CLOSE,
} viz_path_op_t;

typedef struct viz_path_el {
    viz_path_op_t op;
    viz_point_t p[3];
} viz_path_el_t;

typedef enum viz_anchor {
    VIZ_ANCHOR_START = 0,   /* text begins at x */
    VIZ_ANCHOR_MIDDLE,      /* text is centred on x */
    VIZ_ANCHOR_END,         /* text ends at x */
} viz_anchor_t;

typedef struct viz_style {
    viz_rgba_t fill;        /* a == 0: no fill */
    viz_rgba_t stroke;      /* a == 0: no stroke */
    double stroke_width;    /* points */
    double dash[4];         /* on/off lengths in points */
    int ndash;              /* 0: solid */
    int round;              /* 1: round caps and joins (data lines); 0: butt/miter */
} viz_style_t;

typedef struct viz_prim {
    viz_prim_kind_t kind;
    viz_role_t role;
    int series;             /* index of viz_scene_series(), -1: none */
    long datum;             /* index of viz_scene_datum(), -1: none */
    viz_style_t style;
    double x, y, w, h;      /* RECT and CLIP_BEGIN box; CIRCLE and TEXT use x, y */
    double r;               /* CIRCLE radius */
    const viz_point_t *pts; /* LINE */
    size_t npts;
    const viz_path_el_t *els; /* PATH */
    size_t nels;
    const char *text;       /* TEXT: valid UTF-8, one line */
    double font_size;       /* TEXT: points */
    int bold;               /* TEXT: 1 bold, 0 regular */
    viz_anchor_t anchor;    /* TEXT */
    double angle;           /* TEXT: degrees, counter-clockwise about (x, y) */
} viz_prim_t;

typedef enum viz_series_shape {
    VIZ_SHAPE_CIRCLE = 0,
    VIZ_SHAPE_SQUARE,
    VIZ_SHAPE_TRIANGLE,
    VIZ_SHAPE_DIAMOND,
    VIZ_SHAPE_TRIANGLE_DOWN,
} viz_series_shape_t;

/* A legend entry and HTML toggle: a layer (or one colour of it). */
typedef struct viz_series {
    const char *name;
    viz_rgba_t color;
    int mark;               /* 0 line, 1 point, 2 area, 3 bar (legend swatch) */
    viz_series_shape_t shape;
    double dash[4];
    int ndash;
} viz_series_t;

/* One datum drawn: what its tooltip says and where its hit target is. */
typedef struct viz_datum {
    int series;             /* -1: none */
    int table;              /* which data table of the chart */
    long row;               /* row of that table */
    double x, y;            /* centre of the hit target */
    double w, h;            /* hit box for bars and bands; 0: a circle */
    const char *label;      /* tooltip: lines "Key: value" joined by '\n' */
} viz_datum_t;

typedef struct viz_scene viz_scene_t;

/* Lays a chart out at the options' size (o may be NULL). *out is freed with
 * viz_scene_free(). */
int viz_scene_build(const viz_chart_t *c, const viz_render_opts_t *o, viz_scene_t **out,
                    muse_error_t *err);
void viz_scene_free(viz_scene_t *s);

double viz_scene_width(const viz_scene_t *s);
double viz_scene_height(const viz_scene_t *s);
const char *viz_scene_font(const viz_scene_t *s);      /* fontconfig family name */
const char *viz_scene_title(const viz_scene_t *s);     /* "" when none */
const char *viz_scene_summary(const viz_scene_t *s);   /* accessible description */

size_t viz_scene_count(const viz_scene_t *s);
/* The i-th primitive; pointers inside stay valid until viz_scene_free(). */
const viz_prim_t *viz_scene_prim(const viz_scene_t *s, size_t i);
size_t viz_scene_series_count(const viz_scene_t *s);
const viz_series_t *viz_scene_series(const viz_scene_t *s, size_t i);
size_t viz_scene_datum_count(const viz_scene_t *s);
const viz_datum_t *viz_scene_datum(const viz_scene_t *s, size_t i);

/* Building a scene by hand (tests, other backends' fixtures). viz_scene_new
 * returns NULL when out of memory. viz_scene_add copies p and everything it
 * points to (points, elements, text: invalid UTF-8 becomes U+FFFD). */
viz_scene_t *viz_scene_new(double width, double height);
int viz_scene_add(viz_scene_t *s, const viz_prim_t *p);
/* *index receives the new series' / datum's index (may be NULL). */
int viz_scene_add_series(viz_scene_t *s, const viz_series_t *series, int *index);
int viz_scene_add_datum(viz_scene_t *s, const viz_datum_t *d, long *index);
int viz_scene_set_text(viz_scene_t *s, const char *title, const char *summary);

/* The scene as JSON (docs/chart-spec.md#scene): {"width","height","font",
 * "title","summary","series":[...],"data":[...],"prims":[...]} with
 * coordinates rounded to 0.01 pt. A backend in another language can draw it;
 * tests keep it as a golden file. *out freed with free(). */
int viz_scene_to_json(const viz_scene_t *s, char **out, muse_error_t *err);

/* Renders a scene (rather than a chart) to any format; viz_render() is
 * viz_scene_build() then this. The HTML data table is made from the data's
 * tooltip lines. */
int viz_scene_render(const viz_scene_t *s, viz_format_t fmt, const viz_render_opts_t *o,
                     unsigned char **out, size_t *len, muse_error_t *err);

/* WCAG 2.x contrast ratio of two opaque colours (1..21). */
double viz_contrast_ratio(viz_rgba_t a, viz_rgba_t b);

#endif
