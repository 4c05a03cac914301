/* Measurements in free text (medical_parse_text). Reference time for dates
 * without a year and for weekdays: Monday 2026-11-02 12:00 (wall clock). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

#define NOW_2026_11_02_NOON ((int64_t)1793620800)  /* 2026-11-02T12:00:00 */

static med_series_t parse(const char *text)
{
    med_series_t s;
    med_parse_opts_t o = {.now = NOW_2026_11_02_NOON};
    muse_error_t err = {0};
    int rc = medical_parse_text_opts(text, &o, &s, &err);
    if (rc != MUSE_OK)
        fail_msg("parse \"%s\": %s", text, err.message);
    return s;
}

static int64_t at(int y, int mo, int d, int h, int mi)
{
    /* days from civil, as in the module; checked against the reference. */
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60;
}

static void test_reference_time(void **state)
{
    (void)state;
    assert_int_equal(at(2026, 11, 2, 12, 0), NOW_2026_11_02_NOON);
}

static void test_bp_forms(void **state)
{
    (void)state;
    const char *forms[] = {"Is 150/95 high?", "150 over 95", "BP 150/95 mmHg", "blood pressure: 150 / 95",
                           "150/95 p 72", "150/95, pulse 72", "150/95 72 bpm"};
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++) {
        med_series_t s = parse(forms[i]);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.v[0].kind, MED_BP);
        assert_true(s.v[0].value == 150 && s.v[0].value2 == 95);
        assert_int_equal(s.v[0].implausible, 0);
        if (i >= 4)
            assert_true(s.v[0].pulse == 72);
        else
            assert_true(isnan(s.v[0].pulse));
        med_series_free(&s);
    }
}

static void test_bp_span(void **state)
{
    (void)state;
    const char *t = "Is 150/95 high?";
    med_series_t s = parse(t);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].start, 3);
    assert_int_equal(s.v[0].end, 9);
    med_series_free(&s);
}

static void test_dates_and_times(void **state)
{
    (void)state;
    med_series_t s = parse("2026-11-02 07:30 138/88\n2026-11-02 19:45 141/90\n");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].time, at(2026, 11, 2, 7, 30));
    assert_int_equal(s.v[0].tod_min, 7 * 60 + 30);
    assert_true(s.v[0].time_flags & MED_TIME_DATE);
    assert_true(s.v[0].time_flags & MED_TIME_CLOCK);
    assert_false(s.v[0].time_flags & MED_TIME_INFERRED);
    assert_int_equal(s.v[1].time, at(2026, 11, 2, 19, 45));
    assert_true(s.v[1].value == 141 && s.v[1].value2 == 90);
    med_series_free(&s);

    s = parse("2026-11-02T07:30:00-05:00 138/88");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].time, at(2026, 11, 2, 12, 30));
    assert_int_equal(s.v[0].tod_min, 7 * 60 + 30);  /* the person's clock */
    assert_int_equal(s.v[0].utc_offset_min, -300);
    med_series_free(&s);
}

static void test_weekdays(void **state)
{
    (void)state;
    /* Reference is Monday 2 Nov: the last weekday named (Tue) is 27 Oct,
     * and the Monday before it 26 Oct. */
    med_series_t s = parse("Mon 8am 142/91\nMon 8pm 150/95\nTue 8am 138/88");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.v[0].time, at(2026, 10, 26, 8, 0));
    assert_int_equal(s.v[1].time, at(2026, 10, 26, 20, 0));
    assert_int_equal(s.v[2].time, at(2026, 10, 27, 8, 0));
    assert_true(s.v[0].time_flags & MED_TIME_INFERRED);
    assert_non_null(strstr(s.v[0].note, "2026-10-26"));
    med_series_free(&s);

    s = parse("Mon 8am 142/91, 8pm 150/95");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].tod_min, 8 * 60);
    assert_int_equal(s.v[1].tod_min, 20 * 60);
    med_series_free(&s);
}

static void test_times_after_reading(void **state)
{
    (void)state;
    med_series_t s = parse("142/91 at 8am, 150/95 at 9:30pm");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[0].tod_min, 8 * 60);
    assert_int_equal(s.v[1].tod_min, 21 * 60 + 30);
    assert_int_equal(s.v[0].time, -1);  /* no date */
    med_series_free(&s);
}

