/* The knowledge store on disk: schema, build from kb/content, entry lookup
 * and statistics.
 *
 * One SQLite file holds entries, sections, aliases, sources, reviews, an
 * append-only audit log and FTS5 indexes. A build writes a fresh file under a
 * temporary name in one transaction and renames it into place, so readers
 * never see a half-built store and a failed build changes nothing. */
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

#define KB_MAX_ENTRY_BYTES (256 * 1024)

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

static const char *SCHEMA =
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE entries("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),"
    "  status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','reviewed','retired')),"
    "  doc TEXT NOT NULL);" /* the entry as canonical JSON, for export */
    "CREATE TABLE sections("
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL, ord INTEGER NOT NULL, text TEXT NOT NULL,"
    "  PRIMARY KEY (entry_id, kind));"
    "CREATE TABLE aliases("
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  alias TEXT NOT NULL, norm TEXT NOT NULL, is_title INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (entry_id, norm));"
    "CREATE INDEX aliases_norm ON aliases(norm);"
    "CREATE TABLE sources("
    "  entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL, publisher TEXT NOT NULL, title TEXT NOT NULL,"
    "  year INTEGER NOT NULL, url TEXT NOT NULL, PRIMARY KEY (entry_id, ord));"
    "CREATE TABLE reviews("
    "  id INTEGER PRIMARY KEY, entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  status TEXT NOT NULL, reviewer TEXT NOT NULL DEFAULT '', credentials TEXT NOT NULL DEFAULT '',"
    "  date TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX reviews_entry ON reviews(entry_id);"
    "CREATE TABLE audit("
    "  id INTEGER PRIMARY KEY, at TEXT NOT NULL, action TEXT NOT NULL,"
    "  entry_id TEXT, version INTEGER, detail TEXT NOT NULL DEFAULT '');"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TABLE vocab(word TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE entries_fts USING fts5("
    "  entry_id UNINDEXED, title, aliases, body,"
    "  tokenize = 'porter unicode61 remove_diacritics 2');"
    "CREATE VIRTUAL TABLE sections_fts USING fts5("
    "  entry_id UNINDEXED, kind UNINDEXED, text,"
    "  tokenize = 'porter unicode61 remove_diacritics 2');"
    "CREATE VIRTUAL TABLE names_tri USING fts5(entry_id UNINDEXED, name, tokenize = 'trigram');";

int kb_open(const char *path, int mode, kb_t **out, muse_error_t *err)
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
    if (!kb)
        return muse_err(err, MUSE_ENOMEM, "out of memory opening %s", path);
    kb->path = strdup(path);
    int flags = (mode == KB_READWRITE ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &kb->db, flags, NULL);
    if (rc != SQLITE_OK)
        goto corrupt;
    sqlite3_busy_timeout(kb->db, 5000);
    sqlite3_stmt *st_v = NULL;
    if (sqlite3_prepare_v2(kb->db, "PRAGMA user_version", -1, &st_v, NULL) != SQLITE_OK)
        goto corrupt;
    int version = sqlite3_step(st_v) == SQLITE_ROW ? sqlite3_column_int(st_v, 0) : -1;
    sqlite3_finalize(st_v);
    if (version <= 0) {
        kb_close(kb);
        return muse_err(err, MUSE_ECORRUPT,
                        "%s is not a Muse knowledge store (rebuild it with `muse kb build kb/content -o %s`)",
                        path, path);
    }
    if (version > KB_SCHEMA_VERSION) {
        kb_close(kb);
        return muse_err(err, MUSE_EUNSUPPORTED,
                        "%s uses store schema %d; this muse understands up to %d (upgrade muse)",
                        path, version, KB_SCHEMA_VERSION);
    }
    sqlite3_exec(kb->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    *out = kb;
    return MUSE_OK;
corrupt:
    rc = muse_err(err, MUSE_ECORRUPT,
                  "cannot open knowledge store %s: %s (rebuild it with `muse kb build kb/content -o %s`)",
                  path, kb->db ? sqlite3_errmsg(kb->db) : "out of memory", path);
    kb_close(kb);
    return rc;
}

void kb_close(kb_t *kb)
{
    if (!kb)
        return;
    for (size_t i = 0; i < kb->n_aliases; i++) {
        free(kb->aliases[i].norm);
        free(kb->aliases[i].alias);
    }
    free(kb->aliases);
    for (size_t i = 0; i < kb->n_alias_ids; i++) {
        free(kb->alias_ids[i]);
        free(kb->alias_kinds[i]);
    }
    free(kb->alias_ids);
    free(kb->alias_kinds);
    sqlite3_close(kb->db);
    free(kb->path);
    free(kb);
}

const char *kb_path(const kb_t *kb)
{
    return kb ? kb->path : NULL;
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

static int valid_url(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return 0;
    const char *host = strstr(u, "://") + 3;
    if (!*host || *host == '/' || !strchr(host, '.'))
        return 0;
    for (const char *p = u; *p; p++)
        if ((unsigned char)*p <= ' ')
            return 0;
    return 1;
}

/* Checks one entry object. `where` names the file (and line for JSONL). */
int kb_validate_entry(const cJSON *e, const char *where, muse_error_t *err)
{
    if (!cJSON_IsObject(e))
        return muse_err(err, MUSE_EINVAL, "%s: an entry must be a JSON object", where);
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
    if (!nonempty_string(cJSON_GetObjectItemCaseSensitive(e, "title")))
        return muse_err(err, MUSE_EINVAL, "%s: field \"title\": required non-empty string", where);
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
    if (version && (!cJSON_IsNumber(version) || version->valuedouble < 1))
        return muse_err(err, MUSE_EINVAL, "%s: field \"version\": must be an integer >= 1", where);
    return MUSE_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(j) ? j->valuestring : "";
}

/* The canonical form of an entry: fixed key order, sections in canonical
 * order. Export prints this, so export -> import -> export is byte-identical. */
char *kb_canonical_json(const cJSON *e)
{
    cJSON *c = cJSON_CreateObject();
    if (!c)
        return NULL;
    cJSON_AddStringToObject(c, "id", jstr(e, "id"));
    cJSON_AddStringToObject(c, "kind", jstr(e, "kind"));
    cJSON_AddStringToObject(c, "title", jstr(e, "title"));
    cJSON *al = cJSON_AddArrayToObject(c, "aliases");
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "aliases"))
        cJSON_AddItemToArray(al, cJSON_CreateString(a->valuestring));
    cJSON *secs = cJSON_AddObjectToObject(c, "sections");
    const cJSON *in_secs = cJSON_GetObjectItemCaseSensitive(e, "sections");
    for (int i = 0; kb_section_kinds[i]; i++) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(in_secs, kb_section_kinds[i]);
        if (cJSON_IsString(s))
            cJSON_AddStringToObject(secs, kb_section_kinds[i], s->valuestring);
    }
    cJSON *srcs = cJSON_AddArrayToObject(c, "sources");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(e, "sources")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "publisher", jstr(s, "publisher"));
        cJSON_AddStringToObject(o, "title", jstr(s, "title"));
        cJSON_AddNumberToObject(o, "year", cJSON_GetObjectItemCaseSensitive(s, "year")->valuedouble);
        cJSON_AddStringToObject(o, "url", jstr(s, "url"));
        cJSON_AddItemToArray(srcs, o);
    }
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(e, "review");
    cJSON *ro = cJSON_AddObjectToObject(c, "review");
    static const char *const rk[] = {"status", "reviewer", "credentials", "date", "note"};
    for (int i = 0; i < 5; i++)
        cJSON_AddStringToObject(ro, rk[i], jstr(r, rk[i]));
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "version");
    cJSON_AddNumberToObject(c, "version", cJSON_IsNumber(v) ? (int)v->valuedouble : 1);
    char *out = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return out;
}

