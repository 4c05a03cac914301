/* Health presets (viz/viz_preset.c): the bands come from the medical
 * module's ranges data, the summaries say what the guidelines say.
 *
 * Expected categories are taken from the guidelines themselves:
 * - ACC/AHA 2017 high blood pressure guideline, Table 6 (Whelton PK et al.,
 *   Hypertension 2018;71:e13-e115): normal <120 and <80, elevated 120-129
 *   and <80, stage 1 130-139 or 80-89, stage 2 >=140 or >=90; the higher
 *   category of the two numbers applies.
 * - ADA Standards of Care 2024, section 2: HbA1c >=6.5% diabetes range;
 *   fasting glucose 100-125 mg/dL prediabetes.
 * - 2019 ACC/AHA primary prevention guideline (Arnett DK et al.,
 *   Circulation 2019;140:e596-e646), section 4.4: 10-year ASCVD risk <5%
 *   low, 5-7.4% borderline, 7.5-19.9% intermediate, >=20% high.
 * - International Consensus on Time in Range (Battelino T et al., Diabetes
 *   Care 2019;42:1593-1603): target range 70-180 mg/dL.
 * - WHO adult BMI categories: 25-29.9 pre-obesity (overweight). */
#include <math.h>

#include "viz_test.h"
#include "viz/viz_int.h"

static cJSON *expand(const char *json)
{
    cJSON *in = cJSON_Parse(json);
    assert_non_null(in);
    cJSON *out = NULL;
    muse_error_t e = {0};
    if (viz_preset_expand(in, &out, &e) != MUSE_OK)
        fail_msg("expand failed: %s", e.message);
    cJSON_Delete(in);
    return out;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* 10 readings, diastolic 85 (stage 1), systolic averaging 142 with six at
 * 140 or more: the issue's own example sentence. */
static const char BP10[] =
    "{\"preset\":\"bp_trend\",\"data\":["
    "{\"time\":\"2024-03-01T08:00\",\"systolic\":150,\"diastolic\":85},"
    "{\"time\":\"2024-03-02T08:00\",\"systolic\":148,\"diastolic\":85},"
    "{\"time\":\"2024-03-03T08:00\",\"systolic\":146,\"diastolic\":85},"
    "{\"time\":\"2024-03-04T08:00\",\"systolic\":144,\"diastolic\":85},"
    "{\"time\":\"2024-03-05T08:00\",\"systolic\":142,\"diastolic\":85},"
    "{\"time\":\"2024-03-06T08:00\",\"systolic\":140,\"diastolic\":85},"
    "{\"time\":\"2024-03-07T08:00\",\"systolic\":139,\"diastolic\":85},"
    "{\"time\":\"2024-03-08T08:00\",\"systolic\":138,\"diastolic\":85},"
    "{\"time\":\"2024-03-09T08:00\",\"systolic\":137,\"diastolic\":85},"
    "{\"time\":\"2024-03-10T08:00\",\"systolic\":136,\"diastolic\":85,\"pulse\":70}]}";

static void test_bp_trend_summary(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart(BP10);
    const char *sum = viz_chart_summary(c);
    assert_non_null(strstr(sum, "Systolic averaged 142 mmHg"));
    assert_non_null(strstr(sum, "over 10 readings"));
    assert_non_null(strstr(sum, "6 were stage 2 hypertension"));
    assert_non_null(strstr(sum, "4 stage 1 hypertension"));
    assert_non_null(strstr(sum, "The highest was 150/85 mmHg on Mar 1, 2024"));
    /* Systolic and diastolic panels, and pulse because one reading has it. */
    assert_int_equal(c->npanels, 3);
    viz_chart_free(c);
}

/* The systolic panel's bands are the ranges data's systolic intervals
 * (stage 2 from 140), the diastolic panel's the diastolic ones (stage 2
 * from 90; "elevated" has no diastolic interval, so no band). */
static void test_bp_trend_bands(void **state)
{
    (void)state;
    cJSON *o = expand(BP10);
    cJSON *vc = cJSON_GetObjectItemCaseSensitive(o, "vconcat");
    assert_int_equal(cJSON_GetArraySize(vc), 3);
    int stage2_sys = 0, stage2_dia = 0, elevated_dia = 0;
    for (int p = 0; p < 2; p++) {
        const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(vc, p), "layers");
        for (const cJSON *l = layers->child; l; l = l->next) {
            if (strcmp(str(l, "mark"), "rect") != 0)
                continue;
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(l, "encoding"), "y");
            double lo = y ? cJSON_GetObjectItemCaseSensitive(y, "datum")->valuedouble : -1;
            if (strcmp(str(l, "label"), "Stage 2") == 0) {
                if (p == 0 && lo == 140)
                    stage2_sys = 1;
                if (p == 1 && lo == 90)
                    stage2_dia = 1;
                /* distinguishable without colour */
                assert_string_not_equal(str(l, "pattern"), "none");
            }
            if (p == 1 && strcmp(str(l, "label"), "Elevated") == 0)
                elevated_dia = 1;
        }
    }
    assert_true(stage2_sys);
    assert_true(stage2_dia);
    assert_false(elevated_dia);
    cJSON_Delete(o);
}

