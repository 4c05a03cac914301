/* The input rails: emergencies and self-harm first, then harmful requests,
 * then questions outside health; PHI is redacted and prompt injection
 * flagged on the way.
 *
 * The rules themselves are data (safety/data/rules.json). What lives here is
 * the reading of a match in its sentence, because the same words mean
 * different things: "my dad's face is drooping" is an emergency, "what are
 * the signs of a stroke?" is a question to answer, "no chest pain" is a
 * reassurance, and "I had a seizure in 2019" is history. A rule fires unless
 * its match is negated (NegEx-style cue a few words before it, in the same
 * clause), told in the past with nothing present in the sentence, asked about
 * in general ("symptoms of", "what is") with nobody in particular involved, or
 * set in a hypothetical about someone generic ("what to do if someone ...").
 * Rules marked strict skip that reading. Missing an emergency costs far more
 * than a false alarm, so every framing test errs toward firing. */
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "safety/safety_internal.h"

/* ---------------------------------------------------------------- policy */

static int verdict_parse(const char *name, safety_verdict_t *out)
{
    static const struct {
        const char *name;
        safety_verdict_t v;
    } names[] = {{"allow", SAFETY_ALLOW},   {"emergency", SAFETY_EMERGENCY},
                 {"crisis", SAFETY_CRISIS}, {"refuse", SAFETY_REFUSE},
                 {"redirect", SAFETY_REDIRECT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].v;
            return 1;
        }
    return 0;
}

const char *safety_verdict_name(safety_verdict_t v)
{
    switch (v) {
    case SAFETY_ALLOW: return "allow";
    case SAFETY_EMERGENCY: return "emergency";
    case SAFETY_CRISIS: return "crisis";
    case SAFETY_REFUSE: return "refuse";
    case SAFETY_REDIRECT: return "redirect";
    }
    return "unknown";
}

/* Expands {NAME} references to the policy's named pattern sets, so a phrase
 * list can say "{RELATIVE}'s face is drooping" once instead of per relative.
 * Returns a malloc'd string (caller frees) or NULL. */
static char *expand_sets(const char *pat, const cJSON *sets, int depth)
{
    size_t cap = strlen(pat) + 1, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = pat; *p;) {
        const char *rep = NULL;
        size_t skip = 1;
        if (*p == '{' && sets && depth < 4) {
            const char *q = p + 1;
            while ((*q >= 'A' && *q <= 'Z') || *q == '_')
                q++;
            if (*q == '}' && q > p + 1) {
                char name[48];
                size_t l = (size_t)(q - p - 1);
                if (l < sizeof name) {
                    memcpy(name, p + 1, l);
                    name[l] = '\0';
                    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sets, name);
                    if (cJSON_IsString(v)) {
                        rep = v->valuestring;
                        skip = l + 2;
                    }
                }
            }
        }
        char *sub = NULL;
        const char *piece = p;
        size_t plen = 1;
        if (rep) {
            sub = expand_sets(rep, sets, depth + 1);
            if (!sub) {
                free(out);
                return NULL;
            }
            piece = sub;
            plen = strlen(sub) + 6;
        }
        if (n + plen + 1 > cap) {
            cap = (n + plen + 1) * 2;
            char *t = realloc(out, cap);
            if (!t) {
                free(sub);
                free(out);
                return NULL;
            }
            out = t;
        }
        if (rep) {
            n += (size_t)sprintf(out + n, "(?:%s)", piece);
            free(sub);
        } else {
            out[n++] = *piece;
        }
        p += skip;
    }
    out[n] = '\0';
    return out;
}

/* Compiles a JSON array (or string) of patterns after set expansion. With
 * pf, JIT compilation is left to the first run and the expanded patterns
 * are registered with the prefilter behind *gate. */
static int compile_patterns(const cJSON *arr, const cJSON *sets, const char *where,
                            pcre2_code **out, sf_prefilter_t *pf, int *gate, muse_error_t *err)
{
    *out = NULL;
    if (gate)
        *gate = SF_GATE_ALWAYS;
    if (!arr)
        return MUSE_OK;
    cJSON *copy = cJSON_CreateArray();
    if (!copy)
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    int rc = MUSE_OK;
    const char **expanded = NULL;
    size_t n = 0;
    const cJSON *it;
    if (cJSON_IsString(arr)) {
        char *e = expand_sets(arr->valuestring, sets, 0);
        if (!e || !cJSON_AddItemToArray(copy, cJSON_CreateString(e))) {
            free(e);
            rc = muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
            goto done;
        }
        free(e);
    } else if (cJSON_IsArray(arr)) {
        cJSON_ArrayForEach(it, arr)
        {
            if (!cJSON_IsString(it)) {
                rc = muse_err(err, MUSE_ECORRUPT, "safety policy: %s: patterns must be strings",
                              where);
                goto done;
            }
            char *e = expand_sets(it->valuestring, sets, 0);
            if (!e) {
                rc = muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
                goto done;
            }
            cJSON_AddItemToArray(copy, cJSON_CreateString(e));
            free(e);
        }
    } else {
        rc = muse_err(err, MUSE_ECORRUPT, "safety policy: %s: expected patterns", where);
        goto done;
    }
    rc = pf ? sf_compile_list_lazy(copy, where, out, err) : sf_compile_list(copy, where, out, err);
    if (rc || !*out || !pf)
        goto done;
    expanded = malloc((size_t)cJSON_GetArraySize(copy) * sizeof *expanded);
    if (!expanded) {
        rc = muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
        goto done;
    }
    cJSON_ArrayForEach(it, copy)
    {
        if (!cJSON_IsString(it)) {
            rc = muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
            goto done;
        }
        expanded[n++] = it->valuestring;
    }
    if (sf_prefilter_add(pf, expanded, n, gate))
        rc = muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
done:
    free(expanded);
    cJSON_Delete(copy);
    return rc;
}

