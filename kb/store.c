/* The knowledge store on disk: opening (and migrating) a store, building one
 * from kb/content, validating entries, reading entries back and statistics.
 *
 * One SQLite file holds entries, sections, aliases, sources, reviews, an
 * append-only audit log, a meta table and FTS5 indexes (schema in schema.c).
 * A build writes a fresh file under a temporary name in one transaction and
 * renames it into place, so readers never see a half-built store and a
 * failed build changes nothing. Finished stores run in WAL mode, so the
 * engine's readers never block a curator's import or review. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "kb/kb_internal.h"
#include "muse_err.h"

const char *const kb_section_kinds[] = {
    "overview", "symptoms", "causes", "risk_factors", "diagnosis", "results", "treatment",
    "uses", "dosing", "side_effects", "interactions", "warnings", "self_care",
    "when_to_seek_care", "prevention", NULL,
};

const char *const kb_entry_kinds[] = {
    "condition", "symptom", "medication", "test", "measure", "wellness", NULL,
};

static int index_of(const char *const *list, const char *s)
{
    for (int i = 0; s && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

int kb_is_section_kind(const char *s) { return index_of(kb_section_kinds, s) >= 0; }
int kb_is_entry_kind(const char *s) { return index_of(kb_entry_kinds, s) >= 0; }
int kb_schema_version(void) { return KB_SCHEMA_VERSION; }

#define ENTRY_SQL                                                                                            \
    "SELECT e.id, e.kind, e.title, e.version, e.status, r.reviewer, r.credentials, r.date, r.note"           \
    " FROM entries e LEFT JOIN reviews r ON r.id = (SELECT max(id) FROM reviews WHERE entry_id = e.id)"      \
    " WHERE e.id = ?"
#define SECTIONS_SQL "SELECT kind, text FROM sections WHERE entry_id = ? ORDER BY ord"
#define SOURCES_SQL "SELECT publisher, title, year, url FROM sources WHERE entry_id = ? ORDER BY ord"
#define ALIASES_SQL "SELECT alias FROM aliases WHERE entry_id = ? AND ord >= 0 ORDER BY ord"

static const char *const STMT_SQL[KB_ST_COUNT] = {
    [KB_ST_ENTRY_BY_ID] = ENTRY_SQL,
    [KB_ST_ENTRY_BY_N] = "SELECT id, title, kind, status FROM entries WHERE n = ?",
    [KB_ST_SECTIONS] = SECTIONS_SQL,
    [KB_ST_SOURCES] = SOURCES_SQL,
    [KB_ST_ALIASES] = ALIASES_SQL,
    [KB_ST_VOCAB_HAS] = "SELECT df, name FROM vocab WHERE word = ?",
    [KB_ST_VOCAB_TRI] = "SELECT v.word, v.df, v.name FROM vocab_tri t JOIN vocab v ON v.n = t.rowid"
                        " WHERE vocab_tri MATCH ?1 AND v.df + v.name > 0 ORDER BY t.rank LIMIT 48",
    [KB_ST_NORM_GE] = "SELECT norm FROM aliases WHERE norm >= ? ORDER BY norm LIMIT 1",
    [KB_ST_NORM_EQ] = "SELECT a.entry_id, e.kind, a.alias, e.n FROM aliases a JOIN entries e ON e.id = a.entry_id"
                      " WHERE a.norm = ? ORDER BY a.entry_id, a.ord",
    [KB_ST_NAMES] = "SELECT rowid, kb_rank_names(names_fts, ?2, 10.0, 6.0), kb_phrases(names_fts) FROM names_fts"
                    " WHERE names_fts MATCH ?1",
    [KB_ST_SIZES] = "SELECT (SELECT kb_sizes(sections_fts) FROM sections_fts LIMIT 1),"
                    " (SELECT kb_sizes(names_fts) FROM names_fts LIMIT 1)",
    [KB_ST_NAMES_TEXT] = "SELECT title, aliases FROM names_fts WHERE rowid = ?",
    [KB_ST_SECTIONS_TEXT] = "SELECT n, text FROM sections WHERE n BETWEEN ? AND ?",
    [KB_ST_SECTIONS_ALL] = "SELECT rowid, kb_rank_sections(sections_fts, ?2), kb_phrases(sections_fts) FROM sections_fts"
                           " WHERE sections_fts MATCH ?1",
    [KB_ST_SECTIONS_FAST] = "SELECT rowid, kb_rank0(sections_fts, ?2), kb_phrases(sections_fts) FROM sections_fts"
                            " WHERE sections_fts MATCH ?1",
    [KB_ST_NAMES_FAST] = "SELECT rowid, kb_rank0(names_fts, ?2, 10.0, 6.0), kb_phrases(names_fts) FROM names_fts"
                         " WHERE names_fts MATCH ?1",
    [KB_ST_SNIPPET] = "SELECT snippet(sections_fts, 0, '', '', '…', 24) FROM sections_fts"
                      " WHERE sections_fts MATCH ?1 AND rowid = ?2",
    [KB_ST_SECTION_TEXT] = "SELECT kind, text FROM sections WHERE n = ?",
    [KB_ST_BEGIN] = "BEGIN",
    [KB_ST_COMMIT] = "COMMIT",
    [KB_ST_DATA_VERSION] = "PRAGMA data_version",
};

sqlite3_stmt *kb_stmt(kb_t *kb, kb_stmt_id_t id, muse_error_t *err)
{
    if (!kb->st[id] &&
        sqlite3_prepare_v3(kb->db, STMT_SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &kb->st[id], NULL) != SQLITE_OK) {
        muse_err(err, MUSE_ECORRUPT, "%s: %s (rebuild it with `muse kb build`)", kb->path,
                 sqlite3_errmsg(kb->db));
        return NULL;
    }
    sqlite3_reset(kb->st[id]);
    sqlite3_clear_bindings(kb->st[id]);
    return kb->st[id];
}

static int read_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *version = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* A URI for path that SQLite reads as an immutable file. */
static char *immutable_uri(const char *path)
{
    size_t n = strlen(path);
    char *u = malloc(n * 3 + 32);
    if (!u)
        return NULL;
    char *q = u + sprintf(u, "file:");
    for (const char *p = path; *p; p++) {
        if (*p == '?' || *p == '#' || *p == '%')
            q += sprintf(q, "%%%02X", (unsigned char)*p);
        else
            *q++ = *p;
    }
    strcpy(q, "?immutable=1");
    return u;
}

