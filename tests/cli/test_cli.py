#!/usr/bin/env python3
"""End-to-end checks of the `dualcnn` command line: help on every command, exit codes,
and clear messages for bad input (broken weight files, wrong NPY dtype or shape, bad
flags). Usage: test_cli.py DUALCNN_BINARY WORKDIR SOURCE_ROOT"""
import os
import subprocess
import sys

import h5py
import numpy as np

BIN, WORK, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(WORK, exist_ok=True)
failures = []


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def expect(name, args, code, *fragments):
    rc, out, err = run(*args)
    text = out + err
    ok = rc == code and all(f in text for f in fragments)
    check(name, ok, f"rc={rc}, wanted {code}; output: {text.strip()[:400]}")
    return text


def path(name):
    return os.path.join(WORK, name)


# --help everywhere, and usage errors
for cmd in ["models", "infer", "classify", "bench", "run", "predict", "threshold",
            "complementarity"]:
    expect(f"{cmd} --help", [cmd, "--help"], 0, "usage: dualcnn " + cmd)
    expect(f"{cmd} rejects an unknown flag", [cmd, "--no-such-flag"], 2, "--no-such-flag")
expect("top-level help", ["--help"], 0, "commands:", "infer")
expect("unknown command", ["frobnicate"], 2, "unknown command 'frobnicate'")
expect("infer without flags", ["infer"], 2, "--weights, --in and --out are required")
expect("bench bad batch", ["bench", "--model", "resnet20", "--batch", "0"], 2, "--batch")
expect("bench unknown model", ["bench", "--model", "resnet21"], 2, "resnet21")

# models lists all 59 names
text = expect("models", ["models"], 0, "resnet20", "swin_v2_s", "repvgg_a2")
rows = [line for line in text.splitlines()
        if line.endswith("implemented") and not line[0].isdigit()]
check("models lists 59 rows", len(rows) == 59, f"{len(rows)} rows")

# a good weight file to break
good = path("cli_resnet20.h5")
subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "export_weights.py"),
                "--arch", "resnet20", "--dataset", "cifar10", "--random", "--seed", "3",
                "--out", good], check=True, capture_output=True)
x = np.random.RandomState(0).randn(2, 3, 32, 32).astype(np.float32)
np.save(path("x.npy"), x)
expect("infer on a good file", ["infer", "-w", good, "-i", path("x.npy"), "-o", path("y.npy")], 0)
y = np.load(path("y.npy"))
check("infer writes N x classes float32", y.shape == (2, 10) and y.dtype == np.float32,
      str(y.shape))


def broken(name, mutate):
    p = path(name)
    with open(good, "rb") as src, open(p, "wb") as dst:
        dst.write(src.read())
    with h5py.File(p, "r+") as f:
        mutate(f)
    return p


def drop(f):
    del f["layer3/2/conv2/weight"]


def reshape(f):
    del f["fc/weight"]
    f["fc/weight"] = np.zeros((10, 32), np.float32)


def retype(f):
    w = f["conv1/weight"][()]
    del f["conv1/weight"]
    f["conv1/weight"] = w.astype(np.float64)


def rename_arch(f):
    f.attrs["arch"] = "resnet56"


for label, mutate, frags in [
        ("missing tensor", drop, ["layer3.2.conv2.weight", "missing"]),
        ("wrong shape", reshape, ["fc.weight", "[10, 32]", "[10, 64]"]),
        ("wrong dtype", retype, ["conv1.weight", "float64"]),
        ("wrong arch attribute", rename_arch, ["resnet56", "missing"])]:
    p = broken(label.replace(" ", "_") + ".h5", mutate)
    expect(f"infer refuses a weight file with a {label}",
           ["infer", "-w", p, "-i", path("x.npy"), "-o", path("y_bad.npy")], 1, p, *frags)
check("no output written for a broken file", not os.path.exists(path("y_bad.npy")))

with open(good, "rb") as f:
    data = f.read()
with open(path("truncated.h5"), "wb") as f:
    f.write(data[: len(data) // 2])
expect("infer refuses a truncated weight file",
       ["infer", "-w", path("truncated.h5"), "-i", path("x.npy"), "-o", path("y2.npy")], 1,
       path("truncated.h5"))
with open(path("text.h5"), "w") as f:
    f.write("hello\n")
expect("infer refuses a file that is not HDF5",
       ["infer", "-w", path("text.h5"), "-i", path("x.npy"), "-o", path("y2.npy")], 1,
       "not an HDF5 file")

# NPY input checks
np.save(path("x64.npy"), x.astype(np.float64))
expect("infer refuses float64 input",
       ["infer", "-w", good, "-i", path("x64.npy"), "-o", path("y2.npy")], 1, "float64")
np.save(path("x3d.npy"), x[0])
expect("infer refuses a 3-D input", ["infer", "-w", good, "-i", path("x3d.npy"), "-o",
                                     path("y2.npy")], 1, "N x C x H x W")
np.save(path("x28.npy"), np.zeros((1, 3, 28, 28), np.float32))
expect("infer refuses the wrong image size", ["infer", "-w", good, "-i", path("x28.npy"),
                                              "-o", path("y2.npy")], 1, "3x32x32")
expect("infer reports a missing input", ["infer", "-w", good, "-i", path("nope.npy"), "-o",
                                         path("y2.npy")], 1, "nope.npy")

# classify: top-5 with class names, on PNG and JPEG, any size
from PIL import Image  # noqa: E402 (python3-pil comes with python3-torchvision)
rgb = (np.random.RandomState(1).rand(40, 50, 3) * 255).astype(np.uint8)
Image.fromarray(rgb).save(path("a.png"))
Image.fromarray(rgb).save(path("b.jpg"), quality=95)
text = expect("classify a PNG and a JPEG", ["classify", "-w1", good, path("a.png"),
                                            path("b.jpg")], 0, "a.png (50x40)", "b.jpg (50x40)",
              "1. ", "5. ")
names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
check("classify prints class names", sum(text.count(n) for n in names) == 10, text)
expect("classify names a missing image", ["classify", "-w1", good, path("nope.png")], 1,
       "nope.png")
expect("classify names a file that is not an image", ["classify", "-w1", good,
                                                       path("text.h5")], 1, "not a PNG or JPEG")
expect("classify with -m1 and no weights there", ["classify", "-m1", "resnet20",
                                                  "--weights-dir", path("none"), path("a.png")],
       1, "none/cifar10/resnet20.h5")

# bench prints JSON that parses
rc, out, err = run("bench", "--model", "shufflenetv2_x0_5", "--repeats", "3", "--warmup", "1",
                   "--json")
try:
    import json
    j = json.loads(out)
    check("bench --json", rc == 0 and j["median_ms"] > 0 and j["model"] == "shufflenetv2_x0_5",
          out)
except ValueError:
    check("bench --json", False, out + err)

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
