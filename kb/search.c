/* Retrieval over the knowledge store.
 *
 * A question is split into words; question words and stop words are dropped;
 * lay words gain their clinical synonyms; the rest is an OR query to FTS5
 * ranked by BM25 with titles and aliases weighted well above body text, so a
 * question naming a condition lands on that condition's entry rather than on
 * one that merely mentions it. A title or alias said in full ("high blood
 * pressure") adds a strong boost, longer phrases more. Words the store has
 * never seen go through a trigram index of names to catch typos
 * ("diabetis" -> diabetes). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb/kb_internal.h"
#include "muse_err.h"

#define MAX_TERMS 48
#define MAX_CAND 64
#ifndef FIRST_MENTION_BONUS
#define FIRST_MENTION_BONUS 4.0
#endif

/* ---- alias table for whole-phrase matching ---- */

static int cmp_alias(const void *a, const void *b)
{
    return strcmp(((const kb_alias_row_t *)a)->norm, ((const kb_alias_row_t *)b)->norm);
}

static int load_aliases(kb_t *kb, muse_error_t *err)
{
    if (kb->aliases_loaded)
        return MUSE_OK;
    sqlite3_stmt *st = NULL;
    int rc = MUSE_OK;
    if (sqlite3_prepare_v2(kb->db,
                           "SELECT a.entry_id, e.kind, a.alias, a.norm FROM aliases a"
                           " JOIN entries e ON e.id = a.entry_id ORDER BY a.entry_id",
                           -1, &st, NULL) != SQLITE_OK)
        return muse_err(err, MUSE_ECORRUPT, "%s: reading aliases: %s", kb->path, sqlite3_errmsg(kb->db));
    size_t cap = 0, idcap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        if (kb->n_alias_ids == 0 || strcmp(kb->alias_ids[kb->n_alias_ids - 1], id) != 0) {
            if (kb->n_alias_ids == idcap) {
                idcap = idcap ? idcap * 2 : 256;
                char **v = realloc(kb->alias_ids, idcap * sizeof *v);
                char **k = v ? realloc(kb->alias_kinds, idcap * sizeof *k) : NULL;
                if (v)
                    kb->alias_ids = v;
                if (!v || !k)
                    goto oom;
                kb->alias_kinds = k;
            }
            kb->alias_ids[kb->n_alias_ids] = strdup(id);
            kb->alias_kinds[kb->n_alias_ids] = strdup((const char *)sqlite3_column_text(st, 1));
            kb->n_alias_ids++;
        }
        if (kb->n_aliases == cap) {
            cap = cap ? cap * 2 : 1024;
            kb_alias_row_t *v = realloc(kb->aliases, cap * sizeof *v);
            if (!v)
                goto oom;
            kb->aliases = v;
        }
        kb_alias_row_t *r = &kb->aliases[kb->n_aliases++];
        r->entry = (int)kb->n_alias_ids - 1;
        r->alias = strdup((const char *)sqlite3_column_text(st, 2));
        r->norm = strdup((const char *)sqlite3_column_text(st, 3));
        r->nwords = 1;
        for (const char *p = r->norm; *p; p++)
            r->nwords += *p == ' ';
        if (!r->alias || !r->norm)
            goto oom;
    }
    qsort(kb->aliases, kb->n_aliases, sizeof *kb->aliases, cmp_alias);
    kb->aliases_loaded = 1;
    goto done;
oom:
    rc = muse_err(err, MUSE_ENOMEM, "out of memory loading aliases");
done:
    sqlite3_finalize(st);
    return rc;
}

/* First alias row whose norm equals key, or -1. */
static long alias_find(const kb_t *kb, const char *key)
{
    size_t lo = 0, hi = kb->n_aliases;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(kb->aliases[mid].norm, key);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < kb->n_aliases && strcmp(kb->aliases[lo].norm, key) == 0 ? (long)lo : -1;
}

/* Word spans of the original text, so mentions can report byte offsets. */
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

#define MAX_PHRASE 8

