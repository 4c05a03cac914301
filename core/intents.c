/* Intent recognition from core/data/intents.json: which parts of an entry
 * answer the question. Cues are whole-word phrases; a trailing '*' matches
 * any ending ("treat*" matches "treating"). Loaded once, read-only after. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/engine_internal.h"
#include "core/triage.h"
#include "muse_err.h"

extern const unsigned char core_data_intents_json[];
extern const unsigned char core_data_languages_json[];

static pthread_once_t once = PTHREAD_ONCE_INIT;
static intent_t *intents;
static size_t n_intents;
static int load_rc = MUSE_OK;
static cJSON *languages;   /* core/data/languages.json, read-only after load */

static void load(void)
{
    languages = cJSON_Parse((const char *)core_data_languages_json);
    cJSON *root = cJSON_Parse((const char *)core_data_intents_json);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "intents");
    if (!cJSON_IsArray(arr)) {
        load_rc = MUSE_ECORRUPT;
        cJSON_Delete(root);
        return;
    }
    n_intents = (size_t)cJSON_GetArraySize(arr);
    intents = calloc(n_intents ? n_intents : 1, sizeof *intents);
    if (!intents) {
        load_rc = MUSE_ENOMEM;
        cJSON_Delete(root);
        return;
    }
    size_t i = 0;
    cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        intent_t *t = &intents[i++];
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const cJSON *needs = cJSON_GetObjectItemCaseSensitive(it, "needs");
        snprintf(t->id, sizeof t->id, "%s", cJSON_IsString(id) ? id->valuestring : "");
        snprintf(t->needs, sizeof t->needs, "%s", cJSON_IsString(needs) ? needs->valuestring : "");
        const cJSON *cues = cJSON_GetObjectItemCaseSensitive(it, "cues");
        t->cues = calloc((size_t)cJSON_GetArraySize(cues) + 1, sizeof *t->cues);
        const cJSON *c;
        cJSON_ArrayForEach(c, cues)
            if (t->cues && cJSON_IsString(c))
                t->cues[t->n_cues++] = strdup(c->valuestring);
        const cJSON *secs = cJSON_GetObjectItemCaseSensitive(it, "sections");
        cJSON_ArrayForEach(c, secs)
            if (cJSON_IsString(c) && t->n_sections < ENGINE_MAX_SECTIONS)
                snprintf(t->sections[t->n_sections++], sizeof t->sections[0], "%s", c->valuestring);
    }
    cJSON_Delete(root);
}

int engine_data_init(muse_error_t *err)
{
    pthread_once(&once, load);
    if (load_rc != MUSE_OK)
        return muse_err(err, load_rc, "core/data/intents.json: could not be loaded");
    return triage_init(err);
}

/* Whole-word, case-insensitive search for a cue in lower-cased text. */
static int cue_in(const char *text, const char *cue)
{
    size_t n = strlen(cue);
    int prefix = n && cue[n - 1] == '*';
    if (prefix)
        n--;
    if (n == 0)
        return 0;
    /* memmem jumps from one occurrence to the next (every question is
     * tested against every cue of every intent). */
    size_t len = strlen(text);
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), cue, n)) != NULL; p++) {
        int start_ok = p == text || !isalnum((unsigned char)p[-1]);
        int end_ok = prefix || !isalnum((unsigned char)p[n]);
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

size_t engine_intents(const char *question, int n_readings, int n_medicines, const intent_t **out,
                      size_t max)
{
    pthread_once(&once, load);
    size_t len = strlen(question);
    char *low = malloc(len + 1);
    if (!low)
        return 0;
    for (size_t i = 0; i <= len; i++)
        low[i] = (char)tolower((unsigned char)question[i]);
    /* Curly apostrophes read as straight ones. */
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)low[i] == 0xE2 && i + 2 < len && (unsigned char)low[i + 1] == 0x80 &&
            ((unsigned char)low[i + 2] == 0x99 || (unsigned char)low[i + 2] == 0x98)) {
            low[k++] = '\'';
            i += 2;
        } else {
            low[k++] = low[i];
        }
    }
    low[k] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < n_intents && n < max; i++) {
        const intent_t *t = &intents[i];
        if (strcmp(t->needs, "readings") == 0 && n_readings == 0)
            continue;
        if (strcmp(t->needs, "two_medicines") == 0 && n_medicines < 2)
            continue;
        for (size_t c = 0; c < t->n_cues; c++)
            if (cue_in(low, t->cues[c])) {
                out[n++] = t;
                break;
            }
    }
    free(low);
    return n;
}

const intent_t *engine_intent_by_id(const char *id)
{
    pthread_once(&once, load);
    for (size_t i = 0; i < n_intents; i++)
        if (strcmp(intents[i].id, id) == 0)
            return &intents[i];
    return NULL;
}

const char *engine_section_heading(const char *kind)
{
    static const struct { const char *kind, *heading; } h[] = {
        {"overview", "What it is"},
        {"symptoms", "Symptoms"},
        {"causes", "Causes"},
        {"risk_factors", "Who is at risk"},
        {"diagnosis", "How it is diagnosed"},
        {"results", "What the numbers mean"},
        {"treatment", "Treatment"},
        {"uses", "What it is used for"},
        {"dosing", "Usual doses"},
        {"side_effects", "Side effects"},
        {"interactions", "Interactions"},
        {"warnings", "Warnings"},
        {"self_care", "Looking after yourself"},
        {"when_to_seek_care", "When to get help"},
        {"prevention", "Prevention"},
    };
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++)
        if (strcmp(h[i].kind, kind) == 0)
            return h[i].heading;
    return kind;
}

/* Words of a list present in the question's words (lower case, split at
 * anything that is not a letter, digit, apostrophe or UTF-8 byte). */
static int count_words(char **words, size_t n, const cJSON *list)
{
    int hits = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *w;
        cJSON_ArrayForEach(w, list)
            if (cJSON_IsString(w) && strcmp(w->valuestring, words[i]) == 0) {
                hits++;
                break;
            }
    }
    return hits;
}

const char *engine_foreign_language(const char *question)
{
    pthread_once(&once, load);
    if (!languages)
        return NULL;
    char *low = strdup(question);
    if (!low)
        return NULL;
    char *words[128];
    size_t n = 0;
    for (char *p = low; *p && n < 128;) {
        while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        if (!*p)
            break;
        words[n++] = p;
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80)) {
            *p = (char)tolower((unsigned char)*p);
            p++;
        }
        if (*p)
            *p++ = '\0';
    }
    int english = count_words(words, n, cJSON_GetObjectItemCaseSensitive(languages, "english"));
    const char *best = NULL;
    int best_hits = 0;
    const cJSON *lang;
    cJSON_ArrayForEach(lang, cJSON_GetObjectItemCaseSensitive(languages, "languages")) {
        int h = count_words(words, n, lang);
        if (h > best_hits) {
            best_hits = h;
            best = lang->string;
        }
    }
    free(low);
    return best_hits >= 2 && best_hits > english ? best : NULL;
}
