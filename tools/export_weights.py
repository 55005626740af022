#!/usr/bin/python3
"""Convert a PyTorch checkpoint into a dualcnn weight file (HDF5, format version 1).

Examples (run with Debian's /usr/bin/python3, which has torch):

  # a released chenyaofo/pytorch-cifar-models checkpoint
  export_weights.py --arch resnet20 --checkpoint cifar10_resnet20-4118986f.pt \\
      --out weights/cifar10/resnet20.h5

  # a CIFAR architecture trained on FashionMNIST by a training script
  export_weights.py --arch mobilenetv2_x0_5 --dataset fashionmnist \\
      --checkpoint best.pt --out weights/fashionmnist/mobilenetv2_x0_5.h5

  # random weights with non-trivial BatchNorm statistics, for parity tests
  export_weights.py --arch repvgg_a0 --random --seed 0 --out /tmp/repvgg_a0.h5

Accepted checkpoints: a plain state_dict (chenyaofo .pt, torchvision .pth), or a dict holding
it under 'state_dict', 'model' or 'model_state_dict' (what training scripts save); a
'module.' prefix (DataParallel) is stripped. The keys and shapes must match the model
exactly (num_batches_tracked aside); otherwise the missing and unexpected keys are listed and
the exit status is 2.

Which model an arch name means: the 19 CIFAR architectures of tools/cifar_models.py
(chenyaofo/pytorch-cifar-models) for every dataset except imagenet; torchvision's
classification model of that name for --dataset imagenet (or for names that are not CIFAR
architectures).

googlenet and inception_v3: their auxiliary classifiers (googlenet's aux1 and aux2,
inception_v3's AuxLogits) run only in training, so their tensors are dropped from the file
(the export says how many); a checkpoint may have them or not. The file's transform_input
attribute says whether the model re-normalises its input first, as torchvision does for
these two when it loads their official weights (x_c * std_c / 0.5 + (mean_c - 0.5) / 0.5,
ImageNet mean and std). It is 1 by default, for --random too (so parity tests cover the
setting the official checkpoints need); give --transform-input 0 for a model trained with
transform_input=False (torchvision's default when it builds an untrained model).
"""

import argparse
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar_models  # noqa: E402
from weights_h5 import write_weights  # noqa: E402

CHENYAOFO_RELEASES = "https://github.com/chenyaofo/pytorch-cifar-models/releases/download/"

# dataset -> (input_size C,H,W, mean, std, class names)
DATASETS = {
    "cifar10": ((3, 32, 32), (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010),
                ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]),
    "fashionmnist": ((3, 32, 32), (0.2856,) * 3, (0.3385,) * 3,
                     ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]),
    "intel": ((3, 32, 32), (0.4302, 0.4575, 0.4539), (0.2386, 0.2377, 0.2733),
              ["buildings", "forest", "glacier", "mountain", "sea", "street"]),
    "imagenet": ((3, 224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), None),
}

STATE_DICT_KEYS = ("state_dict", "model", "model_state_dict")

# torchvision models with a transform_input step, and the state_dict prefixes of their
# auxiliary classifiers (used in training only; never written to a weight file)
AUX_PREFIXES = {"googlenet": ("aux1.", "aux2."), "inception_v3": ("AuxLogits.",)}


class UserError(Exception):
    """A problem with the user's input: printed without a traceback, exit status 2."""


# ---------------------------------------------------------------------------------------
# The architectures the engine builds (zoo/zoo.c), so that no file is written for one it
# cannot load
# ---------------------------------------------------------------------------------------

ZOO_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo", "zoo.c")


def engine_archs():
    """[(name, dataset)] of the architectures zoo/zoo.c registers (its CIFAR(...) and
    IMAGENET(...) rows), in its order; None when zoo/zoo.c is not beside this tool (a copy
    of tools/ used alone)."""
    try:
        with open(ZOO_C) as f:
            text = f.read()
    except OSError:
        return None
    rows = re.findall(r'^\s*(CIFAR|IMAGENET)\("([A-Za-z0-9_]+)"', text, re.M)
    return [(name, "cifar10" if kind == "CIFAR" else "imagenet") for kind, name in rows]


