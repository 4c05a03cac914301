/* See triage.h. */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "core/log.h"
#include "core/triage.h"
#include "muse_err.h"

extern const unsigned char core_data_triage_json[];

typedef struct cue_list {
    char **v;
    size_t n;
} cue_list_t;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cue_list_t level_cues[4];
static cue_list_t negations, functions, terminators, reassurances, long_duration, mild, personal, severe;
static cue_list_t children, qualifiers, weak, common, suspect, timing, descriptors, contexts, body_parts;
static cue_list_t question_words, routine_signs, self_care_signs, urgent_signs, actions, inability;
static cue_list_t not_an_age, for_everyone, returns, times, title_situations, reassure_before, linking,
    not_a_duration, onsets, number_words, spans;
static char *message_routine, *message_self_care, *message_urgent;
static int suspect_overlap = 3;
static cue_list_t either_urgent, subjects, whole_words, recurring, new_subjects, fit_not_seizure;
static cue_list_t reading_units, reading_names; /* triage.json: see their _comment keys */
static cue_list_t *same;
static size_t n_same;
/* "implies" in triage.json: lay phrases and the words of guidance they mean. */
typedef struct implied {
    cue_list_t said;
    char *means;
} implied_t;
static implied_t *implies;
static size_t n_implies;
static double min_score = 1.5, emergency_min_score = 1.0, weak_score = 2.0;
static int load_rc = MUSE_OK;

/* Bytes of an apostrophe at s: 1 for ', 3 for the typographic one (U+2019),
 * 0 otherwise. People write "can't", "cant" and "can\u2019t" alike, so
 * cues and words are compared without them. */
static size_t apostrophe_at(const char *s)
{
    if (s[0] == '\'')
        return 1;
    if ((unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x80 && (unsigned char)s[2] == 0x99)
        return 3;
    return 0;
}

static void drop_apostrophes(char *s)
{
    char *d = s;
    for (size_t a; *s;)
        if ((a = apostrophe_at(s)) > 0)
            s += a;
        else
            *d++ = *s++;
    *d = '\0';
}

/* Loads a list of strings; 0 when the data holds no such array. */
static int load_list(const cJSON *arr, cue_list_t *out)
{
    if (!cJSON_IsArray(arr))
        return 0;
    out->v = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *out->v);
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
        if (out->v && cJSON_IsString(c) && (out->v[out->n] = strdup(c->valuestring)) != NULL) {
            drop_apostrophes(out->v[out->n]);
            /* An empty cue would match everywhere. */
            if (out->v[out->n][0])
                out->n++;
            else
                free(out->v[out->n]);
        }
    return out->v != NULL;
}

static char *load_message(const cJSON *messages, const char *level)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(messages, level);
    return cJSON_IsString(m) && m->valuestring[0] ? strdup(m->valuestring) : NULL;
}

static void load(void)
{
    static const struct {
        const char *key;
        cue_list_t *list;
    } lists[] = {
        {"negations", &negations},         {"functions", &functions},
        {"terminators", &terminators},     {"reassurances", &reassurances},
        {"children", &children},           {"qualifiers", &qualifiers},
        {"weak", &weak},                   {"common", &common},
        {"descriptors", &descriptors},     {"contexts", &contexts},
        {"body_parts", &body_parts},
        {"suspect", &suspect},             {"timing", &timing},
        {"question_words", &question_words}, {"routine_signs", &routine_signs},
        {"self_care_signs", &self_care_signs}, {"urgent_signs", &urgent_signs},
        {"long_duration", &long_duration}, {"mild", &mild},
        {"personal", &personal},           {"severe", &severe},
        {"actions", &actions},             {"inability", &inability},
        {"not_an_age", &not_an_age},       {"for_everyone", &for_everyone},
        {"returns", &returns},             {"times", &times},
        {"title_situations", &title_situations}, {"reassure_before", &reassure_before},
        {"linking", &linking},             {"not_a_duration", &not_a_duration},
        {"onsets", &onsets},               {"number_words", &number_words},
        {"spans", &spans},                 {"either_urgent", &either_urgent},
        {"subjects", &subjects},           {"whole_words", &whole_words},
        {"new_subjects", &new_subjects},   {"fit_not_seizure", &fit_not_seizure},
        {"reading_units", &reading_units}, {"reading_names", &reading_names},
        {"recurring", &recurring},
    };
    static const char *const names[] = {"self_care", "routine", "urgent", "emergency"};
    cJSON *root = cJSON_Parse((const char *)core_data_triage_json);
    const cJSON *levels = cJSON_GetObjectItemCaseSensitive(root, "levels");
    int ok = cJSON_IsObject(levels);
    for (int i = 0; ok && i < 4; i++)
        ok = load_list(cJSON_GetObjectItemCaseSensitive(levels, names[i]), &level_cues[i]);
    for (size_t i = 0; ok && i < sizeof lists / sizeof lists[0]; i++)
        ok = load_list(cJSON_GetObjectItemCaseSensitive(root, lists[i].key), lists[i].list);
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "messages");
    message_routine = load_message(msg, "routine");
    message_self_care = load_message(msg, "self_care");
    message_urgent = load_message(msg, "urgent");
    ok = ok && message_routine && message_self_care && message_urgent;
    const cJSON *fam = cJSON_GetObjectItemCaseSensitive(root, "same");
    same = calloc((size_t)cJSON_GetArraySize(fam) + 1, sizeof *same);
    const cJSON *g;
    cJSON_ArrayForEach(g, fam)
        if (same && cJSON_IsArray(g) && cJSON_GetArraySize(g) > 0)
            load_list(g, &same[n_same++]);
    const cJSON *imp = cJSON_GetObjectItemCaseSensitive(root, "implies");
    implies = calloc((size_t)cJSON_GetArraySize(imp) + 1, sizeof *implies);
    ok = ok && implies;
    cJSON_ArrayForEach(g, imp) {
        const cJSON *said = cJSON_GetObjectItemCaseSensitive(g, "said");
        const cJSON *means = cJSON_GetObjectItemCaseSensitive(g, "means");
        if (!ok || !cJSON_IsString(means) || !load_list(said, &implies[n_implies].said) ||
            !(implies[n_implies].means = strdup(means->valuestring)))
            ok = 0;
        else
            n_implies++;
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "suspect_overlap");
    if (cJSON_IsNumber(so))
        suspect_overlap = so->valueint;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(root, "min_score");
    if (cJSON_IsNumber(ms))
        min_score = ms->valuedouble;
    const cJSON *ems = cJSON_GetObjectItemCaseSensitive(root, "emergency_min_score");
    if (cJSON_IsNumber(ems))
        emergency_min_score = ems->valuedouble;
    const cJSON *ws = cJSON_GetObjectItemCaseSensitive(root, "weak_score");
    if (cJSON_IsNumber(ws))
        weak_score = ws->valuedouble;
    if (!ok || !same)
        load_rc = MUSE_ECORRUPT;
    cJSON_Delete(root);
}

int triage_init(muse_error_t *err)
{
    pthread_once(&once, load);
    return load_rc == MUSE_OK ? MUSE_OK : muse_err(err, load_rc, "core/data/triage.json could not be loaded");
}

const char *triage_level_name(triage_level_t l)
{
    switch (l) {
    case TRIAGE_SELF_CARE: return "self_care";
    case TRIAGE_ROUTINE: return "routine";
    case TRIAGE_URGENT: return "urgent";
    case TRIAGE_EMERGENCY: return "emergency";
    default: return "";
    }
}

/* Whole-phrase match of a cue in lower-case text. */
static int has_cue(const char *low, const char *cue)
{
    size_t n = strlen(cue);
    for (const char *p = strstr(low, cue); p; p = strstr(p + 1, cue)) {
        int start_ok = p == low || !isalnum((unsigned char)p[-1]);
        int end_ok = !isalnum((unsigned char)p[n]) || !isalnum((unsigned char)cue[n - 1]);
        if (start_ok && end_ok)
            return 1;
    }
    return 0;
}

static int any_cue(const char *low, const cue_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (has_cue(low, l->v[i]))
            return 1;
    return 0;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* ---- words with their standing ----
 * Guidance and question are read as words that know whether the text says
 * they are absent ("no swelling of the lips", "I can see fine") and whether
 * punctuation stood before them (a negation reaches to the next comma or
 * full stop, as in NegEx). A red-flag clause the question explicitly denies
 * cannot decide the level, however many other words it shares. */

#define TW_MAX 256
#define TRIAGE_CANDIDATES 16
#define TRIAGE_SEARCHED 8 /* entries the search brings */
#define TRIAGE_READ 6 /* of them, the best fitting read */

typedef struct tword {
    char w[40];
    unsigned char absent; /* said not to be there: 1; 2 something the person cannot do; 3 an everyday function that stopped ("not feeding"); 4 as normal ("normal wet nappies") */
    unsigned char bound;  /* punctuation stood before this word: 1 a comma or the like, 2 a full stop */
    unsigned char num;    /* a number: never matched as a word */
    unsigned char len;    /* letters as written, before folding: long words weigh more */
    char m[40];           /* match key: w without -ed / -ing ("moved", "moves": "move") */
} tword_t;

typedef struct twords {
    tword_t v[TW_MAX];
    size_t n;
} twords_t;

static int in_list(const cue_list_t *l, const char *w)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], w) == 0)
            return 1;
    return 0;
}

/* Words of one family ("swollen", "swelling", "puffy") compare equal: the
 * first word of the family in triage.json "same" stands for all. */
static const char *fold(const char *w)
{
    for (size_t g = 0; g < n_same; g++)
        if (in_list(&same[g], w))
            return same[g].v[0];
    return w;
}

/* ---- match keys ----
 * Guidance says "moves to the lower right", a person "it has moved": words
 * are compared without -ed and -ing, by step 1b of Porter's stemmer (1980),
 * after the plural stemmer and the families of "same". */

static int is_vowel_at(const char *w, size_t i)
{
    switch (w[i]) {
    case 'a': case 'e': case 'i': case 'o': case 'u': return 1;
    case 'y': return i > 0 && !is_vowel_at(w, i - 1);
    default: return 0;
    }
}

/* Porter's measure m of w[0..n): the number of vowel-consonant runs. */
static int porter_measure(const char *w, size_t n)
{
    int m = 0;
    size_t i = 0;
    while (i < n && !is_vowel_at(w, i))
        i++;
    while (i < n) {
        while (i < n && is_vowel_at(w, i))
            i++;
        if (i == n)
            break;
        while (i < n && !is_vowel_at(w, i))
            i++;
        m++;
    }
    return m;
}

/* Consonant-vowel-consonant ending, the last not w, x or y ("hop"). */
static int porter_cvc(const char *w, size_t n)
{
    return n >= 3 && !is_vowel_at(w, n - 3) && is_vowel_at(w, n - 2) && !is_vowel_at(w, n - 1) &&
           !strchr("wxy", w[n - 1]);
}

