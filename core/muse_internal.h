/* Private to core/: the muse_t handle and the pieces of the engine that the
 * CLI, the server and the tests share. */
#ifndef MUSE_CORE_INTERNAL_H
#define MUSE_CORE_INTERNAL_H

#include <pthread.h>

#include <cjson/cJSON.h>

#include "core/backend.h"
#include "kb/kb.h"
#include "muse.h"
#include "safety/safety.h"

struct muse {
    char *kb_path;
    char *locale;
    int reviewed_only;
    safety_t *safety;
    backend_openai_t *openai;   /* NULL: grounded only */
    /* SQLite connections are not shared between threads: each ask borrows
     * one from this pool and returns it, opening another when all are busy. */
    pthread_mutex_t pool_lock;
    kb_t **pool;
    size_t n_pool, cap_pool;
};

/* Borrows a knowledge-store connection; give it back with muse_kb_release(). */
int muse_kb_acquire(muse_t *m, kb_t **out, muse_error_t *err);
void muse_kb_release(muse_t *m, kb_t *kb);

/* Answers a question as a cJSON answer object (DESIGN.md); caller deletes it. */
int engine_answer(muse_t *m, const char *question, const muse_ask_options_t *o, cJSON **out,
                  muse_error_t *err);

/* Counts tokens the way the trace does: words and punctuation marks. */
int engine_count_tokens(const char *text);

#endif
