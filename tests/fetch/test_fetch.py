#!/usr/bin/python3
"""`dualcnn fetch` of weights end to end, through a local HTTP server on 127.0.0.1 only
(datasets: test_fetch_datasets.py).

The server (tests/dctest.py, HttpServer: a thread of this process, on a port it picks) serves
a directory, answers Range requests with 206 (or ignores them when told to), and can be told
to cut its next responses half-way (it announces the full Content-Length, sends half the
body and closes). The checkpoint is a random chenyaofo-style resnet20 state_dict saved by
Debian's torch under
cifar10_resnet20-<first 8 hex digits of its SHA-256>.pt, fetched with --url (or --from a
directory): the same checksum rule as the official names. Checked: a good file converts to
what `dualcnn convert` writes (the same logits from `infer`) and nothing else is left; a
file whose name does not match its SHA-256 is refused and nothing is left; a cut transfer
leaves no weight file and a rerun resumes with a Range request (restarts when the server
ignores ranges); retries within one run; a 404 names the URL; --from DIR; --sha256 against
hashlib; the message for missing weights (paths tried, the fetch command) and the XDG
directory fetch writes to and the other commands read. Every HTTP request is asserted to
have reached this server.

Usage: test_fetch.py DUALCNN WORKDIR SOURCE_ROOT   (about 10 s)
"""
import hashlib
import os
import shutil
import struct
import sys
import zlib

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, files_under, path  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
import cifar_models  # noqa: E402

torch.set_num_threads(1)

# no proxy may take a request elsewhere; HOME and XDG point into WORK
ENV = dctest.offline_env(path("home"))
run = dctest.runner(timeout=300, env=ENV, cwd=WORK)

# ---- the server (dctest.HttpServer) ------------------------------------------------------

SERVE = path("serve")
os.makedirs(os.path.join(SERVE, "mirror"))
server = dctest.HttpServer(SERVE)
BASE = server.base

# ---- the checkpoint -------------------------------------------------------------------------

torch.manual_seed(3)
model = cifar_models.build("resnet20", 10)
with torch.no_grad():
    for name, t in model.state_dict().items():
        if t.is_floating_point():
            t.copy_(torch.rand_like(t) * 0.2 + (0.9 if "running_var" in name else -0.1))
tmp = path("ckpt.pt")
torch.save(model.state_dict(), tmp)
blob = open(tmp, "rb").read()
digest = hashlib.sha256(blob).hexdigest()
GOOD = f"cifar10_resnet20-{digest[:8]}.pt"
BAD = "cifar10_resnet20-00000000.pt" if not digest.startswith("00000000") else \
    "cifar10_resnet20-11111111.pt"
OFFICIAL = "cifar10_resnet20-4118986f.pt"
for n in (GOOD, BAD, OFFICIAL):
    shutil.copy(tmp, os.path.join(SERVE, "mirror", n))

# what `dualcnn convert` writes from it, and its logits on a batch
rc, out = run("convert", tmp, "--arch", "resnet20", "-o", path("ref.h5"))
check("dualcnn convert writes the reference", rc == 0, out)
x = np.random.default_rng(0).standard_normal((4, 3, 32, 32)).astype(np.float32)
np.save(path("x.npy"), x)


def logits(weights):
    rc, out = run("infer", "--weights", weights, "--in", path("x.npy"), "--out",
                  path("y.npy"))
    return np.load(path("y.npy")) if rc == 0 else out


REF = logits(path("ref.h5"))

# ---- a good file, through --url ---------------------------------------------------------------

W = path("w1")
url = f"{BASE}/mirror/{GOOD}"
server.log.clear()
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W)
h5 = os.path.join(W, "cifar10", "resnet20.h5")
check("a good checkpoint is fetched and converted", rc == 0 and os.path.isfile(h5), out)
check("the server saw the request", server.log == [("/mirror/" + GOOD, None)], server.log)
check("only the weight file is left", files_under(W) == ["cifar10/resnet20.h5"],
      files_under(W))
got = logits(h5)
check("the fetched file gives convert's logits", isinstance(got, np.ndarray) and
      np.array_equal(got, REF), got)
with h5py.File(h5, "r") as f:
    src = f.attrs["source"]
    src = src.decode() if isinstance(src, bytes) else str(src)
check("the source attribute is the URL", src == url, src)
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W)
check("a second fetch finds it there", rc == 0 and "already there" in out and
      len(server.log) == 1, out)
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W, "--force", "--keep",
              "-q")
