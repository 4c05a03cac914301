/* The output rails: what an answer must satisfy before it leaves.
 *
 * They work on the answer object (DESIGN.md) in place and in this order:
 *  1. an emergency or crisis verdict wins: seek_care becomes "emergency", the
 *     summary leads with what to do now, follow-up questions go (they would
 *     only delay), and any sentence that plays the situation down is removed;
 *  2. sections without citations are dropped, since every health claim must
 *     trace to a reviewed source;
 *  3. doses are checked against the maximum-dose table (doses.json, each row
 *     with its source); a sentence above the limit is replaced by a warning;
 *  4. diagnostic certainty ("you have X") is softened to what retrieval can
 *     support ("you may have X");
 *  5. the disclaimer is set.
 * What was changed is recorded under answer.safety.output so the trace and
 * the evaluation can count it. */
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "safety/safety_internal.h"

static const char *jstr(const cJSON *o, const char *k, const char *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : d;
}

int sf_load_output(safety_t *s, muse_error_t *err)
{
    int rc = MUSE_OK;
    cJSON *o = sf_parse_data(safety_data_output_json, safety_data_output_json_len, "output.json",
                             err);
    cJSON *d = NULL;
    if (!o)
        return MUSE_ECORRUPT;
    const cJSON *soft = cJSON_GetObjectItemCaseSensitive(o, "soften");
    int n = cJSON_GetArraySize(soft);
    s->soften = calloc(n > 0 ? (size_t)n : 1, sizeof *s->soften);
    if (!s->soften) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, soft)
    {
        const char *p = jstr(it, "pattern", NULL), *r = jstr(it, "replace", NULL);
        if (!p || !r) {
            rc = muse_err(err, MUSE_ECORRUPT,
                          "safety policy: output.json: soften[%zu] needs \"pattern\" and "
                          "\"replace\"",
                          s->n_soften);
            goto done;
        }
        char where[64];
        snprintf(where, sizeof where, "output.json: soften[%zu]", s->n_soften);
        sf_soften_t *x = &s->soften[s->n_soften];
        if (!(x->pattern = sf_compile(p, where, err))) {
            rc = MUSE_ECORRUPT;
            goto done;
        }
        if (!(x->replace = strdup(r))) {
            rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
            goto done;
        }
        s->n_soften++;
    }
    if ((rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(o, "contradictions"),
                              "output.json: contradictions", &s->contradict, err)) ||
        (rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(o, "dose_amount"),
                              "output.json: dose_amount", &s->dose_amount, err)) ||
        (rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(o, "daily"), "output.json: daily",
                              &s->daily, err)))
        goto done;
    if (!s->dose_amount) {
        rc = muse_err(err, MUSE_ECORRUPT, "safety policy: output.json: dose_amount missing");
        goto done;
    }

    d = sf_parse_data(safety_data_doses_json, safety_data_doses_json_len, "doses.json", err);
    if (!d) {
        rc = MUSE_ECORRUPT;
        goto done;
    }
    const cJSON *meds = cJSON_GetObjectItemCaseSensitive(d, "medicines");
    n = cJSON_GetArraySize(meds);
    s->doses = calloc(n > 0 ? (size_t)n : 1, sizeof *s->doses);
    if (!s->doses) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    cJSON_ArrayForEach(it, meds)
    {
        sf_dose_t *x = &s->doses[s->n_doses];
        const char *name = jstr(it, "name", NULL);
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(it, "source");
        if (!name || !cJSON_IsObject(src) || !jstr(src, "url", NULL)) {
            rc = muse_err(err, MUSE_ECORRUPT,
                          "safety policy: doses.json: medicine %zu needs a \"name\" and a "
                          "\"source\" with a \"url\"",
                          s->n_doses);
            goto done;
        }
        snprintf(x->name, sizeof x->name, "%s", name);
        snprintf(x->source, sizeof x->source, "%s, %s (%s)", jstr(src, "publisher", "?"),
                 jstr(src, "title", "?"), jstr(src, "url", "?"));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "max_single_mg");
        x->max_single_mg = cJSON_IsNumber(v) ? v->valuedouble : 0;
        v = cJSON_GetObjectItemCaseSensitive(it, "max_daily_mg");
        x->max_daily_mg = cJSON_IsNumber(v) ? v->valuedouble : 0;
        /* Names: the name and its aliases as whole words. */
        cJSON *pats = cJSON_CreateArray();
        char buf[160];
        snprintf(buf, sizeof buf, "\\b%s\\b", name);
        cJSON_AddItemToArray(pats, cJSON_CreateString(buf));
        const cJSON *al;
        cJSON_ArrayForEach(al, cJSON_GetObjectItemCaseSensitive(it, "aliases"))
        {
            if (cJSON_IsString(al)) {
                snprintf(buf, sizeof buf, "\\b%s\\b", al->valuestring);
                cJSON_AddItemToArray(pats, cJSON_CreateString(buf));
            }
        }
        char where[96];
        snprintf(where, sizeof where, "doses.json: %s names", name);
        rc = sf_compile_list(pats, where, &x->names, err);
        cJSON_Delete(pats);
        if (rc)
            goto done;
        s->n_doses++;
    }
