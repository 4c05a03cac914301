/* Benchmark: 10,000 readings across 6 measures into a report.
 *
 * A year of home monitoring as a clinic might receive it: blood pressure
 * twice a day with pulse, heart rate, weight, glucose from a meter, SpO2 and
 * temperature, 10,000 readings in one CSV (built in memory, deterministic).
 * Prints the time of each step and the PDF's size and pages; the aims are
 * under 1 s and under 2 MB for the PDF. Set MUSE_BENCH_OUT=DIR to keep the
 * PDF and HTML for a look. Timings are printed, never asserted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "viz/report/report.h"

#define N_READINGS 10000

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A small deterministic generator (xorshift), so every run reads the same file. */
static uint64_t rng = 88172645463325252ULL;

static double noise(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng % 20001) / 10000.0 - 1.0; /* -1..1 */
}

static char *make_csv(size_t *len)
{
    size_t cap = (size_t)N_READINGS * 64 + 256, n = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    n += (size_t)snprintf(s + n, cap - n, "time,kind,value,value2,unit\n");
    /* Shares of the 10,000: BP 30%, heart rate 20%, glucose 20%, weight 10%, SpO2 10%, temperature 10%. */
    static const struct {
        const char *kind;
        int count;
    } plan[] = {{"bp", 3000}, {"heart_rate", 2000}, {"glucose", 2000},
                {"weight", 1000}, {"spo2", 1000},   {"temperature", 1000}};
    int64_t start = 20089LL * 86400; /* 2025-01-01 */
    for (size_t p = 0; p < sizeof plan / sizeof plan[0]; p++) {
        for (int i = 0; i < plan[p].count; i++) {
            int64_t t = start + (int64_t)i * 365 * 86400 / plan[p].count + 7 * 3600;
            time_t tt = (time_t)t;
            struct tm tm;
            gmtime_r(&tt, &tm);
            char ts[32];
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M", &tm);
            double f = (double)i / plan[p].count;
            const char *k = plan[p].kind;
            if (strcmp(k, "bp") == 0)
                n += (size_t)snprintf(s + n, cap - n, "%s,bp,%.0f,%.0f,mm[Hg]\n", ts, 148 - 10 * f + 8 * noise(),
                                      93 - 6 * f + 5 * noise());
            else if (strcmp(k, "heart_rate") == 0)
                n += (size_t)snprintf(s + n, cap - n, "%s,heart_rate,%.0f,,/min\n", ts, 74 + 8 * noise());
            else if (strcmp(k, "glucose") == 0)
                n += (size_t)snprintf(s + n, cap - n, "%s,glucose,%.1f,,mmol/L\n", ts, 7.2 - 0.8 * f + noise());
            else if (strcmp(k, "weight") == 0)
                n += (size_t)snprintf(s + n, cap - n, "%s,weight,%.1f,,kg\n", ts, 96 - 5 * f + 0.6 * noise());
            else if (strcmp(k, "spo2") == 0)
                n += (size_t)snprintf(s + n, cap - n, "%s,spo2,%.0f,,%%\n", ts, 97 + 1.5 * noise());
            else
                n += (size_t)snprintf(s + n, cap - n, "%s,temperature,%.1f,,Cel\n", ts, 36.7 + 0.3 * noise());
        }
    }
    *len = n;
    return s;
}

static void keep(const char *dir, const char *name, const void *data, size_t len)
{
    if (!dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, len, f);
        fclose(f);
        printf("  kept %s\n", path);
    }
}

int main(void)
{
    size_t csv_len = 0;
    char *csv = make_csv(&csv_len);
    report_t *r = NULL;
    unsigned char *pdf = NULL;
    char *html = NULL, *json = NULL;
    size_t pdf_len = 0, html_len = 0;
    muse_error_t err = {0};
    int status = 1;
    if (!csv) {
        fprintf(stderr, "bench_report: out of memory\n");
        return 1;
    }
    double t0 = now_ms();
    if (report_new(NULL, &r, &err) != MUSE_OK ||
        report_add_buffer(r, csv, csv_len, MED_FORMAT_CSV, "bench.csv", &err) != MUSE_OK)
        goto fail;
    double t1 = now_ms();
    if (report_analyze(r, &err) != MUSE_OK)
        goto fail;
    double t2 = now_ms();
    if (report_pdf(r, &pdf, &pdf_len, &err) != MUSE_OK)
        goto fail;
    double t3 = now_ms();
    if (report_html(r, &html, &html_len, &err) != MUSE_OK)
        goto fail;
    double t4 = now_ms();
    if (report_summary_json(r, &json, &err) != MUSE_OK)
        goto fail;
    double t5 = now_ms();
    /* pages from the summary: "pages":	N */
    const char *pg = strstr(json, "\"pages\":");
    int pages = pg ? atoi(pg + 8 + strspn(pg + 8, " \t")) : 0;
    printf("report: %d readings, 6 measures, %zu problems\n", N_READINGS, report_problem_count(r));
    printf("  read      %8.1f ms\n", t1 - t0);
    printf("  analyse   %8.1f ms\n", t2 - t1);
    printf("  PDF       %8.1f ms  %zu bytes (%.2f MB), %d pages\n", t3 - t2, pdf_len, pdf_len / 1048576.0, pages);
    printf("  total     %8.1f ms  (read + analyse + PDF; aim < 1000 ms, < 2 MB)\n", t3 - t0);
    printf("  HTML      %8.1f ms  %zu bytes\n", t4 - t3, html_len);
    printf("  JSON      %8.1f ms\n", t5 - t4);
    const char *dir = getenv("MUSE_BENCH_OUT");
    keep(dir, "bench_report.pdf", pdf, pdf_len);
    keep(dir, "bench_report.html", html, html_len);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "bench_report: %s\n", err.message);
done:
    free(csv);
    free(pdf);
    free(html);
    free(json);
    report_free(r);
    return status;
}
