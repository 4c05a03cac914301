/* medical: readings with units, guideline ranges, classification, trends,
 * calculators and entity/interaction data.
 *
 * Every range and threshold comes from the JSON files in medical/data/, each with its
 * source; C code here interprets the data and never retypes a threshold.
 * Values are held in one canonical UCUM unit per kind (mm[Hg], mg/dL, kg,
 * cm, Cel, %, /min, umol/L, mL/min/{1.73_m2}) and converted on the way in. */
#ifndef MUSE_MEDICAL_H
#define MUSE_MEDICAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "muse.h"
#include "kb/kb.h"

typedef enum med_kind {
    MED_BP = 0,          /* value = systolic, value2 = diastolic, mm[Hg] */
    MED_HEART_RATE,      /* /min */
    MED_TEMPERATURE,     /* Cel */
    MED_WEIGHT,          /* kg */
    MED_HEIGHT,          /* cm */
    MED_BMI,             /* kg/m2 */
    MED_GLUCOSE,         /* mg/dL */
    MED_A1C,             /* % */
    MED_CHOL_TOTAL,      /* mg/dL */
    MED_LDL,             /* mg/dL */
    MED_HDL,             /* mg/dL */
    MED_TRIGLYCERIDES,   /* mg/dL */
    MED_CREATININE,      /* mg/dL */
    MED_EGFR,            /* mL/min/{1.73_m2} */
    MED_SPO2,            /* % */
    MED_KIND_COUNT
} med_kind_t;

typedef struct med_reading {
    med_kind_t kind;
    double value;        /* canonical unit; systolic for MED_BP */
    double value2;       /* diastolic for MED_BP, else NAN */
    double pulse;        /* a pulse given with a BP ("150/95 p 72"), else NAN */
    int64_t time;        /* seconds since the epoch (UTC), or -1 when not given */
    int fasting;         /* glucose: 1 fasting, 0 not, -1 unknown */
    int implausible;     /* 1: never interpreted; note says why */
    int assumed_unit;    /* 1: the unit was not given and was assumed; note says which */
    char note[160];
    size_t start, end;   /* byte span in the source text, when parsed from text */
    int line;            /* source line in a file, or 0 */
    /* Added by the medical module (fields below are optional to fill;
     * med_reading_init() sets them all to "unknown"). */
    int tod_min;         /* local clock time, minutes after midnight, or -1 */
    int time_flags;      /* MED_TIME_* bits saying what the time is made of */
    int utc_offset_min;  /* local offset when MED_TIME_ZONE is set, else 0 */
    double value_in;     /* the value as given, before conversion (systolic for BP) */
    char unit_in[24];    /* the UCUM unit it was given (or assumed) in, "" if none */
} med_reading_t;

/* What a reading's time is made of. A time without a zone (free text, CSV
 * without an offset) is the person's wall clock, kept as if it were UTC so
 * that the hour of the day survives. */
enum {
    MED_TIME_DATE = 1,      /* a calendar date was given */
    MED_TIME_CLOCK = 2,     /* a clock time was given (tod_min is set) */
    MED_TIME_ZONE = 4,      /* the UTC offset was given */
    MED_TIME_INFERRED = 8,  /* the date was inferred (weekday only, or no year) */
    MED_TIME_APPROX = 16,   /* the clock time is approximate ("morning") */
};

typedef struct med_series {
    med_reading_t *v;
    size_t n;
} med_series_t;

/* Name of a kind ("bp", "glucose", ...), the key used in ranges.json and JSON output. */
const char *medical_kind_name(med_kind_t k);
/* Label for people ("Blood pressure"). */
const char *medical_kind_label(med_kind_t k);
/* Canonical UCUM unit of a kind ("mm[Hg]"). */
const char *medical_kind_unit(med_kind_t k);

/* Finds every measurement in free text ("150/95", "A1c 7.2", "Mon 8am 142/91").
 * *out is freed with med_series_free(). No measurement is MUSE_OK with n == 0. */
int medical_parse_text(const char *text, med_series_t *out, muse_error_t *err);
void med_series_free(med_series_t *s);