done:
    cJSON_Delete(o);
    cJSON_Delete(d);
    return rc;
}

/* ------------------------------------------------------------- sentences */

/* Calls fn on each sentence of text; fn returns 1 to drop the sentence or 0
 * to keep it, and may supply a replacement in *repl (malloc'd, consumed). The
 * rebuilt text is returned (malloc'd), or NULL on allocation failure. */
typedef int (*sentence_fn)(const safety_t *s, const char *sent, size_t len, char **repl,
                           void *ud);

static char *map_sentences(const safety_t *s, const char *text, sentence_fn fn, void *ud,
                           int *changed)
{
    size_t len = strlen(text), cap = len + 1, w = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t i = 0;
    while (i < len) {
        size_t st = i;
        while (i < len) {
            char c = text[i++];
            if ((c == '.' || c == '!' || c == '?') &&
                (i >= len || text[i] == ' ' || text[i] == '\n'))
                break;
            if (c == '\n')
                break;
        }
        while (i < len && (text[i] == ' '))
            i++;
        char *repl = NULL;
        int drop = fn(s, text + st, i - st, &repl, ud);
        const char *piece = text + st;
        size_t plen = i - st;
        if (drop) {
            *changed += 1;
            piece = repl;
            plen = repl ? strlen(repl) : 0;
        }
        if (w + plen + 2 > cap) {
            cap = (w + plen + 2) * 2;
            char *t = realloc(out, cap);
            if (!t) {
                free(repl);
                free(out);
                return NULL;
            }
            out = t;
        }
        if (plen) {
            memcpy(out + w, piece, plen);
            w += plen;
            if (drop && repl && i < len)
                out[w++] = ' ';
        }
        free(repl);
    }
    /* Dropping the last sentence can leave a trailing space. */
    while (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
    return out;
}

static int drop_contradiction(const safety_t *s, const char *sent, size_t len, char **repl,
                              void *ud)
{
    (void)ud;
    *repl = NULL;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    size_t a, b;
    int hit = md && s->contradict && sf_find(s->contradict, sent, len, 0, md, &a, &b);
    pcre2_match_data_free(md);
    return hit;
}

typedef struct dose_ud {
    cJSON *flags;
} dose_ud_t;

static double to_mg(double v, const char *unit, size_t ulen)
{
    if (ulen >= 1 && (unit[0] == 'g' || unit[0] == 'G'))
        return v * 1000.0;
    if (ulen >= 2 && ((unit[0] == 'm' && unit[1] == 'c') || (unit[0] == 'u') ||
                      (unsigned char)unit[0] == 0xC2 || (unsigned char)unit[0] == 0xCE))
        return v / 1000.0;
    if (ulen >= 5 && strncmp(unit, "micro", 5) == 0)
        return v / 1000.0;
    return v;
}

/* Checks one sentence: the largest amount stated for a medicine named in it
 * against the table's single or daily maximum. */
static int check_dose(const safety_t *s, const char *sent, size_t len, char **repl, void *ud)
{
    dose_ud_t *du = ud;
    *repl = NULL;
    pcre2_match_data *md = pcre2_match_data_create(8, NULL);
    if (!md)
        return 0;
    int drop = 0;
    size_t a, b;
    for (size_t i = 0; i < s->n_doses && !drop; i++) {
        const sf_dose_t *d = &s->doses[i];
        if (!sf_find(d->names, sent, len, 0, md, &a, &b))
            continue;
        int daily = s->daily && sf_find(s->daily, sent, len, 0, md, &a, &b);
        double worst = 0;
        size_t pos = 0;
        while (pos < len) {
            int rc = pcre2_match(s->dose_amount, (PCRE2_SPTR)sent, len, pos, PCRE2_NO_UTF_CHECK,
                                 md, NULL);
            if (rc < 3)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            char num[32];
            size_t nl = ov[3] - ov[2];
            if (nl >= sizeof num)
                nl = sizeof num - 1;
            memcpy(num, sent + ov[2], nl);
            num[nl] = '\0';
            /* "1,000" is a thousands separator; "2,5" a decimal comma. */
            char *w = num;
            for (char *c = num; *c; c++) {
                if (*c == ',' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' && c[2] <= '9' &&
                    c[3] >= '0' && c[3] <= '9' && !(c[4] >= '0' && c[4] <= '9'))
                    continue;
                *w++ = *c == ',' ? '.' : *c;
            }
            *w = '\0';
            double v = to_mg(strtod(num, NULL), sent + ov[4], ov[5] - ov[4]);
            /* Optional group 3: a count of tablets ("2 x 500 mg"). */
            if (rc >= 4 && ov[6] != PCRE2_UNSET) {
                double k = strtod(sent + ov[6], NULL);
                if (k > 0 && k < 50)
                    v *= k;
            }
            if (v > worst)
                worst = v;
            pos = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        }
        double limit = daily ? d->max_daily_mg : d->max_single_mg;
        if (limit <= 0)
            limit = d->max_daily_mg;
        if (limit > 0 && worst > limit * 1.0001) {
            drop = 1;
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "medicine", d->name);
            cJSON_AddNumberToObject(f, "stated_mg", worst);
            cJSON_AddNumberToObject(f, "max_mg", limit);
            cJSON_AddStringToObject(f, "per", daily ? "day" : "dose");
            cJSON_AddStringToObject(f, "source", d->source);
            cJSON_AddItemToArray(du->flags, f);
            const char *tmpl = sf_message(s, "dose.removed");
            char buf[512];
            snprintf(buf, sizeof buf, "%s",
                     tmpl ? tmpl : "A dose above the labelled maximum was removed.");
            /* The message names the medicine and the limit it broke. */
            char full[1200];
            snprintf(full, sizeof full, "%s (%s: at most %g mg per %s; source: %s)", buf, d->name,
                     limit, daily ? "day" : "dose", d->source);
            *repl = strdup(full);
        }
    }
    pcre2_match_data_free(md);
    return drop;
}

