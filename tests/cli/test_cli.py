#!/usr/bin/env python3
"""End-to-end checks of the `dualcnn` command line: help on every command, exit codes,
and clear messages for bad input (broken weight files, wrong NPY dtype or shape, bad
flags). Usage: test_cli.py DUALCNN_BINARY WORKDIR SOURCE_ROOT"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, path  # noqa: E402

BIN, WORK, ROOT = dctest.args()


def run(*args, timeout=300):
    p = dctest.dualcnn(*args, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def expect(name, args, code, *fragments, timeout=300):
    rc, out, err = run(*args, timeout=timeout)
    text = out + err
    ok = rc == code and all(f in text for f in fragments)
    check(name, ok, f"rc={rc}, wanted {code}; output: {text.strip()[:400]}")
    return text


# --help everywhere, and usage errors
for cmd in ["models", "infer", "classify", "bench", "run", "predict", "threshold",
            "complementarity", "convert", "fetch"]:
    expect(f"{cmd} --help", [cmd, "--help"], 0, "usage: dualcnn " + cmd)
    expect(f"{cmd} rejects an unknown flag", [cmd, "--no-such-flag"], 2, "--no-such-flag")
expect("top-level help", ["--help"], 0, "commands:", "infer")
expect("unknown command", ["frobnicate"], 2, "unknown command 'frobnicate'")
expect("infer without flags", ["infer"], 2, "--weights, --in and --out are required")
expect("bench bad batch", ["bench", "--model", "resnet20", "--batch", "0"], 2, "--batch")
expect("bench unknown model", ["bench", "--model", "resnet21"], 2, "resnet21")

# models lists all 59 names
text = expect("models", ["models"], 0, "resnet20", "swin_v2_s", "repvgg_a2")
rows = [line for line in text.splitlines() if line.split()[2:3] in (["cifar10"], ["imagenet"])]
check("models lists 59 rows", len(rows) == 59, f"{len(rows)} rows")

# a good weight file to break
good = path("cli_resnet20.h5")
dctest.export_weights("resnet20", "cifar10", 3, good)
x = np.random.RandomState(0).randn(2, 3, 32, 32).astype(np.float32)
np.save(path("x.npy"), x)
expect("infer on a good file", ["infer", "-w", good, "-i", path("x.npy"), "-o", path("y.npy")], 0)
y = np.load(path("y.npy"))
check("infer writes N x classes float32", y.shape == (2, 10) and y.dtype == np.float32,
      str(y.shape))


def broken(name, mutate):
    return dctest.mutated_copy(good, name, mutate)


def drop(f):
    del f["layer3/2/conv2/weight"]


def reshape(f):
    del f["fc/weight"]
    f["fc/weight"] = np.zeros((10, 32), np.float32)


def retype(f):
    w = f["conv1/weight"][()]
    del f["conv1/weight"]
    f["conv1/weight"] = w.astype(np.float64)


def rename_arch(f):
    f.attrs["arch"] = "resnet56"


for label, mutate, frags in [
        ("missing tensor", drop, ["layer3.2.conv2.weight", "missing"]),
        ("wrong shape", reshape, ["fc.weight", "[10, 32]", "[10, 64]"]),
        ("wrong dtype", retype, ["conv1.weight", "float64"]),
        ("wrong arch attribute", rename_arch, ["resnet56", "missing"])]:
    p = broken(label.replace(" ", "_") + ".h5", mutate)
    expect(f"infer refuses a weight file with a {label}",
           ["infer", "-w", p, "-i", path("x.npy"), "-o", path("y_bad.npy")], 1, p, *frags)
check("no output written for a broken file", not os.path.exists(path("y_bad.npy")))

with open(good, "rb") as f:
    data = f.read()
with open(path("truncated.h5"), "wb") as f:
    f.write(data[: len(data) // 2])
expect("infer refuses a truncated weight file",
       ["infer", "-w", path("truncated.h5"), "-i", path("x.npy"), "-o", path("y2.npy")], 1,
       path("truncated.h5"))
with open(path("text.h5"), "w") as f:
    f.write("hello\n")
expect("infer refuses a file that is not HDF5",
       ["infer", "-w", path("text.h5"), "-i", path("x.npy"), "-o", path("y2.npy")], 1,
       "not an HDF5 file")

# NPY input checks
np.save(path("x64.npy"), x.astype(np.float64))
expect("infer refuses float64 input",
       ["infer", "-w", good, "-i", path("x64.npy"), "-o", path("y2.npy")], 1, "float64")
np.save(path("x3d.npy"), x[0])
expect("infer refuses a 3-D input", ["infer", "-w", good, "-i", path("x3d.npy"), "-o",
                                     path("y2.npy")], 1, "N x C x H x W")
np.save(path("x28.npy"), np.zeros((1, 3, 28, 28), np.float32))
expect("infer refuses the wrong image size", ["infer", "-w", good, "-i", path("x28.npy"),
                                              "-o", path("y2.npy")], 1, "3x32x32")
expect("infer reports a missing input", ["infer", "-w", good, "-i", path("nope.npy"), "-o",
                                         path("y2.npy")], 1, "nope.npy")

# classify: top-5 with class names, on PNG and JPEG, any size
from PIL import Image  # noqa: E402 (python3-pil comes with python3-torchvision)
rgb = (np.random.RandomState(1).rand(40, 50, 3) * 255).astype(np.uint8)
Image.fromarray(rgb).save(path("a.png"))
Image.fromarray(rgb).save(path("b.jpg"), quality=95)
text = expect("classify a PNG and a JPEG", ["classify", "-w1", good, path("a.png"),
                                            path("b.jpg")], 0, "a.png (50x40)", "b.jpg (50x40)",
              "1. ", "5. ")
names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
check("classify prints class names", sum(text.count(n) for n in names) == 10, text)
expect("classify names a missing image", ["classify", "-w1", good, path("nope.png")], 1,
       "nope.png")
expect("classify names a file that is not an image", ["classify", "-w1", good,
                                                       path("text.h5")], 1, "not a PNG or JPEG")
expect("classify with -m1 and no weights there", ["classify", "-m1", "resnet20",
                                                  "--weights-dir", path("none"), path("a.png")],
       1, "none/cifar10/resnet20.h5")

# bench prints JSON that parses
rc, out, err = run("bench", "--model", "shufflenetv2_x0_5", "--repeats", "3", "--warmup", "1",
                   "--json")
try:
    import json
    j = json.loads(out)
    check("bench --json", rc == 0 and j["median_ms"] > 0 and j["model"] == "shufflenetv2_x0_5",
          out)
except ValueError:
    check("bench --json", False, out + err)


# bench --json records what it ran on: the threads it used (never 0), CPU, BLAS, version
def bench_json(*args, env=None):
    p = dctest.dualcnn("bench", *args, "--json", timeout=300, env=env)
    objs = []
    for line in p.stdout.splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            objs.append(None)
    return p.returncode, objs, p.stderr


env_default = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
rc, objs, err = bench_json("--model", "resnet20", "--repeats", "4", "--warmup", "0",
                           env=env_default)
j = objs[0] if rc == 0 and len(objs) == 1 and objs[0] else {}
check("bench --json without --threads reports the CPUs it may use",
      j.get("threads") == len(os.sched_getaffinity(0)), str(j.get("threads")) + err)
check("bench --json has cpu, blas and version",
      isinstance(j.get("cpu"), str) and j.get("cpu") and "OpenBLAS" in j.get("blas", "")
      and j.get("version") == run("--version")[1].split()[1], str(j)[:400])
check("bench --json lists every timed pass",
      len(j.get("times_ms", [])) == 4 and all(t > 0 for t in j.get("times_ms", []))
      and sorted(j.get("times_ms", [0]))[1] <= j.get("median_ms", -1)
      <= sorted(j.get("times_ms", [0]))[2], str(j.get("times_ms")))
rc, objs, err = bench_json("--model", "resnet20", "--repeats", "1", "--warmup", "0",
                           env=dict(env_default, OMP_NUM_THREADS="1"))
check("bench --json follows OMP_NUM_THREADS", rc == 0 and objs[0]["threads"] == 1, err)
rc, objs, err = bench_json("--model", "resnet20", "--repeats", "1", "--warmup", "0",
                           "--threads", "3")
check("bench --json reports --threads", rc == 0 and objs[0]["threads"] == 3, err)

# --model cifar10: one JSON object per line, one per CIFAR-10 model of `dualcnn models`
cifar = [line.split()[0] for line in run("models")[1].splitlines()
         if line.split()[2:3] == ["cifar10"]]
rc, objs, err = bench_json("--model", "cifar10", "--repeats", "1", "--warmup", "0",
                           "--threads", "1")
check("bench --model cifar10 --json: 19 parseable lines, one per model",
      rc == 0 and len(cifar) == 19 and len(objs) == 19 and None not in objs
      and [o["model"] for o in objs] == cifar, f"rc={rc}, {len(objs)} lines; {err[-300:]}")
expect("bench --model all refuses --weights", ["bench", "--model", "all", "-w", good], 2,
       "--weights")

# --layers on resnet20: n = 3 BasicBlocks per stage (depth 6n + 2 = 20). Stage 1: 2n 3x3 convs
# 16x32x32 -> 16; stages 2 and 3: the first block's conv1 (stride 2) and its 1x1 stride-2
# downsample, then 2n - 1 3x3 stride-1 convs on 32x16x16 and 64x8x8; plus the 3 -> 16 stem.
n = 3
want = {(3, 32, 32, 16, 32, 32, "3", "1", "1", 1): 1,
        (16, 32, 32, 16, 32, 32, "3", "1", "1", 1): 2 * n,
        (16, 32, 32, 32, 16, 16, "3", "2", "1", 1): 1,
        (16, 32, 32, 32, 16, 16, "1", "2", "0", 1): 1,
        (32, 16, 16, 32, 16, 16, "3", "1", "1", 1): 2 * n - 1,
        (32, 16, 16, 64, 8, 8, "3", "2", "1", 1): 1,
        (32, 16, 16, 64, 8, 8, "1", "2", "0", 1): 1,
        (64, 8, 8, 64, 8, 8, "3", "1", "1", 1): 2 * n - 1}
import re  # noqa: E402
row_re = re.compile(r"^(\d+)x(\d+)x(\d+)\s+(\d+)x(\d+)x(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+"
                    r"(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%")
rc, out, err = run("bench", "--model", "resnet20", "--layers", "--repeats", "3", "--warmup",
                   "1", "--threads", "1", "--peak-n", "256", "--triad-mib", "16")
got = {}
for line in out.splitlines():
    m = row_re.match(line)
    if m:
        g = m.groups()
        key = tuple(int(v) for v in g[:6]) + (g[6], g[7], g[8], int(g[9]))
        got[key] = int(g[10])
check("bench --layers lists resnet20's conv shapes with their node counts",
      rc == 0 and got == want, f"rc={rc}; got {got}; {out[-1500:]}{err[-300:]}")
check("bench --layers names the peak and bandwidth it measured",
      re.search(r"SGEMM peak [\d.]+ GFLOP/s \(cblas_sgemm 256x256x256", out) is not None
      and "3 x 16 MiB" in out and re.search(r"^linear\s+1\s", out, re.M) is not None
      # the 9 residual adds are fused into the convs before them: no add row, no fused row
      and re.search(r"^(add|fused)\s", out, re.M) is None, out[:600])
# the method column: at batch 1 the 16-channel 3x3 convs run Winograd F(4x4) and the stem the
# direct kernel (kernels/winograd.c, small_conv.c); at batch 9 the tiles span samples
methods = {}
for line in out.splitlines():
    m = row_re.match(line)
    if m:
        methods[(int(m.group(1)), int(m.group(4)), m.group(7), m.group(8))] = \
            line.rsplit("%", 1)[1].strip()  # after the time share
check("bench --layers names each conv's method",
      methods.get((16, 16, "3", "1")) == "Winograd F(4x4)"
      and methods.get((3, 16, "3", "1")) == "direct stem kernel", str(methods))
# grouped convs of few channels a group run the direct kernel group by group (ops_conv.c,
# choose_direct): regnet_y_400mf's 8-channel groups, on a 56x56 map and in flat mode on 7x7,
# its stride-1 ones on 28x28 by F(4, 3) down the columns (choose_direct_wino)
rcg, outg, errg = run("bench", "--model", "regnet_y_400mf", "--layers", "--repeats", "1",
                      "--warmup", "0", "--threads", "1", "--peak-n", "128", "--triad-mib", "8")
check("bench --layers: grouped convs on the direct kernel",
      rcg == 0 and re.search(r"^48x112x112\s+48x56x56\s+3\s+2\s+1\s+6\s.*direct, group by "
                             r"group$", outg, re.M) is not None
      and re.search(r"^440x7x7\s+440x7x7\s+3\s+1\s+1\s+55\s.*direct, group by group$", outg,
                    re.M) is not None
      and re.search(r"^104x28x28\s+104x28x28\s+3\s+1\s+1\s+13\s.*F\(4, 3\) down columns, "
                    r"group by group$", outg, re.M) is not None, outg[-2500:] + errg[-300:])
rc9, out9, err9 = run("bench", "--model", "resnet20", "--layers", "--repeats", "1", "--warmup",
                      "0", "--threads", "1", "--batch", "9", "--peak-n", "128", "--triad-mib", "8")
check("bench --layers at batch 9: Winograd tiles across samples",
      rc9 == 0 and re.search(r"^16x32x32\s+16x32x32\s+3\s+1\s+1\s.*F\(4x4\), tiles across "
                             r"samples$", out9, re.M) is not None, out9[-1500:] + err9[-300:])
rc, objs, err = bench_json("--model", "resnet20", "--layers", "--repeats", "2", "--warmup", "0",
                           "--threads", "1", "--peak-n", "256", "--triad-mib", "16")
lay = objs[0].get("layers", {}) if rc == 0 and objs and objs[0] else {}
convs = lay.get("convs", [])
jgot = {(c["cin"], c["h"], c["w"], c["cout"], c["oh"], c["ow"], str(c["kh"]),
         str(c["stride_h"]), str(c["pad_h"]), c["groups"]): c["nodes"] for c in convs}
check("bench --layers --json: the same shapes and counts",
      jgot == want and lay["machine"]["peak_gflops"] > 0 and lay["machine"]["bandwidth_gbs"] > 0
      and all(0 < c["roof_gflops"] <= lay["machine"]["peak_gflops"] + 1e-3 for c in convs)
      and all(c.get("method") for c in convs)
      and abs(sum(c["time_share"] for c in convs)
              + sum(o["time_share"] for o in lay["others"]) - 1) < 0.01,
      f"rc={rc}; {str(lay)[:600]}{err[-300:]}")
c0 = next((c for c in convs if (c["cin"], c["cout"], c["kh"]) == (16, 16, 3)), None)
if c0:  # 2 x MACs over the bytes of input, weights and output (fp32), batch 1
    ai = 2 * c0["macs"] / (4 * (16 * 32 * 32 * 2 + 16 * 16 * 9))
    check("bench --layers: arithmetic intensity of 16x32x32 -> 16, 3x3",
          abs(c0["intensity"] - ai) < 1e-3 * ai and c0["macs"] == 16 * 32 * 32 * 16 * 9,
          f"{c0['intensity']} vs {ai}")
else:
    check("bench --layers: arithmetic intensity of 16x32x32 -> 16, 3x3", False, str(convs)[:300])

# bench/compare_pytorch.py: the summary arithmetic, on made-up ratios; the parent never
# imports torch
sys.path.insert(0, os.path.join(ROOT, "bench"))
import compare_pytorch  # noqa: E402
check("compare_pytorch.py does not import torch", "torch" not in sys.modules)
s = compare_pytorch.summarize({"a": 2.0, "b": 0.5, "c": 1.0, "d": None, "e": 0.8})
check("compare_pytorch summary: geomean, min, count below 1.0",
      abs(s["geomean"] - (2.0 * 0.5 * 1.0 * 0.8) ** 0.25) < 1e-12 and s["min"] == 0.5
      and s["min_model"] == "b" and s["below"] == 2 and s["n"] == 4 and s["failed"] == 1, str(s))
line = compare_pytorch.summary_line(s)
check("compare_pytorch summary line",
      line == "geomean 0.95x, min 0.50x (b), 2 of 4 below 1.0x (1 failed, left out)", line)
s = compare_pytorch.summarize({"x": 1.5, "y": 3.0})
check("compare_pytorch summary with none below",
      compare_pytorch.summary_line(s) == "geomean 2.12x, min 1.50x (x), 0 of 2 below 1.0x",
      compare_pytorch.summary_line(s))
vals = [5.0, 1.0, 4.0, 2.0, 3.0, 10.0]
check("compare_pytorch spread matches numpy's percentiles",
      np.allclose(compare_pytorch.spread(vals), np.percentile(vals, [50, 10, 90])),
      str(compare_pytorch.spread(vals)))

# a tiny real run: one CIFAR-10 model, one round, two timed passes per side
p = dctest.run([dctest.PY, os.path.join(ROOT, "bench", "compare_pytorch.py"), "--dualcnn", BIN,
                "--models", "resnet20", "--rounds", "1", "--repeats", "2", "--warmup", "1",
                "--force", "--out", path("cmp.md"), "--json", path("cmp.json")], timeout=300)
row = re.search(r"^\| resnet20 \| 0\.041 \| ([\d.]+) \(([\d.]+)-([\d.]+)\) \| ([\d.]+) "
                r"\(([\d.]+)-([\d.]+)\) \| ([\d.]+)x \|$", p.stdout, re.M)
ok = p.returncode == 0 and row is not None
if ok:
    t_med, d_med, ratio = float(row.group(1)), float(row.group(4)), float(row.group(7))
    ok = t_med > 0 and d_med > 0 and abs(ratio - t_med / d_med) <= 0.01 + 0.01 * ratio \
        and re.search(r"^geomean [\d.]+x, min [\d.]+x \(resnet20\), [01] of 1 below 1\.0x$",
                      p.stdout, re.M) is not None
check("compare_pytorch.py on resnet20: a row and a summary", ok,
      f"rc={p.returncode}; {p.stdout[-800:]}{p.stderr[-800:]}")
try:
    with open(path("cmp.json")) as f:
        raw = json.load(f)
    r0 = raw["tables"][0]["rows"][0]
    ok = (len(r0["torch"]["times_ms"]) == 2 and len(r0["dualcnn"]["times_ms"]) == 2
          and len(r0["dualcnn"]["rounds"]) == 1 and r0["dualcnn"]["rounds"][0]["threads"] == 1
          and raw["machine"]["cpu"] and raw["machine"]["torch"]
          and open(path("cmp.md")).read().count("| resnet20 |") == 1)
    check("compare_pytorch.py --json and --out", ok, str(r0)[:500])
except (OSError, ValueError, KeyError, IndexError) as e:
    check("compare_pytorch.py --json and --out", False, str(e))
check("compare_pytorch.py prints the machine on stderr",
      "CPU: " in p.stderr and "BLAS: OpenBLAS" in p.stderr and "PyTorch: 1." in p.stderr,
      p.stderr[:500])


# ---- bad input from the adversarial trial (docs/robustness.md) ----------------------------
import stat  # noqa: E402
import threading  # noqa: E402

expect("run -y /dev/zero is refused, not read forever", ["run", "-y", "/dev/zero"], 2,
       "/dev/zero", "not a regular file", timeout=10)
with open(path("nul.yml"), "wb") as f:
    f.write(b"dataset: cifar10\n" + b"\0" * 5000 + b"\n")
expect("run -y refuses NUL bytes", ["run", "-y", path("nul.yml")], 2, "nul.yml:2", "NUL",
       timeout=10)

# outputs: a symlink's target is written and the link kept
target, link = path("y_target.npy"), path("y_link.npy")
for p in (target, link):
    if os.path.lexists(p):
        os.remove(p)
with open(target, "wb") as f:
    f.write(b"old")
os.symlink(target, link)
expect("infer writes through a symlink", ["infer", "-w", good, "-i", path("x.npy"), "-o", link], 0)
check("the symlink stays a symlink", os.path.islink(link))
try:
    target_shape = np.load(target).shape
except (OSError, ValueError) as e:
    target_shape = str(e)
check("its target holds the logits", target_shape == (2, 10), str(target_shape))

# a FIFO is written in place, never replaced by a file
fifo = path("y_fifo.npy")
if os.path.lexists(fifo):
    os.remove(fifo)
os.mkfifo(fifo)
got = {}


def drain():
    with open(fifo, "rb") as f:
        got["bytes"] = f.read()


reader = threading.Thread(target=drain, daemon=True)
reader.start()
expect("infer writes into a FIFO", ["infer", "-w", good, "-i", path("x.npy"), "-o", fifo], 0,
       timeout=60)
reader.join(timeout=30)
check("the FIFO stays a FIFO", stat.S_ISFIFO(os.lstat(fifo).st_mode))
check("the reader got the NPY", got.get("bytes", b"")[:6] == b"\x93NUMPY",
      repr(got.get("bytes", b"")[:20]))

# /dev/stdout redirected to a file is written through, not renamed over
with open(path("y_stdout.npy"), "wb") as out:
    p = subprocess.run([BIN, "infer", "-w", good, "-i", path("x.npy"), "-o", "/dev/stdout"],
                       stdout=out, stderr=subprocess.PIPE, timeout=60)
try:
    stdout_shape = np.load(path("y_stdout.npy")).shape
except (OSError, ValueError) as e:
    stdout_shape = str(e)
check("infer -o /dev/stdout > file", p.returncode == 0 and stdout_shape == (2, 10),
      f"rc={p.returncode} {stdout_shape} {p.stderr[-300:]!r}")

# a full disk (a link to /dev/full, so that nothing in /dev is ever at risk): the reason is
# named and nothing is replaced
full = path("y_full.npy")
if os.path.lexists(full):
    os.remove(full)
os.symlink("/dev/full", full)
expect("infer onto a full device names the reason",
       ["infer", "-w", good, "-i", path("x.npy"), "-o", full], 1, full, os.strerror(28))
check("the link to /dev/full is kept", os.path.islink(full))
check("no temporary file is left", not [n for n in os.listdir(WORK) if ".tmp-" in n],
      str([n for n in os.listdir(WORK) if ".tmp-" in n]))

# a read-only directory (root ignores permissions: checked for other users only)
if os.geteuid() != 0:
    ro = path("ro_dir")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, 0o500)
    expect("infer into a read-only directory names the reason",
           ["infer", "-w", good, "-i", path("x.npy"), "-o", os.path.join(ro, "y.npy")], 1,
           os.strerror(13))
    os.chmod(ro, 0o700)
    check("nothing left in the read-only directory", os.listdir(ro) == [], str(os.listdir(ro)))


# weights: NaN, an LZF-compressed tensor (h5py's own filter, absent from libhdf5) and a
# soft-linked tensor are each named
def nan_tensor(f):
    w = f["layer1/0/conv1/weight"][()]
    w[0, 0, 0, 0] = np.nan
    f["layer1/0/conv1/weight"][...] = w


for label, mutate, frags in [
        ("NaN weight", nan_tensor, ["layer1.0.conv1.weight", "finite"]),
        ("LZF-compressed tensor", dctest.lzf_tensor, ["fc.weight", "filter 32000", "lzf"]),
        ("soft-linked tensor", dctest.soft_linked_tensor, ["fc.bias", "soft link",
                                                           "not supported"]),
        ("float format_version", dctest.float_format_version, ["format_version",
                                                               "integer"])]:
    p = broken(label.replace(" ", "_") + ".h5", mutate)
    expect(f"infer names a {label}",
           ["infer", "-w", p, "-i", path("x.npy"), "-o", path("y_bad2.npy")], 1, p, *frags)

# ---- the argument parser (cli/argparse.c): one for every command -----------------------
COMMANDS = ["models", "infer", "classify", "bench", "run", "predict", "threshold",
            "complementarity", "convert", "fetch"]
top = run("--help")[1]
check("the top-level help lists --version and 'help <command>'",
      "--version" in top and "dualcnn help <command>" in top, top)
for cmd in COMMANDS:
    rc1, out1, _ = run(cmd, "--help")
    rc2, out2, err2 = run("help", cmd)
    check(f"dualcnn help {cmd} prints {cmd}'s own help",
          rc2 == 0 and out2 == out1 and out2.startswith("usage: dualcnn " + cmd), out2[:200] + err2)
expect("dualcnn help with an unknown command", ["help", "frobnicate"], 2,
       "unknown command 'frobnicate'")

# Every option a command's --help lists is one its parser accepts, with a value exactly when
# the help shows one: "CMD FLAG [VALUE] --help" must print the help (an option taking a
# value it was not given would swallow --help; a value given to a flag would be an
# unexpected argument). Options are the comma-separated groups that start a help line:
# "  -m1, --model1 NAME", "  --skip N, --limit N, ..., -q".
import re  # noqa: E402
FLAG_RE = re.compile(r"(--?[A-Za-z][A-Za-z0-9_-]*)(?: ([A-Z][A-Za-z0-9_.]*))?(,\s?|\s{2,}|$)")


def listed_options(help_text):
    """[(spelling, metavar or None)] of the option lines of a help text."""
    found = []
    for line in help_text.splitlines():
        if not re.match(r"^  -", line):
            continue
        rest, group = line[2:], []
        while True:
            m = FLAG_RE.match(rest)
            if not m:
                break
            group.append([m.group(1), m.group(2)])
            rest = rest[m.end():]
            if not m.group(3).startswith(","):
                break
        # "-m1, --model1 NAME": a spelling without its own metavar shares the next one's
        for k in range(len(group) - 2, -1, -1):
            if group[k][1] is None and group[k + 1][1] is not None and \
                    line.find(group[k][0] + ", ") >= 0:
                group[k][1] = group[k + 1][1]
        found += [tuple(g) for g in group]
    return found


for cmd in COMMANDS:
    opts = [o for o in listed_options(run(cmd, "--help")[1]) if o[0] not in ("-h", "--help")]
    bad = []
    for flag, metavar in opts:
        args = [cmd, flag] + ([metavar] if metavar else []) + ["--help"]
        rc, out, err = run(*args)
        if rc != 0 or not out.startswith("usage: dualcnn " + cmd):
            bad.append(f"{' '.join(args)} -> rc {rc}: {err.strip()[:120]}")
    check(f"{cmd}: every option its --help lists is accepted ({len(opts)} spellings)",
          len(opts) >= 1 and not bad, "; ".join(bad[:4]))

# --name=value and unambiguous prefixes of long options, on every command; the values are
# seen to arrive where they belong (a path named in the error, a count in the output)
none = path("no_such_dir")
expect("models --impl (a prefix of a flag kept for old scripts)", ["models", "--impl"], 0,
       "59 architectures")
expect("infer --weights=W --in=X --out=Y", ["infer", "--weights=" + good, "--in=" + path("x.npy"),
                                          "--out=" + path("y_eq.npy")], 0)
check("infer --out=Y wrote Y", os.path.exists(path("y_eq.npy")))
expect("infer --wei W --i X --o Y (prefixes)", ["infer", "--wei", good, "--i", path("x.npy"),
                                                "--o", path("y_pre.npy")], 0)
check("infer --o Y wrote Y", os.path.exists(path("y_pre.npy")))
expect("classify --weights1=W --thr 1 IMAGE", ["classify", "--weights1=" + good, "--thr", "1",
                                                path("a.png")], 0, "a.png (50x40)")
rc, out, err = run("bench", "--mod=resnet20", "--rep", "2", "--warm=0", "--thr=1", "--js")
try:
    j = json.loads(out)
    ok = rc == 0 and j["model"] == "resnet20" and len(j["times_ms"]) == 2 and j["threads"] == 1
except (ValueError, KeyError):
    ok = False
check("bench --mod=resnet20 --rep 2 --warm=0 --thr=1 --js", ok, out[:300] + err[-300:])
expect("run --model1=M --weights1=W --filep=DIR", ["run", "--model1=resnet20",
                                                   "--weights1=" + good, "--filep=" + none], 1,
       none)
expect("run --dataset-r DIR (a prefix of a later main.py spelling)",
       ["run", "-w1", good, "--dataset-r", none + "2"], 1, none + "2")
expect("run -t0.5 and -t=0.5 (a short option's value attached)",
       ["run", "-w1", good, "-i", none, "-t0.5", "-t=1.5"], 2, "-t", "1.5")
expect("predict --model=M --weights=W --vals=DIR", ["predict", "--model=resnet20",
                                                    "--weights=" + good, "--vals=" + none], 1,
       none)
expect("threshold --n_thr=1 reaches -n's check", ["threshold", "-m1", "a", "-m2", "b",
                                                  "--vals=" + none, "--n_thr=1"], 2, "'1'")
expect("complementarity --mod=a,b --valset=DIR --wei DIR", ["complementarity",
                                                          "--mod=resnet20,resnet32",
                                                          "--valset=" + none, "--wei",
                                                          path("wd"), "-q"], 1,
       path("wd") + "/cifar10/resnet20.h5")

# the parser's errors name the argument
expect("an ambiguous prefix lists its candidates", ["run", "--mod", "resnet20"], 2,
       "ambiguous option --mod", "--model1", "--model2")
expect("an ambiguous prefix on bench", ["bench", "--w", "1"], 2, "ambiguous option --w",
       "--weights", "--warmup")
expect("an exact spelling wins over a longer one (--memory, --memory-size)",
       ["run", "--memory", "dhash"], 2, "-m1 (or -w1) is required")
expect("an unknown option gets the closest spelling", ["run", "--treshold", "0.5"], 2,
       "unknown option --treshold; did you mean --threshold?")
expect("a transposition is a typo too", ["predict", "--thraeds", "2"], 2,
       "did you mean --threads?")
expect("a value for a flag that takes none", ["run", "--postcheck=yes"], 2,
       "--postcheck takes no value")
expect("a missing value", ["infer", "--weights"], 2, "--weights needs a value")
expect("an unexpected argument", ["infer", "stray"], 2, "unexpected argument 'stray'")
expect("a value may start with '-' (-d -1 is -d's value)", ["run", "-w1", good, "-i", none,
                                                           "-d", "-1"], 2, "-d", "'-1'")

# ---- run -y: what the config reader refuses, with the file, the line and the key ---------
import yaml  # noqa: E402 (python3-yaml: PyYAML, what the original read its config with)


def config(name, text):
    p = path(name)
    with open(p, "w") as f:
        f.write(text)
    return p


def pyyaml_refuses(text):
    try:
        yaml.safe_load(text)
        return False
    except yaml.YAMLError:
        return True


SEED = """---
dataset: cifar10
first_model:
  name: resnet20
  weights_file:
