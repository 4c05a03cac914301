/* libmuse: the public C API of Muse, a local health-question assistant.
 *
 * One muse_t holds a read-only knowledge store, the safety policy and the
 * reference data; it is safe to call concurrently from several threads.
 * Every function returns MUSE_OK (0) or a negative MUSE_E* code and, when the
 * caller passes a muse_error_t, a message for people naming what went wrong
 * and where. Strings returned through out-parameters are owned by the caller
 * and freed with muse_free(). */
#ifndef MUSE_H
#define MUSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MUSE_BUILDING) && defined(__GNUC__)
#define MUSE_API __attribute__((visibility("default")))
#else
#define MUSE_API
#endif

#define MUSE_VERSION_STRING "0.1.0"

enum {
    MUSE_OK = 0,
    MUSE_EINVAL = -1,       /* bad argument or input */
    MUSE_ENOMEM = -2,       /* out of memory */
    MUSE_EIO = -3,          /* file or network I/O failed */
    MUSE_ENOTFOUND = -4,    /* no such entry, file or route */
    MUSE_ECORRUPT = -5,     /* a store or file is damaged */
    MUSE_EPARSE = -6,       /* input could not be parsed */
    MUSE_ERANGE = -7,       /* a value is outside what is valid */
    MUSE_EUNSUPPORTED = -8, /* a format or feature is not supported */
    MUSE_EBACKEND = -9,     /* a model backend failed */
    MUSE_ELIMIT = -10,      /* a size or rate limit was exceeded */
    MUSE_EINTERNAL = -11,   /* a bug: please report it */
};

/* An error for people. The caller owns it (usually on the stack); functions
 * fill it when they fail. `message` names what failed, where (file, line,
 * field) and, where it helps, what to do. */
typedef struct muse_error {
    int code;
    char message[1024];
} muse_error_t;

MUSE_API const char *muse_strerror(int code);
MUSE_API const char *muse_version(void);
/* Frees any memory libmuse handed to the caller. free(NULL) is a no-op. */
MUSE_API void muse_free(void *p);

typedef enum muse_mode {
    MUSE_MODE_INSTANT = 0,
    MUSE_MODE_THINKING,
    MUSE_MODE_CONTEMPLATING,
    MUSE_MODE_AUTO,
} muse_mode_t;

MUSE_API const char *muse_mode_name(muse_mode_t mode);
/* Returns MUSE_OK and sets *out, or MUSE_EINVAL for an unknown name. */
MUSE_API int muse_mode_parse(const char *name, muse_mode_t *out);

typedef struct muse_options {
    const char *kb_path;   /* knowledge store; NULL: $MUSE_KB, then the installed default */
    const char *locale;    /* emergency numbers: "US" (default), "UK", "EU" */
    int reviewed_only;     /* answer only from clinically reviewed entries */
    const char *backend;   /* "grounded" (default) or "openai" (MUSE_OPENAI_* env, docs/backends.md) */
    int allow_phi;         /* openai backend only: send questions without PHI redaction */
} muse_options_t;

MUSE_API void muse_options_init(muse_options_t *o);

typedef struct muse muse_t;

/* Opens the knowledge store and loads the policy. *out is freed with muse_close(). */
MUSE_API int muse_open(const muse_options_t *o, muse_t **out, muse_error_t *err);
MUSE_API void muse_close(muse_t *m);
/* The knowledge-store path this muse_t opened (owned by m). */
MUSE_API const char *muse_kb_path(const muse_t *m);

typedef struct muse_ask_options {
    muse_mode_t mode;
    int want_chart;        /* attach chart specs to the answer where one fits */
} muse_ask_options_t;

MUSE_API void muse_ask_options_init(muse_ask_options_t *o);

/* Answers a question; *json_out receives the answer object (DESIGN.md) as
 * JSON text, freed by the caller with muse_free(). */
MUSE_API int muse_ask_json(muse_t *m, const char *question, const muse_ask_options_t *o,
                           char **json_out, muse_error_t *err);

/* Screens text with the input rails; *json_out receives
 * {"verdict","categories","matches","redacted","message"}, freed with muse_free(). */
MUSE_API int muse_safety_check_json(muse_t *m, const char *text, char **json_out,
                                    muse_error_t *err);

/* Renders a chart spec (JSON text) to "svg", "pdf", "png" or "html".
 * *out receives the bytes (freed with muse_free()), *len their count. */
MUSE_API int muse_chart_render(muse_t *m, const char *spec_json, const char *format,
                               unsigned char **out, size_t *len, muse_error_t *err);

/* Interprets readings against guideline ranges: data is free text ("150/95,
 * A1c 7.2") or a file's bytes, input_format "text", "csv", "json", "fhir" or
 * "auto". *json_out receives the interpretation (docs/medical.md), freed with
 * muse_free(). Rows that do not parse are listed in it under "problems". */
MUSE_API int muse_interpret_json(muse_t *m, const char *data, size_t len, const char *input_format,
                                 char **json_out, muse_error_t *err);

/* Answers a question as a struct: a read-only view of the answer object.
 * Every pointer in it (strings and arrays) is owned by the answer and valid
 * until muse_answer_free(*out); the caller frees nothing else. */
typedef struct muse_answer_section {
    const char *heading;
    const char *text;
    const char *const *citations;   /* ids of sources[] this section comes from */
    size_t n_citations;
} muse_answer_section_t;

typedef struct muse_answer_source {
    const char *id;
    const char *title;
    const char *kind;               /* condition, ..., guideline_range */
    const char *review_status;      /* draft, reviewed, published_guideline */
    const char *url;                /* the first reference's URL, or NULL */
} muse_answer_source_t;

typedef struct muse_answer {
    const char *json;               /* the whole answer object (docs/answer.md) */
    const char *mode;               /* the mode that ran */
    const char *verdict;            /* allow, emergency, crisis, refuse, redirect */
    const char *summary;            /* for an emergency: what to do now */
    const char *seek_care;          /* emergency, urgent, routine, self_care */
    const char *seek_care_reason;
    const char *disclaimer;
    const muse_answer_section_t *sections;
    size_t n_sections;
    const muse_answer_source_t *sources;
    size_t n_sources;
    const char *const *follow_up_questions;
    size_t n_follow_up_questions;
    const char *const *charts;      /* chart specs as JSON text, for muse_chart_render() */
    size_t n_charts;
    double latency_ms;
} muse_answer_t;

MUSE_API int muse_ask(muse_t *m, const char *question, const muse_ask_options_t *o,
                      muse_answer_t **out, muse_error_t *err);
/* NULL is a no-op. */
MUSE_API void muse_answer_free(muse_answer_t *a);

/* A report from readings (file bytes or text; input_format as for
 * muse_interpret_json): output_format "pdf" gives the PDF document, "json" a
 * summary of the same findings (docs/report.md). *out is freed with
 * muse_free(), *out_len its size in bytes. */
MUSE_API int muse_report(muse_t *m, const char *data, size_t len, const char *input_format,
                         const char *output_format, unsigned char **out, size_t *out_len,
                         muse_error_t *err);

#ifdef __cplusplus
}
#endif
#endif
