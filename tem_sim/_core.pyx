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
emitted in the same order, to the bit.

The kernels trust their arguments: validation happens in the public Python
modules. No Python object is touched inside the event loop, which runs
without the GIL and takes it only every few thousand events to honour Ctrl-C.
"""

from libc.math cimport sqrt, fabs, exp, expm1, log, log1p, fmod, cos, sin, atan2, frexp, copysign, INFINITY, isfinite
from libc.stdlib cimport malloc, calloc, realloc, free, qsort
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals

import numpy as np

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    #if defined(__GNUC__) || defined(__clang__)
    #define TEM_PREFETCH(p) __builtin_prefetch((const void*)(p), 1, 3)
    #else
    #define TEM_PREFETCH(p) ((void)0)
    #endif
    /* x <= cap ? x : +inf, without a branch (which would wait for the division that produces x) */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    static inline double tem_cap(double x, double cap) {
        __m128d vx = _mm_set_sd(x);
        __m128d m = _mm_cmple_sd(vx, _mm_set_sd(cap));
        return _mm_cvtsd_f64(_mm_or_pd(_mm_and_pd(m, vx), _mm_andnot_pd(m, _mm_set_sd(INFINITY))));
    }
    #else
    static inline double tem_cap(double x, double cap) {
        double inf = INFINITY;
        uint64_t ux, ui, m = (uint64_t)0 - (uint64_t)(x <= cap);
        memcpy(&ux, &x, 8);
        memcpy(&ui, &inf, 8);
        ux = (ux & m) | (ui & ~m);
        memcpy(&x, &ux, 8);
        return x;
    }
    #endif
    """
    void TEM_PREFETCH(const void* p) noexcept nogil
    double tem_cap(double x, double cap) noexcept nogil

cdef double EPS = 2.220446049250313e-16

# event kinds stored per neuron
cdef enum:
    EV_NONE = 0
    EV_CROSS = 1
    EV_CHECK = 2

# projection kinds
cdef enum:
    K_DELTA = 0
    K_EXP = 1

# kinds of heap items among the neurons (Hot.fast)
cdef enum:
    F_GENERAL = 0             # general path: SoA state, eval_state
    F_PERFECT = 1             # perfect integrator, constant drive, delta synapses only: state in Hot
    F_LEAKY = 2               # the same with a leak
    F_POISSON = 3             # the driver of a Poisson source population (its next event)

# reset modes
cdef enum:
    R_SUBTRACT = 0            # v -= 2 delta (the TEM; repeated firing at one instant)
    R_VALUE = 1               # v = v_reset (one spike per instant)

# search limits
cdef Py_ssize_t MAX_STEPS_PER_SEARCH = 64
cdef int MAX_REFINE = 100
cdef Py_ssize_t SIGNAL_CHECK_EVERY = 1 << 14

# run_sliced(): status when a check finds the crossing earlier than its key (a rounding-level
# reversal in time), or when the shortest delay no longer moves the time forward (T + d == T);
# the run is then repeated by run_loop()
cdef int SLICED_RESTART = -5
# testing switch (see _use_sliced)
cdef bint USE_SLICED = True


cdef struct Arrival:
    double t
    Py_ssize_t src


cdef struct Fifo:
    Arrival* buf              # ring buffer; cap is 0 or a power of two
    Py_ssize_t head
    Py_ssize_t size
    Py_ssize_t cap


cdef struct HeapEntry:
    double key
    Py_ssize_t id


cdef struct SpikeRec:
    double t
    Py_ssize_t j
    Py_ssize_t seq


cdef struct Hot:
    # One cache line per heap item (P projections, then N neurons): its heap key and position, and
    # for a neuron whose integrator has a closed form between arrivals (perfect, constant drive, and
    # only delta synapses in the network) its whole state, so that delivering a spike to it touches
    # this one line. The SoA arrays (tl, vl, ev_kind) are not kept up to date for such a neuron during
    # the loop (record() copies its state back before evaluating it).
    double tl                 # (in a refractory period: its end, where integration resumes)
    double vl
    double c0
    double kappa
    double delta
    double tau                # fast leaky neurons: the leak (INFINITY for a perfect integrator)
    double key                # the item's heap key
    int pos                   # the item's index in the heap
    char ev                   # fast neurons: EV_NONE / EV_CROSS / EV_CHECK
    char fast                 # F_GENERAL, F_PERFECT, F_LEAKY (the fields above are its state), F_POISSON


cdef struct SHot:
    # A neuron's record in the sliced loop (all neurons are fast there; no heap position)
    double tl
    double vl
    double c0
    double kappa
    double delta
    double key
    double rk                 # 1/kappa when kappa is a power of two (dividing by kappa is then
                              # multiplying by rk, to the bit), else 0
    int ev
    int pad


cdef struct Net:
    Py_ssize_t N
    Py_ssize_t P
    Py_ssize_t C
    Py_ssize_t Mmax
    # neuron parameters
    const double* kappa
    const double* delta
    const double* c0          # bias + mean of the analog drive
    const double* rtau        # 1/tau (0 for a perfect integrator)
    const double* tau
    const double* period
    const double* omega
    const Py_ssize_t* nharm
    const double* a_re        # N x Mmax, harmonics 1..M of the analog drive
    const double* a_im
    const double* p_re        # N x Mmax, antiderivative (perfect) or steady-state (leaky) factors
    const double* p_im
    const double* ub          # sup |Fourier part of u|
    const double* ubd         # sup |d/dt Fourier part of u|
    const double* pb          # bound of the Fourier and sinc parts of the antiderivative / steady state
                              # (their rounding scale, and the oscillation step of schedule_from)
    const double* pbd         # 2 sum |p_m| w_m: bound on the derivative of the steady state (leaky)
    const double* exp_rtau    # C
    # spiking conventions
    const double* vreset      # N: v after a threshold crossing (-delta for the subtractive reset)
    const unsigned char* rmode  # N: R_SUBTRACT / R_VALUE
    const double* tref        # N: absolute refractory period
    # simultaneous arrivals: summed per neuron (double-double) and applied once the instant's last
    # arrival is delivered (flush_instant)
    double* acc_hi
    double* acc_lo
    unsigned char* pflag      # N: neuron has pending arrivals at the open instant
    Py_ssize_t* plist         # the pending neurons
    Py_ssize_t n_plist
    bint acc_open             # a delivery at this instant announced more arrivals at it
    # Poisson sources: one heap item (the population's first neuron) per population; a merged
    # Poisson process of the total rate whose events go to a neuron drawn by its share of the rate
    Py_ssize_t* pz_of         # N: index of the source population a driver runs (-1: none)
    const Py_ssize_t* pz_first
    const Py_ssize_t* pz_n
    const double* pz_total
    const Py_ssize_t* pz_cum_off   # offset of the population's cumulative rates in pz_cum (-1: uniform)
    const double* pz_cum
    const unsigned char* pz_record
    unsigned long long* pz_state   # 4 words of xoshiro256** per population
    # given spikes (spike sources), sorted by time: in the FIFOs from the start
    const double* g_t
    const Py_ssize_t* g_i
    Py_ssize_t n_g
    const unsigned char* const_drive   # 1: bias only (no Fourier, sinc or piecewise part)
    # sinc part of the analog drive: sum_k a_k sin(w (t - s_k)) / (w (t - s_k))
    const Py_ssize_t* sn_K    # N: number of sincs (0: none)
    const Py_ssize_t* sn_so   # N: offset of the neuron's centres in sn_s
    const Py_ssize_t* sn_co   # N: offset of the neuron's weights in sn_a
    const double* sn_w        # N: bandwidth w
    const double* sn_s
    const double* sn_a
    const double* sn_cs       # cos(w s_k), sin(w s_k) per centre (computed once per run): the phases
    const double* sn_sn       # of far centres by angle addition instead of a sin and cos each
    # piecewise-polynomial part: pieces [b_k, b_k+1], ascending local coefficients
    const Py_ssize_t* pp_L    # N: number of pieces (0: none)
    const Py_ssize_t* pp_bo   # N: offset of the neuron's breaks in pp_b
    const Py_ssize_t* pp_co   # N: offset of the neuron's pieces in pp_c / pp_G / pp_du
    Py_ssize_t pp_D1          # coefficients per piece (degree + 1)
    const double* pp_b
    const double* pp_c
    const double* pp_G        # antiderivative (perfect) / leak-weighted integral (leaky) at each piece start
    const double* pp_du       # sup |p'| from each piece to the end of its window (_valid_until)
    const double* pp_we       # end time of each piece's window (inf: to the end of the drive)
    Py_ssize_t* pp_cur        # N: last piece used (a cursor: time mostly moves forward)
    # projections
    const double* delay
    const int* kind
    const Py_ssize_t* chan
    const Py_ssize_t* pre_start
    const Py_ssize_t* indptr_off
    const Py_ssize_t* indptr
    const Py_ssize_t* targets
    const double* weights
    const Py_ssize_t* out_ptr
    const Py_ssize_t* out_proj
    # state
    double* tl
    double* vl
    double* Fl                # Fourier part of the antiderivative / steady state at tl
    double* I                 # N x C currents at tl
    double* search_from
    int* ev_kind
    # heap over P + N items: ids 0..P-1 projections, P..P+N-1 neurons
    Hot* hot                  # P + N records, 64-byte aligned
    void* hot_mem
    Py_ssize_t* pend_j        # deliver(): fast targets whose key is set after the row (longest row)
    double* pend_x
    # sliced loop (run_sliced)
    SHot* sh                  # N, 64-byte aligned
    double* bm1               # lower bounds of the keys: per block of 8 neurons,
    double* bm2               # per 64 blocks,
    double* bm3               # per 64 of those,
    double gmin               # and of all keys
    Py_ssize_t nb1
    Py_ssize_t nb2
    Py_ssize_t nb3
    SpikeRec* sl_arr          # spikes fired by arrivals in the current slice, in event order
    Py_ssize_t n_arr
    Py_ssize_t cap_arr
    SpikeRec* sl_cross        # spikes fired by threshold crossings in the current slice
    Py_ssize_t n_cross
    Py_ssize_t cap_cross
    Py_ssize_t n_slices
    Py_ssize_t n_restarts     # run_sliced() runs given up for run_loop()
    HeapEntry* heap
    Py_ssize_t n_items
    Fifo* fifo
    # output
    double* out_t
    Py_ssize_t* out_i
    Py_ssize_t n_out
    Py_ssize_t cap_out
    Py_ssize_t max_spikes
    double t_end
    # statistics
    Py_ssize_t n_evals
    Py_ssize_t n_deliveries
    Py_ssize_t n_syn_events
    Py_ssize_t n_refine
    Py_ssize_t n_steps


# --------------------------------------------------------------------------- heap
cdef inline bint _before(double ka, Py_ssize_t a, double kb, Py_ssize_t b) noexcept nogil:
    return ka < kb or (ka == kb and a < b)


cdef inline void sift_up(Net* net, Py_ssize_t item, double k) noexcept nogil:
    """Move ``item`` towards the root for its new key ``k`` (which must not be later than its old key)."""
    cdef HeapEntry* heap = net.heap
    cdef Hot* hot = net.hot
    cdef Py_ssize_t i = hot[item].pos
    cdef Py_ssize_t parent
    cdef HeapEntry e
    while i > 0:
        parent = (i - 1) >> 1
        e = heap[parent]
        if _before(k, item, e.key, e.id):
            heap[i] = e
            hot[e.id].pos = i
            i = parent
        else:
            break
    heap[i].key = k
    heap[i].id = item
    hot[item].pos = i


