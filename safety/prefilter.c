/* A literal prefilter for the policy's patterns, so a rule's regex runs only
 * on text that holds a word the rule cannot match without.
 *
 * Almost every rule is a wide alternation that fails on almost every input,
 * and a failing scan costs the whole text for each rule. So at safety_open
 * each pattern is read (not run) for what any match must contain: one of
 * some alternatives, each a few sets of literals ("clauses") of which a
 * match holds one literal each. Every literal of the policy goes into one
 * Aho-Corasick automaton; one pass over a text marks the clauses it meets,
 * and a pattern whose "gate" stays closed (no alternative with all its
 * clauses met) is not run, because it cannot match.
 *
 * The literals are derived, never declared, so a clinic editing a rule
 * cannot leave a stale trigger list behind. The reader understands the part
 * of PCRE2 the policy uses (literals, escapes, small classes, groups,
 * alternation, quantifiers, lookaround) and gives up on anything else:
 * backreferences, recursion, conditionals, verbs, \Q..\E, extended mode, an
 * unusual brace. A pattern it gives up on runs on every text, as before, so
 * an unforeseen construct costs speed, never a match. docs/safety.md
 * ("Prefilter") has the rules in prose; tests/safety/test_input.c checks them.
 *
 * Soundness rests on three facts about how patterns are compiled here
 * (sf_compile: caseless, UTF, no UCP, not extended): an ASCII letter matches
 * only itself in either case, or U+212A KELVIN SIGN for k and U+017F LONG S
 * for s; other ASCII characters match only themselves; and \w, \b and
 * friends are ASCII-only. The scan lower-cases ASCII, reads those two code
 * points as k and s, and treats every other non-ASCII character as a gap no
 * literal spans (literals hold ASCII only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "muse_hash.h"
#include "safety/safety_internal.h"

/* A piece still counts as exact while it matches at most this many
 * strings, none longer than PF_LIT_MAX ("agoni[sz]ing" -> 2 strings). */
#define PF_EXACT_MAX 64
#define PF_LIT_MAX 64
/* The automaton keeps a literal's first PF_KEEP characters only: a text
 * holding the literal holds its prefix, and "abortion at home with a hanger"
 * costs thirty states where "abortion" costs eight, most of them shared. */
#define PF_KEEP 8
/* An OR-set that grows past this many literals is no filter worth having. */
#define PF_REQ_MAX 8192
/* Nesting deeper than this is given up on (the policy nests about 10). */
#define PF_DEPTH_MAX 200
/* A word boundary in a literal: "\bear" needs "ear" at the start of a word,
 * so "year" and "heard" do not open its gate. The scan sees one wherever
 * PCRE2's \b holds (see sf_prefilter_scan). Validated text never holds the
 * byte itself. */
#define PF_B '\x01'

/* ------------------------------------------------------------- arena */

/* Everything one derivation allocates comes from an arena freed at its end:
 * sets are rebuilt at every step, and tracking each one would bury the
 * reading in frees. */
typedef struct pf_block {
    struct pf_block *next;
    size_t used, cap;
    max_align_t data[];
} pf_block_t;

typedef struct pf_arena {
    pf_block_t *head;
    int oom;
} pf_arena_t;

static void *arena_alloc(pf_arena_t *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        pf_block_t *b = malloc(sizeof *b + cap);
        if (!b) {
            a->oom = 1;
            return NULL;
        }
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    return p;
}

