/* Measurements in free text: "150/95 p 72", "A1c 7.2, fasting sugar 140",
 * "Mon 8am 142/91", "2026-11-02 07:30 138/88", a pasted list of readings.
 *
 * Two PCRE2 passes over the text, each one pattern JIT-compiled once per
 * process: the first finds dates, weekdays and clock times; the second finds
 * every measurement form at once, as one alternation whose branches are tagged
 * with (*MARK) and share capture numbers through a branch reset, so a 100,000-
 * line paste costs two linear scans rather than one per kind. The measurement
 * pattern is built at start-up from medical/data/units.json (the words people
 * use for each kind and the spellings of its units), so adding "sats" for SpO2
 * is a data change. A measurement that overlaps a date ("10/12") is dropped
 * in favour of the date.
 *
 * Times then attach to readings line by line (a sentence counts as a line),
 * the way people write lists: a date carries down the lines until another
 * one appears; a clock time belongs to its own line, before the reading
 * ("8am 142/91") or after it ("142/91 at 8am"), whichever the line starts
 * with. Weekdays without a date
 * count forward from the first one and end on the most recent such weekday
 * before the reference time; such dates are marked inferred. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "medical/medical_internal.h"
#include "muse_buf.h"

#define TEXT_MAX ((size_t)64 << 20)

/* ---- building the patterns ------------------------------------------- */

/* A literal phrase as a pattern: metacharacters escaped, and a space or a
 * hyphen between words matching any run of spaces/hyphens or none, so
 * "ldl-c", "ldl c" and "LDLc" all match the alias "ldl-c". */
static void sb_literal(muse_buf_t *b, const char *s)
{
    for (; *s; s++) {
        if (*s == ' ' || *s == '-') {
            muse_buf_puts(b, "[\\s\\-]*");
            while (s[1] == ' ' || s[1] == '-')
                s++;
        } else if (strchr("\\^$.|?*+()[]{}/#", *s)) {
            char e[3] = {'\\', *s, 0};
            muse_buf_puts(b, e);
        } else {
            muse_buf_add(b, s, 1);
        }
    }
}

static int by_length_desc(const void *a, const void *b)
{
    size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);
    return la < lb ? 1 : la > lb ? -1 : strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "(?:longest|...|shortest)" from the strings of one or more JSON arrays;
 * longest first so that "fasting glucose" wins over "glucose". */
static void sb_alternation(muse_buf_t *b, const cJSON *const *arrays, int n_arrays,
                           const char *const *extra, int n_extra)
{
    const char *words[256];
    int n = 0;
    for (int a = 0; a < n_arrays; a++) {
        const cJSON *w;
        cJSON_ArrayForEach(w, arrays[a])
            if (cJSON_IsString(w) && w->valuestring[0] && n < 256)
                words[n++] = w->valuestring;
    }
    for (int i = 0; i < n_extra && n < 256; i++)
        words[n++] = extra[i];
    qsort(words, (size_t)n, sizeof *words, by_length_desc);
    muse_buf_puts(b, "(?:");
    for (int i = 0; i < n; i++) {
        if (i)
            muse_buf_puts(b, "|");
        sb_literal(b, words[i]);
    }
    if (n == 0)
        muse_buf_puts(b, "(*FAIL)");
    muse_buf_puts(b, ")");
}

static void sb_units(muse_buf_t *b, const med_kind_def_t *kd, int standalone_only,
                     const cJSON *standalone_text)
{
    const cJSON *arrays[MED_MAX_UNITS];
    const char *codes[MED_MAX_UNITS];
    int na = 0, nc = 0;
    if (standalone_only && standalone_text) {
        arrays[na++] = standalone_text;
    } else {
        for (int i = 0; i < kd->n_units; i++) {
            if (standalone_only && !kd->units[i].standalone)
                continue;
            arrays[na++] = kd->units[i].text;
            codes[nc++] = kd->units[i].ucum;
        }
    }
    sb_alternation(b, arrays, na, codes, nc);
}

/* A number as people write it, captured atomically so that a failed unit
 * never makes "140" back off to "14": 1,200 (thousands), 5,6 (decimal comma),
 * 7.2, .9; not the start of a fraction or a clock time. */
#define NUM "(?>(-?(?:\\d{1,3}(?:,\\d{3})+(?![\\d.])|\\d+,\\d{1,2}(?![\\d,])|\\d+(?:\\.\\d+)?|\\.\\d+)))" \
            "(?!\\d|\\s*/\\s*\\d|:\\d)"

/* Each branch ends with its (*MARK): a mark at the start of a branch stops
 * PCRE2 from building the start-of-match bitmap, which makes the scan
 * several times slower. */
static const char bp_branch[] =
    "(?<![\\d/.])(\\d{2,3})\\s*(?:/|\\\\|\\bover\\b)\\s*(\\d{2,3})(?![\\d/]|[.,]\\d)"
    "(?:\\s*mm\\s*hg\\b)?"
    "(?:(?|\\s*[,;]?\\s*(?:and\\s+|with\\s+)?(?:p|pr|pulse(?:\\s*rate)?|hr|heart\\s*rate)\\b\\.?"
    "\\s*[:=]?\\s*(?:of\\s+|is\\s+|was\\s+)?(\\d{2,3})(?!\\d)"
    "(?:\\s*(?:bpm|/min|beats\\s*(?:per|a)\\s*min(?:ute)?))?"
    "|\\s*[,;]?\\s*(\\d{2,3})\\s*(?:bpm|/min|beats\\s*(?:per|a)\\s*min(?:ute)?)))?(*MARK:bp)";