typedef struct med_class {
    char id[32];         /* category id from ranges.json ("stage2") */
    char label[64];      /* "Stage 2 hypertension" */
    int level;           /* 0 = least severe; higher is more severe */
    int max_level;       /* highest level this measure has */
    char source[256];    /* "American College of Cardiology / ... (2017)" */
    char url[256];
    /* Added by the medical module. */
    char decided_by[24]; /* component that set the category: "systolic", "diastolic", "both", "value" */
    char note[320];      /* caveat for people: the category's note, or how a glucose of
                            unknown fasting state was judged; "" when none */
} med_class_t;

/* Classifies one reading against its guideline range. MUSE_ENOTFOUND when
 * there is no range for the kind; MUSE_ERANGE for an implausible reading. */
int medical_classify(const med_reading_t *r, med_class_t *out, muse_error_t *err);

/* The parsed ranges data (medical/data/ranges.json), read-only, valid for the
 * life of the process: viz draws guideline bands from it. */
const cJSON *medical_ranges(void);

/* ------------------------------------------------------------------------
 * Everything below was added by the medical module on top of the contract
 * above. Unless a comment says otherwise, functions return MUSE_OK or a
 * negative MUSE_E* code and fill err (which may be NULL) on failure; every
 * *_free(NULL) is a no-op. All functions are safe to call from several
 * threads at once: the data files are parsed once (pthread_once) and never
 * changed afterwards.
 * ------------------------------------------------------------------------ */

/* ---- Kinds, units and single readings ---------------------------------- */

/* Looks a kind up by its name ("bp", "heart_rate") or a word people use for
 * it ("blood pressure", "sugar", "HbA1c"); case-insensitive. MUSE_OK and
 * *out, or MUSE_ENOTFOUND. */
int medical_kind_parse(const char *name, med_kind_t *out);

/* The canonical unit as people write it: "mmHg", "mg/dL", "°C", "bpm". */
const char *medical_kind_display_unit(med_kind_t k);

/* 2 for blood pressure, else 1. */
int medical_kind_components(med_kind_t k);
/* "systolic", "diastolic", or "value" for single-value kinds (the component
 * keys of ranges.json). Static string; NULL for a bad index. */
const char *medical_kind_component_name(med_kind_t k, int i);

/* Sets r to a reading of kind k with every optional field "unknown":
 * values NAN, time -1, tod_min -1, fasting -1, strings empty. */
void med_reading_init(med_reading_t *r, med_kind_t k);

/* Converts value, given in unit, to the canonical unit of kind k. unit may
 * be a UCUM code ("mmol/L", "[degF]", "[lb_av]") or what people type
 * ("mmol/l", "°F", "lbs"); NULL or "" means the canonical unit.
 * MUSE_EUNSUPPORTED for a unit the kind does not come in (the message lists
 * those it does). canonical_ucum, when not NULL, receives the UCUM code of
 * the unit recognised (static string). */
int medical_convert(med_kind_t k, double value, const char *unit, double *out,
                    const char **ucum, muse_error_t *err);

/* Fills r's value(s) from numbers as given: converts from unit, or, when
 * unit is NULL/"", assumes one from medical/data/units.json ("glucose 7" is
 * taken as mmol/L, with the assumption in r->note and r->assumed_unit = 1),
 * then checks plausibility. value2 is the diastolic for BP (same unit), else
 * ignored. Other fields of r are left as they are. */
int medical_reading_set(med_reading_t *r, med_kind_t k, double value, double value2,
                        const char *unit, muse_error_t *err);

/* Flags r implausible (r->implausible = 1, reason in r->note) when a value is
 * outside what a living person can show (units.json "plausible"), or a
 * diastolic is not below the systolic. Returns r->implausible. */
int medical_check_plausible(med_reading_t *r);

/* Parses an ISO 8601 date or date-time ("2026-11-02", "2026-11-02T07:30",
 * "2026-11-02 07:30:00+01:00"; also 11/02/2026, read as month/day unless
 * the first number cannot be a month) into seconds since the epoch. A time
 * without a zone is taken as UTC. MUSE_EPARSE when it is not one. */
