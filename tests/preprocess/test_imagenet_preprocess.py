#!/usr/bin/env python3
"""ImageNet preprocessing of `dualcnn classify` against torchvision 0.14 itself.

For image files written with PIL (random noise, gradients, odd sizes, an image smaller
than the crop, gray, RGBA and palette PNGs, RGB and gray JPEGs), the input tensor
`dualcnn classify --dump-input` reports is compared with torchvision's own preset of the
weights, ResNet18_Weights.IMAGENET1K_V1.transforms() (ImageClassification: Resize(256,
bilinear) on the PIL image, CenterCrop(224), ToTensor, Normalize), applied the way
torchvision's ImageFolder loads an image: Image.open(f).convert('RGB'). The comparison is
on pixel values before normalisation (in units of 1/255); the acceptance bar is a mean
absolute difference <= 0.5/255 and a max <= 2/255 per image; the resize is bit-exact, so
every difference is expected to be 0. The same is done for Swin_T's bicubic preset
(232 -> 224) when swin_t is built (otherwise tests/test_preprocess.c covers the bicubic
chain through dc_preprocess_imagenet with explicit sizes).

End to end: random resnet18 weights (tools/export_weights.py --random) classify an RGB and
a gray JPEG; the top-5 classes and probabilities must be torchvision's for the same file
through the same preset (the model built from the weight file as tools/reference.py does),
and all logits (`dualcnn infer` on the dumped input) within the parity tolerance.

Usage: test_imagenet_preprocess.py DUALCNN_BINARY WORKDIR SOURCE_ROOT
"""
import os
import re
import sys

import numpy as np
import torch
import torchvision
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, path  # noqa: E402

BIN, WORK, ROOT = dctest.args()
from reference import load_model  # noqa: E402

torch.set_num_threads(1)
ENV = dict(os.environ, OMP_WAIT_POLICY="passive")


def run(*args):
    p = dctest.dualcnn(*args, env=ENV)
    return p.returncode, p.stdout, p.stderr


def export(arch, seed, out):
    dctest.export_weights(arch, "imagenet", seed, out, env=ENV)


def pil_rgb(file):
    """The image as torchvision's ImageFolder loader gives it."""
    with open(file, "rb") as f:
        return Image.open(f).convert("RGB")


# ---- the images ---------------------------------------------------------------------
rng = np.random.default_rng(7)


def noise(w, h, c=3):
    return rng.integers(0, 256, size=(h, w, c) if c > 1 else (h, w), dtype=np.uint8)


def gradient(w, h):
    yy, xx = np.mgrid[0:h, 0:w]
    r = xx * 255 // max(w - 1, 1)
    g = yy * 255 // max(h - 1, 1)
    b = (xx + yy) % 256
    return np.stack([r, g, b], axis=2).astype(np.uint8)


def smooth(w, h):
    """A photo-like image (smooth blobs plus a little noise), what JPEG is made for."""
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    a = np.stack([np.sin(7 * xx + 3 * yy), np.cos(5 * yy - 2 * xx), np.sin(9 * xx * yy)], 2)
    a = (a + 1) * 110 + rng.normal(0, 6, size=a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)


images = []  # (name, file)


def save(name, img, **kw):
    file = path(name)
    img.save(file, **kw)
    images.append((name, file))


save("noise_333x500.png", Image.fromarray(noise(333, 500)))
save("noise_500x333.png", Image.fromarray(noise(500, 333)))
save("noise_200x180.png", Image.fromarray(noise(200, 180)))      # smaller than 256, not 224
save("noise_150x97.png", Image.fromarray(noise(150, 97)))        # smaller than the crop
save("gradient_257x259.png", Image.fromarray(gradient(257, 259)))
save("gradient_641x97.png", Image.fromarray(gradient(641, 97)))
save("noise_224x224.png", Image.fromarray(noise(224, 224)))
save("noise_1x1.png", Image.fromarray(noise(1, 1)))
save("gray_333x500.png", Image.fromarray(noise(333, 500, 1), "L"))
rgba = np.concatenate([noise(301, 257), noise(301, 257, 1)[:, :, None]], axis=2)
save("rgba_301x257.png", Image.fromarray(rgba, "RGBA"))
save("gray_alpha_211x233.png",
     Image.fromarray(np.stack([noise(211, 233, 1), noise(211, 233, 1)], 2), "LA"))