/* Filler words between a kind's name and its number ("A1c was about 7"),
 * and words that say a number is not a measurement ("fever for 3 days"):
 * defined once as subroutines (?&F) and (?&N) at the end of the pattern,
 * since repeating them in every kind's branch would overflow PCRE2's
 * pattern size. */
static void sb_fillers(muse_buf_t *b, const cJSON *fillers)
{
    (void)fillers;
    muse_buf_puts(b, "(?&F)");
}

static void sb_define(muse_buf_t *b, const cJSON *fillers, const cJSON *not_units)
{
    muse_buf_puts(b, "(?(DEFINE)(?<F>(?:\\s*[:=~]|\\s+-(?=\\s)|\\s*[(\\[](?:fasting|random|non-?fasting)[)\\]]|\\s+");
    sb_alternation(b, &fillers, 1, NULL, 0);
    muse_buf_puts(b, "(?![a-z0-9])){0,8}\\s*)(?<N>\\s*");
    sb_alternation(b, &not_units, 1, NULL, 0);
    muse_buf_puts(b, "(?![a-z])))");
}

/* Feet and inches after the number: 5'10", 5 ft 10 in, 5ft10. */
#define FT_TAIL "(?<![\\d.])([3-8])\\s*(?:'|’|ft(?![a-z])\\.?|feet(?![a-z])|foot(?![a-z]))\\s*" \
                "(?:(\\d{1,2}(?:\\.\\d+)?)\\s*(?:\"|”|''|’’|in\\b\\.?|inch(?:es)?\\b)?)?(?![\\d])(*MARK:ft)"
/* Stones and pounds after the number: 12 st 4 lb. */
#define ST_TAIL "(?:\\s*(\\d{1,2}(?:\\.\\d+)?)\\s*(?:lbs?|pounds?)?(?![a-z0-9]))?(*MARK:st)"

/* The pattern has two halves that never start on the same character: forms
 * that start with a word ("A1c 7.2", "height 5'10") and forms that start
 * with a number ("150/95", "98.6 °F"). Each half is entered through one
 * cheap test, so most positions of a long paste are rejected once rather
 * than by every kind's branch in turn. */
