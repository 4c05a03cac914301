/* The report as a document model: what each page says, in order.
 *
 * Both the PDF and the HTML page are drawn from this one list of blocks, so
 * they cannot disagree; they only differ in layout. The order follows what a
 * clinician reads first: the period and what was measured, the findings
 * that need action, then one section per measure (chart, statistics,
 * trend, category against its guideline and its source, what to discuss,
 * the readings), the sources, the input problems, and what the report is
 * and is not.
 *
 * Nothing here judges a reading: categories, trends and pattern flags come
 * from the medical module; the words around them come from
 * viz/report/data/report.json. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "muse_err.h"
#include "viz/report/report_int.h"

#define MAX_SECTION_CHARTS 8

/* ---- Blocks ------------------------------------------------------------------------- */

static rp_block_t *add(rp_doc_t *d, rb_kind_t kind)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        rp_block_t *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return NULL;
        d->v = v;
        d->cap = cap;
    }
    rp_block_t *b = &d->v[d->n++];
    memset(b, 0, sizeof *b);
    b->kind = kind;
    return b;
}

/* Each helper returns 0 or MUSE_ENOMEM; callers OR them and check once. */
static int add_text(rp_doc_t *d, rb_kind_t kind, int level, const char *label, const char *text)
{
    rp_block_t *b = add(d, kind);
    if (!b)
        return MUSE_ENOMEM;
    b->level = level;
    b->label = label ? rp_strdup(label) : NULL;
    b->text = text ? rp_strdup(text) : NULL;
    return (label && !b->label) || (text && !b->text) ? MUSE_ENOMEM : 0;
}

static int heading(rp_doc_t *d, int level, const char *text, const char *anchor)
{
    if (add_text(d, RB_HEADING, level, NULL, text))
        return MUSE_ENOMEM;
    if (anchor) {
        d->v[d->n - 1].anchor = rp_strdup(anchor);
        if (!d->v[d->n - 1].anchor)
            return MUSE_ENOMEM;
    }
    return 0;
}

static int para(rp_doc_t *d, const char *label, const char *text)
{
    return add_text(d, RB_PARA, 0, label, text);
}

static int bullet(rp_doc_t *d, const char *label, const char *text)
{
    return add_text(d, RB_BULLET, 0, label, text);
}

static int note(rp_doc_t *d, const char *text)
{
    return add_text(d, RB_NOTE, 0, NULL, text);
}

static int flag(rp_doc_t *d, const char *severity, const char *text)
{
    if (add_text(d, RB_FLAG, 0, rp_severity_label(severity), text))
        return MUSE_ENOMEM;
    d->v[d->n - 1].severity = strcmp(severity, "urgent") == 0 ? 2 : strcmp(severity, "warning") == 0 ? 1 : 0;
    return 0;
}

static rb_table_t *table(rp_doc_t *d, int ncols, const char *const *head, const double *width,
                         const rb_align_t *align, const char *caption)
{
    rp_block_t *b = add(d, RB_TABLE);
    if (!b)
        return NULL;
    rb_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    b->table = t;
    t->ncols = ncols;
    t->head = calloc((size_t)ncols, sizeof *t->head);
    t->width = calloc((size_t)ncols, sizeof *t->width);
    t->align = calloc((size_t)ncols, sizeof *t->align);
    t->flow = 1;
    if (!t->head || !t->width || !t->align)
        return NULL;
    for (int i = 0; i < ncols; i++) {
        t->head[i] = rp_strdup(head[i]);
        if (!t->head[i])
            return NULL;
        t->width[i] = width[i];
        t->align[i] = align ? align[i] : RB_LEFT;
    }
    if (caption && !(t->caption = rp_strdup(caption)))
        return NULL;
    return t;
}

/* Appends one row; cells[ncols] are copied. */
static int row(rb_table_t *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * (size_t)t->ncols * sizeof *c);
        if (!c)
            return MUSE_ENOMEM;
        t->cells = c;
        t->cap = cap;
    }
    char **r = t->cells + t->nrows * (size_t)t->ncols;
    int rc = 0;
    for (int i = 0; i < t->ncols; i++) {
        r[i] = rp_strdup(cells[i] ? cells[i] : "");
        if (!r[i])
            rc = MUSE_ENOMEM;
    }
    t->nrows++;
    return rc;
}

void rp_doc_free(rp_doc_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        rp_block_t *b = &d->v[i];
        free(b->label);
        free(b->text);
        free(b->sub);
        free(b->anchor);
        viz_chart_free(b->chart.chart);
        if (b->table) {
            rb_table_t *t = b->table;
            for (int c = 0; t->head && c < t->ncols; c++)
                free(t->head[c]);
            for (size_t j = 0; t->cells && j < t->nrows * (size_t)t->ncols; j++)
                free(t->cells[j]);
            free(t->head);
            free(t->width);
            free(t->align);
            free(t->cells);
            free(t->caption);
            free(t);
        }
    }
    free(d->v);
    free(d->title);
    memset(d, 0, sizeof *d);
}

/* ---- Words ----------------------------------------------------------------------------- */

static void period_text(const report_t *r, char *out, size_t cap)
{
    char a[32], b[32];
    if (r->first < 0) {
        snprintf(out, cap, "the readings carry no dates");
        return;
    }
    rp_fmt_day(r->first, a, sizeof a);
    rp_fmt_day(r->last, b, sizeof b);
    long days = (long)((r->last / 86400) - (r->first / 86400)) + 1;
    if (days <= 1)
        snprintf(out, cap, "%s", a);
    else
        snprintf(out, cap, "%s to %s (%ld days)", a, b, days);
}

