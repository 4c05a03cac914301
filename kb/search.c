/* Retrieval over the knowledge store.
 *
 * A question is split into words; question words and stop words are dropped;
 * a word the store has never seen is corrected to the nearest word it has
 * (a trigram index finds candidates, edit distance decides), and lay words
 * gain their clinical synonyms (kb/data/synonyms.json). The evidence for an
 * entry then adds up from three places:
 *   - a title or alias said in full ("high blood pressure"): a strong boost,
 *     more for longer names, so a question naming a condition lands on that
 *     condition's entry rather than on one that merely mentions it;
 *   - BM25 over titles and aliases (names_fts, titles weighing most);
 *   - BM25 over each section on its own (sections_fts), taking the entry's
 *     best section: a question is usually about one aspect of a topic, and a
 *     section that answers it should not be diluted by the rest of the entry.
 * Entries that cover more of the question's words gain a little over ones
 * that match one word many times. A search restricted to a section kind
 * ("treatment of asthma") ranks by that section and returns only entries
 * that have it.
 *
 * The section index is read in one pass when the question's words are rare
 * enough; on a large store, common words are left out of that pass (which
 * also stops after a fixed number of rows) and only used to rescore the best
 * candidates from their own text, which keeps the time bounded. BM25 takes
 * document frequencies from the vocabulary table rather than from FTS5's
 * bm25(), which reads each phrase's whole doclist on every query. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb/kb_internal.h"
#include "muse_err.h"

#define MAX_CONCEPTS 24
#define MAX_PHRASES 60
#define MAX_PHRASE_WORDS 8
#ifndef KB_TUNE
/* Section rows read in the one pass (see the file comment). */
#define SECTION_ROW_BUDGET 1500
/* Candidates rescored with every word on a large store. */
#define RESCORE_TOP 60
#endif

/* Weights of the evidence. Name boosts keep the scale the engine reads as
 * confidence (a full name said scores 14-30); the rest were set on the
 * labelled questions of tests/kb as a whole, never per question. */
#ifndef KB_TUNE
#define W_NAMES 1.0
#define W_SECTION 1.5
#define W_SECTION_REST 0.15
#define W_COVERAGE 3.0
#define FIRST_MENTION_BONUS 4.0
#else
/* Tuning builds read the weights from the environment (never shipped). */
static double tune(const char *name, double def)
{
    const char *v = getenv(name);
    return v ? atof(v) : def;
}
#define SECTION_ROW_BUDGET ((long)tune("SECTION_ROW_BUDGET", 1500))
#define RESCORE_TOP ((size_t)tune("RESCORE_TOP", 60))
#define W_NAMES tune("W_NAMES", 1.0)
#define W_SECTION tune("W_SECTION", 1.5)
#define W_SECTION_REST tune("W_SECTION_REST", 0.15)
#define W_COVERAGE tune("W_COVERAGE", 3.0)
#define FIRST_MENTION_BONUS tune("FIRST_MENTION_BONUS", 4.0)
#endif

/* ---- mentions: names said in full ---- */

typedef struct span {
    size_t start, end;
} span_t;

static size_t word_spans(const char *text, span_t *spans, size_t max)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && n < max) {
        while (*p && !(isalnum(*p) || *p >= 0x80))
            p++;
        const unsigned char *s = p;
        while (*p && (isalnum(*p) || *p >= 0x80 || (*p == '\'' && p > s && (isalnum(p[1]) || p[1] >= 0x80))))
            p++;
        if (p > s) {
            spans[n].start = (size_t)(s - (const unsigned char *)text);
            spans[n].end = (size_t)(p - (const unsigned char *)text);
            n++;
        }
    }
    return n;
}

/* Looks up the smallest stored name >= key: sets *exact when key is a name
 * and returns whether some longer name starts with key and a space. */
static int name_prefix(kb_t *kb, const char *key, int *exact, muse_error_t *err)
{
    size_t kl = strlen(key);
    *exact = 0;
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_NORM_GE, err);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, key, (int)kl, SQLITE_STATIC);
    const char *ge = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (ge && strcmp(ge, key) == 0) {
        *exact = 1;
        /* Is there a longer one too? Everything after key sorts from key" ". */
        char *k2 = malloc(kl + 2);
        if (!k2)
            return -1;
        memcpy(k2, key, kl);
        k2[kl] = ' ';
        k2[kl + 1] = '\0';
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, k2, (int)kl + 1, SQLITE_STATIC);
        ge = sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        int more = ge && strncmp(ge, k2, kl + 1) == 0;
        sqlite3_reset(st);
        free(k2);
        return more;
    }
    int more = ge && strncmp(ge, key, kl) == 0 && ge[kl] == ' ';
    sqlite3_reset(st);
    return more;
}

typedef struct match {
    size_t i;
    int len;
} match_t;

static int cmp_match(const void *a, const void *b)
{
    const match_t *x = a, *y = b;
    if (x->len != y->len)
        return y->len - x->len;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* kb_find_mentions, also giving each mention's entry row number (ns, which
 * the caller frees, may be NULL). */
