/* Composition of an answer from the knowledge store (the grounded backend).
 * See engine.c for the pipeline and the modes. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/engine_internal.h"
#include "core/muse_internal.h"
#include "core/triage.h"
#include "medical/medical.h"
#include "muse_err.h"

#define MAX_STEPS 64
#define MAX_PASSAGES 64
#define MAX_TOPICS 4
#define MAX_QUESTION (64 * 1024)
/* An entry that holds the section the question's intent asks for gains this
 * share of the leader's score (scores grow with the store, so the bonus is
 * relative, not a fixed number of points). */
#define INTENT_SECTION_BONUS 0.15

typedef struct step {
    char name[32];
    char detail[200];
    int contributed;
    int tokens;
    double ms;
} step_t;

typedef struct passage {
    char id[72];
    char title[160];
    char kind[16];
    char section[24];
    char *text;
    double score;
    int topic;
    int from_mention;
    char agent[24];
} passage_t;

typedef struct run {
    muse_t *m;
    kb_t *kb;
    int snap;                /* token of the read snapshot held on kb */
    const char *q;
    muse_ask_options_t opts;
    muse_mode_t ran;
    step_t steps[MAX_STEPS];
    size_t n_steps;
    int reasoning_tokens;
    /* understanding */
    kb_mentions_t men;
    med_series_t rd;
    int have_men, have_rd;   /* already read (by the scope check) */
    const intent_t *intents[8];
    size_t n_intents;
    int n_medicines;
    char *subq[MAX_TOPICS];
    size_t n_subq;
    /* retrieval */
    passage_t pass[MAX_PASSAGES];
    size_t n_pass;
    pthread_mutex_t lock;   /* guards pass[] while agents run */
    double confidence;
    char disagreement[256];
    int interaction_level;   /* 0 none, 1 minor/moderate, 2 major */
} run_t;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static step_t *step_begin(run_t *r, const char *name)
{
    if (r->n_steps == MAX_STEPS)
        r->n_steps--;   /* the last slot is reused rather than overflowing */
    step_t *s = &r->steps[r->n_steps++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ms = now_ms();
    return s;
}

static void step_end(step_t *s, int contributed, int tokens, const char *fmt, ...)
{
    s->ms = now_ms() - s->ms;
    s->contributed = contributed;
    s->tokens = tokens;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof s->detail, fmt, ap);
    va_end(ap);
}

static void run_free(run_t *r)
{
    kb_mentions_free(&r->men);
    med_series_free(&r->rd);
    for (size_t i = 0; i < r->n_subq; i++)
        free(r->subq[i]);
    for (size_t i = 0; i < r->n_pass; i++)
        free(r->pass[i].text);
    r->n_pass = 0;
    r->n_subq = 0;
}

/* ---- text helpers ---- */

/* The first n sentences of text (a new string). A sentence ends at . ! or ?
 * followed by a space and an upper-case letter or digit, so "e.g. the" and
 * "2.5 mg" stay whole. */
static char *first_sentences(const char *text, int n)
{
    const char *p = text;
    int count = 0;
    while (*p) {
        if ((*p == '.' || *p == '!' || *p == '?') && (p[1] == ' ' || p[1] == '\n') &&
            (isupper((unsigned char)p[2]) || isdigit((unsigned char)p[2]) || p[2] == '"')) {
            if (++count == n)
                return strndup(text, (size_t)(p - text + 1));
        }
        p++;
    }
    return strdup(text);
}

static int mentions_entry(const run_t *r, const char *id)
{
    for (size_t i = 0; i < r->men.n; i++)
        if (strcmp(r->men.v[i].id, id) == 0)
            return 1;
    return 0;
}

/* ---- understand ---- */

static char *augmented_query(const run_t *r, const char *q);

/* Splits a multi-part question into sub-questions: at question marks and
 * semicolons, and at "and"/"also" when both halves name something the store
 * knows. */
static void decompose(run_t *r)
{
    const char *q = r->q;
    size_t len = strlen(q);
    char *buf = strdup(q);
    if (!buf)
        return;
    /* Split points: after '?' or ';' that are followed by more text. */
    char *parts[MAX_TOPICS * 2];
    size_t np = 0;
    char *s = buf;
    for (size_t i = 0; i < len && np < MAX_TOPICS * 2 - 1; i++) {
        if ((buf[i] == '?' || buf[i] == ';') && i + 1 < len) {
            buf[i] = '\0';
            parts[np++] = s;
            s = buf + i + 1;
        }
    }
    parts[np++] = s;
    for (size_t i = 0; i < np && r->n_subq < MAX_TOPICS; i++) {
        char *p = parts[i];
        while (isspace((unsigned char)*p))
            p++;
        if (strlen(p) < 3)
            continue;
        /* " and " between two named things: two sub-questions. */
        char *and = strcasestr(p, " and ");
        if (!and)
            and = strcasestr(p, " also ");
        if (and && r->n_subq + 2 <= MAX_TOPICS) {
            kb_mentions_t a = {0}, b = {0};
            char *left = strndup(p, (size_t)(and - p));
            const char *right = and + 5;
            int split = 0;
            /* "... and what is a normal HbA1c": a new question word starts a
             * new sub-question whatever it names. */
            static const char *const qwords[] = {"what ", "how ", "is ", "are ", "can ", "does ", "do ",
                                                 "should ", "when ", "why ", "which ", "will ", NULL};
            for (int k = 0; qwords[k] && !split; k++)
                split = strncasecmp(right, qwords[k], strlen(qwords[k])) == 0;
            if (!split && left && kb_find_mentions(r->kb, left, &a, NULL) == MUSE_OK &&
                kb_find_mentions(r->kb, right, &b, NULL) == MUSE_OK && a.n && b.n &&
                strcmp(a.v[0].id, b.v[0].id) != 0 && r->n_medicines < 2)
                split = 1;
            if (!left)
                split = 0;
            kb_mentions_free(&a);
            kb_mentions_free(&b);
            if (split) {
                r->subq[r->n_subq++] = left;
                r->subq[r->n_subq++] = strdup(right);
                continue;
            }
            free(left);
        }
        r->subq[r->n_subq++] = strdup(p);
    }
    free(buf);
    if (r->n_subq == 0)
        r->subq[r->n_subq++] = strdup(q);
    for (size_t i = 0; i < r->n_subq; i++) {
        char *aq = augmented_query(r, r->subq[i]);
        if (aq) {
            free(r->subq[i]);
            r->subq[i] = aq;
        }
    }
}

/* Readings in text. Every form the medical parser reads has an ASCII digit
 * in it (its patterns match numbers with \d, no number words), and each call
 * maps and unmaps a JIT stack of its own, so text without a digit is not
 * handed to it: most questions have none. */
static int parse_readings(const char *text, med_series_t *out, muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (strpbrk(text, "0123456789") == NULL)
        return MUSE_OK;
    return medical_parse_text(text, out, err);
}

static int understand(run_t *r, muse_error_t *err)
{
    step_t *s = step_begin(r, "understand");
    int rc;
    if (!r->have_men && (rc = kb_find_mentions(r->kb, r->q, &r->men, err)) != MUSE_OK)
        return rc;
    if (!r->have_rd && (rc = parse_readings(r->q, &r->rd, err)) != MUSE_OK)
        return rc;
    r->have_men = r->have_rd = 1;
    for (size_t i = 0; i < r->men.n; i++)
        r->n_medicines += strcmp(r->men.v[i].kind, "medication") == 0;
    r->n_intents = engine_intents(r->q, (int)r->rd.n, r->n_medicines, r->intents, 8);
    char detail[200];
    int off = snprintf(detail, sizeof detail, "intent %s; %zu names; %zu readings",
                       r->n_intents ? r->intents[0]->id : "definition", r->men.n, r->rd.n);
    for (size_t i = 0; i < r->men.n && off < (int)sizeof detail - 40; i++)
        off += snprintf(detail + off, sizeof detail - (size_t)off, "%s%s", i ? ", " : ": ", r->men.v[i].id);
    step_end(s, 1, engine_count_tokens(detail), "%s", detail);
    return MUSE_OK;
}

/* ---- retrieve ---- */

