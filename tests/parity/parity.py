#!/usr/bin/python3
"""Parity test of one architecture: the C engine's logits against PyTorch's.

  parity.py --dualcnn PATH --arch NAME --workdir DIR [--batch 3] [--seed 0] [--threads N]

Steps, with every file under DIR/<arch>/:
  1. tools/export_weights.py --random --seed S  -> weights.h5 (random weights, BN statistics
     that are far from the identity);
  2. a seeded N(0, 1) float32 batch N x C x H x W (C, H, W from the weight file) -> input.npy;
  3. tools/reference.py (PyTorch)                -> reference.npy;
  4. <dualcnn> infer --weights weights.h5 --in input.npy --out output.npy [--threads N];
  5. compare: PASS iff max |output - reference| <= 1e-4 * max(1, max |reference|) and the
     argmax agrees for every input.

Exit status: 0 PASS, 1 FAIL (including a binary that fails, crashes or writes nothing/garbage).
On PASS the weight file (up to ~100 MB) is deleted unless --keep; on FAIL everything is kept.
"""

import argparse
import os
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402

TOOLS = dctest.TOOLS
RTOL = 1e-4


def fail(message):
    print("FAIL: %s" % message)
    sys.exit(1)


def run(cmd, what, timeout):
    """Run cmd; on a non-zero exit, a timeout or a crash, print its output and FAIL."""
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout)
    except FileNotFoundError:
        fail("%s: cannot execute %s (no such file)" % (what, cmd[0]))
    except PermissionError:
        fail("%s: cannot execute %s (permission denied)" % (what, cmd[0]))
    except subprocess.TimeoutExpired:
        fail("%s: did not finish within %d s" % (what, timeout))
    out = proc.stdout.decode("utf-8", "replace").rstrip()
    if out:
        print(out)
    if proc.returncode != 0:
        how = ("killed by signal %d" % -proc.returncode if proc.returncode < 0
               else "exit status %d" % proc.returncode)
        fail("%s failed (%s)" % (what, how))
    print("  (%s took %.2f s)" % (what, time.monotonic() - t0), flush=True)


def load_output(path, want_shape, what):
    """The logits written by `what`, checked for existence, format, shape and finiteness."""
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        fail("%s exited 0 but wrote nothing to %s" % (what, path))
    try:
        y = np.load(path, allow_pickle=False)
    except Exception as e:  # numpy raises ValueError, OSError, EOFError... on a bad file
        fail("%s wrote %s, which is not a readable .npy file (%s)" % (what, path, e))
    if y.dtype != np.float32:
        fail("%s wrote dtype %s to %s, expected float32" % (what, y.dtype, path))
    if y.shape != want_shape:
        fail("%s wrote shape %s to %s, expected %s" % (what, y.shape, path, want_shape))
    if not np.all(np.isfinite(y)):
        fail("%s wrote non-finite values (NaN or Inf) to %s" % (what, path))
    return y


