/* Readings files: CSV, JSON and FHIR R4 (docs/medical.md#files).
 *
 * A clinic's export is rarely perfect, so a bad row never sinks a file: each
 * row or entry that cannot be read is recorded as a problem naming where it
 * is (file:line for CSV, the JSON path for JSON and FHIR) and what was
 * expected, and the rest are still read. Only a file that cannot be read at
 * all (not JSON, no usable CSV header, nothing readable) fails.
 *
 * Every value goes through medical_reading_set(), so units are converted,
 * a missing unit is assumed only with the assumption stated, and implausible
 * values are kept but flagged, exactly as for text. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "medical/medical_internal.h"

#define FILE_MAX ((size_t)64 << 20)
#define CSV_MAX_COLS 64

const char *medical_format_name(med_format_t f)
{
    switch (f) {
    case MED_FORMAT_CSV:
        return "csv";
    case MED_FORMAT_JSON:
        return "json";
    case MED_FORMAT_FHIR:
        return "fhir";
    case MED_FORMAT_TEXT:
        return "text";
    default:
        return "auto";
    }
}

int medical_format_parse(const char *name, med_format_t *out)
{
    static const med_format_t all[] = {MED_FORMAT_AUTO, MED_FORMAT_CSV, MED_FORMAT_JSON, MED_FORMAT_FHIR,
                                       MED_FORMAT_TEXT};
    if (!name) {
        *out = MED_FORMAT_AUTO;
        return MUSE_OK;
    }
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (med_strieq(name, medical_format_name(all[i]))) {
            *out = all[i];
            return MUSE_OK;
        }
    return MUSE_EINVAL;
}

/* ---- shared helpers ---------------------------------------------------- */

/* Reads a number the way a spreadsheet writes it; "" and junk fail. */
static int read_number(const char *s, size_t n, double *out)
{
    char buf[64];
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *c = strchr(buf, ',');
    if (c && !strchr(c + 1, ',') && !strchr(buf, '.'))
        *c = '.'; /* a decimal comma, as European exports write */
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || errno == ERANGE || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

/* "12O" -> "120": what a person probably meant, or "" when nothing fits. */
static void did_you_mean(const char *s, size_t n, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    int changed = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        char c = s[i];
        if (c == 'O' || c == 'o') {
            c = '0';
            changed = 1;
        } else if (c == 'l' || c == 'I') {
            c = '1';
            changed = 1;
        } else if (c == ' ') {
            changed = 1;
            continue;
        }
        buf[k++] = c;
    }
    buf[k] = '\0';
    double v;
    if (!changed || !read_number(buf, k, &v))
        buf[0] = '\0';
}

static void quote_field(const char *s, size_t n, char *buf, size_t cap)
{
    if (n > 40)
        snprintf(buf, cap, "\"%.37s...\"", s);
    else
        snprintf(buf, cap, "\"%.*s\"", (int)n, s);
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
}

static int parse_fasting(const char *s, size_t n, int *out)
{
    static const char *const yes[] = {"1", "yes", "y", "true", "fasting", "fasted"};
    static const char *const no[] = {"0", "no", "n", "false", "random", "non-fasting", "nonfasting",
                                     "after meal", "postprandial"};
    char buf[32];
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0) {
        *out = -1;
        return 1;
    }
    if (n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (med_strieq(buf, yes[i])) {
            *out = 1;
            return 1;
        }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (med_strieq(buf, no[i])) {
            *out = 0;
            return 1;
        }
    return 0;
}

/* ---- CSV --------------------------------------------------------------- */

typedef struct field {
    const char *s;
    size_t n;
} field_t;

typedef struct csv {
    const char *p, *end;
    char delim;
    int line;             /* line of the next record */
    char *scratch;        /* unquoted field text */
    size_t scap;
} csv_t;

/* Reads one record (RFC 4180: quoted fields may hold delimiters, doubled
 * quotes and line breaks). Returns the number of fields, 0 at the end, -1
 * when out of memory; *line receives the record's first line. */