static int open_store(const char *path, int mode, int *from, kb_t **out, muse_error_t *err)
{
    *out = NULL;
    struct stat st;
    if (!path || !*path)
        return muse_err(err, MUSE_EINVAL, "no knowledge store path given");
    if (stat(path, &st) != 0)
        return muse_err(err, MUSE_ENOTFOUND,
                        "knowledge store not found: %s (build it with `muse kb build kb/content -o %s`, "
                        "or run scripts/muse which builds it)", path, path);
    kb_t *kb = calloc(1, sizeof *kb);
    if (!kb || !(kb->path = strdup(path))) {
        free(kb);
        return muse_err(err, MUSE_ENOMEM, "out of memory opening %s", path);
    }
    kb->writable = mode == KB_READWRITE;
    int flags = (kb->writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
    int version = -1;
    int rc = sqlite3_open_v2(path, &kb->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(kb->db, 5000);
        rc = read_user_version(kb->db, &version);
    }
    /* A WAL store in a folder this user cannot write (an installed store)
     * cannot get its shared-memory file; nobody can be writing it either,
     * so it is read as an immutable file. */
    if (rc != SQLITE_OK && !kb->writable) {
        sqlite3_close(kb->db);
        kb->db = NULL;
        char *uri = immutable_uri(path);
        rc = uri ? sqlite3_open_v2(uri, &kb->db, flags | SQLITE_OPEN_URI, NULL) : SQLITE_NOMEM;
        free(uri);
        if (rc == SQLITE_OK)
            rc = read_user_version(kb->db, &version);
    }
    if (rc != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT,
                      "cannot open knowledge store %s: %s (rebuild it with `muse kb build kb/content -o %s`)",
                      path, kb->db ? sqlite3_errmsg(kb->db) : "out of memory", path);
        goto fail;
    }
    if (from)
        *from = version;
    if (version <= 0) {
        rc = muse_err(err, MUSE_ECORRUPT,
                      "%s is not a Muse knowledge store (rebuild it with `muse kb build kb/content -o %s`)",
                      path, path);
        goto fail;
    }
    if (version > KB_SCHEMA_VERSION) {
        rc = muse_err(err, MUSE_EUNSUPPORTED, "%s uses store schema %d; this muse understands up to %d (upgrade muse)",
                      path, version, KB_SCHEMA_VERSION);
        goto fail;
    }
    if (version < KB_SCHEMA_VERSION) {
        if (!kb->writable) {
            rc = muse_err(err, MUSE_EUNSUPPORTED,
                          "%s uses the older store schema %d (this muse uses %d): upgrade it with "
                          "`muse kb migrate --kb %s`, or rebuild it with `muse kb build`",
                          path, version, KB_SCHEMA_VERSION, path);
            goto fail;
        }
        if ((rc = kb_schema_migrate(kb->db, version, err)) != MUSE_OK) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            rc = muse_err(err, rc, "%s: migrating from store schema %d failed, the store is unchanged: %s",
                          path, version, msg);
            goto fail;
        }
    }
    if (kb_register_functions(kb) != MUSE_OK) {
        rc = muse_err(err, MUSE_EUNSUPPORTED, "%s: this SQLite has no FTS5 support", path);
        goto fail;
    }
    /* Reads go through a memory map: no copy per page, and connections of
     * one process share the pages the OS already holds. */
    sqlite3_exec(kb->db, "PRAGMA foreign_keys=ON; PRAGMA mmap_size=1073741824", NULL, NULL, NULL);
    /* In WAL mode NORMAL never corrupts the store or splits a transaction
     * (a killed process loses nothing it committed); only a power cut may
     * lose the last commits, which the curator then repeats. */
    if (kb->writable)
        sqlite3_exec(kb->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    *out = kb;
    return MUSE_OK;
fail:
    kb_close(kb);
    return rc;
}

int kb_open(const char *path, int mode, kb_t **out, muse_error_t *err)
{
    return open_store(path, mode, NULL, out, err);
}

int kb_migrate(const char *path, int *from, muse_error_t *err)
{
    kb_t *kb = NULL;
    int rc = open_store(path, KB_READWRITE, from, &kb, err);
    kb_close(kb);
    return rc;
}

void kb_close(kb_t *kb)
{
    if (!kb)
        return;
    kb_memo_clear(kb);
    for (int i = 0; i < KB_ST_COUNT; i++)
        sqlite3_finalize(kb->st[i]);
    sqlite3_close(kb->db);
    free(kb->path);
    free(kb);
}

/* Runs a prepared statement that returns no rows (BEGIN, COMMIT); SQL text
 * run with sqlite3_exec() would be parsed again on every call. */
static int step_once(kb_t *kb, kb_stmt_id_t id, const char *sql)
{
    sqlite3_stmt *st = kb_stmt(kb, id, NULL);
    if (!st)
        return sqlite3_exec(kb->db, sql, NULL, NULL, NULL) == SQLITE_OK;
    int ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    return ok;
}

