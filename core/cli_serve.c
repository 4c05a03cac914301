/* `muse serve`: reads the options and the config file, opens one muse_t for
 * every thread of the server, and runs until SIGTERM or SIGINT.
 *
 * The signals are blocked before the server's threads start, so they inherit
 * the mask and only this thread, waiting in sigwait(), ever sees them: the
 * shutdown then runs as ordinary code (no work in a signal handler), and
 * requests in flight are finished before the process exits. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "core/log.h"
#include "core/server.h"
#include "muse_err.h"

static const char USAGE[] =
    "usage: muse serve [--listen HOST:PORT] [--config FILE] [--threads N] [--no-access-log]\n"
    "\n"
    "Serves the HTTP JSON API (docs/http-api.md, /openapi.yaml) and the web page at /.\n"
    "Stop it with SIGTERM or Ctrl-C: requests in flight are finished first.\n"
    "\n"
    "options:\n"
    "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks a free\n"
    "                      one). Beyond loopback, the config file must hold bearer tokens.\n"
    "  --config FILE       JSON settings: listen, tokens, cors_origins, body_limit,\n"
    "                      rate_limit, threads, connection_limit, per_ip_connections,\n"
    "                      timeout, request_timeout, shutdown_grace, access_log,\n"
    "                      answer_cache, answer_cache_max_age\n"
    "  --threads N         worker threads (default: one per CPU)\n"
    "  --no-access-log     do not log one line per request on stderr\n"
    "\n"
    "The line \"listening on URL\" is printed on standard output once the server is ready.\n";

/* What this build can do beyond ask and safety check. An entry is NULL until
 * the module behind it lands; the server then answers 501 and says so. */
static const server_api_t API = {
    .chart = muse_chart_render,
    .interpret = muse_interpret_json,
    .report = muse_report,
};

int cli_serve(int argc, char **argv, cli_ctx_t *ctx)
{
    const char *listen = NULL, *config = NULL;
    long threads = -1;
    int no_access_log = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--listen") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("serve", "%s needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'l') {
                listen = v;
            } else if (a[2] == 'c') {
                config = v;
            } else {
                char *end = NULL;
                threads = strtol(v, &end, 10);
                if (!*v || *end || threads < 1 || threads > 256)
                    return cli_usage_error("serve", "--threads: expected a number from 1 to 256, not \"%s\"", v);
            }
        } else if (strncmp(a, "--listen=", 9) == 0) {
            listen = a + 9;
        } else if (strncmp(a, "--config=", 9) == 0) {
            config = a + 9;
        } else if (strcmp(a, "--no-access-log") == 0) {
            no_access_log = 1;
        } else {
            return cli_usage_error("serve", "unknown option '%s'", a);
        }
    }

    int status = 1;
    muse_t *m = NULL;
    server_t *srv = NULL;
    muse_error_t err;
    muse_err_clear(&err);
    server_config_t cfg;
    server_config_init(&cfg);
    if (config && server_config_load(&cfg, config, &err) != MUSE_OK)
        goto done;
    if (listen && server_config_set_listen(&cfg, listen, &err) != MUSE_OK) {
        status = cli_usage_error("serve", "--listen: %s", err.message);
        goto out;
    }
    if (threads > 0)
        cfg.threads = (unsigned)threads;
    if (no_access_log)
        cfg.access_log = 0;

    muse_options_t o;
    muse_options_init(&o);
    o.kb_path = ctx->kb_path;
    o.locale = ctx->locale;
    o.reviewed_only = ctx->reviewed_only;
    if (muse_open(&o, &m, &err) != MUSE_OK)
        goto done;

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    /* A client that hangs up mid-answer must not kill the server. */
    signal(SIGPIPE, SIG_IGN);

    if (server_start(m, &cfg, &API, &srv, &err) != MUSE_OK) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto done;
    }
    char cache[96];
    if (cfg.answer_cache)
        snprintf(cache, sizeof cache, "answer cache %u answers for %u s (in memory)", cfg.answer_cache,
                 cfg.answer_cache_max_age);
    else
        snprintf(cache, sizeof cache, "answer cache off");
    fprintf(stderr, "muse serve: knowledge store %s; %s; %zu CORS origin%s; body limit %zu bytes; %s\n",
            muse_kb_path(m), cfg.n_tokens ? "bearer tokens required" : "no auth (loopback only)",
            cfg.n_cors_origins, cfg.n_cors_origins == 1 ? "" : "s", cfg.body_limit, cache);
    printf("listening on %s\n", server_url(srv));
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "muse serve: %s: finishing requests in flight, then stopping\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT");
    int left = server_stop(srv);
    srv = NULL;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (left > 0)
        fprintf(stderr, "muse serve: %d request%s still in flight after %u s were cut off\n", left,
                left == 1 ? "" : "s", cfg.shutdown_grace);
    else
        fprintf(stderr, "muse serve: stopped\n");
    status = 0;
    goto out;
done:
    status = cli_fail(&err);
out:
    server_stop(srv);
    muse_close(m);
    server_config_free(&cfg);
    return status;
}
