/* Triage: how soon a person should get care, read from the knowledge store's
 * own "when to get help" guidance. Each sentence of an entry's
 * when_to_seek_care section is given a level (emergency, urgent, routine,
 * self_care) by the cue phrases in core/data/triage.json, and cut into
 * clauses (the items of its red-flag lists, each keeping the words it
 * shares with the list: "swelling of the lips, tongue or throat"). The
 * question is matched against the clauses of the answer's entries and of
 * the entries a search of the whole description finds and that the
 * description fits: a clause counts when the question says most of it,
 * denies none of it ("no swelling of the lips", "I can still walk on it"),
 * meets its qualifier ("sudden", "severe") and situation ("after an
 * injury"), and fits its age and temperature limits ("a baby aged 3 to 6
 * months with 39 C or higher"). Words are compared without plural, -ed and
 * -ing endings. The best-supported level wins, ties going to the more
 * urgent one, and the reason given is the entry's own sentence, so the
 * advice is traceable to its source. When no clause is met, the entry the
 * description is plainly about gives its "if you think you have it" or its
 * self-care advice; a description nothing fits is given a level from signs
 * listed in the data (urgent, routine or self-care signs). */
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
    int personal;          /* a description of what is happening (a personal word, or a message
                              that does not open as a question), not a request for information */
} triage_t;

int triage_init(muse_error_t *err);
/* Assesses a question against the guidance of the given entries (those the
 * answer found) and of the entries a search of the description finds. */
int triage_assess(kb_t *kb, const char *question, const char *const *ids, size_t n_ids, triage_t *out);
const char *triage_level_name(triage_level_t l);

#endif
