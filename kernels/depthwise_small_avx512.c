/*
 * depthwise_small_avx512.c — the depthwise conv (torch.nn.Conv2d with groups == channels)
 * on small maps with AVX-512, reading the input planes where they lie: no staging copy of
 * padded rows and no border code. Masked loads give the zero padding: a masked-off lane
 * is neither read nor faults, so a vector may start before a plane or run past it.
 *
 * Stride 1, "same" padding (k/2, so oh = h and ow = w): the output plane is one flat
 * array of h*w positions, 16 to a vector. Output p = (oy, ox) takes tap (ki, kj) from
 * in[p + (ki - k/2) * w + (kj - k/2)], which is inside the image exactly when
 * oy + ki - k/2 is in [0, h) and ox + kj - k/2 in [0, w): per vector one row mask per ki
 * and one column mask per kj, ANDed per tap. Each tap is one masked load and one FMA for
 * 16 outputs, however narrow the rows (the row-mode kernel of depthwise_simd.h wastes
 * lanes on 8-wide rows and copies every row first).
 *
 * Stride 2, outputs rows of at most 16: output row oy takes tap (ki, kj) from input row
 * 2 oy - pad + ki at columns 2 ox + kj - pad. The first 32 columns of that row are two
 * vectors (loaded once per ki, lanes past the row masked to 0), and one two-source
 * permute per kj picks the columns 2 ox + kj - pad of all 16 outputs at once; a column
 * left of the image is masked to 0. So the row must need no column past 31:
 * 2 (ow - 1) + k - 1 - pad < 32.
 *
 * Either way the sum is bias, then the taps row by row, each a fused multiply-add: the
 * order of the other vector kernels. Several output vectors are summed at once, so that
 * the FMAs' latency overlaps: DWS_GROUP of one channel, or, when a plane is at most
 * DWS_FEW_VECS vectors (4x4 and 8x8 maps), DWS_ACCS of several channels in lockstep.
 */
#include "simd_kernels.h"

#ifdef DC_HAVE_X86_SIMD
#include <stdint.h>

#include "simd_avx512.h"
#include "simd_common.h"

/* Where this beats the row mode of depthwise_simd.h (bench/depthwise_bench, one thread,
 * GFLOP/s old -> new). Stride 1: maps up to 16x16 (mobilenetv2 cifar 144x16x16 35.9 ->
 * 49.7, 192x8x8 15.5 -> 47.9, mobilenet_v3 672x14x14 29.6 -> 50.1, 960x7x7 5x5 25.5 ->
 * 39.2), but 7x7 kernels only up to 10x10 (convnext 768x7x7 27.1 -> 36.6, 384x14x14 48.8 ->
 * 44.9); at 28x28 and 32x32 the row mode's loads, shared by 8 rows, win (convnext
 * 192x28x28 77.9 -> 48.6, mobilenet_v3 120x28x28 5x5 72.8 -> 51.1). Stride 2: every shape
 * it takes (shufflenet 232x14x14 9.5 -> 21.7, 116x28x28 17.4 -> 32.8, mnasnet 576x14x14
 * 5x5 18.0 -> 35.4). */
enum {
    DWS_MAX_VECS = 16,    /* stride 1: vectors per plane (256 outputs, e.g. 16x16) */
    DWS_MAX_PIXELS_7 = 100, /* stride 1, 7x7 kernels: outputs per plane */
    DWS_MAX_K = 7,
    DWS_WINDOW = 32       /* stride 2: input columns two vectors hold */
};

/* v's lanes from address base + off floats, only the lanes of m; the address is formed
 * without pointer arithmetic outside the plane (masked-off lanes are never touched). */
DW_INLINE __m512 dws_load(__mmask16 m, const float *base, long off)
{
    const float *p = (const float *)((uintptr_t)base + (uintptr_t)(off * (long)sizeof(float)));
    return _mm512_maskz_loadu_ps(m, p);
}

/* Lanes i < n. */
static inline __mmask16 dws_first(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? 0 : (__mmask16)((1u << n) - 1u);
}

/* Applies an activation the vector code does not (dw_act_in_registers) to finished
 * channels [c0, c1), planes of n floats. */
