/* muse report: readings files into a multi-page PDF for a clinic, with the
 * same findings as JSON (--json) and as one self-contained HTML page (--html).
 *
 * The run is all or nothing at the target paths: the PDF and the HTML page
 * are made in memory and written through a temporary file and rename(), so
 * a failed run never leaves a half-written report where a good one was
 * expected. Rows that could not be read do not fail the run; they are
 * printed here (file:line, why) and listed in the report's appendix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "muse_err.h"
#include "viz/report/report.h"

static const char REPORT_HELP[] =
    "usage: muse report INPUT... -o OUT.pdf [options]    (INPUT '-': standard input)\n"
    "\n"
    "Makes a PDF report from files of readings (CSV, JSON or FHIR R4; docs/medical.md):\n"
    "what was measured, key findings, one section per measure with its chart,\n"
    "statistics, trend, guideline category and source, the readings, sources, and\n"
    "the input problems. docs/report.md describes it.\n"
    "  -o, --output FILE    the PDF to write\n"
    "  --from DATE          leave out readings before DATE (2026-10-01 or 2026-10-01T07:30)\n"
    "  --to DATE            leave out readings after DATE (a date alone includes that day)\n"
    "  --title TEXT         the report's title (also the PDF's title)\n"
    "  --patient-label L    a label the clinic chooses, printed on each page (nothing\n"
    "                       identifying is needed; it is kept out of the PDF's metadata)\n"
    "  --password P         encrypt the PDF (RC4, the only cipher libharu has: protect the\n"
    "                       file in storage and transport too); prefer MUSE_REPORT_PASSWORD,\n"
    "                       which other users cannot read from the process list\n"
    "  --json               print a machine-readable summary of the findings on stdout\n"
    "  --html FILE          also write the report as one self-contained HTML page\n"
    "  --no-kb              do not cite knowledge-store entries\n"
    "  -q, --quiet          do not list input problems on stderr\n"
    "\n"
    "Exit status: 0 report written; 1 nothing usable or a file could not be written\n"
    "(nothing is left at the output paths); 2 usage error.\n"
    "\n"
    "examples:\n"
    "  muse report home_bp.csv -o bp.pdf --patient-label \"Clinic ref 1042\"\n"
    "  muse report labs.json weights.csv -o report.pdf --from 2026-01-01 --json\n";

#define MAX_INPUTS 64
#define MAX_INPUT_BYTES ((size_t)64 << 20) /* the medical reader's own limit */

static int need_value(int i, int argc, char **argv)
{
    if (i + 1 >= argc) {
        cli_usage_error("report", "%s needs a value", argv[i]);
        return 0;
    }
    return 1;
}