static void match_key(const char *w, char *out, size_t size)
{
    snprintf(out, size, "%s", w);
    size_t n = strlen(out);
    size_t cut = 0;
    if (n > 4 && strcmp(out + n - 3, "eed") == 0) {
        if (porter_measure(out, n - 3) > 0)
            out[n - 1] = '\0';
        return;
    }
    if (n > 3 && strcmp(out + n - 2, "ed") == 0)
        cut = 2;
    else if (n > 4 && strcmp(out + n - 3, "ing") == 0)
        cut = 3;
    if (!cut)
        return;
    size_t stem = n - cut, v = 0;
    while (v < stem && !is_vowel_at(out, v))
        v++;
    if (v == stem) /* "red", "bring": no vowel before the ending */
        return;
    out[stem] = '\0';
    n = stem;
    if ((n >= 2 && (strcmp(out + n - 2, "at") == 0 || strcmp(out + n - 2, "bl") == 0 ||
                    strcmp(out + n - 2, "iz") == 0)) ||
        (porter_measure(out, n) == 1 && porter_cvc(out, n))) {
        if (n + 1 < size)
            out[n] = 'e', out[n + 1] = '\0';
    } else if (n >= 2 && out[n - 1] == out[n - 2] && !is_vowel_at(out, n - 1) && !strchr("lsz", out[n - 1])) {
        out[n - 1] = '\0';
    }
}

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

static void tw_push(twords_t *t, const char *s, size_t len, int bound)
{
    if (t->n == TW_MAX || len == 0)
        return;
    tword_t *x = &t->v[t->n];
    size_t k = 0;
    for (size_t i = 0, a; i < len && k + 1 < sizeof x->w; i++)
        if ((a = apostrophe_at(s + i)) > 0 && i + a <= len)
            i += a - 1;
        else
            x->w[k++] = (char)tolower((unsigned char)s[i]);
    x->w[k] = '\0';
    if (k == 0)
        return;
    /* "five days" is "5 days". */
    for (size_t i = 0; i < number_words.n; i++)
        if (strcmp(x->w, number_words.v[i]) == 0) {
            snprintf(x->w, sizeof x->w, "%zu", i + 2);
            k = strlen(x->w);
            break;
        }
    x->num = isdigit((unsigned char)x->w[0]) != 0;
    x->len = (unsigned char)(k < 255 ? k : 255);
    if (!x->num && in_list(&whole_words, x->w)) {
        /* "burning" is a feeling, not a burn; "teething" is not teeth. */
        memcpy(x->m, x->w, sizeof x->m);
    } else if (!x->num) {
        kb_stem(x->w);
        const char *f = fold(x->w);
        if (f != x->w)
            snprintf(x->w, sizeof x->w, "%s", f);
        char key[sizeof x->m];
        match_key(x->w, key, sizeof key);
        memcpy(x->m, key, sizeof key);
    } else {
        memcpy(x->m, x->w, sizeof x->m);
    }
    x->absent = 0;
    x->bound = (unsigned char)bound;
    t->n++;
}

/* Splits text into words. A number keeps its decimal point ("38.5") and
 * ends where its digits end ("38°C" is "38" then "°c"). */
static void tw_split(const char *text, twords_t *t)
{
    t->n = 0;
    const char *p = text;
    int bound = 1;
    while (*p) {
        if (!is_word_byte((unsigned char)*p)) {
            if (strchr(".!?\n", *p))
                bound = 2;
            else if ((strchr(",;:()", *p) || (*p == '-' && p[1] == ' ')) && bound < 2)
                bound = 1;
            p++;
            continue;
        }
        const char *s = p;
        if (isdigit((unsigned char)*p)) {
            while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
                p++;
        } else {
            while (*p && !isdigit((unsigned char)*p) &&
                   (is_word_byte((unsigned char)*p) || (*p == '\'' && p > s && is_word_byte((unsigned char)p[1]))))
                p++;
        }
        tw_push(t, s, (size_t)(p - s), bound);
        bound = 0;
    }
}

static int is_content(const tword_t *x)
{
    return !x->num && strlen(x->w) >= 3 && !kb_is_stopword(x->w);
}

/* Marks what the question says is absent: words after a negation up to the
 * next punctuation or "but" (at most six words), unless the negation makes a
 * symptom of an everyday function ("not feeding", "isn't improving"); the
 * words before "fine" or "normally" ("breathing is fine"); and everyday
 * functions said to go on ("can still walk on it", "still eating"), which
 * are as they should be (4): "can still put weight on it" does not meet
 * "cannot put weight on it" as a plain "no weight" would. */
static void mark_absent(twords_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *w = t->v[i].w;
        if (in_list(&negations, w) && !t->v[i].absent) {
            size_t j = i + 1;
            while (j < t->n && !is_content(&t->v[j]) && !t->v[j].bound)
                j++;
            if (j < t->n && !t->v[j].bound && in_list(&functions, t->v[j].w)) {
                t->v[j].absent = 3;
                continue;
            }
            /* "didn't take malaria tablets": what was not done is the
             * taking, not the malaria. */
            if (j < t->n && !t->v[j].bound && in_list(&actions, t->v[j].w)) {
                t->v[j].absent = 1;
                continue;
            }
            /* "can't put weight on it" is a symptom said as a negation. */
            int unable = in_list(&inability, w);
            for (size_t k = i + 1, seen = 0; k < t->n && seen < 6; k++) {
                if (t->v[k].bound || in_list(&terminators, t->v[k].w))
                    break;
                /* "hasn't touched it and my face has puffed up": "and"
                 * before a subject of its own starts a new clause. */
                if (strcmp(t->v[k].w, "and") == 0 && k + 1 < t->n && in_list(&new_subjects, t->v[k + 1].w))
                    break;
                t->v[k].absent = unable ? 2 : 1;
                seen += is_content(&t->v[k]);
            }
        } else if (in_list(&reassure_before, w) && !t->v[i].absent && i + 1 < t->n && !t->v[i + 1].bound &&
                   (is_content(&t->v[i + 1]) || strcmp(t->v[i + 1].w, "of") == 0) &&
                   !(i > 0 && (in_list(&linking, t->v[i - 1].w) || strcmp(t->v[i - 1].w, "than") == 0))) {
            /* "normal wet nappies", "plenty of wet nappies": said before
             * what is as it should be, up to two words (4: neither there
             * as a symptom nor missing). Not "heavier than normal
             * bleeding". */
            for (size_t k = i + 1, seen = 0; k < t->n && seen < 2; k++) {
                if (t->v[k].bound || in_list(&terminators, t->v[k].w) || strcmp(t->v[k].w, "and") == 0)
                    break;
                if (is_content(&t->v[k])) {
                    t->v[k].absent = 4;
                    seen++;
                }
            }
        } else if (in_list(&reassurances, w) && !t->v[i].absent && !(i > 0 && strcmp(t->v[i - 1].w, "than") == 0)) {
            /* "breathing is fine"; not "heavier than normal". */
            for (size_t k = i, seen = 0; k-- > 0 && seen < 2;) {
                if (is_content(&t->v[k])) {
                    t->v[k].absent = 1;
                    seen++;
                }
                if (t->v[k].bound)
                    break;
            }
        } else if (strcmp(w, "still") == 0 || strcmp(w, "able") == 0) {
            /* "can still walk on it": the next few words; "still eating,
             * drinking and playing": the functions that follow, through
             * commas, to the end of the sentence. */
            const char *prev = i > 0 ? t->v[i - 1].w : "";
            int can = strcmp(prev, "can") == 0 || strcmp(prev, "be") == 0 || strcmp(prev, "is") == 0 ||
                      strcmp(prev, "am") == 0 || strcmp(prev, "are") == 0;
            if (t->v[i].absent)
                continue;
            for (size_t k = i + 1, seen = 0; k < t->n && seen < (can ? 3u : 6u); k++) {
                /* "still hurts and painkillers are not helping": a negation
                 * ends what goes on as normal. */
                if (t->v[k].bound == 2 || (can && t->v[k].bound) || in_list(&terminators, t->v[k].w) ||
                    in_list(&negations, t->v[k].w))
                    break;
                if (is_content(&t->v[k]) && (can || in_list(&functions, t->v[k].w))) {
                    t->v[k].absent = 4;
                    seen++;
                }
            }
        }
    }
}

/* ---- ages and temperatures ----
 * Guidance often holds only for an age or above a temperature ("a baby aged
 * 3 to 6 months has 39°C or higher"). When the question states an age or a
 * temperature that falls outside, the clause does not apply; when it states
 * neither, the clause is read on its words alone. */

typedef struct facts {
    double age_months;     /* < 0: not stated */
    double age_lo, age_hi; /* what the question allows, in months */
    double temp_c;         /* < 0: not stated */
    double days;           /* how long it has gone on; < 0: not stated */
    double size_cm;        /* the largest size said ("about 3cm across"); < 0: not stated */
    double per_day;        /* how often it happens; 0: not stated */
} facts_t;

static double unit_months(const char *u)
{
    if (strncmp(u, "year", 4) == 0 || strcmp(u, "yr") == 0 || strcmp(u, "yo") == 0)
        return 12;
    if (strncmp(u, "month", 5) == 0 || strcmp(u, "mo") == 0)
        return 1;
    if (strncmp(u, "week", 4) == 0 || strcmp(u, "wk") == 0)
        return 12.0 / 52;
    if (strncmp(u, "day", 3) == 0)
        return 12.0 / 365;
    return 0;
}

/* Words after "N weeks" that make it something other than an age ("8
 * weeks pregnant", "5 days into chickenpox", "2 weeks post op"). */
static int after_age_not_age(const char *w)
{
    for (size_t i = 0; i < not_an_age.n; i++)
        if (strncmp(w, not_an_age.v[i], strlen(not_an_age.v[i])) == 0)
            return 1;
    return 0;
}

/* A unit of size, in centimetres ("3cm", "10 mm", "2 inches"); 0 when
 * the word is none. */
static double unit_cm(const char *u)
{
    static const struct {
        const char *u;
        double cm;
    } units[] = {{"cm", 1}, {"centimetre", 1}, {"centimeter", 1}, {"mm", 0.1}, {"inch", 2.54}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].u) == 0)
            return units[i].cm;
    return 0;
}

/* A unit of how long something lasts, in days; 0 for none. */
static double unit_days(const char *u)
{
    static const struct {
        const char *u;
        double days;
    } units[] = {{"minute", 1.0 / 1440}, {"min", 1.0 / 1440}, {"hour", 1.0 / 24}, {"hr", 1.0 / 24},
                 {"day", 1},              {"night", 1},          {"week", 7},        {"wk", 7},
                 {"fortnight", 14},       {"month", 30},         {"mo", 30},         {"year", 365},
                 {"yr", 365}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(u, units[i].u) == 0)
            return units[i].days;
    return 0;
}

/* Whether the number at i follows a child ("baby 7 months", "son is 3
 * years"): an age, unless what follows says otherwise. */
static int child_first(const twords_t *t, size_t i)
{
    const char *prev = i > 0 ? t->v[i - 1].w : "", *prev2 = i > 1 ? t->v[i - 2].w : "";
    return in_list(&children, prev) ||
           ((strcmp(prev, "is") == 0 || strcmp(prev, "aged") == 0) && in_list(&children, prev2));
}

/* How long a description says its problem has gone on, in days: "for 3
 * days", "started 2 weeks ago", "since yesterday", "a couple of weeks",
 * "for months". The longest said; -1 when none is. */
