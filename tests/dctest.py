"""dctest — what the end-to-end test scripts under tests/ share (docs/robustness.md, "Test
conventions"): their arguments and work directory, one PASS or FAIL line per check and the
summary line with the counts, the skip convention, running dualcnn or another program with a
time limit, tools/export_weights.py on random weights, a FashionMNIST-format dataset, and an
HTTP server on 127.0.0.1.

A script one folder below tests/ imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import dctest  # noqa: E402
and is called by tests/meson.build as SCRIPT DUALCNN WORKDIR SOURCE_ROOT.
"""
import gzip
import http.server
import os
import shutil
import subprocess
import sys
import threading

# the source tree this module is part of, and its tools/
SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(SOURCE_ROOT, "tools")
# issue 14's bounds for a damaged or hostile input file: an answer in 10 s and 200 MB (the
# peak RSS of dualcnn and the children it waits for)
HOSTILE_LIMIT_S = 10.0
HOSTILE_LIMIT_RSS_MB = 200
# the interpreter the scripts and tools run under: Debian's, with NumPy, h5py and torch
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

# set by args()
BIN = WORK = ROOT = None

_failures = []
_passed = 0
_skipped = []
DETAIL_LIMIT = 2000  # characters of a failed check's detail that are printed


# ---- arguments and the work directory ------------------------------------------------------

def args(clean=False):
    """(DUALCNN, WORKDIR, SOURCE_ROOT) from the command line, as absolute paths (SOURCE_ROOT
    is this tree's when the script is not given one). WORKDIR is made if missing; with clean,
    what an earlier run left in it is removed first. SOURCE_ROOT/tools goes first on sys.path,
    for the project's Python modules (cifar_models, export_weights, reference)."""
    global BIN, WORK, ROOT
    if len(sys.argv) < 3:
        sys.exit(f"usage: {os.path.basename(sys.argv[0])} DUALCNN WORKDIR [SOURCE_ROOT]")
    BIN, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    ROOT = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else SOURCE_ROOT
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    if clean:
        shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK, exist_ok=True)
    return BIN, WORK, ROOT


def path(*parts):
    """A path under the work directory."""
    return os.path.join(WORK, *parts)


def fresh_dir(name, create=True):
    """WORKDIR/name, removed with what it holds, and made again empty unless create is
    False (for a program that must create it itself)."""
    d = path(name)
    shutil.rmtree(d, ignore_errors=True)
    if create:
        os.makedirs(d)
    return d


def files_under(d):
    """The files below d, as sorted paths relative to d ([] when d does not exist)."""
    return sorted(os.path.relpath(os.path.join(r, f), d)
                  for r, _, fs in os.walk(d) for f in fs)


# ---- checks, skips and the summary ---------------------------------------------------------

def check(name, cond, detail=""):
    """Prints "PASS name", or "FAIL name: detail" (its first DETAIL_LIMIT characters) and
    counts it as failed. Returns cond."""
    global _passed
    print(("PASS " if cond else "FAIL ") + name +
          ("" if cond else ": " + str(detail)[:DETAIL_LIMIT]), flush=True)
    if cond:
        _passed += 1
    else:
        _failures.append(name)
    return cond


def skip(reason):
    """An optional part cannot run (a package that is not installed): prints
    "SKIP-REASON: reason"; finish() then exits 77 (meson's SKIP) unless a check failed."""
    print("SKIP-REASON: " + reason, flush=True)
    _skipped.append(reason)


def skip_all(reason):
    """Nothing can run without what reason names: prints the SKIP-REASON line, exits 77."""
    skip(reason)
    sys.exit(77)


def finish():
    """Prints "N checks: P passed, F failed" (and how many parts were skipped), then exits:
    1 when a check failed, else 77 when something was skipped, else 0."""
    total = _passed + len(_failures)
    print(f"{total} checks: {_passed} passed, {len(_failures)} failed" +
          (f", {len(_skipped)} part(s) skipped" if _skipped else ""), flush=True)
    sys.exit(1 if _failures else 77 if _skipped else 0)


def mismatches(failures):
    """For the checkers that collect their mismatches as lines: prints how many and each,
    and returns the exit status (1 when there are any, else 0)."""
    if not failures:
        return 0
    print("\n%d mismatch(es):" % len(failures))
    for f in failures:
        print("  " + f)
    return 1


# ---- running programs ----------------------------------------------------------------------

