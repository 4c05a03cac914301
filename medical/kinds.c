/* Kinds, units and single readings: conversion to the canonical UCUM unit,
 * the unit assumed for a bare number, and the plausibility check that keeps
 * impossible values (BP 400/20, SpO2 130 %) from ever being interpreted.
 * Every factor, interval and assumption comes from medical/data/units.json. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

int med_strieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int med_strnieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i]))
            return 0;
        if (!a[i])
            return 1;
    }
    return 1;
}

const char *med_stristr(const char *hay, size_t hay_len, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return hay;
    for (size_t i = 0; i + n <= hay_len; i++)
        if (med_strnieq(hay + i, needle, n))
            return hay + i;
    return NULL;
}

void med_note_append(char *note, size_t cap, const char *fmt, ...)
{
    size_t len = strnlen(note, cap);
    if (len + 3 >= cap)
        return;
    if (len > 0) {
        /* Sentences run on with a space; fragments with "; ". */
        const char *sep = note[len - 1] == '.' ? " " : "; ";
        memcpy(note + len, sep, strlen(sep) + 1);
        len += strlen(sep);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note + len, cap - len, fmt, ap);
    va_end(ap);
}

void med_fmt_num(char *buf, size_t cap, double v, int decimals)
{
    if (isnan(v)) {
        snprintf(buf, cap, "?");
        return;
    }
    snprintf(buf, cap, "%.*f", decimals, v);
    if (decimals > 0 && strchr(buf, '.')) {
        size_t n = strlen(buf);
        while (n > 0 && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (n > 0 && buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, cap, "0");
}

int med_kind_decimals(med_kind_t k)
{
    switch (k) {
    case MED_BP:
    case MED_HEART_RATE:
    case MED_SPO2:
    case MED_EGFR:
        return 0;
    case MED_A1C:
    case MED_TEMPERATURE:
    case MED_WEIGHT:
    case MED_HEIGHT:
    case MED_BMI:
        return 1;
    case MED_CREATININE:
        return 2;
    default:
        return 0;
    }
}

const char *medical_kind_unit(med_kind_t k)
{
    if ((unsigned)k >= MED_KIND_COUNT)
        return "";
    const med_data_t *d = med_data();
    return d->ok ? d->kinds[k].unit : "";
}

const char *medical_kind_display_unit(med_kind_t k)
{
    if ((unsigned)k >= MED_KIND_COUNT)
        return "";
    const med_data_t *d = med_data();
    return d->ok ? d->kinds[k].display : "";
}

int medical_kind_components(med_kind_t k)
{
    return k == MED_BP ? 2 : 1;
}

const char *medical_kind_component_name(med_kind_t k, int i)
{
    if (k == MED_BP)
        return i == 0 ? "systolic" : i == 1 ? "diastolic" : NULL;
    return i == 0 ? "value" : NULL;
}

int medical_kind_parse(const char *name, med_kind_t *out)
{
    if (!name)
        return MUSE_ENOTFOUND;
    for (int k = 0; k < MED_KIND_COUNT; k++)
        if (med_strieq(name, medical_kind_name((med_kind_t)k))) {
            *out = (med_kind_t)k;
            return MUSE_OK;
        }
    const med_data_t *d = med_data();
    if (!d->ok)
        return MUSE_ENOTFOUND;
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        const cJSON *a;
        cJSON_ArrayForEach(a, d->kinds[k].aliases)
            if (cJSON_IsString(a) && med_strieq(name, a->valuestring)) {
                *out = (med_kind_t)k;
                return MUSE_OK;
            }
    }
    return MUSE_ENOTFOUND;
}

void med_reading_init(med_reading_t *r, med_kind_t k)
{
    memset(r, 0, sizeof *r);
    r->kind = k;
    r->value = NAN;
    r->value2 = NAN;
    r->pulse = NAN;
    r->time = -1;
    r->fasting = -1;
    r->tod_min = -1;
    r->value_in = NAN;
}

void med_interval_from_json(const cJSON *o, med_interval_t *iv)
{
    const cJSON *x;
    iv->ge = iv->gt = iv->le = iv->lt = NAN;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "ge")) && cJSON_IsNumber(x))
        iv->ge = x->valuedouble;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "gt")) && cJSON_IsNumber(x))
        iv->gt = x->valuedouble;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "le")) && cJSON_IsNumber(x))
        iv->le = x->valuedouble;
    if ((x = cJSON_GetObjectItemCaseSensitive(o, "lt")) && cJSON_IsNumber(x))
        iv->lt = x->valuedouble;
}

