/* muse kb: build, inspect and curate the knowledge store. Every command
 * works on the store named by --kb (or $MUSE_KB); commands that change it
 * (import, review, migrate) run in one transaction and leave it unchanged
 * when they fail. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/cli.h"
#include "kb/kb.h"
#include "muse_err.h"

static const char KB_HELP[] =
    "usage: muse [--kb PATH] kb COMMAND [ARGS]\n"
    "\n"
    "The knowledge store is one SQLite file (--kb PATH, else $MUSE_KB, else the\n"
    "bundled store). Commands that change it run in one transaction: when they\n"
    "fail, the store is exactly as it was, and the error names file, line and field.\n"
    "\n"
    "  build [DIR] [-o PATH] [--quiet]   build a store from a content folder (default\n"
    "                                    kb/content) into PATH (default: the --kb path);\n"
    "                                    the old store stays until the new one is complete\n"
    "  import FILE.jsonl [--replace] [--quiet]\n"
    "                                    add entries, one JSON object per line (\"-\": stdin);\n"
    "                                    a duplicate id is an error unless --replace, which\n"
    "                                    bumps its version and keeps the old one in the\n"
    "                                    audit log; creates the store if it does not exist\n"
    "  export [-o FILE]                  every entry, one canonical JSON line each, ordered\n"
    "                                    by id (stdout by default); importing it into an\n"
    "                                    empty store and exporting again gives the same bytes\n"
    "  review ID --reviewer NAME --credentials TEXT --decision approve|reject\n"
    "         [--note TEXT] [--date YYYY-MM-DD]\n"
    "                                    record a clinical review; approve marks the entry\n"
    "                                    reviewed, reject sets it back to draft\n"
    "  stats [--json]                    entries by kind, with sources, reviewed\n"
    "  verify                            integrity check, sources and sections present, no\n"
    "                                    alias pointing nowhere, full-text indexes in sync;\n"
    "                                    exit status 1 when a problem is found\n"
    "  search QUERY [--json] [--limit N] [--section KIND] [--kind KIND]\n"
    "                                    ranked entries; --section ranks by that section\n"
    "                                    (\"treatment\", \"side_effects\", ...) and keeps only\n"
    "                                    entries that have it; --reviewed-only (a global\n"
    "                                    option) keeps only reviewed entries\n"
    "  show ID [--json]                  one entry with its sections, sources and review\n"
    "  migrate                           bring a store of an older schema up to date\n"
    "\n"
    "Progress is shown on a terminal and never when output is piped.\n"
    "See docs/kb-format.md for the entry format and docs/kb.md for the store.\n";

typedef struct progress {
    int tty;
    struct timespec t0;
} progress_t;

static void on_progress(size_t done, size_t total, void *ud)
{
    progress_t *p = ud;
    if (!p->tty)
        return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double s = (double)(t.tv_sec - p->t0.tv_sec) + (double)(t.tv_nsec - p->t0.tv_nsec) / 1e9;
    double rate = s > 0 ? (double)done / s : 0;
    double left = rate > 0 && total >= done ? (double)(total - done) / rate : 0;
    if (done != total && done % 64 != 0)
        return;
    if (total)
        fprintf(stderr, "\r%zu/%zu entries, %.0f/s, %.1f s left   ", done, total, rate, left);
    else
        fprintf(stderr, "\r%zu entries, %.0f/s   ", done, rate);
}

static int kb_build_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *dir = "kb/content";
    const char *out = ctx->kb_path;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("kb", "build: unknown option '%s'", argv[i]);
        else
            dir = argv[i];
    }
    if (!out || !*out)
        return cli_usage_error("kb", "build: no output given (-o PATH or --kb PATH)");
    progress_t p = {.tty = !quiet && isatty(STDERR_FILENO)};
    clock_gettime(CLOCK_MONOTONIC, &p.t0);
    kb_build_stats_t st;
    muse_error_t err = {0};
    if (kb_build(dir, out, on_progress, &p, &st, &err) != MUSE_OK) {
        if (p.tty)
            fputc('\n', stderr);
        return cli_fail(&err);
    }
    if (!quiet)
        fprintf(stderr, "%sbuilt %s: %zu entries in %.2f s\n", p.tty ? "\n" : "", out, st.entries, st.seconds);
    return 0;
}

static int open_ro(cli_ctx_t *ctx, kb_t **kb)
{
    muse_error_t err = {0};
    if (kb_open(ctx->kb_path, KB_READONLY, kb, &err) != MUSE_OK)
        return cli_fail(&err);
    return 0;
}

static int kb_stats_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return cli_usage_error("kb", "stats: unknown argument '%s'", argv[i]);
    }
    kb_t *kb = NULL;
    if (open_ro(ctx, &kb))
        return 1;
    kb_stats_t st;
    muse_error_t err = {0};
    int rc = kb_stats(kb, &st, &err);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "entries", (double)st.entries);
        cJSON *bk = cJSON_AddObjectToObject(o, "by_kind");
        for (size_t i = 0; i < st.n_kinds; i++)
            cJSON_AddNumberToObject(bk, st.by_kind[i].kind, (double)st.by_kind[i].n);
        cJSON_AddNumberToObject(o, "with_sources", (double)st.with_sources);
        cJSON_AddNumberToObject(o, "reviewed", (double)st.reviewed);
        cJSON_AddStringToObject(o, "content_version", st.content_version);
        cJSON_AddStringToObject(o, "content_hash", st.content_hash);
        cJSON_AddStringToObject(o, "built_at", st.built_at);
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%zu entries (%zu with sources, %zu clinically reviewed)\n", st.entries, st.with_sources,
               st.reviewed);
        for (size_t i = 0; i < st.n_kinds; i++)
            printf("  %-11s %zu\n", st.by_kind[i].kind, st.by_kind[i].n);
        printf("built %s, content %s\n", st.built_at, st.content_hash);
    }
    return 0;
}

static int kb_search_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    int json = 0;
    kb_search_opts_t so = {.limit = 5, .reviewed_only = ctx->reviewed_only};
    const char *q = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            so.limit = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--section") == 0 && i + 1 < argc)
            so.section = argv[++i];
        else if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            so.kind = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1] == '-')
            return cli_usage_error("kb", "search: unknown option '%s'", argv[i]);
        else
            q = argv[i];
    }
    if (!q)
        return cli_usage_error("kb", "search: no query given");
    if (so.section && !kb_is_section_kind(so.section))
        return cli_usage_error("kb", "search: unknown section kind '%s'", so.section);
    if (so.kind && !kb_is_entry_kind(so.kind))
        return cli_usage_error("kb", "search: unknown entry kind '%s'", so.kind);
    kb_t *kb = NULL;
    if (open_ro(ctx, &kb))
        return 1;
    kb_hits_t h;
    muse_error_t err = {0};
    int rc = kb_search(kb, q, &so, &h, &err);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON *arr = cJSON_AddArrayToObject(o, "hits");
        for (size_t i = 0; i < h.n; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "id", h.v[i].id);
            cJSON_AddStringToObject(x, "title", h.v[i].title);
            cJSON_AddStringToObject(x, "kind", h.v[i].kind);
            cJSON_AddNumberToObject(x, "score", h.v[i].score);
            cJSON_AddStringToObject(x, "section", h.v[i].section ? h.v[i].section : "");
            cJSON_AddStringToObject(x, "snippet", h.v[i].snippet ? h.v[i].snippet : "");
            cJSON_AddStringToObject(x, "review_status", h.v[i].status);
            cJSON_AddItemToArray(arr, x);
        }
        char *s = cJSON_Print(o);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        if (h.n == 0)
            printf("no entries match\n");
        for (size_t i = 0; i < h.n; i++)
            printf("%6.2f  %-28s %-10s %s\n        %s\n", h.v[i].score, h.v[i].id, h.v[i].kind, h.v[i].title,
                   h.v[i].snippet ? h.v[i].snippet : "");
    }
    kb_hits_free(&h);
    return 0;
}

static int kb_show_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    int json = 0;
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("kb", "show: unknown option '%s'", argv[i]);
        else
            id = argv[i];
    }
    if (!id)
        return cli_usage_error("kb", "show: no entry id given");
    kb_t *kb = NULL;
    if (open_ro(ctx, &kb))
        return 1;
    kb_entry_t *e = NULL;
    muse_error_t err = {0};
    int rc = kb_get(kb, id, &e, &err);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    if (json) {
        char *s = kb_entry_to_json(e, 1);
        if (!s) {
            kb_entry_free(e);
            fprintf(stderr, "muse: out of memory\n");
            return 1;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("%s (%s, %s, version %d)\n", e->title, e->id, e->kind, e->version);
        if (e->n_aliases) {
            printf("also called:");
            for (size_t i = 0; i < e->n_aliases; i++)
                printf("%s %s", i ? "," : "", e->aliases[i]);
            printf("\n");
        }
        for (size_t i = 0; i < e->n_sections; i++)
            printf("\n[%s]\n%s\n", e->sections[i].kind, e->sections[i].text);
        printf("\nsources:\n");
        for (size_t i = 0; i < e->n_sources; i++)
            printf("  %s, \"%s\" (%d) %s\n", e->sources[i].publisher, e->sources[i].title, e->sources[i].year,
                   e->sources[i].url);
        printf("review: %s%s%s\n", e->review_status, e->reviewer[0] ? " by " : " (not clinically reviewed)",
               e->reviewer);
    }
    kb_entry_free(e);
    return 0;
}

static int open_rw(cli_ctx_t *ctx, kb_t **kb)
{
    muse_error_t err = {0};
    if (kb_open(ctx->kb_path, KB_READWRITE, kb, &err) != MUSE_OK)
        return cli_fail(&err);
    return 0;
}

static int kb_import_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    kb_import_opts_t io = {0};
    const char *file = NULL;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--replace") == 0)
            io.replace = 1;
        else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0)
            quiet = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("kb", "import: unknown option '%s'", argv[i]);
        else if (file)
            return cli_usage_error("kb", "import: one file at a time ('%s' and '%s')", file, argv[i]);
        else
            file = argv[i];
    }
    if (!file)
        return cli_usage_error("kb", "import: no file given (one JSON entry per line; \"-\" reads stdin)");
    if (!ctx->kb_path || !*ctx->kb_path)
        return cli_usage_error("kb", "import: no store given (--kb PATH)");
    muse_error_t err = {0};
    struct stat st;
    int created = 0;
    if (stat(ctx->kb_path, &st) != 0) {
        if (kb_create(ctx->kb_path, &err) != MUSE_OK)
            return cli_fail(&err);
        created = 1;
    }
    kb_t *kb = NULL;
    if (open_rw(ctx, &kb)) {
        if (created)
            unlink(ctx->kb_path);
        return 1;
    }
    progress_t p = {.tty = !quiet && isatty(STDERR_FILENO)};
    clock_gettime(CLOCK_MONOTONIC, &p.t0);
    io.progress = on_progress;
    io.ud = &p;
    kb_import_stats_t is;
    int rc = kb_import(kb, file, &io, &is, &err);
    kb_close(kb);
    if (rc != MUSE_OK) {
        /* A store this command created holds nothing worth keeping. */
        if (created) {
            char side[4200];
            unlink(ctx->kb_path);
            snprintf(side, sizeof side, "%s-wal", ctx->kb_path);
            unlink(side);
            snprintf(side, sizeof side, "%s-shm", ctx->kb_path);
            unlink(side);
        }
        if (p.tty)
            fputc('\n', stderr);
        return cli_fail(&err);
    }
    if (!quiet)
        fprintf(stderr, "%s%s: %zu added, %zu replaced in %.2f s\n", p.tty ? "\n" : "", ctx->kb_path,
                is.added, is.replaced, is.seconds);
    return 0;
}

