/* `muse serve`: the HTTP JSON API and the web page over GNU libmicrohttpd.
 *
 * MHD runs an internal thread pool, each thread polling its connections with
 * epoll; a request is answered on the thread that read it. Answers take a few
 * milliseconds of CPU, so blocking that thread is cheaper than handing work
 * to another. Bodies are read in the access handler's upload calls into one
 * buffer with a hard limit (no PostProcessor: the API takes JSON, never
 * forms), and every limit is checked before the work it protects: the route,
 * the method, auth and the rate limit before a byte of body is read, the
 * declared Content-Length before the body arrives.
 *
 * All state that outlives a request lives in server_t (config, counters, the
 * rate-limit table): there are no globals, and the only state shared between
 * threads is atomics and two mutex-guarded tables. The muse_t is shared by
 * every thread; it is thread-safe by contract.
 *
 * The access log names the method, the path (never the query string, which
 * may hold a search), the status, the time and the size: never a body,
 * never a question, never a client address.
 *
 * Answers to /v1/ask are kept in a bounded in-memory cache (LRU, with a
 * maximum age): many people ask the same common questions, and an answer is
 * a pure function of the request's fields, the server's settings and the
 * store's content. Only memory holds it; see "the answer cache" below for
 * what is never kept. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "core/log.h"
#include "core/muse_internal.h"
#include "core/server.h"
#include "kb/kb.h"
#include "medical/medical.h"
#include "muse_buf.h"
#include "muse_err.h"
#include "muse_hash.h"

/* The page and the API description, compiled in by muse-embed (core/web/,
 * docs/openapi.yaml): the server never reads files at run time, so no path
 * in a URL can reach the file system. */
extern const unsigned char web_index_html[];
extern const size_t web_index_html_len;
extern const unsigned char web_app_js[];
extern const size_t web_app_js_len;
extern const unsigned char web_style_css[];
extern const size_t web_style_css_len;
extern const unsigned char web_openapi_yaml[];
extern const size_t web_openapi_yaml_len;

#define MIB (1024u * 1024u)
#define MAX_QUERY_BYTES 512

/* ---- small helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- routes ---- */

typedef enum route_id {
    R_INDEX = 0,
    R_APP_JS,
    R_STYLE_CSS,
    R_OPENAPI,
    R_HEALTHZ,
    R_METRICS,
    R_ASK,
    R_CHART,
    R_REPORT,
    R_INTERPRET,
    R_SAFETY,
    R_KB_SEARCH,
    R_KB_ENTRY,
    R_OTHER,
    R_COUNT
} route_id_t;

typedef struct route {
    const char *path;       /* exact path, or the prefix of a {param} route */
    const char *label;      /* metrics label */
    int post;               /* 1: POST with a JSON body; 0: GET/HEAD */
    int prefix;             /* path ends in a parameter */
    int api;                /* needs the bearer token and counts against the rate limit */
} route_t;

static const route_t ROUTES[R_COUNT] = {
    [R_INDEX] = {"/", "/", 0, 0, 0},
    [R_APP_JS] = {"/app.js", "/app.js", 0, 0, 0},
    [R_STYLE_CSS] = {"/style.css", "/style.css", 0, 0, 0},
    [R_OPENAPI] = {"/openapi.yaml", "/openapi.yaml", 0, 0, 0},
    [R_HEALTHZ] = {"/healthz", "/healthz", 0, 0, 0},
    [R_METRICS] = {"/metrics", "/metrics", 0, 0, 1},
    [R_ASK] = {"/v1/ask", "/v1/ask", 1, 0, 1},
    [R_CHART] = {"/v1/chart", "/v1/chart", 1, 0, 1},
    [R_REPORT] = {"/v1/report", "/v1/report", 1, 0, 1},
    [R_INTERPRET] = {"/v1/interpret", "/v1/interpret", 1, 0, 1},
    [R_SAFETY] = {"/v1/safety/check", "/v1/safety/check", 1, 0, 1},
    [R_KB_SEARCH] = {"/v1/kb/search", "/v1/kb/search", 0, 0, 1},
    [R_KB_ENTRY] = {"/v1/kb/entries/", "/v1/kb/entries/{id}", 0, 1, 1},
    [R_OTHER] = {NULL, "other", 0, 0, 0},
};

static route_id_t route_find(const char *url)
{
    for (int i = 0; i < R_OTHER; i++) {
        const route_t *r = &ROUTES[i];
        if (r->prefix) {
            size_t n = strlen(r->path);
            if (strncmp(url, r->path, n) == 0 && url[n] != '\0')
                return (route_id_t)i;
        } else if (strcmp(url, r->path) == 0) {
            return (route_id_t)i;
        }
    }
    /* "/index.html" is the page too; nothing else is served from "/". */
    if (strcmp(url, "/index.html") == 0)
        return R_INDEX;
    return R_OTHER;
}

/* ---- metrics ---- */

static const int STATUSES[] = {200, 204, 400, 401, 403, 404, 405, 408, 413, 415,
                               429, 500, 501, 502, 503};
#define N_STATUS (sizeof STATUSES / sizeof STATUSES[0])
#define N_BUCKETS 12
static const double BUCKETS[N_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
static const char *const VERDICTS[] = {"allow", "emergency", "crisis", "refuse", "redirect"};
#define N_VERDICTS 5

typedef struct metrics {
    atomic_ulong requests[R_COUNT][N_STATUS + 1]; /* last slot: any other status */
    atomic_ulong aborted[R_COUNT];                /* closed before an answer went out */
    atomic_ulong hist[R_COUNT][N_BUCKETS + 1];    /* last slot: +Inf */
    atomic_ullong sum_us[R_COUNT];
    atomic_ulong verdicts[2][N_VERDICTS];         /* [0] /v1/ask, [1] /v1/safety/check */
    atomic_ulong body_bytes;
    atomic_ulong cache_hits, cache_misses, cache_evictions;
} metrics_t;

static size_t status_slot(int status)
{
    for (size_t i = 0; i < N_STATUS; i++)
        if (STATUSES[i] == status)
            return i;
    return N_STATUS;
}

static int verdict_slot(const char *v)
{
    for (int i = 0; v && i < N_VERDICTS; i++)
        if (strcmp(v, VERDICTS[i]) == 0)
            return i;
    return -1;
}

/* ---- per-IP rate limit: token buckets in a sharded hash table ----
 *
 * A bucket that has refilled completely says nothing a fresh one would not,
 * so the table drops those when it grows: memory stays bounded by the number
 * of clients active within one refill period. */

#define RL_SHARDS 16
#define RL_SHARD_MAX 4096

typedef struct rl_entry {
    unsigned char key[16];
    double tokens;
    double last;
    struct rl_entry *next;
} rl_entry_t;

typedef struct rl_shard {
    pthread_mutex_t lock;
    rl_entry_t *buckets[256];
    size_t n;
} rl_shard_t;

typedef struct ratelimit {
    double rate, burst;
    rl_shard_t shard[RL_SHARDS];
} ratelimit_t;

static void rl_key(const struct sockaddr *sa, unsigned char key[16])
{
    memset(key, 0, 16);
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)sa;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &v4->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(key, &v6->sin6_addr, 16);
    }
}

