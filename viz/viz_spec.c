/* The chart spec parser: JSON (docs/chart-spec.md) into a viz_chart_t.
 *
 * Strict on purpose. The engine, the HTTP API and people at a terminal all
 * write specs, and a typo ("encodng", "sytolic") that silently drew an empty
 * chart would be worse than an error; so every key is checked, every field
 * is looked up in the data, and each error names its JSON path and, where it
 * can, the nearest valid word. Keys starting with '$' or '_' are comments. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/viz_int.h"

#define PATH_MAX_LEN 256

static void join(char *out, const char *path, const char *key)
{
    if (!path || !*path)
        snprintf(out, PATH_MAX_LEN, "%.200s", key);
    else
        snprintf(out, PATH_MAX_LEN, "%.190s.%.60s", path, key);
}

static void join_index(char *out, const char *path, const char *key, int i)
{
    if (!path || !*path)
        snprintf(out, PATH_MAX_LEN, "%.200s[%d]", key, i);
    else
        snprintf(out, PATH_MAX_LEN, "%.180s.%.50s[%d]", path, key, i);
}

static const char *json_kind(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "true/false";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    return "an object";
}

/* "unknown key" with the nearest allowed key, or the list of them. */
static int check_keys(const cJSON *obj, const char *path, const char *const *allowed,
                      muse_error_t *err)
{
    for (const cJSON *k = obj->child; k; k = k->next) {
        if (!k->string || k->string[0] == '$' || k->string[0] == '_')
            continue;
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k->string) == 0)
                ok = 1;
        if (ok)
            continue;
        char p[PATH_MAX_LEN];
        join(p, path, k->string);
        const char *best = NULL;
        int bd = 3;
        for (const char *const *a = allowed; *a; a++) {
            int d = viz_edit_distance(*a, k->string);
            if (d < bd) {
                bd = d;
                best = *a;
            }
        }
        if (best)
            return muse_err(err, MUSE_EINVAL, "%s: unknown key (did you mean \"%s\"?)", p, best);
        char list[400] = "";
        size_t off = 0;
        for (const char *const *a = allowed; *a && off < sizeof list - 40; a++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", a == allowed ? "" : ", ", *a);
        return muse_err(err, MUSE_EINVAL, "%s: unknown key (expected one of: %s)", p, list);
    }
    return MUSE_OK;
}

static int get_string(const cJSON *obj, const char *key, const char *path, char **out,
                      muse_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return MUSE_OK;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsString(v))
        return muse_err(err, MUSE_EINVAL, "%s: expected a string, got %s", p, json_kind(v));
    free(*out);
    *out = viz_utf8_clean(v->valuestring, 0);
    return *out ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
}

/* A number in [lo, hi]; absent leaves *out as it is. */
static int get_number(const cJSON *obj, const char *key, const char *path, double lo, double hi,
                      double *out, muse_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return MUSE_OK;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsNumber(v))
        return muse_err(err, MUSE_EINVAL, "%s: expected a number, got %s", p, json_kind(v));
    double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi)
        return muse_err(err, MUSE_ERANGE, "%s: %g is out of range (%g to %g)", p, d, lo, hi);
    *out = d;
    return MUSE_OK;
}

static int get_bool(const cJSON *obj, const char *key, const char *path, int *out,
                    muse_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return MUSE_OK;
    if (!cJSON_IsBool(v)) {
        char p[PATH_MAX_LEN];
        join(p, path, key);
        return muse_err(err, MUSE_EINVAL, "%s: expected true or false, got %s", p, json_kind(v));
    }
    *out = cJSON_IsTrue(v);
    return MUSE_OK;
}

/* One of names[]; *out gets its index. */
static int get_enum(const cJSON *obj, const char *key, const char *path, const char *const *names,
                    int *out, muse_error_t *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return MUSE_OK;
    char p[PATH_MAX_LEN];
    join(p, path, key);
    if (!cJSON_IsString(v))
        return muse_err(err, MUSE_EINVAL, "%s: expected a string, got %s", p, json_kind(v));
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], v->valuestring) == 0) {
            *out = i;
            return MUSE_OK;
        }
    char list[300] = "";
    size_t off = 0;
    for (int i = 0; names[i] && off < sizeof list - 40; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", names[i]);
    return muse_err(err, MUSE_EINVAL, "%s: unknown value \"%.60s\" (expected one of: %s)", p,
                    v->valuestring, list);
}

/* ---- Freeing -------------------------------------------------------------- */

static void chan_free(viz_chan_t *c)
{
    free(c->field);
    free(c->str);
    free(c->title);
    free(c->unit);
    memset(c, 0, sizeof *c);
}

static void layer_free(viz_layer_t *l)
{
    free(l->name);
    free(l->rows);
    chan_free(&l->x);
    chan_free(&l->y);
    chan_free(&l->x2);
    chan_free(&l->y2);
    chan_free(&l->text);
    for (size_t i = 0; i < l->ntips; i++)
        chan_free(&l->tips[i]);
    free(l->tips);
    free(l->label);
}

static void axis_free(viz_axis_spec_t *a)
{
    free(a->title);
    free(a->unit);
}

static void panel_free(viz_panel_t *p)
{
    for (size_t i = 0; i < p->nlayers; i++)
        layer_free(&p->layers[i]);
    free(p->layers);
    free(p->title);
    free(p->subtitle);
    axis_free(&p->x);
    axis_free(&p->y);
}

void viz_chart_free(viz_chart_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->npanels; i++)
        panel_free(&c->panels[i]);
    free(c->panels);
    for (size_t i = 0; i < c->ntables; i++)
        viz_table_free(c->tables[i]);
    free(c->tables);
    free(c->title);
    free(c->subtitle);
    free(c->description);
    free(c->summary);
    free(c->preset);
    free(c->note);
    free(c);
}

const char *viz_chart_title(const viz_chart_t *c)
{
    return c && c->title ? c->title : "";
}

const char *viz_chart_summary(const viz_chart_t *c)
{
    return c && c->summary ? c->summary : "";
}

/* ---- Channels ---------------------------------------------------------------- */

static const char *const type_names[] = {"auto", "quantitative", "temporal", "nominal", "ordinal", NULL};

static int add_table(viz_chart_t *c, viz_table_t *t)
{
    viz_table_t **v = realloc(c->tables, (c->ntables + 1) * sizeof *v);
    if (!v)
        return -1;
    c->tables = v;
    v[c->ntables] = t;
    return (int)c->ntables++;
}

/* A datum: a number, or a string that is a time (or, for text/nominal, any
 * string). */
