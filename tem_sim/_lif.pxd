# cython: language_level=3
"""The leaky sliced loop (compiled core, tem_sim._core): run_lif and its setup.

For networks of leaky integrate-and-fire neurons with constant drive and delta
synapses (NEST's iaf_psc_delta, the Brunel and Brette networks: any reset,
any refractory period) sharing one membrane time constant tau, whose shortest
delay d is positive. Time runs in windows [T, T + d): a spike fired in a
window arrives after it, so within a window the neurons do not interact and
each one can be moved through its own events lazily, when an arrival reaches
it or at the window's end.

A neuron's state is u = (v - P) e^{(t - G)/tau}, P its steady state and G an
origin shared by all neurons (moved now and then, rebase). Between events u
is constant, so an arrival of weight w at t adds (w/kappa) E(t) with
E(t) = e^{(t - G)/tau}, one exponential per spike for all its targets, and
the threshold test is u >= (delta - P) E(t). A neuron whose steady state is
above threshold crosses by itself where E = X = u / (delta - P): X is kept
per neuron, with lower bounds per block of neurons, so that the window's
crossings are found without a logarithm (one is taken per spike, for its
time). A Poisson neuron whose spikes are not recorded and reach one neuron
only is that neuron's private drive: its events are drawn lazily, in the
target's own pass, from its own stream, by the same arithmetic as in run_loop.
Other Poisson neurons emit their events at the window's end. The window's
spikes are emitted sorted by (time, neuron) into the output and the FIFOs.
Simultaneous arrivals are summed in double-double before one threshold test,
as in run_loop; a crossing by drift within rounding of an arrival is taken as
simultaneous with it, so the arrival comes first (lif_catch_up). The arithmetic differs from run_loop's closed forms by a few
roundings, so a chaotic network's spikes agree with run_loop's only up to the
time its chaos amplifies them. Inline functions, compiled into the module that
cimports them.
"""

from libc.math cimport exp, log, fabs, nextafter, INFINITY
from libc.stdlib cimport malloc, free, qsort

from tem_sim._core_types cimport *
from tem_sim._heap cimport heap_update, heap_of_projections, ctrl_c
from tem_sim._random cimport rng_exp
from tem_sim._events cimport fire, send, pend, dd_add
from tem_sim._sliced cimport sl_push, _cross_cmp

