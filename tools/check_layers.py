#!/usr/bin/python3
"""Checks the include graph against the layer order (issue 17; docs/architecture.md):

    base <- kernels <- layers <- zoo <- loaders <- cascade <- cli

A file may include headers of its own folder and of the folders to its left, never of a
folder to its right; include/dualcnn.h (the public header) includes only system headers.
Prints every violation as FILE:LINE: "what it includes" (its layer is above FILE's) and
exits 1 when there is one.

Usage: tools/check_layers.py [SOURCE_ROOT]"""
import os
import re
import sys

ORDER = ["base", "kernels", "layers", "zoo", "loaders", "cascade", "cli"]
RANK = {d: i for i, d in enumerate(ORDER)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def violations(root):
    found = []
    for folder in ORDER + ["include"]:
        top = os.path.join(root, folder)
        for name in sorted(os.listdir(top)):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(top, name)
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    target = m.group(1).split("/")[0]
                    if folder == "include":
                        found.append(f"{folder}/{name}:{n}: \"{m.group(1)}\" (the public "
                                     "header includes system headers only)")
                    elif target in RANK and RANK[target] > RANK[folder]:
                        found.append(f"{folder}/{name}:{n}: \"{m.group(1)}\" ({target} is "
                                     f"above {folder})")
    return found


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = violations(root)
    for v in bad:
        print(v)
    print(f"{len(bad)} include(s) against the layer order {' <- '.join(ORDER)}")
    sys.exit(1 if bad else 0)