int med_interval_contains(const med_interval_t *iv, double v)
{
    if (isnan(v))
        return 0;
    return (isnan(iv->ge) || v >= iv->ge) && (isnan(iv->gt) || v > iv->gt) &&
           (isnan(iv->le) || v <= iv->le) && (isnan(iv->lt) || v < iv->lt);
}

void med_interval_describe(const med_interval_t *iv, char *buf, size_t cap)
{
    char lo[32] = "", hi[32] = "";
    if (!isnan(iv->ge))
        med_fmt_num(lo, sizeof lo, iv->ge, 3);
    else if (!isnan(iv->gt))
        med_fmt_num(lo, sizeof lo, iv->gt, 3);
    if (!isnan(iv->le))
        med_fmt_num(hi, sizeof hi, iv->le, 3);
    else if (!isnan(iv->lt))
        med_fmt_num(hi, sizeof hi, iv->lt, 3);
    if (lo[0] && hi[0])
        snprintf(buf, cap, "%s to %s", lo, hi);
    else if (lo[0])
        snprintf(buf, cap, "%s %s", isnan(iv->ge) ? "above" : "at least", lo);
    else if (hi[0])
        snprintf(buf, cap, "%s %s", isnan(iv->le) ? "under" : "at most", hi);
    else
        snprintf(buf, cap, "any value");
}

/* Compares a unit as typed with a spelling: case-insensitive, spaces
 * ignored, so "mmol / L" and "mmol/l" agree. */
static int unit_eq(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    while (i < alen || *b) {
        while (i < alen && a[i] == ' ')
            i++;
        while (*b == ' ')
            b++;
        if (i >= alen || !*b)
            return i >= alen && !*b;
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)*b))
            return 0;
        i++;
        b++;
    }
    return 1;
}

int med_unit_find(const med_kind_def_t *kd, const char *unit, size_t len)
{
    while (len > 0 && (unit[0] == ' ' || unit[0] == '\t')) {
        unit++;
        len--;
    }
    while (len > 0 && (unit[len - 1] == ' ' || unit[len - 1] == '\t' || unit[len - 1] == '.'))
        len--;
    if (len == 0)
        return -1;
    for (int i = 0; i < kd->n_units; i++) {
        if (unit_eq(unit, len, kd->units[i].ucum))
            return i;
        const cJSON *t;
        cJSON_ArrayForEach(t, kd->units[i].text)
            if (cJSON_IsString(t) && unit_eq(unit, len, t->valuestring))
                return i;
    }
    return -1;
}

static int unsupported_unit(const med_kind_def_t *kd, const char *unit, muse_error_t *err)
{
    char list[256] = "";
    for (int i = 0; i < kd->n_units; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", kd->units[i].ucum);
    }
    return muse_err(err, MUSE_EUNSUPPORTED, "unit \"%s\" is not a unit of %s (expected one of: %s)",
                    unit, kd->name, list);
}

int medical_convert(med_kind_t k, double value, const char *unit, double *out, const char **ucum,
                    muse_error_t *err)
{
    const med_data_t *d;
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    if ((unsigned)k >= MED_KIND_COUNT)
        return muse_err(err, MUSE_EINVAL, "unknown measurement kind %d", (int)k);
    const med_kind_def_t *kd = &d->kinds[k];
    int u = 0;
    if (unit && unit[0]) {
        u = med_unit_find(kd, unit, strlen(unit));
        if (u < 0)
            return unsupported_unit(kd, unit, err);
    }
    *out = value * kd->units[u].factor + kd->units[u].offset;
    if (ucum)
        *ucum = kd->units[u].ucum;
    return MUSE_OK;
}

/* The unit a bare number of kind k is taken to be, by units.json "assume". */
static const med_assume_t *assume_for(const med_kind_def_t *kd, double v)
{
    for (int i = 0; i < kd->n_assume; i++)
        if (med_interval_contains(&kd->assume[i].iv, v))
            return &kd->assume[i];
    return NULL;
}

