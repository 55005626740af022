#!/usr/bin/python3
"""`dualcnn convert` (C) against tools/export_weights.py (Python, torch.load) on the same
checkpoints, and its refusals of malformed ones.

For one architecture of every family (the small member: CIFAR-10 resnet, vgg, mobilenetv2,
shufflenetv2, repvgg; ImageNet resnet, densenet, googlenet, inception_v3, mnasnet,
mobilenet_v3, regnet, shufflenet_v2, squeezenet, convnext, swin, swin_v2), a model with
random weights is saved by Debian's torch in both formats torch.save writes (the zip
archive, and the legacy format with _use_new_zipfile_serialization=False), converted by
both tools, and the two HDF5 files compared with h5py: the same set of datasets, each with
the same dtype, shape and bytes, and the same root attributes (names, dtypes, values);
then `dualcnn infer` must give bit-identical logits on both files. The expected files are
export_weights.py's, never the converter's own output. Also: the dict-wrapped forms
('state_dict', 'model' with an optimizer beside it, 'model_state_dict') with a 'module.'
prefix, views (transposed, offset into a shared storage), architecture and source taken
from official file names, and malformed checkpoints (each must exit 1 with a message naming
the file and the problem, and never crash), and the refusal of an architecture the engine
cannot build, by both tools.

Usage: test_convert.py DUALCNN WORKDIR SOURCE_ROOT   (about 100 s in the release build on two
cores; with DUALCNN_SANITIZED=1, as the sanitizer build runs it, seven of the families)
"""
import collections
import contextlib
import io
import os
import pickle
import re
import shutil
import sys
import zipfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, path  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
import cifar_models  # noqa: E402
import export_weights  # noqa: E402

torch.set_num_threads(1)
run = dctest.runner()  # (exit status, stdout + stderr)


def export(*args):
    """tools/export_weights.py in this process: (exit status, its output)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            rc = export_weights.main(list(args))
        except SystemExit as e:  # argparse
            rc = e.code
    return rc, out.getvalue()


# ---- comparing two weight files ---------------------------------------------------------

def datasets(f):
    found = {}
    f.visititems(lambda name, obj: found.__setitem__(name, obj)
                 if isinstance(obj, h5py.Dataset) else None)
    return found


def attr_repr(f, name):
    """Attribute name of f as (HDF5 type, shape, value) in a form == compares exactly: the
    type class, size, byte order and sign, or for text whether it is variable-length and
    its character set."""
    aid = f.attrs.get_id(name)
    t = aid.get_type()
    if t.get_class() == h5py.h5t.STRING:
        vlen = t.is_variable_str()
        kind = ("string", vlen, t.get_cset(), None if vlen else t.get_size())
    else:
        kind = (t.get_class(), t.get_size(), t.get_order(),
                t.get_sign() if t.get_class() == h5py.h5t.INTEGER else None)
    v = f.attrs[name]
    if isinstance(v, np.ndarray) and v.dtype.kind == "O":
        value = [x.decode() if isinstance(x, bytes) else x for x in v.tolist()]
    elif isinstance(v, (bytes, str)):
        value = v
    else:
        value = np.asarray(v).tobytes()
    return (kind, aid.shape, value)


def compare_h5(got_path, want_path):
    """'' when the files hold the same datasets (dtype, shape, bytes) and attributes."""
    with h5py.File(got_path, "r") as g, h5py.File(want_path, "r") as w:
        gd, wd = datasets(g), datasets(w)
        if set(gd) != set(wd):
            return ("datasets differ: only in convert's %s; only in export's %s"
                    % (sorted(set(gd) - set(wd))[:5], sorted(set(wd) - set(gd))[:5]))
        for name in sorted(wd):
            a, b = gd[name], wd[name]
            if a.dtype != b.dtype or a.shape != b.shape:
                return "%s: %s %s, export %s %s" % (name, a.dtype, a.shape, b.dtype, b.shape)
            if a[()].tobytes() != b[()].tobytes():
                return "%s: values differ" % name
        ga = {k: attr_repr(g, k) for k in g.attrs}
        wa = {k: attr_repr(w, k) for k in w.attrs}
        if ga != wa:
            diff = [k for k in set(ga) | set(wa) if ga.get(k) != wa.get(k)]
            return "attributes differ: %s" % ", ".join(
                "%s: %r vs %r" % (k, str(ga.get(k))[:80], str(wa.get(k))[:80]) for k in diff)
    return ""


def infer(h5, side, tag):
    x = np.random.RandomState(0).randn(1, 3, side, side).astype(np.float32)
    np.save(path("x.npy"), x)
    out = path(tag + "-logits.npy")
    rc, text = run("infer", "--weights", h5, "--in", path("x.npy"), "--out", out,
                   "--threads", "2")
    return np.load(out) if rc == 0 else text


# ---- models with random weights ---------------------------------------------------------

def randomise(model):
    """Random parameters and BatchNorm statistics (no forward pass: cheap for big models)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.1)
    return model.eval()


