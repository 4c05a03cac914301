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
    KB_ST_BEGIN,
    KB_ST_COMMIT,
    KB_ST_DATA_VERSION,
    KB_ST_COUNT
} kb_stmt_id_t;

/* What a read-only connection remembers between calls (see struct kb). */
#define KB_MEMO_ENTRIES 128
#define KB_MEMO_ENTRY_BYTES (1024 * 1024)   /* text held by the entry memo */
#define KB_MEMO_MENTIONS 4
#define KB_MEMO_SEARCHES 4

#define KB_MEMO_SIZES_MAX 32768   /* rows per index */

/* Token counts of index rows (rowid -> size), filled as ranking asks for
 * them: open addressing, rowid -1 marks a free slot. */
typedef struct kb_memo_sizes {
    const struct kb *kb;       /* whose snapshot makes it valid */
    sqlite3_int64 *rowid;
    int *size;
    size_t cap, n;
} kb_memo_sizes_t;

enum { KB_SIZES_SECTIONS, KB_SIZES_NAMES, KB_SIZES_COUNT };

typedef struct kb_memo_mentions {
    char *text;                /* the text searched; NULL: a free slot */
    kb_mentions_t m;
    sqlite3_int64 *ns;         /* each mention's entry row number */
    unsigned long used;        /* tick of the last use, for eviction */
} kb_memo_mentions_t;

struct kb {
    sqlite3 *db;
    char *path;
    int writable;
    sqlite3_stmt *st[KB_ST_COUNT];
    /* Index sizes for scoring outside FTS5, read on first need: rows and
     * average length of sections and of names. */
    int have_sizes;
    double sec_rows, sec_avg, name_rows, name_avg;
    /* Memos of a read-only connection: the entries and the name mentions
     * it read lately. One answer reads the same entries and the same
     * question's names several times (retrieval, sources, triage, entity
     * extraction); each read is four statements, each mention lookup a
     * B-tree walk per word. They are read and filled only inside a snapshot
     * that kb_read_begin() began and checked, and all dropped when the
     * store's data version has moved, so they never say anything the store
     * does not say in that snapshot. Bounded: KB_MEMO_ENTRIES entries
     * holding at most KB_MEMO_ENTRY_BYTES of text, and KB_MEMO_MENTIONS
     * texts, per connection. */
    int snap;                  /* inside a snapshot whose data version was checked */
    sqlite3_int64 data_version;
    unsigned long tick;
    kb_entry_t *memo_entry[KB_MEMO_ENTRIES];
    unsigned long memo_entry_used[KB_MEMO_ENTRIES];
    size_t memo_entry_size[KB_MEMO_ENTRIES];
    size_t memo_entry_bytes;   /* sum of memo_entry_size */
    kb_memo_mentions_t memo_mentions[KB_MEMO_MENTIONS];
    /* Ranking reads each matched row's length from the index's docsize
     * table, one lookup per row per query; the common words of health
     * questions match the same rows again and again. */
    kb_memo_sizes_t memo_sizes[KB_SIZES_COUNT];
    /* Searches: the ranked candidates of the last few query texts and the
     * snippets made for them (kb/search.c). */
    struct kb_search_memo *memo_search[KB_MEMO_SEARCHES];
};

/* The statement for id, prepared on first use and reset for reuse; NULL
 * (with the reason in err) if it cannot be prepared. */
sqlite3_stmt *kb_stmt(kb_t *kb, kb_stmt_id_t id, muse_error_t *err);

/* One read transaction around the many small statements of a search or a
 * lookup: one lock and one snapshot instead of one per statement. Returns
 * whether it began one (pass that to kb_read_end). */
int kb_read_begin(kb_t *kb);
void kb_read_end(kb_t *kb, int own);
/* Drops everything the connection remembers (the memos in struct kb). */
void kb_memo_clear(kb_t *kb);
/* The mention half of kb_memo_clear(), kept beside its user in search.c. */
void kb_memo_mentions_clear(kb_t *kb);
/* The search half, also in search.c. */
void kb_memo_searches_clear(kb_t *kb);

/* Runs SQL that returns no rows; the message says what was being done. */
int kb_exec(sqlite3 *db, const char *sql, const char *what, muse_error_t *err);

/* Creates the tables of the current schema in an empty database. */
int kb_schema_create(sqlite3 *db, muse_error_t *err);
/* Migrates db from schema `from` to KB_SCHEMA_VERSION in one transaction. */
int kb_schema_migrate(sqlite3 *db, int from, muse_error_t *err);
/* Registers the SQL functions search needs (kb_phrases, kb_rank...) on
 * kb's connection; kb_rank_sections and kb_rank_names use kb's size memos. */
int kb_register_functions(kb_t *kb);
/* Frees the size memos (part of kb_memo_clear()). */
void kb_memo_sizes_clear(kb_t *kb);

/* Checks one entry object. `where` names the file (and line for JSONL). */
int kb_validate_entry(const cJSON *e, const char *where, muse_error_t *err);

/* Loads an entry with ad-hoc statements (for connections without a kb_t). */
int kb_entry_load(sqlite3 *db, const char *id, kb_entry_t **out, muse_error_t *err);

/* FNV-1a, 64-bit: content fingerprints (not a security hash). */

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
