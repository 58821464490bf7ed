// The header's inline functions, and the engine's AVX-512 kernels: built for AVX-512 whatever
// the target's own CPU flags (`-march=haswell`), and called only where `spike_has_avx512` says
// the CPU runs them, so one binary serves both kinds of node.
#include "spike_simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SPIKE_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

// The kernels say where they fuse (`_mm512_fmadd_ps`); nothing else may be contracted.
#pragma clang fp contract(off)

int spike_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}

/// The mask of the register holding lanes `first ..< first + 16` of a tile whose first `lanes`
/// lanes hold real neurons.
static inline __mmask16 spike_lane_mask(long lanes, long first) {
    return lanes >= first + 16 ? (__mmask16)0xFFFF : lanes <= first ? (__mmask16)0
                                                   : (__mmask16)((1u << (lanes - first)) - 1);
}

/// acc = fma(count, row[0..<32], acc) on a half tile held in two registers.
#define SPIKE_ADD_ROW(a0, a1, count, row) do { \
        const float *r_ = (row); __m512 c_ = _mm512_set1_ps(count); \
        a0 = _mm512_fmadd_ps(c_, _mm512_loadu_ps(r_), a0); \
        a1 = _mm512_fmadd_ps(c_, _mm512_loadu_ps(r_ + 16), a1); \
    } while (0)

/// acc = fma(count, row[0..<64], acc) on a tile's four registers, lanes outside the masks kept.
#define SPIKE_ADD_ROW64(a0, a1, a2, a3, e) do { \
        const long r_ = (long)inputs[e] * 32; const __m512 c_ = _mm512_set1_ps((float)counts[e]); \
        a0 = _mm512_mask3_fmadd_ps(c_, _mm512_maskz_loadu_ps(m0, w1Low + r_), a0, m0); \
        a1 = _mm512_mask3_fmadd_ps(c_, _mm512_maskz_loadu_ps(m1, w1Low + r_ + 16), a1, m1); \
        a2 = _mm512_mask3_fmadd_ps(c_, _mm512_maskz_loadu_ps(m2, w1High + r_), a2, m2); \
        a3 = _mm512_mask3_fmadd_ps(c_, _mm512_maskz_loadu_ps(m3, w1High + r_ + 16), a3, m3); \
    } while (0)

/// One step of `spike_forward_tile_avx512`'s time loop on the currents c0..c3 of step `t`.
#define SPIKE_LEAKY_STEP(t, c0, c1, c2, c3) do { \
        v0 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(betaV, v0), c0), \
                           _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v0, thrV, _CMP_GT_OQ), thrV)); \
        v1 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(betaV, v1), c1), \
                           _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v1, thrV, _CMP_GT_OQ), thrV)); \
        v2 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(betaV, v2), c2), \
                           _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v2, thrV, _CMP_GT_OQ), thrV)); \
        v3 = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(betaV, v3), c3), \
                           _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v3, thrV, _CMP_GT_OQ), thrV)); \
        bits[(t) * tiles] = (uint64_t)_mm512_cmp_ps_mask(v0, thrV, _CMP_GT_OQ) \
            | (uint64_t)_mm512_cmp_ps_mask(v1, thrV, _CMP_GT_OQ) << 16 \
            | (uint64_t)_mm512_cmp_ps_mask(v2, thrV, _CMP_GT_OQ) << 32 \
            | (uint64_t)_mm512_cmp_ps_mask(v3, thrV, _CMP_GT_OQ) << 48; \
        if (training) { \
            float *lo_ = low + (t) * 32, *hi_ = high + (t) * 32; \
            _mm512_storeu_ps(lo_, SPIKE_SURROGATE(v0)); _mm512_storeu_ps(lo_ + 16, SPIKE_SURROGATE(v1)); \
            _mm512_storeu_ps(hi_, SPIKE_SURROGATE(v2)); _mm512_storeu_ps(hi_ + 16, SPIKE_SURROGATE(v3)); \
        } \
    } while (0)

/// halfAlpha / (1 + s·s) with s = scale · (v − thr): the arctan surrogate's derivative.
#define SPIKE_SURROGATE(v) _mm512_div_ps(halfAlphaV, _mm512_add_ps(oneV, _mm512_mul_ps( \
        _mm512_mul_ps(scaleV, _mm512_sub_ps((v), thrV)), _mm512_mul_ps(scaleV, _mm512_sub_ps((v), thrV)))))