static double question_days(const twords_t *t)
{
    double days = -1;
    for (size_t i = 0; i < t->n; i++) {
        const tword_t *x = &t->v[i];
        const char *next = i + 1 < t->n ? t->v[i + 1].w : "";
        const char *after = i + 2 < t->n ? t->v[i + 2].w : "";
        const char *prev = i > 0 ? t->v[i - 1].w : "", *prev2 = i > 1 ? t->v[i - 2].w : "";
        double d = 0;
        if (x->num) {
            double u = unit_days(next);
            int age = strcmp(after, "old") == 0 || child_first(t, i) || in_list(&not_a_duration, after);
            /* "jabs 2 weeks ago" is when something happened; "started 3
             * days ago" is how long it has gone on. */
            if (strcmp(after, "ago") == 0) {
                int onset = 0;
                for (size_t k = i > 4 ? i - 4 : 0; k < i; k++)
                    onset |= in_list(&onsets, t->v[k].w);
                age |= !onset;
            }
            if (u > 0 && !age)
                d = atof(x->w) * u;
        } else if (strcmp(x->w, "yesterday") == 0) {
            d = 1;
        } else if (unit_days(x->w) >= 1 && (i == 0 || !t->v[i - 1].num)) {
            /* "a week", "a couple of weeks", "for months": a unit said
             * without a number, counted twice when plural. */
            int plural = x->len > strlen(x->w);
            double n = plural ? 2 : 1;
            for (size_t k = i > 2 ? i - 2 : 0; k < i; k++) {
                if (strcmp(t->v[k].w, "few") == 0 || strcmp(t->v[k].w, "several") == 0)
                    n = 3;
                else if (strcmp(t->v[k].w, "couple") == 0)
                    n = 2;
            }
            /* "every night", "at night", "a night out" say when, not how
             * long; nor does "3 times a week". */
            int rate = (strcmp(prev, "a") == 0 || strcmp(prev, "per") == 0 || strcmp(prev, "each") == 0) &&
                       (strcmp(prev2, "time") == 0 || strcmp(prev2, "once") == 0 || strcmp(prev2, "twice") == 0);
            if (strcmp(x->w, "night") && strcmp(prev, "every") && strcmp(prev, "per") && strcmp(prev, "next") && !rate)
                d = n * unit_days(x->w);
        }
        if (d > 0 && d > days)
            days = d;
    }
    return days;
}

/* How often something happens, per day, said from word i on: "every 3
 * hours", "every few hours", "5 times a day", "3 or more times a week",
 * "twice a night", "hourly". 0 when nothing of the kind starts there. */
static double rate_at(const twords_t *t, size_t i)
{
    const char *w = t->v[i].w;
#define W(k) (i + (k) < t->n ? t->v[i + (k)].w : "")
    if (strcmp(w, "hourly") == 0)
        return 24;
    if (strcmp(w, "every") == 0) {
        size_t k = 1;
        double n = 1;
        if (i + 1 < t->n && t->v[i + 1].num) {
            n = atof(W(1));
            k = 2;
            /* "every 3-4 hours", "every 3 to 4 hours": the longer gap. */
            if (i + 2 < t->n && t->v[i + 2].num)
                n = atof(W(2)), k = 3;
            else if (strcmp(W(2), "to") == 0 && i + 3 < t->n && t->v[i + 3].num)
                n = atof(W(3)), k = 4;
        } else if (strcmp(W(1), "few") == 0) {
            n = 3, k = 2;
        } else if (strcmp(W(1), "couple") == 0) {
            n = 2, k = strcmp(W(2), "of") == 0 ? 3 : 2;
        }
        double u = unit_days(W(k));
        return u > 0 && n > 0 ? 1 / (n * u) : 0;
    }
    double n = 0;
    size_t k = 1;
    int said_times = 0; /* "once", "twice": no "times" follows */
    if (t->v[i].num)
        n = atof(w);
    else if (strcmp(w, "once") == 0)
        n = 1, said_times = 1;
    else if (strcmp(w, "twice") == 0)
        n = 2, said_times = 1;
    else if (strcmp(w, "several") == 0 || strcmp(w, "many") == 0)
        n = 4;
    else if (strcmp(w, "few") == 0)
        n = 3;
    else if (strcmp(w, "couple") == 0)
        n = 2, k = strcmp(W(1), "of") == 0 ? 2 : 1;
    if (n <= 0)
        return 0;
    /* "3 or more times a week" */
    if (strcmp(W(k), "or") == 0 && (strcmp(W(k + 1), "more") == 0 || strcmp(W(k + 1), "over") == 0))
        k += 2;
    if (!said_times) {
        if (strcmp(W(k), "time") != 0)
            return 0;
        k++;
    }
    if (strcmp(W(k), "a") != 0 && strcmp(W(k), "per") != 0 && strcmp(W(k), "each") != 0 && strcmp(W(k), "every") != 0)
        return 0;
    double u = unit_days(W(k + 1));
#undef W
    return u > 0 ? n / u : 0;
}

static int is_temp_word(const char *w)
{
    return strncmp(w, "temp", 4) == 0 || strcmp(w, "fever") == 0 || strcmp(w, "feverish") == 0;
}

static void question_facts(const twords_t *t, facts_t *f)
{
    f->age_months = f->temp_c = -1;
    for (size_t i = 0; i < t->n; i++) {
        const tword_t *x = &t->v[i];
        const char *next = i + 1 < t->n ? t->v[i + 1].w : "";
        const char *after = i + 2 < t->n ? t->v[i + 2].w : "";
        if (!x->num) {
            if (f->age_months < 0 && (strcmp(x->w, "newborn") == 0))
                f->age_months = 0.5;
            if (f->age_months < 0 && (strcmp(x->w, "aged") == 0 || strcmp(x->w, "age") == 0 ||
                                      strcmp(x->w, "im") == 0) && i + 1 < t->n && t->v[i + 1].num &&
                !unit_months(after) && strncmp(after, "kg", 2) && strncmp(after, "lb", 2) &&
                strcmp(after, "stone") && strcmp(after, "st"))
                f->age_months = atof(next) * 12;
            continue;
        }
        double v = atof(x->w);
        double m = unit_months(next);
        /* "a 5 month old", "4 yo", "baby 7 months", "son is 3 years" */
        if (m > 0 && f->age_months < 0 &&
            (strcmp(after, "old") == 0 || strcmp(next, "yo") == 0 || (child_first(t, i) && !after_age_not_age(after))))
            f->age_months = v * m;
        int near_temp = 0;
        for (size_t k = i > 4 ? i - 4 : 0; k < i; k++)
            near_temp |= is_temp_word(t->v[k].w);
        int celsius = strcmp(next, "c") == 0 || strcmp(next, "°c") == 0 || strncmp(next, "degree", 6) == 0;
        int fahr = strcmp(next, "f") == 0 || strcmp(next, "°f") == 0;
        /* "chills, aches all over and 38.3": a reading with a decimal
         * between 37.5 and 42.5, no unit of its own and no name of another
         * reading before it ("BMI 38.5") is a temperature. */
        const char *before = i > 0 ? t->v[i - 1].w : "";
        int bare = strchr(x->w, '.') && v >= 37.5 && v <= 42.5 && !unit_months(next) &&
                   !in_list(&reading_units, next) && !in_list(&reading_names, before);
        if (f->temp_c < 0 && v >= 34 && v <= 43.5 && (celsius || near_temp || bare) && !fahr)
            f->temp_c = v;
        else if (f->temp_c < 0 && v >= 93 && v <= 110 && (fahr || near_temp))
            f->temp_c = (v - 32) * 5 / 9;
    }
    /* Nobody named a child and someone speaks of themselves or another
     * adult: an adult, so guidance for babies and children does not apply. */
    f->age_lo = 0;
    f->age_hi = 1e9;
    if (f->age_months >= 0) {
        f->age_lo = f->age_hi = f->age_months;
    } else {
        int child = 0, adult = 0, pregnant = 0;
        for (size_t i = 0; i < t->n; i++) {
            child |= in_list(&children, t->v[i].w);
            /* Someone pregnant or breastfeeding speaks as an adult; someone
             * pregnant is the adult the description is about ("my daughter
             * is 8 weeks pregnant"). */
            pregnant |= strncmp(t->v[i].w, "pregnan", 7) == 0 && t->v[i].absent != 1;
            adult |= in_list(&personal, t->v[i].w) || pregnant || strncmp(t->v[i].w, "breastfe", 8) == 0;
        }
        if ((adult && !child) || pregnant)
            f->age_lo = 16 * 12;
    }
    f->size_cm = -1;
    for (size_t i = 0; i + 1 < t->n; i++)
        if (t->v[i].num && unit_cm(t->v[i + 1].w) > 0 && atof(t->v[i].w) * unit_cm(t->v[i + 1].w) > f->size_cm)
            f->size_cm = atof(t->v[i].w) * unit_cm(t->v[i + 1].w);
    f->days = question_days(t);
    f->per_day = 0;
    for (size_t i = 0; i < t->n; i++) {
        double r = rate_at(t, i);
        if (r > f->per_day)
            f->per_day = r;
    }
}

/* A clause's conditions on age (in months) and temperature. */
typedef struct limits {
    double age_min, age_max, temp_min, days_min, per_day_min, size_min;
    int has_age, has_temp, has_days, has_rate, has_size; /* has_age 2: only "for children" */
} limits_t;

static void clause_limits(const twords_t *c, limits_t *l)
{
    memset(l, 0, sizeof *l);
    l->age_max = 1e9;
    for (size_t i = 0; i < c->n; i++) {
        /* "every 4 hours or more often", "3 or more times a week" */
        double r = l->has_rate ? 0 : rate_at(c, i);
        if (r > 0) {
            l->per_day_min = r;
            l->has_rate = 1;
        }
        if (!c->v[i].num)
            continue;
        double v = atof(c->v[i].w);
        const char *prev = i > 0 ? c->v[i - 1].w : "";
        const char *next = i + 1 < c->n ? c->v[i + 1].w : "";
        /* "around 10 cm or more", "bigger than 5cm": the least size the
         * guidance holds for. */
        if (unit_cm(next) > 0) {
            l->size_min = v * unit_cm(next);
            l->has_size = 1;
            continue;
        }
        /* "3 to 6 months": the unit follows the second number. */
        if (strcmp(next, "to") == 0 && i + 3 < c->n && c->v[i + 2].num && unit_months(c->v[i + 3].w) > 0) {
            double m = unit_months(c->v[i + 3].w);
            l->age_min = v * m;
            l->age_max = atof(c->v[i + 2].w) * m + m;
            l->has_age = 1;
            i += 3;
            continue;
        }
        double m = unit_months(next);
        const char *after = i + 2 < c->n ? c->v[i + 2].w : "";
        const char *after2 = i + 3 < c->n ? c->v[i + 3].w : "";
        const char *prev2 = i > 1 ? c->v[i - 2].w : "";
        /* "has lasted 5 days or more", "more than 3 weeks", "not better
         * after 2 weeks": how long it must have gone on, not an age. */
        double d = unit_days(next);
        int per = strcmp(after, "a") == 0 || strcmp(after, "per") == 0 || strcmp(after, "each") == 0;
        if (d >= 1 && strcmp(after, "old") != 0 && !per &&
            (strcmp(prev, "lasted") == 0 || strcmp(prev, "lasting") == 0 || strcmp(prev, "for") == 0 ||
             strcmp(prev, "after") == 0 || strcmp(prev, "over") == 0 ||
             (strcmp(prev, "than") == 0 && (strcmp(prev2, "more") == 0 || strcmp(prev2, "longer") == 0)) ||
             (strcmp(after, "or") == 0 && (strcmp(after2, "more") == 0 || strcmp(after2, "longer") == 0)))) {
            l->days_min = v * d;
            l->has_days = 1;
            continue;
        }
        if (m > 0 && (strcmp(prev, "under") == 0 || strcmp(prev, "younger") == 0 ||
                      strcmp(prev, "than") == 0 || strcmp(prev, "below") == 0)) {
            l->age_max = v * m;
            l->has_age = 1;
        } else if (m == 0 && !unit_months(next) && strcmp(after, "or") != 0 &&
                   (strcmp(next, "or") == 0 && (strcmp(after, "over") == 0 || strcmp(after, "older") == 0)) &&
                   !(v >= 34 && v <= 43.5)) {
            l->age_min = v * 12;
            l->has_age = 1;
        } else if (m > 0 && strcmp(after, "or") == 0 && (strcmp(after2, "over") == 0 || strcmp(after2, "older") == 0)) {
            l->age_min = v * m;
            l->has_age = 1;
        } else if (v >= 35 && v <= 43.5 && !unit_months(next)) {
            int above = strcmp(prev, "above") == 0 || strcmp(prev, "over") == 0 ||
                        strcmp(prev, "least") == 0 || strcmp(prev, "than") == 0;
            for (size_t k = i + 1; k < c->n && k < i + 4; k++)
                above |= strcmp(c->v[k].w, "higher") == 0 || strcmp(c->v[k].w, "above") == 0 ||
                         strcmp(c->v[k].w, "more") == 0;
            if (above) {
                l->temp_min = v;
                l->has_temp = 1;
            }
        }
    }
}