int medical_parse_datetime(const char *s, int64_t *out, muse_error_t *err);

/* Appends a copy of *r; the array grows geometrically. Only for a series
 * that is empty or was built by this function (its capacity is implied by
 * n). MUSE_ENOMEM. */
int med_series_push(med_series_t *s, const med_reading_t *r);

/* ---- Free text --------------------------------------------------------- */

typedef struct med_parse_opts {
    /* Reference time for dates given without a year ("Nov 2"), weekdays
     * ("Mon 8am") and "today"/"yesterday": seconds since the epoch, taken as
     * the person's wall clock. 0: the current time. */
    int64_t now;
} med_parse_opts_t;

/* medical_parse_text() with options (o may be NULL). Text over 64 MiB is
 * MUSE_ELIMIT. Invalid UTF-8 is skipped, not an error. */
int medical_parse_text_opts(const char *text, const med_parse_opts_t *o, med_series_t *out,
                            muse_error_t *err);

/* ---- Files: CSV, JSON and FHIR R4 (docs/medical.md) --------------------- */

typedef struct med_problem {
    int line;            /* 1-based line in the file, or 0 when not known */
    char where[192];     /* "readings.csv:14", "obs.json: entry[3].resource.valueQuantity.value" */
    char message[320];   /* what was wrong, and what was expected */
} med_problem_t;

#define MED_PROBLEMS_MAX 1000

typedef struct med_problems {
    med_problem_t *v;
    size_t n;
    size_t dropped;      /* problems past MED_PROBLEMS_MAX: counted, not kept */
} med_problems_t;

void med_problems_free(med_problems_t *p);

typedef enum med_format {
    MED_FORMAT_AUTO = 0, /* from the name's extension, then the content */
    MED_FORMAT_CSV,
    MED_FORMAT_JSON,     /* {"readings": [...]} or [...] (docs/medical.md) */
    MED_FORMAT_FHIR,     /* FHIR R4 Bundle or single Observation */
    MED_FORMAT_TEXT,     /* free text, as medical_parse_text() */
} med_format_t;

const char *medical_format_name(med_format_t f);
/* "auto", "csv", "json", "fhir" or "text" (case-insensitive); NULL is
 * "auto". MUSE_EINVAL for anything else. */
int medical_format_parse(const char *name, med_format_t *out);

/* Reads readings from a file. Rows or entries that are wrong are listed in
 * *problems (file:line or JSON path, what was expected) and skipped; the
 * good ones are still read. MUSE_OK when the file could be read, even with
 * problems; MUSE_EIO / MUSE_ENOTFOUND when it cannot be opened; MUSE_ELIMIT
 * over 64 MiB; MUSE_EPARSE when nothing in it could be read (err names the
 * first problem). *out is freed with med_series_free(), *problems with
 * med_problems_free() — both also on failure. problems may be NULL. */
int medical_read_file(const char *path, med_series_t *out, med_problems_t *problems,
                      muse_error_t *err);

/* medical_read_file() with text-parsing options (the reference date for a
 * .txt file's "Mon 8am"); o may be NULL. */
int medical_read_file_opts(const char *path, const med_parse_opts_t *o, med_series_t *out,
                           med_problems_t *problems, muse_error_t *err);

/* The same from memory (an HTTP upload). name is used in messages and, with
 * MED_FORMAT_AUTO, for the extension; it may be NULL ("input"). data need
 * not be NUL-terminated. */
int medical_read_buffer(const char *data, size_t len, med_format_t fmt, const char *name,
                        med_series_t *out, med_problems_t *problems, muse_error_t *err);
int medical_read_buffer_opts(const char *data, size_t len, med_format_t fmt, const char *name,
                             const med_parse_opts_t *o, med_series_t *out, med_problems_t *problems,
                             muse_error_t *err);

/* ---- Series statistics, trend and patterns ----------------------------- */

#define MED_MAX_CATEGORIES 8

