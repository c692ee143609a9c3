# cython: language_level=3
"""The indexed binary min-heap of the compiled core (tem_sim._core).

It orders the event sources: ids 0..P-1 are the projections (the arrival at the
head of each FIFO), P..P+N-1 the neurons (their next crossing or check). Each
entry keeps its key beside its id, each item its position (``Hot.pos``), so that
an update is a decrease- or increase-key by sifting a hole. Ties go to the
lower id: arrivals come before crossings at the same instant. All functions
are inline (they are compiled into the module that cimports them); sift_up and
sift_down are the inner steps of heap_update and of the fast path's fast_key.
Two helpers of the sliced loops (run_sliced, run_lif) live here too, below
both: heap_of_projections (their heap holds the projections only) and ctrl_c
(their look for Ctrl-C).
"""

from libc.math cimport INFINITY
from cpython.exc cimport PyErr_CheckSignals

from tem_sim._core_types cimport Net, Hot, HeapEntry, Fifo, SIGNAL_CHECK_EVERY

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


cdef inline void heap_update(Net* net, Py_ssize_t item, double k) noexcept nogil:
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


cdef inline void heap_of_projections(Net* net) noexcept nogil:
    """Make the heap hold the P projections only, keyed by the heads of their FIFOs (the sliced
    loops keep their neurons out of it)."""
    cdef Py_ssize_t p
    for p in range(net.P):
        net.heap[p].key = INFINITY
        net.heap[p].id = p
        net.hot[p].key = INFINITY
        net.hot[p].pos = p
    net.n_items = net.P
    for p in range(net.P):
        if net.fifo[p].size > 0:
            heap_update(net, p, net.fifo[p].buf[net.fifo[p].head].t)


cdef inline int ctrl_c(Py_ssize_t* work) except -1 nogil:
    """The sliced loops' look for Ctrl-C: once their work counter passes SIGNAL_CHECK_EVERY (then
    reset), take the GIL and return -1 when a signal handler raised."""
    if work[0] > SIGNAL_CHECK_EVERY:
        work[0] = 0
        with gil:
            if PyErr_CheckSignals() != 0:
                return -1
    return 0