def _normalise(name):
    return re.sub(r"[-_.]", "", name.lower())


def _edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        diag, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            up = row[j]
            row[j] = min(diag + (a[i - 1] != b[j - 1]), up + 1, row[j - 1] + 1)
            diag = up
    return row[len(b)]


def close_names(name, archs):
    """The names of archs close to name, as `dualcnn convert` lists them (cli/convert_meta.c,
    the same rule): a common start of max(4, len - 2) characters once '_', '-' and '.' are
    dropped (the whole name when shorter, at least 3), or at most two edits away; CIFAR-10
    ones marked; ten at most."""
    q = _normalise(name)
    need = min(max(4, len(q) - 2), len(q))
    need = max(need, 3)
    found = []
    for arch, dataset in archs:
        n = _normalise(arch)
        common = len(os.path.commonprefix([q, n]))
        if common >= need or _edit_distance(q, n) <= 2:
            found.append(arch + (" (CIFAR-10)" if dataset == "cifar10" else ""))
    return ", ".join(found[:10]) + (", ..." if len(found) > 10 else "")


def check_engine_arch(arch):
    """Refuses an architecture the engine cannot build, naming the close ones."""
    archs = engine_archs()
    if archs is None or arch in {a for a, _ in archs}:
        return
    close = close_names(arch, archs)
    if close:
        raise UserError("--arch %s: no such model; %s exist (`dualcnn models` lists all %d)"
                        % (arch, close, len(archs)))
    raise UserError("--arch %s: no such model (`dualcnn models` lists the %d that exist)"
                    % (arch, len(archs)))


# ---------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------

def build_model(arch, dataset="cifar10", num_classes=10, aux_logits=False,
                transform_input=False):
    """The nn.Module an (arch, dataset) pair names; see the module docstring for the rule.
    aux_logits and transform_input are passed to googlenet and inception_v3 only."""
    if arch in cifar_models.ARCHS and dataset != "imagenet":
        return cifar_models.build(arch, num_classes)
    import torchvision.models as tvm
    if arch in tvm.list_models(module=tvm):
        kwargs = {}
        if arch in AUX_PREFIXES:
            kwargs = dict(aux_logits=aux_logits, transform_input=bool(transform_input),
                          init_weights=True)
        return tvm.get_model(arch, weights=None, num_classes=num_classes, **kwargs)
    known = ", ".join(cifar_models.ARCHS)
    raise UserError("unknown architecture %r (CIFAR architectures: %s; for --dataset imagenet "
                    "any torchvision classification model)" % (arch, known))


