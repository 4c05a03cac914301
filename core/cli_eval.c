/* muse eval: run a labelled set through every mode and print what each
 * costs and how well it answers. `muse eval safety` measures the safety
 * filter on ../shared/eval (core/cli_safety.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/cli.h"
#include "core/cli_safety.h"
#include "core/muse_internal.h"
#include "muse_err.h"

static const char EVAL_HELP[] =
    "usage: muse eval FILE.jsonl [--modes LIST] [--json]\n"
    "       muse eval safety [--data DIR] [--json]\n"
    "\n"
    "Each line of FILE is {\"q\": question, \"ids\": [entry ids that should answer it],\n"
    "\"seek_care\": emergency|urgent|routine|self_care, \"multi\": true for multi-part}.\n"
    "Prints per mode: answer accuracy (first source expected), hit@3, coverage of every\n"
    "expected id on multi-part questions, triage accuracy and safe rate (at or above the\n"
    "expected urgency), reasoning tokens and latency (p50, p99).\n";

static int level_rank(const char *l)
{
    if (!l)
        return -1;
    if (strcmp(l, "self_care") == 0)
        return 0;
    if (strcmp(l, "routine") == 0)
        return 1;
    if (strcmp(l, "urgent") == 0)
        return 2;
    if (strcmp(l, "emergency") == 0)
        return 3;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct mode_stats {
    int n, n_ids, correct, hit3, n_multi, multi_cover, n_triage, triage_ok, triage_safe, n_emerg, emerg_ok;
    double tokens;
    double *lat;
} mode_stats_t;

static int source_rank(const cJSON *a, const char *id)
{
    int i = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(a, "sources")) {
        const char *sid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id"));
        if (sid && strncmp(sid, "range:", 6) != 0) {
            if (strcmp(sid, id) == 0)
                return i;
            i++;
        }
    }
    return -1;
}

int cli_eval(int argc, char **argv, cli_ctx_t *ctx)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(EVAL_HELP, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "safety") == 0)
        return cli_eval_safety(argc - 1, argv + 1, ctx);
    const char *file = NULL;
    const char *modes = "instant,thinking,contemplating,auto";
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--modes") == 0 && i + 1 < argc)
            modes = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-')
            return cli_usage_error("eval", "unknown option '%s'", argv[i]);
        else
            file = argv[i];
    }
    if (!file)
        return cli_usage_error("eval", "no labelled set given");
    muse_error_t err = {0};
    char *text = NULL;
    if (cli_read_file(file, &text, NULL, 64u << 20, &err) != MUSE_OK)
        return cli_fail(&err);
    /* Parse every line first: a malformed set is an error before any work. */
    cJSON **items = NULL;
    size_t n = 0, cap = 0;
    int line = 0, status = 0;
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        line++;
        if (!*p || *p == '#')
            continue;
        cJSON *j = cJSON_Parse(p);
        if (!j || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "q"))) {
            fprintf(stderr, "muse eval: %s:%d: expected an object with a string \"q\"\n", file, line);
            cJSON_Delete(j);
            status = 1;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            cJSON **v = realloc(items, cap * sizeof *v);
            if (!v)
                break;
            items = v;
        }
        items[n++] = j;
    }
    free(text);
    if (status) {
        for (size_t i = 0; i < n; i++)
            cJSON_Delete(items[i]);
        free(items);
        return 1;
    }
    muse_options_t mo;
    muse_options_init(&mo);
    mo.kb_path = ctx->kb_path;
    mo.locale = ctx->locale;
    mo.reviewed_only = ctx->reviewed_only;
    mo.backend = ctx->backend;
    mo.allow_phi = ctx->allow_phi;
    muse_t *m = NULL;
    if (muse_open(&mo, &m, &err) != MUSE_OK) {
        for (size_t i = 0; i < n; i++)
            cJSON_Delete(items[i]);
        free(items);
        return cli_fail(&err);
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "questions", (double)n);
    cJSON *per = cJSON_AddObjectToObject(out, "modes");
    if (!json)
        printf("%-14s %6s %6s %6s %7s %7s %7s %8s %8s %8s\n", "mode", "acc", "hit@3", "multi", "triage",
               "safe", "emerg", "tokens", "p50 ms", "p99 ms");
    char mbuf[128];
    snprintf(mbuf, sizeof mbuf, "%s", modes);
    for (char *tok = strtok(mbuf, ","); tok; tok = strtok(NULL, ",")) {
        muse_ask_options_t ao;
        muse_ask_options_init(&ao);
        if (muse_mode_parse(tok, &ao.mode) != MUSE_OK) {
            fprintf(stderr, "muse eval: unknown mode '%s'\n", tok);
            status = 2;
            break;
        }
        mode_stats_t st = {0};
        st.lat = calloc(n ? n : 1, sizeof *st.lat);
        for (size_t i = 0; i < n && st.lat; i++) {
            const cJSON *it = items[i];
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            cJSON *a = NULL;
            if (engine_answer(m, cJSON_GetObjectItemCaseSensitive(it, "q")->valuestring, &ao, &a, &err) != MUSE_OK) {
                fprintf(stderr, "muse eval: question %zu: %s\n", i + 1, err.message);
                continue;
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            st.lat[st.n++] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
            st.tokens += cJSON_GetNumberValue(
                cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "trace"), "reasoning_tokens"));
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(it, "ids");
            if (cJSON_GetArraySize(ids) > 0) {
                st.n_ids++;
                int best = 1 << 30, all = 1;
                const cJSON *id;
                cJSON_ArrayForEach(id, ids) {
                    int r = cJSON_IsString(id) ? source_rank(a, id->valuestring) : -1;
                    if (r >= 0 && r < best)
                        best = r;
                    all &= r >= 0;
                }
                st.correct += best == 0;
                st.hit3 += best < 3;
                if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "multi"))) {
                    st.n_multi++;
                    st.multi_cover += all;
                }
            }
            const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "seek_care"));
            if (want && level_rank(want) >= 0) {
                const char *got = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(a, "answer"), "seek_care"), "level"));
                st.n_triage++;
                st.triage_ok += got && strcmp(got, want) == 0;
                st.triage_safe += level_rank(got) >= level_rank(want);
                if (strcmp(want, "emergency") == 0) {
                    st.n_emerg++;
                    st.emerg_ok += got && strcmp(got, "emergency") == 0;
                }
            }
            cJSON_Delete(a);
        }
        if (!st.lat)
            break;
        qsort(st.lat, (size_t)st.n, sizeof *st.lat, cmp_double);
        double p50 = st.n ? st.lat[(size_t)(st.n * 0.5)] : 0;
        double p99 = st.n ? st.lat[(size_t)fmin(st.n - 1, ceil(st.n * 0.99) - 1)] : 0;
