#!/usr/bin/python3
"""Check tools/cifar_models.py against the figures published by chenyaofo/pytorch-cifar-models.

For each of the 19 CIFAR-10 architectures: the number of trainable parameters, the number of
state_dict entries (num_batches_tracked included) and the multiply-accumulates of the Conv2d
and Linear layers at a 1x3x32x32 input (counted with forward hooks, the README's "#MAdds")
must equal the published values (shared zoo/cifar10.md, section 4). Also spot-checks key names,
order and shapes of mobilenetv2_x0_5 and shufflenetv2_x1_0 against the tables there.

Run with Debian's interpreter: /usr/bin/python3 tests/parity/check_python_models.py
Exit status 0 when everything matches, 1 otherwise (every mismatch is printed).
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402

sys.path.insert(0, dctest.TOOLS)
import cifar_models  # noqa: E402

# model: (exact trainable params, state_dict entries, README #MAdds in millions, 2 decimals)
# From the README of chenyaofo/pytorch-cifar-models as tabulated in zoo/cifar10.md section 4.
PUBLISHED = {
    "resnet20": (272474, 128, "40.81"),
    "resnet32": (466906, 200, "69.12"),
    "resnet44": (661338, 272, "97.44"),
    "resnet56": (855770, 344, "125.75"),
    "vgg11_bn": (9756426, 62, "153.29"),
    "vgg13_bn": (9941322, 76, "228.79"),
    "vgg16_bn": (15253578, 97, "313.73"),
    "vgg19_bn": (20565834, 118, "398.66"),
    "mobilenetv2_x0_5": (700490, 314, "27.97"),
    "mobilenetv2_x0_75": (1368234, 314, "59.31"),
    "mobilenetv2_x1_0": (2236682, 314, "87.98"),
    "mobilenetv2_x1_4": (4333706, 314, "170.07"),
    "shufflenetv2_x0_5": (352042, 338, "10.90"),
    "shufflenetv2_x1_0": (1263854, 338, "45.00"),
    "shufflenetv2_x1_5": (2488874, 338, "94.26"),
    "shufflenetv2_x2_0": (5365486, 338, "187.81"),
    "repvgg_a0": (7840874, 356, "489.08"),
    "repvgg_a1": (12824202, 356, "851.33"),
    "repvgg_a2": (26815690, 351, "1850.10"),
}

# Spot checks from the state_dict tables of zoo/cifar10.md: (index in state_dict, key, shape).
# An index of None means "anywhere" (the key and shape must exist).
SPOT_KEYS = {
    "mobilenetv2_x0_5": [
        (0, "features.0.0.weight", (16, 3, 3, 3)),
        (1, "features.0.1.weight", (16,)),
        (5, "features.0.1.num_batches_tracked", ()),
        (6, "features.1.conv.0.0.weight", (16, 1, 3, 3)),
        (12, "features.1.conv.1.weight", (8, 16, 1, 1)),
        (13, "features.1.conv.2.weight", (8,)),
        (18, "features.2.conv.0.0.weight", (48, 8, 1, 1)),
        (None, "features.2.conv.1.0.weight", (48, 1, 3, 3)),
        (None, "features.2.conv.2.weight", (16, 48, 1, 1)),
        (None, "features.2.conv.3.running_var", (16,)),
        (None, "features.12.conv.0.0.weight", (288, 48, 1, 1)),
        (None, "features.17.conv.2.weight", (160, 480, 1, 1)),
        (None, "features.18.0.weight", (1280, 160, 1, 1)),
        (None, "features.18.1.running_mean", (1280,)),
        (312, "classifier.1.weight", (10, 1280)),
        (313, "classifier.1.bias", (10,)),
    ],
    "shufflenetv2_x1_0": [
        (0, "conv1.0.weight", (24, 3, 3, 3)),
        (1, "conv1.1.weight", (24,)),
        (6, "stage2.0.branch1.0.weight", (24, 1, 3, 3)),
        (7, "stage2.0.branch1.1.weight", (24,)),
        (12, "stage2.0.branch1.2.weight", (58, 24, 1, 1)),
        (18, "stage2.0.branch2.0.weight", (58, 24, 1, 1)),
        (24, "stage2.0.branch2.3.weight", (58, 1, 3, 3)),
        (30, "stage2.0.branch2.5.weight", (58, 58, 1, 1)),
        (36, "stage2.1.branch2.0.weight", (58, 58, 1, 1)),
        (None, "stage3.0.branch1.0.weight", (116, 1, 3, 3)),
        (None, "stage3.0.branch1.2.weight", (116, 116, 1, 1)),
        (None, "stage3.7.branch2.5.weight", (116, 116, 1, 1)),
        (None, "stage4.0.branch2.0.weight", (232, 232, 1, 1)),
        (None, "stage4.3.branch2.6.num_batches_tracked", ()),
        (330, "conv5.0.weight", (1024, 464, 1, 1)),
        (336, "fc.weight", (10, 1024)),
        (337, "fc.bias", (10,)),
    ],
}

# Keys that must NOT exist (stride-1 ShuffleNet units have an empty branch1, a2's stage1.0
# has no identity branch).
ABSENT_KEYS = {
    "shufflenetv2_x1_0": ["stage2.1.branch1.0.weight"],
    "repvgg_a2": ["stage1.0.rbr_identity.weight"],
    "repvgg_a0": [],
}


def count_macs(model):
    """MACs of Conv2d and Linear layers at 1x3x32x32: H_out*W_out*C_out*(C_in/groups)*kH*kW
    per conv and in*out per Linear (the rule of zoo/cifar10.md section 2)."""
    total = 0

    def conv_hook(m, _inp, out):
        nonlocal total
        kh, kw = m.kernel_size
        total += out.shape[2] * out.shape[3] * m.out_channels * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, _inp, _out):
        nonlocal total
        total += m.in_features * m.out_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return total


def main():
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    torch.manual_seed(0)
    failures = []
    if sorted(cifar_models.ARCHS) != sorted(PUBLISHED):
        failures.append("ARCHS is %s, expected the 19 names %s" % (cifar_models.ARCHS, list(PUBLISHED)))

    print("%-18s %11s %11s %5s %5s %9s %9s  %s"
          % ("model", "params", "published", "sd", "pub", "MAdds(M)", "published", "result"))
    for arch, (want_params, want_entries, want_madds) in PUBLISHED.items():
        model = cifar_models.build(arch)
        sd = model.state_dict()
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        madds = "%.2f" % (count_macs(model) / 1e6)
        problems = []
        if params != want_params:
            problems.append("params %d != %d" % (params, want_params))
        if len(sd) != want_entries:
            problems.append("state_dict entries %d != %d" % (len(sd), want_entries))
        if madds != want_madds:
            problems.append("MAdds %sM != %sM" % (madds, want_madds))

        keys = list(sd)
        for index, key, shape in SPOT_KEYS.get(arch, []):
            if key not in sd:
                problems.append("missing key %s" % key)
                continue
            if tuple(sd[key].shape) != shape:
                problems.append("%s has shape %s, expected %s" % (key, tuple(sd[key].shape), shape))
            if index is not None and keys.index(key) != index:
                problems.append("%s is entry %d, expected %d" % (key, keys.index(key), index))
        for key in ABSENT_KEYS.get(arch, []):
            if key in sd:
                problems.append("unexpected key %s" % key)

        print("%-18s %11d %11d %5d %5d %9s %9s  %s"
              % (arch, params, want_params, len(sd), want_entries, madds, want_madds,
                 "ok" if not problems else "FAIL"))
        failures += ["%s: %s" % (arch, p) for p in problems]

    if dctest.mismatches(failures):
        return 1
    print("\nall %d architectures match the published counts" % len(PUBLISHED))
    return 0


if __name__ == "__main__":
    sys.exit(main())
