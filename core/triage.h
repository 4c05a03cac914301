/* Triage: how soon a person should get care, read from the knowledge store's
 * own "when to get help" guidance. Each sentence of an entry's
 * when_to_seek_care section is given a level (emergency, urgent, routine,
 * self_care) by the cue phrases in core/data/triage.json; the question is
 * matched against those sentences, and the best-supported level wins, ties
 * going to the more urgent one. The reason given is the entry's own
 * sentence, so the advice is traceable to its source. */
#ifndef MUSE_TRIAGE_H
#define MUSE_TRIAGE_H

#include <stddef.h>

#include "kb/kb.h"

typedef enum triage_level {
    TRIAGE_NONE = -1,
    TRIAGE_SELF_CARE = 0,
    TRIAGE_ROUTINE = 1,
    TRIAGE_URGENT = 2,
    TRIAGE_EMERGENCY = 3,
} triage_level_t;

typedef struct triage {
    triage_level_t level;
    double score;          /* question words found in the deciding sentence */
    char entry[72];        /* entry whose guidance decided */
    char reason[600];      /* that sentence */
    int long_duration;     /* the question says it has gone on for weeks or more */
    int mild;              /* the question says it is mild or minor */
    int severe;            /* the question says it is severe or getting worse */
    int personal;          /* someone describes what is happening to them or another person */
} triage_t;

int triage_init(muse_error_t *err);
/* Assesses a question against the guidance of the given entries. */
int triage_assess(kb_t *kb, const char *question, const char *const *ids, size_t n_ids, triage_t *out);
const char *triage_level_name(triage_level_t l);

#endif
