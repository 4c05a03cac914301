/* The chart spec parser (viz/viz_spec.c, viz/viz_data.c): what it accepts,
 * and that every error names its JSON path and what to do. */
#include <math.h>

#include "viz_test.h"
#include "viz/viz_int.h"

#define XY_LAYER "{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\"}}}"
#define XY_DATA "\"data\":[{\"x\":1,\"y\":2},{\"x\":2,\"y\":3}]"

static void test_minimal_spec(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{" XY_DATA ",\"layers\":[" XY_LAYER "]}");
    assert_int_equal(c->npanels, 1);
    assert_int_equal(c->panels[0].nlayers, 1);
    assert_int_equal(c->panels[0].x.type, VIZ_SCALE_LINEAR);
    assert_string_equal(viz_chart_title(c), "");
    /* A generated summary when the spec gives none. */
    assert_non_null(strstr(viz_chart_summary(c), "2 values"));
    viz_chart_free(c);
    /* Vega-Lite's "layer" and a mark object are accepted too. */
    c = vt_chart("{" XY_DATA ",\"layer\":[{\"mark\":{\"type\":\"point\",\"shape\":\"square\"},"
                 "\"encoding\":{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\"}}}]}");
    assert_int_equal(c->panels[0].layers[0].mark, VIZ_MARK_POINT);
    assert_int_equal(c->panels[0].layers[0].shape, VIZ_SHAPE_SQUARE);
    viz_chart_free(c);
}

static void test_error_paths(void **state)
{
    (void)state;
    int code;
    const char *m;
    m = vt_parse_error("{" XY_DATA ",\"layers\":[" XY_LAYER "," XY_LAYER ",{\"mark\":\"pie\"}]}", &code);
    assert_int_equal(code, MUSE_EINVAL);
    assert_non_null(strstr(m, "layers[2].mark"));
    assert_non_null(strstr(m, "\"pie\""));

    m = vt_parse_error("{\"data\":[{\"time\":\"2024-01-01\",\"systolic\":120}],\"layers\":[{\"mark\":\"line\","
                       "\"encoding\":{\"x\":{\"field\":\"time\"},\"y\":{\"field\":\"sytolic\"}}}]}", NULL);
    assert_non_null(strstr(m, "layers[0].encoding.y.field"));
    assert_non_null(strstr(m, "did you mean \"systolic\""));

    m = vt_parse_error("{" XY_DATA ",\"layers\":[{\"mark\":\"line\",\"encodng\":{}}]}", NULL);
    assert_non_null(strstr(m, "layers[0].encodng: unknown key (did you mean \"encoding\"?)"));

    m = vt_parse_error("{" XY_DATA ",\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"x\"}}}]}", NULL);
    assert_non_null(strstr(m, "needs \"y\""));

    m = vt_parse_error("{" XY_DATA ",\"layers\":[" XY_LAYER "],\"x\":{\"type\":\"polar\"}}", NULL);
    assert_non_null(strstr(m, "x.type"));

    m = vt_parse_error("{" XY_DATA ",\"layers\":[]}", NULL);
    assert_non_null(strstr(m, "layers"));
    m = vt_parse_error("{" XY_DATA "}", NULL);
    assert_non_null(strstr(m, "layers: missing"));

    m = vt_parse_error("{" XY_DATA ",\"layers\":[{\"mark\":\"line\",\"color\":\"rouge\","
                       "\"encoding\":{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\"}}}]}", NULL);
    assert_non_null(strstr(m, "layers[0].color"));

    m = vt_parse_error("{\"data\":[{\"x\":1},{\"x\":[1]}],\"layers\":[" XY_LAYER "]}", NULL);
    assert_non_null(strstr(m, "data[1].x"));

    /* Text in a field said to be numbers (without "type" it is a category). */
    m = vt_parse_error("{\"data\":[{\"x\":1,\"y\":\"high\"}],\"layers\":[{\"mark\":\"line\",\"encoding\":"
                       "{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\",\"type\":\"quantitative\"}}}]}", NULL);
    assert_non_null(strstr(m, "holds text"));

    m = vt_parse_error("{\"data\":[{\"t\":\"2024-01-01\",\"v\":1},{\"t\":\"2024-01-02\",\"v\":2}],"
                       "\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"t\"},\"y\":{\"field\":\"v\"}}},"
                       "{\"mark\":\"rule\",\"encoding\":{\"x\":{\"datum\":3}}}]}", NULL);
    assert_non_null(strstr(m, "layers[1].encoding.x"));
    assert_non_null(strstr(m, "time"));

    m = vt_parse_error("{\"vconcat\":[{\"layers\":[{\"mark\":\"bar\"}]}]}", NULL);
    assert_non_null(strstr(m, "vconcat[0].layers[0]"));

    m = vt_parse_error("{\"preset\":\"bp_trnd\",\"data\":[]}", NULL);
    assert_non_null(strstr(m, "did you mean \"bp_trend\""));

    /* Not JSON at all: where parsing stopped. */
    m = vt_parse_error("{\n  \"title\": \"x\",\n  oops\n}", &code);
    assert_int_equal(code, MUSE_EPARSE);
    assert_non_null(strstr(m, "line 3"));
}

