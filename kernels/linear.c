/*
 * linear.c — fully connected layer over a batch, torch.nn.Linear:
 *   y[n][o] = act(sum_i x[n][i] * w[o][i] + b[o]),   i.e. Y = X W^T + b,
 * with w in PyTorch's [out_features][in_features] layout, so the GEMM reads it transposed.
 */
#include "kernels.h"

#include <cblas.h>

#include "epilogue.h"

void dc_linear_range(int n, int in_features, int out_features, int o0, int o1,
                     const float *x, const float *w, const float *b, dc_act act, float *y)
{
    const int cols = o1 - o0;
    if (n <= 0 || cols <= 0)
        return;
    const float *wr = w + (size_t)o0 * in_features;
    if (n == 1) {
        /* One sample: y = W x, a matrix-vector product. */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, cols, in_features, 1.0f, wr, in_features,
                    x, 1, 0.0f, y + o0, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, cols, in_features, 1.0f, x,
                    in_features, wr, in_features, 0.0f, y + o0, out_features);
    }
    if (b == NULL && act == DC_ACT_NONE)
        return;
    for (int r = 0; r < n; r++) {
        float *row = y + (size_t)r * out_features + o0;
        if (b != NULL)
            dc_bias_vec_act_row(row, b + o0, (size_t)cols, act);
        else
            dc_bias_act_row(row, (size_t)cols, 0.0f, act);
    }
}

void dc_linear(int n, int in_features, int out_features, const float *x, const float *w,
               const float *b, dc_act act, float *y)
{
    dc_linear_range(n, in_features, out_features, 0, out_features, x, w, b, act, y);
}
