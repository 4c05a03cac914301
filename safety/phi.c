/* PHI/PII recognisers in the manner of Presidio: a pattern proposes a span,
 * context words nearby confirm it where the pattern alone is weak, and a
 * checksum or range rule rejects what cannot be real (Luhn for cards and NPIs,
 * mod-97 for IBANs, the SSA's never-issued SSN ranges, IPv4 octets).
 *
 * The patterns and context words are data (safety/data/phi.json); the
 * validators are code because they are arithmetic. Person names are the one
 * recogniser with logic of its own: a run of capitalised words is a name when
 * a title or a context phrase introduces it ("Dr.", "my name is", "patient"),
 * or when it holds a known given name, or a known surname after another
 * capitalised word. Words that are ordinary English ("Will", "May", "Grace"
 * at the start of a sentence) need more than the gazetteer to count, and
 * eponyms ("Parkinson's disease") are never people. Overlaps go to the
 * recogniser with the higher priority, then to the longer span. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "safety/safety_internal.h"

/* ------------------------------------------------------------ validators */

static size_t digits_of(const char *t, size_t s, size_t e, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = s; i < e; i++)
        if (t[i] >= '0' && t[i] <= '9') {
            if (n + 1 < cap)
                out[n] = t[i];
            n++;
        }
    if (n < cap)
        out[n] = '\0';
    else if (cap)
        out[cap - 1] = '\0';
    return n;
}

static int luhn_ok(const char *d, size_t n)
{
    int sum = 0, dbl = 0;
    for (size_t i = n; i-- > 0;) {
        int v = d[i] - '0';
        if (dbl) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
        dbl = !dbl;
    }
    return sum % 10 == 0;
}

static int valid_card(const char *t, size_t s, size_t e)
{
    char d[32];
    size_t n = digits_of(t, s, e, d, sizeof d);
    if (n < 12 || n > 19)
        return 0;
    /* Issuer prefixes in use: 1 (JCB 1800), 2 (Mastercard 2-series), 3
     * (Amex, Diners, JCB), 4 (Visa), 5 (Mastercard, Maestro), 6 (Discover,
     * UnionPay, Maestro). Maestro numbers can be as short as 12 digits. */
    if (d[0] < '1' || d[0] > '6' || (d[0] == '1' && strncmp(d, "1800", 4) != 0))
        return 0;
    return luhn_ok(d, n);
}

/* SSA rules: area 000, 666 and 900-999, group 00 and serial 0000 are never
 * issued; nor are runs of one digit or the advertising number 078-05-1120. */
static int valid_ssn(const char *t, size_t s, size_t e)
{
    char d[16];
    if (digits_of(t, s, e, d, sizeof d) != 9)
        return 0;
    int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
    int group = (d[3] - '0') * 10 + (d[4] - '0');
    int serial = atoi(d + 5);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return 0;
    int same = 1;
    for (int i = 1; i < 9; i++)
        same &= d[i] == d[0];
    if (same || strcmp(d, "078051120") == 0 || strcmp(d, "123456789") == 0)
        return 0;
    return 1;
}

/* NPI: Luhn over "80840" followed by the ten digits (CMS, NPI check digit). */
static int valid_npi(const char *t, size_t s, size_t e)
{
    char d[16], full[32];
    if (digits_of(t, s, e, d, sizeof d) != 10)
        return 0;
    if (d[0] != '1' && d[0] != '2')
        return 0;
    snprintf(full, sizeof full, "80840%s", d);
    return luhn_ok(full, 15);
}

/* ISO 13616: move the first four characters to the end, letters to
 * numbers (A=10), and the whole must be 1 modulo 97. */
static int valid_iban(const char *t, size_t s, size_t e)
{
    char c[40];
    size_t n = 0;
    for (size_t i = s; i < e; i++) {
        if (t[i] == ' ' || t[i] == '-')
            continue;
        if (n + 1 >= sizeof c)
            return 0;
        c[n++] = (char)toupper((unsigned char)t[i]);
    }
    if (n < 15 || n > 34)
        return 0;
    int rem = 0;
    for (size_t k = 0; k < n; k++) {
        char ch = c[(k + 4) % n];
        if (ch >= '0' && ch <= '9')
            rem = (rem * 10 + (ch - '0')) % 97;
        else if (ch >= 'A' && ch <= 'Z')
            rem = (rem * 100 + (ch - 'A' + 10)) % 97;
        else
            return 0;
    }
    return rem == 1;
}

static int valid_ipv4(const char *t, size_t s, size_t e)
{
    int parts = 0, v = -1;
    for (size_t i = s; i <= e; i++) {
        if (i < e && t[i] >= '0' && t[i] <= '9') {
            v = (v < 0 ? 0 : v * 10) + (t[i] - '0');
            if (v > 255)
                return 0;
        } else {
            if (v < 0)
                return 0;
            parts++;
            v = -1;
        }
    }
    return parts == 4;
}

static int valid_phone(const char *t, size_t s, size_t e)
{
    char d[32];
    size_t body = e;
    /* The extension does not count toward the number's length. */
    for (size_t i = s; i < e; i++)
        if (t[i] == 'x' || t[i] == 'X' || t[i] == 'e') {
            body = i;
            break;
        }
    size_t n = digits_of(t, s, body, d, sizeof d);
    return n >= 7 && n <= 15;
}

static int valid_age(const char *t, size_t s, size_t e)
{
    char d[8];
    size_t n = digits_of(t, s, e, d, sizeof d);
    if (n < 2 || n > 3)
        return 0;
    int age = atoi(d);
    /* HIPAA Safe Harbor: ages over 89 are identifying; younger ones are not. */
    return age > 89 && age < 130;
}

static int valid_date(const char *t, size_t s, size_t e)
{
    /* Rejects "13/45/2020" style impossibilities in numeric dates. */
    int nums[3] = {0, 0, 0}, k = 0, in = 0;
    for (size_t i = s; i < e && k < 3; i++) {
        if (t[i] >= '0' && t[i] <= '9') {
            nums[k] = nums[k] * 10 + (t[i] - '0');
            in = 1;
        } else if (in) {
            k++;
            in = 0;
            if (t[i] == ' ' || t[i] == 'T')
                break; /* time part follows */
        }
    }
    if (in)
        k++;
    if (k < 3)
        return 1;
    if (nums[0] > 31) /* yyyy-mm-dd */
        return nums[1] >= 1 && nums[1] <= 12 && nums[2] >= 1 && nums[2] <= 31;
    return nums[0] >= 1 && nums[1] >= 1 && (nums[0] <= 12 || nums[1] <= 12) && nums[0] <= 31 &&
           nums[1] <= 31;
}

static int validate(const char *kind, const char *t, size_t s, size_t e)
{
    if (!*kind)
        return 1;
    if (!strcmp(kind, "luhn"))
        return valid_card(t, s, e);
    if (!strcmp(kind, "ssn"))
        return valid_ssn(t, s, e);
    if (!strcmp(kind, "npi"))
        return valid_npi(t, s, e);
    if (!strcmp(kind, "iban"))
        return valid_iban(t, s, e);
    if (!strcmp(kind, "ipv4"))
        return valid_ipv4(t, s, e);
    if (!strcmp(kind, "phone"))
        return valid_phone(t, s, e);
    if (!strcmp(kind, "age"))
        return valid_age(t, s, e);
    if (!strcmp(kind, "date"))
        return valid_date(t, s, e);
    return 1;
}

