/* Internals shared by the files of viz/ (not part of its door, viz.h).
 *
 * The parsed chart is deliberately plain C: data tables are columns of
 * doubles (times as seconds since the epoch, wall clock) with an optional
 * string column beside, so layout never touches cJSON and a million points
 * cost 8 bytes each per field. */
#ifndef MUSE_VIZ_INT_H
#define MUSE_VIZ_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "viz/viz.h"

/* ---- Growable text buffer ---------------------------------------------- */

typedef struct viz_buf {
    char *p;
    size_t len, cap;
    int oom;                 /* sticky: a failed append sets it, later ones are no-ops */
} viz_buf_t;

void vb_free(viz_buf_t *b);
int vb_put(viz_buf_t *b, const char *s, size_t n);
int vb_puts(viz_buf_t *b, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
int vb_printf(viz_buf_t *b, const char *fmt, ...);
/* Appends s with & < > " ' escaped and characters XML forbids dropped. */
int vb_put_xml(viz_buf_t *b, const char *s);
/* Hands the NUL-terminated text to the caller (free()); the buffer is reset. */
char *vb_steal(viz_buf_t *b, size_t *len);

/* Copies s into fresh memory as valid UTF-8 (bad bytes become U+FFFD),
 * without control characters other than '\n' when keep_newline. free(). */
char *viz_utf8_clean(const char *s, int keep_newline);
char *viz_strdup(const char *s);

/* ---- Time (proleptic Gregorian, no time zones) ------------------------- */

int64_t viz_days_from_civil(int64_t y, unsigned m, unsigned d);
void viz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Parses ISO-8601 "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+hh:mm]" (a
 * space may stand for T). The offset is ignored: times are the person's wall
 * clock (medical.h keeps them the same way). 1 and *t on success. */
int viz_parse_time(const char *s, double *t);
/* Formats a time for people. unit: the tick unit ("day", "hour", ...). */
typedef enum viz_tunit {
    VIZ_TU_SECOND = 0, VIZ_TU_MINUTE, VIZ_TU_HOUR, VIZ_TU_DAY, VIZ_TU_WEEK,
    VIZ_TU_MONTH, VIZ_TU_YEAR
} viz_tunit_t;
void viz_format_time(double t, viz_tunit_t unit, int with_year, char *out, size_t cap);
/* "Mar 3, 2024 08:30", or "Mar 3, 2024" when with_clock is 0. */
void viz_format_datetime(double t, int with_clock, char *out, size_t cap);
/* A number for people: at most `decimals` decimals, no trailing zeros, a
 * minus sign for negatives; decimals < 0 picks from magnitude. */
void viz_format_number(double v, int decimals, char *out, size_t cap);
/* The same, with thousands grouped from group_from up (an axis whose
 * largest label is 12,500 groups its 7,500 too). */
void viz_format_number_g(double v, int decimals, double group_from, char *out, size_t cap);
/* How units are shown: "mm[Hg]" -> "mmHg", "kg/m2" -> "kg/m²" ... */
const char *viz_unit_display(const char *ucum);

/* ---- Colours ------------------------------------------------------------ */

/* Okabe & Ito (2008), "Color Universal Design": distinguishable by people
 * with the common colour-vision deficiencies. Ordered for lines on white. */
extern const viz_rgba_t viz_okabe_ito[8];
/* Parses "#rgb", "#rrggbb", "#rrggbbaa" or an Okabe–Ito name. 1 on success. */
int viz_color_parse(const char *s, viz_rgba_t *out);
viz_rgba_t viz_rgb(unsigned hex);
/* The colour blended towards white: t = 0 the colour, 1 white. */
viz_rgba_t viz_tint(viz_rgba_t c, double t);
/* Severity band colour for level / max_level (light, so text on it keeps
 * at least 4.5:1); the hatching pattern likewise. */
viz_rgba_t viz_severity_color(int level, int max_level);
viz_rgba_t viz_severity_ink(int level, int max_level);

/* ---- Data tables --------------------------------------------------------- */

typedef struct viz_col {
    char *name;
    double *num;             /* n values; NAN where missing or not a number/time */
    char **str;              /* n strings or NULL entries; NULL when none at all */
    int is_time;             /* the strings are ISO-8601 times */
    int has_clock;           /* some time has a clock part */
    int has_str;             /* strings that are not times */
} viz_col_t;

typedef struct viz_table {
    size_t n;                /* rows */
    size_t ncols;
    viz_col_t *cols;
} viz_table_t;

/* Reads rows ([{...}, ...]) or {"values": [...]} or {"columns": {f: [...]}}. */
int viz_table_from_json(const cJSON *data, const char *path, viz_table_t **out,
                        muse_error_t *err);
void viz_table_free(viz_table_t *t);
int viz_table_col(const viz_table_t *t, const char *name);   /* -1: none */

/* ---- The parsed chart ---------------------------------------------------- */

typedef enum viz_type {
    VIZ_TYPE_AUTO = 0, VIZ_TYPE_QUANT, VIZ_TYPE_TIME, VIZ_TYPE_NOMINAL, VIZ_TYPE_ORDINAL
} viz_type_t;

typedef enum viz_chan_kind { VIZ_CH_NONE = 0, VIZ_CH_FIELD, VIZ_CH_DATUM, VIZ_CH_VALUE } viz_chan_kind_t;

typedef struct viz_chan {
    viz_chan_kind_t kind;
    int col;                 /* FIELD: column in the layer's table (-1 when the table is empty) */
    char *field;
    viz_type_t type;
    double num;              /* DATUM: the value (time in seconds for a time) */
    char *str;               /* DATUM/VALUE string (text, colour, band name) */
    char *title;             /* for axes, tooltips, tables */
    char *unit;              /* shown after values */
    int decimals;            /* -1: automatic */
} viz_chan_t;

typedef enum viz_mark {
    VIZ_MARK_LINE = 0, VIZ_MARK_POINT, VIZ_MARK_AREA, VIZ_MARK_BAR, VIZ_MARK_RULE,
    VIZ_MARK_RECT, VIZ_MARK_TEXT
} viz_mark_t;

typedef enum viz_pattern {
    VIZ_PAT_NONE = 0, VIZ_PAT_HORIZONTAL, VIZ_PAT_DIAGONAL, VIZ_PAT_BACK_DIAGONAL,
    VIZ_PAT_CROSS, VIZ_PAT_DENSE, VIZ_PAT_VERTICAL
} viz_pattern_t;

typedef enum viz_labelpos {
    VIZ_LABEL_AUTO = 0, VIZ_LABEL_RIGHT, VIZ_LABEL_INSIDE, VIZ_LABEL_TOP, VIZ_LABEL_LEFT,
    VIZ_LABEL_BOTTOM
} viz_labelpos_t;

typedef struct viz_layer {
    viz_mark_t mark;
    char *name;              /* series name (legend, toggles); NULL: not a series */
    int table;               /* index of chart->tables, -1: no data (datum-only) */
    size_t *rows;            /* subset of the table's rows (colour split), NULL: all */
    size_t nrows;
    viz_chan_t x, y, x2, y2, text;
    viz_chan_t *tips;
    size_t ntips;
    int tips_off;            /* "tooltip": false */
    viz_rgba_t color;
    int has_color;
    viz_rgba_t stroke;       /* rect outline */
    int has_stroke;
    double opacity;          /* 0..1 */
    double stroke_width;
    double dash[4];
    int ndash;
    viz_series_shape_t shape;
    double size;             /* point radius, text size */
    int points;              /* line: draw a point at each datum */
    int filled;              /* point: filled (1) or outlined (0) */
    viz_pattern_t pattern;
    char *label;             /* rect/rule label */
    viz_labelpos_t label_pos;
    int legend;              /* listed in the legend */
    int bold;
    viz_anchor_t anchor;     /* text */
    double dx, dy;           /* text offset, points */
    int domain;              /* values count towards the scale domain */
} viz_layer_t;

typedef enum viz_scale_type {
    VIZ_SCALE_AUTO = 0, VIZ_SCALE_LINEAR, VIZ_SCALE_LOG, VIZ_SCALE_TIME, VIZ_SCALE_BAND
} viz_scale_type_t;

typedef struct viz_axis_spec {
    viz_scale_type_t type;
    int has_domain;
    double lo, hi;
    int nice;                /* -1: default (on) */
    int zero;                /* -1: default (bars only) */
    char *title;
    char *unit;
    int grid;                /* -1: default */
    int show;                /* draw the axis */
    int ticks;               /* wanted tick count, 0: from the length */
    int decimals;            /* -1: from the tick step */
} viz_axis_spec_t;

typedef struct viz_panel {
    char *title;             /* a vconcat row's heading */
    char *subtitle;
    double height;           /* points, 0: share the rest */
    viz_layer_t *layers;
    size_t nlayers;
    viz_axis_spec_t x, y;
} viz_panel_t;

struct viz_chart {
    char *title, *subtitle, *description;
    char *summary;           /* description, or generated at parse */
    double width, height;    /* 0: default */
    viz_panel_t *panels;
    size_t npanels;
    viz_table_t **tables;
    size_t ntables;
    int legend;              /* 0 none, 1 top, 2 bottom */
    char *preset;            /* the preset it came from, or NULL */
    char *note;              /* e.g. "3 values that are not numbers were left out" */
};

/* Parses a plain (already expanded) spec. */
int viz_spec_parse_plain(const cJSON *spec, viz_chart_t **out, muse_error_t *err);

/* ---- Scales and ticks ------------------------------------------------------ */

typedef struct viz_scale {
    viz_scale_type_t type;
    double d0, d1;           /* domain (log: of the values, not their logs) */
    double r0, r1;           /* range in points */
    /* band */
    char **cats;             /* borrowed category names */
    size_t ncats;
    double padding;          /* fraction of the step left empty */
    /* ticks */
    double *ticks;
    size_t nticks;
    char **labels;
    double step;             /* linear step; time: seconds (month/year steps approximate) */
    viz_tunit_t tunit;
    int tstep;               /* time: count of tunit per tick */
    int dates_only;          /* time: the data has no clock times: ticks of a day or more */
    int decimals;
} viz_scale_t;

double viz_scale_map(const viz_scale_t *s, double v);
/* Band: position of category i's band start and the band width. */
double viz_scale_band_start(const viz_scale_t *s, size_t i);
double viz_scale_bandwidth(const viz_scale_t *s);
void viz_scale_clear(viz_scale_t *s);

/* Extended Wilkinson (Talbot, Lin & Hanrahan, 2010). Chooses between
 * m_min..m_max ticks covering [lo, hi]; loose != 0 lets the ticks extend
 * beyond the data (the domain grows to them). Returns the count (0 on a bad
 * input) and fills *start, *step so ticks are start + i*step. */
int viz_ticks_wilkinson(double lo, double hi, int m, int loose, double *start, double *step,
                        int *count);
/* Builds ticks (and labels) for a continuous scale: linear, log or time. If
 * nice, the domain is widened to the outer ticks. target: wanted count. */
int viz_scale_ticks(viz_scale_t *s, int target, int nice, int decimals);
/* The time unit and step for a span, for `target` ticks. */
void viz_time_unit(double span, int target, viz_tunit_t *unit, int *step);

/* ---- Downsampling ------------------------------------------------------------ */

/* Largest-Triangle-Three-Buckets (Steinarsson, 2013) over points sorted by
 * x, keeping the first, the last and every bucket's extreme: the global
 * minimum and maximum of y always survive. Writes up to threshold + 1
 * indices to out (one more when both extremes share a bucket) and returns
 * how many; y must be finite. x, y are
 * indexed through idx (n entries). */
size_t viz_lttb(const double *x, const double *y, const size_t *idx, size_t n,
                size_t threshold, size_t *out);

/* ---- Scene internals -------------------------------------------------------- */

/* Text width of a UTF-8 string at size pt in the scene font, from Cairo. */
typedef struct viz_measure viz_measure_t;
viz_measure_t *viz_measure_new(const char *family);
void viz_measure_free(viz_measure_t *m);
double viz_text_width(viz_measure_t *m, const char *text, double size, int bold);

int viz_layout(const viz_chart_t *c, double width, double height, viz_scene_t *s,
               muse_error_t *err);
const char *viz_role_name(viz_role_t r);

/* ---- Renderers ---------------------------------------------------------------- */

/* Cairo: draws the primitives whose mask byte is set (mask NULL: all);
 * clip groups always apply, so a subset keeps its clipping. */
typedef struct _cairo cairo_t;
void viz_cairo_draw_mask(const viz_scene_t *s, cairo_t *cr, const unsigned char *mask);
/* One plain Cairo SVG document of the masked primitives. */
int viz_cairo_svg_mask(const viz_scene_t *s, const unsigned char *mask, viz_buf_t *out,
                       muse_error_t *err);
int viz_render_pdf(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err);
int viz_render_png(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err);
int viz_render_svg(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err);
int viz_render_html(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                    muse_error_t *err);
/* The interactive SVG without the XML declaration, for inlining in HTML. */
int viz_svg_inline(const viz_scene_t *s, const char *pre, viz_buf_t *out, muse_error_t *err);
/* The page's script and style (viz/html/, embedded at build time). */
extern const unsigned char viz_asset_chart_js[];
extern const size_t viz_asset_chart_js_len;
extern const unsigned char viz_asset_chart_css[];
extern const size_t viz_asset_chart_css_len;
/* Checks an id prefix: [A-Za-z][A-Za-z0-9_-]{0,31}. */
int viz_prefix_ok(const char *p);

/* Edit distance, for "did you mean". */
int viz_edit_distance(const char *a, const char *b);

#endif
