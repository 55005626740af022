#!/usr/bin/python3
"""Time the models in PyTorch and in `dualcnn bench`, side by side.

  compare_pytorch.py --dualcnn build/cli/dualcnn [--models resnet20,vgg11_bn | cifar10 |
                     imagenet | all] [--batch 1] [--threads 1] [--repeats 50] [--warmup 10]

For each model, with the same batch, thread count, warm-up and repeats:
  - PyTorch: tools/cifar_models.py (CIFAR-10 models) or torchvision 0.14's model of that
    name (ImageNet models; GoogLeNet and Inception v3 without their training-only auxiliary
    heads) with random weights, eval mode, torch.inference_mode(), torch.set_num_threads(T);
    each timed pass is one forward of a random N(0, 1) batch of the model's input size
    (as `dualcnn models` lists it);
  - dualcnn: `BIN bench --model NAME --batch B --threads T --repeats R --warmup W --json`,
    which prints one JSON object {"model", "batch", "threads", "median_ms", "p10_ms",
    "p90_ms", "gflops", "peak_rss_mb"}.
Prints a markdown table on stdout (progress goes to stderr): median latency of one batch in
ms with the 10th-90th percentile spread in brackets, and the speed-up torch / dualcnn
(above 1: dualcnn is faster). A dualcnn failure is reported in its row; the others go on.

Run it on an otherwise idle machine; use Debian's /usr/bin/python3 (it has torch).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import cifar_models  # noqa: E402


def percentiles(times_ms):
    """(median, p10, p90) of a list of times in ms."""
    p10, med, p90 = np.percentile(np.asarray(times_ms), [10, 50, 90])
    return float(med), float(p10), float(p90)


def zoo(binary):
    """{name: (dataset, side)} of every implemented architecture, from `dualcnn models`."""
    out = subprocess.run([binary, "models"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         check=True).stdout.decode()
    archs = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 7 and f[-1] == "implemented" and "x" in f[3]:
            archs[f[0]] = (f[2], int(f[3].split("x")[-1]))
    return archs


def build_torch_model(arch, dataset):
    if dataset == "cifar10":
        return cifar_models.build(arch)
    import torchvision
    kwargs = {"aux_logits": False, "init_weights": True} \
        if arch in ("googlenet", "inception_v3") else {}
    return torchvision.models.get_model(arch, weights=None, **kwargs)


def time_torch(arch, dataset, side, batch, threads, repeats, warmup):
    """(median, p10, p90) latency in ms of one forward pass of a batch in PyTorch."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_torch_model(arch, dataset).eval()
    x = torch.randn(batch, 3, side, side)
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    return percentiles(times)


def time_dualcnn(binary, arch, batch, threads, repeats, warmup, timeout):
    """The JSON object of `dualcnn bench --json`; raises RuntimeError with the reason."""
    cmd = [binary, "bench", "--model", arch, "--batch", str(batch), "--threads", str(threads),
           "--repeats", str(repeats), "--warmup", str(warmup), "--json"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)
    except OSError as e:
        raise RuntimeError("cannot run %s: %s" % (binary, e.strerror or e))
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
    missing = [k for k in ("median_ms", "p10_ms", "p90_ms") if k not in result]
    if missing:
        raise RuntimeError("JSON lacks %s" % ", ".join(missing))
    return result


def cell(med, p10, p90):
    return "%.3f (%.3f-%.3f)" % (med, p10, p90)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="compare_pytorch.py",
        description="Time the models in PyTorch and in `dualcnn bench` with the same "
                    "batch, threads and repeats, and print a markdown table with the speed-up.",
        epilog="Latencies are per forward pass of one batch, in ms: median (10th-90th "
               "percentile). speed-up = torch median / dualcnn median.")
    p.add_argument("--dualcnn", required=True, metavar="BIN", help="the dualcnn executable")
    p.add_argument("--models", default="cifar10",
                   help="comma-separated architectures, or cifar10 (the default: the 19 "
                        "CIFAR-10 models), imagenet (the 40 torchvision models) or all")
    p.add_argument("--batch", type=int, default=1, help="inputs per forward pass (default: 1)")
    p.add_argument("--threads", type=int, default=1, help="threads for both (default: 1)")
    p.add_argument("--repeats", type=int, default=50, help="timed passes (default: 50)")
    p.add_argument("--warmup", type=int, default=10, help="untimed passes first (default: 10)")
    p.add_argument("--timeout", type=int, default=600,
                   help="seconds allowed to each dualcnn run (default: 600)")
    args = p.parse_args(argv)

    try:
        archs = zoo(args.dualcnn)
    except (OSError, subprocess.CalledProcessError) as e:
        p.error("cannot list the models with %s models: %s" % (args.dualcnn, e))
    if args.models in ("cifar10", "imagenet", "all"):
        models = [m for m, (ds, _) in archs.items() if args.models in ("all", ds)]
    else:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in archs]
    if unknown:
        p.error("unknown or unimplemented model(s): %s (see %s models)"
                % (", ".join(unknown), args.dualcnn))
    for name, value, low in (("--batch", args.batch, 1), ("--threads", args.threads, 1),
                             ("--repeats", args.repeats, 1), ("--warmup", args.warmup, 0)):
        if value < low:
            p.error("%s must be at least %d" % (name, low))

    print("PyTorch %s on %s (%s), %d CPU(s); batch %d, threads %d, %d repeats after %d "
          "warm-up passes" % (torch.__version__, platform.processor() or platform.machine(),
                              platform.system(), os.cpu_count() or 0, args.batch, args.threads,
                              args.repeats, args.warmup))
    print()
    print("| model | batch | threads | torch median ms (p10-p90) | dualcnn median ms (p10-p90) "
          "| speed-up (torch/dualcnn) |")
    print("|---|---:|---:|---:|---:|---:|")
    sys.stdout.flush()
    for arch in models:
        print("timing %s ..." % arch, file=sys.stderr, flush=True)
        dataset, side = archs[arch]
        t_med, t10, t90 = time_torch(arch, dataset, side, args.batch, args.threads,
                                     args.repeats, args.warmup)
        try:
            r = time_dualcnn(args.dualcnn, arch, args.batch, args.threads, args.repeats,
                             args.warmup, args.timeout)
            d_med = float(r["median_ms"])
            dual = cell(d_med, float(r["p10_ms"]), float(r["p90_ms"]))
            speedup = "%.2fx" % (t_med / d_med) if d_med > 0 else "-"
        except RuntimeError as e:
            dual = "error: %s" % str(e).replace("|", "/")
            speedup = "-"
        print("| %s | %d | %d | %s | %s | %s |" % (arch, args.batch, args.threads,
                                                   cell(t_med, t10, t90), dual, speedup),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