int kb_find_mentions(kb_t *kb, const char *text, kb_mentions_t *out, muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    int rc = load_aliases(kb, err);
    if (rc != MUSE_OK)
        return rc;
    kb_words_t w;
    if (kb_words_split(text, &w) != MUSE_OK)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    size_t nspan_cap = w.n ? w.n : 1;
    span_t *spans = calloc(nspan_cap, sizeof *spans);
    char *covered = calloc(nspan_cap, 1);
    char *key = malloc(strlen(text) + 2);
    size_t cap = 0;
    if (!spans || !covered || !key) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t ns = word_spans(text, spans, nspan_cap);
    if (ns != w.n)
        ns = ns < w.n ? ns : w.n;
    /* Longest phrases first, so "type 2 diabetes" wins over "diabetes". */
    for (int len = MAX_PHRASE; len >= 1; len--) {
        for (size_t i = 0; i + (size_t)len <= ns; i++) {
            int skip = 0;
            for (int k = 0; k < len; k++)
                skip |= covered[i + k];
            if (skip)
                continue;
            key[0] = '\0';
            for (int k = 0; k < len; k++) {
                if (k)
                    strcat(key, " ");
                strcat(key, w.v[i + k]);
            }
            /* A lone stop word is never a mention, even if some alias is one. */
            if (len == 1 && (kb_is_stopword(key) || strlen(key) < 2))
                continue;
            long a = alias_find(kb, key);
            if (a < 0)
                continue;
            for (size_t r = (size_t)a; r < kb->n_aliases && strcmp(kb->aliases[r].norm, key) == 0; r++) {
                /* Skip an entry already mentioned at this same place. */
                int dup = 0;
                for (size_t m = 0; m < out->n; m++)
                    dup |= out->v[m].start == spans[i].start &&
                           strcmp(out->v[m].id, kb->alias_ids[kb->aliases[r].entry]) == 0;
                if (dup)
                    continue;
                if (out->n == cap) {
                    cap = cap ? cap * 2 : 8;
                    kb_mention_t *v = realloc(out->v, cap * sizeof *v);
                    if (!v) {
                        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
                        goto done;
                    }
                    out->v = v;
                }
                kb_mention_t *m = &out->v[out->n++];
                m->id = strdup(kb->alias_ids[kb->aliases[r].entry]);
                m->kind = strdup(kb->alias_kinds[kb->aliases[r].entry]);
                m->alias = strdup(kb->aliases[r].alias);
                m->start = spans[i].start;
                m->end = spans[i + (size_t)len - 1].end;
            }
            for (int k = 0; k < len; k++)
                covered[i + k] = 1;
        }
    }
done:
    free(spans);
    free(covered);
    free(key);
    kb_words_free(&w);
    if (rc != MUSE_OK)
        kb_mentions_free(out);
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

/* ---- ranking ---- */

typedef struct cand {
    char id[72];
    double score;
} cand_t;

static cand_t *cand_get(cand_t *c, size_t *n, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(c[i].id, id) == 0)
            return &c[i];
    if (*n == MAX_CAND)
        return NULL;
    cand_t *x = &c[(*n)++];
    snprintf(x->id, sizeof x->id, "%s", id);
    x->score = 0;
    return x;
}

static int cmp_cand(const void *a, const void *b)
{
    double d = ((const cand_t *)b)->score - ((const cand_t *)a)->score;
    if (d != 0)
        return d > 0 ? 1 : -1;
    return strcmp(((const cand_t *)a)->id, ((const cand_t *)b)->id);
}

static int in_vocab(kb_t *kb, const char *w)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(kb->db, "SELECT 1 FROM vocab WHERE word=?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, w, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return found;
}

static int has_term(char **terms, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(terms[i], w) == 0)
            return 1;
    return 0;
}

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

/* Typo fallback for a word the store has never seen: the closest word of
 * the store's vocabulary that starts with the same letter (people rarely
 * mistype the first letter), within one edit for short words and two for
 * longer ones. The trigram index of names breaks ties toward words that name
 * something. Returns a new string or NULL. */
static char *correct_word(kb_t *kb, const char *w)
{
    int n = (int)strlen(w);
    if (n < 4 || !isalpha((unsigned char)w[0]))
        return NULL;
    int max = n <= 5 ? 1 : 2;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kb->db,
                           "SELECT word FROM vocab WHERE word >= ?1 AND word < ?2"
                           " AND length(word) BETWEEN ?3 AND ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return NULL;
    char lo[2] = {w[0], 0}, hi[2] = {(char)(w[0] + 1), 0};
    sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, n - max);
    sqlite3_bind_int(st, 4, n + max);
    char *best = NULL;
    int best_d = max + 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *cand = (const char *)sqlite3_column_text(st, 0);
        int d = osa_distance(w, cand, best_d < max ? best_d : max);
        if (d < best_d) {
            free(best);
            best = strdup(cand);
            best_d = d;
            if (d == 1)
                break;
        }
    }
    sqlite3_finalize(st);
    return best;
}

