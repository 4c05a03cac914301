/* Calendar arithmetic and ISO 8601 for readings. Civil-date conversion is
 * Howard Hinnant's days_from_civil algorithm: exact for the proleptic
 * Gregorian calendar and independent of the process's time zone and locale,
 * which mktime()/timegm() are not guaranteed to be. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medical/medical_internal.h"

int64_t med_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void med_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int med_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int med_valid_date(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static int digits(const char **p, int min, int max, int *out)
{
    int n = 0, v = 0;
    while (n < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    *out = v;
    return n >= min;
}

int med_parse_iso_time(const char *s, med_reading_t *r)
{
    int y, mo, d, hh = -1, mi = 0, ss = 0, off = 0, zone = 0;
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    int a;
    const char *start = p;
    if (!digits(&p, 1, 4, &a))
        return -1;
    if (p - start == 4 && (*p == '-' || *p == '/' || *p == '.')) {
        char sep = *p++;
        y = a;
        if (!digits(&p, 1, 2, &mo) || *p++ != sep || !digits(&p, 1, 2, &d))
            return -1;
    } else if (p - start <= 2 && (*p == '/' || *p == '.' || *p == '-')) {
        /* 11/02/2026 is month/day in the US, day/month elsewhere: read as
         * month/day unless the first number cannot be a month. A dotted
         * date (02.11.2026) is always day.month. */
        char sep = *p++;
        int b;
        if (!digits(&p, 1, 2, &b) || *p++ != sep || !digits(&p, 2, 4, &y))
            return -1;
        if (y < 100)
            y += 2000;
        if (sep == '.' || a > 12) {
            d = a;
            mo = b;
        } else {
            mo = a;
            d = b;
        }
    } else {
        return -1;
    }
    if (!med_valid_date(y, mo, d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        const char *q = p + 1;
        while (*q == ' ')
            q++;
        if (isdigit((unsigned char)*q)) {
            p = q;
            if (!digits(&p, 1, 2, &hh) || *p++ != ':' || !digits(&p, 2, 2, &mi))
                return -1;
            if (*p == ':') {
                p++;
                if (!digits(&p, 2, 2, &ss))
                    return -1;
                if (*p == '.' || *p == ',') {
                    p++;
                    while (isdigit((unsigned char)*p))
                        p++;
                }
            }
            while (*p == ' ')
                p++;
            if ((p[0] == 'a' || p[0] == 'A' || p[0] == 'p' || p[0] == 'P') &&
                (p[1] == 'm' || p[1] == 'M')) {
                if (hh < 1 || hh > 12)
                    return -1;
                hh = hh % 12 + ((p[0] == 'p' || p[0] == 'P') ? 12 : 0);
                p += 2;
                while (*p == ' ')
                    p++;
            }
            if (hh > 23 || mi > 59 || ss > 60)
                return -1;
            if (*p == 'Z' || *p == 'z') {
                zone = 1;
                p++;
            } else if (*p == '+' || *p == '-') {
                int sign = *p == '-' ? -1 : 1, oh, om = 0;
                p++;
                if (!digits(&p, 2, 2, &oh))
                    return -1;
                if (*p == ':')
                    p++;
                if (isdigit((unsigned char)*p) && !digits(&p, 2, 2, &om))
                    return -1;
                if (oh > 14 || om > 59)
                    return -1;
                off = sign * (oh * 60 + om);
                zone = 1;
            }
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p)
        return -1;
    int64_t t = med_days_from_civil(y, mo, d) * 86400;
    r->time_flags = MED_TIME_DATE;
    r->tod_min = -1;
    r->utc_offset_min = 0;
    if (hh >= 0) {
        t += hh * 3600 + mi * 60 + ss;
        r->tod_min = hh * 60 + mi;
        r->time_flags |= MED_TIME_CLOCK;
    }
    if (zone) {
        t -= (int64_t)off * 60;
        r->utc_offset_min = off;
        r->time_flags |= MED_TIME_ZONE;
    }
    r->time = t;
    return 0;
}

void med_format_time(const med_reading_t *r, char *buf, size_t cap)
{
    if (r->time < 0 || !(r->time_flags & MED_TIME_DATE)) {
        if (cap)
            buf[0] = '\0';
        return;
    }
    int64_t local = r->time + ((r->time_flags & MED_TIME_ZONE) ? (int64_t)r->utc_offset_min * 60 : 0);
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t secs = local - days * 86400;
    int y, m, d;
    med_civil_from_days(days, &y, &m, &d);
    if (!(r->time_flags & MED_TIME_CLOCK)) {
        snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
        return;
    }
    char zone[16] = "";
    if (r->time_flags & MED_TIME_ZONE) {
        int o = r->utc_offset_min % (24 * 60);
        if (o == 0)
            snprintf(zone, sizeof zone, "Z");
        else
            snprintf(zone, sizeof zone, "%c%02d:%02d", o < 0 ? '-' : '+', abs(o) / 60, abs(o) % 60);
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d%s", y, m, d, (int)(secs / 3600),
             (int)(secs % 3600 / 60), zone);
}

int medical_parse_datetime(const char *s, int64_t *out, muse_error_t *err)
{
    med_reading_t r;
    med_reading_init(&r, MED_BP);
    if (!s || med_parse_iso_time(s, &r) != 0)
        return muse_err(err, MUSE_EPARSE, "\"%s\" is not a date-time (expected ISO 8601 such as 2026-11-02T07:30)",
                        s ? s : "");
    *out = r.time;
    return MUSE_OK;
}
