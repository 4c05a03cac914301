/* The store's schema and its migrations.
 *
 * PRAGMA user_version holds the schema number (kb_internal.h has the
 * history). A store is created at the current schema; an older one is
 * brought forward by kb_schema_migrate() step by step, each step in the same
 * transaction, so a migration that fails or is killed leaves the store at its
 * old schema, still usable by the muse that wrote it. Content is never
 * re-derived from files during a migration: everything an entry holds is
 * already in the store. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kb/kb_internal.h"
#include "muse_err.h"

static const char *const SCHEMA_V2 =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE entries("
    "  n INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),"
    "  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','reviewed','retired')),"
    "  hash INTEGER NOT NULL DEFAULT 0,"
    "  updated_at TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE sections("
    "  n INTEGER PRIMARY KEY,"
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, ord INTEGER NOT NULL, text TEXT NOT NULL,"
    "  UNIQUE (entry_id, kind));"
    "CREATE TABLE aliases("
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  alias TEXT NOT NULL, norm TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, ord));"
    "CREATE INDEX aliases_norm ON aliases(norm);"
    "CREATE TABLE sources("
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL, publisher TEXT NOT NULL, title TEXT NOT NULL,"
    "  year INTEGER NOT NULL, url TEXT NOT NULL, PRIMARY KEY (entry_id, ord));"
    "CREATE TABLE reviews("
    "  id INTEGER PRIMARY KEY, entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  status TEXT NOT NULL, reviewer TEXT NOT NULL DEFAULT '', credentials TEXT NOT NULL DEFAULT '',"
    "  date TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',"
    "  decision TEXT NOT NULL DEFAULT 'imported');"
    "CREATE INDEX reviews_entry ON reviews(entry_id);"
    "CREATE TABLE IF NOT EXISTS audit("
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL,"
    "  entry_id TEXT, version INTEGER, detail TEXT NOT NULL DEFAULT '', doc TEXT);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    /* df: sections holding the word; name: entries whose names hold it. */
    "CREATE TABLE vocab(n INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE,"
    "  df INTEGER NOT NULL DEFAULT 0, name INTEGER NOT NULL DEFAULT 0);"
    "CREATE VIRTUAL TABLE vocab_tri USING fts5(word, content='vocab', content_rowid='n',"
    "  tokenize='trigram');"
    /* Titles and aliases, one row per entry (rowid = entries.n). */
    "CREATE VIRTUAL TABLE names_fts USING fts5(title, aliases,"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    /* Section text is stored once, in sections, and indexed here. New rows
     * are indexed by the writer in one statement per import (FTS5 writes a
     * segment per statement, so a row at a time is several times slower);
     * deletions and updates follow through triggers. */
    "CREATE VIRTUAL TABLE sections_fts USING fts5(text, content='sections', content_rowid='n',"
    "  tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TRIGGER sections_ad AFTER DELETE ON sections"
    "  BEGIN INSERT INTO sections_fts(sections_fts, rowid, text) VALUES ('delete', old.n, old.text); END;"
    "CREATE TRIGGER sections_au AFTER UPDATE ON sections BEGIN"
    "  INSERT INTO sections_fts(sections_fts, rowid, text) VALUES ('delete', old.n, old.text);"
    "  INSERT INTO sections_fts(rowid, text) VALUES (new.n, new.text); END;";

int kb_exec(sqlite3 *db, const char *sql, const char *what, muse_error_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = muse_err(err, MUSE_EIO, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return MUSE_OK;
}

static int set_version(sqlite3 *db, int v, muse_error_t *err)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
    return kb_exec(db, sql, "setting the schema version", err);
}

int kb_schema_create(sqlite3 *db, muse_error_t *err)
{
    int rc = kb_exec(db, SCHEMA_V2, "creating the store schema", err);
    return rc == MUSE_OK ? set_version(db, KB_SCHEMA_VERSION, err) : rc;
}

/* 1 -> 2. Every v1 entry kept its canonical JSON in entries.doc, so the new
 * tables are filled from that through the same writer a build uses; the
 * review history and the audit log are carried over row for row (same ids),
 * then every entry's content hash is recomputed from what the new tables
 * hold. */