static int csv_record(csv_t *c, field_t *f, int max, int *line, int *bad_quote)
{
    if (c->p >= c->end)
        return 0;
    *line = c->line;
    *bad_quote = 0;
    size_t need = (size_t)(c->end - c->p) + 1;
    size_t rec_len = 0;
    /* Scratch needs at most the rest of the record: grow to the rest of the
     * file once, lazily. */
    if (c->scap < need) {
        size_t cap = need < 4096 ? 4096 : need;
        char *s = realloc(c->scratch, cap);
        if (!s)
            return -1;
        c->scratch = s;
        c->scap = cap;
    }
    char *out = c->scratch;
    int nf = 0;
    for (;;) {
        char *start = out;
        int quoted = 0;
        if (c->p < c->end && *c->p == '"') {
            quoted = 1;
            c->p++;
            for (;;) {
                if (c->p >= c->end) {
                    *bad_quote = 1;
                    break;
                }
                if (*c->p == '"') {
                    if (c->p + 1 < c->end && c->p[1] == '"') {
                        *out++ = '"';
                        c->p += 2;
                        continue;
                    }
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                *out++ = *c->p++;
            }
        }
        while (c->p < c->end && *c->p != c->delim && *c->p != '\n') {
            if (*c->p != '\r' && !(quoted && isspace((unsigned char)*c->p)))
                *out++ = *c->p;
            c->p++;
        }
        if (nf < max) {
            f[nf].s = start;
            f[nf].n = (size_t)(out - start);
        }
        nf++;
        rec_len += (size_t)(out - start);
        if (c->p >= c->end) {
            break;
        }
        if (*c->p == '\n') {
            c->p++;
            c->line++;
            break;
        }
        c->p++; /* delimiter */
    }
    (void)rec_len;
    return nf;
}

typedef enum col_role {
    COL_IGNORE = 0,
    COL_TIME,       /* full date-time */
    COL_DATE,
    COL_CLOCK,
    COL_KIND,
    COL_VALUE,
    COL_VALUE2,
    COL_UNIT,
    COL_SYSTOLIC,
    COL_DIASTOLIC,
    COL_PULSE,
    COL_FASTING,
    COL_MEASURE,    /* a column named after a kind: wide format */
    COL_QUIET,      /* known not to be a reading: notes, ids */
} col_role_t;

typedef struct col {
    col_role_t role;
    med_kind_t kind;      /* COL_MEASURE */
    char unit[24];        /* from the header: "glucose (mmol/L)" */
} col_t;

static int name_is(const char *s, size_t n, const char *const *names)
{
    for (; *names; names++)
        if (strlen(*names) == n && med_strnieq(s, *names, n))
            return 1;
    return 0;
}

static void classify_column(const char *s, size_t n, col_t *c)
{
    static const char *const time_names[] = {"time", "datetime", "date_time", "date/time", "timestamp",
                                             "measured_at", "effective", "when", NULL};
    static const char *const date_names[] = {"date", "day", NULL};
    static const char *const clock_names[] = {"clock", "time_of_day", "hour", NULL};
    static const char *const kind_names[] = {"kind", "type", "measure", "measurement", "test", "code", NULL};
    static const char *const value_names[] = {"value", "result", "reading", NULL};
    static const char *const value2_names[] = {"value2", NULL};
    static const char *const unit_names[] = {"unit", "units", "uom", NULL};
    static const char *const sys_names[] = {"systolic", "sys", "sbp", "systolic_bp", NULL};
    static const char *const dia_names[] = {"diastolic", "dia", "dbp", "diastolic_bp", NULL};
    static const char *const pulse_names[] = {"pulse", "pul", "heart_rate", "hr", "bpm", NULL};
    static const char *const fasting_names[] = {"fasting", "fasted", NULL};
    /* Columns exports carry that are not readings; ignored without a word. */
    static const char *const quiet_names[] = {"note", "notes", "comment", "comments", "id", "patient",
                                              "patient_id", "source", "device", "user", "tag", NULL};
    memset(c, 0, sizeof *c);
    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    /* A unit in brackets: "glucose (mmol/L)", "weight[lb]". */
    const char *br = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '(' || s[i] == '[') {
            br = s + i;
            break;
        }
    size_t nn = br ? (size_t)(br - s) : n;
    if (br) {
        const char *e = s + n;
        while (e > br && (e[-1] == ')' || e[-1] == ']' || isspace((unsigned char)e[-1])))
            e--;
        snprintf(c->unit, sizeof c->unit, "%.*s", (int)(e - br - 1), br + 1);
    }
    while (nn > 0 && isspace((unsigned char)s[nn - 1]))
        nn--;
    char name[64];
    if (nn >= sizeof name)
        return;
    for (size_t i = 0; i < nn; i++)
        name[i] = (s[i] == ' ' || s[i] == '-') ? '_' : s[i];
    name[nn] = '\0';
    if (name_is(name, nn, time_names))
        c->role = COL_TIME;
    else if (name_is(name, nn, date_names))
        c->role = COL_DATE;
    else if (name_is(name, nn, clock_names))
        c->role = COL_CLOCK;
    else if (name_is(name, nn, kind_names))
        c->role = COL_KIND;
    else if (name_is(name, nn, value_names))
        c->role = COL_VALUE;
    else if (name_is(name, nn, value2_names))
        c->role = COL_VALUE2;
    else if (name_is(name, nn, unit_names))
        c->role = COL_UNIT;
    else if (name_is(name, nn, sys_names))
        c->role = COL_SYSTOLIC;
    else if (name_is(name, nn, dia_names))
        c->role = COL_DIASTOLIC;
    else if (name_is(name, nn, pulse_names))
        c->role = COL_PULSE;
    else if (name_is(name, nn, fasting_names))
        c->role = COL_FASTING;
    else if (name_is(name, nn, quiet_names))
        c->role = COL_QUIET;
    else {
        for (size_t i = 0; i < nn; i++)
            if (name[i] == '_')
                name[i] = ' ';
        med_kind_t k;
        if (medical_kind_parse(name, &k) == MUSE_OK) {
            c->role = COL_MEASURE;
            c->kind = k;
        } else {
            /* "heart rate" and friends written with underscores */
            for (size_t i = 0; i < nn; i++)
                if (name[i] == ' ')
                    name[i] = '_';
            if (medical_kind_parse(name, &k) == MUSE_OK) {
                c->role = COL_MEASURE;
                c->kind = k;
            }
        }
    }
}

typedef struct row_ctx {
    const char *file;
    int line;
    med_problems_t *problems;
    char where[192];
} row_ctx_t;

static int row_time(row_ctx_t *rc, const field_t *f, const col_t *cols, int nf, int ncols,
                    med_reading_t *tmpl)
{
    /* A date column, then a time column, then a clock column, in that order
     * whatever the column order: "2026-11-02" + "07:30". */
    static const col_role_t order[] = {COL_DATE, COL_TIME, COL_CLOCK};
    char buf[96] = "";
    int have = 0;
    for (size_t o = 0; o < sizeof order / sizeof *order; o++)
        for (int i = 0; i < nf && i < ncols; i++) {
            if (cols[i].role != order[o] || f[i].n == 0)
                continue;
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, "%s%.*s", l ? " " : "", (int)f[i].n, f[i].s);
            have = 1;
        }
    if (!have)
        return 0;
    if (med_parse_iso_time(buf, tmpl) != 0) {
        char q[64];
        quote_field(buf, strlen(buf), q, sizeof q);
        med_problem_add(rc->problems, rc->line, rc->where,
                        "time %s is not a date-time (expected ISO 8601 such as 2026-11-02T07:30 "
                        "or 2026-11-02 07:30+01:00)", q);
        return -1;
    }
    return 0;
}

