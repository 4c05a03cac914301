/* libmuse entry points over the viz and medical modules: rendering a chart
 * spec and interpreting a set of readings. They hold no state of their own:
 * viz and medical parse their data once per process and are safe to call
 * from any number of threads, and a knowledge-store connection is borrowed
 * from the muse_t's pool only for as long as one call needs it. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/muse_internal.h"
#include "medical/medical.h"
#include "muse_err.h"
#include "viz/viz.h"

int muse_chart_render(muse_t *m, const char *spec_json, const char *format, unsigned char **out,
                      size_t *len, muse_error_t *err)
{
    (void)m;
    *out = NULL;
    *len = 0;
    if (!spec_json || !*spec_json)
        return muse_err(err, MUSE_EINVAL, "the chart spec is empty");
    viz_format_t fmt;
    int rc = viz_format_parse(format && *format ? format : "svg", &fmt, err);
    if (rc != MUSE_OK)
        return rc;
    viz_chart_t *chart = NULL;
    if ((rc = viz_chart_parse(spec_json, &chart, err)) != MUSE_OK)
        return rc;
    rc = viz_render(chart, fmt, NULL, out, len, err);
    viz_chart_free(chart);
    return rc;
}

static int input_format(const char *name, med_format_t *out, muse_error_t *err)
{
    static const struct { const char *name; med_format_t fmt; } names[] = {
        {"auto", MED_FORMAT_AUTO}, {"text", MED_FORMAT_TEXT}, {"csv", MED_FORMAT_CSV},
        {"json", MED_FORMAT_JSON}, {"fhir", MED_FORMAT_FHIR},
    };
    if (!name || !*name) {
        *out = MED_FORMAT_AUTO;
        return MUSE_OK;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0) {
            *out = names[i].fmt;
            return MUSE_OK;
        }
    return muse_err(err, MUSE_EINVAL, "readings format \"%s\": expected text, csv, json, fhir or auto", name);
}

int muse_interpret_json(muse_t *m, const char *data, size_t len, const char *format, char **json_out,
                        muse_error_t *err)
{
    *json_out = NULL;
    if (!data)
        return muse_err(err, MUSE_EINVAL, "no readings given");
    med_format_t fmt = MED_FORMAT_AUTO;
    int rc = input_format(format, &fmt, err);
    if (rc != MUSE_OK)
        return rc;
    med_series_t series = {0};
    med_problems_t problems = {0};
    kb_t *kb = NULL;
    cJSON *j = NULL;
    char *text = NULL;
    if ((rc = medical_read_buffer(data, len, fmt, "input", &series, &problems, err)) != MUSE_OK)
        goto done;
    med_interpret_opts_t o = {.problems = &problems, .source = fmt == MED_FORMAT_TEXT ? "text" : "input"};
    /* Free text may also name conditions and medicines: look them up. */
    if (fmt == MED_FORMAT_TEXT && (text = strndup(data, len)) != NULL &&
        muse_kb_acquire(m, &kb, NULL) == MUSE_OK) {
        o.kb = kb;
        o.text = text;
    }
    if ((rc = medical_interpret_json(&series, &o, &j, err)) != MUSE_OK)
        goto done;
    if (!(*json_out = cJSON_PrintUnformatted(j)))
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
done:
    if (kb)
        muse_kb_release(m, kb);
    cJSON_Delete(j);
    free(text);
    med_problems_free(&problems);
    med_series_free(&series);
    return rc;
}
