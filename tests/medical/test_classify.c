/* Classification against medical/data/ranges.json. Expected categories come
 * from the guideline tables cited beside each test. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

static const char *bp_class(double sys, double dia)
{
    static _Thread_local med_class_t c;
    med_reading_t r;
    med_reading_init(&r, MED_BP);
    assert_int_equal(medical_reading_set(&r, MED_BP, sys, dia, NULL, NULL), MUSE_OK);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_OK);
    return c.id;
}

static const char *one_class(med_kind_t k, double v, const char *unit, int fasting)
{
    static _Thread_local med_class_t c;
    med_reading_t r;
    med_reading_init(&r, k);
    r.fasting = fasting;
    assert_int_equal(medical_reading_set(&r, k, v, NAN, unit, NULL), MUSE_OK);
    muse_error_t err = {0};
    int rc = medical_classify(&r, &c, &err);
    if (rc != MUSE_OK)
        fail_msg("classify %s %g: %s", medical_kind_name(k), v, err.message);
    return c.id;
}

/* Whelton PK et al., 2017 ACC/AHA High Blood Pressure Guideline, Table 6:
 * normal <120 and <80; elevated 120-129 and <80; stage 1 130-139 or 80-89;
 * stage 2 >=140 or >=90; "individuals with SBP and DBP in 2 categories
 * should be designated to the higher BP category"; crisis >180 and/or >120
 * (section 11.2). */
static void test_bp_acc_aha_2017(void **state)
{
    (void)state;
    assert_string_equal(bp_class(118, 76), "normal");
    assert_string_equal(bp_class(119, 79), "normal");
    assert_string_equal(bp_class(120, 79), "elevated");
    assert_string_equal(bp_class(129, 79), "elevated");
    assert_string_equal(bp_class(130, 79), "stage1");
    assert_string_equal(bp_class(118, 80), "stage1");
    assert_string_equal(bp_class(125, 85), "stage1");   /* higher category wins */
    assert_string_equal(bp_class(139, 89), "stage1");
    assert_string_equal(bp_class(140, 70), "stage2");
    assert_string_equal(bp_class(128, 90), "stage2");
    assert_string_equal(bp_class(150, 95), "stage2");   /* "Is 150/95 high?" */
    assert_string_equal(bp_class(180, 120), "stage2");  /* crisis is strictly above */
    assert_string_equal(bp_class(181, 100), "crisis");
    assert_string_equal(bp_class(170, 121), "crisis");
}

static void test_bp_class_fields(void **state)
{
    (void)state;
    med_reading_t r;
    med_class_t c;
    med_reading_init(&r, MED_BP);
    medical_reading_set(&r, MED_BP, 150, 95, "mm[Hg]", NULL);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_OK);
    assert_string_equal(c.label, "Stage 2 hypertension");
    assert_int_equal(c.level, 3);
    assert_int_equal(c.max_level, 4);
    assert_string_equal(c.decided_by, "both");
    assert_non_null(strstr(c.source, "American College of Cardiology"));
    assert_string_equal(c.url, "https://doi.org/10.1161/HYP.0000000000000065");

    medical_reading_set(&r, MED_BP, 150, 70, "mm[Hg]", NULL);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_OK);
    assert_string_equal(c.decided_by, "systolic");
}

static void test_implausible_not_classified(void **state)
{
    (void)state;
    med_reading_t r;
    med_class_t c;
    muse_error_t err = {0};
    med_reading_init(&r, MED_BP);
    medical_reading_set(&r, MED_BP, 400, 20, NULL, NULL);
    assert_int_equal(r.implausible, 1);
    assert_int_equal(medical_classify(&r, &c, &err), MUSE_ERANGE);
    assert_non_null(strstr(err.message, "systolic 400"));

    medical_reading_set(&r, MED_BP, 80, 120, NULL, NULL);  /* diastolic above systolic */
    assert_int_equal(r.implausible, 1);

    med_reading_init(&r, MED_SPO2);
    medical_reading_set(&r, MED_SPO2, 130, NAN, "%", NULL);
    assert_int_equal(r.implausible, 1);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_ERANGE);

    med_reading_init(&r, MED_WEIGHT);
    medical_reading_set(&r, MED_WEIGHT, -5, NAN, "kg", NULL);
    assert_int_equal(r.implausible, 1);
}