def randomize(model, input_size, calibration_batch=16):
    """Give a freshly built model non-trivial BatchNorm parameters and statistics, drawn from
    torch's global generator (the caller seeds it before building the model, so the convs
    and linears keep their seeded default initialisation).

    BN weight ~ U(0.5, 1.5) and bias ~ N(0, 0.2). The running statistics are first measured
    on a random N(0, 1) batch (train-mode forward, cumulative average), so every layer sees
    activations of about unit scale and the logits depend on the input; then they are
    perturbed per channel: running_mean += N(0, 0.2) * sqrt(running_var), running_var *=
    U(0.5, 2.0). Plain random statistics (mean ~ N(0, 0.2), var ~ U(0.5, 2)) would let the
    signal die out in deep nets: the logits would be the same for every input, and a parity
    test could not see a wrong early layer.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for m in bns:
            if m.affine:
                m.weight.copy_(torch.rand(m.num_features) + 0.5)
                m.bias.copy_(torch.randn(m.num_features) * 0.2)
        tracked = [m for m in bns if m.track_running_stats]
        momenta = [m.momentum for m in tracked]
        for m in tracked:
            m.reset_running_stats()
            m.momentum = None            # cumulative average over the calibration batch
        model.train()
        model(torch.randn(calibration_batch, *input_size))
        model.eval()
        for m, momentum in zip(tracked, momenta):
            m.momentum = momentum
            c = m.num_features
            m.running_mean.add_(torch.randn(c) * 0.2 * m.running_var.sqrt())
            m.running_var.mul_(torch.rand(c) * 1.5 + 0.5)
            m.num_batches_tracked.zero_()
    return model


# ---------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------

def load_checkpoint(path, trust_pickle=False):
    """torch.load the file (tensors and plain containers only unless trust_pickle) and return
    the state_dict inside it as an ordered {key: tensor} with any 'module.' prefix removed."""
    if not os.path.isfile(path):
        raise UserError("%s: no such file" % path)
    try:
        # weights_only: tensors and plain containers only, no code run while unpickling.
        obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except Exception as e:  # torch raises many kinds (UnpicklingError, RuntimeError, EOFError)
        text = str(e).strip()
        if not trust_pickle and "Weights only load failed" in text:
            detail = text.split("WeightsUnpickler error:")[-1].strip()
            raise UserError("%s: holds Python objects besides tensors and containers, which the "
                            "safe loader refuses (%s); if you trust the file, rerun with "
                            "--trust-pickle" % (path, detail))
        detail = text.splitlines()[0] if text else ""
        raise UserError("%s: cannot read as a PyTorch checkpoint (%s%s%s)"
                        % (path, type(e).__name__, ": " if detail else "", detail))

    sd = obj
    if isinstance(obj, nn.Module):
        sd = obj.state_dict()
    elif isinstance(obj, dict):
        for k in STATE_DICT_KEYS:
            if k in obj and not isinstance(obj[k], torch.Tensor):
                sd = obj[k]
                if isinstance(sd, nn.Module):
                    sd = sd.state_dict()
                break
    if not isinstance(sd, dict) or not sd:
        raise UserError("%s: no state_dict found (expected a dict of tensors, or a dict with "
                        "one under %s)" % (path, " / ".join(repr(k) for k in STATE_DICT_KEYS)))
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        top = ", ".join(repr(k) for k in list(sd)[:8])
        raise UserError("%s: not a state_dict: entries such as %r are not tensors (top-level "
                        "keys: %s)" % (path, bad[0], top))

    out = {}
    for k, v in sd.items():
        out[k[len("module."):] if k.startswith("module.") else k] = v
    return out


def check_keys(path, checkpoint, model, arch):
    """Compare the checkpoint's keys and shapes with the model's (num_batches_tracked aside)
    and return the checkpoint as float32 tensors in the model's key order."""
    def skip(k):
        return k.endswith("num_batches_tracked")

    expected = {k: v for k, v in model.state_dict().items() if not skip(k)}
    given = {k: v for k, v in checkpoint.items() if not skip(k)}
    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    wrong_shape = ["%s: checkpoint %s, model %s" % (k, list(given[k].shape), list(v.shape))
                   for k, v in expected.items()
                   if k in given and given[k].shape != v.shape]

    if missing or unexpected or wrong_shape:
        lines = ["%s does not match the %s model:" % (path, arch)]

        def listing(title, items):
            if items:
                lines.append("  %s (%d): %s%s" % (title, len(items), ", ".join(items[:12]),
                                                 ", ..." if len(items) > 12 else ""))

        listing("missing keys", missing)
        listing("unexpected keys", unexpected)
        listing("wrong shapes", wrong_shape)
        if len(missing) == len(expected):
            lines.append("  hint: no key matches; is --arch right?")
        if any("rbr_reparam" in k for k in unexpected):
            lines.append("  hint: this is a deploy-form (fused) RepVGG checkpoint; the models "
                         "here are the train form, as chenyaofo's releases are")
        if wrong_shape and not missing and not unexpected:
            lines.append("  hint: a different number of classes? see --num-classes")
        raise UserError("\n".join(lines))

    for k, v in given.items():
        # integer buffers (Swin's relative_position_index) are stored as float32, which
        # holds every integer below 2^24 exactly; the engine checks them against its own
        if v.is_floating_point():
            continue
        exact = (v.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
                 and (v.numel() == 0 or int(v.abs().max()) < 2 ** 24))
        if not exact:
            raise UserError("%s: tensor %s has dtype %s, expected a floating-point type (or "
                            "integers below 2^24)" % (path, k, v.dtype))
    return {k: given[k].detach().to(torch.float32) for k in expected}