/* Applies every softening substitution; returns malloc'd text or NULL. */
static char *soften_text(const safety_t *s, const char *text, int *count)
{
    char *cur = strdup(text);
    if (!cur)
        return NULL;
    for (size_t i = 0; i < s->n_soften; i++) {
        size_t len = strlen(cur);
        PCRE2_SIZE outlen = len * 2 + 256;
        char *out = malloc(outlen);
        if (!out) {
            free(cur);
            return NULL;
        }
        int rc = pcre2_substitute(s->soften[i].pattern, (PCRE2_SPTR)cur, len, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_EXTENDED |
                                      PCRE2_NO_UTF_CHECK,
                                  NULL, NULL, (PCRE2_SPTR)s->soften[i].replace,
                                  PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)out, &outlen);
        if (rc > 0) {
            *count += rc;
            free(cur);
            cur = out;
        } else {
            free(out);
        }
    }
    return cur;
}

static int set_string(cJSON *obj, const char *key, const char *val)
{
    cJSON *n = cJSON_CreateString(val);
    if (!n)
        return MUSE_ENOMEM;
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, n);
    else
        cJSON_AddItemToObject(obj, key, n);
    return MUSE_OK;
}

/* Runs fn over a string field, replacing it when anything changed. */
static int rewrite_field(const safety_t *s, cJSON *obj, const char *key, sentence_fn fn, void *ud,
                         int *changed)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        return MUSE_OK;
    int c = 0;
    char *t = map_sentences(s, v->valuestring, fn, ud, &c);
    if (!t)
        return MUSE_ENOMEM;
    int rc = MUSE_OK;
    if (c) {
        *changed += c;
        rc = set_string(obj, key, t);
    }
    free(t);
    return rc;
}

static int soften_field(const safety_t *s, cJSON *obj, const char *key, int *count)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v))
        return MUSE_OK;
    int c = 0;
    char *t = soften_text(s, v->valuestring, &c);
    if (!t)
        return MUSE_ENOMEM;
    int rc = MUSE_OK;
    if (c) {
        *count += c;
        rc = set_string(obj, key, t);
    }
    free(t);
    return rc;
}

static int citations_empty(const cJSON *sec)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(sec, "citations");
    return !cJSON_IsArray(c) || cJSON_GetArraySize(c) == 0;
}