static int parse_datum(const cJSON *v, const char *p, viz_chan_t *ch, muse_error_t *err)
{
    ch->kind = VIZ_CH_DATUM;
    if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble))
            return muse_err(err, MUSE_ERANGE, "%s: not a finite number", p);
        ch->num = v->valuedouble;
        if (ch->type == VIZ_TYPE_AUTO)
            ch->type = VIZ_TYPE_QUANT;
        return MUSE_OK;
    }
    if (cJSON_IsString(v)) {
        double t;
        if (viz_parse_time(v->valuestring, &t)) {
            ch->num = t;
            if (ch->type == VIZ_TYPE_AUTO)
                ch->type = VIZ_TYPE_TIME;
            return MUSE_OK;
        }
        ch->num = NAN;
        ch->str = viz_utf8_clean(v->valuestring, 0);
        if (!ch->str)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        if (ch->type == VIZ_TYPE_AUTO)
            ch->type = VIZ_TYPE_NOMINAL;
        return MUSE_OK;
    }
    return muse_err(err, MUSE_EINVAL, "%s: expected a number or a time string, got %s", p,
                    json_kind(v));
}

static int field_list(const viz_table_t *t, char *out, size_t cap)
{
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; t && i < t->ncols && off + 40 < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, "%s%s", i ? ", " : "", t->cols[i].name);
    return (int)off;
}

/* which: "x", "y", "text", "color", "tooltip" — decides what is allowed. */
static int parse_chan(const cJSON *j, const char *path, const char *which, const viz_table_t *t,
                      viz_chan_t *ch, muse_error_t *err)
{
    static const char *const keys[] = {"field", "type", "title", "unit", "datum", "value",
                                       "decimals", NULL};
    if (!cJSON_IsObject(j))
        return muse_err(err, MUSE_EINVAL, "%s: expected an object like {\"field\": \"name\"}, got %s",
                        path, json_kind(j));
    int rc = check_keys(j, path, keys, err);
    if (rc != MUSE_OK)
        return rc;
    int ty = 0;
    double dec = -1;
    if ((rc = get_enum(j, "type", path, type_names, &ty, err)) != MUSE_OK ||
        (rc = get_string(j, "title", path, &ch->title, err)) != MUSE_OK ||
        (rc = get_string(j, "unit", path, &ch->unit, err)) != MUSE_OK ||
        (rc = get_number(j, "decimals", path, 0, 10, &dec, err)) != MUSE_OK)
        return rc;
    ch->type = (viz_type_t)ty;
    ch->decimals = (int)dec;
    ch->col = -1;
    const cJSON *field = cJSON_GetObjectItemCaseSensitive(j, "field");
    const cJSON *datum = cJSON_GetObjectItemCaseSensitive(j, "datum");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(j, "value");
    int nset = (field != NULL) + (datum != NULL) + (value != NULL);
    char p[PATH_MAX_LEN];
    if (nset != 1)
        return muse_err(err, MUSE_EINVAL, "%s: give exactly one of \"field\", \"datum\" or \"value\"",
                        path);
    if (field) {
        join(p, path, "field");
        if (!cJSON_IsString(field) || !field->valuestring[0])
            return muse_err(err, MUSE_EINVAL, "%s: expected a field name", p);
        ch->kind = VIZ_CH_FIELD;
        ch->field = viz_strdup(field->valuestring);
        if (!ch->field)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        if (!t || t->n == 0)
            return MUSE_OK;   /* no data: a "no data" chart, nothing to check */
        ch->col = viz_table_col(t, ch->field);
        if (ch->col < 0) {
            char list[300];
            field_list(t, list, sizeof list);
            const char *best = NULL;
            int bd = 3;
            for (size_t i = 0; i < t->ncols; i++) {
                int d = viz_edit_distance(t->cols[i].name, ch->field);
                if (d < bd) {
                    bd = d;
                    best = t->cols[i].name;
                }
            }
            if (best)
                return muse_err(err, MUSE_EINVAL, "%s: no field \"%.60s\" in the data (did you mean \"%s\"?)",
                                p, ch->field, best);
            return muse_err(err, MUSE_EINVAL, "%s: no field \"%.60s\" in the data (fields: %s)", p,
                            ch->field, list);
        }
        const viz_col_t *col = &t->cols[ch->col];
        if (ch->type == VIZ_TYPE_AUTO)
            ch->type = col->is_time ? VIZ_TYPE_TIME : col->has_str ? VIZ_TYPE_NOMINAL : VIZ_TYPE_QUANT;
        int positional = strcmp(which, "x") == 0 || strcmp(which, "y") == 0;
        if (positional && (ch->type == VIZ_TYPE_QUANT || ch->type == VIZ_TYPE_TIME) && col->has_str)
            return muse_err(err, MUSE_EINVAL,
                            "%s: \"%.60s\" holds text, not %s (use \"type\": \"nominal\" for categories)",
                            p, ch->field, ch->type == VIZ_TYPE_TIME ? "times" : "numbers");
        if (ch->type == VIZ_TYPE_TIME && !col->is_time)
            return muse_err(err, MUSE_EINVAL,
                            "%s: \"%.60s\" holds no ISO-8601 times (like \"2024-03-01T08:30\")", p,
                            ch->field);
        return MUSE_OK;
    }
    if (datum) {
        join(p, path, "datum");
        return parse_datum(datum, p, ch, err);
    }
    join(p, path, "value");
    ch->kind = VIZ_CH_VALUE;
    if (cJSON_IsString(value)) {
        ch->str = viz_utf8_clean(value->valuestring, 0);
        return ch->str ? MUSE_OK : muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    if (cJSON_IsNumber(value) && isfinite(value->valuedouble)) {
        ch->num = value->valuedouble;
        return MUSE_OK;
    }
    return muse_err(err, MUSE_EINVAL, "%s: expected a string or a number, got %s", p, json_kind(value));
}

/* ---- Layers -------------------------------------------------------------------- */

static const char *const mark_names[] = {"line", "point", "area", "bar", "rule", "rect", "text",
                                         "band", NULL};
static const char *const shape_names[] = {"circle", "square", "triangle", "diamond",
                                          "triangle-down", NULL};
static const char *const pattern_names[] = {"none", "horizontal", "diagonal", "back-diagonal",
                                            "cross", "dense", "vertical", NULL};
static const char *const labelpos_names[] = {"auto", "right", "inside", "top", "left", "bottom",
                                             NULL};
static const char *const align_names[] = {"start", "middle", "end", NULL};

#define STYLE_KEYS                                                                          \
    "color", "stroke", "opacity", "stroke_width", "dash", "shape", "size", "point", "filled", \
        "pattern", "label", "label_position", "legend", "bold", "align", "dx", "dy", "domain"

static int parse_style(const cJSON *j, const char *path, viz_layer_t *l, muse_error_t *err)
{
    int rc;
    char p[PATH_MAX_LEN];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "color");
    if (v) {
        join(p, path, "color");
        if (!cJSON_IsString(v) || !viz_color_parse(v->valuestring, &l->color))
            return muse_err(err, MUSE_EINVAL, "%s: expected a colour like \"#0072B2\" or \"blue\"", p);
        l->has_color = 1;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "stroke");
    if (v) {
        join(p, path, "stroke");
        if (!cJSON_IsString(v) || !viz_color_parse(v->valuestring, &l->stroke))
            return muse_err(err, MUSE_EINVAL, "%s: expected a colour like \"#0072B2\"", p);
        l->has_stroke = 1;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "dash");
    if (v) {
        join(p, path, "dash");
        int n = cJSON_GetArraySize(v);
        if (!cJSON_IsArray(v) || n > 4)
            return muse_err(err, MUSE_EINVAL, "%s: expected up to four lengths like [4, 2]", p);
        l->ndash = 0;
        for (const cJSON *d = v->child; d; d = d->next) {
            if (!cJSON_IsNumber(d) || !(d->valuedouble > 0) || d->valuedouble > 100)
                return muse_err(err, MUSE_EINVAL, "%s: dash lengths are numbers from 0 to 100", p);
            l->dash[l->ndash++] = d->valuedouble;
        }
    }
    int shape = (int)l->shape, pat = (int)l->pattern, lp = (int)l->label_pos, al = (int)l->anchor;
    if ((rc = get_number(j, "opacity", path, 0, 1, &l->opacity, err)) != MUSE_OK ||
        (rc = get_number(j, "stroke_width", path, 0, 50, &l->stroke_width, err)) != MUSE_OK ||
        (rc = get_number(j, "size", path, 0.5, 100, &l->size, err)) != MUSE_OK ||
        (rc = get_number(j, "dx", path, -1000, 1000, &l->dx, err)) != MUSE_OK ||
        (rc = get_number(j, "dy", path, -1000, 1000, &l->dy, err)) != MUSE_OK ||
        (rc = get_enum(j, "shape", path, shape_names, &shape, err)) != MUSE_OK ||
        (rc = get_enum(j, "pattern", path, pattern_names, &pat, err)) != MUSE_OK ||
        (rc = get_enum(j, "label_position", path, labelpos_names, &lp, err)) != MUSE_OK ||
        (rc = get_enum(j, "align", path, align_names, &al, err)) != MUSE_OK ||
        (rc = get_bool(j, "point", path, &l->points, err)) != MUSE_OK ||
        (rc = get_bool(j, "filled", path, &l->filled, err)) != MUSE_OK ||
        (rc = get_bool(j, "legend", path, &l->legend, err)) != MUSE_OK ||
        (rc = get_bool(j, "bold", path, &l->bold, err)) != MUSE_OK ||
        (rc = get_bool(j, "domain", path, &l->domain, err)) != MUSE_OK ||
        (rc = get_string(j, "label", path, &l->label, err)) != MUSE_OK)
        return rc;
    l->shape = (viz_series_shape_t)shape;
    l->pattern = (viz_pattern_t)pat;
    l->label_pos = (viz_labelpos_t)lp;
    l->anchor = (viz_anchor_t)al;
    return MUSE_OK;
}