static void span_text(const report_t *r, const rp_measure_t *m, char *out, size_t cap)
{
    (void)r;
    char a[32], b[32];
    if (m->st.first < 0) {
        snprintf(out, cap, "no dates");
        return;
    }
    /* med_stats_t times are as stored; shown on the wall clock. */
    const med_reading_t *f = NULL, *l = NULL;
    for (size_t j = 0; j < m->n; j++) {
        const med_reading_t *x = &r->sel.v[m->idx[j]];
        if (x->implausible || x->time < 0)
            continue;
        if (!f)
            f = x;
        l = x;
    }
    if (!f) {
        snprintf(out, cap, "no dates");
        return;
    }
    rp_fmt_date(rp_local_time(f), a, sizeof a);
    rp_fmt_date(rp_local_time(l), b, sizeof b);
    if (strcmp(a, b) == 0)
        snprintf(out, cap, "%s", a);
    else
        snprintf(out, cap, "%.20s – %.20s", a, b);
}

/* A number (or systolic/diastolic) without its unit: the unit has a column. */
static void bare_value(med_kind_t k, double v, double v2, char *out, size_t cap)
{
    char a[48], b[48];
    rp_fmt_num(v, rp_decimals(k), a, sizeof a);
    if (k == MED_BP) {
        rp_fmt_num(v2, rp_decimals(k), b, sizeof b);
        snprintf(out, cap, "%.20s/%.20s", a, b);
    } else {
        snprintf(out, cap, "%s", a);
    }
}

static void average_text(const rp_measure_t *m, char *out, size_t cap)
{
    if (m->st.n < 2) {
        snprintf(out, cap, "–");
        return;
    }
    bare_value(m->kind, m->st.c[0].mean, m->st.n_components > 1 ? m->st.c[1].mean : NAN, out, cap);
}

static void latest_text(const rp_measure_t *m, char *out, size_t cap)
{
    if (!m->latest) {
        snprintf(out, cap, "–");
        return;
    }
    bare_value(m->kind, m->latest->value, m->latest->value2, out, cap);
}

static const cJSON *section_defs(void)
{
    return cJSON_GetObjectItemCaseSensitive(rp_data(NULL), "sections");
}

/* The kind of a section's kinds[] element, or -1. */
static int kind_of(const cJSON *kj)
{
    med_kind_t k;
    if (!cJSON_IsString(kj) || medical_kind_parse(kj->valuestring, &k) != MUSE_OK)
        return -1;
    return (int)k;
}

/* A section is shown when one of its measures has a reading in the period
 * (implausible ones too: they are listed as not interpreted). */
static int section_shown(const report_t *r, const cJSON *def)
{
    const cJSON *kj;
    cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
        int k = kind_of(kj);
        if (k >= 0 && r->m[k].n)
            return 1;
    }
    return 0;
}

static int pattern_rank(const med_pattern_t *p)
{
    return strcmp(p->severity, "urgent") == 0 ? 0 : strcmp(p->severity, "warning") == 0 ? 1 : 2;
}

/* ---- First page ------------------------------------------------------------------------ */

