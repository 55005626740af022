#!/usr/bin/python3
"""The paper's pipeline on the shipped FashionMNIST models, end to end, with the dualcnn CLI.

1. complementarity: every pair of the shipped models on the validation split (the last
   10,000 training images, which tools/train.py held out), ranked per GMAC;
2. threshold: the exact lambda search for every ranked pair on the validation split (the
   cheaper model first); each pair at its lambda of highest accuracy (the paper's rule), and
   of the pairs within --margin points of the most accurate single model the cheapest; and,
   over every pair and lambda, the cheapest lambda still within --margin points;
3. run: on the test split with duplicates (ratio -d, rotation probability -r), the cascade
   with memory at those two operating points (once if they coincide), and beside it the
   same stream through each single model (and the most accurate one with memory): accuracy, second-model usage, memory hits, MACs per image,
   latency and energy, with the saving in MACs against the most accurate single model.

Only the Python standard library and build/cli/dualcnn are used; every number comes from a
`dualcnn` command, whose report rows (--report CSV) are kept in --work.

    /usr/bin/python3 tools/demo.py                 # the whole test split (a few minutes)
    /usr/bin/python3 tools/demo.py --val-limit 500 --test-limit 300   # a quick look
"""

import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FASHION_TRAIN = 60000
VAL_SIZE = 10000  # tools/train.py holds out the last 10,000 training images


class DemoError(Exception):
    pass


def run_cli(args, what):
    """Runs one dualcnn command; returns its stdout, or raises naming the step that failed."""
    t0 = time.time()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise DemoError(f"{what} failed (exit {p.returncode}):\n  {' '.join(args)}\n"
                        f"{p.stderr.strip()}")
    return p.stdout, time.time() - t0


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


_MACS = {}


def model_macs(dualcnn):
    """{architecture: MACs per image}, from `dualcnn models --json` (asked once); empty if
    the program cannot say (then every model weighs the same)."""
    if dualcnn not in _MACS:
        try:
            out = subprocess.run([dualcnn, "models", "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True, check=True).stdout
            _MACS[dualcnn] = {m["name"]: m["macs"] for m in json.loads(out)["models"]}
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError, TypeError):
            _MACS[dualcnn] = {}
    return _MACS[dualcnn]


def shipped_models(weights_dir):
    files = sorted(glob.glob(os.path.join(weights_dir, "fashionmnist", "*.h5")))
    return [os.path.splitext(os.path.basename(f))[0] for f in files]


def parse_alone(stdout):
    """`dualcnn threshold` prints "alone: A 91.23% (40.813 MMACs), B 93.10% (...)";
    returns {model: (accuracy %, MMACs)}."""
    for line in stdout.splitlines():
        if line.startswith("alone: "):
            out = {}
            for part in line[len("alone: "):].split(", "):
                name, acc, macs = part.split(" ")[:3]
                out[name] = (float(acc.rstrip("%")), float(macs.lstrip("(")))
            return out
    raise DemoError("dualcnn threshold printed no 'alone:' line")


def curve_point(row, pair):
    """One row of a `dualcnn threshold --curve` CSV as an operating point."""
    return {"pair": pair, "score": row["score"], "postcheck": row["postcheck"] == "1",
            "lambda": float(row["lambda"]), "acc": 100.0 * float(row["accuracy"]),
            "usage": float(row["usage"]), "macs": float(row["macs_per_image"])}


def choose_operating_point(curve, pair):
    """The paper's rule: the lambda of highest accuracy on the curve (ties: fewest MACs)."""
    best = None
    for p in (curve_point(row, pair) for row in curve):
        if best is None or p["acc"] > best["acc"] + 1e-9 or (abs(p["acc"] - best["acc"]) <= 1e-9
                                                             and p["macs"] < best["macs"]):
            best = p
    return best


def cheapest_operating_point(curve, pair, target):
    """The lambda of fewest MACs whose accuracy still reaches target (ties: the more
    accurate); None when no lambda of this pair reaches it."""
    best = None
    for p in (curve_point(row, pair) for row in curve):
        if p["acc"] + 1e-9 < target:
            continue
        if best is None or p["macs"] < best["macs"] or (p["macs"] == best["macs"]
                                                        and p["acc"] > best["acc"]):
            best = p
    return best


def describe(point):
    pc = " with post-check" if point["postcheck"] else ""
    return (f"{point['pair'][0]} -> {point['pair'][1]} (rank {point['rank']}), "
            f"{point['score']}{pc}, lambda {point['lambda']:.4f}: validation accuracy "
            f"{point['acc']:.2f}%, usage {100 * point['usage']:.1f}%, "
            f"{point['macs'] * 1e-6:.2f} MMACs/image")


def split_args(args):
    return ["-D", "fashionmnist", "--weights-dir", args.weights_dir, "--cache", args.cache]


def validation_args(args):
    """The validation split (the last VAL_SIZE training images, --val-limit of them), as
    `predict`, `complementarity` and `threshold` take it: all three must name the same
    split for the prediction cache to be shared."""
    val = ["-v", args.data, "-t", "--skip", str(args.val_skip)]
    return val + (["--limit", str(args.val_limit)] if args.val_limit else []) + split_args(args)


def fill_prediction_cache(args, models):
    """Runs `dualcnn predict` for every model on the validation split, --jobs processes at
    a time with one thread each, so `complementarity` and `threshold` find the cache full.
    On a small machine this beats one model at a time on every core: the small models'
    layers are too short for two threads to pay off (`dualcnn bench --threads 1` vs 2),
    while two processes keep both cores busy. The most MACs per image go first (longest
    job first), so the jobs started last are the short ones: on the shipped six, resnet20
    before shufflenetv2_x0_5, where ordering by weight file had put the longer of the two
    last."""
    if args.jobs <= 1:
        return  # complementarity fills the cache itself, with every thread
    queue = sorted(models, key=lambda m: model_macs(args.dualcnn).get(m, 0), reverse=True)
    running, failed = [], []  # running: (model, command, process)
    while queue or running:
        while queue and len(running) < args.jobs:
            m = queue.pop(0)
            cmd = [args.dualcnn, "predict", "-m", m, "--threads", "1", "-q"] + \
                validation_args(args)
            running.append((m, cmd, subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                                     stderr=subprocess.PIPE, text=True)))
        time.sleep(0.1)
        for job in [j for j in running if j[2].poll() is not None]:
            running.remove(job)
            m, cmd, p = job
            err = p.stderr.read()
            p.stderr.close()
            if p.returncode != 0:
                failed.append(f"dualcnn predict {m} failed (exit {p.returncode}):\n  "
                              f"{' '.join(cmd)}\n{err.strip()}")
    if failed:
        raise DemoError("\n".join(failed))