static int find_mentions_in_store(kb_t *kb, const char *text, kb_mentions_t *out, sqlite3_int64 **ns,
                                  muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (ns)
        *ns = NULL;
    kb_words_t w;
    if (kb_words_split(text, &w) != MUSE_OK)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rc = MUSE_OK;
    size_t nw = w.n ? w.n : 1;
    span_t *spans = calloc(nw, sizeof *spans);
    char *covered = calloc(nw, 1);
    match_t *matches = calloc(nw * MAX_PHRASE_WORDS, sizeof *matches);
    char *key = malloc(strlen(text) * 2 + 2);
    sqlite3_int64 *nv = NULL;
    size_t nm = 0, cap = 0;
    if (!spans || !covered || !matches || !key)
        goto oom;
    size_t nsp = word_spans(text, spans, nw);
    if (nsp < w.n)
        w.n = nsp;   /* never happens: both split the same way */
    /* Every name that starts at each word, walking the sorted name index a
     * word at a time for as long as some name continues. */
    for (size_t i = 0; i < w.n; i++) {
        key[0] = '\0';
        for (int len = 1; len <= MAX_PHRASE_WORDS && i + (size_t)len <= w.n; len++) {
            if (len > 1)
                strcat(key, " ");
            strcat(key, w.v[i + (size_t)len - 1]);
            int exact = 0;
            int more = name_prefix(kb, key, &exact, err);
            if (more < 0) {
                rc = err ? err->code : MUSE_ECORRUPT;
                goto done;
            }
            /* A lone stop word is never a mention, even if some alias is one. */
            if (exact && !(len == 1 && (kb_is_stopword(key) || strlen(key) < 2)))
                matches[nm++] = (match_t){i, len};
            if (!more)
                break;
        }
    }
    /* Longest first, so "type 2 diabetes" wins over "diabetes". */
    qsort(matches, nm, sizeof *matches, cmp_match);
    for (size_t m = 0; m < nm; m++) {
        size_t i = matches[m].i;
        int len = matches[m].len, skip = 0;
        for (int k = 0; k < len; k++)
            skip |= covered[i + (size_t)k];
        if (skip)
            continue;
        key[0] = '\0';
        for (int k = 0; k < len; k++) {
            if (k)
                strcat(key, " ");
            strcat(key, w.v[i + (size_t)k]);
        }
        sqlite3_stmt *st = kb_stmt(kb, KB_ST_NORM_EQ, err);
        if (!st) {
            rc = err ? err->code : MUSE_ECORRUPT;
            goto done;
        }
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            int dup = 0;
            for (size_t k = 0; k < out->n; k++)
                dup |= out->v[k].start == spans[i].start && strcmp(out->v[k].id, id) == 0;
            if (dup)
                continue;
            if (out->n == cap) {
                cap = cap ? cap * 2 : 8;
                kb_mention_t *v = realloc(out->v, cap * sizeof *v);
                sqlite3_int64 *n2 = v ? realloc(nv, cap * sizeof *n2) : NULL;
                if (v)
                    out->v = v;
                if (!v || !n2) {
                    sqlite3_reset(st);
                    goto oom;
                }
                nv = n2;
            }
            kb_mention_t *mt = &out->v[out->n];
            mt->id = strdup(id);
            mt->kind = strdup((const char *)sqlite3_column_text(st, 1));
            mt->alias = strdup((const char *)sqlite3_column_text(st, 2));
            mt->start = spans[i].start;
            mt->end = spans[i + (size_t)len - 1].end;
            nv[out->n] = sqlite3_column_int64(st, 3);
            out->n++;
            if (!mt->id || !mt->kind || !mt->alias) {
                sqlite3_reset(st);
                goto oom;
            }
        }
        sqlite3_reset(st);
        for (int k = 0; k < len; k++)
            covered[i + (size_t)k] = 1;
    }
    goto done;
oom:
    rc = muse_err(err, MUSE_ENOMEM, "out of memory");
done:
    free(spans);
    free(covered);
    free(matches);
    free(key);
    kb_words_free(&w);
    if (rc != MUSE_OK) {
        kb_mentions_free(out);
        free(nv);
    } else if (ns) {
        *ns = nv;
    } else {
        free(nv);
    }
    return rc;
}

/* Copies mentions (and their row numbers when ns is not NULL). */
static int mentions_copy(const kb_mentions_t *from, const sqlite3_int64 *from_ns, kb_mentions_t *out,
                         sqlite3_int64 **ns)
{
    memset(out, 0, sizeof *out);
    if (ns)
        *ns = NULL;
    size_t n = from->n;
    if (n == 0)
        return MUSE_OK;
    out->v = calloc(n, sizeof *out->v);
    sqlite3_int64 *nv = ns ? malloc(n * sizeof *nv) : NULL;
    if (!out->v || (ns && !nv)) {
        free(out->v);
        free(nv);
        out->v = NULL;
        return MUSE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        kb_mention_t *m = &out->v[i];
        *m = from->v[i];
        m->id = strdup(from->v[i].id);
        m->kind = strdup(from->v[i].kind);
        m->alias = strdup(from->v[i].alias);
        out->n++;
        if (!m->id || !m->kind || !m->alias) {
            kb_mentions_free(out);
            free(nv);
            return MUSE_ENOMEM;
        }
        if (nv)
            nv[i] = from_ns[i];
    }
    if (ns)
        *ns = nv;
    return MUSE_OK;
}

void kb_memo_mentions_clear(kb_t *kb)
{
    for (int i = 0; i < KB_MEMO_MENTIONS; i++) {
        kb_memo_mentions_t *mm = &kb->memo_mentions[i];
        free(mm->text);
        kb_mentions_free(&mm->m);
        free(mm->ns);
        memset(mm, 0, sizeof *mm);
    }
}

/* find_mentions_in_store, answered from the connection's memo when the same
 * text was read earlier in this snapshot (see struct kb). */