static int field_number(row_ctx_t *rc, const field_t *f, const char *col, double *out)
{
    if (read_number(f->s, f->n, out))
        return 1;
    char q[64], dym[48];
    quote_field(f->s, f->n, q, sizeof q);
    did_you_mean(f->s, f->n, dym, sizeof dym);
    if (dym[0])
        med_problem_add(rc->problems, rc->line, rc->where,
                        "column %s: %s is not a number (did you mean %s?)", col, q, dym);
    else
        med_problem_add(rc->problems, rc->line, rc->where, "column %s: %s is not a number", col, q);
    return 0;
}

/* "150/95" in a value column. */
static int split_bp(const field_t *f, double *a, double *b)
{
    const char *sl = memchr(f->s, '/', f->n);
    if (!sl)
        return 0;
    return read_number(f->s, (size_t)(sl - f->s), a) &&
           read_number(sl + 1, f->n - (size_t)(sl + 1 - f->s), b);
}

static int add_reading(row_ctx_t *rc, med_series_t *out, med_reading_t *r, med_kind_t k, double v,
                       double v2, const char *unit)
{
    muse_error_t e = {0};
    int rc2 = medical_reading_set(r, k, v, v2, unit, &e);
    if (rc2 == MUSE_EUNSUPPORTED) {
        med_problem_add(rc->problems, rc->line, rc->where, "%s", e.message);
        return 0;
    }
    if (rc2 != MUSE_OK)
        return rc2;
    r->line = rc->line;
    return med_series_push(out, r);
}

static int csv_long_row(row_ctx_t *rc, const field_t *f, const col_t *cols, int nf, int ncols,
                        const med_reading_t *tmpl, med_series_t *out)
{
    const field_t *kind = NULL, *val = NULL, *val2 = NULL, *unit = NULL, *pulse = NULL, *fast = NULL;
    for (int i = 0; i < nf && i < ncols; i++) {
        switch (cols[i].role) {
        case COL_KIND: kind = &f[i]; break;
        case COL_VALUE: val = &f[i]; break;
        case COL_VALUE2: case COL_DIASTOLIC: val2 = &f[i]; break;
        case COL_UNIT: unit = &f[i]; break;
        case COL_PULSE: pulse = &f[i]; break;
        case COL_FASTING: fast = &f[i]; break;
        default: break;
        }
    }
    if (!kind || kind->n == 0) {
        med_problem_add(rc->problems, rc->line, rc->where,
                        "column kind is empty (expected bp, glucose, a1c, ... see docs/medical.md)");
        return 0;
    }
    char kname[48];
    snprintf(kname, sizeof kname, "%.*s", (int)(kind->n < 47 ? kind->n : 47), kind->s);
    med_kind_t k;
    if (medical_kind_parse(kname, &k) != MUSE_OK) {
        char q[64];
        quote_field(kind->s, kind->n, q, sizeof q);
        med_problem_add(rc->problems, rc->line, rc->where,
                        "column kind: %s is not a measurement this reads (expected bp, heart_rate, "
                        "temperature, weight, height, bmi, glucose, a1c, chol_total, ldl, hdl, "
                        "triglycerides, creatinine, egfr or spo2)", q);
        return 0;
    }
    if (!val || val->n == 0) {
        med_problem_add(rc->problems, rc->line, rc->where, "column value is empty");
        return 0;
    }
    double v, v2 = NAN;
    if (k == MED_BP && split_bp(val, &v, &v2)) {
        /* 150/95 in one column */
    } else {
        if (!field_number(rc, val, "value", &v))
            return 0;
        if (k == MED_BP) {
            if (!val2 || val2->n == 0) {
                med_problem_add(rc->problems, rc->line, rc->where,
                                "blood pressure needs a diastolic: write 150/95 in value, or fill value2");
                return 0;
            }
            if (!field_number(rc, val2, "value2", &v2))
                return 0;
        }
    }
    med_reading_t r = *tmpl;
    r.kind = k;
    if (pulse && pulse->n && k == MED_BP) {
        double p;
        if (!field_number(rc, pulse, "pulse", &p))
            return 0;
        r.pulse = p;
    }
    if (fast && !parse_fasting(fast->s, fast->n, &r.fasting)) {
        char q[64];
        quote_field(fast->s, fast->n, q, sizeof q);
        med_problem_add(rc->problems, rc->line, rc->where,
                        "column fasting: %s is not yes/no/true/false/1/0", q);
        return 0;
    }
    char ubuf[32] = "";
    if (unit && unit->n)
        snprintf(ubuf, sizeof ubuf, "%.*s", (int)(unit->n < 31 ? unit->n : 31), unit->s);
    return add_reading(rc, out, &r, k, v, v2, ubuf);
}

