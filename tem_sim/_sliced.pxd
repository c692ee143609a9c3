# cython: language_level=3
"""The sliced event loop (compiled core, tem_sim._core): run_sliced and its setup.

A network of fast neurons only (perfect integrators with constant drive, delta
synapses, the subtractive reset, no refractory period) whose shortest delay d
is positive is run in slices [T, T + d): every spike that arrives in a slice
was fired before it, so within a slice the neurons do not interact. The slice's
arrivals are delivered in event order (deliver_sliced, flush_sliced); a target
first takes its own crossings and checks that come before the arrival (its key
is below the arrival time, sl_resolve), then the arrival, exactly as deliver()
does; the crossings left in the slice are found through per-block lower bounds
of the keys (sl_scan). Keys and event kinds follow the same rules as in
run_loop(), so every neuron sees the same events with the same arithmetic. The
slice's spikes are then emitted in event order (arrival-fired spikes in
delivery order, merged with the crossings sorted by (time, neuron), arrivals
first at equal times), which fills the output and the FIFOs exactly as
run_loop() would. No neuron is kept in the heap, which holds the projections
only (sliced_begin sets this up from the heap loop's initial state, which it
saves).

Two things a slice cannot reproduce: a check that finds the crossing (by a
rounding) earlier than the key it was scheduled at, after other events in
between; and a delay below the resolution of the time (T + d == T: a spike can
arrive at the instant it was fired). run_sliced() then stops with
SLICED_RESTART, and sliced_rewind() restores the initial state for run_loop().
Inline functions, compiled into the module that cimports them.
"""

from libc.math cimport frexp, isfinite, INFINITY
from libc.stdlib cimport malloc, realloc, free, qsort
from libc.string cimport memcpy

from tem_sim._core_types cimport *
from tem_sim._heap cimport heap_update, heap_of_projections, ctrl_c
from tem_sim._events cimport fire, pend, dd_add, _idx_cmp, preload

