#!/usr/bin/python3
"""Time the models in PyTorch and in `dualcnn bench`, each in its own process, side by side.

  compare_pytorch.py --dualcnn build/cli/dualcnn [--models resnet20,vgg11_bn | cifar10 |
                     imagenet | all] [--max-gmacs X] [--threads 1,2] [--batch 1,64]
                     [--rounds 3] [--repeats 50] [--warmup 10] [--out FILE.md]
                     [--json FILE] [--force]

This script only orchestrates: it never imports torch. For every thread count T (one
table each, in the order given), every batch B and every model it runs R rounds, and each
round starts two fresh processes one after the other:
  - PyTorch: `PYTHON bench/torch_bench.py --arch NAME --dataset D --side S --batch B
    --threads T --repeats N --warmup W` (tools/cifar_models.py for the CIFAR-10 models,
    torchvision 0.14's model of that name for the ImageNet ones; random weights, eval mode,
    torch.inference_mode(), torch.set_num_threads(T); a random N(0, 1) batch of the input
    size `dualcnn models` lists);
  - dualcnn: `BIN bench --model NAME --batch B --threads T --repeats N --warmup W --json`
    (random weights, a random batch).
Both print one JSON line with every timed pass (times_ms); each round has its own warm-up.
Both children get OMP_NUM_THREADS=T in their environment. Running the sides in separate
processes matters: PyTorch's OpenMP threads keep spinning after its passes and would steal
a core from dualcnn if both ran in one process; alternating the rounds spreads any drift of
the machine (clock, other load) over both sides.

For each side the R x N timed passes of all rounds are pooled: the table shows their median
and, in brackets, their 10th-90th percentile spread. Batch 1 tables show ms per forward
pass and the ratio torch / dualcnn; tables for batch > 1 show images per second (B / time)
and the ratio dualcnn / torch. Either way a ratio above 1 means dualcnn is faster. After each
table a summary line gives the geometric mean of the ratios, the smallest (and its model)
and how many are below 1.0x. A side that fails (exit status, timeout, bad JSON) is reported
in its row, which the summary leaves out; the other models go on.

Output: the markdown tables on stdout (progress and the machine description on stderr),
also written to --out FILE.md; --json FILE writes every raw number (each round's JSON of
both sides, the pooled statistics, the summaries and the machine). The machine description
printed to stderr first: the CPU model (/proc/cpuinfo), dualcnn's version and OpenBLAS
configuration (`BIN --version`) and PyTorch's version and build (`torch_bench.py --info`).

The machine must be otherwise idle: the script refuses to start when the 1-minute load
average is above 0.5 unless --force is given; --wait S first waits up to S seconds for it
to fall (after a previous run the average takes a minute or two to decay), so that tables
can be measured back to back without --force. Run it with Debian's /usr/bin/python3; the
PyTorch side runs under --python (default /usr/bin/python3 when it exists, else this
interpreter), which needs torch and torchvision.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_BENCH = os.path.join(HERE, "torch_bench.py")
MAX_LOAD = 0.5


# ---- statistics ----------------------------------------------------------------------

def percentile(sorted_values, q):
    """Linear-interpolated percentile q in [0, 1] of sorted values (numpy's default)."""
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def spread(times):
    """(median, p10, p90) of a non-empty list of numbers."""
    s = sorted(times)
    return percentile(s, 0.5), percentile(s, 0.1), percentile(s, 0.9)


def summarize(ratios):
    """Summary of {model: ratio} (ratio > 1: dualcnn faster; None: the row failed).

    Returns {"n", "failed", "geomean", "min", "min_model", "below"}: geometric mean and
    minimum of the valid ratios, the model of the minimum (the first one on a tie) and the
    count of ratios below 1.0; geomean, min and min_model are None when none is valid."""
    valid = [(m, r) for m, r in ratios.items() if r is not None and r > 0]
    out = {"n": len(valid), "failed": len(ratios) - len(valid), "geomean": None, "min": None,
           "min_model": None, "below": sum(1 for _, r in valid if r < 1.0)}
    if valid:
        out["geomean"] = math.exp(sum(math.log(r) for _, r in valid) / len(valid))
        out["min_model"], out["min"] = min(valid, key=lambda mr: mr[1])
    return out


def summary_line(s):
    """'geomean 1.42x, min 0.91x (repvgg_a2), 2 of 19 below 1.0x' from summarize()."""
    if not s["n"]:
        text = "no valid ratio"
    else:
        text = "geomean %.2fx, min %.2fx (%s), %d of %d below 1.0x" % (
            s["geomean"], s["min"], s["min_model"], s["below"], s["n"])
    if s["failed"]:
        text += " (%d failed, left out)" % s["failed"]
    return text


# ---- the models ------------------------------------------------------------------------

def zoo(binary):
    """{name: (dataset, side, gmacs)} of every architecture, from `dualcnn models --json`."""
    out = subprocess.run([binary, "models", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=True).stdout.decode()
    return {m["name"]: (m["dataset"], m["input"][-1], m["macs"] / 1e9)
            for m in json.loads(out)["models"]}


def select_models(spec, archs, max_gmacs=None):
    """The model names of --models (a comma list, cifar10, imagenet or all) that are at
    most max_gmacs GMACs; raises ValueError naming unknown models."""
    if spec in ("cifar10", "imagenet", "all"):
        models = [m for m, (ds, _, _) in archs.items() if spec in ("all", ds)]
    else:
        models = [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in models if m not in archs]
    if unknown:
        raise ValueError("unknown model(s): %s" % ", ".join(unknown))
    if max_gmacs is not None:
        models = [m for m in models if archs[m][2] <= max_gmacs]
    return models


def int_list(text):
    """'1,2' -> [1, 2] for argparse; every value >= 1."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("not a comma-separated list of integers: %r" % text)
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("values must be integers >= 1: %r" % text)
    return values


# ---- running the two sides --------------------------------------------------------------

def run_json(cmd, timeout, env=None):
    """The last JSON object printed on stdout by cmd; raises RuntimeError with the reason."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, env=env)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (cmd[0], e.strerror or e))
    except subprocess.TimeoutExpired:
        raise RuntimeError("timed out after %d s" % timeout)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("exit status %d%s" % (proc.returncode, (": " + err[-1]) if err else ""))
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines()
             if ln.strip().startswith("{")]
    if not lines:
        raise RuntimeError("no JSON object on stdout")
    try:
        result = json.loads(lines[-1])
    except ValueError as e:
        raise RuntimeError("bad JSON (%s)" % e)
    times = result.get("times_ms")
    if not isinstance(times, list) or not times:
        raise RuntimeError("JSON lacks times_ms")
    return result


def side_commands(args, arch, dataset, side, batch, threads):
    """{'torch': argv, 'dualcnn': argv} of one round."""
    common = ["--batch", str(batch), "--threads", str(threads), "--repeats",
              str(args.repeats), "--warmup", str(args.warmup)]
    return {"torch": [args.python, TORCH_BENCH, "--arch", arch, "--dataset", dataset,
                      "--side", str(side)] + common,
            "dualcnn": [args.dualcnn, "bench", "--model", arch, "--json"] + common}


def measure(args, arch, dataset, side, batch, threads):
    """R alternating rounds of both sides for one model: {"torch": {...}, "dualcnn": {...},
    "ratio"} where each side holds its rounds' JSON, the pooled times and their spread,
    or "error"."""
    cmds = side_commands(args, arch, dataset, side, batch, threads)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    res = {s: {"rounds": [], "error": None} for s in ("torch", "dualcnn")}
    for r in range(args.rounds):
        for s in ("torch", "dualcnn"):
            if res[s]["error"]:
                continue
            print("  %s round %d/%d: %s" % (arch, r + 1, args.rounds, s), file=sys.stderr,
                  flush=True)
            try:
                res[s]["rounds"].append(run_json(cmds[s], args.timeout, env))
            except RuntimeError as e:
                res[s]["error"] = str(e)
    for s in ("torch", "dualcnn"):
        if not res[s]["error"]:
            pooled = [float(t) for rnd in res[s]["rounds"] for t in rnd["times_ms"]]
            med, p10, p90 = spread(pooled)
            res[s].update(times_ms=pooled, median_ms=med, p10_ms=p10, p90_ms=p90)
    ok = not res["torch"]["error"] and not res["dualcnn"]["error"] \
        and res["dualcnn"]["median_ms"] > 0
    res["ratio"] = res["torch"]["median_ms"] / res["dualcnn"]["median_ms"] if ok else None
    return res


# ---- tables --------------------------------------------------------------------------------

def table_header(batch):
    if batch == 1:
        return ["| model | GMACs | torch ms median (p10-p90) | dualcnn ms median (p10-p90) "
                "| torch / dualcnn |", "|---|---:|---:|---:|---:|"]
    return ["| model | GMACs | torch img/s median (p10-p90) | dualcnn img/s median (p10-p90) "
            "| dualcnn / torch |", "|---|---:|---:|---:|---:|"]


def side_cell(side, batch):
    if side["error"]:
        return "error: %s" % side["error"].replace("|", "/")
    if batch == 1:
        return "%.3f (%.3f-%.3f)" % (side["median_ms"], side["p10_ms"], side["p90_ms"])
    # images per second: the slowest passes (p90 time) give the low end
    return "%.1f (%.1f-%.1f)" % (batch * 1e3 / side["median_ms"], batch * 1e3 / side["p90_ms"],
                                 batch * 1e3 / side["p10_ms"])


def table_row(arch, gmacs, res, batch):
    ratio = "%.2fx" % res["ratio"] if res["ratio"] is not None else "-"
    return "| %s | %.3f | %s | %s | %s |" % (arch, gmacs, side_cell(res["torch"], batch),
                                             side_cell(res["dualcnn"], batch), ratio)


# ---- the machine -------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine_info(args):
    """What the run ran on: CPU, dualcnn --version lines, torch --info (or the error)."""
    info = {"cpu": cpu_model(), "cpus": os.cpu_count(), "load_1min": os.getloadavg()[0]}
    try:
        out = subprocess.run([args.dualcnn, "--version"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=True, timeout=60).stdout.decode()
        lines = out.splitlines()
        info["dualcnn"] = lines[0] if lines else ""
        for ln in lines[1:]:
            if ln.startswith("blas: "):
                info["blas"] = ln[len("blas: "):]
    except (OSError, subprocess.SubprocessError) as e:
        info["dualcnn"] = "unknown (%s)" % e
    try:
        t = run_json_plain([args.python, TORCH_BENCH, "--info"], 120)
        info["torch"], info["torchvision"] = t["torch"], t["torchvision"]
        info["torch_config"] = t["config"]
    except RuntimeError as e:
        info["torch"] = "unknown (%s)" % e
    return info


def run_json_plain(cmd, timeout):
    """The JSON line printed by cmd (no times_ms needed); RuntimeError otherwise."""
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError("exit status %d: %s" % (
                proc.returncode, proc.stderr.decode("utf-8", "replace").strip()[-300:]))
        return json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as e:
        raise RuntimeError(str(e))


def describe_machine(info):
    lines = ["CPU: %s (%s CPUs), 1-minute load %.2f" % (info["cpu"], info["cpus"],
                                                       info["load_1min"]),
             "dualcnn: %s; BLAS: %s" % (info.get("dualcnn"), info.get("blas", "unknown")),
             "PyTorch: %s (torchvision %s)" % (info.get("torch"), info.get("torchvision", "?"))]
    for ln in info.get("torch_config", "").splitlines():
        if "MKL-DNN" in ln or "CPU capability" in ln:
            lines.append("  " + ln.strip())
    return lines


def write_atomic(path, text):
    """Writes text to path through a temporary file in the same folder, then renames."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".compare_pytorch.", dir=d)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- main --------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="compare_pytorch.py",
        description="Time the models in PyTorch and in `dualcnn bench`, each side in its own "
                    "process, in alternating rounds; print markdown tables with the ratios.",
        epilog="Ratios above 1 mean dualcnn is faster (batch 1: torch ms / dualcnn ms; "
               "batch > 1: dualcnn img/s / torch img/s). Medians and 10th-90th percentiles "
               "pool every timed pass of all rounds.")
    p.add_argument("--dualcnn", required=True, metavar="BIN", help="the dualcnn executable")
    p.add_argument("--models", default="cifar10",
                   help="comma-separated architectures, or cifar10 (the default: the 19 "
                        "CIFAR-10 models), imagenet (the 40 torchvision models) or all")
    p.add_argument("--max-gmacs", type=float, metavar="X",
                   help="keep only models of at most X GMACs per image")
    p.add_argument("--threads", type=int_list, default=[1], metavar="T1,T2",
                   help="thread counts, one table each (default: 1)")
    p.add_argument("--batch", type=int_list, default=[1], metavar="B1,B2",
                   help="batch sizes, one table each (default: 1)")
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating rounds per model, a fresh process of each side every "
                        "round (default: 3)")
    p.add_argument("--repeats", type=int, default=50,
                   help="timed passes per round and side (default: 50)")
    p.add_argument("--warmup", type=int, default=10,
                   help="untimed passes at the start of every round (default: 10)")
    p.add_argument("--timeout", type=int, default=600,
                   help="seconds allowed to each process (default: 600)")
    p.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                   else sys.executable,
                   help="the interpreter (with torch) that runs bench/torch_bench.py "
                        "(default: /usr/bin/python3)")
    p.add_argument("--out", metavar="FILE.md", help="also write the tables there")
    p.add_argument("--json", metavar="FILE", help="write every raw number there")
    p.add_argument("--force", action="store_true",
                   help="run even when the load average says another job is running")
    p.add_argument("--wait", type=int, default=0, metavar="SECONDS",
                   help="wait up to this long for the load average to fall to %.1f before "
                        "starting (the load of a run just ended takes a minute or two to "
                        "decay); then refuse, or go on with --force" % MAX_LOAD)
    args = p.parse_args(argv)
    for name, value, low in (("--rounds", args.rounds, 1), ("--repeats", args.repeats, 1),
                             ("--warmup", args.warmup, 0), ("--timeout", args.timeout, 1)):
        if value < low:
            p.error("%s must be at least %d" % (name, low))
    if args.max_gmacs is not None and args.max_gmacs <= 0:
        p.error("--max-gmacs must be positive")
    try:
        archs = zoo(args.dualcnn)
    except (OSError, subprocess.CalledProcessError) as e:
        p.error("cannot list the models with %s models: %s" % (args.dualcnn, e))
    try:
        models = select_models(args.models, archs, args.max_gmacs)
    except ValueError as e:
        p.error("%s (see %s models)" % (e, args.dualcnn))
    if not models:
        p.error("no model left (--models %s, --max-gmacs %s)" % (args.models, args.max_gmacs))
    return args, archs, models


def main(argv=None):
    args, archs, models = parse_args(argv)
    load = os.getloadavg()[0]
    deadline = time.monotonic() + max(args.wait, 0)
    while load > MAX_LOAD and time.monotonic() < deadline:
        time.sleep(5)
        load = os.getloadavg()[0]
    if load > MAX_LOAD and not args.force:
        print("compare_pytorch.py: the 1-minute load average is %.2f (above %.1f): another "
              "job seems to be running and would bias the timings; wait for it, or pass "
              "--force" % (load, MAX_LOAD), file=sys.stderr)
        return 1
    info = machine_info(args)
    for ln in describe_machine(info):
        print(ln, file=sys.stderr)
    sys.stderr.flush()

    settings = {"models": models, "threads": args.threads, "batch": args.batch,
                "rounds": args.rounds, "repeats": args.repeats, "warmup": args.warmup}
    md = ["Machine: %s" % "; ".join(describe_machine(info)[:3]), "",
          "Each side in its own process, %d alternating round(s) per model (torch first), "
          "%d timed passes after %d warm-up pass(es) per round; medians and 10th-90th "
          "percentiles of all rounds' passes." % (args.rounds, args.repeats, args.warmup), ""]
    if load > MAX_LOAD:
        md[1:1] = ["", "**Measured with --force at a 1-minute load average of %.2f: another "
                   "job was running; these numbers are biased.**" % load]
    print("\n".join(md), flush=True)
    tables = []
    for threads in args.threads:
        for batch in args.batch:
            head = ["### batch %d, %d thread%s" % (batch, threads, "" if threads == 1 else "s"),
                    ""] + table_header(batch)
            print("\n".join(head), flush=True)
            rows = []
            for arch in models:
                dataset, side, gmacs = archs[arch]
                print("timing %s (batch %d, %d thread(s)) ..." % (arch, batch, threads),
                      file=sys.stderr, flush=True)
                res = measure(args, arch, dataset, side, batch, threads)
                res.update(model=arch, gmacs=gmacs)
                rows.append(res)
                line = table_row(arch, gmacs, res, batch)
                head.append(line)
                print(line, flush=True)
            summary = summarize({r["model"]: r["ratio"] for r in rows})
            tail = ["", summary_line(summary), ""]
            print("\n".join(tail), flush=True)
            md += head + tail
            tables.append({"threads": threads, "batch": batch, "rows": rows,
                           "summary": summary})
    if args.out:
        write_atomic(args.out, "\n".join(md) + "\n")
    if args.json:
        write_atomic(args.json, json.dumps({"machine": info, "settings": settings,
                                            "tables": tables}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
