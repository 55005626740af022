#!/usr/bin/env python3
"""`dualcnn infer --dump DIR` and tools/compare_layers.py (issue 16, point 6), on one
CIFAR-10 family (resnet20) and one ImageNet family (torchvision's mobilenet_v3_small), both
with random weights from tools/export_weights.py --random:
  - the index names every node (op, shape, MACs, inputs, file) and the files hold N x C x H x W;
  - every dumped tensor that names a PyTorch module equals that module's output (hooked here,
    with the named activation applied) within the parity tests' tolerance, and every node
    with an output but the input names one;
  - the last node's dump is the logits `infer --out` writes;
  - compare_layers.py agrees on the good file, and on a file with one tensor changed (h5py)
    it names the node that tensor belongs to as the first where PyTorch and dualcnn part.
Usage: test_dump.py DUALCNN WORKDIR SOURCE_ROOT"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check, path  # noqa: E402

BIN, WORK, ROOT = dctest.args(clean=True)
from reference import load_model  # noqa: E402  (the parity tests' PyTorch reference)

RTOL = 1e-4  # tests/parity/parity.py
ACTS = {None: lambda t: t, "relu": F.relu, "relu6": F.relu6, "hardswish": F.hardswish,
        "hardsigmoid": F.hardsigmoid, "sigmoid": torch.sigmoid, "silu": F.silu,
        "gelu": F.gelu}
torch.set_num_threads(1)
dualcnn = dctest.dualcnn


def compare_layers(*args):
    return dctest.run([dctest.PY, os.path.join(ROOT, "tools", "compare_layers.py"), *args])


def hooked_outputs(weights, x, names):
    """The outputs of the named modules of the PyTorch model, copied in the hook."""
    model, _ = load_model(weights)
    modules = dict(model.named_modules())
    seen = {}
    for name in names:
        if name in modules:
            modules[name].register_forward_hook(
                lambda _m, _i, out, name=name: seen.setdefault(name, []).append(
                    out.detach().clone()))
    with torch.no_grad():
        model(torch.from_numpy(x))
    return seen


def family(label, arch, dataset, shape, corrupt_key, corrupt_node):
    good = path(arch + ".h5")
    dctest.export_weights(arch, dataset, 11, good)
    x = np.random.RandomState(5).randn(*shape).astype(np.float32)
    np.save(path(arch + "_x.npy"), x)
    d = path(arch + "_dump")
    p = dualcnn("infer", "-w", good, "-i", path(arch + "_x.npy"), "--dump", d, "--out",
                path(arch + "_y.npy"))
    check(f"{label}: infer --dump runs", p.returncode == 0, p.stderr)
    if p.returncode != 0:
        return
    index = json.load(open(os.path.join(d, "index.json")))
    nodes = index["nodes"]
    need = {"id", "name", "op", "shape", "macs", "inputs", "file", "fused_into", "torch_module",
            "torch_then"}
    check(f"{label}: index.json names arch, weights, batch and every node's fields",
          index["arch"] == arch and os.path.samefile(index["weights"], good) and
          index["batch"] == shape[0] and all(need <= set(nd) for nd in nodes) and
          [nd["id"] for nd in nodes] == list(range(len(nodes))), index.get("arch"))
    listed = sorted(nd["file"] for nd in nodes if nd["file"])
    on_disk = sorted(f for f in os.listdir(d) if f.endswith(".npy"))
    check(f"{label}: one file per node with an output, named NNN_<node>",
          listed == on_disk and all(nd["file"].startswith("%03d_" % nd["id"])
                                    for nd in nodes if nd["file"]), (listed[:5], on_disk[:5]))
    shapes_ok = all(np.load(os.path.join(d, nd["file"]), mmap_mode="r").shape ==
                    (shape[0], *nd["shape"]) for nd in nodes if nd["file"])
    check(f"{label}: every file is float32 N x C x H x W of its node's shape", shapes_ok)
    fused = [nd for nd in nodes if nd["fused_into"] is not None]
    check(f"{label}: a fused node has no file and points to the conv+add doing its work",
          all(nd["file"] is None and nodes[nd["fused_into"]]["op"] == "conv+add"
              for nd in fused), fused[:2])
    macs = sum(nd["macs"] for nd in nodes)
    mj = json.loads(dualcnn("models", "--json").stdout)
    want = next(m["macs"] for m in mj["models"] if m["name"] == arch)
    check(f"{label}: the nodes' MACs add up to the model's", macs == want, (macs, want))
    x0 = np.load(os.path.join(d, nodes[0]["file"]))
    check(f"{label}: the input node's dump is the input", np.array_equal(x0, x))
    y = np.load(path(arch + "_y.npy"))
    last = np.load(os.path.join(d, nodes[-1]["file"])).reshape(y.shape)
    check(f"{label}: the last node's dump is the logits of --out", np.array_equal(last, y))

    mapped = [nd for nd in nodes if nd["file"] and nd["torch_module"]]
    unmapped = [nd["name"] for nd in nodes if nd["file"] and not nd["torch_module"]]
    check(f"{label}: every node with an output but the input names its PyTorch module",
          unmapped == ["input"], unmapped)
    seen = hooked_outputs(good, x, {nd["torch_module"] for nd in mapped})
    bad = []
    for nd in mapped:
        outs = seen.get(nd["torch_module"], [])
        if len(outs) != 1:
            bad.append((nd["id"], nd["torch_module"], "ran %d times" % len(outs)))
            continue
        ref = ACTS[nd["torch_then"]](outs[0]).numpy().reshape(shape[0], -1)
        ours = np.load(os.path.join(d, nd["file"])).reshape(shape[0], -1)
        tol = RTOL * max(1.0, float(np.abs(ref).max()))
        diff = float(np.abs(ours.astype(np.float64) - ref).max())
        if ref.shape != ours.shape or not diff <= tol:
            bad.append((nd["id"], nd["name"], nd["torch_module"], diff, tol))
    check(f"{label}: all {len(mapped)} dumped tensors equal the PyTorch module output they "
          "name (1e-4 * max(1, max |torch|))", not bad and len(mapped) > 10, bad[:5])

    p = compare_layers("--dump", d)
    check(f"{label}: compare_layers.py finds no difference on the good file",
          p.returncode == 0 and "all compared nodes agree" in p.stdout and
          f"{len(mapped)} nodes compared" in p.stdout, p.stdout[-600:] + p.stderr)

    def damage(f):
        w = f[corrupt_key][()]
        w.reshape(w.shape[0], -1)[1] += 0.5  # one output channel's filter
        f[corrupt_key][...] = w
    broken = dctest.mutated_copy(good, arch + "_broken.h5", damage)
    d2 = path(arch + "_broken_dump")
    p = dualcnn("infer", "-w", broken, "-i", path(arch + "_x.npy"), "--dump", d2)
    check(f"{label}: infer --dump on the damaged file", p.returncode == 0, p.stderr)
    p = compare_layers("--dump", d2, "--weights", good, "--quiet")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("first difference")]
    want_id = next((nd["id"] for nd in nodes if nd["name"] == corrupt_node and nd["file"]), -1)
    check(f"{label}: compare_layers.py locates the changed tensor {corrupt_key} at node "
          f"{want_id} ({corrupt_node})",
          p.returncode == 1 and len(line) == 1 and
          line[0].startswith("first difference at node %d (%s," % (want_id, corrupt_node)),
          p.stdout + p.stderr)


family("resnet20 (CIFAR-10)", "resnet20", "cifar10", (3, 3, 32, 32), "layer2/1/conv1/weight",
       "layer2.1.conv1")
family("mobilenet_v3_small (ImageNet, torchvision)", "mobilenet_v3_small", "imagenet",
       (1, 3, 224, 224), "features/4/block/1/0/weight", "features.4.block.1.0")

# usage errors
np.save(path("x1.npy"), np.zeros((1, 3, 32, 32), np.float32))
open(path("plainfile"), "w").close()
p = dualcnn("infer", "-w", path("resnet20.h5"), "-i", path("x1.npy"), "--dump",
            os.path.join(path("plainfile"), "sub"))
check("infer --dump into a path under a file fails and says so",
      p.returncode == 1 and "plainfile" in p.stderr, p.stderr)
p = compare_layers("--dump", path("nowhere"))
check("compare_layers.py on a folder without an index: exit 2 and why",
      p.returncode == 2 and "index" in p.stderr, p.stderr)

dctest.finish()
