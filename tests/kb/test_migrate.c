/* Schema migrations (kb/schema.c): a store written by the first kb/store.c
 * (schema 1, tests/kb/fixtures/store-v1.sql) is brought to the current schema
 * by opening it read-write or by kb_migrate(), keeping every entry, review
 * and audit row; a read-only open refuses it with advice; a migration that
 * fails leaves the old store untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kb/kb.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/muse-test-migrate-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Makes a schema-1 store at tmpdir/name from the fixture, then runs extra SQL. */
static void make_v1(char *db, size_t cap, const char *name, const char *extra)
{
    const char *root = getenv("MUSE_SOURCE_ROOT");
    char path[512];
    snprintf(path, sizeof path, "%s/tests/kb/fixtures/store-v1.sql", root ? root : ".");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *sql = malloc((size_t)n + 1);
    assert_non_null(sql);
    assert_int_equal(fread(sql, 1, (size_t)n, f), (size_t)n);
    sql[n] = '\0';
    fclose(f);
    snprintf(db, cap, "%s/%s", tmpdir, name);
    unlink(db);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("loading %s: %s", path, msg);
    if (extra && sqlite3_exec(h, extra, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", extra, msg);
    sqlite3_close(h);
    free(sql);
}

static int query_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void test_readonly_open_refuses_old_schema(void **state)
{
    (void)state;
    char db[512];
    make_v1(db, sizeof db, "ro.db", NULL);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_EUNSUPPORTED);
    assert_null(kb);
    assert_non_null(strstr(err.message, "schema 1"));
    assert_non_null(strstr(err.message, "muse kb migrate"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
}

static void test_migrate_v1_keeps_everything(void **state)
{
    (void)state;
    char db[512];
    make_v1(db, sizeof db, "v1.db", NULL);
    int from = 0;
    muse_error_t err = {0};
    if (kb_migrate(db, &from, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    assert_int_equal(from, 1);
    assert_int_equal(query_int(db, "PRAGMA user_version"), kb_schema_version());
    /* Audit rows: the 3 of the build, the v1 review and the migration. */
    assert_int_equal(query_int(db, "SELECT count(*) FROM audit"), 5);
    assert_int_equal(query_int(db, "SELECT count(*) FROM audit WHERE action = 'review-reject' AND id = 4"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM audit WHERE action = 'migrate'"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM reviews"), 4);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'v1_%'"), 0);

    kb_t *kb = NULL;
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    kb_stats_t st;
    assert_int_equal(kb_stats(kb, &st, &err), MUSE_OK);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.reviewed, 1);
    kb_entry_t *e = NULL;
    assert_int_equal(kb_get(kb, "migraine", &e, &err), MUSE_OK);
    assert_int_equal(e->version, 2);
    assert_string_equal(e->review_status, "reviewed");
    assert_string_equal(e->reviewer, "Test Reviewer");
    assert_int_equal(e->n_aliases, 2);
    assert_string_equal(e->aliases[0], "sick headache");
    kb_entry_free(e);
    /* The latest review of hypertension is the one recorded under v1. */
    assert_int_equal(kb_get(kb, "hypertension", &e, &err), MUSE_OK);
    assert_string_equal(e->review_note, "rejected in a v1 review: needs AHA 2024 cut-offs");
    assert_string_equal(kb_entry_section(e, "treatment"),
                        "Lifestyle changes and medicines such as ACE inhibitors lower blood pressure.");
    kb_entry_free(e);
    /* Search works on the new indexes. */
    kb_hits_t h;
    assert_int_equal(kb_search(kb, "what is high blood pressure", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "hypertension");
    kb_hits_free(&h);
    kb_search_opts_t so = {.section = "interactions"};
    assert_int_equal(kb_search(kb, "warfarin", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].id, "ibuprofen");
    kb_hits_free(&h);
    kb_close(kb);

    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_problems_t p;
    assert_int_equal(kb_verify(kb, &p, &err), MUSE_OK);
    if (p.n)
        fail_msg("verify after migration: %s", p.v[0]);
    kb_problems_free(&p);
    kb_close(kb);
    /* A second migration has nothing to do. */
    assert_int_equal(kb_migrate(db, &from, &err), MUSE_OK);
    assert_int_equal(from, kb_schema_version());
    assert_int_equal(query_int(db, "SELECT count(*) FROM audit"), 5);
}

static void test_failed_migration_leaves_v1(void **state)
{
    (void)state;
    char db[512];
    /* A v1 entry whose stored JSON is damaged cannot be carried over. */
    make_v1(db, sizeof db, "bad.db", "UPDATE entries SET doc = '{broken' WHERE id = 'ibuprofen';");
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_not_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    assert_null(kb);
    assert_non_null(strstr(err.message, "ibuprofen"));
    assert_non_null(strstr(err.message, "unchanged"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM entries"), 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM entries_fts"), 3);
    assert_int_equal(query_int(db, "SELECT count(*) FROM audit"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readonly_open_refuses_old_schema),
        cmocka_unit_test(test_migrate_v1_keeps_everything),
        cmocka_unit_test(test_failed_migration_leaves_v1),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
