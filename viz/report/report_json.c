/* The report's findings as JSON (docs/report.md#json), for a clinic system
 * that files the PDF and wants the same facts in fields: the same period,
 * measures, categories, flags and problems the PDF prints, read from the
 * same analysis. Numbers are in each measure's canonical unit (the "unit"
 * field, UCUM), never converted for display. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

static void add_num(cJSON *o, const char *k, double v, int dec)
{
    if (!isfinite(v)) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    double p = pow(10, dec);
    cJSON_AddNumberToObject(o, k, round(v * p) / p);
}

static void add_day(cJSON *o, const char *k, int64_t t)
{
    if (t < 0 || t == INT64_MIN || t == INT64_MAX) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    char d[24];
    rp_fmt_date(t, d, sizeof d);
    cJSON_AddStringToObject(o, k, d);
}

static cJSON *class_json(const med_class_t *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "label", c->label);
    cJSON_AddNumberToObject(o, "level", c->level);
    cJSON_AddNumberToObject(o, "max_level", c->max_level);
    if (c->note[0])
        cJSON_AddStringToObject(o, "note", c->note);
    return o;
}

static cJSON *reading_json(const med_reading_t *x)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char t[40], v[64];
    if (x->time >= 0) {
        rp_iso_time(x, t, sizeof t);
        cJSON_AddStringToObject(o, "time", t);
    } else {
        cJSON_AddNullToObject(o, "time");
    }
    add_num(o, "value", x->value, 3);
    if (x->kind == MED_BP)
        add_num(o, "value2", x->value2, 3);
    rp_fmt_value(x->kind, x->value, x->value2, v, sizeof v);
    cJSON_AddStringToObject(o, "display", v);
    med_class_t c;
    if (!x->implausible && medical_classify(x, &c, NULL) == MUSE_OK)
        cJSON_AddItemToObject(o, "category", class_json(&c));
    return o;
}

static cJSON *trend_json(const med_trend_t *t)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddBoolToObject(o, "valid", t->valid);
    if (!t->valid)
        return o;
    cJSON_AddStringToObject(o, "per", t->by_time ? "week" : "reading");
    add_num(o, "slope", t->slope, 4);
    cJSON *ci = cJSON_AddArrayToObject(o, "ci95");
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(round(t->ci_low * 1e4) / 1e4));
    cJSON_AddItemToArray(ci, cJSON_CreateNumber(round(t->ci_high * 1e4) / 1e4));
    add_num(o, "p_value", t->p_value, 4);
    cJSON_AddStringToObject(o, "direction",
                            t->direction > 0 ? "rising" : t->direction < 0 ? "falling" : "no clear change");
    cJSON_AddStringToObject(o, "confidence", t->confidence ? t->confidence : "low");
    return o;
}

static cJSON *measure_json(const report_t *r, const rp_measure_t *m)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    med_kind_t k = m->kind;
    cJSON_AddStringToObject(o, "kind", medical_kind_name(k));
    cJSON_AddStringToObject(o, "label", rp_kind_label(k));
    cJSON_AddStringToObject(o, "unit", medical_kind_unit(k));
    cJSON_AddNumberToObject(o, "count", (double)m->n);
    cJSON_AddNumberToObject(o, "used", m->have_stats ? (double)m->st.n : 0);
    cJSON_AddNumberToObject(o, "implausible", m->have_stats ? (double)m->st.n_implausible : (double)m->n);
    if (!m->have_stats)
        return o;
    const med_stats_t *st = &m->st;
    /* First and last dated readings on their own wall clock. */
    const med_reading_t *f = NULL, *l = NULL;
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        if (x->implausible || x->time < 0)
            continue;
        if (!f)
            f = x;
        l = x;
    }
    add_day(o, "first", f ? rp_local_time(f) : -1);
    add_day(o, "last", l ? rp_local_time(l) : -1);
    if (m->latest)
        cJSON_AddItemToObject(o, "latest", reading_json(m->latest));
    cJSON *comps = cJSON_AddArrayToObject(o, "components");
    int dec = rp_decimals(k) + 1;
    for (int c = 0; c < st->n_components; c++) {
        const med_component_stats_t *cs = &st->c[c];
        cJSON *co = cJSON_CreateObject();
        cJSON_AddItemToArray(comps, co);
        cJSON_AddStringToObject(co, "name", medical_kind_component_name(k, c));
        add_num(co, "mean", cs->mean, dec);
        add_num(co, "sd", cs->sd, dec);
        add_num(co, "min", cs->min, dec);
        add_num(co, "max", cs->max, dec);
        cJSON_AddItemToObject(co, "trend", trend_json(&cs->trend));
        if (cs->n_morning && cs->n_evening) {
            add_num(co, "morning_mean", cs->morning_mean, dec);
            add_num(co, "evening_mean", cs->evening_mean, dec);
        }
    }
    int by_latest = 0;
    const med_class_t *jc = rp_judged_class(m, &by_latest);
    if (jc) {
        cJSON *c = class_json(jc);
        cJSON_AddStringToObject(c, "of", by_latest ? "latest" : "average");
        cJSON_AddItemToObject(o, "category", c);
    } else {
        cJSON_AddNullToObject(o, "category");
    }
    if (st->n_categories) {
        cJSON *mix = cJSON_AddArrayToObject(o, "categories");
        for (int i = 0; i < st->n_categories; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddItemToArray(mix, c);
            cJSON_AddStringToObject(c, "id", st->categories[i].id);
            cJSON_AddStringToObject(c, "label", st->categories[i].label);
            cJSON_AddNumberToObject(c, "count", (double)st->categories[i].count);
            add_num(c, "share", st->categories[i].share, 3);
        }
    }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(rp_range_def(k), "source");
    if (src)
        cJSON_AddItemToObject(o, "source", cJSON_Duplicate(src, 1));
    const char *items[16];
    size_t ni = rp_discuss_items(r, k, items, 16);
    cJSON *disc = cJSON_AddArrayToObject(o, "discuss");
    for (size_t i = 0; i < ni; i++)
        cJSON_AddItemToArray(disc, cJSON_CreateString(items[i]));
    return o;
}

