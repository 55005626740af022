/*
 * attention.c — Swin's shifted-window multi-head self-attention on one sample,
 * torchvision.models.swin_transformer.shifted_window_attention (V1, and V2's cosine form).
 *
 * torchvision works on a channels-last [H][W][C] map; ours is [C][H][W], and the kernel
 * moves tokens between the two as it gathers and scatters windows. The steps, as torchvision:
 *   1. pad the map with zeros on the bottom and right to multiples of the window (pH, pW);
 *      the shift becomes 0 along an axis where the window covers the padded map;
 *   2. roll by -shift: token (y, x) of the rolled map is token ((y + sh) % pH,
 *      (x + sw) % pW) of the padded one;
 *   3. cut the rolled map into ws x ws windows of N = ws*ws tokens, row-major inside;
 *   4. qkv = x Wqkv^T + bqkv, split into heads of hd = C/heads channels;
 *      V1: logits = (q k^T) * hd^-0.5;
 *      V2: logits = normalize(q) normalize(k)^T * logit_scale[h] (the caller passes
 *          exp(min(logit_scale, log 100)));
 *      + pos_bias[h] (the relative position bias, [heads][N][N], built by the caller);
 *      + mask: -100 between tokens of different regions of the rolled map when shifted;
 *   5. softmax over each row, times v; heads concatenated; proj: o Wp^T + bp;
 *   6. un-partition, roll back by +shift, crop to H x W.
 * Windows are processed one band (a row of windows, ws*pW tokens) at a time, so the qkv
 * and proj linears are one SGEMM per band and the scratch stays small.
 */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void dc_wattn_geometry(const dc_wattn_shape *s, int *ph, int *pw, int *sh, int *sw)
{
    const int ws = s->window;
    *ph = (s->h + ws - 1) / ws * ws;
    *pw = (s->w + ws - 1) / ws * ws;
    *sh = ws >= *ph ? 0 : s->shift;
    *sw = ws >= *pw ? 0 : s->shift;
}

size_t dc_window_attention_workspace_floats(const dc_wattn_shape *s)
{
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    const size_t rows = (size_t)s->window * pw, n = (size_t)s->window * s->window;
    /* tokens (then attention output) [rows][C], qkv (then proj output) [rows][3C],
     * logits [N][N], region labels [N] */
    return 4 * rows * (size_t)s->c + n * n + n;
}

int64_t dc_window_attention_macs(const dc_wattn_shape *s)
{
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    const int64_t tokens = (int64_t)ph * pw, c = s->c, n = (int64_t)s->window * s->window;
    /* qkv and proj linears, q k^T and attn v */
    return tokens * (4 * c * c + 2 * n * c);
}

/* Region of a rolled-map coordinate along one axis, as torchvision labels the attention
 * mask: [0, p - ws), [p - ws, p - shift), [p - shift, p); one region when unshifted. */
static int region(int y, int p, int ws, int shift)
{
    if (shift == 0)
        return 0;
    return y < p - ws ? 0 : y < p - shift ? 1 : 2;
}

/* x / max(|x|_2, 1e-12) in place for n vectors of len floats, stride apart (F.normalize). */
static void normalize_rows(float *x, int n, int len, size_t stride)
{
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * stride;
        double ss = 0.0;
        for (int d = 0; d < len; d++)
            ss += (double)r[d] * r[d];
        const double norm = sqrt(ss);
        const float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (int d = 0; d < len; d++)
            r[d] *= inv;
    }
}

/* Softmax of each of n rows of n logits in place. */
static void softmax_rows(float *a, int n)
{
    for (int i = 0; i < n; i++) {
        float *r = a + (size_t)i * n;
        float m = r[0];
        for (int j = 1; j < n; j++)
            m = r[j] > m ? r[j] : m;
        double sum = 0.0;
        for (int j = 0; j < n; j++) {
            r[j] = expf(r[j] - m);
            sum += r[j];
        }
        const float inv = (float)(1.0 / sum);
        for (int j = 0; j < n; j++)
            r[j] *= inv;
    }
}

int dc_window_attention_bands(const dc_wattn_shape *s)
{
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    return ph / s->window;
}

void dc_window_attention(const dc_wattn_shape *s, const float *in, const float *qkv_w,
                         const float *qkv_b, const float *proj_w, const float *proj_b,
                         const float *pos_bias, const float *logit_scale, float *out,
                         float *workspace)
{
    dc_window_attention_range(s, in, qkv_w, qkv_b, proj_w, proj_b, pos_bias, logit_scale,
                              out, 0, dc_window_attention_bands(s), workspace);
}

