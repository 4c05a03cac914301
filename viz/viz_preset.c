/* Health presets: {"preset": NAME, "data": [...]} into a plain layered spec.
 *
 * A preset is only a spec generator: everything it draws could be written by
 * hand in the spec language, so the renderers know nothing of blood
 * pressure. Guideline bands come from the medical module's ranges data
 * (medical_ranges(), medical/data/ranges.json), and readings are classified
 * with medical_classify(), so a chart and the text answer beside it can
 * never disagree about a category. Two sets of thresholds are not in that
 * data yet and are cited here instead (docs/chart-spec.md says so): the
 * continuous-glucose time-in-range targets and the 10-year ASCVD risk
 * categories; each is looked up in the ranges data first.
 *
 * Blood pressure over time is drawn as two stacked panels, systolic and
 * diastolic, each on its own category bands: one set of bands behind both
 * lines would put a diastolic of 95 in the "normal" band of the systolic
 * thresholds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical.h"
#include "muse_err.h"
#include "viz/viz_int.h"

/* ---- Intervals from the ranges data -------------------------------------------- */

typedef struct band {
    double lo, hi;          /* -inf / +inf when open */
    int lo_incl, hi_incl;
    int level;
    char id[32];
    char label[96];
    int critical;           /* the category says "critical": true */
} band_t;

typedef struct bands {
    band_t v[16];
    int n;
    int max_level;
    char source[200];       /* "ACC/AHA 2017": for subtitles and summaries */
    char source_full[400];  /* "American College of Cardiology / American Heart Association (2017)" */
} bands_t;

static const cJSON *measure(const char *kind)
{
    const cJSON *r = medical_ranges();
    const cJSON *ms = r ? cJSON_GetObjectItemCaseSensitive(r, "measures") : NULL;
    return ms && kind ? cJSON_GetObjectItemCaseSensitive(ms, kind) : NULL;
}

static double num_or(const cJSON *o, const char *k, double d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : d;
}

static const char *str_or(const cJSON *o, const char *k, const char *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : d;
}

/* A publisher as people cite it: "American College of Cardiology /
 * American Heart Association" is "ACC/AHA", "World Health Organization"
 * "WHO"; short names stay as they are. */
static void short_name(const char *pub, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    const char *part = pub;
    while (part && *part && o + 2 < cap) {
        const char *end = strstr(part, " / ");
        size_t len = end ? (size_t)(end - part) : strlen(part);
        int words = 0, caps = 0;
        char acr[16];
        size_t na = 0;
        for (size_t i = 0; i < len; i++)
            if ((i == 0 || part[i - 1] == ' ') && part[i] != ' ') {
                words++;
                if (part[i] >= 'A' && part[i] <= 'Z' && na < sizeof acr - 1) {
                    acr[na++] = part[i];
                    caps++;
                }
            }
        acr[na] = '\0';
        if (o)
            out[o++] = '/';
        if (words >= 3 && caps >= 2 && len > 20)
            o += (size_t)snprintf(out + o, cap - o, "%s", acr);
        else
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)len, part);
        if (o >= cap)
            o = cap - 1;
        part = end ? end + 3 : NULL;
    }
}

/* The categories of a measure (or of a category set inside it, "random")
 * that give an interval for one component. */
static int bands_from(const cJSON *m, const cJSON *cats, const char *component, bands_t *out)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsArray(cats))
        return 0;
    for (const cJSON *c = cats->child; c && out->n < 16; c = c->next) {
        const cJSON *iv = cJSON_GetObjectItemCaseSensitive(c, component);
        if (!cJSON_IsObject(iv))
            continue;
        band_t *b = &out->v[out->n];
        b->lo = -INFINITY;
        b->hi = INFINITY;
        const cJSON *v;
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(iv, "ge"))) {
            b->lo = v->valuedouble;
            b->lo_incl = 1;
        } else if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(iv, "gt"))) {
            b->lo = v->valuedouble;
        }
        if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(iv, "le"))) {
            b->hi = v->valuedouble;
            b->hi_incl = 1;
        } else if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(iv, "lt"))) {
            b->hi = v->valuedouble;
        }
        b->level = (int)num_or(c, "level", out->n);
        b->critical = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "critical"));
        snprintf(b->id, sizeof b->id, "%s", str_or(c, "id", ""));
        snprintf(b->label, sizeof b->label, "%s", str_or(c, "label", b->id));
        if (b->level > out->max_level)
            out->max_level = b->level;
        out->n++;
    }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(m, "source");
    if (cJSON_IsObject(src)) {
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(src, "year");
        const char *pub = str_or(src, "publisher", "");
        char abbr[120];
        short_name(pub, abbr, sizeof abbr);
        if (cJSON_IsNumber(y)) {
            snprintf(out->source_full, sizeof out->source_full, "%.300s (%d)", pub, y->valueint);
            snprintf(out->source, sizeof out->source, "%s %d", abbr, y->valueint);
        } else {
            snprintf(out->source_full, sizeof out->source_full, "%.300s", pub);
            snprintf(out->source, sizeof out->source, "%s", abbr);
        }
    }
    return out->n;
}

static int measure_bands(const char *kind, const char *component, bands_t *out)
{
    const cJSON *m = measure(kind);
    memset(out, 0, sizeof *out);
    if (!m)
        return 0;
    return bands_from(m, cJSON_GetObjectItemCaseSensitive(m, "categories"), component, out);
}

static const char *const pattern_by_step[5] = {"none", "horizontal", "diagonal", "cross", "dense"};

static const char *band_pattern(int level, int max_level)
{
    if (max_level < 1 || level <= 0)
        return "none";
    int i = (int)lround((double)level * 4.0 / max_level);
    return pattern_by_step[i < 1 ? 1 : i > 4 ? 4 : i];
}

static void hex(viz_rgba_t c, char out[8])
{
    snprintf(out, 8, "#%02x%02x%02x", c.r, c.g, c.b);
}

/* "25 to under 30", "30 or more", "under 18.5". */
static void interval_text(const band_t *b, const char *unit, char *out, size_t cap)
{
    char lo[32], hi[32];
    viz_format_number(b->lo, 2, lo, sizeof lo);
    viz_format_number(b->hi, 2, hi, sizeof hi);
    const char *u = viz_unit_display(unit);
    const char *sp = *u && strcmp(u, "%") ? " " : "";
    if (isfinite(b->lo) && isfinite(b->hi))
        snprintf(out, cap, "%s to %s%s%s%s", lo, b->hi_incl ? "" : "under ", hi, sp, u);
    else if (isfinite(b->lo))
        snprintf(out, cap, "%s%s%s%s%s", b->lo_incl ? "" : "over ", lo, sp, u, b->lo_incl ? " or more" : "");
    else if (isfinite(b->hi))
        snprintf(out, cap, "%s%s%s%s%s", b->hi_incl ? "" : "under ", hi, sp, u, b->hi_incl ? " or less" : "");
    else
        snprintf(out, cap, "any value");
}

/* ---- JSON building -------------------------------------------------------------------- */

static cJSON *chan_field(const char *field, const char *title, const char *unit)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "field", field);
    if (title)
        cJSON_AddStringToObject(c, "title", title);
    if (unit)
        cJSON_AddStringToObject(c, "unit", unit);
    return c;
}

static cJSON *chan_datum(double v)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "datum", v);
    return c;
}

/* A guideline band on one axis ("x" or "y") over [lo, hi]; an open side
 * runs to the plot edge. */
static cJSON *band_layer(const char *axis, const band_t *b, int max_level, const char *label,
                         const char *label_pos)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "mark", "rect");
    cJSON *enc = cJSON_AddObjectToObject(l, "encoding");
    char k2[4];
    snprintf(k2, sizeof k2, "%s2", axis);
    if (isfinite(b->lo))
        cJSON_AddItemToObject(enc, axis, chan_datum(b->lo));
    if (isfinite(b->hi))
        cJSON_AddItemToObject(enc, k2, chan_datum(b->hi));
    char col[8];
    hex(viz_severity_color(b->level, max_level), col);
    cJSON_AddStringToObject(l, "color", col);
    cJSON_AddStringToObject(l, "pattern", band_pattern(b->level, max_level));
    if (label)
        cJSON_AddStringToObject(l, "label", label);
    if (label_pos)
        cJSON_AddStringToObject(l, "label_position", label_pos);
    cJSON_AddBoolToObject(l, "domain", 0);
    return l;
}

static cJSON *tip(const char *field, const char *title, const char *unit)
{
    return chan_field(field, title, unit);
}

/* ---- Reading the preset's data ---------------------------------------------------------- */

/* A number field: 1 and *v for a finite number, 0 when absent/null;
 * an error for anything else. */
static int row_num(const cJSON *row, size_t i, const char *key, int required, double *v,
                   muse_error_t *err)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(row, key);
    if (!f || cJSON_IsNull(f)) {
        if (required)
            return muse_err(err, MUSE_EINVAL, "data[%zu].%s: missing (expected a number)", i, key);
        return 0;
    }
    if (!cJSON_IsNumber(f)) {
        if (cJSON_IsString(f))
            return muse_err(err, MUSE_EINVAL, "data[%zu].%s: \"%.40s\" is not a number", i, key,
                            f->valuestring);
        return muse_err(err, MUSE_EINVAL, "data[%zu].%s: expected a number", i, key);
    }
    if (!isfinite(f->valuedouble))
        return 0;   /* 1e999: counted as missing */
    *v = f->valuedouble;
    return 1;
}

