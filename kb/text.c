/* Text normalisation for the knowledge store. Questions, titles and aliases
 * all pass through the same splitter and stemmer, so "Headaches?" in a
 * question meets "headache" in an alias. Stop words and synonyms are data
 * (kb/data/), compiled in and parsed once per process. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kb/kb_internal.h"
#include "muse_hash.h"

extern const unsigned char kb_data_stopwords_txt[];
extern const unsigned char kb_data_synonyms_json[];

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

void kb_stem(char *w)
{
    size_t n = strlen(w);
    if (n <= 3)
        return;
    if (n > 4 && strcmp(w + n - 3, "ies") == 0) {
        strcpy(w + n - 3, "y");
        return;
    }
    if (strcmp(w + n - 3, "sses") == 0 || strcmp(w + n - 2, "ss") == 0 ||
        strcmp(w + n - 2, "us") == 0 || strcmp(w + n - 2, "is") == 0)
        return;
    if (n > 4 && (strcmp(w + n - 4, "ches") == 0 || strcmp(w + n - 4, "shes") == 0 ||
                  strcmp(w + n - 3, "xes") == 0)) {
        w[n - 2] = '\0';
        return;
    }
    if (w[n - 1] == 's' && w[n - 2] != 's')
        w[n - 1] = '\0';
}

static int words_push(kb_words_t *out, const char *s, size_t len)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 16;
        char **v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    char *w = malloc(len + 1);
    if (!w)
        return MUSE_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '\'')
            w[k++] = (char)tolower((unsigned char)s[i]);
    w[k] = '\0';
    kb_stem(w);
    out->v[out->n++] = w;
    return MUSE_OK;
}

int kb_words_split(const char *text, kb_words_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    while (*p) {
        while (*p && !is_word_byte((unsigned char)*p))
            p++;
        const char *s = p;
        /* An apostrophe between letters stays inside the word. */
        while (*p && (is_word_byte((unsigned char)*p) ||
                      (*p == '\'' && p > s && is_word_byte((unsigned char)p[1]))))
            p++;
        if (p > s && words_push(out, s, (size_t)(p - s)) != MUSE_OK) {
            kb_words_free(out);
            return MUSE_ENOMEM;
        }
    }
    return MUSE_OK;
}

int kb_words_each(const char *text, int (*fn)(const char *word, void *ud), void *ud)
{
    /* The same words kb_words_split() gives, without an allocation each:
     * the vocabulary counts of a large build pass through here. Words longer
     * than the buffer are split into it whole or not at all (none exist in
     * practice; a 200-letter "word" is not one people search for). */
    char buf[256];
    const char *p = text;
    while (*p) {
        while (*p && !is_word_byte((unsigned char)*p))
            p++;
        const char *s = p;
        while (*p && (is_word_byte((unsigned char)*p) ||
                      (*p == '\'' && p > s && is_word_byte((unsigned char)p[1]))))
            p++;
        size_t len = (size_t)(p - s);
        if (len == 0 || len >= sizeof buf)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < len; i++)
            if (s[i] != '\'')
                buf[k++] = (char)tolower((unsigned char)s[i]);
        buf[k] = '\0';
        kb_stem(buf);
        int rc = fn(buf, ud);
        if (rc != MUSE_OK)
            return rc;
    }
    return MUSE_OK;
}

void kb_words_free(kb_words_t *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i]);
    free(w->v);
    memset(w, 0, sizeof *w);
}

char *kb_normalise(const char *text, int *nwords)
{
    kb_words_t w;
    if (kb_words_split(text, &w) != MUSE_OK)
        return NULL;
    size_t len = 1;
    for (size_t i = 0; i < w.n; i++)
        len += strlen(w.v[i]) + 1;
    char *out = malloc(len);
    if (out) {
        out[0] = '\0';
        char *q = out;
        for (size_t i = 0; i < w.n; i++) {
            if (i)
                *q++ = ' ';
            size_t l = strlen(w.v[i]);
            memcpy(q, w.v[i], l);
            q += l;
        }
        *q = '\0';
    }
    if (nwords)
        *nwords = (int)w.n;
    kb_words_free(&w);
    return out;
}

/* ---- data loaded once per process (read-only afterwards) ---- */

typedef struct synonym {
    char *word;
    const char **to;   /* NULL-terminated */
} synonym_t;

static pthread_once_t data_once = PTHREAD_ONCE_INIT;
static char **stopwords;
static size_t n_stopwords;
static synonym_t *synonyms;
static size_t n_synonyms;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_syn(const void *a, const void *b)
{
    return strcmp(((const synonym_t *)a)->word, ((const synonym_t *)b)->word);
}

