/* `muse interpret` and `muse calc`: thin command-line doors to the medical
 * module. Everything they print comes from medical_interpret_json() and
 * medical_calc(), so the CLI, the engine and the HTTP server agree on the
 * numbers; this file only reads options and chooses text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cli.h"
#include "kb/kb.h"
#include "medical/medical.h"
#include "muse_err.h"

#define TEXT_MAX ((size_t)16 << 20)

static const char interpret_usage[] =
    "usage: muse interpret [--json] TEXT\n"
    "       muse interpret [--json] --file FILE\n"
    "\n"
    "Reads measurements (blood pressure, glucose, A1c, cholesterol, eGFR, SpO2,\n"
    "temperature, heart rate, weight, height, BMI, creatinine) from TEXT or from a\n"
    "CSV, JSON or FHIR R4 file, and says what they mean against guideline ranges,\n"
    "with trends and patterns for a series. TEXT '-' reads standard input.\n"
    "\n"
    "  --json            the interpretation as JSON (docs/medical.md)\n"
    "  --file FILE       a readings file: .csv, .json (readings or FHIR), .txt\n"
    "  --today DATE      reference date (YYYY-MM-DD) for dates given without a\n"
    "                    year and for weekdays (default: today)\n"
    "\n"
    "examples:\n"
    "  muse interpret \"Is 150/95 high?\"\n"
    "  muse interpret \"A1c 7.2, fasting sugar 140\"\n"
    "  muse interpret --file readings.csv --json\n";

static int print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    if (!s) {
        fprintf(stderr, "muse: out of memory\n");
        return 1;
    }
    int ok = puts(s) >= 0;
    cJSON_free(s);
    return ok ? 0 : 1;
}

static int parse_today(const char *s, int64_t *out)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%.32s 12:00", s);
    return medical_parse_datetime(buf, out, NULL) == MUSE_OK ? 0 : -1;
}

int cli_interpret(int argc, char **argv, cli_ctx_t *ctx)
{
    int json = 0, rc = 1;
    const char *file = NULL;
    char *text = NULL, *stdin_text = NULL;
    size_t text_len = 0;
    int64_t now = 0;
    med_series_t s = {0};
    med_problems_t problems = {0};
    cJSON *out = NULL;
    kb_t *kb = NULL;
    muse_error_t err = {0};

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(interpret_usage, stdout);
            rc = 0;
            goto done;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--file") == 0 || strcmp(a, "-f") == 0) {
            if (++i >= argc) {
                rc = cli_usage_error("interpret", "--file needs a file name");
                goto done;
            }
            file = argv[i];
        } else if (strncmp(a, "--file=", 7) == 0) {
            file = a + 7;
        } else if (strcmp(a, "--today") == 0 || strncmp(a, "--today=", 8) == 0) {
            const char *v = a[7] == '=' ? a + 8 : (++i < argc ? argv[i] : NULL);
            if (!v || parse_today(v, &now) != 0) {
                rc = cli_usage_error("interpret", "--today needs a date such as 2026-11-02");
                goto done;
            }
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                text_len += strlen(argv[i]) + 1;
            break;
        } else if (a[0] == '-' && a[1] != '\0') {
            rc = cli_usage_error("interpret", "unknown option '%s'", a);
            goto done;
        } else {
            text_len += strlen(a) + 1;
        }
    }
    if (text_len) {
        /* The words of the question, joined by spaces, as typed. */
        text = malloc(text_len + 1);
        if (!text) {
            fprintf(stderr, "muse: out of memory\n");
            goto done;
        }
        text[0] = '\0';
        int after_dashes = 0;
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            if (!after_dashes) {
                if (strcmp(a, "--") == 0) {
                    after_dashes = 1;
                    continue;
                }
                if (strcmp(a, "--file") == 0 || strcmp(a, "-f") == 0 || strcmp(a, "--today") == 0) {
                    i++;
                    continue;
                }
                if (a[0] == '-' && a[1] != '\0')
                    continue;
            }
            if (text[0])
                strcat(text, " ");
            strcat(text, a);
        }
        if (strcmp(text, "-") == 0) {
            size_t n;
            if (cli_read_file("-", &stdin_text, &n, TEXT_MAX, &err) != MUSE_OK) {
                rc = cli_fail(&err);
                goto done;
            }
            free(text);
            text = stdin_text;
            stdin_text = NULL;
        }
    }
    if (!text && !file) {
        rc = cli_usage_error("interpret", "give the readings as TEXT or --file FILE");
        goto done;
    }
    if (text && file) {
        rc = cli_usage_error("interpret", "give TEXT or --file, not both");
        goto done;
    }

    if (file) {
        med_parse_opts_t o = {.now = now};
        int r = medical_read_file_opts(file, &o, &s, &problems, &err);
        if (r != MUSE_OK) {
            rc = cli_fail(&err);
            for (size_t i = 0; i < problems.n && i < 20; i++)
                fprintf(stderr, "muse: %s: %s\n", problems.v[i].where, problems.v[i].message);
            goto done;
        }
    } else {
        med_parse_opts_t o = {.now = now};
        if (medical_parse_text_opts(text, &o, &s, &err) != MUSE_OK) {
            rc = cli_fail(&err);
            goto done;
        }
        /* Entities and interactions need the knowledge store; without it
         * the readings are still interpreted. */
        if (ctx && ctx->kb_path) {
            muse_error_t kerr = {0};
            if (kb_open(ctx->kb_path, KB_READONLY, &kb, &kerr) != MUSE_OK) {
                if (ctx->verbose)
                    fprintf(stderr, "muse: %s (medicines and conditions not checked)\n", kerr.message);
                kb = NULL;
            }
        }
    }

    med_interpret_opts_t io = {
        .problems = &problems,
        .source = file ? file : NULL,
        .kb = kb,
        .text = kb ? text : NULL,
    };
    if (medical_interpret_json(&s, &io, &out, &err) != MUSE_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    if (json) {
        rc = print_json(out);
    } else {
        char *t = NULL;
        if (medical_interpret_text(out, &t, &err) != MUSE_OK) {
            rc = cli_fail(&err);
            goto done;
        }
        rc = fputs(t, stdout) >= 0 ? 0 : 1;
        free(t);
    }
done:
    cJSON_Delete(out);
    kb_close(kb);
    med_series_free(&s);
    med_problems_free(&problems);
    free(text);
    free(stdin_text);
    return rc;
}

