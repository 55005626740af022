#!/usr/bin/python3
"""Times the exact threshold search in C against the Python port of the original grid
search (threshold.py + utils/search.py, -n 2000) on the same random table.

Usage: /usr/bin/python3 bench/threshold_compare.py BUILD_DIR [--n 50000] [--repeats 5]
                                                   [--grid 2000] [--literal]

BUILD_DIR holds bench/threshold_bench (meson's build directory). The C side runs all three
scores without and with post-check (6 whole curves, every distinct lambda); the Python side
runs the original's search for the same 3 scores x 2 modes at `--grid` lambdas, counted
with numpy (one vectorised pass per lambda: the fastest honest port). Both report the median
of `--repeats` runs. --literal also times, once, search.py's own per-sample Python loop
(single process; the original spread it over 16) on a tenth of the samples and scales it
up: it is linear in the number of samples.
Needs Debian's python3-numpy (run with /usr/bin/python3).
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, '..', 'tests', 'threshold_reference.py')


def keyvals(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = parts[1]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('build_dir')
    ap.add_argument('--n', type=int, default=50000)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--grid', type=int, default=2000)
    ap.add_argument('--literal', action='store_true')
    a = ap.parse_args()

    bench = os.path.join(a.build_dir, 'bench', 'threshold_bench')
    if not os.access(bench, os.X_OK):
        sys.exit(f'{bench}: not built (ninja -C {a.build_dir})')
    with tempfile.TemporaryDirectory() as tmp:
        table = os.path.join(tmp, 'table.txt')
        c = keyvals(subprocess.run([bench, '--n', str(a.n), '--repeats', str(a.repeats),
                                    '--grid', str(a.grid), '--table', table],
                                   check=True, capture_output=True, text=True).stdout)
        py = keyvals(subprocess.run([sys.executable, REFERENCE, table, str(a.grid), '--time',
                                     str(a.repeats)], check=True, capture_output=True,
                                    text=True).stdout)
        exact, port = float(c['exact_search_s']), float(py['grid_search_s'])
        print(f'samples {a.n}, 3 scores x 2 post-check modes, median of {a.repeats} runs')
        rows = [('C exact search (every distinct lambda)', f'{exact * 1e3:.2f} ms'),
                (f'C grid search (-n {a.grid}, original quirks)',
                 f'{float(c["c_grid_s"]) * 1e3:.2f} ms'),
                (f'Python port of the original (-n {a.grid}, numpy)', f'{port * 1e3:.2f} ms'),
                ('ratio (Python port / C exact search)', f'{port / exact:.1f} x')]
        for label, value in rows:
            print(f'{label:<52}{value:>12}')
        if a.literal:
            small = os.path.join(tmp, 'small.txt')
            with open(table) as f, open(small, 'w') as g:
                lines = f.readlines()
                n_small = max(1, a.n // 10)
                g.write(lines[0])
                g.write(f'{n_small} ' + ' '.join(lines[1].split()[1:]) + '\n')
                g.writelines(lines[2:2 + n_small])
            lit = keyvals(subprocess.run([sys.executable, REFERENCE, small, str(a.grid),
                                          '--literal', '--time', '1'], check=True,
                                         capture_output=True, text=True).stdout)
            t = float(lit['grid_search_s']) * a.n / n_small
            print(f'{"search.py as written (1 process, scaled from n/10)":<52}'
                  f'{t:>10.2f} s ({t / exact:.0f} x)')


if __name__ == '__main__':
    main()
