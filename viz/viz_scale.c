/* Scales and ticks.
 *
 * Numeric ticks use the extended Wilkinson algorithm (Talbot, Lin &
 * Hanrahan, "An Extension of Wilkinson's Algorithm for Positioning Tick
 * Labels on Axes", IEEE InfoVis 2010): it scores candidate label sets on
 * simplicity (steps of 1, 5, 2, 2.5, 4, 3 and whether zero is a label),
 * coverage of the data and density against the wanted count, so an axis
 * reads 100, 120, 140 ... rather than 97, 114, 131. Time ticks pick a
 * calendar unit (minutes, hours, days, weeks, months, years) and a step of
 * it whose count fits the axis, aligned to midnight, Mondays, the first of
 * the month and whole years, the way people read dates. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz/viz_int.h"

static const double Q[] = {1, 5, 2, 2.5, 4, 3};
#define NQ 6
static const double W[4] = {0.25, 0.2, 0.5, 0.05};

static double fmod_pos(double a, double b)
{
    double r = fmod(a, b);
    return r < 0 ? r + b : r;
}

static double simplicity(int qi, int j, double lmin, double lmax, double lstep)
{
    const double eps = 1e-10;
    double m = fmod_pos(lmin, lstep);
    int v = (m < eps * lstep || lstep - m < eps * lstep) && lmin <= 0 && lmax >= 0;
    return 1.0 - (double)qi / (NQ - 1) - j + v;
}

static double simplicity_max(int qi, int j)
{
    return 1.0 - (double)qi / (NQ - 1) - j + 1.0;
}

static double coverage(double dmin, double dmax, double lmin, double lmax)
{
    double r = dmax - dmin;
    return 1.0 - 0.5 * (pow(dmax - lmax, 2) + pow(dmin - lmin, 2)) / pow(0.1 * r, 2);
}

static double coverage_max(double dmin, double dmax, double span)
{
    double r = dmax - dmin;
    if (span > r) {
        double half = (span - r) / 2;
        return 1.0 - 0.5 * (2 * half * half) / pow(0.1 * r, 2);
    }
    return 1.0;
}

static double density(int k, int m, double dmin, double dmax, double lmin, double lmax)
{
    double r = (k - 1) / (lmax - lmin);
    double rt = (m - 1) / (fmax(lmax, dmax) - fmin(dmin, lmin));
    return 2.0 - fmax(r / rt, rt / r);
}

static double density_max(int k, int m)
{
    return k >= m ? 2.0 - (double)(k - 1) / (m - 1) : 1.0;
}

int viz_ticks_wilkinson(double dmin, double dmax, int m, int loose, double *start, double *step,
                        int *count)
{
    *count = 0;
    if (!isfinite(dmin) || !isfinite(dmax) || dmax - dmin < 1e-12 * fmax(1.0, fabs(dmax)) || m < 2)
        return 0;
    double best = -2;
    int found = 0;
    /* The pruning bounds end these loops; the caps are a seat belt for
     * pathological floating-point input. */
    for (int j = 1; j < 12; j++) {
        int pruned_all = 0;
        for (int qi = 0; qi < NQ; qi++) {
            double q = Q[qi];
            double sm = simplicity_max(qi, j);
            if (W[0] * sm + W[1] + W[2] + W[3] < best) {
                pruned_all = 1;
                break;
            }
            for (int k = 2; k < 4 * m + 10; k++) {
                double dm = density_max(k, m);
                if (W[0] * sm + W[1] + W[2] * dm + W[3] < best)
                    break;
                double delta = (dmax - dmin) / (k + 1) / j / q;
                double z = ceil(log10(delta));
                for (int zi = 0; zi < 40; zi++, z++) {
                    double st = j * q * pow(10, z);
                    double cm = coverage_max(dmin, dmax, st * (k - 1));
                    if (W[0] * sm + W[1] * cm + W[2] * dm + W[3] < best)
                        break;
                    double min_start = floor(dmax / st) * j - (double)(k - 1) * j;
                    double max_start = ceil(dmin / st) * j;
                    if (min_start > max_start || max_start - min_start > 1000)
                        continue;
                    for (double s = min_start; s <= max_start; s++) {
                        double lmin = s * (st / j), lmax = lmin + st * (k - 1);
                        double sc = W[0] * simplicity(qi, j, lmin, lmax, st) +
                                    W[1] * coverage(dmin, dmax, lmin, lmax) +
                                    W[2] * density(k, m, dmin, dmax, lmin, lmax) + W[3];
                        if (sc > best && (!loose || (lmin <= dmin + 1e-9 * st && lmax >= dmax - 1e-9 * st))) {
                            best = sc;
                            *start = lmin;
                            *step = st;
                            *count = k;
                            found = 1;
                        }
                    }
                }
            }
        }
        if (pruned_all)
            break;
    }
    return found ? *count : 0;
}

