/* The Cairo backend: one scene drawn to SVG, PDF or PNG.
 *
 * Cairo draws text as glyph outlines in every format, so the picture is the
 * same in a browser, a PDF viewer and a PNG whatever fonts the reader has.
 * PNG size is the scene's size in points times dpi/72; PDF keeps points
 * and carries the chart title as document metadata. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "muse_err.h"
#include "viz/viz_int.h"

static void source(cairo_t *cr, viz_rgba_t c)
{
    cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, c.a / 255.0);
}

static void stroke_style(cairo_t *cr, const viz_style_t *st)
{
    cairo_set_line_width(cr, st->stroke_width > 0 ? st->stroke_width : 1);
    cairo_set_line_cap(cr, st->round ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, st->round ? CAIRO_LINE_JOIN_ROUND : CAIRO_LINE_JOIN_MITER);
    cairo_set_dash(cr, st->dash, st->ndash, 0);
}

static void paint(cairo_t *cr, const viz_style_t *st)
{
    if (st->fill.a) {
        source(cr, st->fill);
        if (st->stroke.a)
            cairo_fill_preserve(cr);
        else
            cairo_fill(cr);
    }
    if (st->stroke.a) {
        source(cr, st->stroke);
        stroke_style(cr, st);
        cairo_stroke(cr);
    }
    cairo_new_path(cr);
}

static int finite4(double a, double b, double c, double d)
{
    return isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d);
}

/* Draws the primitives whose mask byte is set (mask NULL: all of them).
 * Clip groups are always applied, so a subset keeps its clipping. */
void viz_cairo_draw_mask(const viz_scene_t *s, cairo_t *cr, const unsigned char *mask)
{
    int depth = 0;
    /* On a raster, hatching is drawn without antialiasing: crisp one-pixel
     * lines read as a pattern just as well, and a PNG of flat runs
     * compresses several times faster than one of grey ramps. */
    int raster = cairo_surface_get_type(cairo_get_target(cr)) == CAIRO_SURFACE_TYPE_IMAGE;
    double last_size = -1;
    int last_bold = -1;
    const char *family = viz_scene_font(s);
    size_t n = viz_scene_count(s);
    for (size_t i = 0; i < n; i++) {
        const viz_prim_t *p = viz_scene_prim(s, i);
        if (p->kind == VIZ_PRIM_CLIP_BEGIN) {
            cairo_save(cr);
            if (finite4(p->x, p->y, p->w, p->h)) {
                cairo_rectangle(cr, p->x, p->y, fmax(0, p->w), fmax(0, p->h));
                cairo_clip(cr);
            }
            depth++;
            continue;
        }
        if (p->kind == VIZ_PRIM_CLIP_END) {
            if (depth > 0) {
                cairo_restore(cr);
                depth--;
                /* restore brings back the font; make the next text reset it */
                last_size = -1;
            }
            continue;
        }
        if (mask && !mask[i])
            continue;
        switch (p->kind) {
        case VIZ_PRIM_RECT:
            if (!finite4(p->x, p->y, p->w, p->h))
                break;
            cairo_rectangle(cr, p->x, p->y, p->w, p->h);
            paint(cr, &p->style);
            break;
        case VIZ_PRIM_CIRCLE:
            if (!finite4(p->x, p->y, p->r, 0) || p->r <= 0)
                break;
            cairo_new_sub_path(cr);
            cairo_arc(cr, p->x, p->y, p->r, 0, 2 * M_PI);
            paint(cr, &p->style);
            break;
        case VIZ_PRIM_LINE:
            if (p->npts < 2 || !p->style.stroke.a)
                break;
            for (size_t k = 0; k < p->npts; k++) {
                if (!finite4(p->pts[k].x, p->pts[k].y, 0, 0))
                    continue;
                if (k == 0)
                    cairo_move_to(cr, p->pts[k].x, p->pts[k].y);
                else
                    cairo_line_to(cr, p->pts[k].x, p->pts[k].y);
            }
            source(cr, p->style.stroke);
            stroke_style(cr, &p->style);
            cairo_stroke(cr);
            break;
        case VIZ_PRIM_PATH:
            if (raster && p->role == VIZ_ROLE_BAND)
                cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
            for (size_t k = 0; k < p->nels; k++) {
                const viz_path_el_t *e = &p->els[k];
                switch (e->op) {
                case VIZ_PATH_MOVE:
                    cairo_move_to(cr, e->p[0].x, e->p[0].y);
                    break;
                case VIZ_PATH_LINE:
                    cairo_line_to(cr, e->p[0].x, e->p[0].y);
                    break;
                case VIZ_PATH_CURVE:
                    cairo_curve_to(cr, e->p[0].x, e->p[0].y, e->p[1].x, e->p[1].y, e->p[2].x,
                                   e->p[2].y);
                    break;
                case VIZ_PATH_CLOSE:
                    cairo_close_path(cr);
                    break;
                }
            }
            paint(cr, &p->style);
            if (raster && p->role == VIZ_ROLE_BAND)
                cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
            break;
        case VIZ_PRIM_TEXT: {
            if (!p->text || !*p->text || !finite4(p->x, p->y, p->font_size, p->angle) ||
                p->font_size <= 0)
                break;
            if (p->font_size != last_size || p->bold != last_bold) {
                cairo_select_font_face(cr, family, CAIRO_FONT_SLANT_NORMAL,
                                       p->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
                cairo_set_font_size(cr, p->font_size);
                last_size = p->font_size;
                last_bold = p->bold;
            }
            double dx = 0;
            if (p->anchor != VIZ_ANCHOR_START) {
                cairo_text_extents_t e;
                cairo_text_extents(cr, p->text, &e);
                dx = p->anchor == VIZ_ANCHOR_MIDDLE ? e.x_advance / 2 : e.x_advance;
            }
            source(cr, p->style.fill.a ? p->style.fill : (viz_rgba_t){0, 0, 0, 255});
            if (p->angle != 0) {
                cairo_save(cr);
                cairo_translate(cr, p->x, p->y);
                cairo_rotate(cr, -p->angle * M_PI / 180.0);
                cairo_move_to(cr, -dx, 0);
                cairo_show_text(cr, p->text);
                cairo_restore(cr);
            } else {
                cairo_move_to(cr, p->x - dx, p->y);
                cairo_show_text(cr, p->text);
            }
            cairo_new_path(cr);
            break;
        }
        default:
            break;
        }
    }
    while (depth-- > 0)
        cairo_restore(cr);
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    viz_buf_t *b = closure;
    return vb_put(b, (const char *)data, len) == MUSE_OK ? CAIRO_STATUS_SUCCESS
                                                         : CAIRO_STATUS_WRITE_ERROR;
}

static int cairo_fail(cairo_status_t st, const char *what, muse_error_t *err)
{
    if (st == CAIRO_STATUS_NO_MEMORY)
        return muse_err(err, MUSE_ENOMEM, "%s: out of memory", what);
    return muse_err(err, MUSE_EINTERNAL, "%s: cairo: %s", what, cairo_status_to_string(st));
}

/* One cairo SVG document of the masked primitives. */
int viz_cairo_svg_mask(const viz_scene_t *s, const unsigned char *mask, viz_buf_t *out,
                       muse_error_t *err)
{
    cairo_surface_t *surf = cairo_svg_surface_create_for_stream(to_buf, out, viz_scene_width(s),
                                                                viz_scene_height(s));
    cairo_t *cr = cairo_create(surf);
    viz_cairo_draw_mask(s, cr, mask);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (out->oom)
        return muse_err(err, MUSE_ENOMEM, "SVG: out of memory");
    return st == CAIRO_STATUS_SUCCESS ? MUSE_OK : cairo_fail(st, "SVG", err);
}

int viz_render_pdf(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err)
{
    (void)o;
    cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(to_buf, out, viz_scene_width(s),
                                                                viz_scene_height(s));
#if CAIRO_VERSION >= CAIRO_VERSION_ENCODE(1, 16, 0)
    const char *title = viz_scene_title(s);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, *title ? title : "Chart");
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "Muse " MUSE_VERSION_STRING);
    if (*viz_scene_summary(s))
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_SUBJECT, viz_scene_summary(s));
#endif
    cairo_t *cr = cairo_create(surf);
    viz_cairo_draw_mask(s, cr, NULL);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (out->oom)
        return muse_err(err, MUSE_ENOMEM, "PDF: out of memory");
    return st == CAIRO_STATUS_SUCCESS ? MUSE_OK : cairo_fail(st, "PDF", err);
}

