/* Curation: import, export, review and verify (kb/curate.c).
 *
 * What a curator relies on: an export imports into an empty store and exports
 * again byte for byte; a bad line anywhere in an import is reported with
 * file, line (and column) and field, and the store is exactly as before; so
 * is a store whose importer was killed half way; --replace bumps the version
 * and keeps the old one in the audit log; a review is recorded and audited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kb/kb.h"

static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/muse-test-curate-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* A fresh store built from the three good fixtures. */
static void build_good(char *db, size_t cap, const char *name)
{
    char dir[512];
    const char *root = getenv("MUSE_SOURCE_ROOT");
    snprintf(dir, sizeof dir, "%s/tests/kb/fixtures/good", root ? root : ".");
    tmp_path(db, cap, name);
    muse_error_t err = {0};
    if (kb_build(dir, db, NULL, NULL, NULL, &err) != MUSE_OK)
        fail_msg("%s", err.message);
}

static void export_to(const char *db, const char *out)
{
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    FILE *f = fopen(out, "wb");
    assert_non_null(f);
    if (kb_export(kb, f, NULL, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    fclose(f);
    kb_close(kb);
}

/* Every row of every table, in key order, hashed: two stores with the same
 * fingerprint hold exactly the same data. */
static uint64_t fingerprint(const char *db)
{
    static const char *const sql[] = {
        "SELECT * FROM meta ORDER BY key",
        "SELECT * FROM entries ORDER BY n",
        "SELECT * FROM sections ORDER BY n",
        "SELECT * FROM aliases ORDER BY entry_id, ord",
        "SELECT * FROM sources ORDER BY entry_id, ord",
        "SELECT * FROM reviews ORDER BY id",
        "SELECT * FROM audit ORDER BY id",
        "SELECT * FROM vocab ORDER BY n",
        "SELECT rowid, title, aliases FROM names_fts ORDER BY rowid",
        "SELECT rowid FROM sections_fts WHERE sections_fts MATCH 'the OR a OR and OR of' ORDER BY rowid",
    };
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    uint64_t fp = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(h, sql[i], -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", sql[i], sqlite3_errmsg(h));
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const unsigned char *t = sqlite3_column_text(st, c);
                for (const unsigned char *p = t ? t : (const unsigned char *)"\x01"; *p; p++)
                    fp = (fp ^ *p) * 1099511628211ULL;
                fp = (fp ^ 0xff) * 1099511628211ULL;
            }
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return fp;
}

static int integrity_ok(const char *db)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int ok = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ok;
}

#define SRC "\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}]"
#define REVIEW "\"review\":{\"status\":\"draft\"}"
#define GOOD_LINE(id) "{\"id\":\"" id "\",\"kind\":\"symptom\",\"title\":\"Title " id "\",\"aliases\":[\"alias " id "\"]," \
    "\"sections\":{\"overview\":\"About " id ".\"}," SRC "," REVIEW "}\n"

static void test_export_import_round_trip(void **state)
{
    (void)state;
    char db[512], e1[512], e2[512], fresh[512];
    build_good(db, sizeof db, "rt.db");
    tmp_path(e1, sizeof e1, "rt1.jsonl");
    tmp_path(e2, sizeof e2, "rt2.jsonl");
    tmp_path(fresh, sizeof fresh, "rt-fresh.db");
    export_to(db, e1);
    muse_error_t err = {0};
    assert_int_equal(kb_create(fresh, &err), MUSE_OK);
    kb_t *kb = NULL;
    assert_int_equal(kb_open(fresh, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_import_stats_t st;
    if (kb_import(kb, e1, NULL, &st, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    assert_int_equal(st.added, 3);
    assert_int_equal(st.replaced, 0);
    kb_close(kb);
    export_to(fresh, e2);
    size_t n1, n2;
    char *a = read_all(e1, &n1), *b = read_all(e2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    /* One canonical line per entry, ordered by id. */
    assert_true(strncmp(a, "{\"id\":\"hypertension\",\"kind\":\"condition\"", 39) == 0);
    assert_non_null(strstr(a, "\n{\"id\":\"ibuprofen\""));
    free(a);
    free(b);
    /* Same content, same fingerprint in meta. */
    kb_stats_t s1, s2;
    kb_t *k1 = NULL, *k2 = NULL;
    assert_int_equal(kb_open(db, KB_READONLY, &k1, &err), MUSE_OK);
    assert_int_equal(kb_open(fresh, KB_READONLY, &k2, &err), MUSE_OK);
    assert_int_equal(kb_stats(k1, &s1, &err), MUSE_OK);
    assert_int_equal(kb_stats(k2, &s2, &err), MUSE_OK);
    assert_string_equal(s1.content_hash, s2.content_hash);
    kb_close(k1);
    kb_close(k2);
}

static void test_import_adds_and_searches(void **state)
{
    (void)state;
    char db[512], f[512];
    build_good(db, sizeof db, "add.db");
    tmp_path(f, sizeof f, "add.jsonl");
    write_text(f, GOOD_LINE("chilblains") "\n" GOOD_LINE("frostnip"));
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_import_stats_t st;
    if (kb_import(kb, f, NULL, &st, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    assert_int_equal(st.added, 2);
    assert_int_equal(st.lines, 3);
    kb_hits_t h;
    assert_int_equal(kb_search(kb, "alias frostnip", NULL, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "frostnip");
    kb_hits_free(&h);
    kb_stats_t s;
    assert_int_equal(kb_stats(kb, &s, &err), MUSE_OK);
    assert_int_equal(s.entries, 5);
    kb_close(kb);
}

/* Appends a bad line after `good` good ones, imports, and checks the error
 * names the file and line (and the wanted text), and that the store did not
 * change at all. */
static void expect_import_fails(const char *name, const char *bad_line, int good, const char *want)
{
    char db[512], f[512];
    build_good(db, sizeof db, "bad.db");
    tmp_path(f, sizeof f, name);
    FILE *out = fopen(f, "w");
    assert_non_null(out);
    for (int i = 0; i < good; i++)
        fprintf(out, "{\"id\":\"ok-%d\",\"kind\":\"test\",\"title\":\"Ok %d\",\"sections\":{\"overview\":\"Fine.\"},"
                     SRC "," REVIEW "}\n", i, i);
    fputs(bad_line, out);
    fputc('\n', out);
    fclose(out);
    uint64_t before = fingerprint(db);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    int rc = kb_import(kb, f, NULL, NULL, &err);
    kb_close(kb);
    assert_int_not_equal(rc, MUSE_OK);
    char where[600];
    snprintf(where, sizeof where, "%s:%d", f, good + 1);
    if (!strstr(err.message, where))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, where);
    if (!strstr(err.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
    assert_true(before == fingerprint(db));
    assert_true(integrity_ok(db));
}

static void test_import_bad_input_each(void **state)
{
    (void)state;
    expect_import_fails("json.jsonl", "{\"id\": nope}", 4, ":5:8: malformed JSON");
    expect_import_fails("trunc.jsonl", "{\"id\": \"a\", \"kind\": ", 2, ":3:");
    expect_import_fails("noid.jsonl", "{\"kind\":\"test\"}", 1, "field \"id\"");
    expect_import_fails("notitle.jsonl", "{\"id\":\"x\",\"kind\":\"test\",\"sections\":{\"overview\":\"a\"}," SRC "," REVIEW "}", 1,
                        "field \"title\"");
    expect_import_fails("kind.jsonl", "{\"id\":\"x\",\"kind\":\"disease\",\"title\":\"X\",\"sections\":{\"overview\":\"a\"}," SRC
                        "," REVIEW "}", 3, "unknown entry kind \"disease\"");
    expect_import_fails("sec.jsonl", "{\"id\":\"x\",\"kind\":\"test\",\"title\":\"X\",\"sections\":{\"overview\":\"a\",\"gossip\":\"b\"},"
                        SRC "," REVIEW "}", 3, "field \"sections.gossip\": unknown section kind");
    expect_import_fails("empty.jsonl", "{\"id\":\"x\",\"kind\":\"test\",\"title\":\"X\",\"sections\":{\"overview\":\" \"},"
                        SRC "," REVIEW "}", 0, "field \"sections.overview\": text is empty");
    expect_import_fails("url.jsonl", "{\"id\":\"x\",\"kind\":\"test\",\"title\":\"X\",\"sections\":{\"overview\":\"a\"},"
                        "\"sources\":[{\"publisher\":\"P\",\"title\":\"T\",\"year\":2020,\"url\":\"htp://nhs uk\"}],"
                        REVIEW "}", 2, "field \"sources[0].url\"");
    expect_import_fails("extra.jsonl", "{\"id\":\"x\",\"kind\":\"test\",\"title\":\"X\",\"sectons\":{}}", 2,
                        "field \"sectons\": unknown field");
    /* Already in the store (the fixture has migraine), and twice in a file. */
    expect_import_fails("dup.jsonl", "{\"id\":\"migraine\",\"kind\":\"condition\",\"title\":\"M\",\"sections\":{\"overview\":\"a\"},"
                        SRC "," REVIEW "}", 2, "field \"id\": \"migraine\" is already in the store");
    expect_import_fails("dup2.jsonl", "{\"id\":\"ok-1\",\"kind\":\"test\",\"title\":\"X\",\"sections\":{\"overview\":\"a\"},"
                        SRC "," REVIEW "}", 3, "appears twice in this file (first on line 2)");
    /* Oversized: a 300 KiB line. */
    size_t big = 300 * 1024;
    char *huge = malloc(big + 256);
    assert_non_null(huge);
    strcpy(huge, "{\"id\":\"huge\",\"kind\":\"test\",\"title\":\"H\",\"sections\":{\"overview\":\"");
    size_t n = strlen(huge);
    memset(huge + n, 'a', big);
    strcpy(huge + n + big, "\"}}");
    expect_import_fails("huge.jsonl", huge, 2, "larger than 256 KiB");
    free(huge);
}

static int count_rows(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_replace_bumps_version_and_audits(void **state)
{
    (void)state;
    char db[512], f[512];
    build_good(db, sizeof db, "replace.db");
    tmp_path(f, sizeof f, "replace.jsonl");
    /* migraine is version 2 in the fixture. */
    write_text(f, "{\"id\":\"migraine\",\"kind\":\"condition\",\"title\":\"Migraine\",\"aliases\":[\"sick headache\"],"
                  "\"sections\":{\"overview\":\"A new overview of migraine.\",\"treatment\":\"Painkillers and triptans.\"},"
                  SRC "," REVIEW ",\"version\":1}\n");
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_import_opts_t io = {.replace = 1};
    kb_import_stats_t st;
    if (kb_import(kb, f, &io, &st, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    assert_int_equal(st.replaced, 1);
    assert_int_equal(st.added, 0);
    kb_entry_t *e = NULL;
    assert_int_equal(kb_get(kb, "migraine", &e, &err), MUSE_OK);
    assert_int_equal(e->version, 3);
    assert_string_equal(e->review_status, "draft");
    assert_string_equal(kb_entry_section(e, "overview"), "A new overview of migraine.");
    assert_null(kb_entry_section(e, "self_care"));
    kb_entry_free(e);
    /* The new text is searchable by section and the old text is gone. */
    kb_search_opts_t so = {.section = "treatment"};
    kb_hits_t h;
    assert_int_equal(kb_search(kb, "triptans", &so, &h, &err), MUSE_OK);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.v[0].id, "migraine");
    assert_string_equal(h.v[0].section, "treatment");
    kb_hits_free(&h);
    assert_int_equal(kb_search(kb, "dark quiet room", NULL, &h, &err), MUSE_OK);
    for (size_t i = 0; i < h.n; i++)
        assert_string_not_equal(h.v[i].section, "self_care");
    kb_hits_free(&h);
    kb_problems_t p;
    assert_int_equal(kb_verify(kb, &p, &err), MUSE_OK);
    if (p.n)
        fail_msg("verify: %s", p.v[0]);
    kb_problems_free(&p);
    kb_close(kb);
    /* The audit log keeps version 2 as it was. */
    assert_int_equal(count_rows(db, "SELECT count(*) FROM audit WHERE action = 'replace' AND entry_id = 'migraine'"
                                    " AND version = 3 AND doc LIKE '%\"version\":2}' AND doc LIKE '%dark, quiet room%'"),
                     1);
    /* And the audit log cannot be rewritten. */
    sqlite3 *h2 = NULL;
    assert_int_equal(sqlite3_open(db, &h2), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(h2, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(h2, "UPDATE audit SET detail = 'x'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h2);
}

static void test_review(void **state)
{
    (void)state;
    char db[512];
    build_good(db, sizeof db, "review.db");
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_review_t r = {.reviewer = "Dr A. Example", .credentials = "MD, general practice", .decision = "approve",
                     .note = "Checked against NHS 2023.", .date = "2026-03-01"};
    if (kb_review(kb, "hypertension", &r, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    kb_entry_t *e = NULL;
    assert_int_equal(kb_get(kb, "hypertension", &e, &err), MUSE_OK);
    assert_string_equal(e->review_status, "reviewed");
    assert_string_equal(e->reviewer, "Dr A. Example");
    assert_string_equal(e->credentials, "MD, general practice");
    assert_string_equal(e->review_date, "2026-03-01");
    assert_int_equal(e->version, 1);   /* a review is not a content change */
    kb_entry_free(e);
    /* Reviewed-only search now finds it. */
    kb_search_opts_t so = {.reviewed_only = 1};
    kb_hits_t h;
    assert_int_equal(kb_search(kb, "high blood pressure", &so, &h, &err), MUSE_OK);
    assert_true(h.n >= 1);
    assert_string_equal(h.v[0].id, "hypertension");
    kb_hits_free(&h);
    /* A rejection sets it back to draft; both are kept. */
    r.decision = "reject";
    r.note = "Needs the 2024 cut-offs.";
    assert_int_equal(kb_review(kb, "hypertension", &r, &err), MUSE_OK);
    assert_int_equal(kb_get(kb, "hypertension", &e, &err), MUSE_OK);
    assert_string_equal(e->review_status, "draft");
    assert_string_equal(e->review_note, "Needs the 2024 cut-offs.");
    kb_entry_free(e);
    /* Bad reviews change nothing. */
    r.decision = "approve";
    assert_int_equal(kb_review(kb, "no-such-entry", &r, &err), MUSE_ENOTFOUND);
    r.credentials = "";
    assert_int_equal(kb_review(kb, "hypertension", &r, &err), MUSE_EINVAL);
    assert_non_null(strstr(err.message, "--credentials"));
    r.credentials = "MD";
    r.decision = "maybe";
    assert_int_equal(kb_review(kb, "hypertension", &r, &err), MUSE_EINVAL);
    kb_close(kb);
    assert_int_equal(count_rows(db, "SELECT count(*) FROM audit WHERE action LIKE 'review-%' AND entry_id = 'hypertension'"), 2);
    assert_int_equal(count_rows(db, "SELECT count(*) FROM reviews WHERE entry_id = 'hypertension' AND decision != 'imported'"), 2);
    /* A read-only connection cannot review. */
    assert_int_equal(kb_open(db, KB_READONLY, &kb, &err), MUSE_OK);
    assert_int_not_equal(kb_review(kb, "hypertension", &r, &err), MUSE_OK);
    kb_close(kb);
}

static void test_verify_finds_problems(void **state)
{
    (void)state;
    char db[512];
    build_good(db, sizeof db, "verify.db");
    kb_t *kb = NULL;
    muse_error_t err = {0};
    kb_problems_t p;
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    assert_int_equal(kb_verify(kb, &p, &err), MUSE_OK);
    assert_int_equal(p.n, 0);
    kb_problems_free(&p);
    kb_close(kb);
    /* Damage it behind the store's back: an orphan alias, an entry without
     * sources, a section the text index does not know. */
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h,
                                  "PRAGMA foreign_keys=OFF;"
                                  "INSERT INTO aliases(entry_id, ord, alias, norm) VALUES ('ghost', 0, 'boo', 'boo');"
                                  "DELETE FROM sources WHERE entry_id = 'ibuprofen';"
                                  "INSERT INTO sections(n, entry_id, kind, ord, text) SELECT n * 32 + 6, id, 'treatment', 6, 'x'"
                                  "  FROM entries WHERE id = 'migraine';",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    assert_int_equal(kb_verify(kb, &p, &err), MUSE_OK);
    int orphan = 0, nosrc = 0, fts = 0;
    for (size_t i = 0; i < p.n; i++) {
        orphan |= strstr(p.v[i], "alias \"boo\" points at entry ghost") != NULL;
        nosrc |= strstr(p.v[i], "entry ibuprofen has no sources") != NULL;
        fts |= strstr(p.v[i], "migraine: section treatment is missing from the text index") != NULL;
    }
    if (!orphan || !nosrc || !fts)
        fail_msg("verify missed a problem (%zu found, first: %s)", p.n, p.n ? p.v[0] : "-");
    kb_problems_free(&p);
    kb_close(kb);
}

static void kill_test_progress(size_t done, size_t total, void *ud)
{
    (void)total;
    /* Signal once, a tenth of the way in, then keep importing. */
    if (done == 150) {
        int fd = *(int *)ud;
        if (write(fd, "k", 1) != 1)
            _exit(5);
    }
}

/* The importer is killed (SIGKILL) half way through a large file: the store
 * must pass PRAGMA integrity_check and hold exactly the old content. */
static void test_killed_import_leaves_store_unchanged(void **state)
{
    (void)state;
    char db[512], f[512];
    build_good(db, sizeof db, "kill.db");
    tmp_path(f, sizeof f, "big.jsonl");
    FILE *out = fopen(f, "w");
    assert_non_null(out);
    const int n = 1500;
    for (int i = 0; i < n; i++)
        fprintf(out, "{\"id\":\"gen-%05d\",\"kind\":\"condition\",\"title\":\"Generated condition %d\","
                     "\"aliases\":[\"gen %d\"],\"sections\":{\"overview\":\"Generated entry %d about blood pressure, "
                     "sleep and cough, written to fill the store.\",\"treatment\":\"Rest, fluids and time %d.\"},"
                     SRC "," REVIEW "}\n", i, i, i, i, i);
    fclose(out);
    uint64_t before = fingerprint(db);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        kb_t *kb = NULL;
        if (kb_open(db, KB_READWRITE, &kb, NULL) != MUSE_OK)
            _exit(3);
        /* The progress callback tells the parent the import is under way. */
        kb_import_opts_t io = {.progress = kill_test_progress, .ud = &fds[1]};
        kb_import(kb, f, &io, NULL, NULL);
        _exit(4);   /* finishing means the kill came too late */
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    close(fds[0]);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_true(integrity_ok(db));
    assert_true(before == fingerprint(db));
    kb_t *kb = NULL;
    muse_error_t err = {0};
    assert_int_equal(kb_open(db, KB_READWRITE, &kb, &err), MUSE_OK);
    kb_stats_t s;
    assert_int_equal(kb_stats(kb, &s, &err), MUSE_OK);
    assert_int_equal(s.entries, 3);
    kb_problems_t p;
    assert_int_equal(kb_verify(kb, &p, &err), MUSE_OK);
    assert_int_equal(p.n, 0);
    kb_problems_free(&p);
    /* And it still takes a whole import afterwards. */
    kb_import_stats_t st;
    if (kb_import(kb, f, NULL, &st, &err) != MUSE_OK)
        fail_msg("%s", err.message);
    assert_int_equal(st.added, (size_t)n);
    kb_close(kb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_export_import_round_trip),
        cmocka_unit_test(test_import_adds_and_searches),
        cmocka_unit_test(test_import_bad_input_each),
        cmocka_unit_test(test_replace_bumps_version_and_audits),
        cmocka_unit_test(test_review),
        cmocka_unit_test(test_verify_finds_problems),
        cmocka_unit_test(test_killed_import_leaves_store_unchanged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