static void rl_sweep(ratelimit_t *rl, rl_shard_t *sh, double now)
{
    for (int b = 0; b < 256; b++) {
        rl_entry_t **pp = &sh->buckets[b];
        while (*pp) {
            rl_entry_t *e = *pp;
            if (e->tokens + (now - e->last) * rl->rate >= rl->burst) {
                *pp = e->next;
                free(e);
                sh->n--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* 1: allowed; 0: over the limit, *retry_after set in whole seconds. */
static int rl_allow(ratelimit_t *rl, const struct sockaddr *sa, int *retry_after)
{
    if (rl->rate <= 0)
        return 1;
    unsigned char key[16];
    rl_key(sa, key);
    unsigned h = muse_fnv1a32(MUSE_FNV32_SEED, key, 16);
    rl_shard_t *sh = &rl->shard[h % RL_SHARDS];
    double now = now_s();
    int ok = 1;
    pthread_mutex_lock(&sh->lock);
    rl_entry_t **slot = &sh->buckets[(h / RL_SHARDS) % 256];
    rl_entry_t *e = *slot;
    while (e && memcmp(e->key, key, 16) != 0)
        e = e->next;
    if (!e) {
        if (sh->n >= RL_SHARD_MAX)
            rl_sweep(rl, sh, now);
        /* Still full: every tracked client is mid-burst. Let this one
         * through rather than punish it for others' traffic. */
        if (sh->n < RL_SHARD_MAX && (e = malloc(sizeof *e)) != NULL) {
            memcpy(e->key, key, 16);
            e->tokens = rl->burst;
            e->last = now;
            e->next = *slot;
            *slot = e;
            sh->n++;
        }
    }
    if (e) {
        e->tokens = fmin(rl->burst, e->tokens + (now - e->last) * rl->rate);
        e->last = now;
        if (e->tokens >= 1.0) {
            e->tokens -= 1.0;
        } else {
            ok = 0;
            *retry_after = (int)ceil((1.0 - e->tokens) / rl->rate);
            if (*retry_after < 1)
                *retry_after = 1;
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return ok;
}

static void rl_init(ratelimit_t *rl, double rate, double burst)
{
    memset(rl, 0, sizeof *rl);
    rl->rate = rate;
    rl->burst = burst >= 1 ? burst : fmax(1.0, 2 * rate);
    for (int i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shard[i].lock, NULL);
}

static void rl_free(ratelimit_t *rl)
{
    for (int i = 0; i < RL_SHARDS; i++) {
        for (int b = 0; b < 256; b++) {
            rl_entry_t *e = rl->shard[i].buckets[b];
            while (e) {
                rl_entry_t *next = e->next;
                free(e);
                e = next;
            }
        }
        pthread_mutex_destroy(&rl->shard[i].lock);
    }
}

/* ---- the answer cache ----
 * The key is every request field that changes an answer, as parsed (so the
 * body's spacing, field order, escapes, "mode": "auto" versus no mode and
 * "charts": false versus no options all meet): mode, charts, the question's
 * exact text, and the server's locale, reviewed-only setting and backend.
 * The question is not case-folded or respaced: both change answers (the
 * PHI screen reads capitals; "a  and b" is not split like "a and b"; the
 * answer echoes the question). The store's version is the identity of its
 * file and of its write-ahead log (device, inode, size, modification time),
 * read on every lookup: when either changes the cache is emptied, and an
 * answer computed under the old one is not kept.
 *
 * Never kept: errors; emergency and crisis answers (they are cheap, as
 * nothing but the safety screen runs, and they are the messages whose text
 * is most sensitive and that must never be served from a stale state);
 * answers whose question held personal identifiers (the safety screen
 * counted redactions); questions over AC_MAX_QUESTION bytes and answers over
 * AC_MAX_BODY bytes (pasted readings, which do not repeat); anything while a
 * remote backend is configured, whose answers are not deterministic.
 *
 * Memory: at most `answer_cache` entries, each at most AC_MAX_QUESTION +
 * AC_MAX_BODY bytes plus ~200 bytes of bookkeeping. One mutex guards it: a
 * lookup or an insert is a hash probe and a copy of a few KiB, far shorter
 * than an answer. */

#define AC_MAX_QUESTION 1024
#define AC_MAX_BODY (64 * 1024)

typedef struct ac_entry {
    struct ac_entry *prev, *next;   /* recency list, most recent first */
    struct ac_entry *newer, *older; /* age list: entries never get younger */
    struct ac_entry *chain;         /* hash bucket */
    uint64_t hash;
    char *key;
    size_t key_len;
    char *body;                     /* the response body as sent */
    size_t len;
    int verdict;                    /* slot in the verdict counters, or -1 */
    double created;
} ac_entry_t;

typedef struct ac_store_id {
    dev_t dev[2];
    ino_t ino[2];
    off_t size[2];
    struct timespec mtime[2];
} ac_store_id_t;

typedef struct answer_cache {
    pthread_mutex_t lock;
    size_t cap;                     /* entries; 0: off */
    double max_age;                 /* seconds */
    ac_entry_t **buckets;
    size_t n_buckets;               /* a power of two, at least 2 x cap */
    ac_entry_t *head, *tail;        /* most and least recently used */
    ac_entry_t *newest, *oldest;
    size_t n, bytes;
    ac_store_id_t store;            /* what the entries were computed from */
    char *path, *wal;               /* the store's file and its WAL */
    char prefix[192];               /* settings part of every key */
} answer_cache_t;

static void ac_store_id(const answer_cache_t *ac, ac_store_id_t *id)
{
    memset(id, 0, sizeof *id);
    const char *paths[2] = {ac->path, ac->wal};
    for (int i = 0; i < 2; i++) {
        struct stat st;
        if (paths[i] && stat(paths[i], &st) == 0) {
            id->dev[i] = st.st_dev;
            id->ino[i] = st.st_ino;
            id->size[i] = st.st_size;
            id->mtime[i] = st.st_mtim;
        }
    }
}

static int ac_store_same(const ac_store_id_t *a, const ac_store_id_t *b)
{
    for (int i = 0; i < 2; i++)
        if (a->dev[i] != b->dev[i] || a->ino[i] != b->ino[i] || a->size[i] != b->size[i] ||
            a->mtime[i].tv_sec != b->mtime[i].tv_sec || a->mtime[i].tv_nsec != b->mtime[i].tv_nsec)
            return 0;
    return 1;
}

static void ac_unlink(answer_cache_t *ac, ac_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        ac->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        ac->tail = e->prev;
    if (e->newer)
        e->newer->older = e->older;
    else
        ac->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        ac->oldest = e->newer;
    ac_entry_t **pp = &ac->buckets[e->hash & (ac->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    ac->n--;
    ac->bytes -= e->len + e->key_len;
}

static void ac_entry_free(ac_entry_t *e)
{
    if (!e)
        return;
    free(e->key);
    free(e->body);
    free(e);
}

static void ac_flush(answer_cache_t *ac)
{
    while (ac->head) {
        ac_entry_t *e = ac->head;
        ac_unlink(ac, e);
        ac_entry_free(e);
    }
}

/* Drops the answers older than the maximum age (the lock is held). */
static void ac_sweep(answer_cache_t *ac, double now)
{
    while (ac->oldest && now - ac->oldest->created > ac->max_age) {
        ac_entry_t *e = ac->oldest;
        ac_unlink(ac, e);
        ac_entry_free(e);
    }
}

/* Called on every request, so that an answer (and the question in its key)
 * leaves memory once it is too old even when nobody asks it again: a load
 * balancer's health checks keep this going on an otherwise idle server. A
 * busy lock is left alone: its holder sweeps. */
static void ac_tick(answer_cache_t *ac)
{
    if (ac->cap == 0 || pthread_mutex_trylock(&ac->lock) != 0)
        return;
    ac_sweep(ac, now_s());
    pthread_mutex_unlock(&ac->lock);
}

/* Sets the cache up from the config; off (cap 0) when it must be. */
static int ac_init(answer_cache_t *ac, const server_config_t *c, muse_t *m)
{
    memset(ac, 0, sizeof *ac);
    pthread_mutex_init(&ac->lock, NULL);
    ac->max_age = c->answer_cache_max_age;
    if (c->answer_cache == 0)
        return MUSE_OK;
    if (m->openai) {
        log_msg(LOG_INFO, "answer cache off: the remote backend's answers are not deterministic");
        return MUSE_OK;
    }
    size_t nb = 16;
    while (nb < 2 * (size_t)c->answer_cache)
        nb *= 2;
    const char *path = muse_kb_path(m);
    size_t plen = strlen(path);
    if (!(ac->buckets = calloc(nb, sizeof *ac->buckets)) || !(ac->path = strdup(path)) ||
        !(ac->wal = malloc(plen + 5)))
        return MUSE_ENOMEM;
    memcpy(ac->wal, path, plen);
    memcpy(ac->wal + plen, "-wal", 5);
    ac->n_buckets = nb;
    ac->cap = c->answer_cache;
    snprintf(ac->prefix, sizeof ac->prefix, "v1\x1f%s\x1f%d\x1f%s\x1f", m->locale, m->reviewed_only,
             m->openai ? "openai" : "grounded");
    ac_store_id(ac, &ac->store);
    return MUSE_OK;
}

static void ac_free(answer_cache_t *ac)
{
    if (ac->buckets)
        ac_flush(ac);
    free(ac->buckets);
    free(ac->path);
    free(ac->wal);
    pthread_mutex_destroy(&ac->lock);
}

/* The key for a request (a new string), or NULL when it is not cacheable. */
static char *ac_key(const answer_cache_t *ac, const char *question, const muse_ask_options_t *o, size_t *len)
{
    size_t q = strlen(question);
    if (ac->cap == 0 || q > AC_MAX_QUESTION)
        return NULL;
    char head[64];
    int hl = snprintf(head, sizeof head, "%s\x1f%d\x1f", muse_mode_name(o->mode), o->want_chart ? 1 : 0);
    size_t pl = strlen(ac->prefix);
    char *k = malloc(pl + (size_t)hl + q + 1);
    if (!k)
        return NULL;
    memcpy(k, ac->prefix, pl);
    memcpy(k + pl, head, (size_t)hl);
    memcpy(k + pl + (size_t)hl, question, q + 1);
    *len = pl + (size_t)hl + q;
    return k;
}

/* On a hit, a copy of the body (*body, *len, freed by the caller) and its
 * verdict slot. *seen receives the store identity the lookup saw, which an
 * insert of the answer computed next must still match. */
static int ac_get(answer_cache_t *ac, const char *key, size_t key_len, char **body, size_t *len, int *verdict,
                  ac_store_id_t *seen)
{
    ac_store_id(ac, seen);
    uint64_t h = muse_fnv1a64(MUSE_FNV64_SEED, key, key_len);
    double now = now_s();
    int hit = 0;
    pthread_mutex_lock(&ac->lock);
    if (!ac_store_same(seen, &ac->store)) {
        ac_flush(ac);
        ac->store = *seen;
    }
    ac_sweep(ac, now);
    ac_entry_t *e = ac->buckets[h & (ac->n_buckets - 1)];
    while (e && !(e->hash == h && e->key_len == key_len && memcmp(e->key, key, key_len) == 0))
        e = e->chain;
    if (e && (*body = malloc(e->len + 1)) != NULL) {
        memcpy(*body, e->body, e->len + 1);
        *len = e->len;
        *verdict = e->verdict;
        /* Most recently used first. */
        if (e != ac->head) {
            e->prev->next = e->next;
            if (e->next)
                e->next->prev = e->prev;
            else
                ac->tail = e->prev;
            e->prev = NULL;
            e->next = ac->head;
            ac->head->prev = e;
            ac->head = e;
        }
        hit = 1;
    }
    pthread_mutex_unlock(&ac->lock);
    return hit;
}

/* Keeps a copy of body under key, dropping the least recently used entry
 * when full; returns how many were dropped. */
static unsigned ac_put(answer_cache_t *ac, const char *key, size_t key_len, const char *body, size_t len,
                       int verdict, const ac_store_id_t *seen)
{
    if (len > AC_MAX_BODY)
        return 0;
    ac_entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->key = malloc(key_len + 1)) || !(e->body = malloc(len + 1))) {
        ac_entry_free(e);
        return 0;
    }
    memcpy(e->key, key, key_len + 1);
    memcpy(e->body, body, len + 1);
    e->key_len = key_len;
    e->len = len;
    e->verdict = verdict;
    e->hash = muse_fnv1a64(MUSE_FNV64_SEED, key, key_len);
    e->created = now_s();
    unsigned dropped = 0;
    pthread_mutex_lock(&ac->lock);
    ac_sweep(ac, e->created);
    ac_entry_t *old = ac->buckets[e->hash & (ac->n_buckets - 1)];
    while (old && !(old->hash == e->hash && old->key_len == key_len && memcmp(old->key, key, key_len) == 0))
        old = old->chain;
    if (old || !ac_store_same(seen, &ac->store)) {
        /* Another thread answered it first, or the store changed meanwhile. */
        pthread_mutex_unlock(&ac->lock);
        ac_entry_free(e);
        return 0;
    }
    while (ac->n >= ac->cap && ac->tail) {
        ac_entry_t *lru = ac->tail;
        ac_unlink(ac, lru);
        ac_entry_free(lru);
        dropped++;
    }
    ac_entry_t **b = &ac->buckets[e->hash & (ac->n_buckets - 1)];
    e->chain = *b;
    *b = e;
    e->next = ac->head;
    if (ac->head)
        ac->head->prev = e;
    ac->head = e;
    if (!ac->tail)
        ac->tail = e;
    e->older = ac->newest;
    if (ac->newest)
        ac->newest->newer = e;
    ac->newest = e;
    if (!ac->oldest)
        ac->oldest = e;
    ac->n++;
    ac->bytes += len + key_len;
    pthread_mutex_unlock(&ac->lock);
    return dropped;
}

/* ---- the server ---- */

struct server {
    struct MHD_Daemon *d;
    muse_t *m;
    server_api_t api;
    server_config_t cfg;        /* a deep copy */
    unsigned short port;
    char url[128];
    int loopback;
    double started;
    char *health_kb;            /* the "kb" object of /healthz, computed once */
    char nul_path;              /* its address marks a request whose path holds "%00" */
    atomic_int stopping;
    atomic_long in_flight;
    pthread_mutex_t idle_lock;
    pthread_cond_t idle;
    metrics_t metrics;
    ratelimit_t rl;
    pthread_mutex_t log_lock;
    answer_cache_t cache;
};

typedef struct req {
    route_id_t route;
    double t0;
    char method[8];
    char path[128];             /* sanitised, for the access log */
    char *body;
    size_t len, cap;
    int too_large;
    int timed_out;
    int deferred;               /* headers seen; answered on the next call */
    int status;                 /* of the response queued, 0: none yet */
    size_t bytes;
    const char *cors_origin;    /* borrowed from the config, or NULL */
} req_t;

/* ---- responses ---- */

static void add_common_headers(server_t *s, req_t *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (r->cors_origin) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, r->cors_origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "Retry-After, X-Muse-Cache");
    }
    if (s->cfg.n_cors_origins > 0)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
    if (atomic_load(&s->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Queues data (taken over when mode is MHD_RESPMEM_MUST_FREE) with the given
 * status and type. extra: NULL-terminated name/value pairs. */
static enum MHD_Result reply(server_t *s, req_t *r, struct MHD_Connection *c, int status,
                             const char *type, void *data, size_t len,
                             enum MHD_ResponseMemoryMode mode, const char *const *extra)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(data);
        return MHD_NO;
    }
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    add_common_headers(s, r, resp);
    for (size_t i = 0; extra && extra[i]; i += 2)
        MHD_add_response_header(resp, extra[i], extra[i + 1]);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        r->status = status;
        r->bytes = len;
    }
    return ok;
}

/* JSON text never needs a raw '<', '>' or '&' (they can only occur inside
 * strings), so they go out as \u escapes: a response that some client
 * mistakes for HTML still cannot carry markup. Takes over json. */
static char *json_escape_html(char *json, size_t *len)
{
    size_t n = 0, extra = 0;
    for (; json[n]; n++)
        if (json[n] == '<' || json[n] == '>' || json[n] == '&')
            extra += 5;
    if (extra == 0) {
        *len = n;
        return json;
    }
    char *out = malloc(n + extra + 1);
    if (!out) {
        free(json);
        return NULL;
    }
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        char ch = json[i];
        if (ch == '<' || ch == '>' || ch == '&') {
            snprintf(o, 7, "\\u%04x", (unsigned)ch);
            o += 6;
        } else {
            *o++ = ch;
        }
    }
    *o = '\0';
    *len = (size_t)(o - out);
    free(json);
    return out;
}

/* Queues JSON text already escaped by json_escape_html (taken over). */
static enum MHD_Result reply_json_escaped(server_t *s, req_t *r, struct MHD_Connection *c, int status,
                                          char *json, size_t len, const char *const *extra)
{
    const char *hdrs[16];
    size_t k = 0;
    hdrs[k++] = "Cache-Control";
    hdrs[k++] = "no-store";
    for (size_t i = 0; extra && extra[i] && k < 14; i += 2) {
        hdrs[k++] = extra[i];
        hdrs[k++] = extra[i + 1];
    }
    hdrs[k] = NULL;
    return reply(s, r, c, status, "application/json", json, len, MHD_RESPMEM_MUST_FREE, hdrs);
}

/* Queues json (taken over) as the response. */
static enum MHD_Result reply_json_text(server_t *s, req_t *r, struct MHD_Connection *c,
                                       int status, char *json, const char *const *extra)
{
    if (!json)
        return MHD_NO;
    size_t len = 0;
    json = json_escape_html(json, &len);
    if (!json)
        return MHD_NO;
    return reply_json_escaped(s, r, c, status, json, len, extra);
}

static enum MHD_Result reply_json(server_t *s, req_t *r, struct MHD_Connection *c, int status,
                                  const cJSON *j)
{
    return reply_json_text(s, r, c, status, cJSON_PrintUnformatted(j), NULL);
}

#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
static enum MHD_Result reply_error_h(server_t *s, req_t *r, struct MHD_Connection *c,
                                     const char *const *extra, int status, const char *fmt, ...);

static const char *error_code_for(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 501: return "not_implemented";
    case 502: return "bad_gateway";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "bad_request";
    }
}

static enum MHD_Result reply_error_v(server_t *s, req_t *r, struct MHD_Connection *c,
                                     const char *const *extra, int status, const char *code,
                                     const char *fmt, va_list ap)
{
    char msg[1200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddStringToObject(e, "code", code ? code : error_code_for(status));
    cJSON_AddStringToObject(e, "message", msg);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return reply_json_text(s, r, c, status, text, extra);
}

static enum MHD_Result reply_error_h(server_t *s, req_t *r, struct MHD_Connection *c,
                                     const char *const *extra, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result rc = reply_error_v(s, r, c, extra, status, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
static enum MHD_Result reply_error(server_t *s, req_t *r, struct MHD_Connection *c, int status,
                                   const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result rc = reply_error_v(s, r, c, NULL, status, code, fmt, ap);
    va_end(ap);
    return rc;
}

/* A failed libmuse call as an HTTP error. Input problems are the client's
 * (4xx, with the library's message, which names the field); the rest are
 * ours (5xx) and are logged by code, never with the request's text. */
static enum MHD_Result reply_muse_error(server_t *s, req_t *r, struct MHD_Connection *c, int rc,
                                        const muse_error_t *err)
{
    int status;
    const char *code;
    switch (rc) {
    case MUSE_EINVAL: status = 400; code = "invalid_input"; break;
    case MUSE_EPARSE: status = 400; code = "invalid_input"; break;
    case MUSE_ERANGE: status = 400; code = "out_of_range"; break;
    case MUSE_ENOTFOUND: status = 404; code = "not_found"; break;
    case MUSE_ELIMIT: status = 413; code = "payload_too_large"; break;
    case MUSE_EUNSUPPORTED: status = 415; code = "unsupported"; break;
    case MUSE_EBACKEND: status = 502; code = "backend_failed"; break;
    case MUSE_ENOMEM: status = 503; code = "unavailable"; break;
    default: status = 500; code = "internal"; break;
    }
    const char *msg = err && err->message[0] ? err->message : muse_strerror(rc);
    if (status >= 500)
        log_msg(LOG_ERROR, "%s: %s (%d)", ROUTES[r->route].label, muse_strerror(rc), rc);
    return reply_error(s, r, c, status, code, "%s", msg);
}

/* ---- request bodies ---- */

/* Parses the body as a JSON object; on failure queues a 400 and returns NULL. */
static cJSON *body_object(server_t *s, req_t *r, struct MHD_Connection *c, enum MHD_Result *res)
{
    if (!r->body || r->len == 0) {
        *res = reply_error(s, r, c, 400, "invalid_json", "the request body is empty: send a JSON object");
        return NULL;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(r->body, r->len, &end, 0);
    if (!j) {
        size_t at = end && end >= r->body ? (size_t)(end - r->body) : 0;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < at && i < r->len; i++) {
            if (r->body[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        *res = reply_error(s, r, c, 400, "invalid_json",
                           "the request body is not valid JSON (line %zu, column %zu)", line, col);
        return NULL;
    }
    /* Trailing bytes after the value are a malformed body too. */
    if (end) {
        while ((size_t)(end - r->body) < r->len && isspace((unsigned char)*end))
            end++;
        if ((size_t)(end - r->body) < r->len) {
            cJSON_Delete(j);
            *res = reply_error(s, r, c, 400, "invalid_json",
                               "the request body has text after its JSON value");
            return NULL;
        }
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        *res = reply_error(s, r, c, 400, "invalid_json", "the request body must be a JSON object");
        return NULL;
    }
    return j;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "invalid";
}

/* Reads an optional string field; 0 and a queued 400 when it has another type. */
static int field_string(server_t *s, req_t *r, struct MHD_Connection *c, const cJSON *obj,
                        const char *name, int required, const char **out, enum MHD_Result *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 1;
        *res = reply_error(s, r, c, 400, "missing_field", "\"%s\" is required", name);
        return 0;
    }
    if (!cJSON_IsString(v)) {
        *res = reply_error(s, r, c, 400, "invalid_field", "\"%s\" must be a string, not %s", name,
                           json_type_name(v));
        return 0;
    }
    *out = v->valuestring;
    return 1;
}

/* ---- handlers ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result handle_ask(server_t *s, req_t *r, struct MHD_Connection *c)
{
    enum MHD_Result res = MHD_NO;
    cJSON *body = body_object(s, r, c, &res);
    cJSON *answer = NULL;
    char *key = NULL;
    if (!body)
        return res;
    const char *question = NULL, *mode = NULL;
    if (!field_string(s, r, c, body, "question", 1, &question, &res) ||
        !field_string(s, r, c, body, "mode", 0, &mode, &res))
        goto done;
    muse_ask_options_t o;
    muse_ask_options_init(&o);
    if (mode && muse_mode_parse(mode, &o.mode) != MUSE_OK) {
        res = reply_error(s, r, c, 400, "invalid_field",
                          "\"mode\" must be instant, thinking, contemplating or auto");
        goto done;
    }
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(body, "options");
    if (opts && !cJSON_IsNull(opts)) {
        if (!cJSON_IsObject(opts)) {
            res = reply_error(s, r, c, 400, "invalid_field", "\"options\" must be an object, not %s",
                              json_type_name(opts));
            goto done;
        }
        const cJSON *charts = cJSON_GetObjectItemCaseSensitive(opts, "charts");
        if (charts && !cJSON_IsBool(charts)) {
            res = reply_error(s, r, c, 400, "invalid_field",
                              "\"options.charts\" must be a boolean, not %s", json_type_name(charts));
            goto done;
        }
        o.want_chart = cJSON_IsTrue(charts);
    }
    size_t key_len = 0, len = 0;
    char *text = NULL;
    key = ac_key(&s->cache, question, &o, &key_len);
    ac_store_id_t seen;
    memset(&seen, 0, sizeof seen);
    int v = -1;
    if (key && ac_get(&s->cache, key, key_len, &text, &len, &v, &seen)) {
        atomic_fetch_add(&s->metrics.cache_hits, 1);
        if (v >= 0)
            atomic_fetch_add(&s->metrics.verdicts[0][v], 1);
        static const char *const hit[] = {"X-Muse-Cache", "hit", NULL};
        res = reply_json_escaped(s, r, c, 200, text, len, hit);
        goto done;
    }
    if (s->cache.cap)
        atomic_fetch_add(&s->metrics.cache_misses, 1);
    muse_error_t err;
    muse_err_clear(&err);
    int rc = engine_answer(s->m, question, &o, &answer, &err);
    if (rc != MUSE_OK) {
        res = reply_muse_error(s, r, c, rc, &err);
        goto done;
    }
    const cJSON *safety = cJSON_GetObjectItemCaseSensitive(answer, "safety");
    v = verdict_slot(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(safety, "verdict")));
    if (v >= 0)
        atomic_fetch_add(&s->metrics.verdicts[0][v], 1);
    char *json = cJSON_PrintUnformatted(answer);
    if (!json || !(json = json_escape_html(json, &len))) {
        res = MHD_NO;
        goto done;
    }
    /* Which answers are kept: see "the answer cache" above. */
    int keep = key && v != verdict_slot("emergency") && v != verdict_slot("crisis") &&
               cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(safety, "redactions")) == 0 &&
               cJSON_IsString(cJSON_GetObjectItemCaseSensitive(answer, "backend")) &&
               strcmp(cJSON_GetObjectItemCaseSensitive(answer, "backend")->valuestring, "grounded") == 0;
    if (keep) {
        unsigned dropped = ac_put(&s->cache, key, key_len, json, len, v, &seen);
        if (dropped)
            atomic_fetch_add(&s->metrics.cache_evictions, dropped);
    }
    static const char *const miss[] = {"X-Muse-Cache", "miss", NULL};
    res = reply_json_escaped(s, r, c, 200, json, len, s->cache.cap ? miss : NULL);
done:
    free(key);
    cJSON_Delete(answer);
    cJSON_Delete(body);
    return res;
}

static enum MHD_Result handle_safety(server_t *s, req_t *r, struct MHD_Connection *c)
{
    enum MHD_Result res = MHD_NO;
    cJSON *body = body_object(s, r, c, &res);
    if (!body)
        return res;
    const char *text = NULL;
    char *out = NULL;
    cJSON *parsed = NULL;
    if (!field_string(s, r, c, body, "text", 1, &text, &res))
        goto done;
    muse_error_t err;
    muse_err_clear(&err);
    int rc = muse_safety_check_json(s->m, text, &out, &err);
    if (rc != MUSE_OK) {
        res = reply_muse_error(s, r, c, rc, &err);
        goto done;
    }
    parsed = cJSON_Parse(out);
    int v = verdict_slot(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(parsed, "verdict")));
    if (v >= 0)
        atomic_fetch_add(&s->metrics.verdicts[1][v], 1);
    res = reply_json_text(s, r, c, 200, out, NULL);
    out = NULL;
done:
    cJSON_Delete(parsed);
    muse_free(out);
    cJSON_Delete(body);
    return res;
}

static const char *const FORMAT_TYPES[][2] = {
    {"svg", "image/svg+xml; charset=utf-8"},
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"html", "text/html; charset=utf-8"},
};

static const char *format_type(const char *fmt)
{
    for (size_t i = 0; i < 4; i++)
        if (strcmp(FORMAT_TYPES[i][0], fmt) == 0)
            return FORMAT_TYPES[i][1];
    return NULL;
}

/* The chart format an Accept header asks for, or NULL (no preference). */
static const char *format_from_accept(const char *accept)
{
    if (!accept)
        return NULL;
    static const char *const types[][2] = {
        {"image/svg+xml", "svg"}, {"application/pdf", "pdf"}, {"image/png", "png"}, {"text/html", "html"}};
    const char *best = NULL;
    size_t best_at = (size_t)-1;
    for (size_t i = 0; i < 4; i++) {
        const char *p = strstr(accept, types[i][0]);
        if (p && (size_t)(p - accept) < best_at) {
            best = types[i][1];
            best_at = (size_t)(p - accept);
        }
    }
    return best;
}

static void iso_time(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Readings pasted as text become the data rows of a preset, in the shapes the
 * engine itself attaches to answers (docs/answer.md, charts[]). */
static int readings_to_rows(const char *preset, const char *text, cJSON **rows, muse_error_t *err)
{
    *rows = NULL;
    int bp = strcmp(preset, "bp_trend") == 0;
    int lab = strcmp(preset, "lab_panel") == 0;
    if (!bp && !lab)
        return muse_err(err, MUSE_EINVAL,
                        "\"readings\" text can fill the bp_trend and lab_panel presets; for "
                        "\"%s\" send \"data\" rows", preset);
    med_series_t series = {0};
    int rc = medical_parse_text(text, &series, err);
    if (rc != MUSE_OK)
        return rc;
    cJSON *out = cJSON_CreateArray();
    size_t skipped = 0;
    for (size_t i = 0; out && i < series.n; i++) {
        const med_reading_t *rd = &series.v[i];
        if (rd->implausible || (bp != (rd->kind == MED_BP))) {
            skipped++;
            continue;
        }
        cJSON *d = cJSON_CreateObject();
        if (bp) {
            if (rd->time >= 0) {
                char ts[32];
                iso_time(rd->time, ts, sizeof ts);
                cJSON_AddStringToObject(d, "time", ts);
            }
            cJSON_AddNumberToObject(d, "systolic", rd->value);
            cJSON_AddNumberToObject(d, "diastolic", rd->value2);
            if (!isnan(rd->pulse))
                cJSON_AddNumberToObject(d, "pulse", rd->pulse);
        } else {
            cJSON_AddStringToObject(d, "kind", medical_kind_name(rd->kind));
            cJSON_AddStringToObject(d, "label", medical_kind_label(rd->kind));
            cJSON_AddNumberToObject(d, "value", rd->value);
            cJSON_AddStringToObject(d, "unit", medical_kind_unit(rd->kind));
        }
        cJSON_AddItemToArray(out, d);
    }
    med_series_free(&series);
    if (!out)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (cJSON_GetArraySize(out) == 0) {
        cJSON_Delete(out);
        return muse_err(err, MUSE_EINVAL,
                        "\"readings\": no %s found in the text (write them like \"Mon 8am 142/91\")%s",
                        bp ? "blood pressure readings" : "lab results",
                        skipped ? "; implausible or other readings were left out" : "");
    }
    *rows = out;
    return MUSE_OK;
}

static enum MHD_Result handle_chart(server_t *s, req_t *r, struct MHD_Connection *c)
{
    enum MHD_Result res = MHD_NO;
    cJSON *body = body_object(s, r, c, &res);
    if (!body)
        return res;
    cJSON *spec = NULL;
    char *spec_text = NULL;
    unsigned char *bytes = NULL;
    size_t len = 0;
    const char *format = NULL, *readings = NULL;
    if (!field_string(s, r, c, body, "format", 0, &format, &res) ||
        !field_string(s, r, c, body, "readings", 0, &readings, &res))
        goto done;
    if (!format)
        format = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
    if (!format)
        format = format_from_accept(header(c, MHD_HTTP_HEADER_ACCEPT));
    if (!format)
        format = "svg";
    const char *type = format_type(format);
    if (!type) {
        res = reply_error(s, r, c, 400, "invalid_field", "\"format\" must be svg, pdf, png or html");
        goto done;
    }
    /* {"spec": {...}, "format": ...} or the spec itself with "format" beside it. */
    const cJSON *wrapped = cJSON_GetObjectItemCaseSensitive(body, "spec");
    if (wrapped) {
        if (!cJSON_IsObject(wrapped)) {
            res = reply_error(s, r, c, 400, "invalid_field", "\"spec\" must be an object, not %s",
                              json_type_name(wrapped));
            goto done;
        }
        spec = cJSON_Duplicate(wrapped, 1);
    } else {
        spec = cJSON_Duplicate(body, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "format");
    }
    if (!spec) {
        res = reply_error(s, r, c, 503, "unavailable", "out of memory");
        goto done;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "readings");
    if (readings) {
        const char *preset = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "preset"));
        if (!preset) {
            res = reply_error(s, r, c, 400, "missing_field",
                              "\"readings\" needs a \"preset\" (bp_trend or lab_panel) to fill");
            goto done;
        }
        if (cJSON_GetObjectItemCaseSensitive(spec, "data")) {
            res = reply_error(s, r, c, 400, "invalid_field", "send \"readings\" or \"data\", not both");
            goto done;
        }
        cJSON *rows = NULL;
        muse_error_t err;
        muse_err_clear(&err);
        int rc = readings_to_rows(preset, readings, &rows, &err);
        if (rc != MUSE_OK) {
            res = reply_muse_error(s, r, c, rc, &err);
            goto done;
        }
        cJSON_AddItemToObject(spec, "data", rows);
    }
    if (!s->api.chart) {
        res = reply_error(s, r, c, 501, "not_implemented",
                          "charts are not in this build of muse serve yet");
        goto done;
    }
    spec_text = cJSON_PrintUnformatted(spec);
    if (!spec_text) {
        res = reply_error(s, r, c, 503, "unavailable", "out of memory");
        goto done;
    }
    muse_error_t err;
    muse_err_clear(&err);
    int rc = s->api.chart(s->m, spec_text, format, &bytes, &len, &err);
    if (rc != MUSE_OK) {
        /* A spec the renderer rejects is the client's to fix. */
        if (rc == MUSE_EUNSUPPORTED && err.message[0] == '\0')
            res = reply_error(s, r, c, 501, "not_implemented", "%s charts are not in this build yet", format);
        else
            res = reply_muse_error(s, r, c, rc, &err);
        goto done;
    }
    static const char *const hdrs[] = {"Cache-Control", "no-store", NULL};
    res = reply(s, r, c, 200, type, bytes, len, MHD_RESPMEM_MUST_FREE, hdrs);
    bytes = NULL;
done:
    muse_free(bytes);
    free(spec_text);
    cJSON_Delete(spec);
    cJSON_Delete(body);
    return res;
}

/* The readings of an /v1/interpret or /v1/report body: exactly one of
 * "text", "csv" (strings), "readings" (Muse JSON) or "fhir" (a FHIR R4
 * Bundle or Observation). *data is freed by the caller with free(). */
static int readings_input(server_t *s, req_t *r, struct MHD_Connection *c, const cJSON *body,
                          char **data, const char **fmt, enum MHD_Result *res)
{
    static const char *const keys[] = {"text", "csv", "readings", "fhir"};
    static const char *const fmts[] = {"text", "csv", "json", "fhir"};
    const cJSON *found = NULL;
    int which = -1;
    *data = NULL;
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, keys[i]);
        if (!v)
            continue;
        if (found) {
            *res = reply_error(s, r, c, 400, "invalid_field",
                               "send one of \"text\", \"csv\", \"readings\" or \"fhir\", not both \"%s\" and \"%s\"",
                               keys[which], keys[i]);
            return 0;
        }
        found = v;
        which = i;
    }
    if (!found) {
        *res = reply_error(s, r, c, 400, "missing_field",
                           "send the readings as \"text\", \"csv\", \"readings\" (JSON) or \"fhir\"");
        return 0;
    }
    if (which <= 1 && !cJSON_IsString(found)) {
        *res = reply_error(s, r, c, 400, "invalid_field", "\"%s\" must be a string, not %s", keys[which],
                           json_type_name(found));
        return 0;
    }
    if (which >= 2 && !cJSON_IsObject(found) && !cJSON_IsArray(found)) {
        *res = reply_error(s, r, c, 400, "invalid_field", "\"%s\" must be %s, not %s", keys[which],
                           which == 2 ? "an array or an object" : "a FHIR R4 resource (an object)",
                           json_type_name(found));
        return 0;
    }
    *data = which <= 1 ? strdup(found->valuestring) : cJSON_PrintUnformatted(found);
    *fmt = fmts[which];
    if (!*data) {
        *res = reply_error(s, r, c, 503, "unavailable", "out of memory");
        return 0;
    }
    return 1;
}