static void test_sizes(void **state)
{
    (void)state;
    int code;
    const char *m = vt_parse_error("{\"width\":-5," XY_DATA ",\"layers\":[" XY_LAYER "]}", &code);
    assert_int_equal(code, MUSE_ERANGE);
    assert_non_null(strstr(m, "width"));
    m = vt_parse_error("{\"height\":1e9," XY_DATA ",\"layers\":[" XY_LAYER "]}", &code);
    assert_int_equal(code, MUSE_ERANGE);
    m = vt_parse_error("{\"width\":\"wide\"," XY_DATA ",\"layers\":[" XY_LAYER "]}", &code);
    assert_int_equal(code, MUSE_EINVAL);

    viz_chart_t *c = vt_chart("{\"width\":300,\"height\":200," XY_DATA ",\"layers\":[" XY_LAYER "]}");
    viz_scene_t *s = vt_scene(c, NULL);
    assert_true(viz_scene_width(s) == 300 && viz_scene_height(s) == 200);
    viz_scene_free(s);
    /* Options override the spec, and are checked the same way. */
    viz_render_opts_t o = {.width = 800, .height = 500};
    s = vt_scene(c, &o);
    assert_true(viz_scene_width(s) == 800);
    viz_scene_free(s);
    viz_render_opts_t bad = {.width = -1};
    muse_error_t e = {0};
    assert_int_equal(viz_scene_build(c, &bad, &s, &e), MUSE_ERANGE);
    assert_null(s);
    bad.width = NAN;
    assert_int_equal(viz_scene_build(c, &bad, &s, &e), MUSE_ERANGE);
    bad.width = 1e7;
    assert_int_equal(viz_scene_build(c, &bad, &s, &e), MUSE_ERANGE);
    viz_chart_free(c);
}

/* Missing and non-finite values: not errors, left out, and said so. */
static void test_missing_values(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"data\":[{\"x\":1,\"y\":2},{\"x\":2,\"y\":null},{\"x\":3,\"y\":1e999},"
                              "{\"x\":4},{\"x\":5,\"y\":4}],\"layers\":[" XY_LAYER "]}");
    const viz_table_t *t = c->tables[0];
    assert_int_equal(t->n, 5);
    int y = viz_table_col(t, "y");
    assert_true(isnan(t->cols[y].num[1]));
    assert_true(isnan(t->cols[y].num[2]));   /* 1e999 is inf: treated as missing */
    assert_true(isnan(t->cols[y].num[3]));
    viz_scene_t *s = vt_scene(c, NULL);
    /* The line breaks at the gap: two points before it, one after. */
    size_t lines = 0, notes = 0;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_LINE && p->role == VIZ_ROLE_MARK)
            lines++;
        if (p->kind == VIZ_PRIM_TEXT && p->role == VIZ_ROLE_NOTE && strstr(p->text, "3 values"))
            notes++;
    }
    assert_int_equal(lines, 0);   /* no two neighbours both have a value */
    assert_int_equal(notes, 1);
    assert_int_equal(viz_scene_datum_count(s), 2);
    viz_scene_free(s);
    viz_chart_free(c);
}

