/* Downsampling (viz/viz_lttb.c) and a million points end to end. */
#include <math.h>

#include "viz_test.h"
#include "viz/viz_int.h"

static void test_small_series_untouched(void **state)
{
    (void)state;
    double x[5] = {0, 1, 2, 3, 4}, y[5] = {1, 5, 2, 4, 3};
    size_t idx[5] = {0, 1, 2, 3, 4}, out[6];
    assert_int_equal(viz_lttb(x, y, idx, 5, 10, out), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(out[i], i);
    assert_int_equal(viz_lttb(x, y, idx, 0, 10, out), 0);
}

/* A million readings with one spike up and one down, far from the ends:
 * both must survive, with the first and the last, in order. */
static void test_million_keeps_extremes(void **state)
{
    (void)state;
    size_t n = 1000000, thr = 1200;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    size_t *idx = malloc(n * sizeof *idx), *out = malloc((thr + 1) * sizeof *out);
    assert_non_null(x);
    assert_non_null(y);
    assert_non_null(idx);
    assert_non_null(out);
    unsigned seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (double)i;
        y[i] = 100 + 20 * sin((double)i / 5000) + (double)(seed >> 16 & 0xFF) / 64.0;
        idx[i] = i;
    }
    y[123457] = 260;
    y[654321] = -45;
    size_t k = viz_lttb(x, y, idx, n, thr, out);
    assert_in_range(k, thr - 2, thr + 1);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[k - 1], n - 1);
    int hi = 0, lo = 0;
    for (size_t i = 0; i < k; i++) {
        if (i)
            assert_true(out[i] > out[i - 1]);
        hi |= out[i] == 123457;
        lo |= out[i] == 654321;
    }
    assert_true(hi);
    assert_true(lo);
    /* Both extremes in one bucket: both kept. */
    y[500000] = 300;
    y[500001] = -60;
    k = viz_lttb(x, y, idx, n, thr, out);
    hi = lo = 0;
    for (size_t i = 0; i < k; i++) {
        hi |= out[i] == 500000;
        lo |= out[i] == 500001;
    }
    assert_true(hi && lo);
    free(x);
    free(y);
    free(idx);
    free(out);
}

/* End to end at a million points, without a 15 MB JSON document: a small
 * spec, then its table's columns swapped for a million rows. */
static void test_million_points_chart(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"title\":\"A million\",\"data\":{\"columns\":{\"t\":[0,1],\"v\":[0,1]}},"
                              "\"layers\":[{\"mark\":\"line\",\"name\":\"Value\",\"encoding\":"
                              "{\"x\":{\"field\":\"t\"},\"y\":{\"field\":\"v\"}}}]}");
    viz_table_t *t = c->tables[0];
    size_t n = 1000000;
    int ct = viz_table_col(t, "t"), cv = viz_table_col(t, "v");
    double *tx = realloc(t->cols[ct].num, n * sizeof(double));
    assert_non_null(tx);
    t->cols[ct].num = tx;
    double *vy = realloc(t->cols[cv].num, n * sizeof(double));
    assert_non_null(vy);
    t->cols[cv].num = vy;
    t->n = n;
    /* Unsorted on purpose: the line must still follow x. */
    for (size_t i = 0; i < n; i++) {
        tx[i] = (double)((i * 7919) % n);
        vy[i] = 50 + 10 * sin(tx[i] / 1000);
    }
    tx[10] = 999999.5;
    vy[10] = 500;
    vy[20] = NAN;
    viz_scene_t *s = vt_scene(c, NULL);
    size_t pts = 0;
    int note = 0;
    double top = INFINITY;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_LINE && p->role == VIZ_ROLE_MARK) {
            pts += p->npts;
            for (size_t k = 0; k < p->npts; k++)
                top = fmin(top, p->pts[k].y);
        }
        if (p->kind == VIZ_PRIM_TEXT && p->role == VIZ_ROLE_NOTE && strstr(p->text, "999,999 points drawn as") && strstr(p->text, "1 value without"))
            note = 1;
    }
    assert_true(pts > 500 && pts < 2000);
    assert_true(note);
    /* The spike is the top of the line: it reaches the top of the plot. */
    double plot_top = INFINITY;
    for (size_t i = 0; i < viz_scene_count(s); i++)
        if (viz_scene_prim(s, i)->kind == VIZ_PRIM_CLIP_BEGIN)
            plot_top = viz_scene_prim(s, i)->y;
    assert_true(top < plot_top + 20);
    /* Hit targets only for the points drawn. */
    assert_true(viz_scene_datum_count(s) <= pts);
    unsigned char *svg = NULL;
    size_t len = 0;
    assert_int_equal(viz_scene_render(s, VIZ_SVG, NULL, &svg, &len, NULL), MUSE_OK);
    assert_true(len < 2 * 1024 * 1024);
    free(svg);
    viz_scene_free(s);
    viz_chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_series_untouched),
        cmocka_unit_test(test_million_keeps_extremes),
        cmocka_unit_test(test_million_points_chart),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
