/*
 * attention.c — Swin's shifted-window multi-head self-attention on one sample,
 * torchvision.models.swin_transformer.shifted_window_attention (V1, and V2's cosine form).
 *
 * torchvision works on a channels-last [H][W][C] map; ours is [C][H][W]. The steps, as
 * torchvision:
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
 *
 * How: one band (a row of windows, ws*pW tokens) at a time, every operand channels first
 * with the tokens as columns, the transpose of torchvision's:
 *   - the band's tokens are gathered into tok [C][ld], window after window, row-major
 *     inside a window: runs of ws pixels of a map row;
 *   - qkv [3C][ld] = Wqkv tok + b, one product on weights packed at load (dc_wattn_pack,
 *     kernels/gemm_packed.c): a head's q, k and v are hd rows each, a window's tokens N
 *     consecutive columns;
 *   - per window and head the logits come transposed, att[b][a] = alpha sum_d k[d][b]
 *     q[d][a] (+ the position bias, transposed at load, + the mask), the softmax runs down
 *     each column (over the keys b, vectorised across the queries a), and
 *     out[j][a] = sum_b v[j][b] att[b][a] is written over tok's columns of the window;
 *   - y [C][ld] = Wp out + bp, the second packed product, scattered back into [C][H][W].
 * So neither linear re-packs its weights on every call as SGEMM does, and the gather and
 * scatter copy runs of pixels where a token-major layout made them transposes (swin_v2_t
 * at one thread, batch 1: the attention nodes 64 -> 40 ms).
 */
#include "kernels.h"

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

/* LANES floats a vector; the small products keep RB rows x VB vectors of columns in
 * registers (16 sums), so logits are computed in blocks of VB vectors (64 columns). */
enum { LANES = 16, VB = 4, RB = 4 };

static size_t round_up(size_t n, size_t m)
{
    return (n + m - 1) / m * m;
}

/* What one band needs to know, derived from the shape. */
typedef struct {
    int ph, pw, sh, sw; /* dc_wattn_geometry */
    int N, hd, rows;    /* tokens a window, channels a head, tokens a band */
    size_t np;          /* N rounded up to whole blocks of VB vectors: att's row length */
    size_t ld;          /* row length of tok and qkv (below) */
    int R;              /* rows of a block of the packed weights */
} band_shape;

static band_shape band_shape_of(const dc_wattn_shape *s)
{
    band_shape b;
    dc_wattn_geometry(s, &b.ph, &b.pw, &b.sh, &b.sw);
    b.N = s->window * s->window;
    b.hd = s->c / s->heads;
    b.rows = s->window * b.pw;
    b.np = round_up((size_t)b.N, LANES * VB);
    /* the small products read and write np columns from a window's first token: the
     * last window's reach past the band's tokens */
    b.ld = round_up((size_t)b.rows + b.np, LANES);
    b.R = dc_packed_rows(b.rows);
    return b;
}

/* Where the parts of dc_wattn_pack's buffer start, in floats: the qkv weights packed, their
 * bias padded to whole blocks of R rows, the same for proj, then the position bias with
 * each head's [N][N] transposed. */
typedef struct {
    size_t qkv, qkv_bias, proj, proj_bias, pos_bias_t, total;
} packed_layout;

static packed_layout packed_layout_of(const dc_wattn_shape *s, const band_shape *b)
{
    const int C = s->c;
    packed_layout l;
    l.qkv = 0;
    l.qkv_bias = l.qkv + dc_packed_floats(3 * C, C, b->R);
    l.proj = l.qkv_bias + round_up((size_t)3 * C, (size_t)b->R);
    l.proj_bias = l.proj + dc_packed_floats(C, C, b->R);
    l.pos_bias_t = l.proj_bias + round_up((size_t)C, (size_t)b->R);
    l.total = l.pos_bias_t + (size_t)s->heads * b->N * b->N;
    return l;
}

size_t dc_wattn_packed_floats(const dc_wattn_shape *s)
{
    const band_shape b = band_shape_of(s);
    return packed_layout_of(s, &b).total;
}

void dc_wattn_pack(const dc_wattn_shape *s, const float *qkv_w, const float *qkv_b,
                   const float *proj_w, const float *proj_b, const float *pos_bias,
                   float *packed)
{
    const band_shape b = band_shape_of(s);
    const packed_layout l = packed_layout_of(s, &b);
    const int C = s->c, N = b.N;
    dc_pack_a(3 * C, C, b.R, qkv_w, C, packed + l.qkv);
    memset(packed + l.qkv_bias, 0, (l.proj - l.qkv_bias) * sizeof *packed);
    if (qkv_b)
        memcpy(packed + l.qkv_bias, qkv_b, (size_t)3 * C * sizeof *packed);
    dc_pack_a(C, C, b.R, proj_w, C, packed + l.proj);
    memset(packed + l.proj_bias, 0, (l.pos_bias_t - l.proj_bias) * sizeof *packed);
    if (proj_b)
        memcpy(packed + l.proj_bias, proj_b, (size_t)C * sizeof *packed);
    for (int h = 0; h < s->heads; h++) {
        const float *src = pos_bias + (size_t)h * N * N;
        float *dst = packed + l.pos_bias_t + (size_t)h * N * N;
        for (int a = 0; a < N; a++)
            for (int k = 0; k < N; k++)
                dst[(size_t)k * N + a] = src[(size_t)a * N + k];
    }
}

