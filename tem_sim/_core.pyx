# cython: language_level=3
"""Compiled event engine of tem_sim (private; called by ``engine`` and ``network``).

One indexed binary min-heap orders two kinds of event sources: every neuron's
next predicted threshold crossing, and the head of every projection's FIFO of
in-flight spikes (a projection has one delay, so its arrivals are already in
time order and a spike reaches all its targets as one batch). Neuron state is
advanced in closed form between events (perfect or leaky integrator, driven
by a bias, a Fourier series and decaying exponential synaptic currents). A
crossing is searched with steps that provably cannot skip one (a quadratic
upper bound from a curvature bound on the integrator), then refined inside a
bracket where the integrator is monotone by safeguarded Newton iterations, to
machine precision.

A network of perfect integrators with constant drive and delta synapses only
(the recurrent benchmark) whose shortest delay is positive runs instead in
time slices of that delay (run_sliced): within a slice no spike can reach a
neuron that was fired in it, so the neurons need no heap, only lower bounds of
their next crossings; the same events happen with the same arithmetic and are
emitted in the same order, to the bit. A network of leaky integrators with
constant drive, delta synapses and one membrane time constant (the Brunel and
Brette networks) runs in windows of its shortest delay too (run_lif), each
neuron's state kept as (v - P) e^{(t - G)/tau} so that an arrival costs a
multiply-add, with the Poisson trains that drive one neuron each drawn
inside it.

The kernels trust their arguments: validation happens in the public Python
modules. No Python object is touched inside the event loop, which runs
without the GIL and takes it only every few thousand events to honour Ctrl-C.

This file is the entry point of the one extension module ``tem_sim._core``:
``simulate`` (wiring the arguments into the state, allocating it, the initial
state, the output, in named steps) and the small Python-visible helpers. The
engine itself is in units of inline functions, each a ``.pxd`` file compiled
into this module (each cimports only the units above it)::

    _core_types.pxd   the state (struct Net and its records), enums, constants
    _heap.pxd         the indexed binary min-heap of event sources
    _random.pxd       xoshiro256** and the ziggurat exponential (Poisson sources)
    _special.pxd      E1, the sine integral (_si_tables.h), leaky sinc integral, phi_k
    _drives.pxd       Fourier, sinc and piecewise drives, eval_state, the crossing search
    _events.pxd       FIFOs, firing and resets, fast neurons, Poisson sources,
                      summed simultaneous arrivals, deliver
    _sliced.pxd       the sliced loop (run_sliced) and its setup
    _lif.pxd          the windowed loop of leaky IF networks (run_lif) and its setup
    _loop.pxd         the event-by-event loop (run_loop) and run_events
"""

from libc.math cimport cos, sin, exp, isfinite, INFINITY
from libc.stdlib cimport malloc, free

import numpy as np

from tem_sim._core_types cimport *
from tem_sim._heap cimport heap_update
from tem_sim._random cimport tem_zig_init
from tem_sim._special cimport sine_integral, leaky_sinc_integral
from tem_sim._drives cimport _analog, schedule
from tem_sim._events cimport preload, poisson_next
from tem_sim._loop cimport run_events

tem_zig_init()      # the ziggurat's tables (constants from here on)

# testing switch (see _use_sliced)
cdef bint USE_SLICED = True