static int migrate_1_to_2(sqlite3 *db, muse_error_t *err)
{
    static const char *const RENAME =
        "DROP INDEX IF EXISTS aliases_norm;"
        "DROP INDEX IF EXISTS reviews_entry;"
        "ALTER TABLE entries RENAME TO v1_entries;"
        "ALTER TABLE sections RENAME TO v1_sections;"
        "ALTER TABLE aliases RENAME TO v1_aliases;"
        "ALTER TABLE sources RENAME TO v1_sources;"
        "ALTER TABLE reviews RENAME TO v1_reviews;"
        "DROP TABLE IF EXISTS entries_fts;"
        "DROP TABLE IF EXISTS sections_fts;"
        "DROP TABLE IF EXISTS names_tri;"
        "DROP TABLE IF EXISTS vocab;"
        "ALTER TABLE audit ADD COLUMN doc TEXT;";
    kb_writer_t w = {0};
    sqlite3_stmt *st = NULL;
    int rc;
    if ((rc = kb_exec(db, RENAME, "migrating schema 1 to 2 (moving old tables)", err)) != MUSE_OK ||
        (rc = kb_exec(db, SCHEMA_V2, "migrating schema 1 to 2 (new tables)", err)) != MUSE_OK ||
        (rc = kb_writer_init(&w, db, err)) != MUSE_OK)
        goto done;
    w.no_review = 1;
    w.no_audit = 1;
    if (sqlite3_prepare_v2(db, "SELECT id, doc FROM v1_entries ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "migrating schema 1 to 2: %s", sqlite3_errmsg(db));
        goto done;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        char where[128];
        snprintf(where, sizeof where, "migrating entry %.80s", id);
        cJSON *e = cJSON_Parse((const char *)sqlite3_column_text(st, 1));
        if (!e) {
            rc = muse_err(err, MUSE_ECORRUPT, "%s: its stored JSON is damaged", where);
            goto done;
        }
        rc = kb_validate_entry(e, where, err);
        if (rc == MUSE_OK)
            rc = kb_writer_put(&w, e, where, NULL, 0, NULL, err);
        cJSON_Delete(e);
        if (rc != MUSE_OK)
            goto done;
    }
    if (s != SQLITE_DONE) {
        rc = muse_err(err, MUSE_ECORRUPT, "migrating schema 1 to 2: %s", sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = kb_exec(db,
                      "INSERT INTO reviews(id, entry_id, status, reviewer, credentials, date, note, decision)"
                      "  SELECT id, entry_id, status, reviewer, credentials, date, note,"
                      "   CASE WHEN status = 'reviewed' THEN 'approve' ELSE 'imported' END"
                      "  FROM v1_reviews ORDER BY id;"
                      "DROP TABLE v1_reviews; DROP TABLE v1_sources; DROP TABLE v1_aliases;"
                      "DROP TABLE v1_sections; DROP TABLE v1_entries;",
                      "migrating schema 1 to 2 (review history)", err)) != MUSE_OK)
        goto done;
    if (sqlite3_prepare_v2(db, "SELECT id FROM entries ORDER BY n", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "migrating schema 1 to 2: %s", sqlite3_errmsg(db));
        goto done;
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        if ((rc = kb_writer_rehash(&w, (const char *)sqlite3_column_text(st, 0), err)) != MUSE_OK)
            goto done;
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = kb_writer_finish(&w, err)) != MUSE_OK)
        goto done;
    rc = kb_exec(db,
                 "INSERT INTO audit(at, action, entry_id, version, detail)"
                 " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), 'migrate', NULL, NULL,"
                 "         'store schema 1 -> 2');",
                 "migrating schema 1 to 2 (audit)", err);
done:
    sqlite3_finalize(st);
    kb_writer_free(&w);
    return rc;
}

