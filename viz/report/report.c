/* A report's inputs and their analysis.
 *
 * Inputs go through the medical module's reader, so a file that
 * `muse interpret` reads is a file a report reads, with the same problems
 * listed for the same rows. A clinic's export is rarely perfect: a row that
 * cannot be read, and even a whole file that cannot, becomes a problem in the
 * report's appendix rather than a failed run; only a report with nothing
 * usable at all fails.
 *
 * Times: the medical module keeps a time given without a zone as the
 * person's wall clock (as if UTC) and a time with a zone as UTC plus its
 * offset. A report shows and filters every reading on the wall clock of the
 * place it was taken, which is what the person and the clinic mean by
 * "the morning of 3 October". */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

#define DEFAULT_TABLE_ROWS 400

/* ---- Dates ----------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void report_opts_init(report_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->from = INT64_MIN;
    o->to = INT64_MAX;
}

int report_parse_date(const char *text, int end_of_day, int64_t *out, muse_error_t *err)
{
    unsigned y, mo, d, h = 0, mi = 0, s = 0;
    int n = 0;
    if (!text || sscanf(text, "%4u-%2u-%2u%n", &y, &mo, &d, &n) != 3 || n != 10)
        goto bad;
    const char *p = text + n;
    int has_clock = 0;
    if (*p == 'T' || *p == ' ') {
        int m2 = 0;
        if (sscanf(p + 1, "%2u:%2u%n", &h, &mi, &m2) != 2 || m2 != 5)
            goto bad;
        p += 1 + m2;
        if (*p == ':') {
            if (sscanf(p + 1, "%2u%n", &s, &m2) != 1 || m2 != 2)
                goto bad;
            p += 1 + m2;
        }
        has_clock = 1;
    }
    if (*p)
        goto bad;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
        h > 23 || mi > 59 || s > 59)
        goto bad;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    if (end_of_day && !has_clock)
        *out += 86399;
    return MUSE_OK;
bad:
    return muse_err(err, MUSE_EINVAL, "\"%.60s\" is not a date (expected 2026-10-01 or 2026-10-01T07:30)",
                    text ? text : "");
}

int64_t rp_local_time(const med_reading_t *r)
{
    if (r->time < 0)
        return -1;
    return r->time + ((r->time_flags & MED_TIME_ZONE) ? (int64_t)r->utc_offset_min * 60 : 0);
}

void rp_fmt_date(int64_t t, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(t, 86400), &y, &m, &d);
    snprintf(out, cap, "%04" PRId64 "-%02u-%02u", y, m, d);
}

void rp_fmt_time(const med_reading_t *r, char *out, size_t cap)
{
    int64_t t = rp_local_time(r);
    if (t < 0) {
        snprintf(out, cap, "no date");
        return;
    }
    char day[24];
    rp_fmt_date(t, day, sizeof day);
    if (r->time_flags & MED_TIME_CLOCK || !(r->time_flags & MED_TIME_DATE)) {
        int64_t s = t - floor_div(t, 86400) * 86400;
        snprintf(out, cap, "%s %02d:%02d", day, (int)(s / 3600), (int)(s / 60 % 60));
    } else {
        snprintf(out, cap, "%s", day);
    }
}

void rp_fmt_day(int64_t t, char *out, size_t cap)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(t, 86400), &y, &m, &d);
    snprintf(out, cap, "%u %s %" PRId64, d, mon[m - 1], y);
}

/* ---- Numbers and values -------------------------------------------------------------- */