static int add_passage(run_t *r, const kb_entry_t *e, const char *section, double score, int topic,
                       int from_mention, const char *agent)
{
    const char *text = kb_entry_section(e, section);
    if (!text)
        return 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_pass; i++)
        if (strcmp(r->pass[i].id, e->id) == 0 && strcmp(r->pass[i].section, section) == 0) {
            /* Whichever agent thread came first, the passage ends the same:
             * the best score, the first agent by name, named if any named it. */
            passage_t *p = &r->pass[i];
            if (score > p->score)
                p->score = score;
            if (agent && strcmp(agent, p->agent) < 0)
                snprintf(p->agent, sizeof p->agent, "%s", agent);
            p->from_mention |= from_mention;
            pthread_mutex_unlock(&r->lock);
            return 0;
        }
    if (r->n_pass == MAX_PASSAGES) {
        pthread_mutex_unlock(&r->lock);
        return 0;
    }
    passage_t *p = &r->pass[r->n_pass];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", e->id);
    snprintf(p->title, sizeof p->title, "%s", e->title);
    snprintf(p->kind, sizeof p->kind, "%s", e->kind);
    snprintf(p->section, sizeof p->section, "%s", section);
    snprintf(p->agent, sizeof p->agent, "%s", agent ? agent : "");
    p->text = strdup(text);
    p->score = score;
    p->topic = topic;
    p->from_mention = from_mention;
    if (p->text)
        r->n_pass++;
    pthread_mutex_unlock(&r->lock);
    return engine_count_tokens(text);
}

/* Sections to take from an entry for the question's intents. */
static size_t wanted_sections(const run_t *r, const char *kind, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_intents && n < max; i++)
        for (size_t k = 0; k < r->intents[i]->n_sections && n < max; k++) {
            const char *s = r->intents[i]->sections[k];
            int dup = 0;
            for (size_t j = 0; j < n; j++)
                dup |= strcmp(out[j], s) == 0;
            if (!dup)
                out[n++] = s;
        }
    if (n == 0 && n < max)
        out[n++] = "overview";
    /* Conditions and symptoms always say when to get help. */
    if ((strcmp(kind, "condition") == 0 || strcmp(kind, "symptom") == 0) && n < max) {
        int have = 0;
        for (size_t j = 0; j < n; j++)
            have |= strcmp(out[j], "when_to_seek_care") == 0;
        if (!have)
            out[n++] = "when_to_seek_care";
    }
    return n;
}

/* Retrieves for one (sub-)question: the best entries, and from each the
 * sections the intents ask for. Returns the tokens of what was read. */
static int retrieve_one(run_t *r, kb_t *kb, const char *q, int topic, const char *kind,
                        size_t entries, const char *agent, double *top_score, double *second,
                        muse_error_t *err)
{
    kb_search_opts_t so = {.limit = entries < 4 ? 4 : entries, .reviewed_only = r->m->reviewed_only,
                           .kind = kind};
    kb_hits_t hits;
    int rc = kb_search(kb, q, &so, &hits, err);
    if (rc != MUSE_OK)
        return -1;
    int tokens = 0;
    if (top_score)
        *top_score = hits.n ? hits.v[0].score : 0;
    if (second)
        *second = hits.n > 1 ? hits.v[1].score : 0;
    for (size_t i = 0; i < hits.n; i++)
        tokens += engine_count_tokens(hits.v[i].title) + engine_count_tokens(hits.v[i].snippet);
    /* Rerank the leaders by whether they hold what the question asks for:
     * "what is a normal blood pressure" wants an entry with a "results"
     * section (the measure), not only one that names the words. */
    kb_entry_t *ents[4] = {0};
    double score[4] = {0};
    size_t ne = hits.n < 4 ? hits.n : 4;
    for (size_t i = 0; i < ne; i++) {
        if (kb_get(kb, hits.v[i].id, &ents[i], NULL) != MUSE_OK)
            continue;
        score[i] = hits.v[i].score;
        if (r->n_intents && strcmp(r->intents[0]->id, "definition") != 0 &&
            kb_entry_section(ents[i], r->intents[0]->sections[0]))
            score[i] += INTENT_SECTION_BONUS * hits.v[0].score;
    }
    for (size_t i = 0; i < ne; i++)
        for (size_t j = i + 1; j < ne; j++)
            if (score[j] > score[i]) {
                double ts = score[i];
                score[i] = score[j];
                score[j] = ts;
                kb_entry_t *te = ents[i];
                ents[i] = ents[j];
                ents[j] = te;
            }
    if (top_score && ne)
        *top_score = score[0];
    if (second)
        *second = ne > 1 ? score[1] : 0;
    for (size_t i = 0; i < ne && i < entries; i++) {
        kb_entry_t *e = ents[i];
        if (!e)
            continue;
        const char *secs[ENGINE_MAX_SECTIONS * 2];
        size_t ns = wanted_sections(r, e->kind, secs, sizeof secs / sizeof secs[0]);
        int added = 0;
        for (size_t k = 0; k < ns; k++) {
            int t = add_passage(r, e, secs[k], score[i] - (double)k * 0.01, topic,
                                mentions_entry(r, e->id), agent);
            tokens += t;
            added += t > 0;
        }
        /* An entry with none of the wanted sections still gives its overview. */
        if (!added)
            tokens += add_passage(r, e, "overview", score[i] - 1, topic,
                                  mentions_entry(r, e->id), agent);
    }
    for (size_t i = 0; i < ne; i++)
        kb_entry_free(ents[i]);
    kb_hits_free(&hits);
    return tokens;
}

/* Confidence in [0,1] from the shape of the ranking: a name said in full, a
 * clear gap to the runner-up, and the sections the intent asks for. */
static double confidence_of(double top, double second, int have_intent_section)
{
    if (top <= 0)
        return 0;
    double c = 0.25;
    if (top >= 20)
        c += 0.4;
    else
        c += 0.4 * fmin(1.0, top / 20.0);
    c += 0.25 * fmin(1.0, (top - second) / top * 2);
    c += have_intent_section ? 0.1 : 0;
    return fmin(1.0, c);
}

static int have_intent_section(const run_t *r, int topic)
{
    if (r->n_intents == 0)
        return 1;
    for (size_t i = 0; i < r->n_pass; i++)
        if (r->pass[i].topic == topic)
            for (size_t k = 0; k < r->intents[0]->n_sections; k++)
                if (strcmp(r->pass[i].section, r->intents[0]->sections[k]) == 0)
                    return 1;
    return 0;
}

/* The question plus the names of the measures its readings are of. */
static char *augmented_query(const run_t *r, const char *q)
{
    size_t len = strlen(q) + 2;
    int seen[MED_KIND_COUNT] = {0};
    for (size_t i = 0; i < r->rd.n; i++)
        if (!seen[r->rd.v[i].kind]++)
            len += strlen(medical_kind_label(r->rd.v[i].kind)) + 2;
    char *out = malloc(len);
    if (!out)
        return NULL;
    snprintf(out, len, "%s", q);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < r->rd.n; i++)
        if (!seen[r->rd.v[i].kind]++) {
            strcat(out, " ");
            strcat(out, medical_kind_label(r->rd.v[i].kind));
        }
    return out;
}

static int retrieve_instant(run_t *r, muse_error_t *err)
{
    step_t *s = step_begin(r, "retrieve");
    double top = 0, second = 0;
    size_t entries = 1;
    /* Two named medicines (an interaction question) need both entries. */
    if (r->n_medicines >= 2)
        entries = 2;
    /* Readings steer retrieval to what they measure: "Is 150/95 high?"
     * is about blood pressure though it never says so. */
    char *aq = augmented_query(r, r->q);
    int tokens = retrieve_one(r, r->kb, aq ? aq : r->q, 0, NULL, entries, "instant", &top, &second, err);
    free(aq);
    if (tokens < 0)
        return err ? err->code : MUSE_EINTERNAL;
    r->confidence = confidence_of(top, second, have_intent_section(r, 0));
    step_end(s, r->n_pass > 0, tokens, "whole question: %zu passages, top score %.1f", r->n_pass, top);
    return MUSE_OK;
}

/* Every entry the question names gets a say: "eczema vs psoriasis" needs
 * both, even when one sub-question's retrieval favoured the other. Adds a
 * topic for each named entry no passage comes from yet. */
