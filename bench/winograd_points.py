#!/usr/bin/python3
"""winograd_points.py - which interpolation points make F(4x4, 3x3) most accurate in fp32?

Builds G, B^T, A^T for a set of 5 finite points plus infinity by the Toom-Cook construction
(A^T[i][j] = a_j^i, G[j] = (1, a_j, a_j^2) / prod_{l != j}(a_j - a_l), and B^T solved from
the identity y = A^T [(G g) .* (B^T d)] for 1-D correlation), then runs the 2-D algorithm
in float32 (transforms and the sum over cin channels, as kernels/winograd.c does) on random
6x6 patches (uniform [0, 2), as after a ReLU) and Kaiming-scale filters, and prints
max |error| / max(1, max |reference|) against float64 direct correlation.

    /usr/bin/python3 bench/winograd_points.py          (needs python3-numpy; about 1 minute)

docs/winograd.md quotes its output; kernels/winograd_transform.c uses the winning set.
"""
from fractions import Fraction as F

import numpy as np


def matrices(points):
    """A^T (4x6), G (6x3), B^T (6x6) of F(4, 3) for 5 finite points and infinity."""
    m, r, n = 4, 3, 6
    a = [F(p) for p in points]
    at = [[a[j] ** i for j in range(n - 1)] + [F(int(i == m - 1))] for i in range(m)]
    g = []
    for j in range(n - 1):
        f = F(1)
        for l in range(n - 1):
            if l != j:
                f *= a[j] - a[l]
        g.append([a[j] ** k / f for k in range(r)])
    g.append([F(0)] * (r - 1) + [F(1)])
    # sum_j AT[i][j] G[j][k] BT[j][l] = [l == i + k] for all i < m, k < r, l < n
    rows, rhs = [], []
    for i in range(m):
        for k in range(r):
            for l in range(n):
                row = [0.0] * (n * n)
                for j in range(n):
                    row[j * n + l] = float(at[i][j] * g[j][k])
                rows.append(row)
                rhs.append(float(l == i + k))
    sol, _, rank, _ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    assert rank == n * n and np.abs(np.array(rows) @ sol - rhs).max() < 1e-9
    as64 = lambda x: np.array([[float(v) for v in row] for row in x])
    return as64(at), as64(g), sol.reshape(n, n)


def relative_error(points, cin, ntiles=400, seed=0):
    at, g, bt = matrices(points)
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 2, (cin, ntiles, 6, 6)).astype(np.float32)
    bound = np.sqrt(6 / (9 * cin))
    w = rng.uniform(-bound, bound, (cin, 3, 3)).astype(np.float32)
    ref = np.zeros((ntiles, 4, 4))
    for i in range(3):
        for j in range(3):
            ref += np.einsum('ctxy,c->txy', d[:, :, i:i + 4, j:j + 4].astype(np.float64),
                             w[:, i, j].astype(np.float64))
    u = (g @ w.astype(np.float64) @ g.T).astype(np.float32)  # weights: double, rounded once
    bt32, at32 = bt.astype(np.float32), at.astype(np.float32)
    v = (bt32 @ d @ bt32.T).astype(np.float32)
    # the channel sum of each of the 36 positions in float32, as the GEMMs do
    m = np.matmul(u.reshape(cin, 36).T[:, None, :], v.reshape(cin, ntiles, 36).transpose(2, 0, 1))
    y = at32 @ m[:, 0, :].T.reshape(ntiles, 6, 6).astype(np.float32) @ at32.T
    return np.abs(y - ref).max() / max(1.0, np.abs(ref).max())


SETS = {
    '0, +-1, +-2 (Lavin & Gray)': [0, 1, -1, 2, -2],
    '0, +-1, +-1/2': [0, 1, -1, F(1, 2), F(-1, 2)],
    '0, +-1, 2, -1/2': [0, 1, -1, 2, F(-1, 2)],
    '0, +-1, 1/2, -2 (ours)': [0, 1, -1, F(1, 2), -2],
    '0, +-1, +-3/2': [0, 1, -1, F(3, 2), F(-3, 2)],
    '0, +-1/2, +-2': [0, F(1, 2), F(-1, 2), 2, -2],
}

if __name__ == '__main__':
    print('points                      cin 64 (2 seeds)     cin 512 (2 seeds)')
    for name, pts in SETS.items():
        errs = [relative_error(pts, cin, seed=s) for cin in (64, 512) for s in (0, 1)]
        print(f'{name:27s}', '  '.join(f'{e:.2e}' for e in errs))