static void layer_defaults(viz_layer_t *l)
{
    memset(l, 0, sizeof *l);
    l->table = -1;
    l->opacity = 1;
    l->stroke_width = -1;
    l->size = -1;
    l->filled = 1;
    l->points = -1;
    l->legend = 1;
    l->domain = 1;
    l->anchor = VIZ_ANCHOR_MIDDLE;
    l->x.col = l->y.col = l->x2.col = l->y2.col = l->text.col = -1;
}

static int parse_tooltip(const cJSON *v, const char *path, const viz_table_t *t, viz_layer_t *l,
                         muse_error_t *err)
{
    if (cJSON_IsBool(v)) {
        l->tips_off = !cJSON_IsTrue(v);
        return MUSE_OK;
    }
    const cJSON *one = cJSON_IsObject(v) ? v : NULL;
    if (!one && !cJSON_IsArray(v))
        return muse_err(err, MUSE_EINVAL, "%s: expected an array of {\"field\": ...}, an object or false",
                        path);
    int n = one ? 1 : cJSON_GetArraySize(v);
    if (n > 32)
        return muse_err(err, MUSE_ELIMIT, "%s: at most 32 tooltip fields", path);
    l->tips = calloc((size_t)(n ? n : 1), sizeof *l->tips);
    if (!l->tips)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX_LEN];
        if (one)
            snprintf(p, sizeof p, "%s", path);
        else
            snprintf(p, sizeof p, "%.240s[%d]", path, i);
        l->ntips++;
        int rc = parse_chan(one ? one : cJSON_GetArrayItem(v, i), p, "tooltip", t, &l->tips[i], err);
        if (rc != MUSE_OK)
            return rc;
    }
    return MUSE_OK;
}