int safety_check_output(const safety_t *s, cJSON *answer, muse_error_t *err)
{
    if (!s || !cJSON_IsObject(answer))
        return muse_err(err, MUSE_EINVAL, "safety_check_output: answer must be a JSON object");
    int rc = MUSE_OK;
    cJSON *saf = cJSON_GetObjectItemCaseSensitive(answer, "safety");
    const char *verdict = jstr(saf, "verdict", "allow");
    int urgent = !strcmp(verdict, "emergency") || !strcmp(verdict, "crisis");
    cJSON *ans = cJSON_GetObjectItemCaseSensitive(answer, "answer");
    if (!ans) {
        ans = cJSON_AddObjectToObject(answer, "answer");
        if (!ans)
            return muse_err(err, MUSE_ENOMEM, "safety: out of memory");
    }
    if (!cJSON_IsObject(ans))
        return muse_err(err, MUSE_EINVAL, "safety_check_output: \"answer\" must be an object");
    cJSON *sections = cJSON_GetObjectItemCaseSensitive(ans, "sections");
    if (sections && !cJSON_IsArray(sections))
        return muse_err(err, MUSE_EINVAL,
                        "safety_check_output: \"answer.sections\" must be an array");

    int dropped = 0, contradictions = 0, softened = 0, doses_changed = 0;
    dose_ud_t du = {cJSON_CreateArray()};
    if (!du.flags)
        return muse_err(err, MUSE_ENOMEM, "safety: out of memory");

    /* 1. Emergency first. */
    if (urgent) {
        const char *msg = sf_message(s, verdict);
        const char *num = safety_emergency_number(s);
        cJSON *sc = cJSON_GetObjectItemCaseSensitive(ans, "seek_care");
        if (!cJSON_IsObject(sc)) {
            cJSON_DeleteItemFromObjectCaseSensitive(ans, "seek_care");
            sc = cJSON_AddObjectToObject(ans, "seek_care");
        }
        if (!sc || (rc = set_string(sc, "level", "emergency")) ||
            (rc = set_string(sc, "reason", msg ? msg : "Get emergency help now.")))
            goto nomem;
        if ((rc = rewrite_field(s, ans, "summary", drop_contradiction, NULL, &contradictions)))
            goto nomem;
        const cJSON *sum = cJSON_GetObjectItemCaseSensitive(ans, "summary");
        if (msg && (!cJSON_IsString(sum) || !strstr(sum->valuestring, num))) {
            const char *old = cJSON_IsString(sum) ? sum->valuestring : "";
            size_t l = strlen(msg) + strlen(old) + 2;
            char *t = malloc(l);
            if (!t)
                goto nomem;
            snprintf(t, l, "%s%s%s", msg, *old ? " " : "", old);
            rc = set_string(ans, "summary", t);
            free(t);
            if (rc)
                goto nomem;
        }
        cJSON *fu = cJSON_CreateArray();
        if (!fu)
            goto nomem;
        if (cJSON_GetObjectItemCaseSensitive(ans, "follow_up_questions"))
            cJSON_ReplaceItemInObjectCaseSensitive(ans, "follow_up_questions", fu);
        else
            cJSON_AddItemToObject(ans, "follow_up_questions", fu);
    }

    /* 2. Uncited sections go; 1b. contradicting sentences go. */
    if (cJSON_IsArray(sections)) {
        for (int i = cJSON_GetArraySize(sections) - 1; i >= 0; i--) {
            cJSON *sec = cJSON_GetArrayItem(sections, i);
            if (!cJSON_IsObject(sec) || citations_empty(sec)) {
                cJSON_DeleteItemFromArray(sections, i);
                dropped++;
                continue;
            }
            if (urgent) {
                if ((rc = rewrite_field(s, sec, "text", drop_contradiction, NULL,
                                        &contradictions)))
                    goto nomem;
                const cJSON *tx = cJSON_GetObjectItemCaseSensitive(sec, "text");
                if (cJSON_IsString(tx) && !*tx->valuestring) {
                    cJSON_DeleteItemFromArray(sections, i);
                    continue;
                }
            }
            /* 3. and 4. */
            if ((rc = rewrite_field(s, sec, "text", check_dose, &du, &doses_changed)) ||
                (rc = soften_field(s, sec, "text", &softened)))
                goto nomem;
        }
    }
    if ((rc = rewrite_field(s, ans, "summary", check_dose, &du, &doses_changed)) ||
        (rc = soften_field(s, ans, "summary", &softened)))
        goto nomem;

    /* 5. Disclaimer, after the content it qualifies. */
    const char *disc = sf_message(s, urgent ? "disclaimer.emergency" : "disclaimer");
    if (disc && (rc = set_string(ans, "disclaimer", disc)))
        goto nomem;

    if (!saf) {
        saf = cJSON_AddObjectToObject(answer, "safety");
        if (!saf)
            goto nomem;
        cJSON_AddStringToObject(saf, "verdict", "allow");
    }
    cJSON *rep = cJSON_CreateObject();
    if (!rep)
        goto nomem;
    cJSON_AddNumberToObject(rep, "dropped_uncited", dropped);
    cJSON_AddNumberToObject(rep, "contradictions_removed", contradictions);
    cJSON_AddNumberToObject(rep, "softened", softened);
    cJSON_AddItemToObject(rep, "dose_flags", du.flags);
    du.flags = NULL;
    if (cJSON_GetObjectItemCaseSensitive(saf, "output"))
        cJSON_ReplaceItemInObjectCaseSensitive(saf, "output", rep);
    else
        cJSON_AddItemToObject(saf, "output", rep);
    return MUSE_OK;
nomem:
    cJSON_Delete(du.flags);
    return muse_err(err, MUSE_ENOMEM, "safety: out of memory while checking the answer");
}
