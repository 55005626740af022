/*
 * winograd_transform.c — the input and output transforms of Winograd F(4x4, 3x3) on a band
 * of n tiles (see winograd_transform.h for the layout, docs/winograd.md for the algebra).
 *
 * The matrices, interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray 2016):
 *
 *   B^T = [ 4  0 -5  0  1  0 ]        A^T = [ 1  1  1  1  1  0 ]
 *         [ 0 -4 -4  1  1  0 ]              [ 0  1 -1  2 -2  0 ]
 *         [ 0  4 -4 -1  1  0 ]              [ 0  1  1  4  4  0 ]
 *         [ 0 -2 -1  2  1  0 ]              [ 0  1 -1  8 -8  1 ]
 *         [ 0  2 -1 -2  1  0 ]
 *         [ 0  4  0 -5  0  1 ]
 *
 * Each 2-D transform is two 1-D passes (columns, then rows); every pass is a loop over the
 * band's tiles with the matrix written out as adds, so the compiler vectorises across tiles.
 */
#include "winograd_transform.h"

#include <string.h>

#include "epilogue.h"

size_t wg_band_scratch_floats(int n)
{
    /* input: one padded line (4 S) + phase planes (24 S) + column pass (24 S), S = n + 1;
     * output: row pass (24 n) + one output row's 4 phases (4 n). */
    size_t s = (size_t)n + 1;
    return 52 * s;
}

/* ---- input ---------------------------------------------------------------- */

/* Splits input row iy (zero when outside the image) over the band's columns
 * x = x0 + e, e < 4 S, into 4 phase planes: planes[p * S + k] = row[x0 + 4k + p]. */
static void split_row_phases(const wg_band *b, const float *plane, int iy, int S,
                             float *restrict line, float *restrict planes)
{
    const int len = 4 * S;
    const int x0 = WG_M * b->tx0 - b->pad_w;
    if (iy < 0 || iy >= b->h) {
        memset(planes, 0, (size_t)len * sizeof(float));
        return;
    }
    const float *src = plane + (size_t)iy * b->w;
    const float *restrict row;
    if (x0 >= 0 && x0 + len <= b->w) {
        row = src + x0; /* interior: read the image directly */
    } else {
        int lo = x0 < 0 ? -x0 : 0;                         /* first e inside */
        int hi = b->w - x0 < len ? b->w - x0 : len;        /* one past the last */
        if (hi < lo)
            hi = lo;
        memset(line, 0, (size_t)lo * sizeof(float));
        memcpy(line + lo, src + x0 + lo, (size_t)(hi - lo) * sizeof(float));
        memset(line + hi, 0, (size_t)(len - hi) * sizeof(float));
        row = line;
    }
    float *restrict p0 = planes, *restrict p1 = planes + S;
    float *restrict p2 = planes + 2 * S, *restrict p3 = planes + 3 * S;
    for (int k = 0; k < S; k++) {
        p0[k] = row[4 * k];
        p1[k] = row[4 * k + 1];
        p2[k] = row[4 * k + 2];
        p3[k] = row[4 * k + 3];
    }
}

/* Column pass: c[j] = sum_r B^T[j][r] d[r] over len floats, d[r] = d + r * len. */
static void input_columns(const float *restrict d, float *restrict c, int len)
{
    const float *d0 = d, *d1 = d + len, *d2 = d + 2 * len;
    const float *d3 = d + 3 * len, *d4 = d + 4 * len, *d5 = d + 5 * len;
    float *c0 = c, *c1 = c + len, *c2 = c + 2 * len;
    float *c3 = c + 3 * len, *c4 = c + 4 * len, *c5 = c + 5 * len;
    for (int e = 0; e < len; e++) {
        float a = d4[e] - 4.0f * d2[e];      /* shared by rows 1, 2 */
        float bb = d3[e] - 4.0f * d1[e];
        float g = d4[e] - d2[e];             /* shared by rows 3, 4 */
        float q = 2.0f * (d3[e] - d1[e]);
        c0[e] = 4.0f * d0[e] - 5.0f * d2[e] + d4[e];
        c1[e] = a + bb;
        c2[e] = a - bb;
        c3[e] = g + q;
        c4[e] = g - q;
        c5[e] = 4.0f * d1[e] - 5.0f * d3[e] + d5[e];
    }
}

/* Row pass of one column-transformed row c (4 phase planes of S floats): the 6 values of
 * tile k are c0[k], c1[k], c2[k], c3[k], c0[k+1], c1[k+1]; v[i * pos_stride + k] gets
 * sum_x B^T[i][x] value_x. */
