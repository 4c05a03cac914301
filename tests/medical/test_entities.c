/* Entities and their context: negation ("no chest pain", "denies fever")
 * and hypotheticals ("what if I had"). The context rules are tested on spans
 * directly; extraction through the knowledge store runs when the store the
 * build made is available ($MUSE_KB). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "medical/medical.h"

static void ctx(const char *text, const char *mention, int *neg, int *hyp)
{
    const char *p = strstr(text, mention);
    assert_non_null(p);
    medical_mention_context(text, (size_t)(p - text), (size_t)(p - text) + strlen(mention), neg, hyp);
}

static void expect(const char *text, const char *mention, int neg, int hyp)
{
    int n, h;
    ctx(text, mention, &n, &h);
    if (n != neg || h != hyp)
        fail_msg("\"%s\" / %s: negated %d hypothetical %d, expected %d %d", text, mention, n, h, neg, hyp);
}

/* Cue phrases after NegEx (Chapman WW et al., J Biomed Inform 2001;34:301-10). */
static void test_negation(void **state)
{
    (void)state;
    expect("I have no chest pain", "chest pain", 1, 0);
    expect("Patient denies fever", "fever", 1, 0);
    expect("denies fever, chills or chest pain", "chest pain", 1, 0);
    expect("I have chest pain", "chest pain", 0, 0);
    expect("no fever but a bad headache", "headache", 0, 0);
    expect("No fever. Headache since Monday", "Headache", 0, 0);
    expect("I don't take warfarin any more", "warfarin", 1, 0);
    expect("chest pain was ruled out", "chest pain", 1, 0);
    expect("there was no increase in headache", "headache", 0, 0);
    expect("I have had a headache for weeks without any relief", "headache", 0, 0);
}

static void test_hypothetical(void **state)
{
    (void)state;
    expect("what if I had diabetes?", "diabetes", 0, 1);
    expect("If I took ibuprofen with my warfarin, would it be OK?", "ibuprofen", 0, 1);
    expect("Can I take ibuprofen?", "ibuprofen", 0, 1);
    expect("I have diabetes", "diabetes", 0, 0);
    expect("I have diabetes. What if I get a fever?", "diabetes", 0, 0);
    expect("I have diabetes. What if I get a fever?", "fever", 0, 1);
    expect("denies fever, what if I had diabetes", "diabetes", 0, 1);
}

static void test_through_store(void **state)
{
    (void)state;
    const char *path = getenv("MUSE_KB");
    kb_t *kb = NULL;
    if (!path || kb_open(path, KB_READONLY, &kb, NULL) != MUSE_OK) {
        print_message("  skipped: no knowledge store ($MUSE_KB)\n");
        skip();
    }
    med_entities_t e;
    muse_error_t err = {0};
    const char *q = "I have chronic kidney disease and no chest pain. What if I had acne?";
    assert_int_equal(medical_extract_entities(kb, q, &e, &err), MUSE_OK);
    int found_ckd = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (strcmp(e.v[i].id, "chronic-kidney-disease") == 0) {
            found_ckd = 1;
            assert_false(e.v[i].negated);
            assert_false(e.v[i].hypothetical);
        }
        if (strcmp(e.v[i].id, "acne") == 0)
            assert_true(e.v[i].hypothetical);
        assert_true(e.v[i].end > e.v[i].start && e.v[i].end <= strlen(q));
    }
    assert_true(found_ckd);
    med_entities_free(&e);
    kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_hypothetical),
        cmocka_unit_test(test_through_store),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
