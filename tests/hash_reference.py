#!/usr/bin/python3
"""Reference values for tests/test_hash.c, computed the way the paper's Python does.

Usage: /usr/bin/python3 hash_reference.py MANIFEST
MANIFEST lists one PNG path per line (8-bit gray or RGB). For each image one line is
printed, fields separated by single spaces:

  dhash      the paper's dHash (utils/perceptual_hashing.py, dhash): cv2.cvtColor(RGB2GRAY),
             cv2.resize(gray, (9, 8)), bit i set when diff.flatten()[i] (right > left)
  r9x8       hex of the 9 x 8 resized gray image (72 bytes, row-major)
  r32        hex of cv2.resize(gray, (32, 32)) (1024 bytes)
  canon[6]   the six invariants of the port below, applied to the image in the canonical
             orientation of cascade/invariants.c (transposed first when the C code
             transposes, with the two mirror-odd invariants negated back)
  exact[6]   the same quantities in exact arithmetic (Python integers and fractions,
             exact_invariants below), each correctly rounded to a double before the root
  plain[6]   the port applied to the image as given (the paper's own values)

Gray images (2-D) skip cvtColor: the paper's functions would raise on them.
The invariants port is written from paper_code_facts.md section 2.6 (numpy, float64,
the complex moments rounded to 5 decimals as the paper's code does), independently of
the exact integer computation in C.
Needs Debian's python3-numpy and python3-opencv (run it with /usr/bin/python3).
"""
import math
import sys
from fractions import Fraction

import cv2
import numpy as np


def read_rgb(path):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise SystemExit(f"hash_reference.py: cannot read {path}")
    if img.ndim == 3:
        img = np.ascontiguousarray(img[:, :, ::-1])  # OpenCV reads BGR
    return img


def to_gray(img):
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def dhash(img, hash_size=8):
    resized = cv2.resize(to_gray(img), (hash_size + 1, hash_size))  # dsize = (w, h)
    diff = resized[:, 1:] > resized[:, :-1]
    return sum(1 << i for i, v in enumerate(diff.flatten()) if v)


def resized_for_invariants(gray):
    return cv2.resize(gray, (32, 32)) if gray.shape[0] > 32 or gray.shape[1] > 32 else gray


def paper_invariants(gray):
    """calculate_complex_invariants of the paper (order 3, basis c12) on a gray image."""
    gray = resized_for_invariants(gray)
    f = gray.astype(np.float64)
    rows, cols = f.shape
    x = np.arange(1, cols + 1, dtype=np.float64)  # coordinates 1..n, x along a row
    y = np.arange(1, rows + 1, dtype=np.float64)
    m00 = f.sum()
    if m00 == 0:
        return [0.0] * 6  # as the C code (the paper divides by zero)
    xc = x - (f * x[None, :]).sum() / m00
    yc = y - (f * y[:, None]).sum() / m00
    mu = np.zeros((4, 4))
    for p in range(4):
        for q in range(4 - p):
            mu[p, q] = (f * (xc[None, :] ** p) * (yc[:, None] ** q)).sum()
    mu[0, 1] = mu[1, 0] = 0.0
    # c_pq = sum_k sum_w C(p,k) C(q,w) (-1)^(q-w) i^(p+q-k-w) mu_(k+w, p+q-k-w)
    c = np.zeros((4, 4), dtype=complex)
    for p in range(4):
        for q in range(4 - p):
            s = 0j
            for k in range(p + 1):
                for w in range(q + 1):
                    s += (math.comb(p, k) * math.comb(q, w) * (-1) ** (q - w)
                          * 1j ** (p + q - k - w) * mu[k + w, p + q - k - w])
            c[p, q] = s
    c = np.round(c, 5)
    for p in range(4):
        for q in range(4 - p):
            n = p + q
            c[p, q] = c[p, q] / m00 ** ((n + 2) / 2.0) * (n / 2.0 + 1) * math.pi ** (n / 2.0)
    c12 = c[1, 2]
    p1, p3, p4 = c[2, 0] * c12 ** 2, c[2, 1] * c12, c[3, 0] * c12 ** 3
    vals = [c[1, 1].real, p1.real, p1.imag, p3.real, p4.real, p4.imag]
    weights = [1, 3, 3, 2, 4, 4]
    return [math.copysign(abs(v) ** (1.0 / w), v) if v != 0 else 0.0
            for v, w in zip(vals, weights)]


