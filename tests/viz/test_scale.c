/* Scales, ticks, times and number formats (viz/viz_scale.c, viz/viz_util.c). */
#include <math.h>

#include "viz_test.h"
#include "viz/viz_int.h"

/* Talbot, Lin & Hanrahan (2010), and R's labeling::extended(), which is
 * the authors' reference implementation: extended(0, 100, 5) gives
 * 0 25 50 75 100; extended(8.1, 14.1, 4) gives 8 10 12 14. */
static void test_wilkinson_reference(void **state)
{
    (void)state;
    double start, step;
    int k;
    assert_int_equal(viz_ticks_wilkinson(0, 100, 5, 0, &start, &step, &k), 5);
    assert_true(fabs(start - 0) < 1e-9);
    assert_true(fabs(step - 25) < 1e-9);
    assert_int_equal(viz_ticks_wilkinson(8.1, 14.1, 4, 0, &start, &step, &k), 4);
    assert_true(fabs(start - 8) < 1e-9);
    assert_true(fabs(step - 2) < 1e-9);
}

/* Properties over many ranges: steps are 1, 2, 2.5, 5 (or 3, 4) times a
 * power of ten, loose ticks cover the data, the count stays near m. */
static void test_wilkinson_properties(void **state)
{
    (void)state;
    double los[] = {0, -3.7, 118, 0.001, 1e6, -250, 5.7};
    double his[] = {1, 12.2, 186, 0.0093, 3.5e6, -20, 7.2};
    for (size_t i = 0; i < sizeof los / sizeof los[0]; i++) {
        double start, step;
        int k;
        assert_true(viz_ticks_wilkinson(los[i], his[i], 5, 1, &start, &step, &k) > 0);
        assert_true(start <= los[i] + 1e-9 * step);
        assert_true(start + step * (k - 1) >= his[i] - 1e-9 * step);
        assert_in_range(k, 3, 9);
        double mant = step / pow(10, floor(log10(step) + 1e-12));
        int nice = 0;
        double ok[] = {1, 2, 2.5, 3, 4, 5};
        for (int q = 0; q < 6; q++)
            nice |= fabs(mant - ok[q]) < 1e-6;
        assert_true(nice);
    }
    double start, step;
    int k;
    assert_int_equal(viz_ticks_wilkinson(5, 5, 5, 1, &start, &step, &k), 0);
    assert_int_equal(viz_ticks_wilkinson(NAN, 5, 5, 1, &start, &step, &k), 0);
    assert_int_equal(viz_ticks_wilkinson(0, INFINITY, 5, 1, &start, &step, &k), 0);
}

static void test_time_units(void **state)
{
    (void)state;
    viz_tunit_t u;
    int st;
    viz_time_unit(86400, 8, &u, &st);            /* one day: every 3 hours */
    assert_int_equal(u, VIZ_TU_HOUR);
    assert_int_equal(st, 3);
    viz_time_unit(14 * 86400, 8, &u, &st);       /* two weeks: every other day */
    assert_int_equal(u, VIZ_TU_DAY);
    assert_int_equal(st, 2);
    viz_time_unit(90 * 86400, 8, &u, &st);       /* a quarter: fortnights */
    assert_int_equal(u, VIZ_TU_WEEK);
    viz_time_unit(730 * 86400, 8, &u, &st);      /* two years: quarters */
    assert_int_equal(u, VIZ_TU_MONTH);
    assert_int_equal(st, 3);
    viz_time_unit(30 * 365.25 * 86400, 8, &u, &st);
    assert_int_equal(u, VIZ_TU_YEAR);
    assert_int_equal(st, 5);
    viz_time_unit(3600, 6, &u, &st);
    assert_int_equal(u, VIZ_TU_MINUTE);
}

/* Week ticks fall on Mondays, month ticks on the first, and labels carry
 * the year where it changes. */
static void test_time_ticks(void **state)
{
    (void)state;
    viz_scale_t s = {0};
    s.type = VIZ_SCALE_TIME;
    assert_true(viz_parse_time("2024-02-20", &s.d0));
    assert_true(viz_parse_time("2024-05-10", &s.d1));
    s.r0 = 0;
    s.r1 = 600;
    assert_int_equal(viz_scale_ticks(&s, 8, 0, -1), MUSE_OK);
    assert_true(s.nticks >= 4);
    assert_int_equal(s.tunit, VIZ_TU_WEEK);
    for (size_t i = 0; i < s.nticks; i++) {
        int64_t days = (int64_t)floor(s.ticks[i] / 86400.0);
        assert_int_equal(((days % 7) + 7 + 3) % 7, 0);   /* 1970-01-01 was a Thursday */
    }
    viz_scale_clear(&s);

    assert_true(viz_parse_time("2023-11-15", &s.d0));
    assert_true(viz_parse_time("2025-02-01", &s.d1));
    assert_int_equal(viz_scale_ticks(&s, 6, 0, -1), MUSE_OK);
    assert_int_equal(s.tunit, VIZ_TU_MONTH);
    int saw_year = 0;
    for (size_t i = 0; i < s.nticks; i++) {
        int64_t y;
        unsigned m, d;
        viz_civil_from_days((int64_t)floor(s.ticks[i] / 86400.0), &y, &m, &d);
        assert_int_equal(d, 1);
        if (strstr(s.labels[i], "2025"))
            saw_year = 1;
    }
    assert_true(saw_year);
    assert_non_null(strstr(s.labels[0], "202"));   /* the first label names its year */
    viz_scale_clear(&s);
}