int kb_schema_migrate(sqlite3 *db, int from, muse_error_t *err)
{
    if (from == KB_SCHEMA_VERSION)
        return MUSE_OK;
    if (from < 1 || from > KB_SCHEMA_VERSION)
        return muse_err(err, MUSE_EUNSUPPORTED, "no migration from store schema %d", from);
    /* Foreign keys are checked by hand at the end: the old tables are renamed
     * and dropped in between, which SQLite only allows with them off (and
     * the pragma has no effect inside a transaction). */
    int rc = kb_exec(db, "PRAGMA foreign_keys=OFF; PRAGMA legacy_alter_table=ON; BEGIN IMMEDIATE",
                     "starting the migration", err);
    if (rc != MUSE_OK)
        return rc;
    for (int v = from; v < KB_SCHEMA_VERSION && rc == MUSE_OK; v++) {
        if (v == 1)
            rc = migrate_1_to_2(db, err);
    }
    if (rc == MUSE_OK)
        rc = set_version(db, KB_SCHEMA_VERSION, err);
    if (rc == MUSE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK ||
            sqlite3_step(st) == SQLITE_ROW)
            rc = muse_err(err, MUSE_ECORRUPT, "migration left rows pointing at missing entries");
        sqlite3_finalize(st);
    }
    if (rc == MUSE_OK)
        rc = kb_exec(db, "COMMIT", "committing the migration", err);
    if (rc != MUSE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(db, "PRAGMA legacy_alter_table=OFF; PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return rc;
}

/* kb_phrases(fts): a bit mask of the query's phrases present in the current
 * row (bit i: phrase i). Search uses it to count how many of a question's
 * words an entry covers, not just how well it matches the best one. */
static void phrases_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                       sqlite3_value **val)
{
    (void)nval;
    (void)val;
    int np = api->xPhraseCount(fts);
    sqlite3_int64 mask = 0;
    for (int i = 0; i < np && i < 62; i++) {
        Fts5PhraseIter it;
        int col = -1, off = -1;
        if (api->xPhraseFirst(fts, i, &it, &col, &off) == SQLITE_OK && col >= 0)
            mask |= (sqlite3_int64)1 << i;
    }
    sqlite3_result_int64(ctx, mask);
}

/* kb_rank(fts, df [, weight per column...]): BM25 of the current row, like
 * FTS5's bm25() but with each phrase's document frequency passed in (df: a
 * blob of doubles, one per phrase, from the vocabulary table). FTS5's own
 * bm25() counts those by reading every phrase's whole doclist on each
 * query, which on a large store costs more than the search itself. Higher
 * is better. */
void kb_memo_sizes_clear(kb_t *kb)
{
    for (int i = 0; i < KB_SIZES_COUNT; i++) {
        kb_memo_sizes_t *m = &kb->memo_sizes[i];
        free(m->rowid);
        free(m->size);
        m->rowid = NULL;
        m->size = NULL;
        m->cap = m->n = 0;
    }
}

static size_t size_slot(const kb_memo_sizes_t *m, sqlite3_int64 row)
{
    size_t h = ((uint64_t)row * 0x9E3779B97F4A7C15ULL >> 17) & (m->cap - 1);
    while (m->rowid[h] >= 0 && m->rowid[h] != row)
        h = (h + 1) & (m->cap - 1);
    return h;
}

/* Keeps at most half the slots full; returns 0 when it cannot grow. */
static int sizes_grow(kb_memo_sizes_t *m)
{
    if ((m->n + 1) * 2 <= m->cap)
        return 1;
    if (m->n >= KB_MEMO_SIZES_MAX)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 1024;
    sqlite3_int64 *rowid = malloc(cap * sizeof *rowid);
    int *size = malloc(cap * sizeof *size);
    if (!rowid || !size) {
        free(rowid);
        free(size);
        return 0;
    }
    kb_memo_sizes_t g = {.kb = m->kb, .rowid = rowid, .size = size, .cap = cap, .n = m->n};
    for (size_t i = 0; i < cap; i++)
        rowid[i] = -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->rowid[i] >= 0) {
            size_t h = size_slot(&g, m->rowid[i]);
            rowid[h] = m->rowid[i];
            size[h] = m->size[i];
        }
    free(m->rowid);
    free(m->size);
    *m = g;
    return 1;
}

/* The current row's length in tokens (all columns), from the memo when the
 * connection's snapshot makes it valid (see struct kb). */
static int row_size(const Fts5ExtensionApi *api, Fts5Context *fts, kb_memo_sizes_t *m)
{
    int dl = 0;
    if (!m || !m->kb->snap) {
        api->xColumnSize(fts, -1, &dl);
        return dl;
    }
    sqlite3_int64 row = api->xRowid(fts);
    if (m->cap) {
        size_t h = size_slot(m, row);
        if (m->rowid[h] == row)
            return m->size[h];
    }
    if (api->xColumnSize(fts, -1, &dl) == SQLITE_OK && row >= 0 && sizes_grow(m)) {
        size_t h = size_slot(m, row);
        m->rowid[h] = row;
        m->size[h] = dl;
        m->n++;
    }
    return dl;
}

/* The index's row count and total tokens: constant for a query, but each
 * call reads them from the index again, so the first row of a query keeps
 * them in the function's per-query slot. */
typedef struct rank_totals {
    sqlite3_int64 nrow, ntok;
} rank_totals_t;