static int cover_named(run_t *r, kb_t *kb, const char *agent)
{
    int tokens = 0;
    int topic = 0;
    for (size_t i = 0; i < r->n_pass; i++)
        if (r->pass[i].topic >= topic)
            topic = r->pass[i].topic + 1;
    for (size_t i = 0; i < r->men.n && topic < MAX_TOPICS; i++) {
        const char *id = r->men.v[i].id;
        int have = 0;
        for (size_t k = 0; k < r->n_pass; k++)
            have |= strcmp(r->pass[k].id, id) == 0;
        if (have)
            continue;
        kb_entry_t *e = NULL;
        if (kb_get(kb, id, &e, NULL) != MUSE_OK)
            continue;
        if (r->m->reviewed_only && strcmp(e->review_status, "reviewed") != 0) {
            kb_entry_free(e);
            continue;
        }
        const char *secs[ENGINE_MAX_SECTIONS * 2];
        size_t ns = wanted_sections(r, e->kind, secs, sizeof secs / sizeof secs[0]);
        int added = 0;
        for (size_t k = 0; k < ns; k++) {
            int t = add_passage(r, e, secs[k], 10.0 - (double)k * 0.01, topic, 1, agent);
            tokens += t;
            added += t > 0;
        }
        if (!added)
            tokens += add_passage(r, e, "overview", 9.0, topic, 1, agent);
        kb_entry_free(e);
        topic++;
    }
    return tokens;
}

static int retrieve_thinking(run_t *r, muse_error_t *err)
{
    step_t *s = step_begin(r, "decompose");
    decompose(r);
    int tok = 0;
    for (size_t i = 0; i < r->n_subq; i++)
        tok += engine_count_tokens(r->subq[i]);
    step_end(s, r->n_subq > 1, tok, "%zu sub-question%s", r->n_subq, r->n_subq == 1 ? "" : "s");
    double conf = 0;
    for (size_t i = 0; i < r->n_subq; i++) {
        step_t *rs = step_begin(r, "retrieve");
        double top = 0, second = 0;
        size_t before = r->n_pass;
        size_t entries = r->n_medicines >= 2 ? 2 : 1;
        int t = retrieve_one(r, r->kb, r->subq[i], (int)i, NULL, entries, "thinking", &top, &second, err);
        if (t < 0)
            return err ? err->code : MUSE_EINTERNAL;
        double c = confidence_of(top, second, have_intent_section(r, (int)i));
        conf += c;
        step_end(rs, r->n_pass > before, t, "sub-question %zu: %zu passages, top score %.1f", i + 1,
                 r->n_pass - before, top);
    }
    r->confidence = r->n_subq ? conf / (double)r->n_subq : 0;
    step_t *cs = step_begin(r, "cover_named");
    size_t before = r->n_pass;
    int t = cover_named(r, r->kb, "thinking");
    step_end(cs, r->n_pass > before, t, "%zu passages for named entries not yet covered", r->n_pass - before);
    return MUSE_OK;
}

/* ---- contemplating: specialist agents in parallel ---- */

typedef struct agent {
    run_t *r;
    const char *name;
    const char *kind;       /* entry kind this specialist reads, or NULL */
    size_t entries;         /* its budget: entries read */
    int tokens;
    double top, second;
    char top_id[72];
    int rc;
    double ms;
} agent_t;

static void *agent_main(void *arg)
{
    agent_t *a = arg;
    double t0 = now_ms();
    kb_t *kb = NULL;
    muse_error_t err;
    a->rc = muse_kb_acquire(a->r->m, &kb, &err);
    if (a->rc == MUSE_OK) {
        int snap = kb_snapshot_begin(kb);
        size_t before_ids = 0;
        (void)before_ids;
        for (size_t i = 0; i < a->r->n_subq; i++) {
            double top = 0, second = 0;
            int t = retrieve_one(a->r, kb, a->r->subq[i], (int)i, a->kind, a->entries, a->name, &top,
                                 &second, &err);
            if (t < 0) {
                a->rc = err.code;
                break;
            }
            a->tokens += t;
            if (i == 0) {
                a->top = top;
                a->second = second;
            }
        }
        kb_hits_t h;
        kb_search_opts_t so = {.limit = 1, .kind = a->kind, .reviewed_only = a->r->m->reviewed_only};
        if (kb_search(kb, a->r->q, &so, &h, NULL) == MUSE_OK) {
            if (h.n)
                snprintf(a->top_id, sizeof a->top_id, "%s", h.v[0].id);
            kb_hits_free(&h);
        }
        kb_snapshot_end(kb, snap);
        muse_kb_release(a->r->m, kb);
    }
    a->ms = now_ms() - t0;
    return NULL;
}

static int passage_order(const void *a, const void *b)
{
    const passage_t *x = a, *y = b;
    if (x->topic != y->topic)
        return x->topic < y->topic ? -1 : 1;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->section, y->section);
}

static int retrieve_contemplating(run_t *r, muse_error_t *err)
{
    step_t *s = step_begin(r, "decompose");
    decompose(r);
    int tok = 0;
    for (size_t i = 0; i < r->n_subq; i++)
        tok += engine_count_tokens(r->subq[i]);
    step_end(s, r->n_subq > 1, tok, "%zu sub-question%s", r->n_subq, r->n_subq == 1 ? "" : "s");

    agent_t agents[] = {
        {.name = "generalist", .kind = NULL, .entries = 2},
        {.name = "conditions", .kind = "condition", .entries = 1},
        {.name = "symptoms_triage", .kind = "symptom", .entries = 1},
        {.name = "medicines", .kind = "medication", .entries = 2},
        {.name = "measurements", .kind = "measure", .entries = 1},
        {.name = "tests", .kind = "test", .entries = 1},
        {.name = "lifestyle", .kind = "wellness", .entries = 1},
    };
    size_t na = sizeof agents / sizeof agents[0];
    pthread_t th[sizeof agents / sizeof agents[0]];
    int started[sizeof agents / sizeof agents[0]] = {0};
    for (size_t i = 0; i < na; i++) {
        agents[i].r = r;
        started[i] = pthread_create(&th[i], NULL, agent_main, &agents[i]) == 0;
        if (!started[i])
            agent_main(&agents[i]);
    }
    for (size_t i = 0; i < na; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    /* The agents' passages arrive in the order their threads ran: put them
     * in an order of their own so the answer does not depend on timing. */
    qsort(r->pass, r->n_pass, sizeof r->pass[0], passage_order);
    /* Aggregate: the best-supported entry leads; specialists whose top entry
     * scores close to the leader's but differs are reported as disagreeing. */
    double best = 0;
    const char *best_id = NULL;
    for (size_t i = 0; i < na; i++) {
        if (agents[i].rc != MUSE_OK)
            return muse_err(err, agents[i].rc, "agent %s failed", agents[i].name);
        if (agents[i].top > best) {
            best = agents[i].top;
            best_id = agents[i].top_id;
        }
    }
    for (size_t i = 0; i < na; i++) {
        agent_t *a = &agents[i];
        step_t *as = step_begin(r, "agent");
        int contributed = 0;
        for (size_t k = 0; k < r->n_pass; k++)
            contributed |= strcmp(r->pass[k].agent, a->name) == 0 && a->top >= best * 0.5 && a->top > 0;
        step_end(as, contributed, a->tokens, "%s: top %s (%.1f)", a->name, a->top_id[0] ? a->top_id : "none", a->top);
        as->ms = a->ms;
        if (best_id && a->top_id[0] && strcmp(a->top_id, best_id) != 0 && a->top >= best * 0.8 &&
            !r->disagreement[0] && strcmp(a->name, "generalist") != 0)
            snprintf(r->disagreement, sizeof r->disagreement,
                     "specialists differ on the main topic: %s (%s) vs %s", a->top_id, a->name, best_id);
    }
    step_t *cn = step_begin(r, "cover_named");
    size_t before_cn = r->n_pass;
    int tcn = cover_named(r, r->kb, "aggregator");
    step_end(cn, r->n_pass > before_cn, tcn, "%zu passages for named entries not yet covered", r->n_pass - before_cn);
    step_t *ag = step_begin(r, "aggregate");
    r->confidence = confidence_of(best, 0, have_intent_section(r, 0));
    /* The aggregator keeps, per topic, passages from the best entry and any
     * entry the question names; the rest are dropped. */
    step_end(ag, 1, 0, "%zu passages from %zu agents%s", r->n_pass, na,
             r->disagreement[0] ? "; disagreement noted" : "");
    return MUSE_OK;
}

/* ---- compose ---- */

static cJSON *citation_list(const char *id)
{
    cJSON *c = cJSON_CreateArray();
    cJSON_AddItemToArray(c, cJSON_CreateString(id));
    return c;
}

static void add_section(cJSON *sections, const char *heading, const char *text, const char *cite)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "heading", heading);
    cJSON_AddStringToObject(s, "text", text);
    cJSON_AddItemToObject(s, "citations", citation_list(cite));
    cJSON_AddItemToArray(sections, s);
}