static int parse_encoding(const cJSON *enc, const char *path, const viz_table_t *t, viz_layer_t *l,
                          const cJSON **color_field, muse_error_t *err)
{
    static const char *const keys[] = {"x", "y", "x2", "y2", "color", "text", "tooltip", NULL};
    if (!cJSON_IsObject(enc))
        return muse_err(err, MUSE_EINVAL, "%s: expected an object like {\"x\": {...}, \"y\": {...}}",
                        path);
    int rc = check_keys(enc, path, keys, err);
    if (rc != MUSE_OK)
        return rc;
    struct {
        const char *key;
        viz_chan_t *ch;
        const char *which;
    } chans[] = {{"x", &l->x, "x"},   {"y", &l->y, "y"},         {"x2", &l->x2, "x"},
                 {"y2", &l->y2, "y"}, {"text", &l->text, "text"}};
    char p[PATH_MAX_LEN];
    for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(enc, chans[i].key);
        if (!v)
            continue;
        join(p, path, chans[i].key);
        if ((rc = parse_chan(v, p, chans[i].which, t, chans[i].ch, err)) != MUSE_OK)
            return rc;
    }
    const cJSON *color = cJSON_GetObjectItemCaseSensitive(enc, "color");
    if (color) {
        viz_chan_t ch = {0};
        join(p, path, "color");
        rc = parse_chan(color, p, "color", t, &ch, err);
        if (rc == MUSE_OK && ch.kind == VIZ_CH_VALUE) {
            char pv[PATH_MAX_LEN];
            join(pv, p, "value");
            if (!ch.str || !viz_color_parse(ch.str, &l->color))
                rc = muse_err(err, MUSE_EINVAL, "%s: expected a colour like \"#0072B2\"", pv);
            l->has_color = 1;
        } else if (rc == MUSE_OK && ch.kind == VIZ_CH_FIELD) {
            *color_field = cJSON_GetObjectItemCaseSensitive(color, "field");
        } else if (rc == MUSE_OK) {
            rc = muse_err(err, MUSE_EINVAL, "%s: use {\"value\": \"#hex\"} or {\"field\": \"name\"}", p);
        }
        chan_free(&ch);
        if (rc != MUSE_OK)
            return rc;
    }
    const cJSON *tip = cJSON_GetObjectItemCaseSensitive(enc, "tooltip");
    if (tip) {
        join(p, path, "tooltip");
        if ((rc = parse_tooltip(tip, p, t, l, err)) != MUSE_OK)
            return rc;
    }
    return MUSE_OK;
}

/* Checks that the channels a mark needs are there. */
static int check_mark_channels(const viz_layer_t *l, const char *path, muse_error_t *err)
{
    const char *need = NULL;
    switch (l->mark) {
    case VIZ_MARK_LINE:
    case VIZ_MARK_POINT:
    case VIZ_MARK_AREA:
    case VIZ_MARK_BAR:
        if (!l->x.kind)
            need = "x";
        else if (!l->y.kind)
            need = "y";
        break;
    case VIZ_MARK_TEXT:
        if (!l->text.kind && !l->label)
            need = "text";
        else if (!l->x.kind && !l->y.kind)
            need = "x or y";
        break;
    case VIZ_MARK_RULE:
        if (!l->x.kind && !l->y.kind)
            need = "x or y";
        break;
    case VIZ_MARK_RECT:
        break;
    }
    if (need)
        return muse_err(err, MUSE_EINVAL, "%s.encoding: a %s mark needs \"%s\"", path,
                        mark_names[l->mark], need);
    viz_chan_t const *pos[] = {&l->x, &l->y, &l->x2, &l->y2};
    for (int i = 0; i < 4; i++)
        if (pos[i]->kind == VIZ_CH_VALUE)
            return muse_err(err, MUSE_EINVAL,
                            "%s.encoding.%s: use \"datum\" for a position in data units, not \"value\"",
                            path, i == 0 ? "x" : i == 1 ? "y" : i == 2 ? "x2" : "y2");
    return MUSE_OK;
}

/* Splits a layer coloured by a field into one series per value, in order of
 * first appearance, each with the next Okabe–Ito colour. */
static int split_by_color(viz_panel_t *pn, size_t li, const viz_table_t *t, const char *field,
                          const char *path, size_t *palette_next, muse_error_t *err)
{
    int c = viz_table_col(t, field);
    if (!t || t->n == 0 || c < 0)
        return MUSE_OK;
    const viz_col_t *col = &t->cols[c];
    char **names = NULL;
    size_t nnames = 0;
    int *which = malloc(t->n * sizeof *which);
    int rc = MUSE_OK;
    if (!which)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        char buf[64];
        const char *s = col->str && col->str[i] ? col->str[i] : NULL;
        if (!s) {
            if (col->is_time)
                viz_format_datetime(col->num[i], col->has_clock, buf, sizeof buf);
            else
                viz_format_number(col->num[i], -1, buf, sizeof buf);
            s = buf;
        }
        size_t k = 0;
        while (k < nnames && strcmp(names[k], s) != 0)
            k++;
        if (k == nnames) {
            if (nnames == 16) {
                rc = muse_err(err, MUSE_ELIMIT, "%s.encoding.color.field: \"%s\" has more than 16 values; "
                              "a chart cannot show that many colours apart", path, field);
                goto done;
            }
            char **nn = realloc(names, (nnames + 1) * sizeof *nn);
            if (!nn || !(nn[nnames] = viz_strdup(s))) {
                if (nn)
                    names = nn;
                rc = muse_err(err, MUSE_ENOMEM, "out of memory");
                goto done;
            }
            names = nn;
            nnames++;
        }
        which[i] = (int)k;
    }
    /* Make room for nnames - 1 more layers after li. */
    viz_layer_t *ls = realloc(pn->layers, (pn->nlayers + nnames) * sizeof *ls);
    if (!ls) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    pn->layers = ls;
    memmove(&ls[li + nnames], &ls[li + 1], (pn->nlayers - li - 1) * sizeof *ls);
    viz_layer_t proto = ls[li];
    for (size_t k = 0; k < nnames; k++) {
        viz_layer_t *l = &ls[li + k];
        *l = proto;
        /* Deep-copy what the prototype owns (the first copy keeps the originals). */
        if (k > 0) {
            viz_chan_t *chs[] = {&l->x, &l->y, &l->x2, &l->y2, &l->text};
            for (int j = 0; j < 5; j++) {
                chs[j]->field = viz_strdup(chs[j]->field);
                chs[j]->str = viz_strdup(chs[j]->str);
                chs[j]->title = viz_strdup(chs[j]->title);
                chs[j]->unit = viz_strdup(chs[j]->unit);
            }
            l->label = viz_strdup(l->label);
            if (proto.ntips) {
                l->tips = calloc(proto.ntips, sizeof *l->tips);
                for (size_t j = 0; l->tips && j < proto.ntips; j++) {
                    l->tips[j] = proto.tips[j];
                    l->tips[j].field = viz_strdup(proto.tips[j].field);
                    l->tips[j].str = viz_strdup(proto.tips[j].str);
                    l->tips[j].title = viz_strdup(proto.tips[j].title);
                    l->tips[j].unit = viz_strdup(proto.tips[j].unit);
                }
                if (!l->tips)
                    l->ntips = 0;
            }
        }
        l->name = names[k];
        names[k] = NULL;
        if (!l->has_color || k > 0)
            l->color = viz_okabe_ito[(*palette_next)++ % 8];
        l->has_color = 1;
        l->rows = malloc(t->n * sizeof *l->rows);
        l->nrows = 0;
        if (!l->rows) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            pn->nlayers += k;
            goto done;
        }
        for (size_t i = 0; i < t->n; i++)
            if (which[i] == (int)k)
                l->rows[l->nrows++] = i;
    }
    free(proto.name);
    pn->nlayers += nnames - 1;