def exact_invariants(gray):
    """The same six invariants, from exact integer moments: with X = m00 x - m10 and
    Y = m00 y - m01, c_pq = sum (X + iY)^p (X - iY)^q f / m00^(p+q) exactly; the products
    c20 c12^2, c21 c12, c30 c12^3 are exact Gaussian integers over powers of m00."""
    f = [[int(v) for v in row] for row in gray]
    rows, cols = len(f), len(f[0])
    m00 = sum(map(sum, f))
    if m00 == 0:
        return [0.0] * 6
    m10 = sum(v * (x + 1) for row in f for x, v in enumerate(row))
    m01 = sum(v * (y + 1) for y, row in enumerate(f) for v in row)
    C = {}  # C[p, q] = m00^(p+q) c_pq as (re, im) integers
    for p, q in [(1, 1), (2, 0), (1, 2), (3, 0)]:
        re = im = 0
        for y in range(rows):
            Y = m00 * (y + 1) - m01
            for x in range(cols):
                X = m00 * (x + 1) - m10
                a, b = 1, 0
                for _ in range(p):
                    a, b = a * X - b * Y, a * Y + b * X
                for _ in range(q):
                    a, b = a * X + b * Y, b * X - a * Y
                re += f[y][x] * a
                im += f[y][x] * b
        C[p, q] = (re, im)

    def mul(u, v):
        return (u[0] * v[0] - u[1] * v[1], u[0] * v[1] + u[1] * v[0])

    c12 = C[1, 2]
    sq = mul(c12, c12)
    p1, p4 = mul(C[2, 0], sq), mul(C[3, 0], mul(sq, c12))
    p3 = mul((c12[0], -c12[1]), c12)  # c21 = conj(c12)
    k2, k3 = 2 * math.pi, 2.5 * math.pi ** 1.5
    # c_pq normalised = C_pq k_(p+q) / m00^(3(p+q)/2 + 1); the half powers of m00 pair up
    vals = [float(Fraction(C[1, 1][0], m00 ** 4)) * k2,
            float(Fraction(p1[0], m00 ** 15)) * k2 * k3 * k3,
            float(Fraction(p1[1], m00 ** 15)) * k2 * k3 * k3,
            float(Fraction(p3[0], m00 ** 11)) * k3 * k3,
            float(Fraction(p4[0], m00 ** 22)) * k3 ** 4,
            float(Fraction(p4[1], m00 ** 22)) * k3 ** 4]
    weights = [1, 3, 3, 2, 4, 4]
    return [math.copysign(abs(v) ** (1.0 / w), v) if v != 0 else 0.0
            for v, w in zip(vals, weights)]


def canonical_transpose(gray):
    """The orientation rule of cascade/invariants.c for images larger than 32."""
    h, w = gray.shape
    if h <= 32 and w <= 32:
        return False
    if w != h:
        return h > w
    best, best_bytes = 0, None
    for t in range(8):
        v = gray.T if t & 4 else gray
        if t & 1:
            v = v[:, ::-1]
        if t & 2:
            v = v[::-1, :]
        b = np.ascontiguousarray(v).tobytes()
        if best_bytes is None or b < best_bytes:
            best, best_bytes = t, b
    return bool(best & 4)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as fh:
        paths = [line.strip() for line in fh if line.strip()]
    for path in paths:
        img = read_rgb(path)
        gray = to_gray(img)
        r9 = cv2.resize(gray, (9, 8))
        r32 = cv2.resize(gray, (32, 32))
        plain = paper_invariants(gray)
        transpose = canonical_transpose(gray)
        oriented = np.ascontiguousarray(gray.T) if transpose else gray
        canon = paper_invariants(oriented)
        exact = exact_invariants(resized_for_invariants(oriented))
        if transpose:
            for v in (canon, exact):
                v[2], v[5] = -v[2], -v[5]
        fields = [str(dhash(img)), r9.tobytes().hex(), r32.tobytes().hex()]
        fields += [repr(float(v)) for v in canon + exact + plain]
        print(" ".join(fields))


if __name__ == "__main__":
    main()