/* compile_patterns into an input-rail pattern. */
static int compile_pattern(const cJSON *arr, const cJSON *sets, const char *where,
                           sf_pattern_t *out, sf_prefilter_t *pf, muse_error_t *err)
{
    atomic_init(&out->jitted, 0);
    return compile_patterns(arr, sets, where, &out->code, pf, &out->gate, err);
}

/* See sf_pattern_t: double-checked, so that after the first run a pattern
 * costs one atomic load. */
const pcre2_code *sf_pattern_code(const safety_t *s, sf_pattern_t *p)
{
    if (p->code && !atomic_load_explicit(&p->jitted, memory_order_acquire)) {
        pthread_mutex_lock(&s->rails->jit_lock);
        if (!atomic_load_explicit(&p->jitted, memory_order_relaxed)) {
            /* JIT is an optimisation only; the interpreter gives the same answers. */
            (void)pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE);
            atomic_store_explicit(&p->jitted, 1, memory_order_release);
        }
        pthread_mutex_unlock(&s->rails->jit_lock);
    }
    return p->code;
}

static const char *json_str(const cJSON *o, const char *key, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* Replaces {key} in tmpl by the locale's fields; returns malloc'd text. */
static char *fill_locale(const char *tmpl, const cJSON *loc)
{
    size_t cap = strlen(tmpl) * 2 + 64, n = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        const char *val = NULL;
        size_t skip = 1;
        if (*p == '{') {
            const char *q = strchr(p, '}');
            if (q && q - p < 40) {
                char key[40];
                memcpy(key, p + 1, (size_t)(q - p - 1));
                key[q - p - 1] = '\0';
                val = json_str(loc, key, NULL);
                if (val)
                    skip = (size_t)(q - p + 1);
            }
        }
        size_t add = val ? strlen(val) : 1;
        if (n + add + 1 > cap) {
            cap = (n + add + 1) * 2;
            char *t = realloc(out, cap);
            if (!t) {
                free(out);
                return NULL;
            }
            out = t;
        }
        if (val) {
            memcpy(out + n, val, add);
            n += add;
        } else {
            out[n++] = *p;
        }
        p += skip;
    }
    out[n] = '\0';
    return out;
}

static int load_messages(safety_t *s, const char *locale, muse_error_t *err)
{
    int rc = MUSE_OK;
    cJSON *locs = NULL, *msgs = NULL;
    locs = sf_parse_data(safety_data_locales_json, safety_data_locales_json_len,
                         "locales.json", err);
    if (!locs)
        return MUSE_ECORRUPT;
    const char *want = locale && *locale ? locale : json_str(locs, "default", "US");
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(locs, "locales");
    const cJSON *loc = NULL, *it;
    cJSON_ArrayForEach(it, all)
    {
        if (it->string && strcasecmp(it->string, want) == 0)
            loc = it;
    }
    if (!loc) {
        char known[128] = "";
        cJSON_ArrayForEach(it, all)
        {
            if (strlen(known) + strlen(it->string) + 3 < sizeof known) {
                if (*known)
                    strcat(known, ", ");
                strcat(known, it->string);
            }
        }
        rc = muse_err(err, MUSE_EINVAL, "safety: unknown locale \"%s\" (known: %s)", want,
                      known);
        goto done;
    }
    snprintf(s->locale, sizeof s->locale, "%s", loc->string);
    s->locale_info = cJSON_Duplicate(loc, 1);
    msgs = sf_parse_data(safety_data_messages_json, safety_data_messages_json_len,
                         "messages.json", err);
    if (!msgs || !s->locale_info) {
        rc = msgs ? muse_err(err, MUSE_ENOMEM, "safety: out of memory") : MUSE_ECORRUPT;
        goto done;
    }
    s->messages = cJSON_CreateObject();
    const cJSON *table = cJSON_GetObjectItemCaseSensitive(msgs, "messages");
    cJSON_ArrayForEach(it, table)
    {
        if (!cJSON_IsString(it)) {
            rc = muse_err(err, MUSE_ECORRUPT, "safety policy: messages.json: \"%s\" is not text",
                          it->string);
            goto done;
        }
        char *filled = fill_locale(it->valuestring, loc);
        if (!filled || !s->messages) {
            free(filled);
            rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
            goto done;
        }
        cJSON_AddStringToObject(s->messages, it->string, filled);
        free(filled);
    }
done:
    cJSON_Delete(locs);
    cJSON_Delete(msgs);
    return rc;
}

