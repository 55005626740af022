/* svg.c — threshold curves and heatmaps as standalone SVG files (see svg.h). */
#include "cascade/svg.h"
#include "base/alloc.h"

#include "loaders/outfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FONT "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"
#define CHAR_W 7.2 /* rough width of one character at font-size 12, for layout */

/* ---- the file: written to a temporary name, renamed into place ------------------ */

typedef struct {
    FILE *f;            /* out.f */
    dc_outfile out;     /* loaders/outfile.h */
} svg_file;

/* XML text: escaped, control characters and invalid UTF-8 replaced by '?' */
static int utf8_seq(const unsigned char *s)
{
    unsigned c = s[0], cp, min;
    int n;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE ||
        cp == 0xFFFF)
        return 0;
    return n;
}

static void put_text(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    while (*s) {
        int n = utf8_seq(s);
        if (n == 0) {
            fputc('?', f);
            s++;
        } else if (n > 1) {
            fwrite(s, 1, (size_t)n, f);
            s += n;
        } else {
            switch (*s) {
            case '&': fputs("&amp;", f); break;
            case '<': fputs("&lt;", f); break;
            case '>': fputs("&gt;", f); break;
            case '"': fputs("&quot;", f); break;
            case '\'': fputs("&apos;", f); break;
            default: fputc(*s < 0x20 ? '?' : *s, f); break;
            }
            s++;
        }
    }
}

/* characters (not bytes) of a UTF-8 string, for layout */
static int text_chars(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static dc_status svg_open(svg_file *s, const char *path, double w, double h,
                          const char *title, dc_error *err)
{
    s->f = NULL;
    if (!path || !*path)
        return dc_fail(err, DC_ERR_ARG, "SVG: no output path");
    dc_status st = dc_outfile_open(&s->out, path, 0, err);
    if (st != DC_OK)
        return st;
    s->f = s->out.f;
    fprintf(s->f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
            "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"" FONT "\" "
            "font-size=\"12\">\n<title>", w, h, w, h);
    put_text(s->f, title);
    fprintf(s->f, "</title>\n<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" "
            "fill=\"white\"/>\n<text x=\"%.1f\" y=\"28\" text-anchor=\"middle\" "
            "font-size=\"17\" font-weight=\"bold\">", w, h, w / 2);
    put_text(s->f, title);
    fputs("</text>\n", s->f);
    return DC_OK;
}

static dc_status svg_close(svg_file *s, dc_error *err)
{
    fputs("</svg>\n", s->f);
    s->f = NULL;
    return dc_outfile_commit(&s->out, err);
}

/* ---- axes --------------------------------------------------------------------- */

/* 1, 2 or 5 times a power of ten, giving about `target` steps over range */
static double nice_step(double range, int target)
{
    if (!(range > 0))
        return 1.0;
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.0 ? 2.0 : f < 7.0 ? 5.0 : 10.0) * mag;
}

static int step_decimals(double step)
{
    int d = (int)ceil(-log10(step) - 1e-9);
    return d < 0 ? 0 : d > 6 ? 6 : d;
}

/* ---- threshold curves --------------------------------------------------------- */

static const char *const curve_colour[2] = { "#1f77b4", "#e8710a" };
static const char *const curve_label[2] = { "without post-check", "with post-check" };
#define USAGE_COLOUR "#6b6b6b"

enum { PANEL_W = 820, PANEL_H = 372, HEADER_H = 92 };

typedef struct {
    double px, py, pw, ph;   /* plot area */
    double lo, hi;           /* accuracy axis, % */
} panel_geom;

static double map_x(const panel_geom *g, double lambda)
{
    lambda = lambda < 0 ? 0 : lambda > 1 ? 1 : lambda;
    return g->px + lambda * g->pw;
}

static double map_acc(const panel_geom *g, double acc)
{
    return g->py + g->ph - (100.0 * acc - g->lo) / (g->hi - g->lo) * g->ph;
}

static double map_usage(const panel_geom *g, double usage)
{
    return g->py + g->ph - usage * g->ph;
}

/* Writes the polyline through (x[i], y[i]), i < m (x ascending), keeping of each half-pixel
 * column only its first, lowest, highest and last vertex: what a renderer would show. */
