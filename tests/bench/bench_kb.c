/* Knowledge-store benchmark (issue 3). Prints figures; asserts nothing about
 * time.
 *
 * 1. Search on the bundled store ($MUSE_KB) for every labelled question of
 *    tests/kb/questions_*.jsonl: kb_search() p50/p99 next to a raw FTS5
 *    MATCH of the same words on the same store in the same run, and their
 *    ratio (aim: at most 3x).
 * 2. A generated content folder of $MUSE_BENCH_N entries (default 100,000):
 *    kb_build() time, as `muse kb build` runs it (aim: under 30 s), then
 *    search p50/p99 over the same questions on that store (aim: p99 under
 *    10 ms); also the time to import the same entries as one JSONL file into
 *    an empty store.
 * Generated text draws words from the bundled store's own vocabulary with a
 * Zipf-like skew, so common words are as common as in real entries. */
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kb/kb.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* CPU time of this thread: on a shared, loaded machine wall-clock
 * percentiles mostly measure the neighbours; this does not. */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return n ? v[i] : 0;
}

typedef struct questions {
    char **v;
    size_t n, cap;
} questions_t;

static void load_questions(const char *root, questions_t *q)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/kb", root);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "questions_", 10) != 0 || !strstr(de->d_name, ".jsonl"))
            continue;
        char path[2048], line[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            cJSON *j = cJSON_Parse(line);
            const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "q"));
            if (s) {
                if (q->n == q->cap) {
                    q->cap = q->cap ? q->cap * 2 : 512;
                    q->v = realloc(q->v, q->cap * sizeof *q->v);
                }
                q->v[q->n++] = strdup(s);
            }
            cJSON_Delete(j);
        }
        if (f)
            fclose(f);
    }
    closedir(d);
}

/* The question's content words as a raw FTS5 OR query: the same words
 * kb_search starts from, without synonyms, typo fallback or names. */
static char *raw_query(const char *q)
{
    kb_words_t w;
    if (kb_words_split(q, &w) != MUSE_OK)
        return NULL;
    size_t cap = strlen(q) * 3 + 16;
    char *s = calloc(1, cap);
    for (size_t i = 0; s && i < w.n; i++) {
        if (kb_is_stopword(w.v[i]) || strlen(w.v[i]) < 2)
            continue;
        if (*s)
            strcat(s, " OR ");
        strcat(s, "\"");
        strcat(s, w.v[i]);
        strcat(s, "\"");
    }
    kb_words_free(&w);
    return s;
}

typedef struct timing {
    double p50, p99, mean;
    double cpu50, cpu99;
} timing_t;

static timing_t time_search(kb_t *kb, const questions_t *q, int rounds)
{
    size_t n = q->n * (size_t)rounds;
    double *t = malloc((n ? n : 1) * sizeof *t), *c = malloc((n ? n : 1) * sizeof *c), sum = 0;
    size_t k = 0;
    kb_search_opts_t so = {.limit = 5};
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < q->n; i++) {
            kb_hits_t h;
            double t0 = now_ms(), c0 = cpu_ms();
            kb_search(kb, q->v[i], &so, &h, NULL);
            c[k] = cpu_ms() - c0;
            t[k] = now_ms() - t0;
            sum += t[k++];
            kb_hits_free(&h);
        }
    timing_t out = {pct(t, k, 0.5), pct(t, k, 0.99), k ? sum / (double)k : 0, pct(c, k, 0.5), pct(c, k, 0.99)};
    free(t);
    free(c);
    return out;
}

static timing_t time_raw(const char *db, const questions_t *q, int rounds)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    timing_t out = {0};
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h,
                           "SELECT rowid, bm25(sections_fts) FROM sections_fts WHERE sections_fts MATCH ?"
                           " ORDER BY rank LIMIT 5",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: raw FTS5: %s\n", sqlite3_errmsg(h));
        sqlite3_close(h);
        return out;
    }
    char **raw = calloc(q->n ? q->n : 1, sizeof *raw);
    for (size_t i = 0; i < q->n; i++)
        raw[i] = raw_query(q->v[i]);
    size_t n = q->n * (size_t)rounds, k = 0;
    double *t = malloc((n ? n : 1) * sizeof *t), *c = malloc((n ? n : 1) * sizeof *c), sum = 0;
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < q->n; i++) {
            if (!raw[i] || !*raw[i])
                continue;
            double t0 = now_ms(), c0 = cpu_ms();
            sqlite3_bind_text(st, 1, raw[i], -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW)
                ;
            sqlite3_reset(st);
            c[k] = cpu_ms() - c0;
            t[k] = now_ms() - t0;
            sum += t[k++];
        }
    out = (timing_t){pct(t, k, 0.5), pct(t, k, 0.99), k ? sum / (double)k : 0, pct(c, k, 0.5), pct(c, k, 0.99)};
    free(c);
    for (size_t i = 0; i < q->n; i++)
        free(raw[i]);
    free(raw);
    free(t);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