const char *sf_message(const safety_t *s, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->messages, key);
    if (cJSON_IsString(v))
        return v->valuestring;
    /* "emergency.stroke" falls back to "emergency", then nothing. */
    char buf[64];
    snprintf(buf, sizeof buf, "%s", key);
    char *dot = strrchr(buf, '.');
    while (dot) {
        *dot = '\0';
        v = cJSON_GetObjectItemCaseSensitive(s->messages, buf);
        if (cJSON_IsString(v))
            return v->valuestring;
        dot = strrchr(buf, '.');
    }
    return NULL;
}

/* health_terms, each item a pattern of its own (sf_rails_t); a single
 * string is a list of one. */
static int compile_health(const cJSON *arr, const cJSON *sets, sf_rails_t *rl,
                          sf_prefilter_t *pf, muse_error_t *err)
{
    size_t n = cJSON_IsArray(arr) ? (size_t)cJSON_GetArraySize(arr) : arr ? 1 : 0;
    if (!n)
        return MUSE_OK;
    if (!(rl->health = calloc(n, sizeof *rl->health)))
        return muse_err(err, MUSE_ENOMEM, "safety: out of memory");
    for (size_t i = 0; i < n; i++) {
        char where[64];
        snprintf(where, sizeof where, "rules.json: health_terms[%zu]", i);
        const cJSON *it = cJSON_IsArray(arr) ? cJSON_GetArrayItem(arr, (int)i) : arr;
        if (!cJSON_IsString(it))
            return muse_err(err, MUSE_ECORRUPT, "safety policy: %s: patterns must be strings",
                            where);
        int rc = compile_pattern(it, sets, where, &rl->health[rl->n_health], pf, err);
        if (rc)
            return rc;
        rl->n_health++;
    }
    return MUSE_OK;
}

int sf_load_rules(safety_t *s, muse_error_t *err)
{
    int rc = MUSE_OK;
    cJSON *j = sf_parse_data(safety_data_rules_json, safety_data_rules_json_len, "rules.json",
                             err);
    if (!j)
        return MUSE_ECORRUPT;
    const cJSON *sets = cJSON_GetObjectItemCaseSensitive(j, "sets");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(j, "framing");
    if (sf_prefilter_new(&s->prefilter) || !(s->rails = calloc(1, sizeof *s->rails))) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    if (pthread_mutex_init(&s->rails->jit_lock, NULL)) {
        free(s->rails);
        s->rails = NULL;
        rc = muse_err(err, MUSE_ENOMEM, "safety: cannot create a lock");
        goto done;
    }
    sf_prefilter_t *pf = s->prefilter;
    sf_rails_t *rl = s->rails;
    struct {
        const char *key;
        sf_pattern_t *dst;
    } framing[] = {
        {"negation_cues", &rl->neg_cue},     {"pseudo_negations", &rl->pseudo_neg},
        {"clause_breaks", &rl->clause_break}, {"past", &rl->past},
        {"present", &rl->present},           {"generic_question", &rl->generic_q},
        {"hypothetical", &rl->hypo_generic}, {"personal", &rl->personal},
        {"informational", &rl->info_frame},
    };
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++) {
        char where[80];
        snprintf(where, sizeof where, "rules.json: framing.%s", framing[i].key);
        rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(fr, framing[i].key), sets, where,
                             framing[i].dst, pf, err);
        if (rc)
            goto done;
    }
    const cJSON *win = cJSON_GetObjectItemCaseSensitive(fr, "negation_window_words");
    s->negation_window = cJSON_IsNumber(win) ? win->valueint : 5;
    if ((rc = compile_health(cJSON_GetObjectItemCaseSensitive(j, "health_terms"), sets, rl, pf,
                             err)) ||
        (rc = compile_patterns(cJSON_GetObjectItemCaseSensitive(j, "greetings"), sets,
                               "rules.json: greetings", &s->greeting, NULL, NULL, err)) ||
        (rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(j, "injection"), sets,
                              "rules.json: injection", &rl->injection, pf, err)) ||
        (rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(j, "classifier_gate"), sets,
                              "rules.json: classifier_gate", &rl->model_gate, pf, err)))
        goto done;

    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(j, "rules");
    int n = cJSON_GetArraySize(rules);
    if (!cJSON_IsArray(rules) || n == 0) {
        rc = muse_err(err, MUSE_ECORRUPT, "safety policy: rules.json: no rules");
        goto done;
    }
    s->rules = calloc((size_t)n, sizeof *s->rules);
    if (!s->rules) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, rules)
    {
        sf_rule_t *rule = &s->rules[s->n_rules];
        const char *id = json_str(r, "id", NULL);
        const char *verdict = json_str(r, "verdict", NULL);
        if (!id || !verdict || !verdict_parse(verdict, &rule->verdict)) {
            rc = muse_err(err, MUSE_ECORRUPT,
                          "safety policy: rules.json: rule %zu needs an \"id\" and a "
                          "\"verdict\" (emergency, crisis, refuse, redirect)",
                          s->n_rules);
            goto done;
        }
        snprintf(rule->id, sizeof rule->id, "%s", id);
        snprintf(rule->category, sizeof rule->category, "%s", json_str(r, "category", id));
        snprintf(rule->message, sizeof rule->message, "%s",
                 json_str(r, "message", rule->category));
        rule->strict = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "strict"));
        char where[128];
        snprintf(where, sizeof where, "rules.json: rule \"%s\".patterns", id);
        if ((rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(r, "patterns"), sets, where,
                                  &rule->match, pf, err)))
            goto done;
        if (!rule->match.code) {
            rc = muse_err(err, MUSE_ECORRUPT, "safety policy: %s: no patterns", where);
            goto done;
        }
        snprintf(where, sizeof where, "rules.json: rule \"%s\".requires", id);
        if ((rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(r, "requires"), sets, where,
                                  &rule->requires, pf, err)))
            goto done;
        snprintf(where, sizeof where, "rules.json: rule \"%s\".unless", id);
        if ((rc = compile_pattern(cJSON_GetObjectItemCaseSensitive(r, "unless"), sets, where,
                                  &rule->unless, pf, err)))
            goto done;
        s->n_rules++;
    }
    if (sf_prefilter_build(pf))
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
done:
    cJSON_Delete(j);
    return rc;
}