/* Whether guidance is for children only ("if your child is feeding less
 * ..., has a high temperature"; "a child's high temperature has lasted 5
 * days"): it names a child and not "you", adults or anyone. Read for the
 * whole sentence and for the clause. */
static int names_only_children(const twords_t *t)
{
    int child = 0, anyone = 0;
    for (size_t i = 0; i < t->n; i++) {
        const char *w = t->v[i].w;
        child |= in_list(&children, w);
        anyone |= in_list(&for_everyone, w);
    }
    return child && !anyone;
}

static int for_children(const char *sentence, twords_t *scratch)
{
    tw_split(sentence, scratch);
    return names_only_children(scratch);
}

static int is_cue_word(const char *w)
{
    static const char *const cue_words[] = {"call", "emergency", "now", "urgent", "urgently", "help", "medical",
                                            "advice", "get", "see", "book", "appointment", "gp", "doctor",
                                            "usually", "fine", "look", "home", "within", "hour", "service",
                                            "department", "nearest", "local", "number", "routine", "uk", "us",
                                            "nhs", "111", "999", "911", "112", "go", "immediately", "away",
                                            "straight", "right", "contact", "pharmacist", "if", "after", "that",
                                            "your", "you", "have", "has", "under", "aged", "older", "younger",
                                            "higher", "over", "above", "month", "year", "week", "day", "old",
                                            NULL};
    for (int i = 0; cue_words[i]; i++)
        if (strcmp(cue_words[i], w) == 0)
            return 1;
    return 0;
}

static int in_name(const kb_words_t *name, const char *w)
{
    for (size_t j = 0; name && j < name->n; j++)
        if (strcmp(name->v[j], w) == 0)
            return 1;
    return 0;
}

/* How well one red-flag clause describes the question: the question must
 * say most of what the clause says (coverage at least one half), must not
 * deny any of it, and must not state an age or temperature outside it.
 * For the entries the answer itself found, words of the entry's own name
 * are left out: every sentence of its guidance shares them. Entries found
 * only by searching the description must match on them too. *specific
 * gets 1 when a word other than a descriptor or a common word matched, 2
 * when every word of the clause is met, 8 when the clause names a situation
 * (an injury, pregnancy) the question does not say and 16 when it does. */
static double clause_score(const twords_t *q, const facts_t *f, const char *clause, const kb_words_t *name,
                           int child_only, int *specific)
{
    *specific = 0;
    twords_t *c = malloc(sizeof *c);
    if (!c)
        return 0;
    tw_split(clause, c);
    mark_absent(c);
    limits_t lim;
    clause_limits(c, &lim);
    /* Guidance for children does not apply to an adult. Such a limit only
     * rules out; it adds nothing to a match. */
    if ((child_only || names_only_children(c)) && !lim.has_age) {
        lim.age_max = 16 * 12;
        lim.has_age = 2;
    }
    double matched = 0;
    int total = 0, denied = 0, qualifiers_in = 0, unmet_qualifiers = 0, contexts_in = 0, unmet_contexts = 0;
    int stops_in = 0, stops_met = 0;
    if (lim.has_age) {
        if (f->age_hi < lim.age_min || f->age_lo >= lim.age_max)
            denied = 1;
        else if (f->age_months >= 0 && lim.has_age == 1)
            matched += 1, total++;
    }
    /* "You need your reliever every 4 hours" is not met without saying
     * at least as often. */
    if (lim.has_rate) {
        if (f->per_day <= 0 || f->per_day < lim.per_day_min)
            denied = 1;
        else
            matched += 1, total++;
    }
    /* Guidance for what has lasted 5 days is not met by a description
     * that says no such time, or a shorter one. */
    if (lim.has_days) {
        if (f->days < 0 || f->days < lim.days_min)
            denied = 1;
        else
            matched += 1, total++;
    }
    /* "a swelling of 10 cm or more" is not met by "about 3cm across"; a
     * description that gives no size is read on its words. */
    if (lim.has_size && f->size_cm >= 0) {
        if (f->size_cm < lim.size_min)
            denied = 1;
        else
            matched += 1, total++;
    }
    if (lim.has_temp && f->temp_c >= 0) {
        if (f->temp_c + 0.05 < lim.temp_min)
            denied = 1;
        else
            matched += 1, total++;
    }
    for (size_t k = 0; k < c->n && !denied; k++) {
        const char *w = c->v[k].w, *key = c->v[k].m;
        int qualifier = in_list(&qualifiers, w);
        /* A negation is read as the absence it marks, not as a word to
         * meet: "sex without a condom" is met by "unprotected sex". */
        if ((!is_content(&c->v[k]) && !qualifier) || is_cue_word(w) || in_name(name, key) || in_list(&weak, w) ||
            in_list(&negations, w))
            continue;
        int dup = 0;
        for (size_t j = 0; j < k; j++)
            dup |= strcmp(c->v[j].m, key) == 0;
        if (dup)
            continue;
        total++;
        qualifiers_in += qualifier;
        int context = in_list(&contexts, key);
        contexts_in += context;
        /* How the question says the word: plainly, as something the
         * person cannot do ("can't control my bladder"), or denied. */
        int present = 0, unable = 0, absent = 0, stopped = 0, normal = 0;
        for (size_t i = 0; i < q->n; i++)
            if (strcmp(q->v[i].m, key) == 0) {
                present |= q->v[i].absent == 0;
                unable |= q->v[i].absent == 2;
                absent |= q->v[i].absent == 1;
                stopped |= q->v[i].absent == 3;
                normal |= q->v[i].absent == 4;
            }
        /* "normal wet nappies" meets neither "fewer wet nappies" nor "no
         * wet nappy". */
        if (normal && !present && !unable && !absent && !stopped) {
            denied = 1;
            continue;
        }
        int cabs = c->v[k].absent;
        stops_in += cabs == 3;
        /* A plain word of guidance is met by the word said plainly or as
         * an inability ("lost control of your bladder": "can't control my
         * bladder"), denied by a negation. Guidance of what someone cannot
         * do ("cannot stop the bleeding") is met by an inability or a
         * negation, denied by the plain word ("bleeding has stopped").
         * Guidance of what is absent is met by a negation, denied by the
         * rest ("can still put weight on it"). */
        int meets = cabs == 0 ? present || unable || stopped
                    : cabs == 2 ? unable || absent || stopped
                    : cabs == 3 ? unable || stopped
                                : absent;
        int denies = cabs == 0 ? absent : cabs == 2 ? present : cabs == 3 ? absent : present || unable;
        if (denies && !meets)
            denied = 1;
        else if (meets && (cabs == 0 || (cabs == 2 && unable))) {
            matched += in_list(&common, w) ? 0.5 : c->v[k].len >= 7 ? 1.5 : 1.0;
            *specific |= !in_list(&common, w) && !in_list(&descriptors, w);
        } else if (meets) {
            matched += 1.0;
            stops_met += cabs == 3;
        } else {
            unmet_qualifiers += qualifier;
            unmet_contexts += context;
        }
    }
    free(c);
    /* "sudden severe tummy pain" is not met by "tummy pain": the qualifier
     * is what makes it a red flag. One of several qualifiers will do. */
    if (qualifiers_in > 0 && unmet_qualifiers == qualifiers_in)
        denied = 1;
    /* "the reliever is not helping" is not met by "reliever" alone: what
     * has stopped is the point. */
    if (stops_in > 0 && stops_met == 0)
        denied = 1;
    /* "numbness after a wrist injury" is not met without an injury. */
    if (contexts_in > 0 && unmet_contexts == contexts_in) {
        denied = 1;
        *specific |= 8;
    } else if (contexts_in > 0) {
        *specific |= 16;
    }
    if (denied || total == 0 || matched == 0)
        return 0;
    double coverage = matched / total;
    if (coverage > 1)
        coverage = 1;
    /* "vomiting" does not say all of "vomiting blood". */
    if (coverage >= 1)
        *specific |= 2;
    return coverage >= 0.5 ? matched * coverage : 0;
}

/* Whether every content word of a clause is in one of the lists (a
 * NULL-ended array). */
static int only_in_lists(const char *clause, const cue_list_t *const *lists, twords_t *scratch)
{
    tw_split(clause, scratch);
    int content = 0;
    for (size_t i = 0; i < scratch->n; i++) {
        const tword_t *x = &scratch->v[i];
        if (!is_content(x) || is_cue_word(x->w))
            continue;
        int listed = 0;
        for (size_t l = 0; lists[l] && !listed; l++)
            listed = in_list(lists[l], x->w);
        if (!listed)
            return 0;
        content++;
    }
    return content > 0;
}

/* A clause that only names a part of the body ("arm or leg"). */
static int only_body_parts(const char *clause, twords_t *scratch)
{
    const cue_list_t *const lists[] = {&body_parts, NULL};
    return only_in_lists(clause, lists, scratch);
}

/* A clause whose words only say how something is ("swollen and painful"),
 * not what it is. */
static int only_descriptors(const char *clause, twords_t *scratch)
{
    const cue_list_t *const lists[] = {&descriptors, &qualifiers, &weak, NULL};
    return only_in_lists(clause, lists, scratch);
}

/* Sentences: split at ". " / "! " / "? " followed by a capital, or at ": "
 * after a level label. */
static size_t split_sentences(char *text, char **out, size_t max)
{
    size_t n = 0;
    char *s = text;
    for (char *p = text; *p && n + 1 < max; p++) {
        if ((*p == '.' || *p == '!' || *p == '?') && (p[1] == ' ' || p[1] == '\0') &&
            (p[1] == '\0' || isupper((unsigned char)p[2]))) {
            if (p[1] == '\0')
                break;
            p[1] = '\0';
            out[n++] = s;
            s = p + 2;
            p++;
        }
    }
    if (*s && n < max)
        out[n++] = s;
    return n;
}

/* Red-flag lists read "now if A, B, or C and D": each item is a clause. A
 * clause counts when the question says most of what it says (coverage), so
 * one shared word ("pain") never decides; the best clause of each level
 * scores that level. "or higher" and "or over" belong to their number. */