/* ---------------------------------------------------------------- loading */

static const char *jstr(const cJSON *o, const char *k, const char *d)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : d;
}

/* The public name lists (given_names.txt, name_parts.txt, places.txt) and
 * the knowledge base's medical words (medical_words.txt) are
 * kept apart from the curated ones so that a diff of either stays
 * readable, and joined here into the set the curated list feeds: one lookup
 * per word at check time, however many lists there are. Their embedded
 * symbols are declared here rather than in safety_internal.h because only
 * the name finder reads them. */
extern const unsigned char safety_data_given_names_txt[];
extern const size_t safety_data_given_names_txt_len;
extern const unsigned char safety_data_name_parts_txt[];
extern const size_t safety_data_name_parts_txt_len;
extern const unsigned char safety_data_places_txt[];
extern const size_t safety_data_places_txt_len;
extern const unsigned char safety_data_medical_words_txt[];
extern const size_t safety_data_medical_words_txt_len;

/* Loads up to three embedded lists (c may be NULL) into one set. */
static int load_words(sf_wordset_t *ws, const unsigned char *a, size_t alen,
                      const unsigned char *b, size_t blen, const unsigned char *c, size_t clen,
                      muse_error_t *err)
{
    char *buf = malloc(alen + blen + clen + 2);
    if (!buf)
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    memcpy(buf, a, alen);
    buf[alen] = '\n';
    memcpy(buf + alen + 1, b, blen);
    buf[alen + 1 + blen] = '\n';
    if (c)
        memcpy(buf + alen + blen + 2, c, clen);
    int rc = sf_wordset_load(ws, buf, alen + blen + 2 + (c ? clen : 0), err);
    free(buf);
    return rc;
}

static int append_alts(char **buf, size_t *len, const cJSON *arr)
{
    const cJSON *it;
    int first = 1;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            continue;
        size_t l = strlen(it->valuestring);
        char *nb = realloc(*buf, *len + l + 8);
        if (!nb)
            return MUSE_ENOMEM;
        *buf = nb;
        *len += (size_t)sprintf(nb + *len, "%s(?:%s)", first ? "" : "|", it->valuestring);
        first = 0;
    }
    return MUSE_OK;
}

static int compile_cues(const cJSON *before, const cJSON *after, pcre2_code **out,
                        muse_error_t *err)
{
    *out = NULL;
    if (!cJSON_GetArraySize(before) || !cJSON_GetArraySize(after))
        return muse_err(err, MUSE_ECORRUPT,
                        "safety policy: phi.json: person.cue_before and person.cue_after must "
                        "be non-empty arrays of patterns");
    char *buf = malloc(64);
    size_t len = 0;
    if (!buf)
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    len = (size_t)sprintf(buf, "(?:(");
    if (append_alts(&buf, &len, before))
        goto oom;
    char *nb = realloc(buf, len + 32);
    if (!nb)
        goto oom;
    buf = nb;
    len += (size_t)sprintf(buf + len, ")\\z)|\\G(");
    if (append_alts(&buf, &len, after))
        goto oom;
    nb = realloc(buf, len + 4);
    if (!nb)
        goto oom;
    buf = nb;
    strcpy(buf + len, ")");
    *out = sf_compile(buf, "phi.json: person.cue_before/cue_after", err);
    free(buf);
    return *out ? MUSE_OK : MUSE_ECORRUPT;
oom:
    free(buf);
    return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
}

int sf_load_phi(safety_t *s, muse_error_t *err)
{
    int rc = MUSE_OK;
    cJSON *j = sf_parse_data(safety_data_phi_json, safety_data_phi_json_len, "phi.json", err);
    if (!j)
        return MUSE_ECORRUPT;
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "recognizers");
    int n = cJSON_GetArraySize(recs);
    s->recognizers = calloc(n > 0 ? (size_t)n : 1, sizeof *s->recognizers);
    if (!s->recognizers) {
        rc = muse_err(err, MUSE_ENOMEM, "safety: out of memory");
        goto done;
    }
    const cJSON *r;
    cJSON_ArrayForEach(r, recs)
    {
        sf_recognizer_t *rec = &s->recognizers[s->n_recognizers];
        const char *type = jstr(r, "type", NULL);
        if (!type) {
            rc = muse_err(err, MUSE_ECORRUPT, "safety policy: phi.json: recognizer %zu has no type",
                          s->n_recognizers);
            goto done;
        }
        snprintf(rec->type, sizeof rec->type, "%s", type);
        snprintf(rec->validate, sizeof rec->validate, "%s", jstr(r, "validate", ""));
        char where[96];
        snprintf(where, sizeof where, "phi.json: %s pattern", type);
        if ((rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(r, "pattern"), where,
                                  &rec->pattern, err)))
            goto done;
        if (!rec->pattern) {
            rc = muse_err(err, MUSE_ECORRUPT, "safety policy: %s missing", where);
            goto done;
        }
        snprintf(where, sizeof where, "phi.json: %s context", type);
        if ((rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(r, "context"), where,
                                  &rec->context, err)))
            goto done;
        rec->need_context = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "need_context"));
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(r, "group");
        rec->group = cJSON_IsNumber(g) ? g->valueint : 0;
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "priority");
        rec->priority = cJSON_IsNumber(p) ? p->valueint : 1;
        s->n_recognizers++;
    }
    const cJSON *person = cJSON_GetObjectItemCaseSensitive(j, "person");
    struct {
        const char *key;
        pcre2_code **dst;
    } pp[] = {{"titles", &s->person_title},
              {"context", &s->person_context},
              {"token", &s->name_token},
              {"eponym", &s->eponym},
              {"surname_suffix", &s->surname_suffix},
              {"org", &s->person_org}};
    for (size_t i = 0; i < sizeof pp / sizeof pp[0]; i++) {
        char where[64];
        snprintf(where, sizeof where, "phi.json: person.%s", pp[i].key);
        if ((rc = sf_compile_list(cJSON_GetObjectItemCaseSensitive(person, pp[i].key), where,
                                  pp[i].dst, err)))
            goto done;
    }
    /* The cue lists share one pattern (and the struct's person_after
     * slot): group 1 is a phrase that ends where a name starts ("named him
     * ", "my son "), matched against the text before a run up to \z;
     * group 2 one that starts where a name ends (" said", "'s daughter"),
     * anchored at the run's end with \G. */
    if ((rc = compile_cues(cJSON_GetObjectItemCaseSensitive(person, "cue_before"),
                           cJSON_GetObjectItemCaseSensitive(person, "cue_after"),
                           &s->person_after, err)))
        goto done;
    if (!s->name_token) {
        rc = muse_err(err, MUSE_ECORRUPT, "safety policy: phi.json: person.token missing");
        goto done;
    }
    if ((rc = load_words(&s->first_names, safety_data_first_names_txt,
                         safety_data_first_names_txt_len, safety_data_given_names_txt,
                         safety_data_given_names_txt_len, NULL, 0, err)) ||
        (rc = load_words(&s->last_names, safety_data_last_names_txt,
                         safety_data_last_names_txt_len, safety_data_name_parts_txt,
                         safety_data_name_parts_txt_len, NULL, 0, err)) ||
        (rc = load_words(&s->common_words, safety_data_common_words_txt,
                         safety_data_common_words_txt_len, safety_data_places_txt,
                         safety_data_places_txt_len, safety_data_medical_words_txt,
                         safety_data_medical_words_txt_len, err)))
        goto done;