def simulate(const double[::1] kappa, const double[::1] delta, const double[::1] c0,
             const double[::1] tau, const double[::1] v0,
             const double[::1] period, const Py_ssize_t[::1] nharm,
             const double[:, ::1] a_re, const double[:, ::1] a_im,
             const double[:, ::1] p_re, const double[:, ::1] p_im,
             const double[::1] ub, const double[::1] ubd, const double[::1] pb, const double[::1] pbd,
             const Py_ssize_t[::1] sn_K, const Py_ssize_t[::1] sn_so, const Py_ssize_t[::1] sn_co,
             const double[::1] sn_w, const double[::1] sn_s, const double[::1] sn_a,
             const Py_ssize_t[::1] pp_L, const Py_ssize_t[::1] pp_bo, const Py_ssize_t[::1] pp_co,
             const double[::1] pp_b, const double[:, ::1] pp_c, const double[::1] pp_G,
             const double[::1] pp_du, const double[::1] pp_we,
             const double[::1] exp_tau,
             const double[::1] delay, const int[::1] kind, const Py_ssize_t[::1] chan,
             const Py_ssize_t[::1] pre_start, const Py_ssize_t[::1] indptr_off,
             const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] targets, const double[::1] weights,
             const Py_ssize_t[::1] out_ptr, const Py_ssize_t[::1] out_proj,
             double t_end, Py_ssize_t max_spikes,
             const double[::1] rec_t, const Py_ssize_t[::1] rec_idx,
             const double[::1] vreset, const unsigned char[::1] rmode, const double[::1] tref,
             const double[::1] g_t, const Py_ssize_t[::1] g_i,
             const Py_ssize_t[::1] pz_idx, const double[::1] pz_rate,
             const unsigned char[::1] pz_record, const unsigned long long[:, ::1] pz_seed):
    """Run the event loop. Arguments are trusted (validated by the callers).

    ``vreset``, ``rmode``, ``tref``: per neuron, ``v`` after a crossing, the reset mode (0: subtract
    2 delta, 1: set to ``vreset``) and the refractory period. ``g_t``, ``g_i``: the given spikes of
    spike sources, sorted by time (neurons of the flat index space with no drive). ``pz_*``: per
    Poisson neuron (of positive rate), its flat index, rate, whether its spikes are recorded, and
    the seed of its xoshiro256** stream (4 words, not all zero).

    Returns
    -------
    times, indices, traces, stats, status
        ``status`` is 0 on success, -3 when ``max_spikes`` was reached.
    """
    cdef Net net
    cdef Py_ssize_t N = kappa.shape[0]
    cdef Py_ssize_t P = delay.shape[0]
    cdef int rc = 0
    cdef bint allocated
    cdef double no_traces = 0.0          # written to by nothing (no trace is recorded)
    cdef double[:, ::1] traces = np.zeros((rec_t.shape[0], rec_idx.shape[0]), dtype=np.float64)
    cdef double[::1] omega, rtau, exp_rtau, sn_cs, sn_sn
    cdef Py_ssize_t[::1] pz_of
    cdef Py_ssize_t[::1] pp_cur = np.zeros(N, dtype=np.intp)
    cdef unsigned char[::1] const_drive
    cdef unsigned long long[:, ::1] pz_state
    cdef double[::1] pz_rr
    if P + N >= 2147483647:
        raise ValueError("tem_sim: more than 2**31 - 1 neurons and projections")
    omega, rtau, exp_rtau = _rate_tables(period, tau, exp_tau)
    const_drive, sn_cs, sn_sn = _drive_tables(nharm, sn_K, sn_so, sn_w, sn_s, pp_L)
    pz_of, pz_state = _source_tables(N, pz_idx, pz_seed)
    pz_rr = 1.0 / np.asarray(pz_rate) if pz_rate.shape[0] else np.ones(1)
    _wire_neurons(&net, kappa, delta, c0, tau, period, omega, rtau, vreset, rmode, tref)
    _wire_fourier(&net, nharm, a_re, a_im, p_re, p_im, ub, ubd, pb, pbd, const_drive)
    _wire_sinc(&net, sn_K, sn_so, sn_co, sn_w, sn_s, sn_a, sn_cs, sn_sn)
    _wire_piecewise(&net, pp_L, pp_bo, pp_co, pp_b, pp_c, pp_G, pp_du, pp_we, pp_cur)
    _wire_sources(&net, g_t, g_i, pz_idx, pz_rate, pz_record, pz_of, pz_state)
    net.pz_rr = &pz_rr[0]
    _wire_projections(&net, exp_tau.shape[0], exp_rtau, delay, kind, chan, pre_start, indptr_off, indptr,
                      targets, weights, out_ptr, out_proj)
    net.t_end = t_end
    net.max_spikes = max_spikes
    allocated = _allocate(&net, indptr.shape[0] - 1)
    try:
        if not allocated:
            raise MemoryError("tem_sim: cannot allocate the simulation state")
        with nogil:
            _initial_state(&net, &v0[0] if v0.shape[0] > 0 else &ZERO_D)
            rc = run_events(&net, USE_SLICED,
                            &rec_t[0] if rec_t.shape[0] > 0 else &ZERO_D, rec_t.shape[0],
                            &rec_idx[0] if rec_idx.shape[0] > 0 else &ZERO_I, rec_idx.shape[0],
                            &traces[0, 0] if traces.shape[0] * traces.shape[1] > 0 else &no_traces)
        return _output(&net, traces, rc)
    finally:
        _release(&net)


