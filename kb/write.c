/* Writing entries into a store: one writer serves the build, import and
 * schema migration, so an entry lands in the same rows whichever way it
 * came in.
 *
 * An entry keeps its row number n for life (a replace updates it in place),
 * and its sections are rows n * KB_SECTION_SLOTS + ord, which the section
 * index follows through triggers. Vocabulary counts are gathered in memory
 * and written once by kb_writer_finish(): a build of 100,000 entries would
 * otherwise touch the vocabulary table tens of millions of times. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kb/kb_internal.h"
#include "muse_err.h"
#include "muse_hash.h"

static const char *const WRITER_SQL[KB_W_COUNT] = {
    [KB_W_INSERT] = "INSERT INTO entries(id, kind, title, version, status, updated_at) VALUES (?,?,?,?,?,?)",
    [KB_W_ENTRY_GET] = "SELECT n, version FROM entries WHERE id = ?",
    [KB_W_ENTRY_UPDATE] = "UPDATE entries SET kind = ?2, title = ?3, version = ?4, status = ?5, updated_at = ?6"
                          " WHERE n = ?1",
    [KB_W_SECTION] = "INSERT INTO sections(n, entry_id, kind, ord, text) VALUES (?,?,?,?,?)",
    [KB_W_ALIAS] = "INSERT INTO aliases(entry_id, ord, alias, norm) VALUES (?,?,?,?)",
    [KB_W_SOURCE] = "INSERT INTO sources(entry_id, ord, publisher, title, year, url) VALUES (?,?,?,?,?,?)",
    [KB_W_REVIEW] = "INSERT INTO reviews(entry_id, status, reviewer, credentials, date, note, decision)"
                    " VALUES (?,?,?,?,?,?,?)",
    [KB_W_AUDIT] = "INSERT INTO audit(at, action, entry_id, version, detail, doc)"
                   " VALUES (strftime('%Y-%m-%dT%H:%M:%SZ','now'), ?, ?, ?, ?, ?)",
    [KB_W_NAMES] = "INSERT INTO temp.kb_pending_names(n, title, aliases) VALUES (?,?,?)",
    [KB_W_NAMES_DEL] = "DELETE FROM names_fts WHERE rowid = ?",
    [KB_W_DEL_SECTIONS] = "DELETE FROM sections WHERE entry_id = ?",
    [KB_W_DEL_ALIASES] = "DELETE FROM aliases WHERE entry_id = ?",
    [KB_W_DEL_SOURCES] = "DELETE FROM sources WHERE entry_id = ?",
    [KB_W_OLD_SECTIONS] = "SELECT text FROM sections WHERE entry_id = ?",
    [KB_W_VOCAB] = "INSERT INTO vocab(word, df, name) VALUES (?1, max(?2, 0), max(?3, 0))"
                   " ON CONFLICT(word) DO UPDATE SET df = max(df + ?2, 0), name = max(name + ?3, 0)",
    [KB_W_SET_HASH] = "UPDATE entries SET hash = ? WHERE id = ?",
    [KB_W_SECTIONS_FTS] = "INSERT INTO sections_fts(rowid, text) SELECT n, text FROM sections WHERE entry_id = ?",
};

void kb_now_iso(char *buf, size_t cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static sqlite3_int64 max_n(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int kb_writer_init(kb_writer_t *w, sqlite3 *db, muse_error_t *err)
{
    memset(w, 0, sizeof *w);
    w->db = db;
    /* New entries get row numbers above every existing one (INTEGER PRIMARY
     * KEY without AUTOINCREMENT takes max + 1), so their sections are one
     * range that kb_writer_finish() indexes in one statement. */
    w->first_new = max_n(db, "SELECT coalesce(max(n), 0) + 1 FROM entries");
    w->vocab_max = max_n(db, "SELECT coalesce(max(n), 0) FROM vocab");
    int rc = kb_exec(db,
                     "CREATE TEMP TABLE IF NOT EXISTS kb_pending_names(n INTEGER PRIMARY KEY, title TEXT, aliases TEXT);"
                     "DELETE FROM temp.kb_pending_names;",
                     "preparing the writer", err);
    if (rc != MUSE_OK)
        return rc;
    for (int i = 0; i < KB_W_COUNT; i++)
        if (sqlite3_prepare_v3(db, WRITER_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &w->st[i], NULL) != SQLITE_OK) {
            int rc = muse_err(err, MUSE_ECORRUPT, "preparing store statement: %s", sqlite3_errmsg(db));
            kb_writer_free(w);
            return rc;
        }
    return MUSE_OK;
}