void viz_scale_clear(viz_scale_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nticks; i++)
        free(s->labels ? s->labels[i] : NULL);
    free(s->labels);
    free(s->ticks);
    s->labels = NULL;
    s->ticks = NULL;
    s->nticks = 0;
}

double viz_scale_map(const viz_scale_t *s, double v)
{
    double t;
    switch (s->type) {
    case VIZ_SCALE_LOG:
        if (!(v > 0))
            return s->r0 - (s->r1 - s->r0) * 10;   /* below the axis, clipped */
        t = (log10(v) - log10(s->d0)) / (log10(s->d1) - log10(s->d0));
        break;
    case VIZ_SCALE_BAND:
        return viz_scale_band_start(s, (size_t)(v < 0 ? 0 : v)) + viz_scale_bandwidth(s) / 2;
    default:
        t = (v - s->d0) / (s->d1 - s->d0);
    }
    return s->r0 + t * (s->r1 - s->r0);
}

double viz_scale_bandwidth(const viz_scale_t *s)
{
    size_t n = s->ncats ? s->ncats : 1;
    double stepw = (s->r1 - s->r0) / n;
    return stepw * (1 - s->padding);
}

double viz_scale_band_start(const viz_scale_t *s, size_t i)
{
    size_t n = s->ncats ? s->ncats : 1;
    double stepw = (s->r1 - s->r0) / n;
    return s->r0 + stepw * i + stepw * s->padding / 2;
}

static int push_tick(viz_scale_t *s, double v, const char *label)
{
    double *t = realloc(s->ticks, (s->nticks + 1) * sizeof *t);
    if (!t)
        return MUSE_ENOMEM;
    s->ticks = t;
    char **l = realloc(s->labels, (s->nticks + 1) * sizeof *l);
    if (!l)
        return MUSE_ENOMEM;
    s->labels = l;
    l[s->nticks] = viz_strdup(label);
    if (!l[s->nticks])
        return MUSE_ENOMEM;
    t[s->nticks++] = v;
    return MUSE_OK;
}

/* ---- Time ------------------------------------------------------------------ */

typedef struct tstep {
    viz_tunit_t unit;
    int n;
    double secs;   /* approximate length */
} tstep_t;

static const tstep_t tsteps[] = {
    {VIZ_TU_SECOND, 1, 1},       {VIZ_TU_SECOND, 5, 5},       {VIZ_TU_SECOND, 15, 15},
    {VIZ_TU_SECOND, 30, 30},     {VIZ_TU_MINUTE, 1, 60},      {VIZ_TU_MINUTE, 5, 300},
    {VIZ_TU_MINUTE, 15, 900},    {VIZ_TU_MINUTE, 30, 1800},   {VIZ_TU_HOUR, 1, 3600},
    {VIZ_TU_HOUR, 3, 10800},     {VIZ_TU_HOUR, 6, 21600},     {VIZ_TU_HOUR, 12, 43200},
    {VIZ_TU_DAY, 1, 86400},      {VIZ_TU_DAY, 2, 172800},     {VIZ_TU_WEEK, 1, 604800},
    {VIZ_TU_WEEK, 2, 1209600},   {VIZ_TU_MONTH, 1, 2629746},  {VIZ_TU_MONTH, 3, 7889238},
    {VIZ_TU_MONTH, 6, 15778476}, {VIZ_TU_YEAR, 1, 31556952},  {VIZ_TU_YEAR, 2, 63113904},
    {VIZ_TU_YEAR, 5, 157784760}, {VIZ_TU_YEAR, 10, 315569520}, {VIZ_TU_YEAR, 25, 788923800},
    {VIZ_TU_YEAR, 50, 1577847600}, {VIZ_TU_YEAR, 100, 3155695200},
};