def default_source(arch, dataset, checkpoint):
    """The release URL for a chenyaofo file name, else a description of the checkpoint."""
    base = os.path.basename(checkpoint)
    if dataset == "cifar10" and arch in cifar_models.ARCHS:
        if re.fullmatch(r"cifar10_%s-[0-9a-f]{8}\.pt" % re.escape(arch), base):
            family = re.match(r"mobilenetv2|shufflenetv2|repvgg|resnet|vgg", arch).group(0)
            return CHENYAOFO_RELEASES + family + "/" + base
    return "converted from %s" % base


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------

def parse_floats(text, name, count=None):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise UserError("%s: expected comma-separated numbers, got %r" % (name, text))
    if count is not None and len(values) != count:
        raise UserError("%s: expected %d values, got %d" % (name, count, len(values)))
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export_weights.py",
        description=__doc__,
        epilog="Dataset defaults (input size, mean, std, class names) exist for: %s.\n"
               "Exit status: 0 on success, 2 on a user error (unreadable file, keys that do "
               "not match\nthe model, bad flags)." % ", ".join(DATASETS),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True,
                   help="architecture name, e.g. resnet20 (CIFAR: %s)" % ", ".join(cifar_models.ARCHS))
    p.add_argument("--dataset", default="cifar10",
                   help="dataset the weights were trained on (default: cifar10); picks the "
                        "default metadata and, for imagenet, torchvision's model")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", metavar="FILE",
                     help="PyTorch checkpoint (.pt/.pth) holding a state_dict")
    src.add_argument("--random", action="store_true",
                     help="write seeded random weights (non-trivial BatchNorm statistics)")
    p.add_argument("--seed", type=int, default=0, help="seed for --random (default: 0)")
    p.add_argument("--out", required=True, metavar="FILE.h5", help="weight file to write")
    p.add_argument("--num-classes", type=int, help="number of outputs (default: the dataset's)")
    p.add_argument("--class-names", metavar="A,B,...",
                   help="comma-separated class names (default: the dataset's)")
    p.add_argument("--input-size", metavar="C,H,W", help="input size (default: the dataset's)")
    p.add_argument("--mean", metavar="M1,M2,M3", help="per-channel mean (default: the dataset's)")
    p.add_argument("--std", metavar="S1,S2,S3", help="per-channel std (default: the dataset's)")
    p.add_argument("--source", help="where the weights came from (default: the release URL "
                                    "for a chenyaofo file name, else the checkpoint's name)")
    p.add_argument("--transform-input", type=int, choices=(0, 1),
                   help="googlenet and inception_v3 only: the transform_input attribute "
                        "(default: 1, what their official checkpoints need; see above)")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow checkpoints holding arbitrary Python objects (runs their "
                        "unpickling code: only for files you trust)")
    return p.parse_args(argv)