void kb_writer_free(kb_writer_t *w)
{
    if (!w)
        return;
    for (int i = 0; i < KB_W_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    kb_wordmap_free(&w->words);
    memset(w, 0, sizeof *w);
}

static int step_done(sqlite3_stmt *st, const char *where, muse_error_t *err)
{
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (s != SQLITE_DONE && s != SQLITE_ROW)
        return muse_err(err, MUSE_EIO, "%s: %s", where, sqlite3_errmsg(sqlite3_db_handle(st)));
    return MUSE_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(j) ? j->valuestring : "";
}

/* A kb_entry_t whose strings are borrowed from a validated JSON entry, with
 * sections in canonical order: serialised, it is exactly what kb_get() will
 * give back once the entry is stored. Free with view_free(). */
static int view_from_json(const cJSON *j, int version, kb_entry_t *v)
{
    memset(v, 0, sizeof *v);
    const cJSON *al = cJSON_GetObjectItemCaseSensitive(j, "aliases");
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "sections");
    const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(j, "sources");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "review");
    size_t na = (size_t)cJSON_GetArraySize(al), ns = (size_t)cJSON_GetArraySize(secs),
           nsrc = (size_t)cJSON_GetArraySize(srcs);
    v->aliases = calloc(na ? na : 1, sizeof *v->aliases);
    v->sections = calloc(ns ? ns : 1, sizeof *v->sections);
    v->sources = calloc(nsrc ? nsrc : 1, sizeof *v->sources);
    if (!v->aliases || !v->sections || !v->sources)
        return MUSE_ENOMEM;
    v->id = (char *)jstr(j, "id");
    v->kind = (char *)jstr(j, "kind");
    v->title = (char *)jstr(j, "title");
    v->version = version;
    const cJSON *a;
    cJSON_ArrayForEach(a, al) v->aliases[v->n_aliases++] = a->valuestring;
    for (int i = 0; kb_section_kinds[i]; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(secs, kb_section_kinds[i]);
        if (cJSON_IsString(t) && v->n_sections < ns) {
            v->sections[v->n_sections].kind = (char *)kb_section_kinds[i];
            v->sections[v->n_sections].text = t->valuestring;
            v->n_sections++;
        }
    }
    cJSON_ArrayForEach(a, srcs) {
        kb_source_t *s = &v->sources[v->n_sources++];
        s->publisher = (char *)jstr(a, "publisher");
        s->title = (char *)jstr(a, "title");
        s->year = (int)cJSON_GetObjectItemCaseSensitive(a, "year")->valuedouble;
        s->url = (char *)jstr(a, "url");
    }
    v->review_status = (char *)jstr(r, "status");
    v->reviewer = (char *)jstr(r, "reviewer");
    v->credentials = (char *)jstr(r, "credentials");
    v->review_date = (char *)jstr(r, "date");
    v->review_note = (char *)jstr(r, "note");
    return MUSE_OK;
}

static void view_free(kb_entry_t *v)
{
    free(v->aliases);
    free(v->sections);
    free(v->sources);
}

typedef struct counting {
    kb_writer_t *w;
    long delta, name;
} counting_t;

static int count_one(const char *word, void *ud)
{
    counting_t *c = ud;
    return kb_wordmap_add_once(&c->w->words, word, c->delta, c->name, c->w->stamp);
}

/* Counts text's distinct words into the vocabulary changes: df by delta
 * for a section's text, the name count by name for all of an entry's names. */
static int count_words(kb_writer_t *w, const char *text, long delta, long name, muse_error_t *err)
{
    counting_t c = {w, delta, name};
    w->stamp++;
    if (kb_words_each(text, count_one, &c) != MUSE_OK)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    return MUSE_OK;
}

