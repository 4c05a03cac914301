/* `muse serve`: the HTTP JSON API and the web page, over GNU libmicrohttpd.
 *
 * One server_t wraps one MHD daemon (an internal polling thread pool on
 * epoll) and borrows one muse_t that every thread shares; the server keeps no
 * state about people between requests, so any number of instances can run
 * behind a load balancer (docs/scaling.md). The routes, limits and errors
 * are documented in docs/http-api.md and docs/openapi.yaml. */
#ifndef MUSE_CORE_SERVER_H
#define MUSE_CORE_SERVER_H

#include <stddef.h>

#include "muse.h"

typedef struct server_config {
    char *host;                 /* listen address: "127.0.0.1", "::1", "0.0.0.0", "::", a name */
    unsigned short port;        /* 0: an ephemeral port (see server_port()) */
    char **tokens;              /* bearer tokens; required beyond loopback */
    size_t n_tokens;
    char **cors_origins;        /* "https://portal.example.org" or "*"; exact match */
    size_t n_cors_origins;
    size_t body_limit;          /* bytes; default 1 MiB */
    double rate_per_second;     /* per client IP; 0: no rate limit */
    double rate_burst;          /* bucket size; default 2 x rate_per_second */
    unsigned threads;           /* thread pool size; 0: one per CPU */
    unsigned connection_limit;  /* open connections in all; default 512 */
    unsigned per_ip_connections;/* open connections per client IP; default 32 */
    unsigned timeout;           /* seconds a connection may stay idle; default 15 */
    unsigned request_timeout;   /* seconds to receive a whole request body; default 30 */
    unsigned shutdown_grace;    /* seconds to let in-flight requests finish; default 30 */
    int access_log;             /* one line per request on stderr; default on */
    unsigned answer_cache;      /* /v1/ask answers kept in memory; default 1024, 0: off */
    unsigned answer_cache_max_age; /* seconds an answer is kept; default 600 */
} server_config_t;

/* Sets the defaults above (listening on 127.0.0.1:8080). */
void server_config_init(server_config_t *c);
/* Frees what c owns and sets the defaults again. */
void server_config_free(server_config_t *c);

/* Reads a JSON config file (docs/http-api.md#configuration) over c. Errors
 * name the file and the field: "serve.json: \"body_limit\": expected a
 * positive number of bytes". Unknown fields are errors too, so a typo does
 * not silently leave a limit at its default. */
int server_config_load(server_config_t *c, const char *path, muse_error_t *err);

/* Parses "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" into c->host/c->port. */
int server_config_set_listen(server_config_t *c, const char *spec, muse_error_t *err);

/* What this build can do beyond asking and screening. A NULL entry answers
 * 501 with a JSON error saying the feature is not in this build, never a
 * made-up result. The functions have the contracts of their libmuse
 * counterparts (include/muse.h). */
typedef struct server_api {
    /* muse_chart_render(): spec JSON, format "svg" | "pdf" | "png" | "html". */
    int (*chart)(muse_t *m, const char *spec_json, const char *format, unsigned char **out,
                 size_t *len, muse_error_t *err);
    /* readings (input_format "text" | "csv" | "json" | "fhir") -> interpretation JSON text */
    int (*interpret)(muse_t *m, const char *data, size_t len, const char *input_format,
                     char **json_out, muse_error_t *err);
    /* readings -> report; output_format "pdf" (bytes) or "json" (a summary) */
    int (*report)(muse_t *m, const char *data, size_t len, const char *input_format,
                  const char *output_format, unsigned char **out, size_t *out_len,
                  muse_error_t *err);
} server_api_t;

typedef struct server server_t;

/* Starts serving. m and api are borrowed and must outlive the server; c is
 * copied. Refuses (MUSE_EINVAL, with what to do) to listen beyond loopback
 * without bearer tokens. *out is stopped and freed with server_stop(). */
int server_start(muse_t *m, const server_config_t *c, const server_api_t *api, server_t **out,
                 muse_error_t *err);

/* The port actually bound (the ephemeral one when the config said 0). */
unsigned short server_port(const server_t *s);
/* The listen address as a URL base for people: "http://127.0.0.1:8080". */
const char *server_url(const server_t *s);

/* Graceful stop: refuses new connections at once, lets requests already
 * being received or answered finish (up to shutdown_grace seconds), then
 * closes everything and frees s. Returns the number of requests that were
 * still in flight when the grace period ran out (0 normally). NULL: no-op. */
int server_stop(server_t *s);

#endif
