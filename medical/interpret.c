/* Interpretation of readings: the JSON documented in docs/medical.md
 * (readings with category and source, per-kind series statistics, patterns,
 * problems, entities, interactions) and a plain-language rendering of that
 * same JSON for people, so the CLI, the engine and the HTTP server can never
 * say different things about the same numbers.
 *
 * Numbers in the JSON are rounded to one decimal place more than people are
 * shown (mg/dL to 0.1, A1c to 0.01): enough for a chart, and stable enough
 * for golden files. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"
#include "muse_buf.h"

static double round_to(double v, int decimals)
{
    if (isnan(v) || isinf(v))
        return v;
    double f = pow(10, decimals);
    double r = round(v * f) / f;
    return r == 0 ? 0 : r; /* no "-0" */
}

static cJSON *add_num(cJSON *o, const char *k, double v, int decimals)
{
    if (isnan(v) || isinf(v))
        return cJSON_AddNullToObject(o, k);
    return cJSON_AddNumberToObject(o, k, round_to(v, decimals));
}

static void display_value(const med_reading_t *r, char *buf, size_t cap)
{
    char a[32], b[32];
    int dec = med_kind_decimals(r->kind);
    med_fmt_num(a, sizeof a, r->value, dec);
    if (r->kind == MED_BP) {
        med_fmt_num(b, sizeof b, r->value2, dec);
        snprintf(buf, cap, "%s/%s %s", a, b, medical_kind_display_unit(r->kind));
    } else if (r->kind == MED_A1C || r->kind == MED_SPO2) {
        snprintf(buf, cap, "%s%s", a, medical_kind_display_unit(r->kind));
    } else {
        snprintf(buf, cap, "%s %s", a, medical_kind_display_unit(r->kind));
    }
}

/* Strings from the data, and keys, live for the process: they are added as
 * references (no copy), which keeps a 100,000-reading interpretation from
 * spending its time in malloc and memcpy. */
static void add_ref(cJSON *o, const char *k, const char *v)
{
    cJSON_AddItemToObjectCS(o, k, cJSON_CreateStringReference(v));
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    cJSON_AddItemToObjectCS(o, k, cJSON_CreateString(v));
}

static void add_bool(cJSON *o, const char *k, int v)
{
    cJSON_AddItemToObjectCS(o, k, cJSON_CreateBool(v));
}

static cJSON *add_obj(cJSON *o, const char *k)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToObjectCS(o, k, c);
    return c;
}

static cJSON *add_numv(cJSON *o, const char *k, double v, int decimals)
{
    cJSON *n = (isnan(v) || isinf(v)) ? cJSON_CreateNull() : cJSON_CreateNumber(round_to(v, decimals));
    cJSON_AddItemToObjectCS(o, k, n);
    return n;
}

