#!/usr/bin/python3
"""Check tools/cifar_models.py against logits that chenyaofo/pytorch-cifar-models computes.

tests/parity/data/chenyaofo_logits.npz holds, for each of the 19 CIFAR-10 architectures, the
logits upstream's own code gave on a stored input batch, with weights from a seeded fill
rule, and upstream's state_dict listing (tools/gen_chenyaofo_logits.py made it; its meta
entry records the upstream commit, the seed and the rule). Upstream is not needed here: for
each architecture this builds tools/cifar_models.py's model, requires its state_dict to list
the same names and shapes in the same order, fills it by the same rule (the functions of the
generator), runs the stored input in eval mode and requires
    max |logit - upstream logit| <= 1e-4 * max(1, max |upstream logit|).
A mistake shared by our Python model and the C engine (an activation in the wrong place, a
missing residual or branch, the shuffle's direction) passes the parity tests but fails here.

Run with Debian's interpreter: /usr/bin/python3 tests/parity/check_chenyaofo_logits.py [DATA]
Exit status 0 when all 19 match, 1 otherwise (a missing or incomplete data file included).
"""

import json
import os
import sys
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import dctest  # noqa: E402

sys.path.insert(0, dctest.TOOLS)
import cifar_models  # noqa: E402
import gen_chenyaofo_logits as gen  # noqa: E402

DEFAULT_DATA = os.path.join(HERE, "data", "chenyaofo_logits.npz")
RTOL = 1e-4


def first_difference(ours, theirs):
    """A line naming where two key listings first differ."""
    a, b = ours.split("\n"), theirs.split("\n")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "entry %d: ours %r, upstream %r" % (i, x, y)
    return "ours has %d entries, upstream %d" % (len(a), len(b))


def check_arch(arch, data, seed, x):
    """Compare one architecture; returns (max abs diff or None, tolerance, problems)."""
    want = data["logits/" + arch]
    theirs = str(data["keys/" + arch])
    tol = RTOL * max(1.0, float(np.abs(want).max()))
    model = cifar_models.build(arch)
    ours = gen.key_listing(model)
    if ours != theirs:
        return None, tol, ["state_dict differs from upstream's: " + first_difference(ours, theirs)]
    names = gen.bn_names([(k, t.shape) for k, t in model.state_dict().items()])
    scales = data["bn_scale/" + arch]
    if len(scales) != len(names):
        return None, tol, ["%d BatchNorm scales stored, the model has %d BatchNorms"
                           % (len(scales), len(names))]
    gen.fill_state_dict(model, seed, dict(zip(names, scales.tolist())))
    got = gen.run(model, x)
    if got.shape != want.shape:
        return None, tol, ["logits of shape %s, upstream %s" % (got.shape, want.shape)]
    diff = float(np.abs(got - want).max())
    problems = []
    if not diff <= tol:   # also catches NaN
        problems.append("max |diff| %.3g > %.3g" % (diff, tol))
    if not np.array_equal(got.argmax(1), want.argmax(1)):
        problems.append("argmax %s, upstream %s" % (got.argmax(1).tolist(),
                                                    want.argmax(1).tolist()))
    return diff, tol, problems


def main(argv):
    path = argv[1] if len(argv) > 1 else DEFAULT_DATA
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(str(data["meta"]))
        x = data["input"]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        print("FAIL: cannot read %s: %s (make it with tools/gen_chenyaofo_logits.py)" % (path, e))
        return 1
    print("%s: upstream %s at %s, torch %s, seed %d"
          % (os.path.relpath(path), meta["upstream"], meta["upstream_commit"], meta["torch"],
             meta["seed"]))

    failures = []
    if sorted(meta["archs"]) != sorted(cifar_models.ARCHS):
        failures.append("the data file covers %s, tools/cifar_models.py builds %s"
                        % (meta["archs"], cifar_models.ARCHS))
    print("%-18s %10s %10s %10s  %s" % ("arch", "max|logit|", "max|diff|", "tolerance", "result"))
    checked = 0
    for arch in cifar_models.ARCHS:
        absent = [m + arch for m in ("logits/", "keys/", "bn_scale/") if m + arch not in data.files]
        if absent:
            failures.append("%s: %s not in %s" % (arch, ", ".join(absent), path))
            print("%-18s %10s %10s %10s  FAIL (missing)" % (arch, "-", "-", "-"))
            continue
        diff, tol, problems = check_arch(arch, data, meta["seed"], x)
        checked += 1
        print("%-18s %10.4g %10s %10.3g  %s"
              % (arch, float(np.abs(data["logits/" + arch]).max()),
                 "-" if diff is None else "%.3g" % diff, tol, "FAIL" if problems else "ok"))
        failures += ["%s: %s" % (arch, p) for p in problems]

    if dctest.mismatches(failures):
        return 1
    if checked != len(cifar_models.ARCHS):   # a filter that dropped everything
        print("FAIL: checked %d of %d architectures" % (checked, len(cifar_models.ARCHS)))
        return 1
    print("\nall %d architectures reproduce upstream's logits" % checked)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
