/* The engine: question -> safety -> understand -> retrieve -> compose ->
 * enrich -> output rails -> answer object.
 *
 * The grounded backend composes answers only from knowledge-store passages
 * and guideline ranges, so every sentence it says points at the entry or
 * range it came from. The modes change how much work is done, never the shape
 * of the answer: instant retrieves once for the whole question; thinking
 * splits it into sub-questions, retrieves for each and checks every claim
 * against its passage; contemplating runs specialist agents in parallel
 * threads and merges them; auto starts instant and escalates only when its
 * confidence is low. Each step records what it did and the tokens of the
 * intermediate text it produced; steps that contributed nothing are pruned
 * from the kept trace and counted. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/engine_internal.h"
#include "core/log.h"
#include "core/muse_internal.h"
#include "medical/medical.h"
#include "muse_err.h"

/* ---- muse_t ---- */

int muse_open(const muse_options_t *o, muse_t **out, muse_error_t *err)
{
    *out = NULL;
    muse_options_t def;
    if (!o) {
        muse_options_init(&def);
        o = &def;
    }
    const char *path = o->kb_path;
    if (!path || !*path)
        path = getenv("MUSE_KB");
    if (!path || !*path)
        path = MUSE_DEFAULT_KB;
    muse_t *m = calloc(1, sizeof *m);
    if (!m)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    pthread_mutex_init(&m->pool_lock, NULL);
    m->kb_path = strdup(path);
    m->locale = strdup(o->locale && *o->locale ? o->locale : "US");
    m->reviewed_only = o->reviewed_only;
    int rc = MUSE_OK;
    if (!m->kb_path || !m->locale) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    /* Open one connection now so a missing or damaged store fails here,
     * with its path, rather than on the first question. */
    kb_t *kb = NULL;
    if ((rc = kb_open(m->kb_path, KB_READONLY, &kb, err)) != MUSE_OK)
        goto fail;
    muse_kb_release(m, kb);
    if ((rc = safety_open(m->locale, &m->safety, err)) != MUSE_OK)
        goto fail;
    if (o->backend && strcmp(o->backend, "openai") == 0) {
        backend_config_t bc;
        backend_config_from_env(&bc);
        bc.allow_phi = o->allow_phi;
        if ((rc = backend_openai_open(&bc, m->safety, &m->openai, err)) != MUSE_OK)
            goto fail;
    } else if (o->backend && *o->backend && strcmp(o->backend, "grounded") != 0) {
        rc = muse_err(err, MUSE_EINVAL, "unknown backend \"%s\": use grounded or openai", o->backend);
        goto fail;
    }
    if ((rc = engine_data_init(err)) != MUSE_OK)
        goto fail;
    *out = m;
    return MUSE_OK;
fail:
    muse_close(m);
    return rc;
}

void muse_close(muse_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_pool; i++)
        kb_close(m->pool[i]);
    free(m->pool);
    /* The backend borrows the safety policy: close it first. */
    backend_openai_close(m->openai);
    safety_close(m->safety);
    pthread_mutex_destroy(&m->pool_lock);
    free(m->kb_path);
    free(m->locale);
    free(m);
}

const char *muse_kb_path(const muse_t *m)
{
    return m ? m->kb_path : NULL;
}

int muse_kb_acquire(muse_t *m, kb_t **out, muse_error_t *err)
{
    pthread_mutex_lock(&m->pool_lock);
    if (m->n_pool > 0) {
        *out = m->pool[--m->n_pool];
        pthread_mutex_unlock(&m->pool_lock);
        return MUSE_OK;
    }
    pthread_mutex_unlock(&m->pool_lock);
    return kb_open(m->kb_path, KB_READONLY, out, err);
}

void muse_kb_release(muse_t *m, kb_t *kb)
{
    if (!kb)
        return;
    pthread_mutex_lock(&m->pool_lock);
    if (m->n_pool == m->cap_pool) {
        size_t cap = m->cap_pool ? m->cap_pool * 2 : 8;
        kb_t **v = realloc(m->pool, cap * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&m->pool_lock);
            kb_close(kb);
            return;
        }
        m->pool = v;
        m->cap_pool = cap;
    }
    m->pool[m->n_pool++] = kb;
    pthread_mutex_unlock(&m->pool_lock);
}

/* ---- public entry points ---- */

int muse_ask_json(muse_t *m, const char *question, const muse_ask_options_t *o, char **json_out,
                  muse_error_t *err)
{
    *json_out = NULL;
    cJSON *a = NULL;
    int rc = engine_answer(m, question, o, &a, err);
    if (rc != MUSE_OK)
        return rc;
    *json_out = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return *json_out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
}

int muse_safety_check_json(muse_t *m, const char *text, char **json_out, muse_error_t *err)
{
    *json_out = NULL;
    safety_result_t r;
    int rc = safety_check_input(m->safety, text, &r, err);
    if (rc != MUSE_OK)
        return rc;
    cJSON *j = safety_result_json(&r, text);
    safety_result_free(&r);
    if (!j)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    *json_out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *json_out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
}

int engine_count_tokens(const char *text)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (p && *p) {
        if (isspace(*p)) {
            p++;
        } else if (isalnum(*p) || *p >= 0x80) {
            while (*p && (isalnum(*p) || *p >= 0x80))
                p++;
            n++;
        } else {
            p++;
            n++;
        }
    }
    return n;
}
