#!/usr/bin/env python3
"""Real-data regression test of the shipped FashionMNIST models (weights/fashionmnist/).

For every weight file: the engine (`dualcnn predict`) classifies the first 2,000 test
images and must reach the accuracy PyTorch measured on the same images when
tools/train.py trained the model (attribute test_accuracy_first_2000), within two images;
the recorded test accuracy must be 91% or more. At least six architectures are shipped, the
largest file records 93% or more, and the folder stays under 60 MB.
Then tools/demo.py runs its three steps on a small slice.
Skips (exit 77) when the dataset package is not installed.
Usage: test_shipped.py DUALCNN WORKDIR SOURCE_ROOT"""
import glob
import os
import sys

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
DATA = "/usr/share/datasets/fashion-mnist"
N_FIRST = 2000


def text(value):
    """HDF5 string attributes come back as str or bytes, depending on how they were written."""
    return value.decode() if isinstance(value, bytes) else str(value)


if not glob.glob(os.path.join(DATA, "t10k-images-idx3-ubyte*")):
    dctest.skip_all(f"{DATA} has no FashionMNIST (apt-get install dataset-fashion-mnist)")

files = sorted(glob.glob(os.path.join(ROOT, "weights", "fashionmnist", "*.h5")))
archs = []
for path in files:
    with h5py.File(path, "r") as f:
        archs.append(text(f.attrs["arch"]))
# issue 5: six architectures of different sizes, the largest (by file size) at 93% or more
check("at least six shipped architectures", len(set(archs)) >= 6, f"{sorted(set(archs))}")
largest = max(files, key=os.path.getsize)
with h5py.File(largest, "r") as f:
    largest_acc = float(f.attrs.get("test_accuracy", 0))
check(f"the largest file ({os.path.basename(largest)}) records 93% or more",
      largest_acc >= 0.93, f"{largest_acc:.4f}")
total = sum(os.path.getsize(f) for f in files)
check("weights/fashionmnist under 60 MB", total < 60e6, f"{total / 1e6:.1f} MB")

for path in files:
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
    arch = text(attrs["arch"])
    name = os.path.basename(path)
    check(f"{name}: dataset attribute is fashionmnist",
          text(attrs.get("dataset", "")) == "fashionmnist", repr(attrs.get("dataset")))
    check(f"{name}: recorded test accuracy >= 91%", float(attrs.get("test_accuracy", 0)) >= 0.91,
          repr(attrs.get("test_accuracy")))
    recorded = attrs.get("test_accuracy_first_2000")
    if recorded is None:
        check(f"{name}: has test_accuracy_first_2000", False, "attribute missing")
        continue
    p = dctest.dualcnn("predict", "-m", arch, "-w", path, "-v", DATA, "-D", "fashionmnist",
                       "--limit", str(N_FIRST), "--cache", os.path.join(WORK, "cache"), "-q")
    if p.returncode != 0:
        check(f"{name}: dualcnn predict runs", False, p.stderr.strip())
        continue
    # "<arch>: 2000 samples, accuracy 0.9215, 40.813 MMACs per image"
    line = [ln for ln in p.stdout.splitlines() if " samples, accuracy " in ln]
    engine = float(line[0].split("accuracy ")[1].split(",")[0]) if line else -1.0
    check(f"{name}: engine accuracy on the first {N_FIRST} test images ({engine:.4f}) "
          f"equals PyTorch's ({float(recorded):.4f}) within 2 images",
          abs(engine - float(recorded)) * N_FIRST <= 2.0 + 1e-9, p.stdout.strip())

# the demo's three steps on a small slice: it must end with the side-by-side table
if len(files) >= 2:
    p = dctest.run([dctest.PY, os.path.join(ROOT, "tools", "demo.py"), "--dualcnn", BIN,
                    "--weights-dir", os.path.join(ROOT, "weights"), "--work",
                    os.path.join(WORK, "demo"), "--val-limit", "300", "--test-limit", "150",
                    "--singles", "best", "--markdown", os.path.join(WORK, "demo.md")],
                   timeout=900)
    check("tools/demo.py on a small slice exits 0", p.returncode == 0, p.stderr.strip())
    table = open(os.path.join(WORK, "demo.md")).read() if p.returncode == 0 else ""
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "accuracy" not in ln]
    # rows: the single model, single + memory, the cascade at one or two operating points
    check("the demo's table has the single model, single + memory and the cascade",
          len(rows) in (3, 4) and " + memory |" in rows[1]
          and all(r.startswith("| cascade ") for r in rows[2:]), table)
    check("the demo names the saving and the paper's claim",
          "fewer MACs per image" in p.stdout and "85.8%" in p.stdout, p.stdout[-800:])

dctest.finish()
