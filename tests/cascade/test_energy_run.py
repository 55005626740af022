#!/usr/bin/env python3
"""End-to-end test of the energy sources through `dualcnn run` (docs/energy.md): fake sysfs
trees for RAPL, the perf power PMU, hwmon energy counters and INA3221 rails (both driver
layouts), pointed at by $DUALCNN_POWERCAP_ROOT, $DUALCNN_PERF_ROOT, $DUALCNN_HWMON_ROOT and
$DUALCNN_INA3221X_ROOT; the meter typed through a pseudo-terminal, and with stdin not a
terminal. For every --energy NAME and for the automatic order, the report and the --report
CSV must show the source, the domains, the sampling period and the joules. Expected joules
come from what this script wrote (constant power over a window that the script brackets,
counters advanced by this script, readings typed), never from dualcnn.
Usage: test_energy_run.py DUALCNN WORKDIR SOURCE_ROOT"""
import csv
import os
import pty
import select
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dctest  # noqa: E402
from dctest import check  # noqa: E402

BIN, WORK, ROOT = dctest.args()
N = 60                      # images in the generated FashionMNIST test split
WEIGHTS = os.path.join(ROOT, "weights", "fashionmnist", "shufflenetv2_x0_5.h5")


# --- a FashionMNIST test split of N images (IDX, uncompressed)
data = os.path.join(WORK, "fmnist")
os.makedirs(data, exist_ok=True)
with open(os.path.join(data, "t10k-images-idx3-ubyte"), "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + N.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    f.write(bytes((i * 7 + k * 13) % 256 for i in range(N) for k in range(784)))
with open(os.path.join(data, "t10k-labels-idx1-ubyte"), "wb") as f:
    f.write(bytes([0, 0, 8, 1]) + N.to_bytes(4, "big") + bytes(i % 10 for i in range(N)))

# --- fake trees, rebuilt for each case under one root
TREE = os.path.join(WORK, "sys")


def env_for(tree=TREE):
    return dict(os.environ, DUALCNN_POWERCAP_ROOT=os.path.join(tree, "powercap"),
                DUALCNN_PERF_ROOT=os.path.join(tree, "perf"),
                DUALCNN_HWMON_ROOT=os.path.join(tree, "hwmon"),
                DUALCNN_INA3221X_ROOT=os.path.join(tree, "iio"))


def put(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def fresh_tree():
    shutil.rmtree(TREE, ignore_errors=True)
    os.makedirs(TREE)


def rapl_tree():
    z = os.path.join(TREE, "powercap", "intel-rapl:0")
    put(os.path.join(z, "name"), "package-0\n")
    put(os.path.join(z, "energy_uj"), "1000\n")
    put(os.path.join(z, "max_energy_range_uj"), "262143328850\n")
    d = os.path.join(TREE, "powercap", "intel-rapl:0:0")
    put(os.path.join(d, "name"), "dram\n")
    put(os.path.join(d, "energy_uj"), "5\n")
    put(os.path.join(d, "max_energy_range_uj"), "65712999613\n")


def perf_tree(pmu_type="2147483000"):
    p = os.path.join(TREE, "perf", "power")
    put(os.path.join(p, "type"), pmu_type + "\n")
    put(os.path.join(p, "cpumask"), "0\n")
    put(os.path.join(p, "format", "event"), "config:0-7\n")
    put(os.path.join(p, "events", "energy-pkg"), "event=0x02\n")
    put(os.path.join(p, "events", "energy-pkg.scale"), "2.3283064365386962890625e-10\n")
    put(os.path.join(p, "events", "energy-pkg.unit"), "Joules\n")


HWMON_COUNTER = os.path.join(TREE, "hwmon", "hwmon1", "energy2_input")


def hwmon_tree():
    put(os.path.join(TREE, "hwmon", "hwmon0", "name"), "k10temp\n")
    d = os.path.join(TREE, "hwmon", "hwmon1")
    put(os.path.join(d, "name"), "amd_energy\n")
    put(os.path.join(d, "energy1_label"), "Ecore000\n")
    put(os.path.join(d, "energy1_input"), "77\n")
    put(os.path.join(d, "energy2_label"), "Esocket0\n")
    put(HWMON_COUNTER, "1000000\n")


IIO = os.path.join(TREE, "iio", "6-0040", "iio:device0")


def iio_tree(watts=(3.0, 1.0, 0.5)):
    put(os.path.join(TREE, "iio", "bind"), "")
    for k, (name, w) in enumerate(zip(["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"], watts)):
        put(os.path.join(IIO, f"rail_name_{k}"), name + "\n")
        put(os.path.join(IIO, f"in_power{k}_input"), f"{round(1000 * w)}\n")


def mainline_tree(watts=(4.0, 1.5)):
    d = os.path.join(TREE, "hwmon", "hwmon4")
    put(os.path.join(d, "name"), "ina3221\n")
    for k, (name, w) in enumerate(zip(["VDD_IN", "VDD_CPU_GPU_CV"], watts), start=1):
        put(os.path.join(d, f"in{k}_label"), name + "\n")
        put(os.path.join(d, f"in{k}_input"), "5000\n")               # mV
        put(os.path.join(d, f"curr{k}_input"), f"{round(w * 200)}\n")  # mA at 5 V


def run_args(energy, report, *extra):
    return [BIN, "run", "-w1", WEIGHTS, "-D", "fashionmnist", "-i", data, "-q",
            "--report", report, *(["--energy", energy] if energy else []), *extra]


def run(energy, name, *extra, stdin=subprocess.DEVNULL, timeout=120):
    report = os.path.join(WORK, name + ".csv")
    if os.path.exists(report):
        os.remove(report)
    t0 = time.monotonic()
    p = dctest.run(run_args(energy, report, *extra), env=env_for(), stdin=stdin,
                   timeout=timeout)
    elapsed = time.monotonic() - t0
    row = list(csv.DictReader(open(report)))[-1] if os.path.exists(report) else None
    return p, row, elapsed


def energy_line(out):
    return next((ln for ln in out.splitlines() if ln.startswith("Energy")), "")


def fnum(row, key):
    try:
        return float(row[key])
    except (KeyError, TypeError, ValueError):
        return float("nan")


# --- rapl: static counters, exactly 0 J; the domains
fresh_tree()
rapl_tree()
p, row, _ = run("rapl", "rapl")
check("--energy rapl: report names the source and domains",
      p.returncode == 0 and "Energy (rapl: package-0 + dram): 0.000 J" in p.stdout,
      p.stdout + p.stderr)
check("--energy rapl: CSV source, domains, no period, 0 J",
      row and row["energy_source"] == "rapl" and row["energy_domains"] == "package-0 + dram"
      and fnum(row, "energy_j") == 0.0 and row["energy_period_ms"] == "nan"
      and row["energy_samples"] == "", row)

# --- perf: the fake PMU number cannot be opened: a clean error naming why
fresh_tree()
perf_tree()
p, row, _ = run("perf", "perf")
check("--energy perf on a fake PMU fails cleanly, 'unavailable (why)'",
      p.returncode == 1 and "energy source perf unavailable (perf_event_open(power/energy-pkg/:"
      " type 2147483000, config 0x2" in p.stderr and row is None, p.stdout + p.stderr)

# --- hwmon: a socket counter advanced by this script at 2 W while dualcnn runs


def advance_counter(stop, watts, base):
    t0 = time.monotonic()
    while not stop.is_set():
        put(HWMON_COUNTER, f"{base + round(1e6 * watts * (time.monotonic() - t0))}\n")
        time.sleep(0.005)


fresh_tree()
hwmon_tree()
stop = threading.Event()
th = threading.Thread(target=advance_counter, args=(stop, 2.0, 1000000))
th.start()
try:
    p, row, elapsed = run("hwmon", "hwmon", "-d", "20")
finally:
    stop.set()
    th.join()
j, wall = fnum(row, "energy_j") if row else float("nan"), fnum(row, "wall_s") if row else 0
# the counter moves in 5 ms steps (10 mJ at 2 W) at either end of the window
check("--energy hwmon: the socket's joules at 2 W over the run",
      p.returncode == 0 and row and row["energy_source"] == "hwmon"
      and row["energy_domains"] == "amd_energy Esocket0"
      and 2.0 * wall - 0.03 <= j <= 2.0 * elapsed + 0.03,
      f"{j} J over {wall} s (process {elapsed:.2f} s); " + p.stdout[-300:] + p.stderr)
check("--energy hwmon: the report line", "Energy (hwmon: amd_energy Esocket0): " in p.stdout,
      energy_line(p.stdout))


# --- ina3221: constant power on both layouts; J between P x the stream's wall time (inside
# the measured window) and P x the process's lifetime (around it)
def check_rails(layout, name, power, domains, *extra, period=10):
    p, row, elapsed = run("ina3221", name, "-d", "10", *extra)
    j, wall = (fnum(row, "energy_j"), fnum(row, "wall_s")) if row else (float("nan"), 0)
    ok = p.returncode == 0 and row is not None
    check(f"--energy ina3221 ({layout}): CSV source, domains, period, samples",
          ok and row["energy_source"] == "ina3221" and row["energy_domains"] == domains
          and fnum(row, "energy_period_ms") == period and int(row["energy_samples"]) >= 2
          and fnum(row, "energy_bound_j") == 0.0, (row, p.stderr))
    check(f"--energy ina3221 ({layout}): {power} W x the run's time",
          ok and power * (wall - 0.0005) - 1e-6 <= j <= power * elapsed,
          f"{j} J, wall {wall} s, process {elapsed:.3f} s")
    check(f"--energy ina3221 ({layout}): the report names rails, period, readings, bound",
          f"Energy (ina3221: {domains}): " in p.stdout
          and f"sampled every {period} ms: " in p.stdout and "trapezoid error at most" in
          p.stdout, p.stdout[-600:])
    return p, row


fresh_tree()
iio_tree()
check_rails("L4T IIO", "iio", 3.0, "POM_5V_IN (POM_5V_GPU, POM_5V_CPU)")
check_rails("L4T IIO, 25 ms", "iio25", 3.0, "POM_5V_IN (POM_5V_GPU, POM_5V_CPU)",
            "--energy-period-ms", "25", period=25)
p, row = check_rails("L4T IIO, idle baseline", "iio_idle", 3.0,
                     "POM_5V_IN (POM_5V_GPU, POM_5V_CPU)", "--idle-baseline", "0.3")
# The idle watts are the rails' joules over the idle window's wall-clock time, whose ends
# are taken just after the first and the last reading: a thread preempted between a reading
# and its clock read shifts them (under ASan on a busy two-core machine 2.9983 W, 0.17 ms
# over the 0.3 s window). 1% is 3 ms of such slack; a window off by the sampler's 10 ms
# period, or a rail counted twice, is well outside it.
check("--idle-baseline with rails: 3 W idle, subtracted, in the report and the CSV",
      row is not None and abs(fnum(row, "idle_w") - 3.0) < 0.03
      # idle_j = idle_w x the run's time, which the CSV rounds: wall_s to 1 ms (%.3f), idle_w
      # to 0.1 mW, idle_j to 1 uJ; the bound is what those roundings can add up to (and 1e-9
      # for the rounding of this sum itself)
      and abs(fnum(row, "idle_j") - fnum(row, "idle_w") * fnum(row, "wall_s"))
      <= fnum(row, "idle_w") * 0.0005 + 0.00005 * fnum(row, "wall_s") + 1e-6 + 1e-9
      and "idle baseline 3.00 W x" in p.stdout and "subtracted" in p.stdout,
      (row, p.stdout[-400:]))
fresh_tree()
mainline_tree()
check_rails("mainline hwmon", "mainline", 4.0, "VDD_IN (VDD_CPU_GPU_CV)")

# a rail removed mid-run: the run goes on and the report says why, naming the file (3060
# inputs: about 1 s in the release build, 50 s under ASan; the rail goes after 0.15 s)
fresh_tree()
iio_tree()
report = os.path.join(WORK, "gone.csv")
proc = subprocess.Popen(run_args("ina3221", report, "-d", "50"), stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, text=True, env=env_for(),
                        stdin=subprocess.DEVNULL)
header = proc.stdout.readline() + proc.stdout.readline()  # printed before the measurement
time.sleep(0.15)
os.remove(os.path.join(IIO, "in_power0_input"))
out, err = proc.communicate(timeout=300)
check("a rail removed mid-run: exit 0, 'unavailable (why)' naming the file",
      proc.returncode == 0 and "Energy: unavailable (" in out
      and os.path.join(IIO, "in_power0_input") in out and "sampling stopped" in out,
      (proc.returncode, out[-500:], err[-300:]))

# --- the automatic order: rapl > perf > hwmon > ina3221, else none with every reason
fresh_tree()
rapl_tree()
perf_tree()
hwmon_tree()
iio_tree()
# (the fake PMU cannot be opened, so perf is passed over, its reason kept)
order = [("rapl", "powercap"), ("hwmon", "hwmon"), ("ina3221", "iio"), ("none", None)]
for want, drop in order:
    p, row, _ = run(None, "auto_" + want)
    got = row["energy_source"] if row else None
    if want == "none":
        check("auto with nothing readable: none, with every source's reason in order",
              p.returncode == 0 and got == "unavailable" and
              "Energy: unavailable (no energy source: rapl: " in p.stdout and
              0 < p.stdout.find("; perf: perf_event_open") < p.stdout.find("; hwmon: ") <
              p.stdout.find("; ina3221: "), p.stdout[-900:])
    else:
        check(f"auto picks {want}", p.returncode == 0 and got == want,
              (got, energy_line(p.stdout), p.stderr))
    if drop:
        shutil.rmtree(os.path.join(TREE, drop))

# --- none
p, row, _ = run("none", "none")
check("--energy none", p.returncode == 0 and row["energy_source"] == "unavailable" and
      'Energy: unavailable (not measured (energy source "none"))' in p.stdout, p.stdout[-300:])

# --- the meter: stdin not a terminal (a pipe left open: a blocking read would hang)
t0 = time.monotonic()
proc = subprocess.Popen(run_args("meter", os.path.join(WORK, "meter_pipe.csv")),
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, env=env_for())
try:
    out, err = proc.communicate(timeout=60)
except subprocess.TimeoutExpired:
    proc.kill()
    out, err = proc.communicate()
check("--energy meter without a terminal: says why, reports none, does not block",
      proc.returncode == 0 and "Energy: unavailable (meter: standard input is not a terminal"
      in out and time.monotonic() - t0 < 60, (proc.returncode, out[-400:], err[-300:]))


# --- the meter through a pseudo-terminal: the prompts come, the readings typed are used
def meter_session(lines, *extra, name="meter"):
    """Runs dualcnn on a pty, typing each line after the next prompt; returns (rc, text,
    CSV row)."""
    report = os.path.join(WORK, name + ".csv")
    if os.path.exists(report):
        os.remove(report)
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env_for())
        os.execv(BIN, run_args("meter", report, *extra))
    text, pending, deadline = "", list(lines), time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            text += chunk
            if pending and text.count("press Enter: ") > len(lines) - len(pending):
                os.write(fd, (pending.pop(0) + "\n").encode())
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    row = list(csv.DictReader(open(report)))[-1] if os.path.exists(report) else None
    return os.waitstatus_to_exitcode(status), text, row


rc, text, row = meter_session(["12.5 mWh", "15 mWh"])
check("--energy meter on a terminal: two prompts, 2.5 mWh = 9 J in the report and the CSV",
      rc == 0 and text.count("energy meter: ") == 2 and "Energy (meter: meter): 9.000 J" in text
      and row is not None and abs(fnum(row, "energy_j") - 9.0) < 1e-6
      and row["energy_source"] == "meter", (rc, text[-800:], row))
check("--energy meter: the report shows the readings typed",
      "typed readings: '12.5 mWh' at the start, '15 mWh' at the end" in text, text[-500:])
rc, text, row = meter_session(["3", "100 mAh", "101.5 mAh"], "--meter-volts", "5",
                              name="meter_mah")
check("--energy meter --meter-volts 5: a reading without a unit is asked again; "
      "1.5 mAh at 5 V = 27 J", rc == 0 and "'3' has no unit" in text and row is not None
      and abs(fnum(row, "energy_j") - 27.0) < 1e-6, (rc, text[-800:], row))
rc, text, row = meter_session(["0 Wh", "0.001 Wh", "0.0035 Wh"], "--idle-baseline", "0.2",
                              name="meter_idle")
check("--energy meter --idle-baseline: three readings (the idle one's end starts the run), "
      "2.5 mWh = 9 J", rc == 0 and text.count("energy meter: ") == 3 and row is not None
      and abs(fnum(row, "energy_j") - 9.0) < 1e-6 and fnum(row, "idle_w") > 0,
      (rc, text[-800:], row))

dctest.finish()
