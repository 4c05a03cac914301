/* Series statistics, trend and pattern flags (medical_series_stats,
 * medical_find_patterns). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

#define DAY 86400
#define T0 ((int64_t)1790812800) /* 2026-10-01T00:00:00 */

static void add(med_series_t *s, med_kind_t k, double v, double v2, int64_t t, int tod)
{
    med_reading_t r;
    med_reading_init(&r, k);
    assert_int_equal(medical_reading_set(&r, k, v, v2, NULL, NULL), MUSE_OK);
    r.time = t;
    r.tod_min = tod;
    if (t >= 0)
        r.time_flags = MED_TIME_DATE | (tod >= 0 ? MED_TIME_CLOCK : 0);
    assert_int_equal(med_series_push(s, &r), MUSE_OK);
}

static const med_pattern_t *find(const med_patterns_t *p, const char *id, med_kind_t k)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].id, id) == 0 && p->v[i].kind == k)
            return &p->v[i];
    return NULL;
}

/* Critical values of Student's t (two-sided 0.05), e.g. Altman, Practical
 * Statistics for Medical Research, Appendix table B4: df 1 12.706, df 10
 * 2.228, df 30 2.042. */
static void test_mean_sd(void **state)
{
    (void)state;
    med_series_t s = {0};
    const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
    for (size_t i = 0; i < 8; i++)
        add(&s, MED_HEART_RATE, 60 + v[i], NAN, -1, -1);
    add(&s, MED_HEART_RATE, 999, NAN, -1, -1);  /* implausible: left out */
    med_stats_t st;
    assert_int_equal(medical_series_stats(&s, MED_HEART_RATE, &st, NULL), MUSE_OK);
    assert_int_equal(st.n, 8);
    assert_int_equal(st.n_implausible, 1);
    assert_true(fabs(st.c[0].mean - 65) < 1e-9);
    /* sample SD of 2,4,4,4,5,5,7,9 = sqrt(32/7) */
    assert_true(fabs(st.c[0].sd - sqrt(32.0 / 7)) < 1e-9);
    assert_true(st.c[0].min == 62 && st.c[0].max == 69);
    assert_int_equal(st.c[0].trend.by_time, 0);  /* no dates: per reading */
    assert_int_equal(st.first, -1);
    med_series_free(&s);
    assert_int_equal(medical_series_stats(&s, MED_BP, &st, NULL), MUSE_ENOTFOUND);
}

static void test_exact_trend(void **state)
{
    (void)state;
    med_series_t s = {0};
    for (int i = 0; i < 15; i++)
        add(&s, MED_BP, 130 + i * 1.0, 80 + i * 0.5, T0 + i * DAY, 8 * 60);
    med_stats_t st;
    assert_int_equal(medical_series_stats(&s, MED_BP, &st, NULL), MUSE_OK);
    assert_int_equal(st.n_components, 2);
    assert_true(fabs(st.span_days - 14) < 1e-9);
    const med_trend_t *t = &st.c[0].trend;
    assert_int_equal(t->valid, 1);
    assert_int_equal(t->by_time, 1);
    assert_true(fabs(t->slope - 7.0) < 1e-9);     /* 1 mmHg a day = 7 a week */
    assert_true(fabs(st.c[1].trend.slope - 3.5) < 1e-9);
    assert_true(fabs(t->r2 - 1) < 1e-9);
    assert_int_equal(t->direction, 1);
    assert_string_equal(t->confidence, "high");
    med_series_free(&s);
}

static void test_noisy_trend_ci(void **state)
{
    (void)state;
    /* y = 140 + noise, no trend: the CI must straddle 0 and confidence be low. */
    const double noise[] = {3, -4, 1, 5, -2, -5, 4, 0, -3, 2, 1, -1};
    med_series_t s = {0};
    for (int i = 0; i < 12; i++)
        add(&s, MED_BP, 140 + noise[i], 85, T0 + i * DAY, -1);
    med_stats_t st;
    assert_int_equal(medical_series_stats(&s, MED_BP, &st, NULL), MUSE_OK);
    const med_trend_t *t = &st.c[0].trend;
    assert_true(t->ci_low < 0 && t->ci_high > 0);
    assert_true(t->p_value > 0.05);
    assert_string_equal(t->confidence, "low");
    assert_int_equal(t->direction, 0);
    med_series_free(&s);
}

static void test_morning_evening_and_shares(void **state)
{
    (void)state;
    med_series_t s = {0};
    for (int i = 0; i < 5; i++) {
        add(&s, MED_BP, 150, 95, T0 + i * DAY + 7 * 3600, 7 * 60);   /* morning, stage 2 */
        add(&s, MED_BP, 128, 78, T0 + i * DAY + 21 * 3600, 21 * 60); /* evening, elevated */
    }
    med_stats_t st;
    assert_int_equal(medical_series_stats(&s, MED_BP, &st, NULL), MUSE_OK);
    assert_int_equal(st.c[0].n_morning, 5);
    assert_int_equal(st.c[0].n_evening, 5);
    assert_true(st.c[0].morning_mean == 150 && st.c[0].evening_mean == 128);
    assert_int_equal(st.n_categories, 5);  /* every BP category, zeros included */
    for (int i = 0; i < st.n_categories; i++) {
        if (strcmp(st.categories[i].id, "stage2") == 0 || strcmp(st.categories[i].id, "elevated") == 0)
            assert_true(fabs(st.categories[i].share - 0.5) < 1e-9);
        else
            assert_int_equal(st.categories[i].count, 0);
    }
    med_series_free(&s);
}

