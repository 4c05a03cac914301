/* Model backends behind the engine (DESIGN.md, "Model backends").
 *
 * `grounded` lives in answer.c and needs no interface of its own. This header
 * is the door to the `openai` backend: any server that speaks the OpenAI
 * chat-completions protocol (llama.cpp llama-server, Ollama, vLLM, TGI, hosted
 * APIs). Muse stays a stateless front: it retrieves the passages, sends them
 * with the question as clearly delimited data, asks for the answer object
 * through a JSON schema (response_format), and validates what comes back
 * before the engine lets it near a person. Anything the backend cannot vouch
 * for (HTTP failure, invalid JSON after one repair, a citation to a passage it
 * was not given) is MUSE_EBACKEND, and the engine falls back to grounded.
 *
 * See docs/backends.md for pointing Muse at a server and for what is sent. */
#ifndef MUSE_CORE_BACKEND_H
#define MUSE_CORE_BACKEND_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "muse.h"
#include "safety/safety.h"

typedef struct backend_config {
    const char *base_url;     /* e.g. http://127.0.0.1:8080/v1 (llama-server), http://host:8000/v1 (vLLM),
                                 https://api.openai.com/v1; "/chat/completions" is appended */
    const char *model;        /* NULL or "": the field is left out (llama-server and vLLM then use
                                 the model they serve; Ollama and hosted APIs need one) */
    const char *api_key;      /* from env (MUSE_OPENAI_API_KEY or OPENAI_API_KEY), never logged;
                                 NULL or "": no Authorization header */
    long timeout_ms;          /* per request, whole transfer; default 30000 */
    int max_retries;          /* on 429/5xx/timeouts/connection failures, exponential backoff with
                                 jitter; default 2 (so at most 3 attempts); never on other 4xx */
    int allow_phi;            /* 0: text is PHI-redacted (safety_redact) before it leaves the machine */

    /* Additions beyond the first contract. Zero means "the default". */
    long connect_timeout_ms;  /* default min(timeout_ms, 10000) */
    long retry_base_ms;       /* first backoff step, doubled per retry, capped at 8 s; default 250 */
    size_t max_response_bytes;/* a larger reply is an error, not a truncation; default 4 MiB */
    int max_tokens;           /* answer budget per call (request field max_tokens); default 2048 */
    int reasoning_budget;     /* extra tokens a thinking call may spend reasoning; default 1024 */
    const char *reasoning_effort; /* "low"/"medium"/"high" for reasoning models (OpenAI o-series and
                                     the like): sent as reasoning_effort in thinking and contemplating
                                     calls, and the budget goes as max_completion_tokens with no
                                     temperature (such models reject temperature 0). NULL: a plain
                                     model, sent temperature 0 and max_tokens */
} backend_config_t;

/* Fills c with the defaults, then overrides from the environment:
 * MUSE_OPENAI_BASE_URL, MUSE_OPENAI_MODEL, MUSE_OPENAI_API_KEY (else
 * OPENAI_API_KEY), MUSE_OPENAI_TIMEOUT_MS, MUSE_OPENAI_MAX_RETRIES,
 * MUSE_OPENAI_REASONING_BUDGET, MUSE_OPENAI_REASONING_EFFORT.
 * The strings point into the environment (not owned by c; do not free).
 * A value that is not a number sets the field to -1, so that
 * backend_openai_open() rejects it with a message naming the variable.
 * allow_phi is never taken from the environment: it must be asked for. */
void backend_config_from_env(backend_config_t *c);

/* One per muse_t, shared by any number of threads: it is immutable after
 * open (each call makes its own curl handles). */
typedef struct backend_openai backend_openai_t;

/* Validates and copies the configuration (the caller's strings may go away
 * afterwards). safety is borrowed and must outlive the backend; it may be NULL
 * only when c->allow_phi is set, since nothing may be sent unredacted
 * otherwise. No network traffic happens here. *out is freed with
 * backend_openai_close(). */
int backend_openai_open(const backend_config_t *c, const safety_t *safety, backend_openai_t **out,
                        muse_error_t *err);
/* Wipes the API key from memory and frees b. NULL is a no-op. */
void backend_openai_close(backend_openai_t *b);

/* The endpoint requests go to, without credentials or query (owned by b);
 * safe to show people and to log. */
const char *backend_openai_endpoint(const backend_openai_t *b);

/* Answers question from the retrieved passages.
 *
 * passages: JSON array of {"id","title","section","text"} (retrieved by the
 * engine); at least one is needed. readings: JSON array (NULL or empty for
 * none). Neither is modified.
 *
 * mode: MUSE_MODE_INSTANT (and AUTO, whose escalation is the engine's) is one
 * call; THINKING is one call with a reasoning budget; CONTEMPLATING runs the
 * five specialist calls in parallel (curl multi: conditions, symptoms and
 * triage, medicines and interactions, measurements, lifestyle), then one
 * aggregator call, which is skipped when the specialists agree (same
 * seek_care level from the same sources).
 *
 * On success *out (caller frees with cJSON_Delete()) is
 * {"summary", "sections":[{"heading","text","citations":[ids]}],
 *  "follow_up_questions":[...], "seek_care":{"level","reason"}}
 * in which every citation is one of the passage ids and level is one of
 * emergency, urgent, routine, self_care. Output rails are the engine's job.
 *
 * steps (may be NULL): a cJSON array this function appends trace steps to,
 * {"name","detail","contributed","reasoning_tokens","ms"}, also on failure.
 * reasoning_tokens come from the server's usage:
 * usage.completion_tokens_details.reasoning_tokens when present, else
 * usage.completion_tokens. Details hold counts, outcomes and errors, never
 * the question's text; the one exception is "openai_disagreement", which
 * quotes the aggregator's note (model text written from the redacted
 * question).
 *
 * Returns MUSE_OK; MUSE_EBACKEND when the server failed or its answer was
 * invalid after one repair retry (the engine then falls back to grounded;
 * err names the URL, the HTTP status or the validation error, never the key);
 * MUSE_EINVAL for bad arguments; MUSE_ENOMEM. */
int backend_openai_answer(backend_openai_t *b, const char *question, const cJSON *passages,
                          const cJSON *readings, muse_mode_t mode, cJSON **out, cJSON *steps,
                          muse_error_t *err);

/* The JSON schema of the answer object sent as response_format, with
 * citations restricted to ids (may be NULL: any string). Exposed for docs
 * and tests; caller frees with cJSON_Delete(). */
cJSON *backend_openai_answer_schema(const char *const *ids, size_t n_ids);

#endif