static int csv_wide_row(row_ctx_t *rc, const field_t *f, const col_t *cols, int nf, int ncols,
                        const med_reading_t *tmpl, med_series_t *out)
{
    const field_t *sys = NULL, *dia = NULL, *pulse = NULL, *fast = NULL;
    int fasting = -1, rc2;
    for (int i = 0; i < nf && i < ncols; i++) {
        if (cols[i].role == COL_SYSTOLIC)
            sys = &f[i];
        else if (cols[i].role == COL_DIASTOLIC)
            dia = &f[i];
        else if (cols[i].role == COL_PULSE)
            pulse = &f[i];
        else if (cols[i].role == COL_FASTING)
            fast = &f[i];
    }
    if (fast && !parse_fasting(fast->s, fast->n, &fasting)) {
        char q[64];
        quote_field(fast->s, fast->n, q, sizeof q);
        med_problem_add(rc->problems, rc->line, rc->where,
                        "column fasting: %s is not yes/no/true/false/1/0", q);
        fasting = -1;
    }
    double p = NAN;
    if (pulse && pulse->n && !field_number(rc, pulse, "pulse", &p))
        pulse = NULL;
    if ((sys && sys->n) || (dia && dia->n)) {
        double a, b;
        if (!sys || !sys->n || !dia || !dia->n)
            med_problem_add(rc->problems, rc->line, rc->where,
                            "blood pressure needs both systolic and diastolic");
        else if (field_number(rc, sys, "systolic", &a) && field_number(rc, dia, "diastolic", &b)) {
            med_reading_t r = *tmpl;
            r.pulse = p;
            if ((rc2 = add_reading(rc, out, &r, MED_BP, a, b, "mm[Hg]")) != MUSE_OK)
                return rc2;
        }
    } else if (!isnan(p)) {
        med_reading_t r = *tmpl;
        if ((rc2 = add_reading(rc, out, &r, MED_HEART_RATE, p, NAN, NULL)) != MUSE_OK)
            return rc2;
    }
    for (int i = 0; i < nf && i < ncols; i++) {
        if (cols[i].role != COL_MEASURE || f[i].n == 0)
            continue;
        double v, v2 = NAN;
        med_reading_t r = *tmpl;
        if (cols[i].kind == MED_BP) {
            if (!split_bp(&f[i], &v, &v2)) {
                char q[64];
                quote_field(f[i].s, f[i].n, q, sizeof q);
                med_problem_add(rc->problems, rc->line, rc->where,
                                "column %s: %s is not a blood pressure such as 150/95",
                                medical_kind_name(cols[i].kind), q);
                continue;
            }
            r.pulse = p;
        } else if (!field_number(rc, &f[i], medical_kind_name(cols[i].kind), &v)) {
            continue;
        }
        if (cols[i].kind == MED_GLUCOSE)
            r.fasting = fasting;
        if ((rc2 = add_reading(rc, out, &r, cols[i].kind, v, v2, cols[i].unit)) != MUSE_OK)
            return rc2;
    }
    return MUSE_OK;
}

static char detect_delim(const char *p, const char *end)
{
    int n[3] = {0, 0, 0};
    const char d[3] = {',', ';', '\t'};
    int q = 0;
    for (; p < end && (*p != '\n' || q); p++) {
        if (*p == '"')
            q = !q;
        for (int i = 0; i < 3 && !q; i++)
            n[i] += *p == d[i];
    }
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (n[i] > n[best])
            best = i;
    return d[best];
}

static int read_csv(const char *data, size_t len, const char *name, med_series_t *out,
                    med_problems_t *problems, muse_error_t *err)
{
    csv_t c = {.p = data, .end = data + len, .line = 1};
    field_t f[CSV_MAX_COLS];
    col_t cols[CSV_MAX_COLS];
    int ncols = 0, line, bad_quote, nf, rc = MUSE_OK;
    row_ctx_t rcx = {.file = name, .problems = problems};

    if (len >= 3 && memcmp(c.p, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    /* Header: the first line that is neither blank nor a # comment. */
    for (;;) {
        while (c.p < c.end && (*c.p == '\n' || *c.p == '\r' || *c.p == '#')) {
            if (*c.p == '#')
                while (c.p < c.end && *c.p != '\n')
                    c.p++;
            if (c.p < c.end && *c.p == '\n')
                c.line++;
            c.p++;
        }
        break;
    }
    c.delim = detect_delim(c.p, c.end);
    nf = csv_record(&c, f, CSV_MAX_COLS, &line, &bad_quote);
    if (nf < 0) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory reading %s", name);
        goto done;
    }
    if (nf == 0) {
        rc = MUSE_OK; /* an empty file holds no readings */
        goto done;
    }
    if (nf > CSV_MAX_COLS) {
        rc = muse_err(err, MUSE_EPARSE, "%s:%d: %d columns; at most %d are read", name, line, nf,
                      CSV_MAX_COLS);
        goto done;
    }
    ncols = nf;
    int has_kind = 0, has_value = 0, has_wide = 0;
    for (int i = 0; i < ncols; i++) {
        classify_column(f[i].s, f[i].n, &cols[i]);
        has_kind |= cols[i].role == COL_KIND;
        has_value |= cols[i].role == COL_VALUE;
        has_wide |= cols[i].role == COL_SYSTOLIC || cols[i].role == COL_DIASTOLIC ||
                    cols[i].role == COL_MEASURE || cols[i].role == COL_PULSE;
        if (cols[i].role == COL_IGNORE && f[i].n) {
            char q[64], where[192];
            quote_field(f[i].s, f[i].n, q, sizeof q);
            snprintf(where, sizeof where, "%s:%d", name, line);
            med_problem_add(problems, line, where, "column %d %s is not a readings column; ignored",
                            i + 1, q);
        }
        if (cols[i].role == COL_MEASURE && cols[i].unit[0]) {
            const med_data_t *d = med_data();
            if (med_unit_find(&d->kinds[cols[i].kind], cols[i].unit, strlen(cols[i].unit)) < 0) {
                rc = muse_err(err, MUSE_EPARSE, "%s:%d: column %d: unit \"%s\" is not a unit of %s",
                              name, line, i + 1, cols[i].unit, medical_kind_name(cols[i].kind));
                goto done;
            }
        }
    }
    int long_form = has_kind && has_value;
    if (!long_form && !has_wide) {
        rc = muse_err(err, MUSE_EPARSE,
                      "%s:%d: no readings columns in the header (expected kind,value,unit[,time] or "
                      "time,systolic,diastolic[,pulse] or a column per measure such as glucose; "
                      "see docs/medical.md#csv)", name, line);
        goto done;
    }

    while ((nf = csv_record(&c, f, CSV_MAX_COLS, &line, &bad_quote)) != 0) {
        if (nf < 0) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory reading %s", name);
            goto done;
        }
        rcx.line = line;
        snprintf(rcx.where, sizeof rcx.where, "%s:%d", name, line);
        int blank = 1;
        for (int i = 0; i < nf && i < CSV_MAX_COLS && blank; i++)
            for (size_t k = 0; k < f[i].n; k++)
                if (!isspace((unsigned char)f[i].s[k])) {
                    blank = 0;
                    break;
                }
        if (blank || (f[0].n > 0 && f[0].s[0] == '#'))
            continue;
        if (bad_quote) {
            med_problem_add(problems, line, rcx.where, "a quoted field is not closed (missing \")");
            continue;
        }
        if (nf > ncols) {
            med_problem_add(problems, line, rcx.where,
                            "%d fields, but the header has %d columns (a delimiter inside an unquoted field?)",
                            nf, ncols);
            continue;
        }
        med_reading_t tmpl;
        med_reading_init(&tmpl, MED_BP);
        if (row_time(&rcx, f, cols, nf, ncols, &tmpl) != 0)
            continue;
        rc = long_form ? csv_long_row(&rcx, f, cols, nf, ncols, &tmpl, out)
                       : csv_wide_row(&rcx, f, cols, nf, ncols, &tmpl, out);
        if (rc != MUSE_OK) {
            muse_err(err, rc, "out of memory reading %s", name);
            goto done;
        }
    }
done:
    free(c.scratch);
    return rc;
}