static void test_parse_time(void **state)
{
    (void)state;
    double t;
    assert_true(viz_parse_time("1970-01-01", &t));
    assert_true(t == 0);
    assert_true(viz_parse_time("2024-03-01T08:30", &t));
    assert_true(viz_parse_time("2024-03-01T08:30:15.5Z", &t));
    double wall;
    /* An offset is read but the wall clock is kept (medical.h keeps times so). */
    assert_true(viz_parse_time("2024-03-01T08:30:00+02:00", &wall));
    double plain;
    assert_true(viz_parse_time("2024-03-01 08:30:00", &plain));
    assert_true(wall == plain);
    assert_true(viz_parse_time("2024-02-29", &t));     /* leap day */
    assert_false(viz_parse_time("2023-02-29", &t));
    assert_false(viz_parse_time("2024-02-30", &t));
    assert_false(viz_parse_time("2024-13-01", &t));
    assert_false(viz_parse_time("2024-03-01T25:00", &t));
    assert_false(viz_parse_time("03/01/2024", &t));
    assert_false(viz_parse_time("2024-03-01T08:30junk", &t));
    assert_false(viz_parse_time("", &t));
    char buf[64];
    assert_true(viz_parse_time("2024-03-04T07:05", &t));
    viz_format_datetime(t, 1, buf, sizeof buf);
    assert_string_equal(buf, "Mar 4, 2024 07:05");
    viz_format_datetime(t, 0, buf, sizeof buf);
    assert_string_equal(buf, "Mar 4, 2024");
}

static void test_format_number(void **state)
{
    (void)state;
    char b[64];
    viz_format_number(142, -1, b, sizeof b);
    assert_string_equal(b, "142");
    viz_format_number(7.25, -1, b, sizeof b);
    assert_string_equal(b, "7.25");
    viz_format_number(7.2, 1, b, sizeof b);
    assert_string_equal(b, "7.2");
    viz_format_number(-3, 0, b, sizeof b);
    assert_string_equal(b, "−3");
    viz_format_number(-0.0001, 2, b, sizeof b);
    assert_string_equal(b, "0");
    viz_format_number(12500, 0, b, sizeof b);
    assert_string_equal(b, "12,500");
    viz_format_number(1000000, 0, b, sizeof b);
    assert_string_equal(b, "1,000,000");
    viz_format_number(2024, 0, b, sizeof b);
    assert_string_equal(b, "2024");
    viz_format_number(NAN, 0, b, sizeof b);
    assert_string_equal(b, "–");
}

static void test_log_and_band_scales(void **state)
{
    (void)state;
    viz_scale_t s = {0};
    s.type = VIZ_SCALE_LOG;
    s.d0 = 3;
    s.d1 = 4000;
    s.r0 = 0;
    s.r1 = 300;
    assert_int_equal(viz_scale_ticks(&s, 6, 1, -1), MUSE_OK);
    assert_true(s.d0 == 1 && s.d1 == 10000);
    assert_true(s.nticks >= 5);
    assert_true(fabs(viz_scale_map(&s, 100) - 150) < 1e-6);   /* 2 of 4 decades */
    viz_scale_clear(&s);

    char *cats[] = {"HbA1c", "LDL", "HDL"};
    viz_scale_t b = {0};
    b.type = VIZ_SCALE_BAND;
    b.cats = cats;
    b.ncats = 3;
    b.r0 = 0;
    b.r1 = 300;
    b.padding = 0.2;
    assert_true(fabs(viz_scale_bandwidth(&b) - 80) < 1e-9);
    assert_true(fabs(viz_scale_map(&b, 1) - 150) < 1e-9);
    assert_int_equal(viz_scale_ticks(&b, 5, 0, -1), MUSE_OK);
    assert_int_equal(b.nticks, 3);
    assert_string_equal(b.labels[2], "HDL");
    viz_scale_clear(&b);
}

static void test_colors(void **state)
{
    (void)state;
    viz_rgba_t c;
    assert_true(viz_color_parse("#0072B2", &c));
    assert_int_equal(c.r, 0);
    assert_int_equal(c.g, 0x72);
    assert_true(viz_color_parse("#fff", &c));
    assert_int_equal(c.b, 255);
    assert_true(viz_color_parse("vermillion", &c));
    assert_int_equal(c.r, 0xD5);
    assert_false(viz_color_parse("#12345", &c));
    assert_false(viz_color_parse("javascript:alert(1)", &c));
    /* WCAG 2.x: black on white is 21:1, white on white 1:1. */
    viz_rgba_t w = {255, 255, 255, 255}, k = {0, 0, 0, 255};
    assert_true(fabs(viz_contrast_ratio(w, k) - 21) < 1e-9);
    assert_true(fabs(viz_contrast_ratio(w, w) - 1) < 1e-9);
    /* Every severity tint keeps our softest text colour (#595959) at 4.5:1 or more. */
    viz_rgba_t note = {0x59, 0x59, 0x59, 255};
    for (int max = 1; max <= 6; max++)
        for (int lv = 0; lv <= max; lv++)
            assert_true(viz_contrast_ratio(note, viz_severity_color(lv, max)) >= 4.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilkinson_reference),
        cmocka_unit_test(test_wilkinson_properties),
        cmocka_unit_test(test_time_units),
        cmocka_unit_test(test_time_ticks),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_format_number),
        cmocka_unit_test(test_log_and_band_scales),
        cmocka_unit_test(test_colors),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