static void arena_free(pf_arena_t *a)
{
    while (a->head) {
        pf_block_t *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

/* ------------------------------------------------- what a piece needs */

/* A set of literals, one of which every match contains, with the
 * length of its shortest literal and its score (see clause_make). */
typedef struct pf_clause {
    const char **v;
    size_t n;
    size_t shortest;
    double score;
} pf_clause_t;

/* Clauses that all hold: a request rule needs a "how to" word and a weapon
 * word and a person word, each common alone. */
#define PF_CLAUSES 4
typedef struct pf_term {
    pf_clause_t c[PF_CLAUSES];
    size_t nc;
} pf_term_t;

/* What one piece of a pattern tells about its matches (lower-cased).
 * exact: every match is one of v[0..n) (which may hold "").
 * Otherwise every match satisfies one of the nt terms; nt == 0 means
 * nothing is known. Alternatives stay separate terms (up to PF_TERMS), so
 * that "how to" in one pattern of a rule and a weapon in another do not
 * combine into a filter that "how to make pancakes" passes. */
#define PF_TERMS 32
typedef struct pf_info {
    int exact;
    const char **v;
    size_t n;
    const pf_term_t *t;
    size_t nt;
} pf_info_t;

static const pf_info_t PF_ANY = {0};

typedef struct pf_reader {
    const char *p, *end;
    pf_arena_t *a;
    int gave_up;
} pf_reader_t;

static pf_info_t give_up(pf_reader_t *r)
{
    r->gave_up = 1;
    return PF_ANY;
}

static pf_info_t exact_one(pf_reader_t *r, const char *s, size_t len)
{
    const char **v = arena_alloc(r->a, sizeof *v);
    char *c = arena_alloc(r->a, len + 1);
    if (!v || !c)
        return give_up(r);
    memcpy(c, s, len);
    c[len] = '\0';
    v[0] = c;
    return (pf_info_t){.exact = 1, .v = v, .n = 1};
}

static pf_info_t empty_match(pf_reader_t *r)
{
    return exact_one(r, "", 0);
}

/* How selective a clause looks, higher is better. A short literal ("mi",
 * "is") is in nearly every text, and a long list ("how to", "what is",
 * "tell me" and 200 more) is nearly always met through one of its words, so
 * the shortest literal counts for it and the size against it. */
static double clause_rate(size_t shortest, size_t n)
{
    double l = shortest >= 4 ? 4 : shortest == 3 ? 3 : -2, bits = 0;
    for (size_t k = n; k > 1; k >>= 1)
        bits += 1;
    return l - bits;
}

static pf_clause_t clause_make(const char **v, size_t n)
{
    size_t m = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t l = 0; /* characters; a boundary mark is none */
        for (const char *c = v[i]; *c; c++)
            l += *c != PF_B;
        m = l < m ? l : m;
    }
    return (pf_clause_t){v, n, m, clause_rate(m, n)};
}

/* Adds clause c to term x, keeping the PF_CLAUSES best, best first:
 * dropping a clause of a conjunction only lets more texts through. A
 * clause with a one-character literal is no filter at all. */
static void add_clause(pf_term_t *x, pf_clause_t c)
{
    if (c.shortest < 2)
        return;
    if (x->nc == PF_CLAUSES) {
        if (c.score <= x->c[PF_CLAUSES - 1].score)
            return;
        x->nc--;
    }
    size_t i = x->nc++;
    while (i > 0 && x->c[i - 1].score < c.score) {
        x->c[i] = x->c[i - 1];
        i--;
    }
    x->c[i] = c;
}

static pf_info_t one_term(pf_reader_t *r, pf_term_t t)
{
    if (!t.nc)
        return PF_ANY;
    pf_term_t *v = arena_alloc(r->a, sizeof *v);
    if (!v)
        return give_up(r);
    *v = t;
    return (pf_info_t){.t = v, .nt = 1};
}

/* The terms a piece guarantees: an exact set that cannot be empty is one
 * clause; one that holds "" guarantees nothing. */
static pf_info_t needs_of(pf_reader_t *r, pf_info_t x)
{
    if (!x.exact)
        return x;
    for (size_t i = 0; i < x.n; i++)
        if (!x.v[i][0])
            return PF_ANY;
    pf_term_t t = {.nc = 0};
    add_clause(&t, clause_make(x.v, x.n));
    return one_term(r, t);
}

/* Term a or term b, as one term: (a1 and a2) or (b1 and b2) implies
 * (a1|b1) and (a1|b2) and (a2|b1) and (a2|b2), where a1|b1 is the union of
 * two literal sets. No clauses left: nothing is known. */
static pf_term_t term_or(pf_reader_t *r, const pf_term_t *a, const pf_term_t *b)
{
    pf_term_t x = {.nc = 0};
    for (size_t i = 0; i < a->nc; i++)
        for (size_t j = 0; j < b->nc; j++) {
            pf_clause_t ca = a->c[i], cb = b->c[j];
            if (ca.v == cb.v && ca.n == cb.n) {
                /* Terms from one piece share its clauses: a|a is a. */
                add_clause(&x, ca);
                continue;
            }
            size_t n = ca.n + cb.n, m = ca.shortest < cb.shortest ? ca.shortest : cb.shortest;
            if (n > PF_REQ_MAX || m < 2)
                continue;
            if (x.nc == PF_CLAUSES && clause_rate(m, n) <= x.c[PF_CLAUSES - 1].score)
                continue;
            const char **v = arena_alloc(r->a, n * sizeof *v);
            if (!v) {
                r->gave_up = 1;
                return (pf_term_t){.nc = 0};
            }
            memcpy(v, ca.v, ca.n * sizeof *v);
            memcpy(v + ca.n, cb.v, cb.n * sizeof *v);
            add_clause(&x, (pf_clause_t){v, n, m, clause_rate(m, n)});
        }
    return x;
}

/* All terms of x folded into one. */
static pf_info_t collapse(pf_reader_t *r, pf_info_t x)
{
    if (x.nt <= 1)
        return x;
    pf_term_t t = x.t[0];
    for (size_t i = 1; i < x.nt && t.nc; i++)
        t = term_or(r, &t, &x.t[i]);
    return one_term(r, t);
}

/* Both a and b hold (neither exact). (a1 or a2) and b = (a1 and b) or
 * (a2 and b); too many products fold one side first. */
static pf_info_t both(pf_reader_t *r, pf_info_t a, pf_info_t b)
{
    if (!a.nt)
        return b;
    if (!b.nt)
        return a;
    if (a.nt * b.nt > PF_TERMS)
        a = collapse(r, a);
    if (a.nt * b.nt > PF_TERMS)
        b = collapse(r, b);
    if (!a.nt || !b.nt)
        return a.nt ? a : b;
    pf_term_t *t = arena_alloc(r->a, a.nt * b.nt * sizeof *t);
    if (!t)
        return give_up(r);
    size_t n = 0;
    for (size_t i = 0; i < a.nt; i++)
        for (size_t j = 0; j < b.nt; j++) {
            t[n] = a.t[i];
            for (size_t k = 0; k < b.t[j].nc; k++)
                add_clause(&t[n], b.t[j].c[k]);
            n++;
        }
    return (pf_info_t){.t = t, .nt = n};
}

/* Exact a then exact b, or nt == 0 and !exact when the product is too big. */
static pf_info_t exact_concat(pf_reader_t *r, pf_info_t a, pf_info_t b)
{
    if (a.n * b.n > PF_EXACT_MAX)
        return PF_ANY;
    for (size_t i = 0; i < a.n; i++)
        for (size_t j = 0; j < b.n; j++)
            if (strlen(a.v[i]) + strlen(b.v[j]) > PF_LIT_MAX)
                return PF_ANY;
    const char **v = arena_alloc(r->a, a.n * b.n * sizeof *v);
    if (!v)
        return give_up(r);
    size_t n = 0;
    for (size_t i = 0; i < a.n; i++)
        for (size_t j = 0; j < b.n; j++) {
            size_t la = strlen(a.v[i]), lb = strlen(b.v[j]);
            char *c = arena_alloc(r->a, la + lb + 1);
            if (!c)
                return give_up(r);
            memcpy(c, a.v[i], la);
            /* \b\b is \b: one boundary, as the scan sees it. */
            if (la && c[la - 1] == PF_B && b.v[j][0] == PF_B)
                la--;
            memcpy(c + la, b.v[j], lb + 1);
            v[n++] = c;
        }
    return (pf_info_t){.exact = 1, .v = v, .n = n};
}

static int set_has(const char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

/* a or b. */
static pf_info_t alternate(pf_reader_t *r, pf_info_t a, pf_info_t b)
{
    if (a.exact && b.exact && a.n + b.n <= PF_EXACT_MAX) {
        const char **v = arena_alloc(r->a, (a.n + b.n) * sizeof *v);
        if (!v)
            return give_up(r);
        memcpy(v, a.v, a.n * sizeof *v);
        size_t n = a.n;
        for (size_t j = 0; j < b.n; j++)
            if (!set_has(v, n, b.v[j]))
                v[n++] = b.v[j];
        return (pf_info_t){.exact = 1, .v = v, .n = n};
    }
    pf_info_t na = needs_of(r, a), nb = needs_of(r, b);
    if (!na.nt || !nb.nt)
        return PF_ANY;
    pf_term_t *t = arena_alloc(r->a, (na.nt + nb.nt) * sizeof *t);
    if (!t)
        return give_up(r);
    memcpy(t, na.t, na.nt * sizeof *t);
    memcpy(t + na.nt, nb.t, nb.nt * sizeof *t);
    size_t n = na.nt + nb.nt;
    /* One-clause terms are one clause: "a or b" is met exactly when a
     * literal of either is there, so a long list of alternatives stays one
     * term. */
    size_t single = n;
    for (size_t i = 0; i < n; i++) {
        if (t[i].nc != 1)
            continue;
        if (single == n) {
            single = i;
            continue;
        }
        pf_term_t u = term_or(r, &t[single], &t[i]);
        if (u.nc != 1)
            continue; /* too many literals: keep them apart */
        t[single] = u;
        t[i--] = t[--n];
    }
    /* Too many alternatives: fold two together, preferring two that share
     * a clause (alternatives of one piece), which costs nothing. */
    while (n > PF_TERMS) {
        size_t fi = n - 2, fj = n - 1;
        for (size_t i = 0; i + 1 < n && fi == n - 2; i++)
            for (size_t j = i + 1; j < n && fi == n - 2; j++)
                for (size_t k = 0; k < t[i].nc * t[j].nc; k++) {
                    pf_clause_t ci = t[i].c[k / t[j].nc], cj = t[j].c[k % t[j].nc];
                    if (ci.v == cj.v && ci.n == cj.n) {
                        fi = i;
                        fj = j;
                        break;
                    }
                }
        t[fi] = term_or(r, &t[fi], &t[fj]);
        if (!t[fi].nc)
            return PF_ANY;
        t[fj] = t[--n];
    }
    return (pf_info_t){.t = t, .nt = n};
}

/* x repeated min..max times (max < 0: unbounded). */
static pf_info_t repeat(pf_reader_t *r, pf_info_t x, long min, long max)
{
    if (min == 1 && max == 1)
        return x;
    if (min == 0) {
        if (max == 1 && x.exact)
            return alternate(r, x, empty_match(r));
        return PF_ANY;
    }
    return needs_of(r, x);
}

/* -------------------------------------------------------- the reader */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Skips one UTF-8 character (the pattern is valid UTF-8: PCRE2 compiled it). */
static void skip_char(pf_reader_t *r)
{
    r->p++;
    while (r->p < r->end && ((unsigned char)*r->p & 0xC0) == 0x80)
        r->p++;
}

/* \x{hh..} or \xhh at r->p (just past the x); returns the code point or -1. */
static long read_hex(pf_reader_t *r)
{
    long v = 0;
    int n = 0;
    int braced = r->p < r->end && *r->p == '{';
    if (braced)
        r->p++;
    while (r->p < r->end && n < (braced ? 8 : 2)) {
        char c = lower(*r->p);
        int d = is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v * 16 + d;
        n++;
        r->p++;
    }
    if (braced) {
        if (r->p >= r->end || *r->p != '}' || n == 0)
            return -1;
        r->p++;
    }
    return v;
}

/* Control escapes both inside and outside classes: \n \t \r \f \e \a. */
static int control_escape(char e)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'e': return 0x1B;
    case 'a': return 0x07;
    }
    return -1;
}