cdef inline void sift_down(Net* net, Py_ssize_t item, double k) noexcept nogil:
    """Move ``item`` towards the leaves for its new key ``k`` (which must not be earlier than its old key)."""
    cdef HeapEntry* heap = net.heap
    cdef Hot* hot = net.hot
    cdef Py_ssize_t i = hot[item].pos
    cdef Py_ssize_t n = net.n_items
    cdef Py_ssize_t c
    cdef HeapEntry a, b
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        a = heap[c]
        if c + 1 < n:
            b = heap[c + 1]
            if _before(b.key, b.id, a.key, a.id):
                a = b
                c = c + 1
        if _before(a.key, a.id, k, item):
            heap[i] = a
            hot[a.id].pos = i
            i = c
        else:
            break
    heap[i].key = k
    heap[i].id = item
    hot[item].pos = i


cdef void heap_update(Net* net, Py_ssize_t item, double k) noexcept nogil:
    """Set the key of ``item`` and restore the heap order (decrease- or increase-key).

    The heap keeps each entry's key beside its id so that sifting reads one slot per
    level, and moves a hole instead of swapping."""
    cdef double old = net.hot[item].key
    net.hot[item].key = k
    if k < old:
        sift_up(net, item, k)
    elif k > old:
        sift_down(net, item, k)
    elif k == old:
        net.heap[net.hot[item].pos].key = k     # same place (the key may differ in the sign of a zero)
    else:
        sift_up(net, item, k)               # a NaN: both passes, as a plain update would do
        sift_down(net, item, k)


# --------------------------------------------------------------------------- neuron state
cdef inline double _four(Net* net, Py_ssize_t j, double t, double* pf) noexcept nogil:
    """Fourier part of the drive at t; writes the Fourier part of the antiderivative
    (perfect) or of the steady state times kappa (leaky) into pf."""
    cdef Py_ssize_t M = net.nharm[j]
    cdef Py_ssize_t m
    cdef double th, zr, zi, wr, wi, tmp, su = 0.0, sp = 0.0
    cdef const double* ar
    cdef const double* ai
    cdef const double* qr
    cdef const double* qi
    if M == 0:
        pf[0] = 0.0
        return 0.0
    th = net.omega[j] * fmod(t, net.period[j])
    zr = cos(th)
    zi = sin(th)
    wr = zr
    wi = zi
    ar = net.a_re + j * net.Mmax
    ai = net.a_im + j * net.Mmax
    qr = net.p_re + j * net.Mmax
    qi = net.p_im + j * net.Mmax
    for m in range(M):
        su += ar[m] * wr - ai[m] * wi
        sp += qr[m] * wr - qi[m] * wi
        tmp = wr * zr - wi * zi
        wi = wr * zi + wi * zr
        wr = tmp
    pf[0] = 2.0 * sp
    return 2.0 * su


cdef double PI = 3.141592653589793


cdef double EULER_GAMMA = 0.5772156649015329


cdef void e1_scaled(double zr, double zi, double* hr, double* hi) noexcept nogil:
    """H(z) = exp(z) E1(z), principal branch, z != 0 (written as real pairs).

    Power series E1 = -gamma - log z - sum (-z)^n / (n n!) where its terms do not
    cancel badly (|z| <= 2, or z near the negative real axis, where E1 is large);
    elsewhere the continued fraction E1(z) = exp(-z) / (z + 1 - 1 / (z + 3 - 4 / ...))
    by Lentz's method.
    """
    cdef double R = sqrt(zr * zr + zi * zi)
    cdef double ang = atan2(zi, zr)
    cdef double phi = PI - fabs(ang)          # angle from the negative real axis
    cdef double tr, ti, sr, si, er, ei, br, bi, cr, ci, dr, di, den, a, ex, xr, xi
    cdef int n
    if R <= 2.0 or (R < 500.0 and R * (1.0 - cos(phi)) < 3.0):
        tr = 1.0
        ti = 0.0
        sr = 0.0
        si = 0.0
        for n in range(1, 2000):
            # term *= -z / n
            xr = -(tr * zr - ti * zi) / n
            xi = -(tr * zi + ti * zr) / n
            tr = xr
            ti = xi
            sr += tr / n
            si += ti / n
            if fabs(tr) + fabs(ti) < 1e-17 * (fabs(sr) + fabs(si)):   # no squares: they overflow
                break
        # E1 = -gamma - log z - s ; H = exp(z) E1
        er = -EULER_GAMMA - log(R) - sr
        ei = -ang - si
        ex = exp(zr)
        cr = ex * cos(zi)
        ci = ex * sin(zi)
        hr[0] = cr * er - ci * ei
        hi[0] = cr * ei + ci * er
        return
    br = zr + 1.0
    bi = zi
    cr = 1e300
    ci = 0.0
    den = br * br + bi * bi
    dr = br / den
    di = -bi / den
    hr[0] = dr
    hi[0] = di
    for n in range(1, 100000):
        a = -(<double> n) * n
        br += 2.0
        # d = 1 / (a d + b)
        tr = a * dr + br
        ti = a * di + bi
        den = tr * tr + ti * ti
        dr = tr / den
        di = -ti / den
        # c = b + a / c
        den = cr * cr + ci * ci
        tr = br + a * cr / den
        ti = bi - a * ci / den
        cr = tr
        ci = ti
        # h *= c d
        er = cr * dr - ci * di
        ei = cr * di + ci * dr
        tr = hr[0] * er - hi[0] * ei
        hi[0] = hr[0] * ei + hi[0] * er
        hr[0] = tr
        if fabs(er - 1.0) + fabs(ei) < 1e-16:
            break


cdef extern from "_si_tables.h":
    # generated by tools/gen_si_tables.py (mpmath): the layout and the error budget are there
    const double TEM_SI_A, TEM_SI_B, TEM_SI_W, TEM_SI_INV_W, TEM_SI_PIO2_HI, TEM_SI_PIO2_LO
    enum:
        TEM_SI_NQ
        TEM_SI_ROW
        TEM_SI_NA
    const double tem_si_q[]
    const double tem_si_p[]
    const double tem_si_f[]
    const double tem_si_g[]


cdef double sine_integral(double x, double sx, double cx) noexcept nogil:
    """Si(x) = int_0^x sin(s)/s ds, given sx = sin(x) and cx = cos(x); within 0.72 ulp
    (measured against mpmath).

    Tabulated polynomials (tem_sim/_si_tables.h, written by tools/gen_si_tables.py,
    which explains the choices), no division below |x| = 32.125:
    |x| <= 9/8: x + x y Q(y), y = x^2; up to 32.125: a degree-10 polynomial about the
    midpoint of |x|'s piece of width 1/2, whose value there is a pair of doubles;
    beyond, Si = pi/2 - f cos|x| - g sin|x| with the auxiliary functions f = u F(v),
    g = v G(v) (u = 1/|x|, v = u^2) as polynomials in v. Si is odd: evaluated at |x|,
    the sign put back. sx and cx serve the last part only.
    """
    cdef double ax = fabs(x), y, q, d, p, u, v, f, g
    cdef const double* c
    cdef int i, k
    if ax <= TEM_SI_A:
        y = x * x
        q = tem_si_q[TEM_SI_NQ - 1]
        for k in range(TEM_SI_NQ - 2, -1, -1):
            q = q * y + tem_si_q[k]
        return x + (x * y) * q
    if ax < TEM_SI_B:
        i = <int> ((ax - TEM_SI_A) * TEM_SI_INV_W)       # exact: 0 <= i < 62
        c = tem_si_p + i * TEM_SI_ROW
        d = ax - (TEM_SI_A + (i + 0.5) * TEM_SI_W)     # exact
        p = c[TEM_SI_ROW - 1]
        for k in range(TEM_SI_ROW - 2, 1, -1):
            p = p * d + c[k]
        return copysign((c[1] + d * p) + c[0], x)
    if ax < INFINITY:
        u = 1.0 / ax
        v = u * u
        f = tem_si_f[TEM_SI_NA - 1]
        g = tem_si_g[TEM_SI_NA - 1]
        for k in range(TEM_SI_NA - 2, -1, -1):
            f = f * v + tem_si_f[k]
            g = g * v + tem_si_g[k]
        f = f * u
        g = g * v
        # sin|x| = sign(x) sx
        return copysign((TEM_SI_PIO2_LO - (f * cx + g * copysign(1.0, x) * sx)) + TEM_SI_PIO2_HI, x)
    if ax == INFINITY:
        return copysign(TEM_SI_PIO2_HI, x)
    return x + x                                        # nan


def si(const double[::1] x):
    """The compiled sine integral on an array (exposed for tests against SciPy)."""
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t k
    for k in range(x.shape[0]):
        o[k] = sine_integral(x[k], sin(x[k]), cos(x[k]))
    return out


cdef double leaky_sinc_integral(double x, double r, double w, double sx, double cx) noexcept nogil:
    """G(x) = int_{-inf}^{x} exp(-r (x - y)) sin(w y) / (w y) dy (sx, cx: sin, cos of w x).

    With a = r + i w: G = (-Im[exp(i w x) H(-a x)] + pi exp(-r x) [x > 0]) / w, where
    H(z) = exp(z) E1(z); the last term is the half-residue the pole at y = 0 leaves
    when the path of the principal value passes it.
    """
    cdef double hr, hi, g
    if x == 0.0:
        return atan2(w, r) / w
    e1_scaled(-r * x, -w * x, &hr, &hi)
    g = -(cx * hi + sx * hr)
    if x > 0.0:
        g += PI * exp(-r * x)
    return g / w


def leaky_sinc(const double[::1] x, double r, double w):
    """The compiled leak-weighted sinc integral G on an array (for the constraint rows and tests)."""
    out = np.empty(x.shape[0])
    cdef double[::1] o = out
    cdef Py_ssize_t k
    with nogil:
        for k in range(x.shape[0]):
            o[k] = leaky_sinc_integral(x[k], r, w, sin(w * x[k]), cos(w * x[k]))
    return out


cdef inline double _sinc_part(Net* net, Py_ssize_t j, double t, double* pf) noexcept nogil:
    """Sinc part of the drive at t; into pf its antiderivative sum_k a_k Si(w (t - s_k)) / w
    (perfect) or its bounded leak-weighted integral sum_k a_k G(t - s_k) (leaky)."""
    cdef Py_ssize_t K = net.sn_K[j]
    cdef Py_ssize_t k
    cdef double w, r, x, sx, cx, wt, St, Ct, su = 0.0, sp = 0.0
    cdef const double* s
    cdef const double* a
    cdef const double* cs
    cdef const double* sn
    if K == 0:
        pf[0] = 0.0
        return 0.0
    w = net.sn_w[j]
    r = net.rtau[j]
    s = net.sn_s + net.sn_so[j]
    a = net.sn_a + net.sn_co[j]
    cs = net.sn_cs + net.sn_so[j]
    sn = net.sn_sn + net.sn_so[j]
    wt = w * t
    St = sin(wt)
    Ct = cos(wt)
    for k in range(K):
        x = w * (t - s[k])
        if fabs(x) < 1.0:
            # near the centre: the sinc value needs sin x to its last bits
            sx = sin(x)
            cx = cos(x)
        else:
            # far: sin(wt - w s_k) by angle addition, off by eps (|wt| + |w s_k|) in angle -- a
            # relative eps w |t| / |x| in sin x / x, and under eps w |t| / 32 in Si, where only
            # |x| >= 32 uses sx and cx (the rounding of t itself costs eps |t| sup|u| already)
            sx = St * cs[k] - Ct * sn[k]
            cx = Ct * cs[k] + St * sn[k]
        if fabs(x) < 1e-4:
            su += a[k] * (1.0 - x * x / 6.0)
        else:
            su += a[k] * sx / x
        if r == 0.0:
            sp += a[k] * sine_integral(x, sx, cx)
        else:
            sp += a[k] * leaky_sinc_integral(t - s[k], r, w, sx, cx)
    pf[0] = sp / w if r == 0.0 else sp
    return su