void rp_fmt_num(double v, int d, char *out, size_t cap)
{
    if (!isfinite(v)) {
        snprintf(out, cap, "–");
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", d, v);
    const char *digits = tmp;
    int neg = tmp[0] == '-';
    if (neg) {
        digits++;
        neg = strspn(digits, "0.") != strlen(digits); /* "-0.0" is 0 */
    }
    snprintf(out, cap, "%s%s", neg ? "\xE2\x88\x92" : "", digits);
}

void rp_fmt_value(med_kind_t k, double v, double v2, char *out, size_t cap)
{
    char a[48], b[48];
    int d = rp_decimals(k);
    const char *unit = medical_kind_display_unit(k);
    rp_fmt_num(v, d, a, sizeof a);
    if (k == MED_BP) {
        rp_fmt_num(v2, d, b, sizeof b);
        snprintf(out, cap, "%s/%s %s", a, b, unit);
    } else {
        snprintf(out, cap, "%s%s%s", a, strcmp(unit, "%") ? " " : "", unit);
    }
}

/* The UCUM codes readings arrive in, as people write them. */
static const char *unit_display(const char *ucum)
{
    static const char *const map[][2] = {
        {"umol/L", "µmol/L"}, {"mmol/L", "mmol/L"}, {"mmol/mol", "mmol/mol"}, {"[lb_av]", "lb"},
        {"[degF]", "°F"},     {"Cel", "°C"},         {"[in_i]", "in"},        {"mm[Hg]", "mmHg"},
        {"kPa", "kPa"},       {"/min", "bpm"},       {"g", "g"},              {"[oz_av]", "oz"},
        {"[ft_i]", "ft"},     {"m", "m"},            {"g/dL", "g/dL"},        {"mg/L", "mg/L"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], ucum) == 0)
            return map[i][1];
    return ucum;
}

void rp_fmt_reading(const med_reading_t *r, char *value, size_t vcap, char *given, size_t gcap)
{
    rp_fmt_value(r->kind, r->value, r->value2, value, vcap);
    if (given && gcap)
        given[0] = '\0';
    if (!given || !r->unit_in[0] || strcmp(r->unit_in, medical_kind_unit(r->kind)) == 0 ||
        !isfinite(r->value_in))
        return;
    /* As given: up to two decimals, without trailing zeros (98.4 °F, 212 lb, 5.9 mmol/L). */
    char a[48];
    rp_fmt_num(r->value_in, 2, a, sizeof a);
    char *dot = strchr(a, '.');
    if (dot) {
        char *e = a + strlen(a);
        while (e > dot + 1 && e[-1] == '0')
            *--e = '\0';
        if (e == dot + 1)
            *dot = '\0';
    }
    if (r->kind == MED_BP)
        snprintf(given, gcap, "given in %s", unit_display(r->unit_in));
    else
        snprintf(given, gcap, "given as %s %s", a, unit_display(r->unit_in));
}

const char *rp_kind_label(med_kind_t k)
{
    return medical_kind_label(k);
}

void rp_lower_label(med_kind_t k, char *out, size_t cap)
{
    snprintf(out, cap, "%s", rp_kind_label(k));
    /* Lower the first letter only of an ordinary word ("Blood", not "LDL" or "HbA1c"). */
    if (out[0] && isupper((unsigned char)out[0]) && islower((unsigned char)out[1]) &&
        !isupper((unsigned char)out[2]))
        out[0] = (char)tolower((unsigned char)out[0]);
}

void rp_range_source(med_kind_t k, char *out, size_t cap, const char **url)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(rp_range_def(k), "source");
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(src, "publisher");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(src, "title");
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(src, "year");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(src, "url");
    if (url)
        *url = cJSON_IsString(u) ? u->valuestring : NULL;
    if (!cJSON_IsString(pub)) {
        out[0] = '\0';
        return;
    }
    char y[16] = "";
    if (cJSON_IsNumber(year))
        snprintf(y, sizeof y, " (%d)", year->valueint);
    snprintf(out, cap, "%s%s%s%s", pub->valuestring, y, cJSON_IsString(title) ? ": " : "",
             cJSON_IsString(title) ? title->valuestring : "");
}