static enum MHD_Result handle_interpret(server_t *s, req_t *r, struct MHD_Connection *c)
{
    enum MHD_Result res = MHD_NO;
    cJSON *body = body_object(s, r, c, &res);
    if (!body)
        return res;
    char *data = NULL, *out = NULL;
    const char *fmt = NULL;
    if (!readings_input(s, r, c, body, &data, &fmt, &res))
        goto done;
    if (!s->api.interpret) {
        res = reply_error(s, r, c, 501, "not_implemented",
                          "interpreting readings is not in this build of muse serve yet");
        goto done;
    }
    muse_error_t err;
    muse_err_clear(&err);
    int rc = s->api.interpret(s->m, data, strlen(data), fmt, &out, &err);
    if (rc != MUSE_OK) {
        res = reply_muse_error(s, r, c, rc, &err);
        goto done;
    }
    res = reply_json_text(s, r, c, 200, out, NULL);
    out = NULL;
done:
    muse_free(out);
    free(data);
    cJSON_Delete(body);
    return res;
}

static enum MHD_Result handle_report(server_t *s, req_t *r, struct MHD_Connection *c)
{
    enum MHD_Result res = MHD_NO;
    cJSON *body = body_object(s, r, c, &res);
    if (!body)
        return res;
    char *data = NULL;
    unsigned char *out = NULL;
    size_t len = 0;
    const char *fmt = NULL, *output = NULL;
    if (!field_string(s, r, c, body, "format", 0, &output, &res) ||
        !readings_input(s, r, c, body, &data, &fmt, &res))
        goto done;
    if (!output) {
        const char *accept = header(c, MHD_HTTP_HEADER_ACCEPT);
        output = accept && strstr(accept, "application/json") && !strstr(accept, "application/pdf") ? "json" : "pdf";
    }
    if (strcmp(output, "pdf") != 0 && strcmp(output, "json") != 0) {
        res = reply_error(s, r, c, 400, "invalid_field", "\"format\" must be pdf or json");
        goto done;
    }
    if (!s->api.report) {
        res = reply_error(s, r, c, 501, "not_implemented",
                          "PDF reports are not in this build of muse serve yet");
        goto done;
    }
    muse_error_t err;
    muse_err_clear(&err);
    int rc = s->api.report(s->m, data, strlen(data), fmt, output, &out, &len, &err);
    if (rc != MUSE_OK) {
        res = reply_muse_error(s, r, c, rc, &err);
        goto done;
    }
    static const char *const hdrs[] = {"Cache-Control", "no-store", NULL};
    if (strcmp(output, "json") == 0) {
        char *text = malloc(len + 1);
        if (text) {
            memcpy(text, out, len);
            text[len] = '\0';
        }
        res = text ? reply_json_text(s, r, c, 200, text, NULL)
                   : reply_error(s, r, c, 503, "unavailable", "out of memory");
    } else {
        res = reply(s, r, c, 200, "application/pdf", out, len, MHD_RESPMEM_MUST_FREE, hdrs);
        out = NULL;
    }
done:
    muse_free(out);
    free(data);
    cJSON_Delete(body);
    return res;
}