static void test_dates_carry_down(void **state)
{
    (void)state;
    med_series_t s = parse("Nov 1:\n  7am 135/85\n  9pm 128/80\n2 Nov 2026\n  7am 139/88");
    assert_int_equal(s.n, 3);
    assert_int_equal(s.v[0].time, at(2026, 11, 1, 7, 0));
    assert_int_equal(s.v[1].time, at(2026, 11, 1, 21, 0));
    assert_int_equal(s.v[2].time, at(2026, 11, 2, 7, 0));
    med_series_free(&s);
}

static void test_a_date_is_not_a_bp(void **state)
{
    (void)state;
    med_series_t s = parse("10/12 BP 120/80, 11/02/2026 118/76");
    assert_int_equal(s.n, 2);
    assert_true(s.v[0].value == 120);
    assert_int_equal(s.v[0].time, at(2026, 10, 12, 0, 0));
    assert_int_equal(s.v[1].time, at(2026, 11, 2, 0, 0));
    med_series_free(&s);
}

static void test_labs_with_units(void **state)
{
    (void)state;
    med_series_t s = parse("A1c 7.2, fasting sugar 140, LDL 3.4 mmol/L, HDL 1.2 mmol/l, "
                           "triglycerides 1.7 mmol/L, total cholesterol 5.2 mmol/L, "
                           "creatinine 80 umol/L, eGFR 58, HbA1c 53 mmol/mol");
    assert_int_equal(s.n, 9);
    assert_int_equal(s.v[0].kind, MED_A1C);
    assert_true(fabs(s.v[0].value - 7.2) < 1e-9);
    assert_int_equal(s.v[0].assumed_unit, 0);  /* % is the only realistic unit */
    assert_int_equal(s.v[1].kind, MED_GLUCOSE);
    assert_true(s.v[1].value == 140);
    assert_int_equal(s.v[1].fasting, 1);
    /* Conversion factors: cholesterol 38.67, triglycerides 88.57,
     * creatinine 88.42 (units.json, with sources). */
    assert_int_equal(s.v[2].kind, MED_LDL);
    assert_true(fabs(s.v[2].value - 3.4 * 38.67) < 1e-9);
    assert_int_equal(s.v[3].kind, MED_HDL);
    assert_true(fabs(s.v[3].value - 1.2 * 38.67) < 1e-9);
    assert_int_equal(s.v[4].kind, MED_TRIGLYCERIDES);
    assert_true(fabs(s.v[4].value - 1.7 * 88.57) < 1e-9);
    assert_int_equal(s.v[5].kind, MED_CHOL_TOTAL);
    assert_int_equal(s.v[6].kind, MED_CREATININE);
    assert_true(fabs(s.v[6].value - 80 / 88.42) < 1e-9);
    assert_int_equal(s.v[7].kind, MED_EGFR);
    assert_true(s.v[7].value == 58);
    /* IFCC 53 mmol/mol = NGSP 7.0 % (0.09148 x 53 + 2.152). */
    assert_int_equal(s.v[8].kind, MED_A1C);
    assert_true(fabs(s.v[8].value - 7.0) < 0.01);
    med_series_free(&s);
}

static void test_glucose_units_and_assumptions(void **state)
{
    (void)state;
    med_series_t s = parse("glucose 5.6 mmol/L; glucose 7; blood sugar 180 after lunch; "
                           "glucose 98 (fasting)");
    assert_int_equal(s.n, 4);
    assert_true(fabs(s.v[0].value - 5.6 * 18.016) < 1e-9);  /* 18.016 mg/dL per mmol/L */
    assert_int_equal(s.v[0].assumed_unit, 0);
    /* "glucose 7" has no unit: taken as mmol/L, and the note says so. */
    assert_int_equal(s.v[1].assumed_unit, 1);
    assert_true(fabs(s.v[1].value - 7 * 18.016) < 1e-9);
    assert_non_null(strstr(s.v[1].note, "taken as mmol/L"));
    assert_int_equal(s.v[2].fasting, 0);
    assert_int_equal(s.v[3].fasting, 1);
    med_series_free(&s);
}