static void dws_act_rest(float *out, size_t n, int c0, int c1, dc_act act)
{
    if (dw_act_in_registers(act))
        return;
    for (int c = c0; c < c1; c++)
        dc_bias_act_row(out + (size_t)c * n, n, 0.0f, act);
}

/* The channel's K*K weights, each broadcast to a vector once. */
DW_INLINE void dws_broadcast(const float *k, const int K, __m512 *wv)
{
#pragma GCC unroll 49
    for (int t = 0; t < K * K; t++)
        wv[t] = _mm512_set1_ps(k[t]);
}

/* ---- stride 1, same padding ---------------------------------------------- */

/* Output vectors summed at once, per channel. */
enum { DWS_GROUP = 4 };

typedef struct {
    __mmask16 tap[DWS_MAX_VECS][DWS_MAX_K * DWS_MAX_K]; /* lanes whose tap lies in the image */
    __mmask16 store[DWS_MAX_VECS];                      /* lanes inside the plane */
} dws_masks;

/* Lane i of vector v is output p = 16 v + i = (p / w, p % w); tap (ki, kj) is inside the
 * image when its row and its column are. */
static DW_TARGET void dws_masks_make(int h, int w, int k, int nvec, dws_masks *m)
{
    const int half = k / 2;
    for (int v = 0; v < nvec; v++) {
        int oy[16], ox[16];
        for (int i = 0; i < 16; i++) {
            const int p = 16 * v + i;
            oy[i] = p / w, ox[i] = p % w;
        }
        const __m512i vy = _mm512_loadu_si512(oy), vx = _mm512_loadu_si512(ox);
        __mmask16 row[DWS_MAX_K], col[DWS_MAX_K];
        for (int t = 0; t < k; t++) {
            const __m512i dy = _mm512_add_epi32(vy, _mm512_set1_epi32(t - half));
            const __m512i dx = _mm512_add_epi32(vx, _mm512_set1_epi32(t - half));
            row[t] = _mm512_cmpge_epi32_mask(dy, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(dy, _mm512_set1_epi32(h));
            col[t] = _mm512_cmpge_epi32_mask(dx, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(dx, _mm512_set1_epi32(w));
        }
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++)
                m->tap[v][ki * k + kj] = row[ki] & col[kj];
        m->store[v] = dws_first(h * w - 16 * v);
    }
}

/* One channel: its weights broadcast once, then DWS_GROUP output vectors at a time. */
DW_INLINE void dws_flat_channel(const float *src, const float *k, float bias, float *dst,
                                const dws_masks *m, int nvec, int w, const int K, dc_act act)
{
    const int half = K / 2;
    __m512 wv[DWS_MAX_K * DWS_MAX_K];
    dws_broadcast(k, K, wv);
    for (int v0 = 0; v0 < nvec; v0 += DWS_GROUP) {
        const int nb = nvec - v0 < DWS_GROUP ? nvec - v0 : DWS_GROUP;
        __m512 acc[DWS_GROUP];
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            acc[b] = _mm512_set1_ps(bias);
#pragma GCC unroll 7
        for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 7
            for (int kj = 0; kj < K; kj++) {
                const long off = 16L * v0 + (long)(ki - half) * w + (kj - half);
#pragma GCC unroll 4
                for (int b = 0; b < DWS_GROUP; b++)
                    if (b < nb)
                        acc[b] = _mm512_fmadd_ps(
                            wv[ki * K + kj],
                            dws_load(m->tap[v0 + b][ki * K + kj], src, off + 16L * b), acc[b]);
            }
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            if (b < nb)
                _mm512_mask_storeu_ps(dst + 16 * (v0 + b), m->store[v0 + b],
                                      dw_act_vec(acc[b], act));
    }
}

/* Lanes l of the 32 floats lo:hi from r on (lane l <- element r + l), only the lanes of m:
 * one valignd for a constant r. */
DW_INLINE __m512 dws_window(__mmask16 m, __m512 lo, __m512 hi, const int r)
{
    const __m512i a = _mm512_castps_si512(hi), b = _mm512_castps_si512(lo);
#define DWS_R(n) case n: return _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(m, a, b, n));
    switch (r) {
    DWS_R(1) DWS_R(2) DWS_R(3) DWS_R(4) DWS_R(5) DWS_R(6) DWS_R(7) DWS_R(8)
    DWS_R(9) DWS_R(10) DWS_R(11) DWS_R(12) DWS_R(13) DWS_R(14) DWS_R(15)
    default: return _mm512_maskz_mov_ps(m, lo);
    }
#undef DWS_R
}

/* A plane held in registers as vectors, DWS_PAD_VECS zero vectors each side: the floats
 * from flat offset off past the start of vector v are dws_window(vec[v + *shift],
 * vec[v + *shift + 1], *r). */
enum { DWS_PAD_VECS = 4 }; /* a 7x7 tap reaches 3 W + 3 < 64 floats */

DW_INLINE void dws_tap_split(int off, int *shift, int *r)
{
    *shift = off >= 0 ? off / 16 : -((15 - off) / 16); /* floor(off / 16) */
    *r = off - 16 * *shift;
}

/* Maps of at most DWS_FEW_VECS vectors (4x4, 5x5, 8x8): one channel gives too few
 * independent sums to hide the FMAs' latency (a 4x4 map is one chain of 9 dependent FMAs,
 * 4 cycles each, while two FMAs could start every cycle), so CH = DWS_ACCS / NV channels
 * run in lockstep, NV vectors each. Every output's sum keeps its order (bias, then the taps
 * row by row): the bits are those of dws_flat_channel. The weights are broadcast from
 * memory inside each FMA.
 *
 * Where the map's width W is known when compiling (4, 7, 8; 0: not known, w gives it),
 * each plane is loaded once and tap (ki, kj) of output vector v, the floats from
 * 16 v + (ki - K/2) W + kj - K/2 on, is two of its vectors (or the zeros around them)
 * joined by one valignd, under the mask of the load it replaces. Otherwise each tap is
 * loaded from memory: 9 loads per output vector for a 3x3, most of them across two cache
 * lines. The same values either way, so the same bits. */
enum { DWS_FEW_VECS = 4, DWS_ACCS = 8 };

DW_INLINE void dws_flat_lockstep(const float *src, const float *k, const float *bias,
                                 float *dst, const dws_masks *m, size_t npos, int w,
                                 const int K, const int NV, const int W, dc_act act)
{
    enum { CH_MAX = DWS_ACCS, SLOTS = DWS_FEW_VECS + 2 * DWS_PAD_VECS };
    const int CH = DWS_ACCS / NV, half = K / 2;
    __m512 plane[CH_MAX][SLOTS], acc[CH_MAX][DWS_FEW_VECS];
#pragma GCC unroll 8
    for (int c = 0; c < CH; c++) {
#pragma GCC unroll 12
        for (int j = 0; j < SLOTS && W > 0; j++)
            plane[c][j] = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            if (W > 0)
                plane[c][DWS_PAD_VECS + v] =
                    _mm512_maskz_loadu_ps(m->store[v], src + c * npos + 16 * v);
            acc[c][v] = _mm512_set1_ps(bias ? bias[c] : 0.0f);
        }
    }
#pragma GCC unroll 7
    for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 7
        for (int kj = 0; kj < K; kj++) {
            const int t = ki * K + kj;
            const long off = (long)(ki - half) * (W > 0 ? W : w) + (kj - half);
            int shift, r;
            dws_tap_split((int)off, &shift, &r);
#pragma GCC unroll 8
            for (int c = 0; c < CH; c++)
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    const int at = DWS_PAD_VECS + v + shift;
                    const __m512 x =
                        W > 0 ? dws_window(m->tap[v][t], plane[c][at], plane[c][at + 1], r)
                              : dws_load(m->tap[v][t], src + c * npos, off + 16L * v);
                    acc[c][v] = _mm512_fmadd_ps(_mm512_set1_ps(k[c * K * K + t]), x,
                                                acc[c][v]);
                }
        }
