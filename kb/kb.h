/* kb: the curated medical knowledge store (SQLite with FTS5).
 *
 * Entries (conditions, symptoms, medicines, tests, measures, wellness) live as
 * JSON files in kb/content/, are loaded by kb_build() into one SQLite file, and
 * are searched with BM25 over titles, aliases and section text. The store is
 * opened read-only by the engine and shared across threads through
 * per-thread connections (kb_t is one connection: open one per thread). */
#ifndef MUSE_KB_H
#define MUSE_KB_H

#include <stddef.h>
#include <stdint.h>

#include "muse.h"

typedef struct kb kb_t;

enum { KB_READONLY = 0, KB_READWRITE = 1 };

/* Opens an existing store. A missing file, a file that is not a Muse store or
 * one of a newer schema fail with a message naming the path and how to
 * rebuild it. *out is closed with kb_close(). */
int kb_open(const char *path, int mode, kb_t **out, muse_error_t *err);
void kb_close(kb_t *kb);
const char *kb_path(const kb_t *kb);

typedef struct kb_build_stats {
    size_t entries;
    size_t files;
    double seconds;
} kb_build_stats_t;

/* Progress callback: done of total entries; return nonzero to continue. */
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
} kb_entry_t;

/* Loads one entry; MUSE_ENOTFOUND if there is none. Freed with kb_entry_free(). */
int kb_get(kb_t *kb, const char *id, kb_entry_t **out, muse_error_t *err);
void kb_entry_free(kb_entry_t *e);
/* The text of one section of an entry (borrowed from e), or NULL. */
const char *kb_entry_section(const kb_entry_t *e, const char *kind);

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

int kb_find_mentions(kb_t *kb, const char *text, kb_mentions_t *out, muse_error_t *err);
void kb_mentions_free(kb_mentions_t *m);

/* The store's own word handling, for modules that must read text the way
 * search does (triage matches questions against entry sentences). */
typedef struct kb_words kb_words_t;
struct kb_words {
    char **v;
    size_t n;
    size_t cap;
};
/* Lower-case, apostrophe-free, lightly stemmed words of text; free with kb_words_free(). */
int kb_words_split(const char *text, kb_words_t *out);
void kb_words_free(kb_words_t *w);
int kb_is_stopword(const char *word);

#endif
