/* The medical module's curated data: six JSON files compiled into the
 * library by muse-embed, parsed once per process and never changed
 * afterwards, so every thread reads the same tables without locks.
 *
 * Loading also checks the data's shape (every kind has its units, every
 * measure its categories) so that a broken edit to a data file fails the
 * first test that touches it, with a message naming the file and field,
 * rather than misclassifying readings later. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

extern const unsigned char medical_data_ranges_json[];
extern const size_t medical_data_ranges_json_len;
extern const unsigned char medical_data_units_json[];
extern const size_t medical_data_units_json_len;
extern const unsigned char medical_data_interactions_json[];
extern const size_t medical_data_interactions_json_len;
extern const unsigned char medical_data_calculators_json[];
extern const size_t medical_data_calculators_json_len;
extern const unsigned char medical_data_patterns_json[];
extern const size_t medical_data_patterns_json_len;
extern const unsigned char medical_data_context_json[];
extern const size_t medical_data_context_json_len;

static med_data_t g_data;           /* written once, under g_once */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static const char *const kind_names[MED_KIND_COUNT] = {
    [MED_BP] = "bp",
    [MED_HEART_RATE] = "heart_rate",
    [MED_TEMPERATURE] = "temperature",
    [MED_WEIGHT] = "weight",
    [MED_HEIGHT] = "height",
    [MED_BMI] = "bmi",
    [MED_GLUCOSE] = "glucose",
    [MED_A1C] = "a1c",
    [MED_CHOL_TOTAL] = "chol_total",
    [MED_LDL] = "ldl",
    [MED_HDL] = "hdl",
    [MED_TRIGLYCERIDES] = "triglycerides",
    [MED_CREATININE] = "creatinine",
    [MED_EGFR] = "egfr",
    [MED_SPO2] = "spo2",
};

/* Labels for people. Kinds without a guideline range (weight, height,
 * creatinine) have no label in ranges.json, so they live here with the rest. */
static const char *const kind_labels[MED_KIND_COUNT] = {
    [MED_BP] = "Blood pressure",
    [MED_HEART_RATE] = "Heart rate",
    [MED_TEMPERATURE] = "Body temperature",
    [MED_WEIGHT] = "Weight",
    [MED_HEIGHT] = "Height",
    [MED_BMI] = "Body mass index",
    [MED_GLUCOSE] = "Blood glucose",
    [MED_A1C] = "HbA1c",
    [MED_CHOL_TOTAL] = "Total cholesterol",
    [MED_LDL] = "LDL cholesterol",
    [MED_HDL] = "HDL cholesterol",
    [MED_TRIGLYCERIDES] = "Triglycerides",
    [MED_CREATININE] = "Creatinine",
    [MED_EGFR] = "eGFR (kidney function)",
    [MED_SPO2] = "Oxygen saturation (SpO2)",
};

