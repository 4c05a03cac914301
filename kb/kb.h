/* kb: the curated medical knowledge store (SQLite with FTS5).
 *
 * Entries (conditions, symptoms, medicines, tests, measures, wellness) live as
 * JSON files in kb/content/, are loaded by kb_build() into one SQLite file, and
 * are searched with BM25 over titles, aliases and section text. Curators add
 * and replace entries with kb_import(), record clinical reviews with
 * kb_review() and check a store with kb_verify(); every change lands in an
 * append-only audit log. The store is opened read-only by the engine and
 * shared across threads through per-thread connections (kb_t is one
 * connection: use it from one thread at a time, open one per thread).
 *
 * Memory: every function that hands back memory names its free function;
 * strings inside returned structures belong to that structure. */
#ifndef MUSE_KB_H
#define MUSE_KB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "muse.h"

typedef struct kb kb_t;

enum { KB_READONLY = 0, KB_READWRITE = 1 };

/* Opens an existing store. A missing file, a file that is not a Muse store or
 * one of a newer schema fail with a message naming the path and how to
 * rebuild it. KB_READWRITE migrates a store of an older schema to the current
 * one first (in one transaction); KB_READONLY refuses an older store and
 * says to run `muse kb migrate`. *out is closed with kb_close(). */
int kb_open(const char *path, int mode, kb_t **out, muse_error_t *err);
void kb_close(kb_t *kb);
const char *kb_path(const kb_t *kb);

/* Reads many calls from one snapshot of the store (an engine answering one
 * question: a search, several entries, the question's names): one read lock
 * instead of one per call, and on a read-only connection the entries and
 * names read earlier in the snapshot are not read again. Returns a token for
 * kb_snapshot_end(); snapshots do not nest (an inner begin is a no-op).
 * Keep one short: a snapshot held open stops a writer's WAL checkpoint. */
int kb_snapshot_begin(kb_t *kb);
void kb_snapshot_end(kb_t *kb, int token);

/* The schema version this code writes (PRAGMA user_version of a store). */
int kb_schema_version(void);
/* Creates an empty store of the current schema at path, which must not exist. */
int kb_create(const char *path, muse_error_t *err);
/* Opens path read-write and migrates it to the current schema. *from is the
 * schema it had (equal to kb_schema_version() when nothing was to do). */
int kb_migrate(const char *path, int *from, muse_error_t *err);

typedef struct kb_build_stats {
    size_t entries;
    size_t files;
    double seconds;
} kb_build_stats_t;

/* Progress callback: done of total entries (total 0 when unknown). */
typedef void (*kb_progress_fn)(size_t done, size_t total, void *ud);

/* Builds a store at db_path from every *.json under content_dir. The new store
 * is written to a temporary file and renamed over db_path only when complete,
 * so a failed or killed build leaves the old store as it was. */
int kb_build(const char *content_dir, const char *db_path, kb_progress_fn progress, void *ud,
             kb_build_stats_t *stats, muse_error_t *err);

typedef struct kb_hit {
    char *id;
    char *title;
    char *kind;
    char *section;   /* best-matching section kind, or NULL */
    char *snippet;   /* a short excerpt for people */
    char *status;    /* review status: draft, reviewed, retired */
    double score;    /* higher is better */
} kb_hit_t;

typedef struct kb_hits {
    kb_hit_t *v;
    size_t n;
} kb_hits_t;

typedef struct kb_search_opts {
    size_t limit;          /* 0: 5 */
    int reviewed_only;     /* only entries whose review status is reviewed */
    const char *section;   /* restrict the snippet/section to this section kind, or NULL */
    const char *kind;      /* restrict to this entry kind, or NULL */
    int no_snippets;       /* leave each hit's snippet and section NULL: for a caller that
                              reads only ids, kinds and scores (a snippet is most of a
                              hit's cost) */
} kb_search_opts_t;

/* Searches the store. Question words and stop words are dropped, lay terms
 * expanded, and a name or alias said in full ranks its entry first. *out is
 * freed with kb_hits_free(). An empty result is MUSE_OK with out->n == 0. */
int kb_search(kb_t *kb, const char *query, const kb_search_opts_t *opts, kb_hits_t *out,
              muse_error_t *err);
void kb_hits_free(kb_hits_t *hits);

typedef struct kb_section {
    char *kind;
    char *text;
} kb_section_t;

typedef struct kb_source {
    char *publisher;
    char *title;
    int year;
    char *url;
} kb_source_t;

typedef struct kb_entry {
    char *id;
    char *kind;
    char *title;
    int version;
    char **aliases;
    size_t n_aliases;
    kb_section_t *sections;   /* in canonical section order */
    size_t n_sections;
    kb_source_t *sources;
    size_t n_sources;
    char *review_status;
    char *reviewer;
    char *credentials;
    char *review_date;
    char *review_note;        /* the note of the latest review, or "" */
} kb_entry_t;

/* Loads one entry; MUSE_ENOTFOUND if there is none. Freed with kb_entry_free(). */
int kb_get(kb_t *kb, const char *id, kb_entry_t **out, muse_error_t *err);
void kb_entry_free(kb_entry_t *e);
/* The text of one section of an entry (borrowed from e), or NULL. */
const char *kb_entry_section(const kb_entry_t *e, const char *kind);
/* The entry in its canonical JSON form (fixed key order, sections in
 * canonical order): what export writes and import reads. pretty: indented.
 * The caller frees the string with free(); NULL when out of memory. */