void rp_range_cite(med_kind_t k, char *out, size_t cap)
{
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(rp_range_def(k), "source");
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(src, "publisher");
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(src, "year");
    out[0] = '\0';
    if (!cJSON_IsString(pub))
        return;
    const char *p = pub->valuestring;
    char name[96] = "";
    const char *open = strchr(p, '(');
    const char *close = open ? strchr(open, ')') : NULL;
    if (open && close && close - open > 1 && close - open < 16) {
        /* "Kidney Disease: Improving Global Outcomes (KDIGO)" */
        snprintf(name, sizeof name, "%.*s", (int)(close - open - 1), open + 1);
    } else {
        /* Initials of each part: "American College of Cardiology / American
         * Heart Association" is ACC/AHA; a short name stays as it is. */
        size_t o = 0;
        int words = 0;
        for (const char *q = p; *q; q++)
            if ((q == p || q[-1] == ' ') && *q != ' ' && *q != '/')
                words++;
        if (words <= 2) {
            snprintf(name, sizeof name, "%s", p);
        } else {
            for (const char *q = p; *q && o + 2 < sizeof name; q++) {
                if (*q == '/') {
                    name[o++] = '/';
                } else if ((q == p || q[-1] == ' ') && isupper((unsigned char)*q)) {
                    name[o++] = *q;
                }
            }
            name[o] = '\0';
        }
    }
    if (cJSON_IsNumber(year))
        snprintf(out, cap, "%s %d", name, year->valueint);
    else
        snprintf(out, cap, "%s", name);
}

void rp_trend_text(med_kind_t k, const med_trend_t *t, const char *what, double span_days, char *out,
                   size_t cap)
{
    if (!t->valid) {
        snprintf(out, cap, "%s%stoo few readings for a trend (3 or more at different times are needed).",
                 what ? what : "", what ? ": " : "");
        if (!what && cap)
            out[0] = (char)toupper((unsigned char)out[0]);
        return;
    }
    /* A slope per week reads naturally over weeks; over months, per month. */
    const char *unit = medical_kind_display_unit(k);
    int pct = strcmp(unit, "%") == 0;
    char s[48], lo[48], hi[48];
    int d = rp_decimals(k) + 1;
    int monthly = t->by_time && span_days > 90;
    double f = monthly ? 30.44 / 7 : 1;
    const char *per = !t->by_time ? "a reading" : monthly ? "a month" : "a week";
    rp_fmt_num(fabs(t->slope * f), d, s, sizeof s);
    rp_fmt_num(t->ci_low * f, d, lo, sizeof lo);
    rp_fmt_num(t->ci_high * f, d, hi, sizeof hi);
    const char *dir = t->direction > 0 ? "rising" : t->direction < 0 ? "falling" : NULL;
    char head[64];
    snprintf(head, sizeof head, "%s%s", what ? what : "", what ? ": " : "");
    if (dir)
        snprintf(out, cap, "%s%s by about %s%s%s %s (95%% CI %s to %s; %s confidence).", head, dir, s,
                 pct ? "" : " ", unit, per, lo, hi, t->confidence ? t->confidence : "low");
    else
        snprintf(out, cap, "%sno clear change (slope %s%s%s%s %s, 95%% CI %s to %s, could be chance).", head,
                 t->slope < 0 ? "\xE2\x88\x92" : "+", s, pct ? "" : " ", unit, per, lo, hi);
    if (!what && cap)
        out[0] = (char)toupper((unsigned char)out[0]);
}

const med_class_t *rp_judged_class(const rp_measure_t *m, int *by_latest)
{
    int latest = m->judge_latest;
    if (latest && !m->have_latest_class)
        latest = 0;
    if (!latest && !m->have_avg_class)
        latest = m->have_latest_class;
    if (by_latest)
        *by_latest = latest;
    if (latest)
        return m->have_latest_class ? &m->latest_class : NULL;
    return m->have_avg_class ? &m->avg_class : NULL;
}

