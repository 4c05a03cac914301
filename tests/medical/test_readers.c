/* Readings files: CSV, JSON and FHIR R4 (medical_read_file and
 * medical_read_buffer). The files are in tests/medical/data/. */
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

static const char *data_path(const char *name)
{
    static _Thread_local char buf[1024];
    const char *root = getenv("MUSE_SOURCE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/medical/data/%s", root ? root : ".", name);
    return buf;
}

static int has_problem(const med_problems_t *p, const char *where_suffix, const char *text)
{
    for (size_t i = 0; i < p->n; i++) {
        size_t wl = strlen(p->v[i].where), sl = strlen(where_suffix);
        if (wl >= sl && strcmp(p->v[i].where + wl - sl, where_suffix) == 0 &&
            strstr(p->v[i].message, text))
            return 1;
    }
    return 0;
}

static void dump(const med_problems_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        print_message("  problem %s: %s\n", p->v[i].where, p->v[i].message);
}

static void test_csv_wide_device_export(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("bp_home.csv"), &s, &p, &err), MUSE_OK);
    dump(&p);
    assert_int_equal(s.n, 8);
    assert_int_equal(p.n, 2);
    /* The bad row is named by file and line, with what was probably meant. */
    assert_true(has_problem(&p, "bp_home.csv:6", "column systolic: \"12O\" is not a number (did you mean 120?)"));
    assert_true(has_problem(&p, "bp_home.csv:12", "not a date-time"));
    assert_int_equal(s.v[0].kind, MED_BP);
    assert_true(s.v[0].value == 142 && s.v[0].value2 == 91 && s.v[0].pulse == 72);
    assert_int_equal(s.v[0].line, 3);
    assert_int_equal(s.v[0].tod_min, 7 * 60 + 30);
    assert_true(s.v[0].time_flags & MED_TIME_CLOCK);
    /* 400/20 is read, and flagged implausible rather than interpreted. */
    assert_true(s.v[5].value == 400);
    assert_int_equal(s.v[5].implausible, 1);
    assert_true(isnan(s.v[6].pulse));
    assert_int_equal(s.v[7].tod_min, 7 * 60 + 30);  /* "7:30" */
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_csv_long_labs(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("labs_long.csv"), &s, &p, &err), MUSE_OK);
    dump(&p);
    assert_int_equal(s.n, 11);
    assert_int_equal(p.n, 2);
    assert_true(has_problem(&p, "labs_long.csv:11", "\"potassium\" is not a measurement"));
    assert_true(has_problem(&p, "labs_long.csv:12", "\"furlongs\" is not a unit of glucose"));
    assert_int_equal(s.v[0].kind, MED_A1C);
    assert_int_equal(s.v[1].kind, MED_GLUCOSE);
    assert_int_equal(s.v[1].fasting, 1);
    assert_true(fabs(s.v[1].value - 7.8 * 18.016) < 1e-9);
    assert_true(fabs(s.v[5].value - 80 / 88.42) < 1e-9);
    assert_int_equal(s.v[7].kind, MED_BP);
    assert_true(s.v[7].value == 150 && s.v[7].value2 == 95);
    assert_int_equal(s.v[8].kind, MED_CHOL_TOTAL);
    assert_int_equal(s.v[9].kind, MED_WEIGHT);
    assert_true(fabs(s.v[9].value - 82.5) < 1e-9);  /* quoted decimal comma */
    assert_int_equal(s.v[10].assumed_unit, 1);       /* glucose 7: mmol/L, stated */
    assert_non_null(strstr(s.v[10].note, "taken as mmol/L"));
    assert_int_equal(s.v[0].time_flags & MED_TIME_ZONE, MED_TIME_ZONE);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_json_readings(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("readings.json"), &s, &p, &err), MUSE_OK);
    dump(&p);
    assert_int_equal(s.n, 5);
    assert_int_equal(p.n, 3);
    assert_true(has_problem(&p, "readings[4]", "\"systolic\" is not a number"));
    assert_true(has_problem(&p, "readings[5]", "\"kind\" is not a measurement"));
    assert_true(has_problem(&p, "readings[6]", "\"time\" is not an ISO 8601"));
    assert_true(s.v[0].pulse == 72);
    assert_int_equal(s.v[0].utc_offset_min, 60);
    assert_true(s.v[1].value == 150 && s.v[1].value2 == 95);
    assert_int_equal(s.v[2].fasting, 1);
    assert_true(fabs(s.v[3].value - 7.0) < 0.01);
    assert_true(fabs(s.v[4].value - (101.3 - 32) * 5 / 9) < 1e-9);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_json_syntax_error_names_line(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("broken.json"), &s, &p, &err), MUSE_EPARSE);
    assert_non_null(strstr(err.message, "broken.json:3:"));
    assert_non_null(strstr(err.message, "not valid JSON"));
    assert_int_equal(s.n, 0);
    med_series_free(&s);
    med_problems_free(&p);
}

/* FHIR R4 vital signs: BP panel 85354-9 with components 8480-6/8462-4 and
 * UCUM units, as in the FHIR R4 vital-signs profile example. */