static void test_bp_trend_without_times(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"preset\":\"bp_trend\",\"data\":[{\"time\":null,\"systolic\":150,\"diastolic\":95},"
                              "{\"systolic\":130,\"diastolic\":85},{\"systolic\":null,\"diastolic\":80}]}");
    /* Drawn in order on a reading axis; the incomplete one is left out and said so. */
    assert_int_equal(c->panels[0].x.type, VIZ_SCALE_LINEAR);
    assert_non_null(strstr(c->note, "1 reading without both numbers left out"));
    assert_non_null(strstr(viz_chart_summary(c), "over 2 readings"));
    viz_chart_free(c);
}

static void test_bp_category(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"preset\":\"bp_category\",\"data\":[{\"systolic\":150,\"diastolic\":95}]}");
    assert_non_null(strstr(viz_chart_summary(c), "150/95 mmHg is in the stage 2 hypertension range"));
    viz_scene_t *s = vt_scene(c, NULL);
    /* The reading is one datum, with its category in the tooltip. */
    assert_int_equal(viz_scene_datum_count(s), 1);
    assert_non_null(strstr(viz_scene_datum(s, 0)->label, "Category: Stage 2 hypertension"));
    viz_scene_free(s);
    viz_chart_free(c);

    /* 125/75 is elevated; 125/85 is stage 1: the higher of the two counts. */
    c = vt_chart("{\"preset\":\"bp_category\",\"data\":[{\"systolic\":125,\"diastolic\":75},"
                 "{\"systolic\":125,\"diastolic\":85}]}");
    assert_non_null(strstr(viz_chart_summary(c), "2 readings: 1 was stage 1 hypertension and 1 elevated"));
    viz_chart_free(c);
}

static void test_lab_panel(void **state)
{
    (void)state;
    cJSON *o = expand("{\"preset\":\"lab_panel\",\"data\":["
                      "{\"kind\":\"a1c\",\"label\":\"HbA1c\",\"value\":7.2,\"unit\":\"%\"},"
                      "{\"kind\":\"hdl\",\"label\":\"HDL\",\"value\":38,\"unit\":\"mg/dL\"},"
                      "{\"kind\":\"glucose\",\"label\":\"Fasting glucose\",\"value\":6.2,\"unit\":\"mmol/L\"},"
                      "{\"kind\":\"vitamin_d\",\"label\":\"Vitamin D\",\"value\":30,\"unit\":\"ng/mL\"}]}");
    cJSON *vc = cJSON_GetObjectItemCaseSensitive(o, "vconcat");
    assert_int_equal(cJSON_GetArraySize(vc), 4);
    assert_non_null(strstr(str(cJSON_GetArrayItem(vc, 0), "subtitle"), "Diabetes range (high)"));
    const char *hdl = str(cJSON_GetArrayItem(vc, 1), "subtitle");
    assert_non_null(strstr(hdl, "Low"));
    assert_null(strstr(hdl, "(low)"));   /* the label says it already */
    /* 6.2 mmol/L is about 112 mg/dL: prediabetes when fasting. */
    const char *glu = str(cJSON_GetArrayItem(vc, 2), "subtitle");
    assert_non_null(strstr(glu, "mg/dL"));
    assert_non_null(strstr(glu, "Prediabetes"));
    assert_non_null(strstr(str(cJSON_GetArrayItem(vc, 3), "subtitle"), "no reference range"));
    assert_non_null(strstr(str(o, "description"), "4 results, 3 outside the healthy range"));
    cJSON_Delete(o);

    int code;
    viz_buf_t b = {0};
    vb_puts(&b, "{\"preset\":\"lab_panel\",\"data\":[");
    for (int i = 0; i < 40; i++)
        vb_printf(&b, "%s{\"kind\":\"ldl\",\"value\":%d}", i ? "," : "", 100 + i);
    vb_puts(&b, "]}");
    vt_parse_error(b.p, &code);
    assert_int_equal(code, MUSE_ELIMIT);
    vb_free(&b);
}