cJSON *medical_reading_json(const med_reading_t *r)
{
    const med_data_t *d = med_data();
    cJSON *o = cJSON_CreateObject();
    if (!o || !d->ok || (unsigned)r->kind >= MED_KIND_COUNT)
        return o;
    const med_kind_def_t *kd = &d->kinds[r->kind];
    int dec = med_kind_decimals(r->kind) + 1;
    char buf[96];
    add_ref(o, "kind", kd->name);
    add_ref(o, "label", kd->label);
    add_numv(o, "value", r->value, dec);
    if (r->kind == MED_BP)
        add_numv(o, "value2", r->value2, dec);
    add_ref(o, "unit", kd->unit);
    display_value(r, buf, sizeof buf);
    add_str(o, "display", buf);
    if (r->kind == MED_BP && !isnan(r->pulse))
        add_numv(o, "pulse", r->pulse, 0);
    if (!isnan(r->value_in) && r->unit_in[0] && strcmp(r->unit_in, kd->unit) != 0) {
        cJSON *g = add_obj(o, "as_given");
        add_numv(g, "value", r->value_in, 3);
        add_str(g, "unit", r->unit_in);
    }
    med_format_time(r, buf, sizeof buf);
    if (buf[0]) {
        add_str(o, "time", buf);
        if (r->time_flags & MED_TIME_INFERRED)
            add_bool(o, "time_inferred", 1);
    } else if (r->tod_min >= 0) {
        snprintf(buf, sizeof buf, "%02d:%02d", r->tod_min / 60, r->tod_min % 60);
        add_str(o, "time_of_day", buf);
    }
    if (r->kind == MED_GLUCOSE)
        cJSON_AddItemToObjectCS(o, "fasting", r->fasting < 0 ? cJSON_CreateNull() : cJSON_CreateBool(r->fasting));
    add_bool(o, "implausible", r->implausible);
    add_bool(o, "assumed_unit", r->assumed_unit);
    if (r->note[0])
        add_str(o, "note", r->note);
    const char *decided = "";
    const med_catset_t *cs = med_catset_for(r);
    const med_cat_t *c = r->implausible ? NULL : med_classify_fast(r, &decided);
    if (c && cs) {
        cJSON *cj = add_obj(o, "category");
        add_ref(cj, "id", c->id);
        add_ref(cj, "label", c->label);
        cJSON_AddItemToObjectCS(cj, "level", cJSON_CreateNumber(c->level));
        cJSON_AddItemToObjectCS(cj, "max_level", cJSON_CreateNumber(cs->max_level));
        if (c->range[0])
            add_ref(cj, "range", c->range);
        if (r->kind == MED_BP)
            add_ref(cj, "decided_by", decided);
        /* The caveat: the category's note, or how a glucose was judged. */
        const char *gn = r->kind != MED_GLUCOSE ? "" : r->fasting < 0 ? kd->unknown_fasting_note
                                                 : r->fasting == 0 ? kd->random_note : "";
        if (c->note[0] && gn[0]) {
            char note[640];
            snprintf(note, sizeof note, "%s %s", c->note, gn);
            add_str(cj, "note", note);
        } else if (c->note[0] || gn[0]) {
            add_ref(cj, "note", c->note[0] ? c->note : gn);
        }
        if (kd->population[0])
            add_ref(cj, "population", kd->population);
        cJSON *src = add_obj(o, "source");
        add_ref(src, "title", c->source);
        add_ref(src, "url", c->url);
    } else {
        cJSON_AddItemToObjectCS(o, "category", cJSON_CreateNull());
        cJSON_AddItemToObjectCS(o, "source", cJSON_CreateNull());
    }
    if (r->line > 0)
        cJSON_AddItemToObjectCS(o, "line", cJSON_CreateNumber(r->line));
    else if (r->end > r->start) {
        cJSON *span = cJSON_CreateArray();
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)r->start));
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)r->end));
        cJSON_AddItemToObjectCS(o, "span", span);
    }
    return o;
}

static cJSON *trend_json(const med_trend_t *t, int dec)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (!t->valid) {
        cJSON_AddFalseToObject(o, "valid");
        return o;
    }
    cJSON_AddTrueToObject(o, "valid");
    cJSON_AddStringToObject(o, "per", t->by_time ? "week" : "reading");
    add_num(o, "slope", t->slope, dec + 1);
    cJSON *ci = cJSON_AddArrayToObject(o, "ci95");
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(round_to(t->ci_low, dec + 1)));
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(round_to(t->ci_high, dec + 1)));
    add_num(o, "p_value", t->p_value, 4);
    add_num(o, "r2", t->r2, 3);
    cJSON_AddStringToObject(o, "direction",
                            t->direction > 0 ? "rising" : t->direction < 0 ? "falling" : "no clear change");
    cJSON_AddStringToObject(o, "confidence", t->confidence);
    return o;
}

static void time_iso(int64_t t, char *buf, size_t cap)
{
    med_reading_t r;
    med_reading_init(&r, MED_BP);
    r.time = t;
    r.time_flags = MED_TIME_DATE;
    med_format_time(&r, buf, cap);
}

