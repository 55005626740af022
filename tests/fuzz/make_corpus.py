#!/usr/bin/python3
"""Writes the seed corpora of the libFuzzer harnesses: tests/fuzz/corpus/<name>/.

Each seed is a small valid file of the kind its harness parses (a mutation of a valid file
reaches much deeper than random bytes). Needs Debian's python3 with python3-numpy
and python3-opencv (for the JPEG). Deterministic: running it twice writes the
same bytes. Usage: tests/fuzz/make_corpus.py [OUTDIR] [--h5read PATH]  (OUTDIR defaults
to the corpus/ next to this file). The h5file seeds are real HDF5 files (python3-h5py);
the h5snapshot seeds are what the quarantined reader PATH (build/cli/dualcnn-h5read) makes
of them, written only when --h5read is given.
"""
import gzip
import io
import os
import pickle
import struct
import sys
import zlib

import cv2
import numpy as np

ARGS = sys.argv[1:]
H5READ = None
if "--h5read" in ARGS:
    H5READ = ARGS[ARGS.index("--h5read") + 1]
    del ARGS[ARGS.index("--h5read"):ARGS.index("--h5read") + 2]
OUT = ARGS[0] if ARGS else os.path.join(os.path.dirname(__file__), "corpus")
rng = np.random.default_rng(14)


def put(name, file, data):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, file), "wb") as f:
        f.write(data)


def split(flags, a, b):
    """The input layout of fuzz_split_input: flags, len(a) in 2 bytes, a, b."""
    assert len(a) < 65536
    return bytes([flags]) + struct.pack("<H", len(a)) + a + b


def npy(arr, version=None):
    buf = io.BytesIO()
    if version:
        np.lib.format.write_array(buf, arr, version=version)
    else:
        np.save(buf, arr)
    return buf.getvalue()


# ---- NPY: ranks 0, 1, 2, 4, an empty array, versions 1.0, 2.0 and 3.0
f4 = np.float32
put("npy", "scalar.npy", npy(np.array(1.5, dtype=f4)))
put("npy", "vector.npy", npy(np.arange(5, dtype=f4)))
put("npy", "matrix.npy", npy(rng.standard_normal((2, 3)).astype(f4)))
put("npy", "nchw.npy", npy(rng.standard_normal((1, 3, 2, 2)).astype(f4)))
put("npy", "empty.npy", npy(np.zeros((0, 4), dtype=f4)))
put("npy", "v2.npy", npy(np.ones((2, 2), dtype=f4), version=(2, 0)))
put("npy", "v3.npy", npy(np.ones((3,), dtype=f4), version=(3, 0)))

# ---- pickles shaped like CIFAR-10's python batches (protocol 2 from Python 3, and 3)
labels = [0, 3, 9]
pixels = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
batch = {b"batch_label": b"testing batch 1 of 1", b"labels": labels, b"data": pixels,
         b"filenames": [b"a.png", b"b.png", b"c.png"]}
names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
         b"ship", b"truck"]
meta = {b"num_cases_per_batch": 3, b"label_names": names, b"num_vis": 3072}
put("pickle", "batch_p2.pickle", pickle.dumps(batch, protocol=2))
put("pickle", "batch_p3.pickle", pickle.dumps(batch, protocol=3))
put("pickle", "meta_p2.pickle", pickle.dumps(meta, protocol=2))
put("pickle", "small_p2.pickle",
    pickle.dumps({b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), b"labels": [1, 2, 3],
                  "text": "é", b"t": (1, None, True, False, 300, 70000)}, protocol=2))
put("pickle", "shared_p2.pickle", pickle.dumps({b"a": [names, names]}, protocol=2))

# ---- IDX (FashionMNIST), plain (flags 0) and gzip'd (flags 1)
count, side = 3, 5
images = struct.pack(">IIII", 0x803, count, side, side) + bytes(
    rng.integers(0, 256, size=count * side * side, dtype=np.uint8))
idx_labels = struct.pack(">II", 0x801, count) + bytes([1, 0, 9])
put("idx", "plain.bin", split(0, images, idx_labels))
put("idx", "gz.bin", split(1, gzip.compress(images, mtime=0), gzip.compress(idx_labels, mtime=0)))
put("idx", "gz_members.bin", split(1, gzip.compress(images[:9], mtime=0)
                                   + gzip.compress(images[9:], mtime=0),
                                   gzip.compress(idx_labels, mtime=0)))