#pragma GCC unroll 8
    for (int c = 0; c < CH; c++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            _mm512_mask_storeu_ps(dst + c * npos + 16 * v, m->store[v],
                                  dw_act_vec(acc[c][v], act));
}

/* Rows of exactly 16 (16x16 maps and 16-wide strips): a row is one vector, and tap column
 * kj - K/2 is that vector moved by as many lanes, zeros shifted in (the padding). So each
 * input row is loaded once per output row that reads it and moved in registers, where the
 * flat code loads every tap from memory, most of them straddling two cache lines. */
DW_INLINE __m512 dws_shift(__m512 x, const int d) /* lane j <- x[j + d], 0 outside */
{
    const __m512 z = _mm512_setzero_ps();
    return d < 0 ? dws_window(0xFFFF, z, x, 16 + d) : dws_window(0xFFFF, x, z, d);
}

/* One channel of a map 16 wide, DWS_GROUP output rows at a time; the sum's order is the
 * flat code's (bias, then the taps row by row), so are the bits. */
DW_INLINE void dws_row16_channel(const float *src, const float *k, float bias, float *dst,
                                 int h, const int K, dc_act act)
{
    const int half = K / 2;
    for (int oy0 = 0; oy0 < h; oy0 += DWS_GROUP) {
        const int nb = h - oy0 < DWS_GROUP ? h - oy0 : DWS_GROUP;
        __m512 acc[DWS_GROUP];
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            acc[b] = _mm512_set1_ps(bias);
#pragma GCC unroll 7
        for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 4
            for (int b = 0; b < DWS_GROUP; b++) {
                const int iy = oy0 + b + ki - half;
                if (b >= nb || iy < 0 || iy >= h)
                    continue;
                const __m512 x = _mm512_loadu_ps(src + 16 * iy);
#pragma GCC unroll 7
                for (int kj = 0; kj < K; kj++)
                    acc[b] = _mm512_fmadd_ps(_mm512_set1_ps(k[ki * K + kj]),
                                             dws_shift(x, kj - half), acc[b]);
            }
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            if (b < nb)
                _mm512_storeu_ps(dst + 16 * (oy0 + b), dw_act_vec(acc[b], act));
    }
}

