/* The charts of each report section, as viz specs.
 *
 * Wherever viz has a health preset for a measure the report uses it with the
 * same rows `muse chart --preset` builds, so a report's chart is the chart a
 * person gets at the terminal: bp_trend and bp_category for blood pressure,
 * weight_trend, bmi_gauge, glucose_profile for a day-long glucose series and
 * lab_panel for the latest lab results. Measures without a trend preset
 * (HbA1c, lipids, eGFR, heart rate, SpO2, temperature over time) get a plain
 * layered spec built here in the same style as the presets: the guideline
 * categories from medical/data/ranges.json as bands behind a line of
 * readings, each band patterned as well as coloured so the chart reads in
 * grey print. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

#define BP_HEIGHT 400.0
#define BP_PULSE_HEIGHT 520.0
#define TREND_HEIGHT 250.0
#define CATEGORY_HEIGHT 300.0
#define GAUGE_HEIGHT 150.0
#define PANEL_ROW_HEIGHT 44.0

/* The band palette of the presets, least to most severe. */
static const char *const band_color[] = {"#c7eae0", "#f9f5b7", "#faeac7", "#f6dcc7", "#f4e2ec", "#ead1dc"};
static const char *const band_pattern[] = {"none", "horizontal", "diagonal", "cross", "dense", "dense"};

static int plausible(const med_reading_t *x)
{
    return !x->implausible && isfinite(x->value);
}

static size_t dated_count(const report_t *r, med_kind_t k)
{
    size_t n = 0;
    for (size_t j = 0; j < r->m[k].n; j++) {
        const med_reading_t *x = &r->sel.v[r->m[k].idx[j]];
        n += (size_t)(plausible(x) && x->time >= 0);
    }
    return n;
}

static void add_time(cJSON *o, const med_reading_t *x)
{
    if (x->time < 0)
        return;
    char ts[40];
    rp_iso_time(x, ts, sizeof ts);
    cJSON_AddStringToObject(o, "time", ts);
}

/* Wraps a spec into a chart; a spec viz refuses is skipped, not fatal. */
static int finish(cJSON *spec, double w, double h, const char *kind, const char *preset, rp_chart_t *out,
                  size_t cap, size_t *n, muse_error_t *err)
{
    int rc = MUSE_OK;
    if (!spec)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (*n >= cap)
        goto done;
    viz_chart_t *c = NULL;
    muse_error_t e = {0};
    rc = viz_chart_from_json(spec, &c, &e);
    if (rc == MUSE_ENOMEM) {
        muse_err(err, rc, "%s", e.message);
        goto done;
    }
    rc = MUSE_OK;
    if (!c)
        goto done; /* the section still has its table; the summary JSON keeps no chart */
    rp_chart_t *ch = &out[(*n)++];
    memset(ch, 0, sizeof *ch);
    ch->chart = c;
    ch->width = w;
    ch->height = h;
    snprintf(ch->kind, sizeof ch->kind, "%s", kind);
    snprintf(ch->preset, sizeof ch->preset, "%s", preset);
done:
    cJSON_Delete(spec);
    return rc;
}