cdef Py_ssize_t _piece(Net* net, Py_ssize_t j, double t) noexcept nogil:
    """Index of neuron j's piece holding t (right-continuous; clipped to the first/last piece)."""
    cdef const double* b = net.pp_b + net.pp_bo[j]
    cdef Py_ssize_t L = net.pp_L[j]
    cdef Py_ssize_t k = net.pp_cur[j]
    cdef Py_ssize_t lo, hi, mid
    if b[k] <= t and (k == L - 1 or t < b[k + 1]):
        return k
    if k + 1 < L and b[k + 1] <= t and (k + 1 == L - 1 or t < b[k + 2]):
        net.pp_cur[j] = k + 1
        return k + 1
    lo = 0
    hi = L - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if b[mid] <= t:
            lo = mid
        else:
            hi = mid - 1
    net.pp_cur[j] = lo
    return lo


cdef void phi_functions(double z, Py_ssize_t n, double* out) noexcept nogil:
    """phi_k(z) = sum_m z^m / (m + k)! for k = 0..n (series for |z| < 2, else upward recurrence)."""
    cdef Py_ssize_t k, m
    cdef double term, acc, inv_fact = 1.0, p
    if fabs(z) < 2.0:
        for k in range(n + 1):
            term = inv_fact
            acc = term
            for m in range(1, 40):
                term = term * z / (m + k)
                acc += term
                if fabs(term) < 1e-18 * fabs(acc):
                    break
            out[k] = acc
            inv_fact /= (k + 1)
        return
    p = exp(z)
    out[0] = p
    for k in range(1, n + 1):
        p = (p - inv_fact) / z
        out[k] = p
        inv_fact /= k


cdef inline double _pp_part(Net* net, Py_ssize_t j, double t, double* pf, double* du) noexcept nogil:
    """Piecewise-polynomial part of the drive at t; into pf its integral from the first break
    (perfect) or its leak-weighted integral (leaky), into du the bound on |p'| over the piece."""
    cdef Py_ssize_t L = net.pp_L[j]
    cdef Py_ssize_t D1 = net.pp_D1
    cdef Py_ssize_t k, d, o
    cdef double x, u = 0.0, F = 0.0, r, xp, fact
    cdef const double* c
    cdef double ph[24]
    if L == 0:
        pf[0] = 0.0
        du[0] = 0.0
        return 0.0
    k = _piece(net, j, t)
    o = net.pp_co[j] + k
    x = t - net.pp_b[net.pp_bo[j] + k]
    c = net.pp_c + o * D1
    for d in range(D1 - 1, -1, -1):
        u = u * x + c[d]
    r = net.rtau[j]
    if r == 0.0:
        for d in range(D1 - 1, -1, -1):
            F = (F + c[d] / (d + 1)) * x
        pf[0] = net.pp_G[o] + F
    else:
        # int_0^x exp(-r (x - y)) y^d dy = d! x^(d+1) phi_(d+1)(-r x)
        phi_functions(-r * x, D1, ph)
        F = ph[0] * net.pp_G[o]
        xp = x
        fact = 1.0
        for d in range(D1):
            F += c[d] * fact * xp * ph[d + 1]
            xp *= x
            fact *= (d + 1)
        pf[0] = F
    du[0] = net.pp_du[o]
    return u


cdef inline double _analog(Net* net, Py_ssize_t j, double t, double* pf, double* du) noexcept nogil:
    """The analog drive at t (Fourier + sinc + piecewise parts); their antiderivative (perfect)
    or particular solution of the leak (leaky) into pf; the piecewise slope bound into du."""
    cdef double f1, f2, f3, u
    u = _four(net, j, t, &f1)
    if net.sn_K[j] > 0:
        u += _sinc_part(net, j, t, &f2)
        f1 += f2
    u += _pp_part(net, j, t, &f3, du)
    pf[0] = f1 + f3
    return u


cdef inline double _valid_until(Net* net, Py_ssize_t j, double t) noexcept nogil:
    """End of the time range on which the curvature bound of eval_state at t holds: for a
    piecewise drive, the end of the window of pieces its slope bound covers (engine.lower_neurons:
    at most two blocks of pieces, never past a jump of the drive), else forever."""
    if net.pp_L[j] == 0:
        return INFINITY
    return net.pp_we[net.pp_co[j] + _piece(net, j, t)]


cdef inline double _leak_exp(double h, double r, double rc) noexcept nogil:
    """(exp(-rc h) - exp(-r h)) / (r - rc), computed without cancellation or overflow."""
    cdef double x = (r - rc) * h
    if x > 0.0:
        return exp(-rc * h) * (-expm1(-x)) / (r - rc)
    elif x < 0.0:
        return exp(-r * h) * expm1(x) / (r - rc)
    return h * exp(-r * h)


cdef void eval_state(Net* net, Py_ssize_t j, double t, double* v, double* dv, double* K,
                     double* Fout) noexcept nogil:
    """Integrator value v(t), its derivative and a bound K on |v''| valid from t on
    (until the next event reaches neuron j). Fout receives the Fourier part of the
    antiderivative / steady state at t (to cache it when the state is advanced)."""
    cdef double h = t - net.tl[j]
    cdef double kap = net.kappa[j]
    cdef double r = net.rtau[j]
    cdef double pf, uf, u, Iabs = 0.0, Iabs_d = 0.0, Ih, em, Vb, U, Ud
    cdef double exp_int = 0.0, du
    cdef Py_ssize_t c
    cdef double* Ij
    net.n_evals += 1
    uf = _analog(net, j, t, &pf, &du)
    Fout[0] = pf
    u = net.c0[j] + uf
    if net.C > 0:
        Ij = net.I + j * net.C
        for c in range(net.C):
            if Ij[c] != 0.0:
                Ih = Ij[c] * exp(-net.exp_rtau[c] * h)
                u += Ih
                Iabs += fabs(Ih)
                Iabs_d += fabs(Ih) * net.exp_rtau[c]
                if r == 0.0:
                    exp_int += Ij[c] * (-expm1(-net.exp_rtau[c] * h)) / net.exp_rtau[c]
                else:
                    exp_int += Ij[c] * _leak_exp(h, r, net.exp_rtau[c])
    if r == 0.0:
        v[0] = net.vl[j] + (net.c0[j] * h + (pf - net.Fl[j]) + exp_int) / kap
        dv[0] = u / kap
        K[0] = (net.ubd[j] + du + Iabs_d) / kap
    else:
        # v = P(t) + e^{-rh} (v_l - P(t_l)) with the steady state P = (c0 tau + pf) / kappa, written
        # so that the constant part never cancels: c0 tau can dwarf delta (a long leak, a strong
        # drive), and P(t) - e^{-rh} P(t_l) would lose eps c0 tau / kappa; the analog part pf is
        # bounded by the span of the drive (sup|u| min(tau, t - t0), or |a_m| / omega_m)
        em = expm1(-r * h)
        v[0] = ((em + 1.0) * net.vl[j] - em * (net.c0[j] * net.tau[j] / kap)
                + (pf - (em + 1.0) * net.Fl[j]) / kap + exp_int / kap)
        dv[0] = -r * v[0] + u / kap
        U = fabs(net.c0[j]) + net.ub[j] + Iabs
        Ud = net.ubd[j] + du + Iabs_d
        Vb = fabs(v[0])
        if net.tau[j] * U / kap > Vb:
            Vb = net.tau[j] * U / kap
        K[0] = r * (r * Vb + U / kap) + Ud / kap


cdef inline double _drive_sup(Net* net, Py_ssize_t j, double t) noexcept nogil:
    """An upper bound of the drive u of neuron j from t on (until its next event)."""
    cdef double U = net.c0[j] + net.ub[j]
    cdef Py_ssize_t c
    cdef double h = t - net.tl[j]
    for c in range(net.C):
        if net.I[j * net.C + c] > 0.0:
            U += net.I[j * net.C + c] * exp(-net.exp_rtau[c] * h)
    return U


cdef inline double _tol(Net* net, Py_ssize_t j, double F) noexcept nogil:
    """Rounding level of the integrator evaluation of neuron j at a point where the analog
    antiderivative / steady state is F: the Fourier and sinc parts round at their bound pb, a
    piecewise part at the size of its integral there and at the stored state (it is anchored at
    the window start and grows with time, so a bound over the window would be too loose early
    on: with delta far below it, a neuron fired at once on a negative drive)."""
    cdef double t = net.delta[j] + fabs(net.vl[j]) + net.pb[j] / net.kappa[j]
    if net.pp_L[j] > 0:
        t += (fabs(F) + fabs(net.Fl[j])) / net.kappa[j]
    return 16.0 * EPS * t


cdef inline void store_state(Net* net, Py_ssize_t j, double t, double v, double F) noexcept nogil:
    """Make (t, v, F) neuron j's stored state, decaying its synaptic currents to t."""
    cdef Py_ssize_t c
    cdef double h = t - net.tl[j]
    for c in range(net.C):
        if net.I[j * net.C + c] != 0.0:
            net.I[j * net.C + c] *= exp(-net.exp_rtau[c] * h)
    net.vl[j] = v
    net.Fl[j] = F
    net.tl[j] = t


cdef void advance(Net* net, Py_ssize_t j, double t) noexcept nogil:
    """Move the stored state of neuron j to time t (no event applied)."""
    cdef double v, dv, K, F
    if t == net.tl[j]:
        return
    eval_state(net, j, t, &v, &dv, &K, &F)
    store_state(net, j, t, v, F)


cdef inline bint _no_currents(Net* net, Py_ssize_t j) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(net.C):
        if net.I[j * net.C + c] != 0.0:
            return False
    return True


cdef inline bint _is_simple(Net* net, Py_ssize_t j) noexcept nogil:
    """Constant drive: no Fourier part and no synaptic current."""
    return net.const_drive[j] and _no_currents(net, j)


cdef double refine(Net* net, Py_ssize_t j, double lo, double hi, double g, double dv) noexcept nogil:
    """Root of g = v - delta in [lo, hi] where g is increasing, g(lo) < 0 <= g(hi);
    ``g`` and ``dv`` are the values already known at ``lo``."""
    cdef double x, v, K, F, dx, xn
    cdef double delt = net.delta[j]
    cdef int it
    x = lo
    for it in range(MAX_REFINE):
        if dv > 0.0:
            xn = x - g / dv
        else:
            xn = 0.5 * (lo + hi)
        if not (xn > lo and xn < hi):
            xn = 0.5 * (lo + hi)
        dx = xn - x
        x = xn
        net.n_refine += 1
        eval_state(net, j, x, &v, &dv, &K, &F)
        g = v - delt
        if g < 0.0:
            lo = x
        else:
            hi = x
        if g == 0.0 or hi - lo <= 2.0 * EPS * fabs(hi):
            return x
        if dv > 0.0 and (fabs(g) <= _tol(net, j, F) or fabs(g) <= 4.0 * EPS * fabs(x) * dv):
            # at the rounding floor of g: one last Newton correction, kept in the bracket
            xn = x - g / dv
            if xn < lo:
                xn = lo
            if xn > hi:
                xn = hi
            return xn
    return x


cdef inline void schedule(Net* net, Py_ssize_t j) noexcept nogil:
    schedule_from(net, j, False, 0.0, 0.0, 0.0, 0.0)