/* The register taps of dws_flat_lockstep for one channel of a plane of more vectors (14x14:
 * 13), DWS_GROUP output vectors at a time, the plane held in registers for all of them. */
enum { DWS_REGS_MAX_VECS = 13 };

DW_INLINE void dws_flat_regs_one(const float *src, const float *k, float bias, float *dst,
                                 const dws_masks *m, const int K, const int NV, const int W,
                                 dc_act act)
{
    enum { SLOTS = DWS_REGS_MAX_VECS + 2 * DWS_PAD_VECS };
    const int half = K / 2;
    __m512 plane[SLOTS];
#pragma GCC unroll 21
    for (int j = 0; j < SLOTS; j++)
        plane[j] = j >= DWS_PAD_VECS && j < DWS_PAD_VECS + NV
                       ? _mm512_maskz_loadu_ps(m->store[j - DWS_PAD_VECS],
                                               src + 16 * (j - DWS_PAD_VECS))
                       : _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int v0 = 0; v0 < NV; v0 += DWS_GROUP) {
        __m512 acc[DWS_GROUP];
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            acc[b] = _mm512_set1_ps(bias);
#pragma GCC unroll 7
        for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 7
            for (int kj = 0; kj < K; kj++) {
                int shift, r;
                dws_tap_split((ki - half) * W + (kj - half), &shift, &r);
#pragma GCC unroll 4
                for (int b = 0; b < DWS_GROUP; b++)
                    if (v0 + b < NV) {
                        const int at = DWS_PAD_VECS + v0 + b + shift;
                        acc[b] = _mm512_fmadd_ps(
                            _mm512_set1_ps(k[ki * K + kj]),
                            dws_window(m->tap[v0 + b][ki * K + kj], plane[at], plane[at + 1], r),
                            acc[b]);
                    }
            }
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            if (v0 + b < NV)
                _mm512_mask_storeu_ps(dst + 16 * (v0 + b), m->store[v0 + b],
                                      dw_act_vec(acc[b], act));
    }
}

