/* libharu backend: fonts, text cleaning and viz scenes drawn as PDF vectors.
 *
 * A viz scene is a display list in points with the origin at the top left;
 * a PDF page has its origin at the bottom left. Rather than flip the page
 * with a transform (which would also flip the glyphs), every coordinate is
 * mapped as it is drawn: X = x0 + x, Y = y_top - y. Text is placed by its
 * baseline and anchor exactly as the Cairo renderer places it, measured with
 * the same font (DejaVu Sans), so a chart in a report matches `muse chart`.
 *
 * Fonts are embedded TrueType with libharu's UTF-8 encoder (CID fonts,
 * Identity-H, subset), so any character in DejaVu Sans prints: "Ærøskøbing",
 * "µmol/L", "≥ 140". A character the font lacks would print as an empty box
 * that a reader cannot tell from a space or a typo; instead it is replaced
 * with U+FFFD "�" (or '?' when the font lacks that too), the replacements are
 * counted and the report says so on its last page. Control characters become
 * spaces; invalid UTF-8 becomes U+FFFD.
 *
 * libharu only draws with stateful calls, so colours, widths, dashes and
 * transparency are cached and set only when they change: a chart of a
 * year's readings then costs a few bytes per point. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fontconfig/fontconfig.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

struct rp_fonts {
    HPDF_Font reg, bold;
    FcCharSet *cs;          /* characters both fonts have */
    int has_fffd;
    size_t replaced;
};

/* The file of a fontconfig match, only when it really is the family asked
 * for and a TrueType file libharu can embed; *cs gets its charset. */
static int find_font(const char *pattern, const char *family, char *path, size_t cap, FcCharSet **cs)
{
    int ok = 0;
    FcPattern *pat = FcNameParse((const FcChar8 *)pattern);
    if (!pat)
        return 0;
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcPattern *m = FcFontMatch(NULL, pat, &res);
    FcChar8 *file = NULL, *fam = NULL;
    FcCharSet *c = NULL;
    if (m && FcPatternGetString(m, FC_FILE, 0, &file) == FcResultMatch &&
        FcPatternGetString(m, FC_FAMILY, 0, &fam) == FcResultMatch && strcmp((const char *)fam, family) == 0) {
        size_t n = strlen((const char *)file);
        if (n > 4 && strcasecmp((const char *)file + n - 4, ".ttf") == 0 && n < cap) {
            memcpy(path, file, n + 1);
            if (FcPatternGetCharSet(m, FC_CHARSET, 0, &c) == FcResultMatch)
                *cs = FcCharSetCopy(c);
            ok = 1;
        }
    }
    if (m)
        FcPatternDestroy(m);
    FcPatternDestroy(pat);
    return ok;
}

/* The charset of a font file given by path. */
static FcCharSet *file_charset(const char *path)
{
    FcCharSet *out = NULL;
    FcFontSet *fs = FcFontSetCreate();
    if (!fs)
        return NULL;
    if (FcFileScan(fs, NULL, NULL, NULL, (const FcChar8 *)path, FcTrue) && fs->nfont > 0) {
        FcCharSet *c = NULL;
        if (FcPatternGetCharSet(fs->fonts[0], FC_CHARSET, 0, &c) == FcResultMatch)
            out = FcCharSetCopy(c);
    }
    FcFontSetDestroy(fs);
    return out;
}