static void test_patterns_crisis_and_sustained(void **state)
{
    (void)state;
    med_series_t s = {0};
    const double sys[] = {150, 145, 138, 152, 185, 148, 142, 128, 150, 144};
    const double dia[] = {95, 92, 85, 96, 110, 94, 90, 80, 95, 91};
    for (int i = 0; i < 10; i++)
        add(&s, MED_BP, sys[i], dia[i], -1, -1);
    med_patterns_t p;
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    const med_pattern_t *c = find(&p, "crisis", MED_BP);
    assert_non_null(c);
    assert_string_equal(c->severity, "urgent");
    assert_non_null(strstr(c->explanation, "185/110"));
    assert_non_null(strstr(c->explanation, "1 of your 10 blood pressure readings (185/110) was"));
    const med_pattern_t *st2 = find(&p, "sustained_stage2", MED_BP);
    assert_non_null(st2);
    assert_non_null(strstr(st2->explanation, "8 of your 10"));
    assert_null(find(&p, "rising", MED_BP));
    med_patterns_free(&p);
    med_series_free(&s);

    /* Two high readings out of ten is not sustained. */
    s = (med_series_t){0};
    for (int i = 0; i < 10; i++)
        add(&s, MED_BP, i < 2 ? 145 : 122, 78, -1, -1);
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    assert_null(find(&p, "sustained_stage2", MED_BP));
    assert_null(find(&p, "crisis", MED_BP));
    med_patterns_free(&p);
    med_series_free(&s);
}

static void test_patterns_trend_and_variability(void **state)
{
    (void)state;
    med_series_t s = {0};
    for (int i = 0; i < 15; i++)
        add(&s, MED_BP, 125 + i, 80, T0 + i * DAY, 8 * 60);
    med_patterns_t p;
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    const med_pattern_t *r = find(&p, "rising", MED_BP);
    assert_non_null(r);
    assert_non_null(strstr(r->explanation, "about 7 mmHg a week"));
    assert_non_null(strstr(r->explanation, "high confidence"));
    assert_null(find(&p, "falling", MED_BP));
    med_patterns_free(&p);
    med_series_free(&s);

    s = (med_series_t){0};
    const double sys[] = {110, 160, 118, 165, 120, 158, 112};
    for (int i = 0; i < 7; i++)
        add(&s, MED_BP, sys[i], 75, -1, -1);
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    assert_non_null(find(&p, "high_variability", MED_BP));
    med_patterns_free(&p);
    med_series_free(&s);
}

/* ADAG (Nathan DM et al., Diabetes Care 2008;31:1473-8, Table): A1c 9 %
 * = eAG 212 mg/dL, 95% range 170-249. Glucose readings averaging ~110 are
 * well below it. */
static void test_pattern_a1c_glucose_mismatch(void **state)
{
    (void)state;
    med_series_t s = {0};
    add(&s, MED_A1C, 9, NAN, T0, -1);
    const double g[] = {105, 112, 98, 120, 115};
    for (int i = 0; i < 5; i++)
        add(&s, MED_GLUCOSE, g[i], NAN, T0 + i * DAY, -1);
    med_patterns_t p;
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    const med_pattern_t *m = find(&p, "a1c_glucose_mismatch", MED_GLUCOSE);
    assert_non_null(m);
    assert_non_null(strstr(m->explanation, "about 212 mg/dL"));
    assert_non_null(strstr(m->explanation, "170 to 249"));
    assert_non_null(strstr(m->explanation, "well below"));
    med_patterns_free(&p);
    med_series_free(&s);

    /* A1c 7 (eAG 154, 123-185) with readings averaging 150: consistent. */
    s = (med_series_t){0};
    add(&s, MED_A1C, 7, NAN, T0, -1);
    for (int i = 0; i < 5; i++)
        add(&s, MED_GLUCOSE, 140 + 5 * i, NAN, T0 + i * DAY, -1);
    assert_int_equal(medical_find_patterns(&s, &p, NULL), MUSE_OK);
    assert_null(find(&p, "a1c_glucose_mismatch", MED_GLUCOSE));
    med_patterns_free(&p);
    med_series_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_sd),
        cmocka_unit_test(test_exact_trend),
        cmocka_unit_test(test_noisy_trend_ci),
        cmocka_unit_test(test_morning_evening_and_shares),
        cmocka_unit_test(test_patterns_crisis_and_sustained),
        cmocka_unit_test(test_patterns_trend_and_variability),
        cmocka_unit_test(test_pattern_a1c_glucose_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
