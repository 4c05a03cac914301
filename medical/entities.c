/* Entities in a question: the conditions, symptoms and medicines it names,
 * and whether each is asserted, denied ("no chest pain", "denies fever") or
 * only supposed ("what if I had diabetes").
 *
 * Finding the names is the knowledge store's job (kb_find_mentions matches
 * every title and alias in one pass, so a new alias is a content change, not
 * a code change). This file adds the context, NegEx-style (Chapman et al.
 * 2001): cue phrases from medical/data/context.json, looked for within a few
 * words of the mention in the same clause. Words that belong to other
 * mentions are not counted, so one cue reaches along a list
 * ("denies fever, chills or chest pain"). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

typedef struct span {
    size_t start, end;
} span_t;

typedef struct word {
    size_t start, end;
} word_t;

#define MAX_WORDS 64

static int is_word_char(unsigned char c)
{
    return isalnum(c) || c == '\'' || c >= 0x80;
}

static int is_clause_end(char c)
{
    return c == '.' || c == ';' || c == ':' || c == '?' || c == '!' || c == '\n';
}

static int in_spans(const span_t *sp, size_t n, size_t pos)
{
    for (size_t i = 0; i < n; i++)
        if (pos >= sp[i].start && pos < sp[i].end)
            return 1;
    return 0;
}

/* Does the phrase (lower-case words separated by single spaces) match the
 * words w[i..] exactly? Returns the number of words matched, or 0. */
static int phrase_at(const char *text, const word_t *w, int nw, int i, const char *phrase)
{
    int k = 0;
    const char *p = phrase;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (i + k >= nw)
            return 0;
        size_t wl = w[i + k].end - w[i + k].start;
        /* "don't" in the data matches "dont" and "don't" in the text. */
        char a[48], b[48];
        size_t al = 0, bl = 0;
        for (size_t j = 0; j < len && al < sizeof a - 1; j++)
            if (p[j] != '\'')
                a[al++] = p[j];
        for (size_t j = 0; j < wl && bl < sizeof b - 1; j++) {
            char c = text[w[i + k].start + j];
            if (c != '\'')
                b[bl++] = (char)tolower((unsigned char)c);
        }
        if (al != bl || memcmp(a, b, al) != 0)
            return 0;
        k++;
        p = e ? e + 1 : p + len;
    }
    return k;
}

/* Words of text in [from, to), skipping those inside other mentions. */
static int collect_words(const char *text, size_t from, size_t to, const span_t *skip, size_t nskip,
                         word_t *w, int max)
{
    int n = 0;
    size_t i = from;
    while (i < to) {
        while (i < to && !is_word_char((unsigned char)text[i]))
            i++;
        size_t s = i;
        while (i < to && is_word_char((unsigned char)text[i]))
            i++;
        if (i > s && !in_spans(skip, nskip, s)) {
            if (n == max) {
                memmove(w, w + 1, (size_t)(max - 1) * sizeof *w);
                n--;
            }
            w[n].start = s;
            w[n].end = i;
            n++;
        }
    }
    return n;
}

static int any_phrase_ends_within(const char *text, const word_t *w, int nw, const cJSON *list,
                                  int window, const cJSON *pseudo)
{
    const cJSON *c;
    for (int i = nw - 1; i >= 0 && i >= nw - window - 6; i--) {
        cJSON_ArrayForEach(c, list) {
            if (!cJSON_IsString(c))
                continue;
            int k = phrase_at(text, w, nw, i, c->valuestring);
            if (!k)
                continue;
            /* words after the cue, up to the mention */
            if (nw - (i + k) > window)
                continue;
            int is_pseudo = 0;
            const cJSON *ps;
            /* "no increase in" is not a denial of what follows. */
            cJSON_ArrayForEach(ps, pseudo)
                if (cJSON_IsString(ps) && phrase_at(text, w, nw, i, ps->valuestring)) {
                    is_pseudo = 1;
                    break;
                }
            if (!is_pseudo)
                return 1;
        }
    }
    return 0;
}