/* ADA Standards of Care in Diabetes-2024, section 2, Table 2.1/2.5:
 * A1c >=6.5 % diabetes, 5.7-6.4 % prediabetes; fasting plasma glucose
 * >=126 mg/dL diabetes, 100-125 mg/dL prediabetes. Section 6, Table 6.4:
 * level 1 hypoglycaemia <70 mg/dL, level 2 <54 mg/dL. */
static void test_ada_diabetes(void **state)
{
    (void)state;
    assert_string_equal(one_class(MED_A1C, 5.6, "%", -1), "normal");
    assert_string_equal(one_class(MED_A1C, 5.7, "%", -1), "prediabetes");
    assert_string_equal(one_class(MED_A1C, 6.4, "%", -1), "prediabetes");
    assert_string_equal(one_class(MED_A1C, 6.5, "%", -1), "diabetes");
    assert_string_equal(one_class(MED_A1C, 48, "mmol/mol", -1), "diabetes"); /* 48 mmol/mol = 6.5 % */
    assert_string_equal(one_class(MED_GLUCOSE, 99, "mg/dL", 1), "normal");
    assert_string_equal(one_class(MED_GLUCOSE, 100, "mg/dL", 1), "prediabetes");
    assert_string_equal(one_class(MED_GLUCOSE, 125, "mg/dL", 1), "prediabetes");
    assert_string_equal(one_class(MED_GLUCOSE, 126, "mg/dL", 1), "diabetes");
    assert_string_equal(one_class(MED_GLUCOSE, 7.0, "mmol/L", 1), "diabetes"); /* 126.1 mg/dL */
    assert_string_equal(one_class(MED_GLUCOSE, 65, "mg/dL", 1), "low");
    assert_string_equal(one_class(MED_GLUCOSE, 50, "mg/dL", 1), "very_low");
    /* After a meal only >=200 mg/dL is in the diabetes range (ADA criterion 3). */
    assert_string_equal(one_class(MED_GLUCOSE, 160, "mg/dL", 0), "not_diagnostic");
    assert_string_equal(one_class(MED_GLUCOSE, 210, "mg/dL", 0), "diabetes");
}

static void test_glucose_unknown_fasting_says_so(void **state)
{
    (void)state;
    med_reading_t r;
    med_class_t c;
    med_reading_init(&r, MED_GLUCOSE);
    medical_reading_set(&r, MED_GLUCOSE, 140, NAN, "mg/dL", NULL);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_OK);
    assert_string_equal(c.id, "diabetes");
    assert_non_null(strstr(c.note, "not said whether this glucose was taken fasting"));
}

/* WHO BMI classification (TRS 894, Table 2.1): <18.5 underweight,
 * 18.5-24.9 normal, 25-29.9 pre-obese, 30-34.9 obese I, 35-39.9 II, >=40 III. */
static void test_who_bmi(void **state)
{
    (void)state;
    assert_string_equal(one_class(MED_BMI, 18.4, NULL, -1), "underweight");
    assert_string_equal(one_class(MED_BMI, 18.5, NULL, -1), "normal");
    assert_string_equal(one_class(MED_BMI, 24.9, NULL, -1), "normal");
    assert_string_equal(one_class(MED_BMI, 25, NULL, -1), "overweight");
    assert_string_equal(one_class(MED_BMI, 30, NULL, -1), "obese1");
    assert_string_equal(one_class(MED_BMI, 35, NULL, -1), "obese2");
    assert_string_equal(one_class(MED_BMI, 40, NULL, -1), "obese3");
}

