/* Tests of the report library (viz/report/report.h) on the fixtures in
 * tests/report/data: what the analysis finds, what the JSON summary says,
 * and that the PDF and HTML are whole documents. tests/report/test_report_cli.py
 * reads the PDFs back with poppler.
 *
 * Expected categories come from the guideline tables the ranges data cites:
 *   blood pressure  ACC/AHA 2017 guideline, Table 6 (stage 2: systolic >= 140 or diastolic >= 90)
 *   HbA1c, glucose  ADA Standards of Care 2024, Table 2.5 (prediabetes: A1c 5.7-6.4%, FPG 100-125 mg/dL)
 *   lipids          NCEP ATP III (2002), Table II.1-1 (LDL 130-159 borderline high; HDL < 40 low;
 *                   total 200-239 borderline high; triglycerides 150-199 borderline high)
 *   eGFR            KDIGO 2024, GFR categories (G3a: 45-59 mL/min/1.73 m2)
 *   temperature     CDC (2017): fever from 100.4 F / 38 C; 98.4 F (36.9 C) is normal.
 * Unit conversions: cholesterol mmol/L x 38.67, triglycerides x 88.57,
 * glucose x 18.016 (mg/dL), 1 lb = 0.45359237 kg. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "viz/report/report.h"

/* Under ASan: fontconfig's configuration and cairo's font caches live until
 * exit by design (tests/report/lsan.supp says the same for the CLI test). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static char *fixture(const char *name)
{
    const char *root = getenv("MUSE_SOURCE_ROOT");
    static char path[4096];
    snprintf(path, sizeof path, "%s/tests/report/data/%s", root ? root : "..", name);
    return path;
}

/* A report of the given fixtures, analysed; asserts each step. */
static report_t *make(const report_opts_t *o, const char *a, const char *b)
{
    report_t *r = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_new(o, &r, &err), MUSE_OK);
    assert_int_equal(report_add_file(r, fixture(a), &err), MUSE_OK);
    if (b)
        assert_int_equal(report_add_file(r, fixture(b), &err), MUSE_OK);
    int rc = report_analyze(r, &err);
    if (rc != MUSE_OK)
        fail_msg("report_analyze: %s", err.message);
    return r;
}

static cJSON *summary(report_t *r)
{
    char *s = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_summary_json(r, &s, &err), MUSE_OK);
    cJSON *j = cJSON_Parse(s);
    free(s);
    assert_non_null(j);
    return j;
}

static const cJSON *measure(const cJSON *sum, const char *kind)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(sum, "measures")) {
        if (strcmp(cJSON_GetObjectItem(m, "kind")->valuestring, kind) == 0)
            return m;
    }
    fail_msg("no measure %s in the summary", kind);
    return NULL;
}

