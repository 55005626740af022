#!/usr/bin/env python3
"""Damaged and hostile HDF5 weight files through the command line (issue 14, finding 3).

Rebuilds the kinds of file that crashed or hung libhdf5 in the adversarial trial, from a
good weight file made here: a corrupt global heap (where variable-length strings live:
Debian's libhdf5 1.10.8 segfaults in H5HG_read), a self-referencing virtual dataset (stack
overflow), data in an external file, and byte flips and truncations at many offsets of the
file's metadata. Each `dualcnn infer` on them must end, within 10 s, with exit status 0
(a flip that changed nothing that matters) or 1 and a message naming the file; never a
signal, never a sanitizer report from dualcnn itself (the quarantined reader, a separate
process, may crash: that is what it is for), and the largest child stays under 200 MB.

Usage: test_hostile_h5.py DUALCNN_BINARY WORKDIR SOURCE_ROOT"""
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, path  # noqa: E402

BIN, WORK, ROOT = dctest.args()
LIMIT_S, LIMIT_RSS_MB = dctest.HOSTILE_LIMIT_S, dctest.HOSTILE_LIMIT_RSS_MB


largest_rss_mb = 0.0


def infer(weights, env=None):
    """Runs infer on weights; returns (rc, seconds, output, pid). Waits with wait4 to get
    the peak memory of dualcnn and of the reader it ran (ru_maxrss covers the child and the
    descendants it waited for)."""
    global largest_rss_mb
    t0 = time.monotonic()
    with open(path("out.txt"), "w+b") as log:
        p = subprocess.Popen([BIN, "infer", "-w", weights, "-i", path("x.npy"), "-o",
                              path("y.npy")], stdout=log, stderr=log, env=env)
        status = None
        while status is None:
            pid, st, usage = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                status = st
                largest_rss_mb = max(largest_rss_mb, usage.ru_maxrss / 1024)
            elif time.monotonic() - t0 > 60:
                os.kill(p.pid, 9)
            else:
                time.sleep(0.005)
        p.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        text = log.read().decode("utf-8", "backslashreplace")
    return p.returncode, time.monotonic() - t0, text, p.pid


outcomes = {"refused": 0, "crash contained": 0, "loaded": 0}


def expect_survived(name, weights, must_refuse, *fragments, env=None):
    rc, took, text, pid = infer(weights, env)
    # a sanitizer report of dualcnn's own process (the helper's carry another pid)
    own_report = re.search(rf"^=={pid}==ERROR", text, re.M) or "runtime error:" in text
    ok = rc in ((1,) if must_refuse else (0, 1)) and took < LIMIT_S and not own_report
    if rc == 1:
        ok = ok and weights in text and all(f in text for f in fragments)
        outcomes["crash contained" if "damaged or hostile" in text else "refused"] += 1
    elif rc == 0:
        outcomes["loaded"] += 1
    check(name, ok, f"rc={rc}, {took:.1f}s; output: {text.strip()[-500:]}")


good = path("hostile_good.h5")
dctest.export_weights("resnet20", "cifar10", 5, good)
np.save(path("x.npy"), np.zeros((1, 3, 32, 32), np.float32))
rc, _, text, _ = infer(good)
check("the good file loads", rc == 0, text)
data = open(good, "rb").read()


def variant(name, mutate):
    b = bytearray(data)
    mutate(b)
    p = path(name)
    with open(p, "wb") as f:
        f.write(b)
    return p


# 1. the global heap: collection header "GCOL", version, 3 reserved, size (8); object 1:
# index (2), reference count (2), reserved (4), size (8), data
gcol = data.rfind(b"GCOL")
check("the good file has a global heap (class_names, arch, ... as strings)", gcol >= 0)


def put(offset, fmt, value):
    return lambda b: b.__setitem__(slice(offset, offset + struct.calcsize(fmt)),
                                   struct.pack(fmt, value))


for name, mutate in [("collection size 2^62", put(gcol + 8, "<Q", 1 << 62)),
                     ("object size 2^40", put(gcol + 24, "<Q", 1 << 40)),
                     ("object size 2^32-16", put(gcol + 24, "<Q", 0xfffffff0)),
                     ("object index 0", put(gcol + 16, "<H", 0)),
                     ("object size 0", put(gcol + 24, "<Q", 0))]:
    expect_survived("global heap: " + name, variant("gcol.h5", mutate), True)

# 2. a virtual dataset that maps onto itself
vds = path("vds.h5")
shutil.copy(good, vds)
with h5py.File(vds, "r+") as f:
    shape, dtype = f["fc/weight"].shape, f["fc/weight"].dtype
    del f["fc/weight"]
    layout = h5py.VirtualLayout(shape=shape, dtype=dtype)
    layout[...] = h5py.VirtualSource(".", "fc/weight", shape=shape)
    f.create_virtual_dataset("fc/weight", layout)
expect_survived("self-referencing virtual dataset", vds, True, "virtual dataset")

# 3. a tensor whose data lives in an external raw file
ext = path("external.h5")
shutil.copy(good, ext)
with h5py.File(ext, "r+") as f:
    w = f["fc/weight"][...]
    del f["fc/weight"]
    raw = path("external.raw")
    w.tofile(raw)
    f.create_dataset("fc/weight", shape=w.shape, dtype=w.dtype, external=[(raw, 0, w.nbytes)])
expect_survived("data in an external file", ext, True, "external file")

# 4. a compressed bomb: 100 MB of zeros stored in about 100 KB, read with the snapshot
# limit lowered to 50 MB: refused before anything is inflated
bomb = path("bomb.h5")
shutil.copy(good, bomb)
with h5py.File(bomb, "r+") as f:
    d = f.create_dataset("extra", shape=(25 << 20,), dtype="f4", chunks=(1 << 20,),
                         compression="gzip", compression_opts=9)
    for i in range(25):
        d[i << 20:(i + 1) << 20] = np.zeros(1 << 20, np.float32)
check("the bomb is small on disk", os.path.getsize(bomb) < 2 * len(data), str(os.path.getsize(bomb)))
expect_survived("100 MB of compressed zeros over a 50 MB limit", bomb, True, "limit",
                env=dict(os.environ, DUALCNN_H5_MAX_BYTES=str(50 << 20)))

# 5. byte flips over the metadata (the start of the file, and from the last tensor on,
# where h5py puts the global heap and the root's attributes), and truncations
rng = np.random.RandomState(1)
last = data.rfind(b"GCOL") - 4096
offsets = sorted(set(list(range(0, 4096, 41)) + list(rng.randint(max(last, 0), len(data), 60))))
for off in offsets:
    def flip(b, off=off):
        b[off] ^= 0xFF
    expect_survived(f"byte {off} flipped", variant("flip.h5", flip), False)
for cut in [0, 8, 96, 512, 2048, len(data) // 2, len(data) - 4096, len(data) - 1]:
    def truncate(b, cut=cut):
        del b[cut:]
    expect_survived(f"truncated to {cut} bytes", variant("cut.h5", truncate), True)

rss_mb = largest_rss_mb
check(f"largest process under {LIMIT_RSS_MB} MB", rss_mb < LIMIT_RSS_MB, f"{rss_mb:.0f} MB")
print(f"outcomes: {outcomes}; largest process {rss_mb:.0f} MB")
check("some files crashed the quarantined reader and were contained, or were refused",
      outcomes["crash contained"] + outcomes["refused"] > 0, str(outcomes))
dctest.finish()
