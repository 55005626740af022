#!/usr/bin/env python3
"""Every finding of the adversarial trial of issue 14, through the command line, with the
bounds of its first acceptance point: each file is refused with exit status 1 (2 for a bad
config file) and a message naming the file and the problem, in under 10 s and 200 MB of
peak RSS (dualcnn and the children it waited for: the quarantined HDF5 reader), with no
sanitizer report from dualcnn's own process (the ASan build runs this test too).

Every file is rebuilt here from the trial's description (no binary blobs). Findings:
  1. prediction caches whose format_version, count, num_classes, macs or weights_checksum
     holds 100 values, or whose dataset / arch is an array of strings
  2. a weight file with a negative or NaN BatchNorm running_var
  3. (HDF5 files that crash libhdf5: tests/cli/test_hostile_h5.py)
  4. an NPY from a pipe or FIFO whose header claims 96 GB or 300 TB; a 69-byte PNG claiming
     2^31-1 columns; a 1.5 MB gzip bomb as FashionMNIST images announcing 2 million
     images; a cache with num_classes = 2^31-1
  5. a CIFAR-10 Python batch whose dict has 500,000 keys; `run -y /dev/zero`
  6. an output into a read-only directory, as an unprivileged user (nobody, when this runs
     as root: root ignores permission bits): the reason is named, the existing output is
     untouched (same bytes, same inode), no temporary file is left
  7. empty CIFAR binary and IDX splits (no "nan" accuracy), NaN/Inf weights, mean and std,
     caches with float labels, NaN logits or a negative score, format_version 1.9 in a
     weight file, bytes after an IDX gzip stream, a directory as a CIFAR batch file (no
     9223372036854775807 in the message), an LZF-filtered and a soft-linked tensor

A prediction cache is not refused but reported and recomputed, by design
(cascade/predictions.h: "a corrupt one is reported and recomputed"): for those the test
asserts exit status 0, the report naming the cache and the problem, "recomputing", and a
good cache written in its place.

Prints one row per file: finding, case, exit status, seconds, MB and the command.

Usage: test_trial.py DUALCNN_BINARY WORKDIR SOURCE_ROOT"""
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, fresh_dir, path  # noqa: E402

BIN, WORK, ROOT = dctest.args()
LIMIT_S, LIMIT_RSS_MB = dctest.HOSTILE_LIMIT_S, dctest.HOSTILE_LIMIT_RSS_MB
NOBODY = 65534
rows = []  # (finding, case, rc, seconds, MB, command, message)


# Runs a command and measures it. It is started by a small Python (-I -S: no NumPy, about
# 5 MB) rather than by this process: Linux carries a process's peak RSS across fork and exec
# (exec keeps the larger of the old and new memory's peaks, and a vfork child's old memory is
# its parent's), so a child of this interpreter, with NumPy and h5py loaded, would report at
# least this interpreter's peak. The launcher forks, drops to another user when asked, execs
# the command, waits for it with wait4 (ru_maxrss: the peak of the command and of the
# children it waited for, such as the HDF5 reader) and writes pid, status, seconds and peak.
LAUNCHER = r"""
import os, sys, time
result, uid, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        if uid >= 0:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
took = time.monotonic() - t0
with open(result, "w") as f:
    f.write("%d %d %.6f %d\n" % (pid, os.waitstatus_to_exitcode(status), took,
                                 usage.ru_maxrss))
"""


def launch(argv, feed=None, uid=-1, kill_after=60):
    """Runs argv (as user uid when uid >= 0); returns (rc, seconds, output, pid, peak RSS in
    MB). feed(stdin) runs in a thread with the write end of stdin's pipe when given."""
    result = path("launch.txt")
    if os.path.exists(result):
        os.remove(result)
    t0 = time.monotonic()
    with open(path("out.txt"), "w+b") as log:
        p = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER, result, str(uid),
                              *argv], stdout=log, stderr=log, start_new_session=True,
                             stdin=subprocess.PIPE if feed else subprocess.DEVNULL)
        writer = None
        if feed:
            def run_feed():
                try:
                    feed(p.stdin)
                except OSError:
                    pass  # dualcnn stopped reading: what a refusal does
                finally:
                    try:
                        p.stdin.close()
                    except OSError:
                        pass
            writer = threading.Thread(target=run_feed, daemon=True)
            writer.start()
        try:
            p.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)  # the launcher and the command
            p.wait()
        if writer:
            writer.join(timeout=5)
        log.seek(0)
        text = log.read().decode("utf-8", "backslashreplace")
    try:
        with open(result) as f:
            pid, rc, took, kb = f.read().split()
        return int(rc), float(took), text, int(pid), int(kb) / 1024
    except (OSError, ValueError):
        return -9, time.monotonic() - t0, text + f"\n(killed after {kill_after} s)", -1, 0.0