static const char *category_id(const cJSON *m)
{
    const cJSON *c = cJSON_GetObjectItem(m, "category");
    return cJSON_IsObject(c) ? cJSON_GetObjectItem(c, "id")->valuestring : NULL;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

static void make_pdf(report_t *r, unsigned char **pdf, size_t *len)
{
    muse_error_t err = {0};
    int rc = report_pdf(r, pdf, len, &err);
    if (rc != MUSE_OK)
        fail_msg("report_pdf: %s", err.message);
    assert_true(*len > 1000);
    assert_memory_equal(*pdf, "%PDF-1.", 7);
    /* A whole file ends with its trailer. */
    const char *tail = (const char *)*pdf + *len - 8;
    assert_non_null(memmem(tail, 8, "%%EOF", 5));
}

static int has_finding(const cJSON *sum, const char *id)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(sum, "findings")) {
        if (strcmp(cJSON_GetObjectItem(f, "id")->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

static void test_parse_date(void **state)
{
    (void)state;
    int64_t t;
    muse_error_t err = {0};
    /* 2026-10-01 is day 20727 since 1970-01-01. */
    assert_int_equal(report_parse_date("2026-10-01", 0, &t, &err), MUSE_OK);
    assert_int_equal(t, 20727LL * 86400);
    assert_int_equal(report_parse_date("2026-10-01", 1, &t, &err), MUSE_OK);
    assert_int_equal(t, 20727LL * 86400 + 86399);
    assert_int_equal(report_parse_date("2026-10-01T07:30", 1, &t, &err), MUSE_OK);
    assert_int_equal(t, 20727LL * 86400 + 7 * 3600 + 30 * 60);
    assert_int_equal(report_parse_date("2026-10-01 07:30:15", 0, &t, &err), MUSE_OK);
    assert_int_equal(t, 20727LL * 86400 + 7 * 3600 + 30 * 60 + 15);
    assert_int_equal(report_parse_date("2024-02-29", 0, &t, &err), MUSE_OK);
    assert_int_equal(report_parse_date("2026-02-29", 0, &t, &err), MUSE_EINVAL);
    assert_int_equal(report_parse_date("2026-13-01", 0, &t, &err), MUSE_EINVAL);
    assert_int_equal(report_parse_date("1/10/2026", 0, &t, &err), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "1/10/2026"));
    assert_int_equal(report_parse_date("2026-10-01T7:30", 0, &t, &err), MUSE_EINVAL);
}

static void test_bp_week(void **state)
{
    (void)state;
    report_t *r = make(NULL, "bp_week.csv", NULL);
    cJSON *s = summary(r);
    const cJSON *bp = measure(s, "bp");
    assert_int_equal((int)num(bp, "count"), 14);
    const cJSON *sys = cJSON_GetArrayItem(cJSON_GetObjectItem(bp, "components"), 0);
    const cJSON *dia = cJSON_GetArrayItem(cJSON_GetObjectItem(bp, "components"), 1);
    assert_float_equal(num(sys, "mean"), 144.0, 0.05);
    assert_float_equal(num(dia, "mean"), 91.3, 0.05);
    /* An average of 144/91 is stage 2 (ACC/AHA 2017, Table 6). */
    assert_string_equal(category_id(bp), "stage2");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(bp, "category"), "of")->valuestring, "average");
    assert_true(has_finding(s, "sustained_stage2"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "period"), "first")->valuestring, "2026-03-02");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "period"), "last")->valuestring, "2026-03-08");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(bp, "discuss")) >= 1, 1);
    cJSON_Delete(s);

    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    s = summary(r);
    const cJSON *p = cJSON_GetObjectItem(s, "pdf");
    assert_non_null(p);
    assert_true(num(p, "pages") >= 3);
    assert_int_equal((size_t)num(p, "bytes"), len);
    /* bp_trend and, with 5 or more readings, bp_category. */
    const cJSON *charts = cJSON_GetObjectItem(p, "charts");
    assert_int_equal(cJSON_GetArraySize(charts), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(charts, 0), "preset")->valuestring, "bp_trend");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(charts, 1), "preset")->valuestring, "bp_category");
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(p, "encrypted")));
    /* Not encrypted: no /Encrypt dictionary. */
    assert_null(memmem(pdf, len, "/Encrypt", 8));
    free(pdf);
    cJSON_Delete(s);
    report_free(r);
}

static void test_weight_year(void **state)
{
    (void)state;
    report_t *r = make(NULL, "weight_year.csv", NULL);
    cJSON *s = summary(r);
    const cJSON *w = measure(s, "weight");
    assert_int_equal((int)num(w, "count"), 365);
    /* The fixture falls 6.5 kg over 364 days: 0.125 kg a week. */
    const cJSON *tr = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(w, "components"), 0), "trend");
    assert_string_equal(cJSON_GetObjectItem(tr, "direction")->valuestring, "falling");
    assert_string_equal(cJSON_GetObjectItem(tr, "per")->valuestring, "week");
    assert_true(num(tr, "slope") < -0.10 && num(tr, "slope") > -0.15);
    /* Weight has no guideline range of its own. */
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(w, "category")));
    cJSON_Delete(s);
    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    free(pdf);
    s = summary(r);
    const cJSON *charts = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "pdf"), "charts");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(charts, 0), "preset")->valuestring, "weight_trend");
    cJSON_Delete(s);
    report_free(r);
}