/* Reading the data version starts the snapshot (BEGIN alone defers that to
 * the first read), so the memos are checked against the very data this
 * transaction will see. A writable connection keeps no memos: its own
 * writes would not move the version another connection sees. */
static void snapshot_check(kb_t *kb)
{
    sqlite3_stmt *st = kb_stmt(kb, KB_ST_DATA_VERSION, NULL);
    if (!st)
        return;
    if (sqlite3_step(st) == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        if (v != kb->data_version) {
            kb_memo_clear(kb);
            kb->data_version = v;
        }
        kb->snap = 1;
    }
    sqlite3_reset(st);
}

int kb_read_begin(kb_t *kb)
{
    if (!sqlite3_get_autocommit(kb->db))
        return 0;
    if (!step_once(kb, KB_ST_BEGIN, "BEGIN"))
        return 0;
    if (!kb->writable)
        snapshot_check(kb);
    return 1;
}

void kb_read_end(kb_t *kb, int own)
{
    if (!own)
        return;
    kb->snap = 0;
    step_once(kb, KB_ST_COMMIT, "COMMIT");
}

int kb_snapshot_begin(kb_t *kb)
{
    return kb ? kb_read_begin(kb) : 0;
}

void kb_snapshot_end(kb_t *kb, int token)
{
    if (kb)
        kb_read_end(kb, token);
}

void kb_memo_clear(kb_t *kb)
{
    for (int i = 0; i < KB_MEMO_ENTRIES; i++) {
        kb_entry_free(kb->memo_entry[i]);
        kb->memo_entry[i] = NULL;
        kb->memo_entry_used[i] = 0;
        kb->memo_entry_size[i] = 0;
    }
    kb->memo_entry_bytes = 0;
    kb_memo_mentions_clear(kb);
    kb_memo_searches_clear(kb);
    kb_memo_sizes_clear(kb);
}

const char *kb_path(const kb_t *kb)
{
    return kb ? kb->path : NULL;
}

int kb_create(const char *path, muse_error_t *err)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return muse_err(err, MUSE_EINVAL, "%s already exists", path);
    sqlite3 *db = NULL;
    int rc;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_EIO, "cannot create %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    char meta[256];
    snprintf(meta, sizeof meta,
             "INSERT INTO meta VALUES ('content_version', '%s');"
             "INSERT INTO meta VALUES ('content_hash', 'fnv1a64:0000000000000000');"
             "INSERT INTO meta VALUES ('built_at', '');"
             "COMMIT;",
             MUSE_VERSION_STRING);
    if ((rc = kb_exec(db, "PRAGMA journal_mode=WAL; BEGIN", "creating the store", err)) != MUSE_OK ||
        (rc = kb_schema_create(db, err)) != MUSE_OK || (rc = kb_exec(db, meta, "creating the store", err)) != MUSE_OK)
        goto done;
done:
    sqlite3_close(db);
    if (rc != MUSE_OK)
        unlink(path);
    return rc;
}

/* ---- reading content files ---- */

typedef struct file_list {
    char **v;
    size_t n, cap;
} file_list_t;

static int list_json(const char *dir, file_list_t *fl, muse_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return muse_err(err, MUSE_EIO, "cannot read content folder %s: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = MUSE_OK;
    while (rc == MUSE_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf(p, len, "%s/%s", dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_json(p, fl, err);
            free(p);
            continue;
        }
        size_t nl = strlen(de->d_name);
        if (nl < 6 || strcmp(de->d_name + nl - 5, ".json") != 0) {
            free(p);
            continue;
        }
        if (fl->n == fl->cap) {
            fl->cap = fl->cap ? fl->cap * 2 : 256;
            char **v = realloc(fl->v, fl->cap * sizeof *v);
            if (!v) {
                free(p);
                rc = muse_err(err, MUSE_ENOMEM, "out of memory listing %s", dir);
                break;
            }
            fl->v = v;
        }
        fl->v[fl->n++] = p;
    }
    closedir(d);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path, size_t *len, muse_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        muse_err(err, MUSE_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n > KB_MAX_ENTRY_BYTES)
            break;
        if (r == 0)
            break;
        if (n == cap) {
            cap *= 2;
            char *b = realloc(buf, cap + 1);
            if (!b) {
                free(buf);
                buf = NULL;
            } else {
                buf = b;
            }
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        muse_err(err, MUSE_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        muse_err(err, MUSE_EIO, "%s: read error", path);
        return NULL;
    }
    if (n > KB_MAX_ENTRY_BYTES) {
        free(buf);
        muse_err(err, MUSE_ELIMIT, "%s: entry is larger than %d KiB", path, KB_MAX_ENTRY_BYTES / 1024);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Line and column of a byte offset, for JSON syntax errors. */
static void line_col(const char *text, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        if (c == '-' && s[i + 1] == '-')
            return 0;
    }
    return 1;
}

static int nonempty_string(const cJSON *j)
{
    if (!cJSON_IsString(j))
        return 0;
    for (const char *p = j->valuestring; *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return 1;
    return 0;
}

/* An absolute http(s) URL with a plausible host name and no spaces. */
static int valid_url(const char *u)
{
    const char *host;
    if (strncmp(u, "https://", 8) == 0)
        host = u + 8;
    else if (strncmp(u, "http://", 7) == 0)
        host = u + 7;
    else
        return 0;
    size_t hl = strcspn(host, "/?#");
    if (hl == 0 || host[0] == '.' || host[0] == '-' || host[hl - 1] == '.' || host[hl - 1] == '-')
        return 0;
    int dot = 0;
    for (size_t i = 0; i < hl; i++) {
        char c = host[i];
        if (c == '.')
            dot = 1;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == ':'))
            return 0;
    }
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
            return 0;
    return dot;
}

/* An object may hold only the keys listed; the first other one is named. */
static const char *unknown_key(const cJSON *o, const char *const *allowed)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, o) {
        if (index_of(allowed, c->string) < 0)
            return c->string;
    }
    return NULL;
}

