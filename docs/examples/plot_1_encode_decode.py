"""
Encode and decode a recording
=============================

A time encoding machine turns an analog signal into spike times; when the
spikes come faster than the Nyquist rate, the signal can be read back from
them alone. Here a bandlimited "recording" (a signal sampled every 0.01 time
units) drives two integrate-and-fire neurons, and
:func:`tem_sim.decode_bandlimited` reconstructs it from their spikes.
"""

import matplotlib.pyplot as plt
import numpy as np

import tem_sim as ts
from tem_sim import plot

# %%
# The recording: a bandlimited signal (bandwidth 3 rad per unit time) sampled
# at 100 samples per unit time, made continuous by a cubic spline through the
# samples -- the form any sampled recording takes in tem_sim.
bandwidth = 3.0
truth = ts.SincSignals.random(1, bandwidth, t_start=-10.0, t_stop=30.0, seed=0)
t = np.linspace(0.0, 20.0, 2001)
recording = ts.PiecewisePolynomials.from_samples(
    t, truth.sample(t), kind="cubic"
)

# %%
# Encode: two neurons see the recording with opposite signs, so one fires more
# when the other fires less. Their spike times are exact (no clock step).
neurons = ts.Neurons(2, kappa=1.0, delta=0.1, bias=2.5)
W = np.array([[1.0], [-1.0]])
spikes = ts.encode(recording, W, neurons, t_end=20.0)
print(
    f"{spikes.count} spikes, {spikes.count / 20.0:.1f} per unit time "
    f"(Nyquist rate of the signal: {bandwidth / np.pi:.2f} per unit time)"
)

# %%
# Decode: every inter-spike interval is one linear equation in the sinc weights
# of the signal. Away from the ends of the window (where sincs centred outside
# it are not pinned down) the reconstruction matches the recording.
res = ts.decode_bandlimited(spikes, neurons, bandwidth, weights=W)
interior = (t > 3.0) & (t < 17.0)
err = np.abs(res.signals.sample(t)[0] - recording.sample(t)[0])
print(
    f"under-sampled: {res.under_sampled}; "
    f"largest error on [3, 17]: {err[interior].max():.1e}"
)

fig, (ax0, ax1, ax2) = plt.subplots(
    3,
    1,
    figsize=(8, 6.5),
    sharex=True,
    gridspec_kw={"height_ratios": [3, 1, 2]},
)
ax0.plot(t, recording.sample(t)[0], lw=2, color="0.7", label="recording")
ax0.plot(
    t,
    res.signals.sample(t)[0],
    "--",
    lw=1,
    color="tab:blue",
    label="decoded from the spikes",
)
ax0.set_ylabel("signal")
ax0.legend(loc="upper right", fontsize="small")
plot.raster(spikes, ax1, label="neuron")
ax1.set_xlabel("")
ax2.semilogy(t, np.maximum(err, 1e-16), lw=1)
ax2.axvspan(3.0, 17.0, color="tab:green", alpha=0.1, label="interior")
ax2.set_ylabel("|error|")
ax2.set_xlabel("time")
ax2.legend(loc="upper right", fontsize="small")
fig.tight_layout()