static void test_lab_panel(void **state)
{
    (void)state;
    report_t *r = make(NULL, "lab_panel.csv", NULL);
    cJSON *s = summary(r);
    assert_string_equal(category_id(measure(s, "a1c")), "prediabetes");      /* 6.1% */
    assert_string_equal(category_id(measure(s, "glucose")), "prediabetes");  /* 106 mg/dL fasting */
    assert_string_equal(category_id(measure(s, "ldl")), "borderline_high");  /* 151 mg/dL */
    assert_string_equal(category_id(measure(s, "hdl")), "low");              /* 38.7 mg/dL */
    assert_string_equal(category_id(measure(s, "chol_total")), "borderline_high"); /* 224 mg/dL */
    assert_string_equal(category_id(measure(s, "triglycerides")), "borderline_high"); /* 186 mg/dL */
    assert_string_equal(category_id(measure(s, "egfr")), "G3a");            /* 58 */
    assert_null(category_id(measure(s, "creatinine")));                      /* no range: not guessed */
    const cJSON *ldl = cJSON_GetObjectItem(measure(s, "ldl"), "latest");
    assert_float_equal(num(ldl, "value"), 150.8, 0.2);
    /* The source is named with each category. */
    const cJSON *src = cJSON_GetObjectItem(measure(s, "egfr"), "source");
    assert_non_null(strstr(cJSON_GetObjectItem(src, "publisher")->valuestring, "KDIGO"));
    cJSON_Delete(s);
    report_free(r);
}

static void test_fhir_mixed(void **state)
{
    (void)state;
    report_t *r = make(NULL, "fhir_mixed.json", NULL);
    cJSON *s = summary(r);
    /* Sodium (2951-2) is not read: listed once with its count, never guessed. */
    const cJSON *codes = cJSON_GetObjectItem(s, "unknown_codes");
    assert_int_equal(cJSON_GetArraySize(codes), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(codes, 0), "code")->valuestring, "2951-2");
    assert_int_equal((int)num(cJSON_GetArrayItem(codes, 0), "count"), 2);
    /* Two unknown codes, one entered in error, one without a number. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "problems")), 4);
    assert_int_equal((int)num(measure(s, "bp"), "count"), 3);
    assert_float_equal(num(cJSON_GetObjectItem(measure(s, "weight"), "latest"), "value"), 93.03, 0.01);
    assert_string_equal(category_id(measure(s, "temperature")), "normal");
    assert_string_equal(category_id(measure(s, "bmi")), "overweight");       /* 29.4, WHO 25-29.9 */
    cJSON_Delete(s);
    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    free(pdf);
    report_free(r);
}

static void test_bad_rows(void **state)
{
    (void)state;
    report_t *r = make(NULL, "bad_rows.csv", NULL);
    /* "12O", a missing systolic and month 13 are problems with their lines. */
    size_t n = report_problem_count(r);
    assert_int_equal(n, 3);
    int saw_12o = 0;
    for (size_t i = 0; i < n; i++) {
        const med_problem_t *p = report_problem(r, i);
        assert_true(p->line > 2);
        assert_non_null(strstr(p->where, "bad_rows.csv:"));
        saw_12o |= p->line == 4 && strstr(p->message, "12O") != NULL;
    }
    assert_true(saw_12o);
    cJSON *s = summary(r);
    const cJSON *bp = measure(s, "bp");
    /* Five rows read; 400/20 is kept but never interpreted. */
    assert_int_equal((int)num(bp, "count"), 5);
    assert_int_equal((int)num(bp, "used"), 4);
    assert_int_equal((int)num(bp, "implausible"), 1);
    cJSON_Delete(s);
    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    free(pdf);
    report_free(r);
}