SPIKE_AVX512 void spike_forward_tile_avx512(const uint16_t *inputs, const uint8_t *counts, const int32_t *start,
                                            long steps, long paddedSteps, long lanes, const float *w1Low,
                                            const float *w1High, const float *bias, float beta, float threshold,
                                            float scale, float halfAlpha, int training, uint64_t *bits, long tiles,
                                            float *low, float *high) {
    const __mmask16 m0 = spike_lane_mask(lanes, 0), m1 = spike_lane_mask(lanes, 16);
    const __mmask16 m2 = spike_lane_mask(lanes, 32), m3 = spike_lane_mask(lanes, 48);
    const __m512 bias0 = _mm512_loadu_ps(bias), bias1 = _mm512_loadu_ps(bias + 16);
    const __m512 bias2 = _mm512_loadu_ps(bias + 32), bias3 = _mm512_loadu_ps(bias + 48);
    const __m512 betaV = _mm512_set1_ps(beta), thrV = _mm512_set1_ps(threshold), scaleV = _mm512_set1_ps(scale);
    const __m512 halfAlphaV = _mm512_set1_ps(halfAlpha), oneV = _mm512_set1_ps(1.0f);
    __m512 v0 = _mm512_setzero_ps(), v1 = v0, v2 = v0, v3 = v0;
    long t = 0;
    // Two steps' currents at a time (independent chains), then their two time steps in order.
    for (; t + 1 < steps; t += 2) {
        __m512 a0 = bias0, a1 = bias1, a2 = bias2, a3 = bias3, b0 = bias0, b1 = bias1, b2 = bias2, b3 = bias3;
        const long first = start[t], second = start[t + 1], end = start[t + 2];
        const long shared = (second - first) < (end - second) ? (second - first) : (end - second);
        for (long k = 0; k < shared; k++) {
            SPIKE_ADD_ROW64(a0, a1, a2, a3, first + k);
            SPIKE_ADD_ROW64(b0, b1, b2, b3, second + k);
        }
        for (long e = first + shared; e < second; e++) SPIKE_ADD_ROW64(a0, a1, a2, a3, e);
        for (long e = second + shared; e < end; e++) SPIKE_ADD_ROW64(b0, b1, b2, b3, e);
        SPIKE_LEAKY_STEP(t, a0, a1, a2, a3);
        SPIKE_LEAKY_STEP(t + 1, b0, b1, b2, b3);
    }
    if (t < steps) {
        __m512 a0 = bias0, a1 = bias1, a2 = bias2, a3 = bias3;
        for (long e = start[t]; e < start[t + 1]; e++) SPIKE_ADD_ROW64(a0, a1, a2, a3, e);
        SPIKE_LEAKY_STEP(t, a0, a1, a2, a3);
        t += 1;
    }
    for (; t < paddedSteps; t++) SPIKE_LEAKY_STEP(t, bias0, bias1, bias2, bias3);
}
#undef SPIKE_LEAKY_STEP