static void test_vitals(void **state)
{
    (void)state;
    med_series_t s = parse("temp 38.5C, temperature 101.3 F, 98.6°F, HR 58, SpO2 97%, "
                           "weight 180 lb, weight 82 kg, 12 st 4 lb, height 5'10\", 178 cm height 1.78m, "
                           "BMI 31.2, pulse ox 94%");
    size_t i = 0;
    assert_int_equal(s.v[i].kind, MED_TEMPERATURE);
    assert_true(fabs(s.v[i].value - 38.5) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_TEMPERATURE);
    assert_true(fabs(s.v[i].value - (101.3 - 32) * 5 / 9) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_TEMPERATURE);
    assert_true(fabs(s.v[i].value - 37) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_HEART_RATE);
    assert_true(s.v[i].value == 58);
    i++;
    assert_int_equal(s.v[i].kind, MED_SPO2);
    assert_true(s.v[i].value == 97);
    i++;
    assert_int_equal(s.v[i].kind, MED_WEIGHT);
    assert_true(fabs(s.v[i].value - 180 * 0.45359237) < 1e-9);
    i++;
    assert_true(s.v[i].value == 82);
    i++;
    assert_int_equal(s.v[i].kind, MED_WEIGHT);
    assert_true(fabs(s.v[i].value - 172 * 0.45359237) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_HEIGHT);
    assert_true(fabs(s.v[i].value - 70 * 2.54) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_HEIGHT);  /* "178 cm height" is not picked up standalone */
    assert_true(fabs(s.v[i].value - 178) < 1e-9);
    i++;
    assert_int_equal(s.v[i].kind, MED_BMI);
    i++;
    assert_int_equal(s.v[i].kind, MED_SPO2);
    assert_true(s.v[i].value == 94);
    i++;
    assert_int_equal(s.n, i);
    med_series_free(&s);
}

static void test_implausible_flagged(void **state)
{
    (void)state;
    med_series_t s = parse("BP 400/20, SpO2 130%, weight -5 kg, 80/120");
    assert_int_equal(s.n, 4);
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.v[i].implausible, 1);
        assert_non_null(strstr(s.v[i].note, "implausible"));
    }
    med_series_free(&s);
}

static void test_not_measurements(void **state)
{
    (void)state;
    const char *texts[] = {"I lost 5 kg last month", "fever for 3 days", "I take 20 mg of lisinopril",
                           "on the 21st of the month", "open 24/7", "aged 55, my mother had diabetes",
                           "glucose test tomorrow", ""};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        med_series_t s = parse(texts[i]);
        if (s.n != 0)
            fail_msg("\"%s\": %zu readings, first %s %g", texts[i], s.n,
                     medical_kind_name(s.v[0].kind), s.v[0].value);
        med_series_free(&s);
    }
}

static void test_invalid_utf8_is_skipped(void **state)
{
    (void)state;
    med_series_t s = parse("\xff\xfe 150/95 \xc3");
    assert_int_equal(s.n, 1);
    med_series_free(&s);
}

/* A parsed series can be appended to (its capacity is what
 * med_series_push expects). */
static void test_push_after_parse(void **state)
{
    (void)state;
    med_series_t s = parse("150/95, 140/90, 130/85");
    assert_int_equal(s.n, 3);
    med_reading_t r;
    med_reading_init(&r, MED_HEART_RATE);
    medical_reading_set(&r, MED_HEART_RATE, 70, NAN, NULL, NULL);
    for (int i = 0; i < 40; i++)
        assert_int_equal(med_series_push(&s, &r), MUSE_OK);
    assert_int_equal(s.n, 43);
    assert_true(s.v[42].value == 70 && s.v[0].value == 150);
    med_series_free(&s);
}

static void test_big_paste(void **state)
{
    (void)state;
    size_t n = 2000;
    char *buf = malloc(n * 40 + 1);
    assert_non_null(buf);
    size_t off = 0;
    for (size_t i = 0; i < n; i++)
        off += (size_t)sprintf(buf + off, "2026-%02zu-%02zu 07:%02zu %zu/%zu\n", 1 + i % 12,
                               1 + i % 28, i % 60, 120 + i % 40, 70 + i % 25);
    med_series_t s = parse(buf);
    assert_int_equal(s.n, n);
    assert_true(s.v[n - 1].value == 120 + (n - 1) % 40);
    assert_true(s.v[n - 1].time_flags & MED_TIME_CLOCK);
    med_series_free(&s);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_time),
        cmocka_unit_test(test_bp_forms),
        cmocka_unit_test(test_bp_span),
        cmocka_unit_test(test_dates_and_times),
        cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_times_after_reading),
        cmocka_unit_test(test_dates_carry_down),
        cmocka_unit_test(test_a_date_is_not_a_bp),
        cmocka_unit_test(test_labs_with_units),
        cmocka_unit_test(test_glucose_units_and_assumptions),
        cmocka_unit_test(test_vitals),
        cmocka_unit_test(test_implausible_flagged),
        cmocka_unit_test(test_not_measurements),
        cmocka_unit_test(test_invalid_utf8_is_skipped),
        cmocka_unit_test(test_push_after_parse),
        cmocka_unit_test(test_big_paste),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