def show(argv):
    s = " ".join(argv)
    for long, short in ((WORK, "$W"), (os.path.abspath(ROOT), "$SRC"), (BIN, "dualcnn")):
        s = s.replace(long, short)
    return s


def expect(finding, case, argv, code, names, fragments=(), absent=(), feed=None, uid=-1,
           binary=None, shown=None):
    """Runs dualcnn with argv; checks the exit status, that the output names each of names
    and holds each fragment and none of absent, the time and memory bounds, and that no
    sanitizer reported on dualcnn's own process. Returns the output."""
    rc, took, text, pid, mb = launch([binary or BIN, *argv], feed=feed, uid=uid)
    lines = [line for line in text.splitlines() if "corrupt" in line or "dualcnn" in line]
    message = show([(lines or text.strip().splitlines() or [""])[0][:300]])
    rows.append((finding, case, rc, took, mb, shown or show(["dualcnn", *argv]), message))
    own_report = (re.search(rf"^=={pid}==\s*(ERROR|WARNING)", text, re.M) is not None
                  or "runtime error:" in text)
    problems = []
    if rc != code:
        problems.append(f"exit status {rc}, wanted {code}")
    problems += [f"no {n!r} in the output" for n in names if n not in text]
    problems += [f"no {f!r} in the output" for f in fragments if f not in text]
    problems += [f"{a!r} in the output" for a in absent if a in text]
    if took >= LIMIT_S:
        problems.append(f"took {took:.1f} s (limit {LIMIT_S:.0f} s)")
    if mb >= LIMIT_RSS_MB:
        problems.append(f"peak RSS {mb:.0f} MB (limit {LIMIT_RSS_MB} MB)")
    if own_report:
        problems.append("a sanitizer report from dualcnn's own process")
    check(f"[{finding}] {case}", not problems,
          "; ".join(problems) + f"; output: {text.strip()[-700:]}")
    return text


# ---- the files everything starts from -----------------------------------------------------
good = path("trial_resnet20.h5")
dctest.export_weights("resnet20", "cifar10", 7, good)
np.save(path("x.npy"), np.random.RandomState(0).randn(2, 3, 32, 32).astype(np.float32))
fmnist_weights = os.path.join(ROOT, "weights", "fashionmnist", "resnet20.h5")
check("the shipped FashionMNIST resnet20 is there", os.path.isfile(fmnist_weights),
      fmnist_weights)
rc, took, text, _, _ = launch([BIN, "infer", "-w", good, "-i", path("x.npy"), "-o",
                               path("y.npy"), "--threads", "1"])
check("infer runs on the good weight file", rc == 0, text)


def cifar_bin(name, records=4, seed=0):
    """A CIFAR-10 binary root: cifar-10-batches-bin/test_batch.bin with `records` records."""
    root = fresh_dir(name)
    d = os.path.join(root, "cifar-10-batches-bin")
    os.makedirs(d)
    rng = np.random.RandomState(seed)
    rec = np.concatenate([rng.randint(0, 10, (records, 1)),
                          rng.randint(0, 256, (records, 3072))], axis=1).astype(np.uint8)
    with open(os.path.join(d, "test_batch.bin"), "wb") as f:
        f.write(rec.tobytes())
    return root, os.path.join(d, "test_batch.bin")


def idx_header(magic, dims):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims)


def broken_weights(name, mutate):
    return dctest.mutated_copy(good, name, mutate)


def infer_args(weights, inp=None):
    return ["infer", "-w", weights, "-i", inp or path("x.npy"), "-o", path("y_bad.npy"),
            "--threads", "1"]


# ---- 1, 4, 7: prediction caches (reported and recomputed) -----------------------------------
data_root, _ = cifar_bin("cache_data", records=4)
cache_dir = fresh_dir("cache")
predict = ["predict", "-w", good, "-v", data_root, "--cache", cache_dir, "--logits",
           "--threads", "1"]
