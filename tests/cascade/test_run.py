#!/usr/bin/env python3
"""End-to-end test of `dualcnn run`: a generated CIFAR-10 dataset (binary format) with
duplicates streams through two models with random weights; every per-sample decision in
--per-sample is recomputed here from the logits `dualcnn infer` gives for the same inputs,
with the paper's rules (scores, threshold test, post-check, memory of exact duplicates).
Usage: test_run.py DUALCNN WORKDIR SOURCE_ROOT"""
import collections
import csv
import math
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, ROOT = dctest.args()
MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
STD = np.array([0.2023, 0.1994, 0.2010], np.float32)
N = 60


def run(*args, code=0):
    p = dctest.dualcnn(*args)
    if p.returncode != code:
        print(p.stdout, p.stderr)
    return p


# --- a CIFAR-10 binary dataset: records of a label byte + R, G, B planes of 32x32
rng = np.random.RandomState(5)
root = os.path.join(WORK, "cifar")
bins = os.path.join(root, "cifar-10-batches-bin")
os.makedirs(bins, exist_ok=True)
# smooth random images (so dHash keys of different images differ), labels 0..9
yy, xx = np.mgrid[0:32, 0:32]
images = []
for i in range(N):
    f = rng.uniform(0.05, 0.4, size=(3, 2))
    ph = rng.uniform(0, 6.3, size=(3,))
    img = np.stack([127 + 120 * np.sin(f[c, 0] * xx + f[c, 1] * yy + ph[c]) for c in range(3)])
    images.append(np.clip(img + rng.randint(-3, 4, size=img.shape), 0, 255).astype(np.uint8))
labels = rng.randint(0, 10, size=N).astype(np.uint8)
records = b"".join(bytes([labels[i]]) + images[i].tobytes() for i in range(N))
for name in ["data_batch_%d.bin" % k for k in range(1, 6)] + ["test_batch.bin"]:
    with open(os.path.join(bins, name), "wb") as fh:
        fh.write(records)
with open(os.path.join(bins, "batches.meta.txt"), "w") as fh:
    fh.write("\n".join(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                        "ship", "truck"]) + "\n")

# --- two models with random weights, and their logits on the dataset through `infer`
weights = {}
for arch, seed in [("resnet20", 1), ("mobilenetv2_x0_5", 2)]:
    weights[arch] = os.path.join(WORK, arch + ".h5")
    dctest.export_weights(arch, "cifar10", seed, weights[arch])
x = np.stack(images).astype(np.float32)  # N, 3, 32, 32 (CHW already)
x = ((x / np.float32(255.0) - MEAN[None, :, None, None]) / STD[None, :, None, None])
x = x.astype(np.float32)
np.save(os.path.join(WORK, "x.npy"), x)
logits = {}
for arch in weights:
    out = os.path.join(WORK, "logits_" + arch + ".npy")
    run("infer", "-w", weights[arch], "-i", os.path.join(WORK, "x.npy"), "-o", out)
    logits[arch] = np.load(out).astype(np.float64)


def softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def score(kind, logit):
    p = softmax(logit)
    if kind == "difference":
        s = np.sort(p)[::-1]
        return s[0] - s[1]
    if kind == "entropy":
        q = p[p > 0]
        return float(-(q * np.log(q)).sum() / math.log(len(p)))
    return float(p.max())


def expected(kind, threshold, postcheck, first, second):
    """The paper's rules, per dataset sample: (exit, answer) when the memory misses."""
    l1, l2 = logits[first], logits[second]
    out = []
    for i in range(N):
        a1, s1 = int(np.argmax(l1[i])), score(kind, l1[i])
        if kind == "oracle":
            esc = a1 != labels[i]
        elif kind == "entropy":
            esc = s1 > threshold
        else:
            esc = s1 < threshold
        if not esc:
            out.append(("first", a1, s1, esc))
            continue
        a2, s2 = int(np.argmax(l2[i])), score(kind, l2[i])
        better = s2 < s1 if kind == "entropy" else s2 > s1
        if postcheck and kind != "oracle" and not better:
            out.append(("first", a1, s1, esc))
        else:
            out.append(("second", a2, s1, esc))
    return out


