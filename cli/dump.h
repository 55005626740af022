/*
 * dump.h — `dualcnn infer --dump DIR`: every node's output of one forward pass written as
 * DIR/NNN_<node name>.npy (float32, N x C x H x W), and DIR/index.json naming, per node,
 * its id, name, op, output shape, MACs, inputs, file, and the PyTorch module its output
 * corresponds to (tools/compare_layers.py runs the PyTorch model with forward hooks on
 * those modules and finds the first node where the two part; docs/inside-a-net.md).
 */
#ifndef DC_CLI_DUMP_H
#define DC_CLI_DUMP_H

#include "dualcnn.h"

/* Runs net (planned for at least n samples) on the n samples of x, writing the dump into
 * dir (created when missing) and the logits into logits (n x classes). weights is the
 * weight file's path, recorded in the index. */
dc_status cli_dump_forward(dc_net *net, const char *weights, const float *x, int n,
                           float *logits, const char *dir, dc_error *err);

#endif /* DC_CLI_DUMP_H */