static int find_mentions(kb_t *kb, const char *text, kb_mentions_t *out, sqlite3_int64 **ns, muse_error_t *err)
{
    if (kb->snap)
        for (int i = 0; i < KB_MEMO_MENTIONS; i++) {
            kb_memo_mentions_t *mm = &kb->memo_mentions[i];
            if (mm->text && strcmp(mm->text, text) == 0) {
                mm->used = ++kb->tick;
                if (mentions_copy(&mm->m, mm->ns, out, ns) != MUSE_OK)
                    return muse_err(err, MUSE_ENOMEM, "out of memory");
                return MUSE_OK;
            }
        }
    sqlite3_int64 *nv = NULL;
    int rc = find_mentions_in_store(kb, text, out, &nv, err);
    if (rc != MUSE_OK)
        return rc;
    if (kb->snap) {
        int slot = 0;
        for (int i = 0; i < KB_MEMO_MENTIONS; i++) {
            if (!kb->memo_mentions[i].text) {
                slot = i;
                break;
            }
            if (kb->memo_mentions[i].used < kb->memo_mentions[slot].used)
                slot = i;
        }
        kb_memo_mentions_t mm = {.text = strdup(text), .used = ++kb->tick};
        if (mm.text && mentions_copy(out, nv, &mm.m, &mm.ns) == MUSE_OK) {
            kb_memo_mentions_t *old = &kb->memo_mentions[slot];
            free(old->text);
            kb_mentions_free(&old->m);
            free(old->ns);
            *old = mm;
        } else {
            free(mm.text);
        }
    }
    if (ns)
        *ns = nv;
    else
        free(nv);
    return MUSE_OK;
}

int kb_find_mentions(kb_t *kb, const char *text, kb_mentions_t *out, muse_error_t *err)
{
    if (!text) {
        memset(out, 0, sizeof *out);
        return muse_err(err, MUSE_EINVAL, "no text given");
    }
    int own = kb_read_begin(kb);
    int rc = find_mentions(kb, text, out, NULL, err);
    kb_read_end(kb, own);
    return rc;
}

void kb_mentions_free(kb_mentions_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].id);
        free(m->v[i].kind);
        free(m->v[i].alias);
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* ---- typo fallback ---- */

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), giving up once it exceeds max. */
static int osa_distance(const char *a, const char *b, int max)
{
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 63 || m > 63 || abs(n - m) > max)
        return max + 1;
    int d[64][64];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++) {
        int row_min = max + 1;
        for (int j = 1; j <= m; j++) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < row_min)
                row_min = v;
        }
        if (row_min > max)
            return max + 1;
    }
    return d[n][m];
}

/* Whether the store knows w (in some section or name); *df gets the number
 * of sections holding it and *ndf the number of entries whose names do. */
static int word_known(kb_t *kb, const char *w, long *df, long *ndf)
{
    *df = *ndf = 0;
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_VOCAB_HAS, NULL);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, w, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *df = (long)sqlite3_column_int64(st, 0);
        *ndf = (long)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return *df > 0 || *ndf > 0;
}

/* The closest known word to a word the store has never seen: candidates
 * share trigrams with it (so a mistyped first letter is found too), and the
 * one within one edit (short words) or two (longer ones) wins, ties going to
 * words that name something, then to commoner words. NULL if none; the
 * caller frees the result. */
static char *correct_word(kb_t *kb, const char *w)
{
    size_t n = strlen(w);
    if (n < 4 || n > 40)
        return NULL;
    for (const char *p = w; *p; p++)
        if (!isalpha((unsigned char)*p))
            return NULL;
    int max = n <= 5 ? 1 : 2;
    /* "dia" OR "iab" OR ... : each quoted 3-letter string is one trigram. */
    char q[40 * 8 + 8];
    size_t ql = 0;
    for (size_t i = 0; i + 3 <= n; i++)
        ql += (size_t)snprintf(q + ql, sizeof q - ql, "%s\"%.3s\"", i ? " OR " : "", w + i);
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_VOCAB_TRI, NULL);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, q, -1, SQLITE_STATIC);
    char *best = NULL;
    int best_d = max + 1, best_name = 0;
    long best_df = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *cand = (const char *)sqlite3_column_text(st, 0);
        long df = (long)sqlite3_column_int64(st, 1);
        int name = sqlite3_column_int(st, 2);
        int d = osa_distance(w, cand, max);
        if (d > max)
            continue;
        if (d < best_d || (d == best_d && (name > best_name || (name == best_name && df > best_df)))) {
            char *c = strdup(cand);
            if (!c)
                continue;
            free(best);
            best = c;
            best_d = d;
            best_name = name;
            best_df = df;
        }
    }
    sqlite3_reset(st);
    return best;
}

/* ---- candidates ---- */

typedef struct cand {
    sqlite3_int64 n;         /* entries.n; -1 marks a free slot */
    double boost;            /* names said in full */
    double names;            /* BM25 over title and aliases */
    double best, rest;       /* best section's BM25, and the sum of the others */
    sqlite3_int64 best_row;  /* that section's row, or -1 */
    uint64_t mask;           /* query phrases matched anywhere */
    double score;
} cand_t;

typedef struct cands {
    cand_t *v;
    size_t cap, n;
} cands_t;

static cand_t *cand_get(cands_t *c, sqlite3_int64 n)
{
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        cand_t *v = malloc(cap * sizeof *v);
        if (!v)
            return NULL;
        for (size_t i = 0; i < cap; i++)
            v[i].n = -1;
        for (size_t i = 0; i < c->cap; i++) {
            if (c->v[i].n < 0)
                continue;
            size_t h = ((uint64_t)c->v[i].n * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1);
            while (v[h].n >= 0)
                h = (h + 1) & (cap - 1);
            v[h] = c->v[i];
        }
        free(c->v);
        c->v = v;
        c->cap = cap;
    }
    size_t h = ((uint64_t)n * 0x9E3779B97F4A7C15ULL >> 20) & (c->cap - 1);
    while (c->v[h].n >= 0 && c->v[h].n != n)
        h = (h + 1) & (c->cap - 1);
    if (c->v[h].n < 0) {
        memset(&c->v[h], 0, sizeof c->v[h]);
        c->v[h].n = n;
        c->v[h].best_row = -1;
        c->n++;
    }
    return &c->v[h];
}

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Folds one section row into its entry's evidence. */
static int add_section_row(cands_t *c, sqlite3_int64 row, double score, uint64_t mask, int only_ord)
{
    if (only_ord >= 0 && row % KB_SECTION_SLOTS != only_ord)
        return MUSE_OK;
    cand_t *x = cand_get(c, row / KB_SECTION_SLOTS);
    if (!x)
        return MUSE_ENOMEM;
    double s = score;
    if (s > x->best) {
        x->rest += x->best;
        x->best = s;
        x->best_row = row;
    } else {
        x->rest += s;
    }
    x->mask |= mask;
    return MUSE_OK;
}

