/* Data tables: JSON rows (or columns) into columns of doubles.
 *
 * A chart's data is read once into plain arrays, so layout, downsampling and
 * the summary work on numbers and never walk cJSON again. Strings that are
 * ISO-8601 times become seconds since the epoch (wall clock); other strings
 * are kept for nominal fields, labels and tooltips. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/viz_int.h"

#define VIZ_MAX_COLS 256
#define VIZ_MAX_ROWS 20000000u

void viz_table_free(viz_table_t *t)
{
    if (!t)
        return;
    for (size_t c = 0; c < t->ncols; c++) {
        viz_col_t *col = &t->cols[c];
        free(col->name);
        free(col->num);
        if (col->str) {
            for (size_t i = 0; i < t->n; i++)
                free(col->str[i]);
            free(col->str);
        }
    }
    free(t->cols);
    free(t);
}

int viz_table_col(const viz_table_t *t, const char *name)
{
    if (!t || !name)
        return -1;
    for (size_t c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c].name, name) == 0)
            return (int)c;
    return -1;
}

static int add_col(viz_table_t *t, const char *name, size_t n, const char *path, muse_error_t *err)
{
    if (t->ncols >= VIZ_MAX_COLS)
        return muse_err(err, MUSE_ELIMIT, "%s: more than %d fields", path, VIZ_MAX_COLS);
    viz_col_t *cols = realloc(t->cols, (t->ncols + 1) * sizeof *cols);
    if (!cols)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    t->cols = cols;
    viz_col_t *c = &cols[t->ncols];
    memset(c, 0, sizeof *c);
    c->name = viz_strdup(name);
    c->num = malloc((n ? n : 1) * sizeof *c->num);
    if (!c->name || !c->num) {
        free(c->name);
        free(c->num);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        c->num[i] = NAN;
    t->ncols++;
    return (int)t->ncols - 1;
}

/* Per column while reading: how many strings were times, and whether some
 * were not. */
typedef struct colstat {
    size_t n_time, n_text, n_num;
} colstat_t;

static int set_cell(viz_table_t *t, colstat_t *st, int c, size_t row, const cJSON *v,
                    const char *path, muse_error_t *err)
{
    viz_col_t *col = &t->cols[c];
    if (cJSON_IsNumber(v)) {
        col->num[row] = isfinite(v->valuedouble) ? v->valuedouble : NAN;
        st[c].n_num++;
    } else if (cJSON_IsString(v)) {
        double tm;
        if (viz_parse_time(v->valuestring, &tm)) {
            col->num[row] = tm;
            st[c].n_time++;
            /* "2024-03-01T00:00:00Z" is a date; a clock time shows only
             * when some reading has one. */
            if (fmod(tm, 86400.0) != 0)
                col->has_clock = 1;
        } else {
            if (!col->str) {
                col->str = calloc(t->n ? t->n : 1, sizeof *col->str);
                if (!col->str)
                    return muse_err(err, MUSE_ENOMEM, "out of memory");
            }
            col->str[row] = viz_utf8_clean(v->valuestring, 0);
            if (!col->str[row])
                return muse_err(err, MUSE_ENOMEM, "out of memory");
            st[c].n_text++;
        }
    } else if (cJSON_IsBool(v)) {
        col->num[row] = cJSON_IsTrue(v) ? 1 : 0;
        st[c].n_num++;
    } else if (cJSON_IsNull(v)) {
        /* missing: stays NAN */
    } else {
        return muse_err(err, MUSE_EINVAL, "%s: expected a number, a string or null, not %s",
                        path, cJSON_IsArray(v) ? "an array" : "an object");
    }
    return MUSE_OK;
}

/* A column that mixes times and other text is text: keep every string. */
static int settle_types(viz_table_t *t, colstat_t *st, const cJSON *const *cells_by_row,
                        int rows_form, const cJSON *columns)
{
    for (size_t c = 0; c < t->ncols; c++) {
        viz_col_t *col = &t->cols[c];
        if (st[c].n_time && !st[c].n_text) {
            col->is_time = 1;
            continue;
        }
        col->has_str = st[c].n_text > 0;
        if (!(st[c].n_time && st[c].n_text))
            continue;
        /* Rare: re-read the time-looking strings as text. */
        for (size_t i = 0; i < t->n; i++) {
            const cJSON *v = rows_form ? cJSON_GetObjectItemCaseSensitive(cells_by_row[i], col->name)
                                       : cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(columns, col->name), (int)i);
            if (cJSON_IsString(v) && !col->str[i]) {
                col->str[i] = viz_utf8_clean(v->valuestring, 0);
                if (!col->str[i])
                    return MUSE_ENOMEM;
                col->num[i] = NAN;
            }
        }
        col->has_clock = 0;
    }
    return MUSE_OK;
}

