/* muse chart: a chart spec, or a preset over a file of readings, to SVG,
 * PDF, PNG or a self-contained HTML page.
 *
 * Readings files (CSV, JSON, FHIR R4) go through the medical module's
 * reader, the same one `muse report` and `muse interpret` use, so a file
 * that interprets also charts; a JSON array already in the preset's row
 * format is taken as it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/cli.h"
#include "medical/medical.h"
#include "muse_err.h"
#include "viz/viz.h"

static const char CHART_HELP[] =
    "usage: muse chart SPEC.json -o OUT.{svg,pdf,png,html} [options]\n"
    "       muse chart --preset NAME --data FILE -o OUT [options]\n"
    "\n"
    "Draws a chart from a chart spec (docs/chart-spec.md) or from a health preset\n"
    "over a file of readings (CSV, JSON or FHIR R4; docs/medical.md).\n"
    "  -o, --output FILE   where to write; the extension picks the format ('-': standard\n"
    "                      output, with --format)\n"
    "  --format F          svg, pdf, png or html, when it cannot come from the name\n"
    "  --preset NAME       bp_trend, bp_category, lab_panel, weight_trend, glucose_profile,\n"
    "                      bmi_gauge or risk_gauge\n"
    "  --data FILE         the readings for --preset ('-': standard input)\n"
    "  --title TEXT        the chart's title\n"
    "  --width PT, --height PT   size in points (1/72 inch; default 640 x 400 or the preset's)\n"
    "  --dpi N             PNG resolution (default 96)\n"
    "  --id-prefix P       prefix for every id in SVG and HTML (default \"muse\")\n"
    "  --scene             write the laid-out scene as JSON instead of a picture\n"
    "\n"
    "examples:\n"
    "  muse chart spec.json -o chart.svg\n"
    "  muse chart --preset bp_trend --data readings.csv -o bp.html\n";

#define MAX_SPEC_BYTES (256u * 1024 * 1024)

static int number_arg(const char *opt, const char *v, double *out)
{
    char *end = NULL;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || !isfinite(d))
        return cli_usage_error("chart", "%s needs a number", opt);
    *out = d;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS": the medical module keeps wall-clock times as if UTC. */
static void add_time(cJSON *o, const med_reading_t *r)
{
    if (r->time < 0) {
        cJSON_AddNullToObject(o, "time");
        return;
    }
    long long t = r->time, days = t / 86400, secs = t % 86400;
    /* civil from days (Hinnant) */
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = (long long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char ts[40];
    snprintf(ts, sizeof ts, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", y, m, d, secs / 3600,
             secs / 60 % 60, secs % 60);
    cJSON_AddStringToObject(o, "time", ts);
}

/* The preset's data rows from a series of readings. */
static cJSON *rows_for(const char *preset, const med_series_t *s, size_t *used)
{
    cJSON *a = cJSON_CreateArray();
    *used = 0;
    int bp = strncmp(preset, "bp_", 3) == 0;
    int lab = strcmp(preset, "lab_panel") == 0;
    med_kind_t want = strcmp(preset, "weight_trend") == 0      ? MED_WEIGHT
                      : strcmp(preset, "glucose_profile") == 0 ? MED_GLUCOSE
                      : strcmp(preset, "bmi_gauge") == 0       ? MED_BMI
                                                               : MED_KIND_COUNT;
    for (size_t i = 0; a && i < s->n; i++) {
        const med_reading_t *r = &s->v[i];
        if (r->implausible)
            continue;
        cJSON *o = NULL;
        if (bp && r->kind == MED_BP) {
            o = cJSON_CreateObject();
            add_time(o, r);
            cJSON_AddNumberToObject(o, "systolic", r->value);
            cJSON_AddNumberToObject(o, "diastolic", r->value2);
            if (!isnan(r->pulse))
                cJSON_AddNumberToObject(o, "pulse", r->pulse);
        } else if (lab && r->kind != MED_BP) {
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "kind", medical_kind_name(r->kind));
            cJSON_AddStringToObject(o, "label", medical_kind_label(r->kind));
            cJSON_AddNumberToObject(o, "value", r->value);
            cJSON_AddStringToObject(o, "unit", medical_kind_unit(r->kind));
            if (r->kind == MED_GLUCOSE && r->fasting >= 0)
                cJSON_AddBoolToObject(o, "fasting", r->fasting);
        } else if (r->kind == want) {
            o = cJSON_CreateObject();
            add_time(o, r);
            cJSON_AddNumberToObject(o, "value", r->value);
        }
        if (o) {
            cJSON_AddItemToArray(a, o);
            (*used)++;
        }
    }
    return a;
}