void dc_window_attention_range(const dc_wattn_shape *s, const float *in,
                               const float *qkv_w, const float *qkv_b, const float *proj_w,
                               const float *proj_b, const float *pos_bias,
                               const float *logit_scale, float *out, int b0, int b1,
                               float *workspace)
{
    const int C = s->c, H = s->h, W = s->w, ws = s->window, heads = s->heads;
    const int N = ws * ws, hd = C / heads, C3 = 3 * C;
    const size_t hw = (size_t)H * W;
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    const bool shifted = sh + sw > 0;
    const int nww = pw / ws, rows = ws * pw;
    float *tok = workspace;                    /* [rows][C] */
    float *qkv = tok + (size_t)rows * C;       /* [rows][3C] */
    float *att = qkv + (size_t)rows * C3;      /* [N][N] */
    float *label = att + (size_t)N * N;        /* [N] */
    const float scale = (float)(1.0 / sqrt((double)hd));

    for (int wr = b0; wr < b1; wr++) {
        /* gather the band: token t = window wc, row i, column j of that window */
        for (int t = 0; t < rows; t++) {
            const int wc = t / N, i = (t % N) / ws, j = t % ws;
            const int yo = (wr * ws + i + sh) % ph, xo = (wc * ws + j + sw) % pw;
            float *dst = tok + (size_t)t * C;
            if (yo >= H || xo >= W) {
                memset(dst, 0, (size_t)C * sizeof *dst);
                continue;
            }
            const float *src = in + (size_t)yo * W + xo;
            for (int k = 0; k < C; k++)
                dst[k] = src[(size_t)k * hw];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, C3, C, 1.0f, tok, C,
                    qkv_w, C, 0.0f, qkv, C3);
        if (qkv_b)
            for (int t = 0; t < rows; t++) {
                float *r = qkv + (size_t)t * C3;
                for (int k = 0; k < C3; k++)
                    r[k] += qkv_b[k];
            }

        for (int wc = 0; wc < nww; wc++) {
            float *base = qkv + (size_t)wc * N * C3;
            /* region labels of the window's tokens; only windows on the last row or
             * column of a shifted map mix regions and need the mask */
            bool masked = false;
            for (int a = 0; shifted && a < N; a++) {
                label[a] = (float)(3 * region(wr * ws + a / ws, ph, ws, sh) +
                                   region(wc * ws + a % ws, pw, ws, sw));
                masked = masked || label[a] != label[0];
            }
            for (int h = 0; h < heads; h++) {
                float *q = base + (size_t)h * hd, *k = q + C, *v = q + 2 * C;
                float alpha = scale;
                if (s->cosine) {
                    normalize_rows(q, N, hd, (size_t)C3);
                    normalize_rows(k, N, hd, (size_t)C3);
                    alpha = logit_scale[h];
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, hd, alpha, q, C3,
                            k, C3, 0.0f, att, N);
                const float *pb = pos_bias + (size_t)h * N * N;
                for (size_t e = 0; e < (size_t)N * N; e++)
                    att[e] += pb[e];
                for (int a = 0; masked && a < N; a++) {
                    float *row = att + (size_t)a * N;
                    for (int b = 0; b < N; b++)
                        row[b] += label[a] != label[b] ? -100.0f : 0.0f;
                }
                softmax_rows(att, N);
                /* this head's output: channels [h*hd, (h+1)*hd) of the window's tokens */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, hd, N, 1.0f, att, N,
                            v, C3, 0.0f, tok + (size_t)wc * N * C + (size_t)h * hd, C);
            }
        }

        /* proj into the qkv buffer, viewed as [rows][C] */
        float *y = qkv;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, C, C, 1.0f, tok, C, proj_w,
                    C, 0.0f, y, C);
        /* scatter back: un-partition, roll by +shift, crop */
        for (int t = 0; t < rows; t++) {
            const int wc = t / N, i = (t % N) / ws, j = t % ws;
            const int yo = (wr * ws + i + sh) % ph, xo = (wc * ws + j + sw) % pw;
            if (yo >= H || xo >= W)
                continue;
            const float *src = y + (size_t)t * C;
            float *dst = out + (size_t)yo * W + xo;
            if (proj_b)
                for (int k = 0; k < C; k++)
                    dst[(size_t)k * hw] = src[k] + proj_b[k];
            else
                for (int k = 0; k < C; k++)
                    dst[(size_t)k * hw] = src[k];
        }
    }
}