/* ---- generated store ---- */

typedef struct vocab {
    char **w;
    size_t n;
} vocab_t;

static void load_vocab(const char *db, vocab_t *v)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, "SELECT word FROM vocab WHERE df > 0 ORDER BY df DESC, word", -1, &st, NULL) == SQLITE_OK) {
        size_t cap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (v->n == cap) {
                cap = cap ? cap * 2 : 4096;
                v->w = realloc(v->w, cap * sizeof *v->w);
            }
            v->w[v->n++] = strdup((const char *)sqlite3_column_text(st, 0));
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A word index with a Zipf-like skew: rank r with weight about 1/r. */
static const char *zipf_word(const vocab_t *v)
{
    double u = (double)(next_rand() >> 11) / 9007199254740992.0;
    size_t i = (size_t)exp(u * log((double)v->n));
    return v->w[i >= v->n ? v->n - 1 : i];
}

static void gen_words(FILE *f, const vocab_t *v, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", zipf_word(v));
}

static void gen_entry(FILE *f, const vocab_t *v, size_t i)
{
    static const char *const kinds[] = {"condition", "symptom", "medication", "test", "measure", "wellness"};
    static const char *const secs[] = {"overview", "symptoms", "causes", "treatment", "self_care",
                                       "when_to_seek_care"};
    {
        fprintf(f, "{\"id\":\"gen-%06zu\",\"kind\":\"%s\",\"title\":\"", i, kinds[i % 6]);
        gen_words(f, v, 3);
        fprintf(f, "\",\"aliases\":[\"");
        gen_words(f, v, 2);
        fprintf(f, "\",\"");
        gen_words(f, v, 2);
        fprintf(f, "\"],\"sections\":{");
        int ns = 3 + (int)(next_rand() % 4);
        for (int s = 0; s < ns; s++) {
            fprintf(f, "%s\"%s\":\"", s ? "," : "", secs[s]);
            gen_words(f, v, 60);
            fprintf(f, ".\"");
        }
        fprintf(f, "},\"sources\":[{\"publisher\":\"NHS\",\"title\":\"Generated\",\"year\":2024,"
                   "\"url\":\"https://www.nhs.uk/generated/\"}],\"review\":{\"status\":\"draft\"}}\n");
    }
}

/* The same n entries as a content folder (1,000 files a folder) and as one
 * JSONL file. */
static int generate(const char *dir, const char *jsonl, const vocab_t *v, size_t n)
{
    FILE *all = fopen(jsonl, "w");
    if (!all)
        return -1;
    uint64_t seed = rng;
    for (size_t i = 0; i < n; i++)
        gen_entry(all, v, i);
    if (fclose(all) != 0)
        return -1;
    rng = seed;   /* the folder holds the very same entries */
    char path[512];
    for (size_t i = 0; i < n; i++) {
        if (i % 1000 == 0) {
            snprintf(path, sizeof path, "%s/c%04zu", dir, i / 1000);
            if (mkdir(path, 0755) != 0)
                return -1;
        }
        snprintf(path, sizeof path, "%s/c%04zu/gen-%06zu.json", dir, i / 1000, i);
        FILE *f = fopen(path, "w");
        if (!f)
            return -1;
        gen_entry(f, v, i);
        if (fclose(f) != 0)
            return -1;
    }
    return 0;
}

int main(void)
{
    const char *db = getenv("MUSE_KB");
    const char *root = getenv("MUSE_SOURCE_ROOT");
    setvbuf(stdout, NULL, _IOLBF, 0);   /* figures appear as they are measured */
    if (!db || !root) {
        fprintf(stderr, "bench_kb: set MUSE_KB (the bundled store) and MUSE_SOURCE_ROOT\n");
        return 0;
    }
    questions_t q = {0};
    load_questions(root, &q);
    if (q.n == 0) {
        fprintf(stderr, "bench_kb: no questions under %s/tests/kb\n", root);
        return 0;
    }
    kb_t *kb = NULL;
    muse_error_t err = {0};
    if (kb_open(db, KB_READONLY, &kb, &err) != MUSE_OK) {
        fprintf(stderr, "bench_kb: %s\n", err.message);
        return 1;
    }
    kb_stats_t s;
    kb_stats(kb, &s, &err);
    time_search(kb, &q, 1);   /* warm the page cache and statements */
    timing_t ks = time_search(kb, &q, 5);
    time_raw(db, &q, 1);
    timing_t raw = time_raw(db, &q, 5);
    kb_close(kb);
    printf("bundled store: %zu entries, %zu questions x 5\n", s.entries, q.n);
    printf("  kb_search        p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", ks.p50, ks.p99, ks.mean);
    printf("  raw FTS5 MATCH   p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", raw.p50, raw.p99, raw.mean);
    printf("  ratio            p50 %6.2fx    p99 %6.2fx    (aim <= 3x)\n", raw.p50 > 0 ? ks.p50 / raw.p50 : 0,
           raw.p99 > 0 ? ks.p99 / raw.p99 : 0);
    printf("  cpu time         kb_search p50 %.3f / p99 %.3f ms, raw p50 %.3f / p99 %.3f ms, ratio p50 %.2fx\n",
           ks.cpu50, ks.cpu99, raw.cpu50, raw.cpu99, raw.cpu50 > 0 ? ks.cpu50 / raw.cpu50 : 0);

    const char *ns = getenv("MUSE_BENCH_N");
    size_t n = ns ? (size_t)strtoul(ns, NULL, 10) : 100000;
    if (n == 0)
        return 0;
    vocab_t v = {0};
    load_vocab(db, &v);
    if (v.n < 100) {
        fprintf(stderr, "bench_kb: the bundled store has too small a vocabulary\n");
        return 1;
    }
    char dir[] = "/tmp/muse-bench-kb-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char jsonl[128], content[128], big[128], imported[128], cmd[256];
    snprintf(jsonl, sizeof jsonl, "%s/gen.jsonl", dir);
    snprintf(content, sizeof content, "%s/content", dir);
    snprintf(big, sizeof big, "%s/gen.db", dir);
    snprintf(imported, sizeof imported, "%s/imported.db", dir);
    double t0 = now_ms();
    if (mkdir(content, 0755) != 0 || generate(content, jsonl, &v, n) != 0) {
        fprintf(stderr, "bench_kb: cannot write the generated entries under %s\n", dir);
        return 1;
    }
    double gen_s = (now_ms() - t0) / 1e3;
    kb_build_stats_t bst = {0};
    if (kb_build(content, big, NULL, NULL, &bst, &err) != MUSE_OK) {
        fprintf(stderr, "bench_kb: building the generated store: %s\n", err.message);
        return 1;
    }
    t0 = now_ms();
    kb_import_stats_t is = {0};
    int rc = kb_create(imported, &err);
    if (rc == MUSE_OK && (rc = kb_open(imported, KB_READWRITE, &kb, &err)) == MUSE_OK) {
        rc = kb_import(kb, jsonl, NULL, &is, &err);
        kb_close(kb);
    }
    double import_s = (now_ms() - t0) / 1e3;
    if (rc != MUSE_OK) {
        fprintf(stderr, "bench_kb: importing the generated entries: %s\n", err.message);
        return 1;
    }
    if (kb_open(big, KB_READONLY, &kb, &err) != MUSE_OK) {
        fprintf(stderr, "bench_kb: %s\n", err.message);
        return 1;
    }
    time_search(kb, &q, 1);
    timing_t bs = time_search(kb, &q, 3);
    kb_close(kb);
    timing_t braw = time_raw(big, &q, 1);
    struct stat sb;
    double mb = stat(big, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0;
    printf("generated store: %zu entries, %.0f MiB (entries generated in %.1f s)\n", bst.entries, mb, gen_s);
    printf("  build (kb_build of the folder)      %7.2f s   (aim < 30 s)\n", bst.seconds);
    printf("  import (one JSONL into a new store) %7.2f s\n", import_s);
    printf("  kb_search        p50 %7.3f ms  p99 %7.3f ms  (aim p99 < 10 ms)  cpu p50 %.3f p99 %.3f ms\n",
           bs.p50, bs.p99, bs.cpu50, bs.cpu99);
    printf("  raw FTS5 MATCH   p50 %7.3f ms  p99 %7.3f ms                     cpu p50 %.3f p99 %.3f ms\n",
           braw.p50, braw.p99, braw.cpu50, braw.cpu99);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_kb: could not remove %s\n", dir);
    for (size_t i = 0; i < v.n; i++)
        free(v.w[i]);
    free(v.w);
    for (size_t i = 0; i < q.n; i++)
        free(q.v[i]);
    free(q.v);
    return 0;
}
