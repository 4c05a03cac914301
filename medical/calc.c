/* Clinical calculators: BMI, CKD-EPI 2021 eGFR, ADAG estimated average
 * glucose, the ACC/AHA Pooled Cohort Equations and Mifflin-St Jeor BMR.
 *
 * Parameters, their valid ranges, the equations' coefficients and the
 * sources are data (medical/data/calculators.json); this file holds the
 * equations' shapes. A value outside the range an equation was derived on
 * is refused with that range rather than extrapolated: a 10-year risk for a
 * 20-year-old from equations fitted on 40-79-year-olds is not a number anyone
 * should act on. Values may carry units ("80umol/L", "180lb", "5ft10in"),
 * converted through the same unit data as readings. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

#define MAX_PARAMS 12

typedef struct pv {
    int set;
    double v;          /* number, or 1/0 for booleans */
    char choice[24];   /* for choices */
    int defaulted;
} pv_t;

static const cJSON *calc_def(const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(medical_calculators(), name);
}

static double cnum(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static const char *cstr(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* "total-chol", "Total_Chol" and "total_chol" are one name. */
static int name_eq(const char *a, const char *b)
{
    while (*a == '-')
        a++; /* "--age" as well as "age" */
    for (; *a && *b; a++, b++) {
        char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);
        if (x == '-')
            x = '_';
        if (y == '-')
            y = '_';
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int param_matches(const cJSON *p, const char *arg)
{
    if (name_eq(arg, cstr(p, "name")))
        return 1;
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(p, "aliases"))
        if (cJSON_IsString(a) && name_eq(arg, a->valuestring))
            return 1;
    return 0;
}

static void param_list(const cJSON *params, char *buf, size_t cap)
{
    const cJSON *p;
    buf[0] = '\0';
    cJSON_ArrayForEach(p, params) {
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s--%s", l ? ", " : "", cstr(p, "name"));
    }
    for (char *c = buf; *c; c++)
        if (*c == '_')
            *c = '-';
}

static int parse_bool(const char *s, double *out)
{
    static const char *const yes[] = {"yes", "y", "true", "1", "on"};
    static const char *const no[] = {"no", "n", "false", "0", "off"};
    for (size_t i = 0; i < 5; i++) {
        if (med_strieq(s, yes[i])) {
            *out = 1;
            return 1;
        }
        if (med_strieq(s, no[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

static int parse_choice(const cJSON *p, const char *s, char *out, size_t cap)
{
    static const struct { const char *in, *out; } syn[] = {
        {"f", "female"}, {"woman", "female"}, {"w", "female"}, {"m", "male"}, {"man", "male"},
        {"aa", "african_american"}, {"black", "african_american"}, {"african-american", "african_american"},
        {"africanamerican", "african_american"}, {"caucasian", "white"},
    };
    const char *v = s;
    for (size_t i = 0; i < sizeof syn / sizeof *syn; i++)
        if (med_strieq(s, syn[i].in))
            v = syn[i].out;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p, "choices"))
        if (cJSON_IsString(c) && name_eq(v, c->valuestring)) {
            snprintf(out, cap, "%s", c->valuestring);
            return 1;
        }
    return 0;
}

/* A number with an optional unit, converted to the parameter's unit. */
static int parse_quantity(const cJSON *p, const char *s, double *out, muse_error_t *err)
{
    const char *name = cstr(p, "name");
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        goto bad;
    while (*end == ' ')
        end++;
    const char *kind_name = cstr(p, "kind");
    med_kind_t k;
    if (!*end) {
        *out = v;
        return MUSE_OK;
    }
    if (kind_name[0] && medical_kind_parse(kind_name, &k) == MUSE_OK) {
        double canon;
        if (medical_convert(k, v, end, &canon, NULL, NULL) == MUSE_OK) {
            /* canonical unit of the kind -> the parameter's unit */
            double one;
            medical_convert(k, 1, cstr(p, "unit"), &one, NULL, NULL);
            *out = canon / one;
            return MUSE_OK;
        }
        /* "5ft10in", "12st4lb": the text reader knows these forms. */
        char text[96];
        snprintf(text, sizeof text, "%s %s", kind_name, s);
        med_series_t sr;
        med_parse_opts_t o = {.now = 1};
        if (medical_parse_text_opts(text, &o, &sr, NULL) == MUSE_OK && sr.n == 1 && sr.v[0].kind == k &&
            !sr.v[0].assumed_unit) {
            double one;
            medical_convert(k, 1, cstr(p, "unit"), &one, NULL, NULL);
            *out = sr.v[0].value / one;
            med_series_free(&sr);
            return MUSE_OK;
        }
        med_series_free(&sr);
    } else if (med_strieq(end, cstr(p, "unit")) || (med_strieq(cstr(p, "unit"), "mm[Hg]") && med_strieq(end, "mmhg")) ||
               (med_strieq(cstr(p, "unit"), "a") && (med_strieq(end, "y") || med_strieq(end, "years")))) {
        *out = v;
        return MUSE_OK;
    }
bad:
    return muse_err(err, MUSE_EINVAL, "--%s: \"%s\" is not a %s (a number, in %s unless a unit is given)",
                    name, s, cstr(p, "label"), cstr(p, "unit"));
}

static int read_params(const char *calc, const cJSON *def, const med_calc_arg_t *args, size_t n,
                       pv_t *pv, muse_error_t *err)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(def, "params"), *p;
    char list[256];
    param_list(params, list, sizeof list);
    for (size_t i = 0; i < n; i++) {
        int idx = 0, found = 0;
        cJSON_ArrayForEach(p, params) {
            if (args[i].name && param_matches(p, args[i].name)) {
                found = 1;
                break;
            }
            idx++;
        }
        if (!found)
            return muse_err(err, MUSE_EINVAL, "%s has no parameter --%s (expected %s)", calc,
                            args[i].name ? args[i].name : "?", list);
        if (idx >= MAX_PARAMS)
            return muse_err(err, MUSE_EINTERNAL, "%s: too many parameters in calculators.json", calc);
        const char *val = args[i].value ? args[i].value : "";
        pv_t *v = &pv[idx];
        v->set = 1;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "boolean"))) {
            if (!parse_bool(val, &v->v))
                return muse_err(err, MUSE_EINVAL, "--%s: \"%s\" is not yes or no", cstr(p, "name"), val);
        } else if (cJSON_GetObjectItemCaseSensitive(p, "choices")) {
            if (!parse_choice(p, val, v->choice, sizeof v->choice)) {
                char ch[128] = "";
                const cJSON *c;
                cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(p, "choices"))
                    med_note_append(ch, sizeof ch, "%s", c->valuestring);
                for (char *s = ch; *s; s++)
                    if (*s == ';')
                        *s = ',';
                return muse_err(err, MUSE_EINVAL, "--%s: \"%s\" is not one of: %s", cstr(p, "name"), val, ch);
            }
        } else {
            int rc = parse_quantity(p, val, &v->v, err);
            if (rc)
                return rc;
            double ge = cnum(p, "ge"), le = cnum(p, "le");
            if ((!isnan(ge) && v->v < ge) || (!isnan(le) && v->v > le)) {
                char a[32], b[32], got[32];
                med_fmt_num(a, sizeof a, ge, 2);
                med_fmt_num(b, sizeof b, le, 2);
                med_fmt_num(got, sizeof got, v->v, 2);
                return muse_err(err, MUSE_ERANGE,
                                "--%s %s is outside the valid range %s to %s %s for %s (%s)", cstr(p, "name"),
                                got, a, b, strcmp(cstr(p, "unit"), "a") == 0 ? "years" : cstr(p, "unit"),
                                cstr(def, "label"), cstr(p, "label"));
            }
        }
    }
    /* Missing parameters: booleans default to "no" and race to "other",
     * both stated in the result; anything else is required. */
    int idx = 0;
    cJSON_ArrayForEach(p, params) {
        pv_t *v = &pv[idx++];
        if (v->set)
            continue;
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "boolean"))) {
            v->set = v->defaulted = 1;
            v->v = 0;
        } else if (strcmp(cstr(p, "name"), "race") == 0) {
            v->set = v->defaulted = 1;
            snprintf(v->choice, sizeof v->choice, "other");
        } else {
            double ge = cnum(p, "ge"), le = cnum(p, "le");
            char a[32] = "", b[32] = "";
            med_fmt_num(a, sizeof a, ge, 2);
            med_fmt_num(b, sizeof b, le, 2);
            if (!isnan(ge))
                return muse_err(err, MUSE_EINVAL, "%s needs --%s (%s, %s to %s %s)", calc, cstr(p, "name"),
                                cstr(p, "label"), a, b, strcmp(cstr(p, "unit"), "a") == 0 ? "years" : cstr(p, "unit"));
            return muse_err(err, MUSE_EINVAL, "%s needs --%s (%s)", calc, cstr(p, "name"), cstr(p, "label"));
        }
    }
    return MUSE_OK;
}