static cJSON *preset_spec(const char *preset, cJSON **data)
{
    cJSON *s = cJSON_CreateObject();
    if (!s)
        return NULL;
    cJSON_AddStringToObject(s, "preset", preset);
    *data = cJSON_AddArrayToObject(s, "data");
    if (!*data) {
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

static int bp_charts(const report_t *r, double w, rp_chart_t *out, size_t cap, size_t *n,
                     muse_error_t *err)
{
    const rp_measure_t *m = &r->m[MED_BP];
    cJSON *data = NULL, *data2 = NULL;
    cJSON *s = preset_spec("bp_trend", &data);
    cJSON *s2 = preset_spec("bp_category", &data2);
    int any_pulse = 0, rc;
    size_t used = 0;
    if (!s || !s2) {
        cJSON_Delete(s);
        cJSON_Delete(s2);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        if (!plausible(x) || !isfinite(x->value2))
            continue;
        for (int pass = 0; pass < 2; pass++) {
            cJSON *o = cJSON_CreateObject();
            if (!o)
                continue;
            add_time(o, x);
            cJSON_AddNumberToObject(o, "systolic", x->value);
            cJSON_AddNumberToObject(o, "diastolic", x->value2);
            if (isfinite(x->pulse)) {
                cJSON_AddNumberToObject(o, "pulse", x->pulse);
                any_pulse = 1;
            }
            cJSON_AddItemToArray(pass ? data2 : data, o);
        }
        used++;
    }
    if (used == 0) {
        cJSON_Delete(s);
        cJSON_Delete(s2);
        return MUSE_OK;
    }
    cJSON_AddStringToObject(s, "title", "Blood pressure over time");
    if ((rc = finish(s, w, any_pulse ? BP_PULSE_HEIGHT : BP_HEIGHT, "bp", "bp_trend", out, cap, n, err)) !=
        MUSE_OK) {
        cJSON_Delete(s2);
        return rc;
    }
    /* Where the readings fall on the category grid says more than the line
     * once there are enough of them. */
    if (used < 5) {
        cJSON_Delete(s2);
        return MUSE_OK;
    }
    return finish(s2, w, CATEGORY_HEIGHT, "bp", "bp_category", out, cap, n, err);
}

static int tv_chart(const report_t *r, med_kind_t k, const char *preset, double w, double h, rp_chart_t *out,
                    size_t cap, size_t *n, muse_error_t *err)
{
    cJSON *data = NULL;
    cJSON *s = preset_spec(preset, &data);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    const rp_measure_t *m = &r->m[k];
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        if (!plausible(x))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        add_time(o, x);
        cJSON_AddNumberToObject(o, "value", x->value);
        cJSON_AddItemToArray(data, o);
    }
    char title[96];
    snprintf(title, 64, "%s over time", rp_kind_label(k));
    cJSON_AddStringToObject(s, "title", title);
    return finish(s, w, h, medical_kind_name(k), preset, out, cap, n, err);
}

static int bmi_gauge(const report_t *r, double w, rp_chart_t *out, size_t cap, size_t *n, muse_error_t *err)
{
    double bmi = NAN;
    char note[200] = "";
    const med_reading_t *l = r->m[MED_BMI].latest;
    if (l)
        bmi = l->value;
    else if (!rp_calc_bmi(r, &bmi, note, sizeof note))
        return MUSE_OK;
    cJSON *data = NULL;
    cJSON *s = preset_spec("bmi_gauge", &data);
    cJSON *o = cJSON_CreateObject();
    if (!s || !o) {
        cJSON_Delete(s);
        cJSON_Delete(o);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    cJSON_AddNumberToObject(o, "value", bmi);
    if (l)
        add_time(o, l);
    cJSON_AddItemToArray(data, o);
    if (note[0])
        cJSON_AddStringToObject(s, "subtitle", note);
    return finish(s, w, GAUGE_HEIGHT, "bmi", "bmi_gauge", out, cap, n, err);
}

/* The latest result of each measure of a lab section that is judged by its
 * latest value, or that has too few readings for a trend. */
static int lab_panel(const report_t *r, const cJSON *kinds, double w, rp_chart_t *out, size_t cap, size_t *n,
                     muse_error_t *err)
{
    cJSON *data = NULL;
    cJSON *s = preset_spec("lab_panel", &data);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rows = 0;
    const cJSON *kj;
    cJSON_ArrayForEach(kj, kinds) {
        med_kind_t k;
        if (!cJSON_IsString(kj) || medical_kind_parse(kj->valuestring, &k) != MUSE_OK)
            continue;
        const rp_measure_t *m = &r->m[k];
        if (!m->have_stats || !m->latest || (!m->judge_latest && dated_count(r, k) >= 3))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddStringToObject(o, "kind", medical_kind_name(k));
        cJSON_AddNumberToObject(o, "value", m->latest->value);
        cJSON_AddStringToObject(o, "unit", medical_kind_unit(k));
        add_time(o, m->latest);
        if (m->latest->fasting >= 0)
            cJSON_AddBoolToObject(o, "fasting", m->latest->fasting);
        cJSON_AddItemToArray(data, o);
        rows++;
    }
    if (!rows) {
        cJSON_Delete(s);
        return MUSE_OK;
    }
    cJSON_AddStringToObject(s, "title", rows == 1 ? "Latest result" : "Latest results");
    return finish(s, w, 90 + PANEL_ROW_HEIGHT * rows, "panel", "lab_panel", out, cap, n, err);
}

/* "Prediabetes range (impaired fasting glucose)" is "Prediabetes range" on a band. */
static void short_label(const char *label, char *out, size_t cap)
{
    snprintf(out, cap, "%s", label);
    char *p = strstr(out, " (");
    if (p)
        *p = '\0';
    p = strchr(out, ':');
    if (p)
        *p = '\0';
}

static void add_bands(cJSON *layers, med_kind_t k, int fasting_bands)
{
    const cJSON *def = rp_range_def(k);
    const cJSON *cats = cJSON_GetObjectItemCaseSensitive(def, "categories");
    if (k == MED_GLUCOSE && !fasting_bands)
        return; /* non-fasting readings have no bands of their own below 200 */
    const cJSON *c;
    cJSON_ArrayForEach(c, cats) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
        const cJSON *lab = cJSON_GetObjectItemCaseSensitive(c, "label");
        const cJSON *lev = cJSON_GetObjectItemCaseSensitive(c, "level");
        if (!cJSON_IsObject(v) || !cJSON_IsString(lab))
            continue;
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(v, "ge");
        if (!lo)
            lo = cJSON_GetObjectItemCaseSensitive(v, "gt");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(v, "lt");
        if (!hi)
            hi = cJSON_GetObjectItemCaseSensitive(v, "le");
        int level = cJSON_IsNumber(lev) ? lev->valueint : 0;
        if (level < 0)
            level = 0;
        if (level > 5)
            level = 5;
        cJSON *b = cJSON_CreateObject();
        if (!b)
            return;
        cJSON_AddStringToObject(b, "mark", "rect");
        cJSON *enc = cJSON_AddObjectToObject(b, "encoding");
        if (cJSON_IsNumber(lo)) {
            cJSON *y = cJSON_AddObjectToObject(enc, "y");
            cJSON_AddNumberToObject(y, "datum", lo->valuedouble);
        }
        if (cJSON_IsNumber(hi)) {
            cJSON *y2 = cJSON_AddObjectToObject(enc, "y2");
            cJSON_AddNumberToObject(y2, "datum", hi->valuedouble);
        }
        char sl[64];
        short_label(lab->valuestring, sl, sizeof sl);
        cJSON_AddStringToObject(b, "color", band_color[level]);
        cJSON_AddStringToObject(b, "pattern", band_pattern[level]);
        cJSON_AddStringToObject(b, "label", sl);
        cJSON_AddStringToObject(b, "label_position", "right");
        cJSON_AddBoolToObject(b, "domain", 0);
        cJSON_AddItemToArray(layers, b);
    }
}

static cJSON *field(const char *name, const char *title, const char *unit)
{
    cJSON *f = cJSON_CreateObject();
    if (!f)
        return NULL;
    cJSON_AddStringToObject(f, "field", name);
    if (title)
        cJSON_AddStringToObject(f, "title", title);
    if (unit)
        cJSON_AddStringToObject(f, "unit", unit);
    return f;
}

/* A measure over time on its guideline bands: the report's own spec. */
static int trend_chart(const report_t *r, med_kind_t k, double w, rp_chart_t *out, size_t cap, size_t *n,
                       muse_error_t *err)
{
    const rp_measure_t *m = &r->m[k];
    const char *label = rp_kind_label(k);
    const char *ucum = medical_kind_unit(k);
    cJSON *s = cJSON_CreateObject();
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    cJSON *data = cJSON_AddArrayToObject(s, "data");
    double lo = INFINITY, hi = -INFINITY;
    size_t used = 0, fasting = 0;
    int by_time = dated_count(r, k) == m->st.n;
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        if (!plausible(x))
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        if (by_time)
            add_time(o, x);
        else
            cJSON_AddNumberToObject(o, "reading", (double)used + 1);
        cJSON_AddNumberToObject(o, "value", x->value);
        med_class_t c;
        cJSON_AddStringToObject(o, "category",
                                medical_classify(x, &c, NULL) == MUSE_OK ? c.label : "no guideline range");
        cJSON_AddItemToArray(data, o);
        lo = fmin(lo, x->value);
        hi = fmax(hi, x->value);
        fasting += (size_t)(x->fasting != 0);
        used++;
    }
    double span = fmax(hi - lo, fmax(0.08 * fabs(hi), 1e-9));
    char sub[200], cite[96];
    rp_range_cite(k, cite, sizeof cite);
    int bands = rp_range_def(k) != NULL && (k != MED_GLUCOSE || fasting == used);
    snprintf(sub, sizeof sub, "%zu reading%s%s%s%s", used, used == 1 ? "" : "s",
             bands && cite[0] ? "; bands: " : "", bands ? cite : "", bands ? " categories" : "");
    char title[96];
    snprintf(title, sizeof title, "%s over time", label);
    cJSON_AddStringToObject(s, "title", title);
    cJSON_AddStringToObject(s, "subtitle", sub);
    cJSON_AddBoolToObject(s, "legend", 0);
    cJSON *x = cJSON_AddObjectToObject(s, "x");
    cJSON_AddStringToObject(x, "title", "");
    cJSON *y = cJSON_AddObjectToObject(s, "y");
    cJSON_AddStringToObject(y, "title", "");
    cJSON_AddStringToObject(y, "unit", ucum);
    cJSON *dom = cJSON_AddArrayToObject(y, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(lo - 0.25 * span));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(hi + 0.25 * span));
    cJSON_AddBoolToObject(y, "nice", 1);
    cJSON *layers = cJSON_AddArrayToObject(s, "layers");
    if (bands)
        add_bands(layers, k, 1);
    cJSON *line = cJSON_CreateObject();
    cJSON_AddItemToArray(layers, line);
    cJSON_AddStringToObject(line, "mark", "line");
    cJSON_AddStringToObject(line, "name", label);
    cJSON_AddStringToObject(line, "color", "#0072b2");
    cJSON_AddStringToObject(line, "shape", "circle");
    cJSON *enc = cJSON_AddObjectToObject(line, "encoding");
    cJSON_AddItemToObject(enc, "x", by_time ? field("time", "Date", NULL) : field("reading", "Reading", NULL));
    cJSON_AddItemToObject(enc, "y", field("value", label, ucum));
    cJSON *tips = cJSON_AddArrayToObject(enc, "tooltip");
    cJSON_AddItemToArray(tips, by_time ? field("time", "Date", NULL) : field("reading", "Reading", NULL));
    cJSON_AddItemToArray(tips, field("value", label, ucum));
    cJSON_AddItemToArray(tips, field("category", "Category", NULL));
    return finish(s, w, TREND_HEIGHT, medical_kind_name(k), "trend", out, cap, n, err);
}