static enum MHD_Result handle_kb_search(server_t *s, req_t *r, struct MHD_Connection *c)
{
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "q");
    const char *limit_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *kind = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "kind");
    if (!q || !*q)
        return reply_error(s, r, c, 400, "missing_field", "the query parameter \"q\" is required: /v1/kb/search?q=asthma");
    if (strlen(q) > MAX_QUERY_BYTES)
        return reply_error(s, r, c, 400, "invalid_field", "\"q\" is longer than %d bytes", MAX_QUERY_BYTES);
    long limit = 10;
    if (limit_s) {
        char *end = NULL;
        errno = 0;
        limit = strtol(limit_s, &end, 10);
        if (errno || !end || *end || limit < 1 || limit > 50)
            return reply_error(s, r, c, 400, "invalid_field", "\"limit\" must be a whole number from 1 to 50");
    }
    if (kind && !kb_is_entry_kind(kind))
        return reply_error(s, r, c, 400, "invalid_field",
                           "\"kind\" must be condition, symptom, medication, test, measure or wellness");
    kb_t *kb = NULL;
    kb_hits_t hits = {0};
    muse_error_t err;
    muse_err_clear(&err);
    int rc = muse_kb_acquire(s->m, &kb, &err);
    if (rc == MUSE_OK) {
        kb_search_opts_t o = {.limit = (size_t)limit, .reviewed_only = s->m->reviewed_only, .kind = kind};
        rc = kb_search(kb, q, &o, &hits, &err);
        muse_kb_release(s->m, kb);
    }
    if (rc != MUSE_OK)
        return reply_muse_error(s, r, c, rc, &err);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "query", q);
    cJSON *arr = cJSON_AddArrayToObject(j, "results");
    for (size_t i = 0; i < hits.n; i++) {
        const kb_hit_t *h = &hits.v[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", h->id);
        cJSON_AddStringToObject(o, "title", h->title ? h->title : "");
        cJSON_AddStringToObject(o, "kind", h->kind ? h->kind : "");
        if (h->section)
            cJSON_AddStringToObject(o, "section", h->section);
        cJSON_AddStringToObject(o, "snippet", h->snippet ? h->snippet : "");
        cJSON_AddStringToObject(o, "review_status", h->status ? h->status : "draft");
        cJSON_AddNumberToObject(o, "score", round(h->score * 1000) / 1000);
        cJSON_AddItemToArray(arr, o);
    }
    kb_hits_free(&hits);
    enum MHD_Result res = reply_json(s, r, c, 200, j);
    cJSON_Delete(j);
    return res;
}