int rp_fonts_load(HPDF_Doc pdf, const char *regular, const char *bold, rp_fonts_t **out, muse_error_t *err)
{
    char rp[4096], bp[4096];
    FcCharSet *rcs = NULL, *bcs = NULL;
    int rc = MUSE_OK;
    *out = NULL;
    rp_fonts_t *f = calloc(1, sizeof *f);
    if (!f)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    if (!FcInit()) {
        rc = muse_err(err, MUSE_EINTERNAL, "fontconfig could not be initialised");
        goto fail;
    }
    if (regular) {
        snprintf(rp, sizeof rp, "%s", regular);
        rcs = file_charset(rp);
    } else if (!find_font("DejaVu Sans:style=Book", "DejaVu Sans", rp, sizeof rp, &rcs)) {
        rc = muse_err(err, MUSE_ENOTFOUND,
                      "the DejaVu Sans font was not found through fontconfig (install fonts-dejavu-core)");
        goto fail;
    }
    if (bold) {
        snprintf(bp, sizeof bp, "%s", bold);
        bcs = file_charset(bp);
    } else if (!find_font("DejaVu Sans:style=Bold", "DejaVu Sans", bp, sizeof bp, &bcs)) {
        snprintf(bp, sizeof bp, "%s", rp); /* headings in the regular weight rather than no report */
        bcs = rcs ? FcCharSetCopy(rcs) : NULL;
    }
    /* libharu reports a bad file through its error handler and returns NULL. */
    const char *rn = HPDF_LoadTTFontFromFile(pdf, rp, HPDF_TRUE);
    const char *bn = rn && strcmp(bp, rp) != 0 ? HPDF_LoadTTFontFromFile(pdf, bp, HPDF_TRUE) : rn;
    if (!rn || !bn) {
        rc = muse_err(err, MUSE_EUNSUPPORTED, "%s: not a TrueType font libharu can embed", !rn ? rp : bp);
        goto fail;
    }
    f->reg = HPDF_GetFont(pdf, rn, "UTF-8");
    f->bold = HPDF_GetFont(pdf, bn, "UTF-8");
    if (!f->reg || !f->bold) {
        rc = muse_err(err, MUSE_EINTERNAL, "libharu could not use the font with UTF-8 text");
        goto fail;
    }
    if (rcs && bcs)
        f->cs = FcCharSetIntersect(rcs, bcs);
    else if (rcs || bcs)
        f->cs = FcCharSetCopy(rcs ? rcs : bcs);
    f->has_fffd = f->cs && FcCharSetHasChar(f->cs, 0xFFFD);
    FcCharSetDestroy(rcs);
    FcCharSetDestroy(bcs);
    *out = f;
    return MUSE_OK;
fail:
    if (rcs)
        FcCharSetDestroy(rcs);
    if (bcs)
        FcCharSetDestroy(bcs);
    free(f);
    return rc;
}

void rp_fonts_free(rp_fonts_t *f)
{
    if (!f)
        return;
    if (f->cs)
        FcCharSetDestroy(f->cs);
    free(f);
}

HPDF_Font rp_font(const rp_fonts_t *f, int bold)
{
    return bold ? f->bold : f->reg;
}

size_t rp_fonts_replaced(const rp_fonts_t *f)
{
    return f ? f->replaced : 0;
}

/* One code point from UTF-8; *len bytes used; -1 for an invalid sequence. */
static long utf8_next(const unsigned char *s, size_t *len)
{
    unsigned c = s[0];
    long cp;
    size_t n;
    if (c < 0x80) {
        *len = 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        n = 2;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        n = 3;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        n = 4;
    } else {
        *len = 1;
        return -1;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = i;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = n;
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    return cp;
}

char *rp_fonts_clean(rp_fonts_t *f, const char *text)
{
    if (!text)
        text = "";
    size_t n = strlen(text);
    /* Each byte becomes at most three (U+FFFD). */
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        long cp = utf8_next(s + i, &len);
        if (cp >= 0x20 && cp < 0x7F) {
            out[o++] = (char)cp;
        } else if (cp == '\t' || cp == '\n' || cp == '\r' || (cp >= 0 && cp < 0x20) ||
                   (cp >= 0x7F && cp < 0xA0)) {
            out[o++] = ' ';
        } else if (cp > 0 && (!f->cs || FcCharSetHasChar(f->cs, (FcChar32)cp))) {
            memcpy(out + o, s + i, len);
            o += len;
        } else {
            f->replaced++;
            if (f->has_fffd) {
                memcpy(out + o, "\xEF\xBF\xBD", 3);
                o += 3;
            } else {
                out[o++] = '?';
            }
        }
        i += len;
    }
    out[o] = '\0';
    return out;
}