done:
    cJSON_Delete(j);
    return rc;
}

/* ----------------------------------------------------------- candidates */

typedef struct cand {
    safety_entity_t e;
    int priority;
} cand_t;

typedef struct cands {
    cand_t *v;
    size_t n, cap;
} cands_t;

static int cand_push(cands_t *c, const char *type, size_t s, size_t e, int priority)
{
    if (e <= s)
        return MUSE_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        cand_t *t = realloc(c->v, cap * sizeof *t);
        if (!t)
            return MUSE_ENOMEM;
        c->v = t;
        c->cap = cap;
    }
    cand_t *x = &c->v[c->n++];
    snprintf(x->e.type, sizeof x->e.type, "%s", type);
    x->e.start = s;
    x->e.end = e;
    x->priority = priority;
    return MUSE_OK;
}

static int has_context(const sf_recognizer_t *r, const char *t, size_t len, size_t s, size_t e,
                       pcre2_match_data *md)
{
    size_t a, b;
    size_t from = s > 80 ? s - 80 : 0;
    size_t to = e + 40 < len ? e + 40 : len;
    /* Keep the window on character boundaries. */
    while (from > 0 && ((unsigned char)t[from] & 0xC0) == 0x80)
        from--;
    while (to < len && ((unsigned char)t[to] & 0xC0) == 0x80)
        to++;
    return sf_find(r->context, t, to, from, md, &a, &b);
}

static int run_recognizers(const safety_t *s, const char *t, size_t len, pcre2_match_data *md,
                           cands_t *c)
{
    for (size_t i = 0; i < s->n_recognizers; i++) {
        const sf_recognizer_t *r = &s->recognizers[i];
        size_t pos = 0;
        while (pos <= len) {
            int rc = pcre2_match(r->pattern, (PCRE2_SPTR)t, len, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            if (rc < 0)
                break;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            size_t ms = ov[0], me = ov[1];
            size_t gs = ms, ge = me;
            if (r->group > 0 && r->group < rc && ov[2 * r->group] != PCRE2_UNSET) {
                gs = ov[2 * r->group];
                ge = ov[2 * r->group + 1];
            }
            pos = me > ms ? me : ms + 1;
            while (pos < len && ((unsigned char)t[pos] & 0xC0) == 0x80)
                pos++;
            if (!validate(r->validate, t, gs, ge))
                continue;
            if (r->need_context && r->context && !has_context(r, t, len, gs, ge, md))
                continue;
            if (cand_push(c, r->type, gs, ge, r->priority))
                return MUSE_ENOMEM;
        }
    }
    return MUSE_OK;
}

/* ----------------------------------------------------------------- names */

typedef struct tok {
    size_t s, e;
    int cap;      /* starts with an upper-case letter */
    int allcaps;  /* two or more letters, all upper case (acronym) */
    int initial;  /* "J." */
} tok_t;

static int is_lower_ascii_word(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || t[i] == '\'' || t[i] == '-'))
            return 0;
    return e > s;
}

/* Looks a word up with its capitals folded: ASCII, Latin-1 ("Ásgeir" finds
 * "ásgeir") and Latin Extended-A ("Łukasz", "Šárka"), the scripts of the
 * name lists; a typographic apostrophe reads as "'". sf_wordset_has folds
 * ASCII only. */
static int ws_has(const sf_wordset_t *ws, const char *w, size_t n)
{
    char buf[64];
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (o + 2 >= sizeof buf)
            return 0;
        if (c == 0xC3 && i + 1 < n) {
            unsigned char d = (unsigned char)w[++i];
            buf[o++] = (char)c;
            buf[o++] = (char)(d >= 0x80 && d <= 0x9E && d != 0x97 ? d + 0x20 : d);
        } else if ((c == 0xC4 || c == 0xC5) && i + 1 < n) {
            unsigned cp = ((c & 0x1Fu) << 6) | ((unsigned char)w[++i] & 0x3Fu);
            if ((((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) && !(cp & 1)) ||
                (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) && (cp & 1)))
                cp++;
            buf[o++] = (char)(0xC0 | (cp >> 6));
            buf[o++] = (char)(0x80 | (cp & 0x3F));
        } else if (c == 0xE2 && i + 2 < n && (unsigned char)w[i + 1] == 0x80 &&
                   (unsigned char)w[i + 2] == 0x99) {
            buf[o++] = '\'';
            i += 2;
        } else {
            buf[o++] = (char)tolower(c);
        }
    }
    return sf_wordset_has(ws, buf, o);
}

/* The end of a word without a possessive: "Ana's", "Ana’s" -> "Ana". */
static size_t stem_end(const char *t, size_t s, size_t e)
{
    if (e - s > 2 && t[e - 2] == '\'' && (t[e - 1] == 's' || t[e - 1] == 'S'))
        return e - 2;
    if (e - s > 4 && (unsigned char)t[e - 4] == 0xE2 && (unsigned char)t[e - 3] == 0x80 &&
        (unsigned char)t[e - 2] == 0x99 && (t[e - 1] == 's' || t[e - 1] == 'S'))
        return e - 4;
    return e;
}

static int tok_in(const sf_wordset_t *ws, const char *t, const tok_t *k)
{
    return ws_has(ws, t + k->s, stem_end(t, k->s, k->e) - k->s);
}

/* Ordinary English, plurals included ("Dimensions" is "dimension"+s), but
 * a listed name is not a plural ("Morales", "Hayes"). */
static int tok_common(const safety_t *s, const char *t, const tok_t *k)
{
    if (tok_in(&s->common_words, t, k))
        return 1;
    size_t n = k->e - k->s;
    return n > 4 && (t[k->e - 1] == 's') && ws_has(&s->common_words, t + k->s, n - 1) &&
           !tok_in(&s->last_names, t, k) && !tok_in(&s->first_names, t, k);
}

static int at_sentence_start(const char *t, size_t s)
{
    while (s > 0 && (t[s - 1] == ' ' || t[s - 1] == '\t' || t[s - 1] == '"' || t[s - 1] == '('))
        s--;
    return s == 0 || t[s - 1] == '.' || t[s - 1] == '!' || t[s - 1] == '?' || t[s - 1] == '\n' ||
           t[s - 1] == ':';
}

/* Collects capitalised words and initials. Only single spaces join words
 * into one run; punctuation (other than a name's own period) ends it. */