rc, took, text, _, _ = launch([BIN, *predict])
caches = [n for n in os.listdir(cache_dir) if n.endswith(".h5")]
check("predict fills the cache", rc == 0 and len(caches) == 1, f"rc={rc}, {caches}; {text}")
cache = os.path.join(cache_dir, caches[0]) if caches else path("no-cache.h5")
pristine = path("pristine_cache.h5")
if caches:
    shutil.copy(cache, pristine)


def h5_contents(p):
    with h5py.File(p, "r") as f:
        attrs = {k: np.array(v).tolist() for k, v in f.attrs.items()}
        data = {k: f[k][()] for k in f.keys()}
    return attrs, data


def same_cache(a, b):
    try:
        (aa, ad), (ba, bd) = h5_contents(a), h5_contents(b)
    except (OSError, KeyError) as e:
        return False, str(e)
    ok = aa == ba and ad.keys() == bd.keys() and all(
        ad[k].dtype == bd[k].dtype and ad[k].shape == bd[k].shape
        and np.allclose(ad[k], bd[k], rtol=1e-5, atol=1e-6) for k in ad)
    return ok, f"{aa} vs {ba}"


def corrupt_cache(finding, case, mutate, fragments):
    shutil.copy(pristine, cache)
    with h5py.File(cache, "r+") as f:
        mutate(f)
    expect(finding, case + " (reported, recomputed: exit 0)", predict, 0, [cache],
           ["corrupt prediction cache", "recomputing", *fragments])
    ok, detail = same_cache(cache, pristine)
    check(f"[{finding}] {case}: a good cache replaces the corrupt one", ok, detail)


def replace_attr(name, values, dtype=None):
    def mutate(f):
        del f.attrs[name]
        f.attrs.create(name, values, dtype=dtype)
    return mutate


if caches:
    with h5py.File(pristine, "r") as f:
        key_dataset = f.attrs["dataset"]
        key_dataset = key_dataset.decode() if isinstance(key_dataset, bytes) else key_dataset
    for name, dtype, value in [("format_version", np.int32, 3), ("count", np.int32, 4),
                               ("num_classes", np.int32, 10), ("macs", np.int64, 40813184),
                               ("weights_checksum", np.uint64, 12345)]:
        corrupt_cache("1", f"cache: {name} holds 100 values",
                      replace_attr(name, np.full(100, value, dtype)),
                      [f"attribute '{name}' must be one integer"])
    for name, value in [("dataset", key_dataset), ("arch", "resnet20")]:
        corrupt_cache("1", f"cache: {name} is an array of strings",
                      replace_attr(name, [value, value], h5py.string_dtype()),
                      [f"attribute '{name}' must be one string"])
    corrupt_cache("4", "cache: num_classes = 2^31-1",
                  replace_attr("num_classes", np.int32(2**31 - 1)),
                  ["attribute 'num_classes' is out of range"])

    def float_labels(f):
        labels = f["label"][()]
        del f["label"]
        f["label"] = labels.astype(np.float32)

    def nan_logit(f):
        f["logits"][1, 3] = np.nan

    def negative_score(f):
        f["maxp"][2] = -0.5

    corrupt_cache("7", "cache: float labels", float_labels,
                  ["dataset 'label' must hold integers"])
    corrupt_cache("7", "cache: a NaN logit", nan_logit, ["logit 13 is nan"])
    corrupt_cache("7", "cache: a negative score", negative_score, ["maxp score -0.5",
                                                                    "not in [0, 1]"])

# ---- 2, 7: weight files ---------------------------------------------------------------------
bn = "layer2/1/bn2/running_var"


def set_value(dset, index, value):
    def mutate(f):
        w = f[dset][()]
        w.flat[index] = value
        f[dset][...] = w
    return mutate


def set_attr_value(name, index, value):
    def mutate(f):
        v = np.array(f.attrs[name], dtype=np.float32)
        v[index] = value
        f.attrs[name] = v
    return mutate