typedef struct med_trend {
    int valid;           /* 0: fewer than 3 readings, or all at one time */
    int by_time;         /* 1: slope per week from the times; 0: per reading, in order */
    double slope;        /* canonical unit per week (by_time) or per reading */
    double ci_low;       /* 95% confidence interval of slope */
    double ci_high;
    double p_value;      /* two-sided test of slope != 0 */
    double r2;
    int direction;       /* +1 rising, -1 falling, 0 no clear change */
    const char *confidence; /* "high", "moderate" or "low" (static string) */
} med_trend_t;

typedef struct med_component_stats {
    size_t n;
    double mean, sd, min, max;   /* sd is the sample SD (n - 1); NAN when n < 2 */
    med_trend_t trend;
    size_t n_morning, n_evening; /* readings with a clock time in each window */
    double morning_mean;         /* NAN when none */
    double evening_mean;
} med_component_stats_t;

typedef struct med_category_share {
    char id[32];
    char label[64];
    int level;
    size_t count;
    double share;        /* count / classified readings, 0..1 */
} med_category_share_t;

typedef struct med_stats {
    med_kind_t kind;
    size_t n;            /* plausible readings used */
    size_t n_implausible;/* readings of the kind left out as implausible */
    int64_t first, last; /* earliest and latest time, -1 when none has a date */
    double span_days;    /* last - first in days, 0 when not known */
    int n_components;
    med_component_stats_t c[2];
    int n_categories;    /* every category of the measure, in ranges.json order */
    med_category_share_t categories[MED_MAX_CATEGORIES];
} med_stats_t;

/* Statistics of the readings of kind k in s. Readings with times are taken in
 * time order. MUSE_ENOTFOUND when s holds no plausible reading of kind k. */
int medical_series_stats(const med_series_t *s, med_kind_t k, med_stats_t *out,
                         muse_error_t *err);

typedef struct med_pattern {
    char id[32];         /* "sustained_stage2", "crisis", "rising", "falling",
                            "high_variability", "a1c_glucose_mismatch" */
    med_kind_t kind;
    char severity[12];   /* "info", "warning" or "urgent" */
    char explanation[640]; /* plain language, for the person */
    char basis[320];     /* where the rule comes from */
} med_pattern_t;

typedef struct med_patterns {
    med_pattern_t *v;
    size_t n;
} med_patterns_t;

/* Pattern flags over a whole series (rules in medical/data/patterns.json).
 * *out is freed with med_patterns_free(). */
int medical_find_patterns(const med_series_t *s, med_patterns_t *out, muse_error_t *err);
void med_patterns_free(med_patterns_t *p);

/* ---- Interpretation (docs/medical.md#interpret) ------------------------- */

typedef struct med_interpret_opts {
    const med_problems_t *problems; /* listed under "problems"; NULL: none */
    const char *source;             /* file name or "text", shown in output; NULL: omitted */
    kb_t *kb;                       /* with text: entities and interactions; NULL: none */
    const char *text;               /* the person's words, for entities; NULL: none */
    int summary_only;               /* leave out "readings" (series, patterns and the
                                       rest stay): for large files */
} med_interpret_opts_t;

/* One reading as JSON ({"kind","label","value",...,"category","source"}),
 * the element of the "readings" array and of the engine's measurements[].
 * Caller frees with cJSON_Delete(); NULL only when out of memory. Strings
 * that come from the data files (labels, sources, ranges) and all keys are
 * cJSON references to read-only process-lifetime memory (no copies, for
 * speed): cJSON_Delete, cJSON_Print and cJSON_Duplicate handle them; do
 * not change them in place with cJSON_SetValuestring (it refuses). The
 * same holds for medical_interpret_json(). */
cJSON *medical_reading_json(const med_reading_t *r);

/* The whole interpretation: readings, per-kind series statistics, patterns,
 * problems, entities and interactions. o may be NULL. *out is freed by the
 * caller with cJSON_Delete(). */
int medical_interpret_json(const med_series_t *s, const med_interpret_opts_t *o, cJSON **out,
                           muse_error_t *err);

/* The interpretation above as plain-language text for a patient. *out is
 * freed by the caller with free(). */
int medical_interpret_text(const cJSON *interp, char **out, muse_error_t *err);

/* ---- Calculators (medical/data/calculators.json) ----------------------- */