/* A day-long series from a meter or sensor: many readings with clock times,
 * not all fasting. */
static int is_glucose_profile(const report_t *r)
{
    const rp_measure_t *m = &r->m[MED_GLUCOSE];
    size_t timed = 0, fasting = 0;
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        timed += (size_t)(plausible(x) && (x->time_flags & MED_TIME_CLOCK));
        fasting += (size_t)(x->fasting == 1);
    }
    return timed >= 24 && fasting * 2 < m->n;
}

int rp_section_charts(const report_t *r, const cJSON *def, double width, rp_chart_t *out, size_t cap,
                      size_t *n, muse_error_t *err)
{
    *n = 0;
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(def, "kinds");
    int panel = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(def, "panel"));
    int rc = MUSE_OK;
    if (panel && (rc = lab_panel(r, kinds, width, out, cap, n, err)) != MUSE_OK)
        return rc;
    const cJSON *kj;
    cJSON_ArrayForEach(kj, kinds) {
        med_kind_t k;
        if (!cJSON_IsString(kj) || medical_kind_parse(kj->valuestring, &k) != MUSE_OK)
            continue;
        const rp_measure_t *m = &r->m[k];
        if (k == MED_BMI) {
            rc = bmi_gauge(r, width, out, cap, n, err);
        } else if (!m->have_stats) {
            continue;
        } else if (k == MED_BP) {
            rc = bp_charts(r, width, out, cap, n, err);
        } else if (k == MED_WEIGHT) {
            if (m->st.n >= 2)
                rc = tv_chart(r, k, "weight_trend", width, TREND_HEIGHT, out, cap, n, err);
        } else if (k == MED_HEIGHT) {
            continue;
        } else if (k == MED_GLUCOSE && is_glucose_profile(r)) {
            rc = tv_chart(r, k, "glucose_profile", width, TREND_HEIGHT, out, cap, n, err);
        } else if (panel ? m->st.n >= 3 : m->st.n >= 2) {
            rc = trend_chart(r, k, width, out, cap, n, err);
        }
        if (rc != MUSE_OK)
            return rc;
    }
    return MUSE_OK;
}
