/* Classification of a reading against its guideline range. The thresholds
 * are never typed in C: each category of ranges.json gives, per component,
 * an interval; every component falls in one category and, under the rule
 * "highest", the most severe of them wins (ACC/AHA 2017: "individuals with
 * SBP and DBP in 2 categories should be designated to the higher BP
 * category").
 *
 * The categories are compiled once, at load, into med_cat_t (intervals as
 * numbers, the source and a description for people already formatted), so
 * classifying 100,000 readings is comparisons, not JSON look-ups. */
#include <stdio.h>
#include <string.h>

#include "medical/medical_internal.h"

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(x) ? x->valuestring : "";
}

/* "140 to 180 mmHg": an upper bound that excludes itself is shown one step
 * down at the precision the kind is read at ("130 to 139", not "130 to
 * under 140"). */
static void describe(const med_kind_def_t *kd, med_kind_t k, const med_interval_t *src, char *buf,
                     size_t cap)
{
    med_interval_t iv = *src;
    double step = pow(10, -med_kind_decimals(k));
    if (!isnan(iv.lt) && isnan(iv.le) && (!isnan(iv.ge) || !isnan(iv.gt))) {
        iv.le = iv.lt - step;
        iv.lt = NAN;
    }
    char d[64];
    med_interval_describe(&iv, d, sizeof d);
    snprintf(buf, cap, "%s %s", d, kd->display);
}

int med_catset_compile(med_kind_t k, const med_kind_def_t *kd, const cJSON *cats, const cJSON *measure,
                       med_catset_t *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    const cJSON *c;
    cJSON_ArrayForEach(c, cats) {
        if (out->n == MED_MAX_CATEGORIES) {
            snprintf(err, cap, "medical/data/ranges.json: measures.%s: more than %d categories", kd->name,
                     MED_MAX_CATEGORIES);
            return -1;
        }
        med_cat_t *mc = &out->v[out->n++];
        mc->id = str_of(c, "id");
        mc->label = str_of(c, "label");
        mc->note = str_of(c, "note");
        const cJSON *lv = cJSON_GetObjectItemCaseSensitive(c, "level");
        if (!mc->id[0] || !mc->label[0] || !cJSON_IsNumber(lv)) {
            snprintf(err, cap, "medical/data/ranges.json: measures.%s.categories[%d]: needs id, label and level",
                     kd->name, out->n - 1);
            return -1;
        }
        mc->level = lv->valueint;
        if (mc->level > out->max_level)
            out->max_level = mc->level;
        size_t rl = 0;
        for (int i = 0; i < kd->n_components; i++) {
            const cJSON *ivj = cJSON_GetObjectItemCaseSensitive(c, kd->components[i]);
            if (!cJSON_IsObject(ivj))
                continue;
            mc->has[i] = 1;
            med_interval_from_json(ivj, &mc->iv[i]);
            char d[80];
            describe(kd, k, &mc->iv[i], d, sizeof d);
            rl = strlen(mc->range);
            snprintf(mc->range + rl, sizeof mc->range - rl, "%s%s%s", rl ? " or " : "",
                     kd->n_components > 1 ? kd->components[i] : "", kd->n_components > 1 ? " " : "");
            rl = strlen(mc->range);
            snprintf(mc->range + rl, sizeof mc->range - rl, "%s", d);
        }
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(c, "source");
        if (!cJSON_IsObject(src))
            src = cJSON_GetObjectItemCaseSensitive(measure, "source");
        const cJSON *year = cJSON_GetObjectItemCaseSensitive(src, "year");
        if (cJSON_IsNumber(year))
            snprintf(mc->source, sizeof mc->source, "%s (%d): %s", str_of(src, "publisher"), year->valueint,
                     str_of(src, "title"));
        else
            snprintf(mc->source, sizeof mc->source, "%s: %s", str_of(src, "publisher"), str_of(src, "title"));
        mc->url = str_of(src, "url");
        if (!mc->url[0]) {
            snprintf(err, cap, "medical/data/ranges.json: measures.%s: category %s has no source url", kd->name,
                     mc->id);
            return -1;
        }
    }
    return 0;
}

const med_catset_t *med_catset_for(const med_reading_t *r)
{
    const med_data_t *d = med_data();
    if (!d->ok || (unsigned)r->kind >= MED_KIND_COUNT)
        return NULL;
    const med_kind_def_t *kd = &d->kinds[r->kind];
    if (kd->cats.n == 0)
        return NULL;
    if (r->fasting == 0 && kd->cats_random.n > 0)
        return &kd->cats_random;
    return &kd->cats;
}

const med_cat_t *med_classify_fast(const med_reading_t *r, const char **decided_by)
{
    const med_catset_t *cs = med_catset_for(r);
    if (!cs || r->implausible)
        return NULL;
    int nc = r->kind == MED_BP ? 2 : 1;
    const med_cat_t *best = NULL;
    int n_deciding = 0, comp = 0;
    for (int i = 0; i < nc; i++) {
        double v = i == 0 ? r->value : r->value2;
        for (int j = 0; j < cs->n; j++) {
            const med_cat_t *c = &cs->v[j];
            if (!c->has[i] || !med_interval_contains(&c->iv[i], v))
                continue;
            if (!best || c->level > best->level) {
                best = c;
                n_deciding = 1;
                comp = i;
            } else if (c == best) {
                n_deciding++;
            }
            break; /* each component falls in one category */
        }
    }
    if (decided_by)
        *decided_by = nc == 1 ? "value" : n_deciding > 1 ? "both" : comp == 0 ? "systolic" : "diastolic";
    return best;
}

int medical_classify(const med_reading_t *r, med_class_t *out, muse_error_t *err)
{
    const med_data_t *d;
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    if (!r || (unsigned)r->kind >= MED_KIND_COUNT)
        return muse_err(err, MUSE_EINVAL, "no reading to classify");
    if (r->implausible)
        return muse_err(err, MUSE_ERANGE, "%s reading not interpreted: %s",
                        medical_kind_label(r->kind), r->note[0] ? r->note : "implausible");
    const med_kind_def_t *kd = &d->kinds[r->kind];
    const med_catset_t *cs = med_catset_for(r);
    if (!cs)
        return muse_err(err, MUSE_ENOTFOUND, "there is no guideline range for %s",
                        medical_kind_label(r->kind));
    const char *decided = "";
    const med_cat_t *c = med_classify_fast(r, &decided);
    if (!c) {
        char val[32];
        med_fmt_num(val, sizeof val, r->value, 2);
        return muse_err(err, MUSE_ENOTFOUND, "no %s category covers %s %s (medical/data/ranges.json)",
                        kd->name, val, kd->display);
    }
    snprintf(out->id, sizeof out->id, "%s", c->id);
    snprintf(out->label, sizeof out->label, "%s", c->label);
    out->level = c->level;
    out->max_level = cs->max_level;
    snprintf(out->decided_by, sizeof out->decided_by, "%s", decided);
    snprintf(out->source, sizeof out->source, "%.255s", c->source);
    snprintf(out->url, sizeof out->url, "%s", c->url);
    if (c->note[0])
        med_note_append(out->note, sizeof out->note, "%s", c->note);
    if (r->kind == MED_GLUCOSE && r->fasting < 0 && kd->unknown_fasting_note[0])
        med_note_append(out->note, sizeof out->note, "%s", kd->unknown_fasting_note);
    else if (r->kind == MED_GLUCOSE && r->fasting == 0 && kd->random_note[0])
        med_note_append(out->note, sizeof out->note, "%s", kd->random_note);
    return MUSE_OK;
}