done:
    for (size_t k = 0; k < nnames; k++)
        free(names[k]);
    free(names);
    free(which);
    return rc;
}

static int parse_layer(viz_chart_t *c, viz_panel_t *pn, const cJSON *j, const char *path,
                       int inherited_table, size_t *palette_next, muse_error_t *err)
{
    static const char *const keys[] = {"mark", "name", "data", "encoding", STYLE_KEYS, NULL};
    static const char *const mark_keys[] = {"type", STYLE_KEYS, NULL};
    if (!cJSON_IsObject(j))
        return muse_err(err, MUSE_EINVAL, "%s: expected a layer object like {\"mark\": \"line\", ...}",
                        path);
    int rc = check_keys(j, path, keys, err);
    if (rc != MUSE_OK)
        return rc;
    viz_layer_t *ls = realloc(pn->layers, (pn->nlayers + 1) * sizeof *ls);
    if (!ls)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    pn->layers = ls;
    size_t li = pn->nlayers;
    viz_layer_t *l = &ls[pn->nlayers++];
    layer_defaults(l);

    char p[PATH_MAX_LEN];
    const cJSON *mark = cJSON_GetObjectItemCaseSensitive(j, "mark");
    join(p, path, "mark");
    const cJSON *mtype = mark;
    if (cJSON_IsObject(mark)) {
        if ((rc = check_keys(mark, p, mark_keys, err)) != MUSE_OK)
            return rc;
        mtype = cJSON_GetObjectItemCaseSensitive(mark, "type");
        char pm[PATH_MAX_LEN];
        snprintf(pm, sizeof pm, "%s", p);
        join(p, pm, "type");
    }
    if (!mtype)
        return muse_err(err, MUSE_EINVAL, "%s: missing (one of line, point, area, bar, rule, rect, text)",
                        p);
    if (!cJSON_IsString(mtype))
        return muse_err(err, MUSE_EINVAL, "%s: expected a mark name, got %s", p, json_kind(mtype));
    int m = -1;
    for (int i = 0; mark_names[i]; i++)
        if (strcmp(mark_names[i], mtype->valuestring) == 0)
            m = i;
    if (m < 0)
        return muse_err(err, MUSE_EINVAL,
                        "%s: unknown mark \"%.60s\" (expected one of line, point, area, bar, rule, rect, band, text)",
                        p, mtype->valuestring);
    l->mark = m == 7 ? VIZ_MARK_RECT : (viz_mark_t)m;

    if ((rc = get_string(j, "name", path, &l->name, err)) != MUSE_OK)
        return rc;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (data) {
        viz_table_t *t = NULL;
        join(p, path, "data");
        if ((rc = viz_table_from_json(data, p, &t, err)) != MUSE_OK)
            return rc;
        l->table = add_table(c, t);
        if (l->table < 0) {
            viz_table_free(t);
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        }
    } else {
        l->table = inherited_table;
    }
    const viz_table_t *t = l->table >= 0 ? c->tables[l->table] : NULL;
    if ((rc = parse_style(j, path, l, err)) != MUSE_OK)
        return rc;
    if (cJSON_IsObject(mark)) {
        join(p, path, "mark");
        if ((rc = parse_style(mark, p, l, err)) != MUSE_OK)
            return rc;
    }
    const cJSON *enc = cJSON_GetObjectItemCaseSensitive(j, "encoding");
    const cJSON *color_field = NULL;
    if (enc) {
        join(p, path, "encoding");
        if ((rc = parse_encoding(enc, p, t, l, &color_field, err)) != MUSE_OK)
            return rc;
    }
    if ((rc = check_mark_channels(l, path, err)) != MUSE_OK)
        return rc;
    /* A field channel needs data. */
    viz_chan_t *chs[] = {&l->x, &l->y, &l->x2, &l->y2, &l->text};
    for (int i = 0; i < 5; i++)
        if (chs[i]->kind == VIZ_CH_FIELD && !t)
            return muse_err(err, MUSE_EINVAL,
                            "%s.encoding: \"%s\" is a field, but the layer has no data (add \"data\")",
                            path, chs[i]->field);
    int is_series = l->mark == VIZ_MARK_LINE || l->mark == VIZ_MARK_POINT ||
                    l->mark == VIZ_MARK_AREA || l->mark == VIZ_MARK_BAR;
    if (is_series && !l->has_color)
        l->color = viz_okabe_ito[(*palette_next)++ % 8];
    else if (!l->has_color)
        l->color = l->mark == VIZ_MARK_RECT ? viz_rgb(0xE8E8E8) : viz_rgb(0x333333);
    l->has_color = 1;
    if (is_series && !l->name) {
        const char *nm = l->y.title ? l->y.title : l->y.field ? l->y.field : mark_names[l->mark];
        l->name = viz_strdup(nm);
        if (!l->name)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    if (!is_series && !cJSON_GetObjectItemCaseSensitive(j, "legend"))
        l->legend = 0;
    if (color_field)
        return split_by_color(pn, li, t, color_field->valuestring, path, palette_next, err);
    return MUSE_OK;
}

/* An annotation: {"type": "text"|"rule"|"band", "x"?, "y"?, "x2"?, "y2"?,
 * "text"?, "color"?}; values are data values (numbers or time strings). */
static int parse_annotation(viz_panel_t *pn, const cJSON *j, const char *path, muse_error_t *err)
{
    static const char *const keys[] = {"type", "x", "y", "x2", "y2", "text", "color", "dash",
                                       "pattern", "label_position", "size", "bold", NULL};
    static const char *const types[] = {"text", "rule", "band", NULL};
    if (!cJSON_IsObject(j))
        return muse_err(err, MUSE_EINVAL, "%s: expected an object like {\"type\": \"rule\", \"y\": 140}",
                        path);
    int rc = check_keys(j, path, keys, err);
    if (rc != MUSE_OK)
        return rc;
    int ty = -1;
    if ((rc = get_enum(j, "type", path, types, &ty, err)) != MUSE_OK)
        return rc;
    if (ty < 0)
        return muse_err(err, MUSE_EINVAL, "%s.type: missing (text, rule or band)", path);
    viz_layer_t *ls = realloc(pn->layers, (pn->nlayers + 1) * sizeof *ls);
    if (!ls)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    pn->layers = ls;
    viz_layer_t *l = &ls[pn->nlayers++];
    layer_defaults(l);
    l->legend = 0;
    l->domain = 0;
    l->mark = ty == 0 ? VIZ_MARK_TEXT : ty == 1 ? VIZ_MARK_RULE : VIZ_MARK_RECT;
    l->color = ty == 2 ? viz_rgb(0xEEEEEE) : viz_rgb(0x333333);
    l->has_color = 1;
    struct {
        const char *key;
        viz_chan_t *ch;
    } pos[] = {{"x", &l->x}, {"y", &l->y}, {"x2", &l->x2}, {"y2", &l->y2}};
    char p[PATH_MAX_LEN];
    for (int i = 0; i < 4; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, pos[i].key);
        if (!v)
            continue;
        join(p, path, pos[i].key);
        pos[i].ch->col = -1;
        if ((rc = parse_datum(v, p, pos[i].ch, err)) != MUSE_OK)
            return rc;
        if (pos[i].ch->str)
            return muse_err(err, MUSE_EINVAL, "%s: expected a number or an ISO-8601 time", p);
    }
    if ((rc = get_string(j, "text", path, &l->label, err)) != MUSE_OK ||
        (rc = parse_style(j, path, l, err)) != MUSE_OK)
        return rc;
    if (ty == 0 && (!l->label || (!l->x.kind && !l->y.kind)))
        return muse_err(err, MUSE_EINVAL, "%s: a text annotation needs \"text\" and \"x\" or \"y\"", path);
    if (ty == 1 && !l->x.kind && !l->y.kind)
        return muse_err(err, MUSE_EINVAL, "%s: a rule annotation needs \"x\" or \"y\"", path);
    if (ty == 0) {
        l->text.kind = VIZ_CH_VALUE;
        l->text.str = viz_strdup(l->label);
        if (!l->text.str)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        l->anchor = VIZ_ANCHOR_START;
    }
    return MUSE_OK;
}