/* ---- muse calc ---------------------------------------------------------- */

static const char *display_unit(const char *ucum)
{
    for (int k = 0; k < MED_KIND_COUNT; k++)
        if (strcmp(ucum, medical_kind_unit((med_kind_t)k)) == 0)
            return medical_kind_display_unit((med_kind_t)k);
    if (strcmp(ucum, "kcal/d") == 0)
        return "kcal/day";
    if (strcmp(ucum, "a") == 0)
        return "years";
    if (strcmp(ucum, "mm[Hg]") == 0)
        return "mmHg";
    return ucum;
}

static void print_num(double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%g", v);
    fputs(buf, stdout);
}

static void print_calc_help(const cJSON *c)
{
    const cJSON *src = cJSON_GetObjectItem(c, "source"), *p;
    printf("%s: %s (%s)\n", c->string, cJSON_GetStringValue(cJSON_GetObjectItem(c, "label")),
           display_unit(cJSON_GetStringValue(cJSON_GetObjectItem(c, "unit"))));
    cJSON_ArrayForEach(p, cJSON_GetObjectItem(c, "params")) {
        char name[48];
        snprintf(name, sizeof name, "--%s", cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")));
        for (char *q = name; *q; q++)
            if (*q == '_')
                *q = '-';
        printf("    %-14s %s", name, cJSON_GetStringValue(cJSON_GetObjectItem(p, "label")));
        const cJSON *ge = cJSON_GetObjectItem(p, "ge"), *le = cJSON_GetObjectItem(p, "le");
        const cJSON *ch = cJSON_GetObjectItem(p, "choices");
        if (cJSON_IsNumber(ge) && cJSON_IsNumber(le)) {
            fputs(", ", stdout);
            print_num(ge->valuedouble);
            fputs(" to ", stdout);
            print_num(le->valuedouble);
            printf(" %s", display_unit(cJSON_GetStringValue(cJSON_GetObjectItem(p, "unit"))));
            const char *also = cJSON_GetStringValue(cJSON_GetObjectItem(p, "also"));
            if (also)
                printf(" (or with a unit: %s)", also);
        } else if (ch) {
            const cJSON *x;
            fputs(": ", stdout);
            int first = 1;
            cJSON_ArrayForEach(x, ch) {
                printf("%s%s", first ? "" : " | ", x->valuestring);
                first = 0;
            }
        } else if (cJSON_IsTrue(cJSON_GetObjectItem(p, "boolean"))) {
            fputs(": yes | no (default no)", stdout);
        }
        fputc('\n', stdout);
    }
    printf("    source: %s, %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(src, "publisher")),
           cJSON_GetStringValue(cJSON_GetObjectItem(src, "title")));
}

static int calc_help(const char *only)
{
    const cJSON *all = medical_calculators(), *c;
    if (!all) {
        fprintf(stderr, "muse: calculator data is missing (a bug, please report it)\n");
        return 1;
    }
    if (!only)
        printf("usage: muse calc NAME --PARAM VALUE ... [--json]\n\n"
               "Clinical calculators. Values outside the range an equation was derived on\n"
               "are refused. --json prints {\"name\",\"value\",\"unit\",\"category\",\"source\"}.\n\n"
               "calculators:\n");
    cJSON_ArrayForEach(c, all) {
        if (only && strcmp(only, c->string) != 0)
            continue;
        print_calc_help(c);
        if (!only)
            fputc('\n', stdout);
    }
    if (!only)
        printf("example:\n  muse calc egfr --creatinine 0.9 --age 55 --sex female\n");
    return 0;
}

int cli_calc(int argc, char **argv, cli_ctx_t *ctx)
{
    (void)ctx;
    const char *name = NULL;
    int json = 0, help = 0;
    med_calc_arg_t *args = calloc((size_t)argc + 1, sizeof *args);
    char (*names)[64] = calloc((size_t)argc + 1, sizeof *names);
    size_t n = 0;
    int rc = 1;
    muse_error_t err = {0};
    if (!args || !names) {
        fprintf(stderr, "muse: out of memory\n");
        free(args);
        free(names);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help = 1;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *eq = strchr(a, '=');
            if (eq) { /* --age=55 */
                snprintf(names[n], sizeof names[n], "%.*s", (int)(eq - a - 2), a + 2);
                args[n].value = eq + 1;
            } else {
                if (i + 1 >= argc) {
                    rc = cli_usage_error("calc", "%s needs a value", a);
                    goto done;
                }
                snprintf(names[n], sizeof names[n], "%s", a + 2);
                args[n].value = argv[++i];
            }
            args[n].name = names[n];
            n++;
        } else if (!name) {
            name = a;
        } else {
            rc = cli_usage_error("calc", "unexpected '%s' (parameters are written --name value)", a);
            goto done;
        }
    }
    if (help || !name) {
        if (!name && !help) {
            rc = cli_usage_error("calc", "which calculator? (bmi, egfr, eag, ascvd, bmr)");
            goto done;
        }
        if (name && !cJSON_GetObjectItemCaseSensitive(medical_calculators(), name)) {
            rc = cli_usage_error("calc", "no calculator '%s'", name);
            goto done;
        }
        rc = calc_help(name);
        goto done;
    }
    med_calc_result_t r;
    int crc = medical_calc(name, args, n, &r, &err);
    if (crc == MUSE_ENOTFOUND) {
        rc = cli_usage_error("calc", "%s", err.message);
        goto done;
    }
    if (crc != MUSE_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    if (json) {
        cJSON *j = medical_calc_result_json(&r);
        rc = j ? print_json(j) : 1;
        cJSON_Delete(j);
    } else {
        char v[32];
        snprintf(v, sizeof v, "%.*f", r.decimals, r.value);
        printf("%s: %s %s", r.label, v, display_unit(r.unit));
        if (r.category[0])
            printf(" (%s)", r.category);
        printf("\n");
        if (r.note[0])
            printf("  %s\n", r.note);
        printf("  Source: %s %s\n", r.source, r.url);
        rc = 0;
    }
done:
    free(args);
    free(names);
    return rc;
}
