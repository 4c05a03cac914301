/* The front door of viz: sizes and formats, chart to scene to bytes, and
 * writing a chart file atomically (temporary name, fsync, rename), so a
 * failed or interrupted render never leaves half a chart where the old one
 * was. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "muse_err.h"
#include "viz/viz_int.h"

int viz_format_parse(const char *name_or_path, viz_format_t *out, muse_error_t *err)
{
    static const struct {
        const char *name;
        viz_format_t f;
    } fmts[] = {{"svg", VIZ_SVG}, {"pdf", VIZ_PDF}, {"png", VIZ_PNG}, {"html", VIZ_HTML},
                {"htm", VIZ_HTML}};
    if (!name_or_path || !*name_or_path)
        return muse_err(err, MUSE_EINVAL, "chart format: missing (svg, pdf, png or html)");
    const char *dot = strrchr(name_or_path, '.');
    const char *slash = strrchr(name_or_path, '/');
    const char *ext = dot && (!slash || dot > slash) ? dot + 1 : name_or_path;
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++)
        if (strcasecmp(ext, fmts[i].name) == 0) {
            *out = fmts[i].f;
            return MUSE_OK;
        }
    return muse_err(err, MUSE_EUNSUPPORTED,
                    "%s: unknown chart format (use .svg, .pdf, .png or .html)", name_or_path);
}

static int side(double opt, double spec, double dflt, const char *what, double *out,
                muse_error_t *err)
{
    double v = opt != 0 ? opt : spec > 0 ? spec : dflt;
    if (!isfinite(v) || v < VIZ_MIN_SIDE || v > VIZ_MAX_SIDE)
        return muse_err(err, MUSE_ERANGE, "%s %g: a chart is %g to %g points on a side", what, v,
                        VIZ_MIN_SIDE, VIZ_MAX_SIDE);
    *out = v;
    return MUSE_OK;
}

int viz_scene_build(const viz_chart_t *c, const viz_render_opts_t *o, viz_scene_t **out,
                    muse_error_t *err)
{
    if (!out)
        return muse_err(err, MUSE_EINVAL, "viz_scene_build: out is NULL");
    *out = NULL;
    if (!c)
        return muse_err(err, MUSE_EINVAL, "viz_scene_build: no chart");
    double w = 0, h = 0;
    int rc;
    if ((rc = side(o ? o->width : 0, c->width, 640, "width", &w, err)) != MUSE_OK ||
        (rc = side(o ? o->height : 0, c->height, 400, "height", &h, err)) != MUSE_OK)
        return rc;
    viz_scene_t *s = viz_scene_new(w, h);
    if (!s)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    rc = viz_layout(c, w, h, s, err);
    if (rc != MUSE_OK) {
        viz_scene_free(s);
        return rc;
    }
    *out = s;
    return MUSE_OK;
}

int viz_scene_render(const viz_scene_t *s, viz_format_t fmt, const viz_render_opts_t *o,
                     unsigned char **out, size_t *len, muse_error_t *err)
{
    if (!out || !len)
        return muse_err(err, MUSE_EINVAL, "viz_scene_render: out and len are required");
    *out = NULL;
    *len = 0;
    if (!s)
        return muse_err(err, MUSE_EINVAL, "viz_scene_render: no scene");
    viz_buf_t b = {0};
    int rc;
    switch (fmt) {
    case VIZ_SVG: rc = viz_render_svg(s, o, &b, err); break;
    case VIZ_PDF: rc = viz_render_pdf(s, o, &b, err); break;
    case VIZ_PNG: rc = viz_render_png(s, o, &b, err); break;
    case VIZ_HTML: rc = viz_render_html(s, o, &b, err); break;
    default: rc = muse_err(err, MUSE_EUNSUPPORTED, "chart format %d is not supported", (int)fmt);
    }
    if (rc != MUSE_OK) {
        vb_free(&b);
        return rc;
    }
    char *p = vb_steal(&b, len);
    if (!p)
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    *out = (unsigned char *)p;
    return MUSE_OK;
}

int viz_render(const viz_chart_t *c, viz_format_t fmt, const viz_render_opts_t *o,
               unsigned char **out, size_t *len, muse_error_t *err)
{
    if (!out || !len)
        return muse_err(err, MUSE_EINVAL, "viz_render: out and len are required");
    *out = NULL;
    *len = 0;
    viz_scene_t *s = NULL;
    int rc = viz_scene_build(c, o, &s, err);
    if (rc == MUSE_OK)
        rc = viz_scene_render(s, fmt, o, out, len, err);
    viz_scene_free(s);
    return rc;
}

int viz_render_file(const viz_chart_t *c, const char *path, const viz_render_opts_t *o,
                    muse_error_t *err)
{
    if (!path || !*path)
        return muse_err(err, MUSE_EINVAL, "chart file: no name given");
    viz_format_t fmt;
    int rc = viz_format_parse(path, &fmt, err);
    if (rc != MUSE_OK)
        return rc;
    unsigned char *data = NULL;
    size_t len = 0;
    if ((rc = viz_render(c, fmt, o, &data, &len, err)) != MUSE_OK)
        return rc;
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        free(data);
        return muse_err(err, MUSE_ENOMEM, "out of memory");
    }
    snprintf(tmp, n, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = muse_err(err, MUSE_EIO, "%s: cannot write: %s", path, strerror(errno));
        goto done;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    /* mkstemp makes the file 0600; a chart is an ordinary document. */
    if (ok) {
        mode_t mask = umask(0);
        umask(mask);
        if (chmod(tmp, 0666 & ~mask) != 0) {
            /* not fatal: the chart is still written */
        }
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        rc = muse_err(err, MUSE_EIO, "%s: cannot write: %s", path, strerror(saved));
        unlink(tmp);
    }
done:
    free(tmp);
    free(data);
    return rc;
}
