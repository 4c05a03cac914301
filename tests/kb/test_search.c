/* Search (kb/search.c) on a small store: per-section lookups ("treatment of
 * X"), kind and status filters, the typo fallback through the trigram index
 * (a mistyped first letter too), stop words, and retired entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb/kb.h"

static char tmpdir[256];
static char db[512];

#define SRC "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}]"

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/muse-test-search-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char dir[512], extra[600];
    const char *root = getenv("MUSE_SOURCE_ROOT");
    snprintf(dir, sizeof dir, "%s/tests/kb/fixtures/good", root ? root : ".");
    snprintf(db, sizeof db, "%s/search.db", tmpdir);
    muse_error_t err = {0};
    if (kb_build(dir, db, NULL, NULL, NULL, &err) != MUSE_OK)
        return -1;
    /* Two more: a retired entry and one whose word "warfarin" sits only in
     * its treatment section. */
    snprintf(extra, sizeof extra, "%s/extra.jsonl", tmpdir);
    FILE *f = fopen(extra, "w");
    if (!f)
        return -1;
    fputs("{\"id\":\"old-leaflet\",\"kind\":\"wellness\",\"title\":\"Old leaflet on high blood pressure\","
          "\"sections\":{\"overview\":\"Superseded advice about high blood pressure.\"}," SRC ","
          "\"review\":{\"status\":\"retired\"}}\n"
          "{\"id\":\"atrial-fibrillation\",\"kind\":\"condition\",\"title\":\"Atrial fibrillation\","
          "\"aliases\":[\"AF\",\"irregular heartbeat\"],\"sections\":{\"overview\":\"An irregular, often fast heartbeat.\","
          "\"treatment\":\"Blood thinners such as warfarin or apixaban lower the risk of stroke.\"}," SRC ","
          "\"review\":{\"status\":\"draft\"}}\n", f);
    fclose(f);
    kb_t *kb = NULL;
    if (kb_open(db, KB_READWRITE, &kb, &err) != MUSE_OK || kb_import(kb, extra, NULL, NULL, &err) != MUSE_OK) {
        fprintf(stderr, "%s\n", err.message);
        kb_close(kb);
        return -1;
    }
    kb_close(kb);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static kb_t *open_db(void)
{
    kb_t *kb = NULL;
    muse_error_t err = {0};
    if (kb_open(db, KB_READONLY, &kb, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    return kb;
}

static void test_section_lookup(void **state)
{
    (void)state;
    kb_t *kb = open_db();
    muse_error_t err = {0};
    kb_hits_t h;
    /* "Treatment of high blood pressure": the entry, its treatment section. */
    kb_search_opts_t so = {.section = "treatment"};
    assert_int_equal(kb_search(kb, "high blood pressure", &so, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "hypertension");
    assert_string_equal(h.v[0].section, "treatment");
    assert_non_null(strstr(h.v[0].snippet, "ACE inhibitors"));
    for (size_t i = 0; i < h.n; i++)
        assert_string_equal(h.v[i].section, "treatment");
    kb_hits_free(&h);
    /* Only entries that have the section come back. */
    assert_int_equal(kb_search(kb, "migraine", &so, &h, &err), MUSE_OK);
    for (size_t i = 0; i < h.n; i++)
        assert_string_not_equal(h.v[i].id, "migraine");
    kb_hits_free(&h);
    /* A word found only in one entry's treatment section ranks that entry
     * there, while the interactions lookup finds the medicine. */
    assert_int_equal(kb_search(kb, "warfarin", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].id, "atrial-fibrillation");
    kb_hits_free(&h);
    so.section = "interactions";
    assert_int_equal(kb_search(kb, "warfarin", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].id, "ibuprofen");
    assert_non_null(strstr(h.v[0].snippet, "warfarin"));
    kb_hits_free(&h);
    /* Without a section, the snippet comes from the best-matching one. */
    assert_int_equal(kb_search(kb, "bleeding with warfarin", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "ibuprofen");
    assert_string_equal(h.v[0].section, "interactions");
    kb_hits_free(&h);
    so.section = "gossip";
    assert_int_equal(kb_search(kb, "warfarin", &so, &h, &err), MUSE_EINVAL);
    assert_int_equal(h.n, 0);
    kb_close(kb);
}

static void test_typos(void **state)
{
    (void)state;
    kb_t *kb = open_db();
    muse_error_t err = {0};
    kb_hits_t h;
    static const char *const typos[][2] = {
        {"migrane", "migraine"},       /* a letter missing */
        {"nigraine attack", "migraine"},/* the first letter wrong */
        {"ibuprofne", "ibuprofen"},    /* two letters swapped */
        {"hypertenshun", "hypertension"},
    };
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        assert_int_equal(kb_search(kb, typos[i][0], NULL, &h, &err), MUSE_OK);
        if (h.n == 0 || strcmp(h.v[0].id, typos[i][1]) != 0)
            fail_msg("\"%s\": got %s, want %s", typos[i][0], h.n ? h.v[0].id : "nothing", typos[i][1]);
        kb_hits_free(&h);
    }
    /* A word nothing resembles finds nothing rather than something random. */
    assert_int_equal(kb_search(kb, "xqzvvkj", NULL, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 0);
    kb_hits_free(&h);
    kb_close(kb);
}

static void test_filters_and_stop_words(void **state)
{
    (void)state;
    kb_t *kb = open_db();
    muse_error_t err = {0};
    kb_hits_t h;
    kb_search_opts_t so = {.kind = "medication"};
    assert_int_equal(kb_search(kb, "migraine headache advil", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].id, "ibuprofen");
    kb_hits_free(&h);
    /* Question words alone find nothing. */
    assert_int_equal(kb_search(kb, "what should I do, can you tell me?", NULL, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 0);
    kb_hits_free(&h);
    /* A retired entry never comes back, even named in full. */
    assert_int_equal(kb_search(kb, "old leaflet on high blood pressure", NULL, &h, &err), MUSE_OK);
    for (size_t i = 0; i < h.n; i++)
        assert_string_not_equal(h.v[i].id, "old-leaflet");
    kb_hits_free(&h);
    /* limit is honoured; scores fall. */
    so = (kb_search_opts_t){.limit = 2};
    assert_int_equal(kb_search(kb, "headache blood pressure warfarin", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 2);
    assert_true(h.v[0].score >= h.v[1].score);
    kb_hits_free(&h);
    kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_section_lookup),
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_filters_and_stop_words),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