static int tokenize_names(const safety_t *s, const char *t, size_t len, pcre2_match_data *md,
                          tok_t **out, size_t *n)
{
    size_t cap = 32, k = 0, pos = 0, a, b;
    tok_t *v = malloc(cap * sizeof *v);
    if (!v)
        return MUSE_ENOMEM;
    while (pos < len && sf_find(s->name_token, t, len, pos, md, &a, &b)) {
        if (k == cap) {
            tok_t *nv = realloc(v, cap * 2 * sizeof *v);
            if (!nv) {
                free(v);
                return MUSE_ENOMEM;
            }
            v = nv;
            cap *= 2;
        }
        tok_t *x = &v[k++];
        x->s = a;
        x->e = b;
        x->initial = (b - a == 2 && t[b - 1] == '.') || b - a == 1;
        if (b > a && t[b - 1] == '.' && !x->initial)
            x->e = --b; /* "Smith." ends a sentence, the period is not the name */
        x->cap = 1;
        int upper = 0, letters = 0;
        for (size_t i = a; i < b; i++) {
            unsigned char ch = (unsigned char)t[i];
            if (ch >= 'A' && ch <= 'Z')
                upper++;
            if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z'))
                letters++;
        }
        x->allcaps = letters >= 2 && upper == letters && !x->initial;
        pos = b > a ? b : a + 1;
    }
    *out = v;
    *n = k;
    return MUSE_OK;
}

/* A run of capitalised tokens joined by single spaces (or ". " after an
 * initial). */
static int joined(const char *t, const tok_t *x, const tok_t *y)
{
    size_t gap = y->s - x->e;
    if (gap == 1 && t[x->e] == ' ')
        return 1;
    if (x->initial && gap == 1 && t[x->e] == ' ')
        return 1;
    if (gap == 2 && t[x->e] == '.' && t[x->e + 1] == ' ' && x->e - x->s == 1)
        return 1;
    return 0;
}

/* The word before position p is a lower-case word that does not introduce a
 * place or a thing ("in Laax", "from Xignite", "of Persint"). */
static int after_plain_word(const char *t, size_t p)
{
    static const char *const stop[] = {"in", "of", "from", "at", "to", "for", "near", "via",
                                       "de", "del", "da", "di", "la", "le", "du", "into",
                                       "city", "support", "visit", "visited", "on", "the",
                                       "a", "an", "is", "are", "with", "like", "about",
                                       "and", "or", "where", "across", "around", "inside",
                                       "outside", "toward", "towards", "through", "than", "nad",
                                       "pod", "u", "v", "na", "am", "bei", "sur", "en", "y", "based"};
    if (p < 3 || t[p - 1] != ' ')
        return 0;
    size_t e = p - 1, b = e;
    while (b > 0 && ((t[b - 1] >= 'a' && t[b - 1] <= 'z') || t[b - 1] == '-'))
        b--;
    if (b == e || (b > 0 && t[b - 1] != ' ' && t[b - 1] != '"' && t[b - 1] != '('))
        return 0;
    for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
        if (strlen(stop[i]) == e - b && !memcmp(stop[i], t + b, e - b))
            return 0;
    return 1;
}

/* "Klirou, Cyprus", "Tobel 1021": a place or an address follows. */
static int followed_by_place(const char *t, size_t len, size_t e)
{
    if (e + 1 < len && t[e] == ' ' && t[e + 1] >= '0' && t[e + 1] <= '9')
        return 1;
    if (e + 2 < len && t[e] == ',' && t[e + 1] == ' ' && t[e + 2] >= 'A' && t[e + 2] <= 'Z')
        return 0;
    return 0;
}

/* The lower-case word that ends at byte p (just before a space), as [b, p). */
static int word_before(const char *t, size_t p, size_t *b)
{
    if (p < 2 || t[p - 1] != ' ')
        return 0;
    size_t e = p - 1, i = e;
    while (i > 0 && ((t[i - 1] >= 'a' && t[i - 1] <= 'z') || t[i - 1] == '-'))
        i--;
    if (i == e || (i > 0 && t[i - 1] != ' ' && t[i - 1] != '"' && t[i - 1] != '(' &&
                   t[i - 1] != '\n'))
        return 0;
    *b = i;
    return 1;
}

static int word_is(const char *t, size_t b, size_t e, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(set[i]) == e - b && !memcmp(set[i], t + b, e - b))
            return 1;
    return 0;
}

/* A preposition that introduces a place or a thing stands just before p:
 * "in Paris", "from Lisbon", "moved to Austin". A name after one needs a
 * cue of its own ("talked to Austin" has "talked to"). */
static int after_place_word(const char *t, size_t p)
{
    static const char *const place[] = {"in",     "from",    "at",      "near",   "to",
                                        "of",     "via",     "into",    "across", "around",
                                        "inside", "outside", "towards", "toward", "through",
                                        "visit",  "visited", "visiting"};
    size_t b;
    return word_before(t, p, &b) && word_is(t, b, p - 1, place, sizeof place / sizeof *place);
}

/* Surname particles that join a name's parts: "Jan van der Berg", "Maria da
 * Silva", "Ludwig von Mises", "Willem ten Brink". Grammar, not a word list. */
static const char *const particles[] = {"van", "von", "der", "den", "de",  "del", "della", "di",
                                        "da",  "dos", "das", "do",  "du",  "ten", "ter",   "te",
                                        "la",  "le",  "bin", "ibn", "al",  "el",  "zu",    "af",
                                        "av",  "y",   "e",   "dei", "degli", "op", "het"};

/* Dutch, German and Scandinavian particles, which place names seldom use
 * ("Den Haag" has a capital): enough on their own to join two parts. */
static const char *const particles_germanic[] = {"van", "von", "der", "den", "ten", "ter",
                                                 "zu",  "af",  "av",  "op",  "het", "te"};

/* The gap between two capitalised tokens is one to three particles: "
 * van der ". Returns 2 when all of them are Germanic, 1 otherwise. */
static int particle_gap(const char *t, const tok_t *x, const tok_t *y)
{
    size_t i = x->e, n = 0;
    int germanic = 1;
    if (y->s <= i || t[i] != ' ')
        return 0;
    while (i < y->s) {
        size_t b = ++i;
        while (i < y->s && t[i] >= 'a' && t[i] <= 'z')
            i++;
        if (i >= y->s || t[i] != ' ' ||
            !word_is(t, b, i, particles, sizeof particles / sizeof *particles))
            return 0;
        germanic &= word_is(t, b, i, particles_germanic,
                            sizeof particles_germanic / sizeof *particles_germanic);
        if (++n > 3)
            return 0;
        if (i + 1 == y->s)
            return germanic ? 2 : 1;
    }
    return 0;
}

/* "McAllister", "MacLeod", "O'Neill", "D'Angelo": the shape of a surname. */
static int surname_shape(const char *t, const tok_t *k)
{
    const char *w = t + k->s;
    size_t n = k->e - k->s;
    if (n >= 4 && w[0] == 'M' && w[1] == 'c' && w[2] >= 'A' && w[2] <= 'Z')
        return 1;
    if (n >= 5 && w[0] == 'M' && w[1] == 'a' && w[2] == 'c' && w[3] >= 'A' && w[3] <= 'Z')
        return 1;
    if (n >= 4 && (w[0] == 'O' || w[0] == 'D') && w[1] == '\'' && w[2] >= 'A' && w[2] <= 'Z')
        return 1;
    return 0;
}