static int from_rows(const cJSON *arr, const char *path, viz_table_t *t, muse_error_t *err)
{
    size_t n = (size_t)cJSON_GetArraySize(arr);
    if (n > VIZ_MAX_ROWS)
        return muse_err(err, MUSE_ELIMIT, "%s: %zu rows; at most %u are drawn", path, n, VIZ_MAX_ROWS);
    t->n = n;
    int rc = MUSE_OK;
    colstat_t *st = calloc(VIZ_MAX_COLS, sizeof *st);
    const cJSON **rows = malloc((n ? n : 1) * sizeof *rows);
    int cache[64];
    for (int k = 0; k < 64; k++)
        cache[k] = -1;
    if (!st || !rows) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    size_t i = 0;
    for (const cJSON *row = arr->child; row; row = row->next, i++) {
        rows[i] = row;
        if (!cJSON_IsObject(row)) {
            rc = muse_err(err, MUSE_EINVAL, "%s[%zu]: expected an object like {\"x\": 1, \"y\": 2}",
                          path, i);
            goto done;
        }
        int k = 0;
        for (const cJSON *v = row->child; v; v = v->next, k++) {
            if (!v->string)
                continue;
            int c = -1;
            /* Rows usually list their fields in the same order. */
            if (k < 64 && cache[k] >= 0 && strcmp(t->cols[cache[k]].name, v->string) == 0)
                c = cache[k];
            else
                c = viz_table_col(t, v->string);
            if (c < 0) {
                c = add_col(t, v->string, n, path, err);
                if (c < 0) {
                    rc = c;
                    goto done;
                }
            }
            if (k < 64)
                cache[k] = c;
            if (!cJSON_IsNumber(v) && !cJSON_IsString(v) && !cJSON_IsNull(v) && !cJSON_IsBool(v)) {
                char p[300];
                snprintf(p, sizeof p, "%s[%zu].%s", path, i, v->string);
                rc = set_cell(t, st, c, i, v, p, err);
                goto done;
            }
            rc = set_cell(t, st, c, i, v, path, err);
            if (rc != MUSE_OK)
                goto done;
        }
    }
    if (settle_types(t, st, rows, 1, NULL) != MUSE_OK)
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
done:
    free(st);
    free(rows);
    return rc;
}

static int from_columns(const cJSON *cols, const char *path, viz_table_t *t, muse_error_t *err)
{
    int rc = MUSE_OK;
    colstat_t *st = calloc(VIZ_MAX_COLS, sizeof *st);
    if (!st)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    const char *first = NULL;
    size_t n = 0;
    for (const cJSON *a = cols->child; a; a = a->next) {
        if (!cJSON_IsArray(a)) {
            rc = muse_err(err, MUSE_EINVAL, "%s.columns.%s: expected an array of values", path,
                          a->string ? a->string : "?");
            goto done;
        }
        size_t k = (size_t)cJSON_GetArraySize(a);
        if (!first) {
            first = a->string;
            n = k;
        } else if (k != n) {
            rc = muse_err(err, MUSE_EINVAL, "%s.columns.%s: %zu values, but %s.columns.%s has %zu",
                          path, a->string, k, path, first, n);
            goto done;
        }
    }
    if (n > VIZ_MAX_ROWS) {
        rc = muse_err(err, MUSE_ELIMIT, "%s: %zu rows; at most %u are drawn", path, n, VIZ_MAX_ROWS);
        goto done;
    }
    t->n = n;
    for (const cJSON *a = cols->child; a; a = a->next) {
        if (viz_table_col(t, a->string) >= 0)
            continue;
        int c = add_col(t, a->string, n, path, err);
        if (c < 0) {
            rc = c;
            goto done;
        }
        size_t i = 0;
        for (const cJSON *v = a->child; v; v = v->next, i++) {
            char p[300];
            snprintf(p, sizeof p, "%s.columns.%s[%zu]", path, a->string, i);
            rc = set_cell(t, st, c, i, v, p, err);
            if (rc != MUSE_OK)
                goto done;
        }
    }
    if (settle_types(t, st, NULL, 0, cols) != MUSE_OK)
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
done:
    free(st);
    return rc;
}

int viz_table_from_json(const cJSON *data, const char *path, viz_table_t **out, muse_error_t *err)
{
    *out = NULL;
    viz_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rc;
    if (cJSON_IsArray(data)) {
        rc = from_rows(data, path, t, err);
    } else if (cJSON_IsObject(data)) {
        const cJSON *values = cJSON_GetObjectItemCaseSensitive(data, "values");
        const cJSON *columns = cJSON_GetObjectItemCaseSensitive(data, "columns");
        char p[300];
        if (cJSON_IsArray(values)) {
            snprintf(p, sizeof p, "%s.values", path);
            rc = from_rows(values, p, t, err);
        } else if (cJSON_IsObject(columns)) {
            rc = from_columns(columns, path, t, err);
        } else {
            rc = muse_err(err, MUSE_EINVAL,
                          "%s: expected an array of rows, {\"values\": [...]} or {\"columns\": {...}}",
                          path);
        }
    } else {
        rc = muse_err(err, MUSE_EINVAL, "%s: expected an array of rows like [{\"x\": 1, \"y\": 2}]",
                      path);
    }
    if (rc != MUSE_OK) {
        viz_table_free(t);
        return rc;
    }
    *out = t;
    return MUSE_OK;
}
