/* Series statistics, trends and pattern flags.
 *
 * The trend is an ordinary least-squares slope of value on time, reported
 * per week with a 95% confidence interval and the two-sided p-value of a
 * t-test, because a patient's "is it going up?" deserves an answer that
 * says how sure it is. Student's t comes from the regularised incomplete
 * beta function (continued fraction, Lentz's method), so no statistics
 * library is needed. Readings without dates are taken in the order given
 * and the slope is per reading; the explanation says so.
 *
 * Pattern rules and every threshold they use live in
 * medical/data/patterns.json with their basis; the code here only
 * evaluates rule types. */
#include <float.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

/* ---- Student's t ------------------------------------------------------- */

static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-15;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

/* Regularised incomplete beta I_x(a, b). */
static double ibeta(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2))
        return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, 1 - x) / b;
}

double med_t_pvalue(double t, double df)
{
    if (isnan(t) || df <= 0)
        return NAN;
    if (isinf(t))
        return 0;
    return ibeta(df / 2, 0.5, df / (df + t * t));
}

double med_t_crit975(double df)
{
    double lo = 0, hi = 1000;
    for (int i = 0; i < 100; i++) {
        double mid = (lo + hi) / 2;
        if (med_t_pvalue(mid, df) > 0.05)
            lo = mid;
        else
            hi = mid;
    }
    return (lo + hi) / 2;
}

/* ---- statistics -------------------------------------------------------- */

static double num_at(const cJSON *o, const char *k, double dflt)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : dflt;
}

static const cJSON *pdata(const char *key)
{
    const med_data_t *d = med_data();
    return cJSON_GetObjectItemCaseSensitive(d->patterns, key);
}

typedef struct pt {
    double x;       /* weeks since the first reading, or the index */
    double y[2];
    int tod;
    const med_reading_t *r;
} pt_t;

static int by_x(const void *a, const void *b)
{
    const pt_t *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->r < q->r ? -1 : p->r > q->r);
}

static void fit_trend(const pt_t *p, size_t n, int comp, int by_time, med_trend_t *t)
{
    const cJSON *tp = pdata("trend");
    memset(t, 0, sizeof *t);
    t->slope = t->ci_low = t->ci_high = t->p_value = t->r2 = NAN;
    t->confidence = "low";
    t->by_time = by_time;
    if (n < (size_t)num_at(tp, "min_n", 3))
        return;
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += p[i].x;
        my += p[i].y[comp];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = p[i].x - mx, dy = p[i].y[comp] - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if (sxx <= 0)
        return; /* all at one time */
    t->valid = 1;
    t->slope = sxy / sxx;
    double sse = syy - t->slope * sxy;
    if (sse < 0)
        sse = 0;
    t->r2 = syy > 0 ? 1 - sse / syy : 0;
    double df = (double)n - 2;
    double se = df > 0 ? sqrt(sse / df / sxx) : INFINITY;
    if (se == 0) {
        t->p_value = t->slope != 0 ? 0 : 1;
        t->ci_low = t->ci_high = t->slope;
    } else if (isinf(se)) {
        t->p_value = 1;
    } else {
        t->p_value = med_t_pvalue(t->slope / se, df);
        double tc = med_t_crit975(df);
        t->ci_low = t->slope - tc * se;
        t->ci_high = t->slope + tc * se;
    }
    double a_mod = num_at(tp, "alpha_moderate", 0.05), a_high = num_at(tp, "alpha_high", 0.01);
    if (t->p_value < a_high && n >= (size_t)num_at(tp, "min_n_high", 8))
        t->confidence = "high";
    else if (t->p_value < a_mod)
        t->confidence = "moderate";
    t->direction = t->p_value < a_mod ? (t->slope > 0 ? 1 : t->slope < 0 ? -1 : 0) : 0;
}