static size_t split_clauses(char *sent, char **out, char *seps, size_t max)
{
    static const char *const keep[] = {"higher", "above", "more", "over", "older", "younger", "less", "lower", NULL};
    static const char *const places[] = {"around", "near", "on", "under", "behind", "inside", "beside", NULL};
    size_t n = 0;
    char *s = sent;
    for (char *p = sent; *p && n + 1 < max; p++) {
        int cut = 0;
        if (*p == ',' || *p == ';' || *p == ':' || *p == '(' || *p == ')')
            cut = 1;
        else if (strncmp(p, " or ", 4) == 0) {
            cut = 3;
            for (int k = 0; keep[k]; k++)
                if (strncmp(p + 4, keep[k], strlen(keep[k])) == 0)
                    cut = 0;
            /* "some or all of the sight", "one or both eyes": one amount. */
            if ((p - sent >= 4 && strncmp(p - 4, "some", 4) == 0 && (p - sent == 4 || !isalpha((unsigned char)p[-5])) &&
                 strncmp(p + 4, "all ", 4) == 0) ||
                (p - sent >= 3 && strncmp(p - 3, "one", 3) == 0 && (p - sent == 3 || !isalpha((unsigned char)p[-4])) &&
                 strncmp(p + 4, "both ", 5) == 0))
                cut = 0;
            /* "a lump in or around your vagina": one place, not two items. */
            for (int k = 0; places[k]; k++) {
                size_t l = strlen(places[k]);
                if (strncmp(p + 4, places[k], l) == 0 && p[4 + l] == ' ' && p - sent >= 3 &&
                    (strncmp(p - 3, " in", 3) == 0 || strncmp(p - 3, " on", 3) == 0))
                    cut = 0;
            }
        }
        if (!cut)
            continue;
        char sep = cut == 3 ? 'o' : *p;
        *p = '\0';
        if (p > s) {
            seps[n] = sep;
            out[n++] = s;
        }
        s = p + cut;
        p += cut - 1;
    }
    if (*s && n < max) {
        seps[n] = '\0';
        out[n++] = s;
    }
    return n;
}

/* The content words of a clause of guidance, as spans of its text. */
typedef struct span {
    size_t at, len;
} span_t;

static size_t content_spans(const char *text, span_t *out, size_t max)
{
    size_t n = 0;
    const char *p = text;
    while (*p && n < max) {
        while (*p && !is_word_byte((unsigned char)*p))
            p++;
        const char *b = p;
        while (*p && (is_word_byte((unsigned char)*p) || (*p == '\'' && p > b && is_word_byte((unsigned char)p[1]))))
            p++;
        if (p == b || isdigit((unsigned char)*b))
            continue;
        char w[40];
        size_t k = 0;
        for (const char *x = b; x < p && k + 1 < sizeof w; x++)
            if (*x != '\'')
                w[k++] = (char)tolower((unsigned char)*x);
        w[k] = '\0';
        kb_stem(w);
        if (strlen(w) >= 3 && !kb_is_stopword(w) && !is_cue_word(fold(w)))
            out[n++] = (span_t){(size_t)(b - text), (size_t)(p - b)};
    }
    return n;
}

/* The word that ends before position e in text, lower-cased into w
 * (letters, and apostrophes when asked: "didn't"); returns where it starts,
 * or (size_t)-1 with w empty when there is none or it is too long. */
static size_t word_back(const char *text, size_t e, int apostrophes, char *w, size_t size)
{
    w[0] = '\0';
    while (e > 0 && !isalpha((unsigned char)text[e - 1]))
        e--;
    size_t b = e;
    while (b > 0 && (isalpha((unsigned char)text[b - 1]) || (apostrophes && text[b - 1] == '\'')))
        b--;
    if (b == e || e - b >= size)
        return (size_t)-1;
    for (size_t i = 0; i < e - b; i++)
        w[i] = (char)tolower((unsigned char)text[b + i]);
    w[e - b] = '\0';
    return b;
}

/* Whether the word at `at` follows "of", "in", "on", "around" or "to",
 * with or without "the", "your", "a" or "an" between. */
static int after_preposition(const char *text, size_t at)
{
    static const char *const preps[] = {"of", "in", "on", "around", "to", "from", NULL};
    static const char *const dets[] = {"the", "your", "a", "an", "their", "his", "her", NULL};
    char words[2][16] = {{0}};
    size_t e = at;
    for (int w = 0; w < 2 && e != (size_t)-1; w++)
        e = word_back(text, e, 0, words[w], sizeof words[w]);
    for (int i = 0; preps[i]; i++)
        if (strcmp(words[0], preps[i]) == 0)
            return 1;
    for (int i = 0; dets[i]; i++)
        if (strcmp(words[0], dets[i]) == 0)
            for (int j = 0; preps[j]; j++)
                if (strcmp(words[1], preps[j]) == 0)
                    return 1;
    return 0;
}

/* Whether the word before position at in text is a negation ("not"). */
static int negation_before(const char *text, size_t at)
{
    char w[16];
    if (word_back(text, at, 1, w, sizeof w) == (size_t)-1)
        return 0;
    drop_apostrophes(w);
    return in_list(&negations, w);
}

/* Whether a clause is its one content word and cue words alone ("now if
 * numbness"), not a phrase ("such as grunting"). */
static int bare_word(const char *text, span_t word)
{
    const char *p = text;
    while (*p) {
        while (*p && !is_word_byte((unsigned char)*p))
            p++;
        const char *b = p;
        while (is_word_byte((unsigned char)*p))
            p++;
        if (p == b || (size_t)(b - text) == word.at)
            continue;
        char w[24];
        size_t k = (size_t)(p - b) < sizeof w - 1 ? (size_t)(p - b) : sizeof w - 1;
        for (size_t i = 0; i < k; i++)
            w[i] = (char)tolower((unsigned char)b[i]);
        w[k] = '\0';
        if (!is_cue_word(w))
            return 0;
    }
    return 1;
}

/* Whether one of a clause's first `words` words is a subject (triage.json
 * "subjects": "you have", "your child", "someone"). Two words: "if you"
 * opens with one, "stinging when you pee" does not. */
static int subject_within(const char *clause, size_t words, twords_t *scratch)
{
    tw_split(clause, scratch);
    for (size_t i = 0; i < scratch->n && i < words; i++)
        if (in_list(&subjects, scratch->v[i].w))
            return 1;
    return 0;
}

/* Where a whole word stands in a text, case aside; NULL when it does not. */
static const char *word_in(const char *text, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = strcasestr(text, word); p; p = strcasestr(p + 1, word))
        if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[len]))
            return p;
    return NULL;
}

/* Items of a list share words: "swelling of the lips, tongue or throat"
 * means "swelling of the tongue"; "numbness or weakness comes on
 * suddenly" means "numbness comes on suddenly"; "red, swollen and
 * painful" after "the skin around the eye becomes" says how that skin is.
 * Writes the clause item k stands for into buf; returns it, or the item
 * itself when it stands alone. */
static const char *clause_in_context(char **cl, const char *seps, size_t nc, size_t k, twords_t *scratch,
                                     char *buf, size_t size)
{
    span_t here[8], other[8];
    size_t n = content_spans(cl[k], here, 8);
    if (k > 0 && only_descriptors(cl[k], scratch)) {
        snprintf(buf, size, "%s %s", cl[k - 1], cl[k]);
        return buf;
    }
    /* "tummy pain that is getting worse or moves to the lower right": the
     * second item, a phrase of its own, is said of what the first one's
     * "that" is said of ("hard to see or open" is one item). */
    if (k > 0 && seps[k - 1] == 'o' && n >= 2 && !subject_within(cl[k], 2, scratch)) {
        const char *rel = word_in(cl[k - 1], "that");
        if (!rel)
            rel = word_in(cl[k - 1], "which");
        /* "you are a man and have burning or stinging when you pee": the
         * man has the stinging too. */
        const char *and_have = strcasestr(cl[k - 1], " and have ");
        if (!rel && and_have)
            rel = and_have + 5;
        if (rel) {
            const char *end = rel + strcspn(rel, " ");
            snprintf(buf, size, "%.*s %s", (int)(end - cl[k - 1]), cl[k - 1], cl[k] + strspn(cl[k], " "));
            return buf;
        }
    }
    if (n != 1)
        return cl[k];
    if (seps[k] == 'o' && k + 1 < nc && bare_word(cl[k], here[0])) {
        size_t m = content_spans(cl[k + 1], other, 8);
        if (m >= 3) {
            snprintf(buf, size, "%s %s", cl[k], cl[k + 1] + other[0].at + other[0].len);
            return buf;
        }
    }
    if (k > 0) {
        size_t m = content_spans(cl[k - 1], other, 8);
        /* "swelling of the lips, tongue": "swelling of the tongue"; "not
         * drinking or feeding": "not feeding". */
        if ((m >= 2 && after_preposition(cl[k - 1], other[m - 1].at)) ||
            (m >= 1 && seps[k - 1] == 'o' && negation_before(cl[k - 1], other[m - 1].at))) {
            snprintf(buf, size, "%.*s %s", (int)other[m - 1].at, cl[k - 1], cl[k] + here[0].at);
            return buf;
        }
    }
    return cl[k];
}

/* Whether clause k, or the one before it, opens on a situation the next
 * items hold in ("if after an arm or wrist injury", "following a fall").
 * "The injured person's hand", "look after at home" and "24 hours after
 * birth" open on none. */
static int situation_follows(char **cl, size_t k)
{
    for (size_t i = k > 0 ? k - 1 : 0; i <= k; i++) {
        const char *p = cl[i] + strspn(cl[i], " ");
        if (strncasecmp(p, "after ", 6) == 0 || strncasecmp(p, "following ", 10) == 0 ||
            strcasestr(cl[i], "if after ") || strcasestr(cl[i], "if following "))
            return 1;
    }
    return 0;
}

/* Whether a clause of guidance starts a new item with a subject of its own
 * ("you have", "your child", "someone"). */
static int starts_with_subject(const char *clause, twords_t *scratch)
{
    return subject_within(clause, 3, scratch);
}

static int kind_is_not_condition(const kb_entry_t *e)
{
    return strcmp(e->kind, "condition") != 0;
}

/* How many different things the question says that the entry's symptoms
 * section also says: the evidence that this is the condition at hand. */
static int symptom_overlap(const kb_entry_t *e, const twords_t *q)
{
    const char *sym = kb_entry_section(e, "symptoms");
    if (!sym || kind_is_not_condition(e))
        return 0;
    twords_t *s = malloc(sizeof *s);
    if (!s)
        return 0;
    tw_split(sym, s);
    int n = 0;
    for (size_t i = 0; i < q->n; i++) {
        const tword_t *x = &q->v[i];
        if (x->absent == 1 || x->absent == 4 || !is_content(x) || in_list(&weak, x->w) || in_list(&common, x->w) ||
            is_cue_word(x->w))
            continue;
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(q->v[k].m, x->m) == 0 && q->v[k].absent != 1;
        if (dup)
            continue;
        for (size_t k = 0; k < s->n; k++)
            if (strcmp(s->v[k].m, x->m) == 0) {
                n++;
                break;
            }
    }
    free(s);
    return n;
}

/* "Get an urgent appointment if you think you have a DVT": where a
 * sentence says what to do when the condition itself is suspected, plus
 * one; 0 when it does not. */
