# cython: language_level=3
"""The event loops of the compiled core (tem_sim._core): run_events and run_loop.

run_loop takes the earliest item off the heap, event by event: a projection's
arrival (deliver), a Poisson source's event, a fast neuron's crossing, or a
general neuron's crossing or check (reset, fire, search again); it records the
requested traces on the way (record) and looks for Ctrl-C every
SIGNAL_CHECK_EVERY events. run_events chooses between it and the sliced loop
(run_sliced), and falls back on it when a slice cannot reproduce it. Inline
functions, compiled into the module that cimports them.
"""

from libc.stdlib cimport free
from libc.math cimport INFINITY
from cpython.exc cimport PyErr_CheckSignals

from tem_sim._core_types cimport *
from tem_sim._drives cimport eval_state, store_state, schedule, schedule_from
from tem_sim._events cimport (deliver, poisson_event, fire, fast_key, fast_next, refractory,
                              resched)
from tem_sim._sliced cimport sliceable, sliced_begin, sliced_rewind, run_sliced
from tem_sim._lif cimport Lif, lif_eligible, lif_begin, lif_free, run_lif


cdef inline void record(Net* net, double t, double* row, const Py_ssize_t* rec_idx,
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


cdef inline int run_loop(Net* net, const double* rec_t, Py_ssize_t n_rec_t, const Py_ssize_t* rec_idx,
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


cdef inline int run_events(Net* net, bint use_sliced, const double* rec_t, Py_ssize_t n_rec_t,
                           const Py_ssize_t* rec_idx, Py_ssize_t n_rec_idx, double* traces) except -1 nogil:
    """Run the simulation from its initial state: run_lif() when the network allows it (and
    ``use_sliced``), or run_sliced() (when no traces are recorded either), else, or when
    run_sliced() stops with SLICED_RESTART, run_loop()."""
    cdef Hot* hot_save = NULL
    cdef HeapEntry* heap_save = NULL
    cdef void* sh_mem = NULL
    cdef double dmin = INFINITY
    cdef int rc = 0
    cdef bint sliced
    cdef Lif L
    if use_sliced and lif_eligible(net, &dmin, net.flist):
        L.h_mem = NULL
        L.lP = NULL
        L.streams = NULL
        L.emit = NULL
        L.rec_t = rec_t
        L.n_rec_t = n_rec_t
        L.rr = 0
        L.rec_idx = rec_idx
        L.n_rec_idx = n_rec_idx
        L.traces = traces
        try:
            lif_begin(net, &L)
            rc = run_lif(net, &L, dmin)
        finally:
            lif_free(&L)
        return rc
    sliced = use_sliced and n_rec_t == 0 and sliceable(net, &dmin)
    if sliced:
        sliced_begin(net, &hot_save, &heap_save, &sh_mem)
        try:
            rc = run_sliced(net, dmin)
            if rc == SLICED_RESTART or rc == STATUS_MAX_SPIKES:
                # start again, event by event (at max_spikes too: run_loop() stops with exactly the
                # first max_spikes spikes in event order, which a slice cannot tell before its end)
                sliced_rewind(net, hot_save, heap_save)
                sliced = False
        finally:
            free(hot_save)
            free(heap_save)
            free(sh_mem)
            net.sh = NULL
    if not sliced:
        rc = run_loop(net, rec_t, n_rec_t, rec_idx, n_rec_idx, traces)
    return rc