static void put_polyline(FILE *f, const double *x, const double *y, int m, const char *style)
{
    if (m < 1)
        return;
    fprintf(f, "<polyline fill=\"none\" %s points=\"", style);
    int i = 0, col_out = 0;
    while (i < m) {
        double col = floor(x[i] * 2.0);
        int j = i, lo = i, hi = i;
        while (j < m && floor(x[j] * 2.0) == col) {
            if (y[j] < y[lo])
                lo = j;
            if (y[j] > y[hi])
                hi = j;
            j++;
        }
        int idx[4] = { i, lo < hi ? lo : hi, lo < hi ? hi : lo, j - 1 }, last = -1;
        for (int q = 0; q < 4; q++)
            if (idx[q] > last) {
                fprintf(f, "%.2f,%.2f%s", x[idx[q]], y[idx[q]], ++col_out % 8 ? " " : "\n");
                last = idx[q];
            }
        i = j;
    }
    fputs("\"/>\n", f);
}

/* The step function of a curve: a maxp/difference point at lambda = v holds on
 * (previous lambda, v], an entropy point on [v, next lambda). which: 0 accuracy, 1 usage. */
static void put_curve(FILE *f, const panel_geom *g, const dc_threshold_point *c, int m, bool up,
                      int which, const char *style, double *xs, double *ys)
{
    int k = 0;
#define VALUE(j) (which == 0 ? map_acc(g, c[j].accuracy) : map_usage(g, c[j].usage))
    if (up) {
        xs[k] = map_x(g, c[0].lambda), ys[k++] = VALUE(0);
        for (int j = 1; j < m; j++) {
            xs[k] = map_x(g, c[j - 1].lambda), ys[k++] = VALUE(j);
            xs[k] = map_x(g, c[j].lambda), ys[k++] = VALUE(j);
        }
    } else {
        for (int j = 0; j + 1 < m; j++) {
            xs[k] = map_x(g, c[j].lambda), ys[k++] = VALUE(j);
            xs[k] = map_x(g, c[j + 1].lambda), ys[k++] = VALUE(j);
        }
        xs[k] = map_x(g, c[m - 1].lambda), ys[k++] = VALUE(m - 1);
    }
#undef VALUE
    put_polyline(f, xs, ys, k, style);
}

static const char *kind_heading(dc_score_kind kind)
{
    switch (kind) {
    case DC_SCORE_MAXP:
        return "maxp (top-1 probability): the second model runs when score < \xCE\xBB";
    case DC_SCORE_DIFFERENCE:
        return "difference (top-1 minus top-2): the second model runs when score < \xCE\xBB";
    case DC_SCORE_ENTROPY:
        return "entropy (normalised): the second model runs when score > \xCE\xBB";
    default:
        return "?";
    }
}

