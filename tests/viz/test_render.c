/* Renderers (viz/viz_cairo.c, viz_svg.c, viz_html.c, viz_render.c):
 * structural checks of SVG and HTML, PDF metadata, PNG pixels at known
 * places, text contrast, escaping, atomic files. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cairo.h>

#include "viz_test.h"
#include "viz/viz_int.h"

static char *spec_bp(void)
{
    return vt_read("tests/viz/specs/bp_trend.json");
}

/* ---- SVG ------------------------------------------------------------------- */

/* Every id is prefixed, unique, and every reference resolves. */
static void check_ids(const char *svg, const char *prefix)
{
    size_t nids = 0, cap = 1024;
    char **ids = malloc(cap * sizeof *ids);
    size_t pl = strlen(prefix);
    for (const char *p = strstr(svg, " id=\""); p; p = strstr(p + 1, " id=\"")) {
        const char *v = p + 5, *e = strchr(v, '"');
        if (strncmp(v, prefix, pl) != 0)
            fail_msg("id \"%.*s\" lacks the prefix %s", (int)(e - v), v, prefix);
        if (nids == cap)
            ids = realloc(ids, (cap *= 2) * sizeof *ids);
        ids[nids++] = strndup(v, (size_t)(e - v));
    }
    for (size_t i = 0; i < nids; i++)
        for (size_t j = i + 1; j < nids; j++)
            if (strcmp(ids[i], ids[j]) == 0)
                fail_msg("id %s appears twice", ids[i]);
    const char *pats[] = {"href=\"#", "url(#"};
    for (int k = 0; k < 2; k++)
        for (const char *p = strstr(svg, pats[k]); p; p = strstr(p + 1, pats[k])) {
            const char *v = p + strlen(pats[k]);
            size_t n = strcspn(v, "\")");
            int found = 0;
            for (size_t i = 0; i < nids && !found; i++)
                found = strlen(ids[i]) == n && strncmp(ids[i], v, n) == 0;
            if (!found)
                fail_msg("reference #%.*s points nowhere", (int)n, v);
        }
    for (size_t i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
}

static void test_svg_structure(void **state)
{
    (void)state;
    char *spec = spec_bp();
    viz_chart_t *c = vt_chart(spec);
    viz_scene_t *s = vt_scene(c, NULL);
    size_t len;
    char *svg = (char *)vt_render(c, VIZ_SVG, NULL, &len);
    assert_int_equal(strlen(svg), len);
    const char *bad = vt_xml_check(svg, len);
    if (bad)
        fail_msg("SVG is not well formed: %s", bad);
    assert_true(strncmp(svg, "<?xml", 5) == 0);
    assert_non_null(strstr(svg, "role=\"img\""));
    assert_non_null(strstr(svg, "aria-labelledby=\"muse-title muse-desc\""));
    assert_non_null(strstr(svg, "<title id=\"muse-title\">Blood pressure, March 2024</title>"));
    assert_non_null(strstr(svg, "<desc id=\"muse-desc\">Systolic averaged"));
    /* One focusable hit target with a tooltip per datum drawn. */
    size_t hits = vt_count(svg, "class=\"muse-hit\"");
    assert_int_equal(hits, viz_scene_datum_count(s));
    assert_true(hits >= 28);
    assert_int_equal(vt_count(svg, "tabindex=\"0\""), hits);
    assert_non_null(strstr(svg, "<title>Date: Mar 1, 2024 07:"));
    assert_non_null(strstr(svg, "Blood pressure: "));
    /* Series can be hidden: each has its groups. */
    assert_true(vt_count(svg, "class=\"muse-series muse-s0\"") >= 1);
    assert_true(vt_count(svg, "class=\"muse-series muse-s1\"") >= 1);
    assert_non_null(strstr(svg, ".muse-hit:hover"));
    check_ids(svg, "muse");
    free(svg);

    /* Another prefix: nothing of "muse" left in ids. */
    viz_render_opts_t o = {.id_prefix = "chartA"};
    svg = (char *)vt_render(c, VIZ_SVG, &o, &len);
    check_ids(svg, "chartA");
    assert_null(strstr(svg, "id=\"muse"));
    free(svg);
    o.id_prefix = "1bad prefix\"";
    unsigned char *out = NULL;
    muse_error_t e = {0};
    assert_int_equal(viz_render(c, VIZ_SVG, &o, &out, &len, &e), MUSE_EINVAL);
    assert_null(out);
    viz_scene_free(s);
    viz_chart_free(c);
    free(spec);
}

/* If rsvg-convert is installed (librsvg2-bin, scripts/packages.txt), the
 * SVG must also load in a real SVG renderer. */
static void test_svg_loads_in_librsvg(void **state)
{
    (void)state;
    if (system("rsvg-convert --version >/dev/null 2>&1") != 0) {
        skip();
        return;
    }
    char *spec = spec_bp();
    viz_chart_t *c = vt_chart(spec);
    size_t len;
    unsigned char *svg = vt_render(c, VIZ_SVG, NULL, &len);
    char path[] = "/tmp/muse-viz-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, svg, len), (ssize_t)len);
    close(fd);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rsvg-convert -f png -o %s.png %s 2>&1", path, path);
    int rc = system(cmd);
    char png[64];
    snprintf(png, sizeof png, "%s.png", path);
    struct stat st;
    assert_int_equal(stat(png, &st), 0);
    assert_true(st.st_size > 1000);
    unlink(png);
    unlink(path);
    assert_int_equal(rc, 0);
    free(svg);
    viz_chart_free(c);
    free(spec);
}

/* A title with markup comes out as text: no element, no script. */
static void test_escaping(void **state)
{
    (void)state;
    const char *spec =
        "{\"title\":\"<script>alert('x')</script> & \\\"co\\\"\",\"description\":\"</desc><script>1</script>\","
        "\"data\":[{\"x\":1,\"y\":2,\"who\":\"<img src=x onerror=alert(1)>\"}],"
        "\"layers\":[{\"mark\":\"point\",\"encoding\":{\"x\":{\"field\":\"x\"},\"y\":{\"field\":\"y\"},"
        "\"tooltip\":[{\"field\":\"who\"}]}}]}";
    viz_chart_t *c = vt_chart(spec);
    size_t len;
    char *svg = (char *)vt_render(c, VIZ_SVG, NULL, &len);
    assert_null(vt_xml_check(svg, len));
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "<img"));
    assert_non_null(strstr(svg, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;"));
    free(svg);
    char *html = (char *)vt_render(c, VIZ_HTML, NULL, &len);
    assert_int_equal(vt_count(html, "<script"), 1);   /* ours, at the end */
    assert_null(strstr(html, "<img"));
    assert_non_null(strstr(html, "<title>&lt;script&gt;"));
    free(html);
    viz_chart_free(c);
}

/* ---- HTML ------------------------------------------------------------------- */

static void test_html_page(void **state)
{
    (void)state;
    char *spec = spec_bp();
    viz_chart_t *c = vt_chart(spec);
    size_t len;
    char *html = (char *)vt_render(c, VIZ_HTML, NULL, &len);
    assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    /* Self-contained: nothing fetched. */
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "href=\"http"));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url(http"));
    /* The SVG inside is well formed. */
    const char *a = strstr(html, "<svg"), *b = strstr(html, "</svg>");
    assert_non_null(a);
    assert_non_null(b);
    assert_null(vt_xml_check(a, (size_t)(b - a) + 6));
    /* Toggles for the three series, a tooltip box, and the data table
     * with one row per reading (not per series). */
    assert_int_equal(vt_count(html, "<button type=\"button\" aria-pressed=\"true\""), 3);
    assert_non_null(strstr(html, "class=\"muse-tip\" role=\"tooltip\""));
    assert_non_null(strstr(html, "<th scope=\"col\">Date</th>"));
    assert_non_null(strstr(html, "<th scope=\"col\">Blood pressure</th>"));
    assert_non_null(strstr(html, "<caption>28 rows.</caption>"));
    assert_int_equal(vt_count(html, "<th scope=\"row\">"), 28);
    assert_non_null(strstr(html, "figure.muse-figure"));   /* the script */
    free(html);
    viz_chart_free(c);
    free(spec);
}