/* Title and aliases in one string, for counting each name word once per entry. */
static char *all_names(const kb_entry_t *e)
{
    size_t n = strlen(e->title) + 2;
    for (size_t i = 0; i < e->n_aliases; i++)
        n += strlen(e->aliases[i]) + 3;
    char *s = malloc(n);
    if (!s)
        return NULL;
    strcpy(s, e->title);
    for (size_t i = 0; i < e->n_aliases; i++) {
        strcat(s, " ; ");
        strcat(s, e->aliases[i]);
    }
    return s;
}

static int put_hash(kb_writer_t *w, const kb_entry_t *v, muse_error_t *err)
{
    char *doc = kb_entry_to_json(v, 0);
    if (!doc)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    uint64_t h = muse_fnv1a64(MUSE_FNV64_SEED, doc, strlen(doc));
    free(doc);
    sqlite3_stmt *st = w->st[KB_W_SET_HASH];
    sqlite3_bind_int64(st, 1, (sqlite3_int64)h);
    sqlite3_bind_text(st, 2, v->id, -1, SQLITE_STATIC);
    return step_done(st, v->id, err);
}

int kb_writer_rehash(kb_writer_t *w, const char *id, muse_error_t *err)
{
    kb_entry_t *e = NULL;
    int rc = kb_entry_load(w->db, id, &e, err);
    if (rc == MUSE_OK)
        rc = put_hash(w, e, err);
    kb_entry_free(e);
    return rc;
}

/* Takes an existing entry out of the indexes and child tables before its
 * replacement goes in; its old form goes to the audit log. */
static int clear_old(kb_writer_t *w, sqlite3_int64 n, const char *id, int old_version, int new_version,
                     const char *where, muse_error_t *err)
{
    kb_entry_t *old = NULL;
    char *doc = NULL;
    int rc = kb_entry_load(w->db, id, &old, err);
    if (rc != MUSE_OK)
        return rc;
    doc = kb_entry_to_json(old, 0);
    if (!doc) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < old->n_sections && rc == MUSE_OK; i++)
        rc = count_words(w, old->sections[i].text, -1, 0, err);
    if (rc == MUSE_OK) {
        char *names = all_names(old);
        rc = names ? count_words(w, names, 0, -1, err) : muse_err(err, MUSE_ENOMEM, "out of memory");
        free(names);
    }
    if (rc != MUSE_OK)
        goto done;
    static const int del[] = {KB_W_DEL_SECTIONS, KB_W_DEL_ALIASES, KB_W_DEL_SOURCES};
    for (size_t i = 0; i < sizeof del / sizeof del[0] && rc == MUSE_OK; i++) {
        sqlite3_bind_text(w->st[del[i]], 1, id, -1, SQLITE_STATIC);
        rc = step_done(w->st[del[i]], where, err);
    }
    if (rc != MUSE_OK)
        goto done;
    sqlite3_bind_int64(w->st[KB_W_NAMES_DEL], 1, n);
    if ((rc = step_done(w->st[KB_W_NAMES_DEL], where, err)) != MUSE_OK)
        goto done;
    if (!w->no_audit) {
        char detail[512];
        snprintf(detail, sizeof detail, "%s (replaces version %d)", where, old_version);
        sqlite3_stmt *st = w->st[KB_W_AUDIT];
        sqlite3_bind_text(st, 1, "replace", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, new_version);
        sqlite3_bind_text(st, 4, detail, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, doc, -1, SQLITE_STATIC);
        rc = step_done(st, where, err);
    }
done:
    free(doc);
    kb_entry_free(old);
    return rc;
}