static size_t suspect_at(const char *low)
{
    for (size_t i = 0; i < suspect.n; i++) {
        const char *p = strstr(low, suspect.v[i]);
        if (p)
            return (size_t)(p - low) + 1;
    }
    return 0;
}

/* Where each level cue stands in a sentence: a clause takes the level of
 * the last cue at or before its end ("get urgent help the same day if A, or
 * call 999 if B": A urgent, B emergency), or, with none before it, of the
 * first cue after it ("if you have A, call 999"). */
#define CUE_MAX 16
#define CUE_PHRASE 30 /* characters */

typedef struct cue_pos {
    size_t at;
    triage_level_t level;
} cue_pos_t;

static size_t find_cues(const char *low, triage_level_t sentence_level, cue_pos_t *out)
{
    size_t n = 0;
    for (int l = TRIAGE_SELF_CARE; l <= TRIAGE_EMERGENCY + 1; l++) {
        const cue_list_t *list = l <= TRIAGE_EMERGENCY ? &level_cues[l] : &timing;
        /* Timing words ("straight away") take the sentence's emergency, or
         * else ask for help within the day. */
        triage_level_t lv = l <= TRIAGE_EMERGENCY ? (triage_level_t)l
                            : sentence_level == TRIAGE_EMERGENCY ? TRIAGE_EMERGENCY
                                                                 : TRIAGE_URGENT;
        for (size_t i = 0; i < list->n; i++) {
            size_t len = strlen(list->v[i]);
            for (const char *p = strstr(low, list->v[i]); p && n < CUE_MAX; p = strstr(p + 1, list->v[i])) {
                int start_ok = p == low || !isalnum((unsigned char)p[-1]);
                int end_ok = !isalnum((unsigned char)p[len]) || !isalnum((unsigned char)list->v[i][len - 1]);
                if (start_ok && end_ok)
                    out[n++] = (cue_pos_t){(size_t)(p - low), lv};
            }
        }
    }
    /* "Go to an urgent treatment centre or A&E" offers a place that sees
     * people the same day: the A&E in that phrase does not make it an
     * emergency ("call 999 or go to A&E" does). */
    for (size_t i = 0; i < either_urgent.n; i++)
        for (const char *p = strstr(low, either_urgent.v[i]); p; p = strstr(p + 1, either_urgent.v[i])) {
            size_t s = (size_t)(p - low), e = s + strlen(either_urgent.v[i]);
            for (size_t k = 0; k < n; k++)
                if (out[k].at >= s && out[k].at < e && out[k].level == TRIAGE_EMERGENCY)
                    out[k].level = TRIAGE_URGENT;
        }
    return n;
}

static triage_level_t clause_level(const cue_pos_t *cues, size_t n, size_t from, size_t to,
                                   triage_level_t sentence_level)
{
    const cue_pos_t *before = NULL, *after = NULL;
    for (size_t i = 0; i < n; i++) {
        if (cues[i].at < to) {
            if (!before || cues[i].at > before->at)
                before = &cues[i];
        } else if (!after || cues[i].at < after->at) {
            after = &cues[i];
        }
    }
    (void)from;
    const cue_pos_t *pick = before ? before : after;
    if (!pick)
        return sentence_level;
    /* Cues of one phrase ("an urgent medical appointment") read together:
     * the most urgent of them. */
    triage_level_t lv = pick->level;
    for (size_t i = 0; i < n; i++)
        if (cues[i].at + CUE_PHRASE >= pick->at && cues[i].at <= pick->at + CUE_PHRASE && cues[i].level > lv)
            lv = cues[i].level;
    return lv;
}

/* What an entry offers when the description is about it but meets none of
 * its warning signs: its "if you think you have it" advice, or else its
 * least urgent advice. fit says how plainly the description is about it:
 * words shared with its symptoms, more when its name is said. */
typedef struct about {
    int fit, name_said;
    triage_level_t suspect, least;
    char entry[72];
    char suspect_reason[600], least_reason[600];
} about_t;

/* One candidate entry as the description sees it: the words of its name
 * (as match keys), whether the description says or denies them, and how
 * plainly the description is about it (fit: words shared with its
 * symptoms, more when its name is said). */
typedef struct view {
    kb_entry_t *e;
    kb_words_t name;
    int named; /* one of the answer's entries, not only found by a search */
    int overlap, name_said, name_denied, fit;
} view_t;

/* A word of a name that says the situation its guidance holds in
 * ("Diabetic foot problems"), which a description says anywhere. */
static int situation_word(const char *m)
{
    for (size_t i = 0; i < title_situations.n; i++)
        if (strncmp(m, title_situations.v[i], 6) == 0)
            return 1;
    return 0;
}

#define NAME_SPAN 4 /* words a name's words may span in a description */

/* Words of a name that need not stand with the others: stopwords, words
 * for children, words of a situation. */
static int name_word_skipped(const char *m)
{
    return kb_is_stopword(m) || in_list(&children, m) || situation_word(m);
}

/* Where the description says name word m nearest to position p among its
 * own words, or SIZE_MAX. */
static size_t said_near(const twords_t *q, size_t typed, const char *m, size_t p)
{
    size_t best = SIZE_MAX, dist = SIZE_MAX;
    for (size_t k = 0; k < typed; k++) {
        if (strcmp(q->v[k].m, m) != 0 || q->v[k].absent == 1 || q->v[k].absent == 4)
            continue;
        size_t d = k > p ? k - p : p - k;
        if (d < dist) {
            dist = d;
            best = k;
        }
    }
    return best;
}

/* Whether the words of a name the description says stand together, within
 * NAME_SPAN words and with no punctuation between them: "panic attacks,
 * heart racing" does not name a heart attack; "periods have got really
 * heavy" names heavy periods. Words added to the description (implied,
 * after typed) and words of a situation ("diabetic") stand anywhere. */
static int name_together(const twords_t *q, size_t typed, const kb_words_t *name)
{
    int any_said = 0;
    /* A title may hold several names ("Head lice and nits"): each is read
     * on its own. */
    for (size_t from = 0; from < name->n;) {
        size_t to = from;
        while (to < name->n && strcmp(name->v[to], "and") && strcmp(name->v[to], "or"))
            to++;
        size_t said = 0, first = to;
        for (size_t i = from; i < to; i++)
            if (!name_word_skipped(name->v[i]) && said_near(q, typed, name->v[i], 0) != SIZE_MAX) {
                said++;
                first = first == to ? i : first;
            }
        any_said |= said > 0;
        if (said == 1)
            return 1;
        /* From each place the first said word stands, the nearest places
         * of the others. */
        for (size_t p = 0; said > 1 && p < typed; p++) {
            if (strcmp(q->v[p].m, name->v[first]) != 0 || q->v[p].absent == 1 || q->v[p].absent == 4)
                continue;
            size_t lo = p, hi = p;
            for (size_t j = from; j < to; j++) {
                size_t k = name_word_skipped(name->v[j]) ? SIZE_MAX : said_near(q, typed, name->v[j], p);
                if (k != SIZE_MAX) {
                    lo = k < lo ? k : lo;
                    hi = k > hi ? k : hi;
                }
            }
            int ok = hi - lo <= NAME_SPAN;
            for (size_t k = lo + 1; k <= hi && ok; k++)
                ok = q->v[k].bound == 0;
            if (ok)
                return 1;
        }
        from = to + 1;
    }
    /* No name said in its own words (only added words, or none): nothing
     * to hold against it. */
    return !any_said;
}

static int view_read(kb_entry_t *e, const twords_t *q, size_t typed, view_t *v)
{
    memset(v, 0, sizeof *v);
    v->e = e;
    /* The words of the name as match keys, read like the description's. */
    twords_t *t = malloc(sizeof *t);
    kb_words_t *name = &v->name;
    if (!t)
        return MUSE_ENOMEM;
    tw_split(e->title, t);
    name->v = calloc(t->n ? t->n : 1, sizeof *name->v);
    name->cap = name->v ? t->n : 0;
    for (size_t i = 0; name->v && i < t->n; i++)
        if (!(name->v[name->n++] = strdup(t->v[i].m)))
            name->n--;
    int failed = !name->v || name->n < t->n;
    free(t);
    if (failed)
        return MUSE_ENOMEM;
    int said = 0, words = 0, tier_said[3] = {0}, tier_words[3] = {0};
    /* "I haven't fainted": the guidance on fainting does not apply. */
    for (size_t i = 0; i < name->n; i++) {
        int present = 0, absent = 0;
        for (size_t k = 0; k < q->n; k++)
            if (strcmp(q->v[k].m, name->v[i]) == 0) {
                present |= q->v[k].absent != 1 && q->v[k].absent != 4; /* "can still": no symptom */
                absent |= q->v[k].absent == 1;
            }
        /* "Teething in babies" is named by "teething", not by "baby". */
        if (kb_is_stopword(name->v[i]) || in_list(&children, name->v[i]))
            continue;
        v->name_denied |= absent && !present;
        said += present;
        words++;
        /* Words of a name weigh in tiers: common words ("pain"), parts of
         * the body ("throat"), the rest ("strep"). */
        int tier = in_list(&common, name->v[i]) ? 0 : in_list(&body_parts, name->v[i]) ? 1 : 2;
        tier_said[tier] += present;
        tier_words[tier]++;
    }
    /* Half the words of the name said, among them one of its most telling
     * kind: "nose" alone does not name "foreign body in nose or ear", nor
     * "pain" "joint pain", nor "throat" "strep throat". */
    int top = tier_words[2] ? 2 : tier_words[1] ? 1 : 0;
    v->name_said = words > 0 && 2 * said >= words && tier_said[top] > 0 && name_together(q, typed, name);
    v->overlap = symptom_overlap(e, q);
    v->fit = v->overlap + (v->name_said ? suspect_overlap : 0);
    return MUSE_OK;
}

/* Whether the description names the situation a title names, if any
 * ("... of pregnancy": pregnant; "Diabetic foot problems": diabetes;
 * triage.json "title_situations"). Words compared on their first six
 * letters. */
static int situation_said(const char *title, const twords_t *q, twords_t *scratch)
{
    tw_split(title, scratch);
    int named = 0;
    for (size_t i = 0; i < scratch->n; i++) {
        const char *key = scratch->v[i].m;
        if (!in_list(&title_situations, key))
            continue;
        named = 1;
        for (size_t k = 0; k < q->n; k++)
            if (q->v[k].absent != 1 && strncmp(q->v[k].m, key, 6) == 0)
                return 1;
    }
    return !named;
}

static void view_free(view_t *v)
{
    kb_words_free(&v->name);
    kb_entry_free(v->e);
}

