# cython: language_level=3
"""Events and their effects (compiled core, tem_sim._core): everything one event does.

The output buffer (push_spike) and the projections' FIFOs of in-flight spikes
(fifo_push; preload puts the given spikes of spike sources in flight); firing
(fire sends a spike down every outgoing projection), the resets and the
refractory period (fire_while_above, refractory, resched; defer keeps a key
as a lower bound after an inhibitory arrival); the closed forms of the "fast"
neurons (perfect or leaky, constant drive, delta synapses) whose state lives in
their heap record (fast_next, fast_advance, fast_key); Poisson sources
(one stream of xoshiro256** per neuron, poisson_next, poisson_event); simultaneous arrivals summed in
double-double before one threshold test (dd_add, pend, deliver_summed,
flush_instant); and deliver, one arrival at all the targets of its row.
Inline functions, compiled into the module that cimports them.
"""

from libc.math cimport exp, expm1, log1p, INFINITY
from libc.stdlib cimport malloc, realloc, free, qsort

from tem_sim._core_types cimport *
from tem_sim._heap cimport heap_update, sift_up, sift_down
from tem_sim._drives cimport schedule, advance, store_state, _analog
from tem_sim._random cimport rng_exp


# --------------------------------------------------------------------------- output and FIFOs
cdef inline int push_spike(Net* net, double t, Py_ssize_t j) except -1 nogil:
    cdef Py_ssize_t newcap
    cdef double* nt
    cdef Py_ssize_t* ni
    if net.n_out >= net.max_spikes:
        return STATUS_MAX_SPIKES
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


cdef inline int fifo_grow(Fifo* f) except -1 nogil:
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


cdef inline int send(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """Send a spike of neuron j at t down every outgoing projection (into their FIFOs)."""
    cdef Py_ssize_t k, p
    for k in range(net.out_ptr[j], net.out_ptr[j + 1]):
        p = net.out_proj[k]
        fifo_push(net, p, t + net.delay[p], j)
    return 0


cdef inline int preload(Net* net) except -1 nogil:
    """Put the given spikes of the spike sources in flight (each FIFO holds one source
    population's spikes, so it stays in time order)."""
    cdef Py_ssize_t q
    for q in range(net.n_g):
        send(net, net.g_i[q], net.g_t[q])
    return 0


cdef inline int fire(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """Record a spike of neuron j at t and send it down every outgoing projection."""
    cdef int rc = push_spike(net, t, j)
    if rc != 0:
        return rc
    return send(net, j, t)


cdef inline void refractory(Net* net, Py_ssize_t j, double t) noexcept nogil:
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


cdef inline int fire_while_above(Net* net, Py_ssize_t j, double t) except -1 nogil:
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


cdef inline int fast_fire_while_above(Net* net, Hot* h, Py_ssize_t j, double t) except -1 nogil:
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
cdef inline double poisson_next(Net* net, Py_ssize_t k, double t) noexcept nogil:
    """Time of Poisson neuron k's next event after t (INFINITY past t_end): an exponential interval
    of its rate, drawn from its own stream. run_lif() draws the same sequence with the same
    arithmetic."""
    cdef double x = t + rng_exp(net.pz_state + 4 * k) * net.pz_rr[k]
    return x if x <= net.t_end else INFINITY


cdef inline int poisson_event(Net* net, Py_ssize_t j, double t) except -1 nogil:
    """Poisson neuron j has an event at t: send (and record) its spike and draw its next event."""
    cdef Py_ssize_t q = net.pz_of[j]
    cdef int rc
    if net.pz_record[q]:
        rc = push_spike(net, t, j)
        if rc != 0:
            return rc
    send(net, j, t)
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
    cdef Acc* a = &net.acc[j]
    if a.stamp == net.instant:
        return False
    a.stamp = net.instant
    a.hi = 0.0
    a.lo = 0.0
    a.ex = 0
    net.plist[net.n_plist] = j
    net.n_plist += 1
    return True


cdef inline int _idx_cmp(const void* a, const void* b) noexcept nogil:
    cdef Py_ssize_t x = (<const Py_ssize_t*> a)[0]
    cdef Py_ssize_t y = (<const Py_ssize_t*> b)[0]
    return (x > y) - (x < y)


cdef inline int flush_instant(Net* net, double t) except -1 nogil:
    """Apply the summed arrivals of instant t to each pending neuron and test its threshold once
    (run_loop); the neurons that fire do so in index order."""
    cdef Py_ssize_t k, j, nf = 0
    cdef double s
    cdef int rc
    cdef Acc* a
    cdef Hot* h
    for k in range(net.n_plist):
        j = net.plist[k]
        a = &net.acc[j]
        s = a.hi + a.lo
        h = &net.hot[net.P + j]
        if h.fast:
            h.vl += s / h.kappa
            if h.vl >= h.delta:
                net.flist[nf] = j
                nf += 1
            elif s > 0.0:
                fast_key(net, h, net.P + j, fast_next(h, net.t_end))
            elif s < 0.0 and h.ev != EV_NONE:
                h.ev = EV_CHECK
            continue
        net.vl[j] += s / net.kappa[j]
        if net.vl[j] >= net.delta[j]:
            net.flist[nf] = j
            nf += 1
        elif s < 0.0 and not a.ex:
            defer(net, j)
        else:
            resched(net, j)
    net.n_plist = 0
    if nf > 1:
        qsort(net.flist, nf, sizeof(Py_ssize_t), _idx_cmp)
    for k in range(nf):
        j = net.flist[k]
        h = &net.hot[net.P + j]
        if h.fast:
            rc = fast_fire_while_above(net, h, j, t)
            if rc != 0:
                return rc
            fast_key(net, h, net.P + j, fast_next(h, net.t_end))
        else:
            rc = fire_while_above(net, j, t)
            if rc != 0:
                return rc
            resched(net, j)
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


cdef inline int deliver_summed(Net* net, double t, Py_ssize_t k0, Py_ssize_t k1, int kd,
                        Py_ssize_t ch) except -1 nogil:
    """deliver() at an instant with several arrivals: each target moves to t and the weights of its
    delta arrivals are summed; flush_instant() applies the sums once the instant's last arrival
    is in (exponential currents are added at once: they make no jump)."""
    cdef Py_ssize_t k, tgt, kp
    cdef double w
    cdef Hot* h
    cdef Hot* hot = net.hot + net.P
    cdef const Py_ssize_t* targets = net.targets
    for k in range(k0, k1):
        kp = k + 8
        if kp < k1:
            TEM_PREFETCH(&hot[targets[kp]])
            TEM_PREFETCH(&net.acc[targets[kp]])
        tgt = targets[k]
        w = net.weights[k]
        h = &hot[tgt]
        if h.fast:
            if t < h.tl:
                continue
            if pend(net, tgt):
                fast_advance(h, t)
            dd_add(&net.acc[tgt].hi, &net.acc[tgt].lo, w)
            continue
        if t < net.tl[tgt]:
            arrive_refractory(net, tgt, t, w, kd, ch)
            continue
        if pend(net, tgt):
            advance(net, tgt, t)
        if kd == K_DELTA:
            dd_add(&net.acc[tgt].hi, &net.acc[tgt].lo, w)
        else:
            net.I[tgt * net.C + ch] += w
            net.acc[tgt].ex = 1
    net.n_syn_events += k1 - k0
    net.n_summed += 1
    return 0


cdef inline int deliver(Net* net, Py_ssize_t p) except -1 nogil:
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
        if not net.acc_open:
            net.instant += 1
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