size_t rp_discuss_items(const report_t *r, med_kind_t k, const char **out, size_t cap)
{
    size_t n = 0;
    const rp_measure_t *m = &r->m[k];
    if (!m->have_stats)
        return 0;
    const med_class_t *c = rp_judged_class(m, NULL);
    const char *t = rp_discuss(k, c ? c->id : "none");
    if (t && n < cap)
        out[n++] = t;
    for (size_t i = 0; i < r->patterns.n; i++) {
        const med_pattern_t *p = &r->patterns.v[i];
        if (p->kind != k)
            continue;
        const char *pt = rp_pattern_discuss(p->id);
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            dup |= out[j] == pt;
        if (pt && !dup && n < cap)
            out[n++] = pt;
    }
    return n;
}

void rp_category_mix(const med_stats_t *st, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < st->n_categories && o < cap; i++) {
        const med_category_share_t *c = &st->categories[i];
        if (!c->count)
            continue;
        int w = snprintf(out + o, cap - o, "%s%s %zu (%.0f%%)", o ? ", " : "", c->label, c->count,
                         100.0 * c->share);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}

/* ---- Lifecycle and inputs ---------------------------------------------------------------- */

int report_new(const report_opts_t *o, report_t **out, muse_error_t *err)
{
    report_opts_t def;
    const char *why = NULL;
    if (!out)
        return muse_err(err, MUSE_EINVAL, "report_new: out is NULL");
    *out = NULL;
    if (!rp_data(&why))
        return muse_err(err, MUSE_EINTERNAL, "%s", why);
    if (!o) {
        report_opts_init(&def);
        o = &def;
    }
    if (o->from != INT64_MIN && o->to != INT64_MAX && o->from > o->to)
        return muse_err(err, MUSE_EINVAL, "the period ends before it starts (--from is after --to)");
    if (o->password && !*o->password)
        return muse_err(err, MUSE_EINVAL, "the password is empty");
    report_t *r = calloc(1, sizeof *r);
    if (!r)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    r->from = o->from;
    r->to = o->to;
    r->now = o->now ? o->now : (int64_t)time(NULL);
    r->kb = o->kb;
    r->table_max_rows = o->table_max_rows ? o->table_max_rows : DEFAULT_TABLE_ROWS;
    r->first = r->last = -1;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(rp_data(NULL), "title");
    r->title = rp_strdup(o->title && *o->title ? o->title
                                               : cJSON_IsString(dt) ? dt->valuestring : "Health readings report");
    r->label = o->patient_label && *o->patient_label ? rp_strdup(o->patient_label) : NULL;
    r->password = o->password ? rp_strdup(o->password) : NULL;
    r->font_path = o->font_path ? rp_strdup(o->font_path) : NULL;
    r->font_bold_path = o->font_bold_path ? rp_strdup(o->font_bold_path) : NULL;
    if (!r->title || (o->patient_label && *o->patient_label && !r->label) || (o->password && !r->password) ||
        (o->font_path && !r->font_path) || (o->font_bold_path && !r->font_bold_path)) {
        report_free(r);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    for (int k = 0; k < MED_KIND_COUNT; k++)
        r->m[k].kind = (med_kind_t)k;
    *out = r;
    return MUSE_OK;
}

static void reset_analysis(report_t *r)
{
    if (r->doc) {
        rp_doc_free(r->doc);
        free(r->doc);
        r->doc = NULL;
    }
    med_series_free(&r->sel);
    free(r->sel_input);
    r->sel_input = NULL;
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        free(r->m[k].idx);
        memset(&r->m[k], 0, sizeof r->m[k]);
        r->m[k].kind = (med_kind_t)k;
    }
    med_patterns_free(&r->patterns);
    memset(&r->patterns, 0, sizeof r->patterns);
    free(r->codes);
    r->codes = NULL;
    r->n_codes = 0;
    r->n_unknown_kind = 0;
    free(r->charts);
    r->charts = NULL;
    r->n_charts = 0;
    r->analyzed = 0;
}

