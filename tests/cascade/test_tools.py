#!/usr/bin/env python3
"""End-to-end test of `dualcnn predict`, `threshold` and `complementarity` on a generated
FashionMNIST-format dataset: the prediction cache is reused, refused when stale or corrupt;
the threshold lines and the complementarity matrix equal what this script recomputes from
the cached predictions. Usage: test_tools.py DUALCNN WORKDIR SOURCE_ROOT"""
import csv
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
run = dctest.dualcnn

# a FashionMNIST-format dataset: 150 test and 150 train images, IDX gzip'd
data = os.path.join(WORK, "fm")
dctest.write_fashionmnist(data, np.random.RandomState(3))

wdir = os.path.join(WORK, "weights")
os.makedirs(os.path.join(wdir, "fashionmnist"))
models = ["resnet20", "mobilenetv2_x0_5", "shufflenetv2_x0_5"]


def export(arch, seed):
    dctest.export_weights(arch, "fashionmnist", seed,
                          os.path.join(wdir, "fashionmnist", arch + ".h5"))


for i, m in enumerate(models):
    export(m, 10 + i)
cache = os.path.join(WORK, "cache")
common = ["-D", "fashionmnist", "--weights-dir", wdir, "-v", data, "--cache", cache]

# predict: computed, then from the cache; stale after new weights; corrupt is recomputed
p = run("predict", "-m", "resnet20", *common)
check("predict computes and caches", p.returncode == 0 and "cached in" in p.stderr, p.stderr)
p = run("predict", "-m", "resnet20", *common)
check("predict reuses the cache", p.returncode == 0 and "from the cache" in p.stderr, p.stderr)
files = [f for f in os.listdir(cache) if f.startswith("resnet20")]
check("one cache file", len(files) == 1, str(files))
cache_file = os.path.join(cache, files[0])
with h5py.File(cache_file, "r") as f:
    before = f["pred"][()]
export("resnet20", 99)  # other weights at the same path: the old cache is stale
p = run("predict", "-m", "resnet20", *common)
check("predict refuses a stale cache (other weights)",
      p.returncode == 0 and "from the cache" not in p.stderr and "cached in" in p.stderr,
      p.stderr)
p = run("predict", "-m", "resnet20", "-t", *common)
check("the train split has its own cache", "from the cache" not in p.stderr, p.stderr)
files = sorted(f for f in os.listdir(cache) if f.startswith("resnet20"))
victim = os.path.join(cache, files[-1])
with open(victim, "r+b") as f:
    f.truncate(300)
p = run("predict", "-m", "resnet20", "-t", *common)
check("predict refuses a corrupt cache and recomputes",
      p.returncode == 0 and "corrupt" in p.stderr and "cached in" in p.stderr, p.stderr)
# a cache whose key matches but was edited to claim other data is refused too
with h5py.File(victim, "r+") as f:
    f.attrs["count"] = np.int32(149)
p = run("predict", "-m", "resnet20", "-t", *common)
check("predict refuses a cache made from other data", "from the cache" not in p.stderr,
      p.stderr)


def load(model, train):
    """The cached predictions of model, read with h5py from the file predict names."""
    p = run("predict", "-m", model, *(["-t"] if train else []), *common)
    assert p.returncode == 0, p.stderr
    p = run("predict", "-m", model, *(["-t"] if train else []), *common)
    path = p.stderr.split("from the cache ")[1].split()[0]
    with h5py.File(path, "r") as h:
        out = {k: h[k][()] for k in ["label", "pred", "maxp", "difference", "entropy"]}
        out["macs"] = int(h.attrs["macs"])
    return out


# threshold: every exact line equals a brute-force scan of the cached predictions
a, b = load("shufflenetv2_x0_5", True), load("resnet20", True)
n = len(a["label"])


def accuracy(kind, lam, post):
    s1, s2 = a[kind], b[kind]
    esc = s1 > lam if kind == "entropy" else s1 < lam
    pick = b["pred"].copy()
    if post:
        better = s2 < s1 if kind == "entropy" else s2 > s1
        pick = np.where(better, b["pred"], a["pred"])
    final = np.where(esc, pick, a["pred"])
    return (final == a["label"]).mean(), esc.mean()


p = run("threshold", "-m1", "shufflenetv2_x0_5", "-m2", "resnet20", "-t", *common,
        "--curve", os.path.join(WORK, "curve.csv"), "--svg", os.path.join(WORK, "curve.svg"),
        "-q")
check("threshold runs", p.returncode == 0, p.stderr)
lines = [line.split() for line in p.stdout.splitlines()
         if "lambda" in line and "usage" in line and not line.startswith("chosen")]
