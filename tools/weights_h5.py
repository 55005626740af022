"""Read and write dualcnn weight files (HDF5, format version 1; see DESIGN.md "Weight files").

Layout of a file:
  - every tensor of the PyTorch state_dict is one float32 dataset whose path is the key with
    '.' replaced by '/' (layer1.0.conv1.weight -> /layer1/0/conv1/weight); the
    num_batches_tracked entries are dropped;
  - root attributes:
      format_version  int32 scalar, 1
      arch            str (variable-length UTF-8)
      dataset         str
      num_classes     int32 scalar
      input_size      int32[3]   C, H, W
      mean, std       float32[3] per input channel
      class_names     variable-length UTF-8 str[num_classes] (optional)
      source          str, where the weights came from (URL or description)
    plus any extra attributes the caller passes, such as
      transform_input int32 scalar 0 or 1, googlenet and inception_v3 only: the model
                      re-normalises its input first, as torchvision's official weights need
                      (absent means 0)

    write_weights(path, state_dict, arch, dataset, num_classes, input_size, mean, std,
                  class_names=None, source="", extra_attrs=None)
    read_weights(path) -> (state_dict of torch tensors, dict of attributes)
"""

import os

import h5py
import numpy as np
import torch

FORMAT_VERSION = 1

__all__ = ["FORMAT_VERSION", "write_weights", "read_weights", "key_to_path", "path_to_key"]


def key_to_path(key):
    """state_dict key -> dataset path: 'layer1.0.conv1.weight' -> 'layer1/0/conv1/weight'."""
    return key.replace(".", "/")


def path_to_key(path):
    """dataset path -> state_dict key (the inverse of key_to_path; a leading '/' is ignored)."""
    return path.lstrip("/").replace("/", ".")


def _as_float32(value, key):
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
    else:
        array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise ValueError("tensor %s has dtype %s, which cannot be stored as float32"
                         % (key, array.dtype))
    return np.ascontiguousarray(array, dtype=np.float32)


def write_weights(path, state_dict, arch, dataset, num_classes, input_size, mean, std,
                  class_names=None, source="", extra_attrs=None):
    """Write state_dict and its metadata to a new HDF5 file at path (overwriting it).

    Every tensor is stored as float32; num_batches_tracked entries are skipped. Raises
    ValueError on bad metadata (wrong lengths, class_names not matching num_classes).
    The file is written under a temporary name and renamed, so a failure never leaves a
    half-written weight file behind.
    """
    input_size = [int(v) for v in input_size]
    mean = [float(v) for v in mean]
    std = [float(v) for v in std]
    if len(input_size) != 3 or min(input_size) <= 0:
        raise ValueError("input_size must be 3 positive ints (C, H, W), got %r" % (input_size,))
    if len(mean) != input_size[0] or len(std) != input_size[0]:
        raise ValueError("mean and std need one value per input channel (%d), got %r and %r"
                         % (input_size[0], mean, std))
    if min(std) <= 0:
        raise ValueError("std values must be positive, got %r" % (std,))
    if int(num_classes) <= 0:
        raise ValueError("num_classes must be positive, got %r" % (num_classes,))
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) != int(num_classes):
            raise ValueError("%d class names given for %d classes"
                             % (len(class_names), int(num_classes)))

    tmp = "%s.tmp%d" % (path, os.getpid())
    try:
        with h5py.File(tmp, "w") as f:
            for key, value in state_dict.items():
                if key.endswith("num_batches_tracked"):
                    continue
                f.create_dataset(key_to_path(key), data=_as_float32(value, key))
            attrs = f.attrs
            attrs["format_version"] = np.int32(FORMAT_VERSION)
            attrs["arch"] = str(arch)
            attrs["dataset"] = str(dataset)
            attrs["num_classes"] = np.int32(num_classes)
            attrs["input_size"] = np.asarray(input_size, dtype=np.int32)
            attrs["mean"] = np.asarray(mean, dtype=np.float32)
            attrs["std"] = np.asarray(std, dtype=np.float32)
            if class_names is not None:
                attrs.create("class_names", data=class_names,
                             dtype=h5py.string_dtype(encoding="utf-8"))
            attrs["source"] = str(source)
            for name, value in (extra_attrs or {}).items():
                # str subclasses (torch.__version__ is one) would become numpy '<U' arrays
                attrs[name] = str(value) if isinstance(value, str) else value
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _attr_value(value):
    """HDF5 attribute -> plain Python value (str, int, float, list of those)."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSU":
            return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_weights(path):
    """Read a weight file: (state_dict of float32 torch tensors, attributes as a dict).

    The state_dict keys are the dataset paths with '/' turned back into '.', in the order
    the file lists them. Raises OSError when the file cannot be opened as HDF5 and
    ValueError when it is not a dualcnn weight file of a known format version.
    """
    state_dict = {}
    with h5py.File(path, "r") as f:
        attrs = {name: _attr_value(f.attrs[name]) for name in f.attrs}
        version = attrs.get("format_version")
        if version is None:
            raise ValueError("%s: no format_version attribute; not a dualcnn weight file" % path)
        if version != FORMAT_VERSION:
            raise ValueError("%s: format_version %r, this tool reads version %d"
                             % (path, version, FORMAT_VERSION))

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                state_dict[path_to_key(name)] = torch.from_numpy(
                    np.asarray(obj[()], dtype=np.float32))

        f.visititems(visit)
    return state_dict, attrs