int safety_open(const char *locale, safety_t **out, muse_error_t *err)
{
    int rc;
    if (!out)
        return muse_err(err, MUSE_EINVAL, "safety_open: out is NULL");
    *out = NULL;
    safety_t *s = calloc(1, sizeof *s);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "safety: out of memory");
    if ((rc = load_messages(s, locale, err)) || (rc = sf_load_rules(s, err)) ||
        (rc = sf_load_phi(s, err)) || (rc = sf_load_output(s, err)) ||
        (rc = sf_load_model(s, err)))
        goto fail;
    *out = s;
    return MUSE_OK;
fail:
    safety_close(s);
    return rc;
}

void safety_close(safety_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_rules; i++) {
        pcre2_code_free(s->rules[i].match.code);
        pcre2_code_free(s->rules[i].requires.code);
        pcre2_code_free(s->rules[i].unless.code);
    }
    free(s->rules);
    sf_prefilter_free(s->prefilter);
    if (s->rails) {
        sf_rails_t *rl = s->rails;
        sf_pattern_t *rails[] = {&rl->neg_cue,      &rl->pseudo_neg, &rl->clause_break,
                                 &rl->past,         &rl->present,    &rl->generic_q,
                                 &rl->hypo_generic, &rl->personal,   &rl->info_frame,
                                 &rl->injection,    &rl->model_gate};
        for (size_t i = 0; i < sizeof rails / sizeof rails[0]; i++)
            pcre2_code_free(rails[i]->code);
        for (size_t i = 0; i < rl->n_health; i++)
            pcre2_code_free(rl->health[i].code);
        free(rl->health);
        pthread_mutex_destroy(&rl->jit_lock);
        free(rl);
    }
    pcre2_code *codes[] = {s->daily,          s->greeting,    s->jailbreak,
                           s->person_title,   s->person_context, s->person_after,
                           s->name_token,     s->eponym,      s->surname_suffix,
                           s->person_org,     s->contradict,  s->dose_amount};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        pcre2_code_free(codes[i]);
    for (size_t i = 0; i < s->n_recognizers; i++) {
        pcre2_code_free(s->recognizers[i].pattern);
        pcre2_code_free(s->recognizers[i].context);
    }
    free(s->recognizers);
    sf_wordset_free(&s->first_names);
    sf_wordset_free(&s->last_names);
    sf_wordset_free(&s->common_words);
    for (size_t i = 0; i < s->n_soften; i++) {
        pcre2_code_free(s->soften[i].pattern);
        free(s->soften[i].replace);
    }
    free(s->soften);
    for (size_t i = 0; i < s->n_doses; i++)
        pcre2_code_free(s->doses[i].names);
    free(s->doses);
    free(s->disclaimer);
    sf_free_model(s->model);
    cJSON_Delete(s->messages);
    cJSON_Delete(s->locale_info);
    free(s);
}

const char *safety_locale(const safety_t *s)
{
    return s ? s->locale : "US";
}

const char *safety_emergency_number(const safety_t *s)
{
    return s ? json_str(s->locale_info, "emergency", "911") : "911";
}

/* ---------------------------------------------------- reading a match */

/* Text with typographic quotes and no-break spaces folded to ASCII, so the
 * policy's patterns need only "'"; map[] takes offsets back to the original. */
typedef struct norm {
    const char *text;
    size_t len;
    char *buf;     /* NULL when the text needed no folding */
    size_t *map;
} norm_t;

static int norm_make(norm_t *n, const char *text, size_t len)
{
    memset(n, 0, sizeof *n);
    n->text = text;
    n->len = len;
    int need = 0;
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)text[i] == 0xE2 || (unsigned char)text[i] == 0xC2) {
            need = 1;
            break;
        }
    if (!need)
        return MUSE_OK;
    n->buf = malloc(len + 1);
    n->map = malloc((len + 1) * sizeof *n->map);
    if (!n->buf || !n->map) {
        free(n->buf);
        free(n->map);
        n->buf = NULL;
        n->map = NULL;
        return MUSE_ENOMEM;
    }
    size_t w = 0;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        n->map[w] = i;
        if (i + 2 < len && p[i] == 0xE2 && p[i + 1] == 0x80 &&
            (p[i + 2] == 0x98 || p[i + 2] == 0x99 || p[i + 2] == 0xB2)) {
            n->buf[w++] = '\'';
            i += 3;
        } else if (i + 2 < len && p[i] == 0xE2 && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0x9C || p[i + 2] == 0x9D)) {
            n->buf[w++] = '"';
            i += 3;
        } else if (i + 2 < len && p[i] == 0xE2 && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0x93 || p[i + 2] == 0x94)) {
            n->buf[w++] = '-';
            i += 3;
        } else if (i + 1 < len && p[i] == 0xC2 && p[i + 1] == 0xA0) {
            n->buf[w++] = ' ';
            i += 2;
        } else {
            n->buf[w++] = (char)p[i++];
        }
    }
    n->map[w] = len;
    n->buf[w] = '\0';
    n->text = n->buf;
    n->len = w;
    return MUSE_OK;
}

