"""PyTorch definitions of the 19 CIFAR-10 models of chenyaofo/pytorch-cifar-models.

Written from the facts in shared zoo/cifar10.md (not copied from upstream). Every model
reproduces the upstream ``state_dict`` key for key, in the same order and with the same
shapes, so that a released ``cifar10_<arch>-<hash>.pt`` file loads with a strict
``load_state_dict``. The structure (strides, padding, activations, residuals) is the one
the C engine must reproduce; tools/reference.py runs these models to produce the logits
the parity tests compare against.

    build(arch, num_classes=10) -> nn.Module
    ARCHS                         the 19 names, in the README's order

Initialisation: ResNet follows upstream as zoo/cifar10.md states it (Kaiming normal,
fan_out, for convs; BN weight 1, bias 0); the other families keep PyTorch's module
defaults. It matters only when training from scratch and for the random weights of the
parity tests (tools/export_weights.py --random), never for released weights.
"""

import torch
import torch.nn as nn

__all__ = ["ARCHS", "build"]


# ---------------------------------------------------------------------------------------
# ResNet (resnet20/32/44/56)
# ---------------------------------------------------------------------------------------

class BasicBlock(nn.Module):
    """Mirrors chenyaofo's ``BasicBlock``: two 3x3 convs, projection shortcut when needed.

    out = ReLU(bn2(conv2(ReLU(bn1(conv1(x))))) + shortcut(x)), the stride on conv1, the
    shortcut a 1x1 conv + BN (``downsample.0/.1``) when the shape changes, else identity.
    """

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, 0, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class CifarResNet(nn.Module):
    """Mirrors chenyaofo's ``CifarResNet``: 3x3 stem (16), three stages of n BasicBlocks
    (16, 32, 64 wide; strides 1, 2, 2), global average pool, ``fc``."""

    def __init__(self, blocks_per_stage, num_classes=10):
        super().__init__()
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(16, blocks_per_stage, stride=1)
        self.layer2 = self._make_layer(32, blocks_per_stage, stride=2)
        self.layer3 = self._make_layer(64, blocks_per_stage, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes, blocks, stride):
        layers = [BasicBlock(self.inplanes, planes, stride)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes, 1) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# ---------------------------------------------------------------------------------------
# VGG with BatchNorm (vgg11_bn/13_bn/16_bn/19_bn)
# ---------------------------------------------------------------------------------------

VGG_CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_vgg_features(cfg):
    """``features`` of a VGG: an int v is conv3x3(bias) + BN(v) + ReLU, 'M' a 2x2 maxpool."""
    layers, in_ch = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, v, 3, 1, 1, bias=True), nn.BatchNorm2d(v),
                       nn.ReLU(inplace=True)]
            in_ch = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """Mirrors chenyaofo's ``VGG``: features down to 512x1x1 (no avgpool), flatten, and a
    512-512-num_classes classifier with ReLU and Dropout(0.5) between the Linears."""

    def __init__(self, features, num_classes=10):
        super().__init__()
        self.features = features
        self.classifier = nn.Sequential(
            nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(512, 512), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(512, num_classes))

    def forward(self, x):
        x = torch.flatten(self.features(x), 1)
        return self.classifier(x)


# ---------------------------------------------------------------------------------------
# MobileNetV2 (x0_5, x0_75, x1_0, x1_4)
# ---------------------------------------------------------------------------------------

def make_divisible(v, divisor=8, min_value=None):
    """Round v to the nearest multiple of divisor (at least min_value, default divisor),
    going one step up if that lost more than 10% of v (torchvision's _make_divisible)."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """conv (no bias) + BN + ReLU6 as one Sequential, so its keys are ``0.*`` and ``1.*``."""

    def __init__(self, in_ch, out_ch, kernel_size=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel_size, stride, (kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    """Mirrors chenyaofo's MobileNetV2 ``InvertedResidual``: [expand 1x1 + BN + ReLU6 when
    t != 1], depthwise 3x3 + BN + ReLU6, project 1x1 + BN (linear), and x + block(x) when
    stride 1 and in == out. All under ``conv``; for t == 1 the indices shift down by one."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden, kernel_size=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


# (t, c, n, s): expansion, output channels (before the width multiplier), repeats, stride
# of the first repeat. The second row has stride 1 (ImageNet: 2) for 32x32 inputs.
MOBILENETV2_SETTING = [
    (1, 16, 1, 1),
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
]