/* NCEP ATP III (Circulation 2002;106:3143), Table II.1-1. */
static void test_atp3_lipids(void **state)
{
    (void)state;
    assert_string_equal(one_class(MED_LDL, 99, "mg/dL", -1), "optimal");
    assert_string_equal(one_class(MED_LDL, 100, "mg/dL", -1), "near_optimal");
    assert_string_equal(one_class(MED_LDL, 130, "mg/dL", -1), "borderline_high");
    assert_string_equal(one_class(MED_LDL, 160, "mg/dL", -1), "high");
    assert_string_equal(one_class(MED_LDL, 190, "mg/dL", -1), "very_high");
    assert_string_equal(one_class(MED_CHOL_TOTAL, 199, "mg/dL", -1), "desirable");
    assert_string_equal(one_class(MED_CHOL_TOTAL, 200, "mg/dL", -1), "borderline_high");
    assert_string_equal(one_class(MED_CHOL_TOTAL, 240, "mg/dL", -1), "high");
    assert_string_equal(one_class(MED_HDL, 39, "mg/dL", -1), "low");
    assert_string_equal(one_class(MED_HDL, 60, "mg/dL", -1), "high");
    assert_string_equal(one_class(MED_TRIGLYCERIDES, 149, "mg/dL", -1), "normal");
    assert_string_equal(one_class(MED_TRIGLYCERIDES, 150, "mg/dL", -1), "borderline_high");
    assert_string_equal(one_class(MED_TRIGLYCERIDES, 200, "mg/dL", -1), "high");
    assert_string_equal(one_class(MED_TRIGLYCERIDES, 500, "mg/dL", -1), "very_high");
    /* 5.2 mmol/L total cholesterol x 38.67 = 201 mg/dL: borderline high. */
    assert_string_equal(one_class(MED_CHOL_TOTAL, 5.2, "mmol/L", -1), "borderline_high");
}

/* KDIGO 2012/2024 GFR categories: G1 >=90, G2 60-89, G3a 45-59, G3b 30-44,
 * G4 15-29, G5 <15. */
static void test_kdigo_egfr(void **state)
{
    (void)state;
    assert_string_equal(one_class(MED_EGFR, 95, NULL, -1), "G1");
    assert_string_equal(one_class(MED_EGFR, 90, NULL, -1), "G1");
    assert_string_equal(one_class(MED_EGFR, 89, NULL, -1), "G2");
    assert_string_equal(one_class(MED_EGFR, 59, NULL, -1), "G3a");
    assert_string_equal(one_class(MED_EGFR, 44, NULL, -1), "G3b");
    assert_string_equal(one_class(MED_EGFR, 29, NULL, -1), "G4");
    assert_string_equal(one_class(MED_EGFR, 14, NULL, -1), "G5");
}

/* SpO2: NHS pulse-oximeter advice (95+ normal, 93-94 get help, <=92 urgent);
 * fever: CDC >=100.4 F (38 C); heart rate: AHA 60-100 at rest. */
static void test_spo2_fever_heart_rate(void **state)
{
    (void)state;
    assert_string_equal(one_class(MED_SPO2, 97, "%", -1), "normal");
    assert_string_equal(one_class(MED_SPO2, 94, "%", -1), "low");
    assert_string_equal(one_class(MED_SPO2, 92, "%", -1), "very_low");
    assert_string_equal(one_class(MED_TEMPERATURE, 37.9, "Cel", -1), "normal");
    assert_string_equal(one_class(MED_TEMPERATURE, 100.4, "[degF]", -1), "fever");
    assert_string_equal(one_class(MED_TEMPERATURE, 103, "[degF]", -1), "high_fever");
    assert_string_equal(one_class(MED_TEMPERATURE, 34.5, "Cel", -1), "hypothermia");
    assert_string_equal(one_class(MED_HEART_RATE, 59, NULL, -1), "low");
    assert_string_equal(one_class(MED_HEART_RATE, 100, NULL, -1), "normal");
    assert_string_equal(one_class(MED_HEART_RATE, 101, NULL, -1), "high");
}

static void test_no_range(void **state)
{
    (void)state;
    med_reading_t r;
    med_class_t c;
    med_reading_init(&r, MED_WEIGHT);
    medical_reading_set(&r, MED_WEIGHT, 80, NAN, "kg", NULL);
    assert_int_equal(medical_classify(&r, &c, NULL), MUSE_ENOTFOUND);
}

