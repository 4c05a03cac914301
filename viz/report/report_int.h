/* Internals of the report sub-library (not installed, not part of viz.h).
 *
 * The report is built in three steps so that the PDF, the HTML page and the
 * JSON summary can never disagree:
 *   1. report.c reads inputs and analyses them (report_t: readings in the
 *      period, per-measure statistics, categories, pattern flags, problems);
 *   2. report_doc.c turns the analysis into a document model, a flat list of
 *      blocks (headings, paragraphs, flags, tables, charts);
 *   3. report_pdf.c lays the blocks out on libharu pages (charts through the
 *      scene backend in report_hpdf.c) and report_html.c writes them as HTML.
 * report_summary_json() reads the analysis directly. */
#ifndef MUSE_REPORT_INT_H
#define MUSE_REPORT_INT_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <hpdf.h>

#include "viz/report/report.h"
#include "viz/viz.h"

/* The width of the PDF's text column (A4 less 2 x 56 pt margins): charts are
 * laid out at it in both the PDF and the HTML page, so they match. */
#define RP_TEXT_WIDTH (595.276 - 2 * 56.0)

/* ---- Wording data (report_wording.c: viz/report/data/report.json) ---------- */

/* The parsed data, read-only for the life of the process; NULL only when the
 * embedded file is broken (a build bug), with the reason in *why. */
const cJSON *rp_data(const char **why);
/* data.measures[kind name], or NULL. */
const cJSON *rp_measure_def(med_kind_t k);
/* Decimals to show for a kind (data, else 1). */
int rp_decimals(med_kind_t k);
/* 1 when a kind is judged by its latest reading, 0 by its average. */
int rp_judged_by_latest(med_kind_t k);
/* Discussion text for a category id ("none" for measures without a range),
 * or NULL; borrowed from the data. */
const char *rp_discuss(med_kind_t k, const char *category_id);
const char *rp_pattern_discuss(const char *pattern_id);
/* "Needs attention now" for "urgent", ...; borrowed. */
const char *rp_severity_label(const char *severity);
/* medical/data/ranges.json "measures"[kind], or NULL. */
const cJSON *rp_range_def(med_kind_t k);

/* ---- The analysed report (report.c) -------------------------------------- */

typedef struct rp_input {
    char *name;            /* as given (path or upload name) */
    size_t n_read;         /* readings read from it */
    size_t n_problems;     /* problems recorded for it (including dropped ones) */
    int failed;            /* nothing in it could be read */
} rp_input_t;

typedef struct rp_measure {
    med_kind_t kind;
    size_t *idx;           /* indices into report.sel, in time order; owned */
    size_t n;              /* readings of the kind in the period, plausible or not */
    int have_stats;
    med_stats_t st;
    const med_reading_t *latest;     /* latest plausible reading (by time, else last given) */
    int have_avg_class, have_latest_class;
    med_class_t avg_class;           /* category of the average (BP: mean systolic/diastolic) */
    med_class_t latest_class;
    int judge_latest;                /* which of the two the report leads with */
    size_t n_assumed_unit;
} rp_measure_t;

typedef struct rp_code {
    char code[48];         /* the code as written in the file, or "" when there was none */
    char where[192];       /* the first place it was seen */
    size_t count;
} rp_code_t;

typedef struct rp_chart_pos {
    int page;              /* 1-based */
    double x, y, w, h;     /* points, origin top left of the page */
    char kind[24];         /* measure or section id */
    char preset[24];
} rp_chart_pos_t;

struct rp_doc;

struct report {
    char *title, *label, *password, *font_path, *font_bold_path;
    int64_t from, to, now;
    kb_t *kb;
    size_t table_max_rows;

    rp_input_t *inputs;
    size_t n_inputs;
    med_series_t all;      /* every reading read, in input order */
    int *all_input;        /* input index of each reading in all */
    size_t all_cap;
    med_problem_t *problems;
    int *problem_input;
    size_t n_problems, problems_cap;
    size_t problems_dropped;

    /* after report_analyze() */
    int analyzed;
    med_series_t sel;      /* readings in the period, sorted by time (undated last) */
    int *sel_input;
    size_t n_outside_period, n_undated_left_out;
    int64_t first, last;   /* wall-clock span of dated readings, -1 when none */
    rp_measure_t m[MED_KIND_COUNT];
    med_patterns_t patterns;
    rp_code_t *codes;      /* unknown codes, one per code */
    size_t n_codes;
    size_t n_unknown_kind; /* rows naming a measure the reader does not know */

