/* Private to kb/: the connection structure, the writer shared by build,
 * import and migration, and helpers the store and search share. */
#ifndef MUSE_KB_INTERNAL_H
#define MUSE_KB_INTERNAL_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "kb/kb.h"

/* Schema history (PRAGMA user_version):
 *   1  first store: entries keyed by id with their JSON; FTS over the whole
 *      entry body and again per section; vocabulary without counts.
 *   2  entries get a stable row number n; section rows are numbered
 *      n * KB_SECTION_SLOTS + ord so that one entry's sections are one rowid
 *      range of an external-content FTS index (text indexed once); names get
 *      their own small FTS; the vocabulary counts sections per word and has
 *      a trigram index for typo fallback; reviews record their decision and
 *      the audit log keeps replaced versions. */
#define KB_SCHEMA_VERSION 2
#define KB_SECTION_SLOTS 32
#define KB_MAX_ENTRY_BYTES (256 * 1024)

/* Statements a connection prepares once and keeps (see kb_stmt). */
typedef enum kb_stmt_id {
    KB_ST_ENTRY_BY_ID,
    KB_ST_ENTRY_BY_N,
    KB_ST_SECTIONS,
    KB_ST_SOURCES,
    KB_ST_ALIASES,
    KB_ST_VOCAB_HAS,
    KB_ST_VOCAB_TRI,
    KB_ST_NORM_GE,
    KB_ST_NORM_EQ,
    KB_ST_NAMES,
    KB_ST_SECTIONS_ALL,
    KB_ST_SECTIONS_FAST,
    KB_ST_NAMES_FAST,
    KB_ST_SNIPPET,
    KB_ST_SECTION_TEXT,
    KB_ST_SIZES,
    KB_ST_NAMES_TEXT,
    KB_ST_SECTIONS_TEXT,
    KB_ST_COUNT
} kb_stmt_id_t;

struct kb {
    sqlite3 *db;
    char *path;
    int writable;
    sqlite3_stmt *st[KB_ST_COUNT];
    /* Index sizes for scoring outside FTS5, read on first need: rows and
     * average length of sections and of names. */
    int have_sizes;
    double sec_rows, sec_avg, name_rows, name_avg;
};

/* The statement for id, prepared on first use and reset for reuse; NULL
 * (with the reason in err) if it cannot be prepared. */
sqlite3_stmt *kb_stmt(kb_t *kb, kb_stmt_id_t id, muse_error_t *err);

/* One read transaction around the many small statements of a search or a
 * lookup: one lock and one snapshot instead of one per statement. Returns
 * whether it began one (pass that to kb_read_end). */
int kb_read_begin(kb_t *kb);
void kb_read_end(kb_t *kb, int own);

/* Runs SQL that returns no rows; the message says what was being done. */
int kb_exec(sqlite3 *db, const char *sql, const char *what, muse_error_t *err);

/* Creates the tables of the current schema in an empty database. */
int kb_schema_create(sqlite3 *db, muse_error_t *err);
/* Migrates db from schema `from` to KB_SCHEMA_VERSION in one transaction. */
int kb_schema_migrate(sqlite3 *db, int from, muse_error_t *err);
/* Registers the SQL functions search needs (kb_phrases) on a connection. */
int kb_register_functions(sqlite3 *db);

/* Checks one entry object. `where` names the file (and line for JSONL). */
int kb_validate_entry(const cJSON *e, const char *where, muse_error_t *err);

/* Loads an entry with ad-hoc statements (for connections without a kb_t). */
int kb_entry_load(sqlite3 *db, const char *id, kb_entry_t **out, muse_error_t *err);

/* FNV-1a, 64-bit: content fingerprints (not a security hash). */
uint64_t kb_fnv1a(uint64_t h, const char *s, size_t n);
#define KB_FNV_SEED 1469598103934665603ULL

/* A word -> counts map, for vocabulary changes gathered in memory and
 * written once (a build touches each word many thousands of times). */
typedef struct kb_word_slot {
    char *word;
    long df;      /* change in the number of sections holding the word */
    long name;    /* change in the number of entries whose names hold it */
    unsigned long stamp;   /* the text that last counted it (kb_wordmap_add_once) */
    uint64_t hash;         /* of word, so probes rarely compare strings */
} kb_word_slot_t;

typedef struct kb_wordmap {
    kb_word_slot_t *v;
    size_t cap, n;
} kb_wordmap_t;

/* Adds delta to word's df and name_delta to its name count. */
int kb_wordmap_add(kb_wordmap_t *m, const char *word, long delta, long name_delta);
/* As kb_wordmap_add, but a no-op when the word was already counted with
 * this stamp (nonzero): counts each word once per text without sorting. */
int kb_wordmap_add_once(kb_wordmap_t *m, const char *word, long delta, long name_delta, unsigned long stamp);
/* Calls fn for each word kb_words_split() would give, without allocating;
 * stops at (and returns) the first result other than MUSE_OK. */
int kb_words_each(const char *text, int (*fn)(const char *word, void *ud), void *ud);
/* The slot holding word, or NULL. */
kb_word_slot_t *kb_wordmap_find(const kb_wordmap_t *m, const char *word);
void kb_wordmap_free(kb_wordmap_t *m);

/* Writes entries: used by build, import and migration. */
enum {
    KB_W_INSERT,
    KB_W_ENTRY_GET,
    KB_W_ENTRY_UPDATE,
    KB_W_SECTION,
    KB_W_ALIAS,
    KB_W_SOURCE,
    KB_W_REVIEW,
    KB_W_AUDIT,
    KB_W_NAMES,
    KB_W_NAMES_DEL,
    KB_W_DEL_SECTIONS,
    KB_W_DEL_ALIASES,
    KB_W_DEL_SOURCES,
    KB_W_OLD_SECTIONS,
    KB_W_VOCAB,
    KB_W_SET_HASH,
    KB_W_SECTIONS_FTS,
    KB_W_COUNT
};

typedef struct kb_writer {
    sqlite3 *db;
    sqlite3_stmt *st[KB_W_COUNT];
    kb_wordmap_t words;
    unsigned long stamp;   /* one per counted text */
    sqlite3_int64 first_new;   /* entries.n of the first entry this writer adds */
    sqlite3_int64 vocab_max;   /* vocab.n before this writer */
    int no_review;     /* migration copies the review history instead */
    int no_audit;      /* migration keeps the old audit log and adds one row */
} kb_writer_t;

int kb_writer_init(kb_writer_t *w, sqlite3 *db, muse_error_t *err);
/* Adds a validated entry; with replace, an existing id is replaced (its
 * version bumped, the old version kept in the audit log) and *replaced set.
 * action ("build", "import") goes to the audit log with where. */
int kb_writer_put(kb_writer_t *w, const cJSON *e, const char *where, const char *action, int replace,
                  int *replaced, muse_error_t *err);
/* Recomputes one entry's content hash from what the tables now hold. */
int kb_writer_rehash(kb_writer_t *w, const char *id, muse_error_t *err);
/* Writes the gathered vocabulary and the store's content hash to meta. */
int kb_writer_finish(kb_writer_t *w, muse_error_t *err);
void kb_writer_free(kb_writer_t *w);

/* Current UTC time as 2024-01-31T12:00:00Z into buf (at least 32 bytes). */
void kb_now_iso(char *buf, size_t cap);

#endif