def metadata(args):
    """(input_size, mean, std, num_classes, class_names) from the dataset and the overrides."""
    input_size, mean, std, names = DATASETS.get(args.dataset, (None, None, None, None))
    if args.input_size:
        try:
            input_size = [int(v) for v in args.input_size.split(",")]
        except ValueError:
            raise UserError("--input-size: expected C,H,W integers, got %r" % args.input_size)
        if len(input_size) != 3 or min(input_size) <= 0:
            raise UserError("--input-size: expected 3 positive integers C,H,W, got %r"
                            % args.input_size)
    if args.mean:
        mean = parse_floats(args.mean, "--mean", 3)
    if args.std:
        std = parse_floats(args.std, "--std", 3)
        if min(std) <= 0:
            raise UserError("--std: values must be positive, got %r" % args.std)
    lacking = [flag for flag, v in (("--input-size", input_size), ("--mean", mean),
                                    ("--std", std)) if v is None]
    if lacking:
        raise UserError("dataset %r has no defaults (known: %s); give %s"
                        % (args.dataset, ", ".join(DATASETS), " ".join(lacking)))
    if args.class_names:
        names = [n.strip() for n in args.class_names.split(",")]
    if args.dataset == "imagenet" and not args.input_size:
        # the crop size of the model's IMAGENET1K_V1 weights (299 for inception_v3, 256 for
        # the Swin V2 models, else 224), as the C zoo registry records it
        import torchvision.models as tvm
        try:
            crop = tvm.get_model_weights(args.arch).IMAGENET1K_V1.transforms().crop_size[0]
            input_size = (3, int(crop), int(crop))
        except (ValueError, AttributeError, KeyError):
            pass
    if args.dataset == "imagenet" and names is None and not args.class_names:
        from torchvision.models._meta import _IMAGENET_CATEGORIES
        names = list(_IMAGENET_CATEGORIES)
    num_classes = args.num_classes
    if num_classes is None:
        if names is None:
            raise UserError("dataset %r: give --num-classes" % args.dataset)
        num_classes = len(names)
    if num_classes <= 0:
        raise UserError("--num-classes must be positive, got %d" % num_classes)
    if names is not None and len(names) != num_classes:
        if args.class_names:
            raise UserError("--class-names has %d names but there are %d classes"
                            % (len(names), num_classes))
        names = None  # the dataset's names do not fit an overridden class count
    return input_size, mean, std, num_classes, names


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    dropped = 0
    try:
        check_engine_arch(args.arch)
        input_size, mean, std, num_classes, names = metadata(args)
        aux = AUX_PREFIXES.get(args.arch) if args.dataset == "imagenet" else None
        extra_attrs = {}
        if aux:
            transform_input = 1 if args.transform_input is None else args.transform_input
            extra_attrs["transform_input"] = np.int32(transform_input)
        elif args.transform_input == 1:
            raise UserError("--transform-input 1: only googlenet and inception_v3 (--dataset "
                            "imagenet) have a transform_input step")
        else:
            transform_input = 0
        if args.random:
            torch.manual_seed(args.seed)
            model = randomize(build_model(args.arch, args.dataset, num_classes,
                                          transform_input=transform_input),
                              input_size, 16 if input_size[1] * input_size[2] <= 4096 else 2)
            state_dict = model.state_dict()
            source = args.source or ("random weights (export_weights.py --random --seed %d)"
                                     % args.seed)
        else:
            checkpoint = load_checkpoint(args.checkpoint, args.trust_pickle)
            has_aux = bool(aux) and any(k.startswith(aux) for k in checkpoint)
            model = build_model(args.arch, args.dataset, num_classes, aux_logits=has_aux,
                                transform_input=transform_input)
            state_dict = check_keys(args.checkpoint, checkpoint, model, args.arch)
            if has_aux:
                kept = {k: v for k, v in state_dict.items() if not k.startswith(aux)}
                dropped = len(state_dict) - len(kept)
                state_dict = kept
            source = args.source or default_source(args.arch, args.dataset, args.checkpoint)
        out_dir = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(out_dir):
            raise UserError("%s: directory %s does not exist" % (args.out, out_dir))
        try:
            write_weights(args.out, state_dict, arch=args.arch, dataset=args.dataset,
                          num_classes=num_classes, input_size=input_size, mean=mean, std=std,
                          class_names=names, source=source, extra_attrs=extra_attrs)
        except OSError as e:
            raise UserError("%s: cannot write: %s" % (args.out, e))
    except UserError as e:
        print("export_weights.py: error: %s" % e, file=sys.stderr)
        return 2
    n = sum(1 for k in state_dict if not k.endswith("num_batches_tracked"))
    print("wrote %s: %s (%s), %d tensors, %d classes" % (args.out, args.arch, args.dataset, n,
                                                         num_classes))
    if dropped:
        print("dropped %d tensors of the auxiliary classifier (%s), unused at inference"
              % (dropped, ", ".join(p.rstrip(".") for p in aux)))
    if aux:
        print("transform_input = %d" % transform_input)
    return 0


if __name__ == "__main__":
    sys.exit(main())