    struct rp_doc *doc;    /* built once for the PDF and the HTML page; owned */

    /* after report_pdf() */
    int pdf_pages;
    rp_chart_pos_t *charts;
    size_t n_charts;
    size_t pdf_bytes;
    size_t chars_replaced; /* characters outside the font, printed as U+FFFD */
};

/* The reading's wall-clock time (seconds, as UTC) or -1. */
int64_t rp_local_time(const med_reading_t *r);
/* "2026-10-01" / "2026-10-01 07:30" (date_only or no clock: the date). */
void rp_fmt_date(int64_t t, char *out, size_t cap);
void rp_fmt_time(const med_reading_t *r, char *out, size_t cap);
/* "1 Oct 2026" for prose. */
void rp_fmt_day(int64_t t, char *out, size_t cap);
/* A number with d decimals, U+2212 for minus, no "-0". */
void rp_fmt_num(double v, int d, char *out, size_t cap);
/* "142/91 mmHg", "7.2%", "83.4 kg". */
void rp_fmt_value(med_kind_t k, double v, double v2, char *out, size_t cap);
/* The reading's value as fmt_value, plus "(given as 97 µmol/L)" when it came
 * in another unit. */
void rp_fmt_reading(const med_reading_t *r, char *value, size_t vcap, char *given, size_t gcap);
/* "Blood pressure", "eGFR (kidney function)": the ranges' label, else the
 * medical module's. */
const char *rp_kind_label(med_kind_t k);
/* The label inside a sentence: "blood pressure", but "HbA1c", "LDL cholesterol". */
void rp_lower_label(med_kind_t k, char *out, size_t cap);
/* Publisher (year): title, and the URL, for the measure's guideline; "" when none. */
void rp_range_source(med_kind_t k, char *out, size_t cap, const char **url);
/* A short cite, "ACC/AHA 2017". */
void rp_range_cite(med_kind_t k, char *out, size_t cap);

/* The category the report leads with (latest or average, per the wording
 * data, falling back to the other), or NULL when the measure has no range. */
const med_class_t *rp_judged_class(const rp_measure_t *m, int *by_latest);
/* What to discuss with a clinician about measure k: the text for its
 * category, then one per pattern flag of the kind; borrowed strings. */
size_t rp_discuss_items(const report_t *r, med_kind_t k, const char **out, size_t cap);
/* "Stage 1 hypertension 2 (29%), Stage 2 hypertension 5 (71%)"; "" when
 * the measure has no categories. */
void rp_category_mix(const med_stats_t *st, char *out, size_t cap);

/* BMI worked out from the latest weight and height when the inputs hold no
 * BMI reading: 1 and *bmi, with how in note; 0 when it cannot be. */
int rp_calc_bmi(const report_t *r, double *bmi, char *note, size_t cap);
/* Time as the presets read it, "2026-10-01T07:30:00", on the wall clock. */
void rp_iso_time(const med_reading_t *r, char *out, size_t cap);

/* A plain-language sentence for a component's trend ("Falling by about
 * 0.6 kg a month (95% CI ...; high confidence)"): per week, or per month
 * over a span of more than 90 days. */
void rp_trend_text(med_kind_t k, const med_trend_t *t, const char *what, double span_days, char *out,
                   size_t cap);

/* ---- Charts (report_charts.c) ------------------------------------------- */

typedef struct rp_chart {
    viz_chart_t *chart;    /* owned */
    double width, height;  /* points, as laid out in the PDF */
    char kind[24];         /* measure or section id the chart shows */
    char preset[24];       /* "bp_trend", ..., or "trend" for the report's own line chart */
} rp_chart_t;

/* The charts for one section (def: an element of data.sections), at most
 * cap; *n receives the count. Charts that cannot be built are skipped (the
 * tables still show the readings); a failure other than ENOMEM is not an
 * error. Each chart is freed with viz_chart_free(). */
int rp_section_charts(const report_t *r, const cJSON *def, double width, rp_chart_t *out,
                      size_t cap, size_t *n, muse_error_t *err);

/* ---- Document model (report_doc.c) -------------------------------------- */

