#!/usr/bin/python3
"""Where do dualcnn and PyTorch part? Node by node, on the same input and weight file.

  compare_layers.py --dump DIR [--weights W.h5] [--threads N] [--quiet]

DIR is what `dualcnn infer --weights W.h5 --in X.npy --dump DIR` wrote: every node's output
(DIR/NNN_<node>.npy, float32 N x C x H x W) and DIR/index.json, which names for each node
the PyTorch module whose output it corresponds to (torch_module) and the activation fused
into the node after that module (torch_then): a conv with its BatchNorm folded in is the
BatchNorm module's output, a conv fused with the residual add after it is the block's.

This script builds the PyTorch model from the weight file (the one the index names, or
--weights: give the good file to locate a damaged one), the same way tools/reference.py
does, runs the dumped input (DIR/000_input.npy) through it with a forward hook on each
named module, and compares every node that has a counterpart, in node order, with the
parity tests' tolerance: max |ours - torch| <= 1e-4 * max(1, max |torch|). It prints one
line per compared node and then the first node where the two part, with the size of the
difference, or that all agree.

Channels-last outputs (the LayerNorms and Linears of ConvNeXt and Swin run on N x H x W x C
in PyTorch) are turned to N x C x H x W before the comparison. A module that runs more than
once in a forward pass (a shared ReLU) has no single output and is not compared.

Exit status: 0 when every compared node agrees, 1 when they part, 2 on a user error.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_weights import UserError  # noqa: E402
from reference import load_model  # noqa: E402

RTOL = 1e-4  # tests/parity/parity.py's

THEN = {
    None: lambda t: t,
    "relu": F.relu,
    "relu6": F.relu6,
    "sigmoid": torch.sigmoid,
    "silu": F.silu,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "gelu": F.gelu,
}


def read_index(directory):
    path = os.path.join(directory, "index.json")
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        raise UserError("%s: cannot read the dump's index: %s" % (path, e))
    if index.get("format_version") != 1 or "nodes" not in index:
        raise UserError("%s: not an index of `dualcnn infer --dump` (format 1)" % path)
    return index


def torch_outputs(model, x, names):
    """{module name: [outputs]} of the named modules on input x (copies: later in-place
    operations such as ReLU(inplace=True) would change the tensors the hooks saw)."""
    modules = dict(model.named_modules())
    seen = {name: [] for name in names}
    handles = []
    for name in names:
        if name not in modules:
            continue

        def hook(_module, _inputs, output, name=name):
            if isinstance(output, torch.Tensor):
                seen[name].append(output.detach().clone())

        handles.append(modules[name].register_forward_hook(hook))
    with torch.no_grad():
        model(torch.from_numpy(x))
    for h in handles:
        h.remove()
    return seen, modules


def as_nchw(t, shape):
    """t as N x C x H x W when it is the channels-last form of node shape (C, H, W)."""
    c, h, w = shape
    if t.dim() == 4 and tuple(t.shape[1:]) == (h, w, c) and (h, w, c) != (c, h, w):
        return t.permute(0, 3, 1, 2)
    return t


def compare_node(node, ours, outputs, modules):
    """(status, detail, max_diff, tol): status 'ok', 'differs' or 'skipped'."""
    name = node["torch_module"]
    if name not in modules:
        return "skipped", "no module %r in the PyTorch model" % name, None, None
    got = outputs.get(name, [])
    if len(got) != 1:
        return "skipped", "module %s ran %d times" % (name, len(got)), None, None
    ref = THEN[node.get("torch_then")](as_nchw(got[0], node["shape"])).numpy()
    n = ours.shape[0]
    if ref.size != ours.size:
        return ("differs", "shape: ours %s, torch %s" % (list(ours.shape), list(ref.shape)),
                float("inf"), 0.0)
    ref = ref.reshape(n, -1).astype(np.float64)
    mine = ours.reshape(n, -1).astype(np.float64)
    scale = max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
    tol = RTOL * scale
    diff = float(np.abs(mine - ref).max()) if ref.size else 0.0
    if not np.isfinite(mine).all():
        diff = float("inf")
    return ("ok" if diff <= tol else "differs"), "max |torch| %.4g" % scale, diff, tol


def describe(node):
    then = node.get("torch_then")
    return "%s%s" % (node["torch_module"], " then " + then if then else "")


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="compare_layers.py",
        description="Compare every node of a `dualcnn infer --dump` with the PyTorch "
                    "module it corresponds to; print the first node where they part.")
    p.add_argument("--dump", required=True, metavar="DIR", help="the folder --dump wrote")
    p.add_argument("--weights", metavar="W.h5",
                   help="weight file for PyTorch (default: the one the index names)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    p.add_argument("--quiet", action="store_true", help="only the summary line")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        index = read_index(args.dump)
        weights = args.weights or index["weights"]
        model, attrs = load_model(weights)
        if attrs["arch"] != index["arch"]:
            raise UserError("%s holds %s but the dump is of %s" % (weights, attrs["arch"],
                                                                   index["arch"]))
        nodes = index["nodes"]
        first = nodes[0]
        if first["op"] != "input" or not first.get("file"):
            raise UserError("%s: the dump has no input node file" % args.dump)
        x = np.load(os.path.join(args.dump, first["file"])).astype(np.float32)
        named = sorted({nd["torch_module"] for nd in nodes if nd.get("torch_module")})
        outputs, modules = torch_outputs(model, x, named)
        first_bad, compared, skipped = None, 0, 0
        for nd in nodes:
            if not nd.get("torch_module") or not nd.get("file"):
                continue
            ours = np.load(os.path.join(args.dump, nd["file"]))
            status, detail, diff, tol = compare_node(nd, ours, outputs, modules)
            if status == "skipped":
                skipped += 1
                if not args.quiet:
                    print("%4d  %-32s %-9s %-36s skipped: %s"
                          % (nd["id"], nd["name"], nd["op"], describe(nd), detail))
                continue
            compared += 1
            if not args.quiet:
                print("%4d  %-32s %-9s %-36s max |diff| %.3e  tol %.3e  %s"
                      % (nd["id"], nd["name"], nd["op"], describe(nd), diff, tol,
                         "ok" if status == "ok" else "DIFFERS (" + detail + ")"))
            if status == "differs" and first_bad is None:
                first_bad = (nd, diff, tol, detail)
    except UserError as e:
        print("compare_layers.py: %s" % e, file=sys.stderr)
        return 2
    unmapped = sum(1 for nd in nodes if nd.get("file") and not nd.get("torch_module"))
    print("%d nodes compared with PyTorch, %d skipped, %d without a PyTorch counterpart"
          % (compared, skipped, unmapped))
    if first_bad is None:
        print("all compared nodes agree within the tolerance (1e-4 * max(1, max |torch|))")
        return 0
    nd, diff, tol, detail = first_bad
    print("first difference at node %d (%s, %s; torch: %s): max |diff| %.4g > tolerance %.3g; %s"
          % (nd["id"], nd["name"], nd["op"], describe(nd), diff, tol, detail))
    return 1


if __name__ == "__main__":
    sys.exit(main())