static int parse_axis(const cJSON *j, const char *path, viz_axis_spec_t *a, muse_error_t *err)
{
    static const char *const keys[] = {"type", "domain", "nice", "zero", "title", "unit", "grid",
                                       "axis", "ticks", "decimals", NULL};
    static const char *const types[] = {"auto", "linear", "log", "time", "band", NULL};
    if (!cJSON_IsObject(j))
        return muse_err(err, MUSE_EINVAL, "%s: expected an object like {\"type\": \"linear\"}", path);
    int rc = check_keys(j, path, keys, err);
    if (rc != MUSE_OK)
        return rc;
    int ty = (int)a->type;
    double ticks = a->ticks, dec = a->decimals;
    if ((rc = get_enum(j, "type", path, types, &ty, err)) != MUSE_OK ||
        (rc = get_bool(j, "nice", path, &a->nice, err)) != MUSE_OK ||
        (rc = get_bool(j, "zero", path, &a->zero, err)) != MUSE_OK ||
        (rc = get_bool(j, "grid", path, &a->grid, err)) != MUSE_OK ||
        (rc = get_bool(j, "axis", path, &a->show, err)) != MUSE_OK ||
        (rc = get_number(j, "ticks", path, 0, 50, &ticks, err)) != MUSE_OK ||
        (rc = get_number(j, "decimals", path, 0, 10, &dec, err)) != MUSE_OK ||
        (rc = get_string(j, "title", path, &a->title, err)) != MUSE_OK ||
        (rc = get_string(j, "unit", path, &a->unit, err)) != MUSE_OK)
        return rc;
    a->type = (viz_scale_type_t)ty;
    a->ticks = (int)ticks;
    a->decimals = (int)dec;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "domain");
    if (d) {
        char p[PATH_MAX_LEN];
        join(p, path, "domain");
        if (!cJSON_IsArray(d) || cJSON_GetArraySize(d) != 2)
            return muse_err(err, MUSE_EINVAL, "%s: expected [low, high]", p);
        double v[2];
        for (int i = 0; i < 2; i++) {
            const cJSON *e = cJSON_GetArrayItem(d, i);
            if (cJSON_IsNumber(e) && isfinite(e->valuedouble))
                v[i] = e->valuedouble;
            else if (!cJSON_IsString(e) || !viz_parse_time(e->valuestring, &v[i]))
                return muse_err(err, MUSE_EINVAL, "%s[%d]: expected a number or an ISO-8601 time", p, i);
        }
        if (!(v[0] < v[1]))
            return muse_err(err, MUSE_ERANGE, "%s: low (%g) must be below high (%g)", p, v[0], v[1]);
        a->has_domain = 1;
        a->lo = v[0];
        a->hi = v[1];
    }
    return MUSE_OK;
}

static void axis_defaults(viz_axis_spec_t *a)
{
    memset(a, 0, sizeof *a);
    a->nice = -1;
    a->zero = -1;
    a->grid = -1;
    a->show = 1;
    a->decimals = -1;
}

static viz_scale_type_t scale_for(const viz_chan_t *ch)
{
    switch (ch->type) {
    case VIZ_TYPE_TIME: return VIZ_SCALE_TIME;
    case VIZ_TYPE_NOMINAL:
    case VIZ_TYPE_ORDINAL: return VIZ_SCALE_BAND;
    default: return VIZ_SCALE_LINEAR;
    }
}

/* Decides each axis's scale from its channels (unless the spec says) and
 * rejects a panel that puts times and numbers on one axis. */
static int resolve_axis(viz_panel_t *pn, int is_x, const char *path, muse_error_t *err)
{
    static const char *const sname[] = {"auto", "linear", "log", "time", "band"};
    viz_axis_spec_t *a = is_x ? &pn->x : &pn->y;
    viz_scale_type_t want = a->type;
    const char *first = NULL;
    char firstbuf[PATH_MAX_LEN];
    for (size_t i = 0; i < pn->nlayers; i++) {
        viz_layer_t *l = &pn->layers[i];
        viz_chan_t *chs[2] = {is_x ? &l->x : &l->y, is_x ? &l->x2 : &l->y2};
        for (int k = 0; k < 2; k++) {
            viz_chan_t *ch = chs[k];
            if (ch->kind != VIZ_CH_FIELD && ch->kind != VIZ_CH_DATUM)
                continue;
            if (ch->kind == VIZ_CH_FIELD && ch->col < 0)
                continue;   /* no data: nothing to say about its type */
            viz_scale_type_t t = scale_for(ch);
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%s%slayers[%zu].encoding.%s%s", path, *path ? "." : "", i,
                     is_x ? "x" : "y", k ? "2" : "");
            if (want == VIZ_SCALE_AUTO) {
                want = t;
                snprintf(firstbuf, sizeof firstbuf, "%s", p);
                first = firstbuf;
                continue;
            }
            int ok = want == t || want == VIZ_SCALE_BAND ||
                     (want == VIZ_SCALE_LOG && t == VIZ_SCALE_LINEAR);
            if (!ok) {
                if (first)
                    return muse_err(err, MUSE_EINVAL, "%s: %s values on the %s axis, but %s put %s values there",
                                    p, sname[t], is_x ? "x" : "y", first, sname[want]);
                return muse_err(err, MUSE_EINVAL, "%s: %s values on a %s scale", p, sname[t], sname[want]);
            }
        }
    }
    a->type = want == VIZ_SCALE_AUTO ? VIZ_SCALE_LINEAR : want;
    if (a->type == VIZ_SCALE_LOG && a->has_domain && a->lo <= 0)
        return muse_err(err, MUSE_ERANGE, "%s%sy.domain: a log scale needs a domain above zero",
                        path, *path ? "." : "");
    return MUSE_OK;
}

