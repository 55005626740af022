/*
 * activation.c — element-wise activations applied in place: torch.nn.ReLU and
 * torch.nn.ReLU6 (and the identity).
 */
#include "kernels.h"

#include "epilogue.h"

void dc_act_apply(dc_act act, float *x, size_t n)
{
    if (act == DC_ACT_NONE)
        return;
    dc_bias_act_row(x, n, 0.0f, act);
}
