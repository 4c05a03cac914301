/* safety: the rails every question passes before any other work, and every
 * answer passes before it leaves.
 *
 * Input: emergencies and self-harm (answered at once with what to do now),
 * harmful requests (refused with a safe alternative), out-of-scope questions
 * (redirected), PHI redaction, prompt injection. Output: dose limits,
 * certainty, citations, consistency with an emergency verdict, disclaimer.
 * Policy (phrases, categories, messages, locale numbers) is data under
 * safety/data/, compiled in; a safety_t is immutable once opened and may be
 * shared by any number of threads. */
#ifndef MUSE_SAFETY_H
#define MUSE_SAFETY_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "muse.h"

typedef struct safety safety_t;

typedef enum safety_verdict {
    SAFETY_ALLOW = 0,
    SAFETY_EMERGENCY,
    SAFETY_CRISIS,
    SAFETY_REFUSE,
    SAFETY_REDIRECT,
} safety_verdict_t;

typedef struct safety_match {
    char rule[64];       /* rule id from the policy data */
    size_t start, end;   /* byte span in the checked text */
} safety_match_t;

typedef struct safety_result {
    safety_verdict_t verdict;
    char **categories;   /* e.g. "emergency.cardiac", "S11", ... */
    size_t n_categories;
    safety_match_t *matches;
    size_t n_matches;
    char *redacted;      /* the text with PHI replaced by <TYPE> placeholders */
    size_t n_redactions;
    char *message;       /* what to do now / why refused / where to go; NULL for allow */
    int injection;       /* prompt-injection attempt detected */
} safety_result_t;

/* Loads the policy for a locale ("US", "UK", "EU"; NULL: "US"). */
int safety_open(const char *locale, safety_t **out, muse_error_t *err);
void safety_close(safety_t *s);

/* Screens text. Invalid UTF-8, empty or oversized input is MUSE_EINVAL with a
 * message. *out is freed with safety_result_free(). */
int safety_check_input(const safety_t *s, const char *text, safety_result_t *out,
                       muse_error_t *err);
void safety_result_free(safety_result_t *r);

const char *safety_verdict_name(safety_verdict_t v);

/* {"verdict","categories","matches":[{"rule","span"}],"redacted","message"};
 * caller frees with cJSON_Delete(). */
cJSON *safety_result_json(const safety_result_t *r, const char *text);

/* Replaces PHI in text; *out freed by the caller with free(). */
int safety_redact(const safety_t *s, const char *text, char **out, size_t *n_redactions,
                  muse_error_t *err);

/* Output rails over an answer object (the DESIGN.md answer JSON), in place:
 * checks doses, softens certainty, drops uncited claims, keeps the answer
 * consistent with an emergency verdict and adds the disclaimer. */
int safety_check_output(const safety_t *s, cJSON *answer, muse_error_t *err);

/* ---- Additions beyond the first contract (all owned by safety/). ---- */

/* One PHI entity found in a text: a Presidio entity name ("PERSON",
 * "PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE",
 * "IP_ADDRESS", "STREET_ADDRESS", "ZIP_CODE", "DATE_TIME", "MEDICAL_RECORD",
 * "US_NPI", "US_DRIVER_LICENSE", "AGE") and its byte span. */
typedef struct safety_entity {
    char type[24];
    size_t start, end;
} safety_entity_t;

/* Finds PHI in text without changing it. *out (sorted by start, never
 * overlapping) is freed by the caller with free(); *n is its length. */
int safety_phi_find(const safety_t *s, const char *text, safety_entity_t **out, size_t *n,
                    muse_error_t *err);

/* Neutralises prompt injection in text bound for a generative backend (a
 * question or a retrieved passage): instruction-like spans ("ignore previous
 * instructions", role-play jailbreaks) are replaced by "[instruction removed]".
 * *out is freed by the caller with free(); *found (may be NULL) is set to the
 * number of spans removed. */
int safety_neutralize(const safety_t *s, const char *text, char **out, size_t *found,
                      muse_error_t *err);

/* The locale this policy was opened for ("US", "UK", "EU"; owned by s), and
 * its emergency number ("911", ...; owned by s). */
const char *safety_locale(const safety_t *s);
const char *safety_emergency_number(const safety_t *s);

/* Measured figures for one evaluation data set (see docs/safety.md). */
typedef struct safety_eval_figure {
    char name[64];       /* e.g. "emergency_recall", "PERSON.recall" */
    double value;
    double target;       /* the threshold */
    int higher_is_better;
    size_t num, den;     /* value = num / den */
} safety_eval_figure_t;

typedef struct safety_eval_report {
    char dataset[32];    /* "own", "xstest", "medsafetybench", "presidio" */
    safety_eval_figure_t figures[40];
    size_t n_figures;
    size_t n_items;
} safety_eval_report_t;

/* Runs one data set through the filter. path is the data set's file or
 * folder: "own" reads a TSV of label<TAB>text (labels emergency, crisis, safe,
 * refuse, redirect), "xstest" xstest_prompts.csv, "medsafetybench" the folder
 * of category_N.csv files, "presidio" presidio_synth_dataset_v2.json.
 * MUSE_ENOTFOUND when the file is absent. */
int safety_eval_run(const safety_t *s, const char *dataset, const char *path,
                    safety_eval_report_t *out, muse_error_t *err);
/* 1 when every figure meets its target. */
int safety_eval_passed(const safety_eval_report_t *r);

#endif