/* A time field: 1 and *t, 0 when absent/null, an error when unreadable. */
static int row_time(const cJSON *row, size_t i, double *t, muse_error_t *err)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(row, "time");
    if (!f || cJSON_IsNull(f))
        return 0;
    if (!cJSON_IsString(f) || !viz_parse_time(f->valuestring, t))
        return muse_err(err, MUSE_EINVAL,
                        "data[%zu].time: expected an ISO-8601 time like \"2024-03-01T08:30\" or null", i);
    return 1;
}

static int check_rows(const cJSON *data, const char *const *keys, muse_error_t *err)
{
    size_t i = 0;
    for (const cJSON *row = data->child; row; row = row->next, i++) {
        if (!cJSON_IsObject(row))
            return muse_err(err, MUSE_EINVAL, "data[%zu]: expected an object", i);
        for (const cJSON *k = row->child; k; k = k->next) {
            int ok = 0;
            for (const char *const *a = keys; *a; a++)
                if (strcmp(*a, k->string) == 0)
                    ok = 1;
            if (!ok && k->string[0] != '_' && k->string[0] != '$') {
                const char *best = NULL;
                int bd = 3;
                for (const char *const *a = keys; *a; a++) {
                    int d = viz_edit_distance(*a, k->string);
                    if (d < bd) {
                        bd = d;
                        best = *a;
                    }
                }
                if (best)
                    return muse_err(err, MUSE_EINVAL, "data[%zu].%s: unknown field (did you mean \"%s\"?)",
                                    i, k->string, best);
                return muse_err(err, MUSE_EINVAL, "data[%zu].%s: unknown field for this preset", i,
                                k->string);
            }
        }
    }
    return MUSE_OK;
}

typedef struct preset_in {
    const cJSON *spec;
    const cJSON *data;      /* array, maybe empty */
    const char *title;      /* the spec's, or NULL */
    const char *subtitle;
} preset_in_t;

static void copy_common(const preset_in_t *in, cJSON *out, const char *title, const char *subtitle)
{
    cJSON_AddStringToObject(out, "title", in->title ? in->title : title);
    const char *st = in->subtitle ? in->subtitle : subtitle;
    if (st && *st)
        cJSON_AddStringToObject(out, "subtitle", st);
    const char *keys[] = {"width", "height", "description"};
    for (int k = 0; k < 3; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(in->spec, keys[k]);
        if (v) {
            cJSON_DeleteItemFromObjectCaseSensitive(out, keys[k]);
            cJSON_AddItemToObject(out, keys[k], cJSON_Duplicate(v, 1));
        }
    }
}

static void date_range(double t0, double t1, int has_clock, char *out, size_t cap)
{
    char a[48], b[48];
    viz_format_datetime(t0, 0, a, sizeof a);
    viz_format_datetime(t1, 0, b, sizeof b);
    (void)has_clock;
    if (strcmp(a, b) == 0)
        snprintf(out, cap, "on %s", a);
    else
        snprintf(out, cap, "from %s to %s", a, b);
}

static void lower_first(char *s)
{
    /* "Stage 2 hypertension" reads "stage 2 hypertension" mid-sentence; keep
     * acronyms ("HbA1c", "G3a") as they are. */
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z') && !(s[1] >= '0' && s[1] <= '9'))
        s[0] = (char)(s[0] - 'A' + 'a');
}

/* ---- bp_trend -------------------------------------------------------------------------- */

typedef struct bprow {
    double t, sys, dia, pulse;
    int has_t, has_pulse;
    char cat[64];
    int level;
} bprow_t;

static cJSON *bp_panel(const char *title, const char *subtitle, const char *field, const char *comp,
                       const char *kind, double lo, double hi, viz_rgba_t color, const char *shape,
                       int by_time, cJSON *tips)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "title", title);
    if (subtitle)
        cJSON_AddStringToObject(p, "subtitle", subtitle);
    cJSON *y = cJSON_AddObjectToObject(p, "y");
    cJSON_AddStringToObject(y, "unit", strcmp(field, "pulse") == 0 ? "{beats}/min" : "mm[Hg]");
    cJSON_AddStringToObject(y, "title", "");
    cJSON *dom = cJSON_AddArrayToObject(y, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(hi));
    cJSON_AddBoolToObject(y, "nice", 1);
    cJSON *x = cJSON_AddObjectToObject(p, "x");
    cJSON_AddStringToObject(x, "title", by_time ? "" : "Reading");
    if (!by_time)
        cJSON_AddNumberToObject(x, "decimals", 0);
    cJSON *layers = cJSON_AddArrayToObject(p, "layers");
    bands_t bs;
    if (measure_bands(kind, comp, &bs))
        for (int i = 0; i < bs.n; i++) {
            /* Only the bands this axis shows: short labels ("Stage 2"). */
            char lab[96];
            snprintf(lab, sizeof lab, "%s", bs.v[i].label);
            char *h = strstr(lab, " hypertension");
            if (h)
                *h = '\0';
            cJSON_AddItemToArray(layers, band_layer("y", &bs.v[i], bs.max_level, lab, "right"));
        }
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "mark", "line");
    cJSON_AddStringToObject(l, "name", title);
    char col[8];
    hex(color, col);
    cJSON_AddStringToObject(l, "color", col);
    cJSON_AddStringToObject(l, "shape", shape);
    cJSON *enc = cJSON_AddObjectToObject(l, "encoding");
    cJSON_AddItemToObject(enc, "x", by_time ? chan_field("time", "Date", NULL)
                                            : chan_field("reading", "Reading", NULL));
    cJSON_AddItemToObject(enc, "y", chan_field(field, title, strcmp(field, "pulse") == 0 ? "{beats}/min" : "mm[Hg]"));
    cJSON_AddItemToObject(enc, "tooltip", tips);
    cJSON_AddItemToArray(layers, l);
    return p;
}

static cJSON *bp_tooltip(int by_time, int any_pulse)
{
    cJSON *t = cJSON_CreateArray();
    cJSON_AddItemToArray(t, by_time ? tip("time", "Date", NULL) : tip("reading", "Reading", NULL));
    cJSON_AddItemToArray(t, tip("bp", "Blood pressure", NULL));
    if (any_pulse)
        cJSON_AddItemToArray(t, tip("pulse", "Pulse", "{beats}/min"));
    cJSON_AddItemToArray(t, tip("category", "Category", NULL));
    return t;
}

static int classify_bp(double sys, double dia, char *label, size_t cap, int *level)
{
    med_reading_t r;
    med_reading_init(&r, MED_BP);
    r.value = sys;
    r.value2 = dia;
    med_class_t c;
    if (medical_check_plausible(&r) || medical_classify(&r, &c, NULL) != MUSE_OK) {
        snprintf(label, cap, "not classified");
        *level = -1;
        return 0;
    }
    snprintf(label, cap, "%s", c.label);
    *level = c.level;
    return 1;
}

/* "6 were stage 2 hypertension, 3 stage 1 hypertension and 1 elevated" */
typedef struct catcount {
    char label[64];
    int level;
    size_t count;
} catcount_t;

static void category_counts(const bprow_t *rows, size_t n, viz_buf_t *b)
{
    catcount_t cats[16];
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].level < 0)
            continue;
        size_t k = 0;
        while (k < nc && strcmp(cats[k].label, rows[i].cat) != 0)
            k++;
        if (k == nc) {
            if (nc == 16)
                continue;
            snprintf(cats[nc].label, sizeof cats[nc].label, "%s", rows[i].cat);
            cats[nc].level = rows[i].level;
            cats[nc].count = 0;
            nc++;
        }
        cats[k].count++;
    }
    /* Most severe first. */
    for (size_t i = 1; i < nc; i++)
        for (size_t j = i; j > 0 && cats[j].level > cats[j - 1].level; j--) {
            catcount_t t = cats[j];
            cats[j] = cats[j - 1];
            cats[j - 1] = t;
        }
    for (size_t i = 0; i < nc; i++) {
        char lab[64];
        snprintf(lab, sizeof lab, "%.63s", cats[i].label);
        lower_first(lab);
        const char *sep = i == 0 ? "" : i == nc - 1 ? " and " : ", ";
        if (i == 0)
            vb_printf(b, "%zu %s %s", cats[i].count, cats[i].count == 1 ? "was" : "were", lab);
        else
            vb_printf(b, "%s%zu %s", sep, cats[i].count, lab);
    }
}