static int first_page(const report_t *r, rp_doc_t *d)
{
    int e = 0;
    char buf[1024], per[160];
    rp_block_t *t = add(d, RB_TITLE);
    if (!t)
        return MUSE_ENOMEM;
    t->text = rp_strdup(r->title);
    t->anchor = rp_strdup("summary");
    e |= !t->text || !t->anchor ? MUSE_ENOMEM : 0;
    if (r->label)
        e |= para(d, "Patient: ", r->label);
    period_text(r, per, sizeof per);
    if (r->from != INT64_MIN || r->to != INT64_MAX) {
        char a[32] = "the start", b[32] = "the end";
        if (r->from != INT64_MIN)
            rp_fmt_day(r->from, a, sizeof a);
        if (r->to != INT64_MAX)
            rp_fmt_day(r->to, b, sizeof b);
        snprintf(buf, sizeof buf, "%s; asked for %s to %s.", per, a, b);
    } else {
        snprintf(buf, sizeof buf, "%s.", per);
    }
    e |= para(d, "Readings: ", buf);
    char made[32];
    rp_fmt_day(r->now, made, sizeof made);
    rp_buf_t in = {0};
    rb_printf(&in, "%s by Muse %s from ", made, MUSE_VERSION_STRING);
    for (size_t i = 0; i < r->n_inputs; i++) {
        const char *base = strrchr(r->inputs[i].name, '/');
        base = base ? base + 1 : r->inputs[i].name;
        rb_printf(&in, "%s%s (%zu reading%s)", i == 0 ? "" : i + 1 == r->n_inputs ? " and " : ", ", base,
                  r->inputs[i].n_read, r->inputs[i].n_read == 1 ? "" : "s");
    }
    rb_puts(&in, ".");
    e |= in.oom ? MUSE_ENOMEM : para(d, "Prepared: ", in.p);
    free(in.p);

    /* What was measured */
    e |= heading(d, 2, "What was measured", NULL);
    static const char *const head[] = {"Measure", "Unit", "Readings", "Dates", "Latest", "Average",
                                       "Guideline category"};
    static const double w[] = {0.19, 0.13, 0.1, 0.16, 0.09, 0.09, 0.24};
    static const rb_align_t al[] = {RB_LEFT, RB_LEFT, RB_RIGHT, RB_LEFT, RB_RIGHT, RB_RIGHT, RB_LEFT};
    rb_table_t *tb = table(d, 7, head, w, al, NULL);
    if (!tb)
        return MUSE_ENOMEM;
    rp_buf_t by_avg = {0};
    int n_avg = 0, n_latest = 0;
    const cJSON *def;
    cJSON_ArrayForEach(def, section_defs()) {
        const cJSON *kj;
        cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
            int k = kind_of(kj);
            if (k < 0 || !r->m[k].n)
                continue;
            const rp_measure_t *m = &r->m[k];
            char n[32], span[64], lat[64], avg[64], cat[160];
            snprintf(n, sizeof n, "%zu", m->have_stats ? m->st.n : 0);
            span_text(r, m, span, sizeof span);
            latest_text(m, lat, sizeof lat);
            average_text(m, avg, sizeof avg);
            int by_latest = 0;
            const med_class_t *c = m->have_stats ? rp_judged_class(m, &by_latest) : NULL;
            if (!m->have_stats)
                snprintf(cat, sizeof cat, "not interpreted (implausible)");
            else if (c)
                snprintf(cat, sizeof cat, "%s", c->label);
            else
                snprintf(cat, sizeof cat, "no guideline range");
            if (c && !by_latest && m->st.n >= 2) {
                char low[96];
                rp_lower_label((med_kind_t)k, low, sizeof low);
                rb_printf(&by_avg, "%s%s", n_avg ? ", " : "", low);
                n_avg++;
            } else if (c) {
                n_latest++;
            }
            const char *cells[] = {rp_kind_label((med_kind_t)k), medical_kind_display_unit((med_kind_t)k), n, span,
                                   lat, avg, cat};
            e |= row(tb, cells);
        }
    }
    if (n_avg) {
        snprintf(buf, sizeof buf, "The category is that of the average for %s%s.", by_avg.p,
                 n_latest ? ", and of the latest reading for the others" : "");
        e |= note(d, buf);
    } else if (n_latest) {
        e |= note(d, "The category is that of the latest reading.");
    }
    free(by_avg.p);

    /* Key findings */
    e |= heading(d, 2, "Key findings", NULL);
    size_t shown = 0;
    for (int rank = 0; rank < 3; rank++)
        for (size_t i = 0; i < r->patterns.n; i++)
            if (pattern_rank(&r->patterns.v[i]) == rank) {
                e |= flag(d, r->patterns.v[i].severity, r->patterns.v[i].explanation);
                shown++;
            }
    rp_buf_t out = {0};
    int n_out = 0;
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        const med_class_t *c = r->m[k].have_stats ? rp_judged_class(&r->m[k], NULL) : NULL;
        if (c && c->level > 0) {
            rb_printf(&out, "%s%s: %s", n_out ? "; " : "", rp_kind_label((med_kind_t)k), c->label);
            n_out++;
        }
    }
    int n_ranged = 0;
    for (int k = 0; k < MED_KIND_COUNT; k++)
        n_ranged += r->m[k].have_stats && rp_judged_class(&r->m[k], NULL);
    if (n_out)
        e |= para(d, "Outside the healthy range: ", out.p);
    else if (n_ranged)
        e |= para(d, NULL, "Every measure with a guideline range is in its healthy range.");
    else
        e |= para(d, NULL, "None of these measures has a guideline range in Muse's reference data, so none is "
                           "given a category.");
    free(out.p);
    if (!shown)
        e |= para(d, NULL, "No pattern across the readings was flagged (sustained high readings, a rise or fall, "
                           "high variability or readings that disagree).");
    size_t problems = r->n_problems + r->problems_dropped;
    if (problems || r->n_codes) {
        snprintf(buf, sizeof buf,
                 "%zu row%s or entr%s in the input could not be read and %s left out%s; the appendix lists "
                 "where and why.",
                 problems, problems == 1 ? "" : "s", problems == 1 ? "y" : "ies", problems == 1 ? "was" : "were",
                 r->n_codes ? ", including codes Muse does not recognise" : "");
        e |= para(d, "Input: ", buf);
    }
    e |= note(d, "This report is not a diagnosis; see \"About this report\" at the end.");
    return e ? MUSE_ENOMEM : MUSE_OK;
}

/* ---- Sections -------------------------------------------------------------------------- */

static int stats_table(rp_doc_t *d, const rp_measure_t *m)
{
    const med_stats_t *st = &m->st;
    int two = st->n_components > 1;
    static const double w2[] = {0.5, 0.5};
    static const double w3[] = {0.4, 0.3, 0.3};
    static const rb_align_t a3[] = {RB_LEFT, RB_RIGHT, RB_RIGHT};
    static const char *const h2[] = {"", "Value"};
    static const char *const h3[] = {"", "Systolic", "Diastolic"};
    rb_table_t *t = table(d, two ? 3 : 2, two ? h3 : h2, two ? w3 : w2, a3, "Summary");
    if (!t)
        return MUSE_ENOMEM;
    t->scale = two ? 0.62 : 0.5; /* a few numbers: no need for the page's width */
    int dec = rp_decimals(m->kind), e = 0;
    const char *unit = medical_kind_display_unit(m->kind);
    char v[2][64];
    char n[32];
    snprintf(n, sizeof n, "%zu", st->n);
    const char *rn[] = {"Readings", n, two ? n : NULL};
    e |= row(t, rn);
    struct {
        const char *name;
        int which;
    } rows[] = {{"Average", 0}, {"Standard deviation", 1}, {"Lowest", 2}, {"Highest", 3}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (int c = 0; c < (two ? 2 : 1); c++) {
            const med_component_stats_t *cs = &st->c[c];
            double x = rows[i].which == 0 ? cs->mean : rows[i].which == 1 ? cs->sd : rows[i].which == 2 ? cs->min
                                                                                                          : cs->max;
            char num[48];
            rp_fmt_num(x, rows[i].which == 1 ? dec + 1 : dec, num, sizeof num);
            snprintf(v[c], sizeof v[c], "%s%s%s", num, isfinite(x) && strcmp(unit, "%") ? " " : "",
                     isfinite(x) ? unit : "");
        }
        const char *cells[] = {rows[i].name, v[0], two ? v[1] : NULL};
        e |= row(t, cells);
    }
    if (st->c[0].n_morning && st->c[0].n_evening) {
        for (int pass = 0; pass < 2; pass++) {
            for (int c = 0; c < (two ? 2 : 1); c++) {
                const med_component_stats_t *cs = &st->c[c];
                char num[48];
                rp_fmt_num(pass ? cs->evening_mean : cs->morning_mean, dec, num, sizeof num);
                snprintf(v[c], sizeof v[c], "%s (%zu)", num, pass ? cs->n_evening : cs->n_morning);
            }
            const char *cells[] = {pass ? "Evening average (n)" : "Morning average (n)", v[0], two ? v[1] : NULL};
            e |= row(t, cells);
        }
    }
    return e;
}