enum { CUE_BEFORE = 1, CUE_AFTER = 2 };

/* Which cues of phi.json (person.cue_before, person.cue_after) stand next to
 * the span [a, b): a phrase ending at a ("my son ", "shouted at ") or one
 * starting at b (" said", "'s daughter"). The window before is 60 bytes. */
static int name_cues(const safety_t *s, const char *t, size_t len, size_t a, size_t b,
                     pcre2_match_data *md)
{
    if (!s->person_after)
        return 0;
    int cues = 0;
    size_t from = a > 60 ? a - 60 : 0;
    while (from > 0 && ((unsigned char)t[from] & 0xC0) == 0x80)
        from--;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    int rc = pcre2_match(s->person_after, (PCRE2_SPTR)t, a, from, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc >= 2 && ov[2] != PCRE2_UNSET && ov[1] == a)
        cues |= CUE_BEFORE;
    rc = pcre2_match(s->person_after, (PCRE2_SPTR)t, len, b, PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED,
                     md, NULL);
    if (rc >= 3 && ov[4] != PCRE2_UNSET)
        cues |= CUE_AFTER;
    return cues;
}

/* Evidence that one token is part of a person's name, from the word alone.
 * Weights are in tenths: a given name that is no English word (20), a
 * surname or a name part that is none (15), a surname's shape or ending
 * (10), a word in no list at all (10), a name that is also an English word
 * ("Frank", "White": 5), an English word and nothing else (-10). */
static int token_evidence(const safety_t *s, const char *t, const tok_t *k,
                          pcre2_match_data *md)
{
    if (k->initial || k->allcaps)
        return 0;
    int cm = tok_common(s, t, k);
    int f = tok_in(&s->first_names, t, k), l = tok_in(&s->last_names, t, k);
    if (cm)
        return f || l ? 5 : -10;
    if (f)
        return 20;
    if (l)
        return 15;
    if (surname_shape(t, k) ||
        (s->surname_suffix &&
         pcre2_match(s->surname_suffix, (PCRE2_SPTR)t, k->e, k->s,
                     PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL) >= 0))
        return 10;
    return k->e - k->s >= 3 ? 10 : 0;
}

/* A run the fixed rules did not call a person is one when the evidence of
 * its best word and the cues around it reach 2.5: a cue before the name
 * (20), after it (15), a preposition of place before it without a cue
 * (-20), a number right after it (-15: "Tobel 1021" is an address). So an
 * unknown word needs a cue ("shouted at Zorya"), an English word that is
 * also a name needs a cue before it ("named him Frank"), and an English
 * word alone never counts. */
static int run_score(const safety_t *s, const char *t, size_t len, const tok_t *v, size_t lo,
                     size_t hi, pcre2_match_data *md)
{
    int best = -100;
    for (size_t k = lo; k < hi; k++) {
        int ev = token_evidence(s, t, &v[k], md);
        if (!v[k].initial && !v[k].allcaps && ev > best)
            best = ev;
    }
    /* English words alone never count: no need to look for cues. */
    if (best <= -10)
        return 0;
    size_t a = v[lo].s, b = stem_end(t, v[hi - 1].s, v[hi - 1].e);
    int cues = name_cues(s, t, len, a, b, md);
    int score = best;
    if (cues & CUE_BEFORE)
        score += 20;
    else if (after_place_word(t, a))
        score -= 20;
    if (cues & CUE_AFTER)
        score += 15;
    if (b + 1 < len && t[b] == ' ' && t[b + 1] >= '0' && t[b + 1] <= '9')
        score -= 15;
    return score;
}