static int preset_bp_trend(const preset_in_t *in, cJSON *out, muse_error_t *err)
{
    static const char *const keys[] = {"time", "systolic", "diastolic", "pulse", NULL};
    int rc = check_rows(in->data, keys, err);
    if (rc != MUSE_OK)
        return rc;
    size_t n = (size_t)cJSON_GetArraySize(in->data);
    bprow_t *rows = calloc(n ? n : 1, sizeof *rows);
    if (!rows)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    size_t m = 0, missing = 0, n_timed = 0;
    int any_pulse = 0;
    size_t i = 0;
    for (const cJSON *row = in->data->child; row; row = row->next, i++) {
        bprow_t r = {0};
        int hs, hd, ht;
        if ((hs = row_num(row, i, "systolic", 0, &r.sys, err)) < 0 ||
            (hd = row_num(row, i, "diastolic", 0, &r.dia, err)) < 0 ||
            (r.has_pulse = row_num(row, i, "pulse", 0, &r.pulse, err)) < 0 ||
            (ht = row_time(row, i, &r.t, err)) < 0) {
            rc = err ? err->code : MUSE_EINVAL;
            goto done;
        }
        if (!hs || !hd) {
            missing++;
            continue;
        }
        r.has_t = ht;
        n_timed += (size_t)ht;
        any_pulse |= r.has_pulse;
        classify_bp(r.sys, r.dia, r.cat, sizeof r.cat, &r.level);
        rows[m++] = r;
    }
    int by_time = m > 0 && n_timed == m;
    cJSON *data = cJSON_AddArrayToObject(out, "data");
    double smin = INFINITY, smax = -INFINITY, dmin = INFINITY, dmax = -INFINITY;
    double ssum = 0, dsum = 0, t0 = INFINITY, t1 = -INFINITY, pmin = INFINITY, pmax = -INFINITY;
    size_t imax = 0;
    for (size_t k = 0; k < m; k++) {
        bprow_t *r = &rows[k];
        cJSON *o = cJSON_CreateObject();
        if (by_time) {
            /* Keep the time as written: the spec parser reads it again. */
            char ts[40];
            int64_t y;
            unsigned mo, d;
            double day = floor(r->t / 86400.0);
            viz_civil_from_days((int64_t)day, &y, &mo, &d);
            int secs = (int)llround(r->t - day * 86400.0);
            snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d, secs / 3600,
                     secs / 60 % 60, secs % 60);
            cJSON_AddStringToObject(o, "time", ts);
            t0 = fmin(t0, r->t);
            t1 = fmax(t1, r->t);
        } else {
            cJSON_AddNumberToObject(o, "reading", (double)(k + 1));
        }
        cJSON_AddNumberToObject(o, "systolic", r->sys);
        cJSON_AddNumberToObject(o, "diastolic", r->dia);
        if (r->has_pulse) {
            cJSON_AddNumberToObject(o, "pulse", r->pulse);
            pmin = fmin(pmin, r->pulse);
            pmax = fmax(pmax, r->pulse);
        }
        char bp[64], s1[24], s2[24];
        viz_format_number(r->sys, 0, s1, sizeof s1);
        viz_format_number(r->dia, 0, s2, sizeof s2);
        snprintf(bp, sizeof bp, "%s/%s mmHg", s1, s2);
        cJSON_AddStringToObject(o, "bp", bp);
        cJSON_AddStringToObject(o, "category", r->cat);
        cJSON_AddItemToArray(data, o);
        smin = fmin(smin, r->sys);
        smax = fmax(smax, r->sys);
        dmin = fmin(dmin, r->dia);
        dmax = fmax(dmax, r->dia);
        ssum += r->sys;
        dsum += r->dia;
        if (r->sys > rows[imax].sys)
            imax = k;
    }

    /* The summary people hear before they see the picture. */
    viz_buf_t sum = {0};
    bands_t bs;
    measure_bands("bp", "systolic", &bs);
    if (m == 0) {
        vb_puts(&sum, "No blood pressure readings to show.");
    } else {
        char a[24], b[24], when[120] = "";
        viz_format_number(ssum / m, 0, a, sizeof a);
        viz_format_number(dsum / m, 0, b, sizeof b);
        if (by_time)
            date_range(t0, t1, 0, when, sizeof when);
        if (m == 1)
            vb_printf(&sum, "One reading of %s/%s mmHg%s%s", a, b, *when ? " " : "", when);
        else
            vb_printf(&sum, "Systolic averaged %s mmHg and diastolic %s mmHg over %zu readings%s%s", a, b,
                      m, *when ? " " : "", when);
        vb_puts(&sum, "; ");
        category_counts(rows, m, &sum);
        if (bs.source[0])
            vb_printf(&sum, " by the %s categories", bs.source);
        vb_puts(&sum, ".");
        if (m > 1) {
            char hs[24], hd[24], hw[64] = "";
            viz_format_number(rows[imax].sys, 0, hs, sizeof hs);
            viz_format_number(rows[imax].dia, 0, hd, sizeof hd);
            if (by_time) {
                char d[48];
                viz_format_datetime(rows[imax].t, 0, d, sizeof d);
                snprintf(hw, sizeof hw, " on %s", d);
            }
            vb_printf(&sum, " The highest was %s/%s mmHg%s.", hs, hd, hw);
        }
    }
    char *desc = vb_steal(&sum, NULL);
    char sub[200];
    snprintf(sub, sizeof sub, "%zu reading%s · %.150s categories", m, m == 1 ? "" : "s",
             bs.source[0] ? bs.source : "guideline");
    /* The note: the full source, and what was left out. */
    char note[700];
    size_t no = (size_t)snprintf(note, sizeof note, "Bands: %.400s.",
                                 bs.source_full[0] ? bs.source_full : "guideline categories");
    if (missing && no < sizeof note)
        no += (size_t)snprintf(note + no, sizeof note - no, " %zu reading%s without both numbers left out.",
                               missing, missing == 1 ? "" : "s");
    else if (m && !by_time && n_timed && no < sizeof note)
        snprintf(note + no, sizeof note - no, " Some readings have no time, so all are drawn in order.");
    cJSON_AddStringToObject(out, "note", note);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    copy_common(in, out, "Blood pressure", sub);
    if (!cJSON_GetObjectItemCaseSensitive(in->spec, "height"))
        cJSON_AddNumberToObject(out, "height", any_pulse ? 600 : 470);
    cJSON_AddBoolToObject(out, "legend", 0);

    double slo = fmin(100, isfinite(smin) ? smin - 5 : 100), shi = fmax(150, isfinite(smax) ? smax + 5 : 150);
    double dlo = fmin(60, isfinite(dmin) ? dmin - 5 : 60), dhi = fmax(100, isfinite(dmax) ? dmax + 5 : 100);
    cJSON *vc = cJSON_AddArrayToObject(out, "vconcat");
    cJSON_AddItemToArray(vc, bp_panel("Systolic", "the top number", "systolic", "systolic", "bp", slo, shi,
                                      viz_okabe_ito[0], "circle", by_time, bp_tooltip(by_time, any_pulse)));
    cJSON_AddItemToArray(vc, bp_panel("Diastolic", "the bottom number", "diastolic", "diastolic", "bp",
                                      dlo, dhi, viz_okabe_ito[1], "square", by_time,
                                      bp_tooltip(by_time, any_pulse)));
    if (any_pulse)
        cJSON_AddItemToArray(vc, bp_panel("Pulse", "beats a minute", "pulse", "value", "heart_rate",
                                          fmin(50, pmin - 5), fmax(110, pmax + 5), viz_okabe_ito[3],
                                          "diamond", by_time, bp_tooltip(by_time, any_pulse)));
    rc = MUSE_OK;
done:
    free(rows);
    return rc;
}

/* ---- bp_category -------------------------------------------------------------------------- */

/* The level of a component value: the most severe category whose interval
 * for that component holds it, or -1. */
static int level_at(const bands_t *b, double v, int *which)
{
    int best = -1;
    *which = -1;
    for (int i = 0; i < b->n; i++) {
        const band_t *x = &b->v[i];
        int in_lo = x->lo_incl ? v >= x->lo : v > x->lo;
        int in_hi = x->hi_incl ? v <= x->hi : v < x->hi;
        if (in_lo && in_hi && x->level > best) {
            best = x->level;
            *which = i;
        }
    }
    return best;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorted distinct finite bounds of a band set. */
static int breakpoints(const bands_t *b, double *out)
{
    int n = 0;
    for (int i = 0; i < b->n; i++) {
        if (isfinite(b->v[i].lo))
            out[n++] = b->v[i].lo;
        if (isfinite(b->v[i].hi))
            out[n++] = b->v[i].hi;
    }
    qsort(out, (size_t)n, sizeof *out, cmp_double);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || out[i] != out[u - 1])
            out[u++] = out[i];
    return u;
}

