/* muse ask: one question, answered for a person (text or Markdown) or a
 * program (--json), with an optional chart file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/cli.h"
#include "core/log.h"
#include "core/muse_internal.h"
#include "core/render.h"
#include "muse_err.h"
#include "viz/viz.h"

static const char ASK_HELP[] =
    "usage: muse ask [--mode instant|thinking|contemplating|auto] [--json] [--markdown]\n"
    "                [--trace] [--chart FILE] [--reviewed-only] QUESTION|-\n"
    "\n"
    "Answers a health question from the knowledge store, with its sources.\n"
    "  --mode M       how much reasoning to spend (default auto: the least that answers well)\n"
    "  --json         print the answer object (docs/answer.md) for programs\n"
    "  --markdown     print the answer as Markdown\n"
    "  --trace        also print the reasoning steps and their token cost (stderr)\n"
    "  --chart FILE   write a chart for the answer where one fits (.svg, .pdf, .png, .html)\n"
    "  -              read the question from standard input\n"
    "\n"
    "example: muse ask \"Is 150/95 high?\" --chart bp.svg\n";

#define MAX_QUESTION_BYTES (1024 * 1024)

int cli_ask(int argc, char **argv, cli_ctx_t *ctx)
{
    muse_ask_options_t ao;
    muse_ask_options_init(&ao);
    int json = 0, markdown = 0, trace = 0;
    const char *chart = NULL;
    char *question = NULL;
    size_t qlen = 0;
    int from_stdin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(ASK_HELP, stdout);
            free(question);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--markdown") == 0) {
            markdown = 1;
        } else if (strcmp(a, "--trace") == 0) {
            trace = 1;
        } else if (strcmp(a, "--mode") == 0 || strncmp(a, "--mode=", 7) == 0) {
            const char *v = a[6] == '=' ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || muse_mode_parse(v, &ao.mode) != MUSE_OK) {
                free(question);
                return cli_usage_error("ask", "--mode must be instant, thinking, contemplating or auto");
            }
        } else if (strcmp(a, "--chart") == 0) {
            if (i + 1 >= argc) {
                free(question);
                return cli_usage_error("ask", "--chart needs a file name");
            }
            chart = argv[++i];
            ao.want_chart = 1;
        } else if (strcmp(a, "--") == 0) {
            continue;
        } else if (strcmp(a, "-") == 0) {
            from_stdin = 1;
        } else if (a[0] == '-' && a[1] == '-' && !(i > 1 && strcmp(argv[i - 1], "--") == 0)) {
            free(question);
            return cli_usage_error("ask", "unknown option '%s'", a);
        } else {
            size_t l = strlen(a);
            char *q = realloc(question, qlen + l + 2);
            if (!q) {
                free(question);
                return 1;
            }
            question = q;
            if (qlen)
                question[qlen++] = ' ';
            memcpy(question + qlen, a, l + 1);
            qlen += l;
        }
    }
    muse_error_t err = {0};
    if (from_stdin) {
        free(question);
        question = NULL;
        if (cli_read_file("-", &question, &qlen, MAX_QUESTION_BYTES, &err) != MUSE_OK)
            return cli_fail(&err);
    }
    if (!question)
        return cli_usage_error("ask", "no question given");
    if (chart) {
        viz_format_t f;
        if (viz_format_parse(chart, &f, &err) != MUSE_OK) {
            free(question);
            return cli_usage_error("ask", "%s", err.message);
        }
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
        free(question);
        return cli_fail(&err);
    }
    log_msg(LOG_INFO, "ask: %zu bytes, mode %s", strlen(question), muse_mode_name(ao.mode));
    log_msg(LOG_DEBUG, "ask: question \"%s\"", question);
    cJSON *a = NULL;
    int rc = engine_answer(m, question, &ao, &a, &err);
    free(question);
    if (rc != MUSE_OK) {
        muse_close(m);
        return cli_fail(&err);
    }
    int status = 0;
    if (json) {
        char *s = cJSON_Print(a);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        render_answer(stdout, a, markdown ? RENDER_MARKDOWN : RENDER_TEXT, ctx->color);
    }
    if (trace)
        render_trace(stderr, a);
    if (chart) {
        cJSON *spec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "charts"), 0);
        if (!spec) {
            fprintf(stderr, "muse ask: no chart fits this answer; %s was not written\n", chart);
        } else {
            viz_chart_t *c = NULL;
            if (viz_chart_from_json(spec, &c, &err) != MUSE_OK ||
                viz_render_file(c, chart, NULL, &err) != MUSE_OK)
                status = cli_fail(&err);
            else if (!json)
                fprintf(stderr, "chart written to %s\n", chart);
            viz_chart_free(c);
        }
    }
    cJSON_Delete(a);
    muse_close(m);
    return status;
}