static int add_category(med_stats_t *st, const med_cat_t **ptr, const med_cat_t *c)
{
    for (int i = 0; i < st->n_categories; i++)
        if (ptr[i] == c || strcmp(st->categories[i].id, c->id) == 0)
            return i;
    if (st->n_categories == MED_MAX_CATEGORIES)
        return -1;
    int i = st->n_categories++;
    med_category_share_t *cs = &st->categories[i];
    snprintf(cs->id, sizeof cs->id, "%s", c->id);
    snprintf(cs->label, sizeof cs->label, "%s", c->label);
    cs->level = c->level;
    ptr[i] = c;
    return i;
}

int medical_series_stats(const med_series_t *s, med_kind_t k, med_stats_t *out, muse_error_t *err)
{
    const med_data_t *d;
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->kind = k;
    out->first = out->last = -1;
    if ((unsigned)k >= MED_KIND_COUNT)
        return muse_err(err, MUSE_EINVAL, "unknown measurement kind %d", (int)k);
    int nc = medical_kind_components(k);
    out->n_components = nc;
    for (int c = 0; c < 2; c++) {
        out->c[c].mean = out->c[c].sd = out->c[c].min = out->c[c].max = NAN;
        out->c[c].morning_mean = out->c[c].evening_mean = NAN;
        out->c[c].trend.confidence = "low";
        out->c[c].trend.slope = out->c[c].trend.ci_low = out->c[c].trend.ci_high = NAN;
        out->c[c].trend.p_value = out->c[c].trend.r2 = NAN;
    }

    size_t n = 0, n_timed = 0;
    for (size_t i = 0; s && i < s->n; i++) {
        if (s->v[i].kind != k)
            continue;
        if (s->v[i].implausible)
            out->n_implausible++;
        else {
            n++;
            n_timed += s->v[i].time >= 0;
        }
    }
    if (n == 0)
        return muse_err(err, MUSE_ENOTFOUND, "no %s readings to summarise", medical_kind_label(k));

    pt_t *p = malloc(n * sizeof *p);
    if (!p)
        return muse_err(err, MUSE_ENOMEM, "out of memory summarising readings");
    /* Time order when every reading has a date; otherwise the order given. */
    int by_time = n_timed == n;
    int64_t t0 = INT64_MAX;
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].kind == k && !s->v[i].implausible && s->v[i].time >= 0 && s->v[i].time < t0)
            t0 = s->v[i].time;
    size_t j = 0;
    for (size_t i = 0; i < s->n; i++) {
        const med_reading_t *r = &s->v[i];
        if (r->kind != k || r->implausible)
            continue;
        p[j].x = by_time ? (double)(r->time - t0) / (7.0 * 86400) : (double)j;
        p[j].y[0] = r->value;
        p[j].y[1] = r->value2;
        p[j].tod = r->tod_min;
        p[j].r = r;
        j++;
        if (r->time >= 0) {
            if (out->first < 0 || r->time < out->first)
                out->first = r->time;
            if (r->time > out->last)
                out->last = r->time;
        }
    }
    if (by_time)
        qsort(p, n, sizeof *p, by_x);
    out->n = n;
    out->span_days = out->first >= 0 ? (double)(out->last - out->first) / 86400 : 0;

    med_interval_t morning, evening;
    const cJSON *w = pdata("windows");
    med_interval_from_json(cJSON_GetObjectItemCaseSensitive(w, "morning"), &morning);
    med_interval_from_json(cJSON_GetObjectItemCaseSensitive(w, "evening"), &evening);
    for (int c = 0; c < nc; c++) {
        med_component_stats_t *cs = &out->c[c];
        double sum = 0, mn = INFINITY, mx = -INFINITY, sm = 0, se = 0;
        for (size_t i = 0; i < n; i++) {
            double y = p[i].y[c];
            sum += y;
            mn = y < mn ? y : mn;
            mx = y > mx ? y : mx;
            if (p[i].tod >= 0 && med_interval_contains(&morning, p[i].tod)) {
                cs->n_morning++;
                sm += y;
            } else if (p[i].tod >= 0 && med_interval_contains(&evening, p[i].tod)) {
                cs->n_evening++;
                se += y;
            }
        }
        cs->n = n;
        cs->mean = sum / (double)n;
        cs->min = mn;
        cs->max = mx;
        if (n > 1) {
            double ss = 0;
            for (size_t i = 0; i < n; i++)
                ss += (p[i].y[c] - cs->mean) * (p[i].y[c] - cs->mean);
            cs->sd = sqrt(ss / (double)(n - 1));
        }
        if (cs->n_morning)
            cs->morning_mean = sm / (double)cs->n_morning;
        if (cs->n_evening)
            cs->evening_mean = se / (double)cs->n_evening;
        fit_trend(p, n, c, by_time, &cs->trend);
    }

    /* Shares: every category of the measure, so a chart can show the zeros
     * (and any random-glucose category a reading fell in). */
    const med_cat_t *ptr[MED_MAX_CATEGORIES] = {0};
    const med_catset_t *main_set = &d->kinds[k].cats;
    for (int i = 0; i < main_set->n; i++)
        add_category(out, ptr, &main_set->v[i]);
    size_t classified = 0;
    for (size_t i = 0; i < n; i++) {
        const med_cat_t *c = med_classify_fast(p[i].r, NULL);
        int idx = c ? add_category(out, ptr, c) : -1;
        if (idx >= 0) {
            out->categories[idx].count++;
            classified++;
        }
    }
    for (int i = 0; i < out->n_categories; i++)
        out->categories[i].share = classified ? (double)out->categories[i].count / (double)classified : 0;
    free(p);
    return MUSE_OK;
}

