/* Interpretation JSON and text (medical_interpret_json / _text), including
 * a golden file: tests/medical/data/interpret_week.golden.json, reviewed
 * by hand when it changes (it is the documented shape, docs/medical.md). */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

#define NOW_2026_11_02_NOON ((int64_t)1793620800)

static const char *data_path(const char *name)
{
    static _Thread_local char buf[1024];
    const char *root = getenv("MUSE_SOURCE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/medical/data/%s", root ? root : ".", name);
    return buf;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    if (b)
        b[n] = '\0';
    fclose(f);
    return b;
}

static cJSON *interpret_text(const char *text)
{
    med_series_t s;
    med_parse_opts_t o = {.now = NOW_2026_11_02_NOON};
    assert_int_equal(medical_parse_text_opts(text, &o, &s, NULL), MUSE_OK);
    cJSON *j = NULL;
    assert_int_equal(medical_interpret_json(&s, NULL, &j, NULL), MUSE_OK);
    med_series_free(&s);
    return j;
}

static void test_is_150_95_high(void **state)
{
    (void)state;
    cJSON *j = interpret_text("Is 150/95 high?");
    cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "readings"), 0);
    assert_non_null(r);
    assert_string_equal(cJSON_GetObjectItem(r, "kind")->valuestring, "bp");
    assert_true(cJSON_GetObjectItem(r, "value")->valuedouble == 150);
    assert_true(cJSON_GetObjectItem(r, "value2")->valuedouble == 95);
    assert_string_equal(cJSON_GetObjectItem(r, "unit")->valuestring, "mm[Hg]");
    assert_string_equal(cJSON_GetObjectItem(r, "display")->valuestring, "150/95 mmHg");
    cJSON *cat = cJSON_GetObjectItem(r, "category");
    assert_string_equal(cJSON_GetObjectItem(cat, "id")->valuestring, "stage2");
    assert_string_equal(cJSON_GetObjectItem(cat, "range")->valuestring,
                        "systolic 140 to 180 mmHg or diastolic 90 to 120 mmHg");
    cJSON *src = cJSON_GetObjectItem(r, "source");
    assert_string_equal(cJSON_GetObjectItem(src, "url")->valuestring, "https://doi.org/10.1161/HYP.0000000000000065");
    cJSON *span = cJSON_GetObjectItem(r, "span");
    assert_int_equal(cJSON_GetArrayItem(span, 0)->valueint, 3);
    assert_int_equal(cJSON_GetArrayItem(span, 1)->valueint, 9);
    /* Stable keys even when empty. */
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "patterns")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "problems")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "entities")));
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(j, "interactions")));

    char *t = NULL;
    assert_int_equal(medical_interpret_text(j, &t, NULL), MUSE_OK);
    assert_non_null(strstr(t, "Blood pressure 150/95 mmHg is in the Stage 2 hypertension range"));
    assert_non_null(strstr(t, "ACC/AHA"));
    free(t);
    cJSON_Delete(j);
}

static void test_implausible_and_assumed_in_json(void **state)
{
    (void)state;
    cJSON *j = interpret_text("BP 400/20 and glucose 7");
    cJSON *bp = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "readings"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(bp, "implausible")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(bp, "category")));
    cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "readings"), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(g, "assumed_unit")));
    assert_non_null(strstr(cJSON_GetObjectItem(g, "note")->valuestring, "taken as mmol/L"));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(g, "fasting")));
    cJSON *ag = cJSON_GetObjectItem(g, "as_given");
    assert_true(cJSON_GetObjectItem(ag, "value")->valuedouble == 7);
    char *t = NULL;
    assert_int_equal(medical_interpret_text(j, &t, NULL), MUSE_OK);
    assert_non_null(strstr(t, "not interpreted"));
    assert_non_null(strstr(t, "Assumption: no unit given: 7 taken as mmol/L"));
    free(t);
    /* No plausible BP: no BP series. */
    cJSON *series = cJSON_GetObjectItem(j, "series"), *s;
    cJSON_ArrayForEach(s, series)
        assert_string_not_equal(cJSON_GetObjectItem(s, "kind")->valuestring, "bp");
    cJSON_Delete(j);
}