char *kb_entry_to_json(const kb_entry_t *e, int pretty);

/* ---- curation ---- */

typedef struct kb_import_opts {
    int replace;               /* an existing id is replaced (version bumped) instead of an error */
    kb_progress_fn progress;   /* may be NULL */
    void *ud;
} kb_import_opts_t;

typedef struct kb_import_stats {
    size_t added;
    size_t replaced;
    size_t lines;
    double seconds;
} kb_import_stats_t;

/* Imports a JSONL file (one entry per line, the format of docs/kb-format.md;
 * "-" reads standard input) into a store opened KB_READWRITE, in one
 * transaction: on any error nothing is changed, and the message names the
 * file, line (and column for bad JSON) and field. A duplicate id (in the store
 * or twice in the file) is an error unless opts->replace, which replaces the
 * entry, bumps its version and keeps the old one in the audit log. */
int kb_import(kb_t *kb, const char *path, const kb_import_opts_t *opts, kb_import_stats_t *stats,
              muse_error_t *err);

/* Writes every entry, ordered by id, one canonical JSON object per line.
 * Importing the output into an empty store and exporting again gives the
 * same bytes. *n (may be NULL) is the number of entries written. */
int kb_export(kb_t *kb, FILE *out, size_t *n, muse_error_t *err);

typedef struct kb_review {
    const char *reviewer;      /* required */
    const char *credentials;   /* required */
    const char *decision;      /* "approve" or "reject" */
    const char *note;          /* may be NULL */
    const char *date;          /* YYYY-MM-DD; NULL: today (UTC) */
} kb_review_t;

/* Records a clinical review of an entry in a store opened KB_READWRITE.
 * approve sets the entry's status to reviewed; reject sets it back to draft.
 * Both are kept in the review history and the audit log. MUSE_ENOTFOUND for
 * an unknown id, MUSE_EINVAL for a missing reviewer, credentials or decision. */
int kb_review(kb_t *kb, const char *id, const kb_review_t *r, muse_error_t *err);

typedef struct kb_problems {
    char **v;     /* one sentence per problem */
    size_t n;
} kb_problems_t;

/* Checks a store: SQLite integrity, foreign keys, every entry has sources and
 * an overview, no alias, section or source points at a missing entry, and
 * the full-text indexes match the tables. Returns MUSE_OK when the checks
 * ran (problems, if any, in *out, freed with kb_problems_free()). */
int kb_verify(kb_t *kb, kb_problems_t *out, muse_error_t *err);
void kb_problems_free(kb_problems_t *p);

typedef struct kb_stats {
    size_t entries;
    size_t reviewed;
    size_t with_sources;
    struct { char kind[16]; size_t n; } by_kind[8];
    size_t n_kinds;
    char content_version[64];
    char content_hash[80];
    char built_at[32];
} kb_stats_t;

int kb_stats(kb_t *kb, kb_stats_t *out, muse_error_t *err);

/* The canonical section kinds, in answer order; NULL-terminated. */
extern const char *const kb_section_kinds[];
extern const char *const kb_entry_kinds[];
int kb_is_section_kind(const char *s);
int kb_is_entry_kind(const char *s);

/* Alias matches inside free text, for entity extraction: every entry whose
 * title or alias appears as whole words in text. Longest matches first;
 * overlapping shorter ones dropped. */
typedef struct kb_mention {
    char *id;
    char *kind;
    char *alias;      /* the alias as written in the store */
    size_t start;     /* byte offsets in text */
    size_t end;
} kb_mention_t;

typedef struct kb_mentions {
    kb_mention_t *v;
    size_t n;
} kb_mentions_t;

/* *out is freed with kb_mentions_free(). */
int kb_find_mentions(kb_t *kb, const char *text, kb_mentions_t *out, muse_error_t *err);
void kb_mentions_free(kb_mentions_t *m);

/* ---- text helpers shared with the engine ----
 * Questions, titles and aliases all pass through the same splitter and
 * stemmer, so other modules that match question words against entry text
 * (triage, mentions) agree with the store. */

typedef struct kb_words {
    char **v;
    size_t n;
    size_t cap;
} kb_words_t;

/* Splits text into lower-case words (letters, digits and UTF-8 bytes), drops
 * apostrophes ("don't" -> "dont") and applies a light plural stemmer.
 * out is freed with kb_words_free(), also after a failure. */
int kb_words_split(const char *text, kb_words_t *out);
void kb_words_free(kb_words_t *w);
/* Light English plural stemmer, in place: "headaches" -> "headache". */
void kb_stem(char *w);
/* A word (already split and stemmed) that carries no topic (kb/data/stopwords.txt). */
int kb_is_stopword(const char *w);
/* Lay-to-clinical expansions of one word (kb/data/synonyms.json);
 * a NULL-terminated list borrowed from the process-wide table, or NULL. */
const char *const *kb_synonyms(const char *w);
/* A phrase as stemmed words joined by single spaces; the caller frees it. */
char *kb_normalise(const char *text, int *nwords);

#endif
