/* The report's wording (viz/report/data/report.json, compiled in with
 * muse-embed), parsed once per process and read-only afterwards, so reports
 * built in several threads share it safely. */
#include <pthread.h>
#include <string.h>

#include "viz/report/report_int.h"

extern const unsigned char report_data_report_json[];
extern const size_t report_data_report_json_len;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cJSON *data;
static const char *data_why = "";

static void load(void)
{
    data = cJSON_ParseWithLength((const char *)report_data_report_json, report_data_report_json_len);
    if (!data)
        data_why = "viz/report/data/report.json is not valid JSON (a build problem: please report it)";
    else if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(data, "sections")) ||
             !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(data, "measures")))
        data_why = "viz/report/data/report.json lacks \"sections\" or \"measures\"";
}

const cJSON *rp_data(const char **why)
{
    pthread_once(&once, load);
    if (why)
        *why = data_why;
    return data && !*data_why ? data : NULL;
}

const cJSON *rp_measure_def(med_kind_t k)
{
    const cJSON *d = rp_data(NULL);
    return d ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "measures"),
                                                medical_kind_name(k))
             : NULL;
}

int rp_decimals(med_kind_t k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rp_measure_def(k), "decimals");
    return cJSON_IsNumber(v) && v->valueint >= 0 && v->valueint <= 4 ? v->valueint : 1;
}

int rp_judged_by_latest(med_kind_t k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rp_measure_def(k), "judge");
    return cJSON_IsString(v) && strcmp(v->valuestring, "latest") == 0;
}

const char *rp_discuss(med_kind_t k, const char *category_id)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(rp_measure_def(k), "discuss");
    const cJSON *v = category_id ? cJSON_GetObjectItemCaseSensitive(d, category_id) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *rp_pattern_discuss(const char *pattern_id)
{
    const cJSON *d = rp_data(NULL);
    const cJSON *v = d && pattern_id
                         ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "patterns"),
                                                            pattern_id)
                         : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *rp_severity_label(const char *severity)
{
    const cJSON *d = rp_data(NULL);
    const cJSON *v = d && severity
                         ? cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "severity"),
                                                            severity)
                         : NULL;
    return cJSON_IsString(v) ? v->valuestring : "Finding";
}

const cJSON *rp_range_def(med_kind_t k)
{
    const cJSON *r = medical_ranges();
    const cJSON *ms = r ? cJSON_GetObjectItemCaseSensitive(r, "measures") : NULL;
    return ms ? cJSON_GetObjectItemCaseSensitive(ms, medical_kind_name(k)) : NULL;
}