/* Appends `"w"` to an FTS5 query, escaping quotes. */
static void q_append(char *q, size_t cap, const char *w)
{
    size_t n = strlen(q);
    if (n && n + 5 < cap) {
        strcat(q, " OR ");
        n += 4;
    }
    if (n + 2 >= cap)
        return;
    q[n++] = '"';
    for (const char *p = w; *p && n + 3 < cap; p++) {
        if (*p == '"')
            q[n++] = '"';
        q[n++] = *p;
    }
    q[n++] = '"';
    q[n] = '\0';
}

static int fill_hit(kb_t *kb, const cand_t *c, const char *fts_query, const kb_search_opts_t *o,
                    kb_hit_t *h)
{
    sqlite3_stmt *st = NULL;
    memset(h, 0, sizeof *h);
    h->score = c->score;
    h->id = strdup(c->id);
    if (sqlite3_prepare_v2(kb->db, "SELECT title, kind, status FROM entries WHERE id=?", -1, &st, NULL) !=
        SQLITE_OK)
        return MUSE_ECORRUPT;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        h->title = strdup((const char *)sqlite3_column_text(st, 0));
        h->kind = strdup((const char *)sqlite3_column_text(st, 1));
        h->status = strdup((const char *)sqlite3_column_text(st, 2));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (o && o->section) {
        if (sqlite3_prepare_v2(kb->db, "SELECT kind, substr(text, 1, 240) FROM sections WHERE entry_id=? AND kind=?",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, o->section, -1, SQLITE_STATIC);
        }
    } else if (fts_query && *fts_query) {
        if (sqlite3_prepare_v2(kb->db,
                               "SELECT kind, snippet(sections_fts, 2, '', '', '…', 20) FROM sections_fts"
                               " WHERE sections_fts MATCH ?1 AND entry_id = ?2 ORDER BY rank LIMIT 1",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, fts_query, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, c->id, -1, SQLITE_STATIC);
        }
    }
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        h->section = strdup((const char *)sqlite3_column_text(st, 0));
        h->snippet = strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!h->snippet &&
        sqlite3_prepare_v2(kb->db, "SELECT substr(text, 1, 200) FROM sections WHERE entry_id=? AND kind='overview'",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            h->section = strdup("overview");
            h->snippet = strdup((const char *)sqlite3_column_text(st, 0));
        }
        sqlite3_finalize(st);
    }
    if (!h->id || !h->title || !h->kind || !h->status)
        return MUSE_ENOMEM;
    return MUSE_OK;
}

