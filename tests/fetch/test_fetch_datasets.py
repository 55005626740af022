#!/usr/bin/python3
"""`dualcnn fetch cifar10 | fashionmnist` end to end, through a local HTTP server on
127.0.0.1 only (tests/dctest.py, HttpServer; every request is asserted to have reached it).

FashionMNIST, with the real files of Debian's dataset-fashion-mnist: Debian rewrote their
gzip headers (no file name, another time stamp), so the test first rebuilds the official
files from them (the header the official files have, the same compressed bytes) and checks
their MD5 against torchvision's FashionMNIST.resources: what is served is then the official
files, byte for byte, and fetch checks them against the checksums compiled in. Checked: the
fetched dataset is the served files, byte for byte, and the `dualcnn run` line fetch
prints reads it; Debian's copies are accepted as they are (served, and --from DIR); a copy
with one byte flipped is refused, naming the file and both digests, and deleted, no dataset
is left and a rerun completes downloading only what is missing; a connection cut half-way
leaves only the .part and a rerun resumes it with a Range request; a 404 names the URL;
"already there", --force; the XDG default directory.

CIFAR-10, whose archive cannot be had offline: an archive built here in the binary
version's layout (a few records per batch) is refused without --checksums (its digest is
not the official one) and fetched with it (SHA-256 or MD5 lines), its members byte for byte
in place, read by the printed `dualcnn run` line (the shipped FashionMNIST weights stand
in for CIFAR-10 ones: same architectures, same input size); --keep; a wrong --checksums
entry, a malformed --checksums file. Hostile archives ('../evil', an absolute name, a
symbolic link then a file through it, a hard link, a member larger than the bound, too
many members, not an archive): refused, nothing written outside, nothing left. Leftovers
of an interrupted unpacking are removed by the next run. imagenet / intel / unknown names.

Usage: test_fetch_datasets.py DUALCNN WORKDIR SOURCE_ROOT   (about 20 s)
"""
import gzip
import hashlib
import io
import os
import shlex
import shutil
import struct
import sys
import tarfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, files_under, path  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
ENV = dctest.offline_env(path("home"))
run = dctest.runner(timeout=300, env=ENV, cwd=WORK)
SERVE = path("serve")
os.makedirs(SERVE)
server = dctest.HttpServer(SERVE)
BASE = server.base


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def put(rel, data):
    """Writes data to SERVE/rel; returns its URL path."""
    f = os.path.join(SERVE, rel)
    os.makedirs(os.path.dirname(f), exist_ok=True)
    open(f, "wb").write(data)
    return "/" + rel


def requested():
    return [p for p, _ in server.log]


def run_line(out):
    """The `dualcnn run ... -i DIR` line fetch printed, as an argument list."""
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("dualcnn run ")]
    return shlex.split(lines[-1])[1:] if lines else None


# ---- FashionMNIST --------------------------------------------------------------------------

DEBIAN = "/usr/share/datasets/fashion-mnist"
FM = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
# the official files' gzip headers: FNAME set, these time stamps, XFL 0, OS 3 (Unix)
OFFICIAL_MTIME = {"train": 0x59a7e9de, "t10k": 0x59a7e9f3}


def official_from_debian(name, debian):
    """The official file: Debian's compressed bytes behind the official header."""
    assert debian[:4] == b"\x1f\x8b\x08\x00", "Debian's header has flags: not the layout known"
    mtime = OFFICIAL_MTIME[name.split("-")[0]]
    return (b"\x1f\x8b\x08\x08" + struct.pack("<I", mtime) + b"\x00\x03" +
            name[:-3].encode() + b"\x00" + debian[10:])


