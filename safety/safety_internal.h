/* Private to safety/: the opened policy and the helpers the input rails, the
 * redactor, the output rails and the evaluator share. Nothing here is part of
 * safety.h; other modules go through that header only.
 *
 * Design: every pattern in the policy is compiled once in safety_open() and
 * never written again, so a safety_t can be read by any number of threads.
 * The one exception is JIT compilation of the input rails' patterns
 * (sf_pattern_t), done the first time a pattern runs, under a lock, before
 * any thread runs it. Each call brings its own pcre2_match_data. */
#ifndef MUSE_SAFETY_INTERNAL_H
#define MUSE_SAFETY_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "muse.h"
#include "safety/safety.h"

/* Inputs above this size are refused: a question is never a megabyte. */
#define SAFETY_MAX_INPUT (1024u * 1024u)

/* The literal prefilter (prefilter.c): each pattern of rules.json gets a
 * gate, and one pass over a text records which of the policy's literals it
 * holds. A pattern behind a closed gate cannot match, so it is not run.
 * SF_GATE_ALWAYS marks a pattern with no literals to go by (it always runs),
 * as does every pattern past SF_MAX_GATES or SF_MAX_CLAUSES. */
#define SF_MAX_GATES 1024
#define SF_MAX_CLAUSES 8192
#define SF_GATE_ALWAYS (-1)

typedef struct sf_prefilter sf_prefilter_t;

/* What one scan found: a bit per literal set ("clause") met by the text.
 * Lives on the caller's stack. */
typedef struct sf_seen {
    int all; /* no prefilter: every gate is open */
    uint64_t met[SF_MAX_CLAUSES / 64];
} sf_seen_t;

/* A pattern of the input rails (rules.json) with what running it takes:
 * its prefilter gate, and whether it is JIT-compiled yet. JIT-compiling all
 * of them was nine tenths of safety_open, and behind the prefilter most of
 * them run on few texts, so each is JIT-compiled when it first runs
 * (sf_pattern_code). Lives in heap memory the policy owns, so a const
 * safety_t still reaches it. */
typedef struct sf_pattern {
    pcre2_code *code;      /* NULL: the policy has none */
    int gate;              /* SF_GATE_ALWAYS: no prefilter */
    atomic_int jitted;     /* 1 once JIT compilation was tried */
} sf_pattern_t;

/* The input rails' text-wide patterns, and the lock JIT compilation of any
 * sf_pattern_t takes. */
typedef struct sf_rails {
    sf_pattern_t neg_cue, pseudo_neg, clause_break, past, present, generic_q, hypo_generic,
        personal, info_frame, injection, model_gate;
    /* health_terms, one pattern per item: only "is there one anywhere?" is
     * asked, and an item runs only when its own literals are in the text */
    sf_pattern_t *health;
    size_t n_health;
    pthread_mutex_t jit_lock;
} sf_rails_t;

/* One rule of rules.json: a verdict, a category and the patterns that fire
 * it, with the optional co-occurrence (`requires`) and veto (`unless`) sets.
 * `strict` rules skip the framing checks (negation, past, generic question):
 * "I took the whole bottle" is an emergency however it is phrased. */
typedef struct sf_rule {
    char id[64];
    char category[48];
    char message[64];      /* key into messages.json */
    safety_verdict_t verdict;
    int strict;
    sf_pattern_t match;
    sf_pattern_t requires; /* code NULL: nothing else needed */
    sf_pattern_t unless;   /* code NULL: no veto */
} sf_rule_t;

/* A PHI recogniser from phi.json. */
typedef struct sf_recognizer {
    char type[24];         /* Presidio entity name: PHONE_NUMBER, ... */
    char validate[24];     /* "", "luhn", "ssn", "iban", "npi", "ipv4", "phone", ... */
    pcre2_code *pattern;
    pcre2_code *context;   /* NULL: context not needed */
    int need_context;      /* 1: fire only with a context word nearby */
    int group;             /* capture group holding the entity (0: whole match) */
    int priority;          /* wins overlaps against lower priorities */
} sf_recognizer_t;