if os.path.exists(os.path.join(WORK, "report.csv")):
    os.remove(os.path.join(WORK, "report.csv"))
configs = [("maxp", False), ("maxp", True), ("difference", True), ("entropy", False),
           ("entropy", True), ("oracle", False)]
for kind, postcheck in configs:
    first, second = "resnet20", "mobilenetv2_x0_5"
    s1 = [score(kind, logits[first][i]) for i in range(N)]
    thr = float(np.median(s1)) if kind != "oracle" else 0.5
    per = os.path.join(WORK, f"per_{kind}_{int(postcheck)}.csv")
    rep = os.path.join(WORK, "report.csv")
    args = ["run", "-m1", first, "-m2", second, "-w1", weights[first], "-w2", weights[second],
            "-i", root, "-s", kind, "-t", "%.9f" % thr, "-m", "dhash", "-d", "1", "-r", "0",
            "--seed", "7", "--energy", "none", "--per-sample", per, "--report", rep, "-q"]
    if postcheck:
        args.append("-p")
    p = run(*args)
    name = f"run {kind} postcheck={postcheck}"
    check(name + " exits 0", p.returncode == 0, p.stderr[-500:])
    if p.returncode:
        continue
    check(name + " prints the report", "weighted avg" in p.stdout and
          "Second model usage" in p.stdout and "Energy: unavailable" in p.stdout, p.stdout)
    want = expected(kind, thr, postcheck, first, second)
    rows = list(csv.DictReader(open(per)))
    check(name + " has 2N rows", len(rows) == 2 * N, str(len(rows)))
    seen, bad, checked = {}, [], 0
    for r in rows:
        i = int(r["sample"])
        if abs(s1[i] - thr) < 1e-6 and kind != "oracle":
            continue  # too close to call between two float orders; skip the decision
        checked += 1
        if i in seen:  # an exact duplicate: the memory must answer what it stored
            ok = r["exit"] == "memory" and int(r["prediction"]) == seen[i]
        else:
            e, a, _, _ = want[i]
            ok = r["exit"] == e and int(r["prediction"]) == a and int(r["label"]) == labels[i]
            seen[i] = int(r["prediction"])
        if not ok:
            bad.append((r["position"], r["sample"], r["exit"], r["prediction"], want[i]))
    check(name + " every decision follows the rules", not bad, str(bad[:5]))
    # at most one sample (its two rows) can sit at the median threshold
    check(name + " at least 2N - 4 decisions checked", checked >= 2 * N - 4,
          f"{checked} of {2 * N} rows checked")
    n_esc = sum(1 for i in range(N) if want[i][3])
    usage = 100.0 * n_esc / (2 * N)
    check(name + " usage in the report", f"Second model usage: {usage:.2f}%" in p.stdout,
          p.stdout[-800:])
    check(name + " memory answers every duplicate",
          f"Memory (dhash): {N} hits (50.00%)" in p.stdout, p.stdout[-800:])

rows = list(csv.DictReader(open(os.path.join(WORK, "report.csv"))))
check("--report appends one row per run", len(rows) == len(configs), str(len(rows)))
check("--report rows carry the metrics", all(r["accuracy"] and r["usage"] for r in rows))
STAGES = ["decode_ms", "preprocess_ms", "hash_ms", "model1_ms", "model2_ms", "bookkeeping_ms"]


def check_stages(name, r, memory, second):
    """The time breakdown of a --report row: present, adding up to the time per input,
    which holds the response time and fits in the stream's wall time."""
    try:
        st = {k: float(r[k]) for k in STAGES}
        total, mean, wall = float(r["input_ms"]), float(r["mean_ms"]), float(r["wall_s"])
    except (KeyError, ValueError) as e:
        check(name + " has the time breakdown", False, repr(e))
        return
    timed = int(r["inputs"]) - 25  # the warm-up inputs are left out, as for mean_ms
    check(name + " stages add up to the time per input",
          abs(sum(st.values()) - total) <= 4e-4 and all(v >= -1e-4 for v in st.values()),
          f"{st} vs {total}")
    check(name + " time per input covers the response time and fits the wall time",
          mean - 2e-4 <= total and timed * total <= 1e3 * wall + 1.0 and
          timed * total >= 0.25 * 1e3 * wall * timed / int(r["inputs"]),
          f"input {total} ms, response {mean} ms, wall {wall} s, {timed} timed inputs")
    check(name + " measures the models", st["model1_ms"] > 0 and
          (st["model2_ms"] > 0) == second, str(st))
    check(name + " hash is 0 exactly when there is no memory",
          (st["hash_ms"] == 0.0) != memory, str(st))