/* A JSON file that is already an array of the preset's rows. */
static cJSON *json_rows(const char *text)
{
    cJSON *j = cJSON_Parse(text);
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    const cJSON *first = j->child;
    static const char *const keys[] = {"systolic", "value", "kind", NULL};
    int ok = first == NULL;
    for (int k = 0; first && keys[k] && !ok; k++)
        ok = cJSON_GetObjectItemCaseSensitive(first, keys[k]) != NULL &&
             !cJSON_GetObjectItemCaseSensitive(first, "unit_in");
    /* {"kind":"bp",...} rows are the medical module's format, not ours. */
    const cJSON *kind = first ? cJSON_GetObjectItemCaseSensitive(first, "kind") : NULL;
    if (ok && cJSON_IsString(kind) && strcmp(kind->valuestring, "bp") == 0)
        ok = 0;
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static int load_preset_data(const char *preset, const char *path, cJSON **rows, muse_error_t *err)
{
    *rows = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = cli_read_file(path, &text, &len, MAX_SPEC_BYTES, err);
    if (rc != MUSE_OK)
        return rc;
    const char *dot = strrchr(path, '.');
    if ((dot && strcmp(dot, ".json") == 0) || strcmp(path, "-") == 0) {
        *rows = json_rows(text);
        if (*rows) {
            free(text);
            return MUSE_OK;
        }
    }
    if (strcmp(preset, "risk_gauge") == 0) {
        free(text);
        return muse_err(err, MUSE_EINVAL,
                        "%s: risk_gauge takes a JSON array like [{\"value\": 12.5}] (a 10-year risk in %%)",
                        path);
    }
    med_series_t s = {0};
    med_problems_t probs = {0};
    rc = medical_read_buffer(text, len, MED_FORMAT_AUTO, strcmp(path, "-") == 0 ? "stdin" : path, &s,
                             &probs, err);
    free(text);
    for (size_t i = 0; i < probs.n && i < 20; i++)
        fprintf(stderr, "muse chart: %s: %s\n", probs.v[i].where, probs.v[i].message);
    if (probs.n > 20 || probs.dropped)
        fprintf(stderr, "muse chart: ... and %zu more problems\n", probs.n - 20 + probs.dropped);
    med_problems_free(&probs);
    if (rc == MUSE_OK) {
        size_t used = 0;
        *rows = rows_for(preset, &s, &used);
        if (!*rows)
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        else if (used == 0 && s.n > 0)
            fprintf(stderr, "muse chart: %s: no readings of the kind %s draws\n", path, preset);
    }
    med_series_free(&s);
    return rc;
}

int cli_chart(int argc, char **argv, cli_ctx_t *ctx)
{
    (void)ctx;
    const char *spec_path = NULL, *out = NULL, *preset = NULL, *data = NULL, *title = NULL,
               *format = NULL;
    int scene_json = 0;
    viz_render_opts_t o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS(opt)                                                          \
    do {                                                                    \
        if (!next)                                                          \
            return cli_usage_error("chart", "%s needs a value", opt);       \
        i++;                                                                \
    } while (0)
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(CHART_HELP, stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            NEEDS(a);
            out = next;
        } else if (strcmp(a, "--preset") == 0) {
            NEEDS(a);
            preset = next;
        } else if (strcmp(a, "--data") == 0) {
            NEEDS(a);
            data = next;
        } else if (strcmp(a, "--title") == 0) {
            NEEDS(a);
            title = next;
        } else if (strcmp(a, "--format") == 0) {
            NEEDS(a);
            format = next;
        } else if (strcmp(a, "--id-prefix") == 0) {
            NEEDS(a);
            o.id_prefix = next;
        } else if (strcmp(a, "--width") == 0 || strcmp(a, "--height") == 0 || strcmp(a, "--dpi") == 0) {
            NEEDS(a);
            double *dst = a[2] == 'w' ? &o.width : a[2] == 'h' ? &o.height : &o.dpi;
            int rc = number_arg(a, next, dst);
            if (rc)
                return rc;
            if (*dst <= 0)
                return cli_usage_error("chart", "%s must be above zero", a);
        } else if (strcmp(a, "--scene") == 0) {
            scene_json = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_usage_error("chart", "unknown option '%s'", a);
        } else if (!spec_path) {
            spec_path = a;
        } else {
            return cli_usage_error("chart", "one spec at a time ('%s' is extra)", a);
        }
#undef NEEDS
    }
    if (!out)
        return cli_usage_error("chart", "no output file (-o OUT.svg)");
    if (preset && spec_path)
        return cli_usage_error("chart", "give a SPEC file or --preset, not both");
    if (!preset && !spec_path)
        return cli_usage_error("chart", "no spec file and no --preset");
    if (data && !preset)
        return cli_usage_error("chart", "--data goes with --preset");
    viz_format_t fmt = VIZ_SVG;
    muse_error_t err = {0};
    if (!scene_json) {
        const char *fname = format ? format : strcmp(out, "-") == 0 ? NULL : out;
        if (!fname)
            return cli_usage_error("chart", "writing to standard output needs --format");
        if (viz_format_parse(fname, &fmt, &err) != MUSE_OK)
            return cli_usage_error("chart", "%s", err.message);
    }

    cJSON *spec = NULL;
    int rc = MUSE_OK;
    if (preset) {
        spec = cJSON_CreateObject();
        cJSON_AddStringToObject(spec, "preset", preset);
        cJSON *rows = NULL;
        if (data && (rc = load_preset_data(preset, data, &rows, &err)) != MUSE_OK) {
            cJSON_Delete(spec);
            return cli_fail(&err);
        }
        cJSON_AddItemToObject(spec, "data", rows ? rows : cJSON_CreateArray());
    } else {
        char *text = NULL;
        size_t len = 0;
        if (cli_read_file(spec_path, &text, &len, MAX_SPEC_BYTES, &err) != MUSE_OK)
            return cli_fail(&err);
        const char *end = NULL;
        spec = cJSON_ParseWithOpts(text, &end, 1);
        if (!spec) {
            int line = 1, col = 1;
            for (const char *p = text; end && p < end && *p; p++) {
                if (*p == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            free(text);
            fprintf(stderr, "muse: %s:%d:%d: not valid JSON\n", spec_path, line, col);
            return 1;
        }
        free(text);
    }
    if (title) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "title");
        cJSON_AddStringToObject(spec, "title", title);
    }
    viz_chart_t *c = NULL;
    rc = viz_chart_from_json(spec, &c, &err);
    cJSON_Delete(spec);
    if (rc != MUSE_OK) {
        if (spec_path) {
            /* Name the file as well as the JSON path. */
            muse_error_t e2 = err;
            snprintf(e2.message, sizeof e2.message, "%.200s: %.800s", spec_path, err.message);
            return cli_fail(&e2);
        }
        return cli_fail(&err);
    }
    if (scene_json) {
        viz_scene_t *s = NULL;
        char *json = NULL;
        rc = viz_scene_build(c, &o, &s, &err);
        if (rc == MUSE_OK)
            rc = viz_scene_to_json(s, &json, &err);
        if (rc == MUSE_OK)
            rc = cli_write_file(out, json, strlen(json), &err);
        free(json);
        viz_scene_free(s);
    } else if (strcmp(out, "-") == 0) {
        unsigned char *bytes = NULL;
        size_t len = 0;
        rc = viz_render(c, fmt, &o, &bytes, &len, &err);
        if (rc == MUSE_OK)
            rc = cli_write_file("-", bytes, len, &err);
        free(bytes);
    } else if (format) {
        /* --format overrides the name's extension. */
        unsigned char *bytes = NULL;
        size_t len = 0;
        rc = viz_render(c, fmt, &o, &bytes, &len, &err);
        if (rc == MUSE_OK)
            rc = cli_write_file(out, bytes, len, &err);
        free(bytes);
    } else {
        rc = viz_render_file(c, out, &o, &err);
    }
    viz_chart_free(c);
    return rc == MUSE_OK ? 0 : cli_fail(&err);
}
