# cython: language_level=3
"""The drive of a neuron and the search of its threshold crossings (compiled core, tem_sim._core).

A neuron's analog drive is the sum of a Fourier part (_four), a sinc part
(_sinc_part) and a piecewise-polynomial part (_pp_part, its piece found by the
cursor of _piece), each with its antiderivative (perfect integrator) or its
leak-weighted integral (leaky); _analog adds them. eval_state gives the
integrator's value, slope and a curvature bound K from the stored state,
adding the decaying exponential synaptic currents; store_state and advance
move the stored state. schedule_from searches the next crossing: safe_step
takes steps the quadratic bound proves cannot pass one, bracket finds a rising
interval holding it, and refine solves for it there by safeguarded Newton
iterations, to machine precision; the result goes into the heap (set_next).
Inline functions, compiled into the module that cimports them.
"""

from libc.math cimport sqrt, fabs, exp, expm1, log1p, fmod, cos, sin, INFINITY

from tem_sim._core_types cimport *
from tem_sim._heap cimport heap_update
from tem_sim._special cimport sine_integral, leaky_sinc_integral, phi_functions


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


cdef inline Py_ssize_t _piece(Net* net, Py_ssize_t j, double t) noexcept nogil:
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


cdef inline void eval_state(Net* net, Py_ssize_t j, double t, double* v, double* dv, double* K,
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


cdef inline void advance(Net* net, Py_ssize_t j, double t) noexcept nogil:
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


cdef inline double refine(Net* net, Py_ssize_t j, double lo, double hi, double g, double dv) noexcept nogil:
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


cdef inline void set_next(Net* net, Py_ssize_t j, int kind, double key) noexcept nogil:
    """Make (kind, key) neuron j's next event (EV_CROSS, EV_CHECK or EV_NONE) and update the heap."""
    net.ev_kind[j] = kind
    heap_update(net, net.P + j, key)


cdef inline void schedule(Net* net, Py_ssize_t j) noexcept nogil:
    schedule_from(net, j, False, 0.0, 0.0, 0.0, 0.0)


cdef inline void schedule_constant(Net* net, Py_ssize_t j) noexcept nogil:
    """schedule_from() for a constant drive: the crossing in closed form from the stored state."""
    cdef double v = net.vl[j]
    cdef double delt = net.delta[j]
    cdef double hs, P, x
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
    if x <= net.t_end:
        set_next(net, j, EV_CROSS, x)
    else:
        set_next(net, j, EV_NONE, INFINITY)


cdef inline double safe_step(Net* net, Py_ssize_t j, double t, double v, double dv, double K, double F,
                             double g, double tv) noexcept nogil:
    """A step h from t (where v, dv, K, F are the state's values and g = v - delta < 0) that cannot
    pass a crossing: the curvature bound's, at most up to tv where K stops holding, or the longer
    one that a bound of the oscillating part (perfect) or of the steady state's slope (leaky) allows."""
    cdef double disc, hs, x, P
    cdef double delt = net.delta[j]
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
    return hs


# outcomes of bracket()
cdef enum:
    B_NONE = 0                # no bracket: step on by the safe step
    B_CROSS = 1               # the crossing is at *x
    B_NEVER = 2               # no crossing by t_end
    B_RESUME = 3              # no crossing up to *x (where the curvature bound ends): search on from there


cdef inline int bracket(Net* net, Py_ssize_t j, double t, double hs, double g, double dv, double K,
                        double tv, double* x) noexcept nogil:
    """Rising at t (dv > 0): where the lower bound g + dv h - K h^2 / 2 reaches 0 inside the region
    where g' > 0, the crossing is bracketed by [t + hs, t + hl]; find it there (refine())."""
    cdef double disc, hl, lo, hi, vr, dvr, Kr, Fr, v, dvh, Kh, Fh
    cdef bint capped
    cdef double delt = net.delta[j]
    cdef double t_end = net.t_end
    disc = dv * dv + 2.0 * K * g
    if not (disc >= 0.0):
        return B_NONE
    hl = -2.0 * g / (dv + sqrt(disc))
    # g is increasing on [t, t + hl] and has its only root in [t + hs, t + hl];
    # beyond tv the bound K no longer holds, so the bracket stops there
    capped = t + hl > tv
    hi = tv if capped else t + hl
    lo = t + hs
    if not (lo < hi or not capped):
        return B_NONE
    eval_state(net, j, lo, &vr, &dvr, &Kr, &Fr)
    if vr - delt >= -_tol(net, j, Fr):
        x[0] = lo
        return B_CROSS
    if hi > t_end:
        hi = t_end
        capped = True
    if capped:
        eval_state(net, j, hi, &v, &dvh, &Kh, &Fh)
        if v - delt < 0.0:
            if hi >= t_end:
                return B_NEVER
            # no crossing up to the piece end: search on from there
            x[0] = hi
            return B_RESUME
    x[0] = refine(net, j, lo, hi, vr - delt, dvr)
    return B_CROSS


cdef inline void schedule_from(Net* net, Py_ssize_t j, bint known, double v1, double dv1, double K1,
                               double F1) noexcept nogil:
    """Search neuron j's next threshold crossing from its search point and update the heap.
    With ``known``, (v1, dv1, K1) are the state's values at the search point (saves one evaluation).

    Steps by safe_step() (which cannot pass a crossing) until the crossing is bracketed while v
    rises (bracket()), or no crossing can come by t_end, or the step budget is spent (an EV_CHECK
    event resumes the search from there)."""
    cdef double t = net.search_from[j]
    cdef double v, dv, K, F, g, hs, x, tv, tol
    cdef double delt = net.delta[j]
    cdef Py_ssize_t step
    cdef int b
    if _is_simple(net, j):
        schedule_constant(net, j)
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
            set_next(net, j, EV_CROSS, t)
            return
        if net.rtau[j] > 0.0 and v < delt and net.tau[j] * _drive_sup(net, j, t) / net.kappa[j] < delt - tol:
            # leaky: v relaxes towards at most tau sup(u) / kappa, which stays below threshold:
            # no crossing until the next event (this also spares tiny-tau neurons their tiny steps)
            set_next(net, j, EV_NONE, INFINITY)
            return
        tv = _valid_until(net, j, t)
        hs = safe_step(net, j, t, v, dv, K, F, g, tv)
        if t + hs > net.t_end:
            set_next(net, j, EV_NONE, INFINITY)
            return
        if dv > 0.0:
            b = bracket(net, j, t, hs, g, dv, K, tv, &x)
            if b == B_CROSS:
                set_next(net, j, EV_CROSS, x)
                return
            if b == B_NEVER:
                set_next(net, j, EV_NONE, INFINITY)
                return
            if b == B_RESUME:
                t = x
                continue
        if t + hs <= t:
            # no representable progress: the integrator sits at threshold to rounding
            set_next(net, j, EV_CROSS, t)
            return
        t = t + hs
    # not found within the step budget: resume from here later
    net.search_from[j] = t
    set_next(net, j, EV_CHECK, t)