for r, (kind, _) in zip(rows, configs):
    check_stages("--report " + kind, r, memory=True, second=True)

# single model with memory, rotations and invariants: rotated duplicates hit too
p = run("run", "-m1", "resnet20", "-w1", weights["resnet20"], "-i", root, "-m", "invariants",
        "-d", "1", "-r", "1", "--energy", "none", "-q")
check("single model + invariants: every duplicate (all rotated) is remembered",
      f"Memory (invariants): {N} hits" in p.stdout, p.stdout[-600:])
p = run("run", "-m1", "resnet20", "-w1", weights["resnet20"], "-i", root, "-m", "dhash",
        "-d", "1", "-r", "1", "--energy", "none", "-q")
check("single model + dhash: rotated duplicates mostly miss",
      "Memory (dhash): 0 hits" in p.stdout or "Memory (dhash): 1 hits" in p.stdout,
      p.stdout[-600:])
# batched mode gives the same answers as streaming. Without memory there are no order
# effects: same exits and answers. The threshold is the median maxp, so both exits occur.
median_maxp = "%.9f" % float(np.median([score("maxp", logits["resnet20"][i]) for i in range(N)]))
outs = []
for b in ["1", "7"]:
    per = os.path.join(WORK, f"per_batch{b}.csv")
    run("run", "-m1", "resnet20", "-m2", "mobilenetv2_x0_5", "-w1", weights["resnet20"],
        "-w2", weights["mobilenetv2_x0_5"], "-i", root, "-s", "maxp", "-t", median_maxp, "-p",
        "--batch", b, "--energy", "none", "--per-sample", per, "-q")
    rows_b = list(csv.DictReader(open(per)))
    outs.append([(r["sample"], r["exit"], r["prediction"]) for r in rows_b])
check("--batch 7 answers as --batch 1", outs[0] == outs[1] and len(outs[0]) == N)
# escalated: the second model ran (it has a score), whichever answer post-check kept
escalated = sum(r["score2"] not in ("", "nan") for r in rows_b)
check("--batch 7 escalated some inputs and not others", 0 < escalated < N,
      f"{escalated} of {N} escalated")
# with a dHash memory and exact duplicates, a duplicate in the same batch as its original is
# computed again (the memory is consulted before the batch runs) where streaming remembers
# it; the nets are deterministic, so every answer is the same, and later batches hit
outs = []
for b in ["1", "7"]:
    per = os.path.join(WORK, f"per_batch_mem{b}.csv")
    run("run", "-m1", "resnet20", "-m2", "mobilenetv2_x0_5", "-w1", weights["resnet20"],
        "-w2", weights["mobilenetv2_x0_5"], "-i", root, "-s", "maxp", "-t", median_maxp, "-p",
        "-m", "dhash", "-d", "1", "-r", "0", "--seed", "7", "--batch", b, "--energy", "none",
        "--per-sample", per, "-q")
    rows_b = list(csv.DictReader(open(per)))
    outs.append([(r["sample"], r["exit"], r["prediction"]) for r in rows_b])
check("memory: --batch 7 gives the answers of --batch 1",
      [(i, a) for i, _, a in outs[0]] == [(i, a) for i, _, a in outs[1]] and
      len(outs[0]) == 2 * N)
exits = collections.Counter(e for _, e, _ in outs[1])
escalated = sum(r["score2"] not in ("", "nan") for r in rows_b)
check("memory: --batch 7 escalated, answered from the first model and from the memory",
      escalated > 0 and exits["first"] > 0 and exits["memory"] > 0,
      f"{escalated} escalated; exits {dict(exits)}")