static int preset_bp_category(const preset_in_t *in, cJSON *out, muse_error_t *err)
{
    static const char *const keys[] = {"systolic", "diastolic", "time", "pulse", NULL};
    int rc = check_rows(in->data, keys, err);
    if (rc != MUSE_OK)
        return rc;
    bands_t bs, bd;
    const cJSON *m = measure("bp");
    if (!m || !measure_bands("bp", "systolic", &bs) || !measure_bands("bp", "diastolic", &bd))
        return muse_err(err, MUSE_ENOTFOUND, "preset bp_category: no blood pressure ranges in the medical data");
    /* The category of every (diastolic interval x systolic interval) cell,
     * by the measure's rule: each component falls in one category, and the
     * most severe wins (ranges.json "rule": "highest"). */
    double xs[40], ys[40];
    int nx = breakpoints(&bd, xs), ny = breakpoints(&bs, ys);
    cJSON *layers = cJSON_AddArrayToObject(out, "layers");
    cJSON *data = cJSON_AddArrayToObject(out, "data");   /* owned by out from here */
    double smax = 0, dmax = 0, smin = INFINITY, dmin = INFINITY;
    size_t n = 0, i = 0;
    viz_buf_t sum = {0};
    bprow_t *rows = calloc((size_t)cJSON_GetArraySize(in->data) + 1, sizeof *rows);
    if (!rows)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    for (const cJSON *row = in->data->child; row; row = row->next, i++) {
        double s = NAN, d = NAN;
        int hs = row_num(row, i, "systolic", 1, &s, err);
        int hd = hs > 0 ? row_num(row, i, "diastolic", 1, &d, err) : hs;
        if (hs < 0 || hd < 0) {
            rc = err ? err->code : MUSE_EINVAL;
            goto done;
        }
        if (!hs || !hd)
            continue;
        bprow_t *r = &rows[n++];
        r->sys = s;
        r->dia = d;
        classify_bp(s, d, r->cat, sizeof r->cat, &r->level);
        cJSON *o = cJSON_CreateObject();
        char bp[64], s1[24], s2[24];
        viz_format_number(s, 0, s1, sizeof s1);
        viz_format_number(d, 0, s2, sizeof s2);
        snprintf(bp, sizeof bp, "%s/%s", s1, s2);
        cJSON_AddNumberToObject(o, "systolic", s);
        cJSON_AddNumberToObject(o, "diastolic", d);
        cJSON_AddStringToObject(o, "bp", bp);
        cJSON_AddStringToObject(o, "category", r->cat);
        cJSON_AddItemToArray(data, o);
        smax = fmax(smax, s);
        dmax = fmax(dmax, d);
        smin = fmin(smin, s);
        dmin = fmin(dmin, d);
    }
    double xlo = fmin(40, dmin - 10), xhi = fmax(130, dmax + 10);
    double ylo = fmin(80, smin - 10), yhi = fmax(200, smax + 10);
    /* Cells: biggest of each level gets the label. */
    struct cell {
        double x0, x1, y0, y1;
        int level, which;
    } cells[1600];
    int nc = 0;
    for (int a = 0; a <= nx; a++)
        for (int b = 0; b <= ny; b++) {
            double x0 = a == 0 ? -INFINITY : xs[a - 1], x1 = a == nx ? INFINITY : xs[a];
            double y0 = b == 0 ? -INFINITY : ys[b - 1], y1 = b == ny ? INFINITY : ys[b];
            double mx = isfinite(x0) && isfinite(x1) ? (x0 + x1) / 2 : isfinite(x0) ? x0 + 1 : x1 - 1;
            double my = isfinite(y0) && isfinite(y1) ? (y0 + y1) / 2 : isfinite(y0) ? y0 + 1 : y1 - 1;
            int wd, ws;
            int ld = level_at(&bd, mx, &wd), ls = level_at(&bs, my, &ws);
            if (ld < 0 && ls < 0)
                continue;
            int which = ls >= ld ? ws : wd;
            const bands_t *src = ls >= ld ? &bs : &bd;
            cells[nc++] = (struct cell){x0, x1, y0, y1, ls > ld ? ls : ld, which};
            /* Name the cell by category id so both components agree. */
            (void)src;
        }
    int max_level = bs.max_level > bd.max_level ? bs.max_level : bd.max_level;
    for (int c = 0; c < nc; c++) {
        band_t bx = {cells[c].x0, cells[c].x1, 1, 0, cells[c].level, "", "", 0};
        cJSON *l = band_layer("x", &bx, max_level, NULL, NULL);
        cJSON *enc = cJSON_GetObjectItemCaseSensitive(l, "encoding");
        if (isfinite(cells[c].y0))
            cJSON_AddItemToObject(enc, "y", chan_datum(cells[c].y0));
        if (isfinite(cells[c].y1))
            cJSON_AddItemToObject(enc, "y2", chan_datum(cells[c].y1));
        cJSON_AddItemToArray(layers, l);
    }
    /* One label per level, in the cell with the most visible area. */
    for (int lv = 0; lv <= max_level; lv++) {
        int best = -1;
        double area = 0;
        for (int c = 0; c < nc; c++) {
            if (cells[c].level != lv)
                continue;
            double w = fmin(cells[c].x1, xhi) - fmax(cells[c].x0, xlo);
            double h = fmin(cells[c].y1, yhi) - fmax(cells[c].y0, ylo);
            if (w > 0 && h > 0 && w * h > area) {
                area = w * h;
                best = c;
            }
        }
        if (best < 0)
            continue;
        const char *label = NULL;
        for (int k = 0; k < bs.n && !label; k++)
            if (bs.v[k].level == lv)
                label = bs.v[k].label;
        for (int k = 0; k < bd.n && !label; k++)
            if (bd.v[k].level == lv)
                label = bd.v[k].label;
        if (!label)
            continue;
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "mark", "text");
        cJSON_AddStringToObject(t, "label", label);
        cJSON_AddStringToObject(t, "color", "#333333");
        cJSON_AddNumberToObject(t, "size", 9.5);
        cJSON *enc = cJSON_AddObjectToObject(t, "encoding");
        double x0 = fmax(cells[best].x0, xlo), x1 = fmin(cells[best].x1, xhi);
        double y0 = fmax(cells[best].y0, ylo), y1 = fmin(cells[best].y1, yhi);
        /* Labels sit at the left of wide cells, away from the readings. */
        cJSON_AddItemToObject(enc, "x", chan_datum(x0 + (x1 - x0) * 0.04));
        cJSON_AddItemToObject(enc, "y", chan_datum(y1 - (y1 - y0) * 0.5));
        cJSON_AddStringToObject(t, "align", "start");
        cJSON_AddNumberToObject(t, "dy", 3);
        cJSON_AddBoolToObject(t, "domain", 0);
        cJSON_AddItemToArray(layers, t);
    }
    /* The readings. */
    cJSON *pt = cJSON_CreateObject();
    cJSON_AddStringToObject(pt, "mark", "point");
    cJSON_AddStringToObject(pt, "name", n == 1 ? "Your reading" : "Your readings");
    cJSON_AddStringToObject(pt, "color", "#000000");
    cJSON_AddNumberToObject(pt, "size", 5.5);
    cJSON *enc = cJSON_AddObjectToObject(pt, "encoding");
    cJSON_AddItemToObject(enc, "x", chan_field("diastolic", "Diastolic", "mm[Hg]"));
    cJSON_AddItemToObject(enc, "y", chan_field("systolic", "Systolic", "mm[Hg]"));
    cJSON *tips = cJSON_AddArrayToObject(enc, "tooltip");
    cJSON_AddItemToArray(tips, tip("bp", "Reading", "mm[Hg]"));
    cJSON_AddItemToArray(tips, tip("category", "Category", NULL));
    cJSON_AddItemToArray(layers, pt);
    if (n > 0 && n <= 12) {
        cJSON *lab = cJSON_CreateObject();
        cJSON_AddStringToObject(lab, "mark", "text");
        cJSON_AddStringToObject(lab, "color", "#000000");
        cJSON_AddBoolToObject(lab, "bold", 1);
        cJSON_AddStringToObject(lab, "align", "start");
        cJSON_AddNumberToObject(lab, "dx", 8);
        cJSON_AddNumberToObject(lab, "dy", -6);
        cJSON_AddNumberToObject(lab, "size", 10);
        cJSON *e2 = cJSON_AddObjectToObject(lab, "encoding");
        cJSON_AddItemToObject(e2, "x", chan_field("diastolic", NULL, NULL));
        cJSON_AddItemToObject(e2, "y", chan_field("systolic", NULL, NULL));
        cJSON_AddItemToObject(e2, "text", chan_field("bp", NULL, NULL));
        cJSON_AddBoolToObject(lab, "legend", 0);
        cJSON_AddItemToArray(layers, lab);
    }
    cJSON *x = cJSON_AddObjectToObject(out, "x");
    cJSON_AddStringToObject(x, "title", "Diastolic, the bottom number");
    cJSON_AddStringToObject(x, "unit", "mm[Hg]");
    cJSON *dom = cJSON_AddArrayToObject(x, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(xlo));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(xhi));
    cJSON *y = cJSON_AddObjectToObject(out, "y");
    cJSON_AddStringToObject(y, "title", "Systolic, the top number");
    cJSON_AddStringToObject(y, "unit", "mm[Hg]");
    dom = cJSON_AddArrayToObject(y, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(ylo));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(yhi));
    cJSON_AddBoolToObject(out, "legend", 0);

    if (n == 0) {
        vb_puts(&sum, "No blood pressure reading to place.");
    } else if (n == 1) {
        char lab[64];
        snprintf(lab, sizeof lab, "%s", rows[0].cat);
        lower_first(lab);
        const cJSON *bp = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, 0), "bp");
        vb_printf(&sum, "%s mmHg is in the %s range", bp->valuestring, lab);
    } else {
        vb_printf(&sum, "%zu readings: ", n);
        category_counts(rows, n, &sum);
    }
    if (n && bs.source[0])
        vb_printf(&sum, " by the %s categories for adults.", bs.source);
    else if (n)
        vb_puts(&sum, ".");
    char *desc = vb_steal(&sum, NULL);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    char sub[320];
    snprintf(sub, sizeof sub, "Where %s on the %.150s categories for adults",
             n == 1 ? "your reading falls" : "your readings fall", bs.source[0] ? bs.source : "guideline");
    copy_common(in, out, "Blood pressure category", sub);
    if (!cJSON_GetObjectItemCaseSensitive(in->spec, "height"))
        cJSON_AddNumberToObject(out, "height", 460);
    char note[500];
    snprintf(note, sizeof note, "Categories: %.400s.", bs.source_full[0] ? bs.source_full : "guideline");
    cJSON_AddStringToObject(out, "note", note);
    rc = MUSE_OK;
