/* muse_ask(): the answer as a C struct, for programs that would rather not
 * parse JSON. The struct is a read-only view: every string in it points into
 * the one answer tree this call built (or into the JSON text of the whole
 * answer), and all of it is freed at once by muse_answer_free(), so a caller
 * never frees a field and never outlives one by accident. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/muse_internal.h"
#include "muse_err.h"

typedef struct answer_impl {
    muse_answer_t pub;      /* first, so a muse_answer_t * is an answer_impl_t * */
    cJSON *root;
    char *json;
    muse_answer_section_t *sections;
    const char **citations; /* every section's citations, back to back */
    muse_answer_source_t *sources;
    const char **follow_ups;
    char **charts;          /* each chart spec as JSON text */
} answer_impl_t;

static const char *str(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const char *str_or(const cJSON *o, const char *k, const char *def)
{
    const char *s = str(o, k);
    return s ? s : def;
}

void muse_answer_free(muse_answer_t *a)
{
    if (!a)
        return;
    answer_impl_t *x = (answer_impl_t *)a;
    for (size_t i = 0; x->charts && i < a->n_charts; i++)
        free(x->charts[i]);
    free(x->charts);
    free(x->follow_ups);
    free(x->sources);
    free(x->citations);
    free(x->sections);
    free(x->json);
    cJSON_Delete(x->root);
    free(x);
}

/* Fills the view from x->root. Returns MUSE_OK or MUSE_ENOMEM. */
static int fill(answer_impl_t *x)
{
    muse_answer_t *a = &x->pub;
    const cJSON *root = x->root;
    const cJSON *safety = cJSON_GetObjectItemCaseSensitive(root, "safety");
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(root, "answer");
    const cJSON *seek = cJSON_GetObjectItemCaseSensitive(ans, "seek_care");
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
    a->json = x->json;
    a->mode = str_or(root, "mode", "");
    a->verdict = str_or(safety, "verdict", "allow");
    a->summary = str_or(ans, "summary", "");
    a->seek_care = str_or(seek, "level", "self_care");
    a->seek_care_reason = str_or(seek, "reason", "");
    a->disclaimer = str_or(ans, "disclaimer", "");
    const cJSON *lat = cJSON_GetObjectItemCaseSensitive(usage, "latency_ms");
    a->latency_ms = cJSON_IsNumber(lat) ? lat->valuedouble : 0;

    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(ans, "sections");
    size_t ns = (size_t)cJSON_GetArraySize(secs), nc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, secs)
        nc += (size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(it, "citations"));
    if ((ns && !(x->sections = calloc(ns, sizeof *x->sections))) ||
        (nc && !(x->citations = calloc(nc, sizeof *x->citations))))
        return MUSE_ENOMEM;
    size_t i = 0, k = 0;
    cJSON_ArrayForEach(it, secs) {
        muse_answer_section_t *s = &x->sections[i++];
        s->heading = str_or(it, "heading", "");
        s->text = str_or(it, "text", "");
        s->citations = x->citations + k;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(it, "citations")) {
            if (cJSON_IsString(c)) {
                x->citations[k++] = c->valuestring;
                s->n_citations++;
            }
        }
    }
    a->sections = x->sections;
    a->n_sections = ns;

    const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(root, "sources");
    size_t nsrc = (size_t)cJSON_GetArraySize(srcs);
    if (nsrc && !(x->sources = calloc(nsrc, sizeof *x->sources)))
        return MUSE_ENOMEM;
    i = 0;
    cJSON_ArrayForEach(it, srcs) {
        muse_answer_source_t *s = &x->sources[i++];
        s->id = str_or(it, "id", "");
        s->title = str_or(it, "title", s->id);
        s->kind = str_or(it, "kind", "");
        s->review_status = str_or(it, "review_status", "draft");
        const cJSON *refs = cJSON_GetObjectItemCaseSensitive(it, "references");
        s->url = str(cJSON_GetArrayItem(refs, 0), "url");
    }
    a->sources = x->sources;
    a->n_sources = nsrc;

    const cJSON *fu = cJSON_GetObjectItemCaseSensitive(ans, "follow_up_questions");
    size_t nf = (size_t)cJSON_GetArraySize(fu);
    if (nf && !(x->follow_ups = calloc(nf, sizeof *x->follow_ups)))
        return MUSE_ENOMEM;
    i = 0;
    cJSON_ArrayForEach(it, fu)
        if (cJSON_IsString(it))
            x->follow_ups[i++] = it->valuestring;
    a->follow_up_questions = x->follow_ups;
    a->n_follow_up_questions = i;

    const cJSON *charts = cJSON_GetObjectItemCaseSensitive(root, "charts");
    size_t nch = (size_t)cJSON_GetArraySize(charts);
    if (nch && !(x->charts = calloc(nch, sizeof *x->charts)))
        return MUSE_ENOMEM;
    i = 0;
    cJSON_ArrayForEach(it, charts) {
        if (!(x->charts[i] = cJSON_PrintUnformatted(it)))
            return MUSE_ENOMEM;
        a->n_charts = ++i;
    }
    a->charts = (const char *const *)x->charts;
    return MUSE_OK;
}

int muse_ask(muse_t *m, const char *question, const muse_ask_options_t *o, muse_answer_t **out,
             muse_error_t *err)
{
    *out = NULL;
    answer_impl_t *x = calloc(1, sizeof *x);
    if (!x)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rc = engine_answer(m, question, o, &x->root, err);
    if (rc != MUSE_OK)
        goto fail;
    if (!(x->json = cJSON_PrintUnformatted(x->root)) || fill(x) != MUSE_OK) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    *out = &x->pub;
    return MUSE_OK;
fail:
    muse_answer_free(&x->pub);
    return rc;
}