# the time breakdown of runs without a memory, batched or not, and of a single model
for extra, second in [(["--batch", "1"], True), (["--batch", "7"], True), ([], False)]:
    rep = os.path.join(WORK, "report_nomem.csv")
    if os.path.exists(rep):
        os.remove(rep)
    models = ["-m1", "resnet20", "-w1", weights["resnet20"]]
    if second:
        models += ["-m2", "mobilenetv2_x0_5", "-w2", weights["mobilenetv2_x0_5"], "-s", "maxp",
                   "-t", "0.5"]
    p = run("run", *models, "-i", root, "-d", "1", "--energy", "none", "--report", rep, "-q",
            *extra)
    name = "no memory " + (" ".join(extra) or "single model")
    check(name + " prints the breakdown", "Time per input (ms, after 25 warm-up inputs)" in
          p.stdout and "  hash (memory)     0.000    0.0%" in p.stdout, p.stdout[-900:])
    check_stages(name, list(csv.DictReader(open(rep)))[-1], memory=False, second=second)

# the same data in CIFAR-10's pickled python format gives the same answers
import pickle
pyroot = os.path.join(WORK, "cifar_py")
pydir = os.path.join(pyroot, "cifar-10-batches-py")
os.makedirs(pydir, exist_ok=True)
batch = {b"batch_label": b"testing batch 1 of 1", b"labels": [int(v) for v in labels],
         b"data": np.stack([im.reshape(-1) for im in images]),
         b"filenames": [b"img%d.png" % i for i in range(N)]}
for name in ["data_batch_%d" % k for k in range(1, 6)] + ["test_batch"]:
    with open(os.path.join(pydir, name), "wb") as fh:
        pickle.dump(batch, fh, protocol=2)
with open(os.path.join(pydir, "batches.meta"), "wb") as fh:
    pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                                  b"frog", b"horse", b"ship", b"truck"]}, fh, protocol=2)
outs = []
for r in [root, pyroot]:
    per = os.path.join(WORK, "per_format.csv")
    p = run("run", "-m1", "resnet20", "-m2", "mobilenetv2_x0_5", "-w1", weights["resnet20"],
            "-w2", weights["mobilenetv2_x0_5"], "-i", r, "-s", "difference", "-t", "0.87", "-p",
            "-m", "invariants", "-d", "1", "-r", "0.5", "--energy", "none", "--per-sample", per,
            "-q")
    outs.append([(x["sample"], x["exit"], x["prediction"]) for x in csv.DictReader(open(per))])
check("the pickled CIFAR-10 format gives the answers of the binary one",
      outs[0] == outs[1] and len(outs[0]) == 2 * N)

# FashionMNIST's IDX files as Debian installs them (28x28 gray, resized to 32x32)
fm = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(fm):
    fmw = os.path.join(WORK, "fm_resnet20.h5")
    dctest.export_weights("resnet20", "fashionmnist", 4, fmw)
    p = run("run", "-m1", "resnet20", "-w1", fmw, "-i", fm, "--limit", "300", "-m", "dhash",
            "-d", "0.5", "--energy", "none", "-q")
    check("a run on the FashionMNIST files prints the whole report",
          p.returncode == 0 and "Ankle boot" in p.stdout and "weighted avg" in p.stdout and
          "450 inputs" in p.stdout and "MACs per image" in p.stdout, p.stdout + p.stderr)
else:
    dctest.skip("FashionMNIST run: " + fm + " is absent (apt-get install dataset-fashion-mnist)")

# ---- run -y: the original repository's config.yml (read with PyYAML there) --------------
import signal  # noqa: E402
import time  # noqa: E402

import yaml  # noqa: E402 (python3-yaml: PyYAML, the original's reader, for the expected values)

W1, W2 = weights["resnet20"], weights["mobilenetv2_x0_5"]
CSV_KEYS = ["position", "sample", "transform", "duplicate", "label", "prediction", "exit",
            "score1", "score2"]  # every column but the time


def write_config(name, text):
    p = os.path.join(WORK, name)
    with open(p, "w") as fh:
        fh.write(text)
    return p


def per_sample_rows(per):
    return [[r[k] for k in CSV_KEYS] for r in csv.DictReader(open(per))]