/* ---- JSON -------------------------------------------------------------- */

static void json_error_position(const char *data, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = data; p < at; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static cJSON *parse_json(const char *data, size_t len, const char *name, muse_error_t *err)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!j) {
        int line, col;
        const char *at = end ? end : cJSON_GetErrorPtr();
        if (!at || at < data || at > data + len)
            at = data;
        json_error_position(data, at, &line, &col);
        char near[24];
        size_t k = 0;
        for (const char *p = at; p < data + len && k < 16 && *p != '\n'; p++)
            near[k++] = *p;
        near[k] = '\0';
        muse_err(err, MUSE_EPARSE, "%s:%d:%d: not valid JSON near \"%s\"", name, line, col, near);
    }
    return j;
}

static int json_number(const cJSON *o, const char *key, const char *path, med_problems_t *pr,
                       double *out, int required)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!x) {
        if (required)
            med_problem_add(pr, 0, path, "\"%s\" is missing (expected a number)", key);
        return 0;
    }
    if (cJSON_IsNumber(x)) {
        *out = x->valuedouble;
        return 1;
    }
    if (cJSON_IsString(x) && read_number(x->valuestring, strlen(x->valuestring), out))
        return 1;
    med_problem_add(pr, 0, path, "\"%s\" is not a number", key);
    return 0;
}

static int read_json_reading(const cJSON *it, const char *path, med_series_t *out,
                             med_problems_t *pr)
{
    if (!cJSON_IsObject(it)) {
        med_problem_add(pr, 0, path, "expected an object {\"kind\", \"value\", ...}");
        return MUSE_OK;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
    med_kind_t k;
    if (!cJSON_IsString(kind) || medical_kind_parse(kind->valuestring, &k) != MUSE_OK) {
        med_problem_add(pr, 0, path, "\"kind\" %s (expected bp, glucose, a1c, ...)",
                        cJSON_IsString(kind) ? "is not a measurement this reads" : "is missing");
        return MUSE_OK;
    }
    med_reading_t r;
    med_reading_init(&r, k);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "time");
    if (t && !cJSON_IsNull(t)) {
        if (!cJSON_IsString(t) || med_parse_iso_time(t->valuestring, &r) != 0) {
            med_problem_add(pr, 0, path, "\"time\" is not an ISO 8601 date-time");
            return MUSE_OK;
        }
    }
    double v = NAN, v2 = NAN, p;
    char vpath[256];
    snprintf(vpath, sizeof vpath, "%s", path);
    if (k == MED_BP) {
        const cJSON *vs = cJSON_GetObjectItemCaseSensitive(it, "value");
        if (cJSON_IsString(vs)) {
            field_t f = {vs->valuestring, strlen(vs->valuestring)};
            if (!split_bp(&f, &v, &v2)) {
                med_problem_add(pr, 0, path, "\"value\" is not a blood pressure such as \"150/95\"");
                return MUSE_OK;
            }
        } else if (cJSON_GetObjectItemCaseSensitive(it, "systolic")) {
            if (!json_number(it, "systolic", path, pr, &v, 1) ||
                !json_number(it, "diastolic", path, pr, &v2, 1))
                return MUSE_OK;
        } else if (!json_number(it, "value", path, pr, &v, 1) ||
                   !json_number(it, "value2", path, pr, &v2, 1)) {
            return MUSE_OK;
        }
        if (cJSON_GetObjectItemCaseSensitive(it, "pulse")) {
            if (!json_number(it, "pulse", path, pr, &p, 1))
                return MUSE_OK;
            r.pulse = p;
        }
    } else if (!json_number(it, "value", path, pr, &v, 1)) {
        return MUSE_OK;
    }
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "fasting");
    if (cJSON_IsBool(f))
        r.fasting = cJSON_IsTrue(f);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(it, "unit");
    muse_error_t e = {0};
    int rc = medical_reading_set(&r, k, v, v2, cJSON_IsString(u) ? u->valuestring : NULL, &e);
    if (rc == MUSE_EUNSUPPORTED) {
        med_problem_add(pr, 0, path, "%s", e.message);
        return MUSE_OK;
    }
    if (rc != MUSE_OK)
        return rc;
    return med_series_push(out, &r);
}

static int read_json(const cJSON *root, const char *name, med_series_t *out, med_problems_t *pr,
                     muse_error_t *err)
{
    const cJSON *arr = root;
    const char *prefix = "";
    if (cJSON_IsObject(root)) {
        arr = cJSON_GetObjectItemCaseSensitive(root, "readings");
        prefix = "readings";
    }
    if (!cJSON_IsArray(arr))
        return muse_err(err, MUSE_EPARSE,
                        "%s: expected {\"readings\": [...]} or an array of readings (docs/medical.md#json)",
                        name);
    int i = 0, rc;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        char path[200];
        snprintf(path, sizeof path, "%s: %s[%d]", name, prefix, i);
        if ((rc = read_json_reading(it, path, out, pr)) != MUSE_OK)
            return muse_err(err, rc, "out of memory reading %s", name);
        i++;
    }
    return MUSE_OK;
}