done:
    free(rows);
    if (rc != MUSE_OK)
        vb_free(&sum);
    return rc;
}

/* ---- Gauges and lab rows ----------------------------------------------------------------------- */

/* Ten-year ASCVD risk categories, used only while the ranges data has no
 * "ascvd" measure: Arnett DK et al., 2019 ACC/AHA Guideline on the Primary
 * Prevention of Cardiovascular Disease, Circulation 2019;140:e596-e646,
 * section 4.4 (low <5%, borderline 5-7.4%, intermediate 7.5-19.9%,
 * high >=20%). docs/chart-spec.md cites it too. */
static void ascvd_fallback(bands_t *b)
{
    memset(b, 0, sizeof *b);
    static const struct {
        double lo, hi;
        const char *id, *label;
    } v[] = {{-INFINITY, 5, "low", "Low"},
             {5, 7.5, "borderline", "Borderline"},
             {7.5, 20, "intermediate", "Intermediate"},
             {20, INFINITY, "high", "High"}};
    for (int i = 0; i < 4; i++) {
        b->v[i] = (band_t){v[i].lo, v[i].hi, 1, 0, i, "", "", 0};
        snprintf(b->v[i].id, sizeof b->v[i].id, "%s", v[i].id);
        snprintf(b->v[i].label, sizeof b->v[i].label, "%s", v[i].label);
    }
    b->n = 4;
    b->max_level = 3;
    snprintf(b->source, sizeof b->source, "ACC/AHA 2019");
    snprintf(b->source_full, sizeof b->source_full,
             "2019 ACC/AHA Guideline on the Primary Prevention of Cardiovascular Disease");
}

/* Continuous glucose monitoring ranges, used only while the ranges data has
 * no "cgm" measure: Battelino T et al., Clinical Targets for Continuous
 * Glucose Monitoring Data Interpretation: Recommendations From the
 * International Consensus on Time in Range, Diabetes Care
 * 2019;42(8):1593-1603 (target 70-180 mg/dL; below 54 and above 250 are the
 * level 2 ranges). */
static void cgm_fallback(bands_t *b)
{
    memset(b, 0, sizeof *b);
    static const struct {
        double lo, hi;
        int level;
        const char *id, *label;
    } v[] = {{-INFINITY, 54, 2, "very_low", "Very low"},
             {54, 70, 1, "low", "Low"},
             {70, 180, 0, "target", "Target range"},
             {180, 250, 1, "high", "High"},
             {250, INFINITY, 2, "very_high", "Very high"}};
    for (int i = 0; i < 5; i++) {
        b->v[i] = (band_t){v[i].lo, v[i].hi, 1, i == 2, v[i].level, "", "", 0};
        /* 70-180 inclusive at both ends; 180 < high <= 250 */
        if (i == 3) {
            b->v[i].lo_incl = 0;
            b->v[i].hi_incl = 1;
        }
        if (i == 4)
            b->v[i].lo_incl = 0;
        snprintf(b->v[i].id, sizeof b->v[i].id, "%s", v[i].id);
        snprintf(b->v[i].label, sizeof b->v[i].label, "%s", v[i].label);
    }
    b->n = 5;
    b->max_level = 2;
    snprintf(b->source, sizeof b->source, "International Consensus on Time in Range 2019");
    snprintf(b->source_full, sizeof b->source_full,
             "Battelino et al., International Consensus on Time in Range, Diabetes Care (2019)");
}

/* The domain a gauge shows: every finite bound and the values, padded. */
static void gauge_domain(const bands_t *b, const double *vals, size_t nv, double *lo, double *hi)
{
    double a = INFINITY, z = -INFINITY;
    for (int i = 0; i < b->n; i++) {
        if (isfinite(b->v[i].lo)) {
            a = fmin(a, b->v[i].lo);
            z = fmax(z, b->v[i].lo);
        }
        if (isfinite(b->v[i].hi)) {
            a = fmin(a, b->v[i].hi);
            z = fmax(z, b->v[i].hi);
        }
    }
    for (size_t i = 0; i < nv; i++)
        if (isfinite(vals[i])) {
            a = fmin(a, vals[i]);
            z = fmax(z, vals[i]);
        }
    if (!isfinite(a)) {
        a = 0;
        z = 1;
    }
    double span = z - a > 0 ? z - a : fmax(1, fabs(a) * 0.2);
    *lo = a - span * 0.18;
    *hi = z + span * 0.18;
    if (a >= 0 && *lo < 0)
        *lo = 0;
}

/* One row's panel: bands on x, the value marked. */
static cJSON *gauge_panel(const char *title, const char *subtitle, const bands_t *b, double value,
                          double lo, double hi, const char *unit, int row_index, double height,
                          int show_band_labels)
{
    cJSON *p = cJSON_CreateObject();
    if (title)
        cJSON_AddStringToObject(p, "title", title);
    if (subtitle)
        cJSON_AddStringToObject(p, "subtitle", subtitle);
    if (height > 0)
        cJSON_AddNumberToObject(p, "height", height);
    cJSON *x = cJSON_AddObjectToObject(p, "x");
    cJSON *dom = cJSON_AddArrayToObject(x, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(lo));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(hi));
    cJSON_AddStringToObject(x, "title", "");
    cJSON_AddNumberToObject(x, "ticks", 8);
    cJSON *y = cJSON_AddObjectToObject(p, "y");
    cJSON_AddBoolToObject(y, "axis", 0);
    dom = cJSON_AddArrayToObject(y, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(0));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(1));
    cJSON *layers = cJSON_AddArrayToObject(p, "layers");
    for (int i = 0; i < b->n; i++)
        cJSON_AddItemToArray(layers, band_layer("x", &b->v[i], b->max_level,
                                                show_band_labels ? b->v[i].label : NULL, "bottom"));
    if (isfinite(value)) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "mark", "rule");
        cJSON_AddStringToObject(r, "color", "#222222");
        cJSON_AddNumberToObject(r, "stroke_width", 2.5);
        cJSON *enc = cJSON_AddObjectToObject(r, "encoding");
        cJSON_AddItemToObject(enc, "x", chan_field("value", NULL, NULL));
        /* The upper part only: the band's name sits below it. */
        cJSON_AddItemToObject(enc, "y", chan_datum(0.42));
        cJSON_AddItemToObject(enc, "y2", chan_datum(1));
        cJSON *rows = cJSON_CreateArray();
        cJSON *row = cJSON_CreateObject();
        cJSON_AddNumberToObject(row, "value", value);
        cJSON_AddItemToArray(rows, row);
        cJSON_AddItemToObject(r, "data", rows);
        cJSON_AddBoolToObject(r, "domain", 0);
        cJSON_AddItemToObject(enc, "tooltip", cJSON_CreateFalse());
        cJSON_AddItemToArray(layers, r);
        /* The marker carries the tooltip; its data is the panel's row. */
        cJSON *pt = cJSON_CreateObject();
        cJSON_AddStringToObject(pt, "mark", "point");
        cJSON_AddStringToObject(pt, "shape", "triangle-down");
        cJSON_AddStringToObject(pt, "color", "#222222");
        cJSON_AddNumberToObject(pt, "size", 6);
        cJSON_AddBoolToObject(pt, "legend", 0);
        cJSON_AddBoolToObject(pt, "domain", 0);
        cJSON_AddStringToObject(pt, "name", title ? title : "Value");
        cJSON *e2 = cJSON_AddObjectToObject(pt, "encoding");
        cJSON_AddItemToObject(e2, "x", chan_field("value", title ? title : "Value", unit));
        cJSON_AddItemToObject(e2, "y", chan_datum(1));
        cJSON *tips = cJSON_AddArrayToObject(e2, "tooltip");
        cJSON_AddItemToArray(tips, tip("label", "Result", NULL));
        cJSON_AddItemToArray(tips, tip("shown", "Value", NULL));
        cJSON_AddItemToArray(tips, tip("category", "Category", NULL));
        cJSON_AddItemToArray(tips, tip("range", "Range", NULL));
        (void)row_index;
        cJSON_AddItemToArray(layers, pt);
    }
    return p;
}

/* Adds the row the marker's tooltip reads, to the panel's marker layer. */
static void gauge_row(cJSON *panel, const char *label, const char *shown, const char *category,
                      const char *range, double value)
{
    cJSON *layers = cJSON_GetObjectItemCaseSensitive(panel, "layers");
    cJSON *pt = NULL;
    for (cJSON *l = layers ? layers->child : NULL; l; l = l->next)
        if (strcmp(str_or(l, "mark", ""), "point") == 0)
            pt = l;
    if (!pt)
        return;
    cJSON *rows = cJSON_CreateArray();
    cJSON *row = cJSON_CreateObject();
    cJSON_AddNumberToObject(row, "value", value);
    cJSON_AddStringToObject(row, "label", label);
    cJSON_AddStringToObject(row, "shown", shown);
    cJSON_AddStringToObject(row, "category", category);
    cJSON_AddStringToObject(row, "range", range);
    cJSON_AddItemToArray(rows, row);
    cJSON_AddItemToObject(pt, "data", rows);
}