# The layout of the original's last config.yml (dataset, first_model, second_model, memory,
# duplicates, transforms, dataset_path, root_password; comments and empty values as it has
# them), for a single model, a cascade, and a cascade with memory and duplicates.
SEED_LAYOUT = """---
dataset: cifar10              #Options cifar10, imagenet, intel, fashionmnist
first_model:
  name: resnet20
  # weights_file: "/somewhere/else.pth"             #Optional.
  weights_file: {w1}
second_model:
  enable: {enable}
  name: mobilenetv2_x0_5
  weights_file: {w2}
  scorefn: {score}             #Options: [maxp, difference, entropy, oracle]
  threshold: {threshold}
  postcheck: {postcheck}
memory:
  enable: {memory}
  method: invariants              #Options: [dhash, invariants]
duplicates: {duplicates}
transforms: {transforms}
dataset_path: "{root}"
root_password:                #Optional
"""
# a threshold that sends about half the inputs to the second model (difference score)
DIFF_MEDIAN = "%.4f" % float(np.median([score("difference", logits["resnet20"][i])
                                        for i in range(N)]))
layouts = [
    ("single model", dict(enable="false", score="difference", threshold=0.2166,
                          postcheck="true", memory="false", duplicates=0, transforms=0),
     ["-m1", "resnet20", "-w1", W1]),
    ("cascade", dict(enable="true", score="difference", threshold=DIFF_MEDIAN, postcheck="true",
                     memory="false", duplicates=0, transforms=0),
     ["-m1", "resnet20", "-w1", W1, "-m2", "mobilenetv2_x0_5", "-w2", W2, "-s", "difference",
      "-t", DIFF_MEDIAN, "-p"]),
    ("cascade + memory + duplicates", dict(enable="true", score="maxp", threshold=0.5,
                                           postcheck="false", memory="true", duplicates=1,
                                           transforms=0.5),
     ["-m1", "resnet20", "-w1", W1, "-m2", "mobilenetv2_x0_5", "-w2", W2, "-s", "maxp",
      "-t", "0.5", "-m", "invariants", "-d", "1", "-r", "0.5"]),
]
for label, fields, flags in layouts:
    cfg = write_config("seed_" + label.replace(" ", "_").replace("+", "") + ".yml",
                       SEED_LAYOUT.format(w1=W1, w2=W2, root=root, **fields))
    common = ["--seed", "7", "--energy", "none", "-q"]
    per_y, per_f = os.path.join(WORK, "per_yml.csv"), os.path.join(WORK, "per_flags.csv")
    py = run("run", "-y", cfg, "--per-sample", per_y, *common)
    pf = run("run", *flags, "-i", root, "-D", "cifar10", "--per-sample", per_f, *common)
    ok = py.returncode == 0 and pf.returncode == 0
    rows_y = per_sample_rows(per_y) if ok else []
    rows_f = per_sample_rows(per_f) if ok else []
    want_n = N * (1 + fields["duplicates"])
    check(f"config.yml layout, {label}: the same per-sample answers as with flags",
          ok and rows_y == rows_f and len(rows_y) == want_n,
          f"rc {py.returncode}/{pf.returncode}, {len(rows_y)} vs {len(rows_f)} rows; "
          f"{py.stderr[-300:]}{pf.stderr[-300:]}")
    exits = {r[6] for r in rows_y}
    second = fields["enable"] == "true"
    usage = re.search(r"Second model usage: ([\d.]+)%", py.stdout)
    check(f"config.yml layout, {label}: the second model and the memory as the file says",
          ok and (usage is not None and float(usage.group(1)) > 0) == second and
          ("memory" in exits) == (fields["memory"] == "true") and
          ("-> mobilenetv2_x0_5" in py.stdout) == second,
          f"exits {sorted(exits)}; {py.stdout[:300]}")
check("config.yml layout: a single-model file gives no note about its unused threshold",
      "no effect" not in run("run", "-y", write_config(
          "seed_single_again.yml", SEED_LAYOUT.format(
              w1=W1, w2=W2, root=root, **layouts[0][1])), "--limit", "1", "--energy", "none",
          "-q").stderr)