static size_t norm_orig(const norm_t *n, size_t off)
{
    return n->map ? n->map[off] : off;
}

static void norm_free(norm_t *n)
{
    free(n->buf);
    free(n->map);
}

static int is_sentence_end(char c)
{
    return c == '.' || c == '!' || c == '?' || c == '\n' || c == ';';
}

/* Sentences are looked for at most this far from a match, so a megabyte
 * without punctuation costs linear time, not quadratic. */
#define SF_SENTENCE_REACH 400

static size_t sentence_start(const char *t, size_t len, size_t pos)
{
    size_t floor = pos > SF_SENTENCE_REACH ? pos - SF_SENTENCE_REACH : 0;
    while (pos > floor) {
        char c = t[pos - 1];
        /* A period between digits ("2.5 mg") does not end a sentence. */
        if (is_sentence_end(c) && !(c == '.' && pos >= 2 && pos < len && t[pos - 2] >= '0' &&
                                    t[pos - 2] <= '9' && t[pos] >= '0' && t[pos] <= '9'))
            break;
        pos--;
    }
    return pos;
}

static size_t sentence_end(const char *t, size_t len, size_t pos)
{
    size_t cap = pos + SF_SENTENCE_REACH < len ? pos + SF_SENTENCE_REACH : len;
    while (pos < cap && !is_sentence_end(t[pos]))
        pos++;
    return pos;
}

static size_t count_words(const char *t, size_t from, size_t to)
{
    size_t n = 0;
    int in = 0;
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)t[i];
        int w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '\'' || c >= 0x80;
        if (w && !in)
            n++;
        in = w;
    }
    return n;
}

/* Per-call facts about the whole text, computed on first use. */
typedef struct frame_ctx {
    const safety_t *s;
    const char *t;
    size_t len;
    pcre2_match_data *md;
    const sf_seen_t *seen;  /* what the prefilter found in t */
    int present_any;   /* -1: not computed yet */
    int personal;
} frame_ctx_t;

/* sf_find behind the pattern's prefilter gate: a closed gate means the text
 * lacks every literal a match needs, so the answer is no without a scan. */
static int find_gated(const frame_ctx_t *c, sf_pattern_t *p, size_t to, size_t from,
                      size_t *ms, size_t *me)
{
    return p->code && sf_gate_open(c->s->prefilter, c->seen, p->gate) &&
           sf_find(sf_pattern_code(c->s, p), c->t, to, from, c->md, ms, me);
}

/* An anchored match at pos, behind the pattern's gate. */
static int anchored_at(const frame_ctx_t *c, sf_pattern_t *p, size_t pos)
{
    return p->code && sf_gate_open(c->s->prefilter, c->seen, p->gate) &&
           pcre2_match(sf_pattern_code(c->s, p), (PCRE2_SPTR)c->t, c->len, pos,
                       PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, c->md, NULL) >= 0;
}

static int ctx_flag(frame_ctx_t *c, int *flag, sf_pattern_t *p)
{
    size_t a, b;
    if (*flag < 0)
        *flag = find_gated(c, p, c->len, 0, &a, &b);
    return *flag;
}

/* True when a negation cue stands within the window before ms, in the same
 * clause, and is not a pseudo-negation ("no idea", "not sure"). */
static int is_negated(frame_ctx_t *c, size_t ms)
{
    const safety_t *s = c->s;
    sf_rails_t *rl = s->rails;
    const char *t = c->t;
    if (!rl->neg_cue.code)
        return 0;
    size_t from = sentence_start(t, c->len, ms), a, b;
    /* A clause break ("but", "although") resets the scope. */
    size_t pos = from;
    while (find_gated(c, &rl->clause_break, ms, pos, &a, &b)) {
        from = b;
        pos = b > a ? b : a + 1;
    }
    size_t cue_e = 0;
    int found = 0;
    pos = from;
    while (find_gated(c, &rl->neg_cue, ms, pos, &a, &b)) {
        int pseudo = anchored_at(c, &rl->pseudo_neg, a);
        if (!pseudo) {
            cue_e = b;
            found = 1;
        }
        pos = b > a ? b : a + 1;
    }
    if (!found)
        return 0;
    return count_words(t, cue_e, ms) <= (size_t)s->negation_window;
}

/* Decides whether a match of a non-strict rule describes something
 * happening now to a real person. */