for finding, case, mutate, frags in [
        ("2", "BatchNorm running_var negative", set_value(bn, 5, -0.25),
         ["layer2.1.bn2.running_var[5]", "negative or NaN"]),
        # NaN is caught by the loader's finite check, before the BatchNorm's own
        ("2", "BatchNorm running_var NaN", set_value(bn, 9, np.nan),
         ["layer2.1.bn2.running_var", "nan", "index 9", "finite"]),
        ("7", "weight NaN", set_value("layer1/0/conv1/weight", 17, np.nan),
         ["layer1.0.conv1.weight", "nan", "index 17", "finite"]),
        ("7", "weight Inf", set_value("fc/weight", 3, np.inf),
         ["fc.weight", "inf", "index 3", "finite"]),
        ("7", "mean NaN", set_attr_value("mean", 1, np.nan), ["'mean'[1]", "finite"]),
        ("7", "std Inf", set_attr_value("std", 2, np.inf), ["'std'[2]", "finite"]),
        ("7", "format_version 1.9 (a float)", dctest.float_format_version,
         ["format_version", "integer"]),
        ("7", "LZF-filtered tensor", dctest.lzf_tensor, ["fc.weight", "filter 32000", "lzf"]),
        ("7", "soft-linked tensor", dctest.soft_linked_tensor,
         ["fc.bias", "soft link", "not supported"])]:
    p = broken_weights("w_" + re.sub(r"[^a-z0-9]+", "_", case.lower()) + ".h5", mutate)
    expect(finding, "weights: " + case, infer_args(p), 1, [p], frags)
check("no output written for a refused file", not os.path.exists(path("y_bad.npy")))

# ---- 4: an NPY from a pipe or a FIFO claiming 96 GB or 300 TB -------------------------------


def npy_header(shape):
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ", ".join(
        str(s) for s in shape)
    pad = 64 - (10 + len(d) + 1) % 64
    h = (d + " " * pad + "\n").encode()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h


SENT = 1 << 20  # what the pipe really carries after the header
for label, n in [("96 GB", 96 * 10**9 // (3 * 32 * 32 * 4)),
                 ("300 TB", 300 * 10**12 // (3 * 32 * 32 * 4))]:
    head = npy_header((n, 3, 32, 32))
    claim = n * 3 * 32 * 32 * 4

    def feed(w, head=head):
        w.write(head)
        for _ in range(SENT // 65536):
            w.write(bytes(65536))

    expect("4", f"NPY on a pipe claiming {label} ({claim} bytes), {SENT} sent",
           infer_args(good, "/dev/stdin"), 1, ["/dev/stdin"], ["truncated"], feed=feed,
           shown=show(["dualcnn", *infer_args(good, "/dev/stdin")]) + f" < (pipe: {label} "
           "header + 1 MiB)")

    fifo = path("claim.fifo")
    if os.path.lexists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)

    def fill_fifo(head=head, fifo=fifo):
        try:
            with open(fifo, "wb") as w:
                feed(w, head)
        except (BrokenPipeError, OSError):
            pass

    t = threading.Thread(target=fill_fifo, daemon=True)
    t.start()
    expect("4", f"NPY in a FIFO claiming {label}, {SENT} sent", infer_args(good, fifo), 1,
           [fifo], ["truncated"])
    if t.is_alive():  # dualcnn never opened it: let the writer go
        try:
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass
        t.join(timeout=5)
    os.remove(fifo)


# ---- 4: a 69-byte PNG whose header says 2^31-1 columns --------------------------------------
def png_chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))


idat = zlib.compress(b"\0", 0)  # one stored byte: 12 bytes, the file 69
png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 2**31 - 1, 1, 8, 2, 0, 0, 0))
       + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))
wide = path("wide.png")
with open(wide, "wb") as f:
    f.write(png)
check("the PNG is 69 bytes", len(png) == 69, str(len(png)))
expect("4", f"PNG of {len(png)} bytes claiming 2^31-1 columns",
       ["classify", "-w1", good, "--threads", "1", wide], 1, [wide], ["too large"])

# ---- 4, 7: FashionMNIST IDX files: a gzip bomb, an empty split, bytes after the gzip stream --
fm_run = ["run", "-m1", "resnet20", "-w1", fmnist_weights, "-D", "fashionmnist", "--limit", "5",
          "-q", "--threads", "1", "-i"]