DW_INLINE void dws_flat_body(const dc_conv_shape *s, const float *in, const float *weight,
                             const float *bias, dc_act act, float *out, int c_begin,
                             int c_end, const int K)
{
    const int npos = s->h * s->w, nvec = (npos + 15) / 16;
    if (s->w == 16 && nvec > DWS_FEW_VECS) {
        for (int c = c_begin; c < c_end; c++)
            dws_row16_channel(in + (size_t)c * npos, weight + (size_t)c * K * K,
                              bias ? bias[c] : 0.0f, out + (size_t)c * npos, s->h, K, act);
        dws_act_rest(out, (size_t)npos, c_begin, c_end, act);
        return;
    }
    dws_masks m;
    dws_masks_make(s->h, s->w, K, nvec, &m);
    if (s->w == 14 && s->h == 14 && K <= 5) { /* ImageNet's 14x14 stage (7x7 kernels stop
                                                 at 10x10: dc_dw_small_applies) */
        for (int c = c_begin; c < c_end; c++)
            dws_flat_regs_one(in + (size_t)c * npos, weight + (size_t)c * K * K,
                              bias ? bias[c] : 0.0f, out + (size_t)c * npos, &m, K, 13, 14,
                              act);
        dws_act_rest(out, (size_t)npos, c_begin, c_end, act);
        return;
    }
    int c = c_begin;
    if (nvec <= DWS_FEW_VECS && nvec != 3) { /* NV = 1, 2, 4: CH = 8, 4, 2 */
        const int CH = DWS_ACCS / nvec;
        for (; c + CH <= c_end; c += CH) {
            const float *src = in + (size_t)c * npos, *k = weight + (size_t)c * K * K,
                        *b = bias ? bias + c : NULL;
            float *dst = out + (size_t)c * npos;
            const size_t n = (size_t)npos;
            if (s->w == 4 && nvec == 1)
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 1, 4, act);
            else if (s->w == 8 && nvec == 4)
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 4, 8, act);
            else if (s->w == 7 && nvec == 4)
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 4, 7, act);
            else if (nvec == 1)
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 1, 0, act);
            else if (nvec == 2)
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 2, 0, act);
            else
                dws_flat_lockstep(src, k, b, dst, &m, n, s->w, K, 4, 0, act);
        }
    }
    for (; c < c_end; c++)
        dws_flat_channel(in + (size_t)c * npos, weight + (size_t)c * K * K,
                         bias ? bias[c] : 0.0f, out + (size_t)c * npos, &m, nvec, s->w, K,
                         act);
    dws_act_rest(out, (size_t)npos, c_begin, c_end, act);
}

static DW_TARGET void dws_flat_3(const dc_conv_shape *s, const float *in, const float *wt,
                                 const float *b, dc_act act, float *out, int c0, int c1)
{
    dws_flat_body(s, in, wt, b, act, out, c0, c1, 3);
}
static DW_TARGET void dws_flat_5(const dc_conv_shape *s, const float *in, const float *wt,
                                 const float *b, dc_act act, float *out, int c0, int c1)
{
    dws_flat_body(s, in, wt, b, act, out, c0, c1, 5);
}
static DW_TARGET void dws_flat_7(const dc_conv_shape *s, const float *in, const float *wt,
                                 const float *b, dc_act act, float *out, int c0, int c1)
{
    dws_flat_body(s, in, wt, b, act, out, c0, c1, 7);
}

/* ---- stride 2, rows of at most 16 outputs --------------------------------- */

/* A vector holds R output rows of at most 16 / R outputs: lanes [8 r, 8 r + ow) are row r
 * when R = 2. Its taps of row ki come from R input rows, each a window of 32 / R columns
 * (two vectors of one row, or one vector of each of two rows). */
typedef struct {
    __m512i idx[DWS_MAX_K];    /* lane i: the window column of tap kj, + 16 for row 1 */
    __mmask16 pick[DWS_MAX_K]; /* lanes of outputs whose column is >= 0 (else padding) */
    __mmask16 in_row;          /* lanes of a window vector inside the input row */
    __mmask16 hi;              /* R = 1: lanes of the window's second vector in the row */
    __mmask16 store;           /* lanes of outputs: ox < ow in each row */
} dws_perm;

