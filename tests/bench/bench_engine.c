/* Engine latency per mode on the bundled store, and answers per second with
 * two threads sharing one muse_t. Prints figures; asserts nothing about time.
 * Run: meson test -C build --benchmark --suite bench, or build/tests/core/bench_engine
 * [ROUNDS [MODE]]; with a MODE only that mode runs (for a profiler). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "muse.h"

static const char *const QUESTIONS[] = {
    "What is a normal blood pressure?",
    "Is 150/95 high?",
    "What are the side effects of metformin?",
    "Can I take ibuprofen with warfarin?",
    "how do i get rid of heartburn",
    "my son has a rash and a fever",
    "What causes gout and how is it treated?",
    "how much exercise do i need each week",
    "A1c 7.2, fasting sugar 140",
    "what is the difference between type 1 and type 2 diabetes",
};
#define NQ (sizeof QUESTIONS / sizeof QUESTIONS[0])

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of this thread: on a machine shared with other work, wall-clock
 * figures move with the load and this one much less. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct worker {
    muse_t *m;
    muse_mode_t mode;
    int n;
    int done;
} worker_t;

static void *run(void *arg)
{
    worker_t *w = arg;
    muse_ask_options_t o;
    muse_ask_options_init(&o);
    o.mode = w->mode;
    for (int i = 0; i < w->n; i++) {
        char *json = NULL;
        if (muse_ask_json(w->m, QUESTIONS[(size_t)i % NQ], &o, &json, NULL) == MUSE_OK)
            w->done++;
        muse_free(json);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    muse_mode_t only = MUSE_MODE_AUTO;
    int have_only = argc > 2 && muse_mode_parse(argv[2], &only) == MUSE_OK;
    if (argc > 2 && !have_only) {
        fprintf(stderr, "bench_engine: unknown mode \"%s\": use instant, thinking, contemplating or auto\n", argv[2]);
        return 2;
    }
    muse_options_t mo;
    muse_options_init(&mo);
    muse_t *m = NULL;
    muse_error_t err = {0};
    if (muse_open(&mo, &m, &err) != MUSE_OK) {
        fprintf(stderr, "bench_engine: %s\n", err.message);
        return 1;
    }
    printf("engine latency on the bundled store, %d rounds of %zu questions\n", rounds, NQ);
    double load[3] = {0};
    if (getloadavg(load, 3) == 3)
        printf("load average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    printf("%-14s %10s %10s %10s %10s %10s\n", "mode", "p50 ms", "p99 ms", "mean ms", "cpu p50", "cpu mean");
    muse_mode_t modes[] = {MUSE_MODE_INSTANT, MUSE_MODE_THINKING, MUSE_MODE_CONTEMPLATING, MUSE_MODE_AUTO};
    size_t n = (size_t)rounds * NQ;
    double *lat = calloc(n, sizeof *lat), *cpu = calloc(n, sizeof *cpu);
    for (size_t k = 0; k < 4 && lat && cpu; k++) {
        if (have_only && modes[k] != only)
            continue;
        muse_ask_options_t o;
        muse_ask_options_init(&o);
        o.mode = modes[k];
        double sum = 0, cpu_sum = 0;
        for (size_t i = 0; i < n; i++) {
            char *json = NULL;
            double t0 = now(), c0 = cpu_now();
            muse_ask_json(m, QUESTIONS[i % NQ], &o, &json, NULL);
            lat[i] = (now() - t0) * 1e3;
            cpu[i] = (cpu_now() - c0) * 1e3;
            sum += lat[i];
            cpu_sum += cpu[i];
            muse_free(json);
        }
        qsort(lat, n, sizeof *lat, cmp);
        qsort(cpu, n, sizeof *cpu, cmp);
        printf("%-14s %10.3f %10.3f %10.3f %10.3f %10.3f\n", muse_mode_name(modes[k]), lat[n / 2],
               lat[(size_t)fmin((double)n - 1, ceil((double)n * 0.99) - 1)], sum / (double)n, cpu[n / 2],
               cpu_sum / (double)n);
    }
    free(lat);
    free(cpu);
    for (int threads = 1; threads <= 2 && !have_only; threads++) {
        worker_t w[2];
        pthread_t th[2];
        double t0 = now();
        for (int i = 0; i < threads; i++) {
            w[i] = (worker_t){.m = m, .mode = MUSE_MODE_INSTANT, .n = rounds * (int)NQ};
            pthread_create(&th[i], NULL, run, &w[i]);
        }
        int done = 0;
        for (int i = 0; i < threads; i++) {
            pthread_join(th[i], NULL);
            done += w[i].done;
        }
        printf("instant, %d thread%s: %.0f answers/s\n", threads, threads > 1 ? "s" : "", done / (now() - t0));
    }
    muse_close(m);
    return 0;
}