static void rank_totals(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_int64 *nrow, sqlite3_int64 *ntok)
{
    rank_totals_t *t = api->xGetAuxdata(fts, 0);
    if (t) {
        *nrow = t->nrow;
        *ntok = t->ntok;
        return;
    }
    *nrow = *ntok = 0;
    api->xRowCount(fts, nrow);
    api->xColumnTotalSize(fts, -1, ntok);
    if ((t = sqlite3_malloc(sizeof *t)) != NULL) {
        t->nrow = *nrow;
        t->ntok = *ntok;
        api->xSetAuxdata(fts, t, sqlite3_free);   /* on failure SQLite frees t itself */
    }
}

static void rank_any(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                     sqlite3_value **val, double b)
{
    enum { MAXP = 64 };
    double df[MAXP], freq[MAXP] = {0};
    int np = api->xPhraseCount(fts);
    if (np > MAXP)
        np = MAXP;
    int ndf = 0;
    if (nval > 0 && sqlite3_value_type(val[0]) == SQLITE_BLOB) {
        ndf = sqlite3_value_bytes(val[0]) / (int)sizeof(double);
        if (ndf > MAXP)
            ndf = MAXP;
        memcpy(df, sqlite3_value_blob(val[0]), (size_t)ndf * sizeof(double));
    }
    sqlite3_int64 nrow = 0, ntok = 0;
    int dl = 0, ninst = 0;
    rank_totals(api, fts, &nrow, &ntok);
    if (b > 0)
        dl = row_size(api, fts, api->xUserData(fts));   /* a table lookup per row, unless memoised */
    api->xInstCount(fts, &ninst);
    for (int i = 0; i < ninst; i++) {
        int ip, ic, io;
        if (api->xInst(fts, i, &ip, &ic, &io) == SQLITE_OK && ip >= 0 && ip < np)
            freq[ip] += 1 + ic < nval ? sqlite3_value_double(val[1 + ic]) : 1.0;
    }
    const double k1 = 1.2;
    double avgdl = nrow > 0 && ntok > 0 ? (double)ntok / (double)nrow : 1.0;
    double score = 0;
    for (int p = 0; p < np; p++) {
        if (freq[p] <= 0)
            continue;
        double d = p < ndf ? df[p] : 1.0;
        double idf = log(((double)nrow - d + 0.5) / (d + 0.5));
        if (idf <= 1e-6)
            idf = 1e-6;
        score += idf * freq[p] * (k1 + 1) / (freq[p] + k1 * (1 - b + b * (double)dl / avgdl));
    }
    sqlite3_result_double(ctx, score);
}

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                    sqlite3_value **val)
{
    rank_any(api, fts, ctx, nval, val, 0.75);
}

/* kb_rank0: the same without length normalisation (b = 0), which spares a
 * table lookup per row: for finding candidates on a large store, which are
 * then scored in full. */
static void rank0_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                     sqlite3_value **val)
{
    rank_any(api, fts, ctx, nval, val, 0.0);
}

/* kb_sizes(fts): "rows average-length" of the whole index, for scoring
 * outside FTS5 with the same statistics. */
static void sizes_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                     sqlite3_value **val)
{
    (void)nval;
    (void)val;
    sqlite3_int64 nrow = 0, ntok = 0;
    api->xRowCount(fts, &nrow);
    api->xColumnTotalSize(fts, -1, &ntok);
    char buf[64];
    snprintf(buf, sizeof buf, "%lld %.6f", (long long)nrow, nrow > 0 ? (double)ntok / (double)nrow : 1.0);
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

int kb_register_functions(kb_t *kb)
{
    sqlite3 *db = kb->db;
    for (int i = 0; i < KB_SIZES_COUNT; i++)
        kb->memo_sizes[i].kb = kb;
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return MUSE_EUNSUPPORTED;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api)
        return MUSE_EUNSUPPORTED;
    if (api->xCreateFunction(api, "kb_phrases", NULL, phrases_fn, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "kb_rank", NULL, rank_fn, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "kb_rank0", NULL, rank0_fn, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "kb_rank_sections", &kb->memo_sizes[KB_SIZES_SECTIONS], rank_fn, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "kb_rank_names", &kb->memo_sizes[KB_SIZES_NAMES], rank_fn, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "kb_sizes", NULL, sizes_fn, NULL) != SQLITE_OK)
        return MUSE_EUNSUPPORTED;
    return MUSE_OK;
}