/* ---- the query ---- */

typedef struct query {
    char *phrases[MAX_PHRASES];
    int concept[MAX_PHRASES];      /* which question word each phrase stands for */
    long df[MAX_PHRASES];          /* sections holding the phrase */
    long ndf[MAX_PHRASES];         /* entries whose names hold it */
    size_t np;
    size_t nconcepts;
    char *fts;                     /* every phrase, OR-ed */
    double fts_df[MAX_PHRASES];    /* df and ndf of fts's phrases, in its order */
    double fts_ndf[MAX_PHRASES];
    int fts_np;
    char *corrected;               /* the question with typos corrected */
    int n_corrected;
} query_t;

static void query_free(query_t *q)
{
    for (size_t i = 0; i < q->np; i++)
        free(q->phrases[i]);
    free(q->fts);
    free(q->corrected);
    memset(q, 0, sizeof *q);
}

static int has_phrase(const query_t *q, const char *w)
{
    for (size_t i = 0; i < q->np; i++)
        if (strcmp(q->phrases[i], w) == 0)
            return 1;
    return 0;
}

static int add_phrase(kb_t *kb, query_t *q, const char *w, int concept)
{
    long df, ndf;
    if (q->np == MAX_PHRASES || has_phrase(q, w))
        return MUSE_OK;
    if (!word_known(kb, w, &df, &ndf))
        return MUSE_OK;   /* a synonym the store never uses adds nothing */
    if (!(q->phrases[q->np] = strdup(w)))
        return MUSE_ENOMEM;
    q->concept[q->np] = concept;
    q->df[q->np] = df;
    q->ndf[q->np] = ndf;
    q->np++;
    return MUSE_OK;
}

/* FTS5 query text: the phrases whose bit is set in `use`, OR-ed, each quoted;
 * their document frequencies go to df and ndf in the same order. */
static char *fts_text(const query_t *q, uint64_t use, double *df, double *ndf, int *np)
{
    size_t cap = 8;
    for (size_t i = 0; i < q->np; i++)
        cap += strlen(q->phrases[i]) * 2 + 8;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    size_t n = 0;
    s[0] = '\0';
    *np = 0;
    for (size_t i = 0; i < q->np; i++) {
        if (!(use >> i & 1))
            continue;
        df[*np] = (double)q->df[i];
        ndf[*np] = (double)q->ndf[i];
        (*np)++;
        if (n)
            n += (size_t)sprintf(s + n, " OR ");
        s[n++] = '"';
        for (const char *p = q->phrases[i]; *p; p++) {
            if (*p == '"')
                s[n++] = '"';
            s[n++] = *p;
        }
        s[n++] = '"';
        s[n] = '\0';
    }
    return s;
}

static int build_query(kb_t *kb, const char *text, query_t *q, muse_error_t *err)
{
    memset(q, 0, sizeof *q);
    kb_words_t w;
    if (kb_words_split(text, &w) != MUSE_OK)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rc = MUSE_OK;
    size_t clen = 1;
    for (size_t i = 0; i < w.n; i++)
        clen += strlen(w.v[i]) + 48;
    if (!(q->corrected = calloc(1, clen)))
        goto oom;
    for (size_t i = 0; i < w.n; i++) {
        const char *t = w.v[i];
        char *fix = NULL;
        long df = 0, ndf = 0;
        int stop = kb_is_stopword(t) || strlen(t) < 2;
        int known = stop || word_known(kb, t, &df, &ndf);
        if (!known && (fix = correct_word(kb, t)) != NULL)
            q->n_corrected++;
        const char *use = fix ? fix : t;
        if (*q->corrected)
            strcat(q->corrected, " ");
        strncat(q->corrected, use, 40);
        if (!stop && (known || fix) && !has_phrase(q, use) && q->nconcepts < MAX_CONCEPTS) {
            int c = (int)q->nconcepts++;
            if (add_phrase(kb, q, use, c) != MUSE_OK) {
                free(fix);
                goto oom;
            }
            const char *const *syn = kb_synonyms(use);
            for (size_t k = 0; syn && syn[k]; k++)
                if (add_phrase(kb, q, syn[k], c) != MUSE_OK) {
                    free(fix);
                    goto oom;
                }
        }
        free(fix);
    }
    uint64_t all = q->np >= 64 ? ~0ULL : ((1ULL << q->np) - 1);
    if (!(q->fts = fts_text(q, all, q->fts_df, q->fts_ndf, &q->fts_np)))
        goto oom;
    goto done;
oom:
    rc = muse_err(err, MUSE_ENOMEM, "out of memory");
done:
    kb_words_free(&w);
    if (rc != MUSE_OK)
        query_free(q);
    return rc;
}

/* ---- evidence ---- */

static int add_mentions(kb_t *kb, const char *text, cands_t *c, int pass, muse_error_t *err)
{
    kb_mentions_t men;
    sqlite3_int64 *ns = NULL;
    int rc = find_mentions(kb, text, &men, &ns, err);
    if (rc != MUSE_OK)
        return rc;
    size_t first = (size_t)-1;
    for (size_t k = 0; k < men.n; k++)
        if (men.v[k].start < first)
            first = men.v[k].start;
    for (size_t i = 0; i < men.n; i++) {
        cand_t *x = cand_get(c, ns[i]);
        if (!x) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            break;
        }
        int words = 1;
        for (const char *p = men.v[i].alias; *p; p++)
            words += *p == ' ';
        /* A one-word name is often also a common word ("coffee" in "coffee
         * grounds"), so it weighs less than a phrase. (Raising rare one-word
         * names such as drug names to a phrase's weight was tried and made
         * no difference on the labelled questions.) */
        double boost = words == 1 ? 14.0 : words == 2 ? 24.0 : 30.0;
        if (pass)
            boost *= 0.9;
        /* People lead with their subject: "lisinopril dry cough" asks about
         * lisinopril. The earliest name gets a little more. */
        if (men.n > 1 && men.v[i].start == first)
            boost += FIRST_MENTION_BONUS;
        if (x->boost < boost)
            x->boost = x->boost > 0 ? boost + 4.0 : boost;
        else
            x->boost += 4.0;
    }
    kb_mentions_free(&men);
    free(ns);
    return rc;
}

