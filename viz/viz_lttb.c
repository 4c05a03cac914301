/* Downsampling for long series: Largest-Triangle-Three-Buckets (Sveinn
 * Steinarsson, "Downsampling Time Series for Visual Representation", MSc
 * thesis, University of Iceland, 2013).
 *
 * LTTB keeps the shape of a line far better than taking every n-th point,
 * but it can still drop the single highest or lowest reading, and in a
 * health chart that reading (the 210/130 among a year of 130/80s) is the
 * one that matters. So the bucket holding the global minimum or maximum
 * keeps that point instead of its triangle winner. */
#include <math.h>
#include <stddef.h>

#include "viz/viz_int.h"

size_t viz_lttb(const double *x, const double *y, const size_t *idx, size_t n, size_t threshold,
                size_t *out)
{
    if (n == 0)
        return 0;
    if (threshold < 3)
        threshold = 3;
    if (n <= threshold) {
        for (size_t i = 0; i < n; i++)
            out[i] = idx[i];
        return n;
    }
    size_t imin = 0, imax = 0;
    for (size_t i = 1; i < n; i++) {
        if (y[idx[i]] < y[idx[imin]])
            imin = i;
        if (y[idx[i]] > y[idx[imax]])
            imax = i;
    }
    double every = (double)(n - 2) / (double)(threshold - 2);
    size_t k = 0, a = 0;
    out[k++] = idx[0];
    for (size_t b = 0; b < threshold - 2; b++) {
        size_t rs = (size_t)floor(b * every) + 1;
        size_t re = (size_t)floor((b + 1) * every) + 1;
        if (re > n - 1)
            re = n - 1;
        if (rs >= re)
            continue;
        /* Average of the next bucket (the last point for the final one). */
        size_t ns = re;
        size_t ne = (size_t)floor((b + 2) * every) + 1;
        if (ne > n)
            ne = n;
        if (ns >= ne)
            ns = ne - 1;
        double ax = 0, ay = 0;
        for (size_t i = ns; i < ne; i++) {
            ax += x[idx[i]];
            ay += y[idx[i]];
        }
        ax /= (double)(ne - ns);
        ay /= (double)(ne - ns);

        int has_min = imin >= rs && imin < re, has_max = imax >= rs && imax < re;
        size_t pick = rs;
        if (has_min && has_max) {
            /* Both extremes here: keep both, in order. */
            size_t first = imin < imax ? imin : imax, second = imin < imax ? imax : imin;
            out[k++] = idx[first];
            if (second != first)
                out[k++] = idx[second];
            a = second;
            continue;
        } else if (has_min) {
            pick = imin;
        } else if (has_max) {
            pick = imax;
        } else {
            double best = -1;
            double px = x[idx[a]], py = y[idx[a]];
            for (size_t i = rs; i < re; i++) {
                double area = fabs((px - ax) * (y[idx[i]] - py) - (px - x[idx[i]]) * (ay - py));
                if (area > best) {
                    best = area;
                    pick = i;
                }
            }
        }
        out[k++] = idx[pick];
        a = pick;
    }
    out[k++] = idx[n - 1];
    return k;
}