static dc_status put_panel(FILE *f, double ox, double oy, dc_score_kind kind,
                           const dc_threshold_point *const curve[2], const int count[2],
                           const int marked[2], dc_error *err)
{
    /* heading, two rows for the chosen lambdas' labels, the plot, the lambda axis */
    panel_geom g = { ox + 80, oy + 76, PANEL_W - 160, PANEL_H - 76 - 58, 0, 100 };
    /* the accuracy axis covers both curves, rounded out to nice ticks */
    double amin = INFINITY, amax = -INFINITY;
    int longest = 0;
    for (int c = 0; c < 2; c++)
        for (int j = 0; curve[c] && j < count[c]; j++) {
            double a = 100.0 * curve[c][j].accuracy;
            amin = a < amin ? a : amin;
            amax = a > amax ? a : amax;
            longest = count[c] > longest ? count[c] : longest;
        }
    if (!(amin <= amax)) {
        amin = 0;
        amax = 100;
    }
    if (amax - amin < 0.5) {
        double mid = (amax + amin) / 2;
        amin = mid - 0.25;
        amax = mid + 0.25;
    }
    double astep = nice_step(amax - amin, 5);
    g.lo = floor(amin / astep + 1e-9) * astep;
    g.hi = ceil(amax / astep - 1e-9) * astep;
    if (g.hi <= g.lo)
        g.hi = g.lo + astep;
    int adec = step_decimals(astep);

    fprintf(f, "<g>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">",
            g.px, oy + 22);
    put_text(f, kind_heading(kind));
    fputs("</text>\n", f);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fbfbfb\" "
            "stroke=\"#555\"/>\n", g.px, g.py, g.pw, g.ph);
    /* accuracy ticks (left) with grid lines */
    for (double v = g.lo; v <= g.hi + astep * 1e-6; v += astep) {
        double y = g.py + g.ph - (v - g.lo) / (g.hi - g.lo) * g.ph;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>"
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.*f</text>\n",
                g.px, y, g.px + g.pw, y, g.px - 5, y, g.px, y, g.px - 8, y + 4, adec, v);
    }
    /* usage ticks (right) */
    for (int u = 0; u <= 100; u += 20) {
        double y = map_usage(&g, u / 100.0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%d%%</text>\n",
                g.px + g.pw, y, g.px + g.pw + 5, y, g.px + g.pw + 8, y + 4, u);
    }
    /* lambda ticks (bottom) */
    for (int t = 0; t <= 10; t++) {
        double x = map_x(&g, t / 10.0);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>\n",
                x, g.py + g.ph, x, g.py + g.ph + 5, x, g.py + g.ph + 19, t / 10.0);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"13\">"
            "\xCE\xBB (threshold on the first model's score)</text>\n",
            g.px + g.pw / 2, g.py + g.ph + 40);
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
            "font-size=\"13\">accuracy (%%)</text>\n", ox + 26, g.py + g.ph / 2);
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\" "
            "font-size=\"13\">second-model usage (%%)</text>\n",
            ox + PANEL_W - 26, g.py + g.ph / 2);

    if (longest > 0) {
        double *xs = dc_malloc((2 * (size_t)longest + 2) * sizeof *xs);
        double *ys = dc_malloc((2 * (size_t)longest + 2) * sizeof *ys);
        if (!xs || !ys) {
            free(xs);
            free(ys);
            return dc_fail(err, DC_ERR_NOMEM, "SVG: out of memory for a %d-point curve",
                           longest);
        }
        bool up = kind != DC_SCORE_ENTROPY;
        /* usage does not depend on post-check (the same samples escalate): one curve */
        int u = curve[0] && count[0] > 0 ? 0 : 1;
        if (curve[u] && count[u] > 0)
            put_curve(f, &g, curve[u], count[u], up, 1, "stroke=\"" USAGE_COLOUR "\" "
                      "stroke-width=\"1.6\" stroke-dasharray=\"6 4\"", xs, ys);
        for (int c = 0; c < 2; c++) {
            if (!curve[c] || count[c] < 1)
                continue;
            char style[128];
            snprintf(style, sizeof style, "stroke=\"%s\" stroke-width=\"2.2\"",
                     curve_colour[c]);
            put_curve(f, &g, curve[c], count[c], up, 0, style, xs, ys);
        }
        free(xs);
        free(ys);
    }
    /* the chosen lambdas */
    for (int c = 0; c < 2; c++) {
        if (!curve[c] || marked[c] < 0 || marked[c] >= count[c])
            continue;
        const dc_threshold_point *p = &curve[c][marked[c]];
        double x = map_x(&g, p->lambda), ya = map_acc(&g, p->accuracy);
        double yu = map_usage(&g, p->usage);
        bool right = x < g.px + 0.6 * g.pw;
        char label[96];
        snprintf(label, sizeof label, "\xCE\xBB = %.4f: %.2f%%, usage %.1f%%", p->lambda,
                 100.0 * p->accuracy, 100.0 * p->usage);
        double ly = oy + 46 + 18 * c;
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"1\" stroke-dasharray=\"2 3\"/>\n"
                "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"5\" fill=\"%s\" stroke=\"white\" "
                "stroke-width=\"1.5\"/>\n"
                "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"white\" stroke=\"%s\" "
                "stroke-width=\"1.5\"/>\n"
                "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"%s\" fill=\"%s\" "
                "font-weight=\"bold\">",
                x, ly + 4, x, g.py + g.ph, curve_colour[c], x, ya, curve_colour[c], x, yu,
                curve_colour[c], right ? x + 4 : x - 4, ly, right ? "start" : "end",
                curve_colour[c]);
        put_text(f, label);
        fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
    return DC_OK;
}