/* Entry ids are lower-case words joined by '-' (docs/kb-format.md); anything
 * else, "../" included, cannot name an entry. */
static int entry_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > 96)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)id[i];
        if (!(islower(ch) || isdigit(ch) || ch == '-' || ch == '_'))
            return 0;
    }
    return 1;
}

static cJSON *entry_json(const kb_entry_t *e)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "id", e->id);
    cJSON_AddStringToObject(j, "kind", e->kind ? e->kind : "");
    cJSON_AddStringToObject(j, "title", e->title ? e->title : "");
    cJSON_AddNumberToObject(j, "version", e->version);
    cJSON *al = cJSON_AddArrayToObject(j, "aliases");
    for (size_t i = 0; i < e->n_aliases; i++)
        cJSON_AddItemToArray(al, cJSON_CreateString(e->aliases[i]));
    cJSON *secs = cJSON_AddArrayToObject(j, "sections");
    for (size_t i = 0; i < e->n_sections; i++) {
        cJSON *sj = cJSON_CreateObject();
        cJSON_AddStringToObject(sj, "kind", e->sections[i].kind);
        cJSON_AddStringToObject(sj, "text", e->sections[i].text ? e->sections[i].text : "");
        cJSON_AddItemToArray(secs, sj);
    }
    cJSON *srcs = cJSON_AddArrayToObject(j, "sources");
    for (size_t i = 0; i < e->n_sources; i++) {
        const kb_source_t *src = &e->sources[i];
        cJSON *sj = cJSON_CreateObject();
        if (src->publisher)
            cJSON_AddStringToObject(sj, "publisher", src->publisher);
        if (src->title)
            cJSON_AddStringToObject(sj, "title", src->title);
        if (src->year > 0)
            cJSON_AddNumberToObject(sj, "year", src->year);
        if (src->url)
            cJSON_AddStringToObject(sj, "url", src->url);
        cJSON_AddItemToArray(srcs, sj);
    }
    cJSON *rv = cJSON_AddObjectToObject(j, "review");
    cJSON_AddStringToObject(rv, "status", e->review_status ? e->review_status : "draft");
    if (e->reviewer)
        cJSON_AddStringToObject(rv, "reviewer", e->reviewer);
    if (e->credentials)
        cJSON_AddStringToObject(rv, "credentials", e->credentials);
    if (e->review_date)
        cJSON_AddStringToObject(rv, "date", e->review_date);
    return j;
}

static enum MHD_Result handle_kb_entry(server_t *s, req_t *r, struct MHD_Connection *c,
                                       const char *url)
{
    const char *id = url + strlen(ROUTES[R_KB_ENTRY].path);
    if (!entry_id_ok(id))
        return reply_error(s, r, c, 404, "not_found",
                           "no such entry: ids are lower-case letters, digits and '-' (see /v1/kb/search)");
    kb_t *kb = NULL;
    kb_entry_t *e = NULL;
    muse_error_t err;
    muse_err_clear(&err);
    int rc = muse_kb_acquire(s->m, &kb, &err);
    if (rc == MUSE_OK) {
        rc = kb_get(kb, id, &e, &err);
        muse_kb_release(s->m, kb);
    }
    if (rc == MUSE_OK && s->m->reviewed_only && e->review_status &&
        strcmp(e->review_status, "reviewed") != 0) {
        kb_entry_free(e);
        e = NULL;
        rc = muse_err(&err, MUSE_ENOTFOUND, "entry \"%s\" is not clinically reviewed, and this server "
                                            "answers only from reviewed entries", id);
    }
    if (rc == MUSE_ENOTFOUND)
        return reply_error(s, r, c, 404, "not_found", "%s", err.message[0] ? err.message : "no such entry");
    if (rc != MUSE_OK)
        return reply_muse_error(s, r, c, rc, &err);
    cJSON *j = entry_json(e);
    kb_entry_free(e);
    enum MHD_Result res = reply_json(s, r, c, 200, j);
    cJSON_Delete(j);
    return res;
}

static enum MHD_Result handle_healthz(server_t *s, req_t *r, struct MHD_Connection *c)
{
    int stopping = atomic_load(&s->stopping);
    muse_buf_t b = {0};
    muse_buf_printf(&b, "{\"status\":\"%s\",\"version\":\"%s\",\"uptime_s\":%.0f,\"kb\":%s}",
              stopping ? "stopping" : "ok", muse_version(), now_s() - s->started,
              s->health_kb ? s->health_kb : "null");
    if (b.oom) {
        free(b.p);
        return MHD_NO;
    }
    /* 503 while stopping, so a load balancer drains this instance. */
    return reply_json_text(s, r, c, stopping ? 503 : 200, b.p, NULL);
}