double rp_text_width(const rp_fonts_t *f, int bold, double size, const char *text)
{
    if (!text || !*text)
        return 0;
    HPDF_TextWidth tw = HPDF_Font_TextWidth(rp_font(f, bold), (const HPDF_BYTE *)text, (HPDF_UINT)strlen(text));
    return tw.width * size / 1000.0;
}

/* ---- Scene --------------------------------------------------------------------------- */

#define MAX_GSTATES 32

typedef struct pen {
    HPDF_Page page;
    HPDF_Doc pdf;
    double x0, y0;
    /* what is set on the page now; -1 / NAN: unknown */
    long fill, stroke;
    double width;
    int dash_key;          /* hash of the dash pattern, -1 unknown */
    int round;
    int alpha_key;
    struct {
        int key;
        HPDF_ExtGState gs;
    } gstates[MAX_GSTATES];
    int ngs;
} pen_t;

static void pen_forget(pen_t *p)
{
    p->fill = p->stroke = -1;
    p->width = NAN;
    p->dash_key = -1;
    p->round = -1;
    p->alpha_key = -1;
}

static long rgb_key(viz_rgba_t c)
{
    return ((long)c.r << 16) | ((long)c.g << 8) | c.b;
}

static void set_alpha(pen_t *p, unsigned fa, unsigned sa)
{
    int key = (int)((fa << 8) | sa);
    if (key == p->alpha_key)
        return;
    HPDF_ExtGState gs = NULL;
    for (int i = 0; i < p->ngs; i++)
        if (p->gstates[i].key == key)
            gs = p->gstates[i].gs;
    if (!gs && p->ngs < MAX_GSTATES) {
        gs = HPDF_CreateExtGState(p->pdf);
        if (gs) {
            HPDF_ExtGState_SetAlphaFill(gs, fa / 255.0f);
            HPDF_ExtGState_SetAlphaStroke(gs, sa / 255.0f);
            p->gstates[p->ngs].key = key;
            p->gstates[p->ngs++].gs = gs;
        }
    }
    if (gs) {
        HPDF_Page_SetExtGState(p->page, gs);
        p->alpha_key = key;
    }
}

static void set_fill(pen_t *p, viz_rgba_t c)
{
    long k = rgb_key(c);
    if (k != p->fill) {
        HPDF_Page_SetRGBFill(p->page, c.r / 255.0f, c.g / 255.0f, c.b / 255.0f);
        p->fill = k;
    }
}

static void set_stroke(pen_t *p, const viz_style_t *st)
{
    long k = rgb_key(st->stroke);
    if (k != p->stroke) {
        HPDF_Page_SetRGBStroke(p->page, st->stroke.r / 255.0f, st->stroke.g / 255.0f, st->stroke.b / 255.0f);
        p->stroke = k;
    }
    double w = st->stroke_width > 0 ? st->stroke_width : 1;
    if (w != p->width) {
        HPDF_Page_SetLineWidth(p->page, (HPDF_REAL)w);
        p->width = w;
    }
    int round = st->round ? 1 : 0;
    if (round != p->round) {
        HPDF_Page_SetLineCap(p->page, round ? HPDF_ROUND_END : HPDF_BUTT_END);
        HPDF_Page_SetLineJoin(p->page, round ? HPDF_ROUND_JOIN : HPDF_MITER_JOIN);
        p->round = round;
    }
    /* libharu takes dashes as whole points. */
    HPDF_UINT16 d[4];
    int nd = st->ndash > 0 && st->ndash <= 4 ? st->ndash : 0;
    int key = nd;
    for (int i = 0; i < nd; i++) {
        double v = st->dash[i];
        d[i] = (HPDF_UINT16)(v < 1 ? 1 : v > 1000 ? 1000 : lround(v));
        key = key * 1009 + d[i];
    }
    if (key != p->dash_key) {
        HPDF_Page_SetDash(p->page, nd ? d : NULL, (HPDF_UINT)nd, 0);
        p->dash_key = key;
    }
}