def build(arch, dataset):
    torch.manual_seed(7)
    if dataset != "imagenet":
        return randomise(cifar_models.build(arch, 10)), 32
    import torchvision
    kwargs = {}
    if arch in ("googlenet", "inception_v3"):  # as the official weights are: aux heads kept
        kwargs = dict(aux_logits=True, transform_input=True, init_weights=True)
    model = torchvision.models.get_model(arch, weights=None, **kwargs)
    side = {"inception_v3": 299, "swin_v2_t": 256}.get(arch, 224)
    return randomise(model), side


CIFAR = ["resnet20", "vgg11_bn", "mobilenetv2_x0_5", "shufflenetv2_x0_5", "repvgg_a0"]
IMAGENET = ["resnet18", "mnasnet0_5", "mobilenet_v3_small", "regnet_y_400mf",
            "shufflenet_v2_x0_5", "squeezenet1_1", "googlenet", "densenet121", "inception_v3",
            "convnext_tiny", "swin_t", "swin_v2_t"]
# official file names: the architecture (and the source URL) come from them
OFFICIAL = {"resnet20": "cifar10_resnet20-4118986f.pt", "resnet18": "resnet18-f37072fd.pth"}

cases = [(a, "cifar10") for a in CIFAR] + [(a, "imagenet") for a in IMAGENET]
if os.environ.get("DUALCNN_SANITIZED") == "1":
    # the sanitizer build (tests/meson.build sets this) converts seven of the seventeen: both
    # formats, the official names, BatchNorm's int64 counters, aux heads, Swin V2's buffers.
    # Most of this loop's time is torch and export_weights.py, which the release build's
    # run of this test has already checked the converter against for every family.
    keep = {"resnet20", "vgg11_bn", "resnet18", "mobilenet_v3_small", "densenet121",
            "inception_v3", "swin_v2_t"}
    cases = [c for c in cases if c[0] in keep]

for arch, dataset in cases:
    model, side = build(arch, dataset)
    sd = model.state_dict()
    d = path(arch)
    os.makedirs(d)
    zip_ckpt = os.path.join(d, OFFICIAL.get(arch, arch + ".pth"))
    legacy_ckpt = os.path.join(d, arch + "-legacy.pt")
    torch.save(sd, zip_ckpt)
    torch.save(sd, legacy_ckpt, _use_new_zipfile_serialization=False)
    logits = {}
    for form, ckpt in (("zip", zip_ckpt), ("legacy", legacy_ckpt)):
        want, got = os.path.join(d, form + "-export.h5"), os.path.join(d, form + ".h5")
        rc, text = export("--arch", arch, "--dataset", dataset, "--checkpoint", ckpt,
                          "--out", want)
        check(f"{arch} ({form}): export_weights.py converts it", rc == 0, text)
        if rc != 0:
            continue
        named = form == "zip" and arch in OFFICIAL
        flags = [] if named else ["--arch", arch, "--dataset", dataset]
        rc, text = run("convert", ckpt, "-o", got, *flags)
        check(f"{arch} ({form}): dualcnn convert {' '.join(flags) or '(arch from the name)'}",
              rc == 0 and "wrote" in text, f"rc={rc}: {text.strip()[:600]}")
        if rc != 0:
            continue
        diff = compare_h5(got, want)
        check(f"{arch} ({form}): same datasets, values and attributes as export_weights.py",
              diff == "", diff)
        if form == "zip":
            logits["convert"] = infer(got, side, arch + "-convert")
            logits["export"] = infer(want, side, arch + "-export")
    ok = len(logits) == 2 and all(isinstance(v, np.ndarray) for v in logits.values())
    check(f"{arch}: dualcnn infer gives the same logits on both files",
          ok and np.array_equal(logits["convert"], logits["export"]),
          str({k: (v if isinstance(v, str) else v.ravel()[:4]) for k, v in logits.items()}))
    shutil.rmtree(d)  # the big ones are 100 MB a file