static int kb_export_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            return cli_usage_error("kb", "export: unknown argument '%s'", argv[i]);
    }
    kb_t *kb = NULL;
    if (open_ro(ctx, &kb))
        return 1;
    muse_error_t err = {0};
    int rc;
    if (!out || strcmp(out, "-") == 0) {
        rc = kb_export(kb, stdout, NULL, &err);
        if (rc == MUSE_OK && fflush(stdout) != 0)
            rc = muse_err(&err, MUSE_EIO, "writing to standard output failed: %s", strerror(errno));
        kb_close(kb);
        return rc == MUSE_OK ? 0 : cli_fail(&err);
    }
    /* Written beside the target and renamed, so a failed export never
     * leaves half a file where the old one was. */
    size_t tl = strlen(out) + 32;
    char *tmp = malloc(tl);
    FILE *f = NULL;
    if (!tmp) {
        kb_close(kb);
        fprintf(stderr, "muse: out of memory\n");
        return 1;
    }
    snprintf(tmp, tl, "%s.tmp-%ld", out, (long)getpid());
    size_t n = 0;
    if (!(f = fopen(tmp, "wb")))
        rc = muse_err(&err, MUSE_EIO, "%s: cannot write: %s", out, strerror(errno));
    else
        rc = kb_export(kb, f, &n, &err);
    if (f && fclose(f) != 0 && rc == MUSE_OK)
        rc = muse_err(&err, MUSE_EIO, "%s: cannot write: %s", out, strerror(errno));
    if (rc == MUSE_OK && rename(tmp, out) != 0)
        rc = muse_err(&err, MUSE_EIO, "%s: cannot write: %s", out, strerror(errno));
    if (rc != MUSE_OK)
        unlink(tmp);
    free(tmp);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "exported %zu entries to %s\n", n, out);
    return 0;
}