static char *build_measure_pattern(const med_data_t *d)
{
    muse_buf_t b = {0};
    const cJSON *fillers = cJSON_GetObjectItemCaseSensitive(d->units, "fillers");
    const cJSON *not_units = cJSON_GetObjectItemCaseSensitive(d->units, "not_units");
    const cJSON *kinds = cJSON_GetObjectItemCaseSensitive(d->units, "kinds");
    const med_kind_def_t *height = &d->kinds[MED_HEIGHT], *weight = &d->kinds[MED_WEIGHT];
    const cJSON *kj;

    /* ---- forms that start with a word ---- */
    muse_buf_puts(&b, "(?|(?<![a-z0-9])(?=[a-z])(?|");
    /* Feet and inches after "height" or "I'm": before the plain height
     * branch, so that "height 5'10" keeps its inches. */
    sb_alternation(&b, &height->aliases, 1, (const char *const[]){"i am", "i'm", "i’m", "im"}, 4);
    muse_buf_puts(&b, "(?![a-z0-9])\\s*(?:is\\s+|of\\s+|[:=]\\s*)?" FT_TAIL);
    /* Stones after a weight word ("weight 12 st 4"). */
    muse_buf_puts(&b, "|");
    sb_alternation(&b, &weight->aliases, 1, NULL, 0);
    muse_buf_puts(&b, "(?![a-z0-9])");
    sb_fillers(&b, fillers);
    muse_buf_puts(&b, "(\\d{1,2})\\s*(?:st|stones?)(?![a-z])" ST_TAIL);
    /* One branch per kind: an alias, filler words, a number, a unit. */
    cJSON_ArrayForEach(kj, kinds) {
        /* Runs while the data loads: look kinds up without the data. */
        int k = med_kind_index(kj->string);
        if (k < 0 || k == MED_BP)
            continue;
        char mark[64];
        muse_buf_puts(&b, "|");
        sb_alternation(&b, &d->kinds[k].aliases, 1, NULL, 0);
        muse_buf_puts(&b, "(?![a-z0-9])");
        sb_fillers(&b, fillers);
        muse_buf_puts(&b, NUM "(?:\\s*(");
        sb_units(&b, &d->kinds[k], 0, NULL);
        snprintf(mark, sizeof mark, ")(?![a-z0-9])|(?!(?&N)))(*MARK:k%d)", (int)k);
        muse_buf_puts(&b, mark);
    }
    muse_buf_puts(&b, ")");

    /* ---- forms that start with a number ---- */
    muse_buf_puts(&b, "|(?=[\\d.\\-])(?|");
    muse_buf_puts(&b, bp_branch);
    muse_buf_puts(&b, "|" FT_TAIL);
    /* Bare stones only when "stone" is spelled out or pounds follow: "the
     * 21st" is not a weight. */
    muse_buf_puts(&b, "|(?<![\\d.])(\\d{1,2})\\s*(?:stones?|st(?=\\s*\\d))(?![a-z])" ST_TAIL);
    /* Units that name their kind alone: "98.6 °F", "72 bpm", "53 mmol/mol". */
    cJSON_ArrayForEach(kj, kinds) {
        /* Runs while the data loads: look kinds up without the data. */
        int k = med_kind_index(kj->string);
        if (k < 0 || k == MED_BP)
            continue;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(kj, "standalone_text");
        int any = st != NULL;
        for (int i = 0; i < d->kinds[k].n_units; i++)
            any |= d->kinds[k].units[i].standalone;
        if (!any)
            continue;
        char mark[64];
        muse_buf_puts(&b, "|(?<![a-z0-9.,])" NUM "\\s*(");
        sb_units(&b, &d->kinds[k], 1, st);
        snprintf(mark, sizeof mark, ")(?![a-z0-9])(*MARK:s%d)", (int)k);
        muse_buf_puts(&b, mark);
    }
    muse_buf_puts(&b, "))");
    sb_define(&b, fillers, not_units);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

#define MONTHS "(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?" \
               "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"

static const char time_pattern[] =
    "(?|"
    "(?<![\\d.])(\\d{4})[-/.](\\d{1,2})[-/.](\\d{1,2})(?![\\d])"
    "(?:(?:[T\\s]+|\\s*,\\s*)(\\d{1,2}):(\\d{2})(?::\\d{2}(?:\\.\\d+)?)?"
    "(?:\\s*(a\\.?m\\.?|p\\.?m\\.?)(?![a-z]))?(?:\\s*(Z|[+-]\\d{2}:?\\d{2})(?![\\d]))?)?(*MARK:iso)"
    "|(?<![\\d.])(\\d{1,2})\\.(\\d{1,2})\\.(\\d{4}|\\d{2})(?![\\d.])(*MARK:dot)"
    "|(?<![\\d/.])(\\d{1,2})/(\\d{1,2})(?:/(\\d{4}|\\d{2}))?(?![\\d/]|[.,]\\d)(*MARK:slash)"
    "|(?<![\\w.])(\\d{1,2})(?:st|nd|rd|th)?\\s+(?:of\\s+)?" MONTHS "\\b\\.?"
    "(?:,?\\s*(\\d{4})(?!\\d))?(*MARK:dmon)"
    "|(?<![\\w])" MONTHS "\\b\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?(?!\\d|:\\d|/)"
    "(?:,?\\s*(\\d{4})(?!\\d))?(*MARK:mond)"
    "|\\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\\b(*MARK:wd)"
    "|(?:^|(?<=[\\n,;(]))\\s*(mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\\b\\.?(*MARK:wd)"
    "|\\b(mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\\b\\.?(?=\\s*[,:\\-]?\\s*\\d)(*MARK:wd)"
    "|(?<![\\d:.])(\\d{1,2})(?:[:.](\\d{2}))?\\s*(a\\.?m\\.?|p\\.?m\\.?)(?![a-z])(*MARK:ampm)"
    "|(?<![\\d:.])(\\d{1,2}):(\\d{2})(?::\\d{2})?(?![\\d:])(*MARK:hm)"
    "|\\b(morning|afternoon|evening|night|bedtime|noon|midnight)\\b(*MARK:word)"
    "|\\b(today|yesterday|tonight)\\b(*MARK:rel)"
    ")";

static pcre2_code *compile(const char *pat, char *err, size_t cap)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE,
                                   &ec, &eo, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(err, cap, "text pattern does not compile at offset %zu: %s", (size_t)eo,
                 (const char *)msg);
        return NULL;
    }
    return re;
}

int med_text_compile(med_data_t *d)
{
    char *pat = build_measure_pattern(d);
    if (!pat) {
        snprintf(d->error, sizeof d->error, "out of memory building the text pattern");
        return -1;
    }
    d->re_measure = compile(pat, d->error, sizeof d->error);
    free(pat);
    if (!d->re_measure)
        return -1;
    d->re_time = compile(time_pattern, d->error, sizeof d->error);
    if (!d->re_time)
        return -1;
    /* JIT is an optimisation: where it is unavailable the interpreter gives
     * the same matches, only slower. */
    d->jit = pcre2_jit_compile(d->re_measure, PCRE2_JIT_COMPLETE) == 0 &&
             pcre2_jit_compile(d->re_time, PCRE2_JIT_COMPLETE) == 0;
    return 0;
}

/* ---- matching --------------------------------------------------------- */

typedef struct tok {
    size_t start, end;
    int line;
    int has_date;     /* day is a calendar day */
    int64_t day;
    int inferred;     /* the year (or the day) was inferred */
    int has_wd;
    int wd;           /* 0 = Sunday */
    int has_tod;
    int tod;
    int approx;
    int has_zone;
    int offset;
} tok_t;