int kb_writer_put(kb_writer_t *w, const cJSON *e, const char *where, const char *action, int replace,
                  int *replaced, muse_error_t *err)
{
    kb_entry_t v;
    char now[32];
    char *names = NULL;
    int rc = MUSE_OK;
    if (replaced)
        *replaced = 0;
    const cJSON *jv = cJSON_GetObjectItemCaseSensitive(e, "version");
    int version = cJSON_IsNumber(jv) ? (int)jv->valuedouble : 1;
    if (view_from_json(e, version, &v) != MUSE_OK) {
        rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", where);
        goto done;
    }
    kb_now_iso(now, sizeof now);

    /* Is the id taken? */
    sqlite3_stmt *st = w->st[KB_W_ENTRY_GET];
    sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
    sqlite3_int64 n = -1;
    int old_version = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        old_version = sqlite3_column_int(st, 1);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (n >= 0) {
        if (!replace) {
            rc = muse_err(err, MUSE_EINVAL,
                          "%s: field \"id\": \"%s\" is already in the store (use --replace to replace it)",
                          where, v.id);
            goto done;
        }
        /* A replacement is a new version, whatever the file says, unless
         * the file already says a later one. */
        if (v.version <= old_version)
            v.version = old_version + 1;
        if ((rc = clear_old(w, n, v.id, old_version, v.version, where, err)) != MUSE_OK)
            goto done;
        st = w->st[KB_W_ENTRY_UPDATE];
        sqlite3_bind_int64(st, 1, n);
    } else {
        st = w->st[KB_W_INSERT];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
    }
    sqlite3_bind_text(st, 2, v.kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v.title, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, v.version);
    sqlite3_bind_text(st, 5, v.review_status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    if ((rc = step_done(st, where, err)) != MUSE_OK)
        goto done;
    if (n < 0)
        n = sqlite3_last_insert_rowid(w->db);
    else if (replaced)
        *replaced = 1;

    for (size_t i = 0; i < v.n_sections; i++) {
        int ord = 0;
        while (strcmp(kb_section_kinds[ord], v.sections[i].kind) != 0)
            ord++;
        st = w->st[KB_W_SECTION];
        sqlite3_bind_int64(st, 1, n * KB_SECTION_SLOTS + ord);
        sqlite3_bind_text(st, 2, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, v.sections[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, ord);
        sqlite3_bind_text(st, 5, v.sections[i].text, -1, SQLITE_STATIC);
        if ((rc = step_done(st, where, err)) != MUSE_OK ||
            (rc = count_words(w, v.sections[i].text, 1, 0, err)) != MUSE_OK)
            goto done;
    }

    /* A replaced entry keeps its old row number, below the range the
     * finish indexes, so its new sections are indexed now. */
    if (n < w->first_new) {
        st = w->st[KB_W_SECTIONS_FTS];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
        if ((rc = step_done(st, where, err)) != MUSE_OK)
            goto done;
    }
    size_t nlen = 1;
    for (size_t i = 0; i < v.n_aliases; i++)
        nlen += strlen(v.aliases[i]) + 3;
    names = calloc(1, nlen);
    if (!names) {
        rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", where);
        goto done;
    }
    for (int i = -1; i < (int)v.n_aliases; i++) {
        const char *name = i < 0 ? v.title : v.aliases[i];
        char *norm = kb_normalise(name, NULL);
        if (!norm) {
            rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", where);
            goto done;
        }
        st = w->st[KB_W_ALIAS];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, i);
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, norm, -1, SQLITE_STATIC);
        rc = step_done(st, where, err);
        free(norm);
        if (rc != MUSE_OK)
            goto done;
        if (i >= 0) {
            if (i > 0)
                strcat(names, " ; ");
            strcat(names, name);
        }
    }
    /* "Fever (high temperature)": the name before the brackets is how people
     * say it, so it is matched as a name too (ord -2; not an alias of its own). */
    const char *bracket = strstr(v.title, " (");
    if (bracket && bracket > v.title) {
        char *head = strndup(v.title, (size_t)(bracket - v.title));
        char *norm = head ? kb_normalise(head, NULL) : NULL;
        if (!head || !norm) {
            free(head);
            free(norm);
            rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", where);
            goto done;
        }
        st = w->st[KB_W_ALIAS];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, -2);
        sqlite3_bind_text(st, 3, head, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, norm, -1, SQLITE_STATIC);
        rc = step_done(st, where, err);
        free(head);
        free(norm);
        if (rc != MUSE_OK)
            goto done;
    }
    char *every = all_names(&v);
    rc = every ? count_words(w, every, 0, 1, err) : muse_err(err, MUSE_ENOMEM, "out of memory");
    free(every);
    if (rc != MUSE_OK)
        goto done;
    st = w->st[KB_W_NAMES];
    sqlite3_bind_int64(st, 1, n);
    sqlite3_bind_text(st, 2, v.title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, names, -1, SQLITE_STATIC);
    if ((rc = step_done(st, where, err)) != MUSE_OK)
        goto done;

    for (size_t i = 0; i < v.n_sources; i++) {
        st = w->st[KB_W_SOURCE];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, (int)i);
        sqlite3_bind_text(st, 3, v.sources[i].publisher, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, v.sources[i].title, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 5, v.sources[i].year);
        sqlite3_bind_text(st, 6, v.sources[i].url, -1, SQLITE_STATIC);
        if ((rc = step_done(st, where, err)) != MUSE_OK)
            goto done;
    }
    if (!w->no_review) {
        st = w->st[KB_W_REVIEW];
        sqlite3_bind_text(st, 1, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v.review_status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, v.reviewer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, v.credentials, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, v.review_date, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, v.review_note, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, "imported", -1, SQLITE_STATIC);
        if ((rc = step_done(st, where, err)) != MUSE_OK)
            goto done;
    }
    if (action && !w->no_audit) {
        st = w->st[KB_W_AUDIT];
        sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, v.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, v.version);
        sqlite3_bind_text(st, 4, where, -1, SQLITE_STATIC);
        if ((rc = step_done(st, where, err)) != MUSE_OK)
            goto done;
    }
    rc = put_hash(w, &v, err);