check("threshold prints six lines", len(lines) == 6, p.stdout)
for kind in ["maxp", "difference", "entropy"]:
    cands = sorted(set(np.concatenate([a[kind].astype(np.float64), [0.0, 1.0]])))
    cands = [c for c in cands if 0 <= c <= 1] + [1.0]
    for post in [False, True]:
        best = max(accuracy(kind, np.float32(c), post)[0] for c in
                   cands + [np.nextafter(np.float32(c), np.float32(2)) for c in cands
                            if c < 1])
        row = [r for r in lines if r[0] == kind and (("post-check" in r) == post)]
        got = float(row[0][row[0].index("accuracy") + 1].rstrip("%")) if row else -1
        check(f"threshold {kind} post={post} finds the best accuracy",
              abs(got - 100 * best) < 0.005 + 1e-9, f"{got} vs {100 * best:.4f}")
check("threshold writes the curve and the plot",
      os.path.getsize(os.path.join(WORK, "curve.csv")) > 100 and
      open(os.path.join(WORK, "curve.svg")).read().startswith("<?xml"))

# threshold --max-loss, --max-usage and -n, against the same brute force: every candidate
# lambda (each distinct score and the float just above it) gives an (accuracy, usage) point
def points(kind, post):
    cands = sorted(set(np.concatenate([a[kind].astype(np.float64), [0.0, 1.0]])))
    cands = [c for c in cands if 0 <= c <= 1] + [1.0]
    lams = cands + [float(np.nextafter(np.float32(c), np.float32(2))) for c in cands if c < 1]
    return [accuracy(kind, np.float32(lam), post) for lam in lams]


def parse_threshold(text):
    """{(kind, post): {"best": (acc, usage, lambda), "cheapest": ..., "budget": ...}}"""
    out, cur = {}, None
    for line in text.splitlines():
        f = line.split()
        if "lambda" not in f or "accuracy" not in f or f[0] == "chosen":
            continue  # the chosen operating points over all lines come last
        g = f[f.index("lambda"):]  # "best at usage <= U" names usage before the numbers
        lam = float(g[1])
        acc = float(g[g.index("accuracy") + 1].rstrip("%")) / 100
        use = float(g[g.index("usage") + 1].rstrip("%")) / 100
        if f[0] in ("maxp", "difference", "entropy"):
            cur = (f[0], "post-check" in f)
            out[cur] = {"best": (acc, use, lam)}
        elif cur and f[0] in ("cheapest", "best"):
            out[cur]["cheapest" if f[0] == "cheapest" else "budget"] = (acc, use, lam)
    return out


LOSS, BUDGET = 0.5, 0.2
p = run("threshold", "-m1", "shufflenetv2_x0_5", "-m2", "resnet20", "-t", *common, "-q",
        "--max-loss", str(LOSS), "--max-usage", str(BUDGET))
got = parse_threshold(p.stdout)
check("threshold --max-loss --max-usage prints both operating points for six lines",
      p.returncode == 0 and len(got) == 6 and
      all("cheapest" in v and "budget" in v for v in got.values()), p.stdout + p.stderr)
for (kind, post), v in got.items():
    pts = points(kind, post)
    best = max(acc for acc, _ in pts)
    # the cheapest usage among the lambdas within LOSS points of the best
    want_use = min(use for acc, use in pts if acc >= best - LOSS / 100 - 1e-12)
    acc, use, _ = v.get("cheapest", (-1, -1, 0))
    check(f"threshold --max-loss {kind} post={post}: the least usage within {LOSS} points",
          abs(use - want_use) < 0.00005 + 1e-9 and acc >= best - LOSS / 100 - 0.00005,
          f"usage {use} vs {want_use}, accuracy {acc} vs best {best}")
    # the best accuracy among the lambdas that use the second model at most BUDGET
    want_acc = max(acc for acc, use in pts if use <= BUDGET + 1e-12)
    acc, use, _ = v.get("budget", (-1, 2, 0))
    check(f"threshold --max-usage {kind} post={post}: the best accuracy under {BUDGET}",
          abs(acc - want_acc) < 0.00005 + 1e-9 and use <= BUDGET + 1e-9,
          f"accuracy {acc} vs {want_acc}, usage {use}")

# -n N: the original's grid of N values; its best can be no better than the exact search,
# its lambda is a grid value, and the accuracy printed is what that lambda gives
N_GRID = 2000
p = run("threshold", "-m1", "shufflenetv2_x0_5", "-m2", "resnet20", "-t", *common, "-q",
        "-n", str(N_GRID))
grid = parse_threshold(p.stdout)
check("threshold -n prints six grid lines", p.returncode == 0 and len(grid) == 6 and
      "grid" in p.stdout, p.stdout + p.stderr)
for (kind, post), v in grid.items():
    acc, use, lam = v["best"]
    exact = max(a_ for a_, _ in points(kind, post))
    on_grid = min(abs(lam - k / (N_GRID - 1)) for k in range(N_GRID)) < 0.00006
    redo = accuracy(kind, np.float32(round(lam * (N_GRID - 1)) / (N_GRID - 1)), post)[0]
    check(f"threshold -n {kind} post={post}: a grid lambda, no better than the exact search,"
          " with the accuracy it gives", on_grid and acc <= exact + 0.00005 and
          abs(acc - redo) < 0.00005 + 1e-9, f"lambda {lam} accuracy {acc} exact {exact} "
          f"recomputed {redo}")

