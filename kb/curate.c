/* Curation: import, export, review and verify.
 *
 * Every change a curator makes runs in one transaction: an import with a bad
 * line anywhere, a review of an unknown entry or a process killed half way
 * leaves the store exactly as it was (SQLite's WAL keeps the committed state;
 * an uncommitted tail is discarded on the next open). Each change is also
 * written to the append-only audit log, with the replaced version's JSON
 * when an import replaces an entry. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kb/kb_internal.h"
#include "muse_err.h"

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* Lines in a regular file, for progress (0 when it cannot be known). */
static size_t count_lines(FILE *f)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    char buf[65536];
    size_t n = 0, r;
    int last = '\n';
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < r; i++)
            n += buf[i] == '\n';
        last = buf[r - 1];
    }
    n += last != '\n';
    rewind(f);
    return n;
}

int kb_import(kb_t *kb, const char *path, const kb_import_opts_t *opts, kb_import_stats_t *stats,
              muse_error_t *err)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    kb_import_stats_t st = {0};
    kb_writer_t w = {0};
    kb_wordmap_t seen = {0};
    char *line = NULL;
    size_t cap = 0;
    int rc = MUSE_OK, began = 0;
    FILE *f = NULL;
    if (!kb->writable)
        return muse_err(err, MUSE_EINVAL, "%s: opened read-only; cannot import", kb->path);
    if (!path)
        return muse_err(err, MUSE_EINVAL, "import: no file given");
    int use_stdin = strcmp(path, "-") == 0;
    const char *name = use_stdin ? "<stdin>" : path;
    f = use_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return muse_err(err, MUSE_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t total = count_lines(f);
    /* A large import must not spill its pages to disk early. */
    sqlite3_exec(kb->db, "PRAGMA cache_size=-65536", NULL, NULL, NULL);
    if ((rc = kb_exec(kb->db, "BEGIN IMMEDIATE", "starting the import", err)) != MUSE_OK)
        goto done;
    began = 1;
    if ((rc = kb_writer_init(&w, kb->db, err)) != MUSE_OK)
        goto done;
    ssize_t len;
    int lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if ((size_t)len > KB_MAX_ENTRY_BYTES) {
            rc = muse_err(err, MUSE_ELIMIT, "%s:%d: entry is larger than %d KiB", name, lineno,
                          KB_MAX_ENTRY_BYTES / 1024);
            goto done;
        }
        if (strlen(line) != (size_t)len) {
            rc = muse_err(err, MUSE_EPARSE, "%s:%d: a NUL byte inside the line", name, lineno);
            goto done;
        }
        if (is_blank(line))
            continue;
        char where[600];
        snprintf(where, sizeof where, "%s:%d", name, lineno);
        const char *end = NULL;
        cJSON *e = cJSON_ParseWithLengthOpts(line, (size_t)len, &end, 0);
        if (!e) {
            long col = end ? (long)(end - line) + 1 : 1;
            rc = muse_err(err, MUSE_EPARSE, "%s:%ld: malformed JSON (one entry per line)", where, col);
            goto done;
        }
        rc = kb_validate_entry(e, where, err);
        if (rc == MUSE_OK) {
            const char *id = cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring;
            kb_word_slot_t *prev = kb_wordmap_find(&seen, id);
            if (prev)
                rc = muse_err(err, MUSE_EINVAL, "%s: field \"id\": \"%s\" appears twice in this file (first on line %ld)",
                              where, id, prev->df);
            else if (kb_wordmap_add(&seen, id, lineno, 0) != MUSE_OK)
                rc = muse_err(err, MUSE_ENOMEM, "out of memory");
        }
        int replaced = 0;
        if (rc == MUSE_OK)
            rc = kb_writer_put(&w, e, where, "import", opts && opts->replace, &replaced, err);
        cJSON_Delete(e);
        if (rc != MUSE_OK)
            goto done;
        if (replaced)
            st.replaced++;
        else
            st.added++;
        if (opts && opts->progress)
            opts->progress(st.added + st.replaced, total, opts->ud);
    }
    if (ferror(f)) {
        rc = muse_err(err, MUSE_EIO, "%s: read error after line %d", name, lineno);
        goto done;
    }
    st.lines = (size_t)lineno;
    if ((rc = kb_writer_finish(&w, err)) != MUSE_OK)
        goto done;
    kb_writer_free(&w);
    rc = kb_exec(kb->db, "COMMIT", "committing the import", err);
    if (rc == MUSE_OK)
        began = 0;