# --------------------------------------------------------------------------- simulate's steps
cdef tuple _rate_tables(const double[::1] period, const double[::1] tau, const double[::1] exp_tau):
    """Angular frequencies and inverse time constants (0 for a perfect integrator) of the neurons,
    inverse time constants of the synaptic channels."""
    cdef Py_ssize_t N = period.shape[0]
    cdef Py_ssize_t C = exp_tau.shape[0]
    cdef Py_ssize_t j, c
    cdef double[::1] omega = np.zeros(N)
    cdef double[::1] rtau = np.zeros(N)
    cdef double[::1] exp_rtau = np.zeros(max(C, 1))
    for j in range(N):
        omega[j] = 2.0 * np.pi / period[j]
        rtau[j] = 1.0 / tau[j] if isfinite(tau[j]) else 0.0
    for c in range(C):
        exp_rtau[c] = 1.0 / exp_tau[c]
    return omega, rtau, exp_rtau


cdef tuple _drive_tables(const Py_ssize_t[::1] nharm, const Py_ssize_t[::1] sn_K, const Py_ssize_t[::1] sn_so,
                         const double[::1] sn_w, const double[::1] sn_s, const Py_ssize_t[::1] pp_L):
    """Which neurons have a constant drive (bias only), and cos, sin of w s_k for every sinc centre."""
    cdef Py_ssize_t N = nharm.shape[0]
    cdef Py_ssize_t j, q
    cdef unsigned char[::1] const_drive = np.zeros(N, dtype=np.uint8)
    cdef double[::1] sn_cs = np.empty(max(sn_s.shape[0], 1))
    cdef double[::1] sn_sn = np.empty(max(sn_s.shape[0], 1))
    for j in range(N):
        # a neuron's centres share its bandwidth (one sinc bank per slice)
        for q in range(sn_so[j], sn_so[j] + sn_K[j]):
            sn_cs[q] = cos(sn_w[j] * sn_s[q])
            sn_sn[q] = sin(sn_w[j] * sn_s[q])
    for j in range(N):
        const_drive[j] = nharm[j] == 0 and sn_K[j] == 0 and pp_L[j] == 0
    return const_drive, sn_cs, sn_sn


cdef tuple _source_tables(Py_ssize_t N, const Py_ssize_t[::1] pz_idx, const unsigned long long[:, ::1] pz_seed):
    """Each neuron's index among the Poisson neurons (-1: none) and their generators' states (a
    copy: the run moves them on)."""
    cdef Py_ssize_t Q = pz_idx.shape[0]
    cdef Py_ssize_t q
    cdef Py_ssize_t[::1] pz_of = np.full(max(N, 1), -1, dtype=np.intp)
    cdef unsigned long long[:, ::1] pz_state = np.array(pz_seed, dtype=np.uint64) if Q else np.ones((1, 4), dtype=np.uint64)
    for q in range(Q):
        pz_of[pz_idx[q]] = q
    return pz_of, pz_state