/* BM25 over names for every entry the query text matches (at most budget). */
static int add_names(kb_t *kb, const char *fts, const double *ndf, int np, cands_t *c, size_t budget,
                     muse_error_t *err)
{
    sqlite3_stmt *st = kb_stmt(kb, budget == (size_t)-1 ? KB_ST_NAMES : KB_ST_NAMES_FAST, err);
    if (!st)
        return err ? err->code : MUSE_ECORRUPT;
    sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, ndf, np * (int)sizeof *ndf, SQLITE_STATIC);
    int s = SQLITE_DONE, rc = MUSE_OK;
    size_t rows = 0;
    while (rows++ < budget && (s = sqlite3_step(st)) == SQLITE_ROW) {
        cand_t *x = cand_get(c, sqlite3_column_int64(st, 0));
        if (!x) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            break;
        }
        x->names = sqlite3_column_double(st, 1);
        x->mask |= (uint64_t)sqlite3_column_int64(st, 2);
    }
    if (rc == MUSE_OK && rows <= budget && s != SQLITE_DONE)
        rc = muse_err(err, MUSE_ECORRUPT, "%s: search: %s", kb->path, sqlite3_errmsg(kb->db));
    sqlite3_reset(st);
    return rc;
}

static int section_pass(kb_t *kb, const char *fts, const double *df, int np, cands_t *c, int only_ord,
                        size_t budget, muse_error_t *err)
{
    /* Bounded passes only find candidates (rescored in full later), so they
     * skip length normalisation and its lookup per row. */
    sqlite3_stmt *st = kb_stmt(kb, budget == (size_t)-1 ? KB_ST_SECTIONS_ALL : KB_ST_SECTIONS_FAST, err);
    if (!st)
        return err ? err->code : MUSE_ECORRUPT;
    sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, df, np * (int)sizeof *df, SQLITE_STATIC);
    int s = SQLITE_DONE, rc = MUSE_OK;
    size_t rows = 0;
    while (rows++ < budget && (s = sqlite3_step(st)) == SQLITE_ROW)
        if (add_section_row(c, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1),
                            (uint64_t)sqlite3_column_int64(st, 2), only_ord) != MUSE_OK) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            break;
        }
    if (rc == MUSE_OK && rows <= budget && s != SQLITE_DONE)
        rc = muse_err(err, MUSE_ECORRUPT, "%s: search: %s", kb->path, sqlite3_errmsg(kb->db));
    sqlite3_reset(st);
    return rc;
}

/* ---- rescoring outside FTS5 (large stores) ----
 * The best candidates are scored from their own text with every phrase:
 * the text is split by the same splitter the vocabulary was counted with, so
 * a phrase matches exactly the words its document frequency counted, and
 * BM25 uses the index's own row count and average length. */

static double bm25(const double *freq, const long *df, size_t np, double rows, double dl, double avgdl)
{
    const double k1 = 1.2, b = 0.75;
    double score = 0;
    for (size_t p = 0; p < np; p++) {
        if (freq[p] <= 0)
            continue;
        double idf = log((rows - (double)df[p] + 0.5) / ((double)df[p] + 0.5));
        if (idf <= 1e-6)
            idf = 1e-6;
        score += idf * freq[p] * (k1 + 1) / (freq[p] + k1 * (1 - b + b * dl / (avgdl > 0 ? avgdl : 1)));
    }
    return score;
}

typedef struct tf_ctx {
    const query_t *q;
    double freq[MAX_PHRASES];
    double weight;
    double len;
} tf_ctx_t;

static int tf_word(const char *word, void *ud)
{
    tf_ctx_t *t = ud;
    t->len += 1;
    for (size_t p = 0; p < t->q->np; p++)
        if (strcmp(word, t->q->phrases[p]) == 0)
            t->freq[p] += t->weight;
    return MUSE_OK;
}

static uint64_t mask_of(const tf_ctx_t *t)
{
    uint64_t m = 0;
    for (size_t p = 0; p < t->q->np && p < 62; p++)
        if (t->freq[p] > 0)
            m |= 1ULL << p;
    return m;
}

static int load_sizes(kb_t *kb, muse_error_t *err)
{
    if (kb->have_sizes)
        return MUSE_OK;
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_SIZES, err);
    if (!st)
        return err ? err->code : MUSE_ECORRUPT;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0), *b = (const char *)sqlite3_column_text(st, 1);
        if (a)
            sscanf(a, "%lf %lf", &kb->sec_rows, &kb->sec_avg);
        if (b)
            sscanf(b, "%lf %lf", &kb->name_rows, &kb->name_avg);
    }
    sqlite3_reset(st);
    kb->have_sizes = 1;
    return MUSE_OK;
}