static void test_nothing_usable(void **state)
{
    (void)state;
    const char *bad[] = {"nothing.csv", "broken.json"};
    for (size_t i = 0; i < 2; i++) {
        report_t *r = NULL;
        muse_error_t err = {0};
        assert_int_equal(report_new(NULL, &r, &err), MUSE_OK);
        assert_int_equal(report_add_file(r, fixture(bad[i]), &err), MUSE_OK);
        assert_true(report_problem_count(r) >= 1);
        assert_int_equal(report_analyze(r, &err), MUSE_EPARSE);
        assert_non_null(strstr(err.message, "nothing usable"));
        unsigned char *pdf = NULL;
        size_t len = 0;
        assert_int_equal(report_pdf(r, &pdf, &len, &err), MUSE_EINVAL);
        assert_null(pdf);
        report_free(r);
    }
    /* A file that does not exist is an error at once, not a problem row. */
    report_t *r = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_new(NULL, &r, &err), MUSE_OK);
    assert_int_not_equal(report_add_file(r, fixture("no-such-file.csv"), &err), MUSE_OK);
    assert_non_null(strstr(err.message, "no-such-file.csv"));
    report_free(r);
}

static void test_period(void **state)
{
    (void)state;
    report_opts_t o;
    report_opts_init(&o);
    muse_error_t err = {0};
    assert_int_equal(report_parse_date("2026-03-04", 0, &o.from, &err), MUSE_OK);
    assert_int_equal(report_parse_date("2026-03-05", 1, &o.to, &err), MUSE_OK);
    report_t *r = make(&o, "bp_week.csv", NULL);
    cJSON *s = summary(r);
    const cJSON *rd = cJSON_GetObjectItem(s, "readings");
    assert_int_equal((int)num(rd, "in_period"), 4);
    assert_int_equal((int)num(rd, "outside_period"), 10);
    cJSON_Delete(s);
    report_free(r);

    /* A period with no reading in it: nothing usable. */
    assert_int_equal(report_parse_date("2027-01-01", 0, &o.from, &err), MUSE_OK);
    o.to = INT64_MAX;
    assert_int_equal(report_new(&o, &r, &err), MUSE_OK);
    assert_int_equal(report_add_file(r, fixture("bp_week.csv"), &err), MUSE_OK);
    assert_int_equal(report_analyze(r, &err), MUSE_EPARSE);
    assert_non_null(strstr(err.message, "period"));
    report_free(r);

    /* A period that ends before it starts is refused. */
    assert_int_equal(report_parse_date("2026-03-05", 0, &o.from, &err), MUSE_OK);
    assert_int_equal(report_parse_date("2026-03-04", 1, &o.to, &err), MUSE_OK);
    assert_int_equal(report_new(&o, &r, &err), MUSE_EINVAL);
    assert_null(r);
}

static void test_buffer_and_several_inputs(void **state)
{
    (void)state;
    static const char csv[] = "time,kind,value,value2,unit\n"
                              "2026-03-03T08:00,glucose,5.4,,mmol/L\n"
                              "2026-03-04T08:00,glucose,97,,mg/dL\n"
                              "2026-03-09T08:00,bp,150,95,mm[Hg]\n";
    report_t *r = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_new(NULL, &r, &err), MUSE_OK);
    assert_int_equal(report_add_file(r, fixture("bp_week.csv"), &err), MUSE_OK);
    assert_int_equal(report_add_buffer(r, csv, sizeof csv - 1, MED_FORMAT_CSV, "upload.csv", &err), MUSE_OK);
    assert_int_equal(report_analyze(r, &err), MUSE_OK);
    cJSON *s = summary(r);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(s, "inputs")), 2);
    assert_int_equal((int)num(measure(s, "glucose"), "count"), 2);
    assert_int_equal((int)num(measure(s, "bp"), "count"), 15);
    cJSON_Delete(s);
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(report_html(r, &html, &len, &err), MUSE_OK);
    assert_int_equal(strlen(html), len);
    /* A reading says which input it came from when its measure's readings
     * came from several; glucose came from one. */
    assert_non_null(strstr(html, "from upload.csv"));
    assert_non_null(strstr(html, "from bp_week.csv"));
    assert_null(strstr(html, "97</td><td>Normal</td><td>from"));
    free(html);
    report_free(r);
}