static int source_known(cJSON *sources, const char *id)
{
    cJSON *s;
    cJSON_ArrayForEach(s, sources) {
        cJSON *i = cJSON_GetObjectItemCaseSensitive(s, "id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0)
            return 1;
    }
    return 0;
}

static void add_entry_source(run_t *r, cJSON *sources, const char *id)
{
    if (source_known(sources, id))
        return;
    kb_entry_t *e = NULL;
    if (kb_get(r->kb, id, &e, NULL) != MUSE_OK)
        return;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "id", e->id);
    cJSON_AddStringToObject(s, "title", e->title);
    cJSON_AddStringToObject(s, "kind", e->kind);
    cJSON_AddStringToObject(s, "review_status", e->review_status);
    cJSON_AddNumberToObject(s, "version", e->version);
    cJSON *refs = cJSON_AddArrayToObject(s, "references");
    for (size_t i = 0; i < e->n_sources; i++) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "publisher", e->sources[i].publisher);
        cJSON_AddStringToObject(x, "title", e->sources[i].title);
        cJSON_AddNumberToObject(x, "year", e->sources[i].year);
        cJSON_AddStringToObject(x, "url", e->sources[i].url);
        cJSON_AddItemToArray(refs, x);
    }
    cJSON_AddItemToArray(sources, s);
    kb_entry_free(e);
}

static int cmp_passage(const void *a, const void *b)
{
    const passage_t *x = a, *y = b;
    if (x->topic != y->topic)
        return x->topic - y->topic;
    if (x->score != y->score)
        return x->score < y->score ? 1 : -1;
    return strcmp(x->id, y->id);
}

/* Section rank within the intents' wanted list (lower first). */
static int section_rank(const run_t *r, const char *kind, const char *section)
{
    const char *secs[ENGINE_MAX_SECTIONS * 2];
    size_t n = wanted_sections(r, kind, secs, sizeof secs / sizeof secs[0]);
    for (size_t i = 0; i < n; i++)
        if (strcmp(secs[i], section) == 0)
            return (int)i;
    return 99;
}

/* Words shared between a sentence and its passage: the claim check. */
static double support(const char *sentence, const char *passage)
{
    int total = 0, found = 0;
    char w[64];
    const char *p = sentence;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        size_t n = 0;
        while (*p && isalnum((unsigned char)*p)) {
            if (n + 1 < sizeof w)
                w[n++] = (char)tolower((unsigned char)*p);
            p++;
        }
        w[n] = '\0';
        if (n < 4)
            continue;
        total++;
        found += strcasestr(passage, w) != NULL;
    }
    return total ? (double)found / total : 1;
}

typedef struct chosen {
    const passage_t *p;
} chosen_t;

static const char *range_source_id(med_kind_t k, char *buf, size_t cap)
{
    snprintf(buf, cap, "range:%s", medical_kind_name(k));
    return buf;
}

/* Readings: classify each against its guideline, summarise a series, and
 * attach a chart spec. Returns the sentences' tokens. */
static int interpret_readings(run_t *r, cJSON *root, cJSON *sections, cJSON *sources, int *worst_level,
                              int *worst_max, char *worst_label, size_t wl_cap)
{
    cJSON *meas = cJSON_GetObjectItemCaseSensitive(root, "measurements");
    char text[6144] = "";
    size_t off = 0;
    int tokens = 0;
    size_t n_bp = 0;
    *worst_level = -1;
    char cite[64] = "";
    for (size_t i = 0; i < r->rd.n; i++) {
        const med_reading_t *rd = &r->rd.v[i];
        /* The medical module's own view of the reading (value, display,
         * category with its range and population, source), as `muse
         * interpret` gives it. */
        cJSON *mj = medical_reading_json(rd);
        if (!mj)
            continue;
        cJSON_AddItemToArray(meas, mj);
        const char *val = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(mj, "display"));
        val = val ? val : "";
        if (rd->kind == MED_BP)
            n_bp++;
        if (rd->implausible) {
            off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0,
                                    "%s%s does not look like a real reading (%s), so it was not interpreted.",
                                    off ? " " : "", val, rd->note[0] ? rd->note : "implausible value");
            continue;
        }
        med_class_t c;
        if (medical_classify(rd, &c, NULL) != MUSE_OK)
            continue;
        char rid[48];
        range_source_id(rd->kind, rid, sizeof rid);
        snprintf(cite, sizeof cite, "%s", rid);
        if (!source_known(sources, rid)) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "id", rid);
            cJSON_AddStringToObject(s, "title", c.source);
            cJSON_AddStringToObject(s, "kind", "guideline_range");
            cJSON_AddStringToObject(s, "review_status", "published_guideline");
            cJSON *refs = cJSON_AddArrayToObject(s, "references");
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "title", c.source);
            cJSON_AddStringToObject(x, "url", c.url);
            cJSON_AddItemToArray(refs, x);
            cJSON_AddItemToArray(sources, s);
        }
        if (c.level > *worst_level || (c.level == *worst_level && c.max_level > *worst_max)) {
            *worst_level = c.level;
            *worst_max = c.max_level;
            snprintf(worst_label, wl_cap, "%s", c.label);
        }
        /* One sentence per reading for a handful; a series is summarised. */
        if (r->rd.n <= 3) {
            const char *range = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(mj, "category"), "range"));
            off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0,
                                    "%s%s %s is in the \"%s\" range%s%s%s.%s%s", off ? " " : "",
                                    rd->kind == MED_BP ? "A blood pressure of" : medical_kind_label(rd->kind),
                                    val, c.label, range ? " (" : "", range ? range : "", range ? ")" : "",
                                    rd->assumed_unit ? " " : "", rd->assumed_unit ? rd->note : "");
        }
    }
    if (r->rd.n > 3) {
        /* A pasted list: per measure, the average, the share in each
         * category and the trend, then the patterns worth raising. */
        int seen[MED_KIND_COUNT] = {0};
        for (size_t i = 0; i < r->rd.n; i++) {
            med_kind_t k = r->rd.v[i].kind;
            if (seen[k]++)
                continue;
            med_stats_t st;
            if (medical_series_stats(&r->rd, k, &st, NULL) != MUSE_OK || st.n < 2)
                continue;
            const char *unit = k == MED_BP ? "mmHg" : medical_kind_unit(k);
            if (k == MED_BP)
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0,
                                        "%sYour %zu blood pressure readings averaged %.0f/%.0f %s (systolic %.0f to %.0f).",
                                        off ? " " : "", st.n, st.c[0].mean, st.c[1].mean, unit, st.c[0].min, st.c[0].max);
            else
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0,
                                        "%sYour %zu %s readings averaged %.1f %s (%.1f to %.1f).", off ? " " : "",
                                        st.n, medical_kind_label(k), st.c[0].mean, unit, st.c[0].min, st.c[0].max);
            int first = 1;
            for (int c = st.n_categories - 1; c >= 0; c--) {
                if (!st.categories[c].count)
                    continue;
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0, "%s%zu %s \"%s\"",
                                        first ? " " : ", ", st.categories[c].count,
                                        st.categories[c].count == 1 ? "was" : "were", st.categories[c].label);
                first = 0;
            }
            if (!first)
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0, ".");
            const med_trend_t *tr = &st.c[0].trend;
            if (tr->valid)
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0,
                                        " %s %s by about %.1f %s %s (%s confidence).",
                                        k == MED_BP ? "Systolic" : "It",
                                        tr->direction > 0 ? "rose" : tr->direction < 0 ? "fell" : "changed",
                                        fabs(tr->slope), unit, tr->by_time ? "a week" : "per reading",
                                        tr->confidence ? tr->confidence : "low");
        }
        med_patterns_t pats = {0};
        if (medical_find_patterns(&r->rd, &pats, NULL) == MUSE_OK) {
            for (size_t i = 0; i < pats.n; i++)
                off += (size_t)snprintf(text + off, off < sizeof text ? sizeof text - off : 0, " %s",
                                        pats.v[i].explanation);
            med_patterns_free(&pats);
        }
    }
    if (off && cite[0]) {
        add_section(sections, "Your numbers", text, cite);
        tokens += engine_count_tokens(text);
    } else if (off) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "heading", "Your numbers");
        cJSON_AddStringToObject(s, "text", text);
        cJSON_AddItemToObject(s, "citations", cJSON_CreateArray());
        cJSON_AddItemToArray(sections, s);
    }
    /* A chart for the numbers: a series over time, or one reading placed
     * among the categories. */
    cJSON *charts = cJSON_GetObjectItemCaseSensitive(root, "charts");
    if (n_bp > 0) {
        cJSON *spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "preset", n_bp >= 3 ? "bp_trend" : "bp_category");
        cJSON_AddStringToObject(spec, "title", n_bp >= 3 ? "Your blood pressure readings" : "Your blood pressure");
        cJSON *data = cJSON_AddArrayToObject(spec, "data");
        for (size_t i = 0; i < r->rd.n; i++) {
            const med_reading_t *rd = &r->rd.v[i];
            if (rd->kind != MED_BP || rd->implausible)
                continue;
            cJSON *d = cJSON_CreateObject();
            if (n_bp >= 3) {
                if (rd->time >= 0) {
                    char ts[32];
                    time_t t = (time_t)rd->time;
                    struct tm tm;
                    gmtime_r(&t, &tm);
                    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
                    cJSON_AddStringToObject(d, "time", ts);
                } else {
                    cJSON_AddNullToObject(d, "time");
                }
            }
            cJSON_AddNumberToObject(d, "systolic", rd->value);
            cJSON_AddNumberToObject(d, "diastolic", rd->value2);
            if (!isnan(rd->pulse))
                cJSON_AddNumberToObject(d, "pulse", rd->pulse);
            cJSON_AddItemToArray(data, d);
        }
        if (cJSON_GetArraySize(data) > 0)
            cJSON_AddItemToArray(charts, spec);
        else
            cJSON_Delete(spec);
    }
    if (r->rd.n > n_bp) {
        cJSON *spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "preset", "lab_panel");
        cJSON_AddStringToObject(spec, "title", "Your results");
        cJSON *data = cJSON_AddArrayToObject(spec, "data");
        for (size_t i = 0; i < r->rd.n; i++) {
            const med_reading_t *rd = &r->rd.v[i];
            if (rd->kind == MED_BP || rd->implausible)
                continue;
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "kind", medical_kind_name(rd->kind));
            cJSON_AddStringToObject(d, "label", medical_kind_label(rd->kind));
            cJSON_AddNumberToObject(d, "value", rd->value);
            cJSON_AddStringToObject(d, "unit", medical_kind_unit(rd->kind));
            cJSON_AddItemToArray(data, d);
        }
        if (cJSON_GetArraySize(data) > 0)
            cJSON_AddItemToArray(charts, spec);
        else
            cJSON_Delete(spec);
    }
    return tokens;
}