/* ---- FHIR R4 ----------------------------------------------------------- */

static const cJSON *loinc_of(const cJSON *codeable, const char **code_out)
{
    const med_data_t *d = med_data();
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(d->units, "loinc");
    const cJSON *c;
    *code_out = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(codeable, "coding")) {
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(c, "system");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(c, "code");
        if (!cJSON_IsString(code))
            continue;
        if (!*code_out)
            *code_out = code->valuestring;
        if (cJSON_IsString(sys) && strcmp(sys->valuestring, "http://loinc.org") != 0)
            continue;
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(map, code->valuestring);
        if (e && code->valuestring[0] != '_') {
            *code_out = code->valuestring;
            return e;
        }
    }
    return NULL;
}

/* valueQuantity: {value, unit, system, code}; the UCUM code wins over the
 * display unit. Returns 1 with value and unit, 0 after recording a problem. */
static int fhir_quantity(const cJSON *holder, const char *path, med_problems_t *pr, double *v,
                         char *unit, size_t ucap)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(holder, "valueQuantity");
    if (!q) {
        const cJSON *dar = cJSON_GetObjectItemCaseSensitive(holder, "dataAbsentReason");
        const cJSON *txt = cJSON_GetObjectItemCaseSensitive(dar, "text");
        if (dar)
            med_problem_add(pr, 0, path, "no value (dataAbsentReason%s%s)", cJSON_IsString(txt) ? ": " : "",
                            cJSON_IsString(txt) ? txt->valuestring : "");
        else
            med_problem_add(pr, 0, path, "valueQuantity is missing (expected {\"value\", \"unit\", "
                                         "\"system\": \"http://unitsofmeasure.org\", \"code\"})");
        return 0;
    }
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(q, "value");
    if (!cJSON_IsNumber(val)) {
        med_problem_add(pr, 0, path, "valueQuantity.value: expected a number");
        return 0;
    }
    *v = val->valuedouble;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(q, "code");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(q, "unit");
    unit[0] = '\0';
    if (cJSON_IsString(code))
        snprintf(unit, ucap, "%s", code->valuestring);
    else if (cJSON_IsString(u))
        snprintf(unit, ucap, "%s", u->valuestring);
    return 1;
}

static int fhir_time(const cJSON *obs, const char *path, med_problems_t *pr, med_reading_t *r)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obs, "effectiveDateTime");
    if (!t)
        t = cJSON_GetObjectItemCaseSensitive(obs, "effectiveInstant");
    if (!t)
        t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obs, "effectivePeriod"),
                                             "start");
    if (!t)
        return 0;
    if (!cJSON_IsString(t) || med_parse_iso_time(t->valuestring, r) != 0) {
        med_problem_add(pr, 0, path, "effectiveDateTime is not a FHIR dateTime (expected 2026-11-02T07:30:00Z)");
        return -1;
    }
    return 0;
}

typedef struct half_bp {
    int64_t time;
    int tod, flags, offset;
    double value;
    int systolic;
    char unit[32];
    char path[160];
    int used;
} half_bp_t;

typedef struct halves {
    half_bp_t *v;
    size_t n, cap;
} halves_t;

static int fhir_observation(const cJSON *obs, const char *path, med_series_t *out,
                            med_problems_t *pr, halves_t *hv)
{
    char p2[256];
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obs, "status");
    if (cJSON_IsString(status) &&
        (strcmp(status->valuestring, "entered-in-error") == 0 ||
         strcmp(status->valuestring, "cancelled") == 0)) {
        med_problem_add(pr, 0, path, "status is %s: not read", status->valuestring);
        return MUSE_OK;
    }
    const char *code = NULL;
    const cJSON *map = loinc_of(cJSON_GetObjectItemCaseSensitive(obs, "code"), &code);
    snprintf(p2, sizeof p2, "%s.code", path);
    if (!map) {
        if (code)
            med_problem_add(pr, 0, p2, "code %s is not a LOINC code this reads (see docs/medical.md#fhir)",
                            code);
        else
            med_problem_add(pr, 0, p2, "no code.coding with a LOINC code");
        return MUSE_OK;
    }
    med_kind_t k;
    const cJSON *kj = cJSON_GetObjectItemCaseSensitive(map, "kind");
    if (!cJSON_IsString(kj) || medical_kind_parse(kj->valuestring, &k) != MUSE_OK)
        return MUSE_OK;
    med_reading_t r;
    med_reading_init(&r, k);
    if (fhir_time(obs, path, pr, &r) < 0)
        return MUSE_OK;
    const cJSON *fj = cJSON_GetObjectItemCaseSensitive(map, "fasting");
    if (cJSON_IsNumber(fj))
        r.fasting = fj->valueint;
    double v, v2 = NAN;
    char unit[32], unit2[32];
    muse_error_t e = {0};
    int rc;

    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(map, "panel"))) {
        int have_s = 0, have_d = 0, i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(obs, "component")) {
            const char *cc = NULL;
            loinc_of(cJSON_GetObjectItemCaseSensitive(c, "code"), &cc);
            snprintf(p2, sizeof p2, "%s.component[%d]", path, i++);
            if (!cc)
                continue;
            if (strcmp(cc, "8480-6") == 0)
                have_s = fhir_quantity(c, p2, pr, &v, unit, sizeof unit);
            else if (strcmp(cc, "8462-4") == 0)
                have_d = fhir_quantity(c, p2, pr, &v2, unit2, sizeof unit2);
            else if (strcmp(cc, "8867-4") == 0) {
                double p;
                char pu[32];
                if (fhir_quantity(c, p2, pr, &p, pu, sizeof pu))
                    r.pulse = p;
            }
        }
        if (!have_s || !have_d) {
            snprintf(p2, sizeof p2, "%s.component", path);
            med_problem_add(pr, 0, p2, "blood pressure needs components 8480-6 (systolic) and 8462-4 "
                                       "(diastolic) with valueQuantity");
            return MUSE_OK;
        }
        rc = medical_reading_set(&r, MED_BP, v, v2, unit, &e);
    } else {
        snprintf(p2, sizeof p2, "%s", path);
        if (!fhir_quantity(obs, p2, pr, &v, unit, sizeof unit))
            return MUSE_OK;
        const cJSON *comp = cJSON_GetObjectItemCaseSensitive(map, "component");
        if (cJSON_IsString(comp)) {
            /* A lone systolic or diastolic: kept until its partner at the
             * same time turns up. */
            if (hv->n == hv->cap) {
                size_t cap = hv->cap ? hv->cap * 2 : 8;
                half_bp_t *nv = realloc(hv->v, cap * sizeof *nv);
                if (!nv)
                    return MUSE_ENOMEM;
                hv->v = nv;
                hv->cap = cap;
            }
            half_bp_t *h = &hv->v[hv->n++];
            memset(h, 0, sizeof *h);
            h->time = r.time;
            h->tod = r.tod_min;
            h->flags = r.time_flags;
            h->offset = r.utc_offset_min;
            h->value = v;
            h->systolic = strcmp(comp->valuestring, "systolic") == 0;
            snprintf(h->unit, sizeof h->unit, "%s", unit);
            snprintf(h->path, sizeof h->path, "%s", path);
            return MUSE_OK;
        }
        rc = medical_reading_set(&r, k, v, NAN, unit, &e);
    }
    if (rc == MUSE_EUNSUPPORTED) {
        snprintf(p2, sizeof p2, "%s.valueQuantity.code", path);
        med_problem_add(pr, 0, p2, "%s", e.message);
        return MUSE_OK;
    }
    if (rc != MUSE_OK)
        return rc;
    return med_series_push(out, &r);
}