static const pv_t *pget(const cJSON *def, const pv_t *pv, const char *name)
{
    int idx = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(def, "params")) {
        if (strcmp(cstr(p, "name"), name) == 0)
            return &pv[idx];
        idx++;
    }
    static const pv_t none = {0};
    return &none;
}

static void category_from_range(med_kind_t k, double v, med_calc_result_t *out)
{
    med_reading_t r;
    med_class_t c;
    med_reading_init(&r, k);
    r.value = v;
    if (medical_classify(&r, &c, NULL) == MUSE_OK) {
        snprintf(out->category_id, sizeof out->category_id, "%s", c.id);
        snprintf(out->category, sizeof out->category, "%s", c.label);
    }
}

/* Puts prefix in front of the text in buf, truncating the end if needed. */
static void prepend(char *buf, size_t cap, const char *prefix)
{
    size_t pl = strlen(prefix), bl = strlen(buf);
    if (pl >= cap)
        pl = cap - 1;
    if (pl + bl >= cap)
        bl = cap - 1 - pl;
    memmove(buf + pl, buf, bl);
    memcpy(buf, prefix, pl);
    buf[pl + bl] = '\0';
}

static double pce(const cJSON *co, double age, double tc, double hdl, double sbp, int treated, int smoker,
                  int diabetes)
{
    double la = log(age), lt = log(tc), lh = log(hdl), ls = log(sbp);
    double sum = cnum(co, "ln_age") * la + cnum(co, "ln_age_sq") * la * la + cnum(co, "ln_tc") * lt +
                 cnum(co, "ln_age_ln_tc") * la * lt + cnum(co, "ln_hdl") * lh + cnum(co, "ln_age_ln_hdl") * la * lh +
                 (treated ? cnum(co, "ln_sbp_treated") * ls + cnum(co, "ln_age_ln_sbp_treated") * la * ls
                          : cnum(co, "ln_sbp_untreated") * ls + cnum(co, "ln_age_ln_sbp_untreated") * la * ls) +
                 smoker * (cnum(co, "smoker") + cnum(co, "ln_age_smoker") * la) + diabetes * cnum(co, "diabetes");
    return 100 * (1 - pow(cnum(co, "baseline"), exp(sum - cnum(co, "mean"))));
}