void viz_time_unit(double span, int target, viz_tunit_t *unit, int *step)
{
    size_t n = sizeof tsteps / sizeof tsteps[0];
    if (target < 2)
        target = 2;
    for (size_t i = 0; i < n; i++)
        if (span / tsteps[i].secs <= target) {
            *unit = tsteps[i].unit;
            *step = tsteps[i].n;
            return;
        }
    /* Centuries and beyond: whole multiples of a hundred years. */
    *unit = VIZ_TU_YEAR;
    *step = (int)fmin(1e6, ceil(span / 3155695200.0 / target) * 100);
}

static double floor_to_unit(double t, viz_tunit_t unit, int n)
{
    double day = floor(t / 86400.0);
    int64_t y;
    unsigned m, d;
    switch (unit) {
    case VIZ_TU_SECOND:
    case VIZ_TU_MINUTE:
    case VIZ_TU_HOUR: {
        double st = (unit == VIZ_TU_SECOND ? 1 : unit == VIZ_TU_MINUTE ? 60 : 3600) * (double)n;
        return floor(t / st) * st;
    }
    case VIZ_TU_DAY:
        return floor(day / n) * n * 86400.0;
    case VIZ_TU_WEEK:
        /* 1970-01-05 was a Monday: weeks start on Mondays (ISO 8601). */
        return (floor((day - 4) / (7.0 * n)) * 7.0 * n + 4) * 86400.0;
    case VIZ_TU_MONTH:
        viz_civil_from_days((int64_t)day, &y, &m, &d);
        m = (unsigned)(((m - 1) / (unsigned)n) * (unsigned)n + 1);
        return (double)viz_days_from_civil(y, m, 1) * 86400.0;
    case VIZ_TU_YEAR:
        viz_civil_from_days((int64_t)day, &y, &m, &d);
        y = (int64_t)(floor((double)y / n) * n);
        return (double)viz_days_from_civil(y, 1, 1) * 86400.0;
    }
    return t;
}

static double add_unit(double t, viz_tunit_t unit, int n)
{
    int64_t y;
    unsigned m, d;
    switch (unit) {
    case VIZ_TU_SECOND: return t + n;
    case VIZ_TU_MINUTE: return t + 60.0 * n;
    case VIZ_TU_HOUR: return t + 3600.0 * n;
    case VIZ_TU_DAY: return t + 86400.0 * n;
    case VIZ_TU_WEEK: return t + 604800.0 * n;
    case VIZ_TU_MONTH: {
        viz_civil_from_days((int64_t)floor(t / 86400.0), &y, &m, &d);
        int64_t mm = (int64_t)m - 1 + n;
        y += mm / 12;
        m = (unsigned)(mm % 12) + 1;
        return (double)viz_days_from_civil(y, m, 1) * 86400.0;
    }
    case VIZ_TU_YEAR:
        viz_civil_from_days((int64_t)floor(t / 86400.0), &y, &m, &d);
        return (double)viz_days_from_civil(y + n, 1, 1) * 86400.0;
    }
    return t + n;
}

static int year_of(double t)
{
    int64_t y;
    unsigned m, d;
    viz_civil_from_days((int64_t)floor(t / 86400.0), &y, &m, &d);
    return (int)y;
}

static int time_ticks(viz_scale_t *s, int target)
{
    double span = s->d1 - s->d0;
    viz_time_unit(span, target, &s->tunit, &s->tstep);
    if (s->dates_only && s->tunit < VIZ_TU_DAY) {
        s->tunit = VIZ_TU_DAY;
        s->tstep = 1;
    }
    s->step = span;   /* not used for time */
    double t = floor_to_unit(s->d0, s->tunit, s->tstep);
    if (t < s->d0 - 1e-6)
        t = add_unit(t, s->tunit, s->tstep);
    int multi_year = year_of(s->d0) != year_of(s->d1);
    int prev_year = -1, prev_day = -1;
    for (int guard = 0; t <= s->d1 + 1e-6 && guard < 200; guard++) {
        char label[48];
        int yr = year_of(t);
        int day = (int)floor(t / 86400.0);
        switch (s->tunit) {
        case VIZ_TU_SECOND:
        case VIZ_TU_MINUTE:
        case VIZ_TU_HOUR:
            if (fmod_pos(t, 86400.0) < 0.5 && day != prev_day)
                viz_format_time(t, VIZ_TU_DAY, 0, label, sizeof label);   /* midnight: the date */
            else
                viz_format_time(t, s->tunit, prev_day < 0, label, sizeof label);
            break;
        case VIZ_TU_DAY:
        case VIZ_TU_WEEK:
            /* The year on the first label and where it changes. */
            viz_format_time(t, s->tunit, multi_year && yr != prev_year, label, sizeof label);
            break;
        case VIZ_TU_MONTH:
            viz_format_time(t, s->tunit, yr != prev_year, label, sizeof label);
            break;
        case VIZ_TU_YEAR:
            viz_format_time(t, s->tunit, 1, label, sizeof label);
            break;
        }
        if (push_tick(s, t, label) != MUSE_OK)
            return MUSE_ENOMEM;
        prev_year = yr;
        prev_day = day;
        double nt = add_unit(t, s->tunit, s->tstep);
        if (!(nt > t))
            break;
        t = nt;
    }
    return MUSE_OK;
}