def compare(ref, out):
    """(passed, report lines) for the parity criterion on two [N, classes] arrays."""
    scale = max(1.0, float(np.abs(ref).max()))
    tol = RTOL * scale
    diff = np.abs(out.astype(np.float64) - ref.astype(np.float64))
    max_diff = float(diff.max())
    ref_top, out_top = ref.argmax(axis=1), out.argmax(axis=1)
    same_top = ref_top == out_top
    top2 = np.sort(ref, axis=1)
    gap = float((top2[:, -1] - top2[:, -2]).min()) if ref.shape[1] > 1 else float("inf")
    lines = [
        "max |ref logit| %.6g   max |diff| %.3e   tolerance %.3e (%.1e * max(1, max |ref|))"
        % (float(np.abs(ref).max()), max_diff, tol, RTOL),
        "argmax equal for %d/%d inputs   smallest reference top-2 gap %.3e   "
        "reference spread over inputs %.3e"
        % (int(same_top.sum()), len(same_top), gap, float(ref.std(axis=0).mean())),
    ]
    passed = max_diff <= tol and bool(same_top.all())
    if not passed:
        for i in range(ref.shape[0]):
            lines.append("  input %d: max |diff| %.3e at class %d   argmax ref %d, dualcnn %d%s"
                         % (i, float(diff[i].max()), int(diff[i].argmax()), int(ref_top[i]),
                            int(out_top[i]), "" if same_top[i] else "   <- differs"))
    return passed, lines


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="parity.py",
        description="Compare `dualcnn infer` with PyTorch on random weights for one "
                    "architecture (exit 0 PASS, 1 FAIL).")
    p.add_argument("--dualcnn", required=True, metavar="PATH", help="the dualcnn executable")
    p.add_argument("--arch", required=True, help="architecture name, e.g. resnet20")
    p.add_argument("--workdir", required=True, metavar="DIR",
                   help="work files go under DIR/<arch>/")
    p.add_argument("--batch", type=int, default=3, help="inputs in the batch (default: 3)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the weights and of the inputs (default: 0)")
    p.add_argument("--threads", type=int,
                   help="passed to `dualcnn infer --threads` (default: the engine's own)")
    p.add_argument("--timeout", type=int, default=500,
                   help="seconds allowed to each step (default: 500)")
    p.add_argument("--keep", action="store_true", help="keep the weight file after a PASS")
    args = p.parse_args(argv)
    if args.batch < 1:
        p.error("--batch must be at least 1")

    binary = os.path.abspath(args.dualcnn)
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        fail("%s is not an executable file" % args.dualcnn)
    work = os.path.join(os.path.abspath(args.workdir), args.arch)
    os.makedirs(work, exist_ok=True)
    weights = os.path.join(work, "weights.h5")
    x_path = os.path.join(work, "input.npy")
    ref_path = os.path.join(work, "reference.npy")
    out_path = os.path.join(work, "output.npy")
    for path in (weights, ref_path, out_path):   # never compare against a stale file
        if os.path.exists(path):
            os.remove(path)

    print("parity %s: batch %d, seed %d, work dir %s" % (args.arch, args.batch, args.seed, work))
    python = sys.executable or "/usr/bin/python3"
    sys.path.insert(0, TOOLS)
    import cifar_models  # noqa: E402 (the CIFAR-10 names; anything else is torchvision's)
    dataset = "cifar10" if args.arch in cifar_models.ARCHS else "imagenet"
    run([python, os.path.join(TOOLS, "export_weights.py"), "--arch", args.arch,
         "--dataset", dataset, "--random", "--seed", str(args.seed), "--out", weights],
        "export_weights.py", args.timeout)
    with h5py.File(weights, "r") as f:
        input_size = tuple(int(v) for v in f.attrs["input_size"])
        num_classes = int(f.attrs["num_classes"])
    x = np.random.default_rng(args.seed).standard_normal(
        (args.batch,) + input_size).astype(np.float32)
    np.save(x_path, x)

    run([python, os.path.join(TOOLS, "reference.py"), "--weights", weights, "--in", x_path,
         "--out", ref_path], "reference.py", args.timeout)
    ref = load_output(ref_path, (args.batch, num_classes), "reference.py")

    cmd = [binary, "infer", "--weights", weights, "--in", x_path, "--out", out_path]
    if args.threads is not None:
        cmd += ["--threads", str(args.threads)]
    run(cmd, "dualcnn infer", args.timeout)
    out = load_output(out_path, (args.batch, num_classes), "dualcnn infer")

    passed, lines = compare(ref, out)
    print("%s: %s" % (args.arch, lines[0]))
    for line in lines[1:]:
        print("%s: %s" % (args.arch, line) if not line.startswith("  ") else line)
    if passed:
        if not args.keep:
            os.remove(weights)
        print("PASS %s" % args.arch)
        return 0
    print("FAIL %s (files kept in %s)" % (args.arch, work))
    return 1


if __name__ == "__main__":
    sys.exit(main())