/* One character of a class, at r->p. Returns its code point, -2 for a
 * class escape (\w, \p{L}, ...) and -1 to give up. */
static long class_char(pf_reader_t *r)
{
    char c = *r->p;
    if (c != '\\') {
        long cp = (unsigned char)c;
        skip_char(r);
        return cp < 0x80 ? cp : -2;
    }
    if (r->p + 1 >= r->end)
        return -1;
    char e = r->p[1];
    r->p += 2;
    if (strchr("dDwWsShHvV", e))
        return -2;
    if (e == 'p' || e == 'P') {
        if (r->p < r->end && *r->p == '{') {
            const char *close = memchr(r->p, '}', (size_t)(r->end - r->p));
            if (!close)
                return -1;
            r->p = close + 1;
        } else if (r->p < r->end) {
            r->p++;
        }
        return -2;
    }
    if (e == 'x')
        return read_hex(r);
    if (e == 'b')
        return 0x08;
    if (control_escape(e) >= 0)
        return control_escape(e);
    if (is_alnum(e) || (unsigned char)e >= 0x80)
        return -1;
    return (unsigned char)e;
}

/* [...] at r->p. A class of a few ASCII characters is exact ("[sz]");
 * anything wider or negated matches one unknown character. */
static pf_info_t read_class(pf_reader_t *r)
{
    unsigned char in[128] = {0};
    int wide = 0, first = 1;
    r->p++;
    if (r->p < r->end && *r->p == '^') {
        wide = 1;
        r->p++;
    }
    for (;;) {
        if (r->p >= r->end)
            return give_up(r);
        if (*r->p == ']' && !first) {
            r->p++;
            break;
        }
        first = 0;
        if (*r->p == '[') {
            if (r->p + 1 < r->end && r->p[1] == ':') {
                const char *close = strstr(r->p, ":]");
                if (!close || close >= r->end)
                    return give_up(r);
                r->p = close + 2;
                wide = 1;
                continue;
            }
            if (r->p + 1 < r->end && (r->p[1] == '.' || r->p[1] == '='))
                return give_up(r);
        }
        long lo = class_char(r);
        if (lo == -1)
            return give_up(r);
        long hi = lo;
        if (r->p + 1 < r->end && *r->p == '-' && r->p[1] != ']') {
            r->p++;
            hi = class_char(r);
            if (hi == -1 || lo == -2 || hi == -2)
                return give_up(r);
            if (hi < lo)
                return give_up(r);
        }
        if (lo < 0 || hi >= 0x80) {
            wide = 1;
            continue;
        }
        for (long c = lo; c <= hi; c++)
            in[(unsigned char)lower((char)c)] = 1;
    }
    if (wide)
        return PF_ANY;
    char chars[8];
    size_t n = 0;
    if (in[0] || in[(unsigned char)PF_B])
        return PF_ANY; /* a NUL would end the literal's C string */
    for (int c = 1; c < 128; c++)
        if (in[c]) {
            if (n == sizeof chars)
                return PF_ANY;
            chars[n++] = (char)c;
        }
    pf_info_t acc = exact_one(r, chars, 1);
    for (size_t i = 1; i < n; i++)
        acc = alternate(r, acc, exact_one(r, chars + i, 1));
    return acc;
}