static int parse_panel(viz_chart_t *c, viz_panel_t *pn, const cJSON *j, const char *path,
                       int inherited_table, size_t *palette_next, muse_error_t *err)
{
    int rc;
    char p[PATH_MAX_LEN];
    axis_defaults(&pn->x);
    axis_defaults(&pn->y);
    /* A single chart's title belongs to the chart, not its one panel. */
    if (path && *path &&
        ((rc = get_string(j, "title", path, &pn->title, err)) != MUSE_OK ||
         (rc = get_string(j, "subtitle", path, &pn->subtitle, err)) != MUSE_OK ||
         (rc = get_number(j, "height", path, 0, VIZ_MAX_SIDE, &pn->height, err)) != MUSE_OK))
        return rc;
    int table = inherited_table;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (data && path && *path) {   /* the top level's data was read by the caller */
        viz_table_t *t = NULL;
        join(p, path, "data");
        if ((rc = viz_table_from_json(data, p, &t, err)) != MUSE_OK)
            return rc;
        table = add_table(c, t);
        if (table < 0) {
            viz_table_free(t);
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        }
    }
    const char *axes[] = {"x", "y"};
    viz_axis_spec_t *as[] = {&pn->x, &pn->y};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, axes[i]);
        if (!a)
            continue;
        join(p, path, axes[i]);
        if ((rc = parse_axis(a, p, as[i], err)) != MUSE_OK)
            return rc;
    }
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(j, "layers");
    if (!layers)
        layers = cJSON_GetObjectItemCaseSensitive(j, "layer");   /* Vega-Lite's spelling */
    if (!layers) {
        join(p, path, "layers");
        return muse_err(err, MUSE_EINVAL, "%s: missing (a chart needs at least one layer, "
                        "or a \"preset\")", p);
    }
    if (!cJSON_IsArray(layers) || cJSON_GetArraySize(layers) == 0) {
        join(p, path, "layers");
        return muse_err(err, MUSE_EINVAL, "%s: expected a non-empty array of layers", p);
    }
    if (cJSON_GetArraySize(layers) > 64) {
        join(p, path, "layers");
        return muse_err(err, MUSE_ELIMIT, "%s: at most 64 layers", p);
    }
    int i = 0;
    for (const cJSON *l = layers->child; l; l = l->next, i++) {
        join_index(p, path, "layers", i);
        if ((rc = parse_layer(c, pn, l, p, table, palette_next, err)) != MUSE_OK)
            return rc;
    }
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(j, "annotations");
    if (ann) {
        if (!cJSON_IsArray(ann)) {
            join(p, path, "annotations");
            return muse_err(err, MUSE_EINVAL, "%s: expected an array", p);
        }
        if (cJSON_GetArraySize(ann) > 100) {
            join(p, path, "annotations");
            return muse_err(err, MUSE_ELIMIT, "%s: at most 100 annotations", p);
        }
        i = 0;
        for (const cJSON *a = ann->child; a; a = a->next, i++) {
            join_index(p, path, "annotations", i);
            if ((rc = parse_annotation(pn, a, p, err)) != MUSE_OK)
                return rc;
        }
    }
    if ((rc = resolve_axis(pn, 1, path, err)) != MUSE_OK ||
        (rc = resolve_axis(pn, 0, path, err)) != MUSE_OK)
        return rc;
    return MUSE_OK;
}

/* ---- Summary for people -------------------------------------------------------- */

/* "Systolic: 10 values, averaging 142 mmHg (118 to 162)." for each series
 * with numbers on y; used when the spec gives no description. */