typedef struct meas {
    size_t start, end;
    int line;
    const char *mark;
    size_t g[4][2];   /* capture groups 1-4: start, end (PCRE2_UNSET when unset) */
} meas_t;

typedef struct vec {
    void *v;
    size_t n, cap, size;
} vec_t;

static void *vec_push(vec_t *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 32;
        void *v = realloc(a->v, cap * a->size);
        if (!v)
            return NULL;
        a->v = v;
        a->cap = cap;
    }
    void *p = (char *)a->v + a->n * a->size;
    memset(p, 0, a->size);
    a->n++;
    return p;
}

static int grp(const PCRE2_SIZE *ov, int i, size_t *s, size_t *e)
{
    if (ov[2 * i] == PCRE2_UNSET)
        return 0;
    *s = ov[2 * i];
    *e = ov[2 * i + 1];
    return 1;
}

static int grp_int(const char *text, const PCRE2_SIZE *ov, int i, int *out)
{
    size_t s = 0, e = 0;
    if (!grp(ov, i, &s, &e) || e == s || e - s > 9)
        return 0;
    int v = 0;
    for (size_t k = s; k < e; k++) {
        if (!isdigit((unsigned char)text[k]))
            return 0;
        v = v * 10 + (text[k] - '0');
    }
    *out = v;
    return 1;
}

static int month_of(const char *s)
{
    static const char *const m[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; i++)
        if (med_strnieq(s, m[i], 3))
            return i + 1;
    return 0;
}