static void test_golden_week(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    med_parse_opts_t o = {.now = NOW_2026_11_02_NOON};
    assert_int_equal(medical_read_file_opts(data_path("interpret_week.txt"), &o, &s, &p, NULL), MUSE_OK);
    med_interpret_opts_t io = {.problems = &p, .source = "interpret_week.txt"};
    cJSON *j = NULL;
    assert_int_equal(medical_interpret_json(&s, &io, &j, NULL), MUSE_OK);
    char *golden = slurp(data_path("interpret_week.golden.json"));
    assert_non_null(golden);
    cJSON *g = cJSON_Parse(golden);
    assert_non_null(g);
    if (!cJSON_Compare(g, j, 1)) {
        char *got = cJSON_Print(j);
        print_message("interpretation differs from interpret_week.golden.json; got:\n%s\n", got);
        cJSON_free(got);
        fail();
    }
    cJSON_Delete(g);
    free(golden);
    cJSON_Delete(j);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_file_problems_listed(void **state)
{
    (void)state;
    med_series_t s;
    med_problems_t p;
    assert_int_equal(medical_read_file(data_path("bp_home.csv"), &s, &p, NULL), MUSE_OK);
    med_interpret_opts_t io = {.problems = &p, .source = "bp_home.csv"};
    cJSON *j = NULL;
    assert_int_equal(medical_interpret_json(&s, &io, &j, NULL), MUSE_OK);
    cJSON *probs = cJSON_GetObjectItem(j, "problems");
    assert_int_equal(cJSON_GetArraySize(probs), 2);
    cJSON *p0 = cJSON_GetArrayItem(probs, 0);
    assert_int_equal(cJSON_GetObjectItem(p0, "line")->valueint, 6);
    assert_non_null(strstr(cJSON_GetObjectItem(p0, "message")->valuestring, "did you mean 120?"));
    cJSON *series = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "series"), 0);
    assert_int_equal(cJSON_GetObjectItem(series, "count")->valueint, 7);
    assert_int_equal(cJSON_GetObjectItem(series, "implausible")->valueint, 1);
    cJSON *me = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(series, "components"), 0),
                                    "morning_evening");
    assert_int_equal(cJSON_GetObjectItem(me, "morning_count")->valueint, 4);
    char *t = NULL;
    assert_int_equal(medical_interpret_text(j, &t, NULL), MUSE_OK);
    assert_non_null(strstr(t, "Not read (fix these and run again):"));
    assert_non_null(strstr(t, "bp_home.csv:6"));
    free(t);
    cJSON_Delete(j);
    med_series_free(&s);
    med_problems_free(&p);
}

static void test_empty(void **state)
{
    (void)state;
    cJSON *j = interpret_text("How do I lower my cholesterol?");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "readings")), 0);
    char *t = NULL;
    assert_int_equal(medical_interpret_text(j, &t, NULL), MUSE_OK);
    assert_string_equal(t, "No measurements were found.\n");
    free(t);
    cJSON_Delete(j);
    assert_int_equal(medical_interpret_json(NULL, NULL, &j, NULL), MUSE_OK);
    cJSON_Delete(j);
}

static void test_entities_and_interactions_through_store(void **state)
{
    (void)state;
    const char *path = getenv("MUSE_KB");
    kb_t *kb = NULL;
    if (!path || kb_open(path, KB_READONLY, &kb, NULL) != MUSE_OK) {
        print_message("  skipped: no knowledge store ($MUSE_KB)\n");
        skip();
    }
    const char *q = "I take warfarin and metformin. What if I took ibuprofen for my back? eGFR 25";
    med_series_t s;
    assert_int_equal(medical_parse_text(q, &s, NULL), MUSE_OK);
    med_interpret_opts_t io = {.kb = kb, .text = q};
    cJSON *j = NULL;
    assert_int_equal(medical_interpret_json(&s, &io, &j, NULL), MUSE_OK);
    cJSON *ix = cJSON_GetObjectItem(j, "interactions"), *x;
    int vka = 0, egfr = 0;
    cJSON_ArrayForEach(x, ix) {
        const char *id = cJSON_GetObjectItem(x, "id")->valuestring;
        vka |= strcmp(id, "vka-nsaid") == 0;
        egfr |= strcmp(id, "metformin-egfr-under-30") == 0;
    }
    assert_true(vka);
    assert_true(egfr);
    cJSON *e, *ents = cJSON_GetObjectItem(j, "entities");
    int hyp = 0;
    cJSON_ArrayForEach(e, ents)
        if (strcmp(cJSON_GetObjectItem(e, "id")->valuestring, "ibuprofen") == 0)
            hyp = cJSON_IsTrue(cJSON_GetObjectItem(e, "hypothetical"));
    assert_true(hyp);
    cJSON_Delete(j);
    med_series_free(&s);
    kb_close(kb);
}

/* Many threads parsing and interpreting at once (the contemplating mode
 * and the server do): results must not depend on the others. */
static void *worker(void *arg)
{
    int *ok = arg;
    for (int i = 0; i < 20; i++) {
        med_series_t s;
        char text[128];
        snprintf(text, sizeof text, "Mon 8am %d/90, Tue 8am 150/95, glucose %d, A1c 7.%d", 140 + i, 100 + i, i % 10);
        if (medical_parse_text(text, &s, NULL) != MUSE_OK || s.n != 4) {
            *ok = 0;
            return NULL;
        }
        cJSON *j = NULL;
        if (medical_interpret_json(&s, NULL, &j, NULL) != MUSE_OK ||
            cJSON_GetArraySize(cJSON_GetObjectItem(j, "readings")) != 4 ||
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "readings"), 0), "value")->valuedouble !=
                140 + i)
            *ok = 0;
        cJSON_Delete(j);
        med_series_free(&s);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[8];
    int ok[8];
    for (int i = 0; i < 8; i++) {
        ok[i] = 1;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &ok[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_true(ok[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_is_150_95_high),
        cmocka_unit_test(test_implausible_and_assumed_in_json),
        cmocka_unit_test(test_golden_week),
        cmocka_unit_test(test_file_problems_listed),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_entities_and_interactions_through_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