static int framed_as_event(frame_ctx_t *c, size_t ms, size_t me)
{
    sf_rails_t *rl = c->s->rails;
    const char *t = c->t;
    size_t len = c->len, a, b;
    if (is_negated(c, ms))
        return 0;
    size_t ss = sentence_start(t, len, ms), se = sentence_end(t, len, me);
    int present_here = find_gated(c, &rl->present, se, ss, &a, &b);
    if (!present_here && find_gated(c, &rl->past, se, ss, &a, &b))
        return 0;
    int present_any = present_here || ctx_flag(c, &c->present_any, &rl->present);
    if (!present_any && find_gated(c, &rl->hypo_generic, se, ss, &a, &b))
        return 0;
    if (!present_any && !ctx_flag(c, &c->personal, &rl->personal)) {
        if (find_gated(c, &rl->info_frame, se, ss, &a, &b))
            return 0;
        /* "Is sudden numbness a sign of stroke?": a question with nobody in it. */
        size_t q = ss;
        while (q < se && (t[q] == ' ' || t[q] == '\t' || t[q] == '"' || t[q] == '\r'))
            q++;
        if (anchored_at(c, &rl->generic_q, q))
            return 0;
    }
    return 1;
}

/* Finds the first well-framed match of code in the text; strict skips
 * framing. */
static int find_event(frame_ctx_t *c, sf_pattern_t *p, int strict, size_t *ms, size_t *me)
{
    size_t from = 0, a, b;
    while (from <= c->len && find_gated(c, p, c->len, from, &a, &b)) {
        if (strict || framed_as_event(c, a, b)) {
            *ms = a;
            *me = b;
            return 1;
        }
        from = b > a ? b : a + 1;
    }
    return 0;
}

/* True when the text holds a health term (rules.json health_terms). */
static int has_health_term(const frame_ctx_t *c)
{
    size_t a, b;
    for (size_t i = 0; i < c->s->rails->n_health; i++)
        if (find_gated(c, &c->s->rails->health[i], c->len, 0, &a, &b))
            return 1;
    return 0;
}

/* True when the text holds a lower-case word of five letters or more that
 * is neither ordinary English nor a name: usually a medicine or a medical
 * term the health lexicon does not list ("sertraline"). Redirecting a
 * health question is a defect, so an unknown word is reason enough not to. */
static int has_unknown_word(const safety_t *s, const char *t, size_t len)
{
    if (!s->common_words.n)
        return 1;
    for (size_t i = 0; i < len;) {
        while (i < len && !(t[i] >= 'a' && t[i] <= 'z') && !(t[i] >= 'A' && t[i] <= 'Z'))
            i++;
        size_t st = i;
        int upper = 0, other = 0;
        while (i < len && (((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z') || t[i] == '-' ||
                           (unsigned char)t[i] >= 0x80)) {
            upper += t[i] >= 'A' && t[i] <= 'Z';
            other += (unsigned char)t[i] >= 0x80 || t[i] == '-';
            i++;
        }
        size_t n = i - st;
        /* Capitalised words are names and places more often than medicine. */
        if (n >= 5 && n < 40 && !upper && !other && !sf_wordset_has(&s->common_words, t + st, n) &&
            !(n > 5 && t[i - 1] == 's' && sf_wordset_has(&s->common_words, t + st, n - 1)) &&
            !sf_wordset_has(&s->first_names, t + st, n) && !sf_wordset_has(&s->last_names, t + st, n))
            return 1;
        if (i == st)
            i++;
    }
    return 0;
}

/* ------------------------------------------------------------ results */

static int push_category(safety_result_t *r, const char *cat)
{
    for (size_t i = 0; i < r->n_categories; i++)
        if (strcmp(r->categories[i], cat) == 0)
            return MUSE_OK;
    char **t = realloc(r->categories, (r->n_categories + 1) * sizeof *t);
    if (!t)
        return MUSE_ENOMEM;
    r->categories = t;
    if (!(t[r->n_categories] = strdup(cat)))
        return MUSE_ENOMEM;
    r->n_categories++;
    return MUSE_OK;
}

static int push_match(safety_result_t *r, const char *rule, size_t start, size_t end)
{
    safety_match_t *t = realloc(r->matches, (r->n_matches + 1) * sizeof *t);
    if (!t)
        return MUSE_ENOMEM;
    r->matches = t;
    snprintf(t[r->n_matches].rule, sizeof t[r->n_matches].rule, "%s", rule);
    t[r->n_matches].start = start;
    t[r->n_matches].end = end;
    r->n_matches++;
    return MUSE_OK;
}

void safety_result_free(safety_result_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_categories; i++)
        free(r->categories[i]);
    free(r->categories);
    free(r->matches);
    free(r->redacted);
    free(r->message);
    memset(r, 0, sizeof *r);
}

static int verdict_rank(safety_verdict_t v)
{
    switch (v) {
    case SAFETY_EMERGENCY: return 4;
    case SAFETY_CRISIS: return 3;
    case SAFETY_REFUSE: return 2;
    case SAFETY_REDIRECT: return 1;
    case SAFETY_ALLOW: return 0;
    }
    return 0;
}

/* Builds the message for people: the deciding rule's message, then the
 * crisis line when self-harm came with a physical emergency. */
static char *compose_message(const safety_t *s, const sf_rule_t *top, int crisis_too,
                             safety_verdict_t verdict)
{
    const char *main = NULL;
    if (top)
        main = sf_message(s, top->message);
    if (!main)
        main = sf_message(s, safety_verdict_name(verdict));
    if (!main)
        return NULL;
    const char *extra = crisis_too ? sf_message(s, "crisis.also") : NULL;
    size_t l = strlen(main) + (extra ? strlen(extra) + 2 : 0) + 1;
    char *m = malloc(l);
    if (!m)
        return NULL;
    snprintf(m, l, "%s%s%s", main, extra ? " " : "", extra ? extra : "");
    return m;
}

static char *redact_with(const char *text, size_t len, const sf_entities_t *ents)
{
    size_t cap = len + 1;
    for (size_t i = 0; i < ents->n; i++)
        cap += strlen(ents->v[i].type) + 2;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t w = 0, pos = 0;
    for (size_t i = 0; i < ents->n; i++) {
        const safety_entity_t *e = &ents->v[i];
        memcpy(out + w, text + pos, e->start - pos);
        w += e->start - pos;
        w += (size_t)sprintf(out + w, "<%s>", e->type);
        pos = e->end;
    }
    memcpy(out + w, text + pos, len - pos);
    w += len - pos;
    out[w] = '\0';
    return out;
}

int safety_redact(const safety_t *s, const char *text, char **out, size_t *n_redactions,
                  muse_error_t *err)
{
    if (!s || !out)
        return muse_err(err, MUSE_EINVAL, "safety_redact: NULL argument");
    *out = NULL;
    if (n_redactions)
        *n_redactions = 0;
    size_t len = text ? strlen(text) : 0;
    int rc = sf_validate(text, len, err);
    if (rc)
        return rc;
    sf_entities_t ents = {0};
    if ((rc = sf_phi_find(s, text, len, &ents)))
        return muse_err(err, rc, "safety: out of memory while redacting");
    *out = redact_with(text, len, &ents);
    if (n_redactions)
        *n_redactions = ents.n;
    free(ents.v);
    return *out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "safety: out of memory");
}

