"""Encoding throughput per input type, beside the Fourier case in the same run (issue 8).

One layer (20 inputs -> 5 perfect integrate-and-fire neurons, ``kappa = delta =
bias = 1``, weights ``U[0,1)``) is driven by the same kind of signal written
four ways:

* the paper's Fourier series (10 components, period 10): the reference row;
* "recordings" of those signals sampled at 100 per unit time and interpolated
  piecewise ``constant``, ``linear`` and ``cubic`` (one piece per sample);
* bandlimited sinc sums with the Fourier signals' top frequency
  (``W = 2 pi 9 / 10``) on the Nyquist grid, random weights ``U[-1,1)`` plus
  a mean of 5 (close to the paper's drive level).

Each row gives tem_sim's spikes per second for one type, the Fourier rate
from the same run as the baseline, and their ratio (higher is better); the
notes give evaluations per spike and the largest residual of the spike-time
equation, ``|(1/kappa) int u - 2 delta|``, computed with the banks' own
NumPy integrals (independent of the engine's arithmetic). The last rows
repeat three of the cases with leaky neurons (``tau = 2``) beside the leaky
Fourier case. A sinc drive costs
one sine integral per centre per evaluation, so its rate falls as the window
(and the number of centres) grows: the note says how many centres.
"""
from __future__ import annotations

import numpy as np

import tem_sim
from common import median_time, row

N_IN, N_OUT, N_COMP, PERIOD = 20, 5, 10, 10.0
SEED = 8


def _residual(drive, trains) -> float:
    worst = 0.0
    for j, tr in enumerate(trains):
        if tr.size:
            a = np.concatenate([[0.0], tr[:-1]])
            q = drive.integrate(a, tr)[j] + (tr - a)
            worst = max(worst, float(np.abs(q - 2.0).max()))
    return worst


def _measure(bank, W, nrn, t_end, repeats):
    st = tem_sim.encode(bank, W, nrn, t_end)
    wall, walls = median_time(lambda: tem_sim.encode(bank, W, nrn, t_end), repeats)
    from tem_sim.engine import lower_neurons, simulate_lowered
    _, _, _, stats = simulate_lowered(lower_neurons(nrn, bank.mix(W), t_end), t_end, 10 ** 9)
    return st, wall, stats["evaluations"] / max(st.count, 1)


def run(quick: bool, peers: bool) -> list[dict]:
    """Rows for the runner; ``peers`` is unused."""
    t_end, t_sinc, repeats = (50.0, 20.0, 3) if quick else (200.0, 50.0, 5)
    rng = np.random.default_rng(SEED)
    four = tem_sim.FourierSignals.random_paper(N_IN, N_COMP, PERIOD, seed=rng)
    W = rng.random((N_OUT, N_IN))
    nrn = tem_sim.Neurons(N_OUT, kappa=1.0, delta=1.0, bias=1.0)
    st_f, wall_f, epf = _measure(four, W, nrn, t_end, repeats)
    rate_f = st_f.count / wall_f
    rows = [row(f"encode {N_IN}->{N_OUT}: Fourier (M={N_COMP - 1})", "spikes/s", rate_f, None, None, None,
                f"{st_f.count} spikes over t_end={t_end:g} in {wall_f * 1e3:.1f} ms; {epf:.1f} evaluations/spike; "
                f"max spike-equation residual {_residual(four.mix(W), st_f.trains()):.2g} (2 delta units)")]
    ts = np.linspace(0.0, t_end, int(100 * t_end) + 1)
    samples = four.sample(ts)
    for kind in ("constant", "linear", "cubic"):
        pp = tem_sim.PiecewisePolynomials.from_samples(ts, samples, kind=kind)
        st, wall, ep = _measure(pp, W, nrn, t_end, repeats)
        rate = st.count / wall
        rows.append(row(f"encode {N_IN}->{N_OUT}: piecewise {kind} ({pp.n_pieces} pieces)", "spikes/s", rate,
                        "Fourier (same run)", rate_f, rate / rate_f,
                        f"{st.count} spikes in {wall * 1e3:.1f} ms; {ep:.1f} evaluations/spike; max "
                        f"spike-equation residual {_residual(pp.mix(W), st.trains()):.2g}"))
    w = 2 * np.pi * (N_COMP - 1) / PERIOD
    sinc = tem_sim.SincSignals.random(N_IN, w, -10.0, t_sinc + 10.0, seed=rng)
    sinc = tem_sim.SincSignals(sinc.coefficients + 5.0, sinc.centers, w)
    st, wall, ep = _measure(sinc, W / N_IN, nrn, t_sinc, repeats)
    rate = st.count / wall
    rows.append(row(f"encode {N_IN}->{N_OUT}: sinc (W={w:.3g}, {sinc.centers.size} centres)", "spikes/s", rate,
                    "Fourier (same run)", rate_f, rate / rate_f,
                    f"{st.count} spikes over t_end={t_sinc:g} in {wall * 1e3:.1f} ms; {ep:.1f} evaluations/spike, "
                    f"each {sinc.centers.size} sine integrals; max spike-equation residual "
                    f"{_residual(sinc.mix(W / N_IN), st.trains()):.2g}"))
    # leaky neurons (tau = 2): Fourier reference, cubic recording, sinc (complex exponential integrals)
    leaky = tem_sim.Neurons(N_OUT, kappa=1.0, delta=1.0, bias=1.0, tau=2.0)
    st_lf, wall_lf, ep_lf = _measure(four, W, leaky, t_end, repeats)
    rate_lf = st_lf.count / wall_lf
    rows.append(row(f"encode {N_IN}->{N_OUT} leaky (tau=2): Fourier", "spikes/s", rate_lf, None, None, None,
                    f"{st_lf.count} spikes in {wall_lf * 1e3:.1f} ms; {ep_lf:.1f} evaluations/spike"))
    pp = tem_sim.PiecewisePolynomials.from_samples(ts, samples, kind="cubic")
    for name, bank, Wb, te in (("piecewise cubic", pp, W, t_end), ("sinc", sinc, W / N_IN, t_sinc)):
        st, wall, ep = _measure(bank, Wb, leaky, te, repeats)
        rate = st.count / wall
        rows.append(row(f"encode {N_IN}->{N_OUT} leaky (tau=2): {name}", "spikes/s", rate,
                        "leaky Fourier (same run)", rate_lf, rate / rate_lf,
                        f"{st.count} spikes over t_end={te:g} in {wall * 1e3:.1f} ms; {ep:.1f} evaluations/spike"))
    return rows
