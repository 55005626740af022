#!/usr/bin/python3
"""Store logits that chenyaofo/pytorch-cifar-models' own code computes, as test data.

tests/parity/check_chenyaofo_logits.py runs tools/cifar_models.py (the project's own
re-implementation) on the same weights and inputs and must reproduce these logits. The test
never needs upstream: the weights are not stored but come from fill_state_dict() below, a
rule that depends only on a seed, on each state_dict entry's name and shape, in state_dict
order, and on one stored number per BatchNorm (the scale of its running statistics, measured
here on upstream's model so that activations stay near unit scale through 56 layers instead
of growing a million-fold in the residual nets). Both sides fill their model with it, so
identical logits need identical keys, order and shapes as well as the same computation.

Run once, with Debian's interpreter (torch 1.13), when the rule or the upstream commit
changes:

  /usr/bin/python3 tools/gen_chenyaofo_logits.py \\
      --upstream /path/to/pytorch-cifar-models.git [--rev HEAD] \\
      --out tests/parity/data/chenyaofo_logits.npz

--upstream is a git repository (bare or not) of https://github.com/chenyaofo/pytorch-cifar-models.
The script extracts its pytorch_cifar_models/ package at --rev into a temporary directory
(`git archive`), imports it from there and deletes it; nothing of upstream is stored in this
project, only the logits its code computes. Each model is built with its cifar10_<arch>()
constructor (pretrained=False, so nothing is downloaded; RepVGG in its default training-time
form, deploy=False, which is the form tools/cifar_models.py mirrors) and run in eval mode.

The output (numpy .npz, read with allow_pickle=False) holds:
  input            float32 (2, 3, 32, 32): the batch every model sees (see make_input)
  logits/<arch>    float32 (2, 10): upstream's logits, one row per image
  keys/<arch>      str: upstream's state_dict, one "name shape" line per entry, in order
  bn_scale/<arch>  float32 (number of BatchNorms,): the fill rule's per-BatchNorm scales
  meta             str: JSON with the upstream commit, torch and numpy versions, seed, rules
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

# the 19 CIFAR-10 architectures, in the order of chenyaofo's README
ARCHS = [
    "resnet20", "resnet32", "resnet44", "resnet56",
    "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
    "mobilenetv2_x0_5", "mobilenetv2_x0_75", "mobilenetv2_x1_0", "mobilenetv2_x1_4",
    "shufflenetv2_x0_5", "shufflenetv2_x1_0", "shufflenetv2_x1_5", "shufflenetv2_x2_0",
    "repvgg_a0", "repvgg_a1", "repvgg_a2",
]

UPSTREAM_URL = "https://github.com/chenyaofo/pytorch-cifar-models"
DEFAULT_SEED = 14
BATCH = 2

FILL_RULE = (
    "numpy.random.RandomState(seed), one stream, state_dict entries in order; each value "
    "drawn in float64, scaled, then cast to float32: num_batches_tracked left at 0 (draws "
    "nothing); a weight of 2 or more dimensions: standard_normal(shape) * sqrt(2 / fan_in), "
    "fan_in = product of shape[1:] (He); a 1-D weight (BatchNorm gamma): uniform(0.5, 1.5, "
    "shape); bias (BatchNorm beta, conv or linear bias): standard_normal(shape) * 0.1; "
    "<bn>.running_mean: standard_normal(shape) * 0.2 * sqrt(s); <bn>.running_var: "
    "uniform(0.5, 1.5, shape) * s, with s = bn_scale/<arch>[<bn>] (float32, taken to "
    "float64); any other entry is an error")
SCALE_RULE = (
    "bn_scale/<arch> lists one float32 s per BatchNorm, in the order of the running_var "
    "entries. It was measured on upstream's model: filled with s = 1 everywhere, eval mode, "
    "one forward pass on the stored input in which each BatchNorm, just before it runs, sets "
    "s to the variance of its input over images and positions (biased), averaged over "
    "channels, and multiplies its running_var by s and running_mean by sqrt(s); so every "
    "BatchNorm sees its input near unit scale and the logits stay O(1) through 56 layers")
INPUT_RULE = ("numpy.random.RandomState(seed + 1).standard_normal((2, 3, 32, 32)) cast to "
              "float32 (stored as well)")


def bn_names(named_shapes):
    """The BatchNorm prefixes of a state_dict's [(name, shape)], in order (one per
    running_var entry)."""
    return [name[:-len(".running_var")] for name, _ in named_shapes
            if name.endswith(".running_var")]


def fill_values(named_shapes, seed, bn_scale):
    """The weights of the fill rule (FILL_RULE): named_shapes is the state_dict's
    [(name, shape)] in order, bn_scale {BatchNorm prefix: s}; returns {name: float32
    ndarray}, num_batches_tracked left out. Raises ValueError for an entry the rule does
    not cover, KeyError for a BatchNorm without a scale."""
    rng = np.random.RandomState(seed)
    values = {}
    for name, shape in named_shapes:
        shape = tuple(shape)
        prefix, _, leaf = name.rpartition(".")
        if leaf == "num_batches_tracked":
            continue
        if leaf == "weight" and len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            v = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif leaf == "weight" and len(shape) == 1:
            v = rng.uniform(0.5, 1.5, shape)
        elif leaf == "bias":
            v = rng.standard_normal(shape) * 0.1
        elif leaf == "running_mean":
            v = rng.standard_normal(shape) * 0.2 * np.sqrt(float(bn_scale[prefix]))
        elif leaf == "running_var":
            v = rng.uniform(0.5, 1.5, shape) * float(bn_scale[prefix])
        else:
            raise ValueError("the fill rule does not cover state_dict entry %s %s"
                             % (name, shape))
        values[name] = v.astype(np.float32)
    return values


def fill_state_dict(model, seed, bn_scale):
    """Load the fill rule's weights into model (strict: every entry but num_batches_tracked
    is replaced). Returns the model."""
    sd = model.state_dict()
    values = fill_values([(k, t.shape) for k, t in sd.items()], seed, bn_scale)
    new = {k: (torch.from_numpy(values[k]) if k in values else t.clone())
           for k, t in sd.items()}
    model.load_state_dict(new, strict=True)
    return model


def measure_bn_scale(model, seed, x):
    """The bn_scale of SCALE_RULE for model on the float32 ndarray x: {prefix: float32 s}.
    Leaves model filled with s = 1 plus whatever the pass set; refill it afterwards."""
    sd = model.state_dict()
    names = bn_names([(k, t.shape) for k, t in sd.items()])
    fill_state_dict(model, seed, {n: 1.0 for n in names})
    modules = dict(model.named_modules())
    scale = {}

    def pre_hook(name):
        def hook(module, inputs):
            s = np.float32(inputs[0].double().var(dim=(0, 2, 3), unbiased=False).mean().item())
            scale[name] = s
            module.running_var.mul_(float(s))
            module.running_mean.mul_(float(np.sqrt(np.float64(s))))
        return hook

    handles = [modules[n].register_forward_pre_hook(pre_hook(n)) for n in names]
    try:
        run(model, x)
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in names if n not in scale]
    if missing:
        raise RuntimeError("BatchNorm layers not run by the forward pass: %s" % missing)
    return scale


def key_listing(model):
    """The state_dict as text: one "name d0xd1x..." line per entry, in order ("-" for a
    scalar)."""
    return "\n".join("%s %s" % (k, "x".join(str(d) for d in t.shape) or "-")
                     for k, t in model.state_dict().items())


def make_input(seed):
    """The input batch of INPUT_RULE."""
    return np.random.RandomState(seed + 1).standard_normal((BATCH, 3, 32, 32)).astype(np.float32)


def run(model, x):
    """Logits of model in eval mode on the float32 ndarray x, as a float32 ndarray."""
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy().astype(np.float32)


def extract_upstream(gitdir, rev, dest):
    """git archive pytorch_cifar_models/ of rev into dest; returns (commit, commit date)."""
    def git(*args):
        return subprocess.run(["git", "-C", gitdir] + list(args), check=True,
                              stdout=subprocess.PIPE).stdout
    commit = git("rev-parse", "--verify", rev + "^{commit}").decode().strip()
    date = git("log", "-1", "--format=%cI", commit).decode().strip()
    tar = git("archive", "--format=tar", commit, "pytorch_cifar_models")
    subprocess.run(["tar", "-x", "-C", dest], input=tar, check=True)
    return commit, date


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--upstream", required=True,
                   help="git repository of chenyaofo/pytorch-cifar-models (bare or not)")
    p.add_argument("--rev", default="HEAD", help="revision to extract (default: HEAD)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="seed of the fill rule (default: %d)" % DEFAULT_SEED)
    p.add_argument("--out", required=True, help="output .npz file")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(min(4, os.cpu_count() or 1))
    x = make_input(args.seed)
    arrays = {"input": x}
    summary = {}
    with tempfile.TemporaryDirectory(prefix="chenyaofo-") as tmp:
        commit, date = extract_upstream(args.upstream, args.rev, tmp)
        sys.path.insert(0, tmp)
        try:
            import pytorch_cifar_models as upstream
        finally:
            sys.path.remove(tmp)
        print("upstream %s (%s), torch %s, numpy %s, seed %d"
              % (commit, date, torch.__version__, np.__version__, args.seed))
        print("%-18s %7s %10s %10s %10s" % ("arch", "entries", "max|logit|", "class sd",
                                            "image diff"))
        for arch in ARCHS:
            model = getattr(upstream, "cifar10_" + arch)(pretrained=False)
            scale = measure_bn_scale(model, args.seed, x)
            names = bn_names([(k, t.shape) for k, t in model.state_dict().items()])
            arrays["bn_scale/" + arch] = np.array([scale[n] for n in names], np.float32)
            logits = run(fill_state_dict(model, args.seed, scale), x)
            if not np.all(np.isfinite(logits)):
                raise SystemExit("%s: logits not finite: %s" % (arch, logits))
            arrays["logits/" + arch] = logits
            arrays["keys/" + arch] = np.array(key_listing(model))
            summary[arch] = {
                "max_abs_logit": float(np.abs(logits).max()),
                "class_std": float(logits.std(axis=1).min()),
                "image_diff": float(np.abs(logits[0] - logits[1]).max()),
            }
            print("%-18s %7d %10.4g %10.4g %10.4g"
                  % (arch, len(model.state_dict()), summary[arch]["max_abs_logit"],
                     summary[arch]["class_std"], summary[arch]["image_diff"]))
        del sys.modules["pytorch_cifar_models"]

    meta = {
        "upstream": UPSTREAM_URL,
        "upstream_commit": commit,
        "upstream_commit_date": date,
        "constructors": "pytorch_cifar_models.cifar10_<arch>(pretrained=False), eval mode",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "seed": args.seed,
        "fill_rule": FILL_RULE,
        "scale_rule": SCALE_RULE,
        "input_rule": INPUT_RULE,
        "archs": ARCHS,
        "generator": "tools/gen_chenyaofo_logits.py --upstream <git dir> --rev %s --seed %d"
                     % (commit, args.seed),
    }
    arrays["meta"] = np.array(json.dumps(meta, indent=1))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        np.savez_compressed(f, **arrays)
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