/* ---- PDF -------------------------------------------------------------------- */

static void test_pdf(void **state)
{
    (void)state;
    char *spec = spec_bp();
    viz_chart_t *c = vt_chart(spec);
    size_t len;
    unsigned char *pdf = vt_render(c, VIZ_PDF, NULL, &len);
    assert_true(len > 1000);
    assert_memory_equal(pdf, "%PDF-", 5);
    /* The title in the document information dictionary. */
    int has_title = 0;
    for (size_t i = 0; i + 6 < len; i++)
        if (memcmp(pdf + i, "/Title", 6) == 0)
            has_title = 1;
    assert_true(has_title);
    const char *want = "Blood pressure, March 2024";
    int found = 0;
    for (size_t i = 0; i + strlen(want) < len && !found; i++)
        found = memcmp(pdf + i, want, strlen(want)) == 0;
    assert_true(found);
    free(pdf);
    viz_chart_free(c);
    free(spec);
}

/* ---- PNG -------------------------------------------------------------------- */

typedef struct rd {
    const unsigned char *p;
    size_t n, off;
} rd_t;

static cairo_status_t png_read(void *cl, unsigned char *data, unsigned int len)
{
    rd_t *r = cl;
    if (r->off + len > r->n)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p + r->off, len);
    r->off += len;
    return CAIRO_STATUS_SUCCESS;
}