int medical_calc(const char *name, const med_calc_arg_t *args, size_t n, med_calc_result_t *out,
                 muse_error_t *err)
{
    const med_data_t *d;
    pv_t pv[MAX_PARAMS];
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    memset(pv, 0, sizeof pv);
    const cJSON *def = name ? calc_def(name) : NULL;
    if (!def) {
        char list[128] = "";
        const cJSON *c;
        cJSON_ArrayForEach(c, medical_calculators())
            med_note_append(list, sizeof list, "%s", c->string);
        for (char *s = list; *s; s++)
            if (*s == ';')
                *s = ',';
        return muse_err(err, MUSE_ENOTFOUND, "no calculator \"%s\" (calculators: %s)", name ? name : "",
                        list);
    }
    if ((rc = read_params(name, def, args, n, pv, err)) != MUSE_OK)
        return rc;
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(def, "coefficients");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(def, "source");
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->label, sizeof out->label, "%s", cstr(def, "label"));
    snprintf(out->unit, sizeof out->unit, "%s", cstr(def, "unit"));
    out->decimals = (int)cnum(def, "decimals");
    snprintf(out->source, sizeof out->source, "%s: %s", cstr(src, "publisher"), cstr(src, "title"));
    snprintf(out->url, sizeof out->url, "%s", cstr(src, "url"));
    snprintf(out->note, sizeof out->note, "%s", cstr(def, "note"));

    int female = strcmp(pget(def, pv, "sex")->choice, "female") == 0;
    if (strcmp(name, "bmi") == 0) {
        double m = pget(def, pv, "height")->v / 100;
        out->value = pget(def, pv, "weight")->v / (m * m);
    } else if (strcmp(name, "egfr") == 0) {
        const cJSON *sx = cJSON_GetObjectItemCaseSensitive(co, female ? "female" : "male");
        double r = pget(def, pv, "creatinine")->v / cnum(sx, "kappa");
        out->value = cnum(co, "a") * pow(fmin(r, 1), cnum(sx, "alpha")) *
                     pow(fmax(r, 1), cnum(co, "high_exponent")) *
                     pow(cnum(co, "age_base"), pget(def, pv, "age")->v) * cnum(sx, "factor");
    } else if (strcmp(name, "eag") == 0) {
        out->value = cnum(co, "slope") * pget(def, pv, "a1c")->v + cnum(co, "intercept");
        double mmol;
        const med_kind_def_t *g = &d->kinds[MED_GLUCOSE];
        int u = med_unit_find(g, "mmol/L", 6);
        mmol = u >= 0 ? out->value / g->units[u].factor : NAN;
        char m[32], pre[64];
        med_fmt_num(m, sizeof m, mmol, 1);
        snprintf(pre, sizeof pre, "= %s mmol/L. ", m);
        prepend(out->note, sizeof out->note, pre);
    } else if (strcmp(name, "ascvd") == 0) {
        const char *race = pget(def, pv, "race")->choice;
        char key[48];
        snprintf(key, sizeof key, "%s_%s", female ? "female" : "male",
                 strcmp(race, "african_american") == 0 ? "african_american" : "white");
        out->value = pce(cJSON_GetObjectItemCaseSensitive(co, key), pget(def, pv, "age")->v,
                         pget(def, pv, "total_chol")->v, pget(def, pv, "hdl")->v, pget(def, pv, "sbp")->v,
                         pget(def, pv, "bp_treated")->v > 0, pget(def, pv, "smoker")->v > 0,
                         pget(def, pv, "diabetes")->v > 0);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(def, "categories")) {
            med_interval_t iv;
            med_interval_from_json(c, &iv);
            if (med_interval_contains(&iv, round(out->value * 10) / 10)) {
                snprintf(out->category_id, sizeof out->category_id, "%s", cstr(c, "id"));
                snprintf(out->category, sizeof out->category, "%s", cstr(c, "label"));
            }
        }
        char assumed[160] = "";
        if (pget(def, pv, "race")->defaulted)
            med_note_append(assumed, sizeof assumed, "race not given: the white equations were used");
        const char *bools[] = {"bp_treated", "smoker", "diabetes"};
        const char *says[] = {"not on blood-pressure medicine", "not a smoker", "no diabetes"};
        for (int i = 0; i < 3; i++)
            if (pget(def, pv, bools[i])->defaulted)
                med_note_append(assumed, sizeof assumed, "taken as %s", says[i]);
        if (assumed[0]) {
            char pre[200];
            snprintf(pre, sizeof pre, "Assumed (not given): %.160s. ", assumed);
            prepend(out->note, sizeof out->note, pre);
        }
    } else if (strcmp(name, "bmr") == 0) {
        out->value = cnum(co, "weight") * pget(def, pv, "weight")->v + cnum(co, "height") * pget(def, pv, "height")->v +
                     cnum(co, "age") * pget(def, pv, "age")->v + cnum(co, female ? "female" : "male");
    } else {
        return muse_err(err, MUSE_EUNSUPPORTED, "calculator \"%s\" is in the data but has no equation", name);
    }
    const char *from = cstr(def, "category_from");
    med_kind_t k;
    if (from[0] && medical_kind_parse(from, &k) == MUSE_OK)
        category_from_range(k, round(out->value * pow(10, out->decimals)) / pow(10, out->decimals), out);
    if (!isfinite(out->value))
        return muse_err(err, MUSE_ERANGE, "%s could not be computed from these values", cstr(def, "label"));
    return MUSE_OK;
}

cJSON *medical_calc_result_json(const med_calc_result_t *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    double f = pow(10, r->decimals);
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "label", r->label);
    cJSON_AddNumberToObject(o, "value", round(r->value * f) / f);
    cJSON_AddStringToObject(o, "unit", r->unit);
    if (r->category[0]) {
        cJSON_AddStringToObject(o, "category", r->category);
        cJSON_AddStringToObject(o, "category_id", r->category_id);
    } else {
        cJSON_AddNullToObject(o, "category");
    }
    cJSON_AddStringToObject(o, "source", r->source);
    cJSON_AddStringToObject(o, "url", r->url);
    if (r->note[0])
        cJSON_AddStringToObject(o, "note", r->note);
    return o;
}