/* ---- patterns ---------------------------------------------------------- */

typedef struct kv {
    const char *k;
    char v[160];
} kv_t;

/* Fills {name} placeholders from vars; unknown names are left out. */
static void fill_template(const char *tpl, const kv_t *vars, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = tpl; *p && o + 1 < cap;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            if (e) {
                for (size_t i = 0; i < n; i++)
                    if (strlen(vars[i].k) == (size_t)(e - p - 1) &&
                        strncmp(vars[i].k, p + 1, (size_t)(e - p - 1)) == 0) {
                        size_t l = strlen(vars[i].v);
                        if (o + l >= cap)
                            l = cap - 1 - o;
                        memcpy(out + o, vars[i].v, l);
                        o += l;
                        break;
                    }
                p = e + 1;
                continue;
            }
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

static void set_var(kv_t *vars, size_t *n, const char *k, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void set_var(kv_t *vars, size_t *n, const char *k, const char *fmt, ...)
{
    va_list ap;
    vars[*n].k = k;
    va_start(ap, fmt);
    vsnprintf(vars[*n].v, sizeof vars[*n].v, fmt, ap);
    va_end(ap);
    (*n)++;
}

static const char *str_at(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static int push_pattern(med_patterns_t *out, const cJSON *rule, med_kind_t k, const kv_t *vars,
                        size_t nv, const char *tpl_key)
{
    if (out->n == 0 || (out->n >= 4 && (out->n & (out->n - 1)) == 0)) {
        size_t cap = out->n ? out->n * 2 : 4;
        med_pattern_t *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        out->v = v;
    }
    med_pattern_t *p = &out->v[out->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", str_at(rule, "id"));
    p->kind = k;
    snprintf(p->severity, sizeof p->severity, "%s", str_at(rule, "severity"));
    fill_template(str_at(rule, tpl_key), vars, nv, p->explanation, sizeof p->explanation);
    snprintf(p->basis, sizeof p->basis, "%s", str_at(rule, "basis"));
    return MUSE_OK;
}

static void reading_text(const med_reading_t *r, char *buf, size_t cap)
{
    char a[32], b[32];
    med_fmt_num(a, sizeof a, r->value, med_kind_decimals(r->kind));
    if (r->kind == MED_BP) {
        med_fmt_num(b, sizeof b, r->value2, 0);
        snprintf(buf, cap, "%s/%s", a, b);
    } else {
        snprintf(buf, cap, "%s", a);
    }
}

static int rule_any_category(const med_series_t *s, const cJSON *rule, med_kind_t k,
                             const med_kind_def_t *kd, med_patterns_t *out, int sustained)
{
    const char *cat = str_at(rule, "category");
    int min_level = -1;
    for (int i = 0; i < kd->cats.n; i++)
        if (strcmp(kd->cats.v[i].id, cat) == 0)
            min_level = kd->cats.v[i].level;
    size_t n = 0, total = 0;
    char list[160] = "";
    double sum[2] = {0, 0};
    for (size_t i = 0; i < s->n; i++) {
        const med_reading_t *r = &s->v[i];
        if (r->kind != k)
            continue;
        const med_cat_t *cl = med_classify_fast(r, NULL);
        if (!cl)
            continue;
        total++;
        sum[0] += r->value;
        sum[1] += r->value2;
        int hit = sustained ? (min_level >= 0 && cl->level >= min_level) : strcmp(cl->id, cat) == 0;
        if (!hit)
            continue;
        n++;
        if (n <= 4) {
            char t[72];
            reading_text(r, t, sizeof t);
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", t);
        } else if (n == 5) {
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, ", ...");
        }
    }
    if (n == 0)
        return MUSE_OK;
    if (sustained && (n < (size_t)num_at(rule, "min_count", 3) ||
                      (double)n / (double)total < num_at(rule, "min_share", 0.5)))
        return MUSE_OK;
    kv_t vars[14];
    size_t nv = 0;
    set_var(vars, &nv, "n", "%zu", n);
    set_var(vars, &nv, "total", "%zu", total);
    set_var(vars, &nv, "list", "%s", list);
    set_var(vars, &nv, "was_were", "%s", n == 1 ? "was" : "were");
    const char *noun = str_at(rule, "noun");
    if (n == total && n == 1)
        set_var(vars, &nv, "count_phrase", "Your %s reading", noun);
    else if (n == total)
        set_var(vars, &nv, "count_phrase", "All %zu of your %s readings", n, noun);
    else
        set_var(vars, &nv, "count_phrase", "%zu of your %zu %s readings", n, total, noun);
    set_var(vars, &nv, "share", "%.0f%%", 100.0 * (double)n / (double)total);
    set_var(vars, &nv, "label", "%s", kd->label);
    if (k == MED_BP)
        set_var(vars, &nv, "mean", "%.0f/%.0f", sum[0] / (double)total, sum[1] / (double)total);
    else
        set_var(vars, &nv, "mean", "%.1f", sum[0] / (double)total);
    return push_pattern(out, rule, k, vars, nv, "explanation");
}

static void lower_first(char *s)
{
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
}

static int rule_trend(med_stats_cache_t *cache, const cJSON *rule, med_patterns_t *out)
{
    int dir = (int)num_at(rule, "direction", 1);
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(rule, "kinds");
    const cJSON *kj;
    cJSON_ArrayForEach(kj, kinds) {
        med_kind_t k;
        if (medical_kind_parse(kj->string, &k) != MUSE_OK)
            continue;
        const med_stats_t *stp = med_stats_get(cache, k);
        if (!stp || stp->n < (size_t)num_at(rule, "min_n", 5))
            continue;
        const med_stats_t st = *stp;
        for (int c = 0; c < st.n_components; c++) {
            const med_trend_t *t = &st.c[c].trend;
            if (!t->valid || t->direction != dir)
                continue;
            double size = t->by_time ? fabs(t->slope) : fabs(t->slope) * (double)(st.n - 1);
            double need = t->by_time ? num_at(kj, "min_per_week", 0) : num_at(kj, "min_total", 0);
            if (size < need)
                continue;
            int dec = med_kind_decimals(k) + 1;
            kv_t vars[16];
            size_t nv = 0;
            char label[64];
            snprintf(label, sizeof label, "%s", medical_kind_label(k));
            lower_first(label);
            char a[32], b[32], sl[32];
            med_fmt_num(sl, sizeof sl, fabs(t->slope), dec);
            med_fmt_num(a, sizeof a, t->ci_low, dec);
            med_fmt_num(b, sizeof b, t->ci_high, dec);
            set_var(vars, &nv, "label", "%s", label);
            set_var(vars, &nv, "component", "%s",
                    k == MED_BP ? (c == 0 ? "(systolic, the top number) " : "(diastolic, the bottom number) ")
                                : "");
            set_var(vars, &nv, "slope", "%s", sl);
            set_var(vars, &nv, "unit", "%s", k == MED_BP ? "mmHg" : medical_kind_unit(k));
            set_var(vars, &nv, "per", "%s", t->by_time ? "a week" : "per reading");
            set_var(vars, &nv, "confidence", "%s", t->confidence);
            set_var(vars, &nv, "ci_low", "%s", a);
            set_var(vars, &nv, "ci_high", "%s", b);
            set_var(vars, &nv, "total", "%zu", st.n);
            if (t->by_time)
                set_var(vars, &nv, "span", " over %.0f days", st.span_days);
            else
                set_var(vars, &nv, "span", "%s", "");
            set_var(vars, &nv, "undated", "%s",
                    t->by_time ? "" : " The readings had no dates, so this assumes they are listed in the order they were taken.");
            int rc = push_pattern(out, rule, k, vars, nv, "explanation");
            if (rc)
                return rc;
            break; /* one flag per kind: the systolic speaks for a BP */
        }
    }
    return MUSE_OK;
}

static int rule_variability(med_stats_cache_t *cache, const cJSON *rule, med_kind_t k, med_patterns_t *out)
{
    const med_stats_t *st = med_stats_get(cache, k);
    if (!st || st->n < (size_t)num_at(rule, "min_n", 5))
        return MUSE_OK;
    int c = strcmp(str_at(rule, "component"), "diastolic") == 0 ? 1 : 0;
    const med_component_stats_t *cs = &st->c[c];
    if (isnan(cs->sd))
        return MUSE_OK;
    double sd_gt = num_at(rule, "sd_gt", NAN), cv_gt = num_at(rule, "cv_gt", NAN);
    double cv = cs->mean != 0 ? cs->sd / cs->mean : NAN;
    if (!((!isnan(sd_gt) && cs->sd > sd_gt) || (!isnan(cv_gt) && cv > cv_gt)))
        return MUSE_OK;
    kv_t vars[8];
    size_t nv = 0;
    set_var(vars, &nv, "sd", "%.1f", cs->sd);
    set_var(vars, &nv, "cv", "%.0f%%", cv * 100);
    set_var(vars, &nv, "total", "%zu", st->n);
    set_var(vars, &nv, "min", "%.0f", cs->min);
    set_var(vars, &nv, "max", "%.0f", cs->max);
    return push_pattern(out, rule, k, vars, nv, "explanation");
}

/* ADAG eAG and its 95% range at an A1c, interpolated in the study's table. */
static int adag_at(const cJSON *table, double a1c, double *eag, double *lo, double *hi)
{
    const cJSON *prev = NULL, *row;
    cJSON_ArrayForEach(row, table) {
        double a = num_at(row, "a1c", NAN);
        if (a1c <= a) {
            if (!prev) {
                if (a1c < a)
                    return 0;
                prev = row;
            }
            double a0 = num_at(prev, "a1c", NAN), f = a > a0 ? (a1c - a0) / (a - a0) : 0;
            *eag = num_at(prev, "eag", NAN) + f * (num_at(row, "eag", NAN) - num_at(prev, "eag", NAN));
            *lo = num_at(prev, "low", NAN) + f * (num_at(row, "low", NAN) - num_at(prev, "low", NAN));
            *hi = num_at(prev, "high", NAN) + f * (num_at(row, "high", NAN) - num_at(prev, "high", NAN));
            return 1;
        }
        prev = row;
    }
    return 0;
}

static int rule_a1c_glucose(med_stats_cache_t *cache, const cJSON *rule, med_patterns_t *out)
{
    const med_series_t *s = cache->s;
    const med_reading_t *a1c = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].kind == MED_A1C && !s->v[i].implausible &&
            (!a1c || s->v[i].time > a1c->time))
            a1c = &s->v[i];
    if (!a1c)
        return MUSE_OK;
    const med_stats_t *stp = med_stats_get(cache, MED_GLUCOSE);
    if (!stp || stp->n < (size_t)num_at(rule, "min_glucose", 3))
        return MUSE_OK;
    const med_stats_t st = *stp;
    double eag, lo, hi;
    if (!adag_at(cJSON_GetObjectItemCaseSensitive(rule, "adag"), a1c->value, &eag, &lo, &hi))
        return MUSE_OK;
    double mean = st.c[0].mean;
    if (mean >= lo && mean <= hi)
        return MUSE_OK;
    int lower = mean < lo;
    kv_t vars[12];
    size_t nv = 0;
    set_var(vars, &nv, "a1c", "%.1f", a1c->value);
    set_var(vars, &nv, "eag", "%.0f", eag);
    set_var(vars, &nv, "eag_low", "%.0f", lo);
    set_var(vars, &nv, "eag_high", "%.0f", hi);
    set_var(vars, &nv, "mean", "%.0f", mean);
    set_var(vars, &nv, "total", "%zu", st.n);
    set_var(vars, &nv, "direction", "%s", lower ? "well below" : "well above");
    set_var(vars, &nv, "reason", "%s", str_at(rule, lower ? "reason_lower" : "reason_higher"));
    set_var(vars, &nv, "a1c_reads", "%s", lower ? "high" : "low");
    return push_pattern(out, rule, MED_GLUCOSE, vars, nv, "explanation");
}

const med_stats_t *med_stats_get(med_stats_cache_t *c, med_kind_t k)
{
    if ((unsigned)k >= MED_KIND_COUNT)
        return NULL;
    if (c->state[k] == 0)
        c->state[k] = medical_series_stats(c->s, k, &c->st[k], NULL) == MUSE_OK ? 1 : -1;
    return c->state[k] > 0 ? &c->st[k] : NULL;
}

int med_find_patterns_cached(med_stats_cache_t *cache, med_patterns_t *out, muse_error_t *err)
{
    const med_data_t *d;
    int rc = med_data_get(&d, err);
    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    const med_series_t *s = cache->s;
    if (!s)
        return MUSE_OK;
    const cJSON *rule;
    cJSON_ArrayForEach(rule, pdata("rules")) {
        const char *type = str_at(rule, "type");
        med_kind_t k = MED_BP;
        const char *kn = str_at(rule, "kind");
        if (kn[0] && medical_kind_parse(kn, &k) != MUSE_OK)
            continue;
        if (strcmp(type, "any_category") == 0)
            rc = rule_any_category(s, rule, k, &d->kinds[k], out, 0);
        else if (strcmp(type, "sustained") == 0)
            rc = rule_any_category(s, rule, k, &d->kinds[k], out, 1);
        else if (strcmp(type, "trend") == 0)
            rc = rule_trend(cache, rule, out);
        else if (strcmp(type, "variability") == 0)
            rc = rule_variability(cache, rule, k, out);
        else if (strcmp(type, "a1c_glucose") == 0)
            rc = rule_a1c_glucose(cache, rule, out);
        if (rc != MUSE_OK) {
            med_patterns_free(out);
            return muse_err(err, rc, "out of memory looking for patterns");
        }
    }
    return MUSE_OK;
}

int medical_find_patterns(const med_series_t *s, med_patterns_t *out, muse_error_t *err)
{
    med_stats_cache_t *cache = calloc(1, sizeof *cache);
    if (!cache) {
        memset(out, 0, sizeof *out);
        return muse_err(err, MUSE_ENOMEM, "out of memory looking for patterns");
    }
    cache->s = s;
    int rc = med_find_patterns_cached(cache, out, err);
    free(cache);
    return rc;
}

void med_patterns_free(med_patterns_t *p)
{
    if (!p)
        return;
    free(p->v);
    p->v = NULL;
    p->n = 0;
}