done:
    kb_writer_free(&w);
    if (began)
        sqlite3_exec(kb->db, "ROLLBACK", NULL, NULL, NULL);
    kb_wordmap_free(&seen);
    free(line);
    if (f && !use_stdin)
        fclose(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    st.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (stats)
        *stats = rc == MUSE_OK ? st : (kb_import_stats_t){0};
    return rc;
}

int kb_export(kb_t *kb, FILE *out, size_t *n, muse_error_t *err)
{
    sqlite3_stmt *st = NULL;
    size_t count = 0;
    int rc = MUSE_OK;
    /* A read transaction, so the export is one consistent snapshot even
     * while a curator imports. */
    if ((rc = kb_exec(kb->db, "BEGIN", "starting the export", err)) != MUSE_OK)
        return rc;
    if (sqlite3_prepare_v2(kb->db, "SELECT id FROM entries ORDER BY id", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "%s: export: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        kb_entry_t *e = NULL;
        if ((rc = kb_get(kb, (const char *)sqlite3_column_text(st, 0), &e, err)) != MUSE_OK)
            goto done;
        char *json = kb_entry_to_json(e, 0);
        kb_entry_free(e);
        if (!json) {
            rc = muse_err(err, MUSE_ENOMEM, "out of memory");
            goto done;
        }
        int bad = fputs(json, out) == EOF || fputc('\n', out) == EOF;
        free(json);
        if (bad) {
            rc = muse_err(err, MUSE_EIO, "export: write failed: %s", strerror(errno));
            goto done;
        }
        count++;
    }
    if (s != SQLITE_DONE)
        rc = muse_err(err, MUSE_ECORRUPT, "%s: export: %s", kb->path, sqlite3_errmsg(kb->db));
done:
    sqlite3_finalize(st);
    sqlite3_exec(kb->db, "COMMIT", NULL, NULL, NULL);
    if (n)
        *n = count;
    return rc;
}

static int blank_str(const char *s)
{
    return !s || is_blank(s);
}

int kb_review(kb_t *kb, const char *id, const kb_review_t *r, muse_error_t *err)
{
    if (!kb->writable)
        return muse_err(err, MUSE_EINVAL, "%s: opened read-only; cannot record a review", kb->path);
    if (!id || !*id)
        return muse_err(err, MUSE_EINVAL, "review: no entry id given");
    if (!r || blank_str(r->reviewer))
        return muse_err(err, MUSE_EINVAL, "review: --reviewer NAME is required");
    if (blank_str(r->credentials))
        return muse_err(err, MUSE_EINVAL, "review: --credentials TEXT is required (for example \"MD, internal medicine\")");
    if (!r->decision || (strcmp(r->decision, "approve") != 0 && strcmp(r->decision, "reject") != 0))
        return muse_err(err, MUSE_EINVAL, "review: --decision must be approve or reject");
    if (strlen(r->reviewer) > 200 || strlen(r->credentials) > 200 || (r->note && strlen(r->note) > 4000))
        return muse_err(err, MUSE_EINVAL, "review: reviewer and credentials are at most 200 characters, the note 4000");
    char today[16];
    const char *date = r->date;
    if (!date) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(today, sizeof today, "%Y-%m-%d", &tm);
        date = today;
    }
    int y, m, d;
    char tail;
    if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return muse_err(err, MUSE_EINVAL, "review: date \"%.40s\" is not a date such as 2024-05-31", date);
    int approve = strcmp(r->decision, "approve") == 0;
    const char *status = approve ? "reviewed" : "draft";
    kb_writer_t w = {0};
    sqlite3_stmt *st = NULL;
    int rc = kb_exec(kb->db, "BEGIN IMMEDIATE", "starting the review", err);
    if (rc != MUSE_OK)
        return rc;
    if (sqlite3_prepare_v2(kb->db, "SELECT status, version FROM entries WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "%s: review: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = muse_err(err, MUSE_ENOTFOUND, "review: no entry with id \"%s\" in %s", id, kb->path);
        goto done;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), "retired") == 0) {
        rc = muse_err(err, MUSE_EINVAL, "review: entry \"%s\" is retired; import a new version to review", id);
        goto done;
    }
    int version = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = kb_writer_init(&w, kb->db, err)) != MUSE_OK)
        goto done;
    sqlite3_stmt *rv = w.st[KB_W_REVIEW];
    sqlite3_bind_text(rv, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 3, r->reviewer, -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 4, r->credentials, -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 5, date, -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 6, r->note ? r->note : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(rv, 7, r->decision, -1, SQLITE_STATIC);
    int s = sqlite3_step(rv);
    sqlite3_reset(rv);
    if (s != SQLITE_DONE) {
        rc = muse_err(err, MUSE_EIO, "%s: recording the review: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    if (sqlite3_prepare_v2(kb->db, "UPDATE entries SET status = ?1, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now')"
                                   " WHERE id = ?2", -1, &st, NULL) != SQLITE_OK) {
        rc = muse_err(err, MUSE_ECORRUPT, "%s: review: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = muse_err(err, MUSE_EIO, "%s: review: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    char detail[4600];
    snprintf(detail, sizeof detail, "%s (%s)%s%s", r->reviewer, r->credentials, r->note && *r->note ? ": " : "",
             r->note ? r->note : "");
    sqlite3_stmt *au = w.st[KB_W_AUDIT];
    sqlite3_bind_text(au, 1, approve ? "review-approve" : "review-reject", -1, SQLITE_STATIC);
    sqlite3_bind_text(au, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int(au, 3, version);
    sqlite3_bind_text(au, 4, detail, -1, SQLITE_STATIC);
    s = sqlite3_step(au);
    sqlite3_reset(au);
    if (s != SQLITE_DONE) {
        rc = muse_err(err, MUSE_EIO, "%s: writing the audit log: %s", kb->path, sqlite3_errmsg(kb->db));
        goto done;
    }
    if ((rc = kb_writer_rehash(&w, id, err)) != MUSE_OK || (rc = kb_writer_finish(&w, err)) != MUSE_OK)
        goto done;
    sqlite3_finalize(st);
    st = NULL;
    kb_writer_free(&w);
    rc = kb_exec(kb->db, "COMMIT", "committing the review", err);
done:
    sqlite3_finalize(st);
    kb_writer_free(&w);
    if (rc != MUSE_OK)
        sqlite3_exec(kb->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- verify ---- */

static int add_problem(kb_problems_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int add_problem(kb_problems_t *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **v = realloc(p->v, (p->n + 1) * sizeof *v);
    if (!v)
        return MUSE_ENOMEM;
    p->v = v;
    if (!(p->v[p->n] = strdup(buf)))
        return MUSE_ENOMEM;
    p->n++;
    return MUSE_OK;
}

/* Each row of sql becomes a problem: fmt gets the row's first two columns
 * as text. At most `max` are listed, then a count of the rest. */
static int problems_from(kb_t *kb, kb_problems_t *p, const char *sql, const char *fmt, muse_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(kb->db, sql, -1, &st, NULL) != SQLITE_OK)
        return muse_err(err, MUSE_ECORRUPT, "%s: verify: %s", kb->path, sqlite3_errmsg(kb->db));
    int rc = MUSE_OK;
    size_t n = 0;
    while (rc == MUSE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(st, 0);
        const char *b = sqlite3_column_count(st) > 1 ? (const char *)sqlite3_column_text(st, 1) : "";
        if (n++ < 20)
            rc = add_problem(p, fmt, a ? a : "", b ? b : "");
    }
    if (rc == MUSE_OK && n > 20)
        rc = add_problem(p, "... and %zu more like the above", n - 20);
    sqlite3_finalize(st);
    return rc == MUSE_OK ? MUSE_OK : muse_err(err, rc, "out of memory");
}

/* FTS5's own check of an index; it is written as an INSERT, so it runs in a
 * savepoint that is always rolled back. */
static int fts_check(kb_t *kb, kb_problems_t *p, const char *table, muse_error_t *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES ('integrity-check')", table, table);
    sqlite3_exec(kb->db, "SAVEPOINT verify_fts", NULL, NULL, NULL);
    char *msg = NULL;
    int s = sqlite3_exec(kb->db, sql, NULL, NULL, &msg);
    sqlite3_exec(kb->db, "ROLLBACK TO verify_fts; RELEASE verify_fts", NULL, NULL, NULL);
    int rc = MUSE_OK;
    if (s == SQLITE_CORRUPT_VTAB || s == SQLITE_CORRUPT)
        rc = add_problem(p, "full-text index %s does not match its table: rebuild the store", table);
    else if (s != SQLITE_OK && s != SQLITE_READONLY)
        rc = add_problem(p, "full-text index %s cannot be checked: %s", table, msg ? msg : sqlite3_errstr(s));
    sqlite3_free(msg);
    return rc == MUSE_OK ? MUSE_OK : muse_err(err, rc, "out of memory");
}

int kb_verify(kb_t *kb, kb_problems_t *out, muse_error_t *err)
{
    memset(out, 0, sizeof *out);
    static const struct {
        const char *sql, *fmt;
    } checks[] = {
        {"SELECT * FROM pragma_integrity_check WHERE integrity_check != 'ok'", "SQLite integrity check: %s%s"},
        {"SELECT \"table\", count(*) FROM pragma_foreign_key_check GROUP BY 1",
         "table %s: rows pointing at missing entries (%s)"},
        {"SELECT id, '' FROM entries e WHERE NOT EXISTS (SELECT 1 FROM sources s WHERE s.entry_id = e.id)",
         "entry %s has no sources%s"},
        {"SELECT id, '' FROM entries e WHERE NOT EXISTS (SELECT 1 FROM sections s WHERE s.entry_id = e.id)",
         "entry %s has no sections%s"},
        {"SELECT id, '' FROM entries e WHERE EXISTS (SELECT 1 FROM sections s WHERE s.entry_id = e.id)"
         " AND NOT EXISTS (SELECT 1 FROM sections s WHERE s.entry_id = e.id AND s.kind = 'overview')",
         "entry %s has no overview section%s"},
        {"SELECT alias, entry_id FROM aliases a WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = a.entry_id)",
         "alias \"%s\" points at entry %s, which does not exist"},
        {"SELECT id, '' FROM entries e WHERE NOT EXISTS (SELECT 1 FROM aliases a WHERE a.entry_id = e.id AND a.ord = -1)",
         "entry %s: its title is missing from the name index%s"},
        {"SELECT a.alias, group_concat(DISTINCT a.entry_id) FROM aliases a GROUP BY a.norm"
         " HAVING count(DISTINCT a.entry_id) > 1",
         "name \"%s\" belongs to more than one entry (%s): a question naming it cannot tell them apart"},
        {"SELECT entry_id, kind FROM sections s WHERE s.n / 32 != (SELECT e.n FROM entries e WHERE e.id = s.entry_id)",
         "entry %s: section %s is numbered for another entry"},
        {"SELECT id, '' FROM entries e WHERE NOT EXISTS (SELECT 1 FROM names_fts f WHERE f.rowid = e.n)",
         "entry %s is missing from the name index%s"},
        {"SELECT rowid, '' FROM names_fts f WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.n = f.rowid)",
         "the name index has a row (%s) for no entry%s"},
        {"SELECT entry_id, kind FROM sections s WHERE NOT EXISTS (SELECT 1 FROM sections_fts_docsize d WHERE d.id = s.n)",
         "entry %s: section %s is missing from the text index"},
        {"SELECT id, '' FROM sections_fts_docsize d WHERE NOT EXISTS (SELECT 1 FROM sections s WHERE s.n = d.id)",
         "the text index has a row (%s) for no section%s"},
        {"SELECT id, status FROM entries WHERE status NOT IN ('draft', 'reviewed', 'retired')",
         "entry %s has an unknown review status %s"},
        {"SELECT e.id, '' FROM entries e WHERE e.status = 'reviewed' AND NOT EXISTS (SELECT 1 FROM reviews r"
         " WHERE r.entry_id = e.id AND r.status = 'reviewed' AND r.reviewer != '' AND r.credentials != '')",
         "entry %s is marked reviewed but no review with a named reviewer is recorded%s"},
    };
    int rc = MUSE_OK;
    for (size_t i = 0; i < sizeof checks / sizeof checks[0] && rc == MUSE_OK; i++)
        rc = problems_from(kb, out, checks[i].sql, checks[i].fmt, err);
    static const char *const fts[] = {"names_fts", "sections_fts", "vocab_tri"};
    for (size_t i = 0; i < 3 && rc == MUSE_OK && kb->writable; i++)
        rc = fts_check(kb, out, fts[i], err);
    if (rc != MUSE_OK)
        kb_problems_free(out);
    return rc;
}

void kb_problems_free(kb_problems_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof *p);
}