def fashionmnist_tests():
    from torchvision.datasets import FashionMNIST
    published = dict(FashionMNIST.resources)
    debian = {n: open(os.path.join(DEBIAN, n), "rb").read() for n in FM}
    official = {n: official_from_debian(n, debian[n]) for n in FM}
    check("the official files rebuilt from Debian's have torchvision's MD5s",
          all(hashlib.md5(official[n]).hexdigest() == published[n] for n in FM),
          {n: hashlib.md5(official[n]).hexdigest() for n in FM})
    check("... and hold the same data as Debian's",
          all(gzip.decompress(official[n]) == gzip.decompress(debian[n]) for n in FM))
    for n in FM:
        put("fm/" + n, official[n])
        put("debian/" + n, debian[n])

    # the official files, downloaded
    D = path("d1")
    dest = os.path.join(D, "fashionmnist")
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D)
    check("fetch fashionmnist downloads the four files", rc == 0 and
          requested() == ["/fm/" + n for n in FM], (out, server.log))
    check("... checks them against the published MD5s and the SHA-256s",
          out.count("the published MD5 and the official SHA-256") == 4, out)
    check("... and leaves only the dataset", files_under(D) ==
          sorted("fashionmnist/" + n for n in FM), files_under(D))
    check("... byte for byte the official files", all(
        open(os.path.join(dest, n), "rb").read() == official[n] for n in FM))
    line = run_line(out)
    check("... and prints the `dualcnn run` line that reads it", line is not None and
          line[-2:] == ["-i", dest], out)
    if line:
        rc, out2 = run(*line, "--limit", "20", "--weights-dir",
                       os.path.join(ROOT, "weights"))
        check("that line runs the cascade on it", rc == 0 and
              "fashionmnist test split, 20 samples" in out2, out2)

    # already there; --force
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D)
    check("a second fetch finds it there", rc == 0 and "already there" in out and
          requested() == [] and run_line(out) == line, out)
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D,
                  "--force", "-q")
    check("--force fetches it again, -q prints nothing", rc == 0 and out == "" and
          len(requested()) == 4 and files_under(D) == sorted("fashionmnist/" + n
                                                             for n in FM),
          (out, files_under(D)))

    # Debian's copies as they are: served, and read in place with --from DIR
    D = path("d2")
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/debian", "--data-dir", D)
    check("Debian's copies are accepted as such", rc == 0 and
          out.count("Debian's dataset-fashion-mnist copy") == 4 and
          all(open(os.path.join(D, "fashionmnist", n), "rb").read() == debian[n]
              for n in FM), out)
    D = path("d3")
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", DEBIAN, "--data-dir", D)
    check("--from DEBIAN_DIR copies them, no request made", rc == 0 and requested() == [] and
          files_under(D) == sorted("fashionmnist/" + n for n in FM), (out, server.log))

    # one byte flipped: refused, named, deleted; the rerun downloads only what is missing
    bad = bytearray(official[FM[1]])
    bad[len(bad) // 2] ^= 0x40
    for n in FM:
        put("flip/" + n, bytes(bad) if n == FM[1] else official[n])
    D = path("d4")
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/flip/", "--data-dir", D)
    check("a flipped byte is refused, naming the file and both digests", rc == 1 and
          FM[1] in out and "SHA-256 " + sha256(bytes(bad)) in out and
          "expected " + sha256(official[FM[1]]) in out and "deleted" in out, out)
    check("... no dataset, and the damaged file deleted",
          not os.path.exists(os.path.join(D, "fashionmnist")) and
          files_under(D) == [".fashionmnist.download/" + FM[0]], files_under(D))
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D)
    check("a rerun from a good mirror completes, downloading only what was missing",
          rc == 0 and requested() == ["/fm/" + n for n in FM[1:]] and
          files_under(D) == sorted("fashionmnist/" + n for n in FM), (out, server.log))
    # the same from a --from directory: the mirror's file is left alone
    os.makedirs(path("flipdir"))
    for n in FM:
        shutil.copy(os.path.join(SERVE, "flip", n), path("flipdir", n))
    rc, out = run("fetch", "fashionmnist", "--from", path("flipdir"), "--data-dir", path("d5"))
    check("a flipped byte in a --from directory: refused, the mirror's file left alone",
          rc == 1 and FM[1] in out and "left alone" in out and
          os.path.isfile(path("flipdir", FM[1])) and files_under(path("d5")) == [], out)

    # a connection cut half-way: only the .part; the rerun resumes it
    D = path("d6")
    server.log.clear()
    server.cut = 1
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D,
                  "--retries", "0")
    part = os.path.join(D, ".fashionmnist.download", FM[0] + ".part")
    check("a cut transfer fails, saying so", rc == 1 and "cut" in out and
          BASE + "/fm/" + FM[0] in out, out)
    check("... and leaves only the .part", files_under(D) ==
          [".fashionmnist.download/" + FM[0] + ".part"], files_under(D))
    half = os.path.getsize(part) if os.path.isfile(part) else -1
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/", "--data-dir", D)
    check("a rerun resumes with a Range request and completes", rc == 0 and
          server.log[0] == ("/fm/" + FM[0], f"bytes={half}-") and
          files_under(D) == sorted("fashionmnist/" + n for n in FM) and
          open(os.path.join(D, "fashionmnist", FM[0]), "rb").read() == official[FM[0]],
          (out, server.log, files_under(D)))

    # a 404 names the URL and leaves nothing
    D = path("d7")
    server.log.clear()
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/nowhere/", "--data-dir", D)
    check("a 404 names the URL", rc == 1 and BASE + "/nowhere/" + FM[0] in out and
          "404" in out and requested() == ["/nowhere/" + FM[0]], out)
    check("... and leaves nothing", not os.path.exists(D), files_under(D))

    # the default directory: $XDG_DATA_HOME/dualcnn/datasets
    xdg = path("xdg")
    rc, out = run("fetch", "fashionmnist", "--from", BASE + "/fm/",
                  env=dict(ENV, XDG_DATA_HOME=xdg))
    dest = os.path.join(xdg, "dualcnn", "datasets", "fashionmnist")
    check("without --data-dir: $XDG_DATA_HOME/dualcnn/datasets/fashionmnist", rc == 0 and
          files_under(dest) == sorted(FM) and run_line(out)[-1] == dest, out)


