/* The scene API (viz/viz_scene.c): building by hand, the datum tags a
 * second backend relies on, the JSON form, and golden scenes.
 *
 * Golden scenes (tests/viz/golden/NAME.scene.json) are the laid-out display
 * list of each spec in tests/viz/specs/: positions to 0.01 pt, colours,
 * text. They are compared with a tolerance of 0.05 pt, so only a real
 * layout change fails. Review a changed golden like code: regenerate with
 * MUSE_UPDATE_GOLDEN=1, then read the diff before committing it. */
#include <math.h>

#include "viz_test.h"
#include "viz/viz_int.h"

static void test_build_by_hand(void **state)
{
    (void)state;
    viz_scene_t *s = viz_scene_new(100, 50);
    assert_non_null(s);
    viz_series_t se = {.name = "Mine", .color = {0, 0x72, 0xB2, 255}};
    int si;
    assert_int_equal(viz_scene_add_series(s, &se, &si), MUSE_OK);
    assert_int_equal(si, 0);
    viz_datum_t d = {.series = 0, .table = 0, .row = 3, .x = 25, .y = 25, .label = "Value: 7"};
    long di;
    assert_int_equal(viz_scene_add_datum(s, &d, &di), MUSE_OK);
    viz_prim_t bg = {.kind = VIZ_PRIM_RECT, .series = -1, .datum = -1, .w = 100, .h = 50,
                     .style = {.fill = {255, 255, 255, 255}}};
    assert_int_equal(viz_scene_add(s, &bg), MUSE_OK);
    viz_point_t pts[3] = {{0, 50}, {25, 25}, {100, 0}};
    viz_prim_t line = {.kind = VIZ_PRIM_LINE, .role = VIZ_ROLE_MARK, .series = 0, .datum = -1, .pts = pts,
                       .npts = 3, .style = {.stroke = {0, 0x72, 0xB2, 255}, .stroke_width = 4}};
    assert_int_equal(viz_scene_add(s, &line), MUSE_OK);
    pts[1].x = 999;   /* the scene keeps its own copy */
    viz_prim_t dot = {.kind = VIZ_PRIM_CIRCLE, .role = VIZ_ROLE_MARK, .series = 0, .datum = di, .x = 25,
                      .y = 25, .r = 5, .style = {.fill = {0xD5, 0x5E, 0, 255}}};
    assert_int_equal(viz_scene_add(s, &dot), MUSE_OK);
    viz_prim_t txt = {.kind = VIZ_PRIM_TEXT, .role = VIZ_ROLE_TITLE, .series = -1, .datum = -1, .x = 2, .y = 10,
                      .text = "bad \xff byte", .font_size = 8, .style = {.fill = {0, 0, 0, 255}}};
    assert_int_equal(viz_scene_add(s, &txt), MUSE_OK);
    assert_int_equal(viz_scene_set_text(s, "Hand made", "A line and a dot."), MUSE_OK);

    assert_int_equal(viz_scene_count(s), 4);
    assert_true(viz_scene_prim(s, 1)->pts[1].x == 25);
    assert_string_equal(viz_scene_prim(s, 3)->text, "bad \xEF\xBF\xBD byte");
    assert_null(viz_scene_prim(s, 4));
    assert_string_equal(viz_scene_series(s, 0)->name, "Mine");

    char *json = NULL;
    assert_int_equal(viz_scene_to_json(s, &json, NULL), MUSE_OK);
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "prims")), 4);
    const cJSON *p1 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "prims"), 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p1, "kind")->valuestring, "line");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(p1, "stroke")->valuestring, "#0072b2");
    cJSON_Delete(j);
    free(json);

    /* Any backend draws it: here the PNG one, then a pixel of the dot. */
    unsigned char *png = NULL;
    size_t len = 0;
    viz_render_opts_t o = {.dpi = 72};
    assert_int_equal(viz_scene_render(s, VIZ_PNG, &o, &png, &len, NULL), MUSE_OK);
    assert_true(len > 100);
    free(png);
    unsigned char *svg = NULL;
    assert_int_equal(viz_scene_render(s, VIZ_SVG, NULL, &svg, &len, NULL), MUSE_OK);
    assert_int_equal(vt_count((char *)svg, "class=\"muse-hit\""), 1);
    assert_non_null(strstr((char *)svg, "<title>Value: 7</title>"));
    free(svg);
    viz_scene_free(s);
    viz_scene_free(NULL);
}

/* What a report backend relies on: every primitive that shows data names a
 * valid datum and series, datums carry their row, clips balance. */
