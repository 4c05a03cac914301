/* The muse command: global options, the knowledge-store path, and dispatch
 * to one function per subcommand (core/cli.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#include "core/cli.h"
#include "core/log.h"

static const char USAGE[] =
    "usage: muse [-v] [--kb PATH] [--locale US|UK|EU] [--reviewed-only] [--backend B] COMMAND [ARGS]\n"
    "\n"
    "Muse answers health questions from a curated, cited knowledge store, on this\n"
    "machine, with no network. It is not a doctor: in an emergency call your local\n"
    "emergency number (911 in the US, 999 in the UK, 112 in the EU).\n"
    "\n"
    "commands:\n"
    "  ask QUESTION          answer a question (--mode, --json, --markdown, --chart FILE, --trace)\n"
    "  chat                  a conversation; context carries across turns\n"
    "  interpret TEXT        interpret readings such as \"150/95\" or \"A1c 7.2\"\n"
    "  calc NAME --PARAM V   clinical calculators (BMI, eGFR, ASCVD risk, ...)\n"
    "  chart SPEC -o OUT     render a chart spec or preset to SVG, PDF, PNG or HTML\n"
    "  report FILE -o OUT    a PDF report from a file of readings (CSV, JSON, FHIR R4)\n"
    "  safety check TEXT     screen text with the safety filter\n"
    "  safety redact TEXT    replace personal health identifiers\n"
    "  kb SUBCOMMAND         the knowledge store: build, stats, search, show, ...\n"
    "  serve                 the HTTP JSON API and web page\n"
    "  eval FILE|safety      measure answers or the safety filter on a labelled set\n"
    "  help [COMMAND]        this text, or a command's help\n"
    "\n"
    "options:\n"
    "  -v, --verbose         more logging on stderr (-vv for debug; question text only at debug)\n"
    "  --kb PATH             knowledge store (default: $MUSE_KB, else muse.db beside the\n"
    "                        muse binary, else " MUSE_DEFAULT_KB ")\n"
    "  --locale L            emergency numbers for US (default), UK or EU ($MUSE_LOCALE)\n"
    "  --reviewed-only       answer only from clinically reviewed entries\n"
    "  --backend B           grounded (default, no model) or openai: an OpenAI-compatible\n"
    "                        server from MUSE_OPENAI_BASE_URL / _MODEL / _API_KEY\n"
    "                        (docs/backends.md); $MUSE_BACKEND\n"
    "  --allow-phi           openai backend: send questions without PHI redaction\n"
    "  --version             print the version\n";

typedef struct command {
    const char *name;
    int (*fn)(int, char **, cli_ctx_t *);
} command_t;

static const command_t COMMANDS[] = {
    {"ask", cli_ask},         {"chat", cli_chat},       {"interpret", cli_interpret},
    {"calc", cli_calc},       {"chart", cli_chart},     {"report", cli_report},
    {"safety", cli_safety},   {"kb", cli_kb},           {"serve", cli_serve},
    {"eval", cli_eval},
};

static const command_t *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (strcmp(COMMANDS[i].name, name) == 0)
            return &COMMANDS[i];
    return NULL;
}

/* The store beside the binary serves an uninstalled build (build/muse.db). */
static const char *default_kb(char *buf, size_t cap)
{
    const char *env = getenv("MUSE_KB");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, cap, "%s/muse.db", exe);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    return MUSE_DEFAULT_KB;
}

int main(int argc, char **argv)
{
    cli_ctx_t ctx = {0};
    char kbbuf[PATH_MAX + 16];
    const char *nc = getenv("NO_COLOR");
    ctx.color = isatty(STDOUT_FILENO) && !(nc && *nc);
    ctx.locale = getenv("MUSE_LOCALE");
    ctx.backend = getenv("MUSE_BACKEND");

    /* Global options may come before or after the command; "--" ends them. */
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return 1;
    int n = 0;
    int ended = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (ended) {
            args[n++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            ended = 1;
            args[n++] = argv[i];
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            ctx.verbose++;
        } else if (strcmp(a, "-vv") == 0) {
            ctx.verbose += 2;
        } else if (strcmp(a, "--reviewed-only") == 0) {
            ctx.reviewed_only = 1;
        } else if (strcmp(a, "--allow-phi") == 0) {
            ctx.allow_phi = 1;
        } else if (strcmp(a, "--backend") == 0 && i + 1 < argc) {
            ctx.backend = argv[++i];
        } else if (strncmp(a, "--backend=", 10) == 0) {
            ctx.backend = a + 10;
        } else if (strcmp(a, "--kb") == 0 || strcmp(a, "--locale") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "muse: %s needs a value\n%s", a, USAGE);
                free(args);
                return 2;
            }
            if (a[2] == 'k')
                ctx.kb_path = argv[++i];
            else
                ctx.locale = argv[++i];
        } else if (strncmp(a, "--kb=", 5) == 0) {
            ctx.kb_path = a + 5;
        } else if (strncmp(a, "--locale=", 9) == 0) {
            ctx.locale = a + 9;
        } else {
            args[n++] = argv[i];
        }
    }
    log_set_level(ctx.verbose >= 2 ? LOG_DEBUG : ctx.verbose == 1 ? LOG_INFO : LOG_WARN);
    if (!ctx.kb_path)
        ctx.kb_path = default_kb(kbbuf, sizeof kbbuf);

    int rc;
    if (n == 0) {
        fputs(USAGE, stderr);
        rc = 2;
    } else if (strcmp(args[0], "--version") == 0 || strcmp(args[0], "version") == 0) {
        printf("muse %s\n", muse_version());
        rc = 0;
    } else if (strcmp(args[0], "help") == 0 || strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0) {
        if (n > 1 && find_command(args[1])) {
            char *sub[] = {args[1], "--help", NULL};
            rc = find_command(args[1])->fn(2, sub, &ctx);
        } else if (n > 1) {
            fprintf(stderr, "muse: unknown command '%s'\n%s", args[1], USAGE);
            rc = 2;
        } else {
            fputs(USAGE, stdout);
            rc = 0;
        }
    } else {
        const command_t *c = find_command(args[0]);
        if (!c) {
            fprintf(stderr, "muse: unknown command '%s'\n%s", args[0], USAGE);
            rc = 2;
        } else {
            rc = c->fn(n, args, &ctx);
        }
    }
    free(args);
    /* Cairo and fontconfig keep process-wide caches of fonts; release them so
     * leak checkers (the ASan build of the test suite) see only real leaks. */
    cairo_debug_reset_static_data();
    FcFini();
    return rc;
}