/* Fill then stroke the current path, as Cairo's paint() does. */
static void paint(pen_t *p, const viz_style_t *st)
{
    int f = st->fill.a != 0, s = st->stroke.a != 0 && st->stroke_width > 0;
    if (f)
        set_fill(p, st->fill);
    if (s)
        set_stroke(p, st);
    set_alpha(p, f ? st->fill.a : 255, s ? st->stroke.a : 255);
}

static void end_path(pen_t *p, const viz_style_t *st)
{
    int f = st->fill.a != 0, s = st->stroke.a != 0 && st->stroke_width > 0;
    if (f && s)
        HPDF_Page_FillStroke(p->page);
    else if (f)
        HPDF_Page_Fill(p->page);
    else if (s)
        HPDF_Page_Stroke(p->page);
    else
        HPDF_Page_EndPath(p->page);
}

static int finite2(double a, double b)
{
    return isfinite(a) && isfinite(b);
}

static void draw_text(pen_t *p, rp_fonts_t *f, const viz_prim_t *pr)
{
    if (!pr->text || !*pr->text || !finite2(pr->x, pr->y) || !(pr->font_size > 0) || !isfinite(pr->angle))
        return;
    char *t = rp_fonts_clean(f, pr->text);
    if (!t)
        return;
    double w = pr->anchor == VIZ_ANCHOR_START ? 0 : rp_text_width(f, pr->bold, pr->font_size, t);
    double dx = pr->anchor == VIZ_ANCHOR_MIDDLE ? w / 2 : pr->anchor == VIZ_ANCHOR_END ? w : 0;
    set_fill(p, pr->style.fill.a ? pr->style.fill : (viz_rgba_t){0, 0, 0, 255});
    set_alpha(p, pr->style.fill.a ? pr->style.fill.a : 255, 255);
    double X = p->x0 + pr->x, Y = p->y0 - pr->y;
    HPDF_Page_BeginText(p->page);
    HPDF_Page_SetFontAndSize(p->page, rp_font(f, pr->bold), (HPDF_REAL)pr->font_size);
    if (pr->angle != 0) {
        double a = pr->angle * M_PI / 180.0, c = cos(a), s = sin(a);
        HPDF_Page_SetTextMatrix(p->page, (HPDF_REAL)c, (HPDF_REAL)s, (HPDF_REAL)-s, (HPDF_REAL)c,
                                (HPDF_REAL)(X - dx * c), (HPDF_REAL)(Y - dx * s));
        HPDF_Page_ShowText(p->page, t);
    } else {
        HPDF_Page_TextOut(p->page, (HPDF_REAL)(X - dx), (HPDF_REAL)Y, t);
    }
    HPDF_Page_EndText(p->page);
    free(t);
}