/* Interactions between the medicines, conditions and readings the question
 * names (not the negated ones: "I don't take warfarin"), from the medical
 * module's sourced interaction table. Returns the most severe level found:
 * 0 none, 1 minor/moderate, 2 major or contraindicated. */
static int add_interactions(run_t *r, cJSON *sections, cJSON *sources, int *tokens)
{
    med_entities_t ents = {0};
    if (medical_extract_entities(r->kb, r->q, &ents, NULL) != MUSE_OK)
        return 0;
    const char *ids[16];
    size_t n = 0;
    int medicines = 0;
    for (size_t i = 0; i < ents.n && n < 16; i++) {
        if (ents.v[i].negated || ents.v[i].hypothetical)
            continue;
        medicines += strcmp(ents.v[i].kind, "medication") == 0;
        ids[n++] = ents.v[i].id;
    }
    int worst = 0;
    med_interactions_t x = {0};
    if (medicines > 0 && medical_interactions_find(ids, n, &r->rd, &x, NULL) == MUSE_OK) {
        for (size_t i = 0; i < x.n; i++) {
            const med_interaction_t *it = &x.v[i];
            char cite[96], heading[256], text[1600];
            snprintf(cite, sizeof cite, "interaction:%s", it->id);
            snprintf(heading, sizeof heading, "Interaction: %s and %s (%s)", it->a, it->b, it->severity);
            snprintf(text, sizeof text, "%s %s", it->summary, it->advice);
            add_section(sections, heading, text, cite);
            *tokens += engine_count_tokens(text);
            if (!source_known(sources, cite)) {
                cJSON *src = cJSON_CreateObject();
                cJSON_AddStringToObject(src, "id", cite);
                cJSON_AddStringToObject(src, "title", it->source_title);
                cJSON_AddStringToObject(src, "kind", "interaction");
                cJSON_AddStringToObject(src, "review_status", "published_reference");
                cJSON *refs = cJSON_AddArrayToObject(src, "references");
                cJSON *ref = cJSON_CreateObject();
                cJSON_AddStringToObject(ref, "publisher", it->source_publisher);
                cJSON_AddStringToObject(ref, "title", it->source_title);
                cJSON_AddStringToObject(ref, "url", it->source_url);
                cJSON_AddItemToArray(refs, ref);
                cJSON_AddItemToArray(sources, src);
            }
            int sev = strcmp(it->severity, "major") == 0 || strcmp(it->severity, "contraindicated") == 0 ? 2 : 1;
            if (sev > worst)
                worst = sev;
        }
        med_interactions_free(&x);
    }
    med_entities_free(&ents);
    return worst;
}

/* Ask-back: context that changes the answer and that the question lacks. */
static void follow_ups(run_t *r, cJSON *list)
{
    const char *q = r->q;
    int about_medicine = r->n_medicines > 0;
    int has_age = strcasestr(q, "year") || strcasestr(q, " old") || strcasestr(q, "age ") ||
                  strcasestr(q, "child") || strcasestr(q, "baby") || strcasestr(q, "toddler") ||
                  strcasestr(q, "kid");
    int has_duration = strcasestr(q, "day") || strcasestr(q, "week") || strcasestr(q, "month") ||
                       strcasestr(q, "hour") || strcasestr(q, "since") || strcasestr(q, "for ");
    int symptomatic = 0;
    for (size_t i = 0; i < r->men.n; i++)
        symptomatic |= strcmp(r->men.v[i].kind, "symptom") == 0;
    if (about_medicine && !has_age)
        cJSON_AddItemToArray(list, cJSON_CreateString("How old is the person who will take it?"));
    if (about_medicine && !strcasestr(q, "pregnan") && !strcasestr(q, "breastfeed"))
        cJSON_AddItemToArray(list, cJSON_CreateString("Could they be pregnant or breastfeeding?"));
    if (about_medicine && r->n_medicines < 2)
        cJSON_AddItemToArray(list, cJSON_CreateString("What other medicines or supplements are they taking?"));
    if (symptomatic && !has_duration)
        cJSON_AddItemToArray(list, cJSON_CreateString("How long has this been going on?"));
    if (r->rd.n > 0 && !has_age)
        cJSON_AddItemToArray(list, cJSON_CreateString("Is this for an adult? Ranges differ for children and in pregnancy."));
}

/* Urgency: readings against their guideline, then the "when to get help"
 * guidance of the entries the question is about (core/triage.c); the more
 * urgent wins. Emergencies never reach here: the safety filter answers them. */