# ---- the forms a state_dict comes in, and views ----------------------------------------

def same_as_export(name, obj, arch="resnet20", dataset="cifar10", trust=False):
    """Saves obj in both formats; convert and export_weights.py must agree on each. trust:
    export with --trust-pickle (torch 1.13's safe loader refuses floats)."""
    for form in ("zip", "legacy"):
        ckpt = path(f"{name}-{form}.pt")
        torch.save(obj, ckpt, _use_new_zipfile_serialization=form == "zip")
        want, got = path(f"{name}-{form}-export.h5"), path(f"{name}-{form}.h5")
        rc, text = export("--arch", arch, "--dataset", dataset, "--checkpoint", ckpt,
                          "--out", want, *(["--trust-pickle"] if trust else []))
        check(f"{name} ({form}): export_weights.py converts it", rc == 0, text)
        rc2, text2 = run("convert", ckpt, "-o", got, "--arch", arch, "--dataset", dataset)
        check(f"{name} ({form}): dualcnn convert converts it", rc2 == 0, text2)
        if rc == 0 and rc2 == 0:
            diff = compare_h5(got, want)
            check(f"{name} ({form}): the same file as export_weights.py's", diff == "", diff)


r20 = build("resnet20", "cifar10")[0].state_dict()
with_module = collections.OrderedDict(("module." + k, v) for k, v in r20.items())
same_as_export("wrapped-state_dict", {"state_dict": r20})
same_as_export("wrapped-model", {
    "model": with_module, "epoch": 7, "best_acc": 91.25, "arch": "resnet20",
    "optimizer": {"state": {0: {"momentum_buffer": torch.ones(3, dtype=torch.float64)}},
                  "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                    "params": [0, 1], "seen": 1 << 40}]}}, trust=True)
same_as_export("wrapped-model_state_dict", {"model_state_dict": with_module})
same_as_export("module-prefix", with_module)

views = collections.OrderedDict((k, v.clone()) for k, v in r20.items())
fc = views["fc.weight"]
views["fc.weight"] = fc.t().contiguous().t()                        # strides (1, 10)
conv = views["conv1.weight"]
views["conv1.weight"] = conv.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
flat = torch.randn(conv.numel() * 0 + 5000)
w = views["layer1.0.conv1.weight"]
flat[100:100 + w.numel()] = w.reshape(-1)
views["layer1.0.conv1.weight"] = flat[100:100 + w.numel()].view(w.shape)  # offset 100
shared = torch.cat([views["bn1.weight"], views["bn1.bias"]])          # one storage, two views
views["bn1.weight"], views["bn1.bias"] = shared[:16], shared[16:]
check("the views are views", not views["fc.weight"].is_contiguous() and
      views["layer1.0.conv1.weight"].storage_offset() == 100 and
      views["bn1.bias"].storage_offset() == 16)
same_as_export("views", views)

# a CIFAR architecture trained on another dataset, fewer classes
fm = build("resnet20", "cifar10")[0]
fm.fc = torch.nn.Linear(64, 6)
same_as_export("intel", fm.state_dict(), dataset="intel")

# ---- refusals ------------------------------------------------------------------------

class FakeStorage:
    def __init__(self, key, numel, kind=None):
        self.key, self.numel, self.kind = key, numel, kind or torch.FloatStorage


class FakeTensor:
    """Pickles as torch.save pickles a tensor, with any storage, offset, size, stride."""
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride))

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                self.args + (False, collections.OrderedDict()))


class CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def data_pkl(obj):
    buf = io.BytesIO()
    CheckpointPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def torch_zip(name, records):
    """A zip laid out as torch.save's: records {name: bytes} under archive/."""
    file = path(name)
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as z:
        for rec, data in records.items():
            z.writestr("archive/" + rec, data)
    return file


def rewrite_zip(src, name, drop=(), replace=None):
    """A copy of zip src without the records whose names end with one of drop, and with
    replace {suffix: bytes} swapped in."""
    file = path(name)
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(file, "w", zipfile.ZIP_STORED) as zo:
        for info in zi.infolist():
            if any(info.filename.endswith(d) for d in drop):
                continue
            data = zi.read(info.filename)
            for suffix, new in (replace or {}).items():
                if info.filename.endswith(suffix):
                    data = new
            zo.writestr(info.filename, data)
    return file


