/* Knowledge store: build from a content folder, open, search, read entries,
 * statistics, and the errors a curator sees for bad content. A failed build
 * must leave the previous store exactly as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "kb/kb.h"

static char tmpdir[256];

static const char *fixture_dir(void)
{
    static char buf[512];
    const char *root = getenv("MUSE_SOURCE_ROOT");
    snprintf(buf, sizeof buf, "%s/tests/kb/fixtures/good", root ? root : ".");
    return buf;
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/muse-test-kb-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void build_fixture(char *db, size_t cap)
{
    path_in_tmp(db, cap, "good.db");
    kb_build_stats_t st;
    muse_error_t err = {0};
    assert_int_equal(kb_build(fixture_dir(), db, NULL, NULL, &st, &err), MUSE_OK);
    assert_int_equal(st.entries, 3);
}

static void test_build_open_stats(void **state)
{
    (void)state;
    char db[512];
    build_fixture(db, sizeof db);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_stats_t st;
    assert_int_equal(kb_stats(kb, &st, &err), MUSE_OK);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.reviewed, 1);
    assert_int_equal(st.with_sources, 3);
    assert_int_equal(st.n_kinds, 2);
    assert_string_equal(st.by_kind[0].kind, "condition");
    assert_int_equal(st.by_kind[0].n, 2);
    assert_true(strncmp(st.content_hash, "fnv1a64:", 8) == 0);
    kb_close(kb);
}

/* A built store is at the current schema, in WAL mode, with foreign keys
 * declared and the audit log closed to changes. */