cdef extern from *:
    """
    #define TEM_REBASE 8.0     /* move the origin G once (t - G) / tau exceeds this */
    #define TEM_BLK 4          /* log2 of the neurons per block of crossing bounds */
    #define TEM_SBLK 10        /* log2 of the neurons per superblock */
    /* a private Poisson drive, one cache line: its source's last event s, the weight and delay of its connection, 1 / rate, and its generator's state (a copy of the Poisson
       neuron's) */
    typedef struct { double s, w, d, rr; unsigned long long st[4]; } tem_kstream;
    /* e^x for 0 <= x < 1/32: Taylor to degree 7 (remainder below 3e-17 relative), Estrin's scheme */
    static inline double tem_exp_small(double x) {
        double x2 = x * x, x4 = x2 * x2;
        return ((1.0 + x) + x2 * (0.5 + x * (1.0 / 6.0)))
               + x4 * ((1.0 / 24.0 + x * (1.0 / 120.0)) + x2 * (1.0 / 720.0 + x * (1.0 / 5040.0)));
    }
    /* the drive's next event (poisson_next()'s arithmetic: the same events as run_loop's), and
       its E from the previous one's: E(t + e / rate) = E(t) e^{e / (rate tau)}, the factor by the
       series when e / (rate tau) < 1/32 (the window's end computes E afresh, so the roundings of
       the products do not pile up) */
    static inline void tem_next_kick(tem_kstream* k, double* tk, double* Ek, double t_end,
                                     double rtau, double G) {
        double e = tem_rng_exp(k->st);
        double x = k->s + e * k->rr;
        double a = e * (k->rr * rtau);
        k->s = x;
        if (x <= t_end && x + k->d <= t_end) {
            *tk = x + k->d;
            *Ek = a < 0.03125 ? *Ek * tem_exp_small(a) : exp((*tk - G) * rtau);
        } else {
            *tk = INFINITY;
            *Ek = INFINITY;
        }
    }
    /* the drive's events before lim at a neuron that cannot cross by drift (state u, refractory
       until tl, threshold thr in E units): 1 when one of them takes it to threshold (applied; *tk
       and *Ek are that event's: the caller fires and draws the next), 0 when none is left */
    static inline int tem_kicks(double* u_, double* tk_, double* Ek_, tem_kstream* k, double tl,
                                double thr, double rk, double lim, double t_end, double rtau,
                                double G, Py_ssize_t* n_) {
        double u = *u_, tk = *tk_, Ek = *Ek_, w = k->w * rk;
        Py_ssize_t n = 0;
        int fired = 0;
        while (tk < lim) {
            n++;
            if (tk >= tl) {
                u += w * Ek;
                if (u >= thr * Ek) {
                    fired = 1;
                    break;
                }
            }
            tem_next_kick(k, &tk, &Ek, t_end, rtau, G);
        }
        *u_ = u;
        *tk_ = tk;
        *Ek_ = Ek;
        *n_ += n;
        return fired;
    }
    """
    const double REBASE "TEM_REBASE"
    const int BLK "TEM_BLK"
    const int SBLK "TEM_SBLK"
    ctypedef struct KStream "tem_kstream":
        double s
        double w
        double d
        double rr
        unsigned long long st[4]
    void tem_next_kick(KStream* k, double* tk, double* Ek, double t_end, double rtau, double G) noexcept nogil
    int tem_kicks(double* u, double* tk, double* Ek, KStream* k, double tl, double thr, double rk,
                  double lim, double t_end, double rtau, double G, Py_ssize_t* n) noexcept nogil


cdef struct LHot:
    # one cache line per neuron
    double u                  # (v - P) e^{(t - G) / tau}: constant between events
    double thr                # delta - P
    double X                  # the E of its next crossing by drift (thr < 0), else INFINITY
    double rthr               # 1 / thr when thr < 0, else 0
    double rk                 # 1 / kappa
    double tl                 # its last event, or the end of its refractory period (arrivals before: ignored)
    double tk                 # the arrival time of its private Poisson drive's next event (INFINITY: none)
    double Ek                 # E(tk)


cdef struct LRec:
    # a neuron's two cache lines, side by side (the second is read only by a private drive's events)
    LHot h
    KStream k


cdef struct Lif:
    LRec* r                   # N, 64-byte aligned
    void* h_mem
    double* lP                # N: steady state P
    double* vr                # N: v_reset - P
    double* ert               # N: e^{t_ref / tau}
    Py_ssize_t* streams       # the neurons with a private drive
    Py_ssize_t n_streams
    Py_ssize_t* emit          # the other Poisson neurons (their index among the Poisson neurons)
    double* em_t              # their next events
    Py_ssize_t n_emit
    double* bmin              # lower bounds of X per block, per superblock, and of all
    double* smin
    double gmin
    Py_ssize_t nb
    Py_ssize_t ns
    double G
    double rtau
    double tau
    const double* rec_t       # the times at which traces are recorded, ascending
    Py_ssize_t n_rec_t
    Py_ssize_t rr             # the next of them
    const Py_ssize_t* rec_idx # the neurons recorded
    Py_ssize_t n_rec_idx
    double* traces            # n_rec_t x n_rec_idx


# --------------------------------------------------------------------------- one neuron
cdef inline double lif_E(Lif* L, double t) noexcept nogil:
    return exp((t - L.G) * L.rtau)


cdef inline void lif_lower(Lif* L, Py_ssize_t j, double X) noexcept nogil:
    """Neuron j's crossing moved to X: lower the bounds."""
    if X < L.bmin[j >> BLK]:
        L.bmin[j >> BLK] = X
        if X < L.smin[j >> SBLK]:
            L.smin[j >> SBLK] = X
            if X < L.gmin:
                L.gmin = X


