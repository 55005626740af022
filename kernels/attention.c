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

#include "epilogue.h"

void dc_wattn_geometry(const dc_wattn_shape *s, int *ph, int *pw, int *sh, int *sw)
{
    const int ws = s->window;
    *ph = (s->h + ws - 1) / ws * ws;
    *pw = (s->w + ws - 1) / ws * ws;
    *sh = ws >= *ph ? 0 : s->shift;
    *sw = ws >= *pw ? 0 : s->shift;
}

/* Vectors of GCC's vector extension (as in gemm_packed.c): 16 floats, whatever the target
 * (AVX-512 one register, AVX2 two, NEON four), and acc += w * x contracted to FMAs (C11
 * mode forbids the contraction by default; the parity tolerances cover the rounding). */
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=fast")
#endif
typedef float v16 __attribute__((vector_size(64)));
#define LOAD16(v, p) memcpy(&(v), (p), sizeof(v))
#define STORE16(p, v) memcpy((p), &(v), sizeof(v))

/* Register blocks: logit_rows keeps RB rows x VB vectors of columns (16 sums), value_rows
 * VR rows x at most VV vectors of channels (16 sums). Logit rows and transposed keys are
 * padded to whole blocks of VB vectors (64 columns), zeros beyond the N tokens. */
enum { VB = 4, RB = 4, VR = 8, VV = 2 };

static size_t padded_tokens(int n)
{
    return ((size_t)n + 16 * VB - 1) / (16 * VB) * (16 * VB);
}

size_t dc_window_attention_workspace_floats(const dc_wattn_shape *s)
{
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    const size_t rows = (size_t)s->window * pw, n = (size_t)s->window * s->window;
    const size_t np = padded_tokens((int)n);
    /* tokens (then attention output) [rows][C], qkv (then proj output) [rows][3C],
     * logits [N][np], region labels [N], one head's keys transposed [hd][np] */
    return 4 * rows * (size_t)s->c + n * np + n + np * (size_t)s->c;
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

/* Lanes of the partial sums below: as many as one AVX-512 vector, so that GCC turns each
 * loop over them into vector code (it keeps a plain float sum in order, and scalar). */
enum { LANES = 16 };

/* x / max(|x|_2, 1e-12) in place for n vectors of len floats, stride apart (F.normalize);
 * the squares summed in LANES partial sums. */
static void normalize_rows(float *x, int n, int len, size_t stride)
{
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * stride;
        float part[LANES] = { 0 };
        int d = 0;
        for (; d + LANES <= len; d += LANES)
            for (int l = 0; l < LANES; l++)
                part[l] += r[d + l] * r[d + l];
        for (; d < len; d++)
            part[0] += r[d] * r[d];
        double ss = 0.0;
        for (int l = 0; l < LANES; l++)
            ss += part[l];
        const double norm = sqrt(ss);
        const float inv = (float)(1.0 / (norm > 1e-12 ? norm : 1e-12));
        for (d = 0; d < len; d++)
            r[d] *= inv;
    }
}

/* Softmax of a row of n logits in place: the maximum and the sum in LANES partials, e^x
 * by dc_exp_nonpos (relative error about 1e-7; x - max <= 0). */