static void metrics_text(server_t *s, muse_buf_t *b)
{
    metrics_t *mt = &s->metrics;
    muse_buf_printf(b, "# HELP muse_build_info Muse version.\n# TYPE muse_build_info gauge\n"
                 "muse_build_info{version=\"%s\"} 1\n", muse_version());
    muse_buf_printf(b, "# HELP muse_uptime_seconds Seconds since the server started.\n"
                 "# TYPE muse_uptime_seconds gauge\nmuse_uptime_seconds %.3f\n", now_s() - s->started);
    muse_buf_printf(b, "# HELP muse_http_requests_total HTTP requests answered, by route and status.\n"
                 "# TYPE muse_http_requests_total counter\n");
    for (int i = 0; i < R_COUNT; i++)
        for (size_t k = 0; k <= N_STATUS; k++) {
            unsigned long n = atomic_load(&mt->requests[i][k]);
            if (n == 0)
                continue;
            if (k < N_STATUS)
                muse_buf_printf(b, "muse_http_requests_total{route=\"%s\",status=\"%d\"} %lu\n", ROUTES[i].label,
                          STATUSES[k], n);
            else
                muse_buf_printf(b, "muse_http_requests_total{route=\"%s\",status=\"other\"} %lu\n",
                          ROUTES[i].label, n);
        }
    muse_buf_printf(b, "# HELP muse_http_requests_aborted_total Requests whose connection closed before an answer was sent.\n"
                 "# TYPE muse_http_requests_aborted_total counter\n");
    for (int i = 0; i < R_COUNT; i++) {
        unsigned long n = atomic_load(&mt->aborted[i]);
        if (n)
            muse_buf_printf(b, "muse_http_requests_aborted_total{route=\"%s\"} %lu\n", ROUTES[i].label, n);
    }
    muse_buf_printf(b, "# HELP muse_http_request_duration_seconds Time from request headers to the end of the answer.\n"
                 "# TYPE muse_http_request_duration_seconds histogram\n");
    for (int i = 0; i < R_COUNT; i++) {
        unsigned long cum = 0;
        unsigned long counts[N_BUCKETS + 1];
        for (int k = 0; k <= N_BUCKETS; k++)
            counts[k] = atomic_load(&mt->hist[i][k]);
        unsigned long total = 0;
        for (int k = 0; k <= N_BUCKETS; k++)
            total += counts[k];
        if (total == 0)
            continue;
        for (int k = 0; k < N_BUCKETS; k++) {
            cum += counts[k];
            muse_buf_printf(b, "muse_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n",
                      ROUTES[i].label, BUCKETS[k], cum);
        }
        muse_buf_printf(b, "muse_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n",
                  ROUTES[i].label, total);
        muse_buf_printf(b, "muse_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", ROUTES[i].label,
                  (double)atomic_load(&mt->sum_us[i]) / 1e6);
        muse_buf_printf(b, "muse_http_request_duration_seconds_count{route=\"%s\"} %lu\n", ROUTES[i].label, total);
    }
    muse_buf_printf(b, "# HELP muse_safety_verdicts_total Safety verdicts given, by endpoint.\n"
                 "# TYPE muse_safety_verdicts_total counter\n");
    for (int e = 0; e < 2; e++)
        for (int v = 0; v < N_VERDICTS; v++)
            muse_buf_printf(b, "muse_safety_verdicts_total{endpoint=\"%s\",verdict=\"%s\"} %lu\n",
                      e == 0 ? "/v1/ask" : "/v1/safety/check", VERDICTS[v],
                      atomic_load(&s->metrics.verdicts[e][v]));
    pthread_mutex_lock(&s->cache.lock);
    size_t ac_n = s->cache.n, ac_bytes = s->cache.bytes;
    pthread_mutex_unlock(&s->cache.lock);
    muse_buf_printf(b, "# HELP muse_answer_cache_hits_total /v1/ask answers served from the answer cache.\n"
                 "# TYPE muse_answer_cache_hits_total counter\nmuse_answer_cache_hits_total %lu\n"
                 "# HELP muse_answer_cache_misses_total /v1/ask requests the answer cache did not hold (0 while it is off).\n"
                 "# TYPE muse_answer_cache_misses_total counter\nmuse_answer_cache_misses_total %lu\n"
                 "# HELP muse_answer_cache_evictions_total Answers dropped to keep the cache within its size.\n"
                 "# TYPE muse_answer_cache_evictions_total counter\nmuse_answer_cache_evictions_total %lu\n"
                 "# HELP muse_answer_cache_entries Answers in the cache now.\n"
                 "# TYPE muse_answer_cache_entries gauge\nmuse_answer_cache_entries %zu\n"
                 "# HELP muse_answer_cache_bytes Bytes of keys and answers in the cache now.\n"
                 "# TYPE muse_answer_cache_bytes gauge\nmuse_answer_cache_bytes %zu\n",
              atomic_load(&mt->cache_hits), atomic_load(&mt->cache_misses), atomic_load(&mt->cache_evictions),
              ac_n, ac_bytes);
    muse_buf_printf(b, "# HELP muse_http_requests_in_flight Requests being received or answered.\n"
                 "# TYPE muse_http_requests_in_flight gauge\nmuse_http_requests_in_flight %ld\n",
              atomic_load(&s->in_flight));
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    muse_buf_printf(b, "# HELP muse_http_connections Open client connections.\n"
                 "# TYPE muse_http_connections gauge\nmuse_http_connections %u\n",
              di ? di->num_connections : 0);
    muse_buf_printf(b, "# HELP muse_http_request_body_bytes_total Request body bytes received.\n"
                 "# TYPE muse_http_request_body_bytes_total counter\nmuse_http_request_body_bytes_total %lu\n",
              atomic_load(&mt->body_bytes));
}

static enum MHD_Result handle_metrics(server_t *s, req_t *r, struct MHD_Connection *c)
{
    muse_buf_t b = {0};
    metrics_text(s, &b);
    if (b.oom || !b.p) {
        free(b.p);
        return reply_error(s, r, c, 503, "unavailable", "out of memory");
    }
    static const char *const hdrs[] = {"Cache-Control", "no-store", NULL};
    return reply(s, r, c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.n,
                 MHD_RESPMEM_MUST_FREE, hdrs);
}

/* The page loads only its own script and stylesheet; inline styles are
 * allowed because the charts' SVG (Cairo's) carries style attributes. */
static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                          "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'";

static enum MHD_Result handle_static(server_t *s, req_t *r, struct MHD_Connection *c)
{
    const unsigned char *data;
    size_t len;
    const char *type;
    switch (r->route) {
    case R_INDEX: data = web_index_html; len = web_index_html_len; type = "text/html; charset=utf-8"; break;
    case R_APP_JS: data = web_app_js; len = web_app_js_len; type = "text/javascript; charset=utf-8"; break;
    case R_STYLE_CSS: data = web_style_css; len = web_style_css_len; type = "text/css; charset=utf-8"; break;
    default: data = web_openapi_yaml; len = web_openapi_yaml_len; type = "application/yaml; charset=utf-8"; break;
    }
    static const char *const hdrs[] = {"Content-Security-Policy", CSP, "Cache-Control", "no-cache", NULL};
    return reply(s, r, c, 200, type, (void *)data, len, MHD_RESPMEM_PERSISTENT, hdrs);
}

/* ---- auth and CORS ---- */

/* Constant time in the token's content: every configured token is compared
 * in full, and the loop never stops early. */
static int token_ok(const server_t *s, const char *given, size_t glen)
{
    int ok = 0;
    for (size_t i = 0; i < s->cfg.n_tokens; i++) {
        const char *t = s->cfg.tokens[i];
        size_t tlen = strlen(t);
        unsigned char diff = (unsigned char)(tlen != glen);
        for (size_t k = 0; k < tlen; k++)
            diff |= (unsigned char)(t[k] ^ (k < glen ? given[k] : 0));
        ok |= diff == 0;
    }
    return ok;
}

static int authorized(const server_t *s, struct MHD_Connection *c)
{
    if (s->cfg.n_tokens == 0)
        return 1;
    const char *h = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n > 0 && t[n - 1] == ' ')
        n--;
    return n > 0 && token_ok(s, t, n);
}

/* The allowed origin to echo back for this request, or NULL. */
static const char *cors_origin(const server_t *s, const char *origin)
{
    if (!origin)
        return NULL;
    for (size_t i = 0; i < s->cfg.n_cors_origins; i++) {
        const char *o = s->cfg.cors_origins[i];
        if (strcmp(o, "*") == 0)
            return "*";
        if (strcmp(o, origin) == 0)
            return o;
    }
    return NULL;
}

static enum MHD_Result handle_options(server_t *s, req_t *r, struct MHD_Connection *c)
{
    const char *origin = header(c, "Origin");
    const char *allow = ROUTES[r->route].post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
    if (origin && header(c, MHD_HTTP_HEADER_ACCESS_CONTROL_REQUEST_METHOD)) {
        if (!r->cors_origin)
            return reply_error(s, r, c, 403, "cors_forbidden",
                               "origin %s is not in this server's cors_origins", origin);
        const char *const hdrs[] = {MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, allow,
                                    MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type, Accept",
                                    MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "600",
                                    MHD_HTTP_HEADER_ALLOW, allow, NULL};
        return reply(s, r, c, 204, NULL, (void *)"", 0, MHD_RESPMEM_PERSISTENT, hdrs);
    }
    const char *const hdrs[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
    return reply(s, r, c, 204, NULL, (void *)"", 0, MHD_RESPMEM_PERSISTENT, hdrs);
}

/* ---- the access handler ---- */

static void sanitize_path(const char *url, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = url; *p && k + 1 < cap; p++)
        out[k++] = (*p > 0x20 && *p < 0x7f && *p != '"') ? *p : '?';
    out[k] = '\0';
    if (url[k] && k > 3)
        memcpy(out + k - 3, "...", 3);
}

static int is_json_type(const char *ct)
{
    if (!ct)
        return 1;   /* curl -d sends one; a script may send none */
    while (*ct == ' ')
        ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* First call for a request: everything that can be decided from the
 * headers. Returns MHD_YES with r->status set when it answered. */
static enum MHD_Result on_headers(server_t *s, req_t *r, struct MHD_Connection *c, const char *url,
                                  const char *method)
{
    const route_t *rt = &ROUTES[r->route];
    r->cors_origin = cors_origin(s, header(c, "Origin"));
    if (r->route == R_OTHER)
        return reply_error(s, r, c, 404, "not_found",
                           "no such path; the API is described at /openapi.yaml");
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    int is_post = strcmp(method, "POST") == 0;
    if (strcmp(method, "OPTIONS") == 0)
        return handle_options(s, r, c);
    if ((rt->post && !is_post) || (!rt->post && !is_get)) {
        const char *allow = rt->post ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
        const char *const hdrs[] = {MHD_HTTP_HEADER_ALLOW, allow, NULL};
        return reply_error_h(s, r, c, hdrs, 405, "%s is not allowed on %s; use %s", method,
                             rt->label, rt->post ? "POST" : "GET");
    }
    if (rt->api && !authorized(s, c)) {
        const char *const hdrs[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"muse\"", NULL};
        return reply_error_h(s, r, c, hdrs, 401,
                             "a bearer token is required: send the header \"Authorization: Bearer TOKEN\" "
                             "with a token from the server's config file");
    }
    if (rt->api) {
        int retry = 1;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (!rl_allow(&s->rl, ci ? ci->client_addr : NULL, &retry)) {
            char rs[16];
            snprintf(rs, sizeof rs, "%d", retry);
            const char *const hdrs[] = {MHD_HTTP_HEADER_RETRY_AFTER, rs, NULL};
            return reply_error_h(s, r, c, hdrs, 429,
                                 "too many requests from this address; retry after %d s", retry);
        }
    }
    if (rt->post) {
        const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > s->cfg.body_limit)
                return reply_error(s, r, c, 413, "payload_too_large",
                                   "the request body is larger than the %zu-byte limit", s->cfg.body_limit);
        }
        if (!is_json_type(header(c, MHD_HTTP_HEADER_CONTENT_TYPE)))
            return reply_error(s, r, c, 415, "unsupported_media_type",
                               "send the body as JSON with \"Content-Type: application/json\"");
        return MHD_YES;   /* the body comes in the next calls */
    }
    switch (r->route) {
    case R_HEALTHZ: return handle_healthz(s, r, c);
    case R_METRICS: return handle_metrics(s, r, c);
    case R_KB_SEARCH: return handle_kb_search(s, r, c);
    case R_KB_ENTRY: return handle_kb_entry(s, r, c, url);
    default: return handle_static(s, r, c);
    }
}