void report_free(report_t *r)
{
    if (!r)
        return;
    reset_analysis(r);
    for (size_t i = 0; i < r->n_inputs; i++)
        free(r->inputs[i].name);
    free(r->inputs);
    med_series_free(&r->all);
    free(r->all_input);
    free(r->problems);
    free(r->problem_input);
    free(r->title);
    free(r->label);
    if (r->password) {
        /* Not a secret worth much (RC4), but no reason to leave it in freed memory. */
        volatile char *p = r->password;
        while (*p)
            *p++ = '\0';
        free(r->password);
    }
    free(r->font_path);
    free(r->font_bold_path);
    free(r);
}

static int add_problem(report_t *r, int input, int line, const char *where, const char *message)
{
    if (r->n_problems == r->problems_cap) {
        size_t cap = r->problems_cap ? r->problems_cap * 2 : 16;
        med_problem_t *p = realloc(r->problems, cap * sizeof *p);
        if (!p)
            return MUSE_ENOMEM;
        r->problems = p;
        int *pi = realloc(r->problem_input, cap * sizeof *pi);
        if (!pi)
            return MUSE_ENOMEM;
        r->problem_input = pi;
        r->problems_cap = cap;
    }
    med_problem_t *p = &r->problems[r->n_problems];
    memset(p, 0, sizeof *p);
    p->line = line;
    snprintf(p->where, sizeof p->where, "%s", where);
    snprintf(p->message, sizeof p->message, "%s", message);
    r->problem_input[r->n_problems++] = input;
    return MUSE_OK;
}

/* Takes what one input gave: its readings, its problems and, when nothing in
 * it could be read, the reason as one more problem. */