/* Where a value falls: the band index, or -1. */
static int band_of(const bands_t *b, double v)
{
    int which;
    level_at(b, v, &which);
    return which;
}

static int ci_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 0;
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && (p[i] | 32) == (needle[i] | 32))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* "high", "low", "in range" relative to the level-0 bands. */
static const char *direction(const bands_t *b, int which)
{
    if (which < 0)
        return "";
    if (b->v[which].level == 0)
        return "in range";
    double lo0 = INFINITY, hi0 = -INFINITY;
    for (int i = 0; i < b->n; i++)
        if (b->v[i].level == 0) {
            lo0 = fmin(lo0, b->v[i].lo);
            hi0 = fmax(hi0, b->v[i].hi);
        }
    if (b->v[which].lo >= hi0)
        return "high";
    if (b->v[which].hi <= lo0)
        return "low";
    return "";
}

static int preset_gauge(const preset_in_t *in, cJSON *out, int risk, muse_error_t *err)
{
    static const char *const keys[] = {"value", "time", "label", NULL};
    int rc = check_rows(in->data, keys, err);
    if (rc != MUSE_OK)
        return rc;
    bands_t b;
    const char *unit = risk ? "%" : "kg/m2";
    if (risk) {
        if (!measure_bands("ascvd", "value", &b))
            ascvd_fallback(&b);
    } else if (!measure_bands("bmi", "value", &b)) {
        return muse_err(err, MUSE_ENOTFOUND, "preset bmi_gauge: no BMI ranges in the medical data");
    }
    /* The latest value is the one marked; a gauge shows one number. */
    double value = NAN;
    size_t i = 0;
    for (const cJSON *row = in->data->child; row; row = row->next, i++) {
        double v = NAN;
        int h = row_num(row, i, "value", 1, &v, err);
        if (h < 0)
            return err ? err->code : MUSE_EINVAL;
        if (h)
            value = v;
    }
    if (risk && isfinite(value) && (value < 0 || value > 100))
        return muse_err(err, MUSE_ERANGE, "data[%zu].value: %g is not a percentage (0 to 100)", i - 1, value);
    double lo, hi;
    gauge_domain(&b, &value, 1, &lo, &hi);
    if (risk) {
        lo = 0;
        hi = fmax(30, isfinite(value) ? ceil(value * 1.15 / 5) * 5 : 30);
    }
    int which = isfinite(value) ? band_of(&b, value) : -1;
    char shown[48], num[24], range[96] = "", cat[96] = "", sub[200];
    viz_format_number(value, 1, num, sizeof num);
    snprintf(shown, sizeof shown, "%s%s%s", num, risk ? "" : " ", viz_unit_display(unit));
    if (which >= 0) {
        snprintf(cat, sizeof cat, "%s", b.v[which].label);
        interval_text(&b.v[which], unit, range, sizeof range);
    }
    viz_buf_t sum = {0};
    if (!isfinite(value)) {
        vb_puts(&sum, risk ? "No risk estimate to show." : "No BMI to show.");
        snprintf(sub, sizeof sub, "%s", b.source);
    } else {
        char lc[96];
        snprintf(lc, sizeof lc, "%s", cat);
        lower_first(lc);
        if (risk)
            vb_printf(&sum, "A 10-year ASCVD risk of %s%% is in the %s category (%s) by the %s risk categories.",
                      num, which >= 0 ? lc : "unclassified", range, b.source);
        else
            vb_printf(&sum, "A BMI of %s kg/m² is in the %s range (%s) by the %s adult categories.", num,
                      which >= 0 ? lc : "unclassified", range, b.source[0] ? b.source : "guideline");
        snprintf(sub, sizeof sub, "%s: %s", shown, which >= 0 ? cat : "not classified");
    }
    char *desc = vb_steal(&sum, NULL);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    copy_common(in, out, risk ? "10-year ASCVD risk" : "Body mass index", sub);
    if (!cJSON_GetObjectItemCaseSensitive(in->spec, "height"))
        cJSON_AddNumberToObject(out, "height", 190);
    cJSON_AddBoolToObject(out, "legend", 0);
    char note[200];
    snprintf(note, sizeof note, "Categories: %.180s.", b.source_full[0] ? b.source_full : "guideline");
    cJSON_AddStringToObject(out, "note", note);
    cJSON *vc = cJSON_AddArrayToObject(out, "vconcat");
    cJSON *p = gauge_panel(NULL, NULL, &b, value, lo, hi, unit, 0, 0, 1);
    cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "x");
    cJSON_DeleteItemFromObjectCaseSensitive(x, "title");
    cJSON_AddStringToObject(x, "title", risk ? "Risk of a heart attack or stroke in 10 years" : "BMI");
    cJSON_AddStringToObject(x, "unit", unit);
    if (isfinite(value))
        gauge_row(p, risk ? "10-year ASCVD risk" : "BMI", shown, which >= 0 ? cat : "not classified",
                  range, value);
    cJSON_AddItemToArray(vc, p);
    return MUSE_OK;
}

static int preset_lab_panel(const preset_in_t *in, cJSON *out, muse_error_t *err)
{
    static const char *const keys[] = {"kind", "label", "value", "unit", "time", "fasting", NULL};
    int rc = check_rows(in->data, keys, err);
    if (rc != MUSE_OK)
        return rc;
    int n = cJSON_GetArraySize(in->data);
    if (n > 32)
        return muse_err(err, MUSE_ELIMIT, "data: %d results; a lab panel shows at most 32", n);
    cJSON *vc = cJSON_AddArrayToObject(out, "vconcat");
    viz_buf_t sum = {0};
    int i = 0, shown_n = 0, flagged = 0;
    for (const cJSON *row = in->data->child; row; row = row->next, i++) {
        const char *kind = str_or(row, "kind", NULL);
        if (!kind) {
            vb_free(&sum);
            return muse_err(err, MUSE_EINVAL, "data[%d].kind: missing (\"a1c\", \"glucose\", \"ldl\", ...)", i);
        }
        double v = NAN;
        int h = row_num(row, (size_t)i, "value", 1, &v, err);
        if (h < 0) {
            vb_free(&sum);
            return err ? err->code : MUSE_EINVAL;
        }
        if (!h)
            continue;
        med_kind_t mk;
        int known = medical_kind_parse(kind, &mk) == MUSE_OK;
        const char *key = known ? medical_kind_name(mk) : kind;
        const cJSON *m = measure(key);
        const char *label = str_or(row, "label", m ? str_or(m, "label", kind) : kind);
        const char *unit_in = str_or(row, "unit", NULL);
        const char *unit = m ? str_or(m, "unit", unit_in ? unit_in : "") : unit_in ? unit_in : "";
        /* Judge the value in the measure's unit; convert if it came in another. */
        double canon = v;
        int converted = 1;
        if (known && unit_in && *unit_in && m) {
            if (medical_convert(mk, v, unit_in, &canon, NULL, NULL) != MUSE_OK)
                converted = 0;
        }
        bands_t b;
        memset(&b, 0, sizeof b);
        const cJSON *fasting = cJSON_GetObjectItemCaseSensitive(row, "fasting");
        if (m && converted) {
            const cJSON *cats = cJSON_GetObjectItemCaseSensitive(m, "categories");
            const cJSON *random = cJSON_GetObjectItemCaseSensitive(m, "random");
            if (cJSON_IsFalse(fasting) && cJSON_IsObject(random))
                cats = cJSON_GetObjectItemCaseSensitive(random, "categories");
            bands_from(m, cats, "value", &b);
        }
        char cat[96] = "", range[96] = "", num[32], shown[64], sub[200], flag[24] = "";
        viz_format_number(canon, -1, num, sizeof num);
        snprintf(shown, sizeof shown, "%s%s%s", num, strcmp(viz_unit_display(unit), "%") ? " " : "",
                 viz_unit_display(unit));
        int which = -1;
        if (b.n && known) {
            med_reading_t r;
            med_reading_init(&r, mk);
            r.value = canon;
            if (cJSON_IsBool(fasting))
                r.fasting = cJSON_IsTrue(fasting);
            med_class_t c;
            if (!medical_check_plausible(&r) && medical_classify(&r, &c, NULL) == MUSE_OK) {
                snprintf(cat, sizeof cat, "%s", c.label);
                for (int k = 0; k < b.n; k++)
                    if (strcmp(b.v[k].id, c.id) == 0)
                        which = k;
            }
        }
        if (which < 0 && b.n)
            which = band_of(&b, canon);
        if (which >= 0) {
            if (!cat[0])
                snprintf(cat, sizeof cat, "%s", b.v[which].label);
            interval_text(&b.v[which], unit, range, sizeof range);
            /* low/high against the healthy (level 0) bands; "critical"
             * only where the ranges data marks a category so. */
            const char *dir = b.v[which].critical ? "critical" : direction(&b, which);
            snprintf(flag, sizeof flag, "%s", dir);
            if (strcmp(dir, "in range") == 0 || ci_contains(cat, dir))
                flag[0] = '\0';
            if (b.v[which].level > 0)
                flagged++;
        }
        if (which >= 0)
            snprintf(sub, sizeof sub, "%s — %s%s%s%s", shown, cat, flag[0] ? " (" : "", flag, flag[0] ? ")" : "");
        else if (!converted)
            snprintf(sub, sizeof sub, "%s %s — unit not recognised, not judged", num, unit_in);
        else
            snprintf(sub, sizeof sub, "%s — no reference range in Muse's data", shown);
        double lo, hi;
        gauge_domain(&b, &canon, 1, &lo, &hi);
        cJSON *p = gauge_panel(label, sub, &b, canon, lo, hi, unit, i, 0, 1);
        gauge_row(p, label, shown, which >= 0 ? cat : "not judged", range, canon);
        cJSON_AddItemToArray(vc, p);
        shown_n++;
        char lc[96];
        snprintf(lc, sizeof lc, "%s", cat);
        lower_first(lc);
        if (sum.len)
            vb_puts(&sum, " ");
        if (which >= 0)
            vb_printf(&sum, "%s %s: %s%s%s%s.", label, shown, lc, flag[0] ? " (" : "", flag, flag[0] ? ")" : "");
        else
            vb_printf(&sum, "%s %s: no reference range.", label, shown);
    }
    if (shown_n == 0) {
        /* No results: one empty panel, so the chart says "No data". */
        cJSON *p = cJSON_CreateObject();
        cJSON *layers = cJSON_AddArrayToObject(p, "layers");
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "mark", "point");
        cJSON *enc = cJSON_AddObjectToObject(l, "encoding");
        cJSON_AddItemToObject(enc, "x", chan_field("value", NULL, NULL));
        cJSON_AddItemToObject(enc, "y", chan_field("value", NULL, NULL));
        cJSON_AddItemToObject(l, "data", cJSON_CreateArray());
        cJSON_AddItemToArray(layers, l);
        cJSON_AddItemToArray(vc, p);
        vb_puts(&sum, "No results to show.");
    } else if (shown_n > 1) {
        char lead[80];
        snprintf(lead, sizeof lead, "%d results, %d outside the healthy range. ", shown_n, flagged);
        char *body = vb_steal(&sum, NULL);
        vb_puts(&sum, lead);
        vb_puts(&sum, body ? body : "");
        free(body);
    }
    char *desc = vb_steal(&sum, NULL);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    copy_common(in, out, "Your results", "Each result against its reference range");
    if (!cJSON_GetObjectItemCaseSensitive(in->spec, "height"))
        cJSON_AddNumberToObject(out, "height", fmin(VIZ_MAX_SIDE, fmax(180, 70 + 86.0 * (shown_n ? shown_n : 1))));
    cJSON_AddBoolToObject(out, "legend", 0);
    return MUSE_OK;
}