static enum MHD_Result on_body_done(server_t *s, req_t *r, struct MHD_Connection *c)
{
    if (r->too_large)
        return reply_error(s, r, c, 413, "payload_too_large",
                           "the request body is larger than the %zu-byte limit", s->cfg.body_limit);
    atomic_fetch_add(&s->metrics.body_bytes, r->len);
    switch (r->route) {
    case R_ASK: return handle_ask(s, r, c);
    case R_CHART: return handle_chart(s, r, c);
    case R_REPORT: return handle_report(s, r, c);
    case R_INTERPRET: return handle_interpret(s, r, c);
    case R_SAFETY: return handle_safety(s, r, c);
    default: return reply_error(s, r, c, 500, "internal", "no handler for this route");
    }
}

/* MHD gives the handler the URL already %-decoded, as a C string, so "%00"
 * would silently cut it short ("/v1/kb/entries/asthma%00.json" would read as
 * ".../asthma"). The raw URI passes through here first: a path with an
 * encoded NUL is marked, and the handler refuses it. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    server_t *s = cls;
    size_t n = strcspn(uri, "?");
    for (size_t i = 0; i + 2 < n; i++)
        if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0')
            return &s->nul_path;
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    server_t *s = cls;
    req_t *r = *con_cls;
    if (!r || (void *)r == &s->nul_path) {
        int nul = r != NULL;
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->t0 = now_s();
        ac_tick(&s->cache);
        r->route = nul ? R_OTHER : route_find(url);
        snprintf(r->method, sizeof r->method, "%s", method);
        sanitize_path(url, r->path, sizeof r->path);
        atomic_fetch_add(&s->in_flight, 1);
        if (nul)
            return reply_error(s, r, c, 400, "bad_request", "the path holds an encoded NUL (%%00)");
        /* MHD closes the connection after a response queued on this first
         * call for POST and PUT (their body is left unread), which is what a
         * refusal wants. Other methods are answered on the next call, so
         * keep-alive survives. */
        if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
            r->deferred = 1;
            return MHD_YES;
        }
        return on_headers(s, r, c, url, method);
    }
    if (r->status)
        return MHD_YES;   /* answered from the headers; the body is not ours to read */
    if (r->deferred) {
        if (*upload_data_size > 0) {
            *upload_data_size = 0;   /* a body on GET, DELETE, ...: not ours to read */
            return MHD_YES;
        }
        r->deferred = 0;
        return on_headers(s, r, c, url, method);
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (now_s() - r->t0 > s->cfg.request_timeout) {
            /* A body trickling in for this long ties up a connection slot:
             * a slow client's, or a slowloris attack's. */
            r->timed_out = 1;
            return MHD_NO;
        }
        if (r->too_large || r->len + n > s->cfg.body_limit) {
            /* Chunked bodies have no Content-Length to refuse up front. */
            r->too_large = 1;
            if (reply_error(s, r, c, 413, "payload_too_large",
                            "the request body is larger than the %zu-byte limit",
                            s->cfg.body_limit) == MHD_YES)
                return MHD_YES;
            return MHD_NO;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    return on_body_done(s, r, c);
}

static void access_log(server_t *s, const req_t *r, double ms)
{
    if (!s->cfg.access_log)
        return;
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pthread_mutex_lock(&s->log_lock);
    if (r->status)
        fprintf(stderr, "%s muse[access]: %s %s %d %.1fms %zuB\n", ts, r->method, r->path, r->status, ms,
                r->bytes);
    else
        fprintf(stderr, "%s muse[access]: %s %s aborted %.1fms%s\n", ts, r->method, r->path, ms,
                r->timed_out ? " (body too slow)" : "");
    pthread_mutex_unlock(&s->log_lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    server_t *s = cls;
    req_t *r = *con_cls;
    *con_cls = NULL;
    if (!r || (void *)r == &s->nul_path)
        return;
    double secs = now_s() - r->t0;
    metrics_t *mt = &s->metrics;
    /* A response queued but cut off in sending still counts by its status;
     * a request that never got one is counted as aborted. */
    (void)toe;
    if (r->status)
        atomic_fetch_add(&mt->requests[r->route][status_slot(r->status)], 1);
    else
        atomic_fetch_add(&mt->aborted[r->route], 1);
    int k = 0;
    while (k < N_BUCKETS && secs > BUCKETS[k])
        k++;
    atomic_fetch_add(&mt->hist[r->route][k], 1);
    atomic_fetch_add(&mt->sum_us[r->route], (unsigned long long)(secs * 1e6));
    access_log(s, r, secs * 1000);
    free(r->body);
    free(r);
    if (atomic_fetch_sub(&s->in_flight, 1) == 1 && atomic_load(&s->stopping)) {
        pthread_mutex_lock(&s->idle_lock);
        pthread_cond_broadcast(&s->idle);
        pthread_mutex_unlock(&s->idle_lock);
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (log_get_level() < LOG_INFO)
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_msg(LOG_INFO, "libmicrohttpd: %s", line);
}

/* ---- configuration ---- */

void server_config_init(server_config_t *c)
{
    memset(c, 0, sizeof *c);
    c->port = 8080;
    c->body_limit = MIB;
    c->rate_per_second = 20;
    c->rate_burst = 40;
    c->connection_limit = 512;
    c->per_ip_connections = 32;
    c->timeout = 15;
    c->request_timeout = 30;
    c->shutdown_grace = 30;
    c->access_log = 1;
    c->answer_cache = 1024;
    c->answer_cache_max_age = 600;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void server_config_free(server_config_t *c)
{
    free(c->host);
    free_strv(c->tokens, c->n_tokens);
    free_strv(c->cors_origins, c->n_cors_origins);
    server_config_init(c);
}

int server_config_set_listen(server_config_t *c, const char *spec, muse_error_t *err)
{
    char host[256] = "";
    const char *port_s;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
            return muse_err(err, MUSE_EINVAL, "listen address \"%s\": write an IPv6 address as [::1]:8080", spec);
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        port_s = close + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (colon && strchr(spec, ':') != colon)
            return muse_err(err, MUSE_EINVAL, "listen address \"%s\": write an IPv6 address as [::1]:8080", spec);
        if (colon) {
            if ((size_t)(colon - spec) >= sizeof host)
                return muse_err(err, MUSE_EINVAL, "listen address \"%s\": host name too long", spec);
            memcpy(host, spec, (size_t)(colon - spec));
            host[colon - spec] = '\0';
            port_s = colon + 1;
        } else {
            port_s = spec;
        }
    }
    char *end = NULL;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (!*port_s || errno || *end || port < 0 || port > 65535)
        return muse_err(err, MUSE_EINVAL, "listen address \"%s\": expected HOST:PORT with a port from 0 to 65535 "
                                          "(0: any free port), such as 127.0.0.1:8080", spec);
    if (host[0]) {
        char *h = strdup(host);
        if (!h)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        free(c->host);
        c->host = h;
    }
    c->port = (unsigned short)port;
    return MUSE_OK;
}

static int cfg_strv(const char *path, const char *field, const cJSON *v, int is_origin, char ***out,
                    size_t *n, muse_error_t *err)
{
    if (!cJSON_IsArray(v))
        return muse_err(err, MUSE_EINVAL, "%s: \"%s\": expected an array of strings", path, field);
    size_t count = (size_t)cJSON_GetArraySize(v);
    char **arr = calloc(count + 1, sizeof *arr);
    if (!arr)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    size_t i = 0;
    int rc = MUSE_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) {
        const char *sv = cJSON_GetStringValue(it);
        if (!sv || !*sv) {
            rc = muse_err(err, MUSE_EINVAL, "%s: \"%s\"[%zu]: expected a non-empty string", path, field, i);
            goto fail;
        }
        if (!is_origin && strlen(sv) < 16) {
            rc = muse_err(err, MUSE_EINVAL, "%s: \"%s\"[%zu]: a token must be at least 16 characters "
                                            "(make one with: head -c 32 /dev/urandom | base64)", path, field, i);
            goto fail;
        }
        if (!is_origin) {
            for (const char *p = sv; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f) {
                    rc = muse_err(err, MUSE_EINVAL, "%s: \"%s\"[%zu]: a token may hold only visible ASCII "
                                                    "characters", path, field, i);
                    goto fail;
                }
        }
        if (is_origin && strcmp(sv, "*") != 0) {
            const char *rest = strncmp(sv, "https://", 8) == 0 ? sv + 8 : strncmp(sv, "http://", 7) == 0 ? sv + 7 : NULL;
            if (!rest || !*rest || strchr(rest, '/')) {
                rc = muse_err(err, MUSE_EINVAL, "%s: \"%s\"[%zu]: \"%s\" is not an origin: write "
                                                "scheme://host[:port] with no path, such as https://portal.example.org",
                              path, field, i, sv);
                goto fail;
            }
        }
        if (!(arr[i++] = strdup(sv))) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto fail;
        }
    }
    *out = arr;
    *n = i;
    return MUSE_OK;
fail:
    free_strv(arr, i);
    return rc;
}

/* The config file's whole-number settings: name, valid range, field. */
static const struct uint_setting {
    const char *name;
    double min, max;
    size_t offset;
} UINT_SETTINGS[] = {
    {"threads", 1, 256, offsetof(server_config_t, threads)},
    {"connection_limit", 1, 100000, offsetof(server_config_t, connection_limit)},
    {"per_ip_connections", 1, 100000, offsetof(server_config_t, per_ip_connections)},
    {"timeout", 1, 3600, offsetof(server_config_t, timeout)},
    {"request_timeout", 1, 3600, offsetof(server_config_t, request_timeout)},
    {"shutdown_grace", 0, 3600, offsetof(server_config_t, shutdown_grace)},
    {"answer_cache", 0, 1000000, offsetof(server_config_t, answer_cache)},
    {"answer_cache_max_age", 1, 86400, offsetof(server_config_t, answer_cache_max_age)},
};

static const struct uint_setting *uint_field(const char *name)
{
    for (size_t i = 0; i < sizeof UINT_SETTINGS / sizeof UINT_SETTINGS[0]; i++)
        if (strcmp(UINT_SETTINGS[i].name, name) == 0)
            return &UINT_SETTINGS[i];
    return NULL;
}

static int cfg_uint(const char *path, const char *field, const cJSON *v, double lo, double hi,
                    double *out, muse_error_t *err)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi ||
        v->valuedouble != floor(v->valuedouble))
        return muse_err(err, MUSE_EINVAL, "%s: \"%s\": expected a whole number from %.0f to %.0f", path, field,
                        lo, hi);
    *out = v->valuedouble;
    return MUSE_OK;
}