/* Recomputes one candidate's name and section evidence with every phrase. */
static int rescore(kb_t *kb, const query_t *q, cand_t *x, int only_ord, muse_error_t *err)
{
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_NAMES_TEXT, err);
    if (!st)
        return err ? err->code : MUSE_ECORRUPT;
    tf_ctx_t t = {.q = q};
    x->mask = 0;
    x->names = 0;
    sqlite3_bind_int64(st, 1, x->n);
    if (sqlite3_step(st) == SQLITE_ROW) {
        /* Title words weigh 10, alias words 6, as in the name index. */
        t.weight = 10;
        kb_words_each((const char *)sqlite3_column_text(st, 0), tf_word, &t);
        t.weight = 6;
        kb_words_each((const char *)sqlite3_column_text(st, 1), tf_word, &t);
        x->names = bm25(t.freq, q->ndf, q->np, kb->name_rows, t.len, kb->name_avg);
        x->mask |= mask_of(&t);
    }
    sqlite3_reset(st);
    if (!(st = kb_stmt(kb, KB_ST_SECTIONS_TEXT, err)))
        return err ? err->code : MUSE_ECORRUPT;
    sqlite3_bind_int64(st, 1, x->n * KB_SECTION_SLOTS + (only_ord >= 0 ? only_ord : 0));
    sqlite3_bind_int64(st, 2, x->n * KB_SECTION_SLOTS + (only_ord >= 0 ? only_ord : KB_SECTION_SLOTS - 1));
    x->best = x->rest = 0;
    x->best_row = -1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        memset(&t, 0, sizeof t);
        t.q = q;
        t.weight = 1;
        kb_words_each((const char *)sqlite3_column_text(st, 1), tf_word, &t);
        double s = bm25(t.freq, q->df, q->np, kb->sec_rows, t.len, kb->sec_avg);
        if (s > x->best) {
            x->rest += x->best;
            x->best = s;
            x->best_row = sqlite3_column_int64(st, 0);
        } else {
            x->rest += s;
        }
        x->mask |= mask_of(&t);
    }
    sqlite3_reset(st);
    return MUSE_OK;
}

static void score_all(const query_t *q, cands_t *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        cand_t *x = &c->v[i];
        if (x->n < 0)
            continue;
        double cov = 0;
        if (q->nconcepts >= 2) {
            uint64_t seen = 0;
            for (size_t p = 0; p < q->np && p < 62; p++)
                if (x->mask >> p & 1)
                    seen |= 1ULL << q->concept[p];
            cov = (double)__builtin_popcountll(seen) / (double)q->nconcepts;
        }
        x->score = x->boost + W_NAMES * x->names + W_SECTION * x->best + W_SECTION_REST * x->rest +
                   W_COVERAGE * cov;
#ifdef KB_TUNE
        if (getenv("KB_DEBUG") && x->score > 20)
            fprintf(stderr, "  n=%lld boost %.1f names %.1f best %.1f (row %lld) rest %.1f cov %.2f = %.1f\n",
                    (long long)x->n, x->boost, x->names, x->best, (long long)(x->best_row % KB_SECTION_SLOTS),
                    x->rest, cov, x->score);
#endif
    }
}

/* ---- hits ---- */

static char *dup_col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

/* Up to 200 bytes of text, cut at a word boundary (and never inside a
 * UTF-8 sequence), with an ellipsis when cut. */
static char *excerpt(const char *text)
{
    size_t n = strlen(text);
    if (n <= 200)
        return strdup(text);
    size_t cut = 200;
    while (cut > 120 && text[cut] != ' ')
        cut--;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    char *s = malloc(cut + 4);
    if (s) {
        memcpy(s, text, cut);
        memcpy(s + cut, "…", 4);
    }
    return s;
}

/* A search's ranked candidates, kept by the connection (see struct kb):
 * everything before the filters and the limit depends only on the query
 * text and the section asked for, so a second search for the same text in
 * the same snapshot (triage reading the question that retrieval just
 * read; auto mode escalating) starts from here. The hits' snippets are kept
 * as they are made. */
typedef struct kb_search_memo {
    char *query;
    int only_ord;
    char *fts;                 /* the FTS5 query the snippets match */
    cand_t *v;                 /* candidates with a score, best first */
    size_t nv;
    char **snippet, **section; /* per candidate, NULL until made */
    unsigned long used;
} kb_search_memo_t;

/* Larger candidate lists (a huge store) are not kept. */
#define MEMO_MAX_CANDIDATES 4096

static void search_memo_free(kb_search_memo_t *sm)
{
    if (!sm)
        return;
    for (size_t i = 0; sm->snippet && i < sm->nv; i++) {
        free(sm->snippet[i]);
        free(sm->section[i]);
    }
    free(sm->snippet);
    free(sm->section);
    free(sm->query);
    free(sm->fts);
    free(sm->v);
    free(sm);
}

void kb_memo_searches_clear(kb_t *kb)
{
    for (int i = 0; i < KB_MEMO_SEARCHES; i++) {
        search_memo_free(kb->memo_search[i]);
        kb->memo_search[i] = NULL;
    }
}

static kb_search_memo_t *search_memo_find(kb_t *kb, const char *query, int only_ord)
{
    if (!kb->snap)
        return NULL;
    for (int i = 0; i < KB_MEMO_SEARCHES; i++) {
        kb_search_memo_t *sm = kb->memo_search[i];
        if (sm && sm->only_ord == only_ord && strcmp(sm->query, query) == 0) {
            sm->used = ++kb->tick;
            return sm;
        }
    }
    return NULL;
}

/* Keeps v and fts (taken over) for query; returns the memo, or NULL when
 * nothing was kept (the caller then still owns v and fts). */
static kb_search_memo_t *search_memo_put(kb_t *kb, const char *query, int only_ord, cand_t *v, size_t nv,
                                         char *fts)
{
    if (!kb->snap || nv > MEMO_MAX_CANDIDATES)
        return NULL;
    kb_search_memo_t *sm = calloc(1, sizeof *sm);
    if (!sm || !(sm->query = strdup(query)) || !(sm->snippet = calloc(nv ? nv : 1, sizeof *sm->snippet)) ||
        !(sm->section = calloc(nv ? nv : 1, sizeof *sm->section))) {
        search_memo_free(sm);
        return NULL;
    }
    sm->only_ord = only_ord;
    sm->fts = fts;
    sm->v = v;
    sm->nv = nv;
    sm->used = ++kb->tick;
    int slot = 0;
    for (int i = 0; i < KB_MEMO_SEARCHES; i++) {
        if (!kb->memo_search[i]) {
            slot = i;
            break;
        }
        if (kb->memo_search[i]->used < kb->memo_search[slot]->used)
            slot = i;
    }
    search_memo_free(kb->memo_search[slot]);
    kb->memo_search[slot] = sm;
    return sm;
}