cdef inline int lif_fire(Net* net, Lif* L, Py_ssize_t j, double t, double Et) except -1 nogil:
    """Neuron j is at or above threshold at t (E(t) = Et): its spikes, reset and refractory period."""
    cdef LHot* h = &L.r[j].h
    cdef double d2
    h.tl = t
    if net.rmode[j] == R_SUBTRACT:
        d2 = 2.0 * net.delta[j] * Et
        while h.u >= h.thr * Et:
            sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, t, j, 0)
            h.u -= d2
        if net.tref[j] != 0.0:
            h.u *= L.ert[j]            # v clamped until t + t_ref
            h.tl = t + net.tref[j]
    else:
        sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, t, j, 0)
        h.u = L.vr[j] * Et * L.ert[j]
        h.tl = t + net.tref[j]
    if h.rthr != 0.0:
        h.X = h.u * h.rthr
        lif_lower(L, j, h.X)
    return 0


cdef inline int lif_jump(Net* net, Lif* L, Py_ssize_t j, double t, double Et, double w) except -1 nogil:
    """A jump of weight w at t reaches neuron j (not refractory): apply it and test the threshold."""
    cdef LHot* h = &L.r[j].h
    h.u += w * h.rk * Et
    h.tl = t
    if h.u >= h.thr * Et:
        return lif_fire(net, L, j, t, Et)
    if h.rthr != 0.0:
        h.X = h.u * h.rthr
        lif_lower(L, j, h.X)
    return 0


cdef inline void lif_next_kick(Net* net, Lif* L, Py_ssize_t j) noexcept nogil:
    """Draw neuron j's private drive's next event (tem_next_kick)."""
    tem_next_kick(&L.r[j].k, &L.r[j].h.tk, &L.r[j].h.Ek, net.t_end, L.rtau, L.G)


cdef inline int lif_kicks(Net* net, Lif* L, Py_ssize_t j, double lim) except -1 nogil:
    """lif_catch_up() for a neuron that cannot cross by drift (its steady state is below threshold):
    its private drive's events before ``lim`` only (tem_kicks, in C)."""
    cdef LHot* h = &L.r[j].h
    cdef Py_ssize_t n = 0
    cdef int rc
    while tem_kicks(&h.u, &h.tk, &h.Ek, &L.r[j].k, h.tl, h.thr, h.rk, lim, net.t_end, L.rtau, L.G, &n):
        rc = lif_fire(net, L, j, h.tk, h.Ek)
        if rc != 0:
            return rc
        lif_next_kick(net, L, j)
    net.n_syn_events += n
    net.n_deliveries += n
    return 0


cdef inline int lif_catch_up(Net* net, Lif* L, Py_ssize_t j, double lim, double Elim,
                             bint arrival=False) except -1 nogil:
    """Move neuron j through its own events before ``lim`` (E(lim) = Elim): its crossings by drift
    and its private drive's arrivals. With ``arrival`` (an arrival at lim comes next), a crossing
    at lim itself, to within rounding, is left for after it: the arrivals of an instant come
    before its threshold test (in a recurrent network a crossing and an arrival often coincide
    exactly, being the same sums of delays and intervals in another order)."""
    cdef LHot* h = &L.r[j].h
    cdef double tn, En, ts
    cdef int rc
    if h.rthr == 0.0:
        return lif_kicks(net, L, j, lim)
    while True:
        if h.tk < lim:
            tn = h.tk
            En = h.Ek
        else:
            tn = lim
            En = Elim
        if h.X <= En:
            # v reaches delta where E = X, before the next event
            ts = L.G + L.tau * log(h.X)
            if arrival and tn == lim and ts >= lim - 64.0 * EPS * (fabs(lim) + L.tau):
                return 0
            if ts < h.tl:
                ts = h.tl
            if ts > tn:
                ts = tn
            if ts > net.t_end:
                h.X = INFINITY
                continue
            h.u = h.thr * h.X
            rc = lif_fire(net, L, j, ts, h.X)
            if rc != 0:
                return rc
            continue
        if h.tk < lim:
            net.n_syn_events += 1
            net.n_deliveries += 1
            if tn >= h.tl:
                rc = lif_jump(net, L, j, tn, En, L.r[j].k.w)
                if rc != 0:
                    return rc
            lif_next_kick(net, L, j)
            continue
        return 0