cdef void _wire_neurons(Net* net, const double[::1] kappa, const double[::1] delta, const double[::1] c0,
                        const double[::1] tau, const double[::1] period, const double[::1] omega,
                        const double[::1] rtau, const double[::1] vreset, const unsigned char[::1] rmode,
                        const double[::1] tref):
    """Point the state at the neurons' parameters and spiking conventions."""
    net.N = kappa.shape[0]
    net.kappa = &kappa[0]
    net.delta = &delta[0]
    net.c0 = &c0[0]
    net.rtau = &rtau[0]
    net.tau = &tau[0]
    net.period = &period[0]
    net.omega = &omega[0]
    net.vreset = &vreset[0]
    net.rmode = &rmode[0]
    net.tref = &tref[0]


cdef void _wire_fourier(Net* net, const Py_ssize_t[::1] nharm, const double[:, ::1] a_re,
                        const double[:, ::1] a_im,
                        const double[:, ::1] p_re, const double[:, ::1] p_im, const double[::1] ub,
                        const double[::1] ubd, const double[::1] pb, const double[::1] pbd,
                        const unsigned char[::1] const_drive):
    """Point the state at the Fourier parts of the drives and the bounds of the analog drives."""
    cdef Py_ssize_t Mmax = a_re.shape[1]
    net.Mmax = Mmax
    net.nharm = &nharm[0]
    net.a_re = &a_re[0, 0] if Mmax > 0 else &ZERO_D
    net.a_im = &a_im[0, 0] if Mmax > 0 else &ZERO_D
    net.p_re = &p_re[0, 0] if Mmax > 0 else &ZERO_D
    net.p_im = &p_im[0, 0] if Mmax > 0 else &ZERO_D
    net.ub = &ub[0]
    net.ubd = &ubd[0]
    net.pb = &pb[0]
    net.pbd = &pbd[0]
    net.const_drive = &const_drive[0]


cdef void _wire_sinc(Net* net, const Py_ssize_t[::1] sn_K, const Py_ssize_t[::1] sn_so,
                     const Py_ssize_t[::1] sn_co,
                     const double[::1] sn_w, const double[::1] sn_s, const double[::1] sn_a,
                     const double[::1] sn_cs, const double[::1] sn_sn):
    """Point the state at the sinc parts of the drives."""
    net.sn_K = &sn_K[0]
    net.sn_so = &sn_so[0]
    net.sn_co = &sn_co[0]
    net.sn_w = &sn_w[0]
    net.sn_s = &sn_s[0] if sn_s.shape[0] > 0 else &ZERO_D
    net.sn_a = &sn_a[0] if sn_a.shape[0] > 0 else &ZERO_D
    net.sn_cs = &sn_cs[0]
    net.sn_sn = &sn_sn[0]


cdef void _wire_piecewise(Net* net, const Py_ssize_t[::1] pp_L, const Py_ssize_t[::1] pp_bo,
                          const Py_ssize_t[::1] pp_co, const double[::1] pp_b, const double[:, ::1] pp_c,
                          const double[::1] pp_G, const double[::1] pp_du, const double[::1] pp_we,
                          Py_ssize_t[::1] pp_cur):
    """Point the state at the piecewise-polynomial parts of the drives (and their piece cursors)."""
    net.pp_L = &pp_L[0]
    net.pp_bo = &pp_bo[0]
    net.pp_co = &pp_co[0]
    net.pp_D1 = pp_c.shape[1]
    net.pp_b = &pp_b[0] if pp_b.shape[0] > 0 else &ZERO_D
    net.pp_c = &pp_c[0, 0] if pp_c.shape[0] * pp_c.shape[1] > 0 else &ZERO_D
    net.pp_G = &pp_G[0] if pp_G.shape[0] > 0 else &ZERO_D
    net.pp_du = &pp_du[0] if pp_du.shape[0] > 0 else &ZERO_D
    net.pp_we = &pp_we[0] if pp_we.shape[0] > 0 else &ZERO_D
    net.pp_cur = &pp_cur[0]


