/* Small shared pieces of viz: a text buffer, UTF-8 cleaning and XML
 * escaping, calendar arithmetic, number and time formatting, colours.
 *
 * Calendar arithmetic is done here rather than with gmtime/timegm so the
 * same input lays out the same on every platform and in every time zone:
 * chart times are wall-clock times, never converted. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/viz_int.h"

/* ---- Buffer ------------------------------------------------------------- */

void vb_free(viz_buf_t *b)
{
    if (!b)
        return;
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

static int vb_reserve(viz_buf_t *b, size_t extra)
{
    if (b->oom)
        return MUSE_ENOMEM;
    if (b->len + extra + 1 <= b->cap)
        return MUSE_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return MUSE_ENOMEM;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return MUSE_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return MUSE_OK;
}

int vb_put(viz_buf_t *b, const char *s, size_t n)
{
    if (vb_reserve(b, n) != MUSE_OK)
        return MUSE_ENOMEM;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return MUSE_OK;
}

int vb_puts(viz_buf_t *b, const char *s)
{
    return vb_put(b, s, strlen(s));
}

int vb_printf(viz_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MUSE_EINTERNAL;
    if ((size_t)n < sizeof small)
        return vb_put(b, small, (size_t)n);
    if (vb_reserve(b, (size_t)n) != MUSE_OK)
        return MUSE_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return MUSE_OK;
}

int vb_put_xml(viz_buf_t *b, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        case '\n': rep = "&#10;"; break;
        default:
            /* XML 1.0 forbids the C0 controls other than tab, LF and CR. */
            if (c < 0x20 && c != '\t' && c != '\r')
                rep = "";
        }
        if (rep) {
            vb_put(b, run, (size_t)(p - run));
            vb_puts(b, rep);
            run = p + 1;
        }
    }
    vb_put(b, run, strlen(run));
    return b->oom ? MUSE_ENOMEM : MUSE_OK;
}

char *vb_steal(viz_buf_t *b, size_t *len)
{
    if (b->oom) {
        vb_free(b);
        return NULL;
    }
    if (!b->p && vb_reserve(b, 0) != MUSE_OK)
        return NULL;
    b->p[b->len] = '\0';
    char *p = b->p;
    if (len)
        *len = b->len;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

char *viz_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Length of the valid UTF-8 sequence at s, or 0. Rejects overlongs,
 * surrogates and code points past U+10FFFF. */
static size_t utf8_valid(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char *viz_utf8_clean(const char *s, int keep_newline)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1);   /* each bad byte may become 3 bytes */
    if (!out)
        return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t k = utf8_valid(p);
        if (k == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
            continue;
        }
        if (k == 1 && (*p < 0x20 || *p == 0x7F)) {
            if (*p == '\n' && keep_newline)
                out[o++] = '\n';
            else if (*p == '\t' || *p == '\n' || *p == '\r')
                out[o++] = ' ';
            p++;
            continue;
        }
        memcpy(out + o, p, k);
        o += k;
        p += k;
    }
    out[o] = '\0';
    return out;
}

/* ---- Calendar ------------------------------------------------------------- */

/* Howard Hinnant's days_from_civil / civil_from_days: exact for every
 * proleptic Gregorian date that fits. */
int64_t viz_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void viz_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int viz_parse_time(const char *s, double *t)
{
    int y, mo, d, h = 0, mi = 0, se = 0;
    double frac = 0;
    if (!s || strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return 0;
    static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return 0;
    const char *p = s + 10;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (!digits(p, 2, &h) || p[2] != ':' || !digits(p + 3, 2, &mi))
            return 0;
        p += 5;
        if (*p == ':') {
            if (!digits(p + 1, 2, &se))
                return 0;
            p += 3;
            if (*p == '.' || *p == ',') {
                p++;
                double scale = 0.1;
                if (!isdigit((unsigned char)*p))
                    return 0;
                while (isdigit((unsigned char)*p)) {
                    frac += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                }
            }
        }
        if (h > 24 || mi > 59 || se > 60 || (h == 24 && (mi || se)))
            return 0;
        /* The offset is read only to check the string; the wall clock stays. */
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om = 0;
            if (!digits(p + 1, 2, &oh))
                return 0;
            p += 3;
            if (*p == ':')
                p++;
            if (isdigit((unsigned char)*p)) {
                if (!digits(p, 2, &om))
                    return 0;
                p += 2;
            }
            if (oh > 14 || om > 59)
                return 0;
        }
    }
    if (*p)
        return 0;
    int64_t days = viz_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *t = (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + se + frac;
    return 1;
}

static const char *const month_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void split_time(double t, int64_t *y, unsigned *m, unsigned *d, int *hh, int *mm, int *ss)
{
    double days = floor(t / 86400.0);
    double rem = t - days * 86400.0;
    int secs = (int)floor(rem + 0.5);
    if (secs >= 86400) {
        secs -= 86400;
        days += 1;
    }
    viz_civil_from_days((int64_t)days, y, m, d);
    *hh = secs / 3600;
    *mm = secs / 60 % 60;
    *ss = secs % 60;
}

