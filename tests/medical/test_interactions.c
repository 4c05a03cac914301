/* Interaction lookup (medical_interactions_find) over
 * medical/data/interactions.json. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

static int has(const med_interactions_t *x, const char *id)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->v[i].id, id) == 0)
            return 1;
    return 0;
}

#define FIND(x, ...)                                                                             \
    medical_interactions_find((const char *const[]){__VA_ARGS__},                              \
                              sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *), \
                              NULL, x, NULL)

/* The issue's examples: warfarin + NSAIDs, SSRI + MAOI, ACE inhibitor +
 * potassium-sparing diuretic (BNF interactions), metformin + eGFR < 30 (FDA
 * Drug Safety Communication 2016). */
static void test_issue_examples(void **state)
{
    (void)state;
    med_interactions_t x;
    assert_int_equal(FIND(&x, "warfarin", "ibuprofen"), MUSE_OK);
    assert_true(has(&x, "vka-nsaid"));
    assert_string_equal(x.v[0].severity, "major");
    assert_string_equal(x.v[0].a, "warfarin");
    assert_string_equal(x.v[0].b, "ibuprofen");
    assert_non_null(strstr(x.v[0].source_url, "https://"));
    med_interactions_free(&x);

    assert_int_equal(FIND(&x, "phenelzine", "sertraline"), MUSE_OK);
    assert_true(has(&x, "ssri-maoi"));
    assert_string_equal(x.v[0].severity, "contraindicated");
    med_interactions_free(&x);

    assert_int_equal(FIND(&x, "lisinopril", "spironolactone"), MUSE_OK);
    assert_true(has(&x, "raas-k-sparing"));
    med_interactions_free(&x);

    /* Class ids from the store match as well as members. */
    assert_int_equal(FIND(&x, "warfarin", "nsaids"), MUSE_OK);
    assert_true(has(&x, "vka-nsaid"));
    med_interactions_free(&x);
}

static void test_measure_interaction(void **state)
{
    (void)state;
    med_series_t s = {0};
    med_reading_t r;
    med_reading_init(&r, MED_EGFR);
    medical_reading_set(&r, MED_EGFR, 25, NAN, NULL, NULL);
    med_series_push(&s, &r);
    med_interactions_t x;
    const char *ids[] = {"metformin"};
    assert_int_equal(medical_interactions_find(ids, 1, &s, &x, NULL), MUSE_OK);
    assert_true(has(&x, "metformin-egfr-under-30"));
    assert_false(has(&x, "metformin-egfr-30-45"));
    assert_string_equal(x.v[0].severity, "contraindicated");
    assert_non_null(strstr(x.v[0].b, "25"));
    med_interactions_free(&x);
    /* Without readings, no drug-measure interaction. */
    assert_int_equal(medical_interactions_find(ids, 1, NULL, &x, NULL), MUSE_OK);
    assert_int_equal(x.n, 0);
    med_interactions_free(&x);
    med_series_free(&s);
}

static void test_drug_condition_and_order(void **state)
{
    (void)state;
    med_interactions_t x;
    assert_int_equal(FIND(&x, "naproxen", "chronic-kidney-disease", "warfarin", "omeprazole", "clopidogrel",
                          "sertraline"),
                     MUSE_OK);
    assert_true(has(&x, "nsaid-kidney-disease"));
    assert_true(has(&x, "vka-nsaid"));
    assert_true(has(&x, "clopidogrel-ppi"));
    assert_true(has(&x, "anticoagulant-antiplatelet"));
    assert_true(has(&x, "anticoagulant-ssri"));
    /* Most severe first. */
    static const char *const rank[] = {"contraindicated", "major", "moderate", "minor"};
    int last = 0;
    for (size_t i = 0; i < x.n; i++) {
        int k = 0;
        while (k < 4 && strcmp(rank[k], x.v[i].severity) != 0)
            k++;
        assert_true(k >= last);
        last = k;
    }
    cJSON *j = medical_interactions_json(&x);
    assert_int_equal(cJSON_GetArraySize(j), (int)x.n);
    cJSON *first = cJSON_GetArrayItem(j, 0);
    assert_non_null(cJSON_GetObjectItem(first, "between"));
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(first, "source"), "url"));
    cJSON_Delete(j);
    med_interactions_free(&x);

    assert_int_equal(FIND(&x, "paracetamol", "amoxicillin"), MUSE_OK);
    assert_int_equal(x.n, 0);
    med_interactions_free(&x);
    /* One medicine never interacts with itself. */
    assert_int_equal(FIND(&x, "aspirin", "aspirin"), MUSE_OK);
    assert_int_equal(x.n, 0);
    med_interactions_free(&x);
}

/* The data file: at least 40 entries, each with a known severity, a type, a
 * summary, advice and a source with an https URL, and every class it names
 * defined. */
static void test_data_file(void **state)
{
    (void)state;
    const cJSON *d = medical_interactions_data();
    assert_non_null(d);
    const cJSON *list = cJSON_GetObjectItem(d, "interactions"), *ix;
    assert_true(cJSON_GetArraySize(list) >= 40);
    const cJSON *classes = cJSON_GetObjectItem(d, "classes");
    const cJSON *conds = cJSON_GetObjectItem(d, "conditions");
    cJSON_ArrayForEach(ix, list) {
        const char *id = cJSON_GetObjectItem(ix, "id")->valuestring;
        const char *sev = cJSON_GetStringValue(cJSON_GetObjectItem(ix, "severity"));
        assert_non_null(sev);
        if (strcmp(sev, "contraindicated") && strcmp(sev, "major") && strcmp(sev, "moderate") && strcmp(sev, "minor"))
            fail_msg("%s: severity %s", id, sev);
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(ix, "summary")));
        assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(ix, "advice")));
        const char *url = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(ix, "source"), "url"));
        if (!url || strncmp(url, "https://", 8) != 0)
            fail_msg("%s: source url", id);
        const char *sides[] = {"a", "b"};
        for (int s = 0; s < 2; s++) {
            const cJSON *ref;
            cJSON_ArrayForEach(ref, cJSON_GetObjectItem(ix, sides[s])) {
                const char *v = ref->valuestring;
                if (strncmp(v, "class:", 6) == 0 && !cJSON_GetObjectItem(classes, v + 6))
                    fail_msg("%s: unknown %s", id, v);
                if (strncmp(v, "cond:", 5) == 0 && !cJSON_GetObjectItem(conds, v + 5))
                    fail_msg("%s: unknown %s", id, v);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_examples),
        cmocka_unit_test(test_measure_interaction),
        cmocka_unit_test(test_drug_condition_and_order),
        cmocka_unit_test(test_data_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