static cJSON *series_json(const med_series_t *s, const med_stats_t *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    med_kind_t k = st->kind;
    int dec = med_kind_decimals(k) + 1;
    cJSON_AddStringToObject(o, "kind", medical_kind_name(k));
    cJSON_AddStringToObject(o, "label", medical_kind_label(k));
    cJSON_AddStringToObject(o, "unit", medical_kind_unit(k));
    cJSON_AddNumberToObject(o, "count", (double)st->n);
    const med_data_t *d = med_data();
    if (d->ok && d->kinds[k].population[0])
        cJSON_AddStringToObject(o, "population", d->kinds[k].population);
    cJSON_AddNumberToObject(o, "implausible", (double)st->n_implausible);
    if (st->first >= 0) {
        char a[40], b[40];
        time_iso(st->first, a, sizeof a);
        time_iso(st->last, b, sizeof b);
        cJSON *span = cJSON_AddObjectToObject(o, "span");
        cJSON_AddStringToObject(span, "first", a);
        cJSON_AddStringToObject(span, "last", b);
        add_num(span, "days", st->span_days, 1);
    } else {
        cJSON_AddNullToObject(o, "span");
    }
    cJSON *comps = cJSON_AddArrayToObject(o, "components");
    for (int c = 0; c < st->n_components; c++) {
        const med_component_stats_t *cs = &st->c[c];
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddItemToArray(comps, cj);
        cJSON_AddStringToObject(cj, "name", medical_kind_component_name(k, c));
        add_num(cj, "mean", cs->mean, dec);
        add_num(cj, "sd", cs->sd, dec);
        add_num(cj, "min", cs->min, dec);
        add_num(cj, "max", cs->max, dec);
        cJSON_AddItemToObject(cj, "trend", trend_json(&cs->trend, dec));
        if (cs->n_morning && cs->n_evening) {
            cJSON *me = cJSON_AddObjectToObject(cj, "morning_evening");
            cJSON_AddNumberToObject(me, "morning_count", (double)cs->n_morning);
            add_num(me, "morning_mean", cs->morning_mean, dec);
            cJSON_AddNumberToObject(me, "evening_count", (double)cs->n_evening);
            add_num(me, "evening_mean", cs->evening_mean, dec);
            add_num(me, "difference", cs->morning_mean - cs->evening_mean, dec);
        } else {
            cJSON_AddNullToObject(cj, "morning_evening");
        }
    }
    /* The average judged as one reading, as the guideline judges BP. */
    med_reading_t avg;
    med_reading_init(&avg, k);
    avg.value = st->c[0].mean;
    avg.value2 = st->n_components > 1 ? st->c[1].mean : NAN;
    if (k == MED_GLUCOSE) {
        int f = -2;
        for (size_t i = 0; i < s->n; i++)
            if (s->v[i].kind == k && !s->v[i].implausible)
                f = (f == -2 || f == s->v[i].fasting) ? s->v[i].fasting : -1;
        avg.fasting = f == -2 ? -1 : f;
    }
    cJSON *avj = cJSON_AddObjectToObject(o, "average");
    add_num(avj, "value", avg.value, dec);
    if (k == MED_BP)
        add_num(avj, "value2", avg.value2, dec);
    const med_cat_t *cl = med_classify_fast(&avg, NULL);
    if (cl) {
        cJSON *cj = cJSON_AddObjectToObject(avj, "category");
        cJSON_AddStringToObject(cj, "id", cl->id);
        cJSON_AddStringToObject(cj, "label", cl->label);
        cJSON_AddNumberToObject(cj, "level", cl->level);
    } else {
        cJSON_AddNullToObject(avj, "category");
    }
    cJSON *cats = cJSON_AddArrayToObject(o, "categories");
    for (int i = 0; i < st->n_categories; i++) {
        cJSON *cj = cJSON_CreateObject();
        cJSON_AddItemToArray(cats, cj);
        cJSON_AddStringToObject(cj, "id", st->categories[i].id);
        cJSON_AddStringToObject(cj, "label", st->categories[i].label);
        cJSON_AddNumberToObject(cj, "level", st->categories[i].level);
        cJSON_AddNumberToObject(cj, "count", (double)st->categories[i].count);
        add_num(cj, "share", st->categories[i].share, 3);
    }
    return o;
}

static int add_entities(cJSON *root, const med_interpret_opts_t *o, const med_series_t *s,
                        muse_error_t *err)
{
    med_entities_t ents = {0};
    med_interactions_t ix = {0};
    const char **ids = NULL;
    int rc = medical_extract_entities(o->kb, o->text, &ents, err);
    if (rc != MUSE_OK)
        return rc;
    cJSON *arr = cJSON_AddArrayToObject(root, "entities");
    ids = calloc(ents.n + 1, sizeof *ids);
    if (!ids) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t nid = 0;
    for (size_t i = 0; i < ents.n; i++) {
        const med_entity_t *e = &ents.v[i];
        cJSON *ej = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, ej);
        cJSON_AddStringToObject(ej, "id", e->id);
        cJSON_AddStringToObject(ej, "kind", e->kind);
        cJSON_AddStringToObject(ej, "alias", e->alias);
        cJSON *span = cJSON_AddArrayToObject(ej, "span");
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)e->start));
        cJSON_AddItemToArray(span, cJSON_CreateNumber((double)e->end));
        cJSON_AddBoolToObject(ej, "negated", e->negated);
        cJSON_AddBoolToObject(ej, "hypothetical", e->hypothetical);
        /* "I don't take warfarin" rules warfarin out; "what if I took
         * ibuprofen" is exactly when an interaction matters. */
        if (!e->negated)
            ids[nid++] = e->id;
    }
    rc = medical_interactions_find(ids, nid, s, &ix, err);
    if (rc != MUSE_OK)
        goto done;
    cJSON_AddItemToObject(root, "interactions", medical_interactions_json(&ix));