pal = Image.fromarray(gradient(280, 250)).convert("P", palette=Image.Palette.ADAPTIVE,
                                                   colors=200)
save("palette_280x250.png", pal)
save("palette_transparent_280x250.png", pal, transparency=5)
save("smooth_500x375.jpg", Image.fromarray(smooth(500, 375)), quality=90)
save("smooth_333x500.jpg", Image.fromarray(smooth(333, 500)), quality=75)
save("noise_640x480.jpg", Image.fromarray(noise(640, 480)), quality=95)
save("gray_375x500.jpg", Image.fromarray(smooth(375, 500)).convert("L"), quality=85)
save("smooth_200x180_420.jpg", Image.fromarray(smooth(200, 180)), quality=80, subsampling=2)


# ---- preprocessing against torchvision -------------------------------------------------
def compare_inputs(label, weights, preset):
    """Dumps our inputs for every image through classify, compares them with preset's."""
    dump = path(label + "_inputs.npy")
    rc, out, err = run("classify", "-w1", weights, "--threads", "1", "--dump-input", dump,
                       *[f for _, f in images])
    check(f"{label}: classify all images", rc == 0, err[-2000:])
    if rc != 0:
        return
    ours = np.load(dump)
    check(f"{label}: dump is N x 3 x 224 x 224 float32",
          ours.shape == (len(images), 3, 224, 224) and ours.dtype == np.float32,
          f"{ours.shape} {ours.dtype}")
    mean = torch.tensor(preset.mean).view(3, 1, 1)
    std = torch.tensor(preset.std).view(3, 1, 1)
    for i, (name, file) in enumerate(images):
        want_n = preset(pil_rgb(file))  # normalised, as the model gets it
        got_n = torch.from_numpy(ours[i])
        # before normalisation, in units of 1/255 (x * std + mean undoes Normalize up to
        # float rounding, far below 1/255)
        got = (got_n * std + mean) * 255.0
        want = (want_n * std + mean) * 255.0
        d = (got - want).abs()
        mad, mx = float(d.mean()), float(d.max())
        exact = bool(torch.equal(got_n, want_n))
        print(f"  {label} {name}: mean |diff| {mad:.3g}/255, max {mx:.3g}/255, "
              f"normalised tensors identical: {exact}")
        if name.lower().endswith(".png"):
            # a PNG decodes to the same pixels everywhere and the resize is bit-exact: the
            # only difference allowed is Normalize's float rounding (far below 1/255)
            check(f"{label}: {name} is exact (every pixel the same, float rounding only)",
                  mx <= 1e-3 and bool(torch.equal(got.round(), want.round())),
                  f"mean {mad:.4f}/255, max {mx:.4f}/255")
        else:  # JPEG: libjpeg's and PIL's IDCTs may differ by one level
            check(f"{label}: {name} within 0.5/255 mean and 2/255 max",
                  mad <= 0.5 and mx <= 2.0, f"mean {mad:.4f}/255, max {mx:.4f}/255")


rc, out, _ = run("classify", "--help")
check("classify --help documents --dump-input", rc == 0 and "--dump-input" in out, out)

r18 = path("resnet18.h5")
export("resnet18", 0, r18)
resnet18_preset = torchvision.models.get_weight("ResNet18_Weights.IMAGENET1K_V1").transforms()
check("resnet18 preset is bilinear 256 -> 224",
      resnet18_preset.resize_size == [256] and resnet18_preset.crop_size == [224] and
      resnet18_preset.interpolation == torchvision.transforms.InterpolationMode.BILINEAR,
      repr(resnet18_preset))
compare_inputs("resnet18", r18, resnet18_preset)

swin = path("swin_t.h5")
export("swin_t", 0, swin)
swin_preset = torchvision.models.get_weight("Swin_T_Weights.IMAGENET1K_V1").transforms()
compare_inputs("swin_t", swin, swin_preset)