# --------------------------------------------------------------------------- arrivals
cdef inline void lif_absorb_kicks(Net* net, Lif* L, Py_ssize_t j, double t) noexcept nogil:
    """Neuron j is pending at instant t: its private drive's events at t join the sum."""
    while L.r[j].h.tk == t:
        dd_add(&net.acc[j].hi, &net.acc[j].lo, L.r[j].k.w)
        net.n_syn_events += 1
        net.n_deliveries += 1
        lif_next_kick(net, L, j)


cdef inline int lif_flush(Net* net, Lif* L, double t, double Et) except -1 nogil:
    """Apply the summed arrivals of instant t to each pending neuron (one threshold test each)."""
    cdef Py_ssize_t k, j
    cdef int rc
    for k in range(net.n_plist):
        j = net.plist[k]
        rc = lif_jump(net, L, j, t, Et, net.acc[j].hi + net.acc[j].lo)
        if rc != 0:
            return rc
    net.n_plist = 0
    return 0


cdef inline int lif_deliver(Net* net, Lif* L, Py_ssize_t p) except -1 nogil:
    """Deliver the spike at the head of projection p's FIFO to all its targets."""
    cdef Fifo* f = &net.fifo[p]
    cdef double t = f.buf[f.head].t
    cdef Py_ssize_t src = f.buf[f.head].src
    cdef Py_ssize_t row = net.indptr_off[p] + (src - net.pre_start[p])
    cdef Py_ssize_t k, kp, j, k0, k1, nk = 0
    cdef double Et, w
    cdef int rc
    cdef bint more, summed
    cdef LHot* h
    cdef const Py_ssize_t* targets = net.targets
    f.head = (f.head + 1) & (f.cap - 1)
    f.size -= 1
    heap_update(net, p, f.buf[f.head].t if f.size > 0 else INFINITY)
    net.n_deliveries += 1
    k0 = net.indptr[row]
    k1 = net.indptr[row + 1]
    Et = lif_E(L, t)
    more = net.heap[0].key == t
    summed = more or net.acc_open
    if not net.acc_open:
        net.instant += 1            # (also for a private drive's event at exactly t, which is summed)
    net.acc_open = more
    net.n_summed += summed
    for k in range(k0, k1):
        kp = k + 8
        if kp < k1:
            TEM_PREFETCH(&L.r[targets[kp]].h)
            TEM_PREFETCH(&L.r[targets[kp]].k)
        j = targets[k]
        w = net.weights[k]
        h = &L.r[j].h
        if h.tk < t and h.rthr == 0.0:
            # the private drive's events before t (tem_kicks, inlined here: the common case)
            while tem_kicks(&h.u, &h.tk, &h.Ek, &L.r[j].k, h.tl, h.thr, h.rk, t, net.t_end, L.rtau, L.G,
                            &nk):
                rc = lif_fire(net, L, j, h.tk, h.Ek)
                if rc != 0:
                    return rc
                lif_next_kick(net, L, j)
        elif h.tk < t or h.X <= Et:
            rc = lif_catch_up(net, L, j, t, Et, True)
            if rc != 0:
                return rc
        if t < h.tl:
            continue                # refractory: ignored
        if summed or h.tk == t:
            if pend(net, j):
                lif_absorb_kicks(net, L, j, t)
            dd_add(&net.acc[j].hi, &net.acc[j].lo, w)
            continue
        h.u += w * h.rk * Et
        h.tl = t
        if h.u >= h.thr * Et:
            rc = lif_fire(net, L, j, t, Et)
            if rc != 0:
                return rc
        elif h.rthr != 0.0:
            h.X = h.u * h.rthr
            lif_lower(L, j, h.X)
    net.n_syn_events += k1 - k0 + nk
    net.n_deliveries += nk
    if not more and net.n_plist > 0:
        net.acc_open = False
        return lif_flush(net, L, t, Et)
    return 0