static int name_runs(const safety_t *s, const char *t, size_t len, pcre2_match_data *md,
                     cands_t *c)
{
    tok_t *v = NULL;
    size_t n = 0, a, b;
    if (tokenize_names(s, t, len, md, &v, &n))
        return MUSE_ENOMEM;
    int rc = MUSE_OK;
    /* Runs: token range, whether it is a person, whether it could be one. */
    size_t *rlo = malloc((n ? n : 1) * sizeof *rlo), *rhi = malloc((n ? n : 1) * sizeof *rhi);
    unsigned char *rper = malloc(n ? n : 1), *rok = malloc(n ? n : 1);
    signed char *rev = malloc(n ? n : 1);
    size_t nr = 0;
    if (!rlo || !rhi || !rper || !rok || !rev) {
        free(rlo);
        free(rhi);
        free(rper);
        free(rok);
        free(rev);
        free(v);
        return MUSE_ENOMEM;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        /* "Maika van de Noort": particles join the parts of one name when
         * they are Germanic, a given name stands before them or a surname
         * after, but not after a preposition of place ("in Rio de
         * Janeiro") nor before an English word. */
        while (j < n && j - i < 5 &&
               (joined(t, &v[j - 1], &v[j]) ||
                (particle_gap(t, &v[j - 1], &v[j]) && !after_place_word(t, v[i].s) &&
                 (particle_gap(t, &v[j - 1], &v[j]) == 2 || tok_in(&s->first_names, t, &v[j - 1]) ||
                  tok_in(&s->last_names, t, &v[j])) &&
                 (!tok_common(s, t, &v[j]) || tok_in(&s->first_names, t, &v[j - 1])) &&
                 !v[j - 1].allcaps && !v[j].allcaps)))
            j++;
        /* [i, j) is one run. Drop leading words that are ordinary English
         * or acronyms, unless they are also given names mid-sentence. */
        size_t lo = i, hi = j;
        int titled = 0;
        if (s->person_title) {
            size_t from = v[lo].s > 16 ? v[lo].s - 16 : 0;
            while (from > 0 && ((unsigned char)t[from] & 0xC0) == 0x80)
                from--;
            if (sf_find(s->person_title, t, v[lo].s, from, md, &a, &b) && b + 2 >= v[lo].s)
                titled = 1;
        }
        while (lo < hi) {
            const tok_t *x = &v[lo];
            if (x->allcaps) {
                lo++;
                continue;
            }
            /* A title inside the run ("Dr Smith"): the rest is a name. */
            if (s->person_title &&
                pcre2_match(s->person_title, (PCRE2_SPTR)t, len, x->s,
                            PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, md, NULL) >= 0) {
                PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                if (ov[1] >= x->e) {
                    titled = 1;
                    lo++;
                    continue;
                }
            }
            /* "Mrs. Baker", "Dr Wells": after a title an ordinary word is a surname. */
            if (titled)
                break;
            int common = tok_in(&s->common_words, t, x);
            int first = tok_in(&s->first_names, t, x);
            if (common && !(first && !at_sentence_start(t, x->s) && hi - lo >= 2)) {
                if (hi - lo >= 2 && first && tok_in(&s->last_names, t, &v[lo + 1]))
                    break;
                /* A lone English word that is also a name ("Frank") stays
                 * for the score: cues around it may make it one. */
                if (hi - lo == 1 && (first || tok_in(&s->last_names, t, x)))
                    break;
                lo++;
                continue;
            }
            break;
        }
        /* Trailing acronyms other than degrees ("MD") are not names. */
        while (hi > lo && v[hi - 1].allcaps && v[hi - 1].e - v[hi - 1].s > 3)
            hi--;
        if (lo < hi) {
            int any_first = 0, any_last = 0, all_common = 1, n_common = 0, org = 0;
            for (size_t k = lo; k < hi; k++) {
                if (v[k].initial || v[k].allcaps)
                    continue;
                int f = tok_in(&s->first_names, t, &v[k]);
                /* A surname is known, or has a surname's ending ("-ova",
                 * "-sson", "-wicz"): names come from every language. */
                int l = tok_in(&s->last_names, t, &v[k]) ||
                        (s->surname_suffix &&
                         pcre2_match(s->surname_suffix, (PCRE2_SPTR)t, v[k].e, v[k].s,
                                     PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
                                     NULL) >= 0);
                int cm = tok_common(s, t, &v[k]);
                any_first |= f && (!cm || k > lo || !at_sentence_start(t, v[k].s));
                any_last |= l && !cm;
                n_common += cm && !f && !l;
                if (!cm)
                    all_common = 0;
                /* "Acme Holdings", "Marina Street": organisations and places. */
                if (s->person_org &&
                    pcre2_match(s->person_org, (PCRE2_SPTR)t, v[k].e, v[k].s,
                                PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
                                NULL) >= 0)
                    org = 1;
            }
            size_t names = 0;
            for (size_t k = lo; k < hi; k++)
                names += !v[k].initial && !v[k].allcaps;
            int eponym = 0;
            if (s->eponym)
                eponym = pcre2_match(s->eponym, (PCRE2_SPTR)t, len, v[hi - 1].e,
                                     PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, md, NULL) >= 0;
            /* "the Davis Group": an article before the run makes it a thing. */
            int the = v[lo].s >= 4 && (t[v[lo].s - 4] | 0x20) == 't' &&
                      (t[v[lo].s - 3] | 0x20) == 'h' && (t[v[lo].s - 2] | 0x20) == 'e' &&
                      t[v[lo].s - 1] == ' ' && (v[lo].s == 4 || !((t[v[lo].s - 5] | 0x20) >= 'a' &&
                                                                 (t[v[lo].s - 5] | 0x20) <= 'z'));
            /* "the Jensen novel", "the Steffen Mauer version": a name used
             * as a modifier of a lower-case noun is still a name; "the
             * Davis Group" is a thing. */
            size_t after = v[hi - 1].e;
            int noun_follows = after + 2 < len && t[after] == ' ' && t[after + 1] >= 'a' &&
                               t[after + 1] <= 'z';
            if (the && noun_follows && !org &&
                (any_first || any_last || (names >= 2 && n_common == 0)))
                the = 0;
            /* A surname alone mid-sentence, unless a preposition of place
             * stands before it ("in Nord"): name_parts.txt holds places. */
            int single_last = names == 1 && any_last && !any_first &&
                              !at_sentence_start(t, v[lo].s) && !after_place_word(t, v[lo].s);
            /* Two or more capitalised words, none of them ordinary English:
             * "Krisztián Szöllösy", "Tomomi Nishiyama". */
            int unknown_run = names >= 2 && n_common == 0 && !org;
            /* One capitalised word mid-sentence that is no English word at all. */
            int unknown_one = names == 1 && hi - lo == 1 && !all_common && !org &&
                              !at_sentence_start(t, v[lo].s) && v[lo].e - v[lo].s >= 3 &&
                              after_plain_word(t, v[lo].s) && !followed_by_place(t, len, v[lo].e) &&
                              !(t[v[lo].s] == 'I' && (t[v[lo].s + 1] == '\'' ||
                                                      (unsigned char)t[v[lo].s + 1] == 0xE2));
            unknown_run |= unknown_one;
            int person = !eponym && names > 0 && !(the && !titled) &&
                         (titled || (!org && any_first && (names >= 2 || !all_common)) ||
                          (!org && names >= 2 && any_last && !all_common) ||
                          (!org && single_last) || unknown_run);
            int best = -10, lexical = 0;
            for (size_t k = lo; k < hi; k++) {
                int ev = token_evidence(s, t, &v[k], md);
                best = ev > best ? ev : best;
                lexical |= tok_in(&s->first_names, t, &v[k]) || tok_in(&s->last_names, t, &v[k]);
            }
            if (!person && !eponym && !org && names > 0 && !(the && !titled))
                person = run_score(s, t, len, v, lo, hi, md) >= 25;
            /* A context phrase ("my name is", "founders:") vouched for it. */
            for (size_t q = 0; q < c->n && !person; q++)
                person = c->v[q].priority == 3 && !strcmp(c->v[q].e.type, "PERSON") &&
                         c->v[q].e.start <= v[lo].s && v[lo].s < c->v[q].e.end;
            rlo[nr] = lo;
            rhi[nr] = hi;
            rper[nr] = (unsigned char)person;
            rev[nr] = (signed char)best;
            /* Could be a name in a list of names: not English, not a thing. */
            int of = v[lo].s >= 4 && !memcmp(t + v[lo].s - 4, " of ", 4);
            int im = t[v[lo].s] == 'I' && v[lo].e > v[lo].s + 1 &&
                     (t[v[lo].s + 1] == '\'' || (unsigned char)t[v[lo].s + 1] == 0xE2);
            rok[nr] = !eponym && !org && names > 0 && (!all_common || lexical) &&
                      !(the && !titled) && !of && !im;
            nr++;
        }
        i = j;
    }
    /* "Romi, Erik, Amy and Donald": a name's neighbours in a list are names. */
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t r = 0; r + 1 < nr; r++) {
            /* Two words that are each a listed name and no English word,
             * side by side in a list, vouch for each other ("Lamovec and
             * Morales were"). */
            int pair = !rper[r] && !rper[r + 1] && rok[r] && rok[r + 1] &&
                       rev[r] >= 15 && rev[r + 1] >= 10;
            pair |= !rper[r] && !rper[r + 1] && rok[r] && rok[r + 1] && rev[r] >= 10 &&
                    rev[r + 1] >= 15;
            if (!pair && (rper[r] == rper[r + 1] || !(rper[r] ? rok[r + 1] : rok[r])))
                continue;
            size_t gs = v[rhi[r] - 1].e, ge = v[rlo[r + 1]].s;
            if (ge <= gs || ge - gs > 6)
                continue;
            const char *g = t + gs;
            size_t gl = ge - gs;
            int list = (gl == 2 && !memcmp(g, ", ", 2)) || (gl == 5 && !memcmp(g, " and ", 5)) ||
                       (gl == 6 && !memcmp(g, ", and ", 6)) || (gl == 3 && !memcmp(g, " & ", 3)) ||
                       (gl == 4 && !memcmp(g, " or ", 4));
            if (list) {
                rper[r] = rper[r + 1] = 1;
                changed = 1;
            }
        }
    }
    for (size_t r = 0; r < nr && !rc; r++)
        if (rper[r])
            rc = cand_push(c, "PERSON", v[rlo[r]].s, v[rhi[r] - 1].e, 2);
    free(rlo);
    free(rhi);
    free(rper);
    free(rok);
    free(rev);
    free(v);
    return rc;
}

