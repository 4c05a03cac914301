/* Internals shared by the medical module's source files (not installed, not
 * a door for other modules: they use medical.h).
 *
 * All curated data (ranges, units, interactions, calculators, pattern rules,
 * negation cues) is embedded JSON, parsed once per process under
 * pthread_once into one med_data_t that nothing changes afterwards; the
 * compiled PCRE2 patterns hang off the same structure. Everything else is on
 * the caller's stack or heap, so any number of threads may parse and
 * interpret at once. */
#ifndef MUSE_MEDICAL_INTERNAL_H
#define MUSE_MEDICAL_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <math.h>
#include <pcre2.h>
#include <stdint.h>

#include "medical/medical.h"
#include "muse_err.h"

/* An interval from the data: any of ge/gt/le/lt, NAN when absent. */
typedef struct med_interval {
    double ge, gt, le, lt;
} med_interval_t;

#define MED_MAX_UNITS 8
#define MED_MAX_ASSUME 6

typedef struct med_unit_def {
    const char *ucum;
    double factor;          /* canonical = value * factor + offset */
    double offset;
    const char *source;     /* citation of the factor, or NULL */
    int standalone;
    const cJSON *text;      /* array of spellings (lower case) */
} med_unit_def_t;

typedef struct med_assume {
    med_interval_t iv;
    int unit;               /* index into units[] */
    int silent;
} med_assume_t;

/* A ranges.json category, compiled at load so that classifying a reading is
 * a few comparisons. Strings point into the parsed data (process life). */
typedef struct med_cat {
    const char *id;
    const char *label;
    const char *note;       /* "" when none */
    int level;
    int has[2];             /* the category gives an interval for component i */
    med_interval_t iv[2];
    char source[320];       /* "Publisher (year): title" */
    const char *url;
    char range[112];        /* "systolic 140 to 180 mmHg or diastolic 90 to 120 mmHg" */
} med_cat_t;

typedef struct med_catset {
    med_cat_t v[MED_MAX_CATEGORIES];
    int n;
    int max_level;
} med_catset_t;

typedef struct med_kind_def {
    const char *name;
    const char *label;
    const char *unit;       /* canonical UCUM */
    const char *display;    /* the canonical unit as people write it ("mmHg") */
    int n_components;
    const char *components[2];
    med_unit_def_t units[MED_MAX_UNITS];
    int n_units;
    med_interval_t plausible[2];
    med_assume_t assume[MED_MAX_ASSUME];
    int n_assume;
    const cJSON *aliases;   /* units.json aliases (array of strings) */
    const cJSON *range;     /* ranges.json measure, or NULL */
    med_catset_t cats;      /* compiled categories (n == 0 without a range) */
    med_catset_t cats_random; /* glucose after a meal; n == 0 for other kinds */
    const char *unknown_fasting_note;
    const char *random_note;
    const char *population; /* who the ranges are for ("Adults 18 and over...") */
} med_kind_def_t;

typedef struct med_data {
    int ok;                 /* 0: the embedded data is broken (a bug); see error */
    char error[256];
    cJSON *ranges;
    cJSON *units;
    cJSON *interactions;
    cJSON *calculators;
    cJSON *patterns;
    cJSON *context;
    med_kind_def_t kinds[MED_KIND_COUNT];
    pcre2_code *re_measure; /* every measurement form, one pass (parse_text.c) */
    pcre2_code *re_time;    /* dates, weekdays and clock times */
    int jit;                /* both patterns were JIT-compiled */
} med_data_t;

/* A kind by its exact name ("bp"), without touching the data (safe while
 * the data is being loaded); -1 when unknown. */
int med_kind_index(const char *name);

/* The process-wide data, loaded on first use. Never NULL; check ->ok. */
const med_data_t *med_data(void);
/* MUSE_OK, or MUSE_EINTERNAL with the data error in err. */
int med_data_get(const med_data_t **out, muse_error_t *err);

/* Builds the two patterns from the units data (parse_text.c); 0 on success. */
int med_text_compile(med_data_t *d);

/* ---- helpers (kinds.c) ---- */
void med_interval_from_json(const cJSON *o, med_interval_t *iv);
int med_interval_contains(const med_interval_t *iv, double v);
/* "50-300", "at least 40", "under 5.7" into buf. */
void med_interval_describe(const med_interval_t *iv, char *buf, size_t cap);
/* Unit index for a spelling or UCUM code (case-insensitive), or -1. */
int med_unit_find(const med_kind_def_t *kd, const char *unit, size_t len);
/* Appends "; "-separated text to a fixed buffer, truncating safely. */
void med_note_append(char *note, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Formats a number the way people read it: no trailing zeros, at most
 * `decimals` places. */
void med_fmt_num(char *buf, size_t cap, double v, int decimals);
/* Decimal places to show for a kind's canonical values. */
int med_kind_decimals(med_kind_t k);

/* ---- time helpers (time.c) ---- */
int64_t med_days_from_civil(int y, int m, int d);
void med_civil_from_days(int64_t z, int *y, int *m, int *d);
/* 0 = Sunday .. 6 = Saturday. */
int med_weekday(int64_t days);
/* Parses ISO 8601 "2026-11-02", "2026-11-02T07:30", "...:00Z", "+01:00",
 * "2026-11-02 07:30". Fills the reading's time fields. 0 on success. */
int med_parse_iso_time(const char *s, med_reading_t *r);
/* Writes the reading's time as ISO 8601 (local clock with offset when the
 * zone is known, without a zone otherwise); "" when there is no date. */
void med_format_time(const med_reading_t *r, char *buf, size_t cap);
int med_valid_date(int y, int m, int d);

/* ---- classification (classify.c) ---- */
/* Compiles a ranges.json categories array; 0 on success, else fills err. */
int med_catset_compile(med_kind_t k, const med_kind_def_t *kd, const cJSON *cats, const cJSON *measure,
                       med_catset_t *out, char *err, size_t cap);
/* The category a plausible reading falls in, or NULL (implausible, no
 * range, or a value no category covers). *decided_by (may be NULL) receives
 * "systolic", "diastolic", "both" or "value". */
const med_cat_t *med_classify_fast(const med_reading_t *r, const char **decided_by);
/* The category set a reading is judged against. */
const med_catset_t *med_catset_for(const med_reading_t *r);

/* ---- statistics (stats.c) ---- */
/* Per-kind statistics of one series, computed on first use: the pattern
 * rules and the interpretation ask for the same kind several times. */
typedef struct med_stats_cache {
    const med_series_t *s;
    med_stats_t st[MED_KIND_COUNT];
    signed char state[MED_KIND_COUNT]; /* 0 not yet, 1 computed, -1 no readings */
} med_stats_cache_t;
/* The statistics of kind k, or NULL when the series has no plausible reading
 * of it (or memory ran out). Pointer valid for the life of the cache. */
const med_stats_t *med_stats_get(med_stats_cache_t *c, med_kind_t k);
int med_find_patterns_cached(med_stats_cache_t *c, med_patterns_t *out, muse_error_t *err);
/* Two-sided p-value of Student's t with df degrees of freedom. */
double med_t_pvalue(double t, double df);
/* The 97.5th percentile of Student's t with df degrees of freedom. */
double med_t_crit975(double df);

/* ---- growable arrays ---- */
int med_problem_add(med_problems_t *p, int line, const char *where, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Case-insensitive ASCII helpers. */
int med_strieq(const char *a, const char *b);
int med_strnieq(const char *a, const char *b, size_t n);
const char *med_stristr(const char *hay, size_t hay_len, const char *needle);

#endif