def gzip_bomb(dst, header, zeros):
    """A gzip file of header + `zeros` zero bytes, made without compressing them all: deflate
    blocks ended by a full flush restart from an empty window, so the block of one MiB of
    zeros is the same every time and is written as often as needed."""
    mib = 1 << 20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(mib)) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "a full flush did not make the blocks repeat"
    full, rest = divmod(zeros, mib)
    last = c.compress(bytes(rest)) + c.flush(zlib.Z_FINISH)
    crc = zlib.crc32(header)
    zero_mib = bytes(mib)
    for _ in range(full):
        crc = zlib.crc32(zero_mib, crc)
    crc = zlib.crc32(bytes(rest), crc)
    probe = zlib.decompressobj(-15).decompress(first + block + block)
    assert probe == header + bytes(2 * mib), "the repeated blocks do not inflate to zeros"
    with open(dst, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03" + first)
        for _ in range(full):
            f.write(block)
        f.write(last + struct.pack("<II", crc & 0xffffffff, (len(header) + zeros) & 0xffffffff))


bomb_dir = fresh_dir("fmnist_bomb")
bomb_images = os.path.join(bomb_dir, "t10k-images-idx3-ubyte.gz")
n_bomb = 2_000_000
gzip_bomb(bomb_images, idx_header(0x803, (n_bomb, 28, 28)), n_bomb * 28 * 28)
with open(os.path.join(bomb_dir, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    f.write(c.compress(idx_header(0x801, (n_bomb,)) + bytes(n_bomb)) + c.flush())
bomb_mb = os.path.getsize(bomb_images) / 1e6
check("the gzip bomb is about 1.5 MB", 1.3 < bomb_mb < 1.7, f"{bomb_mb:.2f} MB")
expect("4", f"IDX gzip bomb ({bomb_mb:.2f} MB, 2,000,000 images of 28x28 announced)",
       fm_run + [bomb_dir], 1, [bomb_images], ["2000000 images", "over the limit"])

rng = np.random.RandomState(3)
pixels = rng.randint(0, 256, (3, 28, 28)).astype(np.uint8)
labels = np.array([1, 4, 9], np.uint8)

empty_idx = fresh_dir("fmnist_empty")
with open(os.path.join(empty_idx, "t10k-images-idx3-ubyte"), "wb") as f:
    f.write(idx_header(0x803, (0, 28, 28)))
with open(os.path.join(empty_idx, "t10k-labels-idx1-ubyte"), "wb") as f:
    f.write(idx_header(0x801, (0,)))
expect("7", "IDX: an empty split", fm_run + [empty_idx], 1,
       [os.path.join(empty_idx, "t10k-images-idx3-ubyte")], ["holds no images"],
       absent=["nan"])

junk_idx = fresh_dir("fmnist_junk")
junk_images = os.path.join(junk_idx, "t10k-images-idx3-ubyte.gz")
c = zlib.compressobj(9, zlib.DEFLATED, 31)
with open(junk_images, "wb") as f:
    f.write(c.compress(idx_header(0x803, (3, 28, 28)) + pixels.tobytes()) + c.flush()
            + b"junk after the gzip stream")
with open(os.path.join(junk_idx, "t10k-labels-idx1-ubyte"), "wb") as f:
    f.write(idx_header(0x801, (3,)) + labels.tobytes())
expect("7", "IDX: bytes after the gzip stream", fm_run + [junk_idx], 1, [junk_images],
       ["not gzip data"])
# the same files without the junk are accepted: the refusal is the junk's
with open(junk_images, "wb") as f:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    f.write(c.compress(idx_header(0x803, (3, 28, 28)) + pixels.tobytes()) + c.flush())
rc, _, text, _, _ = launch([BIN, *fm_run, junk_idx])
check("the same IDX files without the junk run", rc == 0, text[-500:])

# ---- 5, 7: CIFAR-10 batches ----------------------------------------------------------------
cifar_run = ["run", "-m1", "resnet20", "-w1", good, "--limit", "5", "-q", "--threads", "1",
             "-i"]

big = fresh_dir("cifar_big_dict")
os.makedirs(os.path.join(big, "cifar-10-batches-py"))
big_batch = os.path.join(big, "cifar-10-batches-py", "test_batch")
keys = 500_000
body = np.empty((keys, 10), np.uint8)  # BININT key, BININT value
body[:, 0] = ord("J")
body[:, 1:5] = (np.arange(keys, dtype="<u4") * 7).view(np.uint8).reshape(keys, 4)
body[:, 5] = ord("J")
body[:, 6:10] = np.arange(keys, dtype="<u4").view(np.uint8).reshape(keys, 4)
with open(big_batch, "wb") as f:
    f.write(b"\x80\x02}(" + body.tobytes() + b"u.")  # PROTO 2, EMPTY_DICT, MARK .. SETITEMS, STOP
expect("5", "CIFAR-10 Python batch: a dict of 500,000 keys", cifar_run + [big], 1, [big_batch],
       ["more than 262144 values", "not a CIFAR-10 pickle"])

expect("5", "run -y /dev/zero", ["run", "-y", "/dev/zero"], 2, ["/dev/zero"],
       ["not a regular file"])

empty_root, empty_batch = cifar_bin("cifar_empty", records=0)
expect("7", "CIFAR-10 binary: an empty batch", cifar_run + [empty_root], 1, [empty_batch],
       ["empty file"], absent=["nan"])

dir_root, dir_batch = cifar_bin("cifar_dir_batch", records=1)
os.remove(dir_batch)
os.makedirs(dir_batch)
expect("7", "CIFAR-10 binary: a directory as the batch file", cifar_run + [dir_root], 1,
       [dir_batch], ["is a directory"], absent=["9223372036854775807"])


# ---- 6: an output into a read-only directory, as an unprivileged user ----------------------
def nobody_can(p, mode):
    """Whether user nobody (not in root's groups) may reach p and use it with mode (os.R_OK,
    os.X_OK bits), judged by the 'other' permission bits along the path."""
    p = os.path.realpath(p)
    parts = p.split(os.sep)
    for i in range(1, len(parts)):
        d = os.sep.join(parts[:i]) or os.sep
        if not os.stat(d).st_mode & stat.S_IXOTH:
            return False
    m = os.stat(p).st_mode
    return (not mode & os.R_OK or m & stat.S_IROTH) and (not mode & os.X_OK or m & stat.S_IXOTH)


as_root = os.geteuid() == 0
share = tempfile.mkdtemp(prefix="dualcnn-trial-")  # 0700: opened up below
try:
    os.chmod(share, 0o755)
    binary = BIN
    if as_root:
        helper = os.path.join(os.path.dirname(BIN), "dualcnn-h5read")
        if not (nobody_can(BIN, os.R_OK | os.X_OK) and nobody_can(helper, os.R_OK | os.X_OK)):
            # the build tree is out of nobody's reach (a checkout under /root): run copies
            # (the helper is found next to the program)
            for src in (BIN, helper):
                shutil.copy2(src, share)
                os.chmod(os.path.join(share, os.path.basename(src)), 0o755)
            binary = os.path.join(share, os.path.basename(BIN))
            print(f"note: {BIN} is out of reach of user nobody: running a copy in {share}")
    w_ro, x_ro = os.path.join(share, "w.h5"), os.path.join(share, "x.npy")
    shutil.copy(good, w_ro)
    shutil.copy(path("x.npy"), x_ro)
    for p in (w_ro, x_ro):
        os.chmod(p, 0o644)
    ro = os.path.join(share, "ro")
    os.makedirs(ro)
    out = os.path.join(ro, "y.npy")
    old = b"an existing output, to be left alone\n"
    with open(out, "wb") as f:
        f.write(old)
    os.chmod(out, 0o666)  # writable in itself: only the directory is read-only
    os.chmod(ro, 0o555)
    inode = os.stat(out).st_ino

    argv = ["infer", "-w", w_ro, "-i", x_ro, "-o", out, "--threads", "1"]
    who = "as nobody" if as_root else "as uid %d" % os.geteuid()
    expect("6", f"infer into a read-only directory ({who})", argv, 1, [out],
           [os.strerror(13)], uid=NOBODY if as_root else -1, binary=binary,
           shown=show(["dualcnn", *argv]).replace(share, "$RO_TMP")
           + (" (uid 65534)" if as_root else ""))
    st = os.stat(out)
    with open(out, "rb") as f:
        now = f.read()
    check("[6] the existing output is untouched (same bytes, same inode)",
          now == old and st.st_ino == inode, f"{now[:40]!r}, inode {st.st_ino} vs {inode}")
    left = [n for n in os.listdir(ro) if n != "y.npy"]
    check("[6] no temporary file is left in the read-only directory", not left, str(left))
finally:
    try:
        os.chmod(os.path.join(share, "ro"), 0o755)
    except OSError:
        pass
    shutil.rmtree(share, ignore_errors=True)

# ---- the table -------------------------------------------------------------------------------
print("\nfinding | case | exit | s | MB | command | message")
for finding, case, rc, took, mb, cmd, message in rows:
    print(f"{finding} | {case} | {rc} | {took:.2f} | {mb:.0f} | {cmd} | {message}")
slowest = max(rows, key=lambda r: r[3]) if rows else None
largest = max(rows, key=lambda r: r[4]) if rows else None
if rows:
    print(f"{len(rows)} runs; slowest {slowest[3]:.2f} s ({slowest[1]}); largest "
          f"{largest[4]:.0f} MB ({largest[1]})")
dctest.finish()
