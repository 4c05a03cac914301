/* Chart rendering speed, in process: the bp_trend preset over 365 daily
 * readings to SVG, PDF and PNG, each timed end to end (parse, preset,
 * layout, render) and by stage, plus a million-point line. Prints figures;
 * asserts nothing (tests/bench/bench_viz_compare.sh compares whole-process
 * `muse chart` with gnuplot and matplotlib). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "viz/viz.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 365 morning readings, a slow rise with noise (a fixed LCG: same data
 * every run, and the same as bench_viz_compare.sh writes). */
static char *bp_spec(int n)
{
    size_t cap = (size_t)n * 96 + 256, off = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    off += (size_t)snprintf(s + off, cap - off, "{\"preset\":\"bp_trend\",\"title\":\"A year of readings\",\"data\":[");
    unsigned seed = 42;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((seed >> 16) & 0x7FFF) / 32768.0 - 0.5;
        int sys = (int)lround(128 + 14 * sin(i / 40.0) + i * 0.03 + noise * 16);
        int dia = (int)lround(82 + 7 * sin(i / 40.0) + noise * 8);
        int y = 2024, m = 1, d = 1 + i;
        static const int md[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        while (d > md[m - 1]) {
            d -= md[m - 1];
            m++;
        }
        off += (size_t)snprintf(s + off, cap - off,
                                "%s{\"time\":\"%04d-%02d-%02dT07:30\",\"systolic\":%d,\"diastolic\":%d}",
                                i ? "," : "", y, m, d, sys, dia);
    }
    snprintf(s + off, cap - off, "]}");
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 25;
    if (iters < 1)
        iters = 1;
    char *spec = bp_spec(365);
    if (!spec)
        return 1;
    muse_error_t err = {0};
    const char *names[] = {"SVG", "PDF", "PNG", "HTML"};
    viz_format_t fmts[] = {VIZ_SVG, VIZ_PDF, VIZ_PNG, VIZ_HTML};
    double *t = malloc((size_t)iters * sizeof *t);
    double *tp = malloc((size_t)iters * sizeof *tp), *tl = malloc((size_t)iters * sizeof *tl);
    double *tr = malloc((size_t)iters * sizeof *tr);

    /* Warm up fonts and caches once, as a long-running server would be. */
    viz_chart_t *c = NULL;
    if (viz_chart_parse(spec, &c, &err) != MUSE_OK) {
        fprintf(stderr, "bench_viz: %s\n", err.message);
        return 1;
    }
    unsigned char *out = NULL;
    size_t len = 0;
    viz_render(c, VIZ_PNG, NULL, &out, &len, &err);
    free(out);
    viz_chart_free(c);

    printf("bp_trend, 365 readings, 640x470 pt (PNG at 96 dpi), median of %d runs\n", iters);
    printf("%-5s %10s %10s %10s %10s %10s\n", "fmt", "total ms", "parse ms", "layout ms", "render ms", "bytes");
    for (int f = 0; f < 4; f++) {
        for (int i = 0; i < iters; i++) {
            double t0 = now_ms();
            viz_chart_t *ch = NULL;
            viz_chart_parse(spec, &ch, &err);
            double t1 = now_ms();
            viz_scene_t *s = NULL;
            viz_scene_build(ch, NULL, &s, &err);
            double t2 = now_ms();
            out = NULL;
            viz_scene_render(s, fmts[f], NULL, &out, &len, &err);
            double t3 = now_ms();
            free(out);
            viz_scene_free(s);
            viz_chart_free(ch);
            t[i] = t3 - t0;
            tp[i] = t1 - t0;
            tl[i] = t2 - t1;
            tr[i] = t3 - t2;
        }
        printf("%-5s %10.2f %10.2f %10.2f %10.2f %10zu\n", names[f], median(t, iters), median(tp, iters),
               median(tl, iters), median(tr, iters), len);
    }

    /* A million points: LTTB keeps the line to about two points a pixel. */
    size_t n = 1000000, cap = n * 24 + 256, off = 0;
    char *big = malloc(cap);
    off += (size_t)snprintf(big + off, cap - off, "{\"data\":{\"columns\":{\"x\":[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(big + off, cap - off, "%s%zu", i ? "," : "", i);
    off += (size_t)snprintf(big + off, cap - off, "],\"y\":[");
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(big + off, cap - off, "%s%.1f", i ? "," : "", 100 + 20 * sin(i / 5000.0));
    snprintf(big + off, cap - off, "]}},\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"x\"},"
                                   "\"y\":{\"field\":\"y\"}}}]}");
    double t0 = now_ms();
    viz_chart_t *ch = NULL;
    viz_chart_parse(big, &ch, &err);
    double t1 = now_ms();
    viz_scene_t *s = NULL;
    viz_scene_build(ch, NULL, &s, &err);
    double t2 = now_ms();
    out = NULL;
    viz_scene_render(s, VIZ_SVG, NULL, &out, &len, &err);
    double t3 = now_ms();
    printf("line, 1,000,000 points to SVG: parse %.0f ms, layout (LTTB) %.0f ms, render %.0f ms, %zu bytes\n",
           t1 - t0, t2 - t1, t3 - t2, len);
    free(out);
    viz_scene_free(s);
    viz_chart_free(ch);
    free(big);
    free(spec);
    free(t);
    free(tp);
    free(tl);
    free(tr);
    cairo_debug_reset_static_data();
    FcFini();
    return 0;
}