SPIKE_AVX512 void spike_accumulate32_avx512(const int32_t *distinctInput, const int32_t *distinctEnd,
                                            const int32_t *occurrenceOffset, const float *occurrenceCount,
                                            long lower, long upper, const float *delta, float *dw1Half) {
    long k = lower;
    long start = k == 0 ? 0 : distinctEnd[k - 1];
    // Two rows at a time, so that their independent chains overlap (as the Swift loop).
    for (; k + 1 < upper; k += 2) {
        float *rowA = dw1Half + (long)distinctInput[k] * 32, *rowB = dw1Half + (long)distinctInput[k + 1] * 32;
        const long endA = distinctEnd[k], endB = distinctEnd[k + 1];
        __m512 a0 = _mm512_loadu_ps(rowA), a1 = _mm512_loadu_ps(rowA + 16);
        __m512 b0 = _mm512_loadu_ps(rowB), b1 = _mm512_loadu_ps(rowB + 16);
        const long shared = (endA - start) < (endB - endA) ? (endA - start) : (endB - endA);
        for (long q = 0; q < shared; q++) {
            SPIKE_ADD_ROW(a0, a1, occurrenceCount[start + q], delta + occurrenceOffset[start + q]);
            SPIKE_ADD_ROW(b0, b1, occurrenceCount[endA + q], delta + occurrenceOffset[endA + q]);
        }
        for (long q = start + shared; q < endA; q++) SPIKE_ADD_ROW(a0, a1, occurrenceCount[q], delta + occurrenceOffset[q]);
        for (long q = endA + shared; q < endB; q++) SPIKE_ADD_ROW(b0, b1, occurrenceCount[q], delta + occurrenceOffset[q]);
        _mm512_storeu_ps(rowA, a0); _mm512_storeu_ps(rowA + 16, a1);
        _mm512_storeu_ps(rowB, b0); _mm512_storeu_ps(rowB + 16, b1);
        start = endB;
    }
    if (k < upper) {
        float *row = dw1Half + (long)distinctInput[k] * 32;
        __m512 a0 = _mm512_loadu_ps(row), a1 = _mm512_loadu_ps(row + 16);
        for (long q = start; q < distinctEnd[k]; q++) SPIKE_ADD_ROW(a0, a1, occurrenceCount[q], delta + occurrenceOffset[q]);
        _mm512_storeu_ps(row, a0); _mm512_storeu_ps(row + 16, a1);
    }
}

/// One step of `spike_backward_tile_avx512` after its gradient `g0..g3` (dL/dspk1 of the tile):
/// d = (g · sg) + β · d, the products rounded before the sum (no fused multiply-add, as the
/// Swift loop); d stored over sg; then dW2[j] += dmem2[t] for the tile's spiking neurons j.
#define SPIKE_BACKWARD_STEP(t, g0, g1, g2, g3) do { \
        float *lo_ = low + (t) * 32, *hi_ = high + (t) * 32; \
        d0 = _mm512_add_ps(_mm512_mul_ps(g0, _mm512_loadu_ps(lo_)), _mm512_mul_ps(betaV, d0)); \
        d1 = _mm512_add_ps(_mm512_mul_ps(g1, _mm512_loadu_ps(lo_ + 16)), _mm512_mul_ps(betaV, d1)); \
        d2 = _mm512_add_ps(_mm512_mul_ps(g2, _mm512_loadu_ps(hi_)), _mm512_mul_ps(betaV, d2)); \
        d3 = _mm512_add_ps(_mm512_mul_ps(g3, _mm512_loadu_ps(hi_ + 16)), _mm512_mul_ps(betaV, d3)); \
        _mm512_storeu_ps(lo_, d0); _mm512_storeu_ps(lo_ + 16, d1); \
        _mm512_storeu_ps(hi_, d2); _mm512_storeu_ps(hi_ + 16, d3); \
        const float *dm2_ = delta + (recording * steps + (t)) * classStride; \
        uint64_t word_ = bits[(recording * steps + (t)) * tiles + tile]; \
        while (word_ != 0) { \
            float *row_ = dw2 + (tile * 64 + __builtin_ctzll(word_)) * classStride; \
            word_ &= word_ - 1; \
            for (long k_ = 0; k_ < classStride; k_ += 16) \
                _mm512_storeu_ps(row_ + k_, _mm512_add_ps(_mm512_loadu_ps(row_ + k_), _mm512_loadu_ps(dm2_ + k_))); \
        } \
        if (dw1Low != 0 && (t) < realSteps) { \
            for (long e_ = start[t]; e_ < start[(t) + 1]; e_++) { \
                const long r_ = (long)inputs[e_] * 32; \
                const __m512 c_ = _mm512_set1_ps((float)counts[e_]); \
                _mm512_mask_storeu_ps(dw1Low + r_, m0, _mm512_fmadd_ps(c_, d0, _mm512_maskz_loadu_ps(m0, dw1Low + r_))); \
                _mm512_mask_storeu_ps(dw1Low + r_ + 16, m1, \
                                      _mm512_fmadd_ps(c_, d1, _mm512_maskz_loadu_ps(m1, dw1Low + r_ + 16))); \
                _mm512_mask_storeu_ps(dw1High + r_, m2, _mm512_fmadd_ps(c_, d2, _mm512_maskz_loadu_ps(m2, dw1High + r_))); \
                _mm512_mask_storeu_ps(dw1High + r_ + 16, m3, \
                                      _mm512_fmadd_ps(c_, d3, _mm512_maskz_loadu_ps(m3, dw1High + r_ + 16))); \
            } \
        } \
    } while (0)

