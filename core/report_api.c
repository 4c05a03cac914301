/* muse_report: the PDF report (viz/report) for callers of libmuse and the
 * HTTP server, from readings held in memory. */
#include <string.h>

#include "core/muse_internal.h"
#include "muse_err.h"
#include "viz/report/report.h"

int muse_report(muse_t *m, const char *data, size_t len, const char *input_format,
                const char *output_format, unsigned char **out, size_t *out_len, muse_error_t *err)
{
    *out = NULL;
    *out_len = 0;
    static const struct { const char *name; med_format_t fmt; } formats[] = {
        {"auto", MED_FORMAT_AUTO}, {"text", MED_FORMAT_TEXT}, {"csv", MED_FORMAT_CSV},
        {"json", MED_FORMAT_JSON}, {"fhir", MED_FORMAT_FHIR},
    };
    med_format_t fmt = MED_FORMAT_AUTO;
    int known = !input_format || !*input_format;
    for (size_t i = 0; !known && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, input_format) == 0) {
            fmt = formats[i].fmt;
            known = 1;
        }
    if (!known)
        return muse_err(err, MUSE_EINVAL, "readings format \"%s\": expected text, csv, json, fhir or auto",
                        input_format);
    int pdf = !output_format || strcmp(output_format, "pdf") == 0;
    if (!pdf && strcmp(output_format, "json") != 0)
        return muse_err(err, MUSE_EINVAL, "report format \"%s\": expected pdf or json", output_format);
    if (!data)
        return muse_err(err, MUSE_EINVAL, "no readings given");
    kb_t *kb = NULL;
    if (muse_kb_acquire(m, &kb, NULL) != MUSE_OK)
        kb = NULL;
    report_opts_t o;
    report_opts_init(&o);
    o.kb = kb;
    report_t *r = NULL;
    int rc = report_new(&o, &r, err);
    if (rc == MUSE_OK)
        rc = report_add_buffer(r, data, len, fmt, "request", err);
    if (rc == MUSE_OK)
        rc = report_analyze(r, err);
    if (rc == MUSE_OK && pdf) {
        rc = report_pdf(r, out, out_len, err);
    } else if (rc == MUSE_OK) {
        char *json = NULL;
        rc = report_summary_json(r, &json, err);
        if (rc == MUSE_OK) {
            *out = (unsigned char *)json;
            *out_len = strlen(json);
        }
    }
    report_free(r);
    if (kb)
        muse_kb_release(m, kb);
    return rc;
}