cdef void schedule_from(Net* net, Py_ssize_t j, bint known, double v1, double dv1, double K1,
                        double F1) noexcept nogil:
    """Search neuron j's next threshold crossing from its search point and update the heap.
    With ``known``, (v1, dv1, K1) are the state's values at the search point (saves one evaluation)."""
    cdef double t = net.search_from[j]
    cdef double t_end = net.t_end
    cdef double v, dv, K, F, g, hs, hl, disc, den, lo, hi, vr, dvr, Kr, Fr, P, x, tv
    cdef bint capped
    cdef double delt = net.delta[j]
    cdef double tol
    cdef Py_ssize_t step
    cdef Py_ssize_t item = net.P + j
    if _is_simple(net, j):
        # constant drive: closed form from the stored state
        v = net.vl[j]
        if net.rtau[j] == 0.0:
            if net.c0[j] > 0.0:
                hs = net.kappa[j] * (delt - v) / net.c0[j]
            else:
                hs = INFINITY
        else:
            P = net.c0[j] * net.tau[j] / net.kappa[j]
            if P > delt:
                hs = net.tau[j] * log1p((delt - v) / (P - delt))
            else:
                hs = INFINITY
        x = net.tl[j] + hs
        if x <= t_end:
            net.ev_kind[j] = EV_CROSS
            heap_update(net, item, x)
        else:
            net.ev_kind[j] = EV_NONE
            heap_update(net, item, INFINITY)
        return
    for step in range(MAX_STEPS_PER_SEARCH):
        net.n_steps += 1
        if known and step == 0:
            v = v1
            dv = dv1
            K = K1
            F = F1
        else:
            eval_state(net, j, t, &v, &dv, &K, &F)
        tol = _tol(net, j, F)
        g = v - delt
        # at threshold, or within rounding of it while rising (a falling v within rounding below
        # threshold is no crossing: with delta near the rounding level it fired at every reset)
        if g >= 0.0 or (g >= -tol and dv > 0.0):
            net.ev_kind[j] = EV_CROSS
            heap_update(net, item, t)
            return
        if net.rtau[j] > 0.0 and v < delt and net.tau[j] * _drive_sup(net, j, t) / net.kappa[j] < delt - tol:
            # leaky: v relaxes towards at most tau sup(u) / kappa, which stays below threshold:
            # no crossing until the next event (this also spares tiny-tau neurons their tiny steps)
            net.ev_kind[j] = EV_NONE
            heap_update(net, item, INFINITY)
            return
        # largest step the quadratic upper bound allows: g + dv h + K h^2 / 2 < 0
        # (g < 0: its positive root, in the form without cancellation for each sign of dv -- for
        # dv < 0, -2g / (dv + sqrt(disc)) divided by a difference that rounds to 0 when
        # K |g| << dv^2, and the infinite step skipped every later crossing)
        disc = dv * dv - 2.0 * K * g
        if dv > 0.0:
            hs = -2.0 * g / (dv + sqrt(disc))
        elif K > 0.0:
            hs = (sqrt(disc) - dv) / K
        else:
            hs = INFINITY
        # K holds until tv only (a piecewise drive's piece end): step at most there
        tv = _valid_until(net, j, t)
        if t + hs > tv:
            hs = tv - t
        if net.rtau[j] == 0.0 and net.pp_L[j] == 0 and _no_currents(net, j):
            # perfect, Fourier and sinc drive only: the oscillating part of the integral is bounded by
            # sup|F| = pb, so v(t+h) - v(t) <= (max(c0, 0) h + pb - F(t)) / kappa; for fast
            # oscillations this step is far longer than the curvature one
            x = -net.kappa[j] * g - (net.pb[j] - F)
            if x > 0.0:
                if net.c0[j] > 0.0:
                    x = x / net.c0[j]
                else:
                    x = INFINITY
                if x > hs:
                    hs = x
        elif net.rtau[j] > 0.0 and _no_currents(net, j):
            # leaky, Fourier drive only: v(t+h) = P(t+h) + e^{-h/tau} (v - P(t)) <= P(t) + |P'| h + max(v - P(t), 0);
            # a short leak makes |P'| small and this step much longer than the curvature one
            P = (net.c0[j] * net.tau[j] + F) / net.kappa[j]
            # less the rounding of P (c0 tau can dwarf delta), so the step never passes a crossing
            x = delt - P - (v - P if v > P else 0.0) - 4.0 * EPS * (fabs(net.c0[j] * net.tau[j]) + fabs(F)) / net.kappa[j]
            if x > 0.0:
                if net.pbd[j] > 0.0:
                    x = x * net.kappa[j] / net.pbd[j]
                else:
                    x = INFINITY
                if x > hs:
                    hs = x
        if t + hs > t_end:
            net.ev_kind[j] = EV_NONE
            heap_update(net, item, INFINITY)
            return
        if dv > 0.0:
            # lower bound g + dv h - K h^2 / 2 reaches 0 inside the region where g' > 0
            disc = dv * dv + 2.0 * K * g
            if disc >= 0.0:
                hl = -2.0 * g / (dv + sqrt(disc))
                # g is increasing on [t, t + hl] and has its only root in [t + hs, t + hl];
                # beyond tv the bound K no longer holds, so the bracket stops there
                capped = t + hl > tv
                hi = tv if capped else t + hl
                lo = t + hs
                if lo < hi or not capped:
                    eval_state(net, j, lo, &vr, &dvr, &Kr, &Fr)
                    if vr - delt >= -_tol(net, j, Fr):
                        net.ev_kind[j] = EV_CROSS
                        heap_update(net, item, lo)
                        return
                    if hi > t_end:
                        hi = t_end
                        capped = True
                    if capped:
                        eval_state(net, j, hi, &v, &dv, &K, &F)
                        if v - delt < 0.0:
                            if hi >= t_end:
                                net.ev_kind[j] = EV_NONE
                                heap_update(net, item, INFINITY)
                                return
                            # no crossing up to the piece end: search on from there
                            t = hi
                            continue
                    x = refine(net, j, lo, hi, vr - delt, dvr)
                    net.ev_kind[j] = EV_CROSS
                    heap_update(net, item, x)
                    return
        if t + hs <= t:
            # no representable progress: the integrator sits at threshold to rounding
            net.ev_kind[j] = EV_CROSS
            heap_update(net, item, t)
            return
        t = t + hs
    # not found within the step budget: resume from here later
    net.search_from[j] = t
    net.ev_kind[j] = EV_CHECK
    heap_update(net, item, t)


# --------------------------------------------------------------------------- output and FIFOs
cdef int push_spike(Net* net, double t, Py_ssize_t j) except -1 nogil:
    cdef Py_ssize_t newcap
    cdef double* nt
    cdef Py_ssize_t* ni
    if net.n_out >= net.max_spikes:
        return -3
    if net.n_out == net.cap_out:
        newcap = 2 * net.cap_out
        if newcap > net.max_spikes:
            newcap = net.max_spikes
        nt = <double*> realloc(net.out_t, newcap * sizeof(double))
        if nt == NULL:
            with gil:
                raise MemoryError("tem_sim: cannot grow the spike buffer")
        net.out_t = nt
        ni = <Py_ssize_t*> realloc(net.out_i, newcap * sizeof(Py_ssize_t))
        if ni == NULL:
            with gil:
                raise MemoryError("tem_sim: cannot grow the spike buffer")
        net.out_i = ni
        net.cap_out = newcap
    net.out_t[net.n_out] = t
    net.out_i[net.n_out] = j
    net.n_out += 1
    return 0


cdef int fifo_grow(Fifo* f) except -1 nogil:
    """Double the ring buffer of a projection's FIFO (capacities stay powers of two)."""
    cdef Py_ssize_t newcap = 2 * f.cap if f.cap > 0 else 64
    cdef Py_ssize_t k
    cdef Arrival* nb = <Arrival*> malloc(newcap * sizeof(Arrival))
    if nb == NULL:
        with gil:
            raise MemoryError("tem_sim: cannot grow a spike queue")
    for k in range(f.size):
        nb[k] = f.buf[(f.head + k) & (f.cap - 1)]
    free(f.buf)
    f.buf = nb
    f.head = 0
    f.cap = newcap
    return 0


cdef inline int fifo_push(Net* net, Py_ssize_t p, double t, Py_ssize_t src) except -1 nogil:
    cdef Fifo* f = &net.fifo[p]
    cdef Py_ssize_t idx
    if f.size == f.cap:
        fifo_grow(f)
    idx = (f.head + f.size) & (f.cap - 1)
    f.buf[idx].t = t
    f.buf[idx].src = src
    f.size += 1
    if f.size == 1:
        heap_update(net, p, t)
    return 0


cdef int preload(Net* net) except -1 nogil:
    """Put the given spikes of the spike sources in flight (each FIFO holds one source
    population's spikes, so it stays in time order)."""
    cdef Py_ssize_t q, k, p, i
    for q in range(net.n_g):
        i = net.g_i[q]
        for k in range(net.out_ptr[i], net.out_ptr[i + 1]):
            p = net.out_proj[k]
            fifo_push(net, p, net.g_t[q] + net.delay[p], i)
    return 0


