#!/usr/bin/python3
"""Reference logits from PyTorch for a dualcnn weight file: what the C engine must reproduce.

  reference.py --weights W.h5 --in X.npy --out Y.npy [--threads N]

Reads the weight file (its 'arch' and 'dataset' attributes pick the model, see
export_weights.build_model: the 19 CIFAR architectures of tools/cifar_models.py, or
torchvision's), loads it strictly, and runs the float32 NCHW batch in X.npy in eval mode
without gradients. googlenet and inception_v3 are built without their auxiliary classifiers
(the files have none) and with the file's transform_input attribute (0 when absent).
Writes float32 logits [N, num_classes] to Y.npy. The input is used as given: it must already
be preprocessed (normalised) the way the model expects. Same contract as `dualcnn infer`.

Exit status: 0 on success, 2 on a user error (missing or malformed file, wrong input shape).
"""

import argparse
import collections
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_weights import UserError, build_model  # noqa: E402
from weights_h5 import read_weights  # noqa: E402


def load_model(path):
    """Model of the weight file at path, weights loaded strictly, in eval mode; and its attrs."""
    if not os.path.isfile(path):
        raise UserError("%s: no such file" % path)
    try:
        state_dict, attrs = read_weights(path)
    except (OSError, ValueError) as e:
        raise UserError("%s: cannot read weight file: %s" % (path, e))
    for name in ("arch", "num_classes", "input_size"):
        if name not in attrs:
            raise UserError("%s: missing root attribute %r" % (path, name))
    model = build_model(attrs["arch"], attrs.get("dataset", "cifar10"), int(attrs["num_classes"]),
                        aux_logits=False, transform_input=int(attrs.get("transform_input", 0)))
    # The file drops num_batches_tracked; a strict load wants them back (unused in eval).
    own = model.state_dict()
    for key, value in own.items():
        if key.endswith("num_batches_tracked"):
            state_dict[key] = torch.zeros_like(value)
    # Modules that check the version their state_dict was saved with (MNASNet) read it from
    # _metadata, which an HDF5 file does not keep: the file was written from this same
    # model definition, so give it the model's own.
    state_dict = collections.OrderedDict(state_dict)
    state_dict._metadata = getattr(own, "_metadata", None)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise UserError("%s does not match %s: %s" % (path, attrs["arch"], e))
    return model.eval(), attrs


def run(model, x, batch=64):
    """Logits of the float32 NCHW array x, computed in chunks of at most batch inputs."""
    outputs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            outputs.append(model(torch.from_numpy(x[i:i + batch])).numpy())
    return np.concatenate(outputs).astype(np.float32)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="reference.py",
        description="Compute reference logits with PyTorch for a dualcnn weight file "
                    "(float32 NCHW .npy in, float32 [N, num_classes] .npy out).")
    p.add_argument("--weights", required=True, metavar="W.h5", help="dualcnn weight file")
    p.add_argument("--in", dest="inp", required=True, metavar="X.npy",
                   help="float32 input batch, N x C x H x W, already normalised")
    p.add_argument("--out", required=True, metavar="Y.npy", help="where to write the logits")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    try:
        model, attrs = load_model(args.weights)
        try:
            x = np.load(args.inp, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise UserError("%s: cannot read as .npy: %s" % (args.inp, e))
        want = tuple(int(v) for v in attrs["input_size"])
        if x.ndim != 4 or tuple(x.shape[1:]) != want or x.shape[0] == 0:
            raise UserError("%s: shape %s, expected N x %d x %d x %d"
                            % (args.inp, list(x.shape), *want))
        if x.dtype != np.float32:
            raise UserError("%s: dtype %s, expected float32" % (args.inp, x.dtype))
        y = run(model, np.ascontiguousarray(x))
        try:
            with open(args.out, "wb") as f:   # np.save(name) would append ".npy"
                np.save(f, y)
        except OSError as e:
            raise UserError("%s: cannot write: %s" % (args.out, e))
    except UserError as e:
        print("reference.py: error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
