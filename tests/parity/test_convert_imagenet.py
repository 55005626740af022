#!/usr/bin/python3
"""tools/export_weights.py on torchvision checkpoints: the way an official .pth is converted.

For a few ImageNet architectures (one per kind of key layout: plain CNN, auxiliary heads
with transform_input, SE blocks, window attention), a torchvision model is built with
random weights, its state_dict saved with torch.save as a .pth file (as
download.pytorch.org serves them), converted with --checkpoint, and run by `dualcnn infer`;
the logits must equal those of the torch model itself (not of tools/reference.py, so the
check does not go through our own HDF5 reader): max |diff| <= 1e-4 * max(1, max |logit|).
Usage: test_convert_imagenet.py DUALCNN WORKDIR"""
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, _ = dctest.args(clean=True)
EXPORT = os.path.join(dctest.TOOLS, "export_weights.py")
torch.set_num_threads(1)


# (arch, input side, torchvision constructor arguments as the official weights load them)
CASES = [
    ("resnet18", 224, {}),
    ("googlenet", 224, {"aux_logits": True, "transform_input": True, "init_weights": True}),
    ("mobilenet_v3_small", 224, {}),
    ("inception_v3", 299, {"aux_logits": True, "transform_input": True, "init_weights": True}),
    ("swin_t", 224, {}),
    ("swin_v2_t", 256, {}),
]

for arch, side, kwargs in CASES:
    torch.manual_seed(1)
    model = torchvision.models.get_model(arch, weights=None, **kwargs)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():  # BatchNorm statistics measured on random inputs, then perturbed
        for m in bns:
            m.momentum = None
        model.train()
        model(torch.randn(2, 3, side, side))
        model.eval()
        for m in bns:
            m.running_mean.add_(torch.randn_like(m.running_mean) * 0.1)
            m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.7, 1.4))
    pth = os.path.join(WORK, arch + ".pth")
    torch.save(model.state_dict(), pth)
    h5 = os.path.join(WORK, arch + ".h5")
    p = dctest.run([dctest.PY, EXPORT, "--arch", arch, "--dataset", "imagenet", "--checkpoint",
                    pth, "--out", h5])
    check(f"{arch}: export_weights.py converts the .pth", p.returncode == 0,
          p.stdout + p.stderr)
    if p.returncode != 0:
        continue
    if arch in ("googlenet", "inception_v3"):
        check(f"{arch}: the export says it dropped the auxiliary heads",
              "aux" in (p.stdout + p.stderr).lower(), p.stdout + p.stderr)
    x = np.random.RandomState(0).randn(1, 3, side, side).astype(np.float32)
    np.save(os.path.join(WORK, "x.npy"), x)
    out = os.path.join(WORK, arch + "-out.npy")
    p = dctest.dualcnn("infer", "--weights", h5, "--in", os.path.join(WORK, "x.npy"), "--out",
                       out, "--threads", "1")
    check(f"{arch}: dualcnn infer runs", p.returncode == 0, p.stderr)
    if p.returncode != 0:
        continue
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    got = np.load(out)
    diff = float(np.abs(got - want).max())
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    check(f"{arch}: logits equal torchvision's (max |diff| {diff:.2g}, tolerance {tol:.2g})",
          diff <= tol and got.argmax() == want.argmax(), f"{diff}")
    os.remove(h5)
    os.remove(pth)

dctest.finish()
