/* See triage.h. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/triage.h"
#include "muse_err.h"

extern const unsigned char core_data_triage_json[];

typedef struct cue_list {
    char **v;
    size_t n;
} cue_list_t;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cue_list_t level_cues[4];
static cue_list_t negations, long_duration, mild, personal, severe;
static double min_score = 1.5;
static int load_rc = MUSE_OK;

static void load_list(const cJSON *arr, cue_list_t *out)
{
    out->v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *out->v);
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
        if (out->v && cJSON_IsString(c))
            out->v[out->n++] = strdup(c->valuestring);
}

static void load(void)
{
    cJSON *root = cJSON_Parse((const char *)core_data_triage_json);
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(root, "levels");
    if (!cJSON_IsObject(levels)) {
        load_rc = MUSE_ECORRUPT;
        cJSON_Delete(root);
        return;
    }
    static const char *const names[] = {"self_care", "routine", "urgent", "emergency"};
    for (int i = 0; i < 4; i++)
        load_list(cJSON_GetObjectItemCaseSensitive(levels, names[i]), &level_cues[i]);
    load_list(cJSON_GetObjectItemCaseSensitive(root, "negations"), &negations);
    load_list(cJSON_GetObjectItemCaseSensitive(root, "long_duration"), &long_duration);
    load_list(cJSON_GetObjectItemCaseSensitive(root, "mild"), &mild);
    load_list(cJSON_GetObjectItemCaseSensitive(root, "personal"), &personal);
    load_list(cJSON_GetObjectItemCaseSensitive(root, "severe"), &severe);
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "min_score");
    if (cJSON_IsNumber(ms))
        min_score = ms->valuedouble;
    cJSON_Delete(root);
}

int triage_init(muse_error_t *err)
{
    pthread_once(&once, load);
    return load_rc == MUSE_OK ? MUSE_OK : muse_err(err, load_rc, "core/data/triage.json could not be loaded");
}

const char *triage_level_name(triage_level_t l)
{
    switch (l) {
    case TRIAGE_SELF_CARE: return "self_care";
    case TRIAGE_ROUTINE: return "routine";
    case TRIAGE_URGENT: return "urgent";
    case TRIAGE_EMERGENCY: return "emergency";
    default: return "";
    }
}

/* Whole-phrase match of a cue in lower-case text. */
static int has_cue(const char *low, const char *cue)
{
    size_t n = strlen(cue);
    for (const char *p = strstr(low, cue); p; p = strstr(p + 1, cue)) {
        int start_ok = p == low || !isalnum((unsigned char)p[-1]);
        int end_ok = !isalnum((unsigned char)p[n]) || !isalnum((unsigned char)cue[n - 1]);
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

static int any_cue(const char *low, const cue_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (has_cue(low, l->v[i]))
            return 1;
    return 0;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static int is_negation(const char *w)
{
    for (size_t i = 0; i < negations.n; i++)
        if (strcmp(negations.v[i], w) == 0)
            return 1;
    return 0;
}

/* The question's content words, minus words inside a negation ("no fever"
 * drops "fever") and minus the entry's own name words, which every sentence
 * of its guidance shares and so cannot tell levels apart. */
static size_t content_words(const char *question, const kb_words_t *name, char **out, size_t max)
{
    kb_words_t w;
    if (kb_words_split(question, &w) != MUSE_OK)
        return 0;
    size_t n = 0;
    int neg_left = 0;
    for (size_t i = 0; i < w.n && n < max; i++) {
        const char *t = w.v[i];
        if (is_negation(t)) {
            neg_left = 3;
            continue;
        }
        int negated = neg_left > 0;
        if (neg_left > 0)
            neg_left--;
        if (negated || kb_is_stopword(t) || strlen(t) < 3)
            continue;
        int in_name = 0;
        for (size_t k = 0; name && k < name->n; k++)
            in_name |= strcmp(name->v[k], t) == 0;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(out[k], t) == 0;
        if (!in_name && !dup)
            out[n++] = strdup(t);
    }
    kb_words_free(&w);
    return n;
}

/* Sentences: split at ". " / "! " / "? " followed by a capital, or at ": "
 * after a level label. */
static size_t split_sentences(char *text, char **out, size_t max)
{
    size_t n = 0;
    char *s = text;
    for (char *p = text; *p && n + 1 < max; p++) {
        if ((*p == '.' || *p == '!' || *p == '?') && p[1] == ' ' && isupper((unsigned char)p[2])) {
            p[1] = '\0';
            out[n++] = s;
            s = p + 2;
            p++;
        }
    }
    if (*s && n < max)
        out[n++] = s;
    return n;
}

/* Red-flag lists read "now if A, B, or C and D": each item is a clause. A
 * clause counts when the question says most of what it says (coverage), so
 * one shared word ("pain") never decides; the best clause of each level
 * scores that level. */
static size_t split_clauses(char *sent, char **out, size_t max)
{
    size_t n = 0;
    char *s = sent;
    for (char *p = sent; *p && n + 1 < max; p++) {
        int cut = 0;
        if (*p == ',' || *p == ';' || *p == ':' || *p == '(' || *p == ')')
            cut = 1;
        else if (strncmp(p, " or ", 4) == 0)
            cut = 3;
        if (!cut)
            continue;
        *p = '\0';
        if (p > s)
            out[n++] = s;
        s = p + cut;
        p += cut - 1;
    }
    if (*s && n < max)
        out[n++] = s;
    return n;
}

static int is_cue_word(const char *w)
{
    static const char *const cue_words[] = {"call", "emergency", "now", "urgent", "urgently", "help", "medical",
                                            "advice", "get", "see", "book", "appointment", "gp", "doctor",
                                            "usually", "fine", "look", "home", "within", "hour", "service",
                                            "department", "nearest", "local", "number", "routine", "uk", "us",
                                            "nhs", "111", "999", "911", "112", "go", "immediately", "away",
                                            "straight", "right", "contact", "pharmacist", "if", "after", "that",
                                            "your", "you", "have", "has", NULL};
    for (int i = 0; cue_words[i]; i++)
        if (strcmp(cue_words[i], w) == 0)
            return 1;
    return 0;
}

static double clause_score(char **q, size_t nq, const char *clause, const kb_words_t *name)
{
    kb_words_t c;
    if (kb_words_split(clause, &c) != MUSE_OK)
        return 0;
    int total = 0;
    double matched = 0;
    for (size_t k = 0; k < c.n; k++) {
        const char *w = c.v[k];
        if (kb_is_stopword(w) || strlen(w) < 3 || is_cue_word(w))
            continue;
        int in_name = 0;
        for (size_t j = 0; name && j < name->n; j++)
            in_name |= strcmp(name->v[j], w) == 0;
        if (in_name)
            continue;
        total++;
        for (size_t i = 0; i < nq; i++)
            if (strcmp(q[i], w) == 0) {
                matched += strlen(w) >= 7 ? 1.5 : 1.0;
                break;
            }
    }
    kb_words_free(&c);
    if (total == 0 || matched == 0)
        return 0;
    double coverage = matched / total;
    if (coverage > 1)
        coverage = 1;
    return coverage >= 0.5 ? matched * coverage : 0;
}

static void assess_entry(const kb_entry_t *e, const char *question, triage_t *best)
{
    const char *wtsc = kb_entry_section(e, "when_to_seek_care");
    if (!wtsc)
        return;
    kb_words_t name;
    if (kb_words_split(e->title, &name) != MUSE_OK)
        return;
    char *q[64];
    size_t nq = content_words(question, &name, q, 64);
    char *text = strdup(wtsc);
    char *sent[64];
    size_t ns = text ? split_sentences(text, sent, 64) : 0;
    triage_level_t current = TRIAGE_NONE;
    for (size_t i = 0; i < ns; i++) {
        char *low = lower_dup(sent[i]);
        if (!low)
            break;
        /* The most urgent cue in the sentence sets its level. */
        for (int l = TRIAGE_EMERGENCY; l >= TRIAGE_SELF_CARE; l--)
            if (any_cue(low, &level_cues[l])) {
                current = (triage_level_t)l;
                break;
            }
        free(low);
        if (current == TRIAGE_NONE)
            continue;
        char *copy = strdup(sent[i]);
        char *cl[48];
        size_t nc = copy ? split_clauses(copy, cl, 48) : 0;
        double sc = 0;
        for (size_t k = 0; k < nc; k++) {
            double v = clause_score(q, nq, cl[k], &name);
            if (v > sc)
                sc = v;
        }
        free(copy);
        if (sc >= min_score && (sc > best->score || (sc == best->score && current > best->level))) {
            best->level = current;
            best->score = sc;
            snprintf(best->entry, sizeof best->entry, "%s", e->id);
            snprintf(best->reason, sizeof best->reason, "%s", sent[i]);
        }
    }
    for (size_t i = 0; i < nq; i++)
        free(q[i]);
    free(text);
    kb_words_free(&name);
}

int triage_assess(kb_t *kb, const char *question, const char *const *ids, size_t n_ids, triage_t *out)
{
    pthread_once(&once, load);
    memset(out, 0, sizeof *out);
    out->level = TRIAGE_NONE;
    char *low = lower_dup(question);
    if (low) {
        out->long_duration = any_cue(low, &long_duration);
        out->mild = any_cue(low, &mild);
        out->personal = any_cue(low, &personal);
        out->severe = any_cue(low, &severe);
        free(low);
    }
    for (size_t i = 0; i < n_ids; i++) {
        kb_entry_t *e = NULL;
        if (kb_get(kb, ids[i], &e, NULL) != MUSE_OK)
            continue;
        assess_entry(e, question, out);
        kb_entry_free(e);
    }
    return MUSE_OK;
}