static void test_fhir_bundle(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("fhir_bundle.json"), &s, &p, &err), MUSE_OK);
    dump(&p);
    assert_int_equal(s.n, 21);
    assert_int_equal(p.n, 4);
    assert_true(has_problem(&p, "entry[23].resource", "entered-in-error"));
    assert_true(has_problem(&p, "entry[24].resource.code", "2951-2 is not a LOINC code this reads"));
    assert_true(has_problem(&p, "entry[25].resource", "valueQuantity.value: expected a number"));
    assert_true(has_problem(&p, "entry[26].resource", "no diastolic"));
    int kinds[MED_KIND_COUNT] = {0};
    for (size_t i = 0; i < s.n; i++)
        kinds[s.v[i].kind]++;
    assert_int_equal(kinds[MED_BP], 2);      /* panel + paired systolic/diastolic */
    assert_int_equal(kinds[MED_GLUCOSE], 3);
    assert_int_equal(kinds[MED_EGFR], 3);    /* 98979-8, 33914-3, 62238-1 */
    assert_int_equal(kinds[MED_SPO2], 2);    /* 59408-5, 2708-6 */
    for (int k = 0; k < MED_KIND_COUNT; k++)
        if (kinds[k] == 0)
            fail_msg("no %s read from the bundle", medical_kind_name((med_kind_t)k));
    /* The first BP: 142/91 at 07:30 local, -05:00. */
    assert_int_equal(s.v[0].kind, MED_BP);
    assert_true(s.v[0].value == 142 && s.v[0].value2 == 91);
    assert_int_equal(s.v[0].tod_min, 7 * 60 + 30);
    assert_int_equal(s.v[0].utc_offset_min, -300);
    /* 1558-6 is a fasting glucose by its code. */
    assert_int_equal(s.v[3].kind, MED_GLUCOSE);
    assert_int_equal(s.v[3].fasting, 1);
    assert_true(fabs(s.v[2].value - 6.1 * 18.016) < 1e-9);
    assert_true(fabs(s.v[5].value - 97 / 88.42) < 1e-9);        /* creatinine umol/L */
    assert_true(fabs(s.v[9].value - 185 * 0.45359237) < 1e-9);  /* [lb_av] */
    assert_true(fabs(s.v[10].value - 70 * 2.54) < 1e-9);        /* [in_i] */
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_fhir_single_observation(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("fhir_observation.json"), &s, &p, &err), MUSE_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(p.n, 0);
    assert_true(s.v[0].value == 150 && s.v[0].value2 == 95 && s.v[0].pulse == 72);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_text_file(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    assert_int_equal(medical_read_file(data_path("notes.txt"), &s, &p, &err), MUSE_OK);
    assert_int_equal(s.n, 5);
    assert_int_equal(s.v[0].line, 2);
    assert_true(s.v[2].pulse == 70);
    assert_int_equal(s.v[4].line, 5);
    assert_int_equal(s.v[4].kind, MED_GLUCOSE);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_buffer_and_errors(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    muse_error_t err = {0};
    const char csv[] = "time;systolic;diastolic\n2026-11-02 07:30;150;95\n2026-11-02 21:30;142;90";
    assert_int_equal(medical_read_buffer(csv, sizeof csv - 1, MED_FORMAT_AUTO, NULL, &s, &p, &err), MUSE_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.v[1].tod_min, 21 * 60 + 30);
    med_series_free(&s);
    med_problems_free(&p);

    const char nohdr[] = "a,b,c\n1,2,3\n";
    assert_int_equal(medical_read_buffer(nohdr, sizeof nohdr - 1, MED_FORMAT_CSV, "x.csv", &s, &p, &err),
                     MUSE_EPARSE);
    assert_non_null(strstr(err.message, "x.csv:1: no readings columns"));
    med_series_free(&s);
    med_problems_free(&p);

    const char allbad[] = "kind,value\nbp,abc\n";
    assert_int_equal(medical_read_buffer(allbad, sizeof allbad - 1, MED_FORMAT_CSV, "y.csv", &s, &p, &err),
                     MUSE_EPARSE);
    assert_non_null(strstr(err.message, "no reading could be read"));
    assert_int_equal(p.n, 1);
    med_series_free(&s);
    med_problems_free(&p);

    const char patient[] = "{\"resourceType\": \"Patient\"}";
    assert_int_equal(medical_read_buffer(patient, sizeof patient - 1, MED_FORMAT_AUTO, "p.json", &s, &p, &err),
                     MUSE_EUNSUPPORTED);
    med_series_free(&s);
    med_problems_free(&p);

    assert_int_equal(medical_read_file("/nonexistent/readings.csv", &s, &p, &err), MUSE_ENOTFOUND);
    assert_non_null(strstr(err.message, "/nonexistent/readings.csv"));
    assert_int_equal(medical_read_file("/", &s, &p, &err), MUSE_EINVAL);

    /* Not NUL-terminated: the reader must stop at len. */
    char raw[8] = {'1', '5', '0', '/', '9', '5', 'X', 'X'};
    assert_int_equal(medical_read_buffer(raw, 6, MED_FORMAT_TEXT, NULL, &s, NULL, &err), MUSE_OK);
    assert_int_equal(s.n, 1);
    med_series_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_wide_device_export),
        cmocka_unit_test(test_csv_long_labs),
        cmocka_unit_test(test_json_readings),
        cmocka_unit_test(test_json_syntax_error_names_line),
        cmocka_unit_test(test_fhir_bundle),
        cmocka_unit_test(test_fhir_single_observation),
        cmocka_unit_test(test_text_file),
        cmocka_unit_test(test_buffer_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