# Every YAML form PyYAML accepts for the original's keys reads here as PyYAML reads it.
# expected() applies a file, as PyYAML loads it, over the settings before -y: the original
# main.py's reading (a second model when second_model.enable == True, the memory when
# memory.enable is true, ...) and dualcnn's documented additions: an empty (null) string or
# number leaves the setting as it was, an empty boolean is false, a section without
# `enable` is on when it names its model (or method), transforms may be a boolean.
HEADER_RE = re.compile(r"^dualcnn run: (\S+)(?: -> (\S+), score (\w+), threshold ([\d.]+), "
                       r"post-check (on|off))?, memory (\w+)$", re.M)
DATA_RE = re.compile(r"duplicates ([\d.e+-]+), rotations ([\d.e+-]+) ->")


def settings_of(p):
    m, d = HEADER_RE.search(p.stdout), DATA_RE.search(p.stdout)
    if not m or not d:
        return None
    return {"model1": m.group(1), "model2": m.group(2),
            "score": m.group(3), "threshold": float(m.group(4)) if m.group(4) else None,
            "postcheck": m.group(5) == "on" if m.group(5) else None,
            "memory": None if m.group(6) == "off" else m.group(6),
            "duplicates": float(d.group(1)), "rotations": float(d.group(2))}


def expected(cfg, before):
    e = dict(before)
    sm, mem = cfg.get("second_model") or {}, cfg.get("memory") or {}
    on = sm["enable"] is True if "enable" in sm else (True if sm.get("name") else None)
    if on is False:
        e["model2"] = None
    else:
        if sm.get("name") is not None:
            e["model2"] = sm["name"]
        for key, name in [("scorefn", "score"), ("score_fn", "score"),
                          ("threshold", "threshold")]:
            if sm.get(key) is not None:
                e[name] = sm[key]
        if "postcheck" in sm:
            e["postcheck"] = sm["postcheck"] is True
    mon = mem["enable"] is True if "enable" in mem else (True if mem.get("method") else None)
    if mon is False:
        e["memory"] = None
    elif mem.get("method") is not None:
        e["memory"] = mem["method"]
    for src in (mem, cfg):  # the earliest layout kept them under memory:
        if src.get("duplicates") is not None:
            e["duplicates"] = float(src["duplicates"])
        if src.get("transforms") is not None:
            e["rotations"] = float(src["transforms"])
    if e["model2"] is None:  # the header shows no cascade settings then
        e.update(score=None, threshold=None, postcheck=None)
    return e