cdef inline int sl_push(SpikeRec** buf, Py_ssize_t* n, Py_ssize_t* cap, double t, Py_ssize_t j,
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
    """STATUS_MAX_SPIKES once the spikes of the slice would take the output past max_spikes (they will
    all be emitted)."""
    if net.n_out + net.n_arr + net.n_cross > net.max_spikes:
        return STATUS_MAX_SPIKES
    return 0


cdef inline double sl_next(SHot* h, double t_end) noexcept nogil:
    """fast_next() for a sliced-loop record (the same value, without a branch on the quotient)."""
    if h.c0 > 0.0:
        return tem_cap(h.tl + h.kappa * (h.delta - h.vl) / h.c0, t_end)
    return INFINITY


cdef inline void sl_lower(Net* net, Py_ssize_t s2, double x) noexcept nogil:
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


cdef inline int sl_resolve(Net* net, SHot* h, Py_ssize_t j, double limit) except -1 nogil:
    """Process neuron j's crossings and checks whose key is below ``limit`` (run_loop()'s rules)."""
    cdef double x
    while h.key < limit:
        if h.ev == EV_CROSS:
            sl_push(&net.sl_cross, &net.n_cross, &net.cap_cross, h.key, j, net.n_cross)
            if sl_full(net):
                return STATUS_MAX_SPIKES
            h.vl = -h.delta
            h.tl = h.key
            sl_key(net, h, j, sl_next(h, net.t_end))
        else:
            x = sl_next(h, net.t_end)
            if x < h.key:
                return SLICED_RESTART
            sl_key(net, h, j, x)
    return 0


cdef inline int deliver_sliced(Net* net, Py_ssize_t p) except -1 nogil:
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
        if not net.acc_open:
            net.instant += 1
        net.acc_open = more
        net.n_summed += 1
        for k in range(k0, k1):
            kp = k + 8
            if kp < k1:
                TEM_PREFETCH(&hot[targets[kp]])
                TEM_PREFETCH(&net.acc[targets[kp]])
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
            dd_add(&net.acc[tgt].hi, &net.acc[tgt].lo, weights[k])
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
                    return STATUS_MAX_SPIKES
                h.vl -= 2.0 * h.delta
            sl_key(net, h, tgt, sl_next(h, t_end))
        elif w > 0.0:
            sl_key(net, h, tgt, sl_next(h, t_end))
        elif w < 0.0:
            h.ev = EV_CHECK if h.ev != EV_NONE else EV_NONE
    net.n_syn_events += k1 - k0
    return 0


cdef inline int flush_sliced(Net* net, double t) except -1 nogil:
    """flush_instant() for the sliced loop (the same arithmetic, spikes collected for the slice's end)."""
    cdef Py_ssize_t k, j, nf = 0
    cdef double s
    cdef SHot* h
    for k in range(net.n_plist):
        j = net.plist[k]
        s = net.acc[j].hi + net.acc[j].lo
        h = &net.sh[j]
        if h.rk != 0.0:
            h.vl += s * h.rk
        else:
            h.vl += s / h.kappa
        if h.vl >= h.delta:
            net.flist[nf] = j
            nf += 1
        elif s > 0.0:
            sl_key(net, h, j, sl_next(h, net.t_end))
        elif s < 0.0:
            h.ev = EV_CHECK if h.ev != EV_NONE else EV_NONE
    net.n_plist = 0
    if nf > 1:
        qsort(net.flist, nf, sizeof(Py_ssize_t), _idx_cmp)
    for k in range(nf):
        j = net.flist[k]
        h = &net.sh[j]
        while h.vl >= h.delta:
            sl_push(&net.sl_arr, &net.n_arr, &net.cap_arr, t, j, 0)
            if sl_full(net):
                return STATUS_MAX_SPIKES
            h.vl -= 2.0 * h.delta
        sl_key(net, h, j, sl_next(h, net.t_end))
    return 0


cdef inline int _cross_cmp(const void* a, const void* b) noexcept nogil:
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


cdef inline int sl_scan(Net* net, double E) except -1 nogil:
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


cdef inline int run_sliced(Net* net, double dmin) except -1 nogil:
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
        if ctrl_c(&work) != 0:
            return -1
        T = net.heap[0].key
        if net.gmin < T:
            T = net.gmin
        if T < E:
            T = E
    return 0


# --------------------------------------------------------------------------- setting up and giving up
cdef inline bint sliceable(Net* net, double* dmin) noexcept nogil:
    """Whether the network can run in slices: projections with a positive shortest delay (into
    *dmin), no exponential synapses, and perfect integrators with constant drive, the subtractive
    reset and no refractory period only."""
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t i, p
    cdef double d = INFINITY
    if P == 0 or net.C != 0:
        return False
    for p in range(P):
        if net.delay[p] < d:
            d = net.delay[p]
    dmin[0] = d
    if not (d > 0.0):
        return False
    for i in range(net.N):
        if net.hot[P + i].fast != F_PERFECT or net.rmode[i] != R_SUBTRACT or net.tref[i] != 0.0:
            return False
    return True


cdef inline int sliced_begin(Net* net, Hot** hot_save, HeapEntry** heap_save,
                             void** sh_mem) except -1 nogil:
    """Move from the heap loop's initial state (saved into *hot_save and *heap_save for
    sliced_rewind()) to the sliced loop's: the neurons' records (SHot, in *sh_mem), a heap of the
    projections only, and the lower bounds of the keys per block."""
    cdef Py_ssize_t P = net.P
    cdef Py_ssize_t N = net.N
    cdef Py_ssize_t n = P + N
    cdef Py_ssize_t i, b, p
    cdef int e2
    hot_save[0] = <Hot*> malloc(n * sizeof(Hot))
    heap_save[0] = <HeapEntry*> malloc(n * sizeof(HeapEntry))
    net.nb1 = (N + 7) >> 3
    net.nb2 = (net.nb1 + 63) >> 6
    net.nb3 = (net.nb2 + 63) >> 6
    net.bm1 = <double*> malloc((net.nb1 + net.nb2 + net.nb3) * sizeof(double))
    sh_mem[0] = malloc(N * sizeof(SHot) + 64)
    if hot_save[0] == NULL or heap_save[0] == NULL or net.bm1 == NULL or sh_mem[0] == NULL:
        free(hot_save[0])
        free(heap_save[0])
        free(net.bm1)
        free(sh_mem[0])
        hot_save[0] = NULL
        heap_save[0] = NULL
        sh_mem[0] = NULL
        net.bm1 = NULL
        with gil:
            raise MemoryError("tem_sim: cannot allocate the simulation state")
    net.sh = <SHot*> ((<size_t> sh_mem[0] + 63) & ~(<size_t> 63))
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
    memcpy(hot_save[0], net.hot, n * sizeof(Hot))
    memcpy(heap_save[0], net.heap, n * sizeof(HeapEntry))
    # the heap holds the projections only (in flight: the given spikes of spike sources)
    heap_of_projections(net)
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
    return 0


cdef inline int sliced_rewind(Net* net, const Hot* hot_save, const HeapEntry* heap_save) except -1 nogil:
    """Back to the heap loop's initial state (saved by sliced_begin()), to start again event by event."""
    cdef Py_ssize_t n = net.P + net.N
    cdef Py_ssize_t p
    memcpy(net.hot, hot_save, n * sizeof(Hot))
    memcpy(net.heap, heap_save, n * sizeof(HeapEntry))
    net.n_items = n
    for p in range(net.P):
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
    net.n_plist = 0
    net.acc_open = False
    net.n_summed = 0
    return 0