# --------------------------------------------------------------------------- the window's end
cdef inline int lif_scan(Net* net, Lif* L, double T1, double E1) except -1 nogil:
    """Move every neuron whose crossing by drift comes before T1 (X <= E1) to T1, descending only
    into the blocks whose bound is at most E1; the bounds of the blocks visited are made exact."""
    cdef Py_ssize_t s, b, j, b1, j1
    cdef double ms, mb
    cdef int rc
    for s in range(L.ns):
        if L.smin[s] > E1:
            continue
        ms = INFINITY
        b1 = min((s + 1) << (SBLK - BLK), L.nb)
        for b in range(s << (SBLK - BLK), b1):
            if L.bmin[b] <= E1:
                mb = INFINITY
                j1 = min((b + 1) << BLK, net.N)
                for j in range(b << BLK, j1):
                    if L.r[j].h.X <= E1:
                        rc = lif_catch_up(net, L, j, T1, E1)
                        if rc != 0:
                            return rc
                    if L.r[j].h.X < mb:
                        mb = L.r[j].h.X
                L.bmin[b] = mb
            if L.bmin[b] < ms:
                ms = L.bmin[b]
        L.smin[s] = ms
    L.gmin = INFINITY
    for s in range(L.ns):
        if L.smin[s] < L.gmin:
            L.gmin = L.smin[s]
    return 0


cdef inline int lif_emit(Net* net, Lif* L) except -1 nogil:
    """The window's spikes, sorted by (time, neuron): into the output (Poisson neurons: when
    recorded) and down the projections."""
    cdef Py_ssize_t a, j, q
    cdef double t
    cdef int rc
    if net.n_arr > 1:
        qsort(net.sl_arr, net.n_arr, sizeof(SpikeRec), _cross_cmp)
    for a in range(net.n_arr):
        t = net.sl_arr[a].t
        j = net.sl_arr[a].j
        q = net.pz_of[j]
        if q < 0 or net.pz_record[q]:
            rc = fire(net, j, t)
        else:
            rc = send(net, j, t)            # an unrecorded Poisson neuron
        if rc != 0:
            return rc
    net.n_arr = 0
    return 0


cdef inline void lif_rebase(Net* net, Lif* L, double G) noexcept nogil:
    """Move the origin to G: every E-valued quantity is scaled by e^{-(G - G_old) / tau}. A
    private drive's next E is computed afresh from its time, and a crossing whose E overflowed
    (more than ~700 tau after the old origin) from u: scaling cannot bring back an infinity."""
    cdef double f = exp(-(G - L.G) * L.rtau)
    cdef Py_ssize_t j
    cdef LHot* h
    L.G = G
    for j in range(L.nb):
        L.bmin[j] *= f
    for j in range(L.ns):
        L.smin[j] *= f
    L.gmin *= f
    for j in range(net.N):
        h = &L.r[j].h
        h.u *= f
        h.X *= f
        if h.tk < INFINITY:
            h.Ek = lif_E(L, h.tk)
        if h.X == INFINITY and h.rthr != 0.0:
            h.X = h.u * h.rthr
            lif_lower(L, j, h.X)