static void test_password(void **state)
{
    (void)state;
    report_opts_t o;
    report_opts_init(&o);
    o.password = "correct horse";
    report_t *r = make(&o, "bp_week.csv", NULL);
    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    assert_non_null(memmem(pdf, len, "/Encrypt", 8));
    free(pdf);
    report_free(r);
    o.password = "";
    muse_error_t err = {0};
    assert_int_equal(report_new(&o, &r, &err), MUSE_EINVAL);
}

static void test_long_series_summarised(void **state)
{
    (void)state;
    report_opts_t o;
    report_opts_init(&o);
    o.table_max_rows = 100;
    report_t *r = make(&o, "weight_year.csv", NULL);
    char *html = NULL;
    size_t len = 0;
    muse_error_t err = {0};
    assert_int_equal(report_html(r, &html, &len, &err), MUSE_OK);
    /* 365 days are more than 100 rows: one row per week (53 weeks). */
    assert_non_null(strstr(html, "Readings by week (365 readings"));
    assert_non_null(strstr(html, "week of 2024-12-30"));
    free(html);
    report_free(r);
}

static void test_characters_outside_the_font(void **state)
{
    (void)state;
    report_opts_t o;
    report_opts_init(&o);
    /* DejaVu Sans has Æ, ø and µ but no CJK. */
    o.title = "Ærøskøbing 血压";
    report_t *r = make(&o, "lab_panel.csv", NULL);
    unsigned char *pdf = NULL;
    size_t len = 0;
    make_pdf(r, &pdf, &len);
    free(pdf);
    cJSON *s = summary(r);
    const cJSON *p = cJSON_GetObjectItem(s, "pdf");
    /* Two characters, each printed on the first page and in the footer of every page. */
    assert_true(num(p, "characters_replaced") >= 2);
    assert_string_equal(cJSON_GetObjectItem(s, "title")->valuestring, "Ærøskøbing 血压");
    cJSON_Delete(s);
    char *html = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_html(r, &html, &len, &err), MUSE_OK);
    assert_non_null(strstr(html, "Ærøskøbing 血压"));
    free(html);
    report_free(r);
}

static void test_html_is_self_contained(void **state)
{
    (void)state;
    report_t *r = make(NULL, "fhir_mixed.json", NULL);
    char *html = NULL;
    size_t len = 0;
    muse_error_t err = {0};
    assert_int_equal(report_html(r, &html, &len, &err), MUSE_OK);
    assert_memory_equal(html, "<!DOCTYPE html>", 15);
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "<figure"));
    assert_non_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "id=\"sources\""));
    assert_non_null(strstr(html, "Codes not recognised"));
    /* Nothing fetched from elsewhere. */
    assert_null(strstr(html, "src=\"http"));
    assert_null(strstr(html, "<link"));
    free(html);
    report_free(r);
}

static void test_order_of_calls(void **state)
{
    (void)state;
    report_t *r = NULL;
    muse_error_t err = {0};
    assert_int_equal(report_new(NULL, &r, &err), MUSE_OK);
    unsigned char *pdf = NULL;
    size_t len = 0;
    assert_int_equal(report_pdf(r, &pdf, &len, &err), MUSE_EINVAL);
    assert_int_equal(report_analyze(r, &err), MUSE_EINVAL); /* no input */
    char *s = NULL;
    assert_int_equal(report_summary_json(r, &s, &err), MUSE_EINVAL);
    report_free(r);
    report_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_date),
        cmocka_unit_test(test_bp_week),
        cmocka_unit_test(test_weight_year),
        cmocka_unit_test(test_lab_panel),
        cmocka_unit_test(test_fhir_mixed),
        cmocka_unit_test(test_bad_rows),
        cmocka_unit_test(test_nothing_usable),
        cmocka_unit_test(test_period),
        cmocka_unit_test(test_buffer_and_several_inputs),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_long_series_summarised),
        cmocka_unit_test(test_characters_outside_the_font),
        cmocka_unit_test(test_html_is_self_contained),
        cmocka_unit_test(test_order_of_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