static void input_row(const float *restrict c, int S, int n, float *restrict v,
                      size_t pos_stride)
{
    const float *q0 = c, *q1 = c + S, *q2 = c + 2 * S, *q3 = c + 3 * S;
    float *v0 = v, *v1 = v + pos_stride, *v2 = v + 2 * pos_stride;
    float *v3 = v + 3 * pos_stride, *v4 = v + 4 * pos_stride, *v5 = v + 5 * pos_stride;
    for (int k = 0; k < n; k++) {
        float d0 = q0[k], d1 = q1[k], d2 = q2[k], d3 = q3[k];
        float d4 = q0[k + 1], d5 = q1[k + 1];
        float a = d4 - 4.0f * d2, bb = d3 - 4.0f * d1;
        float g = d4 - d2, q = 2.0f * (d3 - d1);
        v0[k] = 4.0f * d0 - 5.0f * d2 + d4;
        v1[k] = a + bb;
        v2[k] = a - bb;
        v3[k] = g + q;
        v4[k] = g - q;
        v5[k] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

void wg_input_band(const wg_band *b, const float *plane, float *v, size_t pos_stride,
                   float *scratch)
{
    const int S = b->n + 1;
    float *line = scratch;                /* 4 S */
    float *planes = line + 4 * S;         /* 6 rows x 4 phases x S */
    float *cols = planes + 24 * S;        /* 6 rows x 4 phases x S */
    const int iy0 = WG_M * b->ty - b->pad_h;
    for (int r = 0; r < WG_T; r++)
        split_row_phases(b, plane, iy0 + r, S, line, planes + (size_t)r * 4 * S);
    input_columns(planes, cols, 4 * S);
    for (int j = 0; j < WG_T; j++)
        input_row(cols + (size_t)j * 4 * S, S, b->n, v + (size_t)j * WG_T * pos_stride,
                  pos_stride);
}

/* ---- output --------------------------------------------------------------- */

/* Column pass of A^T M A for one column i of the 6x6 M's: r[a] = sum_j A^T[a][j] M[j][i],
 * m[j] = m + j * 6 * pos_stride, r[a] = r + a * 6 * n. */
static void output_columns(const float *restrict m, size_t pos_stride, int n,
                           float *restrict r)
{
    const size_t js = WG_T * pos_stride;
    const float *m0 = m, *m1 = m + js, *m2 = m + 2 * js;
    const float *m3 = m + 3 * js, *m4 = m + 4 * js, *m5 = m + 5 * js;
    const size_t as = (size_t)WG_T * n;
    float *r0 = r, *r1 = r + as, *r2 = r + 2 * as, *r3 = r + 3 * as;
    for (int k = 0; k < n; k++) {
        float s12 = m1[k] + m2[k], d12 = m1[k] - m2[k];
        float s34 = m3[k] + m4[k], d34 = m3[k] - m4[k];
        r0[k] = m0[k] + s12 + s34;
        r1[k] = d12 + 2.0f * d34;
        r2[k] = s12 + 4.0f * s34;
        r3[k] = d12 + 8.0f * d34 + m5[k];
    }
}

/* Row pass for one output row: y[b][k] = sum_i A^T[b][i] r[i][k], r[i] = r + i * n. */
static void output_row(const float *restrict r, int n, float *restrict y)
{
    const float *r0 = r, *r1 = r + n, *r2 = r + 2 * n;
    const float *r3 = r + 3 * n, *r4 = r + 4 * n, *r5 = r + 5 * n;
    float *y0 = y, *y1 = y + n, *y2 = y + 2 * n, *y3 = y + 3 * n;
    for (int k = 0; k < n; k++) {
        float s12 = r1[k] + r2[k], d12 = r1[k] - r2[k];
        float s34 = r3[k] + r4[k], d34 = r3[k] - r4[k];
        y0[k] = r0[k] + s12 + s34;
        y1[k] = d12 + 2.0f * d34;
        y2[k] = s12 + 4.0f * s34;
        y3[k] = d12 + 8.0f * d34 + r5[k];
    }
}

/* Interleaves the 4 phases y[b][k] into count consecutive output pixels
 * row[4k + b] (count <= 4 n; the last tile may be clipped). */
static void merge_row_phases(const float *restrict y, int n, int count, float *restrict row)
{
    const float *y0 = y, *y1 = y + n, *y2 = y + 2 * n, *y3 = y + 3 * n;
    const int full = count / 4;
    for (int k = 0; k < full; k++) {
        row[4 * k] = y0[k];
        row[4 * k + 1] = y1[k];
        row[4 * k + 2] = y2[k];
        row[4 * k + 3] = y3[k];
    }
    for (int x = 4 * full; x < count; x++)
        row[x] = y[(size_t)(x % 4) * n + x / 4];
}

void wg_output_band(const wg_band *b, const float *m, size_t pos_stride, float bias,
                    dc_act act, float *out_plane, float *scratch)
{
    const int n = b->n;
    float *r = scratch;                   /* 4 rows x 6 columns x n */
    float *y = r + (size_t)24 * n;        /* 4 phases x n */
    for (int i = 0; i < WG_T; i++)
        output_columns(m + (size_t)i * pos_stride, pos_stride, n, r + (size_t)i * n);

    const int x0 = WG_M * b->tx0;
    const int count = b->ow - x0 < WG_M * n ? b->ow - x0 : WG_M * n;
    for (int a = 0; a < WG_M; a++) {
        const int oy = WG_M * b->ty + a;
        if (oy >= b->oh)
            break;
        output_row(r + (size_t)a * WG_T * n, n, y);
        float *row = out_plane + (size_t)oy * b->ow + x0;
        merge_row_phases(y, n, count, row);
        dc_bias_act_row(row, (size_t)count, bias, act);
    }
}
