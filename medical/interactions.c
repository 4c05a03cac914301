/* Drug-drug, drug-condition and drug-measure interactions from
 * medical/data/interactions.json.
 *
 * The input is knowledge-store entry ids, as entity extraction gives them
 * ("warfarin", "ibuprofen", "chronic-kidney-disease"). The data groups ids
 * into classes ("class:nsaid") and conditions ("cond:ckd") so that one entry
 * covers every NSAID, and so that a class entry in the store ("nsaids")
 * matches as well as its members. The table is small (tens of entries), so a
 * direct scan beats building an index. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

static const cJSON *idata(const char *key)
{
    const med_data_t *d = med_data();
    return cJSON_GetObjectItemCaseSensitive(d->interactions, key);
}

/* Case-insensitive comparison that also treats ' ', '_' and '-' alike, so
 * "St John's wort" from a caller still meets "st-johns-wort". */
static int id_eq(const char *a, const char *b)
{
    for (;;) {
        while (*a == '\'')
            a++;
        while (*b == '\'')
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        char x = (char)tolower((unsigned char)*a), y = (char)tolower((unsigned char)*b);
        if (x == ' ' || x == '_')
            x = '-';
        if (y == ' ' || y == '_')
            y = '-';
        if (x != y)
            return 0;
        a++;
        b++;
    }
}

static int in_list(const char *id, const cJSON *list, int depth);

static int in_ref(const char *id, const char *ref, int depth)
{
    if (depth > 4)
        return 0; /* classes nest a level or two; deeper is a data loop */
    if (strncmp(ref, "class:", 6) == 0) {
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(idata("classes"), ref + 6);
        return in_list(id, cJSON_GetObjectItemCaseSensitive(cls, "members"), depth + 1);
    }
    if (strncmp(ref, "cond:", 5) == 0)
        return in_list(id, cJSON_GetObjectItemCaseSensitive(idata("conditions"), ref + 5), depth + 1);
    return id_eq(id, ref);
}

static int in_list(const char *id, const cJSON *list, int depth)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, list)
        if (cJSON_IsString(x) && in_ref(id, x->valuestring, depth))
            return 1;
    return 0;
}

static const char *sget(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : "";
}

static int severity_rank(const char *s)
{
    static const char *const order[] = {"contraindicated", "major", "moderate", "minor"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, order[i]) == 0)
            return i;
    return 4;
}

static int push(med_interactions_t *out, size_t *cap, const cJSON *ix, const char *a, const char *b)
{
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        med_interaction_t *v = realloc(out->v, nc * sizeof *v);
        if (!v)
            return MUSE_ENOMEM;
        out->v = v;
        *cap = nc;
    }
    med_interaction_t *m = &out->v[out->n++];
    memset(m, 0, sizeof *m);
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(ix, "source");
    m->id = sget(ix, "id");
    m->type = sget(ix, "type");
    m->severity = sget(ix, "severity");
    m->summary = sget(ix, "summary");
    m->advice = sget(ix, "advice");
    m->source_publisher = sget(src, "publisher");
    m->source_title = sget(src, "title");
    m->source_url = sget(src, "url");
    snprintf(m->a, sizeof m->a, "%s", a);
    snprintf(m->b, sizeof m->b, "%s", b);
    return MUSE_OK;
}

/* The latest plausible reading of a kind: by time, else the last given. */
static const med_reading_t *latest(const med_series_t *s, med_kind_t k)
{
    const med_reading_t *best = NULL;
    for (size_t i = 0; s && i < s->n; i++) {
        const med_reading_t *r = &s->v[i];
        if (r->kind != k || r->implausible)
            continue;
        if (!best || r->time >= best->time)
            best = r;
    }
    return best;
}

static int by_severity(const void *a, const void *b)
{
    const med_interaction_t *x = a, *y = b;
    int d = severity_rank(x->severity) - severity_rank(y->severity);
    return d ? d : (x < y ? -1 : x > y);
}

int medical_interactions_find(const char *const *ids, size_t n, const med_series_t *readings,
                              med_interactions_t *out, muse_error_t *err)
{
    const med_data_t *d;
    size_t cap = 0;
    int rc = med_data_get(&d, err);
    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    if (n && !ids)
        return muse_err(err, MUSE_EINVAL, "no ids to look up");
    const cJSON *ix;
    cJSON_ArrayForEach(ix, idata("interactions")) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(ix, "a");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(ix, "b");
        const cJSON *meas = cJSON_GetObjectItemCaseSensitive(ix, "measure");
        int found = 0;
        for (size_t i = 0; i < n && !found; i++) {
            if (!ids[i] || !in_list(ids[i], a, 0))
                continue;
            if (meas) {
                med_kind_t k;
                if (medical_kind_parse(sget(meas, "kind"), &k) != MUSE_OK)
                    break;
                const med_reading_t *r = latest(readings, k);
                med_interval_t iv;
                med_interval_from_json(meas, &iv);
                if (!r || !med_interval_contains(&iv, r->value))
                    break;
                char v[32], desc[96];
                med_fmt_num(v, sizeof v, r->value, med_kind_decimals(k));
                snprintf(desc, sizeof desc, "%s %s %s", medical_kind_label(k), v,
                         medical_kind_display_unit(k));
                if ((rc = push(out, &cap, ix, ids[i], desc)) != MUSE_OK)
                    goto fail;
                found = 1;
                break;
            }
            for (size_t j = 0; j < n; j++) {
                if (j == i || !ids[j] || id_eq(ids[i], ids[j]) || !in_list(ids[j], b, 0))
                    continue;
                if ((rc = push(out, &cap, ix, ids[i], ids[j])) != MUSE_OK)
                    goto fail;
                found = 1;
                break;
            }
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, by_severity);
    return MUSE_OK;
fail:
    med_interactions_free(out);
    return muse_err(err, rc, "out of memory looking up interactions");
}

void med_interactions_free(med_interactions_t *x)
{
    if (!x)
        return;
    free(x->v);
    x->v = NULL;
    x->n = 0;
}

cJSON *medical_interactions_json(const med_interactions_t *x)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && x && i < x->n; i++) {
        const med_interaction_t *m = &x->v[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "id", m->id);
        cJSON_AddStringToObject(o, "type", m->type);
        cJSON_AddStringToObject(o, "severity", m->severity);
        cJSON *bt = cJSON_AddArrayToObject(o, "between");
        cJSON_AddItemToArray(bt, cJSON_CreateString(m->a));
        cJSON_AddItemToArray(bt, cJSON_CreateString(m->b));
        cJSON_AddStringToObject(o, "summary", m->summary);
        cJSON_AddStringToObject(o, "advice", m->advice);
        cJSON *src = cJSON_AddObjectToObject(o, "source");
        cJSON_AddStringToObject(src, "publisher", m->source_publisher);
        cJSON_AddStringToObject(src, "title", m->source_title);
        cJSON_AddStringToObject(src, "url", m->source_url);
    }
    return arr;
}