check("--force fetches again, --keep keeps the checkpoint, -q prints nothing",
      rc == 0 and out == "" and files_under(W) == sorted(["cifar10/resnet20.h5",
                                                          "cifar10/" + GOOD]),
      (out, files_under(W)))

# ---- a file whose name does not match its SHA-256 ----------------------------------------

W = path("w2")
server.log.clear()
rc, out = run("fetch", "resnet20", "--url", f"{BASE}/mirror/{BAD}", "--weights-dir", W)
check("a checksum mismatch is refused", rc == 1 and "SHA-256 " + digest in out and
      "does not begin with " + BAD[17:25] in out and "deleted" in out, out)
check("... and nothing is left in the weights directory", files_under(W) == [],
      files_under(W))
# the official file name, through --from BASE_URL (the zoo's URL, its prefix replaced)
rc, out = run("fetch", "resnet20", "--from", BASE + "/mirror/", "--weights-dir", W)
check("--from URL fetches the official file name and checks it", rc == 1 and
      "does not begin with 4118986f" in out and files_under(W) == [], out)
check("the server saw both requests", [p for p, _ in server.log] ==
      ["/mirror/" + BAD, "/mirror/" + OFFICIAL], server.log)

# ---- a cut connection ---------------------------------------------------------------------

W = path("w3")
server.log.clear()
server.cut = 1
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W, "--retries", "0")
check("a cut transfer fails, saying so", rc == 1 and "cut" in out and url in out and
      "run the same command again" in out, out)
check("... and leaves no weight file, only the .part", files_under(W) ==
      ["cifar10/" + GOOD + ".part"], files_under(W))
half = os.path.getsize(os.path.join(W, "cifar10", GOOD + ".part"))
check("the .part holds the first half", 0 < half < len(blob) and
      open(os.path.join(W, "cifar10", GOOD + ".part"), "rb").read() == blob[:half], half)
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W)
check("a rerun completes", rc == 0 and files_under(W) == ["cifar10/resnet20.h5"],
      (out, files_under(W)))
check("... resuming with a Range request", server.log[-1] == ("/mirror/" + GOOD,
                                                                f"bytes={half}-"), server.log)
check("... to the same weights", np.array_equal(logits(os.path.join(W, "cifar10",
                                                                     "resnet20.h5")), REF))

# a server that ignores ranges: the rerun starts again from zero
W = path("w4")
server.ranges = False
server.cut = 1
server.log.clear()
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W, "--retries", "0")
check("a cut transfer (no ranges) fails", rc == 1, out)
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W)
check("a rerun from a server without ranges restarts and completes",
      rc == 0 and files_under(W) == ["cifar10/resnet20.h5"] and len(server.log) == 2 and
      server.log[1][1] is not None, (out, server.log))
check("... to the same weights", np.array_equal(logits(os.path.join(W, "cifar10",
                                                                     "resnet20.h5")), REF))
server.ranges = True

# retries within one run
W = path("w5")
server.cut = 1
server.log.clear()
rc, out = run("fetch", "resnet20", "--url", url, "--weights-dir", W)
check("one run retries a cut transfer, resuming", rc == 0 and len(server.log) == 2 and
      server.log[1][1] == f"bytes={half}-" and files_under(W) == ["cifar10/resnet20.h5"],
      (out, server.log))

# ---- a 404 -----------------------------------------------------------------------------------

W = path("w6")
missing = f"{BASE}/mirror/cifar10_resnet20-12345678.pt"
server.log.clear()
rc, out = run("fetch", "resnet20", "--url", missing, "--weights-dir", W)
check("a 404 names the URL", rc == 1 and missing in out and "404" in out, out)
check("... leaves nothing", files_under(W) == [], files_under(W))
check("... and reached this server", [p for p, _ in server.log] ==
      ["/mirror/cifar10_resnet20-12345678.pt"], server.log)

# ---- --from DIR ----------------------------------------------------------------------------

W = path("w7")
MIRROR = os.path.join(SERVE, "mirror")
server.log.clear()
rc, out = run("fetch", "resnet20", "--from", MIRROR, "--url",
              "https://mirror.invalid/releases/" + GOOD, "--weights-dir", W)
check("--from DIR reads the file there", rc == 0 and files_under(W) ==
      ["cifar10/resnet20.h5"] and np.array_equal(logits(os.path.join(W, "cifar10",
                                                                     "resnet20.h5")), REF),
      out)