static void softmax_row(float *r, int n)
{
    float mpart[LANES];
    for (int l = 0; l < LANES; l++)
        mpart[l] = r[0];
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            mpart[l] = r[j + l] > mpart[l] ? r[j + l] : mpart[l];
    for (; j < n; j++)
        mpart[0] = r[j] > mpart[0] ? r[j] : mpart[0];
    float m = mpart[0];
    for (int l = 1; l < LANES; l++)
        m = mpart[l] > m ? mpart[l] : m;
    for (j = 0; j < n; j++)
        r[j] = dc_exp_nonpos(r[j] - m);
    float spart[LANES] = { 0 };
    for (j = 0; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            spart[l] += r[j + l];
    for (; j < n; j++)
        spart[0] += r[j];
    double sum = 0.0;
    for (int l = 0; l < LANES; l++)
        sum += spart[l];
    const float inv = (float)(1.0 / sum);
    for (j = 0; j < n; j++)
        r[j] *= inv;
}

/* Rows a0 .. a0 + R - 1 of the logits, alpha q k^T, into att (rows np floats apart): each
 * block of VB x 16 columns summed over the hd channels in R x VB vector registers. */
static inline void logit_rows(const float *q, size_t ld, const float *kt, size_t np, int hd,
                              float alpha, float *att, int a0, const int R)
{
    for (size_t c0 = 0; c0 < np; c0 += 16 * VB) {
        v16 acc[RB][VB];
        memset(acc, 0, sizeof acc);
        for (int d = 0; d < hd; d++) {
            v16 kd[VB];
            for (int c = 0; c < VB; c++)
                LOAD16(kd[c], kt + (size_t)d * np + c0 + 16 * c);
            for (int r = 0; r < R; r++) {
                const float w = alpha * q[(size_t)(a0 + r) * ld + d];
                for (int c = 0; c < VB; c++)
                    acc[r][c] += w * kd[c];
            }
        }
        for (int r = 0; r < R; r++)
            for (int c = 0; c < VB; c++)
                STORE16(att + (size_t)(a0 + r) * np + c0 + 16 * c, acc[r][c]);
    }
}

/* Rows a0 .. a0 + R - 1 (R <= VR) of att v into out (rows os floats apart), channels in
 * blocks of NV x 16 (NV <= VV, hd a multiple of 16 NV): R x NV sums in vector registers
 * over the N tokens. */
static inline void value_rows(const float *att, size_t np, int N, const float *v, size_t ld,
                              int hd, float *out, size_t os, int a0, const int R, const int NV)
{
    for (int j0 = 0; j0 < hd; j0 += 16 * NV) {
        v16 acc[VR][VV];
        memset(acc, 0, sizeof acc);
        for (int b = 0; b < N; b++) {
            v16 vb[VV];
            for (int c = 0; c < NV; c++)
                LOAD16(vb[c], v + (size_t)b * ld + j0 + 16 * c);
            for (int r = 0; r < R; r++) {
                const float p = att[(size_t)(a0 + r) * np + b];
                for (int c = 0; c < NV; c++)
                    acc[r][c] += p * vb[c];
            }
        }
        for (int r = 0; r < R; r++)
            for (int c = 0; c < NV; c++)
                STORE16(out + (size_t)(a0 + r) * os + j0 + 16 * c, acc[r][c]);
    }
}

/* att v for all N rows: VR rows at a time, then one; NV = VV where hd allows. */
static void value_all(const float *att, size_t np, int N, const float *v, size_t ld, int hd,
                      float *out, size_t os, const int NV)
{
    int a = 0;
    for (; a + VR <= N; a += VR)
        value_rows(att, np, N, v, ld, hd, out, os, a, VR, NV);
    for (; a < N; a++)
        value_rows(att, np, N, v, ld, hd, out, os, a, 1, NV);
}

/* One head of one window (N tokens, hd channels; q, k, v rows ld floats apart):
 *   att = softmax(alpha q k^T + bias + mask),  out[a][j] = sum_b att[a][b] v[b][j]
 * (out rows os floats apart). Two small products per head and window (64 x 64 x 32 for
 * Swin V2): as cblas_sgemm calls they ran at a tenth of the GEMM peak, so they are summed
 * here in vector registers, RB rows at a time (logit_rows, value_rows); the keys are first
 * transposed into kt [hd][np], zero beyond N. label: the region of each token (tokens of
 * different regions get -100), or NULL. */
static void window_head(const float *q, const float *k, const float *v, size_t ld, int N,
                        int hd, float alpha, const float *bias, const float *label,
                        float *att, float *kt, float *out, size_t os)
{
    const size_t np = padded_tokens(N);
    for (int d = 0; d < hd; d++) {
        float *kd = kt + (size_t)d * np;
        for (int b = 0; b < N; b++)
            kd[b] = k[(size_t)b * ld + d];
        for (size_t b = (size_t)N; b < np; b++)
            kd[b] = 0.0f;
    }
    int a = 0;
    for (; a + RB <= N; a += RB)
        logit_rows(q, ld, kt, np, hd, alpha, att, a, RB);
    for (; a < N; a++)
        logit_rows(q, ld, kt, np, hd, alpha, att, a, 1);
    for (a = 0; a < N; a++) {
        float *row = att + (size_t)a * np;
        const float *bias_row = bias + (size_t)a * N;
        for (int b = 0; b < N; b++)
            row[b] += bias_row[b];
        if (label)
            for (int b = 0; b < N; b++)
                row[b] += label[a] != label[b] ? -100.0f : 0.0f;
        softmax_row(row, N);
    }
    if (hd % (16 * VV) == 0) {
        value_all(att, np, N, v, ld, hd, out, os, VV);
        return;
    }
    if (hd % 16 == 0) {
        value_all(att, np, N, v, ld, hd, out, os, 1);
        return;
    }
    for (a = 0; a < N; a++) { /* other head widths: a row at a time */
        float *o = out + (size_t)a * os;
        for (int j = 0; j < hd; j++)
            o[j] = 0.0f;
        for (int b = 0; b < N; b++) {
            const float p = att[(size_t)a * np + b];
            for (int j = 0; j < hd; j++)
                o[j] += p * v[(size_t)b * ld + j];
        }
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
    float *att = qkv + (size_t)rows * C3;      /* [N][np] */
    float *label = att + (size_t)N * padded_tokens(N); /* [N] */
    float *kt = label + N;                     /* [hd][np] */
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
                /* this head's output: channels [h*hd, (h+1)*hd) of the window's tokens */
                window_head(q, k, v, (size_t)C3, N, hd, alpha, pos_bias + (size_t)h * N * N,
                            masked ? label : NULL, att, kt,
                            tok + (size_t)wc * N * C + (size_t)h * hd, (size_t)C);
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