done:
    free(ids);
    med_interactions_free(&ix);
    med_entities_free(&ents);
    return rc;
}

int medical_interpret_json(const med_series_t *s, const med_interpret_opts_t *o, cJSON **out,
                           muse_error_t *err)
{
    const med_data_t *d;
    med_patterns_t pats = {0};
    med_stats_cache_t *cache = NULL;
    int rc = med_data_get(&d, err);
    *out = NULL;
    if (rc)
        return rc;
    med_series_t empty = {0};
    if (!s)
        s = &empty;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (o && o->source)
        cJSON_AddStringToObject(root, "source", o->source);

    int with_readings = !(o && o->summary_only);
    cJSON *readings = with_readings ? cJSON_AddArrayToObject(root, "readings") : NULL;
    for (size_t i = 0; with_readings && i < s->n; i++)
        cJSON_AddItemToArray(readings, medical_reading_json(&s->v[i]));

    cache = calloc(1, sizeof *cache);
    if (!cache) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    cache->s = s;
    cJSON *series = cJSON_AddArrayToObject(root, "series");
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        const med_stats_t *st = med_stats_get(cache, (med_kind_t)k);
        if (st)
            cJSON_AddItemToArray(series, series_json(s, st));
    }

    if ((rc = med_find_patterns_cached(cache, &pats, err)) != MUSE_OK)
        goto fail;
    cJSON *parr = cJSON_AddArrayToObject(root, "patterns");
    /* Urgent first, then warnings, then information. */
    static const char *const order[] = {"urgent", "warning", "info"};
    for (size_t oi = 0; oi < 3; oi++)
        for (size_t i = 0; i < pats.n; i++) {
            if (strcmp(pats.v[i].severity, order[oi]) != 0)
                continue;
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddItemToArray(parr, pj);
            cJSON_AddStringToObject(pj, "id", pats.v[i].id);
            cJSON_AddStringToObject(pj, "kind", medical_kind_name(pats.v[i].kind));
            cJSON_AddStringToObject(pj, "severity", pats.v[i].severity);
            cJSON_AddStringToObject(pj, "explanation", pats.v[i].explanation);
            cJSON_AddStringToObject(pj, "basis", pats.v[i].basis);
        }

    cJSON *prob = cJSON_AddArrayToObject(root, "problems");
    if (o && o->problems) {
        for (size_t i = 0; i < o->problems->n; i++) {
            cJSON *pj = cJSON_CreateObject();
            cJSON_AddItemToArray(prob, pj);
            cJSON_AddStringToObject(pj, "where", o->problems->v[i].where);
            if (o->problems->v[i].line > 0)
                cJSON_AddNumberToObject(pj, "line", o->problems->v[i].line);
            cJSON_AddStringToObject(pj, "message", o->problems->v[i].message);
        }
        if (o->problems->dropped)
            cJSON_AddNumberToObject(root, "problems_not_listed", (double)o->problems->dropped);
    }

    if (o && o->kb && o->text) {
        if ((rc = add_entities(root, o, s, err)) != MUSE_OK)
            goto fail;
    } else {
        /* Without a store there are no entity ids, but readings alone can
         * still not carry interactions; keep the keys for a stable shape. */
        cJSON_AddArrayToObject(root, "entities");
        cJSON_AddArrayToObject(root, "interactions");
    }
    med_patterns_free(&pats);
    free(cache);
    cache = NULL;
    if (with_readings && cJSON_GetArraySize(readings) != (int)s->n) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    *out = root;
    return MUSE_OK;
fail:
    free(cache);
    med_patterns_free(&pats);
    cJSON_Delete(root);
    return rc;
}

