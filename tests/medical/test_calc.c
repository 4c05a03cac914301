/* Calculators (medical_calc). Each test checks the published worked example
 * or guideline table named beside it. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

#define ARGS(...) ((const med_calc_arg_t[]){__VA_ARGS__})
#define NARGS(...) (sizeof((const med_calc_arg_t[]){__VA_ARGS__}) / sizeof(med_calc_arg_t))
#define CALC(name, out, err, ...) medical_calc(name, ARGS(__VA_ARGS__), NARGS(__VA_ARGS__), out, err)

static double ascvd(const char *sex, const char *race)
{
    med_calc_result_t r;
    muse_error_t err = {0};
    int rc = CALC("ascvd", &r, &err, {"age", "55"}, {"sex", sex}, {"race", race}, {"total-chol", "213"},
                  {"hdl", "50"}, {"sbp", "120"}, {"bp-treated", "no"}, {"smoker", "no"}, {"diabetes", "no"});
    if (rc != MUSE_OK)
        fail_msg("ascvd: %s", err.message);
    return r.value;
}

/* Goff DC Jr et al., 2013 ACC/AHA Guideline on the Assessment of
 * Cardiovascular Risk, Table A (example: age 55, total cholesterol 213 mg/dL,
 * HDL 50 mg/dL, untreated systolic 120 mmHg, non-smoker, no diabetes):
 * white women 2.1 %, African-American women 3.0 %, white men 5.3 %,
 * African-American men 6.1 %. */
static void test_ascvd_goff_2013_example(void **state)
{
    (void)state;
    assert_true(fabs(ascvd("female", "white") - 2.1) <= 0.1);
    assert_true(fabs(ascvd("female", "african_american") - 3.0) <= 0.1);
    assert_true(fabs(ascvd("male", "white") - 5.3) <= 0.1);
    assert_true(fabs(ascvd("male", "african_american") - 6.1) <= 0.1);
}

static void test_ascvd_category_and_defaults(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    /* 2019 ACC/AHA primary prevention: <5 % low, 5-7.4 borderline,
     * 7.5-19.9 intermediate, >=20 high. */
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "55"}, {"sex", "m"}, {"race", "white"},
                          {"tc", "213"}, {"hdl", "50"}, {"sbp", "120"}), MUSE_OK);
    assert_string_equal(r.category_id, "borderline");
    assert_non_null(strstr(r.note, "taken as not a smoker"));
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "70"}, {"sex", "male"}, {"race", "white"},
                          {"tc", "240"}, {"hdl", "35"}, {"sbp", "160"}, {"bp-treated", "yes"},
                          {"smoker", "yes"}, {"diabetes", "yes"}), MUSE_OK);
    assert_string_equal(r.category_id, "high");
}

/* Out-of-range inputs are refused with the range (PCE: age 40-79). */
static void test_ascvd_refuses_out_of_range(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "20"}, {"sex", "female"}, {"race", "white"},
                          {"tc", "213"}, {"hdl", "50"}, {"sbp", "120"}), MUSE_ERANGE);
    assert_non_null(strstr(err.message, "--age 20"));
    assert_non_null(strstr(err.message, "40 to 79"));
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "55"}, {"sex", "female"}, {"race", "white"},
                          {"tc", "400"}, {"hdl", "50"}, {"sbp", "120"}), MUSE_ERANGE);
    assert_non_null(strstr(err.message, "130 to 320"));
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "55"}, {"sex", "female"}), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "needs --total-chol") ? err.message : strstr(err.message, "needs --total_chol"));
    assert_int_equal(CALC("ascvd", &r, &err, {"age", "55"}, {"sex", "alien"}), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "female"));
    assert_int_equal(CALC("ascvd", &r, &err, {"weight", "55"}), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "no parameter --weight"));
}

/* Inker LA et al., N Engl J Med 2021;385:1737-49 (CKD-EPI 2021, race-free):
 * eGFR = 142 x min(Scr/k,1)^a x max(Scr/k,1)^-1.200 x 0.9938^age x 1.012
 * [female]. A 55-year-old woman with creatinine 0.9 mg/dL: about 76. */