static int weekday_of(const char *s)
{
    static const char *const w[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    for (int i = 0; i < 7; i++)
        if (med_strnieq(s, w[i], 3))
            return i;
    return -1;
}

/* A date without a year is the most recent such date not after the
 * reference day (a day of slack for time zones). */
static int64_t day_without_year(int mo, int dd, int64_t ref_day, int *ok)
{
    int y, m, d;
    med_civil_from_days(ref_day, &y, &m, &d);
    if (!med_valid_date(y, mo, dd) && !(mo == 2 && dd == 29)) {
        *ok = 0;
        return 0;
    }
    for (int back = 0; back < 8; back++) {
        if (med_valid_date(y - back, mo, dd)) {
            int64_t day = med_days_from_civil(y - back, mo, dd);
            if (day <= ref_day + 1) {
                *ok = 1;
                return day;
            }
        }
    }
    *ok = 0;
    return 0;
}

static int tok_from_match(const char *text, const char *mark, const PCRE2_SIZE *ov, int64_t ref_day,
                          tok_t *t)
{
    int a, b, c;
    size_t s = 0, e = 0;
    if (strcmp(mark, "iso") == 0) {
        if (!grp_int(text, ov, 1, &a) || !grp_int(text, ov, 2, &b) || !grp_int(text, ov, 3, &c) ||
            !med_valid_date(a, b, c))
            return 0;
        t->has_date = 1;
        t->day = med_days_from_civil(a, b, c);
        int hh, mm;
        if (grp_int(text, ov, 4, &hh) && grp_int(text, ov, 5, &mm)) {
            if (grp(ov, 6, &s, &e)) {
                if (hh < 1 || hh > 12)
                    return 0;
                hh = hh % 12 + (tolower((unsigned char)text[s]) == 'p' ? 12 : 0);
            }
            if (hh > 23 || mm > 59)
                return 0;
            t->has_tod = 1;
            t->tod = hh * 60 + mm;
            if (grp(ov, 7, &s, &e)) {
                t->has_zone = 1;
                if (text[s] != 'Z' && text[s] != 'z') {
                    int oh = (text[s + 1] - '0') * 10 + (text[s + 2] - '0');
                    size_t q = s + 3 + (text[s + 3] == ':');
                    int om = q + 1 < e ? (text[q] - '0') * 10 + (text[q + 1] - '0') : 0;
                    t->offset = (text[s] == '-' ? -1 : 1) * (oh * 60 + om);
                }
            }
        }
        return 1;
    }
    if (strcmp(mark, "dot") == 0 || strcmp(mark, "slash") == 0) {
        if (!grp_int(text, ov, 1, &a) || !grp_int(text, ov, 2, &b))
            return 0;
        int y, mo, dd;
        int have_year = grp_int(text, ov, 3, &y);
        if (mark[0] == 'd' || a > 12) {
            dd = a;
            mo = b;
        } else {
            mo = a;
            dd = b;
        }
        if (!have_year) {
            /* Without a year, only a clear month/day pair is a date; the rest
             * ("90/60") is left for blood pressure. */
            if (mark[0] == 's' && a > 12)
                return 0;
            int ok;
            t->day = day_without_year(mo, dd, ref_day, &ok);
            if (!ok)
                return 0;
            t->inferred = 1;
        } else {
            if (y < 100)
                y += 2000;
            if (!med_valid_date(y, mo, dd))
                return 0;
            t->day = med_days_from_civil(y, mo, dd);
        }
        t->has_date = 1;
        return 1;
    }
    if (strcmp(mark, "dmon") == 0 || strcmp(mark, "mond") == 0) {
        int di = mark[1] == 'm' ? 1 : 2, mi = mark[1] == 'm' ? 2 : 1, y;
        if (!grp_int(text, ov, di, &a) || !grp(ov, mi, &s, &e))
            return 0;
        int mo = month_of(text + s);
        if (grp_int(text, ov, 3, &y)) {
            if (!med_valid_date(y, mo, a))
                return 0;
            t->day = med_days_from_civil(y, mo, a);
        } else {
            int ok;
            t->day = day_without_year(mo, a, ref_day, &ok);
            if (!ok)
                return 0;
            t->inferred = 1;
        }
        t->has_date = 1;
        return 1;
    }
    if (strcmp(mark, "wd") == 0) {
        if (!grp(ov, 1, &s, &e) || (t->wd = weekday_of(text + s)) < 0)
            return 0;
        t->has_wd = 1;
        return 1;
    }
    if (strcmp(mark, "ampm") == 0) {
        int mm = 0;
        if (!grp_int(text, ov, 1, &a) || a < 1 || a > 12)
            return 0;
        if (grp(ov, 2, &s, &e) && !grp_int(text, ov, 2, &mm))
            return 0;
        if (!grp(ov, 3, &s, &e))
            return 0;
        if (mm > 59)
            return 0;
        t->has_tod = 1;
        t->tod = (a % 12 + (tolower((unsigned char)text[s]) == 'p' ? 12 : 0)) * 60 + mm;
        return 1;
    }
    if (strcmp(mark, "hm") == 0) {
        if (!grp_int(text, ov, 1, &a) || !grp_int(text, ov, 2, &b) || a > 23 || b > 59)
            return 0;
        t->has_tod = 1;
        t->tod = a * 60 + b;
        return 1;
    }
    if (strcmp(mark, "word") == 0) {
        static const struct { const char *w; int tod; } words[] = {
            {"morning", 8 * 60}, {"afternoon", 14 * 60}, {"evening", 19 * 60}, {"night", 22 * 60},
            {"bedtime", 22 * 60}, {"noon", 12 * 60}, {"midnight", 0},
        };
        if (!grp(ov, 1, &s, &e))
            return 0;
        for (size_t i = 0; i < sizeof words / sizeof *words; i++)
            if (med_strnieq(text + s, words[i].w, strlen(words[i].w))) {
                t->has_tod = 1;
                t->tod = words[i].tod;
                t->approx = 1;
                return 1;
            }
        return 0;
    }
    if (strcmp(mark, "rel") == 0) {
        if (!grp(ov, 1, &s, &e) || e - s < 3)
            return 0;
        t->has_date = 1;
        t->inferred = 1;
        t->day = ref_day - (tolower((unsigned char)text[s]) == 'y');
        if (tolower((unsigned char)text[s + 2]) == 'n') { /* tonight */
            t->has_tod = 1;
            t->tod = 21 * 60;
            t->approx = 1;
        }
        return 1;
    }
    return 0;
}

static size_t next_char(const char *text, size_t len, size_t i)
{
    i++;
    while (i < len && ((unsigned char)text[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* Hostile text can make a pattern hit PCRE2's match or stack limits at some
 * position; that position is skipped rather than the whole text refused. */
static int resource_limit(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
           rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_NOMEMORY;
}

static int find_tokens(const med_data_t *d, const char *text, size_t len, int64_t ref_day,
                       pcre2_match_data *md, pcre2_match_context *mc, vec_t *toks)
{
    size_t off = 0;
    while (off <= len) {
        int rc = pcre2_match(d->re_time, (PCRE2_SPTR)text, len, off, 0, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            if (!resource_limit(rc))
                return MUSE_EINTERNAL;
            off = next_char(text, len, off);
            continue;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        const char *mark = (const char *)pcre2_get_mark(md);
        tok_t t;
        memset(&t, 0, sizeof t);
        t.start = ov[0];
        t.end = ov[1];
        if (mark && tok_from_match(text, mark, ov, ref_day, &t)) {
            tok_t *p = vec_push(toks);
            if (!p)
                return MUSE_ENOMEM;
            *p = t;
        }
        off = ov[1] > ov[0] ? ov[1] : next_char(text, len, ov[0]);
    }
    return MUSE_OK;
}

static int overlaps_token(const vec_t *toks, size_t *cursor, size_t s, size_t e)
{
    const tok_t *t = toks->v;
    while (*cursor < toks->n && t[*cursor].end <= s)
        (*cursor)++;
    for (size_t i = *cursor; i < toks->n && t[i].start < e; i++)
        if (t[i].end > s)
            return 1;
    return 0;
}

static int find_measures(const med_data_t *d, const char *text, size_t len, const vec_t *toks,
                         pcre2_match_data *md, pcre2_match_context *mc, vec_t *ms)
{
    size_t off = 0, cursor = 0;
    while (off <= len) {
        int rc = pcre2_match(d->re_measure, (PCRE2_SPTR)text, len, off, 0, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0) {
            if (!resource_limit(rc))
                return MUSE_EINTERNAL;
            off = next_char(text, len, off);
            continue;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        const char *mark = (const char *)pcre2_get_mark(md);
        if (!mark || ov[1] <= ov[0]) {
            off = next_char(text, len, ov[0]);
            continue;
        }
        if (overlaps_token(toks, &cursor, ov[0], ov[1])) {
            off = next_char(text, len, ov[0]);
            continue;
        }
        meas_t *m = vec_push(ms);
        if (!m)
            return MUSE_ENOMEM;
        m->start = ov[0];
        m->end = ov[1];
        m->mark = mark; /* points into the compiled pattern: static */
        uint32_t npairs = pcre2_get_ovector_count(md);
        for (int i = 0; i < 4; i++) {
            if ((uint32_t)(i + 1) < npairs && ov[2 * (i + 1)] != PCRE2_UNSET) {
                m->g[i][0] = ov[2 * (i + 1)];
                m->g[i][1] = ov[2 * (i + 1) + 1];
            } else {
                m->g[i][0] = m->g[i][1] = PCRE2_UNSET;
            }
        }
        off = ov[1];
    }
    return MUSE_OK;
}

/* ---- readings from matches -------------------------------------------- */

static int parse_number(const char *s, size_t n, double *out)
{
    char buf[48];
    size_t k = 0;
    if (n == 0 || n >= sizeof buf)
        return 0;
    /* A comma before exactly three digits groups thousands; any other comma
     * is a decimal comma (the regex allows only one, with 1-2 digits). */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ',') {
            size_t j = i + 1;
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            if (j - (i + 1) == 3)
                continue;
            buf[k++] = '.';
        } else {
            buf[k++] = s[i];
        }
    }
    buf[k] = '\0';
    char *end;
    *out = strtod(buf, &end);
    return *end == '\0';
}

static int m_num(const char *text, const meas_t *m, int i, double *out)
{
    if (m->g[i][0] == PCRE2_UNSET)
        return 0;
    return parse_number(text + m->g[i][0], m->g[i][1] - m->g[i][0], out);
}

static void detect_fasting(const char *text, size_t from, size_t to, const med_data_t *d,
                           med_reading_t *r)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(d->units, "kinds"), "glucose");
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "nonfasting_cues"))
        if (cJSON_IsString(c) && med_stristr(text + from, to - from, c->valuestring)) {
            r->fasting = 0;
            return;
        }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(g, "fasting_cues"))
        if (cJSON_IsString(c) && med_stristr(text + from, to - from, c->valuestring)) {
            r->fasting = 1;
            return;
        }
}