cdef inline int lif_record(Net* net, Lif* L, double t) except -1 nogil:
    """Record the traces at every recording time before t (and at most t_end), as run_loop does: a
    neuron is moved through its own events up to and including the recording time, then its v is
    P + u / E (in a refractory period: the clamped value, u / E at the period's end)."""
    cdef double r, lim, Elim
    cdef Py_ssize_t k, j
    cdef int rc
    cdef LHot* h
    cdef double* row
    while L.rr < L.n_rec_t and L.rec_t[L.rr] < t and L.rec_t[L.rr] <= net.t_end:
        r = L.rec_t[L.rr]
        row = L.traces + L.rr * L.n_rec_idx
        lim = nextafter(r, INFINITY)           # its events at r too
        Elim = lif_E(L, r)                     # (a crossing by drift at r too)
        for k in range(L.n_rec_idx):
            j = L.rec_idx[k]
            h = &L.r[j].h
            if h.tk < lim or h.X <= Elim:
                rc = lif_catch_up(net, L, j, lim, Elim)
                if rc != 0:
                    return rc
            if h.thr == INFINITY:
                row[k] = net.hot[net.P + j].vl          # a neuron that never moves
            elif r < h.tl:
                row[k] = L.lP[j] + h.u / lif_E(L, h.tl)
            else:
                row[k] = L.lP[j] + h.u / lif_E(L, r)
        L.rr += 1
    return 0


cdef inline int lif_window(Net* net, Lif* L, double T, double T1, double* nxt) except -1 nogil:
    """One window [T, T1): its arrivals in event order, then every neuron's own events before T1,
    the other Poisson neurons' events, and the window's spikes out. *nxt: the earliest own event
    left (a private drive's, an emitter's or a crossing's)."""
    cdef Py_ssize_t a, j, q
    cdef double E1, m = INFINITY
    cdef int rc
    if (T1 - L.G) * L.rtau > REBASE:
        lif_rebase(net, L, T)
    E1 = lif_E(L, T1)
    while net.heap[0].key < T1 and net.heap[0].key <= net.t_end:
        if L.n_rec_t > 0:
            rc = lif_record(net, L, net.heap[0].key)
            if rc != 0:
                return rc
        rc = lif_deliver(net, L, net.heap[0].id)
        if rc != 0:
            return rc
    if L.n_rec_t > 0:
        rc = lif_record(net, L, T1)
        if rc != 0:
            return rc
    for a in range(L.n_streams):
        j = L.streams[a]
        if L.r[j].h.tk < T1 or L.r[j].h.X <= E1:
            rc = lif_catch_up(net, L, j, T1, E1)
            if rc != 0:
                return rc
        if L.r[j].h.tk < m:
            m = L.r[j].h.tk
        if L.r[j].h.tk < INFINITY:
            L.r[j].h.Ek = lif_E(L, L.r[j].h.tk)     # exact again (lif_next_kick)
    if L.gmin <= E1:
        rc = lif_scan(net, L, T1, E1)
        if rc != 0:
            return rc
    for a in range(L.n_emit):
        q = L.emit[a]
        while L.em_t[a] < T1:
            sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, L.em_t[a], net.pz_idx[q], 0)
            L.em_t[a] = L.em_t[a] + rng_exp(net.pz_state + 4 * q) * net.pz_rr[q]
            if not (L.em_t[a] <= net.t_end):
                L.em_t[a] = INFINITY
        if L.em_t[a] < m:
            m = L.em_t[a]
    if L.gmin < INFINITY:
        E1 = L.G + L.tau * log(L.gmin)
        if E1 < m:
            m = E1
    nxt[0] = m
    return lif_emit(net, L)


cdef inline int run_lif(Net* net, Lif* L, double dmin) except -1 nogil:
    """Run the network window by window (see the module docstring)."""
    cdef double T, T1, nxt = 0.0
    cdef Py_ssize_t a, work = 0, n0
    cdef int rc
    T = INFINITY
    for a in range(L.n_streams):
        if L.r[L.streams[a]].h.tk < T:
            T = L.r[L.streams[a]].h.tk
    for a in range(L.n_emit):
        if L.em_t[a] < T:
            T = L.em_t[a]
    if L.gmin < INFINITY and L.G + L.tau * log(L.gmin) < T:
        T = L.G + L.tau * log(L.gmin)
    if net.heap[0].key < T:
        T = net.heap[0].key
    if T < 0.0:
        T = 0.0
    while T <= net.t_end:
        T1 = T + dmin
        net.n_slices += 1
        n0 = net.n_syn_events
        rc = lif_window(net, L, T, T1, &nxt)
        if rc != 0:
            return rc
        work += 1 + (net.n_syn_events - n0) // 16
        if ctrl_c(&work) != 0:
            return -1
        T = net.heap[0].key
        if nxt < T:
            T = nxt
        if T < T1:
            T = T1
    if L.n_rec_t > 0:
        return lif_record(net, L, INFINITY)
    return 0