second_model:
  enable: true
  name: mobilenetv2_x0_5
  weights_file:
  scorefn: difference
  treshold: 0.2166
  postcheck: true
memory:
  enable: false
  method: invariants
duplicates: 0
transforms: 0
dataset_path: /nowhere
root_password:
"""
p = config("unknown_key.yml", SEED)
expect("run -y: an unknown key is named with its file and line", ["run", "-y", p], 2,
       p + ":11", "second_model.treshold", "did you mean 'threshold'")
p = config("misplaced_key.yml", SEED.replace("  treshold: 0.2166", "  threshold: 0.2166")
           .replace("duplicates: 0", "threshold: 0.5"))
expect("run -y: a key in the wrong section says where it belongs", ["run", "-y", p], 2,
       p + ":16", "'threshold'", "under second_model")
for label, line, value, frags in [
        ("a string for a number", 11, "  threshold: high", ["second_model.threshold",
                                                           "must be a number", "high"]),
        ("a quoted number", 11, "  threshold: '0.5'", ["second_model.threshold",
                                                      "must be a number"]),
        ("a string for a boolean", 7, "  enable: maybe", ["second_model.enable",
                                                         "true or false", "maybe"]),
        ("a number for a boolean", 12, "  postcheck: 1", ["second_model.postcheck",
                                                         "true or false"]),
        ("a list for a name", 8, "  name: [a, b]", ["second_model.name", "a list"]),
        ("a mapping for a number", 16, "duplicates: {a: 1}", ["duplicates", "a mapping"]),
        ("an unknown score", 10, "  scorefn: best", ["second_model.scorefn", "best"]),
        ("an unknown memory", 15, "  method: phash\n  enable: on", ["memory.method",
                                                                    "phash"]),
        ("a threshold out of range", 11, "  threshold: 1.5", ["second_model.threshold",
                                                              "[0, 1]"])]:
    lines = SEED.replace("  treshold: 0.2166", "  threshold: 0.2166").splitlines()
    lines[line - 1] = value  # may add a line after it
    p = config("wrong_" + label.replace(" ", "_") + ".yml", "\n".join(lines) + "\n")
    expect(f"run -y refuses {label} (file:line and key)", ["run", "-y", p], 2, f"{p}:{line}",
           *frags)
p = config("no_name.yml", "second_model:\n  enable: yes\n")
expect("run -y: a second model enabled without a name", ["run", "-w1", good, "-y", p], 2,
       p + ":2", "second_model.name")
tabbed = "first_model:\n  name: resnet20\nsecond_model:\n\tenable: true\n"
p = config("tabs.yml", tabbed)
check("PyYAML refuses tab indentation too", pyyaml_refuses(tabbed))
expect("run -y refuses tabs in indentation, as YAML does", ["run", "-y", p], 2, p + ":4",
       "tabs")
two = "dataset: cifar10\n---\ndataset: cifar10\n"
p = config("two_docs.yml", two)
check("PyYAML's safe_load refuses two documents too", pyyaml_refuses(two))
expect("run -y refuses a second document", ["run", "-y", p], 2, p + ":2", "second document")
p = config("empty.yml", "# only a comment\n")
expect("run -y refuses a file with no settings", ["run", "-y", p], 2, p, "no settings")
p = config("bad_syntax.yml", "first_model:\n  name: [resnet20\n")
expect("run -y names where the YAML breaks", ["run", "-y", p], 2, p + ":")

dctest.finish()