static int reading_from_match(const med_data_t *d, const char *text, const meas_t *m,
                              size_t ctx_from, size_t ctx_to, med_reading_t *r)
{
    double a, b;
    const char *mk = m->mark;
    if (strcmp(mk, "bp") == 0) {
        if (!m_num(text, m, 0, &a) || !m_num(text, m, 1, &b))
            return 0;
        med_reading_init(r, MED_BP);
        double p;
        if (m_num(text, m, 2, &p))
            r->pulse = p;
        medical_reading_set(r, MED_BP, a, b, "mm[Hg]", NULL);
    } else if (strcmp(mk, "ft") == 0) {
        if (!m_num(text, m, 0, &a))
            return 0;
        if (!m_num(text, m, 1, &b))
            b = 0;
        med_reading_init(r, MED_HEIGHT);
        medical_reading_set(r, MED_HEIGHT, a * 12 + b, NAN, "[in_i]", NULL);
        if (b >= 12) {
            r->implausible = 1;
            med_note_append(r->note, sizeof r->note, "implausible: %g inches is a foot or more", b);
        }
    } else if (strcmp(mk, "st") == 0) {
        if (!m_num(text, m, 0, &a))
            return 0;
        if (!m_num(text, m, 1, &b))
            b = 0;
        med_reading_init(r, MED_WEIGHT);
        medical_reading_set(r, MED_WEIGHT, a * 14 + b, NAN, "[lb_av]", NULL);
        if (b >= 14) {
            r->implausible = 1;
            med_note_append(r->note, sizeof r->note, "implausible: %g pounds is a stone or more", b);
        }
    } else if (mk[0] == 'k' || mk[0] == 's') {
        int k = atoi(mk + 1);
        if (k < 0 || k >= MED_KIND_COUNT || !m_num(text, m, 0, &a))
            return 0;
        med_reading_init(r, (med_kind_t)k);
        char unit[48] = "";
        if (m->g[1][0] != PCRE2_UNSET) {
            size_t n = m->g[1][1] - m->g[1][0];
            int u = med_unit_find(&d->kinds[k], text + m->g[1][0], n);
            if (u >= 0)
                snprintf(unit, sizeof unit, "%s", d->kinds[k].units[u].ucum);
        }
        if (medical_reading_set(r, (med_kind_t)k, a, NAN, unit, NULL) != MUSE_OK)
            return 0;
        if (k == MED_GLUCOSE)
            detect_fasting(text, ctx_from, ctx_to, d, r);
    } else {
        return 0;
    }
    r->start = m->start;
    r->end = m->end;
    return 1;
}

/* ---- times onto readings ---------------------------------------------- */

typedef struct date_state {
    enum { DS_NONE, DS_ABS, DS_WD } kind;
    int64_t day;      /* DS_ABS */
    int inferred;
    int rel, wd;      /* DS_WD: days after the first weekday named, and its weekday */
    int wd_first;
} date_state_t;