static DW_TARGET void dws_perm_make(int w, int ow, int pw, int k, int R, dws_perm *p)
{
    const int span = 16 / R, window = DWS_WINDOW / R;
    __mmask16 store = 0;
    for (int kj = 0; kj < k; kj++) {
        int idx[16];
        __mmask16 pick = 0;
        for (int i = 0; i < 16; i++) {
            const int r = i / span, ox = i % span, col = 2 * ox + kj - pw;
            const bool used = ox < ow && col >= 0 && col < window;
            idx[i] = used ? col + 16 * r : 0;
            if (used)
                pick |= (__mmask16)(1u << i);
            if (ox < ow)
                store |= (__mmask16)(1u << i);
        }
        p->idx[kj] = _mm512_loadu_si512(idx);
        p->pick[kj] = pick;
    }
    p->in_row = dws_first(w);
    p->hi = dws_first(w - 16);
    p->store = store;
}

/* Stores the R output rows of acc starting at output row oy (rows past oh skipped). */
DW_INLINE void dws_store_rows(float *dst, int oy, int oh, int ow, const int R, __m512 acc,
                              __mmask16 store)
{
    if (R == 1 || (ow == 8 && oy + 1 < oh)) { /* one run of memory */
        _mm512_mask_storeu_ps(dst + (size_t)oy * ow, R == 1 ? store : (__mmask16)0xFFFF, acc);
        return;
    }
    _mm512_mask_storeu_ps(dst + (size_t)oy * ow, store & 0xFF, acc);
    if (oy + 1 < oh) /* lanes 8 .. 8 + ow land at row oy + 1: lane 0 at its column -8 */
        _mm512_mask_storeu_ps(
            (float *)((uintptr_t)dst + (uintptr_t)(((long)(oy + 1) * ow - 8) * (long)sizeof(float))),
            store & 0xFF00, acc);
}

/* One channel: its weights broadcast once, then DWS_GROUP vectors of R rows at a time. */
DW_INLINE void dws_rows_channel(const float *src, const float *k, float bias, float *dst,
                                const dws_perm *p, int h, int w, int oh, int ow, int pad_h,
                                const int K, const int R, dc_act act)
{
    __m512 wv[DWS_MAX_K * DWS_MAX_K];
    dws_broadcast(k, K, wv);
    for (int oy0 = 0; oy0 < oh; oy0 += DWS_GROUP * R) {
        const int nb = (oh - oy0 + R - 1) / R < DWS_GROUP ? (oh - oy0 + R - 1) / R : DWS_GROUP;
        __m512 acc[DWS_GROUP];
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            acc[b] = _mm512_set1_ps(bias);
#pragma GCC unroll 7
        for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 4
            for (int b = 0; b < DWS_GROUP; b++) {
                if (b >= nb)
                    continue;
                const int iy = 2 * (oy0 + R * b) - pad_h + ki; /* input row of row 0 */
                __m512 lo, hi;
                if (R == 1) {
                    if (iy < 0 || iy >= h)
                        continue;
                    const float *row = src + (size_t)iy * w;
                    lo = _mm512_maskz_loadu_ps(p->in_row, row);
                    hi = _mm512_maskz_loadu_ps(p->hi, row + (w > 16 ? 16 : 0));
                } else { /* row 1's input row is iy + 2 */
                    const bool in0 = iy >= 0 && iy < h, in1 = iy + 2 >= 0 && iy + 2 < h;
                    if (!in0 && !in1)
                        continue;
                    lo = _mm512_maskz_loadu_ps(in0 ? p->in_row : 0,
                                               src + (size_t)(in0 ? iy : 0) * w);
                    hi = _mm512_maskz_loadu_ps(in1 ? p->in_row : 0,
                                               src + (size_t)(in1 ? iy + 2 : 0) * w);
                }
#pragma GCC unroll 7
                for (int kj = 0; kj < K; kj++)
                    acc[b] = _mm512_fmadd_ps(
                        wv[ki * K + kj],
                        _mm512_maskz_permutex2var_ps(p->pick[kj], lo, p->idx[kj], hi), acc[b]);
            }
#pragma GCC unroll 4
        for (int b = 0; b < DWS_GROUP; b++)
            if (b < nb)
                dws_store_rows(dst, oy0 + R * b, oh, ow, R, dw_act_vec(acc[b], act),
                               p->store);
    }
}

