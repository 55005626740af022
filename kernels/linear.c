/*
 * linear.c — fully connected layer over a batch, torch.nn.Linear:
 *   y[n][o] = act(sum_i x[n][i] * w[o][i] + b[o]),   i.e. Y = X W^T + b,
 * with w in PyTorch's [out_features][in_features] layout, so the GEMM reads it transposed.
 */
#include "kernels.h"

#include <cblas.h>

#include "epilogue.h"

void dc_linear(int n, int in_features, int out_features, const float *x, const float *w,
               const float *b, dc_act act, float *y)
{
    if (n <= 0 || out_features <= 0)
        return;
    if (n == 1) {
        /* One sample: y = W x, a matrix-vector product. */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, out_features, in_features, 1.0f, w,
                    in_features, x, 1, 0.0f, y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_features, in_features,
                    1.0f, x, in_features, w, in_features, 0.0f, y, out_features);
    }
    if (b == NULL && act == DC_ACT_NONE)
        return;
    for (int r = 0; r < n; r++) {
        float *row = y + (size_t)r * out_features;
        if (b != NULL)
            dc_bias_vec_act_row(row, b, (size_t)out_features, act);
        else
            dc_bias_act_row(row, (size_t)out_features, 0.0f, act);
    }
}