static int valid_date(const char *d)
{
    if (!*d)
        return 1;
    int y, m, day;
    char tail;
    return strlen(d) == 10 && sscanf(d, "%4d-%2d-%2d%c", &y, &m, &day, &tail) == 3 && d[4] == '-' &&
           d[7] == '-' && y >= 1900 && m >= 1 && m <= 12 && day >= 1 && day <= 31;
}

/* Checks one entry object. `where` names the file (and line for JSONL). */
int kb_validate_entry(const cJSON *e, const char *where, muse_error_t *err)
{
    static const char *const entry_keys[] = {"id", "kind", "title", "aliases", "sections", "sources",
                                             "review", "version", NULL};
    static const char *const source_keys[] = {"publisher", "title", "year", "url", NULL};
    static const char *const review_keys[] = {"status", "reviewer", "credentials", "date", "note", NULL};
    if (!cJSON_IsObject(e))
        return muse_err(err, MUSE_EINVAL, "%s: an entry must be a JSON object", where);
    const char *extra = unknown_key(e, entry_keys);
    if (extra)
        return muse_err(err, MUSE_EINVAL,
                        "%s: field \"%.40s\": unknown field (an entry has id, kind, title, aliases, sections, "
                        "sources, review and version)", where, extra);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
    if (!cJSON_IsString(id))
        return muse_err(err, MUSE_EINVAL, "%s: field \"id\": required string is missing", where);
    if (!valid_id(id->valuestring))
        return muse_err(err, MUSE_EINVAL,
                        "%s: field \"id\": \"%.80s\" is not a valid id (lower-case letters, digits and single hyphens, at most 64)",
                        where, id->valuestring);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(e, "kind");
    if (!cJSON_IsString(kind))
        return muse_err(err, MUSE_EINVAL, "%s: field \"kind\": required string is missing", where);
    if (!kb_is_entry_kind(kind->valuestring))
        return muse_err(err, MUSE_EINVAL,
                        "%s: field \"kind\": unknown entry kind \"%.40s\" (expected condition, symptom, medication, test, measure or wellness)",
                        where, kind->valuestring);
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(e, "title");
    if (!nonempty_string(title))
        return muse_err(err, MUSE_EINVAL, "%s: field \"title\": required non-empty string", where);
    if (strlen(title->valuestring) > 200)
        return muse_err(err, MUSE_EINVAL, "%s: field \"title\": longer than 200 characters", where);
    const cJSON *aliases = cJSON_GetObjectItemCaseSensitive(e, "aliases");
    if (aliases && !cJSON_IsArray(aliases))
        return muse_err(err, MUSE_EINVAL, "%s: field \"aliases\": must be an array of strings", where);
    int i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, aliases) {
        if (!nonempty_string(a) || strlen(a->valuestring) > 80)
            return muse_err(err, MUSE_EINVAL,
                            "%s: field \"aliases[%d]\": must be a non-empty string of at most 80 characters",
                            where, i);
        i++;
    }
    const cJSON *sections = cJSON_GetObjectItemCaseSensitive(e, "sections");
    if (!cJSON_IsObject(sections))
        return muse_err(err, MUSE_EINVAL, "%s: field \"sections\": required object is missing", where);
    const cJSON *s;
    cJSON_ArrayForEach(s, sections) {
        if (!kb_is_section_kind(s->string))
            return muse_err(err, MUSE_EINVAL,
                            "%s: field \"sections.%.40s\": unknown section kind (see docs/kb-format.md)",
                            where, s->string);
        if (!nonempty_string(s))
            return muse_err(err, MUSE_EINVAL, "%s: field \"sections.%s\": text is empty", where,
                            s->string);
    }
    if (!cJSON_GetObjectItemCaseSensitive(sections, "overview"))
        return muse_err(err, MUSE_EINVAL, "%s: field \"sections.overview\": required section is missing",
                        where);
    const cJSON *sources = cJSON_GetObjectItemCaseSensitive(e, "sources");
    if (!cJSON_IsArray(sources) || cJSON_GetArraySize(sources) == 0)
        return muse_err(err, MUSE_EINVAL, "%s: field \"sources\": at least one source is required", where);
    i = 0;
    cJSON_ArrayForEach(s, sources) {
        static const char *const req[] = {"publisher", "title", "url"};
        if (!cJSON_IsObject(s))
            return muse_err(err, MUSE_EINVAL, "%s: field \"sources[%d]\": must be an object", where, i);
        if ((extra = unknown_key(s, source_keys)) != NULL)
            return muse_err(err, MUSE_EINVAL,
                            "%s: field \"sources[%d].%.40s\": unknown field (a source has publisher, title, year and url)",
                            where, i, extra);
        for (int k = 0; k < 3; k++)
            if (!nonempty_string(cJSON_GetObjectItemCaseSensitive(s, req[k])))
                return muse_err(err, MUSE_EINVAL, "%s: field \"sources[%d].%s\": required non-empty string",
                                where, i, req[k]);
        const cJSON *year = cJSON_GetObjectItemCaseSensitive(s, "year");
        if (!cJSON_IsNumber(year) || year->valuedouble < 1900 || year->valuedouble > 2100 ||
            year->valuedouble != (double)(int)year->valuedouble)
            return muse_err(err, MUSE_EINVAL, "%s: field \"sources[%d].year\": must be a year such as 2023",
                            where, i);
        const char *url = cJSON_GetObjectItemCaseSensitive(s, "url")->valuestring;
        if (!valid_url(url))
            return muse_err(err, MUSE_EINVAL, "%s: field \"sources[%d].url\": \"%.120s\" is not an http(s) URL",
                            where, i, url);
        i++;
    }
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(e, "review");
    if (!cJSON_IsObject(review))
        return muse_err(err, MUSE_EINVAL, "%s: field \"review\": required object is missing", where);
    if ((extra = unknown_key(review, review_keys)) != NULL)
        return muse_err(err, MUSE_EINVAL,
                        "%s: field \"review.%.40s\": unknown field (a review has status, reviewer, credentials, date and note)",
                        where, extra);
    for (int k = 1; review_keys[k]; k++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(review, review_keys[k]);
        if (f && !cJSON_IsString(f))
            return muse_err(err, MUSE_EINVAL, "%s: field \"review.%s\": must be a string", where, review_keys[k]);
    }
    const cJSON *rdate = cJSON_GetObjectItemCaseSensitive(review, "date");
    if (rdate && !valid_date(rdate->valuestring))
        return muse_err(err, MUSE_EINVAL, "%s: field \"review.date\": \"%.40s\" is not a date such as 2024-05-31",
                        where, rdate->valuestring);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(review, "status");
    if (!cJSON_IsString(status) ||
        (strcmp(status->valuestring, "draft") && strcmp(status->valuestring, "reviewed") &&
         strcmp(status->valuestring, "retired")))
        return muse_err(err, MUSE_EINVAL,
                        "%s: field \"review.status\": must be draft, reviewed or retired", where);
    if (strcmp(status->valuestring, "reviewed") == 0) {
        if (!nonempty_string(cJSON_GetObjectItemCaseSensitive(review, "reviewer")) ||
            !nonempty_string(cJSON_GetObjectItemCaseSensitive(review, "credentials")))
            return muse_err(err, MUSE_EINVAL,
                            "%s: field \"review\": a reviewed entry must name its reviewer and credentials",
                            where);
    }
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(e, "version");
    if (version && (!cJSON_IsNumber(version) || version->valuedouble < 1 || version->valuedouble > 1e9 ||
                    version->valuedouble != (double)(int)version->valuedouble))
        return muse_err(err, MUSE_EINVAL, "%s: field \"version\": must be an integer >= 1", where);
    return MUSE_OK;
}

