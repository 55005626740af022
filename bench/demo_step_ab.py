#!/usr/bin/python3
"""Times step 1 of tools/demo.py (the complementarity of the shipped FashionMNIST models on
the validation split, prediction cache empty) with two dualcnn programs side by side.

Each round runs the step once with each program, alternating which goes first, each time
in a fresh work directory and cache, exactly as the demo runs it (--jobs predict processes
of one thread each, then `dualcnn complementarity`). Prints every round and the medians.
Run it on an otherwise idle machine: the step keeps every core busy.

    /usr/bin/python3 bench/demo_step_ab.py --old /tmp/old/dualcnn --new build/cli/dualcnn
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import demo  # noqa: E402  (tools/demo.py: the step itself)


def time_step(binary, opts, models):
    """Seconds the demo's complementarity step takes with `binary`, from an empty cache."""
    work = tempfile.mkdtemp(prefix="dualcnn-step-")
    here = os.getcwd()
    os.chdir(work)  # where an older program writes complementarity.csv unasked
    try:
        args = argparse.Namespace(dualcnn=binary, data=opts.data, weights_dir=opts.weights_dir,
                                  work=work, cache=os.path.join(work, "cache"),
                                  val_limit=opts.val_limit, jobs=opts.jobs,
                                  val_skip=demo.FASHION_TRAIN - demo.VAL_SIZE)
        t0 = time.monotonic()
        demo.fill_prediction_cache(args, models)
        demo.run_cli([binary, "complementarity", "--models", ",".join(models),
                      "--ranking", os.path.join(work, "pairs.csv"), "-q"] +
                     demo.validation_args(args), "dualcnn complementarity")
        return time.monotonic() - t0
    finally:
        os.chdir(here)
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the dualcnn program to compare against")
    ap.add_argument("--new", required=True, help="the dualcnn program under test")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--weights-dir", default=os.path.join(ROOT, "weights"))
    ap.add_argument("--val-limit", type=int, default=0,
                    help="only the first N validation images (default all 10,000)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="predict processes at once, one thread each, as the demo's --jobs")
    opts = ap.parse_args(argv)
    opts.old, opts.new = os.path.abspath(opts.old), os.path.abspath(opts.new)
    opts.weights_dir, opts.data = os.path.abspath(opts.weights_dir), os.path.abspath(opts.data)
    for b in (opts.old, opts.new):
        if not os.access(b, os.X_OK):
            print(f"demo_step_ab: {b}: not an executable", file=sys.stderr)
            return 2
    models = demo.shipped_models(opts.weights_dir)
    if len(models) < 2:
        print(f"demo_step_ab: {opts.weights_dir}/fashionmnist: fewer than two models",
              file=sys.stderr)
        return 2
    times = {"old": [], "new": []}
    try:
        for r in range(opts.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for side in order:
                secs = time_step(getattr(opts, side), opts, models)
                times[side].append(secs)
                print(f"round {r + 1}/{opts.rounds} {side}: {secs:.1f} s", flush=True)
    except demo.DemoError as e:
        print(f"demo_step_ab: {e}", file=sys.stderr)
        return 1
    old, new = statistics.median(times["old"]), statistics.median(times["new"])
    print(f"complementarity step, {len(models)} models, jobs {opts.jobs}: "
          f"old {old:.1f} s, new {new:.1f} s (medians of {opts.rounds}): {old / new:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