def step_complementarity(args, models, out):
    print(f"== 1. complementarity of {len(models)} models on the validation split", flush=True)
    t0 = time.time()
    fill_prediction_cache(args, models)
    ranking = os.path.join(args.work, "pairs.csv")
    cmd = [args.dualcnn, "complementarity", "--models", ",".join(models),
           "--csv", os.path.join(args.work, "comp.csv"), "--ranking", ranking,
           "--svg", os.path.join(args.work, "complementarity.svg"), "-q"] + validation_args(args)
    run_cli(cmd, "dualcnn complementarity")
    secs = time.time() - t0
    rows = read_csv(ranking)
    print(f"   {len(rows)} pairs ranked by complementarity per GMAC ({secs:.0f} s); the top 5:")
    for r in rows[:5]:
        print(f"   {r['rank']:>3}. {r['model_a']} + {r['model_b']}: complementarity "
              f"{float(r['complementarity']):.4f}, oracle {100 * float(r['oracle_accuracy']):.2f}%, "
              f"{float(r['gmacs']):.3f} GMACs")
    out["ranking"] = rows
    return rows


def step_threshold(args, ranking, out):
    print("== 2. threshold search on the validation split for every pair", flush=True)
    alone, points = {}, []

    def search(a, b):
        curve_path = os.path.join(args.work, f"curve-{a}-{b}.csv")
        cmd = [args.dualcnn, "threshold", "-m1", a, "-m2", b, "--curve", curve_path,
               "-q"] + validation_args(args)
        stdout, _ = run_cli(cmd, f"dualcnn threshold {a} -> {b}")
        return parse_alone(stdout), curve_path

    for r in ranking:
        a, b = r["model_a"], r["model_b"]
        seen, curve_path = search(a, b)
        if seen[a][1] > seen[b][1]:  # the cheaper model answers first
            a, b = b, a
            seen, curve_path = search(a, b)
        alone.update({m: v[0] for m, v in seen.items()})
        points.append(((a, b), r["rank"], read_csv(curve_path)))
    best_single = max(alone, key=lambda m: alone[m])
    target = alone[best_single] - args.margin
    print(f"   most accurate single model on validation: {best_single} "
          f"{alone[best_single]:.2f}%; target for the cascade: {target:.2f}%")
    # each pair at its most accurate lambda; of the pairs within the margin of the most
    # accurate single model, the cheapest; if none is, the most accurate pair
    best = [dict(choose_operating_point(curve, pair), rank=rank)
            for pair, rank, curve in points if curve]
    if not best:
        raise DemoError("the threshold search gave no curve")
    good = [p for p in best if p["acc"] + 1e-9 >= target]
    chosen = (min(good, key=lambda p: p["macs"]) if good
              else max(best, key=lambda p: p["acc"]))
    print(f"   chosen (each pair at its most accurate lambda, the paper's rule): "
          f"{describe(chosen)}")
    # the other reading of "within the margin": any lambda of any pair that reaches the
    # target, the cheapest of them
    cheap = [dict(p, rank=rank) for pair, rank, curve in points
             if (p := cheapest_operating_point(curve, pair, target))]
    cheapest = min(cheap, key=lambda p: p["macs"]) if cheap else None
    if cheapest:
        print(f"   cheapest lambda reaching the target: {describe(cheapest)}")
    out["alone_val"], out["best_single"], out["chosen"] = alone, best_single, chosen
    out["cheapest"] = cheapest
    return alone, best_single, chosen