static void test_build_schema(void **state)
{
    (void)state;
    char db[512];
    build_fixture(db, sizeof db);
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), kb_schema_version());
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM pragma_foreign_key_list('sections')", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM audit WHERE action = 'build'", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    assert_int_not_equal(sqlite3_exec(h, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void test_search_ranks_named_entry_first(void **state)
{
    (void)state;
    char db[512];
    build_fixture(db, sizeof db);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_hits_t h;
    /* Question words must not decide the ranking; the alias must. */
    assert_int_equal(kb_search(kb, "What is high blood pressure?", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "hypertension");
    assert_string_equal(h.v[0].status, "draft");
    kb_hits_free(&h);
    /* A brand name reaches its medicine. */
    assert_int_equal(kb_search(kb, "can I take advil", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "ibuprofen");
    kb_hits_free(&h);
    /* A typo still lands. */
    assert_int_equal(kb_search(kb, "migrane in the morning", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "migraine");
    kb_hits_free(&h);
    /* Reviewed-only drops drafts. */
    kb_search_opts_t so = {.reviewed_only = 1};
    assert_int_equal(kb_search(kb, "high blood pressure headache", &so, &h, &err), MUSE_OK);
    for (size_t i = 0; i < h.n; i++)
        assert_string_equal(h.v[i].status, "reviewed");
    kb_hits_free(&h);
    /* Nothing to find is not an error. */
    assert_int_equal(kb_search(kb, "what is", NULL, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 0);
    kb_hits_free(&h);
    kb_close(kb);
}

static void test_get_and_sections(void **state)
{
    (void)state;
    char db[512];
    build_fixture(db, sizeof db);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_entry_t *e = NULL;
    assert_int_equal(kb_get(kb, "migraine", &e, &err), MUSE_OK);
    assert_string_equal(e->title, "Migraine");
    assert_int_equal(e->version, 2);
    assert_string_equal(e->review_status, "reviewed");
    assert_string_equal(e->reviewer, "Test Reviewer");
    assert_int_equal(e->n_sources, 1);
    assert_int_equal(e->sources[0].year, 2022);
    /* Sections come back in canonical order: overview before self_care. */
    assert_string_equal(e->sections[0].kind, "overview");
    assert_non_null(kb_entry_section(e, "self_care"));
    assert_null(kb_entry_section(e, "treatment"));
    kb_entry_free(e);
    assert_int_equal(kb_get(kb, "no-such-entry", &e, &err), MUSE_ENOTFOUND);
    assert_null(e);
    kb_close(kb);
}

static void test_mentions(void **state)
{
    (void)state;
    char db[512];
    build_fixture(db, sizeof db);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_mentions_t m;
    const char *q = "Can I take Nurofen for high blood pressures?";
    assert_int_equal(kb_find_mentions(kb, q, &m, &err), MUSE_OK);
    assert_int_equal(m.n, 2);
    int saw_ibu = 0, saw_htn = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (strcmp(m.v[i].id, "ibuprofen") == 0) {
            saw_ibu = 1;
            assert_memory_equal(q + m.v[i].start, "Nurofen", 7);
        }
        if (strcmp(m.v[i].id, "hypertension") == 0) {
            saw_htn = 1;
            assert_memory_equal(q + m.v[i].start, "high blood pressures", m.v[i].end - m.v[i].start);
        }
    }
    assert_true(saw_ibu && saw_htn);
    kb_mentions_free(&m);
    kb_close(kb);
}

/* Copies the good fixtures plus one bad file into a new folder, builds over
 * an existing store, and checks the error and that the store is untouched. */
static void expect_bad(const char *name, const char *text, const char *want_in_message)
{
    char dir[512], db[512], cmd[2400], path[700];
    snprintf(dir, sizeof dir, "%s/bad-%s", tmpdir, name);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/*.json '%s'/", dir, dir, fixture_dir(), dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    write_text(path, text);
    build_fixture(db, sizeof db);
    struct stat before, after;
    assert_int_equal(stat(db, &before), 0);
    muse_error_t err = {0};
    int rc = kb_build(dir, db, NULL, NULL, NULL, &err);
    assert_int_not_equal(rc, MUSE_OK);
    if (!strstr(err.message, want_in_message))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want_in_message);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(stat(db, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    assert_int_equal(before.st_size, after.st_size);
    /* The old store still opens and holds the old content. */
    kb_t *kb = NULL;
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_stats_t st;
    assert_int_equal(kb_stats(kb, &st, &err), MUSE_OK);
    assert_int_equal(st.entries, 3);
    kb_close(kb);
}

#define ENTRY(id, kind, extra)                                                                                   \
    "{\"id\":\"" id "\",\"kind\":\"" kind "\",\"title\":\"T\",\"aliases\":[],"                                   \
    "\"sections\":{\"overview\":\"Text.\"},"                                                                     \
    "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}],"    \
    "\"review\":{\"status\":\"draft\"}" extra "}"

static void test_bad_content(void **state)
{
    (void)state;
    /* The parser stops at the '}' on line 4, column 1. */
    expect_bad("broken", "{\n  \"id\": \"broken\",\n  \"kind\": \n}\n", ":4:1:");
    expect_bad("broken2", "{\"id\": \"broken2\"}", "field \"kind\"");
    expect_bad("badkind", ENTRY("badkind", "disease", ""), "unknown entry kind");
    expect_bad("migraine-copy", "{\"id\":\"migraine\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"x\"},"
               "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}],"
               "\"review\":{\"status\":\"draft\"}}", "does not match the file name");
    expect_bad("badsec", "{\"id\":\"badsec\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"x\",\"gossip\":\"y\"},"
               "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}],"
               "\"review\":{\"status\":\"draft\"}}", "sections.gossip");
    expect_bad("empty", "{\"id\":\"empty\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"  \"},"
               "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}],"
               "\"review\":{\"status\":\"draft\"}}", "text is empty");
    expect_bad("badurl", "{\"id\":\"badurl\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"x\"},"
               "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"javascript:alert(1)\"}],"
               "\"review\":{\"status\":\"draft\"}}", "sources[0].url");
    expect_bad("nosrc", "{\"id\":\"nosrc\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"x\"},"
               "\"sources\":[],\"review\":{\"status\":\"draft\"}}", "at least one source");
    expect_bad("fakereview", "{\"id\":\"fakereview\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"x\"},"
               "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}],"
               "\"review\":{\"status\":\"reviewed\"}}", "must name its reviewer");
    /* Oversized: a 300 KiB overview. */
    size_t big = 300 * 1024;
    char *huge = malloc(big + 512);
    assert_non_null(huge);
    strcpy(huge, "{\"id\":\"huge\",\"kind\":\"condition\",\"title\":\"T\",\"sections\":{\"overview\":\"");
    size_t n = strlen(huge);
    memset(huge + n, 'a', big);
    strcpy(huge + n + big, "\"}}");
    expect_bad("huge", huge, "larger than 256 KiB");
    free(huge);
}

static void test_open_errors(void **state)
{
    (void)state;
    kb_t *kb = NULL;
    muse_error_t err = {0};
    char p[512];
    path_in_tmp(p, sizeof p, "missing.db");
    assert_int_equal(kb_open(p, KB_READONLY, &kb, &err), MUSE_ENOTFOUND);
    assert_non_null(strstr(err.message, p));
    assert_non_null(strstr(err.message, "muse kb build"));
    path_in_tmp(p, sizeof p, "garbage.db");
    write_text(p, "this is not a database, just text that is long enough to look like a header......");
    assert_int_not_equal(kb_open(p, KB_READONLY, &kb, &err), MUSE_OK);
    assert_null(kb);
    assert_non_null(strstr(err.message, p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_open_stats),
        cmocka_unit_test(test_build_schema),
        cmocka_unit_test(test_search_ranks_named_entry_first),
        cmocka_unit_test(test_get_and_sections),
        cmocka_unit_test(test_mentions),
        cmocka_unit_test(test_bad_content),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