int med_kind_index(const char *name)
{
    for (int k = 0; name && k < MED_KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *medical_kind_name(med_kind_t k)
{
    return ((unsigned)k < MED_KIND_COUNT) ? kind_names[k] : "unknown";
}

const char *medical_kind_label(med_kind_t k)
{
    return ((unsigned)k < MED_KIND_COUNT) ? kind_labels[k] : "Unknown";
}

static cJSON *parse_embedded(const unsigned char *buf, size_t len, const char *name)
{
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    if (!j)
        snprintf(g_data.error, sizeof g_data.error,
                 "medical/data/%s: not valid JSON near byte %ld", name,
                 cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - (const char *)buf) : -1L);
    return j;
}

static int fail(const char *fmt, const char *a, const char *b)
{
    snprintf(g_data.error, sizeof g_data.error, fmt, a, b);
    return -1;
}

static int load_kind(med_kind_def_t *kd, med_kind_t k, const cJSON *def)
{
    kd->name = kind_names[k];
    kd->label = kind_labels[k];
    kd->population = "";
    kd->unknown_fasting_note = "";
    kd->random_note = "";
    if (!def)
        return fail("medical/data/units.json: kinds.%s is missing%s", kd->name, "");
    const cJSON *unit = cJSON_GetObjectItemCaseSensitive(def, "unit");
    if (!cJSON_IsString(unit))
        return fail("medical/data/units.json: kinds.%s.unit: expected a string%s", kd->name, "");
    kd->unit = unit->valuestring;
    const cJSON *disp = cJSON_GetObjectItemCaseSensitive(def, "display");
    kd->display = cJSON_IsString(disp) ? disp->valuestring : kd->unit;
    kd->aliases = cJSON_GetObjectItemCaseSensitive(def, "aliases");
    if (k == MED_BP) {
        kd->n_components = 2;
        kd->components[0] = "systolic";
        kd->components[1] = "diastolic";
    } else {
        kd->n_components = 1;
        kd->components[0] = "value";
    }

    const cJSON *units = cJSON_GetObjectItemCaseSensitive(def, "units");
    const cJSON *u;
    cJSON_ArrayForEach(u, units) {
        if (kd->n_units == MED_MAX_UNITS)
            return fail("medical/data/units.json: kinds.%s.units: more than 8 units%s", kd->name, "");
        med_unit_def_t *ud = &kd->units[kd->n_units];
        const cJSON *ucum = cJSON_GetObjectItemCaseSensitive(u, "ucum");
        if (!cJSON_IsString(ucum))
            return fail("medical/data/units.json: kinds.%s.units[].ucum: expected a string%s",
                        kd->name, "");
        ud->ucum = ucum->valuestring;
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(u, "factor");
        const cJSON *dv = cJSON_GetObjectItemCaseSensitive(u, "divisor");
        const cJSON *off = cJSON_GetObjectItemCaseSensitive(u, "offset");
        if (cJSON_IsNumber(dv) && dv->valuedouble > 0)
            ud->factor = 1.0 / dv->valuedouble;
        else if (cJSON_IsNumber(f) && f->valuedouble > 0)
            ud->factor = f->valuedouble;
        else
            return fail("medical/data/units.json: kinds.%s.units[%s]: needs a positive factor or divisor",
                        kd->name, ud->ucum);
        ud->offset = cJSON_IsNumber(off) ? off->valuedouble : 0.0;
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(u, "source");
        ud->source = cJSON_IsString(src) ? src->valuestring : NULL;
        ud->standalone = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "standalone"));
        ud->text = cJSON_GetObjectItemCaseSensitive(u, "text");
        kd->n_units++;
    }
    if (kd->n_units == 0 || strcmp(kd->units[0].ucum, kd->unit) != 0)
        return fail("medical/data/units.json: kinds.%s.units: the first unit must be the canonical %s",
                    kd->name, kd->unit);

    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(def, "plausible");
    for (int i = 0; i < kd->n_components; i++) {
        const cJSON *iv = cJSON_GetObjectItemCaseSensitive(pl, kd->components[i]);
        if (!cJSON_IsObject(iv))
            return fail("medical/data/units.json: kinds.%s.plausible.%s: expected an interval",
                        kd->name, kd->components[i]);
        med_interval_from_json(iv, &kd->plausible[i]);
    }

    const cJSON *as;
    cJSON_ArrayForEach(as, cJSON_GetObjectItemCaseSensitive(def, "assume")) {
        if (kd->n_assume == MED_MAX_ASSUME)
            return fail("medical/data/units.json: kinds.%s.assume: too many rules%s", kd->name, "");
        med_assume_t *a = &kd->assume[kd->n_assume];
        med_interval_from_json(as, &a->iv);
        const cJSON *un = cJSON_GetObjectItemCaseSensitive(as, "unit");
        a->unit = cJSON_IsString(un) ? med_unit_find(kd, un->valuestring, strlen(un->valuestring)) : -1;
        if (a->unit < 0)
            return fail("medical/data/units.json: kinds.%s.assume[].unit: not one of the kind's units%s",
                        kd->name, "");
        a->silent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(as, "silent"));
        kd->n_assume++;
    }

    kd->range = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(g_data.ranges, "measures"), kd->name);
    if (kd->range) {
        const cJSON *ru = cJSON_GetObjectItemCaseSensitive(kd->range, "unit");
        if (!cJSON_IsString(ru) || strcmp(ru->valuestring, kd->unit) != 0)
            return fail("medical/data/ranges.json: measures.%s.unit: must be the canonical unit %s",
                        kd->name, kd->unit);
        const cJSON *cats = cJSON_GetObjectItemCaseSensitive(kd->range, "categories");
        if (!cJSON_IsArray(cats) || cJSON_GetArraySize(cats) == 0 ||
            cJSON_GetArraySize(cats) > MED_MAX_CATEGORIES)
            return fail("medical/data/ranges.json: measures.%s.categories: expected 1 to 8 categories%s",
                        kd->name, "");
        if (med_catset_compile(k, kd, cats, kd->range, &kd->cats, g_data.error, sizeof g_data.error) != 0)
            return -1;
        const cJSON *rnd = cJSON_GetObjectItemCaseSensitive(kd->range, "random");
        const cJSON *rcats = cJSON_GetObjectItemCaseSensitive(rnd, "categories");
        if (cJSON_IsArray(rcats) &&
            med_catset_compile(k, kd, rcats, kd->range, &kd->cats_random, g_data.error, sizeof g_data.error) != 0)
            return -1;
        const cJSON *uf = cJSON_GetObjectItemCaseSensitive(kd->range, "unknown_fasting_note");
        const cJSON *rn = cJSON_GetObjectItemCaseSensitive(rnd, "note");
        kd->unknown_fasting_note = cJSON_IsString(uf) ? uf->valuestring : "";
        const cJSON *pop = cJSON_GetObjectItemCaseSensitive(kd->range, "population");
        kd->population = cJSON_IsString(pop) ? pop->valuestring : "";
        kd->random_note = cJSON_IsString(rn) ? rn->valuestring : "";
    }
    return 0;
}