static void test_egfr_ckd_epi_2021(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(CALC("egfr", &r, &err, {"creatinine", "0.9"}, {"age", "55"}, {"sex", "female"}), MUSE_OK);
    assert_true(fabs(r.value - 76) < 1.0);
    double expect = 142 * pow(0.9 / 0.7, -1.200) * pow(0.9938, 55) * 1.012;
    assert_true(fabs(r.value - expect) < 1e-9);
    assert_string_equal(r.category_id, "G2");  /* KDIGO: 60-89 */
    assert_string_equal(r.unit, "mL/min/{1.73_m2}");
    /* Creatinine in umol/L converts at 88.42 umol/L per mg/dL. */
    med_calc_result_t r2;
    assert_int_equal(CALC("egfr", &r2, &err, {"creatinine", "79.578umol/L"}, {"age", "55"}, {"sex", "f"}), MUSE_OK);
    assert_true(fabs(r2.value - r.value) < 0.01);
    /* A man, creatinine 1.0 at 50: 142 x (1/0.9)^-1.2 x 0.9938^50 = 89.9. */
    assert_int_equal(CALC("egfr", &r, &err, {"creatinine", "1.0"}, {"age", "50"}, {"sex", "male"}), MUSE_OK);
    assert_true(fabs(r.value - 142 * pow(1 / 0.9, -1.2) * pow(0.9938, 50)) < 1e-9);
    assert_int_equal(CALC("egfr", &r, &err, {"creatinine", "0.9"}, {"age", "15"}, {"sex", "female"}), MUSE_ERANGE);
}

/* Nathan DM et al., Diabetes Care 2008;31:1473-8 (ADAG): eAG (mg/dL) =
 * 28.7 x A1c - 46.7; A1c 7 % -> 154 mg/dL (8.6 mmol/L). */
static void test_eag_adag(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(CALC("eag", &r, &err, {"a1c", "7"}), MUSE_OK);
    assert_true(fabs(r.value - 154.2) < 1e-9);
    assert_non_null(strstr(r.note, "8.6 mmol/L"));
    cJSON *j = medical_calc_result_json(&r);
    assert_true(cJSON_GetObjectItem(j, "value")->valuedouble == 154);
    assert_string_equal(cJSON_GetObjectItem(j, "unit")->valuestring, "mg/dL");
    assert_non_null(strstr(cJSON_GetObjectItem(j, "source")->valuestring, "Nathan"));
    cJSON_Delete(j);
    /* 53 mmol/mol (IFCC) = 7.0 % (NGSP) */
    assert_int_equal(CALC("eag", &r, &err, {"a1c", "53 mmol/mol"}), MUSE_OK);
    assert_true(fabs(r.value - 154.2) < 0.1);
}

/* CDC, "Calculating BMI using the English system": 150 lb, 5 ft 5 in ->
 * [150 / (65)^2] x 703 = 24.96. */
static void test_bmi_cdc_example(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(CALC("bmi", &r, &err, {"weight", "150lb"}, {"height", "5ft5in"}), MUSE_OK);
    assert_true(fabs(r.value - 24.96) < 0.01);
    /* Shown as 25.0, and classified as shown: WHO's table gives normal as
     * 18.5-24.9 at one decimal, so 25.0 is pre-obesity. */
    assert_string_equal(r.category_id, "overweight");
    /* 70 kg, 175 cm: 22.9 (WHO normal range) */
    assert_int_equal(CALC("bmi", &r, &err, {"weight", "70"}, {"height", "175"}), MUSE_OK);
    assert_true(fabs(r.value - 70 / (1.75 * 1.75)) < 1e-9);
    assert_int_equal(CALC("bmi", &r, &err, {"weight", "70"}, {"height", "1.75m"}), MUSE_OK);
    assert_true(fabs(r.value - 22.857) < 0.01);
    assert_int_equal(CALC("bmi", &r, &err, {"weight", "seventy"}, {"height", "175"}), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "--weight"));
}

/* Mifflin MD et al., Am J Clin Nutr 1990;51:241-7: REE = 10 x weight (kg)
 * + 6.25 x height (cm) - 5 x age (y) + 5 (men) or - 161 (women). */
static void test_bmr_mifflin(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(CALC("bmr", &r, &err, {"weight", "80"}, {"height", "180"}, {"age", "30"}, {"sex", "male"}), MUSE_OK);
    assert_true(fabs(r.value - 1780) < 1e-9);
    assert_int_equal(CALC("bmr", &r, &err, {"weight", "60"}, {"height", "165"}, {"age", "40"}, {"sex", "female"}), MUSE_OK);
    assert_true(fabs(r.value - (600 + 1031.25 - 200 - 161)) < 1e-9);
}

static void test_unknown_calculator(void **state)
{
    (void)state;
    med_calc_result_t r;
    muse_error_t err = {0};
    assert_int_equal(medical_calc("qrisk", NULL, 0, &r, &err), MUSE_ENOTFOUND);
    assert_non_null(strstr(err.message, "bmi"));
    assert_non_null(medical_calculators());
    assert_true(cJSON_GetArraySize((cJSON *)medical_calculators()) >= 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascvd_goff_2013_example),
        cmocka_unit_test(test_ascvd_category_and_defaults),
        cmocka_unit_test(test_ascvd_refuses_out_of_range),
        cmocka_unit_test(test_egfr_ckd_epi_2021),
        cmocka_unit_test(test_eag_adag),
        cmocka_unit_test(test_bmi_cdc_example),
        cmocka_unit_test(test_bmr_mifflin),
        cmocka_unit_test(test_unknown_calculator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