static void put_legend(FILE *f, double y)
{
    for (int c = 0; c < 2; c++) {
        double x = 80 + 250 * c;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2.2\"/><text x=\"%.1f\" y=\"%.1f\">accuracy, %s</text>\n",
                x, y, x + 28, y, curve_colour[c], x + 34, y + 4, curve_label[c]);
    }
    fprintf(f, "<line x1=\"80\" y1=\"%.1f\" x2=\"108\" y2=\"%.1f\" stroke=\"" USAGE_COLOUR
            "\" stroke-width=\"1.6\" stroke-dasharray=\"6 4\"/><text x=\"114\" y=\"%.1f\">"
            "second-model usage (the same with and without post-check)</text>\n",
            y + 20, y + 20, y + 24);
    fprintf(f, "<circle cx=\"594\" cy=\"%.1f\" r=\"5\" fill=\"#555\"/>"
            "<text x=\"606\" y=\"%.1f\">chosen \xCE\xBB: its accuracy</text>\n"
            "<circle cx=\"594\" cy=\"%.1f\" r=\"3.5\" fill=\"white\" stroke=\"#555\" "
            "stroke-width=\"1.5\"/><text x=\"606\" y=\"%.1f\">its usage</text>\n",
            y, y + 4, y + 20, y + 24);
}

static dc_status write_threshold_svg(const char *path, const char *title, int panels,
                                     const dc_score_kind *kinds,
                                     const dc_threshold_point *(*curves)[2],
                                     int (*counts)[2], int (*marked)[2], dc_error *err)
{
    svg_file s;
    dc_status st = svg_open(&s, path, PANEL_W, HEADER_H + panels * PANEL_H + 10, title, err);
    if (st != DC_OK)
        return st;
    put_legend(s.f, 50);
    for (int p = 0; p < panels && st == DC_OK; p++)
        st = put_panel(s.f, 0, HEADER_H + p * PANEL_H, kinds[p], curves[p], counts[p],
                       marked[p], err);
    if (st != DC_OK) {
        dc_outfile_abort(&s.out);
        return st;
    }
    return svg_close(&s, err);
}

dc_status dc_svg_threshold_curve(const char *path, const char *title, dc_score_kind kind,
                                 const dc_threshold_point *const curve[2], const int count[2],
                                 const int marked[2], dc_error *err)
{
    if (kind != DC_SCORE_MAXP && kind != DC_SCORE_DIFFERENCE && kind != DC_SCORE_ENTROPY)
        return dc_fail(err, DC_ERR_ARG, "SVG: score '%s' has no threshold curve",
                       dc_score_name(kind));
    if (!curve || !count || !marked)
        return dc_fail(err, DC_ERR_ARG, "SVG: no curves to plot");
    const dc_threshold_point *c[1][2] = { { curve[0], curve[1] } };
    int n[1][2] = { { count[0], count[1] } }, m[1][2] = { { marked[0], marked[1] } };
    for (int i = 0; i < 2; i++)
        if (!c[0][i])
            n[0][i] = 0;
    return write_threshold_svg(path, title, 1, &kind, c, n, m, err);
}

dc_status dc_svg_threshold_plot(const char *path, const char *title,
                                const dc_threshold_point *curves[3][2], int counts[3][2],
                                int best[3][2], dc_error *err)
{
    if (!curves || !counts || !best)
        return dc_fail(err, DC_ERR_ARG, "SVG: no curves to plot");
    const dc_threshold_point *c[3][2];
    int n[3][2], m[3][2];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 2; i++) {
            c[k][i] = curves[k][i];
            n[k][i] = curves[k][i] ? counts[k][i] : 0;
            m[k][i] = best[k][i];
        }
    const dc_score_kind kinds[3] = { DC_SCORE_MAXP, DC_SCORE_DIFFERENCE, DC_SCORE_ENTROPY };
    return write_threshold_svg(path, title, 3, kinds, c, n, m, err);
}

/* ---- heatmap ------------------------------------------------------------------ */

/* viridis, sampled at 0, 1/8, ..., 1 */
static const unsigned char viridis[9][3] = {
    { 68, 1, 84 },   { 71, 44, 122 },  { 59, 81, 139 },  { 44, 113, 142 }, { 33, 144, 141 },
    { 39, 173, 129 }, { 92, 200, 99 }, { 170, 220, 50 }, { 253, 231, 37 },
};

static void colour_at(double t, int rgb[3])
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double pos = t * 8.0;
    int i = (int)floor(pos);
    if (i >= 8)
        i = 7;
    double u = pos - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(viridis[i][c] + u * (viridis[i + 1][c] - viridis[i][c]));
}