static void assess_entry(const view_t *v, const twords_t *q, const facts_t *f, triage_t *best,
                         about_t *about, int *best_fit)
{
    const kb_entry_t *e = v->e;
    int named = v->named;
    int overlap = v->overlap, name_said = v->name_said, fit = v->fit;
    const kb_words_t *name_words = &v->name;
    const char *wtsc = kb_entry_section(e, "when_to_seek_care");
    if (!wtsc || v->name_denied)
        return;
    /* An entry the search found but the description does not fit (no word
     * of its name, too little of its symptoms) is not read: "bleeding
     * stopped" after a cut is no question for the menopause guidance. */
    if (!named && !name_said && overlap < 2)
        return;
    log_msg(LOG_DEBUG, "triage: read %s (%s, overlap %d, name said %d, fit %d)", e->id,
            named ? "answer's entry" : "searched", overlap, name_said, fit);
    twords_t *scratch = malloc(sizeof *scratch);
    if (!scratch)
        return;
    /* All of "Cholestasis of pregnancy" holds in pregnancy: not read for a
     * description that names no such situation. */
    if (!situation_said(e->title, q, scratch)) {
        free(scratch);
        return;
    }
    /* All of "Fever in children" is guidance for children. */
    int title_for_children = for_children(e->title, scratch);
    char *text = strdup(wtsc);
    char *sent[64];
    size_t ns = text ? split_sentences(text, sent, 64) : 0;
    triage_level_t current = TRIAGE_NONE;
    int is_about = fit >= suspect_overlap && fit > about->fit && !(title_for_children && f->age_lo >= 16 * 12);
    about_t mine = {.fit = fit, .name_said = name_said, .suspect = TRIAGE_NONE, .least = TRIAGE_NONE};
    for (size_t i = 0; i < ns; i++) {
        char *low = lower_dup(sent[i]);
        if (!low)
            break;
        /* The most urgent cue in the sentence sets its level. */
        for (int l = TRIAGE_EMERGENCY; l >= TRIAGE_SELF_CARE; l--)
            if (any_cue(low, &level_cues[l]) || (l == TRIAGE_URGENT && any_cue(low, &timing))) {
                current = (triage_level_t)l;
                break;
            }
        size_t suspect_pos = is_about && mine.suspect == TRIAGE_NONE ? suspect_at(low) : 0;
        cue_pos_t cues[CUE_MAX];
        size_t ncues = find_cues(low, current, cues);
        free(low);
        /* "Go to an urgent treatment centre or A&E if ...": the sentence is
         * as urgent as its most urgent cue once either_urgent has read it. */
        if (current == TRIAGE_EMERGENCY && ncues > 0 && ncues < CUE_MAX) {
            triage_level_t top = TRIAGE_SELF_CARE;
            for (size_t c = 0; c < ncues; c++)
                top = cues[c].level > top ? cues[c].level : top;
            current = top;
        }
        if (current == TRIAGE_NONE)
            continue;
        /* The advice "if you think you have it" is the level of the cue
         * that governs that phrase ("usually fine at home if you think you
         * have scabies ..., everyone treated on the same day": self-care),
         * not the most urgent cue in its sentence. */
        if (suspect_pos) {
            mine.suspect = clause_level(cues, ncues, suspect_pos - 1, suspect_pos, current);
            snprintf(mine.suspect_reason, sizeof mine.suspect_reason, "%s", sent[i]);
        }
        int child_only = title_for_children || for_children(sent[i], scratch);
        char *copy = strdup(sent[i]);
        char *cl[48], seps[48];
        size_t nc = copy ? split_clauses(copy, cl, seps, 48) : 0;
        int context_unmet = 0; /* 0: none, 1: unmet, 2: met */
        for (size_t k = 0; k < nc; k++) {
            size_t from = (size_t)(cl[k] - copy);
            triage_level_t lv = clause_level(cues, ncues, from, from + strlen(cl[k]), current);
            /* "Ask a pharmacist about treatment, and see a GP if ...": the
             * least urgent advice is the pharmacist's. */
            if (is_about && (mine.least == TRIAGE_NONE || lv < mine.least)) {
                mine.least = lv;
                snprintf(mine.least_reason, sizeof mine.least_reason, "%s", sent[i]);
            }
            char joined[1024];
            const char *clause = clause_in_context(cl, seps, nc, k, scratch, joined, sizeof joined);
            /* "arm or leg" alone says where, not what: nothing to meet. */
            if (only_body_parts(clause, scratch))
                continue;
            int specific = 0, specific_alone = 0;
            double v = clause_score(q, f, clause, named ? name_words : NULL, child_only, &specific);
            /* Emergencies are read both ways: an item said alone
             * ("grunting") is not missed for want of its context, unless
             * it only names a part of the body ("face, arm or leg"). */
            if (clause != cl[k] && lv == TRIAGE_EMERGENCY && !only_body_parts(cl[k], scratch)) {
                double alone = clause_score(q, f, cl[k], named ? name_words : NULL, child_only, &specific_alone);
                if (alone > v) {
                    v = alone;
                    specific = specific_alone;
                }
            }
            /* "if after a wrist injury there is numbness, tingling in the
             * hand, ...": items with no subject of their own carry the
             * situation (contexts) of the item before them, unmet (1) or met
             * (2; "if you are pregnant or have recently given birth"). */
            if (context_unmet && starts_with_subject(cl[k], scratch))
                context_unmet = 0;
            if (context_unmet == 1)
                v = 0;
            if (specific & 16)
                context_unmet = 2;
            else if ((specific & 8) && context_unmet != 2 && situation_follows(cl, k))
                context_unmet = 1;
            /* Emergencies are missed less often at the price of some false
             * alarms: in the guidance of the answer's own entries, one word
             * of a red flag said in full is enough. */
            double need = lv == TRIAGE_EMERGENCY && named && (specific & 3) == 3 ? emergency_min_score : min_score;
            int better = v > best->score || (v == best->score && lv > best->level);
            log_msg(LOG_DEBUG, "triage: %s %s %.2f \"%.80s\"", e->id, triage_level_name(lv), v, clause);
            if (v >= need && better) {
                best->level = lv;
                best->score = v;
                *best_fit = fit;
                snprintf(best->entry, sizeof best->entry, "%s", e->id);
                snprintf(best->reason, sizeof best->reason, "%s", sent[i]);
            }
        }
        free(copy);
    }
    if (is_about) {
        snprintf(mine.entry, sizeof mine.entry, "%s", e->id);
        *about = mine;
    }
    free(scratch);
    free(text);
}

/* Whether "or" or "nor" stands between the last punctuation before
 * position at and at: the cue is an item of a list, which a negation
 * before the list may cover ("not feeling sick or feverish"). */
static int in_a_list(const char *low, const char *at)
{
    const char *b = at;
    while (b > low && !strchr(",.;:!?", b[-1]))
        b--;
    for (const char *p = b; p < at; p++)
        if (strncmp(p, " or ", 4) == 0 || strncmp(p, " nor ", 5) == 0)
            return 1;
    return 0;
}

/* Whether the text says a cue with no negation in the two words before it
 * ("not pregnant", "no pus"). */
static int cue_said(const char *low, const char *c)
{
    size_t len = strlen(c);
    for (const char *p = strstr(low, c); p; p = strstr(p + 1, c)) {
        if ((p > low && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[len]))
            continue;
        /* The words before the cue: two, or up to five through a list
         * ("not feeling sick or feverish"), to punctuation or a word such
         * as "but". */
        const char *s = p;
        int words = 0, negated = 0, most = in_a_list(low, p) ? 5 : 2;
        while (s > low && words < most) {
            const char *e = s;
            int punctuation = 0;
            while (e > low && !isalnum((unsigned char)e[-1]) && !punctuation)
                punctuation = strchr(",.;:!?()", *--e) != NULL;
            if (punctuation || e == low)
                break;
            const char *b = e;
            while (b > low && isalnum((unsigned char)b[-1]))
                b--;
            if (b == e)
                break;
            char w[24];
            size_t k = 0;
            for (const char *x = b; x < e && k + 1 < sizeof w; x++)
                w[k++] = *x;
            w[k] = '\0';
            if (in_list(&terminators, w) || (words >= 2 && strcmp(w, "and") == 0))
                break;
            negated |= in_list(&negations, w);
            words++;
            s = b;
        }
        if (!negated)
            return 1;
    }
    return 0;
}

/* Whether the text says one of the cues with no negation taking it back
 * (an urgent sign, a lay phrase of "implies"). */
static int any_said(const char *low, const cue_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (cue_said(low, l->v[i]))
            return 1;
    return 0;
}

/* Lay phrases and the words guidance uses for them ("only 2 wet nappies":
 * peeing less; "lips are dry": dehydration), added to the description's
 * words when said without a negation. */
static void add_implied(const char *low, twords_t *q)
{
    for (size_t i = 0; i < n_implies; i++) {
        if (!any_said(low, &implies[i].said))
            continue;
        /* "sex without condom": what follows "without" is absent. */
        int without = 0;
        for (const char *p = implies[i].means; *p;) {
            size_t n = strcspn(p, " ");
            if (n == 7 && strncmp(p, "without", 7) == 0) {
                without = 1;
            } else {
                size_t at = q->n;
                tw_push(q, p, n, 1);
                if (without && q->n > at)
                    q->v[at].absent = 1;
            }
            p += n;
            p += strspn(p, " ");
        }
    }
}

/* "35M", "52M,": an adult's age and sex in the shorthand of forums and
 * referral letters, a capital M straight after the age and before a space,
 * punctuation or the end ("100m" is a distance). A man is said as "man"
 * (guidance for men is read for him); a woman needs no word. Ages 16 to
 * 110 only. */
static void add_sex_shorthand(const char *text, twords_t *q)
{
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > text && isalnum((unsigned char)p[-1])))
            continue;
        char *end;
        long age = strtol(p, &end, 10);
        if (end - p <= 3 && *end == 'M' && !isalnum((unsigned char)end[1]) && age >= 16 && age <= 110) {
            tw_push(q, "man", 3, 1);
            return;
        }
        p = end - 1;
    }
}

/* Whether a word naming a child stands just before a number, perhaps with
 * "is", "was" or "aged" between ("baby 7 months", "daughter is 3 years"). */
static int child_before(const char *low, const char *num)
{
    const char *e = num;
    for (int words = 0; words < 2; words++) {
        while (e > low && !isalnum((unsigned char)e[-1]))
            e--;
        const char *b = e;
        while (b > low && isalnum((unsigned char)b[-1]))
            b--;
        if (b == e || e - b >= 24)
            return 0;
        char w[24];
        memcpy(w, b, (size_t)(e - b));
        w[e - b] = '\0';
        kb_stem(w);
        if (in_list(&children, w))
            return 1;
        if (strcmp(w, "is") && strcmp(w, "was") && strcmp(w, "aged") && strcmp(w, "age") && strcmp(w, "now") &&
            strcmp(w, "s"))
            return 0;
        e = b;
    }
    return 0;
}

/* Ages ("a 5 month old"), past events ("an operation 3 weeks ago") and
 * pregnancy weeks are not how long a problem has lasted: blanked before the
 * duration cues are read. */
static void blank_non_durations(char *low)
{
    static const char *const units[] = {"year", "month", "week", "day", "yr", "mo", NULL};
    static const char *const tails[] = {"old", "ago", "pregnant", "gestation", "postpartum", NULL};
    for (char *p = low; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > low && isalnum((unsigned char)p[-1])))
            continue;
        char *q = p;
        while (isdigit((unsigned char)*q))
            q++;
        while (*q == ' ' || *q == '-')
            q++;
        int unit = -1;
        for (int u = 0; units[u] && unit < 0; u++)
            if (strncmp(q, units[u], strlen(units[u])) == 0)
                unit = u;
        if (unit < 0)
            continue;
        char *r = q + strlen(units[unit]);
        while (isalpha((unsigned char)*r))
            r++;
        while (*r == ' ' || *r == '-')
            r++;
        for (int t = 0; tails[t]; t++)
            if (strncmp(r, tails[t], strlen(tails[t])) == 0) {
                memset(p, ' ', (size_t)(r - p) + strlen(tails[t]));
                break;
            }
        /* "baby 7 months", "my son is 3 years": an age said after the
         * child, with no "old". */
        if (child_before(low, p) && !after_age_not_age(r))
            memset(p, ' ', (size_t)(q - p) + strlen(units[unit]));
    }
}