SPIKE_AVX512 void spike_backward_tile_avx512(long steps, long classes, long classStride, long paddedHidden, long tile,
                                             long tiles, long recording, const float *w2t, const uint64_t *bits,
                                             const float *delta, float *low, float *high, float beta, float *dw2,
                                             const uint16_t *inputs, const uint8_t *counts, const int32_t *start,
                                             long realSteps, long lanes, float *dw1Low, float *dw1High) {
    const float *w = w2t + tile * 64;
    const __mmask16 m0 = spike_lane_mask(lanes, 0), m1 = spike_lane_mask(lanes, 16);
    const __mmask16 m2 = spike_lane_mask(lanes, 32), m3 = spike_lane_mask(lanes, 48);
    const __m512 betaV = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
    __m512 d0 = zero, d1 = zero, d2 = zero, d3 = zero;
    long t = steps - 1;
    // Two steps' products with W2ᵀ side by side (independent chains, one load of each W2ᵀ row
    // for both); each step's own chain still sums the classes in order.
    for (; t >= 1; t -= 2) {
        const float *dmA = delta + (recording * steps + t) * classStride, *dmB = dmA - classStride;
        __m512 a0 = zero, a1 = zero, a2 = zero, a3 = zero, b0 = zero, b1 = zero, b2 = zero, b3 = zero;
        for (long c = 0; c < classes; c++) {
            const float *row = w + c * paddedHidden;
            const __m512 w0 = _mm512_loadu_ps(row), w1 = _mm512_loadu_ps(row + 16);
            const __m512 w2 = _mm512_loadu_ps(row + 32), w3 = _mm512_loadu_ps(row + 48);
            const __m512 x = _mm512_set1_ps(dmA[c]), y = _mm512_set1_ps(dmB[c]);
            a0 = _mm512_fmadd_ps(x, w0, a0); a1 = _mm512_fmadd_ps(x, w1, a1);
            a2 = _mm512_fmadd_ps(x, w2, a2); a3 = _mm512_fmadd_ps(x, w3, a3);
            b0 = _mm512_fmadd_ps(y, w0, b0); b1 = _mm512_fmadd_ps(y, w1, b1);
            b2 = _mm512_fmadd_ps(y, w2, b2); b3 = _mm512_fmadd_ps(y, w3, b3);
        }
        SPIKE_BACKWARD_STEP(t, a0, a1, a2, a3);
        SPIKE_BACKWARD_STEP(t - 1, b0, b1, b2, b3);
    }
    if (t == 0) {
        const float *dm = delta + recording * steps * classStride;
        __m512 a0 = zero, a1 = zero, a2 = zero, a3 = zero;
        for (long c = 0; c < classes; c++) {
            const float *row = w + c * paddedHidden;
            const __m512 x = _mm512_set1_ps(dm[c]);
            a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row), a0); a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 16), a1);
            a2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 32), a2); a3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 48), a3);
        }
        SPIKE_BACKWARD_STEP(0, a0, a1, a2, a3);
    }
}

SPIKE_AVX512 void spike_output_forward_avx512(long steps, long tiles, const uint64_t *bits, const float *w2,
                                              long classStride, const float *bias, float beta, float threshold,
                                              float scale, float halfAlpha, float *surrogate, int32_t *spikes) {
    const __m512 betaV = _mm512_set1_ps(beta), thrV = _mm512_set1_ps(threshold), scaleV = _mm512_set1_ps(scale);
    const __m512 halfAlphaV = _mm512_set1_ps(halfAlpha), oneV = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    const __m512 biasV = _mm512_loadu_ps(bias);
    const __m512i oneI = _mm512_set1_epi32(1);
    __m512 mem = zero;
    __m512i count = _mm512_setzero_si512();
    for (long t = 0; t < steps; t++) {
        __m512 cur = biasV;
        const uint64_t *row = bits + t * tiles;
        for (long tile = 0; tile < tiles; tile++) {
            const float *base = w2 + tile * 64 * classStride;
            for (uint64_t word = row[tile]; word != 0; word &= word - 1) {
                cur = _mm512_add_ps(cur, _mm512_loadu_ps(base + __builtin_ctzll(word) * classStride));
            }
        }
        const __m512 reset = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_sub_ps(mem, thrV), zero, _CMP_GT_OQ), thrV);
        mem = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(betaV, mem), cur), reset);
        count = _mm512_mask_add_epi32(count, _mm512_cmp_ps_mask(_mm512_sub_ps(mem, thrV), zero, _CMP_GT_OQ), count, oneI);
        _mm512_storeu_ps(surrogate + t * classStride, SPIKE_SURROGATE(mem));
    }
    _mm512_storeu_si512(spikes, count);
}
#undef SPIKE_SURROGATE