class MobileNetV2(nn.Module):
    """Mirrors chenyaofo's ``MobileNetV2``: stride-1 3x3 stem, 17 inverted residuals, 1x1 to
    the last channel, global mean, classifier = Dropout(0.2) + Linear (``classifier.1``)."""

    def __init__(self, width_mult=1.0, num_classes=10):
        super().__init__()
        input_channel = make_divisible(32 * width_mult)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult))
        features = [ConvBNReLU6(3, input_channel, stride=1)]
        for t, c, n, s in MOBILENETV2_SETTING:
            output_channel = make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel,
                                                 s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2),
                                        nn.Linear(self.last_channel, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = x.mean([2, 3])
        return self.classifier(x)


# ---------------------------------------------------------------------------------------
# ShuffleNetV2 (x0_5, x1_0, x1_5, x2_0)
# ---------------------------------------------------------------------------------------

def channel_shuffle(x, groups):
    """Interleave the channel groups: view (N, g, C/g, H, W), swap dims 1 and 2, flatten."""
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(n, c, h, w)


class ShuffleUnit(nn.Module):
    """Mirrors chenyaofo's ShuffleNetV2 ``InvertedResidual``.

    stride 2: cat(branch1(x), branch2(x)); stride 1: split x in halves x1, x2 and
    cat(x1, branch2(x2)); then a channel shuffle with 2 groups. branch1 (stride 2 only) is
    dw3x3 + BN + 1x1 + BN + ReLU; branch2 is 1x1 + BN + ReLU + dw3x3 + BN + 1x1 + BN + ReLU.
    """

    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
                nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, 1, 0, bias=False),
                nn.BatchNorm2d(bf),
                nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()   # no keys
        branch2_in = inp if stride > 1 else bf
        self.branch2 = nn.Sequential(
            nn.Conv2d(branch2_in, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False),
            nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, 1, 0, bias=False),
            nn.BatchNorm2d(bf),
            nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


SHUFFLENETV2_CHANNELS = {
    "x0_5": [24, 48, 96, 192, 1024],
    "x1_0": [24, 116, 232, 464, 1024],
    "x1_5": [24, 176, 352, 704, 1024],
    "x2_0": [24, 244, 488, 976, 2048],
}


class ShuffleNetV2(nn.Module):
    """Mirrors chenyaofo's ``ShuffleNetV2``: stride-1 3x3 stem (``conv1``, no maxpool),
    stages 2-4 of 4/8/4 units (first one stride 2), 1x1 ``conv5``, global mean, ``fc``."""

    def __init__(self, stages_out_channels, stages_repeats=(4, 8, 4), num_classes=10):
        super().__init__()
        in_ch = stages_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, in_ch, 3, 1, 1, bias=False),
            nn.BatchNorm2d(in_ch),
            nn.ReLU(inplace=True))
        for name, repeats, out_ch in zip(("stage2", "stage3", "stage4"), stages_repeats,
                                         stages_out_channels[1:4]):
            units = [ShuffleUnit(in_ch, out_ch, 2)]
            units += [ShuffleUnit(out_ch, out_ch, 1) for _ in range(repeats - 1)]
            setattr(self, name, nn.Sequential(*units))
            in_ch = out_ch
        last = stages_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(in_ch, last, 1, 1, 0, bias=False),
            nn.BatchNorm2d(last),
            nn.ReLU(inplace=True))
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.stage4(self.stage3(self.stage2(x)))
        x = self.conv5(x)
        x = x.mean([2, 3])
        return self.fc(x)


# ---------------------------------------------------------------------------------------
# RepVGG, train (multi-branch) form (a0, a1, a2)
# ---------------------------------------------------------------------------------------

def conv_bn(in_ch, out_ch, kernel_size, stride, padding):
    """conv (no bias) + BN as a Sequential with named children ``conv`` and ``bn``."""
    seq = nn.Sequential()
    seq.add_module("conv", nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding,
                                     bias=False))
    seq.add_module("bn", nn.BatchNorm2d(out_ch))
    return seq