/* A lower-cased word list (names, common words) behind an open-addressing
 * hash table: the name finder looks up several words per token, and a
 * probe is a few times cheaper than a binary search over 40,000 words. */
typedef struct sf_wordset {
    char **words;
    size_t n;
    char *storage;
    uint32_t *slot;        /* index into words + 1; 0: empty */
    size_t mask;           /* slots - 1 (a power of two) */
} sf_wordset_t;

typedef struct sf_soften {
    pcre2_code *pattern;
    char *replace;         /* PCRE2 substitution string */
} sf_soften_t;

typedef struct sf_dose {
    char name[48];
    pcre2_code *names;     /* the medicine's names, as one alternation */
    double max_single_mg;  /* 0: not stated */
    double max_daily_mg;
    char source[256];
} sf_dose_t;

struct safety {
    char locale[8];
    /* input rails */
    sf_rule_t *rules;
    size_t n_rules;
    sf_rails_t *rails;     /* framing, health terms, injection, classifier gate */
    int negation_window;
    pcre2_code *greeting;
    pcre2_code *jailbreak;
    pcre2_code *daily;     /* "per day" and kin, for the dose check */
    sf_prefilter_t *prefilter;
    cJSON *messages;       /* key -> message with the locale's numbers filled in */
    cJSON *locale_info;    /* the locale's entry of locales.json */
    /* PHI */
    sf_recognizer_t *recognizers;
    size_t n_recognizers;
    pcre2_code *person_title, *person_context, *person_after, *name_token,
        *eponym, *surname_suffix, *person_org;
    sf_wordset_t first_names, last_names, common_words;
    /* output rails */
    sf_soften_t *soften;
    size_t n_soften;
    pcre2_code *contradict;
    pcre2_code *dose_amount;
    sf_dose_t *doses;
    size_t n_doses;
    char *disclaimer;
    /* learned classifier (classifier.json), may be absent; it only scores
     * text rails->model_gate (rules.json classifier_gate) calls a request */
    struct sf_model *model;
};

/* Validates input for every entry point: non-NULL, non-empty, at most
 * SAFETY_MAX_INPUT bytes, valid UTF-8, no control characters but tab, CR
 * and LF. Returns MUSE_OK or MUSE_EINVAL with the byte offset in err. */
int sf_validate(const char *text, size_t len, muse_error_t *err);

/* Compiles a pattern (caseless, UTF) and JIT-compiles it; NULL on error with
 * a message naming `where` in err. */
pcre2_code *sf_compile(const char *pattern, const char *where, muse_error_t *err);
/* Joins a JSON array of pattern strings into one alternation and compiles it.
 * An absent or empty array gives *out = NULL and MUSE_OK. */
int sf_compile_list(const cJSON *arr, const char *where, pcre2_code **out, muse_error_t *err);
/* The same without JIT compilation, for an sf_pattern_t. */
int sf_compile_list_lazy(const cJSON *arr, const char *where, pcre2_code **out,
                         muse_error_t *err);

/* p's code, JIT-compiled first if this is its first run; NULL when the
 * policy has no such pattern. Safe from any number of threads. */
const pcre2_code *sf_pattern_code(const safety_t *s, sf_pattern_t *p);

/* Finds the first match of code in text[from, to). Returns 1 and sets
 * the span in ms and me, or 0. md must come from pcre2_match_data_create(>= 10 pairs). */
int sf_find(const pcre2_code *code, const char *text, size_t to, size_t from,
            pcre2_match_data *md, size_t *ms, size_t *me);

/* Reads each pattern (an alternation of patterns, as sf_compile_list
 * joins them) for the literals any match must contain and registers them
 * behind a new gate, or sets *gate = SF_GATE_ALWAYS when there are none to
 * go by. Returns MUSE_OK or MUSE_ENOMEM. */