static int pair_halves(half_bp_t *h, size_t n, med_series_t *out, med_problems_t *pr)
{
    for (size_t i = 0; i < n; i++) {
        if (h[i].used || !h[i].systolic)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (h[j].used || h[j].systolic || h[j].time != h[i].time)
                continue;
            med_reading_t r;
            med_reading_init(&r, MED_BP);
            r.time = h[i].time;
            r.tod_min = h[i].tod;
            r.time_flags = h[i].flags;
            r.utc_offset_min = h[i].offset;
            double dia;
            if (medical_convert(MED_BP, h[j].value, h[j].unit, &dia, NULL, NULL) != MUSE_OK)
                dia = NAN;
            muse_error_t e = {0};
            int rc = medical_reading_set(&r, MED_BP, h[i].value, dia, h[i].unit, &e);
            if (rc == MUSE_OK) {
                r.value2 = dia;
                r.implausible = 0;
                r.note[0] = '\0';
                medical_check_plausible(&r);
                if ((rc = med_series_push(out, &r)) != MUSE_OK)
                    return rc;
            } else if (rc == MUSE_EUNSUPPORTED) {
                med_problem_add(pr, 0, h[i].path, "%s", e.message);
            }
            h[i].used = h[j].used = 1;
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!h[i].used)
            med_problem_add(pr, 0, h[i].path,
                            "a %s blood pressure with no %s at the same effective time",
                            h[i].systolic ? "systolic" : "diastolic",
                            h[i].systolic ? "diastolic (8462-4)" : "systolic (8480-6)");
    return MUSE_OK;
}

static int read_fhir(const cJSON *root, const char *name, med_series_t *out, med_problems_t *pr,
                     muse_error_t *err)
{
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
    halves_t hv = {0};
    int rc = MUSE_OK;
    char path[200];
    if (cJSON_IsString(rt) && strcmp(rt->valuestring, "Observation") == 0) {
        snprintf(path, sizeof path, "%s: Observation", name);
        rc = fhir_observation(root, path, out, pr, &hv);
    } else if (cJSON_IsString(rt) && strcmp(rt->valuestring, "Bundle") == 0) {
        const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entry");
        if (entries && !cJSON_IsArray(entries)) {
            rc = muse_err(err, MUSE_EPARSE, "%s: entry: expected an array", name);
            goto done;
        }
        int i = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, entries) {
            const cJSON *res = cJSON_GetObjectItemCaseSensitive(e, "resource");
            const cJSON *ert = cJSON_GetObjectItemCaseSensitive(res, "resourceType");
            snprintf(path, sizeof path, "%s: entry[%d].resource", name, i++);
            if (!cJSON_IsObject(res)) {
                med_problem_add(pr, 0, path, "missing (expected a resource object)");
                continue;
            }
            /* Patients, devices and the like travel with observations:
             * not readings, and not problems either. */
            if (!cJSON_IsString(ert) || strcmp(ert->valuestring, "Observation") != 0)
                continue;
            if ((rc = fhir_observation(res, path, out, pr, &hv)) != MUSE_OK)
                break;
        }
    } else {
        rc = muse_err(err, MUSE_EUNSUPPORTED,
                      "%s: resourceType %s%s%s is not read (expected a FHIR R4 Bundle or Observation)",
                      name, cJSON_IsString(rt) ? "\"" : "", cJSON_IsString(rt) ? rt->valuestring : "missing",
                      cJSON_IsString(rt) ? "\"" : "");
        goto done;
    }
    if (rc == MUSE_OK)
        rc = pair_halves(hv.v, hv.n, out, pr);
    if (rc != MUSE_OK)
        muse_err(err, rc, "out of memory reading %s", name);
done:
    free(hv.v);
    return rc;
}

/* ---- entry points ------------------------------------------------------ */

