#!/usr/bin/env python3
"""What the commands put where (issue 16, points 3 and 4): --json on models, classify,
threshold, complementarity and run (one object on stdout, parsed by Python's json module,
nothing else there); no file in the working directory unless asked for; the prediction
cache under $XDG_CACHE_HOME/dualcnn (else ~/.cache/dualcnn, or --cache-dir); a typo in a
model name or an unwritable output reported before any model runs; the progress line only
on a terminal and never with --quiet. Usage: test_outputs.py DUALCNN WORKDIR SOURCE_ROOT"""
import csv
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, files_under  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
HOME = os.path.join(WORK, "home")
XDG = os.path.join(WORK, "xdg")
os.makedirs(HOME)


def env_for(xdg=XDG, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DUALCNN_CACHE", "DUALCNN_WEIGHTS", "XDG_CACHE_HOME", "XDG_DATA_HOME")}
    env["HOME"] = HOME
    if xdg is not None:
        env["XDG_CACHE_HOME"] = xdg
    env.update(extra)
    return env


def fresh_cwd():
    return tempfile.mkdtemp(prefix="cwd-", dir=WORK)


def run(*args, cwd=None, env=None, timeout=600):
    cwd = cwd or fresh_cwd()
    return dctest.dualcnn(*args, timeout=timeout, cwd=cwd, env=env or env_for()), cwd


def parse_json(p):
    try:
        return json.loads(p.stdout)  # the whole of stdout: one object, nothing else
    except ValueError as e:
        return {"__error__": "%s; stdout: %r" % (e, p.stdout[:500])}


# a FashionMNIST-format dataset: 150 test and 150 train images, IDX gzip'd
rng = np.random.RandomState(7)
data = os.path.join(WORK, "fm")
dctest.write_fashionmnist(data, rng)

WDIR = os.path.join(ROOT, "weights")  # the shipped FashionMNIST models
common = ["-D", "fashionmnist", "--weights-dir", WDIR, "-v", data]

# ---- models --json -------------------------------------------------------------------
p, cwd = run("models", "--json", "-D", "fashionmnist", "--weights-dir", WDIR)
m = parse_json(p)
rows = m.get("models", [])
fields = {"name", "family", "dataset", "input", "num_classes", "params", "macs",
          "weights_url", "weights_file", "weights_present"}
check("models --json: one object with the 59 rows and every field",
      p.returncode == 0 and len(rows) == 59 and all(fields <= set(r) for r in rows)
      and m.get("total") == 59, m)
check("models --json: every official weights URL",
      all(isinstance(r["weights_url"], str) and r["weights_url"].startswith("https://")
          for r in rows), [r["weights_url"] for r in rows][:3])
check("models --json: the weights lookup <dir>/<dataset>/<arch>.h5 and its presence",
      all(r["weights_file"] == os.path.join(WDIR, "fashionmnist", r["name"] + ".h5")
          and r["weights_present"] == os.path.exists(r["weights_file"]) for r in rows)
      and {r["name"] for r in rows if r["weights_present"]} ==
      {f[:-3] for f in os.listdir(os.path.join(WDIR, "fashionmnist")) if f.endswith(".h5")},
      [(r["name"], r["weights_present"]) for r in rows if r["weights_present"]])
text, _ = run("models")
urls = {line.split()[0]: line.split()[-1] for line in text.stdout.splitlines()[1:]
        if len(line.split()) >= 8}
check("models: the text lists the same URLs in its last column",
      all(urls.get(r["name"]) == r["weights_url"] for r in rows), list(urls.items())[:2])
# the default weights dir: $DUALCNN_WEIGHTS, else ./weights of the working directory
cwd = fresh_cwd()
os.makedirs(os.path.join(cwd, "weights", "cifar10"))
open(os.path.join(cwd, "weights", "cifar10", "resnet32.h5"), "wb").close()
p, _ = run("models", "--json", cwd=cwd)
present = [r["name"] for r in parse_json(p).get("models", []) if r["weights_present"]]
check("models --json: ./weights by default", present == ["resnet32"], present)
p, _ = run("models", "--json", env=env_for(DUALCNN_WEIGHTS=WDIR), cwd=cwd)
present = [r["name"] for r in parse_json(p).get("models", []) if r["weights_present"]]
check("models --json: $DUALCNN_WEIGHTS before ./weights", present == [], present)

# ---- classify --json, with class names that need escaping -----------------------------
from PIL import Image  # noqa: E402  (torchvision's dependency)

img_dir = os.path.join(WORK, "images")
os.makedirs(img_dir)
img = os.path.join(img_dir, "shirt.png")
Image.fromarray(rng.randint(0, 256, size=(28, 28)).astype(np.uint8)).save(img)
names = ['T-shirt "top"', "back\\slash", "new\nline", "tab\there", "bell\x07", "Tシャツ",
         "überlanger Klassenname, der jede Spalte sprengen würde " * 2, "ctrl\x1f", "plain",
         "é"]
named = os.path.join(WORK, "named.h5")
shutil.copy(os.path.join(WDIR, "fashionmnist", "resnet20.h5"), named)
with h5py.File(named, "r+") as f:
    f.attrs["class_names"] = np.array(names, dtype=h5py.string_dtype("utf-8"))
p, cwd = run("classify", "-w1", named, "--json", img, os.path.join(img_dir, "missing.png"))
c = parse_json(p)
ims = c.get("images", [])
top = ims[0]["top"] if ims else []
check("classify --json: the model, one image with its top-5, the unreadable one in errors",
      p.returncode == 1 and c.get("model") == "resnet20" and len(ims) == 1 and len(top) == 5
      and ims[0]["path"] == img and len(c.get("errors", [])) == 1
      and "missing.png" in c["errors"][0], c)
check("classify --json: class names survive escaping (quotes, backslash, control "
      "characters, UTF-8)",
      all(t["name"] == names[t["class"]] for t in top) and
      [t["rank"] for t in top] == [1, 2, 3, 4, 5] and
      all(top[i]["probability"] >= top[i + 1]["probability"] for i in range(4)), top)
p, _ = run("classify", "-w1", os.path.join(WDIR, "fashionmnist", "resnet20.h5"), "--json", img)
c2 = parse_json(p)
p3, _ = run("classify", "-w1", named, img)
lines = [line for line in p3.stdout.splitlines() if re.match(r"\s+\d\. ", line)]
cols = {re.search(r"%", line).start() for line in lines}


def shown(name):
    return "".join("\\x%02x" % ord(ch) if ord(ch) < 0x20 or ord(ch) == 0x7f else ch
                   for ch in name)


check("classify: the class name comes last (control characters as \\xNN), so every line "
      "keeps its columns",
      len(lines) == 5 and len(cols) == 1 and
      all(line.endswith(" " + shown(names[t["class"]])) for line, t in zip(lines, top))
      and p3.returncode == 0, p3.stdout)
check("classify --json: probabilities sum to at most 1, names of the file's classes",
      p.returncode == 0 and sum(t["probability"] for t in c2["images"][0]["top"]) <= 1 + 1e-6,
      c2)

# ---- predict: the cache lives under $XDG_CACHE_HOME/dualcnn, nothing in the cwd --------
p, cwd = run("predict", "-m", "resnet20", *common, "--limit", "60")
check("predict: nothing written in the working directory",
      p.returncode == 0 and files_under(cwd) == [], (p.stderr, files_under(cwd)))
xdg_files = files_under(os.path.join(XDG, "dualcnn")) if os.path.isdir(
    os.path.join(XDG, "dualcnn")) else []
check("predict: the cache under $XDG_CACHE_HOME/dualcnn",
      len(xdg_files) == 1 and xdg_files[0].startswith("resnet20-"), xdg_files)
p, cwd = run("predict", "-m", "resnet20", *common, "--limit", "60")
check("predict: the second run reads that cache", "from the cache" in p.stderr and
      os.path.join(XDG, "dualcnn") in p.stderr, p.stderr)
p, cwd = run("predict", "-m", "resnet20", *common, "--limit", "60", env=env_for(xdg=None))
home_cache = os.path.join(HOME, ".cache", "dualcnn")
check("predict: ~/.cache/dualcnn without $XDG_CACHE_HOME",
      p.returncode == 0 and os.path.isdir(home_cache) and len(os.listdir(home_cache)) == 1,
      p.stderr)
p, cwd = run("predict", "-m", "resnet20", *common, "--limit", "50",
             env=env_for(xdg="relative/cache"))
check("predict: a relative $XDG_CACHE_HOME is ignored (the XDG spec): ~/.cache/dualcnn",
      p.returncode == 0 and files_under(cwd) == [] and len(os.listdir(home_cache)) == 2,
      (files_under(cwd), os.listdir(home_cache)))
own = os.path.join(WORK, "own-cache", "deeper")
p, cwd = run("predict", "-m", "resnet20", *common, "--limit", "40", "--cache-dir", own)
check("predict --cache-dir DIR: there (created with its parents), nowhere else",
      p.returncode == 0 and len(os.listdir(own)) == 1 and files_under(cwd) == [], p.stderr)

# ---- threshold --json ------------------------------------------------------------------
tcommon = ["-m1", "shufflenetv2_x0_5", "-m2", "resnet20", *common, "-t", "--limit", "120"]
p, cwd = run("threshold", *tcommon, "--max-loss", "0.5", "--max-usage", "0.2", "--json")
t = parse_json(p)
point_fields = {"lambda", "accuracy", "usage", "macs_per_image"}
lines_ = t.get("lines", [])
check("threshold --json: six lines (score x post-check), each with lambda, accuracy, "
      "usage and MACs",
      p.returncode == 0 and len(lines_) == 6 and
      {(x["score"], x["postcheck"]) for x in lines_} ==
      {(s, b) for s in ("maxp", "difference", "entropy") for b in (False, True)} and
      all(point_fields <= set(x["best"]) and point_fields <= set(x["cheapest_within"] or {})
          for x in lines_), t)
check("threshold --json: nothing but the JSON on stdout, nothing in the cwd",
      "__error__" not in t and files_under(cwd) == [], (files_under(cwd), p.stdout[:200]))
best = max(lines_, key=lambda x: (x["best"]["accuracy"], -x["best"]["usage"])) if lines_ else {}
ch = t.get("chosen", {})
check("threshold --json: the chosen most accurate point is the best line's best",
      ch.get("most_accurate") and ch["most_accurate"]["point"]["accuracy"] ==
      best["best"]["accuracy"] and ch["most_accurate"]["point"]["usage"] == best["best"]["usage"],
      ch)
macs1 = next(a["macs_per_image"] for a in t.get("alone", [{}]) if a["model"] ==
             "shufflenetv2_x0_5")
macs2 = next(a["macs_per_image"] for a in t.get("alone", [{}]) if a["model"] == "resnet20")
curve = os.path.join(WORK, "curve.csv")
p2, _ = run("threshold", *tcommon, "--curve", curve)
rows = list(csv.DictReader(open(curve))) if os.path.exists(curve) else []
floor = best["best"]["accuracy"] - 0.005 - 1e-9
within = [r for r in rows if float(r["accuracy"]) >= floor]
want = min(float(r["usage"]) for r in within) if within else None
got = ch.get("cheapest_within", {}) or {}
check("threshold --json: the chosen cheapest point within 0.5 points is the least usage "
      "of any line's curve within 0.5 points of the best",
      want is not None and abs(got["point"]["usage"] - want) < 1e-5 and
      abs(got["point"]["macs_per_image"] - (macs1 + want * macs2)) < 1.0, (got, want))
under = [r for r in rows if float(r["usage"]) <= 0.2 + 1e-9]
want = max(float(r["accuracy"]) for r in under) if under else None
got = ch.get("best_under_usage", {}) or {}
check("threshold --json: the chosen best point under usage 0.2",
      want is not None and abs(got["point"]["accuracy"] - want) < 1e-5 and
      got["point"]["usage"] <= 0.2, (got, want))
text = {}
for line in p2.stdout.splitlines():
    f = line.split()
    if f and f[0] in ("maxp", "difference", "entropy") and "lambda" in f:
        text[(f[0], "post-check" in f)] = float(f[f.index("lambda") + 1])
check("threshold: the text and the JSON give the same lambdas",
      len(text) == 6 and all(abs(text[(x["score"], x["postcheck"])] - x["best"]["lambda"])
                             < 6e-5 for x in lines_), (text, lines_))
check("threshold: the text names the chosen operating point",
      re.search(r"^chosen most accurate:", p2.stdout, re.M) is not None, p2.stdout)

# ---- complementarity --json; no CSV unless asked -----------------------------------------
ccommon = ["--models", "shufflenetv2_x0_5,resnet20,resnet32", *common, "-t", "--limit", "120"]
p, cwd = run("complementarity", *ccommon, "--json")
c = parse_json(p)
k = len(c.get("models", []))
check("complementarity --json: models, both matrices, the ranking of the 3 pairs",
      p.returncode == 0 and k == 3 and len(c.get("paper", [])) == 3 and
      all(len(r) == 3 for r in c["paper"]) and len(c.get("ranking", [])) == 3 and
      all({"first", "second", "paper", "code", "per_gmac", "rank"} <= set(r)
          for r in c["ranking"]) and c.get("partial") is False, c)
check("complementarity --json: the paper's matrix is symmetric, its diagonal 0",
      k == 3 and all(abs(c["paper"][i][j] - c["paper"][j][i]) < 1e-12 and c["paper"][i][i] == 0
                     for i in range(3) for j in range(3)), c.get("paper"))
pair_vals = {frozenset((r["first"], r["second"])): r["paper"] for r in c.get("ranking", [])}
names3 = [x["name"] for x in c.get("models", [])]
check("complementarity --json: each ranked pair's value is the matrix's",
      all(abs(pair_vals[frozenset((names3[i], names3[j]))] - c["paper"][i][j]) < 1e-12
          for i in range(3) for j in range(i + 1, 3)) if k == 3 else False, pair_vals)
check("complementarity: no file in the working directory unless asked (no "
      "complementarity.csv, no .dualcnn-cache)", files_under(cwd) == [], files_under(cwd))
p, cwd = run("complementarity", *ccommon, "--csv", "m.csv")
check("complementarity --csv FILE: that file only",
      p.returncode == 0 and files_under(cwd) == ["m.csv"], files_under(cwd))

# ---- run --json ---------------------------------------------------------------------------
rcommon = ["-m1", "shufflenetv2_x0_5", "-m2", "resnet20", "-D", "fashionmnist",
           "--weights-dir", WDIR, "-i", data, "-s", "maxp", "-t", "0.6", "-m", "dhash", "-d",
           "0.5", "--limit", "80"]
p, cwd = run("run", *rcommon, "--json")
r = parse_json(p)
cls = r.get("classes", [])
check("run --json: the report's fields",
      p.returncode == 0 and {"config", "accuracy", "classes", "macro_avg", "weighted_avg",
                             "second_model_usage", "memory", "answers", "response_ms",
                             "time_per_input_ms", "macs_per_image", "energy", "wall_seconds",
                             "partial"} <= set(r) and len(cls) == 10 and
      r["config"]["inputs"] == 120 and r["inputs_done"] == 120, r)
check("run --json: answers add up; accuracy is the support-weighted recall",
      sum(r["answers"].values()) == 120 and r["answers"]["memory"] == r["memory"]["hits"] and
      abs(sum(x["recall"] * x["support"] for x in cls) / sum(x["support"] for x in cls)
          - r["accuracy"]) < 1e-9 and r["config"]["threads"] >= 1, r.get("answers"))
check("run --json: the header goes to stderr, nothing in the cwd",
      "dualcnn run: shufflenetv2_x0_5 -> resnet20" in p.stderr and files_under(cwd) == [],
      (p.stderr[:300], files_under(cwd)))
p2, _ = run("run", *rcommon)
acc = re.search(r"^\s+accuracy\s+([\d.]+)", p2.stdout, re.M)
check("run: the text report's accuracy is the JSON's",
      acc is not None and abs(float(acc.group(1)) - r["accuracy"]) < 6e-5, p2.stdout[-800:])

# ---- everything named is checked before any compute ----------------------------------------
typo_cache = os.path.join(WORK, "typo-cache")
for label, args, frag in [
        ("threshold: a typo in -m2", ["threshold", "-m1", "resnet20", "-m2", "resnet2O",
                                      *common], "resnet2O"),
        ("threshold: -m2 without a weight file", ["threshold", "-m1", "resnet20", "-m2",
                                                  "vgg13_bn", *common], "vgg13_bn.h5"),
        ("threshold: --curve into a missing folder", ["threshold", "-m1", "resnet20", "-m2",
                                                      "resnet32", *common, "--curve",
                                                      "/nonexistent/c.csv"], "/nonexistent"),
        ("complementarity: a typo in the third name",
         ["complementarity", "--models", "resnet20,resnet32,resnt44", *common], "resnt44"),
        ("complementarity: --svg into a missing folder",
         ["complementarity", "--models", "resnet20,resnet32", *common, "--svg",
          "/nonexistent/h.svg"], "/nonexistent"),
        ("predict: a missing dataset", ["predict", "-m", "resnet20", *common[:-1],
                                        os.path.join(WORK, "no-data")], "no-data")]:
    t0 = time.time()
    p, cwd = run(*args, "--cache-dir", typo_cache)
    secs = time.time() - t0
    check(f"{label}: reported before any model runs (exit 1, {secs:.2f} s, nothing cached)",
          p.returncode == 1 and frag in p.stderr and secs < 5 and
          not os.path.exists(typo_cache) and files_under(cwd) == [],
          (p.returncode, p.stderr, secs))
t0 = time.time()
p, _ = run("run", "-m1", "vgg11_bn", "-m2", "resnet2O", "-D", "fashionmnist", "--weights-dir",
           WDIR, "-i", data, "-t", "0.5", "--json")
check("run: a typo in -m2 reported before the first model loads",
      p.returncode == 1 and "-m2" in p.stderr and "resnet2O" in p.stderr and p.stdout == "" and
      time.time() - t0 < 5, p.stderr)
p, _ = run("run", *rcommon, "--report", "/nonexistent/r.csv")
check("run: --report into a missing folder reported before the run",
      p.returncode == 1 and "/nonexistent" in p.stderr and "Wall time" not in p.stdout,
      p.stderr)


# ---- progress: on a terminal only, never with --quiet --------------------------------------
def run_with_tty_stderr(args, cwd):
    """(exit status, stdout, what the terminal on stderr received)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=slave, cwd=cwd,
                            env=env_for())
    os.close(slave)
    got = b""
    while True:
        r_, _, _ = select.select([master], [], [], 60)
        if not r_:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        got += chunk
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, out, got.decode(errors="replace")


prog = re.compile(r"\d+/\d+ samples .*[\d.]+ samples/s +(ETA|in)")
pargs = ["predict", "-m", "resnet32", *common, "--batch", "16", "--cache-dir",
         os.path.join(WORK, "prog-cache")]
rc, out, tty = run_with_tty_stderr(pargs, fresh_cwd())
check("predict: a progress line with rate and ETA on a terminal",
      rc == 0 and prog.search(tty) is not None and "ETA" in tty and "\r" in tty, repr(tty[-400:]))
shutil.rmtree(os.path.join(WORK, "prog-cache"))
rc, out, tty = run_with_tty_stderr(pargs + ["-q"], fresh_cwd())
check("predict -q: no progress line on a terminal", rc == 0 and "samples/s" not in tty
      and "\r" not in tty, repr(tty[-400:]))
shutil.rmtree(os.path.join(WORK, "prog-cache"))
p, _ = run(*pargs)
check("predict: no progress line when stderr is not a terminal",
      p.returncode == 0 and "samples/s" not in p.stderr and "\r" not in p.stderr, p.stderr)
rc, out, tty = run_with_tty_stderr(["run", *rcommon, "--json"], fresh_cwd())
check("run --json on a terminal: progress with rate on stderr, stdout still one JSON object",
      rc == 0 and re.search(r"\d+/\d+ inputs .*inputs/s", tty) is not None and
      "accuracy" in json.loads(out), repr(tty[-300:]))
rc, out, tty = run_with_tty_stderr(["run", *rcommon, "--quiet"], fresh_cwd())
check("run --quiet on a terminal: no progress line", rc == 0 and "inputs/s" not in tty, tty)
for cmd, extra in [("threshold", ["-m1", "resnet44", "-m2", "resnet56"]),
                   ("complementarity", ["--models", "resnet44,resnet56"])]:
    cdir = os.path.join(WORK, "prog-" + cmd)
    rc, out, tty = run_with_tty_stderr([cmd, *extra, *common, "--limit", "64", "--batch", "16",
                                        "--cache-dir", cdir], fresh_cwd())
    check(f"{cmd}: progress while it computes predictions, on a terminal",
          rc == 0 and len(prog.findall(tty)) >= 2, repr(tty[-300:]))
    rc, out, tty = run_with_tty_stderr([cmd, *extra, *common, "--limit", "64", "--cache-dir",
                                        cdir + "-q", "-q"], fresh_cwd())
    check(f"{cmd} -q: no progress", rc == 0 and "samples/s" not in tty, repr(tty[-300:]))

dctest.finish()