/* A backslash sequence outside a class, at r->p. */
static pf_info_t read_escape(pf_reader_t *r)
{
    if (r->p + 1 >= r->end)
        return give_up(r);
    char e = r->p[1];
    r->p += 2;
    if (e == 'b') {
        char b = PF_B;
        return exact_one(r, &b, 1);
    }
    if (strchr("BAzZGK", e))
        return empty_match(r);
    if (strchr("dDwWsShHvVNRXC", e))
        return PF_ANY;
    if (e == 'p' || e == 'P') {
        if (r->p < r->end && *r->p == '{') {
            const char *close = memchr(r->p, '}', (size_t)(r->end - r->p));
            if (!close)
                return give_up(r);
            r->p = close + 1;
        } else if (r->p < r->end) {
            r->p++;
        }
        return PF_ANY;
    }
    if (e == 'x') {
        long cp = read_hex(r);
        if (cp <= 0)
            return give_up(r); /* a NUL would end the literal's C string */
        if (cp == PF_B)
            return PF_ANY;
        if (cp >= 0x80)
            return PF_ANY;
        char c = lower((char)cp);
        return exact_one(r, &c, 1);
    }
    if (control_escape(e) >= 0) {
        char c = (char)control_escape(e);
        return exact_one(r, &c, 1);
    }
    /* Backreferences, octal, \Q..\E, \g, \k, \c and unknown letters. */
    if (is_alnum(e))
        return give_up(r);
    if ((unsigned char)e >= 0x80) {
        r->p--;
        skip_char(r);
        return PF_ANY;
    }
    return exact_one(r, &e, 1);
}

static pf_info_t read_alternation(pf_reader_t *r, int depth);
static pf_info_t read_item(pf_reader_t *r, int depth);

/* (...) at r->p. */
static pf_info_t read_group(pf_reader_t *r, int depth)
{
    int zero_width = 0;
    r->p++;
    if (r->p < r->end && *r->p == '*')
        return give_up(r); /* (*VERB), (*pla:...) */
    if (r->p < r->end && *r->p == '?') {
        r->p++;
        char c = r->p < r->end ? *r->p : '\0';
        if (c == ':' || c == '|' || c == '>') {
            r->p++;
        } else if (c == '=' || c == '!') {
            r->p++;
            zero_width = 1;
        } else if (c == '<' && r->p + 1 < r->end && (r->p[1] == '=' || r->p[1] == '!')) {
            r->p += 2;
            zero_width = 1;
        } else if (c == '<' || c == '\'' || (c == 'P' && r->p + 1 < r->end && r->p[1] == '<')) {
            char close = c == '\'' ? '\'' : '>';
            const char *q = memchr(r->p + 1, close, (size_t)(r->end - r->p - 1));
            if (!q)
                return give_up(r);
            r->p = q + 1;
        } else if (c == '#') {
            const char *q = memchr(r->p, ')', (size_t)(r->end - r->p));
            if (!q)
                return give_up(r);
            r->p = q + 1;
            return empty_match(r);
        } else {
            /* Option settings: (?i), (?-i:...). Extended mode changes how the
             * rest reads, and anything else is a construct not read here. */
            while (r->p < r->end && *r->p && strchr("imnsUJ-^", *r->p))
                r->p++;
            if (r->p >= r->end || (*r->p != ')' && *r->p != ':'))
                return give_up(r);
            if (*r->p++ == ')')
                return empty_match(r);
        }
    }
    pf_info_t in = read_alternation(r, depth + 1);
    if (r->gave_up || r->p >= r->end || *r->p != ')')
        return give_up(r);
    r->p++;
    return zero_width ? empty_match(r) : in;
}

/* One item with its quantifier. */
static pf_info_t read_item(pf_reader_t *r, int depth)
{
    pf_info_t x;
    char c = *r->p;
    switch (c) {
    case '(': x = read_group(r, depth); break;
    case '[': x = read_class(r); break;
    case '\\': x = read_escape(r); break;
    case '.': r->p++; x = PF_ANY; break;
    case '^':
    case '$': r->p++; x = empty_match(r); break;
    case '*':
    case '+':
    case '?':
    case '{': return give_up(r);
    default:
        if ((unsigned char)c >= 0x80) {
            skip_char(r);
            x = PF_ANY;
        } else {
            c = lower(c);
            r->p++;
            x = exact_one(r, &c, 1);
        }
    }
    if (r->gave_up || r->p >= r->end)
        return x;
    long min = 1, max = 1;
    switch (*r->p) {
    case '?': min = 0; break;
    case '*': min = 0; max = -1; break;
    case '+': max = -1; break;
    case '{': {
        /* Only {n}, {n,} and {n,m}: PCRE2 versions differ on other braces. */
        const char *q = r->p + 1;
        min = 0;
        if (q >= r->end || !is_digit(*q))
            return give_up(r);
        while (q < r->end && is_digit(*q) && min < 100000)
            min = min * 10 + (*q++ - '0');
        max = min;
        if (q < r->end && *q == ',') {
            q++;
            max = -1;
            if (q < r->end && is_digit(*q)) {
                max = 0;
                while (q < r->end && is_digit(*q) && max < 100000)
                    max = max * 10 + (*q++ - '0');
            }
        }
        if (q >= r->end || *q != '}')
            return give_up(r);
        r->p = q;
        break;
    }
    default: return x;
    }
    r->p++;
    if (r->p < r->end && (*r->p == '?' || *r->p == '+'))
        r->p++; /* lazy or possessive: the same strings */
    if (r->p < r->end && strchr("?*+{", *r->p))
        return give_up(r);
    return repeat(r, x, min, max);
}