typedef struct med_calc_arg {
    const char *name;    /* parameter name, "age", "creatinine" */
    const char *value;   /* "55", "0.9", "80umol/L", "female", "yes" */
} med_calc_arg_t;

typedef struct med_calc_result {
    char name[32];       /* "egfr" */
    char label[64];      /* "eGFR (CKD-EPI 2021)" */
    double value;
    int decimals;        /* how many decimals to show */
    char unit[32];       /* UCUM */
    char category_id[32];/* "" when the result has no category */
    char category[96];
    char source[320];    /* "Inker LA et al. N Engl J Med 2021;385:1737-49" */
    char url[256];
    char note[320];      /* a caveat for people, or "" */
} med_calc_result_t;

/* Runs calculator name ("bmi", "egfr", "eag", "ascvd", "bmr") on args.
 * Unknown name: MUSE_ENOTFOUND; a missing, unknown or unreadable parameter:
 * MUSE_EINVAL; a value outside the range the equation was derived on
 * (age 20 for the PCE, valid 40-79): MUSE_ERANGE with the valid range. */
int medical_calc(const char *name, const med_calc_arg_t *args, size_t n, med_calc_result_t *out,
                 muse_error_t *err);

/* {"name","label","value","unit","category","category_id","source","url","note"};
 * caller frees with cJSON_Delete(). */
cJSON *medical_calc_result_json(const med_calc_result_t *r);

/* The calculator definitions (calculators.json "calculators"): names,
 * parameters with units and valid ranges, sources. Read-only, valid for the
 * life of the process. */
const cJSON *medical_calculators(void);

/* ---- Entities and interactions ----------------------------------------- */

typedef struct med_entity {
    char *id;            /* knowledge-store entry id */
    char *kind;          /* "condition", "symptom", "medication", ... */
    char *alias;         /* the alias matched, as written in the store */
    size_t start, end;   /* byte span in the text */
    int negated;         /* "no chest pain", "denies fever" */
    int hypothetical;    /* "what if I had diabetes" */
} med_entity_t;

typedef struct med_entities {
    med_entity_t *v;
    size_t n;
} med_entities_t;

/* Conditions, symptoms, medicines (and other entries) named in text, through
 * the store's aliases (kb_find_mentions), each marked negated or
 * hypothetical from the words around it (medical/data/context.json).
 * *out is freed with med_entities_free(). */
int medical_extract_entities(kb_t *kb, const char *text, med_entities_t *out, muse_error_t *err);
void med_entities_free(med_entities_t *e);

/* The negation and hypothetical cues for one span of text, without a store:
 * sets *negated and *hypothetical (either may be NULL). */
void medical_mention_context(const char *text, size_t start, size_t end, int *negated,
                             int *hypothetical);

typedef struct med_interaction {
    const char *id;       /* these strings are borrowed from the interaction */
    const char *type;     /* data: valid for the life of the process. */
    const char *severity; /* "contraindicated", "major", "moderate", "minor" */
    const char *summary;  /* what can happen, in plain words */
    const char *advice;   /* what to do */
    const char *source_publisher;
    const char *source_title;
    const char *source_url;
    char a[64];           /* the input id (or reading) that matched each side */
    char b[96];
} med_interaction_t;

typedef struct med_interactions {
    med_interaction_t *v;
    size_t n;
} med_interactions_t;

/* Interactions among the knowledge-store ids (medicines, drug classes,
 * conditions) in ids[0..n), and between medicines there and readings
 * (metformin with an eGFR under 30) when readings is not NULL. Most severe
 * first. *out is freed with med_interactions_free(). */
int medical_interactions_find(const char *const *ids, size_t n, const med_series_t *readings,
                              med_interactions_t *out, muse_error_t *err);
void med_interactions_free(med_interactions_t *x);

/* [{"id","type","severity","between":[a,b],"summary","advice","source":{}}];
 * caller frees with cJSON_Delete(). */
cJSON *medical_interactions_json(const med_interactions_t *x);

/* The interaction data (interactions.json), read-only, for the life of the process. */
const cJSON *medical_interactions_data(void);

#endif