/* The day, Monday-based week or month of a wall-clock time; INT64_MIN
 * without one. 1970-01-01 was a Thursday, so week k starts on day 7k - 3. */
static int64_t group_key(int64_t t, int group)
{
    if (t < 0)
        return INT64_MIN;
    int64_t day = t / 86400;
    if (group == 0)
        return day;
    if (group == 1)
        return (day + 3) / 7;
    char d[24];
    rp_fmt_date(t, d, sizeof d);
    return atoll(d) * 12 + atoll(d + 5);
}

/* The readings one per row, or by day, week or month for a long series. */
static int readings_table(const report_t *r, rp_doc_t *d, const rp_measure_t *m)
{
    int e = 0;
    int bp = m->kind == MED_BP;
    /* Say where each reading came from only when this measure's readings
     * came from more than one file. */
    int multi = 0;
    for (size_t j = 1; j < m->n && !multi; j++)
        multi = r->sel_input[m->idx[j]] != r->sel_input[m->idx[0]];
    if (m->n <= r->table_max_rows) {
        int any_note = 0, any_pulse = 0;
        for (size_t j = 0; j < m->n; j++) {
            const med_reading_t *x = &r->sel.v[m->idx[j]];
            char g[96];
            char v[64];
            rp_fmt_reading(x, v, sizeof v, g, sizeof g);
            any_note |= x->implausible || x->assumed_unit || g[0] || multi;
            any_pulse |= bp && isfinite(x->pulse);
        }
        const char *head[5];
        double w[5];
        rb_align_t al[5];
        int nc = 0;
        /* A measure without guideline ranges has no category column. */
        int any_cat = rp_range_def(m->kind) != NULL;
        head[nc] = "Date";
        w[nc] = 0.2;
        al[nc++] = RB_LEFT;
        head[nc] = bp ? "Blood pressure" : medical_kind_display_unit(m->kind);
        w[nc] = 0.15;
        al[nc++] = RB_RIGHT;
        if (any_pulse) {
            head[nc] = "Pulse";
            w[nc] = 0.08;
            al[nc++] = RB_RIGHT;
        }
        if (any_cat) {
            head[nc] = "Category";
            w[nc] = 0.27;
            al[nc++] = RB_LEFT;
        }
        if (any_note) {
            head[nc] = "Note";
            w[nc] = 0.3;
            al[nc++] = RB_LEFT;
        }
        /* Narrow tables flow into columns side by side, like a phone book. */
        int flow = 1;
        if (nc == 2 && m->n > 24) {
            flow = 3;
            w[0] = 0.6;
            w[1] = 0.4;
        } else if (nc == 3 && m->n > 12) {
            flow = 2;
            w[0] = 0.37;
            w[1] = 0.23;
            w[2] = 0.4;
        }
        double sum = 0;
        for (int i = 0; i < nc; i++)
            sum += w[i];
        for (int i = 0; i < nc; i++)
            w[i] /= sum;
        char cap[96];
        snprintf(cap, sizeof cap, "Readings (%zu)", m->n);
        /* "mmHg" alone as a heading reads oddly: name the measure for other kinds. */
        char vh[48];
        if (!bp) {
            snprintf(vh, sizeof vh, "Value (%s)", medical_kind_display_unit(m->kind));
            head[1] = vh;
        }
        rb_table_t *t = table(d, nc, head, w, al, cap);
        if (!t)
            return MUSE_ENOMEM;
        t->flow = flow;
        for (size_t j = 0; j < m->n; j++) {
            const med_reading_t *x = &r->sel.v[m->idx[j]];
            char when[40], v[64], g[96], pulse[24] = "", cat[96], nt[320];
            rp_fmt_time(x, when, sizeof when);
            rp_fmt_reading(x, v, sizeof v, g, sizeof g);
            if (bp) {
                /* the unit is in the heading's measure; the table shows numbers */
                char *sp = strchr(v, ' ');
                if (sp)
                    *sp = '\0';
            } else {
                char num[48];
                rp_fmt_num(x->value, rp_decimals(x->kind), num, sizeof num);
                snprintf(v, sizeof v, "%s", num);
            }
            if (isfinite(x->pulse))
                rp_fmt_num(x->pulse, 0, pulse, sizeof pulse);
            med_class_t c;
            if (x->implausible)
                snprintf(cat, sizeof cat, "not interpreted");
            else if (medical_classify(x, &c, NULL) == MUSE_OK)
                snprintf(cat, sizeof cat, "%s", c.label);
            else
                snprintf(cat, sizeof cat, "–");
            rp_buf_t nb = {0};
            if (x->implausible)
                rb_printf(&nb, "%s", x->note[0] ? x->note : "implausible");
            else if (x->assumed_unit)
                rb_printf(&nb, "%s", x->note);
            if (g[0])
                rb_printf(&nb, "%s%s", nb.n ? "; " : "", g);
            if (multi) {
                const char *nm = r->inputs[r->sel_input[m->idx[j]]].name;
                const char *base = strrchr(nm, '/');
                rb_printf(&nb, "%sfrom %s", nb.n ? "; " : "", base ? base + 1 : nm);
            }
            snprintf(nt, sizeof nt, "%s", nb.p ? nb.p : "");
            free(nb.p);
            const char *cells[5];
            int k = 0;
            cells[k++] = when;
            cells[k++] = v;
            if (any_pulse)
                cells[k++] = pulse;
            if (any_cat)
                cells[k++] = cat;
            if (any_note)
                cells[k++] = nt;
            e |= row(t, cells);
        }
        return e;
    }
    /* A long series: one row per day over a quarter or less, per week over up
     * to two years, per month beyond; a page or two whatever the density. */
    int64_t t_first = -1, t_last = -1;
    for (size_t j = 0; j < m->n; j++) {
        int64_t t = rp_local_time(&r->sel.v[m->idx[j]]);
        if (t < 0)
            continue;
        if (t_first < 0)
            t_first = t;
        t_last = t;
    }
    int64_t span = t_first < 0 ? 0 : t_last / 86400 - t_first / 86400 + 1;
    int group = span <= 92 ? 0 : span <= 731 ? 1 : 2;
    static const char *const group_name[] = {"day", "week", "month"};
    static const char *const head[] = {"Period", "Readings", "Average", "Lowest", "Highest"};
    static const char *const head_bp[] = {"Period", "Readings", "Average", "Lowest (systolic)",
                                          "Highest (systolic)"};
    static const double w[] = {0.26, 0.14, 0.2, 0.2, 0.2};
    static const rb_align_t al[] = {RB_LEFT, RB_RIGHT, RB_RIGHT, RB_RIGHT, RB_RIGHT};
    char cap[160];
    snprintf(cap, sizeof cap, "Readings by %s (%zu readings: more than %zu, so summarised)", group_name[group],
             m->n, r->table_max_rows);
    rb_table_t *t = table(d, 5, bp ? head_bp : head, w, al, cap);
    if (!t)
        return MUSE_ENOMEM;
    size_t j = 0;
    while (j < m->n) {
        const med_reading_t *x0 = &r->sel.v[m->idx[j]];
        int64_t t0 = rp_local_time(x0);
        int64_t key = group_key(t0, group);
        double s1 = 0, s2 = 0;
        size_t n = 0, all = 0;
        const med_reading_t *lo = NULL, *hi = NULL;
        size_t k = j;
        for (; k < m->n; k++) {
            const med_reading_t *x = &r->sel.v[m->idx[k]];
            int64_t kk = group_key(rp_local_time(x), group);
            if (kk != key)
                break;
            all++;
            if (x->implausible)
                continue;
            s1 += x->value;
            s2 += bp ? x->value2 : 0;
            n++;
            if (!lo || x->value < lo->value)
                lo = x;
            if (!hi || x->value > hi->value)
                hi = x;
        }
        char per[48], cnt[32], avg[100] = "–", l[64] = "–", h[64] = "–";
        if (key == INT64_MIN) {
            snprintf(per, sizeof per, "no date");
        } else if (group == 1) {
            char a[24];
            rp_fmt_date((key * 7 - 3) * 86400, a, sizeof a);
            snprintf(per, sizeof per, "week of %s", a);
        } else if (group == 2) {
            char a[24];
            rp_fmt_date(t0, a, sizeof a);
            snprintf(per, sizeof per, "%.7s", a);
        } else {
            rp_fmt_date(t0, per, sizeof per);
        }
        snprintf(cnt, sizeof cnt, "%zu", all);
        if (n) {
            char a[48], b[48];
            rp_fmt_num(s1 / (double)n, rp_decimals(m->kind), a, sizeof a);
            if (bp) {
                rp_fmt_num(s2 / (double)n, 0, b, sizeof b);
                snprintf(avg, sizeof avg, "%s/%s", a, b);
                rp_fmt_num(lo->value, 0, l, sizeof l);
                rp_fmt_num(hi->value, 0, h, sizeof h);
            } else {
                snprintf(avg, sizeof avg, "%s", a);
                rp_fmt_num(lo->value, rp_decimals(m->kind), l, sizeof l);
                rp_fmt_num(hi->value, rp_decimals(m->kind), h, sizeof h);
            }
        }
        const char *cells[] = {per, cnt, avg, l, h};
        e |= row(t, cells);
        j = k;
    }
    return e;
}