# complementarity: the CSV equals the formulas on the cached predictions
p = run("complementarity", "--models", ",".join(models), "-t", *common, "--csv",
        os.path.join(WORK, "comp.csv"), "--ranking", os.path.join(WORK, "rank.csv"),
        "--svg", os.path.join(WORK, "comp.svg"), "-q")
check("complementarity runs", p.returncode == 0, p.stderr)
preds = {m: load(m, True) for m in models}
rows = list(csv.reader(open(os.path.join(WORK, "comp.csv"))))
check("the matrix has labels", rows[0] == ["model"] + models and
      [r[0] for r in rows[1:]] == models, str(rows[:2]))
bad = []
for i, m1 in enumerate(models):
    for j, m2 in enumerate(models):
        r1 = preds[m1]["pred"] == preds[m1]["label"]
        r2 = preds[m2]["pred"] == preds[m2]["label"]
        want = ((r1 | r2).sum() - (r1 & r2).sum() - abs(int(r1.sum()) - int(r2.sum()))) / n
        if abs(float(rows[i + 1][j + 1]) - want) > 5e-5:
            bad.append((m1, m2, rows[i + 1][j + 1], want))
check("complementarity matrix equals the paper's formula", not bad, str(bad))
check("complementarity writes the ranking and the heatmap",
      len(list(csv.reader(open(os.path.join(WORK, "rank.csv"))))) == 4 and
      "<svg" in open(os.path.join(WORK, "comp.svg")).read())

# --skip: a held-out window of a split (the validation split of the shipped models) has its
# own cache, and its predictions are those of the same samples in the whole split
p = run("predict", "-m", "resnet20", "-t", "--skip", "100", "--limit", "30", *common)
check("predict --skip runs", p.returncode == 0 and "cached in" in p.stderr, p.stderr)
p = run("predict", "-m", "resnet20", "-t", "--skip", "100", "--limit", "30", *common)
path = p.stderr.split("from the cache ")[1].split()[0] if "from the cache" in p.stderr else ""
whole = load("resnet20", True)
if path:
    with h5py.File(path, "r") as h:
        win = {k: h[k][()] for k in ["label", "pred", "maxp"]}
        first = int(h.attrs["first"])
    check("--skip 100 --limit 30 holds samples 100..129 of the split",
          first == 100 and len(win["label"]) == 30 and
          (win["label"] == whole["label"][100:130]).all() and
          (win["pred"] == whole["pred"][100:130]).all() and
          np.allclose(win["maxp"], whole["maxp"][100:130], atol=1e-6),
          f"first {first}, {len(win['label'])} samples")
else:
    check("--skip predictions are cached", False, p.stderr)
p = run("threshold", "-m1", "shufflenetv2_x0_5", "-m2", "resnet20", "-t", "--skip", "100",
        *common, "-q")
check("threshold names the window", p.returncode == 0 and "samples 100..149" in p.stdout,
      p.stdout + p.stderr)
p = run("predict", "-m", "resnet20", "-t", "--skip", "150", *common)
check("--skip past the end is refused", p.returncode != 0 and "skip 150" in p.stderr,
      p.stderr)

# the real FashionMNIST files, when Debian's dataset-fashion-mnist is installed
fm = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(fm):
    real = ["-D", "fashionmnist", "--weights-dir", wdir, "-v", fm, "--cache", cache, "-t",
            "--limit", "200", "-q"]
    p1 = run("complementarity", "--models", "resnet20,shufflenetv2_x0_5", *real, "--csv",
             os.path.join(WORK, "real.csv"), "--svg", os.path.join(WORK, "real.svg"))
    p2 = run("threshold", "-m1", "shufflenetv2_x0_5", "-m2", "resnet20", *real, "--curve",
             os.path.join(WORK, "realcurve.csv"), "--svg", os.path.join(WORK, "realcurve.svg"))
    check("complementarity and threshold run on the FashionMNIST files",
          p1.returncode == 0 and p2.returncode == 0 and
          all(os.path.exists(os.path.join(WORK, f)) for f in
              ["real.csv", "real.svg", "realcurve.csv", "realcurve.svg"]), p1.stderr + p2.stderr)
else:
    dctest.skip("the real FashionMNIST files: " + fm +
                " is absent (apt-get install dataset-fashion-mnist)")

p = run("threshold", "-m1", "resnet20", *common)
check("threshold needs two models", p.returncode == 2 and "two models" in p.stderr, p.stderr)
p = run("complementarity", "--models", "resnet20,nonexistent_net", *common)
check("complementarity names an unknown model", p.returncode == 1 and
      "nonexistent_net" in p.stderr, p.stderr)
dctest.finish()
