# cython: language_level=3
"""Types and constants shared by the units of the compiled core (tem_sim._core).

The simulation state is one C struct, ``Net``: the trusted input arrays, the
state of every neuron (a structure of arrays for the general path, one cache
line ``Hot`` per heap item for the closed-form "fast" neurons, ``SHot`` in the
sliced loop), the heap, the projections' FIFOs of in-flight spikes, the
accumulators of simultaneous arrivals and the output buffers. The enums name
the event kinds, projection kinds, fast-path kinds, reset modes, search limits
and loop statuses; two compiler helpers (a prefetch hint and a branch-free
select) are written in C. Declarations only: every unit cimports them, and
nothing here holds state.
"""

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
    #define TEM_EPS 2.220446049250313e-16
    static const double tem_zero_d = 0.0;
    static const Py_ssize_t tem_zero_i = 0;
    static const int tem_zero_k = 0;
    """
    void TEM_PREFETCH(const void* p) noexcept nogil
    double tem_cap(double x, double cap) noexcept nogil
    const double EPS "TEM_EPS"        # the machine epsilon, 2**-52
    # targets of the pointers of empty arrays (never read)
    const double ZERO_D "tem_zero_d"
    const Py_ssize_t ZERO_I "tem_zero_i"
    const int ZERO_K "tem_zero_k"


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
    F_POISSON = 3             # a Poisson neuron (its key: its next event)

# reset modes
cdef enum:
    R_SUBTRACT = 0            # v -= 2 delta (the TEM; repeated firing at one instant)
    R_VALUE = 1               # v = v_reset (one spike per instant)

# search limits, and how often the loops look for Ctrl-C (in events)
cdef enum:
    MAX_STEPS_PER_SEARCH = 64
    MAX_REFINE = 100
    SIGNAL_CHECK_EVERY = 1 << 14

# statuses of the event loops (besides 0 and -1, an exception): -3 when max_spikes is reached;
# run_sliced() stops with SLICED_RESTART when a check finds the crossing earlier than its key (a
# rounding-level reversal in time), or when the shortest delay no longer moves the time forward
# (T + d == T); the run is then repeated by run_loop()
cdef enum:
    STATUS_MAX_SPIKES = -3
    SLICED_RESTART = -5


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


cdef struct Acc:
    # a neuron's sum of the delta arrivals of the open instant (double-double), valid while its
    # stamp is the instant's number; ex: an exponential current arrived at it too
    double hi
    double lo
    Py_ssize_t stamp
    int ex
    int pad


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
    Acc* acc                  # N
    Py_ssize_t instant        # number of the open instant (stamps of the pending neurons)
    Py_ssize_t* plist         # the pending neurons, in the order they were first reached
    Py_ssize_t n_plist
    Py_ssize_t* flist         # those of them that fire, sorted by index before they do
    bint acc_open             # a delivery at this instant announced more arrivals at it
    Py_ssize_t n_summed       # deliveries through deliver_summed (statistics)
    # Poisson sources: every Poisson neuron is a heap item (F_POISSON) whose key is its next event,
    # drawn from its own xoshiro256** stream (exponential intervals of its rate)
    Py_ssize_t n_pz
    Py_ssize_t* pz_of         # N: the neuron's index among the Poisson neurons (-1: not one)
    const Py_ssize_t* pz_idx  # n_pz: the Poisson neurons (flat indices)
    const double* pz_rate     # n_pz: their rates (> 0)
    const double* pz_rr       # n_pz: 1 / rate (the intervals are exponential variates times it)
    const unsigned char* pz_record   # n_pz: their spikes are in the output
    unsigned long long* pz_state     # n_pz x 4 words of xoshiro256**
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
    Py_ssize_t n_targets      # length of targets and weights (all rows)
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

