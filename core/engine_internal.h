/* Private to the engine: intents, the trace, and the passages that answers
 * are composed from. */
#ifndef MUSE_ENGINE_INTERNAL_H
#define MUSE_ENGINE_INTERNAL_H

#include <stddef.h>

#include "muse.h"

#define ENGINE_MAX_SECTIONS 6

typedef struct intent {
    char id[32];
    char **cues;
    size_t n_cues;
    char needs[32];                            /* "", "readings", "two_medicines" */
    char sections[ENGINE_MAX_SECTIONS][24];    /* best first */
    size_t n_sections;
} intent_t;

/* Loads the JSON files in core/data/ once per process. */
int engine_data_init(muse_error_t *err);
/* Intents whose cues appear in the question, best first; returns the count. */
size_t engine_intents(const char *question, int n_readings, int n_medicines, const intent_t **out,
                      size_t max);
const intent_t *engine_intent_by_id(const char *id);
/* The language a question seems to be written in when it is not English
 * (core/data/languages.json), or NULL. Muse reads and answers English only. */
const char *engine_foreign_language(const char *question);
/* Heading for a section kind, for people ("treatment" -> "Treatment"). */
const char *engine_section_heading(const char *kind);

#endif