static int kb_review_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    kb_review_t r = {0};
    const char *id = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--reviewer") == 0 && has)
            r.reviewer = argv[++i];
        else if (strcmp(a, "--credentials") == 0 && has)
            r.credentials = argv[++i];
        else if (strcmp(a, "--decision") == 0 && has)
            r.decision = argv[++i];
        else if (strcmp(a, "--note") == 0 && has)
            r.note = argv[++i];
        else if (strcmp(a, "--date") == 0 && has)
            r.date = argv[++i];
        else if (a[0] == '-')
            return cli_usage_error("kb", "review: unknown option '%s' (or it needs a value)", a);
        else if (id)
            return cli_usage_error("kb", "review: one entry at a time ('%s' and '%s')", id, a);
        else
            id = a;
    }
    if (!id)
        return cli_usage_error("kb", "review: no entry id given");
    if (!r.reviewer || !r.credentials || !r.decision)
        return cli_usage_error("kb", "review: --reviewer, --credentials and --decision are required");
    if (strcmp(r.decision, "approve") != 0 && strcmp(r.decision, "reject") != 0)
        return cli_usage_error("kb", "review: --decision must be approve or reject, not '%s'", r.decision);
    kb_t *kb = NULL;
    if (open_rw(ctx, &kb))
        return 1;
    muse_error_t err = {0};
    int rc = kb_review(kb, id, &r, &err);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    printf("%s: %s by %s (%s)\n", id, strcmp(r.decision, "approve") == 0 ? "approved, now reviewed"
                                                                       : "rejected, now draft",
           r.reviewer, r.credentials);
    return 0;
}

