/* Private to kb/: the connection structure and the text helpers shared by
 * the store (which indexes words and aliases) and search (which must
 * normalise questions exactly the same way). */
#ifndef MUSE_KB_INTERNAL_H
#define MUSE_KB_INTERNAL_H

#include <sqlite3.h>

#include "kb/kb.h"

#define KB_SCHEMA_VERSION 1

typedef struct kb_alias_row {
    char *norm;      /* normalised, stemmed words joined by single spaces */
    int nwords;
    int entry;       /* index into kb->alias_ids */
    char *alias;     /* as written */
} kb_alias_row_t;

struct kb {
    sqlite3 *db;
    char *path;
    /* Aliases and titles, normalised and sorted by norm, loaded on first use
     * for whole-phrase matching in questions. */
    kb_alias_row_t *aliases;
    size_t n_aliases;
    char **alias_ids;
    char **alias_kinds;
    size_t n_alias_ids;
    int aliases_loaded;
};


/* Splits text into lower-case words (letters, digits and UTF-8 bytes), drops
 * apostrophes ("don't" -> "dont") and applies a light plural stemmer. */
int kb_words_split(const char *text, kb_words_t *out);
void kb_words_free(kb_words_t *w);
/* Light English plural stemmer, in place: "headaches" -> "headache". */
void kb_stem(char *w);
int kb_is_stopword(const char *w);
/* Lay-to-clinical expansions of one word; NULL-terminated borrowed list or NULL. */
const char *const *kb_synonyms(const char *w);
/* Normalises a phrase to stemmed words joined by spaces; caller frees. */
char *kb_normalise(const char *text, int *nwords);

#endif