cdef int fire(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """Record a spike of neuron j at t and send it down every outgoing projection."""
    cdef int rc
    cdef Py_ssize_t k, p
    rc = push_spike(net, t, j)
    if rc != 0:
        return rc
    for k in range(net.out_ptr[j], net.out_ptr[j + 1]):
        p = net.out_proj[k]
        fifo_push(net, p, t + net.delay[p], j)
    return 0


cdef void refractory(Net* net, Py_ssize_t j, double t) noexcept nogil:
    """Neuron j (general path, state stored at t) fired at t: clamp v at its stored value until
    t + t_ref, the stored state moving there (integration resumes from it; the synaptic currents
    are decayed to it and the analog part is evaluated there)."""
    cdef double ts = t + net.tref[j]
    cdef double F, du
    if ts == t:
        return
    if ts > net.t_end:
        store_state(net, j, ts, net.vl[j], net.Fl[j])   # never evaluated again
        return
    _analog(net, j, ts, &F, &du)
    store_state(net, j, ts, net.vl[j], F)


cdef inline void resched(Net* net, Py_ssize_t j) noexcept nogil:
    """Search neuron j's next crossing from its stored state (after a refractory period's end)."""
    if net.tl[j] > net.t_end:
        net.ev_kind[j] = EV_NONE
        heap_update(net, net.P + j, INFINITY)
        return
    net.search_from[j] = net.tl[j]
    schedule(net, j)


cdef int fire_while_above(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """After a jump at t (state stored at t): the subtractive reset fires once per 2 delta while
    v >= delta (repeated firing rule); a reset value fires once and sets v to it. Then the
    refractory period."""
    cdef int rc
    if net.vl[j] < net.delta[j]:
        return 0
    if net.rmode[j] == R_SUBTRACT:
        while net.vl[j] >= net.delta[j]:
            rc = fire(net, j, t)
            if rc != 0:
                return rc
            net.vl[j] -= 2.0 * net.delta[j]
    else:
        rc = fire(net, j, t)
        if rc != 0:
            return rc
        net.vl[j] = net.vreset[j]
    refractory(net, j, t)
    return 0


cdef inline void defer(Net* net, Py_ssize_t j) noexcept nogil:
    """After an inhibitory arrival the next crossing can only come later: keep the heap key
    as a lower bound and search again, from that key, when it comes up (no heap update)."""
    if net.ev_kind[j] != EV_NONE:
        net.search_from[j] = net.hot[net.P + j].key
        net.ev_kind[j] = EV_CHECK


# --------------------------------------------------------------------------- fast neurons
cdef inline double fast_next(Hot* h, double t_end) noexcept nogil:
    """Next threshold crossing of a fast neuron from its stored state, or INFINITY when there is
    none by t_end (the arithmetic of schedule_from's closed forms)."""
    cdef double x, P
    if h.fast == F_PERFECT:
        if h.c0 > 0.0:
            x = h.tl + h.kappa * (h.delta - h.vl) / h.c0
            if x <= t_end:
                return x
        return INFINITY
    P = h.c0 * h.tau / h.kappa
    if P > h.delta:
        x = h.tl + h.tau * log1p((h.delta - h.vl) / (P - h.delta))
        if x <= t_end:
            return x
    return INFINITY


cdef inline void fast_advance(Hot* h, double t) noexcept nogil:
    """Move a fast neuron's state to t (no event applied)."""
    cdef double em
    if h.fast == F_PERFECT:
        h.vl += h.c0 * (t - h.tl) / h.kappa
    else:
        em = expm1(-(t - h.tl) / h.tau)
        h.vl = (em + 1.0) * h.vl - em * (h.c0 * h.tau / h.kappa)
    h.tl = t


cdef inline void fast_key(Net* net, Hot* h, Py_ssize_t item, double x) noexcept nogil:
    """Make x (from fast_next) the exact heap key of fast neuron ``item`` (record h)."""
    cdef double old = h.key
    h.ev = EV_CROSS if x < INFINITY else EV_NONE
    h.key = x
    if x < old:
        sift_up(net, item, x)
    elif x > old:
        sift_down(net, item, x)
    else:
        net.heap[h.pos].key = x


cdef int fast_fire_while_above(Net* net, Hot* h, Py_ssize_t j, double t) except -1 nogil:
    """fire_while_above() for a fast neuron (v >= delta at t)."""
    cdef int rc
    if net.rmode[j] == R_SUBTRACT:
        while h.vl >= h.delta:
            rc = fire(net, j, t)
            if rc != 0:
                return rc
            h.vl -= 2.0 * h.delta
    else:
        rc = fire(net, j, t)
        if rc != 0:
            return rc
        h.vl = net.vreset[j]
    h.tl = t + net.tref[j]
    return 0


# --------------------------------------------------------------------------- Poisson sources
cdef inline unsigned long long _rotl(unsigned long long x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline double rng_uniform(unsigned long long* s) noexcept nogil:
    """xoshiro256** (Blackman and Vigna): a uniform double in [0, 1) with 53 random bits."""
    cdef unsigned long long r = _rotl(s[1] * 5ULL, 7) * 9ULL
    cdef unsigned long long t = s[1] << 17
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return <double> (r >> 11) * (1.0 / 9007199254740992.0)


cdef inline double poisson_next(Net* net, Py_ssize_t q, double t) noexcept nogil:
    """Time of the next event of source population q's merged process after t (INFINITY past t_end):
    an exponential interval of its total rate, -log(1 - U) / rate with U in [0, 1)."""
    cdef double x = t - log1p(-rng_uniform(net.pz_state + 4 * q)) / net.pz_total[q]
    return x if x <= net.t_end else INFINITY


cdef int poisson_event(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """The merged process of the source population driven by item j has an event at t: it belongs
    to a neuron drawn with probability proportional to its rate; send (and record) its spike and
    draw the next event."""
    cdef Py_ssize_t q = net.pz_of[j]
    cdef Py_ssize_t n = net.pz_n[q], lo, hi, mid, i, k, p
    cdef const double* cum
    cdef double u = rng_uniform(net.pz_state + 4 * q)
    cdef int rc
    if net.pz_cum_off[q] < 0:
        i = <Py_ssize_t> (u * n)
        if i >= n:
            i = n - 1
    else:
        # first neuron whose cumulative share exceeds u (shares normalised to end at 1)
        cum = net.pz_cum + net.pz_cum_off[q]
        lo = 0
        hi = n - 1
        while lo < hi:
            mid = (lo + hi) >> 1
            if cum[mid] > u:
                hi = mid
            else:
                lo = mid + 1
        i = lo
    i += net.pz_first[q]
    if net.pz_record[q]:
        rc = push_spike(net, t, i)
        if rc != 0:
            return rc
    for k in range(net.out_ptr[i], net.out_ptr[i + 1]):
        p = net.out_proj[k]
        fifo_push(net, p, t + net.delay[p], i)
    heap_update(net, net.P + j, poisson_next(net, q, t))
    return 0


# --------------------------------------------------------------------------- simultaneous arrivals
cdef inline void dd_add(double* hi, double* lo, double x) noexcept nogil:
    """(hi, lo) += x in double-double arithmetic (TwoSum, then a renormalisation): the sum of the
    arrivals of one instant is exact whenever it spans at most 106 bits, so that its rounding,
    hence the neuron's state, does not depend on the order in which they were delivered."""
    cdef double s = hi[0] + x
    cdef double bp = s - hi[0]
    cdef double e = (hi[0] - (s - bp)) + (x - bp)
    cdef double l = lo[0] + e
    hi[0] = s + l
    lo[0] = l - (hi[0] - s)


cdef inline bint pend(Net* net, Py_ssize_t j) noexcept nogil:
    """Make neuron j pending at the open instant; True when it just became so."""
    if net.pflag[j]:
        return False
    net.pflag[j] = 1
    net.plist[net.n_plist] = j
    net.n_plist += 1
    net.acc_hi[j] = 0.0
    net.acc_lo[j] = 0.0
    return True


cdef int _idx_cmp(const void* a, const void* b) noexcept nogil:
    cdef Py_ssize_t x = (<const Py_ssize_t*> a)[0]
    cdef Py_ssize_t y = (<const Py_ssize_t*> b)[0]
    return (x > y) - (x < y)


cdef int flush_instant(Net* net, double t) except -1 nogil:
    """Apply the summed arrivals of instant t to each pending neuron, in index order, and test its
    threshold once (run_loop)."""
    cdef Py_ssize_t k, j
    cdef double s
    cdef int rc
    cdef unsigned char ex
    cdef Hot* h
    if net.n_plist > 1:
        qsort(net.plist, net.n_plist, sizeof(Py_ssize_t), _idx_cmp)
    for k in range(net.n_plist):
        j = net.plist[k]
        ex = net.pflag[j] & 2
        net.pflag[j] = 0
        s = net.acc_hi[j] + net.acc_lo[j]
        h = &net.hot[net.P + j]
        if h.fast:
            h.vl += s / h.kappa
            if h.vl >= h.delta:
                rc = fast_fire_while_above(net, h, j, t)
                if rc != 0:
                    return rc
                fast_key(net, h, net.P + j, fast_next(h, net.t_end))
            elif s > 0.0:
                fast_key(net, h, net.P + j, fast_next(h, net.t_end))
            elif s < 0.0 and h.ev != EV_NONE:
                h.ev = EV_CHECK
            continue
        net.vl[j] += s / net.kappa[j]
        if net.vl[j] >= net.delta[j]:
            rc = fire_while_above(net, j, t)
            if rc != 0:
                return rc
        if s < 0.0 and not ex and net.vl[j] < net.delta[j]:
            defer(net, j)
        else:
            resched(net, j)
    net.n_plist = 0
    return 0


cdef inline void arrive_refractory(Net* net, Py_ssize_t j, double t, double w, int kd,
                                   Py_ssize_t ch) noexcept nogil:
    """An arrival at t inside neuron j's refractory period (its state is stored at the period's end
    tl > t): a delta arrival is ignored; an exponential current flows on, so it joins the stored
    current decayed to tl, and the next crossing is searched again."""
    if kd == K_DELTA:
        return
    net.I[j * net.C + ch] += w * exp(-net.exp_rtau[ch] * (net.tl[j] - t))
    resched(net, j)


cdef int deliver_summed(Net* net, double t, Py_ssize_t k0, Py_ssize_t k1, int kd,
                        Py_ssize_t ch) except -1 nogil:
    """deliver() at an instant with several arrivals: each target moves to t and the weights of its
    delta arrivals are summed; flush_instant() applies the sums once the instant's last arrival
    is in (exponential currents are added at once: they make no jump)."""
    cdef Py_ssize_t k, tgt
    cdef double w
    cdef Hot* h
    for k in range(k0, k1):
        tgt = net.targets[k]
        w = net.weights[k]
        h = &net.hot[net.P + tgt]
        if h.fast:
            if t < h.tl:
                continue
            if pend(net, tgt):
                fast_advance(h, t)
            dd_add(&net.acc_hi[tgt], &net.acc_lo[tgt], w)
            continue
        if t < net.tl[tgt]:
            arrive_refractory(net, tgt, t, w, kd, ch)
            continue
        if pend(net, tgt):
            advance(net, tgt, t)
        if kd == K_DELTA:
            dd_add(&net.acc_hi[tgt], &net.acc_lo[tgt], w)
        else:
            net.I[tgt * net.C + ch] += w
            net.pflag[tgt] |= 2
    net.n_syn_events += k1 - k0
    return 0


cdef int deliver(Net* net, Py_ssize_t p) except -1 nogil:
    """Deliver the spike at the head of projection p's FIFO to all its targets.

    Fast targets are updated in a first pass that only computes (their new state, and their next
    crossing when it moved earlier or the target fired); their heap keys are set in a second pass.
    The targets of one row are distinct neurons and nothing reads a neuron's key in between, so the
    heap holds the same keys after the delivery as with one pass, and the first pass runs without
    branches that wait for its divisions."""
    cdef Fifo* f = &net.fifo[p]
    cdef double t = f.buf[f.head].t
    cdef Py_ssize_t src = f.buf[f.head].src
    cdef Py_ssize_t row = net.indptr_off[p] + (src - net.pre_start[p])
    cdef Py_ssize_t k, tgt, k0, k1, i, n_pend = 0
    cdef Py_ssize_t P = net.P
    cdef double w
    cdef double t_end = net.t_end
    cdef int rc
    cdef int kd = net.kind[p]
    cdef Py_ssize_t ch = net.chan[p]
    cdef bint more
    cdef Hot* hot = net.hot + P        # neuron records
    cdef Hot* h
    cdef const Py_ssize_t* targets = net.targets
    cdef const double* weights = net.weights
    cdef Py_ssize_t* pend_j = net.pend_j
    cdef double* pend_x = net.pend_x
    f.head = (f.head + 1) & (f.cap - 1)
    f.size -= 1
    if f.size > 0:
        heap_update(net, p, f.buf[f.head].t)
        # the next arrival of this projection is probably the next delivery: start loading its row
        k = net.indptr[net.indptr_off[p] + (f.buf[f.head].src - net.pre_start[p])]
        TEM_PREFETCH(&targets[k])
        TEM_PREFETCH(&weights[k])
    else:
        heap_update(net, p, INFINITY)
    net.n_deliveries += 1
    k0 = net.indptr[row]
    k1 = net.indptr[row + 1]
    # another arrival at this very instant (arrivals come first among equal keys): sum them all
    more = net.heap[0].key == t and net.heap[0].id < P
    if more or net.acc_open:
        net.acc_open = more
        rc = deliver_summed(net, t, k0, k1, kd, ch)
        if rc == 0 and not more:
            rc = flush_instant(net, t)
        return rc
    for k in range(k0, k1):
        if k + 8 < k1:
            TEM_PREFETCH(&hot[targets[k + 8]])
        tgt = targets[k]
        w = weights[k]
        h = &hot[tgt]
        if h.fast:
            # perfect or leaky integrator with constant drive: closed form throughout
            if t < h.tl:
                continue                # refractory: the arrival is ignored
            if h.fast == F_PERFECT:
                h.vl += (h.c0 * (t - h.tl) + w) / h.kappa
                h.tl = t
            else:
                fast_advance(h, t)
                h.vl += w / h.kappa
            if h.vl >= h.delta:
                rc = fast_fire_while_above(net, h, tgt, t)
                if rc != 0:
                    return rc
                pend_j[n_pend] = tgt
                pend_x[n_pend] = fast_next(h, t_end)
                n_pend += 1
                TEM_PREFETCH(&net.heap[h.pos >> 1])
            elif w > 0.0:
                pend_j[n_pend] = tgt
                pend_x[n_pend] = fast_next(h, t_end)
                n_pend += 1
                TEM_PREFETCH(&net.heap[h.pos >> 1])
            elif w < 0.0 and h.ev != EV_NONE:
                h.ev = EV_CHECK     # the key stays a lower bound (see defer)
            continue
        if t < net.tl[tgt]:
            arrive_refractory(net, tgt, t, w, kd, ch)
            continue
        advance(net, tgt, t)
        if kd == K_DELTA:
            net.vl[tgt] += w / net.kappa[tgt]
            if net.vl[tgt] >= net.delta[tgt]:
                rc = fire_while_above(net, tgt, t)
                if rc != 0:
                    return rc
        else:
            net.I[tgt * net.C + ch] += w
        if w < 0.0 and net.vl[tgt] < net.delta[tgt]:
            defer(net, tgt)
        else:
            resched(net, tgt)
    for i in range(n_pend):
        fast_key(net, &hot[pend_j[i]], P + pend_j[i], pend_x[i])
    net.n_syn_events += k1 - k0
    return 0


# --------------------------------------------------------------------------- sliced loop
# A network of fast neurons only (perfect integrators with constant drive, delta synapses) whose
# shortest delay d is positive is run in slices [T, T + d): every spike that arrives in a slice was
# fired before it, so within a slice the neurons do not interact. The slice's arrivals are delivered
# in event order; a target first takes its own crossings and checks that come before the arrival
# (its key is below the arrival time), then the arrival, exactly as deliver() does; the crossings
# left in the slice are found through per-block lower bounds of the keys. Keys and event kinds follow
# the same rules as in run_loop(), so every neuron sees the same events with the same arithmetic.
# The slice's spikes are then emitted in event order (arrival-fired spikes in delivery order, merged
# with the crossings sorted by (time, neuron), arrivals first at equal times), which fills the output
# and the FIFOs exactly as run_loop() would. No neuron is kept in the heap, which holds the
# projections only.
#
# Two things a slice cannot reproduce: a check that finds the crossing (by a rounding) earlier than
# the key it was scheduled at, after other events in between; and a delay below the resolution of
# the time (T + d == T: a spike can arrive at the instant it was fired). run_sliced() then stops
# with SLICED_RESTART and the caller runs run_loop() from the start.

cdef int sl_push(SpikeRec** buf, Py_ssize_t* n, Py_ssize_t* cap, double t, Py_ssize_t j,
                 Py_ssize_t seq) except -1 nogil:
    cdef Py_ssize_t newcap
    cdef SpikeRec* nb
    if n[0] == cap[0]:
        newcap = 2 * cap[0] if cap[0] > 0 else 256
        nb = <SpikeRec*> realloc(buf[0], newcap * sizeof(SpikeRec))
        if nb == NULL:
            with gil:
                raise MemoryError("tem_sim: cannot grow a slice's spike buffer")
        buf[0] = nb
        cap[0] = newcap
    buf[0][n[0]].t = t
    buf[0][n[0]].j = j
    buf[0][n[0]].seq = seq
    n[0] += 1
    return 0


cdef inline int sl_full(Net* net) noexcept nogil:
    """-3 once the spikes of the slice would take the output past max_spikes (they will all be emitted)."""
    if net.n_out + net.n_arr + net.n_cross > net.max_spikes:
        return -3
    return 0


cdef inline double sl_next(SHot* h, double t_end) noexcept nogil:
    """fast_next() for a sliced-loop record (the same value, without a branch on the quotient)."""
    if h.c0 > 0.0:
        return tem_cap(h.tl + h.kappa * (h.delta - h.vl) / h.c0, t_end)
    return INFINITY


cdef void sl_lower(Net* net, Py_ssize_t s2, double x) noexcept nogil:
    net.bm2[s2] = x
    if x < net.bm3[s2 >> 6]:
        net.bm3[s2 >> 6] = x
    if x < net.gmin:
        net.gmin = x


cdef inline void sl_key(Net* net, SHot* h, Py_ssize_t j, double x) noexcept nogil:
    """fast_key() without the heap: set neuron j's key and lower its block's bound."""
    cdef Py_ssize_t b = j >> 3
    cdef double m = net.bm1[b]
    h.ev = EV_CROSS if x < INFINITY else EV_NONE
    h.key = x
    net.bm1[b] = x if x < m else m            # (these compile to selects, not to branches that
                                                # would wait for the division)
    if x < net.bm2[b >> 6]:                     # rarely: a new lowest key of 512 neurons
        sl_lower(net, b >> 6, x)


cdef int sl_resolve(Net* net, SHot* h, Py_ssize_t j, double limit) except -1 nogil:
    """Process neuron j's crossings and checks whose key is below ``limit`` (run_loop()'s rules)."""
    cdef double x
    while h.key < limit:
        if h.ev == EV_CROSS:
            sl_push(&net.sl_cross, &net.n_cross, &net.cap_cross, h.key, j, net.n_cross)
            if sl_full(net):
                return -3
            h.vl = -h.delta
            h.tl = h.key
            sl_key(net, h, j, sl_next(h, net.t_end))
        else:
            x = sl_next(h, net.t_end)
            if x < h.key:
                return SLICED_RESTART
            sl_key(net, h, j, x)
    return 0


cdef int deliver_sliced(Net* net, Py_ssize_t p) except -1 nogil:
    """deliver() for the sliced loop: fast targets only, spikes collected for the end of the slice."""
    cdef Fifo* f = &net.fifo[p]
    cdef double t = f.buf[f.head].t
    cdef Py_ssize_t src = f.buf[f.head].src
    cdef Py_ssize_t row = net.indptr_off[p] + (src - net.pre_start[p])
    cdef Py_ssize_t k, kp, tgt, k0, k1
    cdef double w
    cdef double t_end = net.t_end
    cdef int rc
    cdef SHot* hot = net.sh
    cdef SHot* h
    cdef bint more
    cdef const Py_ssize_t* targets = net.targets
    cdef const double* weights = net.weights
    f.head = (f.head + 1) & (f.cap - 1)
    f.size -= 1
    if f.size > 0:
        heap_update(net, p, f.buf[f.head].t)
        # the next arrival of this projection is probably the next delivery: load its whole row
        k = net.indptr_off[p] + (f.buf[f.head].src - net.pre_start[p])
        k1 = net.indptr[k + 1]
        k = net.indptr[k]
        while k < k1:
            TEM_PREFETCH(&targets[k])
            TEM_PREFETCH(&weights[k])
            k += 8
    else:
        heap_update(net, p, INFINITY)
    net.n_deliveries += 1
    k0 = net.indptr[row]
    k1 = net.indptr[row + 1]
    more = net.heap[0].key == t
    if more or net.acc_open:
        # several arrivals at this instant: summed per target, applied after the last (as in deliver)
        net.acc_open = more
        for k in range(k0, k1):
            tgt = targets[k]
            h = &hot[tgt]
            if h.key < t:
                rc = sl_resolve(net, h, tgt, t)
                if rc != 0:
                    return rc
            if pend(net, tgt):
                if h.rk != 0.0:
                    h.vl += h.c0 * (t - h.tl) * h.rk
                else:
                    h.vl += h.c0 * (t - h.tl) / h.kappa
                h.tl = t
            dd_add(&net.acc_hi[tgt], &net.acc_lo[tgt], weights[k])
        net.n_syn_events += k1 - k0
        if not more:
            return flush_sliced(net, t)
        return 0
    for k in range(k0, k1):
        kp = k + 8
        TEM_PREFETCH(&hot[targets[kp if kp < k1 else k]])
        tgt = targets[k]
        w = weights[k]
        h = &hot[tgt]
        if h.key < t:
            rc = sl_resolve(net, h, tgt, t)
            if rc != 0:
                return rc
        if h.rk != 0.0:
            h.vl += (h.c0 * (t - h.tl) + w) * h.rk
        else:
            h.vl += (h.c0 * (t - h.tl) + w) / h.kappa
        h.tl = t
        if h.vl >= h.delta:
            while h.vl >= h.delta:
                sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, t, tgt, 0)
                if sl_full(net):
                    return -3
                h.vl -= 2.0 * h.delta
            sl_key(net, h, tgt, sl_next(h, t_end))
        elif w > 0.0:
            sl_key(net, h, tgt, sl_next(h, t_end))
        elif w < 0.0:
            h.ev = EV_CHECK if h.ev != EV_NONE else EV_NONE
    net.n_syn_events += k1 - k0
    return 0


cdef int flush_sliced(Net* net, double t) except -1 nogil:
    """flush_instant() for the sliced loop (the same arithmetic, spikes collected for the slice's end)."""
    cdef Py_ssize_t k, j
    cdef double s
    cdef SHot* h
    if net.n_plist > 1:
        qsort(net.plist, net.n_plist, sizeof(Py_ssize_t), _idx_cmp)
    for k in range(net.n_plist):
        j = net.plist[k]
        net.pflag[j] = 0
        s = net.acc_hi[j] + net.acc_lo[j]
        h = &net.sh[j]
        if h.rk != 0.0:
            h.vl += s * h.rk
        else:
            h.vl += s / h.kappa
        if h.vl >= h.delta:
            while h.vl >= h.delta:
                sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, t, j, 0)
                if sl_full(net):
                    net.n_plist = 0
                    return -3
                h.vl -= 2.0 * h.delta
            sl_key(net, h, j, sl_next(h, net.t_end))
        elif s > 0.0:
            sl_key(net, h, j, sl_next(h, net.t_end))
        elif s < 0.0:
            h.ev = EV_CHECK if h.ev != EV_NONE else EV_NONE
    net.n_plist = 0
    return 0


cdef int _cross_cmp(const void* a, const void* b) noexcept nogil:
    cdef const SpikeRec* x = <const SpikeRec*> a
    cdef const SpikeRec* y = <const SpikeRec*> b
    if x.t < y.t:
        return -1
    if x.t > y.t:
        return 1
    if x.j != y.j:
        return -1 if x.j < y.j else 1
    if x.seq != y.seq:
        return -1 if x.seq < y.seq else 1
    return 0


cdef int sl_scan(Net* net, double E) except -1 nogil:
    """Process every crossing and check with a key below E, descending only into the blocks whose
    lower bound is below E; recompute the bounds of the blocks visited and the global one."""
    cdef Py_ssize_t s3, s2, b, j, e2, e1, e0
    cdef double g = INFINITY, m3, m2, m1
    cdef int rc
    cdef SHot* h
    cdef double* bm1 = net.bm1
    cdef double* bm2 = net.bm2
    cdef double* bm3 = net.bm3
    for s3 in range(net.nb3):
        if bm3[s3] < E:
            m3 = INFINITY
            e2 = min((s3 + 1) << 6, net.nb2)
            for s2 in range(s3 << 6, e2):
                if bm2[s2] < E:
                    m2 = INFINITY
                    e1 = min((s2 + 1) << 6, net.nb1)
                    for b in range(s2 << 6, e1):
                        if bm1[b] < E:
                            m1 = INFINITY
                            e0 = min((b + 1) << 3, net.N)
                            for j in range(b << 3, e0):
                                h = &net.sh[j]
                                if h.key < E:
                                    rc = sl_resolve(net, h, j, E)
                                    if rc != 0:
                                        return rc
                                if h.key < m1:
                                    m1 = h.key
                            bm1[b] = m1
                        if bm1[b] < m2:
                            m2 = bm1[b]
                    bm2[s2] = m2
                if bm2[s2] < m3:
                    m3 = bm2[s2]
            bm3[s3] = m3
        if bm3[s3] < g:
            g = bm3[s3]
    net.gmin = g
    return 0


cdef int run_sliced(Net* net, double dmin) except -1 nogil:
    cdef Py_ssize_t ia, ic, work = 0, syn0
    cdef double T, E
    cdef double t_end = net.t_end
    cdef int rc
    T = net.gmin
    if net.heap[0].key < T:
        T = net.heap[0].key          # given spikes already in flight
    while T <= t_end:
        E = T + dmin
        if not (E > T):
            return SLICED_RESTART    # the delay is below the resolution of the time: no slice fits
        net.n_slices += 1
        syn0 = net.n_syn_events
        # the slice's arrivals, in event order (all of them are in the FIFOs already)
        while net.heap[0].key < E and net.heap[0].key <= t_end:
            rc = deliver_sliced(net, net.heap[0].id)
            if rc != 0:
                return rc
        # crossings and checks left in the slice
        if net.gmin < E:
            rc = sl_scan(net, E)
            if rc != 0:
                return rc
            work += net.nb3 + 64
        # the slice's spikes in event order: output and FIFOs
        if net.n_cross > 1:
            qsort(net.sl_cross, net.n_cross, sizeof(SpikeRec), _cross_cmp)
        ia = 0
        ic = 0
        while ia < net.n_arr or ic < net.n_cross:
            if ic < net.n_cross and (ia == net.n_arr or net.sl_cross[ic].t < net.sl_arr[ia].t):
                rc = fire(net, net.sl_cross[ic].j, net.sl_cross[ic].t)
                ic += 1
            else:
                rc = fire(net, net.sl_arr[ia].j, net.sl_arr[ia].t)
                ia += 1
            if rc != 0:
                return rc
        work += net.n_arr + net.n_cross + 1 + (net.n_syn_events - syn0) // 16
        net.n_arr = 0
        net.n_cross = 0
        if work > SIGNAL_CHECK_EVERY:
            work = 0
            with gil:
                if PyErr_CheckSignals() != 0:
                    return -1
        T = net.heap[0].key
        if net.gmin < T:
            T = net.gmin
        if T < E:
            T = E
    return 0


cdef void record(Net* net, double t, double* row, const Py_ssize_t* rec_idx,
                 Py_ssize_t n_rec_idx) noexcept nogil:
    cdef Py_ssize_t k, j
    cdef double v, dv, K, F
    for k in range(n_rec_idx):
        j = rec_idx[k]
        if net.hot[net.P + j].fast:
            net.tl[j] = net.hot[net.P + j].tl
            net.vl[j] = net.hot[net.P + j].vl
        if t < net.tl[j]:
            row[k] = net.vl[j]          # clamped in a refractory period
            continue
        eval_state(net, j, t, &v, &dv, &K, &F)
        row[k] = v


cdef int run_loop(Net* net, const double* rec_t, Py_ssize_t n_rec_t, const Py_ssize_t* rec_idx,
                  Py_ssize_t n_rec_idx, double* traces) except -1 nogil:
    cdef Py_ssize_t item, j, r = 0, n_ev = 0
    cdef double t, v, dv, K, F
    cdef int rc
    cdef Hot* h
    while True:
        item = net.heap[0].id
        t = net.heap[0].key
        while r < n_rec_t and rec_t[r] < t and rec_t[r] <= net.t_end:
            record(net, rec_t[r], traces + r * n_rec_idx, rec_idx, n_rec_idx)
            r += 1
        if not (t <= net.t_end):
            break
        n_ev += 1
        if n_ev % SIGNAL_CHECK_EVERY == 0:
            with gil:
                if PyErr_CheckSignals() != 0:
                    return -1
        if item < net.P:
            rc = deliver(net, item)
            if rc != 0:
                return rc
        else:
            j = item - net.P
            h = &net.hot[item]
            if h.fast == F_POISSON:
                rc = poisson_event(net, j, t)
                if rc != 0:
                    return rc
            elif h.fast:
                if h.ev == EV_CROSS:
                    # at the crossing v = delta exactly: reset (to -delta when subtracting) and fire;
                    # integration resumes after the refractory period
                    h.vl = net.vreset[j]
                    h.tl = t + net.tref[j]
                    rc = fire(net, j, t)
                    if rc != 0:
                        return rc
                fast_key(net, h, item, fast_next(h, net.t_end))
            elif net.ev_kind[j] == EV_CROSS and (net.rmode[j] != R_SUBTRACT or net.tref[j] != 0.0):
                # a reset value or a refractory period: the state after the reset is searched afresh
                # (|v_reset| may exceed delta, which the curvature bound K of the crossing assumed)
                eval_state(net, j, t, &v, &dv, &K, &F)
                store_state(net, j, t, net.vreset[j], F)
                rc = fire(net, j, t)
                if rc != 0:
                    return rc
                refractory(net, j, t)
                resched(net, j)
            elif net.ev_kind[j] == EV_CROSS:
                # state at the crossing, then the reset; the derivative after the reset follows
                # from the one before (perfect: unchanged; leaky: shifted by r (v + delta)), and the
                # curvature bound stays valid (|v| is delta on both sides)
                eval_state(net, j, t, &v, &dv, &K, &F)
                store_state(net, j, t, -net.delta[j], F)
                dv = dv + net.rtau[j] * (v + net.delta[j])
                rc = fire(net, j, t)
                if rc != 0:
                    return rc
                net.search_from[j] = t
                schedule_from(net, j, True, -net.delta[j], dv, K, F)
            else:
                net.search_from[j] = t
                schedule(net, j)
    while r < n_rec_t and rec_t[r] <= net.t_end:
        record(net, rec_t[r], traces + r * n_rec_idx, rec_idx, n_rec_idx)
        r += 1
    return 0


cdef int run_events(Net* net, const double* rec_t, Py_ssize_t n_rec_t, const Py_ssize_t* rec_idx,
                    Py_ssize_t n_rec_idx, double* traces) except -1 nogil:
    """Run the simulation from its initial state: run_sliced() when the network allows it (and no
    traces are recorded), else, or when it stops with SLICED_RESTART, run_loop()."""
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t N = net.N
    cdef Py_ssize_t n = P + N
    cdef Py_ssize_t i, b, p
    cdef double dmin = INFINITY
    cdef bint sliced = USE_SLICED and n_rec_t == 0 and P > 0 and net.C == 0
    cdef Hot* hot_save = NULL
    cdef HeapEntry* heap_save = NULL
    cdef void* sh_mem = NULL
    cdef int e2
    cdef int rc = 0
    if sliced:
        for p in range(P):
            if net.delay[p] < dmin:
                dmin = net.delay[p]
        sliced = dmin > 0.0
        for i in range(N):
            # perfect integrators with the subtractive reset and no refractory period only
            if net.hot[P + i].fast != F_PERFECT or net.rmode[i] != R_SUBTRACT or net.tref[i] != 0.0:
                sliced = False
                break
    if sliced:
        hot_save = <Hot*> malloc(n * sizeof(Hot))
        heap_save = <HeapEntry*> malloc(n * sizeof(HeapEntry))
        net.nb1 = (N + 7) >> 3
        net.nb2 = (net.nb1 + 63) >> 6
        net.nb3 = (net.nb2 + 63) >> 6
        net.bm1 = <double*> malloc((net.nb1 + net.nb2 + net.nb3) * sizeof(double))
        sh_mem = malloc(N * sizeof(SHot) + 64)
        if hot_save == NULL or heap_save == NULL or net.bm1 == NULL or sh_mem == NULL:
            free(hot_save)
            free(heap_save)
            free(net.bm1)
            free(sh_mem)
            net.bm1 = NULL
            with gil:
                raise MemoryError("tem_sim: cannot allocate the simulation state")
        net.sh = <SHot*> ((<size_t> sh_mem + 63) & ~(<size_t> 63))
        for i in range(N):
            net.sh[i].tl = net.hot[P + i].tl
            net.sh[i].vl = net.hot[P + i].vl
            net.sh[i].c0 = net.hot[P + i].c0
            net.sh[i].kappa = net.hot[P + i].kappa
            net.sh[i].delta = net.hot[P + i].delta
            net.sh[i].key = net.hot[P + i].key
            net.sh[i].ev = net.hot[P + i].ev
            net.sh[i].rk = 0.0
            if frexp(net.sh[i].kappa, &e2) == 0.5 and isfinite(1.0 / net.sh[i].kappa) and 1.0 / net.sh[i].kappa != 0.0:
                net.sh[i].rk = 1.0 / net.sh[i].kappa
        memcpy(hot_save, net.hot, n * sizeof(Hot))
        memcpy(heap_save, net.heap, n * sizeof(HeapEntry))
        # the heap holds the projections only (in flight: the given spikes of spike sources)
        for p in range(P):
            net.heap[p].key = INFINITY
            net.heap[p].id = p
            net.hot[p].key = INFINITY
            net.hot[p].pos = p
        net.n_items = P
        for p in range(P):
            if net.fifo[p].size > 0:
                heap_update(net, p, net.fifo[p].buf[net.fifo[p].head].t)
        net.bm2 = net.bm1 + net.nb1
        net.bm3 = net.bm2 + net.nb2
        for b in range(net.nb1 + net.nb2 + net.nb3):
            net.bm1[b] = INFINITY
        net.gmin = INFINITY
        for i in range(N):
            if net.sh[i].key < net.bm1[i >> 3]:
                net.bm1[i >> 3] = net.sh[i].key
            if net.sh[i].key < net.bm2[i >> 9]:
                net.bm2[i >> 9] = net.sh[i].key
            if net.sh[i].key < net.bm3[i >> 15]:
                net.bm3[i >> 15] = net.sh[i].key
            if net.sh[i].key < net.gmin:
                net.gmin = net.sh[i].key
        try:
            rc = run_sliced(net, dmin)
            if rc == SLICED_RESTART or rc == -3:
                # start again, event by event (at max_spikes too: run_loop() stops with exactly the
                # first max_spikes spikes in event order, which a slice cannot tell before its end)
                memcpy(net.hot, hot_save, n * sizeof(Hot))
                memcpy(net.heap, heap_save, n * sizeof(HeapEntry))
                net.n_items = n
                for p in range(P):
                    net.fifo[p].head = 0
                    net.fifo[p].size = 0
                preload(net)
                net.n_out = 0
                net.n_deliveries = 0
                net.n_syn_events = 0
                net.n_arr = 0
                net.n_cross = 0
                net.n_slices = 0
                net.n_restarts += 1
                for i in range(N):
                    net.pflag[i] = 0
                net.n_plist = 0
                net.acc_open = False
                sliced = False
        finally:
            free(hot_save)
            free(heap_save)
            free(sh_mem)
            net.sh = NULL
    if not sliced:
        rc = run_loop(net, rec_t, n_rec_t, rec_idx, n_rec_idx, traces)
    return rc


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
             const Py_ssize_t[::1] pz_first, const Py_ssize_t[::1] pz_n, const double[::1] pz_total,
             const Py_ssize_t[::1] pz_cum_off, const double[::1] pz_cum,
             const unsigned char[::1] pz_record, const unsigned long long[:, ::1] pz_seed):
    """Run the event loop. Arguments are trusted (validated by the callers).

    ``vreset``, ``rmode``, ``tref``: per neuron, ``v`` after a crossing, the reset mode (0: subtract
    2 delta, 1: set to ``vreset``) and the refractory period. ``g_t``, ``g_i``: the given spikes of
    spike sources, sorted by time (neurons of the flat index space with no drive). ``pz_*``: per
    Poisson source population, its first neuron and size, total rate, offset of its cumulative
    rate shares in ``pz_cum`` (-1: equal rates), whether its spikes are recorded, and the
    xoshiro256** seed (4 words, not all zero).

    Returns
    -------
    times, indices, traces, stats, status
        ``status`` is 0 on success, -3 when ``max_spikes`` was reached.
    """
    cdef Net net
    cdef Py_ssize_t N = kappa.shape[0]
    cdef Py_ssize_t P = delay.shape[0]
    cdef Py_ssize_t C = exp_tau.shape[0]
    cdef Py_ssize_t Mmax = a_re.shape[1]
    cdef Py_ssize_t j, c, p, i, q
    cdef int rc = 0
    cdef double[:, ::1] traces = np.zeros((rec_t.shape[0], rec_idx.shape[0]), dtype=np.float64)
    cdef double[::1] omega = np.zeros(N)
    cdef double[::1] rtau = np.zeros(N)
    cdef double[::1] exp_rtau = np.zeros(max(C, 1))
    cdef double dummy_d = 0.0
    cdef Py_ssize_t dummy_i = 0
    cdef int dummy_k = 0
    cdef double[::1] tv
    cdef Py_ssize_t[::1] iv
    cdef Py_ssize_t Q = pz_first.shape[0]
    cdef Py_ssize_t[::1] pz_of = np.full(max(N, 1), -1, dtype=np.intp)
    cdef unsigned long long[:, ::1] pz_state = np.array(pz_seed, dtype=np.uint64) if Q else np.ones((1, 4), dtype=np.uint64)
    if P + N >= 2147483647:
        raise ValueError("tem_sim: more than 2**31 - 1 neurons and projections")
    for q in range(Q):
        pz_of[pz_first[q]] = q
    for j in range(N):
        omega[j] = 2.0 * np.pi / period[j]
        rtau[j] = 1.0 / tau[j] if isfinite(tau[j]) else 0.0
    for c in range(C):
        exp_rtau[c] = 1.0 / exp_tau[c]
    cdef unsigned char[::1] const_drive = np.zeros(N, dtype=np.uint8)
    cdef Py_ssize_t[::1] pp_cur = np.zeros(N, dtype=np.intp)
    cdef double[::1] sn_cs = np.empty(max(sn_s.shape[0], 1))
    cdef double[::1] sn_sn = np.empty(max(sn_s.shape[0], 1))
    for j in range(N):
        # a neuron's centres share its bandwidth (one sinc bank per slice)
        for q in range(sn_so[j], sn_so[j] + sn_K[j]):
            sn_cs[q] = cos(sn_w[j] * sn_s[q])
            sn_sn[q] = sin(sn_w[j] * sn_s[q])
    cdef double dummy_du = 0.0
    for j in range(N):
        const_drive[j] = nharm[j] == 0 and sn_K[j] == 0 and pp_L[j] == 0

    net.N = N
    net.P = P
    net.C = C
    net.Mmax = Mmax
    net.kappa = &kappa[0]
    net.delta = &delta[0]
    net.c0 = &c0[0]
    net.rtau = &rtau[0]
    net.tau = &tau[0]
    net.period = &period[0]
    net.omega = &omega[0]
    net.nharm = &nharm[0]
    net.a_re = &a_re[0, 0] if Mmax > 0 else &dummy_d
    net.a_im = &a_im[0, 0] if Mmax > 0 else &dummy_d
    net.p_re = &p_re[0, 0] if Mmax > 0 else &dummy_d
    net.p_im = &p_im[0, 0] if Mmax > 0 else &dummy_d
    net.ub = &ub[0]
    net.ubd = &ubd[0]
    net.pb = &pb[0]
    net.pbd = &pbd[0]
    net.exp_rtau = &exp_rtau[0]
    net.vreset = &vreset[0]
    net.rmode = &rmode[0]
    net.tref = &tref[0]
    net.pz_of = &pz_of[0]
    net.pz_first = &pz_first[0] if Q > 0 else &dummy_i
    net.pz_n = &pz_n[0] if Q > 0 else &dummy_i
    net.pz_total = &pz_total[0] if Q > 0 else &dummy_d
    net.pz_cum_off = &pz_cum_off[0] if Q > 0 else &dummy_i
    net.pz_cum = &pz_cum[0] if pz_cum.shape[0] > 0 else &dummy_d
    net.pz_record = &pz_record[0] if Q > 0 else <const unsigned char*> &dummy_k
    net.pz_state = &pz_state[0, 0]
    net.g_t = &g_t[0] if g_t.shape[0] > 0 else &dummy_d
    net.g_i = &g_i[0] if g_i.shape[0] > 0 else &dummy_i
    net.n_g = g_t.shape[0]
    net.const_drive = &const_drive[0]
    net.sn_K = &sn_K[0]
    net.sn_so = &sn_so[0]
    net.sn_co = &sn_co[0]
    net.sn_w = &sn_w[0]
    net.sn_s = &sn_s[0] if sn_s.shape[0] > 0 else &dummy_d
    net.sn_a = &sn_a[0] if sn_a.shape[0] > 0 else &dummy_d
    net.sn_cs = &sn_cs[0]
    net.sn_sn = &sn_sn[0]
    net.pp_L = &pp_L[0]
    net.pp_bo = &pp_bo[0]
    net.pp_co = &pp_co[0]
    net.pp_D1 = pp_c.shape[1]
    net.pp_b = &pp_b[0] if pp_b.shape[0] > 0 else &dummy_d
    net.pp_c = &pp_c[0, 0] if pp_c.shape[0] * pp_c.shape[1] > 0 else &dummy_d
    net.pp_G = &pp_G[0] if pp_G.shape[0] > 0 else &dummy_d
    net.pp_du = &pp_du[0] if pp_du.shape[0] > 0 else &dummy_d
    net.pp_we = &pp_we[0] if pp_we.shape[0] > 0 else &dummy_d
    net.pp_cur = &pp_cur[0]
    net.delay = &delay[0] if P > 0 else &dummy_d
    net.kind = &kind[0] if P > 0 else &dummy_k
    net.chan = &chan[0] if P > 0 else &dummy_i
    net.pre_start = &pre_start[0] if P > 0 else &dummy_i
    net.indptr_off = &indptr_off[0] if P > 0 else &dummy_i
    net.indptr = &indptr[0] if indptr.shape[0] > 0 else &dummy_i
    net.targets = &targets[0] if targets.shape[0] > 0 else &dummy_i
    net.weights = &weights[0] if weights.shape[0] > 0 else &dummy_d
    net.out_ptr = &out_ptr[0]
    net.out_proj = &out_proj[0] if out_proj.shape[0] > 0 else &dummy_i
    net.t_end = t_end
    net.max_spikes = max_spikes
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
    net.acc_hi = <double*> malloc(N * sizeof(double))
    net.acc_lo = <double*> malloc(N * sizeof(double))
    net.pflag = <unsigned char*> calloc(N, sizeof(unsigned char))
    net.plist = <Py_ssize_t*> malloc(N * sizeof(Py_ssize_t))
    net.n_plist = 0
    net.acc_open = False
    net.heap = <HeapEntry*> malloc((P + N) * sizeof(HeapEntry))
    net.hot_mem = malloc((P + N) * sizeof(Hot) + 64)
    cdef Py_ssize_t max_row = 1
    for i in range(indptr.shape[0] - 1):
        if indptr[i + 1] - indptr[i] > max_row:
            max_row = indptr[i + 1] - indptr[i]
    net.pend_j = <Py_ssize_t*> malloc(max_row * sizeof(Py_ssize_t))
    net.pend_x = <double*> malloc(max_row * sizeof(double))
    net.hot = <Hot*> ((<size_t> net.hot_mem + 63) & ~(<size_t> 63))
    net.fifo = <Fifo*> malloc(max(P, 1) * sizeof(Fifo))
    net.cap_out = 1024 if max_spikes > 1024 else max(max_spikes, 1)
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
    try:
        if (net.tl == NULL or net.vl == NULL or net.Fl == NULL or net.I == NULL
                or net.search_from == NULL or net.ev_kind == NULL
                or net.acc_hi == NULL or net.acc_lo == NULL or net.pflag == NULL or net.plist == NULL
                or net.heap == NULL or net.fifo == NULL or net.hot_mem == NULL
                or net.pend_j == NULL or net.pend_x == NULL
                or net.out_t == NULL or net.out_i == NULL):
            raise MemoryError("tem_sim: cannot allocate the simulation state")
        for i in range(P + N):
            net.hot[i].key = INFINITY
            net.hot[i].pos = i
            net.hot[i].fast = 0
            net.heap[i].id = i
            net.heap[i].key = INFINITY
        with nogil:
            for j in range(N):
                net.tl[j] = 0.0
                net.vl[j] = v0[j]
                net.search_from[j] = 0.0
                net.ev_kind[j] = EV_NONE
                for c in range(C):
                    net.I[j * C + c] = 0.0
                _analog(&net, j, 0.0, &net.Fl[j], &dummy_du)
            for j in range(N):
                schedule(&net, j)
            for j in range(N):
                # an integrator with constant drive (perfect or leaky) in a network of delta
                # synapses only keeps its state in the packed array from here on
                net.hot[P + j].fast = F_GENERAL
                if C == 0 and const_drive[j]:
                    net.hot[P + j].fast = F_PERFECT if rtau[j] == 0.0 else F_LEAKY
                net.hot[P + j].tl = net.tl[j]
                net.hot[P + j].vl = net.vl[j]
                net.hot[P + j].c0 = net.c0[j]
                net.hot[P + j].kappa = net.kappa[j]
                net.hot[P + j].delta = net.delta[j]
                net.hot[P + j].tau = tau[j]
                net.hot[P + j].ev = net.ev_kind[j]
            for q in range(Q):
                net.hot[P + pz_first[q]].fast = F_POISSON
                heap_update(&net, P + pz_first[q], poisson_next(&net, q, 0.0))
            preload(&net)
            rc = run_events(&net, &rec_t[0] if rec_t.shape[0] > 0 else &dummy_d, rec_t.shape[0],
                            &rec_idx[0] if rec_idx.shape[0] > 0 else &dummy_i, rec_idx.shape[0],
                            &traces[0, 0] if traces.shape[0] * traces.shape[1] > 0 else &dummy_d)
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
                 "slices": net.n_slices, "sliced_restarts": net.n_restarts}
        return times, idx, np.asarray(traces), stats, rc
    finally:
        for p in range(P):
            if net.fifo != NULL:
                free(net.fifo[p].buf)
        free(net.tl); free(net.vl); free(net.Fl); free(net.I); free(net.search_from)
        free(net.ev_kind); free(net.heap); free(net.fifo)
        free(net.acc_hi); free(net.acc_lo); free(net.pflag); free(net.plist)
        free(net.hot_mem); free(net.pend_j); free(net.pend_x)
        free(net.bm1); free(net.sl_arr); free(net.sl_cross)
        free(net.out_t); free(net.out_i)


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