# ---- CIFAR-10: binary (flags 0; 2: no batches.meta.txt) and python (flags 1)
records = b"".join(bytes([l]) + pixels[i].tobytes() for i, l in enumerate(labels))
meta_txt = b"".join(n + b"\n" for n in names) + b"\n"
put("cifar", "bin.bin", split(0, records, meta_txt))
put("cifar", "bin_nometa.bin", split(2, records, b""))
put("cifar", "py.bin", split(1, pickle.dumps(batch, protocol=2), pickle.dumps(meta, protocol=2)))


# ---- images: PNG (RGB, gray, palette with tRNS, RGBA 16-bit, interlaced) and JPEG
def png(w, h, color_type, bit_depth, raw_rows, extra=b"", interlace=0):
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace)
    raw = b"".join(b"\0" + r for r in raw_rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


w, h = 4, 3
rgb = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
put("image", "rgb.png", png(w, h, 2, 8, [rgb[y].tobytes() for y in range(h)]))
put("image", "gray.png", png(w, h, 0, 8, [rgb[y, :, 0].tobytes() for y in range(h)]))
plte = struct.pack(">I", 6) + b"PLTE" + bytes([255, 0, 0, 0, 0, 255])
plte += struct.pack(">I", zlib.crc32(plte[4:]))
trns = struct.pack(">I", 1) + b"tRNS" + b"\x80"
trns += struct.pack(">I", zlib.crc32(trns[4:]))
put("image", "palette.png", png(w, h, 3, 8, [bytes([y % 2] * w) for y in range(h)], plte + trns))
rgba16 = rng.integers(0, 65536, size=(h, w, 4), dtype=np.uint16).astype(">u2")
put("image", "rgba16.png", png(w, h, 6, 16, [rgba16[y].tobytes() for y in range(h)]))
put("image", "interlaced.png", png(1, 1, 2, 8, [b"\x10\x20\x30"], interlace=1))
ok, jpg = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
assert ok
put("image", "rgb.jpg", jpg.tobytes())
ok, jpg = cv2.imencode(".jpg", rgb[:, :, 0], [cv2.IMWRITE_JPEG_QUALITY, 90,
                                               cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
assert ok
put("image", "gray_progressive.jpg", jpg.tobytes())

# ---- config.yml of `dualcnn run -y` (the original main.py's shape)
put("run_config", "full.yml", b"""---
dataset: cifar10
dataset_path: /data/cifar10
first_model:
  name: resnet20
  weights_file: weights/cifar10/resnet20.h5
second_model:
  enable: true
  name: resnet56
  weights_file: "weights/cifar10/resnet56.h5"
  scorefn: maxp
  threshold: 0.85   # a comment
  postcheck: False
memory:
  enable: yes
  method: 'dhash'
duplicates: 0.1
transforms: 0.5
root_password: ''
""")
put("run_config", "small.yml", b"dataset: fashionmnist\nsecond_model:\n  enable: false\n")
# the original repository's own layout (its last config.yml), and the forms PyYAML reads
put("run_config", "seed_layout.yml", b"""---
dataset: intel              #Options cifar10, imagenet, intel, fashionmnist
first_model:
  name: repvgg_a2
  # weights_file: "/somewhere/intel_repvgg_a0.pth"
  weights_file:
second_model:
  enable: false
  name: resnet44
  weights_file:
  scorefn: difference             #Options: [maxp, difference, entropy, oracle]
  threshold: 0.2166
  postcheck: true
memory:
  enable: false
  method: invariants              #Options: [dhash, invariants]
duplicates: 0
transforms: 0
dataset_path: "/data/INTEL/"
root_password:                #Optional
""")
put("run_config", "flow.yml", b"""first_model: {name: resnet20, weights_file: ~}
second_model: {enable: ON, name: resnet56, score_fn: entropy, threshold: .5, postcheck: Off}
memory: {enable: Yes, method: dhash, duplicates: 0x1, transforms: !!bool true}
dataset_path: 'data'
""")

# ---- HDF5 files as the records of tests/fuzz/fuzz_h5.h: (what, name index, type, dims,
# values); types 0 int32, 1 int64, 2 uint64, 3 float32, 4 float64, 5 int8, 6 uint8,
# 7 variable-length string, 8 fixed-length string
H5_NUMPY = {0: "<i4", 1: "<i8", 2: "<u8", 3: "<f4", 4: "<f8", 5: "i1", 6: "u1"}


def h5_records(records):
    out = b""
    for what, name, t, dims, values in records:
        out += bytes([(name << 1) | what, t, len(dims)] + list(dims))
        if t in H5_NUMPY:
            out += np.asarray(values, dtype=H5_NUMPY[t]).reshape(-1).tobytes()
        else:
            for v in ([values] if isinstance(values, str) else values):
                b = v.encode()
                assert len(b) < 32
                out += bytes([len(b)]) + b
    return out


ATTR, DSET = 0, 1
# names as in fuzz_weights.c: the weight file format version 1 (docs/weights-format.md),
# with the two tensors fuzz_weights.c reads
weights = [(ATTR, 0, 0, (), 1), (ATTR, 1, 7, (), "tiny"), (ATTR, 2, 7, (), "fuzz"),
           (ATTR, 3, 0, (), 3), (ATTR, 4, 0, (3,), [1, 3, 3]),
           (ATTR, 5, 3, (3,), [0.5, 0.5, 0.5]), (ATTR, 6, 3, (3,), [0.25, 0.25, 0.25]),
           (ATTR, 7, 7, (), "make_corpus.py"),
           (DSET, 10, 3, (2, 1, 3, 3), rng.standard_normal(18)),
           (DSET, 11, 3, (3,), [0.1, 0.2, 0.3])]
put("weights", "no_names.bin", h5_records(weights))
put("weights", "names.bin", h5_records(weights + [(ATTR, 8, 7, (3,), ["a", "b", "c"]),
                                                   (ATTR, 9, 0, (), 0)]))
put("weights", "fixed_strings.bin", h5_records(
    [(w, n, 8 if t == 7 else t, d, v) for w, n, t, d, v in weights]))

# names as in fuzz_predictions.c: a cache with its key (checksum 1, /fuzz/data, test split,
# first 0, count 4), as cascade/predictions.c writes it
n, k = 4, 3
lg = rng.standard_normal((n, k)).astype(f4)
p = np.exp(lg) / np.exp(lg).sum(1, keepdims=True)
s = np.sort(p, 1)
cache = [(ATTR, 0, 0, (), 3), (ATTR, 1, 2, (), 1), (ATTR, 2, 7, (), "/fuzz/data"),
         (ATTR, 3, 0, (), 0), (ATTR, 4, 0, (), 0), (ATTR, 5, 0, (), n), (ATTR, 6, 7, (), "tiny"),
         (ATTR, 7, 0, (), k), (ATTR, 8, 1, (), 1000),
         (DSET, 9, 0, (n,), [0, 1, 2, 0]), (DSET, 10, 0, (n,), lg.argmax(1)),
         (DSET, 11, 3, (n,), p.max(1)), (DSET, 12, 3, (n,), s[:, -1] - s[:, -2]),
         (DSET, 13, 3, (n,), -(p * np.log(p)).sum(1) / np.log(k))]
# the harness asks for logits when the input's length is odd: one seed of each parity
plain, logits = h5_records(cache), h5_records(cache + [(DSET, 14, 3, (n, k), lg)])
put("predictions", "plain.bin", plain if len(plain) % 2 == 0 else plain + b"\0")
put("predictions", "logits.bin", logits if len(logits) % 2 == 1 else logits + b"\0")

# ---- real HDF5 weight files for fuzz_h5file (the same content as the weights seeds), and
# their snapshots for fuzz_h5snapshot
import subprocess  # noqa: E402
import tempfile  # noqa: E402

import h5py  # noqa: E402


def h5_weight_file(class_names, compress):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.h5")
        with h5py.File(path, "w", track_order=False) as f:
            f.attrs["format_version"] = np.int64(1)
            f.attrs["arch"] = "tiny"
            f.attrs["dataset"] = "fuzz"
            f.attrs["num_classes"] = np.int64(3)
            f.attrs["input_size"] = np.array([1, 3, 3], np.int32)
            f.attrs["mean"] = np.full(3, 0.5, f4)
            f.attrs["std"] = np.full(3, 0.25, f4)
            if class_names:
                f.attrs["class_names"] = ["a", "b", "c"]
            kw = {"compression": "gzip", "chunks": True} if compress else {}
            f.create_dataset("conv/weight", data=np.linspace(-1, 1, 18, dtype=f4)
                             .reshape(2, 1, 3, 3), **kw)
            f.create_dataset("fc/bias", data=np.array([0.1, 0.2, 0.3], f4), **kw)
        with open(path, "rb") as fh:
            data = fh.read()
        snapshot = None
        if H5READ:
            out = os.path.join(tmp, "snapshot")
            with open(out, "w+b") as fh:
                subprocess.run([H5READ, "--snapshot-fd", str(fh.fileno()), "--", path],
                               pass_fds=[fh.fileno()], check=True)
                fh.seek(0)
                snapshot = fh.read()
        return data, snapshot


for name, names, gz in [("plain", False, False), ("names", True, False),
                        ("gzip", True, True)]:
    data, snapshot = h5_weight_file(names, gz)
    put("h5file", name + ".h5", data)
    if snapshot is not None:
        put("h5snapshot", name + ".snap", snapshot)