static int measure_block(const report_t *r, rp_doc_t *d, const rp_measure_t *m, int sub)
{
    int e = 0;
    char buf[1400];
    med_kind_t k = m->kind;
    if (sub)
        e |= heading(d, 2, rp_kind_label(k), medical_kind_name(k));
    if (!m->have_stats) {
        snprintf(buf, sizeof buf,
                 "%zu reading%s, none plausible enough to interpret; %s listed below with the reason.", m->n,
                 m->n == 1 ? "" : "s", m->n == 1 ? "it is" : "they are");
        e |= para(d, NULL, buf);
        return e | readings_table(r, d, m);
    }
    const med_stats_t *st = &m->st;
    if (st->n < 3) {
        rp_buf_t b = {0};
        rb_printf(&b, "%s reading%s: ", st->n == 1 ? "One" : "Two", st->n == 1 ? "" : "s");
        size_t shown = 0;
        for (size_t j = 0; j < m->n; j++) {
            const med_reading_t *x = &r->sel.v[m->idx[j]];
            if (x->implausible)
                continue;
            char v[64], g[96], when[40];
            rp_fmt_reading(x, v, sizeof v, g, sizeof g);
            rp_fmt_time(x, when, sizeof when);
            rb_printf(&b, "%s%s%s%s%s", shown ? "; " : "", v, g[0] ? " (" : "", g, g[0] ? ")" : "");
            if (x->time >= 0)
                rb_printf(&b, " on %s", when);
            shown++;
        }
        rb_puts(&b, ".");
        if (b.oom)
            e |= MUSE_ENOMEM;
        else
            e |= para(d, NULL, b.p);
        free(b.p);
    } else {
        e |= stats_table(d, m);
        if (st->n_components > 1) {
            char a[400], b2[400];
            rp_trend_text(k, &st->c[0].trend, "Systolic", st->span_days, a, sizeof a);
            rp_trend_text(k, &st->c[1].trend, "Diastolic", st->span_days, b2, sizeof b2);
            snprintf(buf, sizeof buf, "%s %s", a, b2);
        } else {
            rp_trend_text(k, &st->c[0].trend, NULL, st->span_days, buf, sizeof buf);
        }
        e |= para(d, "Trend: ", buf);
    }
    /* The category against its guideline, with the source named. */
    int by_latest = 0;
    const med_class_t *c = rp_judged_class(m, &by_latest);
    char cite[96];
    rp_range_cite(k, cite, sizeof cite);
    if (c) {
        char v[64];
        if (by_latest)
            rp_fmt_value(k, m->latest->value, m->latest->value2, v, sizeof v);
        else
            rp_fmt_value(k, st->c[0].mean, st->n_components > 1 ? st->c[1].mean : NAN, v, sizeof v);
        const char *whom = by_latest ? (st->n == 1 ? "The reading" : "The latest reading")
                                     : (st->n == 1 ? "The reading" : "The average");
        snprintf(buf, sizeof buf, "%s, %s, is in the %s category (%s).", whom, v, c->label,
                 cite[0] ? cite : c->source);
        if (c->note[0]) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, " %s", c->note);
        }
        if (st->n >= 2 && st->n_categories) {
            char mix[600];
            rp_category_mix(st, mix, sizeof mix);
            size_t l = strlen(buf);
            if (mix[0])
                snprintf(buf + l, sizeof buf - l, " Readings by category: %s.", mix);
        }
        e |= para(d, "Against the guideline: ", buf);
        char src[600];
        const char *url = NULL;
        rp_range_source(k, src, sizeof src, &url);
        if (src[0]) {
            snprintf(buf, sizeof buf, "%s%s%s", src, url ? " " : "", url ? url : "");
            e |= note(d, buf);
        }
    } else {
        char low[96];
        rp_lower_label(k, low, sizeof low);
        snprintf(buf, sizeof buf, "Muse's reference data has no guideline range for %s, so the readings are "
                                  "shown without a category.",
                 low);
        e |= para(d, "Against the guideline: ", buf);
    }
    if (k == MED_WEIGHT || k == MED_HEIGHT) {
        double bmi;
        char how[200];
        if (k == MED_WEIGHT && rp_calc_bmi(r, &bmi, how, sizeof how)) {
            char v[48];
            rp_fmt_value(MED_BMI, bmi, NAN, v, sizeof v);
            med_reading_t br;
            med_reading_init(&br, MED_BMI);
            br.value = bmi;
            med_class_t bc;
            if (medical_classify(&br, &bc, NULL) == MUSE_OK) {
                char bcite[96];
                rp_range_cite(MED_BMI, bcite, sizeof bcite);
                snprintf(buf, sizeof buf, "%s, in the %s category (%s). %s", v, bc.label, bcite, how);
            } else {
                snprintf(buf, sizeof buf, "%s. %s", v, how);
            }
            e |= para(d, "Body mass index: ", buf);
        }
    }
    /* Pattern flags of this measure */
    for (size_t i = 0; i < r->patterns.n; i++)
        if (r->patterns.v[i].kind == k)
            e |= flag(d, r->patterns.v[i].severity, r->patterns.v[i].explanation);
    if (m->n >= 2 || (m->n == 1 && st->n == 0))
        e |= readings_table(r, d, m);
    return e;
}