TRUE_WORDS = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
FALSE_WORDS = ["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]
check("PyYAML reads the YAML 1.1 booleans as the test assumes",
      all(yaml.safe_load("a: " + w)["a"] is True for w in TRUE_WORDS) and
      all(yaml.safe_load("a: " + w)["a"] is False for w in FALSE_WORDS))
BASE = f"""first_model: {{name: resnet20, weights_file: {W1}}}
dataset_path: {root}
"""
CASCADE = f"""second_model:
  enable: {{enable}}
  name: mobilenetv2_x0_5
  weights_file: {W2}
  threshold: 0.375
  postcheck: {{postcheck}}
memory:
  enable: {{memory}}
  method: dhash
"""
forms = []
for t, f in zip(TRUE_WORDS, FALSE_WORDS):
    forms.append((f"booleans enable: {t}, postcheck: {f}", BASE + CASCADE.format(
        enable=t, postcheck=f, memory=t), [], []))
for f in ["off", "NO", "False"]:
    forms.append((f"enable: {f} is a single-model run", BASE + CASCADE.format(
        enable=f, postcheck="yes", memory=f), [], []))
forms += [
    ("flow mappings", f"""first_model: {{name: resnet20, weights_file: "{W1}"}}
second_model: {{enable: On, name: mobilenetv2_x0_5, weights_file: '{W2}', scorefn: maxp,
                threshold: .25, postcheck: yes}}
memory: {{enable: no, method: dhash}}
dataset_path: {root}
""", [], []),
    ("comments everywhere", f"""# a config with comments
first_model:   # the small one
  name: resnet20   # a trailing comment
  weights_file: {W1}
second_model:
  # enable: false
  enable: true   # on
  name: mobilenetv2_x0_5
  weights_file: {W2}  # its weights
  scorefn: entropy #no space before it
  threshold: 0.625
memory:
  enable: false
duplicates: 1 # one copy
dataset_path: {root}
""", [], []),
    ("empty values are null: flags before -y stay", BASE + f"""second_model:
  enable: true
  name: mobilenetv2_x0_5
  weights_file: {W2}
  scorefn:
  threshold:
  postcheck:
memory:
  enable: true
  method:
duplicates:
transforms:
""", ["-t", "0.4", "-s", "maxp", "-p", "-m", "invariants", "-d", "1", "-r", "0.5"], []),
    ("a file overrides the flags before -y, the flags after it override the file",
     BASE + CASCADE.format(enable="true", postcheck="true", memory="false"),
     ["-t", "0.9", "-m", "invariants"], ["-s", "entropy", "--duplicates=1"]),
    ("YAML 1.1 numbers, transforms as a boolean (the later code)",
     BASE + CASCADE.format(enable="true", postcheck="false", memory="false") +
     "duplicates: 0b1\ntransforms: yes\n", [], []),
    ("the earliest layout: score_fn, memory.duplicates and memory.transforms",
     BASE + f"""second_model:
  enable: true
  name: mobilenetv2_x0_5
  weights_file: {W2}
  score_fn: maxp
  threshold: 0.5
  postcheck: true
memory:
  enable: false
  method: dhash
  duplicates: 1
  transforms: 0
""", [], []),
]
FLAG_SETTINGS = {"-t": ("threshold", float), "-s": ("score", str), "-p": ("postcheck", None),
                 "-m": ("memory", str), "-d": ("duplicates", float),
                 "-r": ("rotations", float), "--duplicates=1": ("duplicates", None)}


def apply_flags(e, args):
    e = dict(e)
    i = 0
    while i < len(args):
        key, conv = FLAG_SETTINGS[args[i]]
        if args[i] == "-p":
            e[key] = True
        elif args[i] == "--duplicates=1":
            e[key] = 1.0
        else:
            e[key] = conv(args[i + 1])
            i += 1
        i += 1
    return e


DEFAULTS = {"model1": "resnet20", "model2": None, "score": "difference", "threshold": None,
            "postcheck": False, "memory": None, "duplicates": 0.0, "rotations": 0.0}
for k, (label, text, before, after) in enumerate(forms):
    cfg_path = write_config(f"form_{k}.yml", text)
    want = apply_flags(expected(yaml.safe_load(text), apply_flags(DEFAULTS, before)), after)
    if want["model2"] is None:
        want.update(score=None, threshold=None, postcheck=None)
    p = run("run", *before, "-y", cfg_path, *after, "--limit", "2", "--energy", "none", "-q")
    got = settings_of(p)
    if got and got["threshold"] is not None and want["threshold"] is not None:
        got["threshold"] = round(got["threshold"], 4)
        want["threshold"] = round(float(want["threshold"]), 4)
    check(f"run -y, {label}: read as PyYAML reads it", p.returncode == 0 and got == want,
          f"rc {p.returncode}; got {got}, wanted {want}; {p.stderr[-300:]}")

# Ctrl-C (and SIGTERM) during a long run: stops at the next input, prints the report of
# what was done marked partial, leaves no temporary file and every existing output as it
# was, exits 130 (143)
sigdir = os.path.join(WORK, "interrupted")
os.makedirs(sigdir, exist_ok=True)
old_per, old_rep = os.path.join(sigdir, "per.csv"), os.path.join(sigdir, "report.csv")
for sig, code in [(signal.SIGINT, 130), (signal.SIGTERM, 143)]:
    for f, content in [(old_per, "an older per-sample file\n"), (old_rep, "an older report\n")]:
        with open(f, "w") as fh:
            fh.write(content)
    before = {f: open(f).read() for f in (old_per, old_rep)}
    proc = subprocess.Popen([BIN, "run", "-m1", "resnet20", "-w1", W1, "-m2",
                             "mobilenetv2_x0_5", "-w2", W2, "-s", "maxp", "-t", "0.5", "-i",
                             root, "-d", "500", "--energy", "none", "--threads",
                             "1", "--per-sample", old_per, "--report", old_rep],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    header = proc.stdout.readline() + proc.stdout.readline()  # printed before the stream
    tmp_seen = False
    for _ in range(100):  # the --per-sample rows go to a temporary file: wait for it
        tmp_seen = any(".tmp-" in n for n in os.listdir(sigdir))
        if tmp_seen:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    out = header + out
    name = signal.Signals(sig).name
    m = re.search(r"interrupted by (\w+) after (\d+) of (\d+) inputs", out)
    check(f"{name} during run exits {code}", proc.returncode == code,
          f"rc {proc.returncode}; {err[-400:]}")
    check(f"{name} during run: a partial report of the inputs done",
          m is not None and m.group(1) == name and 0 < int(m.group(2)) < int(m.group(3)) ==
          N * 501 and "PARTIAL REPORT" in out and "weighted avg" in out and "partial" in err
          and re.search(r"Wall time: [\d.]+ s for %s inputs" % (m.group(2) if m else "-"),
                        out) is not None, out[-600:] + err[-300:])
    check(f"{name} during run: the temporary --per-sample file existed, and none is left",
          tmp_seen and not [n for n in os.listdir(sigdir) if ".tmp-" in n],
          f"seen {tmp_seen}; {os.listdir(sigdir)}")
    check(f"{name} during run: existing outputs are untouched",
          {f: open(f).read() for f in (old_per, old_rep)} == before)

# Ctrl-C during predict: the accuracy of the samples done, marked partial; nothing cached
fm = "/usr/share/datasets/fashion-mnist"
if os.path.isdir(fm):
    cache = os.path.join(WORK, "interrupted_cache")
    os.makedirs(cache, exist_ok=True)
    for f in os.listdir(cache):
        os.remove(os.path.join(cache, f))
    fmw = os.path.join(WORK, "fm_resnet20.h5")
    proc = subprocess.Popen([BIN, "predict", "-w", fmw, "-v", fm, "-t", "--batch", "8",
                             "--threads", "1", "--cache", cache, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    m = re.search(r"^PARTIAL REPORT: resnet20: (\d+) samples, accuracy", out, re.M)
    check("SIGINT during predict: exit 130, the samples done reported as partial",
          proc.returncode == 130 and m is not None and 0 < int(m.group(1)) < 60000 and
          "nothing cached" in err, f"rc {proc.returncode}; {out[-300:]}{err[-300:]}")
    check("SIGINT during predict: no cache file, no temporary file", os.listdir(cache) == [],
          str(os.listdir(cache)))

# bad input
p = run("run", "-m1", "resnet20", "-w1", weights["resnet20"], "-i", os.path.join(WORK, "nope"),
        code=1)
check("a missing dataset is named", p.returncode == 1 and "nope" in p.stderr, p.stderr)
p = run("run", "-m1", "resnet20", "-m2", "mobilenetv2_x0_5", "-w1", weights["resnet20"],
        "-i", root, code=2)
check("two models without a threshold are refused", p.returncode == 2 and "-t" in p.stderr,
      p.stderr)
p = run("run", "-m1", "resnet20", "-i", root, "-s", "bogus", code=2)
check("an unknown score is refused", p.returncode == 2 and "bogus" in p.stderr, p.stderr)
p = run("run", "-m1", "resnet20", "-w1", weights["resnet20"], "-i", root, "-d", "-1", code=2)
check("a negative duplicate ratio is refused", p.returncode == 2 and "-d" in p.stderr, p.stderr)
env = dict(os.environ, DUALCNN_SHUTDOWN_CMD="echo SHUTDOWN-CALLED")
p = dctest.dualcnn("run", "-m1", "resnet20", "-w1", weights["resnet20"], "-i", root, "--energy",
                  "none", "-q", "--limit", "5", "-f", "shutdown", env=env)
check("-f shutdown runs the shutdown command after the report",
      p.returncode == 0 and "SHUTDOWN-CALLED" in p.stdout and
      p.stdout.index("weighted avg") < p.stdout.index("SHUTDOWN-CALLED"), p.stdout + p.stderr)

dctest.finish()