/* As dws_rows_channel for CH = DWS_ACCS / NV channels in lockstep, each a whole plane of
 * NV vectors (NV <= DWS_FEW_VECS): the sums are independent, so their FMAs overlap (the
 * reason of dws_flat_lockstep), and each output's sum keeps its order, so the bits too. */
DW_INLINE void dws_rows_lockstep(const float *src, const float *k, const float *bias,
                                 float *dst, const dws_perm *p, int h, int w, int oh, int ow,
                                 int pad_h, size_t in_plane, size_t out_plane, const int K,
                                 const int R, const int NV, dc_act act)
{
    enum { CH_MAX = DWS_ACCS };
    const int CH = DWS_ACCS / NV;
    __m512 acc[CH_MAX][DWS_FEW_VECS];
#pragma GCC unroll 8
    for (int c = 0; c < CH; c++)
#pragma GCC unroll 4
        for (int b = 0; b < NV; b++)
            acc[c][b] = _mm512_set1_ps(bias ? bias[c] : 0.0f);
#pragma GCC unroll 7
    for (int ki = 0; ki < K; ki++)
#pragma GCC unroll 4
        for (int b = 0; b < NV; b++) {
            const int iy = 2 * R * b - pad_h + ki; /* input row of the vector's row 0 */
            const bool in0 = iy >= 0 && iy < h, in1 = R == 2 && iy + 2 >= 0 && iy + 2 < h;
            if (!in0 && !in1)
                continue;
            const __mmask16 m_lo = R == 1 ? p->in_row : in0 ? p->in_row : 0,
                            m_hi = R == 1 ? p->hi : in1 ? p->in_row : 0;
            const size_t off_lo = R == 1 ? (size_t)iy * w : (size_t)(in0 ? iy : 0) * w,
                         off_hi = R == 1 ? (size_t)iy * w + (w > 16 ? 16 : 0)
                                         : (size_t)(in1 ? iy + 2 : 0) * w;
#pragma GCC unroll 8
            for (int c = 0; c < CH; c++) {
                const float *plane = src + c * in_plane;
                const __m512 lo = _mm512_maskz_loadu_ps(m_lo, plane + off_lo);
                const __m512 hi = _mm512_maskz_loadu_ps(m_hi, plane + off_hi);
#pragma GCC unroll 7
                for (int kj = 0; kj < K; kj++)
                    acc[c][b] = _mm512_fmadd_ps(
                        _mm512_set1_ps(k[c * K * K + ki * K + kj]),
                        _mm512_maskz_permutex2var_ps(p->pick[kj], lo, p->idx[kj], hi),
                        acc[c][b]);
            }
        }
#pragma GCC unroll 8
    for (int c = 0; c < CH; c++)
#pragma GCC unroll 4
        for (int b = 0; b < NV; b++)
            if (R * b < oh)
                dws_store_rows(dst + c * out_plane, R * b, oh, ow, R,
                               dw_act_vec(acc[c][b], act), p->store);
}

/* Two rows a vector where they fit: ow <= 8 and a window of 16 columns suffices. */
static int dws_rows_per_vector(const dc_conv_shape *s)
{
    const int ow = dc_conv_out_w(s);
    return ow <= 8 && 2 * (ow - 1) + s->kw - 1 - s->pad_w < DWS_WINDOW / 2 ? 2 : 1;
}