/* Unsorted and duplicate times: the line follows time, duplicates stay. */
static void test_unsorted_times(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"data\":[{\"t\":\"2024-03-03\",\"v\":3},{\"t\":\"2024-03-01\",\"v\":1},"
                              "{\"t\":\"2024-03-01\",\"v\":1.5},{\"t\":\"2024-03-02\",\"v\":2}],"
                              "\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"t\"},\"y\":{\"field\":\"v\"}}}]}");
    assert_int_equal(c->panels[0].x.type, VIZ_SCALE_TIME);
    viz_scene_t *s = vt_scene(c, NULL);
    const viz_prim_t *line = NULL;
    for (size_t i = 0; i < viz_scene_count(s); i++)
        if (viz_scene_prim(s, i)->kind == VIZ_PRIM_LINE && viz_scene_prim(s, i)->role == VIZ_ROLE_MARK)
            line = viz_scene_prim(s, i);
    assert_non_null(line);
    assert_int_equal(line->npts, 4);
    for (size_t k = 1; k < line->npts; k++)
        assert_true(line->pts[k].x >= line->pts[k - 1].x);
    /* Of the two Mar 1 readings, the one given first comes first. */
    assert_true(line->pts[0].x == line->pts[1].x);
    assert_true(line->pts[0].y > line->pts[1].y);   /* 1 is lower on the page than 1.5 */
    viz_scene_free(s);
    viz_chart_free(c);
}

/* Midnight times from a date-only source ("...T00:00:00Z", as the engine
 * writes a weekday reading) are dates: day ticks, no "12:00", no clock in
 * the tooltip. */
static void test_dates_only(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"data\":[{\"t\":\"2024-11-23T00:00:00Z\",\"v\":142},{\"t\":\"2024-11-24T00:00:00Z\",\"v\":138},"
                              "{\"t\":\"2024-11-26T00:00:00Z\",\"v\":135}],"
                              "\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"t\"},\"y\":{\"field\":\"v\"}}}]}");
    viz_scene_t *s = vt_scene(c, NULL);
    size_t ticks = 0;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_TEXT && p->role == VIZ_ROLE_TICK_LABEL && strstr(p->text, "Nov")) {
            ticks++;
            assert_null(strchr(p->text, ':'));
        }
    }
    assert_true(ticks >= 2);
    assert_non_null(strstr(viz_scene_datum(s, 0)->label, "Nov 23, 2024\n"));
    viz_scene_free(s);
    viz_chart_free(c);
}

static void test_single_point_and_columns(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"data\":{\"columns\":{\"x\":[5],\"y\":[7]}},\"layers\":[" XY_LAYER "]}");
    viz_scene_t *s = vt_scene(c, NULL);
    assert_int_equal(viz_scene_datum_count(s), 1);
    const viz_datum_t *d = viz_scene_datum(s, 0);
    /* One value sits inside the plot, not on its edge. */
    assert_true(d->x > 50 && d->x < 600);
    assert_true(d->y > 50 && d->y < 380);
    viz_scene_free(s);
    viz_chart_free(c);
    const char *m = vt_parse_error("{\"data\":{\"columns\":{\"x\":[1,2],\"y\":[1]}},\"layers\":[" XY_LAYER "]}", NULL);
    assert_non_null(strstr(m, "data.columns.y"));
}

