"""What the `dualcnn fetch` tests share: an HTTP server on 127.0.0.1 only, the PASS/FAIL
bookkeeping, an environment that lets no request leave the machine, and a directory lister.

The server (a thread of the test's process, on a port the system picks) serves a directory,
answers Range requests with 206 (or ignores them when state["ranges"] is False), and cuts
its next state["cut"] responses half-way (it announces the full Content-Length, sends half
the body and closes). Every request is logged in state["log"] as (path, Range header).
"""
import http.server
import os
import subprocess
import threading


class Checks:
    """check(name, cond, detail) prints PASS or FAIL; failures lists the failed names."""

    def __init__(self):
        self.failures = []

    def __call__(self, name, cond, detail=""):
        print(("PASS " if cond else "FAIL ") + name +
              ("" if cond else ": " + str(detail)[:2000]), flush=True)
        if not cond:
            self.failures.append(name)


def clean_env(home):
    """os.environ without proxies (no request may go elsewhere) nor the variables that move
    fetch's directories; HOME set to home (created)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()
           and k not in ("DUALCNN_WEIGHTS", "XDG_DATA_HOME")}
    env["HOME"] = home
    os.makedirs(home, exist_ok=True)
    return env


def runner(binary, base_env, base_cwd):
    """A function run(*args, env=None, cwd=None) -> (exit status, stdout + stderr) that
    runs binary with base_env in base_cwd unless told otherwise."""
    def run(*args, env=None, cwd=None):
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=300,
                           env=env or base_env, cwd=cwd or base_cwd)
        return p.returncode, p.stdout + p.stderr
    return run


def files_under(d):
    """The files (and links) under d, as sorted paths relative to d; [] when d is absent."""
    return sorted(os.path.relpath(os.path.join(r, f), d)
                  for r, _, fs in os.walk(d) for f in fs) if os.path.isdir(d) else []


def serve(root):
    """Starts the server on root; returns (server, base URL, state)."""
    state = {"ranges": True, "cut": 0, "log": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state["log"].append((self.path, self.headers.get("Range")))
            f = os.path.join(root, self.path.lstrip("/"))
            if ".." in self.path or not os.path.isfile(f):
                self.send_error(404)
                return
            data = open(f, "rb").read()
            start, code = 0, 200
            rng = self.headers.get("Range")
            if rng and state["ranges"] and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                code = 206
            body = data[start:]
            self.send_response(code)
            if code == 206:
                self.send_header("Content-Range",
                                 f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes" if state["ranges"] else "none")
            self.end_headers()
            if state["cut"] > 0:
                state["cut"] -= 1
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}", state
