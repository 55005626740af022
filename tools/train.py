#!/usr/bin/python3
"""Train one of the 19 CIFAR-10 architectures on FashionMNIST and export it for dualcnn.

The paper's FashionMNIST preprocessing: the 28x28 gray image is resized to 32x32 (PIL
bilinear, as torchvision's Resize on a PIL image), copied to 3 channels and normalised with
mean 0.2856, std 0.3385. The last 10,000 training images are held out as the validation
split (the split `dualcnn threshold` and `complementarity` tune on); the 60,000 - 10,000
others train the model; the 10,000 test images measure it.

Recipe (seeded, deterministic on one machine): SGD with Nesterov momentum 0.9, weight decay
5e-4, batch 128, learning rate 0.1 on a cosine schedule to 0, label smoothing 0; data
augmentation: random crop of the 32x32 image padded by 4 and random horizontal flip.
The exported HDF5 file carries dataset=fashionmnist, the class names, the recipe and the
measured validation and test accuracy as attributes (and the accuracy on the
first 2,000 test images, which the regression test checks the engine against).

    /usr/bin/python3 tools/train.py --arch resnet20 --epochs 15 --out weights/fashionmnist/resnet20.h5

--init FILE continues from a file this tool wrote (a warm restart: a fresh cosine schedule from
--lr over --epochs more epochs); the recipe attribute then chains both commands and the
training log goes on from the first run's epochs.

Uses Debian's python3-torch; --device cuda when a GPU is there.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar_models  # noqa: E402
import weights_h5  # noqa: E402

MEAN, STD = 0.2856, 0.3385
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]
VAL_SIZE = 10000


def read_idx(path):
    """An IDX file (gzip'd or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(root, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"train.py: {root}: no {stem}[.gz]")


def resize_32(images):
    """28x28 uint8 -> 32x32 uint8 with PIL bilinear (torchvision Resize((32, 32)))."""
    out = np.empty((len(images), 32, 32), np.uint8)
    for i, im in enumerate(images):
        out[i] = np.asarray(Image.fromarray(im, mode="L").resize((32, 32), Image.BILINEAR))
    return out


def load_split(root, train):
    prefix = "train" if train else "t10k"
    x = read_idx(find(root, f"{prefix}-images-idx3-ubyte"))
    y = read_idx(find(root, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return resize_32(x), y


def to_input(u8, device):
    """uint8 N x 32 x 32 -> normalised float N x 3 x 32 x 32 (Grayscale(3), ToTensor, Normalize)."""
    x = torch.from_numpy(u8).to(device).float().div_(255.0)
    x = (x - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def augment(x, gen):
    """Random crop 32 with padding 4 (zero padding of the normalised image, as
    RandomCrop(padding=4) pads the PIL image with black = -MEAN/STD here) and random flip."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4), value=-MEAN / STD)
    ox = torch.randint(0, 9, (n,), generator=gen)
    oy = torch.randint(0, 9, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = padded[i, :, oy[i]:oy[i] + 32, ox[i]:ox[i] + 32]
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


@torch.no_grad()
def evaluate(model, u8, y, device, batch=500):
    model.eval()
    right = 0
    for i in range(0, len(u8), batch):
        logits = model(to_input(u8[i:i + batch], device))
        right += (logits.argmax(1).cpu() == torch.from_numpy(y[i:i + batch])).sum().item()
    return right / len(u8)


def load_init(model, path, arch):
    """Load a weight file written by this tool into model: (its recipe, its train_log)."""
    try:
        state_dict, attrs = weights_h5.read_weights(path)
    except (OSError, ValueError) as e:
        sys.exit(f"train.py: --init {path}: {e}")
    if attrs.get("arch") != arch or attrs.get("dataset") != "fashionmnist":
        sys.exit(f"train.py: --init {path}: arch {attrs.get('arch')!r} dataset "
                 f"{attrs.get('dataset')!r}, expected {arch!r} on 'fashionmnist'")
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        sys.exit(f"train.py: --init {path}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    return attrs.get("recipe", "unknown recipe"), json.loads(attrs.get("train_log", "[]"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", required=True, choices=cifar_models.ARCHS)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                    help="directory of the FashionMNIST IDX files")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only "
                    "(for quick checks)")
    ap.add_argument("--init", metavar="FILE", help="continue training from a weight file this "
                    "tool wrote (a warm restart: a new cosine schedule from --lr over --epochs)")
    ap.add_argument("--out", required=True, help="the HDF5 weight file to write")
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    xtr_all, ytr_all = load_split(args.data, True)
    xte, yte = load_split(args.data, False)
    xtr, ytr = xtr_all[:-VAL_SIZE], ytr_all[:-VAL_SIZE]
    xva, yva = xtr_all[-VAL_SIZE:], ytr_all[-VAL_SIZE:]
    if args.limit:
        xtr, ytr = xtr[:args.limit], ytr[:args.limit]

    model = cifar_models.build(args.arch, num_classes=10)
    prior_recipe, log = None, []
    if args.init:
        prior_recipe, log = load_init(model, args.init, args.arch)
    model = model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.wd)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    gen = torch.Generator().manual_seed(args.seed)
    first_epoch = len(log)
    for epoch in range(first_epoch, first_epoch + args.epochs):
        model.train()
        t0 = time.time()
        order = torch.randperm(len(xtr), generator=gen).numpy()
        seen, loss_sum = 0, 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = augment(to_input(xtr[idx], "cpu"), gen).to(device)
            y = torch.from_numpy(ytr[idx]).to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
            loss_sum += loss.item() * len(idx)
        val = evaluate(model, xva, yva, device)
        log.append({"epoch": epoch + 1, "loss": round(loss_sum / seen, 4), "val": round(val, 4),
                    "seconds": round(time.time() - t0, 1)})
        print(f"{args.arch} epoch {epoch + 1}/{first_epoch + args.epochs}: loss {loss_sum / seen:.4f}, "
              f"validation accuracy {val:.4f} ({time.time() - t0:.0f} s)", flush=True)

    test = evaluate(model, xte, yte, device)
    # what tests/fashionmnist checks the engine against: the first 2,000 test images
    test_2000 = evaluate(model, xte[:2000], yte[:2000], device)
    val = log[-1]["val"] if log else evaluate(model, xva, yva, device)
    print(f"{args.arch}: test accuracy {test:.4f}, validation {val:.4f}", flush=True)
    recipe = (f"tools/train.py --arch {args.arch} --epochs {args.epochs} --batch {args.batch} "
              f"--lr {args.lr} --wd {args.wd} --seed {args.seed}"
              + (f" --limit {args.limit}" if args.limit else ""))
    if args.init:
        recipe = f"{prior_recipe}; then {recipe} --init {os.path.basename(args.init)}"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    weights_h5.write_weights(
        args.out, model.cpu().state_dict(), args.arch, "fashionmnist", 10, (3, 32, 32),
        (MEAN,) * 3, (STD,) * 3, class_names=CLASSES,
        source="trained by dualcnn's tools/train.py on FashionMNIST (train split minus the "
               "last 10,000 images)",
        extra_attrs={"recipe": recipe, "test_accuracy": float(test),
                     "test_accuracy_first_2000": float(test_2000),
                     "val_accuracy": float(val), "train_log": json.dumps(log),
                     "torch_version": torch.__version__})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