/* ---- weight_trend, glucose_profile -------------------------------------------------------------- */

typedef struct tv {
    double t, v;
    size_t order;
} tv_t;

static int cmp_tv(const void *a, const void *b)
{
    const tv_t *p = a, *q = b;
    if (p->t != q->t)
        return p->t < q->t ? -1 : 1;
    return p->order < q->order ? -1 : p->order > q->order;
}

static int read_tv(const preset_in_t *in, tv_t **out, size_t *n, size_t *missing, int *by_time,
                   muse_error_t *err)
{
    static const char *const keys[] = {"time", "value", NULL};
    int rc = check_rows(in->data, keys, err);
    if (rc != MUSE_OK)
        return rc;
    size_t cap = (size_t)cJSON_GetArraySize(in->data);
    tv_t *v = calloc(cap ? cap : 1, sizeof *v);
    if (!v)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    size_t m = 0, timed = 0, i = 0;
    *missing = 0;
    for (const cJSON *row = in->data->child; row; row = row->next, i++) {
        double val = NAN, t = NAN;
        int h = row_num(row, i, "value", 0, &val, err);
        int ht = h >= 0 ? row_time(row, i, &t, err) : h;
        if (h < 0 || ht < 0) {
            free(v);
            return err ? err->code : MUSE_EINVAL;
        }
        if (!h) {
            (*missing)++;
            continue;
        }
        timed += (size_t)ht;
        v[m] = (tv_t){ht ? t : NAN, val, m};
        m++;
    }
    *by_time = m > 0 && timed == m;
    if (*by_time)
        qsort(v, m, sizeof *v, cmp_tv);
    else
        for (size_t k = 0; k < m; k++)
            v[k].t = (double)(k + 1);
    *out = v;
    *n = m;
    return MUSE_OK;
}

static void add_time_value(cJSON *o, double t, int by_time)
{
    if (by_time) {
        char ts[40];
        int64_t y;
        unsigned mo, d;
        double day = floor(t / 86400.0);
        viz_civil_from_days((int64_t)day, &y, &mo, &d);
        int secs = (int)llround(t - day * 86400.0);
        snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d, secs / 3600,
                 secs / 60 % 60, secs % 60);
        cJSON_AddStringToObject(o, "time", ts);
    } else {
        cJSON_AddNumberToObject(o, "time", t);
    }
}

static cJSON *series_layer(const char *mark, const char *name, const char *field, viz_rgba_t color,
                           const char *unit, int by_time, double width)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "mark", mark);
    cJSON_AddStringToObject(l, "name", name);
    char col[8];
    hex(color, col);
    cJSON_AddStringToObject(l, "color", col);
    if (width > 0)
        cJSON_AddNumberToObject(l, "stroke_width", width);
    cJSON *enc = cJSON_AddObjectToObject(l, "encoding");
    cJSON_AddItemToObject(enc, "x", chan_field("time", by_time ? "Date" : "Reading", NULL));
    cJSON_AddItemToObject(enc, "y", chan_field(field, name, unit));
    return l;
}

static int preset_weight_trend(const preset_in_t *in, cJSON *out, muse_error_t *err)
{
    tv_t *v = NULL;
    size_t n = 0, missing = 0;
    int by_time = 0;
    int rc = read_tv(in, &v, &n, &missing, &by_time, err);
    if (rc != MUSE_OK)
        return rc;
    /* A trailing 7-day mean (7 readings without times): each day's average
     * of the readings in the week up to it, which irons out water and meal
     * swings of a kilogram or two. */
    cJSON *data = cJSON_AddArrayToObject(out, "data");
    double wsum = 0;
    size_t ws = 0;
    double last_avg = NAN;
    for (size_t k = 0; k < n; k++) {
        wsum += v[k].v;
        while (ws < k && (by_time ? v[ws].t <= v[k].t - 7 * 86400.0 : k - ws >= 7)) {
            wsum -= v[ws].v;
            ws++;
        }
        double avg = wsum / (double)(k - ws + 1);
        last_avg = avg;
        cJSON *o = cJSON_CreateObject();
        add_time_value(o, v[k].t, by_time);
        cJSON_AddNumberToObject(o, "value", v[k].v);
        cJSON_AddNumberToObject(o, "average", round(avg * 100) / 100);
        cJSON_AddItemToArray(data, o);
    }
    cJSON *x = cJSON_AddObjectToObject(out, "x");
    cJSON_AddStringToObject(x, "title", by_time ? "" : "Reading");
    cJSON *y = cJSON_AddObjectToObject(out, "y");
    cJSON_AddStringToObject(y, "title", "Weight");
    cJSON_AddStringToObject(y, "unit", "kg");
    cJSON *layers = cJSON_AddArrayToObject(out, "layers");
    cJSON *pts = series_layer("point", "Weight", "value", viz_okabe_ito[5], "kg", by_time, 0);
    cJSON_AddNumberToObject(pts, "size", 2.8);
    cJSON_AddBoolToObject(pts, "filled", 0);
    cJSON *tips = cJSON_AddArrayToObject(cJSON_GetObjectItemCaseSensitive(pts, "encoding"), "tooltip");
    cJSON_AddItemToArray(tips, tip("time", by_time ? "Date" : "Reading", NULL));
    cJSON_AddItemToArray(tips, tip("value", "Weight", "kg"));
    cJSON_AddItemToArray(tips, tip("average", by_time ? "7-day average" : "7-reading average", "kg"));
    cJSON_AddItemToArray(layers, pts);
    cJSON *line = series_layer("line", by_time ? "7-day average" : "7-reading average", "average",
                               viz_okabe_ito[0], "kg", by_time, 2.5);
    cJSON_AddBoolToObject(line, "point", 0);
    cJSON_AddItemToObject(cJSON_GetObjectItemCaseSensitive(line, "encoding"), "tooltip", cJSON_CreateFalse());
    cJSON_AddItemToArray(layers, line);
    viz_buf_t sum = {0};
    if (n == 0) {
        vb_puts(&sum, "No weight readings to show.");
    } else {
        char a[24], b[24], d[24], avg[24], when[120] = "";
        viz_format_number(v[0].v, 1, a, sizeof a);
        viz_format_number(v[n - 1].v, 1, b, sizeof b);
        viz_format_number(v[n - 1].v - v[0].v, 1, d, sizeof d);
        viz_format_number(last_avg, 1, avg, sizeof avg);
        if (by_time)
            date_range(v[0].t, v[n - 1].t, 0, when, sizeof when);
        if (n == 1)
            vb_printf(&sum, "One weight reading: %s kg%s%s.", a, *when ? " " : "", when);
        else
            vb_printf(&sum, "Weight went from %s kg to %s kg (%s%s kg) over %zu readings%s%s; the %s average is now %s kg.",
                      a, b, v[n - 1].v - v[0].v > 0 ? "+" : "", d, n, *when ? " " : "", when,
                      by_time ? "7-day" : "7-reading", avg);
    }
    char *desc = vb_steal(&sum, NULL);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    char sub[120];
    snprintf(sub, sizeof sub, "%zu reading%s, with the %s average", n, n == 1 ? "" : "s",
             by_time ? "7-day" : "7-reading");
    copy_common(in, out, "Weight", sub);
    if (missing) {
        char note[100];
        snprintf(note, sizeof note, "%zu reading%s without a number left out.", missing, missing == 1 ? "" : "s");
        cJSON_AddStringToObject(out, "note", note);
    }
    free(v);
    return MUSE_OK;
}