typedef enum rb_kind {
    RB_TITLE = 0,          /* text; sub: the line under it */
    RB_HEADING,            /* level 1 (section, new page when little room) or 2 */
    RB_PARA,               /* label (bold, may be NULL) then text */
    RB_BULLET,             /* one bullet item: label then text */
    RB_FLAG,               /* a finding: severity 2 urgent, 1 warning, 0 info; label, text */
    RB_TABLE,
    RB_CHART,
    RB_NOTE,               /* small muted text */
    RB_PAGE_BREAK,         /* level 0: always; 1: also, unless past the first page and
                              that page is under 40% used (a summary that ran over) */
} rb_kind_t;

typedef enum rb_align { RB_LEFT = 0, RB_RIGHT, RB_CENTER } rb_align_t;

typedef struct rb_table {
    int ncols;
    char **head;           /* ncols strings */
    double *width;         /* fractions of the table width, summing to 1 */
    rb_align_t *align;
    char **cells;          /* nrows * ncols strings, row-major; "" allowed */
    size_t nrows, cap;
    int flow;              /* 1..3: newspaper columns side by side (narrow tables) */
    double scale;          /* fraction of the text width the table takes; 0: all */
    char *caption;         /* shown above, may be NULL */
} rb_table_t;

typedef struct rp_block {
    rb_kind_t kind;
    int level;
    int severity;
    char *label;           /* owned, may be NULL */
    char *text;            /* owned, may be NULL */
    char *sub;             /* owned, may be NULL */
    char *anchor;          /* owned: HTML id / outline key, may be NULL */
    rb_table_t *table;     /* owned */
    rp_chart_t chart;      /* owned chart */
} rp_block_t;

typedef struct rp_doc {
    rp_block_t *v;
    size_t n, cap;
    char *title;           /* owned */
} rp_doc_t;

/* Builds the document for an analysed report. *doc is freed with
 * rp_doc_free(). chart_width: the width charts are laid out at. */
int rp_doc_build(const report_t *r, double chart_width, rp_doc_t *doc, muse_error_t *err);
void rp_doc_free(rp_doc_t *doc);
/* The report's document, built on first use and kept until the analysis
 * changes: the PDF and the HTML page share its charts. Borrowed from r. */
int rp_doc_get(report_t *r, const rp_doc_t **doc, muse_error_t *err);

/* ---- Rendering ---------------------------------------------------------- */

/* Embedded fonts and their character coverage (report_hpdf.c). */
typedef struct rp_fonts rp_fonts_t;

/* Finds and loads the regular and bold fonts into pdf. *out is freed with
 * rp_fonts_free() (after HPDF_Free is fine). */
int rp_fonts_load(HPDF_Doc pdf, const char *regular, const char *bold, rp_fonts_t **out,
                  muse_error_t *err);
void rp_fonts_free(rp_fonts_t *f);
HPDF_Font rp_font(const rp_fonts_t *f, int bold);
/* text with characters the font lacks (and control characters) replaced by
 * U+FFFD / a space; *out freed with free(); counts replacements in f. */
char *rp_fonts_clean(rp_fonts_t *f, const char *text);
size_t rp_fonts_replaced(const rp_fonts_t *f);
/* Width in points of UTF-8 text at size (already cleaned). */
double rp_text_width(const rp_fonts_t *f, int bold, double size, const char *text);
/* Draws a viz scene on a libharu page with its top-left corner at (x, y_top)
 * in page coordinates (points, y up). */
int rp_draw_scene(HPDF_Page page, HPDF_Doc pdf, rp_fonts_t *f, const viz_scene_t *s, double x,
                  double y_top, muse_error_t *err);

int rp_render_pdf(report_t *r, const rp_doc_t *doc, unsigned char **out, size_t *len,
                  muse_error_t *err);
int rp_render_html(const report_t *r, const rp_doc_t *doc, char **out, size_t *len,
                   muse_error_t *err);

/* ---- Small growable string (report_util.c) ------------------------------ */

typedef struct rp_buf {
    char *p;
    size_t n, cap;
    int oom;
} rp_buf_t;

void rb_put(rp_buf_t *b, const char *s, size_t n);
void rb_puts(rp_buf_t *b, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void rb_printf(rp_buf_t *b, const char *fmt, ...);
/* s with &, <, >, " escaped. */
void rb_put_html(rp_buf_t *b, const char *s);
/* printf into a new string; NULL when out of memory. Freed with free(). */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
char *rp_strdupf(const char *fmt, ...);
char *rp_strdup(const char *s);

#endif