int sf_prefilter_new(sf_prefilter_t **out);
int sf_prefilter_add(sf_prefilter_t *pf, const char *const *patterns, size_t n, int *gate);
/* Builds the automaton once every pattern is added; MUSE_OK or MUSE_ENOMEM. */
int sf_prefilter_build(sf_prefilter_t *pf);
void sf_prefilter_free(sf_prefilter_t *pf);
/* Records which literal sets occur in text (one pass, no allocation). */
void sf_prefilter_scan(const sf_prefilter_t *pf, const char *text, size_t len, sf_seen_t *seen);
/* 1 when the pattern behind gate may match the scanned text, 0 when it
 * cannot. */
int sf_gate_open(const sf_prefilter_t *pf, const sf_seen_t *seen, int gate);
/* Number of gates, and of literals and automaton states, for tests and
 * benchmarks. */
size_t sf_prefilter_size(const sf_prefilter_t *pf, size_t *n_literals, size_t *n_states);
/* What the prefilter derives from one pattern, for tests and people:
 * clauses joined by " & ", each a sorted "|"-list of literals ("" when the
 * pattern would always run). Returns malloc'd text (caller frees) or NULL
 * when out of memory. */
char *sf_prefilter_explain(const char *pattern);

/* Word sets: sf_wordset_load parses one lower-case word a line (comments with
 * '#'), sf_wordset_has looks a word up ignoring ASCII case. */
int sf_wordset_load(sf_wordset_t *ws, const char *data, size_t len, muse_error_t *err);
int sf_wordset_has(const sf_wordset_t *ws, const char *word, size_t len);
void sf_wordset_free(sf_wordset_t *ws);

/* Growable array of PHI entities. */
typedef struct sf_entities {
    safety_entity_t *v;
    size_t n, cap;
} sf_entities_t;

/* Loaders called by safety_open (each file's own section). */
int sf_load_rules(safety_t *s, muse_error_t *err);
int sf_load_phi(safety_t *s, muse_error_t *err);
int sf_load_output(safety_t *s, muse_error_t *err);
int sf_load_model(safety_t *s, muse_error_t *err);
void sf_free_model(struct sf_model *m);

/* Learned harm score of text in [0,1]; -1 when no model is loaded. */
double sf_model_score(const safety_t *s, const char *text, size_t len);

/* Finds PHI in validated text, sorted by start, without overlaps. */
int sf_phi_find(const safety_t *s, const char *text, size_t len, sf_entities_t *out);

/* Looks a message up by key (owned by s); falls back to "default" keys. */
const char *sf_message(const safety_t *s, const char *key);

/* Parses embedded JSON data, naming the file in err on failure. */
cJSON *sf_parse_data(const unsigned char *data, size_t len, const char *name,
                     muse_error_t *err);

/* Embedded policy files (generated by muse-embed from safety/data/). */
extern const unsigned char safety_data_rules_json[];
extern const size_t safety_data_rules_json_len;
extern const unsigned char safety_data_messages_json[];
extern const size_t safety_data_messages_json_len;
extern const unsigned char safety_data_locales_json[];
extern const size_t safety_data_locales_json_len;
extern const unsigned char safety_data_phi_json[];
extern const size_t safety_data_phi_json_len;
extern const unsigned char safety_data_output_json[];
extern const size_t safety_data_output_json_len;
extern const unsigned char safety_data_doses_json[];
extern const size_t safety_data_doses_json_len;
extern const unsigned char safety_data_first_names_txt[];
extern const size_t safety_data_first_names_txt_len;
extern const unsigned char safety_data_last_names_txt[];
extern const size_t safety_data_last_names_txt_len;
extern const unsigned char safety_data_common_words_txt[];
extern const size_t safety_data_common_words_txt_len;
extern const unsigned char safety_data_classifier_json[];
extern const size_t safety_data_classifier_json_len;

#endif