DW_INLINE void dws_rows_body(const dc_conv_shape *s, const float *in, const float *weight,
                             const float *bias, dc_act act, float *out, int c_begin,
                             int c_end, const int K, const int R)
{
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    const size_t in_plane = (size_t)s->h * s->w, out_plane = (size_t)oh * ow;
    dws_perm p;
    dws_perm_make(s->w, ow, s->pad_w, K, R, &p);
    const int nvec = (oh + R - 1) / R;
    int c = c_begin;
    if (nvec <= DWS_FEW_VECS && nvec != 3) { /* NV = 1, 2, 4: CH = 8, 4, 2 */
        const int CH = DWS_ACCS / nvec;
        for (; c + CH <= c_end; c += CH) {
            const float *src = in + (size_t)c * in_plane, *k = weight + (size_t)c * K * K,
                        *b = bias ? bias + c : NULL;
            float *dst = out + (size_t)c * out_plane;
            if (nvec == 1)
                dws_rows_lockstep(src, k, b, dst, &p, s->h, s->w, oh, ow, s->pad_h, in_plane,
                                  out_plane, K, R, 1, act);
            else if (nvec == 2)
                dws_rows_lockstep(src, k, b, dst, &p, s->h, s->w, oh, ow, s->pad_h, in_plane,
                                  out_plane, K, R, 2, act);
            else
                dws_rows_lockstep(src, k, b, dst, &p, s->h, s->w, oh, ow, s->pad_h, in_plane,
                                  out_plane, K, R, 4, act);
        }
    }
    for (; c < c_end; c++)
        dws_rows_channel(in + (size_t)c * in_plane, weight + (size_t)c * K * K,
                         bias ? bias[c] : 0.0f, out + (size_t)c * out_plane, &p, s->h, s->w,
                         oh, ow, s->pad_h, K, R, act);
    dws_act_rest(out, out_plane, c_begin, c_end, act);
}

#define DWS_ROWS_INSTANCE(K, R)                                                              \
    static DW_TARGET void dws_rows_##K##_##R(const dc_conv_shape *s, const float *in,        \
                                             const float *wt, const float *b, dc_act act,    \
                                             float *out, int c0, int c1)                     \
    {                                                                                        \
        dws_rows_body(s, in, wt, b, act, out, c0, c1, K, R);                                 \
    }
DWS_ROWS_INSTANCE(3, 1)
DWS_ROWS_INSTANCE(3, 2)
DWS_ROWS_INSTANCE(5, 1)
DWS_ROWS_INSTANCE(5, 2)
DWS_ROWS_INSTANCE(7, 1)
DWS_ROWS_INSTANCE(7, 2)
#undef DWS_ROWS_INSTANCE

/* ---- entry ---------------------------------------------------------------- */

bool dc_dw_small_applies(const dc_conv_shape *s)
{
    const int k = s->kh;
    if (s->kw != k || (k != 3 && k != 5 && k != 7) || s->stride_h != s->stride_w ||
        s->pad_h < 0 || s->pad_w < 0 || s->h < 1 || s->w < 1)
        return false;
    const int oh = dc_conv_out_h(s), ow = dc_conv_out_w(s);
    if (oh < 1 || ow < 1)
        return false;
    if (s->stride_h == 1)
        return s->pad_h == k / 2 && s->pad_w == k / 2 &&
               (long)s->h * s->w <= (k == 7 ? DWS_MAX_PIXELS_7 : 16L * DWS_MAX_VECS);
    if (s->stride_h == 2)
        return ow <= 16 && 2 * (ow - 1) + k - 1 - s->pad_w < DWS_WINDOW;
    return false;
}

bool dc_dw_small_avx512(const dc_conv_shape *s, const float *in, const float *weight,
                        const float *bias, dc_act act, float *out, int c_begin, int c_end)
{
    if (!dc_dw_small_applies(s))
        return false;
    typedef void (*fn)(const dc_conv_shape *, const float *, const float *, const float *,
                       dc_act, float *, int, int);
    static const fn flat[] = { dws_flat_3, dws_flat_5, dws_flat_7 };
    static const fn rows[2][3] = { { dws_rows_3_1, dws_rows_5_1, dws_rows_7_1 },
                                   { dws_rows_3_2, dws_rows_5_2, dws_rows_7_2 } };
    const int which = (s->kh - 3) / 2;
    const fn f = s->stride_h == 1 ? flat[which] : rows[dws_rows_per_vector(s) - 1][which];
    f(s, in, weight, bias, act, out, c_begin, c_end);
    return true;
}

#endif /* DC_HAVE_X86_SIMD */