/* ---- text for people ---------------------------------------------------- */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static void text_reading(muse_buf_t *b, const cJSON *r, int many)
{
    const char *label = jstr(r, "label"), *disp = jstr(r, "display"), *time = jstr(r, "time");
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(r, "category");
    const char *note = jstr(r, "note");
    muse_buf_printf(b, "%s%s %s", many ? "  - " : "", label, disp ? disp : "");
    if (time)
        muse_buf_printf(b, " (%s)", time);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "implausible"))) {
        muse_buf_printf(b, ": not interpreted, %s.\n", note ? note : "implausible");
        return;
    }
    if (cJSON_IsObject(cat)) {
        const char *range = jstr(cat, "range"), *cl = jstr(cat, "label");
        muse_buf_printf(b, " is in the %s%s", cl ? cl : "?", cl && med_stristr(cl, strlen(cl), "range") ? "" : " range");
        if (range)
            muse_buf_printf(b, " (%s)", range);
        muse_buf_printf(b, ".");
        if (!many) {
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "source");
            if (jstr(cat, "population"))
                muse_buf_printf(b, "\n  Who this range is for: %s", jstr(cat, "population"));
            if (jstr(src, "title"))
                muse_buf_printf(b, "\n  Source: %s", jstr(src, "title"));
        }
        if (jstr(cat, "note"))
            muse_buf_printf(b, "\n    %s", jstr(cat, "note"));
    } else {
        muse_buf_printf(b, ".");
    }
    if (note && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "assumed_unit")))
        muse_buf_printf(b, "\n    Assumption: %s.", note);
    muse_buf_printf(b, "\n");
}

static void text_series(muse_buf_t *b, const cJSON *sj)
{
    const char *kind = jstr(sj, "kind");
    int is_bp = kind && strcmp(kind, "bp") == 0;
    med_kind_t k = MED_BP;
    medical_kind_parse(kind ? kind : "", &k);
    const char *du = medical_kind_display_unit(k);
    int dec = med_kind_decimals(k);
    double count = jnum(sj, "count");
    if (count < 2)
        return;
    const cJSON *comps = cJSON_GetObjectItemCaseSensitive(sj, "components");
    const cJSON *c0 = cJSON_GetArrayItem(comps, 0), *c1 = cJSON_GetArrayItem(comps, 1);
    const cJSON *span = cJSON_GetObjectItemCaseSensitive(sj, "span");
    char a[32], b2[32], c[32], d[32];
    muse_buf_printf(b, "\n%s: %.0f readings", jstr(sj, "label"), count);
    if (cJSON_IsObject(span) && jnum(span, "days") >= 1)
        muse_buf_printf(b, " over %.0f days (%s to %s)", jnum(span, "days"), jstr(span, "first"), jstr(span, "last"));
    else if (cJSON_IsObject(span))
        muse_buf_printf(b, " on %s", jstr(span, "first"));
    muse_buf_printf(b, ".\n");
    const cJSON *avg = cJSON_GetObjectItemCaseSensitive(sj, "average");
    const cJSON *acat = cJSON_GetObjectItemCaseSensitive(avg, "category");
    med_fmt_num(a, sizeof a, jnum(c0, "mean"), dec);
    if (is_bp) {
        med_fmt_num(b2, sizeof b2, jnum(c1, "mean"), dec);
        muse_buf_printf(b, "  Average %s/%s %s", a, b2, du);
    } else {
        muse_buf_printf(b, "  Average %s %s", a, du);
    }
    if (cJSON_IsObject(acat))
        muse_buf_printf(b, " (%s)", jstr(acat, "label"));
    med_fmt_num(a, sizeof a, jnum(c0, "min"), dec);
    med_fmt_num(b2, sizeof b2, jnum(c0, "max"), dec);
    if (is_bp) {
        med_fmt_num(c, sizeof c, jnum(c1, "min"), dec);
        med_fmt_num(d, sizeof d, jnum(c1, "max"), dec);
        muse_buf_printf(b, "; top number from %s to %s, bottom from %s to %s.\n", a, b2, c, d);
    } else {
        muse_buf_printf(b, "; from %s to %s.\n", a, b2);
    }
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(c0, "trend");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tr, "valid"))) {
        const char *dir = jstr(tr, "direction");
        med_fmt_num(a, sizeof a, fabs(jnum(tr, "slope")), dec + 1);
        if (dir && strcmp(dir, "no clear change") == 0)
            muse_buf_printf(b, "  Trend%s: no clear change (%s confidence).\n", is_bp ? " (top number)" : "",
                      jstr(tr, "confidence"));
        else
            muse_buf_printf(b, "  Trend%s: %s about %s %s per %s (%s confidence).\n",
                      is_bp ? " (top number)" : "", dir, a, du, jstr(tr, "per"), jstr(tr, "confidence"));
    }
    const cJSON *me = cJSON_GetObjectItemCaseSensitive(c0, "morning_evening");
    if (cJSON_IsObject(me)) {
        double diff = jnum(me, "difference");
        med_fmt_num(a, sizeof a, jnum(me, "morning_mean"), dec);
        med_fmt_num(b2, sizeof b2, jnum(me, "evening_mean"), dec);
        med_fmt_num(c, sizeof c, fabs(diff), dec);
        muse_buf_printf(b, "  Mornings average %s, evenings %s%s: %s.\n", a, b2, is_bp ? " (top number)" : "",
                  fabs(diff) < 0.5 ? "about the same"
                                   : diff > 0 ? "mornings are higher" : "evenings are higher");
        (void)c;
    }
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(sj, "categories"), *cj;
    int first = 1;
    cJSON_ArrayForEach(cj, cats) {
        if (jnum(cj, "count") <= 0)
            continue;
        muse_buf_printf(b, "%s%s %.0f%%", first ? "  Readings by range: " : ", ", jstr(cj, "label"),
                  100 * jnum(cj, "share"));
        first = 0;
    }
    if (!first)
        muse_buf_printf(b, ".\n");
}