/* Every value in the plausible interval of a measure must fall in exactly one
 * category per component: no gaps, no overlaps, in every ranges.json entry. */
static void test_ranges_cover_without_overlap(void **state)
{
    (void)state;
    const cJSON *ranges = medical_ranges();
    assert_non_null(ranges);
    const cJSON *measures = cJSON_GetObjectItemCaseSensitive(ranges, "measures");
    const cJSON *m;
    int n_measures = 0;
    cJSON_ArrayForEach(m, measures) {
        n_measures++;
        med_kind_t k;
        assert_int_equal(medical_kind_parse(m->string, &k), MUSE_OK);
        assert_non_null(cJSON_GetObjectItemCaseSensitive(m, "source"));
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "source"), "url");
        assert_true(cJSON_IsString(url) && strncmp(url->valuestring, "https://", 8) == 0);
        const cJSON *comps = cJSON_GetObjectItemCaseSensitive(m, "components");
        const cJSON *comp;
        cJSON_ArrayForEach(comp, comps) {
            for (double v = 0.05; v < 400; v += 0.05) {
                int hits = 0;
                const cJSON *c;
                cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(m, "categories")) {
                    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(c, comp->valuestring);
                    if (!iv)
                        continue;
                    const cJSON *x;
                    int in = 1;
                    if ((x = cJSON_GetObjectItemCaseSensitive(iv, "ge")) && !(v >= x->valuedouble))
                        in = 0;
                    if ((x = cJSON_GetObjectItemCaseSensitive(iv, "gt")) && !(v > x->valuedouble))
                        in = 0;
                    if ((x = cJSON_GetObjectItemCaseSensitive(iv, "le")) && !(v <= x->valuedouble))
                        in = 0;
                    if ((x = cJSON_GetObjectItemCaseSensitive(iv, "lt")) && !(v < x->valuedouble))
                        in = 0;
                    hits += in;
                }
                if (hits != 1)
                    fail_msg("%s.%s: %g falls in %d categories", m->string, comp->valuestring, v, hits);
            }
        }
    }
    /* bp, a1c, glucose, bmi, 4 lipids, egfr, spo2, temperature, heart_rate */
    assert_int_equal(n_measures, 12);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(medical_kind_name(MED_BP), "bp");
    assert_string_equal(medical_kind_label(MED_BP), "Blood pressure");
    assert_string_equal(medical_kind_unit(MED_BP), "mm[Hg]");
    assert_string_equal(medical_kind_unit(MED_EGFR), "mL/min/{1.73_m2}");
    assert_string_equal(medical_kind_unit(MED_TEMPERATURE), "Cel");
    med_kind_t k;
    assert_int_equal(medical_kind_parse("blood sugar", &k), MUSE_OK);
    assert_int_equal(k, MED_GLUCOSE);
    assert_int_equal(medical_kind_parse("HbA1c", &k), MUSE_OK);
    assert_int_equal(k, MED_A1C);
    assert_int_equal(medical_kind_parse("nonsense", &k), MUSE_ENOTFOUND);
    for (int i = 0; i < MED_KIND_COUNT; i++) {
        assert_true(strlen(medical_kind_name((med_kind_t)i)) > 0);
        assert_true(strlen(medical_kind_unit((med_kind_t)i)) > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_acc_aha_2017),
        cmocka_unit_test(test_bp_class_fields),
        cmocka_unit_test(test_implausible_not_classified),
        cmocka_unit_test(test_ada_diabetes),
        cmocka_unit_test(test_glucose_unknown_fasting_says_so),
        cmocka_unit_test(test_who_bmi),
        cmocka_unit_test(test_atp3_lipids),
        cmocka_unit_test(test_kdigo_egfr),
        cmocka_unit_test(test_spo2_fever_heart_rate),
        cmocka_unit_test(test_no_range),
        cmocka_unit_test(test_ranges_cover_without_overlap),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