/* Whether the word at p, in text, is one of the list as a whole word. */
static int word_at(const char *text, const char *p, const cue_list_t *l)
{
    if (p < text || (p > text && isalnum((unsigned char)p[-1])))
        return 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t n = strlen(l->v[i]);
        if (strncasecmp(p, l->v[i], n) == 0 && !isalnum((unsigned char)p[n]))
            return 1;
    }
    return 0;
}

/* The start of the word before p in text, past spaces; NULL at the start. */
static const char *word_before(const char *text, const char *p)
{
    const char *b = p;
    while (b > text && b[-1] == ' ')
        b--;
    const char *w = b;
    while (w > text && isalnum((unsigned char)w[-1]))
        w--;
    return w < b ? w : NULL;
}

/* Words that are not what guidance means by them: "got back from Ghana" is
 * a return, not the back of the body ("my back from the waist down" is);
 * "last week" is a time, not how long something lasts; "a coughing fit" is
 * no seizure. Blanked before the description is read (triage.json
 * "returns", "times" and "fit_not_seizure"). */
static void blank_homonyms(char *text)
{
    for (char *p = text; *p; p++) {
        if (p > text && isalnum((unsigned char)p[-1]))
            continue;
        if (strncasecmp(p, "back ", 5) == 0 &&
            (strncasecmp(p + 5, "from ", 5) == 0 || strncasecmp(p + 5, "home", 4) == 0)) {
            /* The word before: "got back from", "just back home". */
            const char *w = word_before(text, p);
            if (w && word_at(text, w, &returns))
                memset(p, ' ', 4);
        } else if ((strncasecmp(p, "fit", 3) == 0 && !isalnum((unsigned char)p[3])) ||
                   (strncasecmp(p, "fits", 4) == 0 && !isalnum((unsigned char)p[4]))) {
            /* "a coughing fit", "keep fit", "fit and well": no seizure. */
            const char *w = word_before(text, p);
            size_t len = isalnum((unsigned char)p[3]) ? 4 : 3;
            if ((w && word_at(text, w, &fit_not_seizure)) || strncasecmp(p + len, " and well", 9) == 0 ||
                strncasecmp(p + len, " and healthy", 12) == 0)
                memset(p, ' ', len);
        } else if (strncasecmp(p, "last ", 5) == 0 && word_at(text, p + 5, &times)) {
            /* "a cold last week" says when; "for the last week" how long. */
            const char *w = word_before(text, p);
            memset(p, ' ', 4);
            if (!w || !word_at(text, w, &spans))
                for (char *q = p + 5; isalnum((unsigned char)*q); q++)
                    *q = ' ';
        }
    }
}

int triage_assess(kb_t *kb, const char *question, const char *const *ids, size_t n_ids, triage_t *out)
{
    pthread_once(&once, load);
    memset(out, 0, sizeof *out);
    out->level = TRIAGE_NONE;
    int routine_sign = 0, self_care_sign = 0, urgent_sign = 0;
    char *low = lower_dup(question);
    if (low) {
        drop_apostrophes(low);
        out->mild = any_cue(low, &mild);
        out->personal = any_cue(low, &personal);
        out->severe = any_said(low, &severe); /* not "not spreading" */
        blank_non_durations(low);
        out->long_duration = any_cue(low, &long_duration);
        routine_sign = any_said(low, &routine_signs);
        /* "every few nights" says how often, not how recent. */
        self_care_sign = any_cue(low, &self_care_signs) && !any_cue(low, &recurring);
        urgent_sign = any_said(low, &urgent_signs);
    }
    twords_t *q = malloc(sizeof *q);
    if (!q) {
        free(low);
        return MUSE_ENOMEM;
    }
    char *text = strdup(question);
    if (text)
        blank_homonyms(text);
    tw_split(text ? text : question, q);
    free(text);
    mark_absent(q);
    size_t typed = q->n; /* words of the description itself, before any added */
    if (low)
        add_implied(low, q);
    add_sex_shorthand(question, q);
    free(low);
    /* "my knee hurts" and "sore throat for 3 days" describe; "what causes
     * gout?" asks. */
    if (!out->personal && q->n > 0 && !in_list(&question_words, q->v[0].w))
        out->personal = 1;
    facts_t f;
    question_facts(q, &f);
    /* "temp 38.6" says "a high temperature" (38 C or more, as the NHS
     * defines it for adults and children). */
    if (f.temp_c >= 38.0)
        tw_push(q, "high", 4, 1);
    if (f.temp_c >= 0)
        tw_push(q, "temperature", 11, 1);
    /* The answer's own entries first, then what a search of the whole
     * description finds: a description names symptoms, and the entry whose
     * guidance fits ("calf swollen and warm after an operation": deep vein
     * thrombosis) is often not the one the answer leads with. */
    const char *cand[TRIAGE_CANDIDATES];
    size_t nc = 0;
    for (size_t i = 0; i < n_ids && nc < TRIAGE_CANDIDATES; i++)
        cand[nc++] = ids[i];
    kb_hits_t hits = {0};
    kb_search_opts_t so = {.limit = TRIAGE_SEARCHED, .no_snippets = 1};
    /* The search is for what the description says is there: "breathing
     * fine, no chest pain" does not look for chest pain. */
    size_t cap = q->n * (sizeof q->v[0].w + 1) + 1, len = 0;
    char *said = malloc(cap);
    if (!said) {
        free(q);
        return MUSE_ENOMEM;
    }
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].absent != 1 && !q->v[i].num)
            len += (size_t)snprintf(said + len, cap - len, "%s%s", len ? " " : "", q->v[i].w);
    said[len] = '\0';
    if (out->personal && len > 0 && kb_search(kb, said, &so, &hits, NULL) == MUSE_OK) {
        for (size_t i = 0; i < hits.n && nc < TRIAGE_CANDIDATES; i++) {
            if (strcmp(hits.v[i].kind, "condition") && strcmp(hits.v[i].kind, "symptom"))
                continue;
            int dup = 0;
            for (size_t k = 0; k < nc; k++)
                dup |= strcmp(cand[k], hits.v[i].id) == 0;
            if (!dup)
                cand[nc++] = hits.v[i].id;
        }
    }
    /* The search ranks by words anywhere in an entry; of what it finds,
     * the entries whose symptoms or name the description shares most are
     * read ("belly button ... lower right": appendicitis before hernia). */
    about_t about = {.suspect = TRIAGE_NONE, .least = TRIAGE_NONE};
    int best_fit = 0;
    view_t *views = calloc(nc ? nc : 1, sizeof *views);
    if (!views) {
        kb_hits_free(&hits);
        free(said);
        free(q);
        return MUSE_ENOMEM;
    }
    size_t nv = 0;
    for (size_t i = 0; i < nc; i++) {
        kb_entry_t *e = NULL;
        if (kb_get(kb, cand[i], &e, NULL) != MUSE_OK)
            continue;
        if (view_read(e, q, typed, &views[nv]) != MUSE_OK) {
            view_free(&views[nv]);
            continue;
        }
        views[nv].named = i < n_ids;
        log_msg(LOG_DEBUG, "triage: candidate %s (overlap %d, name said %d)", e->id, views[nv].overlap,
                views[nv].name_said);
        /* Insertion by fit among the searched entries, stable. */
        size_t k = nv++;
        while (k > 0 && !views[k].named && !views[k - 1].named && views[k - 1].fit < views[k].fit) {
            view_t t = views[k - 1];
            views[k - 1] = views[k];
            views[k] = t;
            k--;
        }
    }
    for (size_t i = 0, searched = 0; i < nv; i++) {
        if (views[i].named || searched++ < TRIAGE_READ)
            assess_entry(&views[i], q, &f, out, &about, &best_fit);
        view_free(&views[i]);
    }
    free(views);
    kb_hits_free(&hits);
    free(said);
    /* A weak match in guidance the description fits less than another
     * entry's does not outweigh that entry's "if you think you have it"
     * advice ("sore throat, fever and a sandpaper rash": scarlet fever's
     * urgent advice, not a sore throat's "see a doctor"). */
    if (out->level != TRIAGE_NONE && out->level < TRIAGE_EMERGENCY && about.suspect > out->level &&
        about.suspect < TRIAGE_EMERGENCY && about.fit > best_fit && out->score <= weak_score &&
        strcmp(about.entry, out->entry)) {
        log_msg(LOG_DEBUG, "triage: %s fits better (%d > %d): its advice if suspected", about.entry, about.fit,
                best_fit);
        out->level = about.suspect;
        out->score = 0;
        snprintf(out->entry, sizeof out->entry, "%s", about.entry);
        snprintf(out->reason, sizeof out->reason, "%s", about.suspect_reason);
    }
    /* A description no guidance sentence fits still gets a level. */
    if (out->level == TRIAGE_NONE && out->personal && nc > 0) {
        int denies = 0;
        for (size_t i = 0; i < typed; i++)
            denies |= (q->v[i].absent == 1 || q->v[i].absent == 4) && is_content(&q->v[i]);
        int self_care = self_care_sign || out->mild || denies;
        log_msg(LOG_DEBUG, "triage: fallback: self-care signs %d, mild %d, denies %d, routine signs %d, long %d, "
                "urgent signs %d", self_care_sign, out->mild, denies, routine_sign, out->long_duration, urgent_sign);
        /* The entry the description is plainly about: its "if you think
         * you have it" advice, or its self-care advice when it has some,
         * unless the description shows an urgent sign. "If you think you
         * have ruptured your Achilles tendon, call 999" is for someone who
         * names it, not for every swollen ankle. */
        if (about.suspect == TRIAGE_EMERGENCY && !about.name_said)
            about.suspect = TRIAGE_NONE;
        log_msg(LOG_DEBUG, "triage: about %s (fit %d): if suspected %s, least %s", about.entry, about.fit,
                triage_level_name(about.suspect), triage_level_name(about.least));
        triage_level_t lv = about.suspect != TRIAGE_NONE ? about.suspect
                            : about.least == TRIAGE_SELF_CARE ? TRIAGE_SELF_CARE
                                                              : TRIAGE_NONE;
        if (lv != TRIAGE_NONE && !(urgent_sign && !out->long_duration && lv < TRIAGE_URGENT)) {
            out->level = lv;
            snprintf(out->entry, sizeof out->entry, "%s", about.entry);
            snprintf(out->reason, sizeof out->reason, "%s",
                     about.suspect != TRIAGE_NONE ? about.suspect_reason : about.least_reason);
            out->mild = out->level == TRIAGE_SELF_CARE;
            free(q);
            return MUSE_OK;
        }
        if (urgent_sign && !out->long_duration)
            out->level = TRIAGE_URGENT;
        else
            out->level = routine_sign || out->long_duration || !self_care ? TRIAGE_ROUTINE : TRIAGE_SELF_CARE;
        snprintf(out->reason, sizeof out->reason, "%s",
                 out->level == TRIAGE_URGENT    ? message_urgent
                 : out->level == TRIAGE_ROUTINE ? message_routine
                                                : message_self_care);
        out->mild = out->level == TRIAGE_SELF_CARE;
    }
    free(q);
    return MUSE_OK;
}