int report_summary_json(report_t *r, char **out, muse_error_t *err)
{
    if (!r || !out)
        return muse_err(err, MUSE_EINVAL, "report_summary_json: no report or output");
    *out = NULL;
    if (!r->analyzed)
        return muse_err(err, MUSE_EINVAL, "the report has not been analysed (call report_analyze first)");
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    cJSON_AddStringToObject(o, "title", r->title);
    if (r->label)
        cJSON_AddStringToObject(o, "patient_label", r->label);
    char gen[64];
    snprintf(gen, sizeof gen, "Muse %s", MUSE_VERSION_STRING);
    cJSON_AddStringToObject(o, "generator", gen);
    add_day(o, "created", r->now);
    cJSON *per = cJSON_AddObjectToObject(o, "period");
    add_day(per, "first", r->first);
    add_day(per, "last", r->last);
    add_day(per, "from", r->from);
    add_day(per, "to", r->to);
    cJSON *rd = cJSON_AddObjectToObject(o, "readings");
    cJSON_AddNumberToObject(rd, "read", (double)r->all.n);
    cJSON_AddNumberToObject(rd, "in_period", (double)r->sel.n);
    cJSON_AddNumberToObject(rd, "outside_period", (double)r->n_outside_period);
    cJSON_AddNumberToObject(rd, "undated_left_out", (double)r->n_undated_left_out);
    cJSON *ins = cJSON_AddArrayToObject(o, "inputs");
    for (size_t i = 0; i < r->n_inputs; i++) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddItemToArray(ins, in);
        cJSON_AddStringToObject(in, "name", r->inputs[i].name);
        cJSON_AddNumberToObject(in, "readings", (double)r->inputs[i].n_read);
        cJSON_AddNumberToObject(in, "problems", (double)r->inputs[i].n_problems);
        cJSON_AddBoolToObject(in, "failed", r->inputs[i].failed);
    }
    cJSON *ms = cJSON_AddArrayToObject(o, "measures");
    for (int k = 0; k < MED_KIND_COUNT; k++)
        if (r->m[k].n)
            cJSON_AddItemToArray(ms, measure_json(r, &r->m[k]));
    cJSON *fl = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < r->patterns.n; i++) {
        const med_pattern_t *p = &r->patterns.v[i];
        cJSON *f = cJSON_CreateObject();
        cJSON_AddItemToArray(fl, f);
        cJSON_AddStringToObject(f, "id", p->id);
        cJSON_AddStringToObject(f, "kind", medical_kind_name(p->kind));
        cJSON_AddStringToObject(f, "severity", p->severity);
        cJSON_AddStringToObject(f, "explanation", p->explanation);
        cJSON_AddStringToObject(f, "basis", p->basis);
        const char *d = rp_pattern_discuss(p->id);
        if (d)
            cJSON_AddStringToObject(f, "discuss", d);
    }
    cJSON *pr = cJSON_AddArrayToObject(o, "problems");
    for (size_t i = 0; i < r->n_problems; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddItemToArray(pr, p);
        cJSON_AddStringToObject(p, "where", r->problems[i].where);
        if (r->problems[i].line)
            cJSON_AddNumberToObject(p, "line", r->problems[i].line);
        cJSON_AddStringToObject(p, "message", r->problems[i].message);
    }
    cJSON_AddNumberToObject(o, "problems_not_listed", (double)r->problems_dropped);
    cJSON *uc = cJSON_AddArrayToObject(o, "unknown_codes");
    for (size_t i = 0; i < r->n_codes; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddItemToArray(uc, c);
        if (r->codes[i].code[0])
            cJSON_AddStringToObject(c, "code", r->codes[i].code);
        else
            cJSON_AddNullToObject(c, "code");
        cJSON_AddNumberToObject(c, "count", (double)r->codes[i].count);
        cJSON_AddStringToObject(c, "first_seen", r->codes[i].where);
    }
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(rp_data(NULL), "review");
    if (rev)
        cJSON_AddItemToObject(o, "wording_review", cJSON_Duplicate(rev, 1));
    if (r->pdf_pages) {
        cJSON *pdf = cJSON_AddObjectToObject(o, "pdf");
        cJSON_AddNumberToObject(pdf, "pages", r->pdf_pages);
        cJSON_AddNumberToObject(pdf, "bytes", (double)r->pdf_bytes);
        cJSON_AddBoolToObject(pdf, "encrypted", r->password != NULL);
        cJSON_AddNumberToObject(pdf, "characters_replaced", (double)r->chars_replaced);
        cJSON *ch = cJSON_AddArrayToObject(pdf, "charts");
        for (size_t i = 0; i < r->n_charts; i++) {
            const rp_chart_pos_t *c = &r->charts[i];
            cJSON *co = cJSON_CreateObject();
            cJSON_AddItemToArray(ch, co);
            cJSON_AddNumberToObject(co, "page", c->page);
            add_num(co, "x", c->x, 1);
            add_num(co, "y", c->y, 1);
            add_num(co, "width", c->w, 1);
            add_num(co, "height", c->h, 1);
            cJSON_AddStringToObject(co, "kind", c->kind);
            cJSON_AddStringToObject(co, "preset", c->preset);
        }
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    *out = s;
    return MUSE_OK;
}