def run_stream(args, label, m1, m2=None, point=None, memory=None):
    report = os.path.join(args.work, "report.csv")
    cmd = [args.dualcnn, "run", "-m1", m1, "-i", args.data, "-d", str(args.duplicates),
           "-r", str(args.rotations), "--seed", str(args.seed), "--report", report, "-q",
           "-D", "fashionmnist", "--weights-dir", args.weights_dir]
    if m2:
        cmd += ["-m2", m2, "-s", point["score"], "-t", repr(point["lambda"])]
        if point["postcheck"]:
            cmd.append("-p")
    if memory:
        cmd += ["-m", memory]
    if args.test_limit:
        cmd += ["--limit", str(args.test_limit)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    stdout, secs = run_cli(cmd, f"dualcnn run ({label})")
    row = read_csv(report)[-1]
    row["label"] = label
    row["energy_note"] = ""
    for line in stdout.splitlines():
        if line.startswith("Energy: unavailable"):
            row["energy_note"] = line[len("Energy: "):]
    print(f"   {label}: accuracy {100 * float(row['accuracy']):.2f}%, "
          f"{float(row['macs_per_image']) * 1e-6:.2f} MMACs/image ({secs:.0f} s)", flush=True)
    return row


def fmt_energy(row):
    if row["energy_source"] == "unavailable":
        return "n/a"
    return f"{float(row['mj_per_image']):.3f}"


def table(rows, best_label):
    base = next(r for r in rows if r["label"] == best_label)
    base_macs = float(base["macs_per_image"])
    base_acc = 100 * float(base["accuracy"])
    head = ["run", "accuracy %", "vs best", "2nd-model usage %", "memory hits %",
            "MMACs/image", "MACs saved %", "mean ms", "p95 ms", "mJ/image"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        n = max(1, int(r["inputs"]))
        macs = float(r["macs_per_image"])
        acc = 100 * float(r["accuracy"])
        usage = f"{100 * float(r['usage']):.1f}" if r["model2"] else "—"
        hits = f"{100 * int(r['memory_hits']) / n:.1f}" if r["memory"] else "—"
        lines.append("| " + " | ".join([
            r["label"], f"{acc:.2f}", f"{acc - base_acc:+.2f}", usage, hits,
            f"{macs * 1e-6:.2f}", f"{100 * (1 - macs / base_macs):.1f}",
            f"{float(r['mean_ms']):.3f}", f"{float(r['p95_ms']):.3f}", fmt_energy(r)]) + " |")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("--dualcnn", default=os.path.join(ROOT, "build", "cli", "dualcnn"),
                    help="the dualcnn program (default build/cli/dualcnn)")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="FashionMNIST IDX files (Debian's dataset-fashion-mnist)")
    ap.add_argument("--weights-dir", default=os.path.join(ROOT, "weights"))
    ap.add_argument("--models", help="comma-separated models (default: every file in "
                    "<weights dir>/fashionmnist/)")
    ap.add_argument("--work", default=os.path.join(ROOT, "build", "demo"),
                    help="where the CSVs, plots and report rows go (default build/demo)")
    ap.add_argument("--cache", help="prediction cache (default <work>/cache)")
    ap.add_argument("--val-limit", type=int, default=0,
                    help="only the first N validation images (default all 10,000)")
    ap.add_argument("--test-limit", type=int, default=0,
                    help="only the first N test images (default all 10,000)")
    ap.add_argument("--margin", type=float, default=0.25,
                    help="accuracy points on validation a pair may give up against the most "
                    "accurate single model to be chosen for being cheaper (default 0.25)")
    ap.add_argument("--memory", default="invariants", choices=["dhash", "invariants"])
    ap.add_argument("-d", "--duplicates", type=float, default=1.0)
    ap.add_argument("-r", "--rotations", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=0, help="dualcnn threads for the runs "
                    "on the test split (default all)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="validation predictions computed at once, one thread each (default: "
                    "the number of CPUs; 1: one model at a time on every thread)")
    ap.add_argument("--singles", choices=["all", "best"], default="all",
                    help="run every single model on the stream, or the most accurate only")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args(argv)
    args.val_skip = FASHION_TRAIN - VAL_SIZE
    args.cache = args.cache or os.path.join(args.work, "cache")
    t_start = time.time()
    try:
        if not os.access(args.dualcnn, os.X_OK):
            raise DemoError(f"{args.dualcnn}: no dualcnn program there (build it: "
                            "meson setup build && ninja -C build)")
        for f in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
            if not (glob.glob(os.path.join(args.data, f + "*"))):
                raise DemoError(f"{args.data}: no {f}[.gz] (apt-get install "
                                "dataset-fashion-mnist)")
        models = args.models.split(",") if args.models else shipped_models(args.weights_dir)
        if len(models) < 2:
            raise DemoError(f"{args.weights_dir}/fashionmnist: {len(models)} weight files; "
                            "the cascade needs at least two")
        os.makedirs(args.work, exist_ok=True)
        report = os.path.join(args.work, "report.csv")
        if os.path.exists(report):
            os.remove(report)
        out = {}
        ranking = step_complementarity(args, models, out)
        alone, best_single, chosen = step_threshold(args, ranking, out)

        n_test = args.test_limit or 10000
        print(f"== 3. the test split ({n_test} images) plus duplicates: ratio "
              f"{args.duplicates:g}, rotation probability {args.rotations:g}", flush=True)
        rows = []
        singles = models if args.singles == "all" else [best_single]
        singles = sorted(singles, key=lambda m: -alone.get(m, 0))
        for m in singles:
            rows.append(run_stream(args, m, m))
        rows.append(run_stream(args, f"{best_single} + memory", best_single,
                               memory=args.memory))
        cascades = [("most accurate lambda", chosen)]
        cheapest = out["cheapest"]
        if cheapest and (cheapest["pair"], cheapest["score"], cheapest["postcheck"],
                         cheapest["lambda"]) != (chosen["pair"], chosen["score"],
                                                 chosen["postcheck"], chosen["lambda"]):
            cascades.append(("cheapest lambda", cheapest))
        for rule, point in cascades:
            m1, m2 = point["pair"]
            rows.append(run_stream(args, f"cascade {m1} -> {m2} + memory, {rule}", m1, m2,
                                   point, memory=args.memory))
            rows[-1]["rule"] = rule
    except (DemoError, OSError) as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1

    lines = table(rows, best_single)
    base = next(r for r in rows if r["label"] == best_single)
    sentences = []
    for cascade in (r for r in rows if "rule" in r):
        saving = 100 * (1 - float(cascade["macs_per_image"]) / float(base["macs_per_image"]))
        # the same difference as the table's "vs best" column, so the two round alike
        gain = 100 * float(cascade["accuracy"]) - 100 * float(base["accuracy"])
        change = (f"{-gain:.2f} points less accurate" if gain < 0
                  else f"{gain:.2f} points more accurate")
        sentences.append(f"With the {cascade['rule']} the cascade with memory needs {saving:.1f}% fewer "
                         f"MACs per image than {best_single}, the most accurate single model "
                         f"on validation, and is {change} on this stream.")
    summary = " ".join(sentences) + (" The paper reports up to 85.8% less energy with "
                                     "duplicated samples at near-equal accuracy.")
    print("\n" + "\n".join(lines) + "\n\n" + summary)
    notes = {r["energy_note"] for r in rows if r["energy_note"]}
    for n in sorted(notes):
        print(f"Energy: {n}")
    print(f"({time.time() - t_start:.0f} s; report rows: {report})")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n\n" + summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