/* A sequence: the needs of its pieces so far, and the exact run since the
 * last piece that was not exact, so "\d+ days? old" still gives " day old"
 * and " days old". */
static int is_plain(char c)
{
    return c >= ' ' && c < 0x7F && !strchr("\\^$.|?*+()[]{", c);
}

/* A run of plain characters read at once (the common case, and reading
 * it char by char costs a string per char): stops before a character a
 * quantifier applies to. */
static pf_info_t read_plain(pf_reader_t *r)
{
    char buf[PF_LIT_MAX];
    size_t n = 0;
    while (r->p < r->end && is_plain(*r->p) && n < sizeof buf) {
        if (r->p + 1 < r->end && r->p[1] && strchr("?*+{", r->p[1]))
            break;
        buf[n++] = lower(*r->p++);
    }
    return exact_one(r, buf, n);
}

static pf_info_t read_sequence(pf_reader_t *r, int depth)
{
    pf_info_t needs = PF_ANY, run = empty_match(r);
    int all_exact = 1;
    while (!r->gave_up && r->p < r->end && *r->p != '|' && *r->p != ')') {
        int plain = is_plain(*r->p) && !(r->p + 1 < r->end && r->p[1] && strchr("?*+{", r->p[1]));
        pf_info_t x = plain ? read_plain(r) : read_item(r, depth);
        if (x.exact) {
            pf_info_t longer = exact_concat(r, run, x);
            if (longer.exact) {
                run = longer;
                continue;
            }
            all_exact = 0;
            needs = both(r, needs, needs_of(r, run));
            run = x;
            continue;
        }
        all_exact = 0;
        needs = both(r, both(r, needs, needs_of(r, run)), x);
        run = empty_match(r);
    }
    return all_exact ? run : both(r, needs, needs_of(r, run));
}

static pf_info_t read_alternation(pf_reader_t *r, int depth)
{
    if (depth > PF_DEPTH_MAX)
        return give_up(r);
    pf_info_t acc = read_sequence(r, depth);
    while (!r->gave_up && r->p < r->end && *r->p == '|') {
        r->p++;
        acc = alternate(r, acc, read_sequence(r, depth));
    }
    return acc;
}

/* The terms of one pattern (in the arena), or nt == 0 when it must always
 * run. A stray ')' ends the reading early: the caller joins patterns into
 * one alternation, where it would close someone else's group. */
static pf_info_t derive(pf_arena_t *a, const char *pattern)
{
    pf_reader_t r = {pattern, pattern + strlen(pattern), a, 0};
    pf_info_t x = read_alternation(&r, 0);
    if (r.gave_up || a->oom || r.p != r.end)
        return PF_ANY;
    x = needs_of(&r, x);
    return r.gave_up || a->oom ? PF_ANY : x;
}

/* The terms of an alternation of patterns. */
static pf_info_t derive_list(pf_arena_t *a, const char *const *patterns, size_t n)
{
    pf_info_t all = PF_ANY;
    for (size_t i = 0; i < n; i++) {
        pf_info_t x = derive(a, patterns[i]);
        if (!x.nt)
            return PF_ANY;
        pf_reader_t r = {NULL, NULL, a, 0};
        all = i ? alternate(&r, all, x) : x;
        if (!all.nt || r.gave_up || a->oom)
            return PF_ANY;
    }
    return all;
}

static int is_word(char c)
{
    return is_alnum(c) || c == '_';
}

/* A literal as the scan sees it, cut after its first `keep` characters: a
 * boundary mark wherever a word character meets a non-word one, the \b
 * marks the pattern asked for, and none at the end, because a pattern run
 * on a text cut short (the framing reads up to a match or a sentence's end)
 * can find a boundary at the cut that the whole text does not have. out
 * holds 2 * keep bytes. Returns the length; 0 when nothing is left. */