class RepVGGBlock(nn.Module):
    """Mirrors chenyaofo's ``RepVGGBlock`` with deploy=False:
    ReLU(rbr_dense(x) + rbr_1x1(x) + rbr_identity(x)), where rbr_dense is 3x3 conv + BN,
    rbr_1x1 is 1x1 conv (pad 0) + BN, and rbr_identity a bare BN that exists only when
    in == out and stride == 1. rbr_identity is registered first, as upstream, so its keys
    come first in the state_dict."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.nonlinearity = nn.ReLU()
        self.rbr_identity = (nn.BatchNorm2d(in_ch)
                             if in_ch == out_ch and stride == 1 else None)
        self.rbr_dense = conv_bn(in_ch, out_ch, 3, stride, 1)
        self.rbr_1x1 = conv_bn(in_ch, out_ch, 1, stride, 0)

    def forward(self, x):
        out = self.rbr_dense(x) + self.rbr_1x1(x)
        if self.rbr_identity is not None:
            out = out + self.rbr_identity(x)
        return self.nonlinearity(out)


class RepVGG(nn.Module):
    """Mirrors chenyaofo's ``RepVGG`` (train form, groups 1): stage0 block (stride 1), stages
    1-4 of num_blocks blocks (first-block strides 1, 2, 2, 2), global mean (``gap``),
    ``linear``. Widths: stage0 min(64, 64*a1); stages 64*a1, 128*a2, 256*a3, 512*a4."""

    def __init__(self, num_blocks, width_multiplier, num_classes=10):
        super().__init__()
        self.in_planes = min(64, int(64 * width_multiplier[0]))
        self.stage0 = RepVGGBlock(3, self.in_planes, stride=1)
        self.stage1 = self._make_stage(int(64 * width_multiplier[0]), num_blocks[0], 1)
        self.stage2 = self._make_stage(int(128 * width_multiplier[1]), num_blocks[1], 2)
        self.stage3 = self._make_stage(int(256 * width_multiplier[2]), num_blocks[2], 2)
        self.stage4 = self._make_stage(int(512 * width_multiplier[3]), num_blocks[3], 2)
        self.gap = nn.AdaptiveAvgPool2d(output_size=1)
        self.linear = nn.Linear(int(512 * width_multiplier[3]), num_classes)

    def _make_stage(self, planes, num_blocks, stride):
        blocks = []
        for s in [stride] + [1] * (num_blocks - 1):
            blocks.append(RepVGGBlock(self.in_planes, planes, stride=s))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.stage0(x)
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        x = torch.flatten(self.gap(x), 1)
        return self.linear(x)


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------

_BUILDERS = {
    "resnet20": lambda nc: CifarResNet(3, nc),
    "resnet32": lambda nc: CifarResNet(5, nc),
    "resnet44": lambda nc: CifarResNet(7, nc),
    "resnet56": lambda nc: CifarResNet(9, nc),
    "vgg11_bn": lambda nc: VGG(make_vgg_features(VGG_CFGS["A"]), nc),
    "vgg13_bn": lambda nc: VGG(make_vgg_features(VGG_CFGS["B"]), nc),
    "vgg16_bn": lambda nc: VGG(make_vgg_features(VGG_CFGS["D"]), nc),
    "vgg19_bn": lambda nc: VGG(make_vgg_features(VGG_CFGS["E"]), nc),
    "mobilenetv2_x0_5": lambda nc: MobileNetV2(0.5, nc),
    "mobilenetv2_x0_75": lambda nc: MobileNetV2(0.75, nc),
    "mobilenetv2_x1_0": lambda nc: MobileNetV2(1.0, nc),
    "mobilenetv2_x1_4": lambda nc: MobileNetV2(1.4, nc),
    "shufflenetv2_x0_5": lambda nc: ShuffleNetV2(SHUFFLENETV2_CHANNELS["x0_5"], num_classes=nc),
    "shufflenetv2_x1_0": lambda nc: ShuffleNetV2(SHUFFLENETV2_CHANNELS["x1_0"], num_classes=nc),
    "shufflenetv2_x1_5": lambda nc: ShuffleNetV2(SHUFFLENETV2_CHANNELS["x1_5"], num_classes=nc),
    "shufflenetv2_x2_0": lambda nc: ShuffleNetV2(SHUFFLENETV2_CHANNELS["x2_0"], num_classes=nc),
    "repvgg_a0": lambda nc: RepVGG([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5], nc),
    "repvgg_a1": lambda nc: RepVGG([2, 4, 14, 1], [1, 1, 1, 2.5], nc),
    "repvgg_a2": lambda nc: RepVGG([2, 4, 14, 1], [1.5, 1.5, 1.5, 2.75], nc),
}

ARCHS = list(_BUILDERS)


def build(arch, num_classes=10):
    """Build the named CIFAR architecture (train form, in train mode as nn.Module starts).

    Raises ValueError for an unknown name; the message lists the known ones.
    """
    try:
        builder = _BUILDERS[arch]
    except KeyError:
        raise ValueError("unknown CIFAR architecture %r (known: %s)"
                         % (arch, ", ".join(ARCHS))) from None
    return builder(num_classes)
