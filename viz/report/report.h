/* report: a person's readings (CSV, JSON, FHIR R4) into a multi-page PDF
 * for a clinic, the same findings as JSON, and the same report as one
 * self-contained HTML page (docs/report.md).
 *
 * The report adds no medicine of its own. Readings, categories, trends and
 * pattern flags come from the medical module; charts are viz presets whose
 * scene is drawn on libharu pages as vectors, so a chart in a report is the
 * chart `muse chart` draws. The wording the report adds (section titles,
 * what to discuss with a clinician, the disclaimer) lives in
 * viz/report/data/report.json with its own review status, so a clinician can
 * review it without reading C.
 *
 * Use: report_new(), report_add_file() / report_add_buffer() for each input,
 * report_analyze(), then any of report_pdf(), report_html(),
 * report_summary_json(); report_free() at the end. A report_t is not shared
 * between threads; separate reports are independent. */
#ifndef MUSE_REPORT_H
#define MUSE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "kb/kb.h"
#include "medical/medical.h"
#include "muse.h"

typedef struct report report_t;

typedef struct report_opts {
    const char *title;          /* NULL: "Health readings report" */
    const char *patient_label;  /* a label the clinic chooses; NULL: none printed */
    /* The period, inclusive, on the readings' own wall clock: seconds since
     * the epoch as report_parse_date() gives them. INT64_MIN / INT64_MAX:
     * open. When either end is set, readings without a date are left out
     * (and counted). */
    int64_t from, to;
    const char *password;       /* PDF only: RC4 128-bit (libharu's only cipher); NULL: none */
    int64_t now;                /* creation date, seconds since the epoch; 0: the current time */
    kb_t *kb;                   /* borrowed, may be NULL: cites the knowledge-store entry of
                                   each measure with its review status */
    const char *font_path;      /* regular TrueType font; NULL: DejaVu Sans through fontconfig */
    const char *font_bold_path; /* NULL: DejaVu Sans Bold through fontconfig (or the regular) */
    size_t table_max_rows;      /* readings listed one per row up to this; more are summarised
                                   by day (or week); 0: 400 */
} report_opts_t;

/* Defaults: no title or label, an open period, no password. */
void report_opts_init(report_opts_t *o);

/* "2026-10-01", "2026-10-01T07:30" or "2026-10-01 07:30[:ss]" to seconds on
 * the wall clock. end_of_day: a date alone means its last second (for --to).
 * MUSE_EINVAL with a message naming the text. */
int report_parse_date(const char *text, int end_of_day, int64_t *out, muse_error_t *err);

/* A new, empty report. The options' strings are copied; o->kb is borrowed
 * and must outlive the report. *out is freed with report_free(). */
int report_new(const report_opts_t *o, report_t **out, muse_error_t *err);
void report_free(report_t *r);

/* Reads one input through the medical reader. Rows that cannot be read are
 * kept as problems (report_problem_count()); so is a file in which nothing
 * could be read (MUSE_OK: other inputs may still make a report). A file that
 * cannot be opened is MUSE_EIO / MUSE_ENOTFOUND. */
int report_add_file(report_t *r, const char *path, muse_error_t *err);
/* The same from memory (an HTTP upload); name is shown in the report and in
 * messages (NULL: "input"). data need not be NUL-terminated. */
int report_add_buffer(report_t *r, const char *data, size_t len, med_format_t fmt,
                      const char *name, muse_error_t *err);

/* Problems found so far: rows and entries that were not read, with where
 * ("readings.csv:14") and why. Borrowed from r; valid until the next
 * report_add_*() or report_free(). */
size_t report_problem_count(const report_t *r);
const med_problem_t *report_problem(const report_t *r, size_t i);

/* Filters to the period, sorts by time, computes statistics, categories and
 * pattern flags. MUSE_EPARSE when there is nothing usable (no plausible
 * reading in the period): err says why (every file failed, every reading
 * outside the period, ...). */
int report_analyze(report_t *r, muse_error_t *err);

/* The PDF. *out is freed by the caller with free(). report_analyze() first. */
int report_pdf(report_t *r, unsigned char **out, size_t *len, muse_error_t *err);

/* The same report as one self-contained HTML page with interactive charts.
 * *out (NUL-terminated) is freed with free(). */
int report_html(report_t *r, char **out, size_t *len, muse_error_t *err);

/* A machine-readable summary of the same findings (docs/report.md#json):
 * period, inputs, measures with statistics, trends and categories, pattern
 * flags, problems, unknown codes and, after report_pdf(), the PDF's pages and
 * where each chart was drawn. *out is freed with free(). */
int report_summary_json(report_t *r, char **out, muse_error_t *err);

#endif