/* The snippet (matched text around the query's words) and section of a
 * hit, made from the store. */
static void make_snippet(kb_t *kb, const cand_t *x, const char *fts, int only_ord, char **snippet, char **section)
{
    sqlite3_int64 row = only_ord >= 0 ? x->n * KB_SECTION_SLOTS + only_ord : x->best_row;
    sqlite3_stmt *st;
    *snippet = *section = NULL;
    if (row >= 0 && *fts && (st = kb_stmt(kb, KB_ST_SNIPPET, NULL)) != NULL) {
        sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, row);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *snippet = dup_col(st, 0);
            *section = strdup(kb_section_kinds[row % KB_SECTION_SLOTS]);
        }
        sqlite3_reset(st);
    }
    if (!*snippet) {
        /* Named but not matched in its text: the asked-for section, or the
         * overview. */
        if (row < 0)
            row = x->n * KB_SECTION_SLOTS;
        if ((st = kb_stmt(kb, KB_ST_SECTION_TEXT, NULL)) != NULL) {
            sqlite3_bind_int64(st, 1, row);
            if (sqlite3_step(st) == SQLITE_ROW) {
                free(*section);
                *section = dup_col(st, 0);
                *snippet = excerpt((const char *)sqlite3_column_text(st, 1));
            }
            sqlite3_reset(st);
        }
    }
}

/* Fills h's snippet and section for candidate i, from the memo when it has
 * them (sm may be NULL). */
static int fill_hit(kb_t *kb, const cand_t *v, size_t i, const char *fts, int only_ord, kb_search_memo_t *sm,
                    kb_hit_t *h)
{
    if (sm && sm->snippet[i]) {
        h->snippet = strdup(sm->snippet[i]);
        h->section = strdup(sm->section[i]);
    } else {
        make_snippet(kb, &v[i], fts, only_ord, &h->snippet, &h->section);
        if (sm && h->snippet && h->section) {
            sm->snippet[i] = strdup(h->snippet);
            sm->section[i] = strdup(h->section);
            if (!sm->snippet[i] || !sm->section[i]) {
                free(sm->snippet[i]);
                free(sm->section[i]);
                sm->snippet[i] = sm->section[i] = NULL;
            }
        }
    }
    return h->snippet && h->section ? MUSE_OK : MUSE_ENOMEM;
}

/* Whether entry n has section ord. */
static int has_section(kb_t *kb, sqlite3_int64 n, int ord)
{
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_SECTION_TEXT, NULL);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, n * KB_SECTION_SLOTS + ord);
    int yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_reset(st);
    return yes;
}

/* Steps 1 and 2 of a search: the candidates with a score, best first
 * (*v, freed by the caller, *nv of them) and the FTS5 query text their
 * snippets match (*fts, freed by the caller). */
static int rank_candidates(kb_t *kb, const char *query, int only_ord, cand_t **out_v, size_t *out_nv,
                           char **out_fts, muse_error_t *err)
{
    *out_v = NULL;
    *out_nv = 0;
    *out_fts = NULL;
    query_t q;
    cands_t c = {0};
    char *rare = NULL;
    int rc = build_query(kb, query, &q, err);
    if (rc != MUSE_OK)
        return rc;
#ifdef KB_TUNE
    if (getenv("KB_DEBUG"))
        fprintf(stderr, "query: %s | corrected: %s\n", q.fts, q.corrected);
#endif

    /* 1. Names said in full: in the question as typed, and as corrected. */
    if ((rc = add_mentions(kb, query, &c, 0, err)) != MUSE_OK ||
        (q.n_corrected && (rc = add_mentions(kb, q.corrected, &c, 1, err)) != MUSE_OK))
        goto done;

    if (q.np > 0) {
        /* 2. Names and sections by BM25. */
        long total = 0;
        for (size_t i = 0; i < q.np; i++)
            total += q.df[i] + q.ndf[i];
        if (total <= SECTION_ROW_BUDGET) {
            if ((rc = add_names(kb, q.fts, q.fts_ndf, q.fts_np, &c, (size_t)-1, err)) != MUSE_OK)
                goto done;
            rc = section_pass(kb, q.fts, q.fts_df, q.fts_np, &c, only_ord, (size_t)-1, err);
        } else {
#ifdef KB_TUNE
            if (getenv("KB_DEBUG_LARGE"))
                fprintf(stderr, "large path: %s (%ld rows)\n", query, total);
#endif
            /* A large store: the rarest words find candidates within the
             * budget, then the best candidates are rescored with all. */
            uint64_t use = 0;
            long sum = 0;
            for (;;) {
                size_t pick = q.np;
                for (size_t i = 0; i < q.np; i++)
                    if (!(use >> i & 1) && (pick == q.np || q.df[i] + q.ndf[i] < q.df[pick] + q.ndf[pick]))
                        pick = i;
                if (pick == q.np || (use && sum + q.df[pick] + q.ndf[pick] > SECTION_ROW_BUDGET))
                    break;
                use |= 1ULL << pick;
                sum += q.df[pick] + q.ndf[pick];
            }
            double rdf[MAX_PHRASES], rndf[MAX_PHRASES];
            int rnp = 0;
            if (!(rare = fts_text(&q, use, rdf, rndf, &rnp))) {
                rc = muse_err(err, MUSE_ENOMEM, "out of memory");
                goto done;
            }
            if ((rc = add_names(kb, rare, rndf, rnp, &c, SECTION_ROW_BUDGET / 4, err)) != MUSE_OK ||
                (rc = section_pass(kb, rare, rdf, rnp, &c, only_ord, SECTION_ROW_BUDGET, err)) != MUSE_OK)
                goto done;
            score_all(&q, &c);
            if ((rc = load_sizes(kb, err)) != MUSE_OK)
                goto done;
            cand_t *top = malloc((c.n ? c.n : 1) * sizeof *top);
            if (!top) {
                rc = muse_err(err, MUSE_ENOMEM, "out of memory");
                goto done;
            }
            size_t k = 0;
            for (size_t i = 0; i < c.cap; i++)
                if (c.v[i].n >= 0)
                    top[k++] = c.v[i];
            qsort(top, k, sizeof *top, cmp_cand);
            for (size_t i = 0; i < k && i < RESCORE_TOP && rc == MUSE_OK; i++) {
                cand_t *x = cand_get(&c, top[i].n);
                rc = x ? rescore(kb, &q, x, only_ord, err) : muse_err(err, MUSE_ENOMEM, "out of memory");
            }
            /* The rest keep partial evidence: rank them below the rescored. */
            for (size_t i = RESCORE_TOP; i < k; i++) {
                cand_t *x = cand_get(&c, top[i].n);
                if (x)
                    x->best = x->rest = x->names = x->boost = 0;
            }
            free(top);
        }
        if (rc != MUSE_OK)
            goto done;
    }
    score_all(&q, &c);

    cand_t *v = malloc((c.n ? c.n : 1) * sizeof *v);
    if (!v) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t nv = 0;
    for (size_t i = 0; i < c.cap; i++)
        if (c.v[i].n >= 0 && c.v[i].score > 0)
            v[nv++] = c.v[i];
    qsort(v, nv, sizeof *v, cmp_cand);
    *out_v = v;
    *out_nv = nv;
    *out_fts = q.fts;
    q.fts = NULL;
done:
    free(rare);
    free(c.v);
    query_free(&q);
    return rc;
}