size_t dc_window_attention_workspace_floats(const dc_wattn_shape *s)
{
    const band_shape b = band_shape_of(s);
    /* tok [C][ld] (then the attention's output), qkv [3C rounded up to R][ld] (then the
     * proj output), att [N][np], region labels [N], column norms [ld] */
    return ((size_t)s->c + round_up((size_t)3 * s->c, (size_t)b.R)) * b.ld +
           (size_t)b.N * b.np + (size_t)b.N + b.ld;
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

/* Where band wr's window wc takes its tokens in the padded map: its token row i from map
 * row band_map_row(b, ws, wr, i), token j of that row from map column
 * rolled_column(b, x0, j) with x0 = window_first_column(b, ws, wc) (the roll by the shift
 * wraps at pH and pW). */
static int band_map_row(const band_shape *b, int ws, int wr, int i)
{
    return (wr * ws + i + b->sh) % b->ph;
}

static int window_first_column(const band_shape *b, int ws, int wc)
{
    return (wc * ws + b->sw) % b->pw;
}

static int rolled_column(const band_shape *b, int x0, int j)
{
    return x0 + j < b->pw ? x0 + j : x0 + j - b->pw;
}

/* Band wr's tokens from the map in [C][H][W] into tok [C][ld]: window wc's token row i is
 * a run of ws pixels of one map row (wrapping where the roll does); padding tokens are
 * zero, and so are the columns past the band's tokens. */
static void gather_band(const dc_wattn_shape *s, const band_shape *b, int wr, const float *in,
                        float *tok)
{
    const int ws = s->window, W = s->w;
    const size_t hw = (size_t)s->h * W;
    for (int wc = 0; wc < b->pw / ws; wc++) {
        const int x0 = window_first_column(b, ws, wc);
        const bool inside = x0 + ws <= W; /* no wrap, no padding column */
        for (int i = 0; i < ws; i++) {
            const int y = band_map_row(b, ws, wr, i);
            float *d = tok + (size_t)wc * b->N + (size_t)i * ws;
            if (y >= s->h) { /* a padding row */
                for (int c = 0; c < s->c; c++, d += b->ld)
                    memset(d, 0, (size_t)ws * sizeof *d);
                continue;
            }
            for (int c = 0; c < s->c; c++, d += b->ld) {
                const float *row = in + c * hw + (size_t)y * W;
                if (inside) {
                    memcpy(d, row + x0, (size_t)ws * sizeof *d);
                    continue;
                }
                for (int j = 0; j < ws; j++) {
                    const int x = rolled_column(b, x0, j);
                    d[j] = x < W ? row[x] : 0.0f;
                }
            }
        }
    }
    for (int c = 0; c < s->c; c++)
        memset(tok + c * b->ld + b->rows, 0, (b->ld - (size_t)b->rows) * sizeof *tok);
}

/* The reverse of gather_band: y's band tokens back to their pixels of out, the padding
 * tokens dropped. */
static void scatter_band(const dc_wattn_shape *s, const band_shape *b, int wr, const float *y,
                         float *out)
{
    const int ws = s->window, W = s->w;
    const size_t hw = (size_t)s->h * W;
    for (int wc = 0; wc < b->pw / ws; wc++) {
        const int x0 = window_first_column(b, ws, wc);
        const bool inside = x0 + ws <= W;
        for (int i = 0; i < ws; i++) {
            const int map_y = band_map_row(b, ws, wr, i);
            if (map_y >= s->h)
                continue;
            const float *src = y + (size_t)wc * b->N + (size_t)i * ws;
            for (int c = 0; c < s->c; c++, src += b->ld) {
                float *row = out + c * hw + (size_t)map_y * W;
                if (inside) {
                    memcpy(row + x0, src, (size_t)ws * sizeof *src);
                    continue;
                }
                for (int j = 0; j < ws; j++) {
                    const int x = rolled_column(b, x0, j);
                    if (x < W)
                        row[x] = src[j];
                }
            }
        }
    }
}

/* c [m][ld] = W b + bias over the band's columns, W packed by dc_wattn_pack (m rows; c has
 * room for m rounded up to R, the bias is padded as far). */
static void packed_linear(const band_shape *b, int m, int k, const float *w, const float *bias,
                          const float *in, float *c)
{
    for (int blk = 0; blk * b->R < m; blk++)
        dc_gemm_packed_block_act(b->R, blk, k, b->rows, w, in, b->ld,
                                 c + (size_t)blk * b->R * b->ld, b->ld,
                                 bias + (size_t)blk * b->R, NULL, 0, DC_ACT_NONE);
}

/* Each of the first `cols` columns of x [n][ld] (one token's n channels of a head) divided
 * by max(|column|_2, 1e-12), as F.normalize; norm holds cols floats. */
static void normalize_columns(float *x, int n, size_t ld, size_t cols, float *norm)
{
    memset(norm, 0, cols * sizeof *norm);
    for (int d = 0; d < n; d++) {
        const float *r = x + (size_t)d * ld;
        for (size_t t = 0; t < cols; t++)
            norm[t] += r[t] * r[t];
    }
    for (size_t t = 0; t < cols; t++) {
        const float l2 = sqrtf(norm[t]);
        norm[t] = 1.0f / (l2 > 1e-12f ? l2 : 1e-12f);
    }
    for (int d = 0; d < n; d++) {
        float *r = x + (size_t)d * ld;
        for (size_t t = 0; t < cols; t++)
            r[t] *= norm[t];
    }
}

/* c[r][0 .. 64 blocks) = scale sum_k A(r, k) b[k][...] for r < R (a constant at every
 * call: the sums stay in R x VB vector registers), A(r, k) = a[r ar + k ak]. */
static inline __attribute__((always_inline)) void
small_product(const int R, int K, const float *a, size_t ar, size_t ak, const float *b,
              size_t ldb, int blocks, float scale, float *c, size_t ldc)
{
    for (int blk = 0; blk < blocks; blk++) {
        const size_t c0 = (size_t)blk * LANES * VB;
        v16 acc[RB][VB];
        memset(acc, 0, sizeof acc);
        for (int k = 0; k < K; k++) {
            v16 bv[VB];
            for (int q = 0; q < VB; q++)
                LOAD16(bv[q], b + (size_t)k * ldb + c0 + (size_t)q * LANES);
            for (int r = 0; r < R; r++) {
                const float w = a[(size_t)r * ar + (size_t)k * ak];
                for (int q = 0; q < VB; q++)
                    acc[r][q] += w * bv[q];
            }
        }
        for (int r = 0; r < R; r++)
            for (int q = 0; q < VB; q++) {
                const v16 v = acc[r][q] * scale;
                STORE16(c + (size_t)r * ldc + c0 + (size_t)q * LANES, v);
            }
    }
}

/* small_product for M rows: RB at a time, then one. */
static void product_rows(int M, int K, const float *a, size_t ar, size_t ak, const float *b,
                         size_t ldb, int blocks, float scale, float *c, size_t ldc)
{
    int r = 0;
    for (; r + RB <= M; r += RB)
        small_product(RB, K, a + (size_t)r * ar, ar, ak, b, ldb, blocks, scale,
                      c + (size_t)r * ldc, ldc);
    for (; r < M; r++)
        small_product(1, K, a + (size_t)r * ar, ar, ak, b, ldb, blocks, scale,
                      c + (size_t)r * ldc, ldc);
}

/* The softmax of att [N][np] over its rows b, for each column a in whole vectors (those
 * past N hold numbers that are never used): the maximum, e^x by dc_exp_nonpos (relative
 * error about 1e-7; x - max <= 0) and the sum, LANES columns at a time. */
static void softmax_columns(float *att, int N, size_t np)
{
    for (size_t a0 = 0; a0 < round_up((size_t)N, LANES); a0 += LANES) {
        float m[LANES], sum[LANES] = { 0 };
        memcpy(m, att + a0, sizeof m);
        for (int k = 1; k < N; k++) {
            const float *r = att + (size_t)k * np + a0;
            for (int l = 0; l < LANES; l++)
                m[l] = r[l] > m[l] ? r[l] : m[l];
        }
        for (int k = 0; k < N; k++) {
            float *r = att + (size_t)k * np + a0;
            for (int l = 0; l < LANES; l++) {
                r[l] = dc_exp_nonpos(r[l] - m[l]);
                sum[l] += r[l];
            }
        }
        for (int l = 0; l < LANES; l++)
            sum[l] = 1.0f / sum[l];
        for (int k = 0; k < N; k++) {
            float *r = att + (size_t)k * np + a0;
            for (int l = 0; l < LANES; l++)
                r[l] *= sum[l];
        }
    }
}

/* One head of one window: q, k, v [hd][...] with rows ld apart, the window's N tokens from
 * column 0; its output into out (the same layout), np columns of it (those past N belong
 * to the next window, which writes them after, or to the band's slack):
 *   att = softmax(alpha q k^T + bias + mask) transposed to [keys][queries],
 *   out[j][a] = sum_b v[j][b] att[b][a].
 * bias_t: the head's position bias transposed; label: the region of each token (tokens of
 * different regions get -100), or NULL. */
static void window_head(const band_shape *b, const float *q, const float *k, const float *v,
                        float alpha, const float *bias_t, const float *label, float *att,
                        float *out)
{
    const int N = b->N, blocks = (int)(b->np / (LANES * VB));
    /* rows b of att: A(b, d) = k[d][b] */
    product_rows(N, b->hd, k, 1, b->ld, q, b->ld, blocks, alpha, att, b->np);
    for (int kb = 0; kb < N; kb++) {
        float *row = att + (size_t)kb * b->np;
        const float *bias_row = bias_t + (size_t)kb * N;
        for (int a = 0; a < N; a++)
            row[a] += bias_row[a];
        if (label)
            for (int a = 0; a < N; a++)
                row[a] += label[a] != label[kb] ? -100.0f : 0.0f;
    }
    softmax_columns(att, N, b->np);
    /* rows j of out: A(j, b) = v[j][b] */
    product_rows(b->hd, N, v, b->ld, 1, att, b->np, blocks, 1.0f, out, b->ld);
}

int dc_window_attention_bands(const dc_wattn_shape *s)
{
    int ph, pw, sh, sw;
    dc_wattn_geometry(s, &ph, &pw, &sh, &sw);
    return ph / s->window;
}

void dc_window_attention(const dc_wattn_shape *s, const float *in, const float *packed,
                         const float *logit_scale, float *out, float *workspace)
{
    dc_window_attention_range(s, in, packed, logit_scale, out, 0, dc_window_attention_bands(s),
                              workspace);
}

void dc_window_attention_range(const dc_wattn_shape *s, const float *in, const float *packed,
                               const float *logit_scale, float *out, int b0, int b1,
                               float *workspace)
{
    const band_shape b = band_shape_of(s);
    const packed_layout l = packed_layout_of(s, &b);
    const int C = s->c, ws = s->window, N = b.N, hd = b.hd, nww = b.pw / ws;
    const bool shifted = b.sh + b.sw > 0;
    const size_t ld = b.ld, cols = round_up((size_t)b.rows, LANES);
    float *tok = workspace;                                      /* [C][ld] */
    float *qkv = tok + (size_t)C * ld;                           /* [3C (R)][ld] */
    float *att = qkv + round_up((size_t)3 * C, (size_t)b.R) * ld; /* [N][np] */
    float *label = att + (size_t)N * b.np;                       /* [N] */
    float *norm = label + N;                                     /* [ld] */
    const float scale = (float)(1.0 / sqrt((double)hd));

    for (int wr = b0; wr < b1; wr++) {
        gather_band(s, &b, wr, in, tok);
        packed_linear(&b, 3 * C, C, packed + l.qkv, packed + l.qkv_bias, tok, qkv);
        /* the product wrote whole vectors of columns; the last window's small products
         * read up to ld */
        for (int r = 0; r < 3 * C; r++)
            memset(qkv + r * ld + cols, 0, (ld - cols) * sizeof *qkv);
        if (s->cosine)
            for (int h = 0; h < s->heads; h++) {
                normalize_columns(qkv + (size_t)h * hd * ld, hd, ld, cols, norm);
                normalize_columns(qkv + ((size_t)C + (size_t)h * hd) * ld, hd, ld, cols,
                                  norm);
            }
        for (int wc = 0; wc < nww; wc++) {
            /* region labels of the window's tokens; only windows on the last row or
             * column of a shifted map mix regions and need the mask */
            bool masked = false;
            for (int a = 0; shifted && a < N; a++) {
                label[a] = (float)(3 * region(wr * ws + a / ws, b.ph, ws, b.sh) +
                                   region(wc * ws + a % ws, b.pw, ws, b.sw));
                masked = masked || label[a] != label[0];
            }
            for (int h = 0; h < s->heads; h++) {
                const float *q = qkv + (size_t)h * hd * ld + (size_t)wc * N;
                const float *k = q + (size_t)C * ld, *v = k + (size_t)C * ld;
                /* this head's output: rows [h hd, (h + 1) hd) of the window's columns */
                window_head(&b, q, k, v, s->cosine ? logit_scale[h] : scale,
                            packed + l.pos_bias_t + (size_t)h * N * N, masked ? label : NULL,
                            att, tok + (size_t)h * hd * ld + (size_t)wc * N);
            }
        }
        /* proj into the qkv buffer, [C][ld] */
        packed_linear(&b, C, C, packed + l.proj, packed + l.proj_bias, tok, qkv);
        scatter_band(s, &b, wr, qkv, out);
    }
}