int server_config_load(server_config_t *c, const char *path, muse_error_t *err)
{
    char *text = NULL;
    cJSON *j = NULL;
    int rc = MUSE_OK;
    FILE *f = fopen(path, "rb");
    if (!f)
        return muse_err(err, MUSE_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    text = malloc(cap + 1);
    if (text)
        n = fread(text, 1, cap, f);
    int too_big = text && n == cap && fgetc(f) != EOF;
    int rerr = ferror(f);
    struct stat st;
    int world_readable = fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH);
    fclose(f);
    if (!text)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (rerr || too_big) {
        rc = muse_err(err, rerr ? MUSE_EIO : MUSE_ELIMIT, "%s: %s", path,
                      rerr ? "read error" : "larger than 64 KiB: is this the config file?");
        goto done;
    }
    text[n] = '\0';
    const char *end = NULL;
    j = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!j || !cJSON_IsObject(j)) {
        size_t line = 1;
        for (const char *p = text; end && p < end && *p; p++)
            line += *p == '\n';
        rc = muse_err(err, MUSE_EPARSE, j ? "%s: expected a JSON object ({\"listen\": ..., \"tokens\": [...]})"
                                          : "%s:%zu: not valid JSON", path, line);
        goto done;
    }
    const cJSON *v;
    cJSON_ArrayForEach(v, j) {
        const char *k = v->string;
        double d = 0;
        const struct uint_setting *u;
        if (strcmp(k, "listen") == 0) {
            if (!cJSON_IsString(v)) {
                rc = muse_err(err, MUSE_EINVAL, "%s: \"listen\": expected a string such as \"127.0.0.1:8080\"", path);
                goto done;
            }
            muse_error_t e2;
            if (server_config_set_listen(c, v->valuestring, &e2) != MUSE_OK) {
                rc = muse_err(err, MUSE_EINVAL, "%s: \"listen\": %s", path, e2.message);
                goto done;
            }
        } else if (strcmp(k, "tokens") == 0) {
            free_strv(c->tokens, c->n_tokens);
            c->tokens = NULL;
            c->n_tokens = 0;
            if ((rc = cfg_strv(path, k, v, 0, &c->tokens, &c->n_tokens, err)) != MUSE_OK)
                goto done;
        } else if (strcmp(k, "cors_origins") == 0) {
            free_strv(c->cors_origins, c->n_cors_origins);
            c->cors_origins = NULL;
            c->n_cors_origins = 0;
            if ((rc = cfg_strv(path, k, v, 1, &c->cors_origins, &c->n_cors_origins, err)) != MUSE_OK)
                goto done;
        } else if (strcmp(k, "body_limit") == 0) {
            if ((rc = cfg_uint(path, k, v, 1024, 256.0 * MIB, &d, err)) != MUSE_OK)
                goto done;
            c->body_limit = (size_t)d;
        } else if (strcmp(k, "rate_limit") == 0) {
            if (cJSON_IsNumber(v)) {
                if (v->valuedouble < 0 || v->valuedouble > 1e6) {
                    rc = muse_err(err, MUSE_EINVAL, "%s: \"rate_limit\": expected requests per second per "
                                                    "client address, from 0 (no limit) to 1000000", path);
                    goto done;
                }
                c->rate_per_second = v->valuedouble;
                c->rate_burst = 2 * v->valuedouble;
            } else if (cJSON_IsObject(v)) {
                const cJSON *w;
                cJSON_ArrayForEach(w, v) {
                    if (strcmp(w->string, "per_second") == 0 && cJSON_IsNumber(w) && w->valuedouble >= 0 &&
                        w->valuedouble <= 1e6) {
                        c->rate_per_second = w->valuedouble;
                    } else if (strcmp(w->string, "burst") == 0 && cJSON_IsNumber(w) && w->valuedouble >= 1 &&
                               w->valuedouble <= 1e6) {
                        c->rate_burst = w->valuedouble;
                    } else {
                        rc = muse_err(err, MUSE_EINVAL, "%s: \"rate_limit\".\"%s\": %s", path, w->string,
                                      strcmp(w->string, "per_second") == 0 ? "expected a number from 0 to 1000000"
                                      : strcmp(w->string, "burst") == 0 ? "expected a number from 1 to 1000000"
                                      : "unknown field (known: per_second, burst)");
                        goto done;
                    }
                }
                if (!cJSON_GetObjectItemCaseSensitive(v, "burst"))
                    c->rate_burst = 2 * c->rate_per_second;
            } else {
                rc = muse_err(err, MUSE_EINVAL, "%s: \"rate_limit\": expected a number (requests per second per "
                                                "client address) or {\"per_second\": N, \"burst\": N}", path);
                goto done;
            }
        } else if ((u = uint_field(k)) != NULL) {
            if ((rc = cfg_uint(path, k, v, u->min, u->max, &d, err)) != MUSE_OK)
                goto done;
            *(unsigned *)((char *)c + u->offset) = (unsigned)d;
        } else if (strcmp(k, "access_log") == 0) {
            if (!cJSON_IsBool(v)) {
                rc = muse_err(err, MUSE_EINVAL, "%s: \"access_log\": expected true or false", path);
                goto done;
            }
            c->access_log = cJSON_IsTrue(v);
        } else {
            rc = muse_err(err, MUSE_EINVAL, "%s: \"%s\": unknown field (known: listen, tokens, cors_origins, "
                                            "body_limit, rate_limit, threads, connection_limit, per_ip_connections, "
                                            "timeout, request_timeout, shutdown_grace, access_log, answer_cache, "
                                            "answer_cache_max_age)", path, k);
            goto done;
        }
    }
    if (c->n_tokens > 0 && world_readable)
        log_msg(LOG_WARN, "%s holds bearer tokens and every user can read it: chmod 600 %s", path, path);
done:
    cJSON_Delete(j);
    free(text);
    return rc;
}

/* ---- start and stop ---- */

static int copy_config(server_config_t *dst, const server_config_t *src)
{
    *dst = *src;
    dst->host = NULL;
    dst->tokens = NULL;
    dst->cors_origins = NULL;
    dst->n_tokens = dst->n_cors_origins = 0;
    if (!(dst->host = strdup(src->host ? src->host : "127.0.0.1")))
        return MUSE_ENOMEM;
    if (src->n_tokens && !(dst->tokens = calloc(src->n_tokens, sizeof *dst->tokens)))
        return MUSE_ENOMEM;
    for (; dst->n_tokens < src->n_tokens; dst->n_tokens++)
        if (!(dst->tokens[dst->n_tokens] = strdup(src->tokens[dst->n_tokens])))
            return MUSE_ENOMEM;
    if (src->n_cors_origins && !(dst->cors_origins = calloc(src->n_cors_origins, sizeof *dst->cors_origins)))
        return MUSE_ENOMEM;
    for (; dst->n_cors_origins < src->n_cors_origins; dst->n_cors_origins++)
        if (!(dst->cors_origins[dst->n_cors_origins] = strdup(src->cors_origins[dst->n_cors_origins])))
            return MUSE_ENOMEM;
    return MUSE_OK;
}

static int resolve(const char *host, unsigned short port, struct sockaddr_storage *ss, socklen_t *len,
                   muse_error_t *err)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return MUSE_OK;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return MUSE_OK;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0 || !res)
        return muse_err(err, MUSE_EINVAL, "cannot listen on \"%s\": %s", host, gai_strerror(g));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        v4->sin_port = htons(port);
    else
        v6->sin6_port = htons(port);
    return MUSE_OK;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127;
}

static void free_server(server_t *s)
{
    if (!s)
        return;
    rl_free(&s->rl);
    ac_free(&s->cache);
    free(s->health_kb);
    server_config_free(&s->cfg);
    pthread_mutex_destroy(&s->idle_lock);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}

/* The store's identity for /healthz: read once, since the store is read-only
 * for the life of the server. */
static char *health_kb_json(muse_t *m)
{
    kb_t *kb = NULL;
    kb_stats_t st;
    if (muse_kb_acquire(m, &kb, NULL) != MUSE_OK)
        return NULL;
    int rc = kb_stats(kb, &st, NULL);
    muse_kb_release(m, kb);
    if (rc != MUSE_OK)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "entries", (double)st.entries);
    cJSON_AddNumberToObject(j, "reviewed", (double)st.reviewed);
    cJSON_AddStringToObject(j, "content_version", st.content_version);
    cJSON_AddStringToObject(j, "content_hash", st.content_hash);
    cJSON_AddStringToObject(j, "built_at", st.built_at);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return text;
}

int server_start(muse_t *m, const server_config_t *c, const server_api_t *api, server_t **out,
                 muse_error_t *err)
{
    *out = NULL;
    int rc = MUSE_OK;
    server_t *s = calloc(1, sizeof *s);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    pthread_mutex_init(&s->idle_lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    pthread_mutex_init(&s->log_lock, NULL);
    rl_init(&s->rl, c->rate_per_second, c->rate_burst);
    s->m = m;
    if (ac_init(&s->cache, c, m) != MUSE_OK) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory setting up the answer cache");
        goto fail;
    }
    if (api)
        s->api = *api;
    if (copy_config(&s->cfg, c) != MUSE_OK) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if ((rc = resolve(s->cfg.host, s->cfg.port, &ss, &sslen, err)) != MUSE_OK)
        goto fail;
    s->loopback = is_loopback(&ss);
    int v6 = ss.ss_family == AF_INET6;
    if (!s->loopback && s->cfg.n_tokens == 0) {
        rc = muse_err(err, MUSE_EINVAL,
                      "refusing to listen on %s%s%s:%u without bearer tokens: beyond loopback every API "
                      "request must be authenticated. Put \"tokens\": [\"...\"] in a config file and pass "
                      "--config FILE, or listen on 127.0.0.1", v6 ? "[" : "", s->cfg.host, v6 ? "]" : "",
                      (unsigned)s->cfg.port);
        goto fail;
    }
    unsigned threads = s->cfg.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    s->cfg.threads = threads;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    flags |= MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL : MHD_USE_AUTO;
    if (v6)
        flags |= MHD_USE_IPv6;
    if ((s->health_kb = health_kb_json(m)) == NULL)
        log_msg(LOG_WARN, "cannot read the knowledge store's statistics for /healthz");
    s->started = now_s();
    errno = 0;
    s->d = MHD_start_daemon(flags, s->cfg.port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_LIMIT, s->cfg.connection_limit,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.per_ip_connections,
                            MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.timeout,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                            MHD_OPTION_END);
    if (!s->d) {
        int e = errno;
        rc = muse_err(err, MUSE_EIO, "cannot listen on %s%s%s:%u%s%s", v6 ? "[" : "", s->cfg.host,
                      v6 ? "]" : "", (unsigned)s->cfg.port, e ? ": " : "",
                      e == EADDRINUSE ? "the port is in use by another program (pick another with --listen)"
                      : e ? strerror(e) : "");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di && di->port ? di->port : s->cfg.port;
    snprintf(s->url, sizeof s->url, "http://%s%s%s:%u", v6 ? "[" : "", s->cfg.host, v6 ? "]" : "",
             (unsigned)s->port);
    *out = s;
    return MUSE_OK;
fail:
    free_server(s);
    return rc;
}

unsigned short server_port(const server_t *s)
{
    return s->port;
}

const char *server_url(const server_t *s)
{
    return s->url;
}

int server_stop(server_t *s)
{
    if (!s)
        return 0;
    atomic_store(&s->stopping, 1);
    /* No new connections from here on; connections already open may still
     * send the request they are in the middle of. */
    MHD_socket lsock = MHD_quiesce_daemon(s->d);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += s->cfg.shutdown_grace;
    pthread_mutex_lock(&s->idle_lock);
    while (atomic_load(&s->in_flight) > 0) {
        if (pthread_cond_timedwait(&s->idle, &s->idle_lock, &deadline) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&s->idle_lock);
    int left = (int)atomic_load(&s->in_flight);
    MHD_stop_daemon(s->d);
    free_server(s);
    return left;
}