done:
    free(names);
    view_free(&v);
    return rc;
}

int kb_writer_finish(kb_writer_t *w, muse_error_t *err)
{
    int rc = MUSE_OK;
    sqlite3_stmt *st = w->st[KB_W_VOCAB];
    for (size_t i = 0; i < w->words.cap && rc == MUSE_OK; i++) {
        const kb_word_slot_t *s = &w->words.v[i];
        if (!s->word || (s->df == 0 && !s->name))
            continue;
        sqlite3_bind_text(st, 1, s->word, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, s->df);
        sqlite3_bind_int64(st, 3, s->name);
        rc = step_done(st, "updating the vocabulary", err);
    }
    kb_wordmap_free(&w->words);
    if (rc != MUSE_OK)
        return rc;
    char idx[512];
    snprintf(idx, sizeof idx,
             "INSERT INTO vocab_tri(rowid, word) SELECT n, word FROM vocab WHERE n > %lld;"
             "INSERT INTO sections_fts(rowid, text) SELECT n, text FROM sections WHERE n >= %lld;"
             "INSERT INTO names_fts(rowid, title, aliases) SELECT n, title, aliases FROM temp.kb_pending_names;"
             "DELETE FROM temp.kb_pending_names;",
             (long long)w->vocab_max, (long long)(w->first_new * KB_SECTION_SLOTS));
    if ((rc = kb_exec(w->db, idx, "indexing new entries", err)) != MUSE_OK)
        return rc;
    /* The store's fingerprint: the sum of its entries' hashes, so it does
     * not depend on the order entries arrived in and an import of an export
     * gives the same one. */
    sqlite3_stmt *q = NULL;
    uint64_t sum = 0;
    if (sqlite3_prepare_v2(w->db, "SELECT hash FROM entries", -1, &q, NULL) != SQLITE_OK)
        return muse_err(err, MUSE_ECORRUPT, "reading entry hashes: %s", sqlite3_errmsg(w->db));
    while (sqlite3_step(q) == SQLITE_ROW)
        sum += (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    char sql[256], now[32];
    kb_now_iso(now, sizeof now);
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO meta VALUES ('content_hash', 'fnv1a64:%016llx');"
             "INSERT OR REPLACE INTO meta VALUES ('modified_at', '%s');",
             (unsigned long long)sum, now);
    return kb_exec(w->db, sql, "updating the store's metadata", err);
}