# --------------------------------------------------------------------------- setting up
cdef inline bint lif_eligible(Net* net, double* dmin, Py_ssize_t* indeg) noexcept nogil:
    """Whether run_lif() can run the network: delta projections only with a positive shortest delay
    (*dmin) that moves every time up to t_end forward; fast leaky neurons sharing one tau, starting
    below threshold, besides Poisson neurons and inert ones (no drive, no input: the given spikes'
    sources). ``indeg``: N counts, filled."""
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t i, k
    cdef double d = INFINITY, rt = 0.0
    cdef Hot* h
    if P == 0 or net.C != 0:
        return False
    for i in range(P):
        if net.delay[i] < d:
            d = net.delay[i]
    dmin[0] = d
    if not (d > 0.0) or not (net.t_end + d > net.t_end):
        return False
    for i in range(net.N):
        indeg[i] = 0
    for k in range(net.n_targets):
        indeg[net.targets[k]] += 1
    for i in range(net.N):
        h = &net.hot[P + i]
        if h.fast == F_POISSON:
            continue
        if h.fast == F_LEAKY:
            if rt == 0.0:
                rt = net.rtau[i]
            if net.rtau[i] != rt or not (h.vl < h.delta) or not (net.tref[i] * rt < 600.0):
                return False        # (the state at the end of a refractory period is u e^{t_ref / tau})
            continue
        if h.fast == F_PERFECT and h.c0 == 0.0 and indeg[i] == 0 and h.vl < h.delta:
            continue
        return False
    # a window's E stays far from overflowing: e^{d / tau} (the origin moves every 8 tau)
    return rt != 0.0 and d * rt < 600.0


cdef inline Py_ssize_t _out_degree(Net* net, Py_ssize_t i, Py_ssize_t* first) noexcept nogil:
    """Number of connections leaving neuron i; *first: the position (in targets) of one of them."""
    cdef Py_ssize_t k, p, row, n = 0
    for k in range(net.out_ptr[i], net.out_ptr[i + 1]):
        p = net.out_proj[k]
        row = net.indptr_off[p] + (i - net.pre_start[p])
        if net.indptr[row + 1] > net.indptr[row]:
            first[0] = net.indptr[row]
            first[1] = p
        n += net.indptr[row + 1] - net.indptr[row]
    return n


cdef inline void lif_free(Lif* L) noexcept nogil:
    free(L.h_mem)
    free(L.lP)
    free(L.streams)
    free(L.emit)
    L.h_mem = NULL
    L.lP = NULL
    L.streams = NULL
    L.emit = NULL


cdef inline void _lif_neurons(Net* net, Lif* L) noexcept nogil:
    """The neurons' records at time 0 (G = 0, so E(0) = 1); the bounds of their crossings."""
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t j
    cdef Hot* hj
    cdef LHot* h
    for j in range(L.nb):
        L.bmin[j] = INFINITY
    for j in range(L.ns):
        L.smin[j] = INFINITY
    L.gmin = INFINITY
    for j in range(net.N):
        hj = &net.hot[P + j]
        h = &L.r[j].h
        h.tk = INFINITY
        h.Ek = INFINITY
        h.X = INFINITY
        h.rthr = 0.0
        h.tl = 0.0
        L.r[j].k.rr = 0.0
        if hj.fast != F_LEAKY:
            h.u = 0.0
            h.thr = INFINITY           # never fires (Poisson and inert neurons)
            h.rk = 0.0
            continue
        L.lP[j] = hj.c0 * hj.tau / hj.kappa
        L.vr[j] = net.vreset[j] - L.lP[j]
        L.ert[j] = exp(net.tref[j] * L.rtau)
        h.u = hj.vl - L.lP[j]
        h.thr = hj.delta - L.lP[j]
        h.rk = 1.0 / hj.kappa
        h.tl = hj.tl
        if h.thr < 0.0:
            h.rthr = 1.0 / h.thr
            h.X = h.u * h.rthr
            lif_lower(L, j, h.X)