cdef void _wire_sources(Net* net, const double[::1] g_t, const Py_ssize_t[::1] g_i,
                        const Py_ssize_t[::1] pz_idx, const double[::1] pz_rate,
                        const unsigned char[::1] pz_record, Py_ssize_t[::1] pz_of,
                        unsigned long long[:, ::1] pz_state):
    """Point the state at the spike sources: given spikes and Poisson neurons."""
    cdef Py_ssize_t Q = pz_idx.shape[0]
    net.n_pz = Q
    net.pz_of = &pz_of[0]
    net.pz_idx = &pz_idx[0] if Q > 0 else &ZERO_I
    net.pz_rate = &pz_rate[0] if Q > 0 else &ZERO_D
    net.pz_record = &pz_record[0] if Q > 0 else <const unsigned char*> &ZERO_K
    net.pz_state = &pz_state[0, 0]
    net.g_t = &g_t[0] if g_t.shape[0] > 0 else &ZERO_D
    net.g_i = &g_i[0] if g_i.shape[0] > 0 else &ZERO_I
    net.n_g = g_t.shape[0]


cdef void _wire_projections(Net* net, Py_ssize_t C, const double[::1] exp_rtau, const double[::1] delay,
                            const int[::1] kind,
                            const Py_ssize_t[::1] chan, const Py_ssize_t[::1] pre_start,
                            const Py_ssize_t[::1] indptr_off, const Py_ssize_t[::1] indptr,
                            const Py_ssize_t[::1] targets, const double[::1] weights,
                            const Py_ssize_t[::1] out_ptr, const Py_ssize_t[::1] out_proj):
    """Point the state at the projections (sparse rows of targets and weights, per source neuron
    its outgoing projections) and the synaptic channels."""
    cdef Py_ssize_t P = delay.shape[0]
    net.P = P
    net.C = C
    net.exp_rtau = &exp_rtau[0]
    net.delay = &delay[0] if P > 0 else &ZERO_D
    net.kind = &kind[0] if P > 0 else &ZERO_K
    net.chan = &chan[0] if P > 0 else &ZERO_I
    net.pre_start = &pre_start[0] if P > 0 else &ZERO_I
    net.indptr_off = &indptr_off[0] if P > 0 else &ZERO_I
    net.indptr = &indptr[0] if indptr.shape[0] > 0 else &ZERO_I
    net.targets = &targets[0] if targets.shape[0] > 0 else &ZERO_I
    net.n_targets = targets.shape[0]
    net.weights = &weights[0] if weights.shape[0] > 0 else &ZERO_D
    net.out_ptr = &out_ptr[0]
    net.out_proj = &out_proj[0] if out_proj.shape[0] > 0 else &ZERO_I