SPIKE_AVX512 void spike_output_backward_avx512(long steps, long classStride, const float *gradient, float beta,
                                               const float *surrogate, float *delta) {
    const __m512 g = _mm512_loadu_ps(gradient), betaV = _mm512_set1_ps(beta);
    __m512 d = _mm512_setzero_ps();
    for (long t = steps - 1; t >= 0; t--) {
        d = _mm512_add_ps(_mm512_mul_ps(g, _mm512_loadu_ps(surrogate + t * classStride)), _mm512_mul_ps(betaV, d));
        _mm512_storeu_ps(delta + t * classStride, d);
    }
}

#define SPIKE_AVX2 __attribute__((target("avx2,fma")))

int spike_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

/// Adam on eight floats at `e` with 256-bit registers: `squares` and `check` accumulate.
#define SPIKE_ADAM8(e) do { \
        const __m256 w_ = _mm256_loadu_ps(p + (e)), m0_ = _mm256_loadu_ps(m + (e)), v0_ = _mm256_loadu_ps(v + (e)); \
        __m256 g_ = _mm256_loadu_ps(g + (e)); \
        if (weights) { \
            const __m256d lo_ = _mm256_cvtps_pd(_mm256_castps256_ps128(w_)), hi_ = _mm256_cvtps_pd(_mm256_extractf128_ps(w_, 1)); \
            sqLo = _mm256_add_pd(sqLo, _mm256_mul_pd(lo_, lo_)); sqHi = _mm256_add_pd(sqHi, _mm256_mul_pd(hi_, hi_)); \
            g_ = _mm256_add_ps(g_, _mm256_mul_ps(lambda8, _mm256_add_ps(w_, w_))); \
        } \
        const __m256 mv_ = _mm256_add_ps(m0_, _mm256_mul_ps(lerp8, _mm256_sub_ps(g_, m0_))); \
        const __m256 vv_ = _mm256_add_ps(_mm256_mul_ps(v0_, beta2_8), _mm256_mul_ps(_mm256_mul_ps(omb2_8, g_), g_)); \
        const __m256 denom_ = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv_), bc2_8), eps8); \
        const __m256 u_ = _mm256_add_ps(w_, _mm256_mul_ps(step8, _mm256_div_ps(mv_, denom_))); \
        check8 = _mm256_add_ps(check8, _mm256_sub_ps(u_, u_)); \
        _mm256_storeu_ps(m + (e), mv_); _mm256_storeu_ps(v + (e), vv_); _mm256_storeu_ps(p + (e), u_); \
    } while (0)

/// `SPIKE_ADAM8`'s constants and accumulators, declared in a kernel with `squares` and `rule`.
#define SPIKE_ADAM8_SETUP \
    const __m256 lambda8 = _mm256_set1_ps(rule.lambda), lerp8 = _mm256_set1_ps(rule.lerpWeight); \
    const __m256 beta2_8 = _mm256_set1_ps(rule.beta2), omb2_8 = _mm256_set1_ps(rule.oneMinusBeta2); \
    const __m256 bc2_8 = _mm256_set1_ps(rule.bc2Sqrt), eps8 = _mm256_set1_ps(rule.epsilon); \
    const __m256 step8 = _mm256_set1_ps(rule.negStepSize); \
    __m256d sqLo = _mm256_loadu_pd(squares), sqHi = _mm256_loadu_pd(squares + 4); \
    __m256 check8 = _mm256_setzero_ps()