/* ---- canonical JSON ---- */

char *kb_entry_to_json(const kb_entry_t *e, int pretty)
{
    cJSON *c = cJSON_CreateObject();
    if (!c)
        return NULL;
    cJSON_AddStringToObject(c, "id", e->id);
    cJSON_AddStringToObject(c, "kind", e->kind);
    cJSON_AddStringToObject(c, "title", e->title);
    cJSON *al = cJSON_AddArrayToObject(c, "aliases");
    for (size_t i = 0; al && i < e->n_aliases; i++)
        cJSON_AddItemToArray(al, cJSON_CreateString(e->aliases[i]));
    cJSON *secs = cJSON_AddObjectToObject(c, "sections");
    for (size_t i = 0; secs && i < e->n_sections; i++)
        cJSON_AddStringToObject(secs, e->sections[i].kind, e->sections[i].text);
    cJSON *srcs = cJSON_AddArrayToObject(c, "sources");
    for (size_t i = 0; srcs && i < e->n_sources; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "publisher", e->sources[i].publisher);
        cJSON_AddStringToObject(o, "title", e->sources[i].title);
        cJSON_AddNumberToObject(o, "year", e->sources[i].year);
        cJSON_AddStringToObject(o, "url", e->sources[i].url);
        cJSON_AddItemToArray(srcs, o);
    }
    cJSON *r = cJSON_AddObjectToObject(c, "review");
    cJSON_AddStringToObject(r, "status", e->review_status ? e->review_status : "draft");
    cJSON_AddStringToObject(r, "reviewer", e->reviewer ? e->reviewer : "");
    cJSON_AddStringToObject(r, "credentials", e->credentials ? e->credentials : "");
    cJSON_AddStringToObject(r, "date", e->review_date ? e->review_date : "");
    cJSON_AddStringToObject(r, "note", e->review_note ? e->review_note : "");
    cJSON_AddNumberToObject(c, "version", e->version);
    char *out = pretty ? cJSON_Print(c) : cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return out;
}

/* ---- build ---- */