static cairo_surface_t *decode(const unsigned char *png, size_t len)
{
    rd_t r = {png, len, 0};
    cairo_surface_t *s = cairo_image_surface_create_from_png_stream(png_read, &r);
    assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
    return s;
}

static viz_rgba_t pixel(cairo_surface_t *s, int x, int y)
{
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    uint32_t v = *(const uint32_t *)(d + y * stride + x * 4);
    viz_rgba_t c = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v, (unsigned char)(v >> 24)};
    return c;
}

static int near(viz_rgba_t a, viz_rgba_t b, int tol)
{
    return abs(a.r - b.r) <= tol && abs(a.g - b.g) <= tol && abs(a.b - b.b) <= tol;
}

/* Share of pixels in a (2r+1)^2 square that match c. */
static double share(cairo_surface_t *s, double x, double y, int r, viz_rgba_t c)
{
    int n = 0, hit = 0;
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++) {
            n++;
            hit += near(pixel(s, (int)lround(x) + dx, (int)lround(y) + dy), c, 6);
        }
    return (double)hit / n;
}

static const viz_datum_t *datum_of(const viz_scene_t *s, int series, long row)
{
    for (size_t i = 0; i < viz_scene_datum_count(s); i++) {
        const viz_datum_t *d = viz_scene_datum(s, i);
        if (d->series == series && d->row == row)
            return d;
    }
    fail_msg("no datum for series %d row %ld", series, row);
    return NULL;
}

/* The band colour at a value, and the line colour at a point: at 72 dpi a
 * pixel is a point, so scene coordinates are pixel coordinates. */
static void test_png_pixels(void **state)
{
    (void)state;
    /* Two readings a day apart: systolic 150 then 140 (diastolic 85). */
    viz_chart_t *c = vt_chart("{\"preset\":\"bp_trend\",\"data\":["
                              "{\"time\":\"2024-03-01T08:00\",\"systolic\":150,\"diastolic\":85},"
                              "{\"time\":\"2024-03-02T08:00\",\"systolic\":140,\"diastolic\":85}]}");
    viz_render_opts_t o = {.dpi = 72};
    viz_scene_t *s = vt_scene(c, &o);
    size_t len;
    unsigned char *png = vt_render(c, VIZ_PNG, &o, &len);
    cairo_surface_t *img = decode(png, len);
    assert_int_equal(cairo_image_surface_get_width(img), 640);

    /* Line colour: the systolic marker of the first reading is Okabe–Ito blue. */
    const viz_datum_t *d150 = datum_of(s, 0, 0), *d140 = datum_of(s, 0, 1);
    assert_true(near(pixel(img, (int)lround(d150->x), (int)lround(d150->y)), viz_okabe_ito[0], 8));
    /* Half way between the two readings the line itself is blue too. */
    double mx = (d150->x + d140->x) / 2, my = (d150->y + d140->y) / 2;
    assert_true(share(img, mx, my, 1, viz_okabe_ito[0]) > 0.3);

    /* Band colour at 156 mmHg (stage 2 by ACC/AHA 2017: 140 to 180), read
     * off the y scale the two readings define. */
    double y170 = d150->y + (d150->y - d140->y) * 0.6;
    const viz_prim_t *band = NULL;
    for (size_t i = 0; i < viz_scene_count(s); i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_RECT && p->role == VIZ_ROLE_BAND && mx >= p->x && mx <= p->x + p->w &&
            y170 >= p->y && y170 <= p->y + p->h)
            band = p;
    }
    assert_non_null(band);
    assert_true(share(img, mx, y170, 3, band->style.fill) > 0.5);
    /* ... and it is not the colour of the normal band (at 110 mmHg). */
    double y110 = d150->y + (d150->y - d140->y) * -4;
    assert_true(share(img, mx, y110, 3, band->style.fill) < 0.1);
    assert_true(share(img, mx, y110, 3, (viz_rgba_t){255, 255, 255, 255}) < 0.1);
    cairo_surface_destroy(img);
    free(png);

    /* At 96 dpi 640 pt is 853.3 px: the rounded-up last column is white. */
    o.dpi = 96;
    png = vt_render(c, VIZ_PNG, &o, &len);
    img = decode(png, len);
    assert_int_equal(cairo_image_surface_get_width(img), 854);
    assert_true(near(pixel(img, 853, 5), (viz_rgba_t){255, 255, 255, 255}, 0));
    assert_true(near(pixel(img, 853, cairo_image_surface_get_height(img) - 1), (viz_rgba_t){255, 255, 255, 255}, 0));
    cairo_surface_destroy(img);
    free(png);

    /* dpi scales the pixel size. */
    o.dpi = 144;
    png = vt_render(c, VIZ_PNG, &o, &len);
    img = decode(png, len);
    assert_int_equal(cairo_image_surface_get_width(img), 1280);
    assert_int_equal(cairo_image_surface_get_height(img), (int)ceil(viz_scene_height(s) * 2));
    cairo_surface_destroy(img);
    free(png);

    /* Past the pixel limit: a clear error, nothing rendered. */
    viz_render_opts_t big = {.width = 10000, .height = 10000, .dpi = 300};
    unsigned char *out = NULL;
    muse_error_t e = {0};
    assert_int_equal(viz_render(c, VIZ_PNG, &big, &out, &len, &e), MUSE_ELIMIT);
    assert_null(out);
    assert_non_null(strstr(e.message, "pixels"));
    big.width = 0;
    big.height = 0;
    big.dpi = -3;
    assert_int_equal(viz_render(c, VIZ_PNG, &big, &out, &len, &e), MUSE_ERANGE);
    viz_scene_free(s);
    viz_chart_free(c);
}