static void triage(run_t *r, cJSON *seek, int worst_level, int worst_max, const char *worst_label)
{
    triage_level_t level = TRIAGE_SELF_CARE;
    char reason[640] = "This is general information; see a clinician if you are worried.";
    char source[72] = "";
    /* A reading that asks for care sooner than self-care gives the reason. */
    int from_reading = worst_level > 0 && worst_max > 0 && worst_level >= worst_max - 1;
    if (worst_level >= 0 && worst_max > 0 && worst_level == worst_max) {
        level = TRIAGE_URGENT;
        snprintf(reason, sizeof reason,
                 "A reading in the \"%s\" range needs a clinician today. Call emergency services now if you "
                 "also have chest pain, shortness of breath, weakness, numbness, vision or speech changes, "
                 "or a severe headache.", worst_label);
    } else if (worst_level > 0 && worst_max > 0 && worst_level >= worst_max - 1) {
        level = TRIAGE_ROUTINE;
        snprintf(reason, sizeof reason,
                 "Readings in the \"%s\" range are worth discussing with a clinician at a routine appointment.",
                 worst_label);
    }
    /* Entries that carry "when to get help" guidance: symptoms and
     * conditions the question names or retrieval led to. */
    const char *ids[8];
    size_t n = 0;
    int symptomatic = 0;
    for (size_t i = 0; i < r->men.n && n < 8; i++) {
        const kb_mention_t *m = &r->men.v[i];
        if (strcmp(m->kind, "symptom") && strcmp(m->kind, "condition"))
            continue;
        symptomatic |= strcmp(m->kind, "symptom") == 0;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(ids[k], m->id) == 0;
        if (!dup)
            ids[n++] = m->id;
    }
    for (size_t i = 0; i < r->n_pass && n < 8; i++) {
        const passage_t *p = &r->pass[i];
        if (strcmp(p->kind, "symptom") && strcmp(p->kind, "condition"))
            continue;
        symptomatic |= strcmp(p->kind, "symptom") == 0;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(ids[k], p->id) == 0;
        if (!dup)
            ids[n++] = p->id;
    }
    if (r->interaction_level == 2 && level < TRIAGE_ROUTINE) {
        level = TRIAGE_ROUTINE;
        snprintf(reason, sizeof reason,
                 "These can interact seriously: talk to a pharmacist or your doctor before taking them together.");
    }
    triage_t t;
    triage_assess(r->kb, r->q, ids, n, &t);
    triage_level_t from_text = t.level;
    /* Someone describing what is happening to them, with no guidance
     * sentence matched: an appointment, unless they say it is minor. */
    if (from_text == TRIAGE_NONE && (symptomatic || (t.personal && n > 0)))
        from_text = t.mild && !t.long_duration ? TRIAGE_SELF_CARE : TRIAGE_ROUTINE;
    if (t.long_duration && from_text != TRIAGE_NONE && from_text < TRIAGE_ROUTINE)
        from_text = TRIAGE_ROUTINE;
    /* Severe or worsening symptoms are seen the same day. */
    int severe_now = t.severe && (symptomatic || t.personal) && n > 0 && from_text < TRIAGE_URGENT;
    if (severe_now) {
        from_text = TRIAGE_URGENT;
        t.level = TRIAGE_NONE;
    }
    if (from_text > level) {
        level = from_text;
        if (t.level != TRIAGE_NONE) {
            snprintf(reason, sizeof reason, "%s", t.reason);
            snprintf(source, sizeof source, "%s", t.entry);
        } else if (level == TRIAGE_URGENT) {
            snprintf(reason, sizeof reason,
                     "Symptoms that are severe or getting worse should be checked by a clinician within 24 hours "
                     "(an urgent appointment, urgent care, or NHS 111 in the UK). Call emergency services if any "
                     "warning sign under \"When to get help\" appears.");
        } else if (level == TRIAGE_ROUTINE) {
            snprintf(reason, sizeof reason,
                     "%s book an appointment; the warning signs under \"When to get help\" need care sooner.",
                     t.long_duration ? "As this has gone on for a while," : "If it lasts, keeps coming back or worries you,");
        } else {
            snprintf(reason, sizeof reason,
                     "This usually gets better with self-care; see \"When to get help\" for signs that need a clinician.");
        }
    } else if (from_text == level && t.level == level && level != TRIAGE_NONE && !source[0] && !from_reading) {
        snprintf(reason, sizeof reason, "%s", t.reason);
        snprintf(source, sizeof source, "%s", t.entry);
    }
    cJSON_AddStringToObject(seek, "level", triage_level_name(level));
    cJSON_AddStringToObject(seek, "reason", reason);
    if (source[0])
        cJSON_AddStringToObject(seek, "source", source);
}

static int compose(run_t *r, cJSON *root, muse_error_t *err)
{
    (void)err;
    step_t *s = step_begin(r, "compose");
    cJSON *ans = cJSON_GetObjectItemCaseSensitive(root, "answer");
    cJSON *sections = cJSON_GetObjectItemCaseSensitive(ans, "sections");
    cJSON *sources = cJSON_GetObjectItemCaseSensitive(root, "sources");
    int tokens = 0;

    int worst_level = -1, worst_max = 0;
    char worst_label[64] = "";
    if (r->rd.n) {
        step_t *is = step_begin(r, "interpret");
        int t = interpret_readings(r, root, sections, sources, &worst_level, &worst_max, worst_label,
                                   sizeof worst_label);
        step_end(is, 1, t, "%zu readings interpreted", r->rd.n);
    }

    if (r->n_medicines > 0) {
        step_t *xs = step_begin(r, "interactions");
        int xt = 0;
        r->interaction_level = add_interactions(r, sections, sources, &xt);
        step_end(xs, r->interaction_level > 0, xt, "interaction table: %s",
                 r->interaction_level ? "found" : "none listed");
    }
    qsort(r->pass, r->n_pass, sizeof *r->pass, cmp_passage);
    /* Per topic: the leading entry, plus entries the question names. */
    char summary[1200] = "";
    size_t used = 0;
    int max_topics = r->ran == MUSE_MODE_INSTANT ? 1 : MAX_TOPICS;
    for (int topic = 0; topic < max_topics; topic++) {
        const char *lead = NULL;
        for (size_t i = 0; i < r->n_pass; i++)
            if (r->pass[i].topic == topic) {
                lead = r->pass[i].id;
                break;
            }
        if (!lead)
            continue;
        /* Choose passages: the lead entry's, in intent order, and a named
         * second entry's (interactions), at most 4 sections per topic. */
        const passage_t *chosen[8];
        size_t nch = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int rank = 0; rank < 20 && nch < 4; rank++) {
                for (size_t i = 0; i < r->n_pass && nch < 4; i++) {
                    const passage_t *p = &r->pass[i];
                    if (p->topic != topic)
                        continue;
                    int is_lead = strcmp(p->id, lead) == 0;
                    if (pass == 0 && !is_lead)
                        continue;
                    if (pass == 1 && (is_lead || !p->from_mention))
                        continue;
                    if (section_rank(r, p->kind, p->section) != rank &&
                        !(rank == 19 && section_rank(r, p->kind, p->section) == 99))
                        continue;
                    int dup = 0;
                    for (size_t k = 0; k < nch; k++)
                        dup |= chosen[k] == p;
                    if (!dup)
                        chosen[nch++] = p;
                }
            }
        }
        int multi = r->n_subq > 1 || r->n_medicines >= 2;
        for (size_t k = 0; k < nch; k++) {
            const passage_t *p = chosen[k];
            /* Thinking and contemplating check every sentence against its passage. */
            if (r->ran != MUSE_MODE_INSTANT && support(p->text, p->text) < 0.6)
                continue;
            char heading[256];
            if (multi)
                snprintf(heading, sizeof heading, "%s: %s", engine_section_heading(p->section), p->title);
            else
                snprintf(heading, sizeof heading, "%s", engine_section_heading(p->section));
            add_section(sections, heading, p->text, p->id);
            add_entry_source(r, sources, p->id);
            tokens += engine_count_tokens(p->text);
            if (k == 0 && used < sizeof summary - 2) {
                char *fs = first_sentences(p->text, topic == 0 ? 2 : 1);
                if (fs) {
                    used += (size_t)snprintf(summary + used, sizeof summary - used, "%s%s", used ? " " : "", fs);
                    free(fs);
                }
            }
        }
    }
    if (r->rd.n && worst_level >= 0) {
        /* For numbers, the summary leads with what they mean. */
        cJSON *first = cJSON_GetArrayItem(sections, 0);
        const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "text"));
        if (t) {
            char *fs = first_sentences(t, 1);
            if (fs) {
                char tmp[1200];
                snprintf(tmp, sizeof tmp, "%s%s%s", fs, used ? " " : "", summary);
                snprintf(summary, sizeof summary, "%s", tmp);
                free(fs);
            }
        }
    }
    if (!summary[0]) {
        snprintf(summary, sizeof summary,
                 "I could not find this in Muse's knowledge store, so I can't answer it reliably. "
                 "A pharmacist, nurse or doctor can help; if it is urgent, call your local emergency number.");
    }
    cJSON_AddStringToObject(ans, "summary", summary);
    cJSON *fu = cJSON_AddArrayToObject(ans, "follow_up_questions");
    if (r->ran != MUSE_MODE_INSTANT) {
        step_t *ab = step_begin(r, "ask_back");
        follow_ups(r, fu);
        int t = 0;
        cJSON *it;
        cJSON_ArrayForEach(it, fu)
            t += engine_count_tokens(it->valuestring);
        step_end(ab, cJSON_GetArraySize(fu) > 0, t, "%d follow-up questions", cJSON_GetArraySize(fu));
        s = NULL;
    }
    cJSON *seek = cJSON_AddObjectToObject(ans, "seek_care");
    triage(r, seek, worst_level, worst_max, worst_label);
    tokens += engine_count_tokens(summary);
    if (s)
        step_end(s, 1, tokens, "%d sections, %d sources", cJSON_GetArraySize(sections), cJSON_GetArraySize(sources));
    else {
        step_t *cs = step_begin(r, "compose");
        step_end(cs, 1, tokens, "%d sections, %d sources", cJSON_GetArraySize(sections), cJSON_GetArraySize(sources));
    }
    return MUSE_OK;
}