static int preset_glucose_profile(const preset_in_t *in, cJSON *out, muse_error_t *err)
{
    tv_t *v = NULL;
    size_t n = 0, missing = 0;
    int by_time = 0;
    int rc = read_tv(in, &v, &n, &missing, &by_time, err);
    if (rc != MUSE_OK)
        return rc;
    bands_t b;
    if (!measure_bands("cgm", "value", &b))
        cgm_fallback(&b);
    /* The target band is the level-0 one. */
    double tlo = 70, thi = 180;
    for (int i = 0; i < b.n; i++)
        if (b.v[i].level == 0) {
            tlo = b.v[i].lo;
            thi = b.v[i].hi;
        }
    cJSON *data = cJSON_AddArrayToObject(out, "data");
    size_t below = 0, above = 0, in_range = 0;
    double vmin = INFINITY, vmax = -INFINITY;
    for (size_t k = 0; k < n; k++) {
        cJSON *o = cJSON_CreateObject();
        add_time_value(o, v[k].t, by_time);
        cJSON_AddNumberToObject(o, "value", v[k].v);
        int w = band_of(&b, v[k].v);
        cJSON_AddStringToObject(o, "range", w >= 0 ? b.v[w].label : "");
        cJSON_AddItemToArray(data, o);
        if (v[k].v < tlo)
            below++;
        else if (v[k].v > thi)
            above++;
        else
            in_range++;
        vmin = fmin(vmin, v[k].v);
        vmax = fmax(vmax, v[k].v);
    }
    cJSON *x = cJSON_AddObjectToObject(out, "x");
    cJSON_AddStringToObject(x, "title", by_time ? "" : "Reading");
    cJSON *y = cJSON_AddObjectToObject(out, "y");
    cJSON_AddStringToObject(y, "title", "Glucose");
    cJSON_AddStringToObject(y, "unit", "mg/dL");
    cJSON *dom = cJSON_AddArrayToObject(y, "domain");
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(fmin(40, isfinite(vmin) ? vmin - 10 : 40)));
    cJSON_AddItemToArray(dom, cJSON_CreateNumber(fmax(300, isfinite(vmax) ? vmax + 10 : 300)));
    cJSON_AddBoolToObject(y, "nice", 1);
    cJSON *layers = cJSON_AddArrayToObject(out, "layers");
    for (int i = 0; i < b.n; i++)
        cJSON_AddItemToArray(layers, band_layer("y", &b.v[i], b.max_level, b.v[i].label, "right"));
    cJSON *line = series_layer("line", "Glucose", "value", viz_okabe_ito[0], "mg/dL", by_time, 2);
    /* A sensor's every-5-minute readings read as a curve; markers only for
     * a few finger-stick readings. */
    cJSON_AddBoolToObject(line, "point", n <= 48);
    cJSON *tips = cJSON_AddArrayToObject(cJSON_GetObjectItemCaseSensitive(line, "encoding"), "tooltip");
    cJSON_AddItemToArray(tips, tip("time", by_time ? "Time" : "Reading", NULL));
    cJSON_AddItemToArray(tips, tip("value", "Glucose", "mg/dL"));
    cJSON_AddItemToArray(tips, tip("range", "Range", NULL));
    cJSON_AddItemToArray(layers, line);
    viz_buf_t sum = {0};
    char lo[16], hi[16];
    viz_format_number(tlo, 0, lo, sizeof lo);
    viz_format_number(thi, 0, hi, sizeof hi);
    if (n == 0) {
        vb_puts(&sum, "No glucose readings to show.");
    } else {
        double pin = 100.0 * in_range / n, pb = 100.0 * below / n, pa = 100.0 * above / n;
        vb_printf(&sum, "Time in range (%s to %s mg/dL): %.0f%% of %zu reading%s; %.0f%% below %s and %.0f%% above %s.",
                  lo, hi, pin, n, n == 1 ? "" : "s", pb, lo, pa, hi);
        vb_puts(&sum, " The consensus target for most adults with diabetes is more than 70% in range and less than 4% below 70 mg/dL.");
    }
    char *desc = vb_steal(&sum, NULL);
    cJSON_AddStringToObject(out, "description", desc ? desc : "");
    free(desc);
    char sub[320];
    if (n)
        snprintf(sub, sizeof sub, "%.0f%% of readings in the target range, %s to %s mg/dL (%.110s)",
                 100.0 * in_range / n, lo, hi, b.source);
    else
        snprintf(sub, sizeof sub, "Target range %s to %s mg/dL (%.110s)", lo, hi, b.source);
    copy_common(in, out, "Glucose", sub);
    cJSON_AddBoolToObject(out, "legend", 0);
    char note[600];
    size_t no = (size_t)snprintf(note, sizeof note, "Ranges: %.400s.", b.source_full);
    if (missing && no < sizeof note)
        snprintf(note + no, sizeof note - no, " %zu reading%s without a number left out.", missing,
                 missing == 1 ? "" : "s");
    cJSON_AddStringToObject(out, "note", note);
    free(v);
    return MUSE_OK;
}

/* ---- Dispatch ------------------------------------------------------------------------------------- */

static const char *const preset_names[] = {"bp_trend", "bp_category", "lab_panel", "weight_trend",
                                           "glucose_profile", "bmi_gauge", "risk_gauge", NULL};

const char *const *viz_preset_names(void)
{
    return preset_names;
}

int viz_preset_expand(const cJSON *spec, cJSON **out, muse_error_t *err)
{
    static const char *const keys[] = {"preset", "title", "subtitle", "description", "data",
                                       "width", "height", NULL};
    if (!out)
        return muse_err(err, MUSE_EINVAL, "viz_preset_expand: out is NULL");
    *out = NULL;
    if (!cJSON_IsObject(spec))
        return muse_err(err, MUSE_EINVAL, "spec: expected a JSON object");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(spec, "preset");
    if (!p) {
        *out = cJSON_Duplicate(spec, 1);
        return *out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    if (!cJSON_IsString(p))
        return muse_err(err, MUSE_EINVAL, "preset: expected a preset name");
    int which = -1;
    for (int i = 0; preset_names[i]; i++)
        if (strcmp(preset_names[i], p->valuestring) == 0)
            which = i;
    if (which < 0) {
        const char *best = NULL;
        int bd = 4;
        for (int i = 0; preset_names[i]; i++) {
            int d = viz_edit_distance(preset_names[i], p->valuestring);
            if (d < bd) {
                bd = d;
                best = preset_names[i];
            }
        }
        if (best)
            return muse_err(err, MUSE_EINVAL, "preset: unknown preset \"%.60s\" (did you mean \"%s\"?)",
                            p->valuestring, best);
        return muse_err(err, MUSE_EINVAL,
                        "preset: unknown preset \"%.60s\" (bp_trend, bp_category, lab_panel, weight_trend, "
                        "glucose_profile, bmi_gauge, risk_gauge)", p->valuestring);
    }
    for (const cJSON *k = spec->child; k; k = k->next) {
        int ok = k->string[0] == '$' || k->string[0] == '_';
        for (int i = 0; keys[i] && !ok; i++)
            ok = strcmp(keys[i], k->string) == 0;
        if (!ok)
            return muse_err(err, MUSE_EINVAL,
                            "%s: not a preset option (a preset takes title, subtitle, description, data, width, height)",
                            k->string);
    }
    preset_in_t in = {spec, NULL, NULL, NULL};
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(spec, "title");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(spec, "subtitle");
    if (t && !cJSON_IsString(t))
        return muse_err(err, MUSE_EINVAL, "title: expected a string");
    if (st && !cJSON_IsString(st))
        return muse_err(err, MUSE_EINVAL, "subtitle: expected a string");
    in.title = t ? t->valuestring : NULL;
    in.subtitle = st ? st->valuestring : NULL;
    cJSON *empty = NULL;
    in.data = cJSON_GetObjectItemCaseSensitive(spec, "data");
    if (!in.data || cJSON_IsNull(in.data)) {
        empty = cJSON_CreateArray();
        in.data = empty;
    } else if (!cJSON_IsArray(in.data)) {
        return muse_err(err, MUSE_EINVAL, "data: expected an array of readings");
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        cJSON_Delete(empty);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    cJSON_AddStringToObject(o, "preset", p->valuestring);
    int rc;
    switch (which) {
    case 0: rc = preset_bp_trend(&in, o, err); break;
    case 1: rc = preset_bp_category(&in, o, err); break;
    case 2: rc = preset_lab_panel(&in, o, err); break;
    case 3: rc = preset_weight_trend(&in, o, err); break;
    case 4: rc = preset_glucose_profile(&in, o, err); break;
    case 5: rc = preset_gauge(&in, o, 0, err); break;
    default: rc = preset_gauge(&in, o, 1, err); break;
    }
    cJSON_Delete(empty);
    if (rc != MUSE_OK) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return MUSE_OK;
}