def refused(name, ckpt, *fragments, code=1, flags=("--arch", "resnet20")):
    out = path("refused.h5")
    rc, text = run("convert", ckpt, "-o", out, *flags)
    crashed = any(s in text for s in ("AddressSanitizer", "runtime error", "LeakSanitizer",
                                      "Segmentation", "Aborted"))
    leftovers = [n for n in os.listdir(WORK) if n.startswith("refused.h5")]
    ok = (rc == code and not crashed and not leftovers and all(f in text for f in fragments))
    check(f"refuses {name}", ok, f"rc={rc}, wanted {code}; output: {text.strip()[:500]}")


small = collections.OrderedDict((k, v) for k, v in r20.items())
zip_ok, legacy_ok = path("small.pt"), path("small-legacy.pt")
torch.save(small, zip_ok)
torch.save(small, legacy_ok, _use_new_zipfile_serialization=False)
zip_bytes, legacy_bytes = open(zip_ok, "rb").read(), open(legacy_ok, "rb").read()


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)
    return path(name)


refused("a truncated zip archive", write("cut.pt", zip_bytes[:len(zip_bytes) // 2]),
        path("cut.pt"), "not a readable zip archive")
refused("a truncated legacy file", write("cut-legacy.pt", legacy_bytes[:-1000]),
        path("cut-legacy.pt"), "truncated")
refused("a missing storage record", rewrite_zip(zip_ok, "nostorage.pt", drop=("/data/1",)),
        path("nostorage.pt"), "storage '1' has no record")
with zipfile.ZipFile(zip_ok) as z:
    rec0 = z.read([n for n in z.namelist() if n.endswith("/data/0")][0])
refused("a storage record shorter than declared",
        rewrite_zip(zip_ok, "short.pt", replace={"/data/0": rec0[:-4]}), path("short.pt"),
        "storage record", "a storage shorter than its tensors")
refused("a tensor reaching past its storage's end",
        torch_zip("past.pt", {"data.pkl": data_pkl({"fc.bias": FakeTensor(
            FakeStorage("0", 4), 0, [10], [1])}), "data/0": bytes(16)}),
        path("past.pt"), "'fc.bias'", "a storage shorter than the tensor")
refused("a view with an offset past its storage's end",
        torch_zip("offset.pt", {"data.pkl": data_pkl({"fc.bias": FakeTensor(
            FakeStorage("0", 10), 5, [2, 5], [5, 1])}), "data/0": bytes(40)}),
        path("offset.pt"), "'fc.bias'", "storage shorter than the tensor")
pwned = path("pwned")
evil = b"\x80\x02cos\nsystem\nq\x00X" + len(b"touch " + pwned.encode()).to_bytes(4, "little") \
    + b"touch " + pwned.encode() + b"q\x01\x85q\x02Rq\x03."
refused("a pickle calling os.system (GLOBAL + REDUCE)",
        torch_zip("evil.pt", {"data.pkl": evil}), path("evil.pt"), "refuses the global os.system")
check("os.system was never called", not os.path.exists(pwned))


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + pwned,))


refused("a legacy file whose object calls os.system",
        write("evil-legacy.pt", legacy_bytes[:legacy_bytes.index(b"\x80\x02ccollections")] +
              pickle.dumps({"fc.bias": Evil()}, protocol=2) + pickle.dumps([], protocol=2)),
        path("evil-legacy.pt"), "refuses the global", "the pickled object")
check("os.system was never called (legacy)", not os.path.exists(pwned))
refused("a pickle nested too deep (20000 open lists)",
        torch_zip("deep.pt", {"data.pkl": b"\x80\x02" + b"]" * 20000 + b"a" * 19999 + b"."}),
        path("deep.pt"), "nested too deep")
refused("a pickle nested too deep (100 open MARKs)",
        torch_zip("marks.pt", {"data.pkl": b"\x80\x02" + b"(" * 100 + b"."}),
        path("marks.pt"), "nested too deep")
refused("a huge declared storage size",
        torch_zip("huge.pt", {"data.pkl": data_pkl({"fc.bias": FakeTensor(
            FakeStorage("0", 1 << 45), 0, [1 << 40, 32], [32, 1])}), "data/0": bytes(16)}),
        path("huge.pt"), "storage record", str((1 << 45) * 4))
