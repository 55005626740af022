#!/usr/bin/python3
"""Time one model in PyTorch, in a process of its own; print one JSON line.

  torch_bench.py --arch NAME --dataset cifar10|imagenet --side S [--batch 1] [--threads 1]
                 [--repeats 50] [--warmup 10]
  torch_bench.py --info

The PyTorch side of bench/compare_pytorch.py, which starts this script afresh for every
round so that PyTorch's OpenMP threads (which keep spinning after a parallel region) are
gone before `dualcnn bench` runs.

The model: tools/cifar_models.py for the CIFAR-10 architectures, torchvision 0.14's model
of that name for the ImageNet ones (GoogLeNet and Inception v3 without their training-only
auxiliary heads), random weights (seed 0), eval mode, torch.inference_mode(),
torch.set_num_threads(T). Each timed pass is one forward of a random N(0, 1) batch of
B x 3 x S x S, timed with time.perf_counter() around the call.

Output (stdout, one line): {"model", "batch", "threads", "torch_threads" (what
torch.get_num_threads() reports), "repeats", "warmup", "times_ms" (every timed pass, in
order), "median_ms", "p10_ms", "p90_ms", "torch"}. With --info, no model runs and the line is
{"torch", "torchvision", "config"} (torch.__config__.show(), which names the oneDNN build).
Errors go to stderr with a non-zero exit status.
"""

import argparse
import json
import os
import sys
import time


def percentile(sorted_values, q):
    """Linear-interpolated percentile q in [0, 1] (numpy's default method)."""
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def build_model(arch, dataset):
    """The PyTorch module of arch with random weights."""
    if dataset == "cifar10":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                        "tools"))
        import cifar_models
        return cifar_models.build(arch)
    import torchvision
    kwargs = {"aux_logits": False, "init_weights": True} \
        if arch in ("googlenet", "inception_v3") else {}
    return torchvision.models.get_model(arch, weights=None, **kwargs)


def main(argv=None):
    p = argparse.ArgumentParser(prog="torch_bench.py",
                                description="Time forward passes of one model in PyTorch; "
                                            "print one JSON line.")
    p.add_argument("--info", action="store_true", help="print versions only")
    p.add_argument("--arch")
    p.add_argument("--dataset", choices=["cifar10", "imagenet"])
    p.add_argument("--side", type=int, help="input height = width")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    args = p.parse_args(argv)

    import torch
    if args.info:
        import torchvision
        print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                          "config": torch.__config__.show()}))
        return 0
    if not args.arch or not args.dataset or not args.side:
        p.error("--arch, --dataset and --side are required (or --info)")
    for name, value, low in (("--side", args.side, 1), ("--batch", args.batch, 1),
                             ("--threads", args.threads, 1), ("--repeats", args.repeats, 1),
                             ("--warmup", args.warmup, 0)):
        if value < low:
            p.error("%s must be at least %d" % (name, low))

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(args.arch, args.dataset).eval()
    x = torch.randn(args.batch, 3, args.side, args.side)
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1e3)
    s = sorted(times)
    print(json.dumps({"model": args.arch, "batch": args.batch, "threads": args.threads,
                      "torch_threads": torch.get_num_threads(), "repeats": args.repeats,
                      "warmup": args.warmup, "times_ms": [round(t, 4) for t in times],
                      "median_ms": percentile(s, 0.5), "p10_ms": percentile(s, 0.1),
                      "p90_ms": percentile(s, 0.9), "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