/* The OpenAI-compatible backend writes the answer from the same passages;
 * the grounded answer composed before it stays as the fallback and keeps its
 * measurements, charts and sources. The more urgent triage level wins. */
static void openai_answer(run_t *r, cJSON *root)
{
    cJSON *pj = cJSON_CreateArray(), *steps = cJSON_CreateArray(), *ans = NULL;
    for (size_t i = 0; i < r->n_pass; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "id", r->pass[i].id);
        cJSON_AddStringToObject(p, "title", r->pass[i].title);
        cJSON_AddStringToObject(p, "section", r->pass[i].section);
        cJSON_AddStringToObject(p, "text", r->pass[i].text);
        cJSON_AddItemToArray(pj, p);
    }
    muse_error_t berr = {0};
    int rc = backend_openai_answer(r->m->openai, r->q, pj, cJSON_GetObjectItemCaseSensitive(root, "measurements"),
                                   r->ran, &ans, steps, &berr);
    const cJSON *j;
    cJSON_ArrayForEach(j, steps) {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "detail"));
        step_t *s = step_begin(r, name ? name : "backend");
        snprintf(s->detail, sizeof s->detail, "%s", detail ? detail : "");
        s->contributed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "contributed"));
        s->tokens = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "reasoning_tokens"));
        s->ms = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "ms"));
    }
    if (rc == MUSE_OK) {
        cJSON *old = cJSON_GetObjectItemCaseSensitive(root, "answer");
        const char *gl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(old, "seek_care"), "level"));
        cJSON *nseek = cJSON_GetObjectItemCaseSensitive(ans, "seek_care");
        const char *nl = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(nseek, "level"));
        static const char *const order[] = {"self_care", "routine", "urgent", "emergency"};
        int gi = -1, ni = -1;
        for (int k = 0; k < 4; k++) {
            if (gl && strcmp(gl, order[k]) == 0)
                gi = k;
            if (nl && strcmp(nl, order[k]) == 0)
                ni = k;
        }
        if (gi > ni)
            cJSON_ReplaceItemInObject(ans, "seek_care",
                                      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(old, "seek_care"), 1));
        cJSON *sources = cJSON_GetObjectItemCaseSensitive(root, "sources");
        const cJSON *sec, *c;
        cJSON_ArrayForEach(sec, cJSON_GetObjectItemCaseSensitive(ans, "sections"))
            cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(sec, "citations"))
                if (cJSON_IsString(c) && strncmp(c->valuestring, "range:", 6) != 0 &&
                    strncmp(c->valuestring, "interaction:", 12) != 0)
                    add_entry_source(r, sources, c->valuestring);
        cJSON_ReplaceItemInObject(root, "answer", ans);
        cJSON_ReplaceItemInObject(root, "backend", cJSON_CreateString("openai"));
    } else {
        step_t *f = step_begin(r, "fallback");
        step_end(f, 1, 0, "openai backend failed; answered with grounded: %.150s", berr.message);
    }
    cJSON_Delete(steps);
    cJSON_Delete(pj);
}

/* ---- the answer object ---- */

static cJSON *answer_skeleton(const char *q, muse_mode_t requested)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "query", q);
    cJSON_AddStringToObject(root, "mode", muse_mode_name(requested));
    cJSON_AddStringToObject(root, "mode_requested", muse_mode_name(requested));
    cJSON_AddStringToObject(root, "backend", "grounded");
    cJSON_AddObjectToObject(root, "safety");
    cJSON *a = cJSON_AddObjectToObject(root, "answer");
    cJSON_AddArrayToObject(a, "sections");
    cJSON_AddArrayToObject(root, "measurements");
    cJSON_AddArrayToObject(root, "charts");
    cJSON_AddArrayToObject(root, "sources");
    return root;
}

static void finish_trace(run_t *r, cJSON *root, double t0)
{
    cJSON *tr = cJSON_AddObjectToObject(root, "trace");
    cJSON *steps = cJSON_AddArrayToObject(tr, "steps");
    int total = 0, pruned = 0, pruned_tokens = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        step_t *s = &r->steps[i];
        total += s->tokens;
        if (!s->contributed) {
            pruned++;
            pruned_tokens += s->tokens;
            continue;
        }
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", s->name);
        cJSON_AddStringToObject(j, "detail", s->detail);
        cJSON_AddBoolToObject(j, "contributed", 1);
        cJSON_AddNumberToObject(j, "reasoning_tokens", s->tokens);
        cJSON_AddNumberToObject(j, "ms", round(s->ms * 1000) / 1000);
        cJSON_AddItemToArray(steps, j);
    }
    cJSON_AddNumberToObject(tr, "pruned", pruned);
    cJSON_AddNumberToObject(tr, "pruned_tokens", pruned_tokens);
    cJSON_AddNumberToObject(tr, "reasoning_tokens", total);
    cJSON_AddNumberToObject(tr, "confidence", round(r->confidence * 100) / 100);
    if (r->disagreement[0])
        cJSON_AddStringToObject(tr, "disagreement", r->disagreement);
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "reasoning_tokens", total);
    cJSON_AddNumberToObject(u, "passages", (double)r->n_pass);
    cJSON_AddNumberToObject(u, "latency_ms", round((now_ms() - t0) * 1000) / 1000);
}

/* Confidence below which auto escalates. */
#define AUTO_ESCALATE 0.6

static int run_mode(run_t *r, muse_mode_t mode, muse_error_t *err)
{
    r->ran = mode;
    switch (mode) {
    case MUSE_MODE_THINKING: return retrieve_thinking(r, err);
    case MUSE_MODE_CONTEMPLATING: return retrieve_contemplating(r, err);
    default: return retrieve_instant(r, err);
    }
}

static int safety_only_answer(run_t *r, cJSON *root, const safety_result_t *sr)
{
    cJSON *ans = cJSON_GetObjectItemCaseSensitive(root, "answer");
    cJSON_AddStringToObject(ans, "summary", sr->message ? sr->message : "");
    cJSON_AddArrayToObject(ans, "follow_up_questions");
    cJSON *seek = cJSON_AddObjectToObject(ans, "seek_care");
    if (sr->verdict == SAFETY_EMERGENCY || sr->verdict == SAFETY_CRISIS) {
        cJSON_AddStringToObject(seek, "level", "emergency");
        cJSON_AddStringToObject(seek, "reason", sr->message ? sr->message : "This may be an emergency.");
    } else {
        cJSON_AddStringToObject(seek, "level", "self_care");
        cJSON_AddStringToObject(seek, "reason", "No medical assessment was made.");
    }
    (void)r;
    return MUSE_OK;
}

