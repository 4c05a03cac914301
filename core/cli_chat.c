/* muse chat: a conversation. Each turn is answered like `muse ask`; a turn
 * that names nothing the store knows ("what about for children?") is read
 * with the previous turn's topic, so context carries across turns. On a TTY
 * it uses libedit for line editing and history; piped, it prints no prompts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#ifdef MUSE_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "core/cli.h"
#include "core/muse_internal.h"
#include "core/render.h"
#include "muse_err.h"
#include "viz/viz.h"

static const char CHAT_HELP[] =
    "usage: muse chat [--mode M]\n"
    "\n"
    "A conversation with Muse. Commands inside the chat:\n"
    "  /mode instant|thinking|contemplating|auto   change the reasoning mode\n"
    "  /chart FILE     write the last answer's chart (.svg, .pdf, .png, .html)\n"
    "  /sources        list the last answer's sources\n"
    "  /quit           leave (also Ctrl-D)\n";

static char *read_line(int tty)
{
#ifdef MUSE_HAVE_LIBEDIT
    if (tty) {
        char *l = readline("muse> ");
        if (l && *l)
            add_history(l);
        return l;
    }
#endif
    if (tty) {
        fputs("muse> ", stdout);
        fflush(stdout);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

int cli_chat(int argc, char **argv, cli_ctx_t *ctx)
{
    muse_ask_options_t ao;
    muse_ask_options_init(&ao);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(CHAT_HELP, stdout);
            return 0;
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            if (muse_mode_parse(argv[++i], &ao.mode) != MUSE_OK)
                return cli_usage_error("chat", "--mode must be instant, thinking, contemplating or auto");
        } else {
            return cli_usage_error("chat", "unknown argument '%s'", argv[i]);
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
    muse_error_t err = {0};
    if (muse_open(&mo, &m, &err) != MUSE_OK)
        return cli_fail(&err);
    int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (tty)
        printf("Muse %s. Ask a health question; /quit to leave. Not a doctor: in an emergency call your local emergency number.\n",
               muse_version());
    cJSON *last = NULL;
    char topic[160] = "";
    char *line;
    while ((line = read_line(tty))) {
        char *q = line;
        while (*q == ' ' || *q == '\t')
            q++;
        if (!*q) {
            free(line);
            continue;
        }
        if (strcmp(q, "/quit") == 0 || strcmp(q, "/exit") == 0) {
            free(line);
            break;
        }
        if (strncmp(q, "/mode", 5) == 0) {
            const char *v = q + 5;
            while (*v == ' ')
                v++;
            if (muse_mode_parse(v, &ao.mode) == MUSE_OK)
                printf("mode: %s\n", muse_mode_name(ao.mode));
            else
                fprintf(stderr, "muse chat: /mode needs instant, thinking, contemplating or auto\n");
        } else if (strcmp(q, "/sources") == 0) {
            const cJSON *s;
            int i = 1;
            cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(last, "sources"))
                printf("[%d] %s (%s)\n", i++, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "title")),
                       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "id")));
            if (i == 1)
                printf("no sources yet\n");
        } else if (strncmp(q, "/chart", 6) == 0) {
            const char *f = q + 6;
            while (*f == ' ')
                f++;
            cJSON *spec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(last, "charts"), 0);
            viz_chart_t *c = NULL;
            if (!*f)
                fprintf(stderr, "muse chat: /chart needs a file name\n");
            else if (!spec)
                fprintf(stderr, "muse chat: the last answer has no chart\n");
            else if (viz_chart_from_json(spec, &c, &err) != MUSE_OK || viz_render_file(c, f, NULL, &err) != MUSE_OK)
                cli_fail(&err);
            else
                printf("chart written to %s\n", f);
            viz_chart_free(c);
        } else if (q[0] == '/') {
            fprintf(stderr, "muse chat: unknown command %s (try /mode, /chart, /sources, /quit)\n", q);
        } else {
            /* A follow-up that names nothing known inherits the last topic. */
            char *asked = strdup(q);
            kb_t *kb = NULL;
            if (topic[0] && asked && muse_kb_acquire(m, &kb, NULL) == MUSE_OK) {
                kb_mentions_t men;
                if (kb_find_mentions(kb, q, &men, NULL) == MUSE_OK) {
                    if (men.n == 0) {
                        size_t n = strlen(q) + strlen(topic) + 8;
                        char *x = malloc(n);
                        if (x) {
                            snprintf(x, n, "%s (%s)", q, topic);
                            free(asked);
                            asked = x;
                        }
                    }
                    kb_mentions_free(&men);
                }
                muse_kb_release(m, kb);
            }
            cJSON *a = NULL;
            if (!asked || engine_answer(m, asked, &ao, &a, &err) != MUSE_OK) {
                cli_fail(&err);
            } else {
                render_answer(stdout, a, RENDER_TEXT, ctx->color);
                const char *t = cJSON_GetStringValue(
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a, "sources"), 0), "title"));
                if (t)
                    snprintf(topic, sizeof topic, "%s", t);
                cJSON_Delete(last);
                last = a;
            }
            free(asked);
            if (!tty)
                printf("\n");
            fflush(stdout);
        }
        free(line);
    }
    cJSON_Delete(last);
    muse_close(m);
    return 0;
}