# ---- classify end to end against torchvision ------------------------------------------
model, attrs = load_model(r18)
row = re.compile(r"^\s*(\d)\.\s+([0-9.]+)%\s+class (\d+)\s")  # rank, %, class, name
for name in ("smooth_500x375.jpg", "gray_375x500.jpg"):
    file = path(name)
    dump = path(name + "_input.npy")
    rc, out, err = run("classify", "-w1", r18, "--threads", "1", "--dump-input", dump, file)
    check(f"classify {name}", rc == 0 and ("(500x375)" in out or "(375x500)" in out),
          out + err)
    got = [(int(m.group(3)), float(m.group(2)) / 100.0)
           for m in (row.match(line) for line in out.splitlines()) if m]
    with torch.no_grad():
        logits = model(resnet18_preset(pil_rgb(file)).unsqueeze(0))[0]
    probs = torch.softmax(logits, 0)
    p5, i5 = torch.topk(probs, 5)
    want = [(int(i), float(p)) for p, i in zip(p5, i5)]
    print(f"  {name}: dualcnn top-5 {got}")
    print(f"  {name}: torch   top-5 {[(i, round(p, 6)) for i, p in want]}")
    check(f"{name}: five classes printed", len(got) == 5, out)
    if len(got) != 5:
        continue
    check(f"{name}: top-1 is torchvision's", got[0][0] == want[0][0],
          f"{got[0]} vs {want[0]}")
    # printed with 3 decimals in percent: 5e-6 of rounding, plus float differences
    dp = max(abs(g[1] - float(probs[g[0]])) for g in got)
    print(f"  {name}: max |p_dualcnn - p_torch| over the printed top-5: {dp:.2g}")
    check(f"{name}: top-5 probabilities within 2e-5 of torchvision's", dp <= 2e-5, f"{dp}")
    # all 1000 logits: `dualcnn infer` on the input classify saw, against torch on
    # torchvision's input (the same tensor, as checked above)
    rc, _, err = run("infer", "-w", r18, "--threads", "1", "-i", dump, "-o", dump + ".out.npy")
    ours = np.load(dump + ".out.npy")[0] if rc == 0 else None
    if ours is not None:
        dl = float(np.abs(ours - logits.numpy()).max())
        tol = 1e-4 * max(1.0, float(logits.abs().max()))
        print(f"  {name}: max |logit diff| {dl:.2g} (tolerance {tol:.2g})")
        check(f"{name}: logits within the parity tolerance", dl <= tol, f"{dl} > {tol}")
    else:
        check(f"{name}: infer on the dumped input", False, err)
    # the printed order is torch's, except within ties closer than the printing
    for (gi, gp), (wi, wp) in zip(got, want):
        check(f"{name}: rank of class {gi}", gi == wi or abs(wp - float(probs[gi])) <= 2e-5,
              f"dualcnn {gi} ({gp}), torch {wi} ({wp})")

# ---- `dualcnn predict` on an ImageNet class-per-folder tree --------------------------------
# 1000 class folders (a model's classes must match the tree's), images in two of them.
import glob  # noqa: E402
import h5py  # noqa: E402
import shutil  # noqa: E402

tree = path("tree")
shutil.rmtree(tree, ignore_errors=True)
for k in range(1000):
    os.makedirs(os.path.join(tree, f"n{k:04d}"))
for name, _ in images[:4]:
    shutil.copy(path(name), os.path.join(tree, "n0003"))
for name, _ in images[-4:]:
    shutil.copy(path(name), os.path.join(tree, "n0467"))
files = sorted(glob.glob(os.path.join(tree, "n0003", "*"))) + \
    sorted(glob.glob(os.path.join(tree, "n0467", "*")))
cache = path("cache")
shutil.rmtree(cache, ignore_errors=True)
rc, out, err = run("predict", "-m", "resnet18", "-w", r18, "-D", "imagenet", "-v", tree,
                   "--logits", "--cache", cache, "--threads", "1", "--batch", "3", "-q")
check("predict on an ImageNet tree", rc == 0, out + err)
cached = glob.glob(os.path.join(cache, "*.h5"))
if rc == 0 and len(cached) == 1:
    with h5py.File(cached[0], "r") as f:
        got = f["logits"][...]
    with torch.no_grad():
        want = torch.stack([model(resnet18_preset(pil_rgb(p)).unsqueeze(0))[0]
                            for p in files]).numpy()
    dl = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    tol = 1e-4 * max(1.0, float(np.abs(want).max()))
    print(f"  predict: {len(files)} images, max |logit diff| {dl:.2g} (tolerance {tol:.2g})")
    check("predict: logits are torchvision's through the weights' preset",
          dl <= tol and (got.argmax(1) == want.argmax(1)).all(), f"{dl} > {tol}")

dctest.finish()