/* "my name is lena andersson", "patient: j. smith": context phrases vouch for
 * the words after them even in lower case. The phrase's pattern captures up
 * to three words as group 1; trailing ordinary words are trimmed off. */
static int context_names(const safety_t *s, const char *t, size_t len, pcre2_match_data *md,
                         cands_t *c)
{
    if (!s->person_context)
        return MUSE_OK;
    size_t pos = 0;
    while (pos < len) {
        int rc = pcre2_match(s->person_context, (PCRE2_SPTR)t, len, pos, PCRE2_NO_UTF_CHECK, md,
                             NULL);
        if (rc < 2)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t gs = ov[2], ge = ov[3], me = ov[1];
        pos = me > ov[0] ? me : ov[0] + 1;
        if (gs == PCRE2_UNSET)
            continue;
        /* Split the group into words and keep the leading name-like ones. */
        size_t w[3][2], nw = 0, i = gs;
        while (i < ge && nw < 3) {
            while (i < ge && t[i] == ' ')
                i++;
            size_t ws = i;
            while (i < ge && t[i] != ' ')
                i++;
            if (i > ws) {
                w[nw][0] = ws;
                w[nw][1] = i;
                nw++;
            }
        }
        size_t keep = 0;
        for (size_t k = 0; k < nw; k++) {
            tok_t x = {w[k][0], w[k][1], 0, 0, 0};
            /* "The Mayo Clinic says": an organisation, not a person. */
            if (s->person_org &&
                pcre2_match(s->person_org, (PCRE2_SPTR)t, x.e, x.s,
                            PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED | PCRE2_ENDANCHORED, md,
                            NULL) >= 0) {
                keep = 0;
                break;
            }
            int lower = is_lower_ascii_word(t, x.s, x.e);
            /* An English word counts as a name here when it is a given name
             * ("Frank said") or a surname of four letters or more ("Walker
             * began"): shorter ones are pronouns and verbs first ("He said",
             * "Do you"). */
            int common = tok_in(&s->common_words, t, &x) && !tok_in(&s->first_names, t, &x) &&
                         !(x.e - x.s >= 4 && tok_in(&s->last_names, t, &x));
            if (common || (lower && k > 0 && !tok_in(&s->last_names, t, &x) &&
                           !tok_in(&s->first_names, t, &x)))
                break;
            if (k > 0 && lower && !(t[w[0][0]] >= 'a' && t[w[0][0]] <= 'z'))
                break; /* "Anna and": a lower-case word after a capitalised name */
            keep = k + 1;
        }
        if (keep && cand_push(c, "PERSON", w[0][0], w[keep - 1][1], 3))
            return MUSE_ENOMEM;
    }
    return MUSE_OK;
}

/* A lower-case word: ASCII letters and the bytes of UTF-8 letters
 * ("žilková"), apostrophes and hyphens inside. Returns its end, or s when
 * none starts at s. */
static size_t lower_word_end(const char *t, size_t len, size_t s)
{
    if (s >= len || !((t[s] >= 'a' && t[s] <= 'z') ||
                      ((unsigned char)t[s] >= 0xC3 && (unsigned char)t[s] < 0xE0)))
        return s;
    size_t i = s;
    while (i < len && ((t[i] >= 'a' && t[i] <= 'z') || ((unsigned char)t[i] >= 0xC3 &&
                                                         (unsigned char)t[i] < 0xE0) ||
                       (((unsigned char)t[i] & 0xC0) == 0x80 && i > s) ||
                       ((t[i] == '-' || t[i] == '\'') && i + 1 < len && t[i + 1] >= 'a' &&
                        t[i + 1] <= 'z')))
        i++;
    return i;
}

/* "follow up with patricia desrosiers", "eva kleist lives at": in lower-case
 * text a known name that is not an English word, followed by an optional
 * initial and a word that is not English, is a full name. After a title
 * ("mr. elliott") one listed name is enough. */
static int lower_names(const safety_t *s, const char *t, size_t len, pcre2_match_data *md,
                       cands_t *c)
{
    size_t w[4][2], nw = 0, i = 0;
    while (i < len) {
        while (i < len && lower_word_end(t, len, i) == i)
            i++;
        size_t ws = i;
        i = lower_word_end(t, len, ws);
        if (i == ws)
            break;
        /* Only words preceded by a space or start of text count. */
        if (ws > 0 && t[ws - 1] != ' ' && t[ws - 1] != '\n' && t[ws - 1] != '"') {
            nw = 0;
            continue;
        }
        size_t we = i;
        if (we < len && t[we] == '.' && we - ws == 1)
            we++, i++;
        if (nw && w[nw - 1][1] + 1 != ws)
            nw = 0;
        if (nw == 4) {
            memmove(w, w + 1, 3 * sizeof w[0]);
            nw = 3;
        }
        w[nw][0] = ws;
        w[nw][1] = we;
        nw++;
        /* One listed name that is no English word, in lower case, with a
         * title before it ("mr. elliott") or a cue of phi.json around it
         * ("roberto's daughter", "calls me borna", "selma is from"). */
        tok_t one = {ws, stem_end(t, ws, we), 0, 0, 0};
        int listed = one.e - one.s >= 3 && tok_in(&s->first_names, t, &one);
        if (one.e - one.s >= 3 && (listed || tok_in(&s->last_names, t, &one)) &&
            !tok_common(s, t, &one)) {
            size_t from = ws > 12 ? ws - 12 : 0, a, b;
            while (from > 0 && ((unsigned char)t[from] & 0xC0) == 0x80)
                from--;
            int titled = s->person_title && ws >= 3 && t[ws - 1] == ' ' &&
                         sf_find(s->person_title, t, ws, from, md, &a, &b) && b + 1 == ws;
            /* Surnames alone are too often words ("thrush said"). */
            if ((titled || (listed && name_cues(s, t, len, one.s, one.e, md))) &&
                cand_push(c, "PERSON", one.s, one.e, 1))
                return MUSE_ENOMEM;
        }
        /* Look for first [initial] last ending at this word. */
        for (size_t span = 2; span <= 3 && span <= nw; span++) {
            tok_t f = {w[nw - span][0], w[nw - span][1], 0, 0, 0};
            tok_t l = {w[nw - 1][0], w[nw - 1][1], 0, 0, 0};
            if (span == 3) {
                size_t ml = w[nw - 2][1] - w[nw - 2][0];
                if (!(ml == 1 || (ml == 2 && t[w[nw - 2][1] - 1] == '.')))
                    continue;
            }
            if (f.e - f.s < 3 || l.e - l.s < 3)
                continue;
            if (!(tok_in(&s->first_names, t, &f) || tok_in(&s->last_names, t, &f)) ||
                tok_common(s, t, &f))
                continue;
            size_t le = l.e;
            if (le - l.s > 2 && t[le - 2] == '\'' && t[le - 1] == 's')
                le -= 2;
            tok_t l2 = {l.s, le, 0, 0, 0};
            if (tok_common(s, t, &l2) && !tok_in(&s->last_names, t, &l2))
                continue;
            if (cand_push(c, "PERSON", f.s, le, 1))
                return MUSE_ENOMEM;
            break;
        }
    }
    return MUSE_OK;
}