int viz_render_png(const viz_scene_t *s, const viz_render_opts_t *o, viz_buf_t *out,
                   muse_error_t *err)
{
    double dpi = o && o->dpi != 0 ? o->dpi : 96;
    if (!isfinite(dpi) || dpi < 10 || dpi > 1200)
        return muse_err(err, MUSE_ERANGE, "dpi %g: give 10 to 1200", dpi);
    double k = dpi / 72.0;
    double wpx = ceil(viz_scene_width(s) * k), hpx = ceil(viz_scene_height(s) * k);
    if (wpx > VIZ_MAX_PNG_SIDE || hpx > VIZ_MAX_PNG_SIDE || wpx * hpx > VIZ_MAX_PNG_PIXELS)
        return muse_err(err, MUSE_ELIMIT,
                        "PNG of %.0fx%.0f pixels is over the limit (%d per side, %.0f megapixels); "
                        "lower the size or dpi", wpx, hpx, VIZ_MAX_PNG_SIDE, VIZ_MAX_PNG_PIXELS / 1048576);
    /* Opaque (every scene paints its background): RGB, a quarter less to
     * filter and compress than RGBA. */
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)wpx, (int)hpx);
    cairo_status_t st = cairo_surface_status(surf);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return cairo_fail(st, "PNG", err);
    }
    cairo_t *cr = cairo_create(surf);
    /* The pixel grid is rounded up: white under the last partial pixel. */
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_scale(cr, k, k);
    viz_cairo_draw_mask(s, cr, NULL);
    st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_write_to_png_stream(surf, to_buf, out);
    cairo_surface_destroy(surf);
    if (out->oom)
        return muse_err(err, MUSE_ENOMEM, "PNG: out of memory");
    return st == CAIRO_STATUS_SUCCESS ? MUSE_OK : cairo_fail(st, "PNG", err);
}