/* Every text drawn keeps 4.5:1 against white and against every band tint
 * in the chart (WCAG 2.x, 1.4.3), in every preset. */
static void test_text_contrast(void **state)
{
    (void)state;
    const char *files[] = {"bp_trend", "bp_category", "lab_panel", "weight_trend", "glucose_profile",
                           "bmi_gauge", "risk_gauge"};
    viz_rgba_t white = {255, 255, 255, 255};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/viz/specs/%s.json", files[f]);
        char *spec = vt_read(rel);
        viz_chart_t *c = vt_chart(spec);
        viz_scene_t *s = vt_scene(c, NULL);
        for (size_t i = 0; i < viz_scene_count(s); i++) {
            const viz_prim_t *t = viz_scene_prim(s, i);
            if (t->kind != VIZ_PRIM_TEXT)
                continue;
            double cw = viz_contrast_ratio(t->style.fill, white);
            if (cw < 4.5)
                fail_msg("%s: \"%s\" has contrast %.2f on white", files[f], t->text, cw);
            for (size_t k = 0; k < viz_scene_count(s); k++) {
                const viz_prim_t *b = viz_scene_prim(s, k);
                if (b->kind != VIZ_PRIM_RECT || b->role != VIZ_ROLE_BAND || b->style.fill.a < 255)
                    continue;
                double cb = viz_contrast_ratio(t->style.fill, b->style.fill);
                if (cb < 4.5)
                    fail_msg("%s: \"%s\" has contrast %.2f on a band", files[f], t->text, cb);
            }
        }
        viz_scene_free(s);
        viz_chart_free(c);
        free(spec);
    }
}

/* ---- Files ---------------------------------------------------------------------- */

static void test_render_file(void **state)
{
    (void)state;
    viz_format_t f;
    assert_int_equal(viz_format_parse("out/Chart.SVG", &f, NULL), MUSE_OK);
    assert_int_equal(f, VIZ_SVG);
    assert_int_equal(viz_format_parse("html", &f, NULL), MUSE_OK);
    assert_int_equal(f, VIZ_HTML);
    assert_int_equal(viz_format_parse("chart.gif", &f, NULL), MUSE_EUNSUPPORTED);
    assert_int_equal(viz_format_parse("dir.png/chart", &f, NULL), MUSE_EUNSUPPORTED);

    char dir[] = "/tmp/muse-viz-files-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/bp.png", dir);
    char *spec = spec_bp();
    viz_chart_t *c = vt_chart(spec);
    muse_error_t e = {0};
    assert_int_equal(viz_render_file(c, path, NULL, &e), MUSE_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 1000);
    /* A failed render leaves the chart that was there. */
    viz_render_opts_t bad = {.dpi = 5000};
    assert_int_equal(viz_render_file(c, path, &bad, &e), MUSE_ERANGE);
    struct stat st2;
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st2.st_size, st.st_size);
    /* No directory: an error naming the file, and nothing left behind. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope/bp.svg", dir);
    assert_int_equal(viz_render_file(c, missing, NULL, &e), MUSE_EIO);
    assert_non_null(strstr(e.message, "nope/bp.svg"));
    unlink(path);
    assert_int_equal(rmdir(dir), 0);   /* empty: no temporary files left */
    viz_chart_free(c);
    free(spec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_svg_structure),
        cmocka_unit_test(test_svg_loads_in_librsvg),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_html_page),
        cmocka_unit_test(test_pdf),
        cmocka_unit_test(test_png_pixels),
        cmocka_unit_test(test_text_contrast),
        cmocka_unit_test(test_render_file),
    };
    return cmocka_run_group_tests(tests, NULL, vt_teardown);
}