int kb_build(const char *content_dir, const char *db_path, kb_progress_fn progress, void *ud,
             kb_build_stats_t *stats, muse_error_t *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    file_list_t fl = {0};
    sqlite3 *db = NULL;
    kb_writer_t w = {0};
    char *tmp = NULL;
    int rc = list_json(content_dir, &fl, err);
    if (rc != MUSE_OK)
        goto done;
    if (fl.n == 0) {
        rc = muse_err(err, MUSE_EINVAL, "%s: no *.json entries found", content_dir);
        goto done;
    }
    qsort(fl.v, fl.n, sizeof *fl.v, cmp_path);
    size_t tl = strlen(db_path) + 32;
    tmp = malloc(tl);
    if (!tmp) {
        rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(tmp, tl, "%s.tmp-%ld", db_path, (long)getpid());
    unlink(tmp);
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_EIO, "cannot create %s: %s", tmp, db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    /* The file is private until the rename, so it needs no journal. */
    if ((rc = kb_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-65536; BEGIN",
                      "starting the build", err)) != MUSE_OK ||
        (rc = kb_schema_create(db, err)) != MUSE_OK || (rc = kb_writer_init(&w, db, err)) != MUSE_OK)
        goto done;
    for (size_t i = 0; i < fl.n; i++) {
        size_t len = 0;
        char *text = read_file(fl.v[i], &len, err);
        if (!text) {
            rc = err ? err->code : MUSE_EIO;
            goto done;
        }
        const char *end = NULL;
        cJSON *e = cJSON_ParseWithLengthOpts(text, len, &end, 0);
        if (!e) {
            int line, col;
            line_col(text, end ? end : text, &line, &col);
            rc = muse_err(err, MUSE_EPARSE, "%s:%d:%d: malformed JSON", fl.v[i], line, col);
            free(text);
            goto done;
        }
        free(text);
        rc = kb_validate_entry(e, fl.v[i], err);
        if (rc == MUSE_OK) {
            /* The file name must say which entry it holds, so reviewers find it. */
            const char *base = strrchr(fl.v[i], '/');
            base = base ? base + 1 : fl.v[i];
            const char *id = cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring;
            if (strncmp(base, id, strlen(id)) != 0 || strcmp(base + strlen(id), ".json") != 0)
                rc = muse_err(err, MUSE_EINVAL, "%s: field \"id\": \"%s\" does not match the file name",
                              fl.v[i], id);
        }
        if (rc == MUSE_OK)
            rc = kb_writer_put(&w, e, fl.v[i], "build", 0, NULL, err);
        cJSON_Delete(e);
        if (rc != MUSE_OK) {
            /* Two files with one id: say where the first one is. */
            if (strstr(err ? err->message : "", "already in the store"))
                rc = muse_err(err, MUSE_EINVAL, "%s: field \"id\": another file already has this id", fl.v[i]);
            goto done;
        }
        if (progress)
            progress(i + 1, fl.n, ud);
    }
    if ((rc = kb_writer_finish(&w, err)) != MUSE_OK)
        goto done;
    char meta[512], built[32];
    kb_now_iso(built, sizeof built);
    snprintf(meta, sizeof meta,
             "INSERT OR REPLACE INTO meta VALUES ('content_version', '%s');"
             "INSERT OR REPLACE INTO meta VALUES ('built_at', '%s');"
             "INSERT INTO names_fts(names_fts) VALUES ('optimize');"
             "INSERT INTO sections_fts(sections_fts) VALUES ('optimize');"
             "COMMIT;",
             MUSE_VERSION_STRING, built);
    if ((rc = kb_exec(db, meta, "finishing the build", err)) != MUSE_OK)
        goto done;
    kb_writer_free(&w);
    /* WAL for the finished store: readers never block a curator's writes. */
    if ((rc = kb_exec(db, "PRAGMA journal_mode=WAL", "enabling WAL", err)) != MUSE_OK)
        goto done;
    if (sqlite3_close(db) != SQLITE_OK) {
        db = NULL;
        rc = muse_err(err, MUSE_EIO, "closing %s failed", tmp);
        goto done;
    }
    db = NULL;
    /* A store left by an earlier writer may have WAL files of its own; they
     * must not be applied to the new file. */
    size_t pl = strlen(db_path) + 8;
    char *side = malloc(pl);
    if (side) {
        snprintf(side, pl, "%s-wal", db_path);
        unlink(side);
        snprintf(side, pl, "%s-shm", db_path);
        unlink(side);
        free(side);
    }
    if (rename(tmp, db_path) != 0) {
        rc = muse_err(err, MUSE_EIO, "cannot move %s to %s: %s", tmp, db_path, strerror(errno));
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (stats) {
        stats->entries = fl.n;
        stats->files = fl.n;
        stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
done:
    kb_writer_free(&w);
    if (db)
        sqlite3_close(db);
    if (rc != MUSE_OK && tmp)
        unlink(tmp);
    free(tmp);
    for (size_t i = 0; i < fl.n; i++)
        free(fl.v[i]);
    free(fl.v);
    return rc;
}

/* ---- reading entries ---- */

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

/* Fills an entry from the four statements (entry, sections, sources,
 * aliases), which the caller owns and which are reset here. */
static int load_with(sqlite3_stmt *const st[4], const char *path, const char *id, kb_entry_t **out,
                     muse_error_t *err)
{
    *out = NULL;
    int rc = MUSE_OK;
    kb_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    for (int i = 0; i < 4; i++) {
        sqlite3_reset(st[i]);
        sqlite3_bind_text(st[i], 1, id, -1, SQLITE_TRANSIENT);
    }
    int s = sqlite3_step(st[0]);
    if (s != SQLITE_ROW) {
        rc = s == SQLITE_DONE ? muse_err(err, MUSE_ENOTFOUND, "no entry with id \"%s\"", id)
                              : muse_err(err, MUSE_ECORRUPT, "%s: reading entry %s: %s", path, id,
                                         sqlite3_errmsg(sqlite3_db_handle(st[0])));
        goto done;
    }
    e->id = col_dup(st[0], 0);
    e->kind = col_dup(st[0], 1);
    e->title = col_dup(st[0], 2);
    e->version = sqlite3_column_int(st[0], 3);
    e->review_status = col_dup(st[0], 4);
    e->reviewer = col_dup(st[0], 5);
    e->credentials = col_dup(st[0], 6);
    e->review_date = col_dup(st[0], 7);
    e->review_note = col_dup(st[0], 8);
    size_t cap = 0;
    while ((s = sqlite3_step(st[1])) == SQLITE_ROW) {
        if (e->n_sections == cap) {
            cap = cap ? cap * 2 : 8;
            kb_section_t *v = realloc(e->sections, cap * sizeof *v);
            if (!v)
                goto oom;
            e->sections = v;
        }
        e->sections[e->n_sections].kind = col_dup(st[1], 0);
        e->sections[e->n_sections].text = col_dup(st[1], 1);
        e->n_sections++;
    }
    cap = 0;
    while ((s = sqlite3_step(st[2])) == SQLITE_ROW) {
        if (e->n_sources == cap) {
            cap = cap ? cap * 2 : 4;
            kb_source_t *v = realloc(e->sources, cap * sizeof *v);
            if (!v)
                goto oom;
            e->sources = v;
        }
        kb_source_t *src = &e->sources[e->n_sources++];
        src->publisher = col_dup(st[2], 0);
        src->title = col_dup(st[2], 1);
        src->year = sqlite3_column_int(st[2], 2);
        src->url = col_dup(st[2], 3);
    }
    cap = 0;
    while ((s = sqlite3_step(st[3])) == SQLITE_ROW) {
        if (e->n_aliases == cap) {
            cap = cap ? cap * 2 : 8;
            char **v = realloc(e->aliases, cap * sizeof *v);
            if (!v)
                goto oom;
            e->aliases = v;
        }
        e->aliases[e->n_aliases++] = col_dup(st[3], 0);
    }
    if (!e->id || !e->kind || !e->title || !e->review_status || !e->reviewer || !e->credentials ||
        !e->review_date || !e->review_note)
        goto oom;
    goto done;
oom:
    rc = muse_err(err, MUSE_ENOMEM, "out of memory reading entry %s", id);
done:
    for (int i = 0; i < 4; i++) {
        sqlite3_reset(st[i]);
        sqlite3_clear_bindings(st[i]);
    }
    if (rc == MUSE_OK)
        *out = e;
    else
        kb_entry_free(e);
    return rc;
}

int kb_entry_load(sqlite3 *db, const char *id, kb_entry_t **out, muse_error_t *err)
{
    static const char *const sql[4] = {ENTRY_SQL, SECTIONS_SQL, SOURCES_SQL, ALIASES_SQL};
    sqlite3_stmt *st[4] = {NULL, NULL, NULL, NULL};
    int rc = MUSE_OK;
    *out = NULL;
    for (int i = 0; i < 4 && rc == MUSE_OK; i++)
        if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) != SQLITE_OK)
            rc = muse_err(err, MUSE_ECORRUPT, "reading entry %s: %s", id, sqlite3_errmsg(db));
    if (rc == MUSE_OK)
        rc = load_with(st, sqlite3_db_filename(db, "main"), id, out, err);
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(st[i]);
    return rc;
}