static int kb_verify_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    if (argc > 1)
        return cli_usage_error("kb", "verify: unknown argument '%s'", argv[1]);
    kb_t *kb = NULL;
    muse_error_t err = {0};
    /* Read-write when allowed: FTS5's own index check is written as an
     * INSERT (it changes nothing and is rolled back). */
    int mode = access(ctx->kb_path ? ctx->kb_path : "", W_OK) == 0 ? KB_READWRITE : KB_READONLY;
    if (kb_open(ctx->kb_path, mode, &kb, &err) != MUSE_OK)
        return cli_fail(&err);
    kb_problems_t p;
    int rc = kb_verify(kb, &p, &err);
    kb_close(kb);
    if (rc != MUSE_OK)
        return cli_fail(&err);
    for (size_t i = 0; i < p.n; i++)
        printf("problem: %s\n", p.v[i]);
    if (p.n == 0)
        printf("%s: ok%s\n", ctx->kb_path, mode == KB_READONLY ? " (read-only: full-text index self-check skipped)" : "");
    else
        printf("%s: %zu problem%s\n", ctx->kb_path, p.n, p.n == 1 ? "" : "s");
    int bad = p.n > 0;
    kb_problems_free(&p);
    return bad ? 1 : 0;
}

static int kb_migrate_cmd(int argc, char **argv, cli_ctx_t *ctx)
{
    if (argc > 1)
        return cli_usage_error("kb", "migrate: unknown argument '%s'", argv[1]);
    int from = 0;
    muse_error_t err = {0};
    if (kb_migrate(ctx->kb_path, &from, &err) != MUSE_OK)
        return cli_fail(&err);
    if (from == kb_schema_version())
        printf("%s: already at store schema %d\n", ctx->kb_path, from);
    else
        printf("%s: migrated from store schema %d to %d\n", ctx->kb_path, from, kb_schema_version());
    return 0;
}

int cli_kb(int argc, char **argv, cli_ctx_t *ctx)
{
    if (argc < 2)
        return cli_usage_error("kb", "no kb command given (build, import, export, review, stats, verify, "
                                     "search, show, migrate)");
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        fputs(KB_HELP, stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0) {
            fputs(KB_HELP, stdout);
            return 0;
        }
    if (strcmp(c, "build") == 0)
        return kb_build_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "stats") == 0)
        return kb_stats_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "search") == 0)
        return kb_search_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "show") == 0)
        return kb_show_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "import") == 0)
        return kb_import_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "export") == 0)
        return kb_export_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "review") == 0)
        return kb_review_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "verify") == 0)
        return kb_verify_cmd(argc - 1, argv + 1, ctx);
    if (strcmp(c, "migrate") == 0)
        return kb_migrate_cmd(argc - 1, argv + 1, ctx);
    return cli_usage_error("kb", "unknown kb command '%s'", c);
}