dc_status dc_svg_heatmap(const char *path, const char *title, const char *const *names, int k,
                         const double *matrix, const char *value_name, dc_error *err)
{
    if (k < 1 || !names || !matrix)
        return dc_fail(err, DC_ERR_ARG, "SVG: no matrix to plot");
    double vmin = INFINITY, vmax = -INFINITY;
    int longest = 1;
    for (int i = 0; i < k; i++) {
        int len = text_chars(names[i]);
        longest = len > longest ? len : longest;
        for (int j = 0; j < k; j++) {
            double v = matrix[(size_t)i * k + j];
            if (isnan(v))
                continue;
            vmin = v < vmin ? v : vmin;
            vmax = v > vmax ? v : vmax;
        }
    }
    if (!(vmin <= vmax))
        vmin = 0, vmax = 1;
    if (vmax - vmin <= 0)
        vmax = vmin + (fabs(vmin) > 0 ? fabs(vmin) : 1.0);

    double cell = k <= 20 ? 48 : 42;
    double label_w = longest * CHAR_W + 14;
    double diag = longest * CHAR_W * 0.7071;
    double x0 = 20 + label_w, y0 = 50 + diag + 14, grid = k * cell;
    double bar_x = x0 + grid + 28, bar_w = 18;
    double w = bar_x + bar_w + 100;
    if (x0 + grid - cell / 2 + diag + 20 > w)
        w = x0 + grid - cell / 2 + diag + 20;
    double title_w = text_chars(title) * CHAR_W * 17.0 / 12.0 + 40;
    if (title_w > w)
        w = title_w;
    double h = y0 + grid + 30;

    svg_file s;
    dc_status st = svg_open(&s, path, ceil(w), ceil(h), title, err);
    if (st != DC_OK)
        return st;
    FILE *f = s.f;
    /* the colour bar's gradient: an internal definition, not an external resource */
    fputs("<defs><linearGradient id=\"dc-colourbar\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n",
          f);
    for (int i = 0; i < 9; i++)
        fprintf(f, "<stop offset=\"%.3f\" stop-color=\"#%02x%02x%02x\"/>\n", i / 8.0,
                viridis[i][0], viridis[i][1], viridis[i][2]);
    fputs("</linearGradient></defs>\n", f);

    for (int i = 0; i < k; i++) {
        double cy = y0 + (i + 0.5) * cell, cx = x0 + (i + 0.5) * cell;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", x0 - 8, cy + 4);
        put_text(f, names[i]);
        fprintf(f, "</text>\n<text transform=\"translate(%.1f %.1f) rotate(-45)\">", cx - 3,
                y0 - 8);
        put_text(f, names[i]);
        fputs("</text>\n", f);
    }
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double v = matrix[(size_t)i * k + j], x = x0 + j * cell, y = y0 + i * cell;
            int rgb[3] = { 200, 200, 200 };
            if (!isnan(v))
                colour_at((v - vmin) / (vmax - vmin), rgb);
            double lum = (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255.0;
            fprintf(f, "<g><title>");
            put_text(f, names[i]);
            fputs(" / ", f);
            put_text(f, names[j]);
            fprintf(f, ": %.4f</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                    "height=\"%.1f\" fill=\"#%02x%02x%02x\" stroke=\"white\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"11\" "
                    "fill=\"%s\">", v, x, y, cell, cell, rgb[0], rgb[1], rgb[2],
                    x + cell / 2, y + cell / 2 + 4, lum < 0.5 ? "white" : "black");
            if (isnan(v))
                fputs("n/a", f);
            else
                fprintf(f, "%.3f", v);
            fputs("</text></g>\n", f);
        }
    /* colour bar with ticks */
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
            "fill=\"url(#dc-colourbar)\" stroke=\"#555\"/>\n", bar_x, y0, bar_w, grid);
    double step = nice_step(vmax - vmin, 5);
    int dec = step_decimals(step);
    for (double t = ceil(vmin / step - 1e-9) * step; t <= vmax + step * 1e-9; t += step) {
        double y = y0 + grid - (t - vmin) / (vmax - vmin) * grid;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\"/>"
                "<text x=\"%.1f\" y=\"%.1f\">%.*f</text>\n", bar_x + bar_w, y,
                bar_x + bar_w + 4, y, bar_x + bar_w + 7, y + 4, dec, fabs(t) < step * 1e-9
                ? 0.0 : t);
    }
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\" "
            "font-size=\"13\">", bar_x + bar_w + 70, y0 + grid / 2);
    put_text(f, value_name ? value_name : "value");
    fputs("</text>\n", f);
    return svg_close(&s, err);
}