int safety_phi_find(const safety_t *s, const char *text, safety_entity_t **out, size_t *n,
                    muse_error_t *err)
{
    if (!s || !out || !n)
        return muse_err(err, MUSE_EINVAL, "safety_phi_find: NULL argument");
    *out = NULL;
    *n = 0;
    size_t len = text ? strlen(text) : 0;
    int rc = sf_validate(text, len, err);
    if (rc)
        return rc;
    sf_entities_t ents = {0};
    if ((rc = sf_phi_find(s, text, len, &ents)))
        return muse_err(err, rc, "safety: out of memory while finding PHI");
    *out = ents.v;
    *n = ents.n;
    return MUSE_OK;
}

int safety_neutralize(const safety_t *s, const char *text, char **out, size_t *found,
                      muse_error_t *err)
{
    static const char repl[] = "[instruction removed]";
    if (!s || !out)
        return muse_err(err, MUSE_EINVAL, "safety_neutralize: NULL argument");
    *out = NULL;
    if (found)
        *found = 0;
    size_t len = text ? strlen(text) : 0;
    int rc = sf_validate(text, len, err);
    if (rc)
        return rc;
    pcre2_match_data *md = pcre2_match_data_create(10, NULL);
    char *buf = malloc(len + 1);
    size_t cap = len + 1, w = 0, pos = 0, a, b, k = 0;
    if (!md || !buf) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    const pcre2_code *injection = sf_pattern_code(s, &s->rails->injection);
    while (pos <= len && sf_find(injection, text, len, pos, md, &a, &b)) {
        if (b == a) {
            pos = a + 1;
            continue;
        }
        size_t need = w + (a - pos) + sizeof repl + (len - b) + 1;
        if (need > cap) {
            char *t = realloc(buf, need * 2);
            if (!t) {
                rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
                goto done;
            }
            buf = t;
            cap = need * 2;
        }
        memcpy(buf + w, text + pos, a - pos);
        w += a - pos;
        memcpy(buf + w, repl, sizeof repl - 1);
        w += sizeof repl - 1;
        pos = b;
        k++;
    }
    if (w + (len - pos) + 1 > cap) {
        char *t = realloc(buf, w + (len - pos) + 1);
        if (!t) {
            rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
            goto done;
        }
        buf = t;
    }
    memcpy(buf + w, text + pos, len - pos);
    w += len - pos;
    buf[w] = '\0';
    *out = buf;
    buf = NULL;
    if (found)
        *found = k;
done:
    free(buf);
    pcre2_match_data_free(md);
    return rc;
}