def run(argv, timeout=600, **kw):
    """subprocess.run(argv, **kw) with stdout and stderr captured as text. A program still
    running after timeout seconds is killed and given exit status -1 and the stderr
    "(still running after N s: killed)". Returns the CompletedProcess."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, -1, "",
                                           f"(still running after {timeout} s: killed)")


def dualcnn(*args, **kw):
    """run() of the dualcnn under test with these arguments."""
    return run([BIN, *args], **kw)


def runner(timeout=600, **defaults):
    """A run(*args, **kw) for scripts whose checks read the exit status and the text: dualcnn
    with these defaults (env, cwd, ...) unless the call gives others, returning (exit status,
    stdout + stderr)."""
    def run(*args, **kw):
        p = dualcnn(*args, **{"timeout": timeout, **defaults, **kw})
        return p.returncode, p.stdout + p.stderr
    return run


def export_weights(arch, dataset, seed, out, env=None):
    """tools/export_weights.py --random: a weight file of random weights (BatchNorm statistics
    far from the identity) for arch at out. The script stops with the tool's error when it
    fails."""
    subprocess.run([PY, os.path.join(ROOT or SOURCE_ROOT, "tools", "export_weights.py"),
                    "--arch", arch, "--dataset", dataset, "--random", "--seed", str(seed),
                    "--out", out], check=True, capture_output=True, env=env)


# ---- data ----------------------------------------------------------------------------------

def write_fashionmnist(d, rng, n=150):
    """A FashionMNIST-format dataset in d (made if missing): n random 28x28 images with random
    labels 0..9 for each of train and t10k, IDX files gzip'd as the originals; rng is a
    numpy RandomState."""
    import numpy as np
    os.makedirs(d, exist_ok=True)
    for prefix in ["train", "t10k"]:
        imgs = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labs = rng.randint(0, 10, size=n).astype(np.uint8)
        with gzip.open(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
            f.write((2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") +
                    (28).to_bytes(4, "big") + imgs.tobytes())
        with gzip.open(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write((2049).to_bytes(4, "big") + n.to_bytes(4, "big") + labs.tobytes())


# ---- an HTTP server on 127.0.0.1 -----------------------------------------------------------

def offline_env(home):
    """os.environ without proxy settings (no request may leave the machine) nor the variables
    that move dualcnn's weights and data directories (DUALCNN_WEIGHTS, XDG_DATA_HOME), with
    HOME set to home (made if missing)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()
           and k not in ("DUALCNN_WEIGHTS", "XDG_DATA_HOME")}
    env["HOME"] = home
    os.makedirs(home, exist_ok=True)
    return env


class HttpServer:
    """Serves the files under root over HTTP on 127.0.0.1 (a port it picks), from a thread of
    this process, until shutdown(). base is its URL ("http://127.0.0.1:PORT").

    Settable while it runs: ranges (True: a "Range: bytes=N-" request gets 206 and the rest
    of the file, 416 past its end; False: ranges are ignored and Accept-Ranges is "none");
    cut (while above 0, a response announces the whole Content-Length, sends half the body,
    closes the connection, and cut goes down by one). log lists (path, Range header or None)
    of every GET; a path with ".." or naming no file gets 404."""

    def __init__(self, root):
        self.root, self.ranges, self.cut, self.log = root, True, 0, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server._get(self)

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def shutdown(self):
        self._httpd.shutdown()

    def _get(self, h):
        self.log.append((h.path, h.headers.get("Range")))
        f = os.path.join(self.root, h.path.lstrip("/"))
        if ".." in h.path or not os.path.isfile(f):
            h.send_error(404)
            return
        data = open(f, "rb").read()
        start, code = 0, 200
        rng = h.headers.get("Range")
        if rng and self.ranges and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            code = 206
        body = data[start:]
        h.send_response(code)
        if code == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Accept-Ranges", "bytes" if self.ranges else "none")
        h.end_headers()
        if self.cut > 0:
            self.cut -= 1
            h.wfile.write(body[:len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(body)


# ---- weight files made wrong on purpose ----------------------------------------------------

def mutated_copy(src, name, mutate):
    """A copy of the HDF5 file src at WORKDIR/name, changed by mutate(f) on the copy opened
    with h5py for writing. Returns its path."""
    import h5py
    p = path(name)
    shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        mutate(f)
    return p


# mutations of a resnet20 weight file (for mutated_copy) that the loader must name:
def lzf_tensor(f):
    """fc/weight stored with h5py's LZF filter (which libhdf5 lacks)."""
    import numpy as np
    w = np.zeros_like(f["fc/weight"][()])  # compressible: LZF skips chunks it cannot shrink
    del f["fc/weight"]
    f.create_dataset("fc/weight", data=w, compression="lzf", chunks=w.shape)


def soft_linked_tensor(f):
    """fc/bias a soft link to a dataset stored elsewhere in the file."""
    import h5py
    f["stored_elsewhere"] = f["fc/bias"][()]
    del f["fc/bias"]
    f["fc/bias"] = h5py.SoftLink("/stored_elsewhere")


def float_format_version(f):
    """format_version 1.9, a float where an integer belongs."""
    import numpy as np
    f.attrs["format_version"] = np.float64(1.9)
