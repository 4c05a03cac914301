/* Benchmark: parse and interpret 100,000 readings, and print the time.
 * Not a test (timings never fail a build): run with `meson test --benchmark`
 * or directly. The aim is under 0.5 s for parse + interpret.
 *
 * Three inputs of 100,000 readings each: a pasted text list with dates and
 * times ("2026-11-02 07:30 138/88"), a CSV export, and mixed labs in text.
 * Each is parsed, then interpreted twice: with the JSON of every reading
 * (what `muse interpret --json` prints), and summary-only (statistics, trend
 * and patterns, what a report of a large file needs). Turning the JSON tree
 * into text is timed on its own: that is cJSON's printer, not Muse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medical/medical.h"

#define N 100000

/* CPU time of this process: on a shared or loaded machine wall-clock
 * figures swing with the neighbours; the total wall time is printed at the
 * end for comparison. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void date_of(size_t i, int *y, int *m, int *d)
{
    size_t day = i / 2;
    *y = 2020 + (int)(day / 336);
    *m = 1 + (int)(day / 28 % 12);
    *d = 1 + (int)(day % 28);
}

static char *make_bp_text(size_t n)
{
    char *b = malloc(n * 40 + 1);
    size_t off = 0;
    if (!b)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int y, m, d;
        date_of(i, &y, &m, &d);
        off += (size_t)sprintf(b + off, "%04d-%02d-%02d %s %zu/%zu\n", y, m, d, i % 2 ? "21:00" : "07:30",
                               118 + (i * 7) % 50, 70 + (i * 3) % 30);
    }
    b[off] = '\0';
    return b;
}

static char *make_csv(size_t n, size_t *len)
{
    char *b = malloc(n * 48 + 64);
    size_t off = 0;
    if (!b)
        return NULL;
    off += (size_t)sprintf(b, "date,time,systolic,diastolic,pulse\n");
    for (size_t i = 0; i < n; i++) {
        int y, m, d;
        date_of(i, &y, &m, &d);
        off += (size_t)sprintf(b + off, "%04d-%02d-%02d,%s,%zu,%zu,%zu\n", y, m, d, i % 2 ? "21:00" : "07:30",
                               118 + (i * 7) % 50, 70 + (i * 3) % 30, 60 + i % 30);
    }
    *len = off;
    return b;
}

static char *make_labs_text(size_t n)
{
    static const char *const fmt[] = {"A1c %zu.%zu%%, ", "fasting glucose %zu.%zu mmol/L, ",
                                      "LDL %zu.%zu mmol/L, ", "temp 3%zu.%zu C, ", "SpO2 9%zu.%zu%%, "};
    char *b = malloc(n * 40 + 1);
    size_t off = 0;
    if (!b)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        off += (size_t)sprintf(b + off, fmt[i % 5], 5 + i % 4, i % 10);
        if (i % 10 == 9)
            b[off++] = '\n';
    }
    b[off] = '\0';
    return b;
}

typedef struct timing {
    double parse;
    double build;   /* medical_interpret_json with every reading */
    double print;   /* cJSON_PrintUnformatted of it */
    double summary; /* medical_interpret_json, summary only */
    size_t bytes;
} timing_t;

static int interpret(const med_series_t *s, timing_t *t)
{
    muse_error_t err = {0};
    cJSON *j = NULL;
    double t0 = now_s();
    if (medical_interpret_json(s, NULL, &j, &err) != MUSE_OK) {
        fprintf(stderr, "interpret: %s\n", err.message);
        return 1;
    }
    t->build = now_s() - t0;
    t0 = now_s();
    char *txt = cJSON_PrintUnformatted(j);
    t->print = now_s() - t0;
    t->bytes = txt ? strlen(txt) : 0;
    cJSON_free(txt);
    cJSON_Delete(j);

    med_interpret_opts_t o = {.summary_only = 1};
    t0 = now_s();
    if (medical_interpret_json(s, &o, &j, &err) != MUSE_OK) {
        fprintf(stderr, "interpret: %s\n", err.message);
        return 1;
    }
    t->summary = now_s() - t0;
    cJSON_Delete(j);
    return 0;
}

static void report(const char *what, size_t n, const timing_t *t)
{
    printf("%s: %zu readings\n", what, n);
    printf("  parse                          %6.3f s\n", t->parse);
    printf("  interpret, summary only        %6.3f s   parse + interpret %6.3f s\n", t->summary,
           t->parse + t->summary);
    printf("  interpret, with every reading  %6.3f s   parse + interpret %6.3f s\n", t->build,
           t->parse + t->build);
    printf("  JSON text of that (cJSON)      %6.3f s   (%zu KiB)\n", t->print, t->bytes / 1024);
}

int main(void)
{
    muse_error_t err = {0};
    med_series_t s;
    med_problems_t p;
    timing_t t;

    double wall0 = wall_s();
    printf("CPU seconds of this process (single thread)\n");
    /* The data files are parsed once per process: timed apart. */
    double t0 = now_s();
    medical_ranges();
    printf("medical data load (once per process): %.1f ms\n", (now_s() - t0) * 1e3);

    char *text = make_bp_text(N);
    t0 = now_s();
    if (!text || medical_parse_text(text, &s, &err) != MUSE_OK) {
        fprintf(stderr, "parse: %s\n", err.message);
        return 1;
    }
    t.parse = now_s() - t0;
    if (interpret(&s, &t))
        return 1;
    report("text, blood pressure with dates and times", s.n, &t);
    med_series_free(&s);
    free(text);

    size_t len = 0;
    char *csv = make_csv(N, &len);
    t0 = now_s();
    if (!csv || medical_read_buffer(csv, len, MED_FORMAT_CSV, "bench.csv", &s, &p, &err) != MUSE_OK) {
        fprintf(stderr, "csv: %s\n", err.message);
        return 1;
    }
    t.parse = now_s() - t0;
    if (interpret(&s, &t))
        return 1;
    report("CSV, blood pressure with pulse", s.n, &t);
    med_series_free(&s);
    med_problems_free(&p);
    free(csv);

    char *labs = make_labs_text(N);
    t0 = now_s();
    if (!labs || medical_parse_text(labs, &s, &err) != MUSE_OK) {
        fprintf(stderr, "labs: %s\n", err.message);
        return 1;
    }
    t.parse = now_s() - t0;
    if (interpret(&s, &t))
        return 1;
    report("text, mixed labs with units", s.n, &t);
    med_series_free(&s);
    free(labs);
    printf("wall time of the whole run: %.3f s\n", wall_s() - wall0);
    return 0;
}
