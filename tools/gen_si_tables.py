#!/usr/bin/env python
"""Generate the sine-integral tables of tem_sim's compiled core, and their test oracle.

Writes

* ``tem_sim/_si_tables.h``: the coefficients ``sine_integral`` in ``_special.pxd`` evaluates;
* ``tests/data/si_reference.txt``: Si(x) to 30 significant digits at fixed doubles x
  (interval boundaries, their floating-point neighbours, and points spread over
  [-1e6, 1e6] and beyond), the oracle of ``tests/test_stimuli.py``.

mpmath (50 digits) is needed here only: it is a developer tool, not a dependency of
the package or of its tests. The output is a deterministic function of this script
(no random draws, no dates): running it again rewrites the same bytes, and
``--check`` verifies that without writing.

Usage (from the repository root)::

    python tools/gen_si_tables.py           # regenerate both files
    python tools/gen_si_tables.py --check   # exit 1 if either file would change

The approximation, for x >= 0 (Si is odd):

1. 0 <= x <= A = 9/8: Si(x) = x + x y Q(y), y = x^2, Q(y) = (Si(x)/x - 1)/y (entire
   in y), a polynomial in y. The correction x y Q stays below 7% of Si there, so its
   rounding costs little (0.63 ulp at most, measured). A longer range loses: the
   terms of Si(x)/x alternate and grow (their magnitudes sum to 4.9 times the value
   at x = 4, which cost 4 ulp; up to 2 the result still errs by 0.98 ulp).
2. A < x < B = 257/8: pieces [A + i W, A + (i+1) W), W = 1/2 (62 of them), each
   Si(x) = S_i + d P_i(d), d = x - m_i about the piece's midpoint m_i (the subtraction
   is exact), S_i = Si(m_i) stored as a pair of doubles (hi + lo), so the result is
   rounded about once (0.71 ulp at most, measured). Si is entire and its derivatives
   are bounded by those of sinc (|Si^(k)| <= 1/k), so degree 10 is enough on a piece
   of half-width 1/4. The pieces start at 9/8 rather than 1 because Si passes 1 at
   1.065: a piece whose values straddle 1 rounds its correction d P against the
   ulp of its smallest values (0.84 ulp, measured, with A = 1).
3. x >= B: Si(x) = pi/2 - f(x) cos x - g(x) sin x with the auxiliary functions
   f(x) = int_0^inf sin t/(t + x) dt = int_0^inf exp(-x t)/(1 + t^2) dt and
   g(x) = int_0^inf cos t/(t + x) dt = int_0^inf t exp(-x t)/(1 + t^2) dt
   (so that f = Ci sin x - (Si - pi/2) cos x and g = -Ci cos x - (Si - pi/2) sin x);
   f = u F(v), g = v G(v) with u = 1/x, v = u^2, F and G polynomials in v on
   [0, 1/B^2]. F, G -> 1 as v -> 0 with the (divergent) asymptotic series
   F ~ sum (-1)^n (2n)! v^n, G ~ sum (-1)^n (2n+1)! v^n; as functions of v they are
   smooth at 0 (a cut along v < 0 whose jump is exponentially small there), so a
   Chebyshev fit on [0, 1/B^2] needs 9 terms where the truncated asymptotic series
   would need 18 at x = 40 and cannot reach 1e-17 at x = 32. pi/2 is a pair of doubles.

Each part is the Chebyshev interpolant of its function (at N Chebyshev points, in
50-digit arithmetic), truncated at the first n whose tail sum |c_k|, k >= n, is
below the budget, then re-expanded into monomials (in d, y or v) in 50 digits and
rounded to doubles. The budget is TOL = 1e-18 of Si: absolute for x > A (Si is
between 1.05 and 1.86 there, so TOL is 0.005 ulp; in part 3 |df cos x + dg sin x|
<= |df| + |dg|, with df = u dF and dg = v dG, so F needs TOL B / 2 and G TOL B^2 / 2
relative), relative for x <= A (Si(x)/x >= 0.8 and y <= A^2 there). The script then
measures, in 50-digit arithmetic, the error of the rounded-coefficient polynomials
against mpmath on a dense set of points of every part (the approximation error,
before the rounding of the double evaluation) and fails above 0.1 ulp (rounding
the coefficients to doubles alone costs up to 0.06 ulp).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import mpmath as mp

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "tem_sim" / "_si_tables.h"
REFERENCE = ROOT / "tests" / "data" / "si_reference.txt"

mp.mp.dps = 50
A, B, W = mp.mpf(9) / 8, mp.mpf(257) / 8, mp.mpf(1) / 2          # part 1 up to A; part 2 pieces of width W up to B
NPIECE = int((B - A) / W)
TOL = mp.mpf("1e-18")
HALF_PI = mp.pi / 2


# --------------------------------------------------------------------------- functions

def si(x):
    return mp.si(x)


def q_small(y):
    """Q(y) = (Si(x)/x - 1) / y, y = x^2 (its series near 0, where the quotient cancels)."""
    if y < mp.mpf("1e-4"):
        return mp.fsum((-1) ** n * y ** (n - 1) / ((2 * n + 1) * mp.factorial(2 * n + 1)) for n in range(1, 16))
    x = mp.sqrt(y)
    return (mp.si(x) / x - 1) / y


def fg(x):
    """The auxiliary functions f(x), g(x)."""
    s, c = mp.sin(x), mp.cos(x)
    si_, ci_ = mp.si(x), mp.ci(x)
    return ci_ * s - (si_ - HALF_PI) * c, -ci_ * c - (si_ - HALF_PI) * s


def FG(v):
    """F = x f(x), G = x^2 g(x) as functions of v = 1/x^2 (both 1 at v = 0)."""
    if v == 0:
        return mp.mpf(1), mp.mpf(1)
    x = 1 / mp.sqrt(v)
    f, g = fg(x)
    return x * f, x * x * g


# --------------------------------------------------------------------------- Chebyshev fits

def chebyshev(fun, a, b, N):
    """Chebyshev coefficients of the degree N-1 interpolant of fun on [a, b] (a tuple of lists
    when fun returns a tuple)."""
    a, b = mp.mpf(a), mp.mpf(b)
    mid, half = (a + b) / 2, (b - a) / 2
    theta = [mp.pi * (j + mp.mpf(1) / 2) / N for j in range(N)]
    vals = [fun(mid + half * mp.cos(t)) for t in theta]
    single = not isinstance(vals[0], tuple)
    cols = [vals] if single else list(zip(*vals))
    out = []
    for col in cols:
        c = [2 * mp.fsum(col[j] * mp.cos(k * theta[j]) for j in range(N)) / N for k in range(N)]
        c[0] /= 2
        out.append(c)
    return out[0] if single else tuple(out)


def terms_needed(c, tol):
    """Smallest n with sum_{k >= n} |c_k| < tol."""
    tail = mp.mpf(0)
    for n in range(len(c) - 1, -1, -1):
        tail += abs(c[n])
        if tail >= tol:
            return n + 1
    return 1


def monomials(c, a, b, about):
    """sum_k c_k T_k((x - mid)/half) on [a, b] as sum_k p_k (x - about)^k (50 digits)."""
    a, b = mp.mpf(a), mp.mpf(b)
    mid, half = (a + b) / 2, (b - a) / 2
    n = len(c)
    T = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
    while len(T) < n:
        nxt = [mp.mpf(0)] + [2 * v for v in T[-1]]
        for i, v in enumerate(T[-2]):
            nxt[i] -= v
        T.append(nxt)
    p = [mp.mpf(0)] * n                      # in t = (x - mid)/half
    for k in range(n):
        for i, v in enumerate(T[k][:n]):
            p[i] += c[k] * v
    p = [p[i] / half ** i for i in range(n)]  # in (x - mid)
    shift = mid - mp.mpf(about)               # (x - mid) = (x - about) - shift
    q = [mp.mpf(0)] * n
    for k in range(n):
        for i in range(k + 1):
            q[i] += p[k] * mp.binomial(k, i) * (-shift) ** (k - i)
    return q


def horner(coeffs, t):
    acc = mp.mpf(0)
    for v in reversed(coeffs):
        acc = acc * t + v
    return acc


def dd(v):
    hi = float(v)
    return hi, float(v - hi)


# --------------------------------------------------------------------------- the tables

def build():
    ulp = mp.mpf(2) ** -52                    # of Si in [1, 2); relative for part 1
    report = []

    # part 1: Q on y in [0, A^2]; relative error of Si <= x^3 dQ / Si(x) <= A^2 dQ / 0.8
    cq = chebyshev(q_small, 0, A * A, 30)
    nq = terms_needed(cq, TOL * mp.mpf("0.8") / (A * A))
    q = [float(v) for v in monomials(cq[:nq], 0, A * A, 0)]
    worst = mp.mpf(0)
    for j in range(401):
        x = A * mp.mpf(j + 1) / 401
        y = x * x
        ref = mp.si(x)
        worst = max(worst, abs(x + x * y * horner(q, y) - ref) / ref)
    report.append(f"part 1, |x| <= {A}: {nq} terms in x^2, approximation error {float(worst / ulp):.4f} ulp (relative)")
    assert worst < ulp / 10, worst

    # part 2: pieces
    pieces, nd = [], 0
    for i in range(NPIECE):
        a = A + i * W
        c = chebyshev(si, a, a + W, 24)
        nd = max(nd, terms_needed(c, TOL))
        pieces.append((a, c))
    rows, worst = [], mp.mpf(0)
    for a, c in pieces:
        m = a + W / 2
        p = monomials(c[:nd], a, a + W, m)
        hi, lo = dd(p[0])
        row = [hi, lo] + [float(v) for v in p[1:]]
        rows.append(row)
        for j in range(65):
            x = a + W * j / 64
            d = x - m
            got = mp.mpf(hi) + mp.mpf(lo) + d * horner(row[2:], d)
            worst = max(worst, abs(got - mp.si(x)))
    report.append(f"part 2, {A} < |x| < {B}: {NPIECE} pieces of width {float(W)}, {nd} terms each, "
                  f"approximation error {float(worst / ulp):.4f} ulp")
    assert worst < ulp / 10, worst

    # part 3: F, G in v on [0, 1/B^2]
    V = mp.mpf(1) / B ** 2
    cF, cG = chebyshev(FG, 0, V, 40)
    na = max(terms_needed(cF, TOL * B / 2), terms_needed(cG, TOL * B * B / 2))
    F = [float(v) for v in monomials(cF[:na], 0, V, 0)]
    G = [float(v) for v in monomials(cG[:na], 0, V, 0)]
    worst = mp.mpf(0)
    for j in range(201):
        v = V * mp.mpf(j) / 200
        if v == 0:
            continue
        x = 1 / mp.sqrt(v)
        f, g = fg(x)
        worst = max(worst, abs(mp.sqrt(v) * horner(F, v) - f) + abs(v * horner(G, v) - g))
    for x in (mp.mpf(10) ** 3, mp.mpf(10) ** 6):
        v = 1 / x ** 2
        f, g = fg(x)
        worst = max(worst, abs(horner(F, v) / x - f) + abs(v * horner(G, v) - g))
    report.append(f"part 3, |x| >= {B}: F, G with {na} terms in 1/x^2, approximation error "
                  f"|df| + |dg| <= {float(worst / ulp):.4f} ulp")
    assert worst < ulp / 10, worst

    pio2_hi, pio2_lo = dd(HALF_PI)

    def arr(vals):
        return ",\n    ".join(", ".join(repr(v) for v in vals[i:i + 4]) for i in range(0, len(vals), 4))

    out = [
        "/* Sine-integral tables of tem_sim._core.sine_integral.",
        " * GENERATED by tools/gen_si_tables.py (mpmath, 50 digits): do not edit, rerun the script.",
        " *",
    ]
    out += [" * " + line for line in report]
    out += [
        " * (approximation error: the rounded coefficients in exact arithmetic, against mpmath;",
        " * the double evaluation adds its own rounding, measured by tests/test_stimuli.py.)",
        " */",
        "#ifndef TEM_SI_TABLES_H",
        "#define TEM_SI_TABLES_H",
        "",
        "/* |x| <= TEM_SI_A: Si(x) = x + x y Q(y), y = x^2, Q(y) = sum_k tem_si_q[k] y^k */",
        f"#define TEM_SI_A {float(A)!r}",
        f"#define TEM_SI_NQ {nq}",
        f"static const double tem_si_q[{nq}] = {{\n    {arr(q)}\n}};",
        "",
        "/* TEM_SI_A < |x| < TEM_SI_B: piece i = floor((|x| - A) / W), d = |x| - (A + (i + 1/2) W),",
        " * row i = {S_hi, S_lo, p_1, ..., p_n}: Si(|x|) = S_hi + (S_lo + d (p_1 + d (p_2 + ...))) */",
        f"#define TEM_SI_B {float(B)!r}",
        f"#define TEM_SI_W {float(W)!r}",
        f"#define TEM_SI_INV_W {float(1 / W)!r}",
        f"#define TEM_SI_NPIECE {NPIECE}",
        f"#define TEM_SI_ROW {nd + 1}",
        f"static const double tem_si_p[{NPIECE * (nd + 1)}] = {{",
    ]
    for i, row in enumerate(rows):
        out.append(f"    /* [{float(A + i * W)!r}, {float(A + (i + 1) * W)!r}) */")
        out.append("    " + arr(row) + ("," if i + 1 < len(rows) else ""))
    out += [
        "};",
        "",
        "/* |x| >= TEM_SI_B: u = 1/|x|, v = u^2, f = u F(v), g = v G(v) (F, G: sum_k tem_si_f[k] v^k, ...),",
        " * Si(|x|) = (PIO2_LO - (f cos|x| + g sin|x|)) + PIO2_HI */",
        f"#define TEM_SI_NA {na}",
        f"static const double tem_si_f[{na}] = {{\n    {arr(F)}\n}};",
        f"static const double tem_si_g[{na}] = {{\n    {arr(G)}\n}};",
        f"#define TEM_SI_PIO2_HI {pio2_hi!r}",
        f"#define TEM_SI_PIO2_LO {pio2_lo!r}",
        "",
        "#endif",
        "",
    ]
    return "\n".join(out), report


# --------------------------------------------------------------------------- the oracle

def reference_points():
    """Fixed doubles: every boundary of the three parts and its two neighbours, a Weyl
    sequence (no random draws) in each range, tiny and huge values; every other
    sequence point negated (Si is odd)."""
    pts = set()
    bounds = [float(A + i * W) for i in range(NPIECE + 1)]
    for b in bounds:
        pts.update((b, math.nextafter(b, 0.0), math.nextafter(b, math.inf)))
    phi = (mp.sqrt(5) - 1) / 2
    ranges = [(0, 2, 20, False), (2, 4, 20, False), (4, 8, 15, False), (8, 32, 25, False),
              (32, 64, 15, False), (64, 1000, 15, True), (1000, 10 ** 6, 12, True)]
    k = 0
    for lo, hi, n, geo in ranges:
        for j in range(n):
            k += 1
            t = mp.frac(k * phi)
            x = mp.mpf(lo) * (mp.mpf(hi) / lo) ** t if geo else lo + (hi - lo) * t
            x = float(x)
            pts.add(-x if k % 2 else x)
    for x in (5e-324, 1e-300, 1e-100, 1e-20, 1e-8, 3e-4, -7e-4, 1e-3, 0.1, -0.5, 1.0, 1e6, -1e6, 1e8, 1e12,
              1e15, 1e17, 1e19, 1e300, -1e300):
        pts.add(x)
    return sorted(pts)


def build_reference():
    lines = ["# Si(x) to 30 significant digits (mpmath, 50-digit arithmetic) at exact doubles x.",
             "# GENERATED by tools/gen_si_tables.py: do not edit, rerun the script.",
             "# columns: x (Python repr, exact), Si(x)"]
    for x in reference_points():
        lines.append(f"{x!r} {mp.nstr(mp.si(mp.mpf(x)), 30)}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the files would change; write nothing")
    args = ap.parse_args()
    header, report = build()
    reference = build_reference()
    for line in report:
        print(line)
    stale = []
    for path, text in ((HEADER, header), (REFERENCE, reference)):
        old = path.read_text() if path.exists() else None
        if old != text:
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    for path in stale:
        print(("would change: " if args.check else "wrote ") + str(path.relative_to(ROOT)))
    if not stale:
        print("up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