int kb_search(kb_t *kb, const char *query, const kb_search_opts_t *opts, kb_hits_t *out,
              muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!query)
        return muse_err(err, MUSE_EINVAL, "search: no query given");
    size_t limit = opts && opts->limit ? opts->limit : 5;
    cand_t cand[MAX_CAND];
    size_t nc = 0;
    char *terms[MAX_TERMS];
    size_t nterms = 0;
    char *fts = NULL;
    char *corrected = NULL;
    sqlite3_stmt *st = NULL;
    kb_mentions_t men = {0};
    kb_words_t w = {0};
    int rc;

    /* 1. Content words, with lay synonyms; a word the store has never seen
     * is corrected to its nearest known word, or dropped. */
    if (kb_words_split(query, &w) != MUSE_OK) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t clen = 1;
    for (size_t i = 0; i < w.n; i++)
        clen += strlen(w.v[i]) + 3;
    corrected = calloc(1, clen * 2 + 64);
    if (!corrected) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    int n_corrected = 0;
    for (size_t i = 0; i < w.n; i++) {
        const char *t = w.v[i];
        char *fix = NULL;
        int stop = kb_is_stopword(t) || strlen(t) < 2;
        int known = stop || in_vocab(kb, t);
        if (!known && (fix = correct_word(kb, t)) != NULL)
            n_corrected++;
        const char *use = fix ? fix : t;
        if (*corrected)
            strcat(corrected, " ");
        strncat(corrected, use, 64);
        if (!stop && (known || fix) && nterms < MAX_TERMS && !has_term(terms, nterms, use)) {
            terms[nterms++] = strdup(use);
            const char *const *syn = kb_synonyms(use);
            for (size_t k = 0; syn && syn[k] && nterms < MAX_TERMS; k++)
                if (!has_term(terms, nterms, syn[k]))
                    terms[nterms++] = strdup(syn[k]);
        }
        free(fix);
    }

    /* 2. Names said in full: in the question as typed, and as corrected. */
    for (int pass = 0; pass < (n_corrected ? 2 : 1); pass++) {
        if ((rc = kb_find_mentions(kb, pass ? corrected : query, &men, err)) != MUSE_OK)
            goto done;
        for (size_t i = 0; i < men.n; i++) {
            cand_t *c = cand_get(cand, &nc, men.v[i].id);
            if (!c)
                continue;
            int words = 1;
            for (const char *p = men.v[i].alias; *p; p++)
                words += *p == ' ';
            /* A one-word name is often also a common word ("coffee" in
             * "coffee grounds"), so it weighs less than a phrase. */
            double boost = words == 1 ? 14.0 : words == 2 ? 24.0 : 30.0;
            if (pass)
                boost *= 0.9;
            /* People lead with their subject: "lisinopril dry cough" asks
             * about lisinopril. The earliest name gets a little more. */
            size_t first = (size_t)-1;
            for (size_t k = 0; k < men.n; k++)
                if (men.v[k].start < first)
                    first = men.v[k].start;
            if (men.n > 1 && men.v[i].start == first)
                boost += FIRST_MENTION_BONUS;
            if (c->score < boost)
                c->score = c->score > 0 ? boost + 4.0 : boost;
            else
                c->score += 4.0;
        }
        kb_mentions_free(&men);
    }
    size_t qcap = 64;
    for (size_t i = 0; i < nterms; i++)
        qcap += strlen(terms[i]) * 2 + 8;
    fts = calloc(1, qcap);
    if (!fts) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nterms; i++)
        if (terms[i])
            q_append(fts, qcap, terms[i]);

    if (*fts) {
        if (sqlite3_prepare_v2(kb->db,
                               "SELECT f.entry_id, bm25(entries_fts, 0.0, 10.0, 6.0, 1.0) AS r"
                               " FROM entries_fts f JOIN entries e ON e.id = f.entry_id"
                               " WHERE entries_fts MATCH ?1 AND e.status != 'retired'"
                               "   AND (?2 = 0 OR e.status = 'reviewed')"
                               "   AND (?3 IS NULL OR e.kind = ?3)"
                               " ORDER BY r LIMIT 40",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = muse_err(err, MUSE_ECORRUPT, "%s: search: %s", kb->path, sqlite3_errmsg(kb->db));
            goto done;
        }
        sqlite3_bind_text(st, 1, fts, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, opts && opts->reviewed_only);
        if (opts && opts->kind)
            sqlite3_bind_text(st, 3, opts->kind, -1, SQLITE_STATIC);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            cand_t *c = cand_get(cand, &nc, (const char *)sqlite3_column_text(st, 0));
            if (c)
                c->score += -sqlite3_column_double(st, 1);
        }
        if (s != SQLITE_DONE) {
            rc = muse_err(err, MUSE_ECORRUPT, "%s: search: %s", kb->path, sqlite3_errmsg(kb->db));
            goto done;
        }
        sqlite3_finalize(st);
        st = NULL;
    }

    /* 3. Filters apply to boosted candidates too. */
    if (sqlite3_prepare_v2(kb->db, "SELECT kind, status FROM entries WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "%s: search: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    size_t kept = 0;
    for (size_t i = 0; i < nc; i++) {
        sqlite3_bind_text(st, 1, cand[i].id, -1, SQLITE_STATIC);
        int ok = 0;
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *kind = (const char *)sqlite3_column_text(st, 0);
            const char *status = (const char *)sqlite3_column_text(st, 1);
            ok = strcmp(status, "retired") != 0 &&
                 (!opts || !opts->reviewed_only || strcmp(status, "reviewed") == 0) &&
                 (!opts || !opts->kind || strcmp(kind, opts->kind) == 0);
        }
        sqlite3_reset(st);
        if (ok)
            cand[kept++] = cand[i];
    }
    sqlite3_finalize(st);
    st = NULL;
    nc = kept;
    qsort(cand, nc, sizeof *cand, cmp_cand);
    if (nc > limit)
        nc = limit;
    out->v = calloc(nc ? nc : 1, sizeof *out->v);
    if (!out->v) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nc; i++) {
        out->n++;
        if ((rc = fill_hit(kb, &cand[i], fts, opts, &out->v[i])) != MUSE_OK) {
            rc = muse_err(err, rc, "%s: reading hit %s", kb->path, cand[i].id);
            goto done;
        }
    }
    rc = MUSE_OK;
done:
    sqlite3_finalize(st);
    for (size_t i = 0; i < nterms; i++)
        free(terms[i]);
    free(fts);
    free(corrected);
    kb_words_free(&w);
    kb_mentions_free(&men);
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