static int see_also(const report_t *r, rp_doc_t *d, const cJSON *def)
{
    if (!r->kb)
        return 0;
    const char *seen[8];
    size_t ns = 0;
    rp_buf_t b = {0};
    const cJSON *kj;
    cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
        int k = kind_of(kj);
        if (k < 0 || !r->m[k].n)
            continue;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(rp_measure_def((med_kind_t)k), "kb");
        if (!cJSON_IsString(id))
            continue;
        int dup = 0;
        for (size_t i = 0; i < ns; i++)
            dup |= strcmp(seen[i], id->valuestring) == 0;
        if (dup || ns == 8)
            continue;
        seen[ns++] = id->valuestring;
        kb_entry_t *en = NULL;
        if (kb_get(r->kb, id->valuestring, &en, NULL) != MUSE_OK)
            continue;
        rb_printf(&b, "%s\"%s\" (entry %s, review status: %s)", b.n ? "; " : "", en->title, en->id,
                  en->review_status && *en->review_status ? en->review_status : "unknown");
        kb_entry_free(en);
    }
    int e = 0;
    if (b.oom)
        e = MUSE_ENOMEM;
    else if (b.n)
        e = para(d, "More in Muse's knowledge store: ", b.p);
    free(b.p);
    return e;
}

static int section(const report_t *r, rp_doc_t *d, const cJSON *def, double chart_width, muse_error_t *err)
{
    int e = 0;
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(def, "title");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(def, "id");
    e |= heading(d, 1, cJSON_IsString(title) ? title->valuestring : "Measure",
                 cJSON_IsString(id) ? id->valuestring : NULL);
    /* How much is in it */
    size_t n = 0, kinds = 0;
    const cJSON *kj;
    cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
        int k = kind_of(kj);
        if (k >= 0 && r->m[k].n) {
            n += r->m[k].n;
            kinds++;
        }
    }
    rp_chart_t charts[MAX_SECTION_CHARTS];
    size_t nch = 0;
    int rc = rp_section_charts(r, def, chart_width, charts, MAX_SECTION_CHARTS, &nch, err);
    if (rc != MUSE_OK)
        return rc;
    for (size_t i = 0; i < nch; i++) {
        rp_block_t *b = add(d, RB_CHART);
        if (!b) {
            for (size_t j = i; j < nch; j++)
                viz_chart_free(charts[j].chart);
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        }
        b->chart = charts[i];
        const char *sum = viz_chart_summary(charts[i].chart);
        b->text = sum && *sum ? rp_strdup(sum) : NULL;
    }
    cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
        int k = kind_of(kj);
        if (k < 0 || !r->m[k].n)
            continue;
        e |= measure_block(r, d, &r->m[k], kinds > 1);
    }
    /* What to discuss with a clinician */
    const char *items[32];
    size_t ni = 0;
    cJSON_ArrayForEach(kj, cJSON_GetObjectItemCaseSensitive(def, "kinds")) {
        int k = kind_of(kj);
        if (k < 0)
            continue;
        const char *its[8];
        size_t m = rp_discuss_items(r, (med_kind_t)k, its, 8);
        for (size_t i = 0; i < m && ni < 32; i++) {
            int dup = 0;
            for (size_t j = 0; j < ni; j++)
                dup |= items[j] == its[i];
            if (!dup)
                items[ni++] = its[i];
        }
    }
    if (ni) {
        e |= heading(d, 3, "To discuss with a clinician", NULL);
        for (size_t i = 0; i < ni; i++)
            e |= bullet(d, NULL, items[i]);
    }
    e |= see_also(r, d, def);
    (void)n;
    return e ? muse_err(err, MUSE_ENOMEM, "out of memory") : MUSE_OK;
}

