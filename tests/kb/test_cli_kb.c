/* `muse kb` as a curator uses it (core/cli_kb.c through $MUSE_BIN): exit
 * statuses, errors naming file, line and field, no progress noise when
 * piped, export/import round trip, review, verify and JSON output. Skipped
 * when MUSE_BIN is not set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static char tmpdir[256];
static const char *bin;

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/muse-test-clikb-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

/* Runs `muse --kb DB kb ARGS` with stdout and stderr to files (so never a
 * terminal); returns the exit status and the two outputs (caller frees). */
static int run(const char *db, const char *args, char **out, char **errs)
{
    char cmd[4096], o[512], e[512];
    snprintf(o, sizeof o, "%s/out.txt", tmpdir);
    snprintf(e, sizeof e, "%s/err.txt", tmpdir);
    snprintf(cmd, sizeof cmd, "'%s' --kb '%s' kb %s >'%s' 2>'%s' </dev/null", bin, db, args, o, e);
    int st = system(cmd);
    if (out)
        *out = slurp(o);
    if (errs)
        *errs = slurp(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

#define LINE(id, extra) "{\"id\":\"" id "\",\"kind\":\"symptom\",\"title\":\"T " id "\",\"sections\":{\"overview\":\"x " id \
    "\"},\"sources\":[{\"publisher\":\"NHS\",\"title\":\"T\",\"year\":2023,\"url\":\"https://www.nhs.uk/x/\"}]," \
    "\"review\":{\"status\":\"draft\"}" extra "}\n"

static void test_curation_flow(void **state)
{
    (void)state;
    bin = getenv("MUSE_BIN");
    if (!bin || access(bin, X_OK) != 0)
        skip();
    char db[512], good[512], bad[512], args[2048], exp1[512], db2[512];
    snprintf(db, sizeof db, "%s/cli.db", tmpdir);
    snprintf(good, sizeof good, "%s/good.jsonl", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmpdir);
    snprintf(exp1, sizeof exp1, "%s/export.jsonl", tmpdir);
    snprintf(db2, sizeof db2, "%s/cli2.db", tmpdir);
    write_text(good, LINE("alpha-pain", "") LINE("beta-itch", ""));
    char *out, *err;
    /* Import creates the store; piped, it prints no progress. */
    snprintf(args, sizeof args, "import '%s'", good);
    assert_int_equal(run(db, args, &out, &err), 0);
    assert_null(strchr(err, '\r'));
    assert_non_null(strstr(err, "2 added"));
    free(out);
    free(err);
    /* A bad second line: exit 1, file:line and field named, nothing added. */
    write_text(bad, LINE("gamma-cough", "") "{\"id\":\"delta\",\"kind\":\"symptom\",\"title\":\"\"}\n");
    snprintf(args, sizeof args, "import '%s'", bad);
    assert_int_equal(run(db, args, &out, &err), 1);
    char want[600];
    snprintf(want, sizeof want, "%s:2: field \"title\"", bad);
    if (!strstr(err, want))
        fail_msg("stderr \"%s\" lacks \"%s\"", err, want);
    free(out);
    free(err);
    assert_int_equal(run(db, "show gamma-cough", NULL, &err), 1);
    assert_non_null(strstr(err, "no entry with id \"gamma-cough\""));
    free(err);
    /* Duplicate without and with --replace. */
    snprintf(args, sizeof args, "import '%s'", good);
    assert_int_equal(run(db, args, NULL, &err), 1);
    assert_non_null(strstr(err, "--replace"));
    free(err);
    snprintf(args, sizeof args, "import --replace '%s'", good);
    assert_int_equal(run(db, args, NULL, &err), 0);
    assert_non_null(strstr(err, "2 replaced"));
    free(err);
    assert_int_equal(run(db, "show alpha-pain --json", &out, NULL), 0);
    cJSON *j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "version")->valueint, 2);
    cJSON_Delete(j);
    free(out);
    /* Review, then stats --json counts it. */
    assert_int_equal(run(db, "review alpha-pain --reviewer 'Dr B' --credentials 'MD' --decision approve --note ok",
                         &out, NULL), 0);
    assert_non_null(strstr(out, "approved"));
    free(out);
    assert_int_equal(run(db, "review alpha-pain --reviewer 'Dr B' --credentials 'MD' --decision perhaps", NULL, NULL), 2);
    assert_int_equal(run(db, "stats --json", &out, NULL), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    assert_int_equal(cJSON_GetObjectItem(j, "entries")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(j, "reviewed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "with_sources")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_kind"), "symptom")->valueint, 2);
    cJSON_Delete(j);
    free(out);
    /* Search --json has the documented shape. */
    assert_int_equal(run(db, "search 'beta itch' --json", &out, NULL), 0);
    j = cJSON_Parse(out);
    assert_non_null(j);
    cJSON *hits = cJSON_GetObjectItem(j, "hits");
    assert_true(cJSON_GetArraySize(hits) >= 1);
    cJSON *h0 = cJSON_GetArrayItem(hits, 0);
    assert_string_equal(cJSON_GetObjectItem(h0, "id")->valuestring, "beta-itch");
    static const char *const keys[] = {"id", "title", "kind", "score", "snippet"};
    for (int k = 0; k < 5; k++)
        assert_non_null(cJSON_GetObjectItem(h0, keys[k]));
    cJSON_Delete(j);
    free(out);
    /* Export to a file, import into a new store, export again: same bytes. */
    snprintf(args, sizeof args, "export -o '%s'", exp1);
    assert_int_equal(run(db, args, NULL, NULL), 0);
    snprintf(args, sizeof args, "import '%s'", exp1);
    assert_int_equal(run(db2, args, NULL, NULL), 0);
    assert_int_equal(run(db2, "export", &out, NULL), 0);
    char *first = slurp(exp1);
    assert_string_equal(first, out);
    assert_non_null(strstr(out, "\"reviewer\":\"Dr B\""));
    free(first);
    free(out);
    assert_int_equal(run(db, "verify", &out, NULL), 0);
    assert_non_null(strstr(out, ": ok"));
    free(out);
    assert_int_equal(run(db, "migrate", &out, NULL), 0);
    assert_non_null(strstr(out, "already at store schema"));
    free(out);
}

static void test_help_and_usage(void **state)
{
    (void)state;
    bin = getenv("MUSE_BIN");
    if (!bin || access(bin, X_OK) != 0)
        skip();
    char db[512];
    snprintf(db, sizeof db, "%s/none.db", tmpdir);
    char *out;
    assert_int_equal(run(db, "--help", &out, NULL), 0);
    static const char *const cmds[] = {"build", "import", "export", "review", "stats", "verify", "search", "show",
                                       "migrate", "--replace", "--section"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strstr(out, cmds[i]))
            fail_msg("kb --help does not mention %s", cmds[i]);
    free(out);
    assert_int_equal(run(db, "frobnicate", NULL, NULL), 2);
    assert_int_equal(run(db, "import", NULL, NULL), 2);
    char *err;
    assert_int_equal(run(db, "stats", NULL, &err), 1);
    assert_non_null(strstr(err, "not found"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curation_flow),
        cmocka_unit_test(test_help_and_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