static int take_input(report_t *r, const char *name, int rc, med_series_t *s, med_problems_t *p,
                      const muse_error_t *e, muse_error_t *err)
{
    int ret = MUSE_OK;
    if (rc != MUSE_OK && rc != MUSE_EPARSE && rc != MUSE_ELIMIT && rc != MUSE_EUNSUPPORTED) {
        ret = muse_err(err, rc, "%s", e->message[0] ? e->message : "the file could not be read");
        goto done;
    }
    rp_input_t *in = realloc(r->inputs, (r->n_inputs + 1) * sizeof *in);
    if (!in) {
        ret = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    r->inputs = in;
    in = &r->inputs[r->n_inputs];
    memset(in, 0, sizeof *in);
    in->name = rp_strdup(name);
    if (!in->name) {
        ret = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    int idx = (int)r->n_inputs++;
    in->failed = rc != MUSE_OK || s->n == 0;
    for (size_t i = 0; p && i < p->n; i++)
        if (add_problem(r, idx, p->v[i].line, p->v[i].where, p->v[i].message) != MUSE_OK) {
            ret = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto done;
        }
    in->n_problems = (p ? p->n + p->dropped : 0);
    r->problems_dropped += p ? p->dropped : 0;
    if (rc != MUSE_OK) {
        /* The reader's message usually starts with the name, and a line and
         * column: those go into "where" ("broken.json:3:17"). */
        const char *msg = e->message[0] ? e->message : "the file could not be read";
        char where[192];
        snprintf(where, sizeof where, "%.150s", name);
        size_t nl = strlen(name);
        if (strncmp(msg, name, nl) == 0 && msg[nl] == ':') {
            msg += nl + 1;
            size_t wl = strlen(where);
            while (*msg >= '0' && *msg <= '9') {
                const char *q = msg;
                while (*q >= '0' && *q <= '9')
                    q++;
                if (*q != ':')
                    break;
                if (wl + (size_t)(q - msg) + 2 < sizeof where) {
                    where[wl++] = ':';
                    memcpy(where + wl, msg, (size_t)(q - msg));
                    wl += (size_t)(q - msg);
                    where[wl] = '\0';
                }
                msg = q + 1;
            }
            while (*msg == ' ')
                msg++;
        }
        char why[320];
        snprintf(why, sizeof why, "nothing could be read: %.290s", msg);
        if (add_problem(r, idx, 0, where, why) != MUSE_OK) {
            ret = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto done;
        }
        in->n_problems++;
    }
    in->n_read = s->n;
    if (s->n) {
        if (r->all.n + s->n > r->all_cap) {
            size_t cap = r->all_cap ? r->all_cap : 64;
            while (cap < r->all.n + s->n)
                cap *= 2;
            med_reading_t *v = realloc(r->all.v, cap * sizeof *v);
            if (!v) {
                ret = muse_err(err, MUSE_ENOMEM, "out of memory");
                goto done;
            }
            r->all.v = v;
            int *ai = realloc(r->all_input, cap * sizeof *ai);
            if (!ai) {
                ret = muse_err(err, MUSE_ENOMEM, "out of memory");
                goto done;
            }
            r->all_input = ai;
            r->all_cap = cap;
        }
        memcpy(r->all.v + r->all.n, s->v, s->n * sizeof *s->v);
        for (size_t i = 0; i < s->n; i++)
            r->all_input[r->all.n + i] = idx;
        r->all.n += s->n;
    }
    reset_analysis(r);
done:
    med_series_free(s);
    med_problems_free(p);
    return ret;
}

int report_add_file(report_t *r, const char *path, muse_error_t *err)
{
    if (!r || !path)
        return muse_err(err, MUSE_EINVAL, "report_add_file: no report or path");
    med_series_t s = {0};
    med_problems_t p = {0};
    muse_error_t e = {0};
    int rc = medical_read_file(path, &s, &p, &e);
    return take_input(r, path, rc, &s, &p, &e, err);
}

int report_add_buffer(report_t *r, const char *data, size_t len, med_format_t fmt, const char *name,
                      muse_error_t *err)
{
    if (!r || (!data && len))
        return muse_err(err, MUSE_EINVAL, "report_add_buffer: no report or data");
    med_series_t s = {0};
    med_problems_t p = {0};
    muse_error_t e = {0};
    if (!name)
        name = "input";
    int rc = medical_read_buffer(data ? data : "", len, fmt, name, &s, &p, &e);
    return take_input(r, name, rc, &s, &p, &e, err);
}

size_t report_problem_count(const report_t *r)
{
    return r ? r->n_problems : 0;
}

const med_problem_t *report_problem(const report_t *r, size_t i)
{
    return r && i < r->n_problems ? &r->problems[i] : NULL;
}

/* ---- Analysis ------------------------------------------------------------------------------ */

typedef struct order {
    int64_t t;
    size_t i;
} order_t;

static int cmp_order(const void *a, const void *b)
{
    const order_t *p = a, *q = b;
    /* Undated readings (t < 0) go last, in the order given. */
    if ((p->t < 0) != (q->t < 0))
        return p->t < 0 ? 1 : -1;
    if (p->t != q->t)
        return p->t < q->t ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* "code 2951-2 is not a LOINC code this reads": the FHIR reader's words.
 * A structured field on med_problem_t would be sturdier (see docs/report.md). */
static void collect_codes(report_t *r)
{
    static const char pre[] = "code ";
    static const char mid[] = " is not a LOINC code";
    for (size_t i = 0; i < r->n_problems; i++) {
        const char *m = r->problems[i].message;
        char code[48] = "";
        if (strncmp(m, pre, sizeof pre - 1) == 0 && strstr(m, mid)) {
            size_t n = (size_t)(strstr(m, mid) - m) - (sizeof pre - 1);
            snprintf(code, sizeof code, "%.*s", (int)(n < sizeof code ? n : sizeof code - 1), m + sizeof pre - 1);
        } else if (strstr(m, "no code.coding with a LOINC code")) {
            code[0] = '\0';
        } else {
            if (strstr(m, "is not a measurement this reads"))
                r->n_unknown_kind++;
            continue;
        }
        size_t j;
        for (j = 0; j < r->n_codes; j++)
            if (strcmp(r->codes[j].code, code) == 0)
                break;
        if (j == r->n_codes) {
            rp_code_t *c = realloc(r->codes, (r->n_codes + 1) * sizeof *c);
            if (!c)
                return; /* the problems appendix still lists them */
            r->codes = c;
            memset(&c[j], 0, sizeof c[j]);
            snprintf(c[j].code, sizeof c[j].code, "%s", code);
            snprintf(c[j].where, sizeof c[j].where, "%s", r->problems[i].where);
            r->n_codes++;
        }
        r->codes[j].count++;
    }
}

static int analyze_measure(report_t *r, rp_measure_t *m, size_t *scratch, muse_error_t *err)
{
    size_t n = 0;
    for (size_t i = 0; i < r->sel.n; i++)
        if (r->sel.v[i].kind == m->kind)
            scratch[n++] = i;
    if (!n)
        return MUSE_OK;
    m->idx = malloc(n * sizeof *m->idx);
    if (!m->idx)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    memcpy(m->idx, scratch, n * sizeof *m->idx);
    m->n = n;
    m->judge_latest = rp_judged_by_latest(m->kind);
    int fasting_all = 1, nonfasting_all = 1;
    const med_reading_t *last_dated = NULL, *last_any = NULL;
    for (size_t j = 0; j < n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        m->n_assumed_unit += (size_t)(x->assumed_unit != 0);
        if (x->implausible)
            continue;
        last_any = x;
        if (x->time >= 0)
            last_dated = x;
        fasting_all &= x->fasting == 1;
        nonfasting_all &= x->fasting == 0;
    }
    /* Readings are in time order with undated ones last: the latest is the
     * last dated one, or the last given when none has a date. */
    m->latest = last_dated ? last_dated : last_any;
    muse_error_t e = {0};
    int rc = medical_series_stats(&r->sel, m->kind, &m->st, &e);
    if (rc == MUSE_ENOTFOUND)
        return MUSE_OK; /* only implausible readings: listed, never interpreted */
    if (rc != MUSE_OK)
        return muse_err(err, rc, "%s", e.message);
    m->have_stats = 1;
    if (m->latest && medical_classify(m->latest, &m->latest_class, NULL) == MUSE_OK)
        m->have_latest_class = 1;
    med_reading_t avg;
    med_reading_init(&avg, m->kind);
    avg.value = m->st.c[0].mean;
    if (m->st.n_components > 1)
        avg.value2 = m->st.c[1].mean;
    avg.fasting = fasting_all ? 1 : nonfasting_all ? 0 : -1;
    if (isfinite(avg.value) && medical_classify(&avg, &m->avg_class, NULL) == MUSE_OK)
        m->have_avg_class = 1;
    return MUSE_OK;
}

int report_analyze(report_t *r, muse_error_t *err)
{
    int rc = MUSE_OK;
    order_t *ord = NULL;
    size_t *scratch = NULL;
    if (!r)
        return muse_err(err, MUSE_EINVAL, "report_analyze: no report");
    reset_analysis(r);
    r->n_outside_period = r->n_undated_left_out = 0;
    r->first = r->last = -1;
    if (r->n_inputs == 0)
        return muse_err(err, MUSE_EINVAL, "no input: give a file of readings (CSV, JSON or FHIR R4)");
    int period = r->from != INT64_MIN || r->to != INT64_MAX;
    ord = malloc((r->all.n ? r->all.n : 1) * sizeof *ord);
    if (!ord) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->all.n; i++) {
        int64_t t = rp_local_time(&r->all.v[i]);
        if (period && t < 0) {
            r->n_undated_left_out++;
            continue;
        }
        if (period && (t < r->from || t > r->to)) {
            r->n_outside_period++;
            continue;
        }
        ord[n].t = t;
        ord[n].i = i;
        n++;
    }
    qsort(ord, n, sizeof *ord, cmp_order);
    r->sel.v = malloc((n ? n : 1) * sizeof *r->sel.v);
    r->sel_input = malloc((n ? n : 1) * sizeof *r->sel_input);
    scratch = malloc((n ? n : 1) * sizeof *scratch);
    if (!r->sel.v || !r->sel_input || !scratch) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        r->sel.v[j] = r->all.v[ord[j].i];
        r->sel_input[j] = r->all_input[ord[j].i];
        if (ord[j].t >= 0) {
            if (r->first < 0 || ord[j].t < r->first)
                r->first = ord[j].t;
            if (ord[j].t > r->last)
                r->last = ord[j].t;
        }
    }
    r->sel.n = n;
    int usable = 0;
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        if ((rc = analyze_measure(r, &r->m[k], scratch, err)) != MUSE_OK)
            goto done;
        usable |= r->m[k].have_stats;
    }
    collect_codes(r);
    if (!usable) {
        size_t failed = 0;
        for (size_t i = 0; i < r->n_inputs; i++)
            failed += (size_t)r->inputs[i].failed;
        if (failed == r->n_inputs)
            rc = muse_err(err, MUSE_EPARSE, "nothing usable: no readings could be read from %s (%zu problem%s%s%.200s)",
                          r->n_inputs == 1 ? r->inputs[0].name : "any input", r->n_problems,
                          r->n_problems == 1 ? "" : "s", r->n_problems ? ", the first at " : "",
                          r->n_problems ? r->problems[0].where : "");
        else if (r->all.n && n == 0)
            rc = muse_err(err, MUSE_EPARSE,
                          "nothing usable: none of the %zu readings falls in the period asked for "
                          "(%zu outside it, %zu without a date)",
                          r->all.n, r->n_outside_period, r->n_undated_left_out);
        else {
            const med_reading_t *x = NULL;
            for (size_t i = 0; i < r->sel.n && !x; i++)
                if (r->sel.v[i].implausible)
                    x = &r->sel.v[i];
            rc = muse_err(err, MUSE_EPARSE, "nothing usable: every reading in the period is implausible%s%.300s%s",
                          x && x->note[0] ? " (" : "", x ? x->note : "", x && x->note[0] ? ")" : "");
        }
        goto done;
    }
    if ((rc = medical_find_patterns(&r->sel, &r->patterns, err)) != MUSE_OK)
        goto done;
    r->analyzed = 1;
done:
    free(ord);
    free(scratch);
    return rc;
}