/* ---- Sources, appendix, about ------------------------------------------------------------- */

static int source_line(rp_doc_t *d, const char *who, const cJSON *src, rp_buf_t *seen)
{
    const cJSON *pub = cJSON_GetObjectItemCaseSensitive(src, "publisher");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(src, "title");
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(src, "year");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(src, "url");
    if (!cJSON_IsString(pub) || !cJSON_IsString(title))
        return 0;
    char key[600];
    snprintf(key, sizeof key, "\n%s|%s\n", pub->valuestring, title->valuestring);
    if (seen->p && strstr(seen->p, key))
        return 0;
    rb_puts(seen, key);
    char y[16] = "";
    if (cJSON_IsNumber(year))
        snprintf(y, sizeof y, " (%d)", year->valueint);
    char *t = rp_strdupf("%s%s. %s.%s%s", pub->valuestring, y, title->valuestring, cJSON_IsString(url) ? " " : "",
                         cJSON_IsString(url) ? url->valuestring : "");
    char lab[128];
    snprintf(lab, sizeof lab, "%s: ", who);
    int e = t ? bullet(d, lab, t) : MUSE_ENOMEM;
    free(t);
    return e;
}

static int sources_page(const report_t *r, rp_doc_t *d)
{
    int e = heading(d, 1, "Sources", "sources");
    e |= para(d, NULL, "Categories in this report come from these guidelines (medical/data/ranges.json in Muse). "
                       "The thresholds are for adults; children and pregnancy use others.");
    rp_buf_t seen = {0};
    for (int k = 0; k < MED_KIND_COUNT; k++) {
        double bmi;
        char how[200];
        if (!r->m[k].have_stats && !(k == MED_BMI && rp_calc_bmi(r, &bmi, how, sizeof how)))
            continue;
        const cJSON *def = rp_range_def((med_kind_t)k);
        if (!def)
            continue;
        e |= source_line(d, rp_kind_label((med_kind_t)k), cJSON_GetObjectItemCaseSensitive(def, "source"), &seen);
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(def, "categories")) {
            const cJSON *src = cJSON_GetObjectItemCaseSensitive(c, "source");
            if (src)
                e |= source_line(d, rp_kind_label((med_kind_t)k), src, &seen);
        }
    }
    free(seen.p);
    if (r->patterns.n) {
        e |= heading(d, 3, "Pattern rules", NULL);
        for (size_t i = 0; i < r->patterns.n; i++) {
            char lab[64];
            snprintf(lab, sizeof lab, "%s: ", r->patterns.v[i].id);
            e |= bullet(d, lab, r->patterns.v[i].basis);
        }
    }
    e |= heading(d, 3, "Inputs", NULL);
    for (size_t i = 0; i < r->n_inputs; i++) {
        const rp_input_t *in = &r->inputs[i];
        char t[256];
        if (in->failed)
            snprintf(t, sizeof t, "nothing could be read (%zu problem%s listed in the appendix)", in->n_problems,
                     in->n_problems == 1 ? "" : "s");
        else
            snprintf(t, sizeof t, "%zu reading%s read, %zu problem%s", in->n_read, in->n_read == 1 ? "" : "s",
                     in->n_problems, in->n_problems == 1 ? "" : "s");
        char *lab = rp_strdupf("%s: ", in->name);
        e |= lab ? bullet(d, lab, t) : MUSE_ENOMEM;
        free(lab);
    }
    return e;
}

/* "/long/path/obs.json: entry[3]" is "obs.json: entry[3]": the sources page
 * names each input in full once. */
static void short_where(const report_t *r, int input, const char *where, char *out, size_t cap)
{
    for (size_t i = 0; i < r->n_inputs; i++) {
        if (input >= 0 && (size_t)input != i)
            continue;
        const char *name = r->inputs[i].name;
        size_t n = strlen(name);
        const char *base = strrchr(name, '/');
        if (base && strncmp(where, name, n) == 0) {
            snprintf(out, cap, "%s%s", base + 1, where + n);
            return;
        }
    }
    snprintf(out, cap, "%s", where);
}