static void test_glucose_time_in_range(void **state)
{
    (void)state;
    /* 7 of 10 in 70-180, 2 above, 1 below. */
    viz_chart_t *c = vt_chart("{\"preset\":\"glucose_profile\",\"data\":["
                              "{\"time\":\"2024-03-05T00:00\",\"value\":65},{\"time\":\"2024-03-05T02:00\",\"value\":70},"
                              "{\"time\":\"2024-03-05T04:00\",\"value\":95},{\"time\":\"2024-03-05T06:00\",\"value\":120},"
                              "{\"time\":\"2024-03-05T08:00\",\"value\":180},{\"time\":\"2024-03-05T10:00\",\"value\":181},"
                              "{\"time\":\"2024-03-05T12:00\",\"value\":250},{\"time\":\"2024-03-05T14:00\",\"value\":140},"
                              "{\"time\":\"2024-03-05T16:00\",\"value\":110},{\"time\":\"2024-03-05T18:00\",\"value\":100}]}");
    assert_non_null(strstr(viz_chart_summary(c), "Time in range (70 to 180 mg/dL): 70% of 10 readings"));
    assert_non_null(strstr(viz_chart_summary(c), "10% below 70 and 20% above 180"));
    assert_non_null(strstr(c->subtitle, "70% of readings in the target range"));
    viz_chart_free(c);
}

static void test_weight_moving_average(void **state)
{
    (void)state;
    cJSON *o = expand("{\"preset\":\"weight_trend\",\"data\":["
                      "{\"time\":\"2024-01-08\",\"value\":87},{\"time\":\"2024-01-01\",\"value\":80},"
                      "{\"time\":\"2024-01-02\",\"value\":81},{\"time\":\"2024-01-03\",\"value\":82},"
                      "{\"time\":\"2024-01-04\",\"value\":83},{\"time\":\"2024-01-05\",\"value\":84},"
                      "{\"time\":\"2024-01-06\",\"value\":85},{\"time\":\"2024-01-07\",\"value\":86}]}");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
    assert_int_equal(cJSON_GetArraySize(data), 8);
    /* Sorted by time; the last day's mean is over Jan 2-8 (81..87): 84. */
    const cJSON *last = cJSON_GetArrayItem(data, 7);
    assert_true(cJSON_GetObjectItemCaseSensitive(last, "value")->valuedouble == 87);
    assert_true(fabs(cJSON_GetObjectItemCaseSensitive(last, "average")->valuedouble - 84) < 1e-9);
    const cJSON *first = cJSON_GetArrayItem(data, 0);
    assert_true(cJSON_GetObjectItemCaseSensitive(first, "average")->valuedouble == 80);
    assert_non_null(strstr(str(o, "description"), "from 80 kg to 87 kg (+7 kg)"));
    cJSON_Delete(o);
}