static void test_datum_tags(void **state)
{
    (void)state;
    const char *files[] = {"bp_trend", "bp_category", "lab_panel", "weight_trend", "glucose_profile",
                           "bmi_gauge", "risk_gauge", "plain_layers"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/viz/specs/%s.json", files[f]);
        char *spec = vt_read(rel);
        viz_chart_t *c = vt_chart(spec);
        viz_scene_t *s = vt_scene(c, NULL);
        int depth = 0;
        size_t with_datum = 0;
        for (size_t i = 0; i < viz_scene_count(s); i++) {
            const viz_prim_t *p = viz_scene_prim(s, i);
            if (p->kind == VIZ_PRIM_CLIP_BEGIN)
                depth++;
            if (p->kind == VIZ_PRIM_CLIP_END)
                assert_true(--depth >= 0);
            if (p->datum >= 0) {
                assert_true((size_t)p->datum < viz_scene_datum_count(s));
                with_datum++;
            }
            if (p->series >= 0)
                assert_true((size_t)p->series < viz_scene_series_count(s));
            if (p->kind == VIZ_PRIM_TEXT) {
                assert_true(p->font_size >= 7);
                assert_non_null(p->text);
            }
            /* Everything sits on the page. */
            if (p->kind == VIZ_PRIM_TEXT || p->kind == VIZ_PRIM_CIRCLE) {
                assert_true(p->x >= -1 && p->x <= viz_scene_width(s) + 1);
                assert_true(p->y >= -1 && p->y <= viz_scene_height(s) + 1);
            }
        }
        assert_int_equal(depth, 0);
        for (size_t i = 0; i < viz_scene_datum_count(s); i++) {
            const viz_datum_t *d = viz_scene_datum(s, i);
            assert_true(d->row >= 0);
            assert_true(d->table >= 0);
            assert_true(strchr(d->label, ':') != NULL);   /* "Key: value" lines */
        }
        if (strcmp(files[f], "bp_trend") == 0) {
            /* Each reading's marker carries its datum: 28 readings in three panels. */
            assert_int_equal(with_datum, 28 * 3);
            assert_non_null(strstr(viz_scene_datum(s, 0)->label, "Category: "));
        }
        assert_true(strlen(viz_scene_summary(s)) > 10);
        viz_scene_free(s);
        viz_chart_free(c);
        free(spec);
    }
}

/* ---- Golden scenes -------------------------------------------------------------- */

static int close_numbers_in(const char *a, const char *b)
{
    /* Path strings: "M 1.5 2 L ..." compared token by token. */
    while (*a && *b) {
        char *ea, *eb;
        double x = strtod(a, &ea), y = strtod(b, &eb);
        if (ea != a && eb != b) {
            if (fabs(x - y) > 0.05)
                return 0;
            a = ea;
            b = eb;
            continue;
        }
        if (*a != *b)
            return 0;
        a++;
        b++;
    }
    return *a == *b;
}

static int json_close(const cJSON *a, const cJSON *b, char *where, size_t cap)
{
    if ((a->type & 0xFF) != (b->type & 0xFF)) {
        snprintf(where, cap, "type differs");
        return 0;
    }
    if (cJSON_IsNumber(a)) {
        if (fabs(a->valuedouble - b->valuedouble) > 0.05) {
            snprintf(where, cap, "%g != %g", a->valuedouble, b->valuedouble);
            return 0;
        }
        return 1;
    }
    if (cJSON_IsString(a)) {
        if (strcmp(a->valuestring, b->valuestring) != 0 && !close_numbers_in(a->valuestring, b->valuestring)) {
            snprintf(where, cap, "\"%.60s\" != \"%.60s\"", a->valuestring, b->valuestring);
            return 0;
        }
        return 1;
    }
    if (cJSON_IsArray(a) || cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) {
            snprintf(where, cap, "%d items != %d items", cJSON_GetArraySize(a), cJSON_GetArraySize(b));
            return 0;
        }
        const cJSON *x = a->child, *y = b->child;
        for (int i = 0; x && y; x = x->next, y = y->next, i++) {
            if (cJSON_IsObject(a) && strcmp(x->string, y->string) != 0) {
                snprintf(where, cap, "key %s != %s", x->string, y->string);
                return 0;
            }
            if (!json_close(x, y, where, cap)) {
                char tail[512];
                snprintf(tail, sizeof tail, "%s", where);
                if (cJSON_IsObject(a))
                    snprintf(where, cap, ".%s%s", x->string, tail);
                else
                    snprintf(where, cap, "[%d]%s", i, tail);
                return 0;
            }
        }
        return 1;
    }
    return 1;
}

static void test_golden_scenes(void **state)
{
    (void)state;
    const char *files[] = {"bp_trend", "bp_category", "lab_panel", "weight_trend", "glucose_profile",
                           "bmi_gauge", "risk_gauge", "plain_layers"};
    const char *update = getenv("MUSE_UPDATE_GOLDEN");
    const char *root = getenv("MUSE_SOURCE_ROOT");
    if (!root || !*root)
        root = MUSE_TEST_SOURCE_ROOT;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char rel[128], gpath[1024];
        snprintf(rel, sizeof rel, "tests/viz/specs/%s.json", files[f]);
        snprintf(gpath, sizeof gpath, "%s/tests/viz/golden/%s.scene.json", root, files[f]);
        char *spec = vt_read(rel);
        viz_chart_t *c = vt_chart(spec);
        viz_scene_t *s = vt_scene(c, NULL);
        char *json = NULL;
        assert_int_equal(viz_scene_to_json(s, &json, NULL), MUSE_OK);
        if (update && *update == '1') {
            FILE *out = fopen(gpath, "w");
            assert_non_null(out);
            fputs(json, out);
            fputc('\n', out);
            fclose(out);
            print_message("wrote %s: review the diff before committing it\n", gpath);
        } else {
            char *want = vt_read_path(gpath, NULL);
            if (!want)
                fail_msg("%s is missing (MUSE_UPDATE_GOLDEN=1 writes it)", gpath);
            cJSON *a = cJSON_Parse(want), *b = cJSON_Parse(json);
            assert_non_null(a);
            assert_non_null(b);
            char where[1024] = "";
            if (!json_close(a, b, where, sizeof where))
                fail_msg("%s: the scene changed at %s (if intended: MUSE_UPDATE_GOLDEN=1, then review the diff)",
                         files[f], where);
            cJSON_Delete(a);
            cJSON_Delete(b);
            free(want);
        }
        free(json);
        viz_scene_free(s);
        viz_chart_free(c);
        free(spec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_by_hand),
        cmocka_unit_test(test_datum_tags),
        cmocka_unit_test(test_golden_scenes),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