static med_format_t sniff(const char *data, size_t len, const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && (med_strieq(dot, ".csv") || med_strieq(dot, ".tsv")))
        return MED_FORMAT_CSV;
    if (dot && med_strieq(dot, ".txt"))
        return MED_FORMAT_TEXT;
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace((unsigned char)data[i]))
        i++;
    if ((dot && med_strieq(dot, ".json")) || (i < len && (data[i] == '{' || data[i] == '[')))
        return MED_FORMAT_JSON; /* FHIR or not is decided once parsed */
    /* A first line with delimiters and a known column name is CSV. */
    const char *nl = memchr(data + i, '\n', len - i);
    size_t l = nl ? (size_t)(nl - (data + i)) : len - i;
    static const char *const cols[] = {"systolic", "sys", "kind", "value", "glucose", "weight", "time", "date"};
    if (memchr(data + i, ',', l) || memchr(data + i, ';', l) || memchr(data + i, '\t', l))
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++)
            if (med_stristr(data + i, l, cols[k]))
                return MED_FORMAT_CSV;
    return MED_FORMAT_TEXT;
}

static void lines_from_offsets(const char *text, med_series_t *s)
{
    int line = 1;
    size_t pos = 0;
    for (size_t i = 0; i < s->n; i++) {
        for (; pos < s->v[i].start; pos++)
            line += text[pos] == '\n';
        s->v[i].line = line;
    }
}

int medical_read_buffer(const char *data, size_t len, med_format_t fmt, const char *name,
                        med_series_t *out, med_problems_t *problems, muse_error_t *err)
{
    return medical_read_buffer_opts(data, len, fmt, name, NULL, out, problems, err);
}

int medical_read_buffer_opts(const char *data, size_t len, med_format_t fmt, const char *name,
                             const med_parse_opts_t *o, med_series_t *out, med_problems_t *problems,
                             muse_error_t *err)
{
    med_problems_t local = {0};
    med_problems_t *pr = problems ? problems : &local;
    cJSON *root = NULL;
    char *copy = NULL;
    const med_data_t *d;
    int rc;
    memset(out, 0, sizeof *out);
    if (problems)
        memset(problems, 0, sizeof *problems);
    if ((rc = med_data_get(&d, err)) != MUSE_OK)
        return rc;
    if (!name)
        name = "input";
    if (!data && len)
        return muse_err(err, MUSE_EINVAL, "%s: no data", name);
    if (len > FILE_MAX)
        return muse_err(err, MUSE_ELIMIT, "%s: over 64 MiB; split the file", name);
    /* One NUL-terminated copy: the JSON and text parsers want one, and the
     * caller's buffer may not be terminated. */
    copy = malloc(len + 1);
    if (!copy)
        return muse_err(err, MUSE_ENOMEM, "out of memory reading %s", name);
    if (len)
        memcpy(copy, data, len);
    copy[len] = '\0';

    if (fmt == MED_FORMAT_AUTO)
        fmt = sniff(copy, len, name);
    switch (fmt) {
    case MED_FORMAT_CSV:
        rc = read_csv(copy, len, name, out, pr, err);
        break;
    case MED_FORMAT_JSON:
    case MED_FORMAT_FHIR: {
        size_t skip = (len >= 3 && memcmp(copy, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
        root = parse_json(copy + skip, len - skip, name, err);
        if (!root) {
            rc = MUSE_EPARSE;
            break;
        }
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(root, "resourceType");
        if (fmt == MED_FORMAT_FHIR || cJSON_IsString(rt))
            rc = read_fhir(root, name, out, pr, err);
        else
            rc = read_json(root, name, out, pr, err);
        break;
    }
    case MED_FORMAT_TEXT:
    default:
        for (size_t i = 0; i < len; i++)
            if (copy[i] == '\0')
                copy[i] = ' ';
        rc = medical_parse_text_opts(copy, o, out, err);
        if (rc == MUSE_OK)
            lines_from_offsets(copy, out);
        break;
    }
    if (rc == MUSE_OK && out->n == 0 && pr->n > 0) {
        rc = muse_err(err, MUSE_EPARSE, "%s: no reading could be read; first problem: %s: %s", name,
                      pr->v[0].where, pr->v[0].message);
    }
    if (rc != MUSE_OK)
        med_series_free(out);
    cJSON_Delete(root);
    free(copy);
    med_problems_free(&local);
    return rc;
}

int medical_read_file(const char *path, med_series_t *out, med_problems_t *problems,
                      muse_error_t *err)
{
    return medical_read_file_opts(path, NULL, out, problems, err);
}

int medical_read_file_opts(const char *path, const med_parse_opts_t *o, med_series_t *out,
                           med_problems_t *problems, muse_error_t *err)
{
    char *buf = NULL;
    FILE *f = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (problems)
        memset(problems, 0, sizeof *problems);
    if (!path)
        return muse_err(err, MUSE_EINVAL, "no file to read");
    f = fopen(path, "rb");
    if (!f)
        return muse_err(err, errno == ENOENT ? MUSE_ENOTFOUND : MUSE_EIO, "%s: %s", path,
                        strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = muse_err(err, MUSE_EIO, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = muse_err(err, MUSE_EINVAL, "%s: is a directory, not a readings file", path);
        goto done;
    }
    if ((uint64_t)st.st_size > FILE_MAX) {
        rc = muse_err(err, MUSE_ELIMIT, "%s: over 64 MiB; split the file", path);
        goto done;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    buf = malloc(cap);
    if (!buf) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory reading %s", path);
        goto done;
    }
    /* Read to the end rather than trusting st_size (pipes, /proc). */
    for (;;) {
        if (len == cap) {
            if (cap > FILE_MAX) {
                rc = muse_err(err, MUSE_ELIMIT, "%s: over 64 MiB; split the file", path);
                goto done;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = muse_err(err, MUSE_ENOMEM, "out of memory reading %s", path);
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        rc = muse_err(err, MUSE_EIO, "%s: read error", path);
        goto done;
    }
    rc = medical_read_buffer_opts(buf, len, MED_FORMAT_AUTO, path, o, out, problems, err);
done:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}