/* "they had 6: silvana, adam, christopher and caleb": a list of three or
 * more single lower-case words, most of them given names that are no
 * English words, is a list of people, all of it. */
static int lower_lists(const safety_t *s, const char *t, size_t len, cands_t *c)
{
    size_t item[16][2];
    size_t n = 0, i = 0;
    int names = 0;
    while (i < len) {
        int boundary = i == 0 || t[i - 1] == ' ' || t[i - 1] == '\n' || t[i - 1] == '"' ||
                       t[i - 1] == '(';
        size_t e = boundary ? lower_word_end(t, len, i) : i;
        if (e == i) {
            i++;
            continue;
        }
        if (n < 16) {
            item[n][0] = i;
            item[n][1] = e;
            n++;
        }
        /* The separator decides whether the list goes on. */
        size_t g = e;
        static const char *const seps[] = {", and ", ", or ", ", ", " and ", " or ", " & "};
        size_t sl = 0;
        for (size_t q = 0; q < sizeof seps / sizeof *seps && !sl; q++)
            if (len - g > strlen(seps[q]) && !memcmp(t + g, seps[q], strlen(seps[q])))
                sl = strlen(seps[q]);
        int last = !sl || n >= 16;
        if (sl && lower_word_end(t, len, g + sl) == g + sl)
            last = 1;
        if (last) {
            /* Words are looked up only once they make a list. */
            for (size_t q = 0; q < n && n >= 3; q++) {
                tok_t k = {item[q][0], item[q][1], 0, 0, 0};
                names += tok_in(&s->first_names, t, &k) && !tok_common(s, t, &k);
            }
            if (n >= 3 && names >= 2 && 2 * names >= (int)n)
                for (size_t q = 0; q < n; q++)
                    if (cand_push(c, "PERSON", item[q][0], item[q][1], 1))
                        return MUSE_ENOMEM;
            n = 0;
            names = 0;
            i = e;
            continue;
        }
        i = g + sl;
    }
    return MUSE_OK;
}

/* ----------------------------------------------------------- resolution */

static int cand_cmp(const void *pa, const void *pb)
{
    const cand_t *a = pa, *b = pb;
    if (a->priority != b->priority)
        return b->priority - a->priority;
    size_t la = a->e.end - a->e.start, lb = b->e.end - b->e.start;
    if (la != lb)
        return la > lb ? -1 : 1;
    return a->e.start < b->e.start ? -1 : a->e.start > b->e.start;
}

static int ent_cmp(const void *pa, const void *pb)
{
    const safety_entity_t *a = pa, *b = pb;
    return a->start < b->start ? -1 : a->start > b->start;
}

/* "Sandra lives on Hansinegata 120": an address pattern that starts on a
 * name the name finder found and runs through lower-case words to the
 * street starts at the street instead. The name must be one of the name
 * finder's (priority 2 or more). */
static void address_after_names(const safety_t *s, const char *t, size_t len, cands_t *c,
                                pcre2_match_data *md)
{
    for (size_t i = 0; i < c->n; i++) {
        safety_entity_t *a = &c->v[i].e;
        if (strcmp(a->type, "STREET_ADDRESS") != 0)
            continue;
        /* "Dr. Wells" is a doctor, not Wells Drive: an address without a
         * number that starts with a title is a name. */
        int digit = 0;
        for (size_t k = a->start; k < a->end && !digit; k++)
            digit = t[k] >= '0' && t[k] <= '9';
        if (!digit && s->person_title &&
            pcre2_match(s->person_title, (PCRE2_SPTR)t, len, a->start,
                        PCRE2_NO_UTF_CHECK | PCRE2_ANCHORED, md, NULL) >= 0) {
            a->end = a->start;
            continue;
        }
        for (size_t j = 0; j < c->n; j++) {
            const safety_entity_t *p = &c->v[j].e;
            if (strcmp(p->type, "PERSON") != 0 || c->v[j].priority < 2 || p->start != a->start ||
                p->end >= a->end)
                continue;
            size_t k = p->end;
            int words = 0;
            for (;;) {
                while (k < a->end && t[k] == ' ')
                    k++;
                if (k >= a->end || !(t[k] >= 'a' && t[k] <= 'z'))
                    break;
                while (k < a->end && t[k] != ' ')
                    k++;
                words++;
            }
            if (words && k < a->end)
                a->start = k;
            break;
        }
    }
}

int sf_phi_find(const safety_t *s, const char *t, size_t len, sf_entities_t *out)
{
    memset(out, 0, sizeof *out);
    cands_t c = {0};
    unsigned char *taken = NULL;
    int rc = MUSE_ENOMEM;
    pcre2_match_data *md = pcre2_match_data_create(16, NULL);
    if (!md)
        goto done;
    /* Context phrases first: the name finder reads their candidates. */
    if (run_recognizers(s, t, len, md, &c) || context_names(s, t, len, md, &c) ||
        name_runs(s, t, len, md, &c) || lower_names(s, t, len, md, &c) ||
        lower_lists(s, t, len, &c))
        goto done;
    if (c.n)
        qsort(c.v, c.n, sizeof *c.v, cand_cmp);
    out->v = malloc((c.n ? c.n : 1) * sizeof *out->v);
    if (!out->v)
        goto done;
    /* Greedy by priority then length: keep a candidate unless it overlaps
     * one already kept. A byte map keeps this linear in the text. */
    taken = calloc(len + 1, 1);
    if (!taken)
        goto done;
    address_after_names(s, t, len, &c, md);
    for (size_t i = 0; i < c.n; i++) {
        safety_entity_t *e = &c.v[i].e;
        if (e->end > len || e->end <= e->start)
            continue;
        int clash = 0;
        for (size_t k = e->start; k < e->end && !clash; k++)
            clash = taken[k];
        /* "Mrs. Karen Olsen Apt. 675": a name whose last word an address
         * took keeps the words before it. Names that overlap names do not
         * split each other. */
        int person = !strcmp(e->type, "PERSON");
        if (clash && person && !taken[e->start]) {
            size_t k = e->start;
            while (k < e->end && !taken[k])
                k++;
            int by_name = 0;
            for (size_t q = k; q < e->end && !by_name; q++)
                by_name = taken[q] == 1;
            if (by_name)
                continue;
            while (k > e->start && t[k - 1] != ' ')
                k--;
            while (k > e->start && (t[k - 1] == ' ' || t[k - 1] == ','))
                k--;
            clash = k < e->start + 2;
            e->end = k;
        }
        if (clash)
            continue;
        memset(taken + e->start, person ? 1 : 2, e->end - e->start);
        out->v[out->n++] = *e;
    }
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, ent_cmp);
    rc = MUSE_OK;
done:
    if (rc) {
        free(out->v);
        memset(out, 0, sizeof *out);
    }
    free(taken);
    free(c.v);
    pcre2_match_data_free(md);
    return rc;
}