int rp_calc_bmi(const report_t *r, double *bmi, char *note, size_t cap)
{
    const rp_measure_t *w = &r->m[MED_WEIGHT], *h = &r->m[MED_HEIGHT];
    if (r->m[MED_BMI].have_stats || !w->latest || !h->latest)
        return 0;
    char ws[32], hs[32];
    snprintf(ws, sizeof ws, "%.2f", w->latest->value);
    snprintf(hs, sizeof hs, "%.1f", h->latest->value);
    med_calc_arg_t args[] = {{"weight", ws}, {"height", hs}};
    med_calc_result_t res;
    if (medical_calc("bmi", args, 2, &res, NULL) != MUSE_OK)
        return 0;
    *bmi = res.value;
    char a[48], b[48];
    rp_fmt_value(MED_WEIGHT, w->latest->value, NAN, a, sizeof a);
    rp_fmt_value(MED_HEIGHT, h->latest->value, NAN, b, sizeof b);
    snprintf(note, cap, "Worked out from the latest weight (%s) and height (%s).", a, b);
    return 1;
}

void rp_iso_time(const med_reading_t *r, char *out, size_t cap)
{
    int64_t t = rp_local_time(r);
    char day[24];
    rp_fmt_date(t, day, sizeof day);
    int64_t s = t - floor_div(t, 86400) * 86400;
    snprintf(out, cap, "%sT%02d:%02d:%02d", day, (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
}