/* A pooled store connection for the run, reading one snapshot until the
 * answer is composed: one read lock for the whole answer, and the entries
 * and names read by retrieval, composition and triage are read once. */
static int acquire_kb(run_t *r, muse_error_t *err)
{
    int rc = muse_kb_acquire(r->m, &r->kb, err);
    if (rc == MUSE_OK)
        r->snap = kb_snapshot_begin(r->kb);
    return rc;
}

int engine_answer(muse_t *m, const char *question, const muse_ask_options_t *o, cJSON **out,
                  muse_error_t *err)
{
    *out = NULL;
    double t0 = now_ms();
    muse_ask_options_t def;
    if (!o) {
        muse_ask_options_init(&def);
        o = &def;
    }
    if (!question)
        return muse_err(err, MUSE_EINVAL, "no question given");
    size_t qlen = strlen(question);
    const char *p = question;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return muse_err(err, MUSE_EINVAL, "the question is empty: ask something, e.g. \"What is a normal blood pressure?\"");
    if (qlen > MAX_QUESTION)
        return muse_err(err, MUSE_ELIMIT, "the question is %zu bytes; the limit is %d KiB", qlen, MAX_QUESTION / 1024);

    run_t *r = calloc(1, sizeof *r);
    if (!r)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    pthread_mutex_init(&r->lock, NULL);
    r->m = m;
    r->q = question;
    r->opts = *o;
    cJSON *root = answer_skeleton(question, o->mode);
    safety_result_t sr;
    memset(&sr, 0, sizeof sr);
    int rc;

    step_t *s = step_begin(r, "safety_input");
    if ((rc = safety_check_input(m->safety, question, &sr, err)) != MUSE_OK)
        goto done;
    step_end(s, 1, 0, "verdict %s", safety_verdict_name(sr.verdict));
    cJSON *sj = cJSON_GetObjectItemCaseSensitive(root, "safety");
    cJSON_AddStringToObject(sj, "verdict", safety_verdict_name(sr.verdict));
    cJSON *cats = cJSON_AddArrayToObject(sj, "categories");
    for (size_t i = 0; i < sr.n_categories; i++)
        cJSON_AddItemToArray(cats, cJSON_CreateString(sr.categories[i]));
    cJSON_AddNumberToObject(sj, "redactions", (double)sr.n_redactions);
    if (sr.message)
        cJSON_AddStringToObject(sj, "message", sr.message);

    /* "Not health" is the one verdict the store can overrule: a question
     * that names something the store knows, or gives a reading, is about
     * health however it is phrased ("Is 150/95 high?"). */
    if (sr.verdict == SAFETY_REDIRECT) {
        if ((rc = acquire_kb(r, err)) != MUSE_OK)
            goto done;
        /* What is read here is what understand() reads: kept for it. */
        r->have_men = kb_find_mentions(r->kb, question, &r->men, NULL) == MUSE_OK;
        int health = r->have_men && r->men.n > 0;
        if (!health) {
            r->have_rd = parse_readings(question, &r->rd, NULL) == MUSE_OK;
            health = r->have_rd && r->rd.n > 0;
        }
        if (health) {
            step_t *ov = step_begin(r, "scope");
            step_end(ov, 1, 0, "redirect overruled: the question names a health topic or reading");
            sr.verdict = SAFETY_ALLOW;
            cJSON_ReplaceItemInObject(sj, "verdict", cJSON_CreateString("allow"));
            cJSON_DeleteItemFromObject(sj, "message");
            free(sr.message);
            sr.message = NULL;
        }
    }
    /* Muse reads English only: say so rather than answer the wrong thing
     * or call a health question "not health". */
    const char *lang = engine_foreign_language(question);
    char notice[320] = "";
    if (lang)
        snprintf(notice, sizeof notice,
                 "Muse understands and answers in English only, and this question looks like %s. "
                 "Please ask it in English; in an emergency call your local emergency number.", lang);
    if (lang && sr.verdict == SAFETY_REDIRECT) {
        free(sr.message);
        sr.message = strdup(notice);
        cJSON_ReplaceItemInObject(sj, "message", cJSON_CreateString(notice));
        cJSON_AddItemToArray(cats, cJSON_CreateString("language"));
    }
    if (sr.verdict != SAFETY_ALLOW) {
        /* Emergencies, crises, refusals and redirects are answered here and
         * nothing else runs: nothing may delay or contradict them. */
        r->ran = o->mode == MUSE_MODE_AUTO ? MUSE_MODE_INSTANT : o->mode;
        safety_only_answer(r, root, &sr);
        r->confidence = 1;
    } else {
        if (!r->kb && (rc = acquire_kb(r, err)) != MUSE_OK)
            goto done;
        if ((rc = understand(r, err)) != MUSE_OK)
            goto done;
        muse_mode_t first = o->mode == MUSE_MODE_AUTO ? MUSE_MODE_INSTANT : o->mode;
        if ((rc = run_mode(r, first, err)) != MUSE_OK)
            goto done;
        if (o->mode == MUSE_MODE_AUTO) {
            /* Thought compression: escalate only while confidence is low. */
            int named = 0;
            for (size_t i = 0; i < r->men.n; i++) {
                int seen = 0;
                for (size_t k = 0; k < i; k++)
                    seen |= strcmp(r->men.v[k].id, r->men.v[i].id) == 0;
                named += !seen;
            }
            int multipart = strchr(question, '?') != strrchr(question, '?') || strcasestr(question, " and ") ||
                            named >= 2;
            if (r->confidence < AUTO_ESCALATE || multipart) {
                step_t *e = step_begin(r, "escalate");
                step_end(e, 1, 0, "confidence %.2f%s: thinking", r->confidence, multipart ? ", multi-part" : "");
                for (size_t i = 0; i < r->n_pass; i++)
                    free(r->pass[i].text);
                r->n_pass = 0;
                for (size_t i = 0; i + 1 < r->n_steps; i++)
                    if (strcmp(r->steps[i].name, "retrieve") == 0)
                        r->steps[i].contributed = 0;
                if ((rc = run_mode(r, MUSE_MODE_THINKING, err)) != MUSE_OK)
                    goto done;
                if (r->confidence < AUTO_ESCALATE * 0.6) {
                    step_t *e2 = step_begin(r, "escalate");
                    step_end(e2, 1, 0, "confidence %.2f: contemplating", r->confidence);
                    for (size_t i = 0; i < r->n_pass; i++)
                        free(r->pass[i].text);
                    r->n_pass = 0;
                    for (size_t i = 0; i < r->n_subq; i++)
                        free(r->subq[i]);
                    r->n_subq = 0;
                    for (size_t i = 0; i + 1 < r->n_steps; i++)
                        if (strcmp(r->steps[i].name, "retrieve") == 0 || strcmp(r->steps[i].name, "decompose") == 0)
                            r->steps[i].contributed = 0;
                    if ((rc = run_mode(r, MUSE_MODE_CONTEMPLATING, err)) != MUSE_OK)
                        goto done;
                }
            }
        }
        if ((rc = compose(r, root, err)) != MUSE_OK)
            goto done;
        if (lang)
            cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(root, "answer"), "notice", notice);
        if (m->openai) {
            /* No snapshot held open across a network call. */
            kb_snapshot_end(r->kb, r->snap);
            r->snap = 0;
            openai_answer(r, root);
        }
    }
    cJSON_ReplaceItemInObject(root, "mode", cJSON_CreateString(muse_mode_name(r->ran)));
    step_t *os = step_begin(r, "safety_output");
    if ((rc = safety_check_output(m->safety, root, err)) != MUSE_OK)
        goto done;
    step_end(os, 1, 0, "output rails applied");
    finish_trace(r, root, t0);
done:
    safety_result_free(&sr);
    if (r->kb) {
        kb_snapshot_end(r->kb, r->snap);
        muse_kb_release(m, r->kb);
    }
    run_free(r);
    pthread_mutex_destroy(&r->lock);
    free(r);
    if (rc != MUSE_OK) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return MUSE_OK;
}