void viz_format_time(double t, viz_tunit_t unit, int with_year, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    int hh, mm, ss;
    if (!isfinite(t) || fabs(t) > 1e14) {
        snprintf(out, cap, "?");
        return;
    }
    split_time(t, &y, &m, &d, &hh, &mm, &ss);
    switch (unit) {
    case VIZ_TU_SECOND:
        snprintf(out, cap, "%02d:%02d:%02d", hh, mm, ss);
        break;
    case VIZ_TU_MINUTE:
    case VIZ_TU_HOUR:
        if (with_year)
            snprintf(out, cap, "%s %u %02d:%02d", month_abbr[m - 1], d, hh, mm);
        else
            snprintf(out, cap, "%02d:%02d", hh, mm);
        break;
    case VIZ_TU_DAY:
    case VIZ_TU_WEEK:
        if (with_year)
            snprintf(out, cap, "%s %u, %lld", month_abbr[m - 1], d, (long long)y);
        else
            snprintf(out, cap, "%s %u", month_abbr[m - 1], d);
        break;
    case VIZ_TU_MONTH:
        if (with_year)
            snprintf(out, cap, "%s %lld", month_abbr[m - 1], (long long)y);
        else
            snprintf(out, cap, "%s", month_abbr[m - 1]);
        break;
    case VIZ_TU_YEAR:
        snprintf(out, cap, "%lld", (long long)y);
        break;
    }
}

void viz_format_datetime(double t, int with_clock, char *out, size_t cap)
{
    int64_t y;
    unsigned m, d;
    int hh, mm, ss;
    if (!isfinite(t) || fabs(t) > 1e14) {
        snprintf(out, cap, "?");
        return;
    }
    split_time(t, &y, &m, &d, &hh, &mm, &ss);
    if (with_clock)
        snprintf(out, cap, "%s %u, %lld %02d:%02d", month_abbr[m - 1], d, (long long)y, hh, mm);
    else
        snprintf(out, cap, "%s %u, %lld", month_abbr[m - 1], d, (long long)y);
}

void viz_format_number(double v, int decimals, char *out, size_t cap)
{
    viz_format_number_g(v, decimals, 10000, out, cap);
}

void viz_format_number_g(double v, int decimals, double group_from, char *out, size_t cap)
{
    if (isnan(v)) {
        snprintf(out, cap, "–");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v > 0 ? "∞" : "−∞");
        return;
    }
    double a = fabs(v);
    if (decimals < 0)
        decimals = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 3 : 6;
    if (decimals > 10)
        decimals = 10;
    if (a >= 1e15 || (a > 0 && a < 1e-6)) {
        snprintf(out, cap, "%.3g", v);
        return;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *e = tmp + strlen(tmp) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(tmp, "-0") == 0)
        snprintf(tmp, sizeof tmp, "0");
    if (a >= group_from) {
        /* 12,500 reads faster than 12500 (but 2024 stays a year). */
        char grp[80];
        const char *digits = tmp[0] == '-' ? tmp + 1 : tmp;
        const char *end = strchr(digits, '.');
        size_t nd = end ? (size_t)(end - digits) : strlen(digits), o = 0;
        if (tmp[0] == '-')
            grp[o++] = '-';
        for (size_t i = 0; i < nd; i++) {
            grp[o++] = digits[i];
            if ((nd - i - 1) % 3 == 0 && i + 1 < nd)
                grp[o++] = ',';
        }
        snprintf(grp + o, sizeof grp - o, "%.12s", end ? end : "");
        memcpy(tmp, grp, sizeof tmp - 1);
        tmp[sizeof tmp - 1] = '\0';
    }
    if (tmp[0] == '-')   /* a real minus sign reads better than a hyphen */
        snprintf(out, cap, "−%s", tmp + 1);
    else
        snprintf(out, cap, "%s", tmp);
}

const char *viz_unit_display(const char *u)
{
    static const char *const map[][2] = {
        {"mm[Hg]", "mmHg"},       {"kg/m2", "kg/m²"},     {"Cel", "°C"},
        {"[degF]", "°F"},         {"/min", "/min"},         {"{beats}/min", "beats/min"},       {"umol/L", "µmol/L"},
        {"mL/min/{1.73_m2}", "mL/min/1.73 m²"}, {"[lb_av]", "lb"},
        {"10*3/uL", "×10³/µL"},   {"mmol/mol", "mmol/mol"},
    };
    if (!u)
        return "";
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(u, map[i][0]) == 0)
            return map[i][1];
    return u;
}

/* ---- Colours ---------------------------------------------------------------- */

viz_rgba_t viz_rgb(unsigned hex)
{
    viz_rgba_t c = {(unsigned char)(hex >> 16), (unsigned char)(hex >> 8), (unsigned char)hex, 255};
    return c;
}