cdef inline void _lif_sources(Net* net, Lif* L) noexcept nogil:
    """Each Poisson neuron becomes a private drive (unrecorded, one connection, to a leaky neuron
    without one yet) or an emitter; its first event was drawn by _initial_state (its heap key)."""
    cdef Py_ssize_t q, i, j
    cdef Py_ssize_t first[2]
    cdef double s0
    cdef KStream* k
    for q in range(net.n_pz):
        i = net.pz_idx[q]
        s0 = net.hot[net.P + i].key
        first[0] = 0
        first[1] = 0
        if not net.pz_record[q] and _out_degree(net, i, first) == 1:
            j = net.targets[first[0]]
            if net.hot[net.P + j].fast == F_LEAKY and L.r[j].k.rr == 0.0:
                k = &L.r[j].k
                k.s = s0
                k.w = net.weights[first[0]]
                k.d = net.delay[first[1]]
                k.rr = net.pz_rr[q]
                k.st[0] = net.pz_state[4 * q]
                k.st[1] = net.pz_state[4 * q + 1]
                k.st[2] = net.pz_state[4 * q + 2]
                k.st[3] = net.pz_state[4 * q + 3]
                if s0 <= net.t_end and s0 + k.d <= net.t_end:
                    L.r[j].h.tk = s0 + k.d
                    L.r[j].h.Ek = lif_E(L, L.r[j].h.tk)
                L.streams[L.n_streams] = j
                L.n_streams += 1
                continue
        L.emit[L.n_emit] = q
        L.em_t[L.n_emit] = s0
        L.n_emit += 1


cdef inline int lif_begin(Net* net, Lif* L) except -1 nogil:
    """Move from the heap loop's initial state to run_lif()'s: the records, the private drives and
    emitters, and a heap of the projections only (in flight: the given spikes)."""
    cdef Py_ssize_t N = net.N
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t p, j
    L.nb = (N + (1 << BLK) - 1) >> BLK
    L.ns = (N + (1 << SBLK) - 1) >> SBLK
    L.G = 0.0
    L.n_streams = 0
    L.n_emit = 0
    L.h_mem = malloc(N * sizeof(LRec) + 64)
    L.lP = <double*> malloc((3 * N + L.nb + L.ns + net.n_pz + 1) * sizeof(double))
    L.streams = <Py_ssize_t*> malloc((N + 1) * sizeof(Py_ssize_t))
    L.emit = <Py_ssize_t*> malloc((net.n_pz + 1) * sizeof(Py_ssize_t))
    if L.h_mem == NULL or L.lP == NULL or L.streams == NULL or L.emit == NULL:
        lif_free(L)
        with gil:
            raise MemoryError("tem_sim: cannot allocate the simulation state")
    L.r = <LRec*> ((<size_t> L.h_mem + 63) & ~(<size_t> 63))
    L.vr = L.lP + N
    L.ert = L.vr + N
    L.bmin = L.ert + N
    L.smin = L.bmin + L.nb
    L.em_t = L.smin + L.ns
    for j in range(N):
        if net.hot[P + j].fast == F_LEAKY:
            L.rtau = net.rtau[j]
            L.tau = net.tau[j]
    _lif_neurons(net, L)
    _lif_sources(net, L)
    heap_of_projections(net)
    return 0