static char *generic_summary(const viz_chart_t *c)
{
    viz_buf_t b = {0};
    size_t total = 0;
    for (size_t pi = 0; pi < c->npanels; pi++) {
        const viz_panel_t *pn = &c->panels[pi];
        for (size_t li = 0; li < pn->nlayers; li++) {
            const viz_layer_t *l = &pn->layers[li];
            if (!l->name || l->table < 0 || l->y.kind != VIZ_CH_FIELD || l->y.col < 0 ||
                l->y.type != VIZ_TYPE_QUANT)
                continue;
            const viz_table_t *t = c->tables[l->table];
            size_t n = 0;
            double sum = 0, lo = INFINITY, hi = -INFINITY;
            size_t nr = l->rows ? l->nrows : t->n;
            for (size_t k = 0; k < nr; k++) {
                double v = t->cols[l->y.col].num[l->rows ? l->rows[k] : k];
                if (!isfinite(v))
                    continue;
                n++;
                sum += v;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            total += n;
            if (n == 0)
                continue;
            char m[64], a[64], z[64];
            viz_format_number(sum / n, -1, m, sizeof m);
            viz_format_number(lo, -1, a, sizeof a);
            viz_format_number(hi, -1, z, sizeof z);
            const char *unit = viz_unit_display(l->y.unit ? l->y.unit : pn->y.unit);
            if (b.len)
                vb_puts(&b, " ");
            if (n == 1)
                vb_printf(&b, "%s: one value, %s%s%s.", l->name, m, *unit ? " " : "", unit);
            else
                vb_printf(&b, "%s: %zu values, averaging %s%s%s (%s to %s).", l->name, n, m,
                          *unit ? " " : "", unit, a, z);
        }
    }
    if (total == 0 && !b.len)
        vb_puts(&b, "No data to show.");
    return vb_steal(&b, NULL);
}

/* ---- Top level ------------------------------------------------------------------- */

int viz_spec_parse_plain(const cJSON *spec, viz_chart_t **out, muse_error_t *err)
{
    static const char *const keys[] = {"title", "subtitle", "description", "width", "height",
                                       "data", "layers", "layer", "vconcat", "x", "y", "legend",
                                       "annotations", "preset", "note", NULL};
    *out = NULL;
    if (!cJSON_IsObject(spec))
        return muse_err(err, MUSE_EINVAL, "spec: expected a JSON object");
    int rc = check_keys(spec, "", keys, err);
    if (rc != MUSE_OK)
        return rc;
    viz_chart_t *c = calloc(1, sizeof *c);
    if (!c)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    c->legend = 1;
    size_t palette_next = 0;
    if ((rc = get_string(spec, "title", "", &c->title, err)) != MUSE_OK ||
        (rc = get_string(spec, "subtitle", "", &c->subtitle, err)) != MUSE_OK ||
        (rc = get_string(spec, "description", "", &c->description, err)) != MUSE_OK ||
        (rc = get_string(spec, "preset", "", &c->preset, err)) != MUSE_OK ||
        (rc = get_string(spec, "note", "", &c->note, err)) != MUSE_OK)
        goto fail;
    const char *dims[] = {"width", "height"};
    double *dv[] = {&c->width, &c->height};
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, dims[i]);
        if (!v || cJSON_IsNull(v))
            continue;
        if (!cJSON_IsNumber(v)) {
            rc = muse_err(err, MUSE_EINVAL, "%s: expected a number of points, got %s", dims[i],
                          json_kind(v));
            goto fail;
        }
        double d = v->valuedouble;
        if (!isfinite(d) || d < VIZ_MIN_SIDE || d > VIZ_MAX_SIDE) {
            rc = muse_err(err, MUSE_ERANGE, "%s: %g points is not a chart size (give %g to %g)",
                          dims[i], d, VIZ_MIN_SIDE, VIZ_MAX_SIDE);
            goto fail;
        }
        *dv[i] = d;
    }
    const cJSON *legend = cJSON_GetObjectItemCaseSensitive(spec, "legend");
    if (legend) {
        if (cJSON_IsBool(legend)) {
            c->legend = cJSON_IsTrue(legend);
        } else if (cJSON_IsObject(legend)) {
            static const char *const lk[] = {"position", NULL};
            static const char *const lp[] = {"none", "top", "bottom", NULL};
            int pos = 1;
            if ((rc = check_keys(legend, "legend", lk, err)) != MUSE_OK ||
                (rc = get_enum(legend, "position", "legend", lp, &pos, err)) != MUSE_OK)
                goto fail;
            c->legend = pos;
        } else {
            rc = muse_err(err, MUSE_EINVAL, "legend: expected true, false or {\"position\": ...}");
            goto fail;
        }
    }
    int table = -1;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(spec, "data");
    if (data) {
        viz_table_t *t = NULL;
        if ((rc = viz_table_from_json(data, "data", &t, err)) != MUSE_OK)
            goto fail;
        table = add_table(c, t);
        if (table < 0) {
            viz_table_free(t);
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto fail;
        }
    }
    const cJSON *vc = cJSON_GetObjectItemCaseSensitive(spec, "vconcat");
    if (vc) {
        static const char *const pk[] = {"title", "subtitle", "height", "data", "layers", "layer",
                                         "x", "y", "annotations", NULL};
        if (!cJSON_IsArray(vc) || cJSON_GetArraySize(vc) == 0) {
            rc = muse_err(err, MUSE_EINVAL, "vconcat: expected a non-empty array of panels");
            goto fail;
        }
        if (cJSON_GetArraySize(vc) > 32) {
            rc = muse_err(err, MUSE_ELIMIT, "vconcat: at most 32 panels");
            goto fail;
        }
        if (cJSON_GetObjectItemCaseSensitive(spec, "layers")) {
            rc = muse_err(err, MUSE_EINVAL, "layers: give \"layers\" or \"vconcat\", not both");
            goto fail;
        }
        c->panels = calloc((size_t)cJSON_GetArraySize(vc), sizeof *c->panels);
        if (!c->panels) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto fail;
        }
        int i = 0;
        for (const cJSON *p = vc->child; p; p = p->next, i++) {
            char path[PATH_MAX_LEN];
            snprintf(path, sizeof path, "vconcat[%d]", i);
            c->npanels++;
            if (!cJSON_IsObject(p)) {
                rc = muse_err(err, MUSE_EINVAL, "%s: expected a panel object", path);
                goto fail;
            }
            if ((rc = check_keys(p, path, pk, err)) != MUSE_OK ||
                (rc = parse_panel(c, &c->panels[i], p, path, table, &palette_next, err)) != MUSE_OK)
                goto fail;
        }
    } else {
        c->panels = calloc(1, sizeof *c->panels);
        if (!c->panels) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto fail;
        }
        c->npanels = 1;
        if ((rc = parse_panel(c, &c->panels[0], spec, "", table, &palette_next, err)) != MUSE_OK)
            goto fail;
    }
    c->summary = c->description ? viz_strdup(c->description) : generic_summary(c);
    if (!c->summary) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto fail;
    }
    *out = c;
    return MUSE_OK;
fail:
    viz_chart_free(c);
    return rc;
}

int viz_chart_from_json(const cJSON *spec, viz_chart_t **out, muse_error_t *err)
{
    if (!out)
        return muse_err(err, MUSE_EINVAL, "viz_chart_from_json: out is NULL");
    *out = NULL;
    if (!spec)
        return muse_err(err, MUSE_EINVAL, "spec: missing");
    cJSON *plain = NULL;
    int rc = viz_preset_expand(spec, &plain, err);
    if (rc != MUSE_OK)
        return rc;
    rc = viz_spec_parse_plain(plain, out, err);
    cJSON_Delete(plain);
    return rc;
}

int viz_chart_parse(const char *spec_json, viz_chart_t **out, muse_error_t *err)
{
    if (!out)
        return muse_err(err, MUSE_EINVAL, "viz_chart_parse: out is NULL");
    *out = NULL;
    if (!spec_json)
        return muse_err(err, MUSE_EINVAL, "spec: missing");
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(spec_json, &end, 1);
    if (!j) {
        /* Point at the line and column where parsing stopped. */
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1, col = 1;
        for (const char *p = spec_json; at && p < at && *p; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return muse_err(err, MUSE_EPARSE, "spec: not valid JSON (line %d, column %d)", line, col);
    }
    int rc = viz_chart_from_json(j, out, err);
    cJSON_Delete(j);
    return rc;
}