int medical_reading_set(med_reading_t *r, med_kind_t k, double value, double value2,
                        const char *unit, muse_error_t *err)
{
    const med_data_t *d;
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    if ((unsigned)k >= MED_KIND_COUNT)
        return muse_err(err, MUSE_EINVAL, "unknown measurement kind %d", (int)k);
    const med_kind_def_t *kd = &d->kinds[k];
    r->kind = k;
    int u = 0;
    if (unit && unit[0]) {
        u = med_unit_find(kd, unit, strlen(unit));
        if (u < 0)
            return unsupported_unit(kd, unit, err);
    } else if (kd->n_units > 1) {
        const med_assume_t *a = assume_for(kd, value);
        if (a) {
            u = a->unit;
            if (!a->silent) {
                char vin[32], vout[32];
                med_fmt_num(vin, sizeof vin, value, 3);
                med_fmt_num(vout, sizeof vout, value * kd->units[u].factor + kd->units[u].offset,
                            med_kind_decimals(k));
                r->assumed_unit = 1;
                if (u == 0)
                    med_note_append(r->note, sizeof r->note,
                                    "no unit given: %s taken as %s", vin, kd->units[u].ucum);
                else
                    med_note_append(r->note, sizeof r->note,
                                    "no unit given: %s taken as %s (= %s %s)", vin,
                                    kd->units[u].ucum, vout, kd->unit);
            }
        } else {
            r->assumed_unit = 1;
            med_note_append(r->note, sizeof r->note, "no unit given and none fits this value");
        }
    }
    const med_unit_def_t *ud = &kd->units[u];
    r->value_in = value;
    snprintf(r->unit_in, sizeof r->unit_in, "%s", ud->ucum);
    r->value = value * ud->factor + ud->offset;
    r->value2 = (k == MED_BP) ? value2 * ud->factor + ud->offset : NAN;
    medical_check_plausible(r);
    return MUSE_OK;
}

int medical_check_plausible(med_reading_t *r)
{
    const med_data_t *d = med_data();
    if (!d->ok || (unsigned)r->kind >= MED_KIND_COUNT)
        return r->implausible;
    const med_kind_def_t *kd = &d->kinds[r->kind];
    for (int i = 0; i < kd->n_components; i++) {
        double v = i == 0 ? r->value : r->value2;
        if (!med_interval_contains(&kd->plausible[i], v)) {
            char val[32], rng[64];
            med_fmt_num(val, sizeof val, v, 2);
            med_interval_describe(&kd->plausible[i], rng, sizeof rng);
            r->implausible = 1;
            if (isnan(v))
                med_note_append(r->note, sizeof r->note, "implausible: %s is missing",
                                kd->n_components > 1 ? kd->components[i] : "the value");
            else
                med_note_append(r->note, sizeof r->note,
                                "implausible: %s %s %s is outside what can be measured (%s)",
                                kd->n_components > 1 ? kd->components[i] : kd->name, val, kd->display,
                                rng);
        }
    }
    if (r->kind == MED_BP && !isnan(r->value) && !isnan(r->value2) && r->value2 >= r->value) {
        r->implausible = 1;
        med_note_append(r->note, sizeof r->note,
                        "implausible: the diastolic (lower) number is not below the systolic");
    }
    if (!isnan(r->pulse) &&
        !med_interval_contains(&d->kinds[MED_HEART_RATE].plausible[0], r->pulse)) {
        med_note_append(r->note, sizeof r->note, "pulse %.0f ignored as implausible", r->pulse);
        r->pulse = NAN;
    }
    return r->implausible;
}

int med_series_push(med_series_t *s, const med_reading_t *r)
{
    /* Capacity is implied by n (8, then doubling at each power of two), so
     * med_series_t needs no capacity field. */
    if (s->n == 0 || (s->n >= 8 && (s->n & (s->n - 1)) == 0)) {
        size_t cap = s->n == 0 ? 8 : s->n * 2;
        if (cap > SIZE_MAX / sizeof *s->v)
            return MUSE_ENOMEM;
        med_reading_t *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        s->v = v;
    }
    s->v[s->n++] = *r;
    return MUSE_OK;
}

void med_series_free(med_series_t *s)
{
    if (!s)
        return;
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

int med_problem_add(med_problems_t *p, int line, const char *where, const char *fmt, ...)
{
    if (!p)
        return MUSE_OK;
    if (p->n >= MED_PROBLEMS_MAX) {
        p->dropped++;
        return MUSE_OK;
    }
    if (p->n == 0 || (p->n >= 4 && (p->n & (p->n - 1)) == 0)) {
        size_t cap = p->n ? p->n * 2 : 4;
        med_problem_t *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        p->v = v;
    }
    med_problem_t *pr = &p->v[p->n++];
    memset(pr, 0, sizeof *pr);
    pr->line = line;
    snprintf(pr->where, sizeof pr->where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->message, sizeof pr->message, fmt, ap);
    va_end(ap);
    return MUSE_OK;
}

void med_problems_free(med_problems_t *p)
{
    if (!p)
        return;
    free(p->v);
    p->v = NULL;
    p->n = 0;
    p->dropped = 0;
}