static void test_color_split_and_annotations(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart(
        "{\"data\":[{\"x\":1,\"y\":2,\"arm\":\"left\"},{\"x\":1,\"y\":3,\"arm\":\"right\"},{\"x\":2,\"y\":4,\"arm\":\"left\"}],"
        "\"layers\":[{\"mark\":\"line\",\"encoding\":{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\"},"
        "\"color\":{\"field\":\"arm\"}}}],"
        "\"annotations\":[{\"type\":\"rule\",\"y\":3.5,\"text\":\"target\"},{\"type\":\"text\",\"x\":1.5,\"y\":2,\"text\":\"note\"}]}");
    const viz_panel_t *p = &c->panels[0];
    assert_int_equal(p->nlayers, 4);
    assert_string_equal(p->layers[0].name, "left");
    assert_string_equal(p->layers[1].name, "right");
    assert_int_equal(p->layers[0].nrows, 2);
    assert_false(p->layers[0].color.r == p->layers[1].color.r && p->layers[0].color.b == p->layers[1].color.b);
    viz_scene_t *s = vt_scene(c, NULL);
    assert_int_equal(viz_scene_series_count(s), 2);
    int found = 0;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *q = viz_scene_prim(s, i);
        if (q->kind == VIZ_PRIM_TEXT && strcmp(q->text, "target") == 0)
            found |= 1;
        if (q->kind == VIZ_PRIM_TEXT && strcmp(q->text, "note") == 0)
            found |= 2;
    }
    assert_int_equal(found, 3);
    viz_scene_free(s);
    viz_chart_free(c);
}

/* Text is cleaned on the way in: invalid UTF-8 becomes U+FFFD and control
 * characters go, so neither Cairo nor an XML reader ever sees them. */
static void test_text_cleaning(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"title\":\"Bad \\u0001 byte \\u00e9 ok\"," XY_DATA ",\"layers\":[" XY_LAYER "]}");
    assert_null(strchr(viz_chart_title(c), '\x01'));
    assert_non_null(strstr(viz_chart_title(c), "é"));
    viz_chart_free(c);
    char *clean = viz_utf8_clean("a\xff" "b\xc3", 0);
    assert_string_equal(clean, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
    free(clean);
}

static void test_unknown_keys_are_comments_when_marked(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"$schema\":\"x\",\"_comment\":\"ok\"," XY_DATA ",\"layers\":[" XY_LAYER "]}");
    viz_chart_free(c);
}

static void test_bars_and_band_scale(void **state)
{
    (void)state;
    viz_chart_t *c = vt_chart("{\"data\":[{\"k\":\"LDL\",\"v\":130},{\"k\":\"HDL\",\"v\":45},{\"k\":\"TG\",\"v\":150}],"
                              "\"layers\":[{\"mark\":\"bar\",\"encoding\":{\"x\":{\"field\":\"k\"},\"y\":{\"field\":\"v\"}}}]}");
    assert_int_equal(c->panels[0].x.type, VIZ_SCALE_BAND);
    viz_scene_t *s = vt_scene(c, NULL);
    size_t bars = 0;
    double base = -1;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_RECT && p->role == VIZ_ROLE_MARK) {
            bars++;
            /* Bars start at zero: all share one baseline. */
            if (base < 0)
                base = p->y + p->h;
            assert_true(fabs(p->y + p->h - base) < 0.01);
            assert_true(p->datum >= 0);
        }
    }
    assert_int_equal(bars, 3);
    viz_scene_free(s);
    viz_chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_spec),
        cmocka_unit_test(test_error_paths),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_unsorted_times),
        cmocka_unit_test(test_dates_only),
        cmocka_unit_test(test_single_point_and_columns),
        cmocka_unit_test(test_color_split_and_annotations),
        cmocka_unit_test(test_text_cleaning),
        cmocka_unit_test(test_unknown_keys_are_comments_when_marked),
        cmocka_unit_test(test_bars_and_band_scale),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