static void apply_date(date_state_t *st, const tok_t *t)
{
    if (t->has_date) {
        st->kind = DS_ABS;
        st->day = t->day;
        st->inferred = t->inferred;
    } else if (t->has_wd) {
        if (st->kind == DS_ABS) {
            /* A weekday after a date is the next such day on or after it. */
            st->day += (t->wd - med_weekday(st->day) + 7) % 7;
            st->inferred = 1;
        } else if (st->kind == DS_WD) {
            st->rel += (t->wd - st->wd + 7) % 7;
            st->wd = t->wd;
        } else {
            st->kind = DS_WD;
            st->rel = 0;
            st->wd = st->wd_first = t->wd;
        }
    }
}

typedef struct pending {
    int is_wd;
    int rel;
    int tod, approx, has_zone, offset;
} pending_t;

static void stamp(med_reading_t *r, const date_state_t *st, const tok_t *tod_tok, pending_t *pd)
{
    pd->is_wd = 0;
    pd->tod = tod_tok ? tod_tok->tod : -1;
    pd->approx = tod_tok ? tod_tok->approx : 0;
    pd->has_zone = tod_tok ? tod_tok->has_zone : 0;
    pd->offset = tod_tok ? tod_tok->offset : 0;
    if (pd->tod >= 0) {
        r->tod_min = pd->tod;
        r->time_flags |= MED_TIME_CLOCK | (pd->approx ? MED_TIME_APPROX : 0);
    }
    if (st->kind == DS_ABS) {
        r->time_flags |= MED_TIME_DATE | (st->inferred ? MED_TIME_INFERRED : 0);
        r->time = st->day * 86400 + (pd->tod >= 0 ? pd->tod * 60 : 0);
        if (pd->has_zone) {
            r->time -= (int64_t)pd->offset * 60;
            r->utc_offset_min = pd->offset;
            r->time_flags |= MED_TIME_ZONE;
        }
    } else if (st->kind == DS_WD) {
        pd->is_wd = 1;
        pd->rel = st->rel;
    }
}

/* A reading list is read segment by segment: a line, or a sentence ("150/95
 * p 72. Mon 8am 142/91" is two). The end of a sentence is . ? or ! followed
 * by a space; "7.2" has none. */
static int ends_segment(const char *text, size_t i, size_t lim)
{
    char c = text[i];
    if (c == '\n')
        return 1;
    return (c == '.' || c == '?' || c == '!') && i + 1 < lim &&
           (text[i + 1] == ' ' || text[i + 1] == '\t' || text[i + 1] == '\r');
}

static int assign_times(const char *text, vec_t *toks, vec_t *ms, med_series_t *out,
                        pending_t *pend, int64_t ref_day)
{
    tok_t *t = toks->v;
    meas_t *m = ms->v;
    /* Line numbers for both lists in one forward scan. */
    size_t pos = 0, ti = 0, mi = 0;
    int line = 0;
    while (ti < toks->n || mi < ms->n) {
        size_t next = (mi >= ms->n || (ti < toks->n && t[ti].start < m[mi].start)) ? t[ti].start
                                                                                  : m[mi].start;
        for (; pos < next; pos++)
            if (ends_segment(text, pos, next))
                line++;
        if (mi < ms->n && m[mi].start == next && (ti >= toks->n || t[ti].start != next))
            m[mi++].line = line;
        else
            t[ti++].line = line;
    }

    date_state_t st = {0};
    int max_rel = -1, wd_first = 0;
    size_t tj = 0, mj = 0, ri = 0;
    while (mj < ms->n || tj < toks->n) {
        int ln = (mj < ms->n && (tj >= toks->n || m[mj].line <= t[tj].line)) ? m[mj].line : t[tj].line;
        size_t t0 = tj, t1 = tj, m0 = mj, m1 = mj;
        while (t1 < toks->n && t[t1].line == ln)
            t1++;
        while (m1 < ms->n && m[m1].line == ln)
            m1++;
        int prefix = m0 == m1 || t0 == t1 || t[t0].start < m[m0].start;
        if (prefix) {
            const tok_t *tod = NULL;
            size_t k = t0;
            for (size_t j = m0; j < m1; j++) {
                for (; k < t1 && t[k].start < m[j].start; k++) {
                    apply_date(&st, &t[k]);
                    if (t[k].has_tod)
                        tod = &t[k];
                }
                stamp(&out->v[ri], &st, tod, &pend[ri]);
                ri++;
            }
            for (; k < t1; k++)
                apply_date(&st, &t[k]);
        } else {
            size_t k = t0;
            for (size_t j = m0; j < m1; j++) {
                size_t lim = j + 1 < m1 ? m[j + 1].start : (size_t)-1;
                const tok_t *tod = NULL;
                for (; k < t1 && t[k].start < lim; k++) {
                    apply_date(&st, &t[k]);
                    if (t[k].has_tod && !tod)
                        tod = &t[k];
                }
                stamp(&out->v[ri], &st, tod, &pend[ri]);
                ri++;
            }
        }
        if (st.kind == DS_WD)
            wd_first = st.wd_first;
        tj = t1;
        mj = m1;
    }

    /* Weekday-only dates: the last one is the most recent such weekday on or
     * before the reference day, the others count back from it. */
    for (size_t i = 0; i < out->n; i++)
        if (pend[i].is_wd && pend[i].rel > max_rel)
            max_rel = pend[i].rel;
    if (max_rel >= 0) {
        int last_wd = (wd_first + max_rel) % 7;
        int64_t anchor = ref_day - ((med_weekday(ref_day) - last_wd + 7) % 7);
        for (size_t i = 0; i < out->n; i++) {
            if (!pend[i].is_wd)
                continue;
            med_reading_t *r = &out->v[i];
            int64_t day = anchor - (max_rel - pend[i].rel);
            r->time_flags |= MED_TIME_DATE | MED_TIME_INFERRED;
            r->time = day * 86400 + (pend[i].tod >= 0 ? pend[i].tod * 60 : 0);
            if (pend[i].has_zone) {
                r->time -= (int64_t)pend[i].offset * 60;
                r->utc_offset_min = pend[i].offset;
                r->time_flags |= MED_TIME_ZONE;
            }
        }
    }
    return MUSE_OK;
}