static int appendix(const report_t *r, rp_doc_t *d)
{
    int e = 0;
    char buf[600];
    size_t implausible = 0;
    for (size_t i = 0; i < r->sel.n; i++)
        implausible += (size_t)(r->sel.v[i].implausible != 0);
    if (!r->n_problems && !r->n_codes && !r->n_outside_period && !r->n_undated_left_out && !implausible)
        return 0;
    e |= heading(d, 1, "Appendix: input problems", "problems");
    if (r->n_problems) {
        snprintf(buf, sizeof buf,
                 "%zu row%s or entr%s could not be read and %s left out; everything else was reported.%s",
                 r->n_problems + r->problems_dropped, r->n_problems + r->problems_dropped == 1 ? "" : "s",
                 r->n_problems + r->problems_dropped == 1 ? "y" : "ies",
                 r->n_problems + r->problems_dropped == 1 ? "was" : "were",
                 r->problems_dropped ? " Only the first problems of each file are listed." : "");
        e |= para(d, NULL, buf);
        static const char *const head[] = {"Where", "Problem"};
        static const double w[] = {0.34, 0.66};
        rb_table_t *t = table(d, 2, head, w, NULL, "Rows and entries not read");
        if (!t)
            return MUSE_ENOMEM;
        for (size_t i = 0; i < r->n_problems; i++) {
            char where[200];
            short_where(r, r->problem_input[i], r->problems[i].where, where, sizeof where);
            const char *cells[] = {where, r->problems[i].message};
            e |= row(t, cells);
        }
    }
    if (r->n_codes) {
        e |= heading(d, 3, "Codes not recognised", NULL);
        e |= para(d, NULL, "Observations with these codes were not read. Muse does not guess what an "
                           "unrecognised code measures; docs/medical.md lists the LOINC codes it reads.");
        static const char *const head[] = {"Code", "Times", "First seen"};
        static const double w[] = {0.2, 0.1, 0.7};
        static const rb_align_t al[] = {RB_LEFT, RB_RIGHT, RB_LEFT};
        rb_table_t *t = table(d, 3, head, w, al, NULL);
        if (!t)
            return MUSE_ENOMEM;
        for (size_t i = 0; i < r->n_codes; i++) {
            char n[24];
            snprintf(n, sizeof n, "%zu", r->codes[i].count);
            char where[200];
            short_where(r, -1, r->codes[i].where, where, sizeof where);
            const char *cells[] = {r->codes[i].code[0] ? r->codes[i].code : "(no LOINC code)", n, where};
            e |= row(t, cells);
        }
    }
    if (implausible) {
        snprintf(buf, sizeof buf,
                 "%zu reading%s outside what can be measured %s listed in the tables as \"not interpreted\" "
                 "and left out of every average, trend and category.",
                 implausible, implausible == 1 ? "" : "s", implausible == 1 ? "is" : "are");
        e |= para(d, "Implausible readings: ", buf);
    }
    if (r->n_outside_period || r->n_undated_left_out) {
        snprintf(buf, sizeof buf, "%zu reading%s fell outside the period asked for and %zu had no date; "
                                  "neither is in this report.",
                 r->n_outside_period, r->n_outside_period == 1 ? "" : "s", r->n_undated_left_out);
        e |= para(d, "Period: ", buf);
    }
    return e;
}

static int about(const report_t *r, rp_doc_t *d)
{
    (void)r;
    int e = heading(d, 1, "About this report", "about");
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(rp_data(NULL), "disclaimer")) {
        if (cJSON_IsString(p))
            e |= para(d, NULL, p->valuestring);
    }
    const cJSON *rev = cJSON_GetObjectItemCaseSensitive(rp_data(NULL), "review");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(rev, "status");
    const cJSON *who = cJSON_GetObjectItemCaseSensitive(rev, "reviewer");
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(rev, "date");
    const cJSON *nt = cJSON_GetObjectItemCaseSensitive(rev, "note");
    char buf[900];
    const char *status = cJSON_IsString(st) ? st->valuestring : "unknown";
    if (cJSON_IsString(who) && *who->valuestring)
        snprintf(buf, sizeof buf, "The wording of this report (section texts and discussion points) has review "
                                  "status \"%s\", reviewed by %s%s%s. %s",
                 status, who->valuestring, cJSON_IsString(when) && *when->valuestring ? " on " : "",
                 cJSON_IsString(when) ? when->valuestring : "", cJSON_IsString(nt) ? nt->valuestring : "");
    else
        snprintf(buf, sizeof buf, "The wording of this report (section texts and discussion points) has review "
                                  "status \"%s\". %s",
                 status, cJSON_IsString(nt) ? nt->valuestring : "");
    e |= para(d, "Content review: ", buf);
    e |= para(d, NULL, "Guideline thresholds are taken as published by the sources listed, and knowledge-store "
                       "entries cited in the sections show their own review status.");
    snprintf(buf, sizeof buf, "Made by Muse %s, which works offline: the readings never left this computer "
                              "to make it.",
             MUSE_VERSION_STRING);
    e |= para(d, NULL, buf);
    /* Filled in by the PDF renderer when characters had to be replaced. */
    rp_block_t *b = add(d, RB_NOTE);
    if (!b)
        return MUSE_ENOMEM;
    b->anchor = rp_strdup("replaced-characters");
    return e | (b->anchor ? 0 : MUSE_ENOMEM);
}

int rp_doc_build(const report_t *r, double chart_width, rp_doc_t *doc, muse_error_t *err)
{
    memset(doc, 0, sizeof *doc);
    if (!r || !r->analyzed)
        return muse_err(err, MUSE_EINVAL, "the report has not been analysed (call report_analyze first)");
    doc->title = rp_strdup(r->title);
    if (!doc->title || first_page(r, doc) != MUSE_OK)
        goto oom;
    /* The sections start on a page of their own, unless the summary ran
     * over onto a page it barely uses (level 1: a soft break). */
    rp_block_t *pb = add(doc, RB_PAGE_BREAK);
    if (!pb)
        goto oom;
    pb->level = 1;
    const cJSON *def;
    cJSON_ArrayForEach(def, section_defs()) {
        if (!section_shown(r, def))
            continue;
        int rc = section(r, doc, def, chart_width, err);
        if (rc != MUSE_OK) {
            rp_doc_free(doc);
            return rc;
        }
    }
    if (!add(doc, RB_PAGE_BREAK) || sources_page(r, doc) || appendix(r, doc) || about(r, doc))
        goto oom;
    return MUSE_OK;
oom:
    rp_doc_free(doc);
    return muse_err(err, MUSE_ENOMEM, "out of memory");
}

int rp_doc_get(report_t *r, const rp_doc_t **doc, muse_error_t *err)
{
    if (!r->doc) {
        rp_doc_t *d = calloc(1, sizeof *d);
        if (!d)
            return muse_err(err, MUSE_ENOMEM, "out of memory");
        int rc = rp_doc_build(r, RP_TEXT_WIDTH, d, err);
        if (rc != MUSE_OK) {
            free(d);
            return rc;
        }
        r->doc = d;
    }
    *doc = r->doc;
    return MUSE_OK;
}