#define PCT(a, b) ((b) ? 100.0 * (a) / (b) : 0.0)
        cJSON *mj = cJSON_AddObjectToObject(per, tok);
        cJSON_AddNumberToObject(mj, "answered", st.n);
        cJSON_AddNumberToObject(mj, "accuracy", PCT(st.correct, st.n_ids));
        cJSON_AddNumberToObject(mj, "hit_at_3", PCT(st.hit3, st.n_ids));
        cJSON_AddNumberToObject(mj, "multi_coverage", PCT(st.multi_cover, st.n_multi));
        cJSON_AddNumberToObject(mj, "triage_accuracy", PCT(st.triage_ok, st.n_triage));
        cJSON_AddNumberToObject(mj, "triage_safe", PCT(st.triage_safe, st.n_triage));
        cJSON_AddNumberToObject(mj, "emergency_recall", PCT(st.emerg_ok, st.n_emerg));
        cJSON_AddNumberToObject(mj, "reasoning_tokens_total", st.tokens);
        cJSON_AddNumberToObject(mj, "reasoning_tokens_mean", st.n ? st.tokens / st.n : 0);
        cJSON_AddNumberToObject(mj, "latency_p50_ms", p50);
        cJSON_AddNumberToObject(mj, "latency_p99_ms", p99);
        if (!json) {
            /* A figure with nothing to measure it on prints as "-". */
            char f[6][16];
            const int num[6] = {st.correct, st.hit3, st.multi_cover, st.triage_ok, st.triage_safe, st.emerg_ok};
            const int den[6] = {st.n_ids, st.n_ids, st.n_multi, st.n_triage, st.n_triage, st.n_emerg};
            for (int k = 0; k < 6; k++) {
                if (den[k])
                    snprintf(f[k], sizeof f[k], "%.1f%%", PCT(num[k], den[k]));
                else
                    snprintf(f[k], sizeof f[k], "-");
            }
            printf("%-14s %6s %6s %6s %7s %7s %7s %8.1f %8.3f %8.3f\n", tok, f[0], f[1], f[2], f[3], f[4], f[5],
                   st.n ? st.tokens / st.n : 0, p50, p99);
        }
        free(st.lat);
    }
    if (!json) {
        printf("(%zu questions; acc = first cited entry expected; multi = every expected entry cited; "
               "tokens = mean reasoning tokens)\n", n);
    } else {
        char *s = cJSON_Print(out);
        printf("%s\n", s);
        free(s);
    }
    cJSON_Delete(out);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(items[i]);
    free(items);
    muse_close(m);
    return status;
}