/* ---- Numbers -------------------------------------------------------------- */

static int step_decimals(double step)
{
    if (!(step > 0))
        return 0;
    int dec = 0;
    double v = step;
    while (dec < 8 && fabs(v - round(v)) > 1e-6 * fmax(1, fabs(v))) {
        v *= 10;
        dec++;
    }
    return dec;
}

static int linear_ticks(viz_scale_t *s, int target, int nice, int decimals)
{
    double start = 0, step = 0;
    int k = 0;
    if (target < 2)
        target = 2;
    if (!viz_ticks_wilkinson(s->d0, s->d1, target, nice, &start, &step, &k))
        return MUSE_OK;
    if (nice) {
        s->d0 = fmin(s->d0, start);
        s->d1 = fmax(s->d1, start + step * (k - 1));
    }
    s->step = step;
    s->decimals = decimals >= 0 ? decimals : step_decimals(step);
    double big = fmax(fabs(start), fabs(start + step * (k - 1)));
    double group_from = big >= 10000 ? 1000 : 10000;
    for (int i = 0; i < k; i++) {
        double v = start + step * i;
        if (fabs(v) < step * 1e-9)
            v = 0;
        if (v < s->d0 - step * 1e-9 || v > s->d1 + step * 1e-9)
            continue;
        char label[64];
        viz_format_number_g(v, s->decimals, group_from, label, sizeof label);
        if (push_tick(s, v, label) != MUSE_OK)
            return MUSE_ENOMEM;
    }
    return MUSE_OK;
}

static int log_ticks(viz_scale_t *s, int target, int nice)
{
    double l0 = log10(s->d0), l1 = log10(s->d1);
    if (nice) {
        s->d0 = pow(10, floor(l0 + 1e-9));
        s->d1 = pow(10, ceil(l1 - 1e-9));
        l0 = log10(s->d0);
        l1 = log10(s->d1);
    }
    int decades = (int)ceil(l1 - l0);
    int every = decades > target ? (int)ceil((double)decades / target) : 1;
    /* Few decades: label 1, 2, 5 within each. */
    static const double sub[] = {1, 2, 5};
    int nsub = decades <= target / 3 ? 3 : 1;
    for (int e = (int)floor(l0) - 1; e <= (int)ceil(l1) && e < 400; e++) {
        if (e % every)
            continue;
        for (int i = 0; i < nsub; i++) {
            double v = sub[i] * pow(10, e);
            if (v < s->d0 * (1 - 1e-9) || v > s->d1 * (1 + 1e-9))
                continue;
            char label[64];
            viz_format_number(v, e < 0 ? -e : 0, label, sizeof label);
            if (push_tick(s, v, label) != MUSE_OK)
                return MUSE_ENOMEM;
        }
    }
    return MUSE_OK;
}

int viz_scale_ticks(viz_scale_t *s, int target, int nice, int decimals)
{
    viz_scale_clear(s);
    switch (s->type) {
    case VIZ_SCALE_TIME:
        return time_ticks(s, target);
    case VIZ_SCALE_LOG:
        return log_ticks(s, target, nice);
    case VIZ_SCALE_BAND:
        for (size_t i = 0; i < s->ncats; i++)
            if (push_tick(s, (double)i, s->cats[i]) != MUSE_OK)
                return MUSE_ENOMEM;
        return MUSE_OK;
    default:
        return linear_ticks(s, target, nice, decimals);
    }
}
