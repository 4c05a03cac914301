/* Small helpers shared by the safety rails: input validation, pattern
 * compilation and word lists. Validation is strict on purpose: every rail
 * assumes valid UTF-8 without control characters, which lets the matchers run
 * PCRE2 with PCRE2_NO_UTF_CHECK. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "muse_hash.h"
#include "safety/safety_internal.h"

/* Returns the length of the UTF-8 sequence at p (1..4), or 0 if invalid:
 * overlong forms, surrogates and code points above U+10FFFF are rejected. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2, min = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, min = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int sf_validate(const char *text, size_t len, muse_error_t *err)
{
    if (!text)
        return muse_err(err, MUSE_EINVAL, "safety: no text given");
    if (len > SAFETY_MAX_INPUT)
        return muse_err(err, MUSE_EINVAL,
                        "safety: text is %zu bytes, more than the limit of %u (1 MiB)", len,
                        SAFETY_MAX_INPUT);
    int blank = 1;
    const unsigned char *p = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned c = p[i];
        if (c == 0)
            return muse_err(err, MUSE_EINVAL, "safety: NUL byte at offset %zu", i);
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return muse_err(err, MUSE_EINVAL,
                            "safety: control character 0x%02X at byte %zu (only tab and "
                            "line breaks are allowed)",
                            c, i);
        if (c == 0x7F)
            return muse_err(err, MUSE_EINVAL, "safety: control character 0x7F at byte %zu", i);
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return muse_err(err, MUSE_EINVAL,
                            "safety: invalid UTF-8 at byte %zu (0x%02X); convert the text to "
                            "UTF-8 first",
                            i, c);
        if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r'))
            blank = 0;
        i += n;
    }
    if (blank)
        return muse_err(err, MUSE_EINVAL, "safety: text is empty");
    return MUSE_OK;
}

static pcre2_code *compile(const char *pattern, const char *where, int jit, muse_error_t *err)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_CASELESS | PCRE2_UTF, &ec, &eo, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(ec, msg, sizeof msg);
        muse_err(err, MUSE_ECORRUPT, "safety policy: %s: pattern error at offset %zu: %s",
                 where, (size_t)eo, (const char *)msg);
        return NULL;
    }
    /* JIT is an optimisation only; the interpreter gives the same answers. */
    if (jit)
        (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    return code;
}

pcre2_code *sf_compile(const char *pattern, const char *where, muse_error_t *err)
{
    return compile(pattern, where, 1, err);
}

static int compile_list(const cJSON *arr, const char *where, int jit, pcre2_code **out,
                        muse_error_t *err)
{
    *out = NULL;
    if (!arr)
        return MUSE_OK;
    if (cJSON_IsString(arr)) {
        *out = compile(arr->valuestring, where, jit, err);
        return *out ? MUSE_OK : MUSE_ECORRUPT;
    }
    if (!cJSON_IsArray(arr))
        return muse_err(err, MUSE_ECORRUPT, "safety policy: %s: expected an array of patterns",
                        where);
    size_t total = 1;
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (!cJSON_IsString(it))
            return muse_err(err, MUSE_ECORRUPT,
                            "safety policy: %s: item %d is not a string", where, n);
        total += strlen(it->valuestring) + 6;
        n++;
    }
    if (n == 0)
        return MUSE_OK;
    char *joined = malloc(total);
    if (!joined)
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    char *w = joined;
    int i = 0;
    cJSON_ArrayForEach(it, arr)
    {
        if (i++)
            *w++ = '|';
        size_t l = strlen(it->valuestring);
        memcpy(w, "(?:", 3);
        w += 3;
        memcpy(w, it->valuestring, l);
        w += l;
        *w++ = ')';
    }
    *w = '\0';
    *out = compile(joined, where, jit, err);
    if (!*out) {
        /* Name the offending item, not an offset in the joined text. */
        int k = 0;
        cJSON_ArrayForEach(it, arr)
        {
            char where2[160];
            snprintf(where2, sizeof where2, "%s[%d]", where, k++);
            pcre2_code *c = compile(it->valuestring, where2, 0, err);
            if (!c)
                break;
            pcre2_code_free(c);
        }
        free(joined);
        return MUSE_ECORRUPT;
    }
    free(joined);
    return MUSE_OK;
}

int sf_compile_list(const cJSON *arr, const char *where, pcre2_code **out, muse_error_t *err)
{
    return compile_list(arr, where, 1, out, err);
}

int sf_compile_list_lazy(const cJSON *arr, const char *where, pcre2_code **out,
                         muse_error_t *err)
{
    return compile_list(arr, where, 0, out, err);
}

int sf_find(const pcre2_code *code, const char *text, size_t to, size_t from,
            pcre2_match_data *md, size_t *ms, size_t *me)
{
    if (!code || from > to)
        return 0;
    int rc = pcre2_match(code, (PCRE2_SPTR)text, to, from, PCRE2_NO_UTF_CHECK, md, NULL);
    if (rc < 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    *ms = ov[0];
    *me = ov[1];
    return 1;
}

cJSON *sf_parse_data(const unsigned char *data, size_t len, const char *name,
                     muse_error_t *err)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)data, len, &end, 0);
    if (!j) {
        size_t off = end ? (size_t)(end - (const char *)data) : 0;
        size_t line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += data[i] == '\n';
        muse_err(err, MUSE_ECORRUPT, "safety policy: %s:%zu: invalid JSON", name, line);
    }
    return j;
}

/* The slot holding word w (len bytes), or the empty slot where it goes. */
static size_t word_slot(const sf_wordset_t *ws, const char *w, size_t len)
{
    size_t k = muse_fnv1a32(MUSE_FNV32_SEED, w, len) & ws->mask;
    for (; ws->slot[k]; k = (k + 1) & ws->mask) {
        const char *o = ws->words[ws->slot[k] - 1];
        if (strncmp(o, w, len) == 0 && o[len] == '\0')
            break;
    }
    return k;
}

int sf_wordset_load(sf_wordset_t *ws, const char *data, size_t len, muse_error_t *err)
{
    memset(ws, 0, sizeof *ws);
    ws->storage = malloc(len + 1);
    if (!ws->storage)
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    memcpy(ws->storage, data, len);
    ws->storage[len] = '\0';
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += data[i] == '\n';
    size_t slots = 2;
    while (slots < cap * 2)
        slots *= 2;
    ws->words = malloc(cap * sizeof *ws->words);
    ws->slot = calloc(slots, sizeof *ws->slot);
    if (!ws->words || !ws->slot) {
        sf_wordset_free(ws);
        return muse_err(err, MUSE_ENOMEM, "safety policy: out of memory");
    }
    ws->mask = slots - 1;
    char *line = ws->storage;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        size_t l = strlen(line);
        while (l && isspace((unsigned char)line[l - 1]))
            line[--l] = '\0';
        if (l) {
            for (char *c = line; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            size_t k = word_slot(ws, line, l);
            if (!ws->slot[k]) {
                ws->words[ws->n++] = line;
                ws->slot[k] = (uint32_t)ws->n;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    return MUSE_OK;
}

int sf_wordset_has(const sf_wordset_t *ws, const char *word, size_t len)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf || ws->n == 0)
        return 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)tolower((unsigned char)word[i]);
    buf[len] = '\0';
    return ws->slot[word_slot(ws, buf, len)] != 0;
}

void sf_wordset_free(sf_wordset_t *ws)
{
    if (!ws)
        return;
    free(ws->words);
    free(ws->slot);
    free(ws->storage);
    memset(ws, 0, sizeof *ws);
}
