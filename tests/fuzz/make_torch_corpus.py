#!/usr/bin/python3
"""Writes the seed corpus of tests/fuzz/fuzz_torch.c: tests/fuzz/corpus/torch/, small
checkpoints saved by Debian's torch in both formats torch.save writes (the zip archive and
the legacy format): a plain state_dict with float32 and int64 tensors, a 0-d and an empty
tensor; views (transposed, offset into a storage, two tensors on one storage); a training
dict holding the state_dict under 'model' with a 'module.' prefix, beside ints and floats.

Needs /usr/bin/python3 with python3-torch (tests/fuzz/make_corpus.py writes the other
corpora without torch). The zip seeds are the same bytes on every run; the legacy format
names its storages by their memory addresses, so those differ from run to run.
Usage: tests/fuzz/make_torch_corpus.py [OUTDIR]  (default: corpus/torch next to this file)
"""
import collections
import os
import sys

import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus",
                                                         "torch")
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(15)

plain = collections.OrderedDict([
    ("conv.weight", torch.randn(2, 1, 3, 3)),
    ("bn.running_var", torch.rand(2) + 0.5),
    ("bn.num_batches_tracked", torch.tensor(7)),
    ("attn.relative_position_index", torch.arange(4).reshape(2, 2)),
    ("scale", torch.tensor(0.5)),
    ("empty", torch.zeros(0)),
])
base = torch.randn(40)
views = collections.OrderedDict([
    ("fc.weight", torch.randn(3, 4).t()),          # strides (1, 4)
    ("fc.bias", base[10:13]),                      # offset 10
    ("a.weight", base[20:26].view(2, 3)),          # offset 20, same storage
    ("b.weight", torch.randn(2, 3, 2, 2).permute(0, 2, 3, 1)),
])
wrapped = {"model": collections.OrderedDict(("module." + k, v) for k, v in plain.items()
                                            if k != "empty"),
           "epoch": 3, "best_acc": 91.25, "lr": [0.1, 0.01], "seen": 1 << 40}

for name, obj in (("plain", plain), ("views", views), ("wrapped", wrapped)):
    torch.save(obj, os.path.join(OUT, f"zip_{name}.pt"))
    torch.save(obj, os.path.join(OUT, f"legacy_{name}.pt"), _use_new_zipfile_serialization=False)