/* Blue, vermillion, bluish green, reddish purple, orange, sky blue, black,
 * yellow: the darker ones first, since lines sit on light bands; yellow
 * last, as it is the faintest on white. */
const viz_rgba_t viz_okabe_ito[8] = {
    {0x00, 0x72, 0xB2, 255}, {0xD5, 0x5E, 0x00, 255}, {0x00, 0x9E, 0x73, 255},
    {0xCC, 0x79, 0xA7, 255}, {0xE6, 0x9F, 0x00, 255}, {0x56, 0xB4, 0xE9, 255},
    {0x00, 0x00, 0x00, 255}, {0xF0, 0xE4, 0x42, 255},
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int viz_color_parse(const char *s, viz_rgba_t *out)
{
    static const struct {
        const char *name;
        unsigned hex;
    } names[] = {
        {"blue", 0x0072B2},    {"vermillion", 0xD55E00}, {"vermilion", 0xD55E00},
        {"green", 0x009E73},   {"bluishgreen", 0x009E73}, {"purple", 0xCC79A7},
        {"reddishpurple", 0xCC79A7}, {"orange", 0xE69F00}, {"skyblue", 0x56B4E9},
        {"black", 0x000000},   {"yellow", 0xF0E442},     {"grey", 0x595959},
        {"gray", 0x595959},    {"white", 0xFFFFFF},      {"red", 0xD55E00},
    };
    if (!s)
        return 0;
    if (s[0] == '#') {
        size_t n = strlen(s + 1);
        int v[8];
        if (n != 3 && n != 6 && n != 8)
            return 0;
        for (size_t i = 0; i < n; i++)
            if ((v[i] = hexval((unsigned char)s[1 + i])) < 0)
                return 0;
        if (n == 3) {
            out->r = (unsigned char)(v[0] * 17);
            out->g = (unsigned char)(v[1] * 17);
            out->b = (unsigned char)(v[2] * 17);
            out->a = 255;
        } else {
            out->r = (unsigned char)(v[0] * 16 + v[1]);
            out->g = (unsigned char)(v[2] * 16 + v[3]);
            out->b = (unsigned char)(v[4] * 16 + v[5]);
            out->a = n == 8 ? (unsigned char)(v[6] * 16 + v[7]) : 255;
        }
        return 1;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = viz_rgb(names[i].hex);
            return 1;
        }
    return 0;
}

viz_rgba_t viz_tint(viz_rgba_t c, double t)
{
    viz_rgba_t o = c;
    o.r = (unsigned char)lround(c.r + (255 - c.r) * t);
    o.g = (unsigned char)lround(c.g + (255 - c.g) * t);
    o.b = (unsigned char)lround(c.b + (255 - c.b) * t);
    return o;
}

/* Severity runs bluish green, yellow, orange, vermillion, reddish purple:
 * all Okabe–Ito, tinted to about a fifth of their strength so that dark
 * text and the data lines stay readable on every band. */
static const unsigned severity_hex[5] = {0x009E73, 0xF0E442, 0xE69F00, 0xD55E00, 0xCC79A7};

static viz_rgba_t severity_base(int level, int max_level)
{
    if (max_level < 1)
        return viz_rgb(severity_hex[0]);
    if (level < 0)
        level = 0;
    if (level > max_level)
        level = max_level;
    /* Spread the levels over the five steps, keeping both ends. */
    int i = (int)lround((double)level * 4.0 / max_level);
    return viz_rgb(severity_hex[i < 0 ? 0 : i > 4 ? 4 : i]);
}

viz_rgba_t viz_severity_color(int level, int max_level)
{
    viz_rgba_t c = severity_base(level, max_level);
    /* Yellow loses itself on white; keep a little more of it. */
    return viz_tint(c, c.r == 0xF0 ? 0.62 : 0.78);
}

viz_rgba_t viz_severity_ink(int level, int max_level)
{
    viz_rgba_t c = severity_base(level, max_level);
    c.a = 120;
    return c;
}

static double lin(unsigned char c)
{
    double v = c / 255.0;
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

double viz_contrast_ratio(viz_rgba_t a, viz_rgba_t b)
{
    double la = 0.2126 * lin(a.r) + 0.7152 * lin(a.g) + 0.0722 * lin(a.b);
    double lb = 0.2126 * lin(b.r) + 0.7152 * lin(b.g) + 0.0722 * lin(b.b);
    if (la < lb) {
        double t = la;
        la = lb;
        lb = t;
    }
    return (la + 0.05) / (lb + 0.05);
}

int viz_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    int row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int prev = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cur = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = prev + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            prev = cur;
        }
    }
    return row[lb];
}

int viz_prefix_ok(const char *p)
{
    if (!p || !isalpha((unsigned char)p[0]))
        return 0;
    size_t n = 0;
    for (; p[n]; n++)
        if (!isalnum((unsigned char)p[n]) && p[n] != '-' && p[n] != '_')
            return 0;
    return n <= 32;
}