static int exec(sqlite3 *db, const char *sql, const char *what, muse_error_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = muse_err(err, MUSE_EIO, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return MUSE_OK;
}

typedef struct inserter {
    sqlite3 *db;
    sqlite3_stmt *entry, *section, *alias, *source, *review, *audit, *fts, *sfts, *tri, *vocab;
} inserter_t;

static void inserter_free(inserter_t *in)
{
    sqlite3_finalize(in->entry);
    sqlite3_finalize(in->section);
    sqlite3_finalize(in->alias);
    sqlite3_finalize(in->source);
    sqlite3_finalize(in->review);
    sqlite3_finalize(in->audit);
    sqlite3_finalize(in->fts);
    sqlite3_finalize(in->sfts);
    sqlite3_finalize(in->tri);
    sqlite3_finalize(in->vocab);
}

static int inserter_init(inserter_t *in, sqlite3 *db, muse_error_t *err)
{
    memset(in, 0, sizeof *in);
    in->db = db;
    struct { sqlite3_stmt **st; const char *sql; } q[] = {
        {&in->entry, "INSERT INTO entries(id,kind,title,version,status,doc) VALUES(?,?,?,?,?,?)"},
        {&in->section, "INSERT INTO sections(entry_id,kind,ord,text) VALUES(?,?,?,?)"},
        {&in->alias, "INSERT OR IGNORE INTO aliases(entry_id,alias,norm,is_title) VALUES(?,?,?,?)"},
        {&in->source, "INSERT INTO sources(entry_id,ord,publisher,title,year,url) VALUES(?,?,?,?,?,?)"},
        {&in->review, "INSERT INTO reviews(entry_id,status,reviewer,credentials,date,note) VALUES(?,?,?,?,?,?)"},
        {&in->audit, "INSERT INTO audit(at,action,entry_id,version,detail) VALUES(strftime('%Y-%m-%dT%H:%M:%SZ','now'),?,?,?,?)"},
        {&in->fts, "INSERT INTO entries_fts(entry_id,title,aliases,body) VALUES(?,?,?,?)"},
        {&in->sfts, "INSERT INTO sections_fts(entry_id,kind,text) VALUES(?,?,?)"},
        {&in->tri, "INSERT INTO names_tri(entry_id,name) VALUES(?,?)"},
        {&in->vocab, "INSERT OR IGNORE INTO vocab(word) VALUES(?)"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (sqlite3_prepare_v2(db, q[i].sql, -1, q[i].st, NULL) != SQLITE_OK) {
            int rc = muse_err(err, MUSE_EINTERNAL, "preparing store statement: %s", sqlite3_errmsg(db));
            inserter_free(in);
            return rc;
        }
    return MUSE_OK;
}

static int step_reset(sqlite3_stmt *st, const char *where, muse_error_t *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        sqlite3 *db = sqlite3_db_handle(st);
        if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY)
            return muse_err(err, MUSE_EINVAL, "%s: duplicate id", where);
        return muse_err(err, MUSE_EIO, "%s: %s", where, sqlite3_errmsg(db));
    }
    return MUSE_OK;
}

static int add_vocab(inserter_t *in, const char *text, muse_error_t *err)
{
    kb_words_t w;
    if (kb_words_split(text, &w) != MUSE_OK)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    int rc = MUSE_OK;
    for (size_t i = 0; i < w.n && rc == MUSE_OK; i++) {
        sqlite3_bind_text(in->vocab, 1, w.v[i], -1, SQLITE_STATIC);
        rc = step_reset(in->vocab, "vocab", err);
    }
    kb_words_free(&w);
    return rc;
}

static int add_name(inserter_t *in, const char *id, const char *name, int is_title,
                    muse_error_t *err)
{
    char *norm = kb_normalise(name, NULL);
    if (!norm)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    sqlite3_bind_text(in->alias, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(in->alias, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(in->alias, 3, norm, -1, SQLITE_STATIC);
    sqlite3_bind_int(in->alias, 4, is_title);
    int rc = step_reset(in->alias, id, err);
    free(norm);
    if (rc == MUSE_OK) {
        sqlite3_bind_text(in->tri, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(in->tri, 2, name, -1, SQLITE_STATIC);
        rc = step_reset(in->tri, id, err);
    }
    return rc;
}

/* Inserts one validated entry; `action` goes to the audit log. */
int kb_insert_entry(sqlite3 *db, const cJSON *e, const char *where, const char *action,
                    muse_error_t *err)
{
    inserter_t in;
    int rc = inserter_init(&in, db, err);
    if (rc != MUSE_OK)
        return rc;
    const char *id = jstr(e, "id");
    const cJSON *review = cJSON_GetObjectItemCaseSensitive(e, "review");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "version");
    int version = cJSON_IsNumber(v) ? (int)v->valuedouble : 1;
    char *doc = kb_canonical_json(e);
    char *aliases_text = NULL, *body = NULL;
    size_t alen = 1, blen = 1;
    const cJSON *a, *s;
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(e, "sections");
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "aliases"))
        alen += strlen(a->valuestring) + 3;
    cJSON_ArrayForEach(s, secs)
        blen += strlen(s->valuestring) + 2;
    aliases_text = calloc(1, alen);
    body = calloc(1, blen);
    if (!doc || !aliases_text || !body) {
        rc = muse_err(err, MUSE_ENOMEM, "%s: out of memory", where);
        goto done;
    }
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "aliases")) {
        strcat(aliases_text, a->valuestring);
        strcat(aliases_text, " ; ");
    }
    cJSON_ArrayForEach(s, secs) {
        strcat(body, s->valuestring);
        strcat(body, "\n");
    }

    sqlite3_bind_text(in.entry, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(in.entry, 2, jstr(e, "kind"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.entry, 3, jstr(e, "title"), -1, SQLITE_STATIC);
    sqlite3_bind_int(in.entry, 4, version);
    sqlite3_bind_text(in.entry, 5, jstr(review, "status"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.entry, 6, doc, -1, SQLITE_STATIC);
    if ((rc = step_reset(in.entry, where, err)) != MUSE_OK) {
        if (rc == MUSE_EINVAL)
            rc = muse_err(err, MUSE_EINVAL, "%s: field \"id\": duplicate id \"%s\"", where, id);
        goto done;
    }
    for (int i = 0; kb_section_kinds[i]; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(secs, kb_section_kinds[i]);
        if (!cJSON_IsString(t))
            continue;
        sqlite3_bind_text(in.section, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(in.section, 2, kb_section_kinds[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(in.section, 3, i);
        sqlite3_bind_text(in.section, 4, t->valuestring, -1, SQLITE_STATIC);
        if ((rc = step_reset(in.section, where, err)) != MUSE_OK)
            goto done;
        sqlite3_bind_text(in.sfts, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(in.sfts, 2, kb_section_kinds[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(in.sfts, 3, t->valuestring, -1, SQLITE_STATIC);
        if ((rc = step_reset(in.sfts, where, err)) != MUSE_OK)
            goto done;
        if ((rc = add_vocab(&in, t->valuestring, err)) != MUSE_OK)
            goto done;
    }
    if ((rc = add_name(&in, id, jstr(e, "title"), 1, err)) != MUSE_OK ||
        (rc = add_vocab(&in, jstr(e, "title"), err)) != MUSE_OK)
        goto done;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "aliases")) {
        if ((rc = add_name(&in, id, a->valuestring, 0, err)) != MUSE_OK ||
            (rc = add_vocab(&in, a->valuestring, err)) != MUSE_OK)
            goto done;
    }
    int ord = 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(e, "sources")) {
        sqlite3_bind_text(in.source, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(in.source, 2, ord++);
        sqlite3_bind_text(in.source, 3, jstr(s, "publisher"), -1, SQLITE_STATIC);
        sqlite3_bind_text(in.source, 4, jstr(s, "title"), -1, SQLITE_STATIC);
        sqlite3_bind_int(in.source, 5, (int)cJSON_GetObjectItemCaseSensitive(s, "year")->valuedouble);
        sqlite3_bind_text(in.source, 6, jstr(s, "url"), -1, SQLITE_STATIC);
        if ((rc = step_reset(in.source, where, err)) != MUSE_OK)
            goto done;
    }
    sqlite3_bind_text(in.review, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(in.review, 2, jstr(review, "status"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.review, 3, jstr(review, "reviewer"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.review, 4, jstr(review, "credentials"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.review, 5, jstr(review, "date"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.review, 6, jstr(review, "note"), -1, SQLITE_STATIC);
    if ((rc = step_reset(in.review, where, err)) != MUSE_OK)
        goto done;
    sqlite3_bind_text(in.fts, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(in.fts, 2, jstr(e, "title"), -1, SQLITE_STATIC);
    sqlite3_bind_text(in.fts, 3, aliases_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(in.fts, 4, body, -1, SQLITE_STATIC);
    if ((rc = step_reset(in.fts, where, err)) != MUSE_OK)
        goto done;
    sqlite3_bind_text(in.audit, 1, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(in.audit, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(in.audit, 3, version);
    sqlite3_bind_text(in.audit, 4, where, -1, SQLITE_STATIC);
    rc = step_reset(in.audit, where, err);
done:
    free(doc);
    free(aliases_text);
    free(body);
    inserter_free(&in);
    return rc;
}

/* FNV-1a, 64-bit: a content fingerprint to tell store versions apart (not a
 * security hash). */
static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Creates an empty store with the current schema at path (which must not exist). */
int kb_create_schema(sqlite3 *db, muse_error_t *err)
{
    int rc = exec(db, SCHEMA, "creating store schema", err);
    if (rc == MUSE_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", KB_SCHEMA_VERSION);
        rc = exec(db, sql, "setting schema version", err);
    }
    return rc;
}

int kb_build(const char *content_dir, const char *db_path, kb_progress_fn progress, void *ud,
             kb_build_stats_t *stats, muse_error_t *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    file_list_t fl = {0};
    sqlite3 *db = NULL;
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
    if ((rc = exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN", "starting build", err)) != MUSE_OK ||
        (rc = kb_create_schema(db, err)) != MUSE_OK)
        goto done;
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < fl.n; i++) {
        size_t len = 0;
        char *text = read_file(fl.v[i], &len, err);
        if (!text) {
            rc = err ? err->code : MUSE_EIO;
            goto done;
        }
        hash = fnv1a(hash, text, len);
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
            const char *id = jstr(e, "id");
            if (strncmp(base, id, strlen(id)) != 0 || strcmp(base + strlen(id), ".json") != 0)
                rc = muse_err(err, MUSE_EINVAL, "%s: field \"id\": \"%s\" does not match the file name",
                              fl.v[i], id);
        }
        if (rc == MUSE_OK)
            rc = kb_insert_entry(db, e, fl.v[i], "build", err);
        cJSON_Delete(e);
        if (rc != MUSE_OK)
            goto done;
        if (progress)
            progress(i + 1, fl.n, ud);
    }
    char meta[512];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char built[32];
    strftime(built, sizeof built, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(meta, sizeof meta,
             "INSERT INTO meta VALUES('content_version','%s');"
             "INSERT INTO meta VALUES('built_at','%s');"
             "INSERT INTO meta VALUES('content_hash','fnv1a64:%016llx');"
             "INSERT INTO entries_fts(entries_fts) VALUES('optimize');"
             "INSERT INTO sections_fts(sections_fts) VALUES('optimize');"
             "COMMIT;",
             MUSE_VERSION_STRING, built, (unsigned long long)hash);
    if ((rc = exec(db, meta, "finishing build", err)) != MUSE_OK)
        goto done;
    if (sqlite3_close(db) != SQLITE_OK) {
        rc = muse_err(err, MUSE_EIO, "closing %s failed", tmp);
        db = NULL;
        goto done;
    }
    db = NULL;
    /* WAL for the finished store: readers never block each other. */
    if (sqlite3_open_v2(tmp, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
        (rc = exec(db, "PRAGMA journal_mode=WAL", "enabling WAL", err)) != MUSE_OK) {
        rc = rc ? rc : muse_err(err, MUSE_EIO, "reopening %s failed", tmp);
        goto done;
    }
    sqlite3_close(db);
    db = NULL;
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

int kb_get(kb_t *kb, const char *id, kb_entry_t **out, muse_error_t *err)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    int rc = MUSE_OK;
    kb_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(kb->db,
                           "SELECT e.id, e.kind, e.title, e.version, e.status,"
                           " r.reviewer, r.credentials, r.date FROM entries e"
                           " LEFT JOIN reviews r ON r.id = (SELECT max(id) FROM reviews WHERE entry_id = e.id)"
                           " WHERE e.id = ?", -1, &st, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = muse_err(err, MUSE_ENOTFOUND, "no entry with id \"%s\"", id);
        goto done;
    }
    e->id = col_dup(st, 0);
    e->kind = col_dup(st, 1);
    e->title = col_dup(st, 2);
    e->version = sqlite3_column_int(st, 3);
    e->review_status = col_dup(st, 4);
    e->reviewer = col_dup(st, 5);
    e->credentials = col_dup(st, 6);
    e->review_date = col_dup(st, 7);
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(kb->db, "SELECT kind, text FROM sections WHERE entry_id=? ORDER BY ord",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (e->n_sections == cap) {
            cap = cap ? cap * 2 : 8;
            kb_section_t *v = realloc(e->sections, cap * sizeof *v);
            if (!v)
                goto oom;
            e->sections = v;
        }
        e->sections[e->n_sections].kind = col_dup(st, 0);
        e->sections[e->n_sections].text = col_dup(st, 1);
        e->n_sections++;
    }
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(kb->db, "SELECT publisher, title, year, url FROM sources WHERE entry_id=? ORDER BY ord",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (e->n_sources == cap) {
            cap = cap ? cap * 2 : 4;
            kb_source_t *v = realloc(e->sources, cap * sizeof *v);
            if (!v)
                goto oom;
            e->sources = v;
        }
        kb_source_t *s = &e->sources[e->n_sources++];
        s->publisher = col_dup(st, 0);
        s->title = col_dup(st, 1);
        s->year = sqlite3_column_int(st, 2);
        s->url = col_dup(st, 3);
    }
    sqlite3_finalize(st);
    st = NULL;

    if (sqlite3_prepare_v2(kb->db, "SELECT alias FROM aliases WHERE entry_id=? AND is_title=0 ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK)
        goto sqlfail;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (e->n_aliases == cap) {
            cap = cap ? cap * 2 : 8;
            char **v = realloc(e->aliases, cap * sizeof *v);
            if (!v)
                goto oom;
            e->aliases = v;
        }
        e->aliases[e->n_aliases++] = col_dup(st, 0);
    }
    goto done;
oom:
    rc = muse_err(err, MUSE_ENOMEM, "out of memory reading entry %s", id);
    goto done;
sqlfail:
    rc = muse_err(err, MUSE_ECORRUPT, "%s: reading entry %s: %s", kb->path, id, sqlite3_errmsg(kb->db));
done:
    sqlite3_finalize(st);
    if (rc == MUSE_OK)
        *out = e;
    else
        kb_entry_free(e);
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
    free(e);
}

const char *kb_entry_section(const kb_entry_t *e, const char *kind)
{
    for (size_t i = 0; e && i < e->n_sections; i++)
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
                           "SELECT count(*), sum(status='reviewed'),"
                           " sum(EXISTS(SELECT 1 FROM sources s WHERE s.entry_id=e.id)) FROM entries e",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->entries = (size_t)sqlite3_column_int64(st, 0);
        out->reviewed = (size_t)sqlite3_column_int64(st, 1);
        out->with_sources = (size_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(kb->db, "SELECT kind, count(*) FROM entries GROUP BY kind ORDER BY kind",
                           -1, &st, NULL) != SQLITE_OK)
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
