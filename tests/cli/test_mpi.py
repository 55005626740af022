#!/usr/bin/env python3
"""The prediction sweep over MPI ranks (cli/sweep.c, docs/scale.md), on the shipped
FashionMNIST models and Debian's dataset-fashion-mnist.

1. `mpirun -n 3 dualcnn predict -M <the six models>` (500 images) writes cache files whose datasets and
   attributes equal, value for value and bit for bit, those of a single-process run.
2. `complementarity` under mpirun prints what a single process prints.
3. One rank killed mid-way: the job fails, the error names the rank, and no cache file (nor
   a temporary one) is left; a rerun then completes.
4. Weights that cannot be read: the job fails naming the rank, the host and the file, and no
   cache file is left.

Usage: test_mpi.py DUALCNN_BINARY WORKDIR SOURCE_ROOT"""
import glob
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, ROOT = dctest.args()
DATA = "/usr/share/datasets/fashion-mnist"
WEIGHTS = os.path.join(ROOT, "weights")
MODELS = ",".join(os.path.basename(f)[:-3] for f in
                  sorted(glob.glob(os.path.join(WEIGHTS, "fashionmnist", "*.h5"))))
MPIRUN = ["mpirun", "--oversubscribe", "-n", "3"]
if os.geteuid() == 0:
    MPIRUN.insert(1, "--allow-run-as-root")
# the ranks of one machine talk through shared memory; no network interface is needed
ENV = dict(os.environ, OMPI_MCA_btl="self,vader", OMPI_MCA_plm_rsh_agent="")


def fresh(name):
    return dctest.fresh_dir(name, create=False)  # predict makes it


def predict_args(cache, limit, models=MODELS, weights_dir=WEIGHTS):
    return ["predict", "-M", models, "-v", DATA, "-D", "fashionmnist", "--weights-dir",
            weights_dir, "--limit", str(limit), "--batch", "64", "--threads", "1", "--logits",
            "--cache", cache]


def run(args, timeout=600):
    p = dctest.run(args, timeout=timeout, env=ENV)
    return p.returncode, p.stdout, p.stderr


def same_cache(a_path, b_path):
    """'' when the two cache files hold the same datasets (values, dtypes, shapes) and
    attributes, else what differs."""
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        if set(a) != set(b):
            return f"datasets {sorted(a)} vs {sorted(b)}"
        for k in a:
            x, y = a[k][...], b[k][...]
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return f"dataset {k} differs (max |diff| {np.abs(x - y).max()})"
        if set(a.attrs) != set(b.attrs):
            return "attribute names differ"
        for k in a.attrs:
            if str(a.attrs[k]) != str(b.attrs[k]):
                return f"attribute {k}: {a.attrs[k]} vs {b.attrs[k]}"
    return ""


if not os.path.isdir(DATA):
    print(f"FAIL {DATA} is missing (apt-get install dataset-fashion-mnist)")
    sys.exit(1)

# 1. byte-for-byte the same caches
serial, ranks = fresh("serial"), fresh("ranks")
rc, out1, err = run([BIN] + predict_args(serial, 500))
check("single-process predict -M", rc == 0 and out1.count("samples") == 6, err[-500:])
t0 = time.monotonic()
rc, out3, err = run(MPIRUN + [BIN] + predict_args(ranks, 500))
took = time.monotonic() - t0
check("mpirun -n 3 predict -M", rc == 0, err[-800:])
check("mpirun: rank 0 alone prints the six models", out3 == out1, out3)
files = sorted(os.listdir(serial))
check("six cache files", len(files) == 6 and sorted(os.listdir(ranks)) == files,
      f"{files} vs {sorted(os.listdir(ranks))}")
for f in files:
    why = same_cache(os.path.join(serial, f), os.path.join(ranks, f))
    check(f"{f}: the same as a single process's", not why, why)
print(f"mpirun -n 3 over six models x 500 images: {took:.1f} s")

# 2. complementarity: the same report (each on caches of its own)
args = ["complementarity", "-M", MODELS, "-v", DATA, "-D", "fashionmnist", "--weights-dir",
        WEIGHTS, "--limit", "500", "--threads", "1", "--cache", fresh("comp_cache"), "-q"]
cwd_before = os.getcwd()
os.chdir(WORK)
rc1, c1, e1 = run([BIN] + args)
args[-2] = fresh("comp_cache_mpi")
rc3, c3, e3 = run(MPIRUN + [BIN] + args)
os.chdir(cwd_before)
check("complementarity under mpirun prints the single-process report",
      rc1 == 0 and rc3 == 0 and c1 == c3 and "complementarity" in c1.lower(),
      f"rc {rc1}/{rc3}; {e3[-400:]}")

# 3. a rank killed mid-way
killed = fresh("killed")
p = subprocess.Popen(MPIRUN + [BIN] + predict_args(killed, 10000), stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True, env=ENV)


def rank_pid(rank):
    """The pid of the dualcnn process of the given rank, from /proc's environments."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if b"predict" in cmd and f"OMPI_COMM_WORLD_RANK={rank}".encode() in env and \
                os.path.basename(cmd.split(b"\0")[0]) == b"dualcnn":
            return int(pid)
    return None


victim = None
for _ in range(200):
    victim = rank_pid(1)
    if victim:
        break
    time.sleep(0.05)
check("found rank 1's process", victim is not None)
if victim:
    time.sleep(1.5)  # it is computing by now
    os.kill(victim, signal.SIGKILL)
out, err = p.communicate(timeout=300)
check("the job fails when a rank dies", p.returncode != 0, f"rc {p.returncode}")
check("the error names the rank", "rank 1" in (out + err), (out + err)[-800:])
left = os.listdir(killed) if os.path.isdir(killed) else []
check("no cache file and no temporary file left", left == [], str(left))
rc, _, err = run(MPIRUN + [BIN] + predict_args(killed, 300))
check("a rerun completes", rc == 0 and len(os.listdir(killed)) == 6, err[-500:])

# 4. weights that cannot be read
broken = fresh("broken_weights")
os.makedirs(os.path.join(broken, "fashionmnist"))
for f in glob.glob(os.path.join(WEIGHTS, "fashionmnist", "*.h5")):
    if not f.endswith("resnet32.h5"):
        os.symlink(f, os.path.join(broken, "fashionmnist", os.path.basename(f)))
nocache = fresh("nocache")
rc, out, err = run(MPIRUN + [BIN] + predict_args(nocache, 500, weights_dir=broken))
text = out + err
check("missing weights: the job fails naming the rank, the host and the file",
      rc != 0 and "rank " in text and " on " in text and "resnet32.h5" in text, text[-800:])
check("missing weights: no cache file left",
      not os.path.isdir(nocache) or os.listdir(nocache) == [], str(os.listdir(nocache)
                                                                   if os.path.isdir(nocache)
                                                                   else []))

dctest.finish()