rc, out = run("fetch", "resnet20", "--from", MIRROR, "--weights-dir", path("w8"))
check("--from DIR checks the official name and keeps the mirror's file", rc == 1 and
      "does not begin with 4118986f" in out and os.path.isfile(os.path.join(MIRROR, OFFICIAL))
      and files_under(path("w8")) == [], out)
rc, out = run("fetch", "resnet20", "--from", path("nowhere-dir"), "--weights-dir", path("w9"))
check("--from a directory lacking the file says so", rc == 1 and ("nowhere-dir" in out),
      out)
check("... no request reached the server for --from DIR", server.log == [], server.log)

# ---- --sha256 against hashlib --------------------------------------------------------------

rng = np.random.default_rng(1)
ok = True
for i, data in enumerate([b"", b"abc", b"a" * 55, b"a" * 56, b"a" * 64, b"a" * 1000000,
                          rng.bytes(65537), rng.bytes(16384), blob]):
    f = path(f"h{i}.bin")
    open(f, "wb").write(data)
    rc, out = run("fetch", "--sha256", f)
    if rc != 0 or out.split()[0] != hashlib.sha256(data).hexdigest():
        ok = False
        print(f"  sha256 of {len(data)} bytes: {out}")
check("--sha256 agrees with hashlib on 9 inputs", ok)

# ---- missing weights: the paths tried and the fetch command -------------------------------

png = path("img.png")
pix = (np.arange(32 * 32 * 3) % 251).astype(np.uint8).reshape(32, 32 * 3)
raw = b"".join(b"\0" + row.tobytes() for row in pix)


def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(
        ">I", zlib.crc32(tag + data) & 0xffffffff)


open(png, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 32, 32,
                                                                          8, 2, 0, 0, 0)) +
                      chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EMPTY = path("empty")
os.makedirs(EMPTY)
rc, out = run("classify", "-m1", "resnet20", "--weights-dir", EMPTY, png)
check("a missing weight file names the path tried and the fetch command", rc == 1 and
      EMPTY + "/cifar10/resnet20.h5" in out and
      f"dualcnn fetch resnet20 --weights-dir {EMPTY}" in out, out)
cwd = path("elsewhere")  # no ./weights here
os.makedirs(cwd)
xdg = path("xdg")
rc, out = run("classify", "-m1", "resnet20", png, cwd=cwd)
check("without --weights-dir: ./weights and ~/.local/share/dualcnn tried", rc == 1 and
      "weights/cifar10/resnet20.h5" in out and
      ENV["HOME"] + "/.local/share/dualcnn/cifar10/resnet20.h5" in out and
      "`dualcnn fetch resnet20`" in out, out)
env = dict(ENV, XDG_DATA_HOME=xdg)
rc, out = run("run", "-m1", "resnet20", "-m2", "resnet20", "-t", "0.5", "-i", path("none"),
              env=env, cwd=cwd)
check("run names $XDG_DATA_HOME/dualcnn too", rc == 1 and
      xdg + "/dualcnn/cifar10/resnet20.h5" in out and "dualcnn fetch resnet20" in out, out)
rc, out = run("fetch", "resnet20", "--url", url, "-q", env=env, cwd=cwd)
check("fetch writes to $XDG_DATA_HOME/dualcnn without ./weights", rc == 0 and
      files_under(xdg) == ["dualcnn/cifar10/resnet20.h5"], (out, files_under(xdg)))
rc, out = run("classify", "-m1", "resnet20", png, env=env, cwd=cwd)
check("classify finds it there", rc == 0 and "img.png" in out, out)
rc, out = run("classify", "-m1", "resnet20", png, env=dict(env, DUALCNN_WEIGHTS=EMPTY),
              cwd=cwd)
check("$DUALCNN_WEIGHTS alone is looked in when set", rc == 1 and
      EMPTY + "/cifar10/resnet20.h5" in out and xdg not in out, out)

# ---- usage errors -------------------------------------------------------------------------

for args, want in [(["resnet2000"], "no such model"),
                   (["imagenet"], "cannot be fetched"),
                   ([], "name at least one"),
                   (["resnet20", "resnet32", "--url", url], "one checkpoint"),
                   (["resnet20", "--dataset", "fashionmnist"], "--url"),
                   (["resnet20", "--retries", "-1"], "--retries")]:
    rc, out = run("fetch", *args)
    check(f"fetch {' '.join(args)}: exit 2, '{want}'", rc == 2 and want in out, out)

server.shutdown()
dctest.finish()