if os.path.isfile(os.path.join(DEBIAN, FM[0])):
    fashionmnist_tests()
else:
    dctest.skip(f"the real FashionMNIST files: {DEBIAN} is missing "
                "(apt-get install dataset-fashion-mnist)")

# ---- CIFAR-10 ------------------------------------------------------------------------------

CIFAR = "cifar-10-binary.tar.gz"
OFFICIAL_SHA = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
NAMES = "airplane automobile bird cat deer dog frog horse ship truck".split()
rng = np.random.default_rng(7)
records = {b: b"".join(bytes([int(rng.integers(0, 10))]) +
                       rng.integers(0, 256, 3072, dtype=np.uint8).tobytes()
                       for _ in range(4)) for b in BATCHES}
members = {"cifar-10-batches-bin/" + b: d for b, d in records.items()}
members["cifar-10-batches-bin/batches.meta.txt"] = ("\n".join(NAMES) + "\n\n").encode()


def targz(entries):
    """A .tar.gz of entries: (name, bytes) for a file, (name, TarInfo) for anything else."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, what in entries:
            if isinstance(what, tarfile.TarInfo):
                what.name = name
                t.addfile(what)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(what)
                t.addfile(info, io.BytesIO(what))
    return buf.getvalue()


def dir_info():
    i = tarfile.TarInfo()
    i.type = tarfile.DIRTYPE
    i.mode = 0o755
    return i


good = targz([("cifar-10-batches-bin", dir_info())] + list(members.items()))
put("cifar/" + CIFAR, good)
sums = path("SHA256SUMS")
open(sums, "w").write(f"# a mirror's repack\n{sha256(good)}  ./{CIFAR}\n")
md5s = path("MD5SUMS")
open(md5s, "w").write(f"{hashlib.md5(good).hexdigest()} *{CIFAR}\n")

D = path("c1")
server.log.clear()
rc, out = run("fetch", "cifar10", "--from", BASE + "/cifar/", "--data-dir", D)
check("without --checksums an archive that is not the official one is refused",
      rc == 1 and CIFAR in out and "SHA-256 " + sha256(good) in out and
      "expected " + OFFICIAL_SHA in out and "deleted" in out and
      requested() == ["/cifar/" + CIFAR], (out, server.log))
check("... and nothing is left", files_under(D) == [], files_under(D))

rc, out = run("fetch", "cifar10", "--from", BASE + "/cifar/", "--data-dir", D, "--checksums",
              sums)
dest = os.path.join(D, "cifar10")
check("with --checksums (SHA-256) it is fetched and unpacked", rc == 0 and
      "the SHA-256 --checksums gives" in out and files_under(D) ==
      sorted("cifar10/" + m for m in members), (out, files_under(D)))
check("... its members byte for byte", all(
    open(os.path.join(dest, m), "rb").read() == d for m, d in members.items()))
line = run_line(out)
check("... and the printed line names it", line is not None and line[-2:] == ["-i", dest], out)
if line:
    wdir = path("w")
    os.makedirs(os.path.join(wdir, "cifar10"))
    for arch in ("resnet20", "resnet56"):
        shutil.copy(os.path.join(ROOT, "weights", "fashionmnist", arch + ".h5"),
                    os.path.join(wdir, "cifar10", arch + ".h5"))
    rc, out2 = run(*line, "--weights-dir", wdir)
    check("that line runs the cascade on the 4 test records", rc == 0 and
          "cifar10 test split, 4 samples" in out2, out2)

rc, out = run("fetch", "cifar10", "--from", BASE + "/cifar/", "--data-dir", D, "--checksums",
              md5s, "--force", "--keep")
check("--checksums with an MD5 line, --force, --keep (the archive beside the dataset)",
      rc == 0 and "the MD5 --checksums gives" in out and files_under(D) ==
      sorted([CIFAR] + ["cifar10/" + m for m in members]) and
      open(os.path.join(D, CIFAR), "rb").read() == good, (out, files_under(D)))

server.log.clear()
rc, out = run("fetch", "cifar10", "--from", os.path.join(SERVE, "cifar"), "--data-dir",
              path("c4"), "--checksums", sums)
check("--from DIR unpacks the archive where it is, and leaves it there", rc == 0 and
      requested() == [] and os.path.isfile(os.path.join(SERVE, "cifar", CIFAR)) and
      files_under(path("c4")) == sorted("cifar10/" + m for m in members),
      (out, files_under(path("c4"))))

wrong = path("WRONGSUMS")
open(wrong, "w").write(f"{'0' * 64}  {CIFAR}\n")
rc, out = run("fetch", "cifar10", "--from", BASE + "/cifar/", "--data-dir", path("c2"),
              "--checksums", wrong)
check("a --checksums entry the file does not match: refused, naming --checksums", rc == 1 and
      "expected " + "0" * 64 in out and wrong in out and files_under(path("c2")) == [], out)
bad_sums = path("BADSUMS")
open(bad_sums, "w").write(f"{sha256(good)}  {CIFAR}\nnot a checksum line\n")
rc, out = run("fetch", "cifar10", "--data-dir", path("c2"), "--checksums", bad_sums)
check("a malformed --checksums file is named with its line", rc == 1 and
      bad_sums + ":2" in out and not os.path.exists(path("c2")), out)

# leftovers of an unpacking that was stopped are removed by the next run
D = path("c3")
os.makedirs(os.path.join(D, ".cifar10.tmp-AbC123", "cifar-10-batches-bin"))
open(os.path.join(D, ".cifar10.tmp-AbC123", "cifar-10-batches-bin", "test_batch.bin"),
     "wb").write(b"half")
rc, out = run("fetch", "cifar10", "--from", BASE + "/cifar/", "--data-dir", D, "--checksums",
              sums)
check("an earlier run's temporary directory is removed", rc == 0 and files_under(D) ==
      sorted("cifar10/" + m for m in members), (out, files_under(D)))

# ---- hostile archives ----------------------------------------------------------------------

OUTSIDE = path("outside")
os.makedirs(OUTSIDE)


def link_info(kind, target):
    i = tarfile.TarInfo()
    i.type = kind
    i.linkname = target
    return i


big = tarfile.TarInfo("cifar-10-batches-bin/test_batch.bin")
big.size = 300 << 20  # the header claims 300 MB; the data is not there
big_archive = gzip.compress(big.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 4096)
hostile = [
    ("'../evil'", targz([("cifar-10-batches-bin/../../evil", b"x")]), "'..'"),
    ("'../evil' at the top", targz([("../evil", b"x")]), "'..'"),
    ("an absolute name", targz([(os.path.join(OUTSIDE, "abs"), b"x")]), "absolute"),
    ("a symbolic link, then a file through it",
     targz([("cifar-10-batches-bin", link_info(tarfile.SYMTYPE, OUTSIDE)),
            ("cifar-10-batches-bin/test_batch.bin", records["test_batch.bin"])]),
     "symbolic link"),
    ("a hard link", targz([("cifar-10-batches-bin/x", link_info(tarfile.LNKTYPE,
                                                                "/etc/passwd"))]),
     "hard link"),
    ("a member over the size bound", big_archive, "bytes unpacked"),
    ("too many members", targz([(f"f{i}", b"") for i in range(65)]), "more than 64"),
    ("a FIFO", targz([("fifo", link_info(tarfile.FIFOTYPE, ""))]), "FIFO"),
    ("not an archive", gzip.compress(b"hello, not a tar file" * 100), "archive"),
]
for i, (what, data, want) in enumerate(hostile):
    D = path(f"h{i}")
    put(f"hostile{i}/{CIFAR}", data)
    hsums = path(f"h{i}.sums")
    open(hsums, "w").write(f"{sha256(data)}  {CIFAR}\n")
    rc, out = run("fetch", "cifar10", "--from", f"{BASE}/hostile{i}/", "--data-dir", D,
                  "--checksums", hsums)
    check(f"hostile archive, {what}: refused", rc == 1 and want in out and CIFAR in out and
          "deleted" in out, out)
    check(f"... nothing written outside, nothing left", files_under(OUTSIDE) == [] and
          not os.path.exists(path("evil")) and not os.path.exists(os.path.join(WORK, "..",
                                                                              "evil")) and
          files_under(D) == [], (files_under(OUTSIDE), files_under(D)))

# ---- names that cannot be fetched, usage errors ------------------------------------------

for args, code, wants in [
        (["imagenet"], 2, ["cannot be fetched", "login", "dualcnn run -i"]),
        (["intel"], 2, ["cannot be fetched", "Kaggle", "seg_test"]),
        (["cifar100"], 2, ["no such model or dataset", "cifar10, fashionmnist",
                           "dualcnn models"]),
        (["resnet20", "--checksums", sums], 2, ["--checksums is for datasets"]),
        (["cifar10", "--url", BASE + "/x.pt"], 2, ["cifar10 is a dataset"]),
        ([], 2, ["cifar10, fashionmnist"])]:
    rc, out = run("fetch", *args, "--data-dir", path("u"))
    check(f"fetch {' '.join(args)}: exit {code}, {wants}", rc == code and
          all(w in out for w in wants) and not os.path.exists(path("u")), out)
rc, out = run("fetch", "--help")
check("fetch --help names the datasets, --data-dir and --checksums", rc == 0 and
      all(w in out for w in ["cifar10", "fashionmnist", "--data-dir", "--checksums",
                             "imagenet"]), out)

server.shutdown()
dctest.finish()