int kb_search(kb_t *kb, const char *query, const kb_search_opts_t *opts, kb_hits_t *out, muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!query)
        return muse_err(err, MUSE_EINVAL, "search: no query given");
    size_t limit = opts && opts->limit ? opts->limit : 5;
    int only_ord = -1;
    if (opts && opts->section) {
        for (int i = 0; kb_section_kinds[i]; i++)
            if (strcmp(kb_section_kinds[i], opts->section) == 0)
                only_ord = i;
        if (only_ord < 0)
            return muse_err(err, MUSE_EINVAL, "search: unknown section kind \"%s\"", opts->section);
    }
    if (opts && opts->kind && !kb_is_entry_kind(opts->kind))
        return muse_err(err, MUSE_EINVAL, "search: unknown entry kind \"%s\"", opts->kind);
    int own = kb_read_begin(kb);
    int rc = MUSE_OK;
    cand_t *v = NULL;
    size_t nv = 0;
    char *fts = NULL;
    kb_search_memo_t *sm = search_memo_find(kb, query, only_ord);
    if (sm) {
        v = sm->v;
        nv = sm->nv;
        fts = sm->fts;
    } else {
        if ((rc = rank_candidates(kb, query, only_ord, &v, &nv, &fts, err)) != MUSE_OK) {
            kb_read_end(kb, own);
            return rc;
        }
        sm = search_memo_put(kb, query, only_ord, v, nv, fts);
    }

    /* 3. Best first; filters apply to every kind of evidence. */
    out->v = calloc(limit, sizeof *out->v);
    if (!out->v) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nv && out->n < limit && rc == MUSE_OK; i++) {
        sqlite3_stmt *st = kb_stmt(kb, KB_ST_ENTRY_BY_N, err);
        if (!st) {
            rc = err ? err->code : MUSE_ECORRUPT;
            break;
        }
        sqlite3_bind_int64(st, 1, v[i].n);
        if (sqlite3_step(st) != SQLITE_ROW) {
            sqlite3_reset(st);
            continue;
        }
        const char *kind = (const char *)sqlite3_column_text(st, 2);
        const char *status = (const char *)sqlite3_column_text(st, 3);
        int ok = strcmp(status, "retired") != 0 &&
                 (!opts || !opts->reviewed_only || strcmp(status, "reviewed") == 0) &&
                 (!opts || !opts->kind || strcmp(kind, opts->kind) == 0) &&
                 (only_ord < 0 || has_section(kb, v[i].n, only_ord));
        if (ok) {
            kb_hit_t *h = &out->v[out->n++];
            h->id = dup_col(st, 0);
            h->title = dup_col(st, 1);
            h->kind = dup_col(st, 2);
            h->status = dup_col(st, 3);
            h->score = v[i].score;
        }
        sqlite3_reset(st);
        if (ok) {
            kb_hit_t *h = &out->v[out->n - 1];
            if (!h->id || !h->title || !h->kind || !h->status ||
                (!(opts && opts->no_snippets) && fill_hit(kb, v, i, fts, only_ord, sm, h) != MUSE_OK))
                rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        }
    }
done:
    kb_read_end(kb, own);
    if (!sm) {
        free(v);
        free(fts);
    }
    if (rc != MUSE_OK)
        kb_hits_free(out);
    return rc;
}

void kb_hits_free(kb_hits_t *hits)
{
    if (!hits)
        return;
    for (size_t i = 0; i < hits->n; i++) {
        free(hits->v[i].id);
        free(hits->v[i].title);
        free(hits->v[i].kind);
        free(hits->v[i].section);
        free(hits->v[i].snippet);
        free(hits->v[i].status);
    }
    free(hits->v);
    memset(hits, 0, sizeof *hits);
}