int rp_draw_scene(HPDF_Page page, HPDF_Doc pdf, rp_fonts_t *f, const viz_scene_t *s, double x, double y_top,
                  muse_error_t *err)
{
    pen_t p;
    memset(&p, 0, sizeof p);
    p.page = page;
    p.pdf = pdf;
    p.x0 = x;
    p.y0 = y_top;
    pen_forget(&p);
    int depth = 0;
    HPDF_Page_GSave(page);
    size_t n = viz_scene_count(s);
    for (size_t i = 0; i < n; i++) {
        const viz_prim_t *pr = viz_scene_prim(s, i);
        const viz_style_t *st = &pr->style;
        switch (pr->kind) {
        case VIZ_PRIM_CLIP_BEGIN:
            HPDF_Page_GSave(page);
            if (finite2(pr->x, pr->y) && finite2(pr->w, pr->h)) {
                HPDF_Page_Rectangle(page, (HPDF_REAL)(x + pr->x), (HPDF_REAL)(y_top - pr->y - fmax(0, pr->h)),
                                    (HPDF_REAL)fmax(0, pr->w), (HPDF_REAL)fmax(0, pr->h));
                HPDF_Page_Clip(page);
                HPDF_Page_EndPath(page);
            }
            depth++;
            break;
        case VIZ_PRIM_CLIP_END:
            if (depth > 0) {
                HPDF_Page_GRestore(page);
                depth--;
                pen_forget(&p); /* restore brought back the colours of before */
            }
            break;
        case VIZ_PRIM_RECT:
            if (!finite2(pr->x, pr->y) || !finite2(pr->w, pr->h) || (!st->fill.a && !st->stroke.a))
                break;
            paint(&p, st);
            HPDF_Page_Rectangle(page, (HPDF_REAL)(x + pr->x), (HPDF_REAL)(y_top - pr->y - pr->h), (HPDF_REAL)pr->w,
                                (HPDF_REAL)pr->h);
            end_path(&p, st);
            break;
        case VIZ_PRIM_CIRCLE:
            if (!finite2(pr->x, pr->y) || !(pr->r > 0) || (!st->fill.a && !st->stroke.a))
                break;
            paint(&p, st);
            HPDF_Page_Circle(page, (HPDF_REAL)(x + pr->x), (HPDF_REAL)(y_top - pr->y), (HPDF_REAL)pr->r);
            end_path(&p, st);
            break;
        case VIZ_PRIM_LINE: {
            if (pr->npts < 2 || !st->stroke.a)
                break;
            viz_style_t ls = *st;
            ls.fill.a = 0;
            paint(&p, &ls);
            int started = 0;
            for (size_t k = 0; k < pr->npts; k++) {
                if (!finite2(pr->pts[k].x, pr->pts[k].y))
                    continue;
                HPDF_REAL X = (HPDF_REAL)(x + pr->pts[k].x), Y = (HPDF_REAL)(y_top - pr->pts[k].y);
                if (!started)
                    HPDF_Page_MoveTo(page, X, Y);
                else
                    HPDF_Page_LineTo(page, X, Y);
                started = 1;
            }
            if (started)
                HPDF_Page_Stroke(page);
            break;
        }
        case VIZ_PRIM_PATH: {
            if (!pr->nels || (!st->fill.a && !st->stroke.a))
                break;
            paint(&p, st);
            int open = 0;
            for (size_t k = 0; k < pr->nels; k++) {
                const viz_path_el_t *e = &pr->els[k];
#define PX(i) (HPDF_REAL)(x + e->p[i].x), (HPDF_REAL)(y_top - e->p[i].y)
                switch (e->op) {
                case VIZ_PATH_MOVE:
                    HPDF_Page_MoveTo(page, PX(0));
                    open = 1;
                    break;
                case VIZ_PATH_LINE:
                    if (open)
                        HPDF_Page_LineTo(page, PX(0));
                    break;
                case VIZ_PATH_CURVE:
                    if (open)
                        HPDF_Page_CurveTo(page, PX(0), PX(1), PX(2));
                    break;
                case VIZ_PATH_CLOSE:
                    if (open)
                        HPDF_Page_ClosePath(page);
                    break;
                }
#undef PX
            }
            if (open)
                end_path(&p, st);
            break;
        }
        case VIZ_PRIM_TEXT:
            draw_text(&p, f, pr);
            break;
        default:
            break;
        }
    }
    while (depth-- > 0)
        HPDF_Page_GRestore(page);
    HPDF_Page_GRestore(page);
    if (HPDF_GetError(pdf) != HPDF_OK)
        return muse_err(err, MUSE_EINTERNAL, "libharu failed drawing a chart (error 0x%04X)",
                        (unsigned)HPDF_GetError(pdf));
    return MUSE_OK;
}