static char **dup_strv(char *const *v, size_t n, int *oom)
{
    if (!n)
        return NULL;
    char **out = calloc(n, sizeof *out);
    for (size_t i = 0; out && i < n; i++)
        *oom |= !(out[i] = strdup(v[i]));
    *oom |= !out;
    return out;
}

static char *dup_s(const char *s, int *oom)
{
    char *d = strdup(s ? s : "");
    *oom |= !d;
    return d;
}

/* A deep copy of e (freed with kb_entry_free), or NULL when out of memory. */
static kb_entry_t *entry_dup(const kb_entry_t *e)
{
    int oom = 0;
    kb_entry_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->id = dup_s(e->id, &oom);
    d->kind = dup_s(e->kind, &oom);
    d->title = dup_s(e->title, &oom);
    d->version = e->version;
    d->aliases = dup_strv(e->aliases, e->n_aliases, &oom);
    d->n_aliases = d->aliases ? e->n_aliases : 0;
    if (e->n_sections && (d->sections = calloc(e->n_sections, sizeof *d->sections)) != NULL) {
        d->n_sections = e->n_sections;
        for (size_t i = 0; i < e->n_sections; i++) {
            d->sections[i].kind = dup_s(e->sections[i].kind, &oom);
            d->sections[i].text = dup_s(e->sections[i].text, &oom);
        }
    }
    oom |= e->n_sections && !d->sections;
    if (e->n_sources && (d->sources = calloc(e->n_sources, sizeof *d->sources)) != NULL) {
        d->n_sources = e->n_sources;
        for (size_t i = 0; i < e->n_sources; i++) {
            d->sources[i].publisher = dup_s(e->sources[i].publisher, &oom);
            d->sources[i].title = dup_s(e->sources[i].title, &oom);
            d->sources[i].year = e->sources[i].year;
            d->sources[i].url = dup_s(e->sources[i].url, &oom);
        }
    }
    oom |= e->n_sources && !d->sources;
    d->review_status = dup_s(e->review_status, &oom);
    d->reviewer = dup_s(e->reviewer, &oom);
    d->credentials = dup_s(e->credentials, &oom);
    d->review_date = dup_s(e->review_date, &oom);
    d->review_note = dup_s(e->review_note, &oom);
    if (oom) {
        kb_entry_free(d);
        return NULL;
    }
    return d;
}

/* The remembered copy of entry id in this snapshot, or NULL. */
static const kb_entry_t *memo_entry_find(kb_t *kb, const char *id)
{
    if (!kb->snap)
        return NULL;
    for (int i = 0; i < KB_MEMO_ENTRIES; i++)
        if (kb->memo_entry[i] && strcmp(kb->memo_entry[i]->id, id) == 0) {
            kb->memo_entry_used[i] = ++kb->tick;
            return kb->memo_entry[i];
        }
    return NULL;
}