cdef bint _allocate(Net* net, Py_ssize_t n_rows) noexcept nogil:
    """Allocate the state's arrays (the wiring done); False when an allocation failed. Every
    pointer is set (NULL where nothing was allocated), so that _release() can always run."""
    cdef Py_ssize_t N = net.N
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t C = net.C
    cdef Py_ssize_t max_row = 1
    cdef Py_ssize_t i, p
    net.n_evals = 0
    net.n_deliveries = 0
    net.n_syn_events = 0
    net.n_refine = 0
    net.n_steps = 0
    net.n_items = P + N
    net.tl = <double*> malloc(N * sizeof(double))
    net.vl = <double*> malloc(N * sizeof(double))
    net.Fl = <double*> malloc(N * sizeof(double))
    net.I = <double*> malloc(max(N * C, 1) * sizeof(double))
    net.search_from = <double*> malloc(N * sizeof(double))
    net.ev_kind = <int*> malloc(N * sizeof(int))
    net.acc = <Acc*> malloc(N * sizeof(Acc))
    net.plist = <Py_ssize_t*> malloc(N * sizeof(Py_ssize_t))
    net.flist = <Py_ssize_t*> malloc(N * sizeof(Py_ssize_t))
    net.n_plist = 0
    net.instant = 0
    net.acc_open = False
    net.n_summed = 0
    net.heap = <HeapEntry*> malloc((P + N) * sizeof(HeapEntry))
    net.hot_mem = malloc((P + N) * sizeof(Hot) + 64)
    for i in range(n_rows):
        if net.indptr[i + 1] - net.indptr[i] > max_row:
            max_row = net.indptr[i + 1] - net.indptr[i]
    net.pend_j = <Py_ssize_t*> malloc(max_row * sizeof(Py_ssize_t))
    net.pend_x = <double*> malloc(max_row * sizeof(double))
    net.hot = <Hot*> ((<size_t> net.hot_mem + 63) & ~(<size_t> 63))
    net.fifo = <Fifo*> malloc(max(P, 1) * sizeof(Fifo))
    net.cap_out = 1024 if net.max_spikes > 1024 else max(net.max_spikes, 1)
    net.out_t = <double*> malloc(net.cap_out * sizeof(double))
    net.out_i = <Py_ssize_t*> malloc(net.cap_out * sizeof(Py_ssize_t))
    net.n_out = 0
    net.bm1 = NULL
    net.sl_arr = NULL
    net.sl_cross = NULL
    net.n_arr = net.cap_arr = net.n_cross = net.cap_cross = net.n_slices = net.n_restarts = 0
    if net.fifo != NULL:
        for p in range(P):
            net.fifo[p].buf = NULL
            net.fifo[p].head = 0
            net.fifo[p].size = 0
            net.fifo[p].cap = 0
    return not (net.tl == NULL or net.vl == NULL or net.Fl == NULL or net.I == NULL
                or net.search_from == NULL or net.ev_kind == NULL
                or net.acc == NULL or net.plist == NULL or net.flist == NULL
                or net.heap == NULL or net.fifo == NULL or net.hot_mem == NULL
                or net.pend_j == NULL or net.pend_x == NULL
                or net.out_t == NULL or net.out_i == NULL)


cdef int _initial_state(Net* net, const double* v0) except -1 nogil:
    """The state at time 0: every neuron's integrator at v0 with no synaptic current, its first
    crossing searched; the fast neurons' state moved into their heap records; the first events of
    the Poisson sources drawn; the given spikes of spike sources in flight."""
    cdef Py_ssize_t N = net.N
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t C = net.C
    cdef Py_ssize_t i, j, c, q
    cdef double du = 0.0
    for i in range(P + N):
        net.hot[i].key = INFINITY
        net.hot[i].pos = i
        net.hot[i].fast = 0
        net.heap[i].id = i
        net.heap[i].key = INFINITY
    for j in range(N):
        net.acc[j].stamp = -1
        net.tl[j] = 0.0
        net.vl[j] = v0[j]
        net.search_from[j] = 0.0
        net.ev_kind[j] = EV_NONE
        for c in range(C):
            net.I[j * C + c] = 0.0
        _analog(net, j, 0.0, &net.Fl[j], &du)
    for j in range(N):
        schedule(net, j)
    for j in range(N):
        # an integrator with constant drive (perfect or leaky) in a network of delta
        # synapses only keeps its state in the packed array from here on
        net.hot[P + j].fast = F_GENERAL
        if C == 0 and net.const_drive[j]:
            net.hot[P + j].fast = F_PERFECT if net.rtau[j] == 0.0 else F_LEAKY
        net.hot[P + j].tl = net.tl[j]
        net.hot[P + j].vl = net.vl[j]
        net.hot[P + j].c0 = net.c0[j]
        net.hot[P + j].kappa = net.kappa[j]
        net.hot[P + j].delta = net.delta[j]
        net.hot[P + j].tau = net.tau[j]
        net.hot[P + j].ev = net.ev_kind[j]
    for q in range(net.n_pz):
        net.hot[P + net.pz_idx[q]].fast = F_POISSON
        heap_update(net, P + net.pz_idx[q], poisson_next(net, q, 0.0))
    preload(net)
    return 0