static void load_once(void)
{
    g_data.ranges = parse_embedded(medical_data_ranges_json, medical_data_ranges_json_len, "ranges.json");
    g_data.units = parse_embedded(medical_data_units_json, medical_data_units_json_len, "units.json");
    g_data.interactions = parse_embedded(medical_data_interactions_json,
                                         medical_data_interactions_json_len, "interactions.json");
    g_data.calculators = parse_embedded(medical_data_calculators_json,
                                        medical_data_calculators_json_len, "calculators.json");
    g_data.patterns = parse_embedded(medical_data_patterns_json, medical_data_patterns_json_len,
                                     "patterns.json");
    g_data.context = parse_embedded(medical_data_context_json, medical_data_context_json_len,
                                    "context.json");
    if (!g_data.ranges || !g_data.units || !g_data.interactions || !g_data.calculators ||
        !g_data.patterns || !g_data.context)
        return;
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(g_data.units, "kinds"), *kj;
    cJSON_ArrayForEach(kj, kinds)
        if (med_kind_index(kj->string) < 0) {
            fail("medical/data/units.json: kinds.%s: not a measurement kind%s", kj->string, "");
            return;
        }
    for (int k = 0; k < MED_KIND_COUNT; k++)
        if (load_kind(&g_data.kinds[k], (med_kind_t)k,
                      cJSON_GetObjectItemCaseSensitive(kinds, kind_names[k])) != 0)
            return;
    if (med_text_compile(&g_data) != 0)
        return;
    g_data.ok = 1;
}

const med_data_t *med_data(void)
{
    pthread_once(&g_once, load_once);
    return &g_data;
}

int med_data_get(const med_data_t **out, muse_error_t *err)
{
    const med_data_t *d = med_data();
    *out = d;
    if (!d->ok)
        return muse_err(err, MUSE_EINTERNAL, "medical data is broken (a bug, please report it): %s",
                        d->error[0] ? d->error : "unknown error");
    return MUSE_OK;
}

const cJSON *medical_ranges(void)
{
    const med_data_t *d = med_data();
    return d->ok ? d->ranges : NULL;
}

const cJSON *medical_calculators(void)
{
    const med_data_t *d = med_data();
    return d->ok ? cJSON_GetObjectItemCaseSensitive(d->calculators, "calculators") : NULL;
}

const cJSON *medical_interactions_data(void)
{
    const med_data_t *d = med_data();
    return d->ok ? d->interactions : NULL;
}