static void context_of(const char *text, size_t start, size_t end, const span_t *others, size_t n_others,
                       int *negated, int *hypothetical)
{
    const med_data_t *d = med_data();
    const cJSON *ctx = d->ok ? d->context : NULL;
    int neg = 0, hyp = 0;
    if (!ctx)
        goto out;
    int window = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ctx, "window"));
    int window_after = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(ctx, "window_after"));
    if (window <= 0)
        window = 5;
    if (window_after <= 0)
        window_after = 3;

    /* The clause before the mention: back to punctuation, then forward past
     * the last terminator word. */
    size_t cs = start;
    while (cs > 0 && !is_clause_end(text[cs - 1]))
        cs--;
    word_t w[MAX_WORDS];
    int nw = collect_words(text, cs, start, others, n_others, w, MAX_WORDS);
    const cJSON *terms = cJSON_GetObjectItemCaseSensitive(ctx, "terminators"), *t;
    for (int i = nw - 1; i >= 0; i--) {
        int cut = 0;
        cJSON_ArrayForEach(t, terms)
            if (cJSON_IsString(t) && phrase_at(text, w, nw, i, t->valuestring)) {
                cut = 1;
                break;
            }
        if (cut) {
            memmove(w, w + i + 1, (size_t)(nw - i - 1) * sizeof *w);
            nw -= i + 1;
            break;
        }
    }
    const cJSON *pseudo = cJSON_GetObjectItemCaseSensitive(ctx, "pseudo_negation");
    neg = any_phrase_ends_within(text, w, nw, cJSON_GetObjectItemCaseSensitive(ctx, "negation_before"),
                                 window, pseudo);
    /* Hypotheticals reach the whole clause: "what if I had a really bad
     * migraine" is as hypothetical at the end as at the start. */
    hyp = any_phrase_ends_within(text, w, nw, cJSON_GetObjectItemCaseSensitive(ctx, "hypothetical_before"),
                                 MAX_WORDS, NULL);

    if (!neg) {
        size_t ce = end;
        while (text[ce] && !is_clause_end(text[ce]))
            ce++;
        word_t a[MAX_WORDS];
        int na = collect_words(text, end, ce, others, n_others, a, MAX_WORDS);
        if (na > window_after + 3)
            na = window_after + 3;
        const cJSON *c;
        for (int i = 0; i < na && i <= window_after && !neg; i++)
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(ctx, "negation_after"))
                if (cJSON_IsString(c) && phrase_at(text, a, na, i, c->valuestring)) {
                    neg = 1;
                    break;
                }
    }
out:
    if (negated)
        *negated = neg;
    if (hypothetical)
        *hypothetical = hyp;
}

void medical_mention_context(const char *text, size_t start, size_t end, int *negated, int *hypothetical)
{
    size_t len = text ? strlen(text) : 0;
    if (!text || start > end || end > len) {
        if (negated)
            *negated = 0;
        if (hypothetical)
            *hypothetical = 0;
        return;
    }
    context_of(text, start, end, NULL, 0, negated, hypothetical);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s ? s : "");
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s ? s : "", n + 1);
    return p;
}

int medical_extract_entities(kb_t *kb, const char *text, med_entities_t *out, muse_error_t *err)
{
    kb_mentions_t m = {0};
    span_t *spans = NULL;
    int rc;
    memset(out, 0, sizeof *out);
    if (!kb || !text)
        return muse_err(err, MUSE_EINVAL, "entity extraction needs a knowledge store and text");
    if ((rc = kb_find_mentions(kb, text, &m, err)) != MUSE_OK)
        return rc;
    if (m.n == 0)
        goto done;
    spans = malloc(m.n * sizeof *spans);
    out->v = calloc(m.n, sizeof *out->v);
    if (!spans || !out->v) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory extracting entities");
        goto done;
    }
    for (size_t i = 0; i < m.n; i++) {
        spans[i].start = m.v[i].start;
        spans[i].end = m.v[i].end;
    }
    for (size_t i = 0; i < m.n; i++) {
        med_entity_t *e = &out->v[out->n];
        e->id = dup_str(m.v[i].id);
        e->kind = dup_str(m.v[i].kind);
        e->alias = dup_str(m.v[i].alias);
        e->start = m.v[i].start;
        e->end = m.v[i].end;
        out->n++;
        if (!e->id || !e->kind || !e->alias) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory extracting entities");
            goto done;
        }
        context_of(text, e->start, e->end, spans, m.n, &e->negated, &e->hypothetical);
    }
done:
    if (rc != MUSE_OK)
        med_entities_free(out);
    free(spans);
    kb_mentions_free(&m);
    return rc;
}

void med_entities_free(med_entities_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].id);
        free(e->v[i].kind);
        free(e->v[i].alias);
    }
    free(e->v);
    e->v = NULL;
    e->n = 0;
}