int medical_interpret_text(const cJSON *interp, char **out, muse_error_t *err)
{
    muse_buf_t b = {0};
    *out = NULL;
    const cJSON *readings = cJSON_GetObjectItemCaseSensitive(interp, "readings");
    int n = cJSON_GetArraySize(readings);
    const cJSON *r;
    if (n == 0)
        muse_buf_printf(&b, "No measurements were found.\n");
    else if (n == 1)
        text_reading(&b, cJSON_GetArrayItem(readings, 0), 0);
    else {
        muse_buf_printf(&b, "%d readings:\n", n);
        int shown = 0;
        cJSON_ArrayForEach(r, readings) {
            if (shown++ == 20) {
                muse_buf_printf(&b, "  ... and %d more (use --json for all of them)\n", n - 20);
                break;
            }
            text_reading(&b, r, 1);
        }
    }
    const cJSON *sj;
    cJSON_ArrayForEach(sj, cJSON_GetObjectItemCaseSensitive(interp, "series"))
        text_series(&b, sj);

    const cJSON *pats = cJSON_GetObjectItemCaseSensitive(interp, "patterns"), *pj;
    if (cJSON_GetArraySize(pats) > 0) {
        muse_buf_printf(&b, "\nWhat stands out:\n");
        cJSON_ArrayForEach(pj, pats) {
            const char *sev = jstr(pj, "severity");
            muse_buf_printf(&b, "  %s %s\n", sev && strcmp(sev, "urgent") == 0 ? "!!" : sev && strcmp(sev, "warning") == 0 ? "! " : "- ",
                      jstr(pj, "explanation"));
        }
    }
    const cJSON *ix = cJSON_GetObjectItemCaseSensitive(interp, "interactions"), *ij;
    if (cJSON_GetArraySize(ix) > 0) {
        muse_buf_printf(&b, "\nMedicine interactions to check with a pharmacist or doctor:\n");
        cJSON_ArrayForEach(ij, ix) {
            const cJSON *bt = cJSON_GetObjectItemCaseSensitive(ij, "between");
            const cJSON *x = cJSON_GetArrayItem(bt, 0), *y = cJSON_GetArrayItem(bt, 1);
            muse_buf_printf(&b, "  ! %s + %s (%s): %s %s\n", cJSON_IsString(x) ? x->valuestring : "?",
                      cJSON_IsString(y) ? y->valuestring : "?", jstr(ij, "severity"), jstr(ij, "summary"),
                      jstr(ij, "advice"));
        }
    }
    const cJSON *prob = cJSON_GetObjectItemCaseSensitive(interp, "problems");
    if (cJSON_GetArraySize(prob) > 0) {
        muse_buf_printf(&b, "\nNot read (fix these and run again):\n");
        cJSON_ArrayForEach(pj, prob)
            muse_buf_printf(&b, "  %s: %s\n", jstr(pj, "where"), jstr(pj, "message"));
        double more = jnum(interp, "problems_not_listed");
        if (!isnan(more))
            muse_buf_printf(&b, "  ... and %.0f more\n", more);
    }
    if (n > 0)
        muse_buf_printf(&b, "\nThis is information about your numbers, not a diagnosis. Talk to your doctor "
                      "or nurse about what they mean for you.\n");
    if (b.oom) {
        free(b.p);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    *out = b.p;
    return MUSE_OK;
}