/* Bytes of text an entry holds (what the memo's byte bound counts). */
static size_t entry_size(const kb_entry_t *e)
{
    size_t n = strlen(e->id) + strlen(e->title) + strlen(e->review_note) + 256;
    for (size_t i = 0; i < e->n_sections; i++)
        n += strlen(e->sections[i].text) + 32;
    for (size_t i = 0; i < e->n_sources; i++)
        n += strlen(e->sources[i].title) + strlen(e->sources[i].url) + strlen(e->sources[i].publisher) + 16;
    for (size_t i = 0; i < e->n_aliases; i++)
        n += strlen(e->aliases[i]) + 16;
    return n;
}

static void memo_entry_drop(kb_t *kb, int i)
{
    kb_entry_free(kb->memo_entry[i]);
    kb->memo_entry[i] = NULL;
    kb->memo_entry_bytes -= kb->memo_entry_size[i];
    kb->memo_entry_size[i] = 0;
}

/* A free slot when free_ok and there is one, else the least recently used
 * entry's; -1 when the memo is empty and free slots are not wanted. */
static int memo_entry_victim(const kb_t *kb, int free_ok)
{
    int slot = -1;
    for (int i = 0; i < KB_MEMO_ENTRIES; i++) {
        if (!kb->memo_entry[i]) {
            if (free_ok)
                return i;
            continue;
        }
        if (slot < 0 || kb->memo_entry_used[i] < kb->memo_entry_used[slot])
            slot = i;
    }
    return slot;
}

/* Remembers a copy of e, making room by dropping the least recently used. */
static void memo_entry_put(kb_t *kb, const kb_entry_t *e)
{
    size_t size = entry_size(e);
    if (!kb->snap || size > KB_MEMO_ENTRY_BYTES)
        return;
    kb_entry_t *d = entry_dup(e);
    if (!d)
        return;
    int slot;
    while (kb->memo_entry_bytes + size > KB_MEMO_ENTRY_BYTES && (slot = memo_entry_victim(kb, 0)) >= 0)
        memo_entry_drop(kb, slot);
    slot = memo_entry_victim(kb, 1);
    if (kb->memo_entry[slot])
        memo_entry_drop(kb, slot);
    kb->memo_entry[slot] = d;
    kb->memo_entry_used[slot] = ++kb->tick;
    kb->memo_entry_size[slot] = size;
    kb->memo_entry_bytes += size;
}

int kb_get(kb_t *kb, const char *id, kb_entry_t **out, muse_error_t *err)
{
    *out = NULL;
    if (!id)
        return muse_err(err, MUSE_EINVAL, "no entry id given");
    sqlite3_stmt *st[4] = {kb_stmt(kb, KB_ST_ENTRY_BY_ID, err), kb_stmt(kb, KB_ST_SECTIONS, err),
                           kb_stmt(kb, KB_ST_SOURCES, err), kb_stmt(kb, KB_ST_ALIASES, err)};
    if (!st[0] || !st[1] || !st[2] || !st[3])
        return err ? err->code : MUSE_ECORRUPT;
    int own = kb_read_begin(kb);
    int rc = MUSE_OK;
    const kb_entry_t *memo = memo_entry_find(kb, id);
    if (memo) {
        if (!(*out = entry_dup(memo)))
            rc = muse_err(err, MUSE_ENOMEM, "out of memory reading entry %s", id);
    } else if ((rc = load_with(st, kb->path, id, out, err)) == MUSE_OK) {
        memo_entry_put(kb, *out);
    }
    kb_read_end(kb, own);
    return rc;
}

void kb_entry_free(kb_entry_t *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->kind);
    free(e->title);
    for (size_t i = 0; i < e->n_aliases; i++)
        free(e->aliases[i]);
    free(e->aliases);
    for (size_t i = 0; i < e->n_sections; i++) {
        free(e->sections[i].kind);
        free(e->sections[i].text);
    }
    free(e->sections);
    for (size_t i = 0; i < e->n_sources; i++) {
        free(e->sources[i].publisher);
        free(e->sources[i].title);
        free(e->sources[i].url);
    }
    free(e->sources);
    free(e->review_status);
    free(e->reviewer);
    free(e->credentials);
    free(e->review_date);
    free(e->review_note);
    free(e);
}

const char *kb_entry_section(const kb_entry_t *e, const char *kind)
{
    for (size_t i = 0; e && kind && i < e->n_sections; i++)
        if (strcmp(e->sections[i].kind, kind) == 0)
            return e->sections[i].text;
    return NULL;
}

static void meta_get(kb_t *kb, const char *key, char *out, size_t cap)
{
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(kb->db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
}

int kb_stats(kb_t *kb, kb_stats_t *out, muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kb->db,
                           "SELECT count(*), total(status = 'reviewed'),"
                           " total(EXISTS (SELECT 1 FROM sources s WHERE s.entry_id = e.id)) FROM entries e",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->entries = (size_t)sqlite3_column_int64(st, 0);
        out->reviewed = (size_t)sqlite3_column_int64(st, 1);
        out->with_sources = (size_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(kb->db, "SELECT kind, count(*) FROM entries GROUP BY kind ORDER BY kind", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    while (sqlite3_step(st) == SQLITE_ROW && out->n_kinds < 8) {
        snprintf(out->by_kind[out->n_kinds].kind, sizeof out->by_kind[0].kind, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        out->by_kind[out->n_kinds].n = (size_t)sqlite3_column_int64(st, 1);
        out->n_kinds++;
    }
    sqlite3_finalize(st);
    meta_get(kb, "content_version", out->content_version, sizeof out->content_version);
    meta_get(kb, "content_hash", out->content_hash, sizeof out->content_hash);
    meta_get(kb, "built_at", out->built_at, sizeof out->built_at);
    return MUSE_OK;
fail:
    return muse_err(err, MUSE_ECORRUPT, "%s: reading statistics: %s", kb->path, sqlite3_errmsg(kb->db));
}