/// Whether `check8` is zero in every lane (no NaN): every updated value was finite.
#define SPIKE_ADAM8_FINISH \
    _mm256_storeu_pd(squares, sqLo); _mm256_storeu_pd(squares + 4, sqHi); \
    const int finite8 = _mm256_movemask_ps(_mm256_cmp_ps(check8, _mm256_setzero_ps(), _CMP_NEQ_UQ)) == 0

SPIKE_AVX2 int spike_adam_avx2(float *p, const float *g, float *m, float *v, long rows, long stride, long lanes,
                               int weights, spike_adam_rule rule, double *squares) {
    SPIKE_ADAM8_SETUP;
    for (long row = 0; row < rows; row++) {
        const long first = row * stride;
        for (long e = first; e < first + lanes; e += 8) SPIKE_ADAM8(e);
    }
    SPIKE_ADAM8_FINISH;
    return finite8;
}

SPIKE_AVX512 int spike_adam_avx512(float *p, const float *g, float *m, float *v, long rows, long stride, long lanes,
                                   int weights, spike_adam_rule rule, double *squares) {
    SPIKE_ADAM8_SETUP;
    const __m512 lambda16 = _mm512_set1_ps(rule.lambda), lerp16 = _mm512_set1_ps(rule.lerpWeight);
    const __m512 beta2_16 = _mm512_set1_ps(rule.beta2), omb2_16 = _mm512_set1_ps(rule.oneMinusBeta2);
    const __m512 bc2_16 = _mm512_set1_ps(rule.bc2Sqrt), eps16 = _mm512_set1_ps(rule.epsilon);
    const __m512 step16 = _mm512_set1_ps(rule.negStepSize);
    // Element k of a row goes to lane k mod 8 in the Swift loop: both halves of a 16-float
    // register add into the same eight double lanes, the lower half first.
    __m512d sq = _mm512_insertf64x4(_mm512_castpd256_pd512(sqLo), sqHi, 1);
    __m512 check16 = _mm512_setzero_ps();
    for (long row = 0; row < rows; row++) {
        const long first = row * stride, end = first + lanes;
        long e = first;
        for (; e + 16 <= end; e += 16) {
            const __m512 w = _mm512_loadu_ps(p + e), m0 = _mm512_loadu_ps(m + e), v0 = _mm512_loadu_ps(v + e);
            __m512 gv = _mm512_loadu_ps(g + e);
            if (weights) {
                const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(w));
                const __m512d hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(w, 1));
                sq = _mm512_add_pd(sq, _mm512_mul_pd(lo, lo));
                sq = _mm512_add_pd(sq, _mm512_mul_pd(hi, hi));
                gv = _mm512_add_ps(gv, _mm512_mul_ps(lambda16, _mm512_add_ps(w, w)));
            }
            const __m512 mv = _mm512_add_ps(m0, _mm512_mul_ps(lerp16, _mm512_sub_ps(gv, m0)));
            const __m512 vv = _mm512_add_ps(_mm512_mul_ps(v0, beta2_16), _mm512_mul_ps(_mm512_mul_ps(omb2_16, gv), gv));
            const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vv), bc2_16), eps16);
            const __m512 u = _mm512_add_ps(w, _mm512_mul_ps(step16, _mm512_div_ps(mv, denom)));
            check16 = _mm512_add_ps(check16, _mm512_sub_ps(u, u));
            _mm512_storeu_ps(m + e, mv); _mm512_storeu_ps(v + e, vv); _mm512_storeu_ps(p + e, u);
        }
        if (e < end) {
            sqLo = _mm512_castpd512_pd256(sq); sqHi = _mm512_extractf64x4_pd(sq, 1);
            SPIKE_ADAM8(e);
            sq = _mm512_insertf64x4(_mm512_castpd256_pd512(sqLo), sqHi, 1);
        }
    }
    sqLo = _mm512_castpd512_pd256(sq); sqHi = _mm512_extractf64x4_pd(sq, 1);
    SPIKE_ADAM8_FINISH;
    return finite8 && _mm512_cmp_ps_mask(check16, _mm512_setzero_ps(), _CMP_NEQ_UQ) == 0;
}
#undef SPIKE_ADAM8_FINISH
#undef SPIKE_ADAM8_SETUP
#undef SPIKE_ADAM8
#endif
