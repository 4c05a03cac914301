/* A small learned backstop for the harmful-request rules: logistic
 * regression over hashed word uni- and bigrams. The weights are data
 * (safety/data/classifier.json), trained by safety/train_classifier.py on the
 * project's own written examples (tests/safety/data/train.tsv, written by
 * tests/safety/data/make_train.py), never on the evaluation sets. It only
 * scores text that no rule flagged and that rules.json's classifier_gate calls
 * a request. Hashing keeps the model a flat array with no
 * vocabulary to ship; FNV-1a is stable across platforms, so the script and
 * this file agree on every bucket. A file without weights disables the model. */
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "muse_hash.h"
#include "safety/safety_internal.h"

#include <math.h>

struct sf_model {
    unsigned buckets;  /* a power of two */
    double bias;
    double threshold;
    float *w;
};

void sf_free_model(struct sf_model *m)
{
    if (!m)
        return;
    free(m->w);
    free(m);
}

int sf_load_model(safety_t *s, muse_error_t *err)
{
    int rc = MUSE_OK;
    cJSON *j = sf_parse_data(safety_data_classifier_json, safety_data_classifier_json_len,
                             "classifier.json", err);
    if (!j)
        return MUSE_ECORRUPT;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "weights");
    const cJSON *nb = cJSON_GetObjectItemCaseSensitive(j, "buckets");
    if (!cJSON_IsArray(w) || cJSON_GetArraySize(w) == 0 || !cJSON_IsNumber(nb))
        goto done; /* no model: rules only */
    unsigned buckets = (unsigned)nb->valuedouble;
    if (buckets == 0 || (buckets & (buckets - 1)) || buckets > (1u << 24)) {
        rc = muse_err(err, MUSE_ECORRUPT,
                      "safety policy: classifier.json: buckets must be a power of two");
        goto done;
    }
    struct sf_model *m = calloc(1, sizeof *m);
    if (!m || !(m->w = calloc(buckets, sizeof *m->w))) {
        free(m);
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    m->buckets = buckets;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "bias");
    m->bias = cJSON_IsNumber(b) ? b->valuedouble : 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "threshold");
    m->threshold = cJSON_IsNumber(t) ? t->valuedouble : 0.5;
    /* Sparse weights: [[bucket, weight], ...]. */
    const cJSON *pair;
    cJSON_ArrayForEach(pair, w)
    {
        const cJSON *k = cJSON_GetArrayItem(pair, 0), *v = cJSON_GetArrayItem(pair, 1);
        if (!cJSON_IsNumber(k) || !cJSON_IsNumber(v) || k->valuedouble < 0 ||
            k->valuedouble >= buckets) {
            sf_free_model(m);
            rc = muse_err(err, MUSE_ECORRUPT,
                          "safety policy: classifier.json: weights must be [bucket, weight] "
                          "pairs with bucket < %u",
                          buckets);
            goto done;
        }
        m->w[(unsigned)k->valuedouble] = (float)v->valuedouble;
    }
    s->model = m;
done:
    cJSON_Delete(j);
    return rc;
}

/* Tokens: runs of ASCII letters, digits and apostrophes, lower-cased. */
double sf_model_score(const safety_t *s, const char *text, size_t len)
{
    const struct sf_model *m = s->model;
    if (!m)
        return -1;
    double z = m->bias;
    char prev[48] = "<s>", cur[48];
    size_t i = 0;
    for (;;) {
        while (i < len && !((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
                            (text[i] >= '0' && text[i] <= '9')))
            i++;
        size_t n = 0;
        while (i < len && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z') ||
                           (text[i] >= '0' && text[i] <= '9') || text[i] == '\'')) {
            if (n + 1 < sizeof cur)
                cur[n++] = (char)(text[i] | (text[i] >= 'A' && text[i] <= 'Z' ? 0x20 : 0));
            i++;
        }
        if (n == 0)
            strcpy(cur, "</s>");
        else
            cur[n] = '\0';
        uint32_t h1 = muse_fnv1a32(MUSE_FNV32_SEED, cur, strlen(cur));
        uint32_t h2 = muse_fnv1a32(muse_fnv1a32(muse_fnv1a32(MUSE_FNV32_SEED, prev, strlen(prev)), " ", 1), cur,
                                   strlen(cur));
        if (n)
            z += m->w[h1 & (m->buckets - 1)];
        z += m->w[h2 & (m->buckets - 1)];
        if (n == 0)
            break;
        memcpy(prev, cur, n + 1);
    }
    double p = 1.0 / (1.0 + exp(-z));
    /* Rescale so that the model's own threshold maps to 0.5. */
    return p >= m->threshold ? 0.5 + 0.5 * (p - m->threshold) / (1 - m->threshold + 1e-9)
                             : 0.5 * p / (m->threshold + 1e-9);
}