refused("a huge declared tensor dimension",
        torch_zip("hugedim.pt", {"data.pkl": data_pkl({"fc.bias": FakeTensor(
            FakeStorage("0", 4), 0, [1 << 41], [1])}), "data/0": bytes(16)}),
        path("hugedim.pt"), "size or stride")
refused("a huge declared string length",
        torch_zip("hugestr.pt", {"data.pkl": b"\x80\x02X\xf0\xff\xff\xffabc."}),
        path("hugestr.pt"), "truncated")
keys_at = legacy_bytes.rindex(b"\x80\x02]")
first_key = pickle.loads(legacy_bytes[keys_at:])[0]
refused("a huge legacy storage size",
        write("huge-legacy.pt", legacy_bytes[:keys_at] + pickle.dumps([first_key], protocol=2)
              + (1 << 62).to_bytes(8, "little")), path("huge-legacy.pt"),
        f"storage '{first_key}' holds {1 << 62} elements")
refused("a big-endian zip archive (byteorder record)",
        torch_zip("big.pt", {"data.pkl": data_pkl({"fc.bias": FakeTensor(
            FakeStorage("0", 10), 0, [10], [1])}), "data/0": bytes(40), "byteorder": b"big"}),
        path("big.pt"), "big-endian")
refused("a big-endian legacy file (sys_info)",
        write("big-legacy.pt", re.sub(rb"(little_endianq.)\x88",
                                      lambda m: m.group(1) + b"\x89", legacy_bytes, count=1)), path("big-legacy.pt"), "big-endian")
for dtype, name in ((torch.float64, "float64 (torch.DoubleStorage)"),
                    (torch.float16, "float16 (torch.HalfStorage)")):
    for form in ("zip", "legacy"):
        f = path(f"{dtype}-{form}.pt".replace("torch.", ""))
        torch.save({k: v.to(dtype) if v.is_floating_point() else v for k, v in small.items()},
                   f, _use_new_zipfile_serialization=form == "zip")
        refused(f"a {name} storage ({form})", f, f, name)
refused("a file that is not a checkpoint", write("text.pt", b"hello\n" * 100),
        path("text.pt"), "not a PyTorch checkpoint")
refused("an empty file", write("empty.pt", b""), path("empty.pt"), "empty")
refused("a missing file", path("no-such.pt"), path("no-such.pt"), "cannot open")
not_sd = path("not-sd.pt")
torch.save({"weights": [torch.zeros(2)], "epoch": 3}, not_sd)
refused("a dict that is not a state_dict", not_sd, not_sd, "not a state_dict",
        "'weights' is not a tensor")
refused("a checkpoint of another architecture", zip_ok, zip_ok, "does not fit arch resnet32",
        "missing", flags=("--arch", "resnet32"))

# ---- the architecture ------------------------------------------------------------------

refused("an architecture the engine cannot build (convert)", zip_ok, "--arch mobilenet_v2",
        "no such model", "mobilenet_v3_large", "mobilenetv2_x1_0 (CIFAR-10)", code=2,
        flags=("--arch", "mobilenet_v2", "--dataset", "imagenet"))
rc, text = export("--arch", "mobilenet_v2", "--dataset", "imagenet", "--random",
                  "--out", path("mnv2.h5"))
check("export_weights.py refuses an architecture the engine cannot build",
      rc == 2 and "no such model" in text and "mobilenet_v3_large" in text and
      "mobilenetv2_x1_0 (CIFAR-10)" in text and not os.path.exists(path("mnv2.h5")),
      f"rc={rc}: {text.strip()[:400]}")
for query in ("mobilenet_v2", "resnt20", "vgg", "swin_b", "resnet", "densenet",
              "regnet_x", "efficientnet_b0", "shufflenet"):
    rc, text = run("convert", zip_ok, "-o", path("q.h5"), "--arch", query)
    m = re.search(r"no such model; (.*) exist", text)
    listed = m.group(1) if m else ""
    want = export_weights.close_names(query, export_weights.engine_archs())
    check(f"convert and export_weights.py offer the same names for '{query}'",
          rc == 2 and listed == want, f"convert: {text.strip()[:300]!r}; python: {want!r}")
refused("a file name that names no architecture", zip_ok, "give --arch", code=2, flags=())
rc, text = run("convert", "--help")
check("convert --help", rc == 0 and "usage: dualcnn convert" in text and "--arch" in text,
      text[:300])
rc, text = run("--help")
check("dualcnn --help lists convert", rc == 0 and "convert" in text, text[:300])

dctest.finish()