int cli_report(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *inputs[MAX_INPUTS];
    size_t n_in = 0;
    const char *out = NULL, *html = NULL, *from = NULL, *to = NULL;
    int json = 0, quiet = 0, no_kb = 0, status = 1;
    report_opts_t o;
    report_opts_init(&o);
    report_t *r = NULL;
    kb_t *kb = NULL;
    unsigned char *pdf = NULL;
    char *page = NULL, *summary = NULL;
    size_t pdf_len = 0, page_len = 0;
    muse_error_t err = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(REPORT_HELP, stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            out = argv[++i];
        } else if (strcmp(a, "--html") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            html = argv[++i];
        } else if (strcmp(a, "--from") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            from = argv[++i];
        } else if (strcmp(a, "--to") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            to = argv[++i];
        } else if (strcmp(a, "--title") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            o.title = argv[++i];
        } else if (strcmp(a, "--patient-label") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            o.patient_label = argv[++i];
        } else if (strcmp(a, "--password") == 0) {
            if (!need_value(i, argc, argv))
                return 2;
            o.password = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--no-kb") == 0) {
            no_kb = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = 1;
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (n_in == MAX_INPUTS)
                    return cli_usage_error("report", "at most %d input files", MAX_INPUTS);
                inputs[n_in++] = argv[i];
            }
        } else if (a[0] == '-' && a[1] != '\0') { /* "-" alone is standard input */
            return cli_usage_error("report", "unknown option '%s'", a);
        } else {
            if (n_in == MAX_INPUTS)
                return cli_usage_error("report", "at most %d input files", MAX_INPUTS);
            inputs[n_in++] = a;
        }
    }
    if (n_in == 0)
        return cli_usage_error("report", "no input: give one or more files of readings");
    if (!out)
        return cli_usage_error("report", "no output: give -o OUT.pdf");
    if (strcmp(out, "-") == 0 && json)
        return cli_usage_error("report", "--json prints on stdout; write the PDF to a file with -o");
    if (from && report_parse_date(from, 0, &o.from, &err) != MUSE_OK)
        return cli_usage_error("report", "--from: %s", err.message);
    if (to && report_parse_date(to, 1, &o.to, &err) != MUSE_OK)
        return cli_usage_error("report", "--to: %s", err.message);
    if (!o.password) {
        const char *env = getenv("MUSE_REPORT_PASSWORD");
        if (env && *env)
            o.password = env;
    }
    if (o.password && !*o.password)
        return cli_usage_error("report", "--password: the password is empty");
    /* SOURCE_DATE_EPOCH makes the creation date reproducible (build systems, tests). */
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end = NULL;
        long long v = strtoll(sde, &end, 10);
        if (end && !*end && v > 0)
            o.now = v;
    }
    /* The knowledge store only adds citations: a report is still made without it. */
    if (!no_kb && ctx && ctx->kb_path) {
        muse_error_t ke = {0};
        if (kb_open(ctx->kb_path, KB_READONLY, &kb, &ke) != MUSE_OK) {
            if (ctx->verbose)
                fprintf(stderr, "muse report: knowledge store not used: %s\n", ke.message);
            kb = NULL;
        }
    }
    o.kb = kb;

    if (report_new(&o, &r, &err) != MUSE_OK)
        goto fail;
    for (size_t i = 0; i < n_in; i++) {
        if (strcmp(inputs[i], "-") == 0) {
            /* Standard input: the format comes from the content. */
            char *buf = NULL;
            size_t len = 0;
            if (cli_read_file("-", &buf, &len, MAX_INPUT_BYTES, &err) != MUSE_OK)
                goto fail;
            int rc = report_add_buffer(r, buf, len, MED_FORMAT_AUTO, "stdin", &err);
            free(buf);
            if (rc != MUSE_OK)
                goto fail;
        } else if (report_add_file(r, inputs[i], &err) != MUSE_OK) {
            goto fail;
        }
    }
    if (!quiet) {
        size_t np = report_problem_count(r);
        for (size_t i = 0; i < np; i++) {
            const med_problem_t *p = report_problem(r, i);
            /* The reader's "where" already names the file and line. */
            fprintf(stderr, "muse report: %s: %s\n", p->where, p->message);
        }
    }
    if (report_analyze(r, &err) != MUSE_OK)
        goto fail;
    if (report_pdf(r, &pdf, &pdf_len, &err) != MUSE_OK)
        goto fail;
    if (html && report_html(r, &page, &page_len, &err) != MUSE_OK)
        goto fail;
    if (json && report_summary_json(r, &summary, &err) != MUSE_OK)
        goto fail;
    /* Everything is made before anything is written. */
    if (cli_write_file(out, pdf, pdf_len, &err) != MUSE_OK)
        goto fail;
    if (html && cli_write_file(html, page, page_len, &err) != MUSE_OK)
        goto fail;
    if (summary)
        printf("%s\n", summary);
    if (ctx && ctx->verbose)
        fprintf(stderr, "muse report: wrote %s (%zu bytes)\n", out, pdf_len);
    status = 0;
    goto done;
fail:
    cli_fail(&err);
    status = 1;
done:
    free(pdf);
    free(page);
    free(summary);
    report_free(r);
    kb_close(kb);
    return status;
}
