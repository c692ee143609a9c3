# cython: language_level=3
"""Random numbers of the compiled core (tem_sim._core): the Poisson sources' generator.

xoshiro256** (Blackman and Vigna) gives 64 random bits per call from a state of
four words per Poisson neuron; rng_uniform makes a double in [0, 1) of 53 of
them, and rng_exp a standard exponential variate by the ziggurat method of
Marsaglia and Tsang (2000), 256 layers, 53-bit resolution: one table look-up, a
multiplication and a comparison for 98.9 % of the draws, the exact wedge and
tail tests (an exp or a log) for the rest, so its law is the exponential law
exactly (up to the 53-bit grid). Written in C (the leaky loop's private
drives, _lif.pxd, call them from C too); the tables are computed once when the
module is imported (tem_zig_init, called by _core.pyx) and never written again.
"""

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #define TEM_ZIG_R 7.697117470131487              /* the base layer's edge: the tail starts there */
    static unsigned long long tem_zk[256];       /* layer i accepts j < tem_zk[i] at once */
    static double tem_zw[256];         /* x = j * tem_zw[i] */
    static double tem_zf[256];         /* exp(-x_i) at the layers' edges */
    static void tem_zig_init(void) {
        const double m2 = 9007199254740992.0;          /* 2**53 */
        const double ve = 3.949659822581572e-3;        /* the area of a layer */
        double de = TEM_ZIG_R, te = de;
        double q = ve / exp(-de);
        int i;
        tem_zk[0] = (unsigned long long)((de / q) * m2);
        tem_zk[1] = 0;
        tem_zw[0] = q / m2;
        tem_zw[255] = de / m2;
        tem_zf[0] = 1.0;
        tem_zf[255] = exp(-de);
        for (i = 254; i >= 1; i--) {
            de = -log(ve / de + exp(-de));
            tem_zk[i + 1] = (unsigned long long)((de / te) * m2);
            te = de;
            tem_zf[i] = exp(-de);
            tem_zw[i] = de / m2;
        }
    }
    static inline unsigned long long tem_rotl(unsigned long long x, int k) { return (x << k) | (x >> (64 - k)); }
    /* xoshiro256**: 64 random bits; the state s (4 words, not all zero) moves on */
    static inline unsigned long long tem_rng_next(unsigned long long* s) {
        unsigned long long r = tem_rotl(s[1] * 5u, 7) * 9u;
        unsigned long long t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = tem_rotl(s[3], 45);
        return r;
    }
    /* a uniform double in [0, 1) with 53 random bits */
    static inline double tem_rng_uniform(unsigned long long* s) {
        return (double)(tem_rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    }
    /* the ziggurat's rare cases: the tail (memoryless: the edge plus a new exponential, by
       inversion) and the wedges (accepted under the density exactly); otherwise draw again */
    static double tem_zig_slow(unsigned long long* s, unsigned long long j, int i) {
        for (;;) {
            double x;
            unsigned long long r;
            if (i == 0)
                return TEM_ZIG_R - log(1.0 - tem_rng_uniform(s));
            x = (double)j * tem_zw[i];
            if (tem_zf[i] + tem_rng_uniform(s) * (tem_zf[i - 1] - tem_zf[i]) < exp(-x))
                return x;
            r = tem_rng_next(s);
            j = r >> 11;
            i = (int)(r & 255);
            if (j < tem_zk[i])
                return (double)j * tem_zw[i];
        }
    }
    /* a standard exponential variate: bits 11-63 choose the abscissa, bits 0-7 the layer */
    static inline double tem_rng_exp(unsigned long long* s) {
        unsigned long long r = tem_rng_next(s);
        unsigned long long j = r >> 11;
        int i = (int)(r & 255);
        if (j < tem_zk[i])
            return (double)j * tem_zw[i];
        return tem_zig_slow(s, j, i);
    }
    """
    void tem_zig_init() noexcept nogil
    unsigned long long rng_next "tem_rng_next"(unsigned long long* s) noexcept nogil
    double rng_uniform "tem_rng_uniform"(unsigned long long* s) noexcept nogil
    double rng_exp "tem_rng_exp"(unsigned long long* s) noexcept nogil