int safety_check_input(const safety_t *s, const char *text, safety_result_t *out,
                       muse_error_t *err)
{
    if (!out)
        return muse_err(err, MUSE_EINVAL, "safety_check_input: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s)
        return muse_err(err, MUSE_EINVAL, "safety_check_input: no policy (safety_open first)");
    size_t len = text ? strlen(text) : 0;
    int rc = sf_validate(text, len, err);
    if (rc)
        return rc;

    norm_t n;
    sf_entities_t ents = {0};
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    if (!md || norm_make(&n, text, len) != MUSE_OK) {
        pcre2_match_data_free(md);
        return muse_err(err, MUSE_ENOMEM, "safety: out of memory");
    }
    const sf_rule_t *top = NULL;
    int crisis_too = 0, model_refused = 0;
    size_t a, b;
    sf_seen_t seen;
    sf_prefilter_scan(s->prefilter, n.text, n.len, &seen);
    frame_ctx_t fc = {s, n.text, n.len, md, &seen, -1, -1};

    sf_rails_t *rl = s->rails;
    for (size_t i = 0; i < s->n_rules; i++) {
        sf_rule_t *r = &s->rules[i];
        size_t ms, me;
        if (!find_event(&fc, &r->match, r->strict, &ms, &me))
            continue;
        if (r->requires.code && !find_event(&fc, &r->requires, r->strict, &a, &b))
            continue;
        if (find_gated(&fc, &r->unless, n.len, 0, &a, &b))
            continue;
        if ((rc = push_match(out, r->id, norm_orig(&n, ms), norm_orig(&n, me))) ||
            (rc = push_category(out, r->category)))
            goto nomem;
        if (!top || verdict_rank(r->verdict) > verdict_rank(top->verdict))
            top = r;
        if (r->verdict == SAFETY_CRISIS)
            crisis_too = 1;
    }
    out->verdict = top ? top->verdict : SAFETY_ALLOW;

    /* A learned score backs the harmful-request rules up; it never
     * overrides an emergency and never fires on its own below threshold. */
    if (out->verdict == SAFETY_ALLOW && s->model &&
        (!rl->model_gate.code || find_gated(&fc, &rl->model_gate, n.len, 0, &a, &b))) {
        double p = sf_model_score(s, n.text, n.len);
        if (p >= 0.5) {
            out->verdict = SAFETY_REFUSE;
            model_refused = 1;
            if ((rc = push_category(out, "S6")) || (rc = push_match(out, "model.harm", 0, len)))
                goto nomem;
        }
    }

    if (find_gated(&fc, &rl->injection, n.len, 0, &a, &b)) {
        out->injection = 1;
        if ((rc = push_match(out, "injection", norm_orig(&n, a), norm_orig(&n, b))) ||
            (rc = push_category(out, "prompt_injection")))
            goto nomem;
    }

    if (out->verdict == SAFETY_ALLOW && rl->n_health && !has_health_term(&fc) &&
        !has_unknown_word(s, n.text, n.len)) {
        out->verdict = SAFETY_REDIRECT;
        if ((rc = push_category(out, "out_of_scope")))
            goto nomem;
    }

    if (out->verdict != SAFETY_ALLOW) {
        out->message = model_refused
                           ? compose_message(s, NULL, 0, out->verdict)
                           : compose_message(s, top && top->verdict == out->verdict ? top : NULL,
                                             out->verdict == SAFETY_EMERGENCY && crisis_too,
                                             out->verdict);
        if (!out->message) {
            rc = MUSE_ENOMEM;
            goto nomem;
        }
    }

    if ((rc = sf_phi_find(s, text, len, &ents)))
        goto nomem;
    for (size_t i = 0; i < ents.n; i++) {
        char rule[64];
        snprintf(rule, sizeof rule, "phi.%s", ents.v[i].type);
        if ((rc = push_match(out, rule, ents.v[i].start, ents.v[i].end)))
            goto nomem;
    }
    if (ents.n && (rc = push_category(out, "phi")))
        goto nomem;
    out->redacted = redact_with(text, len, &ents);
    out->n_redactions = ents.n;
    if (!out->redacted) {
        rc = MUSE_ENOMEM;
        goto nomem;
    }
    free(ents.v);
    norm_free(&n);
    pcre2_match_data_free(md);
    return MUSE_OK;
nomem:
    free(ents.v);
    norm_free(&n);
    pcre2_match_data_free(md);
    safety_result_free(out);
    return muse_err(err, MUSE_ENOMEM, "safety: out of memory while checking input");
}

cJSON *safety_result_json(const safety_result_t *r, const char *text)
{
    if (!r)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j)
        return NULL;
    cJSON_AddStringToObject(j, "verdict", safety_verdict_name(r->verdict));
    cJSON *cats = cJSON_AddArrayToObject(j, "categories");
    for (size_t i = 0; i < r->n_categories; i++)
        cJSON_AddItemToArray(cats, cJSON_CreateString(r->categories[i]));
    cJSON *ms = cJSON_AddArrayToObject(j, "matches");
    size_t tlen = text ? strlen(text) : 0;
    for (size_t i = 0; i < r->n_matches; i++) {
        const safety_match_t *m = &r->matches[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "rule", m->rule);
        cJSON *span = cJSON_AddArrayToObject(o, "span");
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)m->start));
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)m->end));
        /* PHI spans never repeat the text they hide. */
        if (text && strncmp(m->rule, "phi.", 4) != 0 && m->end <= tlen && m->start < m->end) {
            char *frag = strndup(text + m->start, m->end - m->start);
            if (frag)
                cJSON_AddStringToObject(o, "text", frag);
            free(frag);
        }
        cJSON_AddItemToArray(ms, o);
    }
    if (r->redacted)
        cJSON_AddStringToObject(j, "redacted", r->redacted);
    else
        cJSON_AddNullToObject(j, "redacted");
    cJSON_AddNumberToObject(j, "redactions", (double)r->n_redactions);
    if (r->message)
        cJSON_AddStringToObject(j, "message", r->message);
    else
        cJSON_AddNullToObject(j, "message");
    cJSON_AddBoolToObject(j, "injection", r->injection != 0);
    return j;
}