static void load_data(void)
{
    /* Stop words: whitespace-separated, '#' comments to end of line. */
    const char *p = (const char *)kb_data_stopwords_txt;
    size_t cap = 0;
    while (*p) {
        if (*p == '#') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *s = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (n_stopwords == cap) {
            cap = cap ? cap * 2 : 256;
            char **v = realloc(stopwords, cap * sizeof *v);
            if (!v)
                return;
            stopwords = v;
        }
        char *w = strndup(s, (size_t)(p - s));
        if (!w)
            return;
        kb_stem(w);
        stopwords[n_stopwords++] = w;
    }
    qsort(stopwords, n_stopwords, sizeof *stopwords, cmp_str);

    cJSON *root = cJSON_Parse((const char *)kb_data_synonyms_json);
    if (!root)
        return;
    int n = cJSON_GetArraySize(root);
    synonyms = calloc((size_t)n + 1, sizeof *synonyms);
    cJSON *it;
    cJSON_ArrayForEach(it, root) {
        if (!synonyms || !cJSON_IsArray(it) || it->string[0] == '_')
            continue;
        int m = cJSON_GetArraySize(it);
        const char **to = calloc((size_t)m + 1, sizeof *to);
        char *w = strdup(it->string);
        if (!to || !w) {
            free(to);
            free(w);
            continue;
        }
        kb_stem(w);
        int k = 0;
        cJSON *t;
        cJSON_ArrayForEach(t, it) {
            if (cJSON_IsString(t)) {
                char *s = strdup(t->valuestring);
                if (s) {
                    kb_stem(s);
                    to[k++] = s;
                }
            }
        }
        synonyms[n_synonyms].word = w;
        synonyms[n_synonyms].to = to;
        n_synonyms++;
    }
    cJSON_Delete(root);
    if (synonyms)
        qsort(synonyms, n_synonyms, sizeof *synonyms, cmp_syn);
}

int kb_is_stopword(const char *w)
{
    pthread_once(&data_once, load_data);
    return stopwords && bsearch(&w, stopwords, n_stopwords, sizeof *stopwords, cmp_str) != NULL;
}

const char *const *kb_synonyms(const char *w)
{
    pthread_once(&data_once, load_data);
    if (!synonyms)
        return NULL;
    synonym_t key = {.word = (char *)w};
    synonym_t *s = bsearch(&key, synonyms, n_synonyms, sizeof *synonyms, cmp_syn);
    return s ? (const char *const *)s->to : NULL;
}

/* ---- word map (open addressing, FNV-1a) ---- */

static int wordmap_grow(kb_wordmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 4096;
    kb_word_slot_t *v = calloc(cap, sizeof *v);
    if (!v)
        return MUSE_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->v[i].word)
            continue;
        size_t h = (size_t)m->v[i].hash & (cap - 1);
        while (v[h].word)
            h = (h + 1) & (cap - 1);
        v[h] = m->v[i];
    }
    free(m->v);
    m->v = v;
    m->cap = cap;
    return MUSE_OK;
}

int kb_wordmap_add(kb_wordmap_t *m, const char *word, long delta, long name_delta)
{
    return kb_wordmap_add_once(m, word, delta, name_delta, 0);
}

int kb_wordmap_add_once(kb_wordmap_t *m, const char *word, long delta, long name_delta, unsigned long stamp)
{
    if ((m->n + 1) * 2 > m->cap && wordmap_grow(m) != MUSE_OK)
        return MUSE_ENOMEM;
    uint64_t hash = muse_fnv1a64(MUSE_FNV64_SEED, word, strlen(word));
    size_t h = (size_t)hash & (m->cap - 1);
    while (m->v[h].word && (m->v[h].hash != hash || strcmp(m->v[h].word, word) != 0))
        h = (h + 1) & (m->cap - 1);
    kb_word_slot_t *s = &m->v[h];
    if (!s->word) {
        if (!(s->word = strdup(word)))
            return MUSE_ENOMEM;
        s->hash = hash;
        m->n++;
    } else if (stamp && s->stamp == stamp) {
        return MUSE_OK;   /* already counted for this text */
    }
    s->stamp = stamp;
    s->df += delta;
    s->name += name_delta;
    return MUSE_OK;
}

kb_word_slot_t *kb_wordmap_find(const kb_wordmap_t *m, const char *word)
{
    if (!m->cap)
        return NULL;
    uint64_t hash = muse_fnv1a64(MUSE_FNV64_SEED, word, strlen(word));
    size_t h = (size_t)hash & (m->cap - 1);
    while (m->v[h].word) {
        if (m->v[h].hash == hash && strcmp(m->v[h].word, word) == 0)
            return &m->v[h];
        h = (h + 1) & (m->cap - 1);
    }
    return NULL;
}

void kb_wordmap_free(kb_wordmap_t *m)
{
    for (size_t i = 0; m && i < m->cap; i++)
        free(m->v[i].word);
    if (m) {
        free(m->v);
        memset(m, 0, sizeof *m);
    }
}