static size_t scan_form(const char *lit, char *out, size_t keep)
{
    size_t n = 0, chars = 0;
    int prev = -1, mark = 0;
    for (const char *p = lit; *p && chars < keep; p++) {
        if (*p == PF_B) {
            mark = 1;
            continue;
        }
        int w = is_word(*p);
        if (mark || (prev >= 0 && w != prev))
            out[n++] = PF_B;
        out[n++] = *p;
        chars++;
        mark = 0;
        prev = w;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *sf_prefilter_explain(const char *pattern)
{
    pf_arena_t a = {0};
    pf_info_t x = derive_list(&a, &pattern, 1);
    size_t cap = 1;
    for (size_t t = 0; t < x.nt; t++)
        for (size_t k = 0; k < x.t[t].nc; k++)
            for (size_t i = 0; i < x.t[t].c[k].n; i++)
                cap += 3 * strlen(x.t[t].c[k].v[i]) + 5;
    char *out = a.oom ? NULL : malloc(cap);
    if (out) {
        size_t w = 0;
        out[0] = '\0';
        for (size_t t = 0; t < x.nt; t++)
            for (size_t k = 0; k < x.t[t].nc; k++) {
                pf_clause_t c = x.t[t].c[k];
                /* Sort a copy: clauses share their arrays in the arena. */
                const char **v = arena_alloc(&a, c.n * sizeof *v);
                if (!v) {
                    free(out);
                    out = NULL;
                    goto done;
                }
                memcpy(v, c.v, c.n * sizeof *v);
                qsort(v, c.n, sizeof *v, cmp_str);
                w += (size_t)sprintf(out + w, "%s", t && !k ? " ; " : k ? " & " : "");
                for (size_t i = 0; i < c.n; i++) {
                    if (i && strcmp(v[i], v[i - 1]) == 0)
                        continue;
                    char f[2 * PF_LIT_MAX];
                    size_t fl = scan_form(v[i], f, PF_LIT_MAX);
                    if (i)
                        out[w++] = '|';
                    for (size_t q = 0; q < fl; q++)
                        w += (size_t)sprintf(out + w, f[q] == PF_B ? "\\b" : "%c", f[q]);
                }
            }
    }
done:
    arena_free(&a);
    return out;
}

/* ------------------------------------------------------- the automaton */

/* The automaton's alphabet: a letter in either case, a digit, space,
 * apostrophe, hyphen, the word boundary, and one symbol for all other ASCII.
 * Sharing a symbol only lets more texts through ("1.5" stands for "1,5")
 * and keeps the table at 42 columns; non-ASCII is symbol 0, which no literal
 * holds. canonical() spells each symbol one way: literals that read the same
 * to the automaton must be one literal, as a state ends one. */
#define PF_SYM_B 41
#define PF_N_SYM 42

static char canonical(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c + 32);
    if ((c >= 'a' && c <= 'z') || is_digit(c) || c == ' ' || c == '\'' || c == '-' || c == PF_B)
        return c;
    return '.';
}

static uint8_t symbol(char c)
{
    c = canonical(c);
    return c >= 'a' && c <= 'z' ? (uint8_t)(1 + c - 'a')
           : is_digit(c)        ? (uint8_t)(27 + c - '0')
           : c == ' '           ? 37
           : c == '\''          ? 38
           : c == '-'           ? 39
           : c == PF_B          ? PF_SYM_B
                                : 40;
}


struct sf_prefilter {
    /* while the policy loads: literals and clauses, each de-duplicated
     * through an open-addressing hash table */
    char **lits;
    size_t n_lits, cap_lits;
    uint32_t *lit_slot;    /* literal index + 1; 0: empty */
    size_t n_lit_slots;
    uint32_t *cl_lits;     /* clause c holds cl_lits[cl_first[c] .. cl_first[c + 1]) */
    uint32_t *cl_first;
    size_t n_cl_lits, cap_cl_lits, cap_clauses;
    uint32_t *cl_slot;     /* clause index + 1; 0: empty */
    size_t n_cl_slots;
    size_t n_clauses;
    /* gates: gate g has terms [term_first[g], term_first[g + 1]); term t
     * needs every clause of term_cl[term_cl_first[t] .. term_cl_first[t + 1]) */
    size_t n_gates;
    uint32_t gate_term_first[SF_MAX_GATES + 1];
    uint32_t *term_cl_first, *term_cl;
    size_t n_terms, cap_terms, n_term_cl, cap_term_cl;
    /* the automaton over lower-cased text */
    uint8_t sym[128];      /* ASCII byte -> symbol (non-ASCII: 0) */
    size_t n_sym;
    uint32_t *delta;       /* n_states x n_sym: the next state */
    int32_t *out;          /* literal ending in the state, -1: none */
    uint32_t *dict;        /* next state down the suffix chain with an output */
    size_t n_states;
    uint32_t *clauses_of;  /* literal l -> [clauses_of[l], clauses_of[l + 1]) in clause_ids */
    uint32_t *clause_ids;
};

int sf_prefilter_new(sf_prefilter_t **out)
{
    sf_prefilter_t *pf = calloc(1, sizeof *pf);
    /* Both offset tables start with their leading 0. */
    if (!pf || !(pf->cl_first = calloc(1, sizeof *pf->cl_first)) ||
        !(pf->term_cl_first = calloc(1, sizeof *pf->term_cl_first))) {
        sf_prefilter_free(pf);
        *out = NULL;
        return MUSE_ENOMEM;
    }
    *out = pf;
    return MUSE_OK;
}

void sf_prefilter_free(sf_prefilter_t *pf)
{
    if (!pf)
        return;
    for (size_t i = 0; i < pf->n_lits; i++)
        free(pf->lits[i]);
    free(pf->lits);
    free(pf->lit_slot);
    free(pf->cl_lits);
    free(pf->cl_first);
    free(pf->cl_slot);
    free(pf->term_cl_first);
    free(pf->term_cl);
    free(pf->delta);
    free(pf->out);
    free(pf->dict);
    free(pf->clauses_of);
    free(pf->clause_ids);
    free(pf);
}

/* Grows *p (of *cap items of size sz) to hold need items. */
static int reserve(void *p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return MUSE_OK;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    void *t = realloc(*(void **)p, n * sz);
    if (!t)
        return MUSE_ENOMEM;
    *(void **)p = t;
    *cap = n;
    return MUSE_OK;
}

static uint32_t hash_bytes(const void *p, size_t n)
{
    return muse_fnv1a32(MUSE_FNV32_SEED, p, n);
}

/* Rebuilds an open-addressing table of n_items at twice the size; key(i)
 * hashes item i. */
static int rehash(uint32_t **slot, size_t *n_slots, size_t n_items, const sf_prefilter_t *pf,
                  uint32_t (*key)(const sf_prefilter_t *, size_t))
{
    size_t n = *n_slots ? *n_slots * 2 : 1024;
    uint32_t *t = calloc(n, sizeof *t);
    if (!t)
        return MUSE_ENOMEM;
    for (size_t i = 0; i < n_items; i++) {
        size_t k = key(pf, i) & (n - 1);
        while (t[k])
            k = (k + 1) & (n - 1);
        t[k] = (uint32_t)i + 1;
    }
    free(*slot);
    *slot = t;
    *n_slots = n;
    return MUSE_OK;
}

static uint32_t lit_key(const sf_prefilter_t *pf, size_t i)
{
    return hash_bytes(pf->lits[i], strlen(pf->lits[i]));
}

static uint32_t clause_key(const sf_prefilter_t *pf, size_t i)
{
    return hash_bytes(pf->cl_lits + pf->cl_first[i],
                      (pf->cl_first[i + 1] - pf->cl_first[i]) * sizeof *pf->cl_lits);
}

/* The index of literal s, added when new. */
static int literal_id(sf_prefilter_t *pf, const char *s, uint32_t *id)
{
    if ((pf->n_lits + 1) * 2 > pf->n_lit_slots &&
        rehash(&pf->lit_slot, &pf->n_lit_slots, pf->n_lits, pf, lit_key))
        return MUSE_ENOMEM;
    size_t k = hash_bytes(s, strlen(s)) & (pf->n_lit_slots - 1);
    for (; pf->lit_slot[k]; k = (k + 1) & (pf->n_lit_slots - 1))
        if (strcmp(pf->lits[pf->lit_slot[k] - 1], s) == 0) {
            *id = pf->lit_slot[k] - 1;
            return MUSE_OK;
        }
    if (reserve(&pf->lits, &pf->cap_lits, pf->n_lits + 1, sizeof *pf->lits) ||
        !(pf->lits[pf->n_lits] = strdup(s)))
        return MUSE_ENOMEM;
    pf->lit_slot[k] = (uint32_t)pf->n_lits + 1;
    *id = (uint32_t)pf->n_lits++;
    return MUSE_OK;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The index of the clause with these literals (in scan form, cut to
 * PF_KEEP), added when new: rules share named sets, so many clauses are the
 * same set of words. *id = UINT32_MAX when a literal has nothing left, so
 * that every text meets the clause. */
static int clause_id(sf_prefilter_t *pf, pf_clause_t c, uint32_t *id)
{
    size_t at = pf->n_cl_lits, n = 0;
    if (reserve(&pf->cl_lits, &pf->cap_cl_lits, at + c.n, sizeof *pf->cl_lits))
        return MUSE_ENOMEM;
    for (size_t i = 0; i < c.n; i++) {
        char form[2 * PF_KEEP + 1];
        size_t l = scan_form(c.v[i], form, PF_KEEP);
        if (!l) {
            *id = UINT32_MAX;
            return MUSE_OK;
        }
        for (size_t q = 0; q < l; q++)
            form[q] = canonical(form[q]);
        form[l] = '\0';
        if (literal_id(pf, form, &pf->cl_lits[at + i]))
            return MUSE_ENOMEM;
    }
    uint32_t *ids = pf->cl_lits + at;
    qsort(ids, c.n, sizeof *ids, cmp_u32);
    for (size_t i = 0; i < c.n; i++)
        if (!n || ids[i] != ids[n - 1])
            ids[n++] = ids[i];
    if ((pf->n_clauses + 1) * 2 > pf->n_cl_slots &&
        rehash(&pf->cl_slot, &pf->n_cl_slots, pf->n_clauses, pf, clause_key))
        return MUSE_ENOMEM;
    size_t k = hash_bytes(ids, n * sizeof *ids) & (pf->n_cl_slots - 1);
    for (; pf->cl_slot[k]; k = (k + 1) & (pf->n_cl_slots - 1)) {
        uint32_t o = pf->cl_slot[k] - 1;
        if (pf->cl_first[o + 1] - pf->cl_first[o] == n &&
            memcmp(pf->cl_lits + pf->cl_first[o], ids, n * sizeof *ids) == 0) {
            *id = o;
            return MUSE_OK; /* the copy at the end is dropped */
        }
    }
    if (pf->n_clauses >= SF_MAX_CLAUSES)
        return MUSE_ERANGE;
    if (reserve(&pf->cl_first, &pf->cap_clauses, pf->n_clauses + 2, sizeof *pf->cl_first))
        return MUSE_ENOMEM;
    pf->n_cl_lits = at + n;
    pf->cl_first[pf->n_clauses + 1] = (uint32_t)pf->n_cl_lits;
    pf->cl_slot[k] = (uint32_t)pf->n_clauses + 1;
    *id = (uint32_t)pf->n_clauses++;
    return MUSE_OK;
}

int sf_prefilter_add(sf_prefilter_t *pf, const char *const *patterns, size_t n, int *gate)
{
    *gate = SF_GATE_ALWAYS;
    if (pf->n_gates >= SF_MAX_GATES)
        return MUSE_OK;
    pf_arena_t a = {0};
    int rc = MUSE_OK;
    pf_info_t all = derive_list(&a, patterns, n);
    if (a.oom) {
        rc = MUSE_ENOMEM;
        goto done;
    }
    size_t terms0 = pf->n_terms, cl0 = pf->n_term_cl;
    for (size_t t = 0; t < all.nt; t++) {
        if ((rc = reserve(&pf->term_cl_first, &pf->cap_terms, pf->n_terms + 2,
                          sizeof *pf->term_cl_first)) ||
            (rc = reserve(&pf->term_cl, &pf->cap_term_cl, pf->n_term_cl + all.t[t].nc,
                          sizeof *pf->term_cl)))
            goto done;
        size_t kept = 0;
        for (size_t k = 0; k < all.t[t].nc; k++) {
            uint32_t id;
            rc = clause_id(pf, all.t[t].c[k], &id);
            if (rc && rc != MUSE_ERANGE)
                goto done;
            if (!rc && id != UINT32_MAX) {
                pf->term_cl[pf->n_term_cl++] = id;
                kept++;
            }
        }
        if (rc == MUSE_ERANGE || !kept) {
            /* Out of clause bits, or an alternative every text meets: this
             * pattern always runs. */
            pf->n_terms = terms0;
            pf->n_term_cl = cl0;
            rc = MUSE_OK;
            goto done;
        }
        pf->term_cl_first[++pf->n_terms] = (uint32_t)pf->n_term_cl;
    }
    if (!all.nt)
        goto done;
    *gate = (int)pf->n_gates++;
    pf->gate_term_first[pf->n_gates] = (uint32_t)pf->n_terms;
done:
    arena_free(&a);
    return rc;
}

int sf_prefilter_build(sf_prefilter_t *pf)
{
    /* Literal -> clauses: count, then place. */
    pf->clauses_of = calloc(pf->n_lits + 1, sizeof *pf->clauses_of);
    pf->clause_ids = malloc((pf->n_cl_lits + 1) * sizeof *pf->clause_ids);
    if (!pf->clauses_of || !pf->clause_ids)
        return MUSE_ENOMEM;
    for (size_t c = 0; c < pf->n_clauses; c++)
        for (uint32_t i = pf->cl_first[c]; i < pf->cl_first[c + 1]; i++)
            pf->clauses_of[pf->cl_lits[i] + 1]++;
    for (size_t l = 0; l < pf->n_lits; l++)
        pf->clauses_of[l + 1] += pf->clauses_of[l];
    uint32_t *fill = malloc((pf->n_lits + 1) * sizeof *fill);
    if (!fill)
        return MUSE_ENOMEM;
    memcpy(fill, pf->clauses_of, (pf->n_lits + 1) * sizeof *fill);
    for (size_t c = 0; c < pf->n_clauses; c++)
        for (uint32_t i = pf->cl_first[c]; i < pf->cl_first[c + 1]; i++)
            pf->clause_ids[fill[pf->cl_lits[i]]++] = (uint32_t)c;
    free(fill);
    size_t states = 1;
    for (int c = 0; c < 128; c++)
        pf->sym[c] = symbol((char)c);
    pf->n_sym = PF_N_SYM;
    for (size_t l = 0; l < pf->n_lits; l++)
        states += strlen(pf->lits[l]);
    size_t ns = pf->n_sym;
    pf->delta = calloc(states * ns, sizeof *pf->delta);
    pf->out = malloc(states * sizeof *pf->out);
    pf->dict = calloc(states, sizeof *pf->dict);
    uint32_t *fail = calloc(states, sizeof *fail), *queue = malloc(states * sizeof *queue);
    if (!pf->delta || !pf->out || !pf->dict || !fail || !queue) {
        free(fail);
        free(queue);
        return MUSE_ENOMEM;
    }
    /* The trie; 0 in delta means no edge until the breadth-first pass. */
    size_t n = 1;
    pf->out[0] = -1;
    for (size_t l = 0; l < pf->n_lits; l++) {
        uint32_t s = 0;
        for (const char *c = pf->lits[l]; *c; c++) {
            uint32_t *t = &pf->delta[s * ns + pf->sym[(unsigned char)*c]];
            if (!*t) {
                pf->out[n] = -1;
                *t = (uint32_t)n++;
            }
            s = *t;
        }
        pf->out[s] = (int32_t)l;
    }
    pf->n_states = n;
    /* Failure links, breadth first: a state's missing edges are its failure
     * state's edges, which are complete by the time it is reached. */
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t s = queue[head++];
        for (size_t c = 1; c < ns; c++) {
            uint32_t t = pf->delta[s * ns + c];
            uint32_t via_fail = s ? pf->delta[fail[s] * ns + c] : 0;
            if (!t) {
                pf->delta[s * ns + c] = via_fail;
                continue;
            }
            fail[t] = via_fail;
            pf->dict[t] = pf->out[via_fail] >= 0 ? via_fail : pf->dict[via_fail];
            queue[tail++] = t;
        }
    }
    free(fail);
    free(queue);
    /* Only the scan's tables are needed from now on. */
    free(pf->lit_slot);
    free(pf->cl_slot);
    free(pf->cl_lits);
    pf->lit_slot = pf->cl_slot = pf->cl_lits = NULL;
    return MUSE_OK;
}

size_t sf_prefilter_size(const sf_prefilter_t *pf, size_t *n_literals, size_t *n_states)
{
    if (n_literals)
        *n_literals = pf ? pf->n_lits : 0;
    if (n_states)
        *n_states = pf ? pf->n_states : 0;
    return pf ? pf->n_gates : 0;
}

/* Feeds one symbol to the automaton and marks the clauses of the literals
 * that end there. */
static uint32_t step(const sf_prefilter_t *pf, uint32_t s, unsigned c, sf_seen_t *seen)
{
    s = pf->delta[s * pf->n_sym + c];
    for (uint32_t o = pf->out[s] >= 0 ? s : pf->dict[s]; o; o = pf->dict[o]) {
        uint32_t l = (uint32_t)pf->out[o];
        for (uint32_t k = pf->clauses_of[l]; k < pf->clauses_of[l + 1]; k++)
            seen->met[pf->clause_ids[k] / 64] |= (uint64_t)1 << (pf->clause_ids[k] % 64);
    }
    return s;
}

void sf_prefilter_scan(const sf_prefilter_t *pf, const char *text, size_t len, sf_seen_t *seen)
{
    seen->all = 1;
    if (!pf || !pf->delta)
        return;
    const unsigned char *t = (const unsigned char *)text;
    /* KELVIN SIGN and LONG S match k and s caselessly but are not word
     * characters to \b; rather than model that, such a text opens every
     * gate. */
    for (size_t i = 0; i + 1 < len; i++)
        if ((t[i] == 0xE2 && t[i + 1] == 0x84 && i + 2 < len && t[i + 2] == 0xAA) ||
            (t[i] == 0xC5 && t[i + 1] == 0xBF))
            return;
    seen->all = 0;
    memset(seen->met, 0, (pf->n_clauses + 63) / 64 * sizeof *seen->met);
    /* A boundary is where a word character ([A-Za-z0-9_], as \w without
     * UCP) meets a non-word one or an end of the text. No literal ends with
     * one, so the end of the text needs none. */
    uint32_t s = 0;
    int prev = 0;
    for (size_t i = 0; i < len; i++) {
        int word = t[i] < 0x80 && is_word((char)t[i]);
        if (word != prev)
            s = step(pf, s, PF_SYM_B, seen);
        s = step(pf, s, t[i] < 0x80 ? pf->sym[t[i]] : 0, seen);
        prev = word;
    }
}

int sf_gate_open(const sf_prefilter_t *pf, const sf_seen_t *seen, int gate)
{
    if (gate < 0 || seen->all)
        return 1;
    /* Open when one of the gate's terms has each of its clauses met. */
    for (uint32_t term = pf->gate_term_first[gate]; term < pf->gate_term_first[gate + 1]; term++) {
        uint32_t k = pf->term_cl_first[term], end = pf->term_cl_first[term + 1];
        while (k < end && (seen->met[pf->term_cl[k] / 64] >> (pf->term_cl[k] % 64) & 1u))
            k++;
        if (k == end)
            return 1;
    }
    return 0;
}