cdef tuple _output(Net* net, double[:, ::1] traces, int rc):
    """simulate()'s return value: the spikes (times, indices), the traces, the statistics and the status."""
    cdef Py_ssize_t i
    cdef double[::1] tv
    cdef Py_ssize_t[::1] iv
    times = np.empty(net.n_out, dtype=np.float64)
    idx = np.empty(net.n_out, dtype=np.intp)
    tv = times
    iv = idx
    for i in range(net.n_out):
        tv[i] = net.out_t[i]
        iv[i] = net.out_i[i]
    stats = {"evaluations": net.n_evals, "deliveries": net.n_deliveries,
             "synaptic_events": net.n_syn_events, "spikes": net.n_out,
             "search_steps": net.n_steps, "refine_evaluations": net.n_refine,
             "slices": net.n_slices, "sliced_restarts": net.n_restarts,
             "summed_deliveries": net.n_summed}
    return times, idx, np.asarray(traces), stats, rc


cdef void _release(Net* net) noexcept nogil:
    """Free what _allocate() and the loops allocated."""
    cdef Py_ssize_t p
    for p in range(net.P):
        if net.fifo != NULL:
            free(net.fifo[p].buf)
    free(net.tl); free(net.vl); free(net.Fl); free(net.I); free(net.search_from)
    free(net.ev_kind); free(net.heap); free(net.fifo)
    free(net.acc); free(net.plist); free(net.flist)
    free(net.hot_mem); free(net.pend_j); free(net.pend_x)
    free(net.bm1); free(net.sl_arr); free(net.sl_cross)
    free(net.out_t); free(net.out_i)


def si(const double[::1] x):
    """The compiled sine integral on an array (exposed for tests against SciPy)."""
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t k
    for k in range(x.shape[0]):
        o[k] = sine_integral(x[k], sin(x[k]), cos(x[k]))
    return out


def leaky_sinc(const double[::1] x, double r, double w):
    """The compiled leak-weighted sinc integral G on an array (for the constraint rows and tests)."""
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t k
    with nogil:
        for k in range(x.shape[0]):
            o[k] = leaky_sinc_integral(x[k], r, w, sin(w * x[k]), cos(w * x[k]))
    return out


def exp_trace(const double[::1] s, const double[::1] w, double tau, const double[::1] t):
    """``I(t) = sum_{s_k <= t} w_k exp(-(t - s_k)/tau)`` for sorted ``s``, any ``t``.

    Evaluated by the exact recursion over the sorted arrivals (no overflow for
    long trains), then once per query time.
    """
    cdef Py_ssize_t K = s.shape[0]
    cdef Py_ssize_t Q = t.shape[0]
    cdef Py_ssize_t k, q
    cdef double[::1] S = np.empty(K)
    cdef double[::1] out = np.zeros(Q)
    cdef Py_ssize_t[::1] where
    with nogil:
        for k in range(K):
            if k == 0:
                S[k] = w[k]
            else:
                S[k] = S[k - 1] * exp(-(s[k] - s[k - 1]) / tau) + w[k]
    where = np.searchsorted(np.asarray(s), np.asarray(t), side="right").astype(np.intp)
    with nogil:
        for q in range(Q):
            k = where[q] - 1
            if k >= 0:
                out[q] = S[k] * exp(-(t[q] - s[k]) / tau)
    return np.asarray(out)


def leaky_recursion(const double[::1] decay, const double[:, ::1] piece):
    """``G[:, 0] = 0``, ``G[:, k+1] = decay[k] G[:, k] + piece[:, k]`` (leak-weighted integrals
    accumulated over the pieces of a piecewise drive); shape ``(n, L + 1)``."""
    cdef Py_ssize_t n = piece.shape[0], L = piece.shape[1], i, k
    out = np.zeros((n, L + 1))
    cdef double[:, ::1] G = out
    with nogil:
        for i in range(n):
            for k in range(L):
                G[i, k + 1] = decay[k] * G[i, k] + piece[i, k]
    return out


def _use_sliced(bint flag):
    """Testing switch: False makes simulate() always use the event-by-event loop. Returns the old value."""
    global USE_SLICED
    old = USE_SLICED
    USE_SLICED = flag
    return old