static void test_gauges(void **state)
{
    (void)state;
    struct {
        double v;
        const char *want;
    } risk[] = {{4.9, "low"}, {5, "borderline"}, {12.4, "intermediate"}, {19.9, "intermediate"}, {20, "high"}};
    for (size_t i = 0; i < sizeof risk / sizeof risk[0]; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "{\"preset\":\"risk_gauge\",\"data\":[{\"value\":%g}]}", risk[i].v);
        viz_chart_t *c = vt_chart(spec);
        char want[64];
        snprintf(want, sizeof want, "in the %s category", risk[i].want);
        if (!strstr(viz_chart_summary(c), want))
            fail_msg("%g%%: \"%s\" lacks \"%s\"", risk[i].v, viz_chart_summary(c), want);
        viz_chart_free(c);
    }
    int code;
    vt_parse_error("{\"preset\":\"risk_gauge\",\"data\":[{\"value\":140}]}", &code);
    assert_int_equal(code, MUSE_ERANGE);

    viz_chart_t *c = vt_chart("{\"preset\":\"bmi_gauge\",\"data\":[{\"value\":27.3}]}");
    assert_non_null(strstr(viz_chart_summary(c), "A BMI of 27.3 kg/m² is in the pre-obesity (overweight) range"));
    viz_scene_t *s = vt_scene(c, NULL);
    assert_int_equal(viz_scene_datum_count(s), 1);
    assert_non_null(strstr(viz_scene_datum(s, 0)->label, "Category: Pre-obesity (overweight)"));
    viz_scene_free(s);
    viz_chart_free(c);
}

/* Every preset with no data still draws: a chart that says "No data". */
static void test_empty_data(void **state)
{
    (void)state;
    const char *const *names = viz_preset_names();
    for (int i = 0; names[i]; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "{\"preset\":\"%s\",\"data\":[]}", names[i]);
        viz_chart_t *c = vt_chart(spec);
        viz_scene_t *s = vt_scene(c, NULL);
        int says = 0;
        for (size_t k = 0; k < viz_scene_count(s); k++) {
            const viz_prim_t *p = viz_scene_prim(s, k);
            if (p->kind == VIZ_PRIM_TEXT && p->role == VIZ_ROLE_NOTE && strcmp(p->text, "No data") == 0)
                says = 1;
        }
        int gauge = strstr(names[i], "gauge") != NULL;
        if (!gauge && !says)
            fail_msg("%s with no data does not say \"No data\"", names[i]);
        assert_int_equal(viz_scene_datum_count(s), 0);
        assert_true(strlen(viz_chart_summary(c)) > 0);
        viz_scene_free(s);
        viz_chart_free(c);
    }
}

static void test_preset_errors(void **state)
{
    (void)state;
    const char *m = vt_parse_error("{\"preset\":\"bp_trend\",\"data\":[{\"systolic\":120,\"diastolic\":80},"
                                   "{\"systolic\":121,\"diastolic\":80},{\"systolic\":\"12O\",\"diastolic\":80}]}", NULL);
    assert_non_null(strstr(m, "data[2].systolic: \"12O\" is not a number"));
    m = vt_parse_error("{\"preset\":\"bp_trend\",\"data\":[{\"sytolic\":120,\"diastolic\":80}]}", NULL);
    assert_non_null(strstr(m, "data[0].sytolic: unknown field (did you mean \"systolic\"?)"));
    m = vt_parse_error("{\"preset\":\"bp_trend\",\"data\":[{\"time\":\"yesterday\",\"systolic\":1,\"diastolic\":1}]}", NULL);
    assert_non_null(strstr(m, "data[0].time"));
    m = vt_parse_error("{\"preset\":\"bp_trend\",\"layers\":[]}", NULL);
    assert_non_null(strstr(m, "layers: not a preset option"));
    m = vt_parse_error("{\"preset\":\"bp_trend\",\"data\":{}}", NULL);
    assert_non_null(strstr(m, "data: expected an array"));
}

/* A preset's own title and size win over its defaults. */
static void test_preset_options(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"preset\":\"bmi_gauge\",\"title\":\"Your BMI\",\"width\":500,\"height\":180,"
                              "\"description\":\"Custom.\",\"data\":[{\"value\":22}]}");
    assert_string_equal(viz_chart_title(c), "Your BMI");
    assert_string_equal(viz_chart_summary(c), "Custom.");
    assert_true(c->width == 500 && c->height == 180);
    viz_chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bp_trend_summary),
        cmocka_unit_test(test_bp_trend_bands),
        cmocka_unit_test(test_bp_trend_without_times),
        cmocka_unit_test(test_bp_category),
        cmocka_unit_test(test_lab_panel),
        cmocka_unit_test(test_glucose_time_in_range),
        cmocka_unit_test(test_weight_moving_average),
        cmocka_unit_test(test_gauges),
        cmocka_unit_test(test_empty_data),
        cmocka_unit_test(test_preset_errors),
        cmocka_unit_test(test_preset_options),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