int medical_parse_text_opts(const char *text, const med_parse_opts_t *o, med_series_t *out,
                            muse_error_t *err)
{
    const med_data_t *d;
    vec_t toks = {.size = sizeof(tok_t)}, ms = {.size = sizeof(meas_t)};
    pcre2_match_data *md = NULL;
    pcre2_match_context *mc = NULL;
    pcre2_jit_stack *js = NULL;
    pending_t *pend = NULL;
    memset(out, 0, sizeof *out);
    int rc = med_data_get(&d, err);
    if (rc)
        return rc;
    if (!text)
        return muse_err(err, MUSE_EINVAL, "no text to read measurements from");
    size_t len = strnlen(text, TEXT_MAX + 1);
    if (len > TEXT_MAX)
        return muse_err(err, MUSE_ELIMIT, "text is over 64 MiB; split it or use a readings file");

    int64_t now = (o && o->now) ? o->now : (int64_t)time(NULL);
    int64_t ref_day = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);

    md = pcre2_match_data_create(24, NULL);
    mc = pcre2_match_context_create(NULL);
    /* A JIT stack of our own (the default is 32 KiB of machine stack), and
     * limits that bound the work at one position whatever the input. */
    js = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
    if (!md || !mc || !js) {
        rc = MUSE_ENOMEM;
        goto fail;
    }
    pcre2_jit_stack_assign(mc, NULL, js);
    pcre2_set_match_limit(mc, 100000);
    if ((rc = find_tokens(d, text, len, ref_day, md, mc, &toks)) != MUSE_OK ||
        (rc = find_measures(d, text, len, &toks, md, mc, &ms)) != MUSE_OK)
        goto fail;

    meas_t *m = ms.v;
    if (ms.n) {
        /* The capacity med_series_push() infers from n (8, then powers of
         * two), so a caller may keep appending to the series. */
        size_t cap = 8;
        while (cap < ms.n)
            cap *= 2;
        out->v = malloc(cap * sizeof *out->v);
        pend = calloc(ms.n, sizeof *pend);
        if (!out->v || !pend) {
            rc = MUSE_ENOMEM;
            goto fail;
        }
    }
    /* Matches that turn out not to be readings (a bad number) are dropped,
     * keeping ms and out index-aligned for the time pass. */
    /* Words that qualify a glucose ("fasting", "after lunch") are looked
     * for in its own clause: from the previous , ; or line break (or the
     * previous reading) to the next one. */
    size_t kept = 0;
    for (size_t i = 0; i < ms.n; i++) {
        size_t from = m[i].start, lo = i > 0 ? m[i - 1].end : 0;
        while (from > lo && !strchr(",;\n", text[from - 1]))
            from--;
        size_t to = m[i].end, cap = i + 1 < ms.n ? m[i + 1].start : len;
        while (to < cap && !strchr(",;\n", text[to]))
            to++;
        if (reading_from_match(d, text, &m[i], from, to, &out->v[kept]))
            m[kept++] = m[i];
    }
    ms.n = kept;
    out->n = kept;
    if ((rc = assign_times(text, &toks, &ms, out, pend, ref_day)) != MUSE_OK)
        goto fail;
    for (size_t i = 0; i < out->n; i++) {
        med_reading_t *r = &out->v[i];
        if ((r->time_flags & MED_TIME_INFERRED) && r->time >= 0) {
            char ts[40];
            med_format_time(r, ts, sizeof ts);
            ts[10] = '\0';
            med_note_append(r->note, sizeof r->note, "date taken as %s (no full date given)", ts);
        }
    }
    rc = MUSE_OK;
    goto done;
fail:
    med_series_free(out);
    if (rc == MUSE_ENOMEM)
        muse_err(err, rc, "out of memory reading measurements from text");
    else
        muse_err(err, rc, "text matching failed (a bug, please report it)");
done:
    free(pend);
    free(toks.v);
    free(ms.v);
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    pcre2_jit_stack_free(js);
    return rc;
}

int medical_parse_text(const char *text, med_series_t *out, muse_error_t *err)
{
    return medical_parse_text_opts(text, NULL, out, err);
}
