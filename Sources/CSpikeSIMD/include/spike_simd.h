#ifndef SPIKE_SIMD_H
#define SPIKE_SIMD_H

#include <stdint.h>

/// Eight float lanes, imported into Swift as SIMD8<Float>.
typedef float spike_float8 __attribute__((vector_size(32)));

#if defined(__AVX__)
#include <immintrin.h>
#endif

/// Bit 8r + k set when lane k of `v<r>` is above `threshold` (ordered: a NaN is not above):
/// the 32 spike bits of a half tile, lane by lane. The definition, and the code where the
/// build has no AVX; the tests check `spike_bits_above` against it.
static inline __attribute__((always_inline)) uint32_t spike_bits_above_lanewise(spike_float8 v0, spike_float8 v1,
                                                                                spike_float8 v2, spike_float8 v3,
                                                                                spike_float8 threshold) {
    uint32_t bits = 0;
    for (int k = 0; k < 8; k++) {
        bits |= (uint32_t)(v0[k] > threshold[k]) << k;
        bits |= (uint32_t)(v1[k] > threshold[k]) << (8 + k);
        bits |= (uint32_t)(v2[k] > threshold[k]) << (16 + k);
        bits |= (uint32_t)(v3[k] > threshold[k]) << (24 + k);
    }
    return bits;
}

/// 1 where `spike_bits_above` uses AVX (the code is built with it), else 0.
static inline int spike_bits_above_uses_avx(void) {
#if defined(__AVX__)
    return 1;
#else
    return 0;
#endif
}

/// `spike_bits_above_lanewise` with one compare and one `vmovmskps` per register where the
/// build has AVX.
static inline __attribute__((always_inline)) uint32_t spike_bits_above(spike_float8 v0, spike_float8 v1,
                                                                       spike_float8 v2, spike_float8 v3,
                                                                       spike_float8 threshold) {
#if defined(__AVX__)
    __m256 t = (__m256)threshold;
    uint32_t b0 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps((__m256)v0, t, _CMP_GT_OQ));
    uint32_t b1 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps((__m256)v1, t, _CMP_GT_OQ));
    uint32_t b2 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps((__m256)v2, t, _CMP_GT_OQ));
    uint32_t b3 = (uint32_t)_mm256_movemask_ps(_mm256_cmp_ps((__m256)v3, t, _CMP_GT_OQ));
    return b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
#else
    return spike_bits_above_lanewise(v0, v1, v2, v3, threshold);
#endif
}

/// The constants of one Adam step (`Adam.Rule`).
typedef struct {
    float lerpWeight, beta2, oneMinusBeta2, bc2Sqrt, epsilon, negStepSize, lambda;
} spike_adam_rule;

#if defined(__x86_64__)
/// 1 where the CPU runs the AVX-512 kernels below (AVX-512 F, VL, BW and DQ), else 0.
int spike_has_avx512(void);

/// `SpikeEngine.hiddenForward` for both half tiles of a tile at once with 512-bit registers,
/// for CPUs with AVX-512 (`spike_has_avx512`): the currents `bias + Σ count·W1[input]` of one
/// recording's steps (`start` holds its `steps + 1` step starts, indices into `inputs` and
/// `counts`; `w1Low` and `w1High` the half tiles' rows of 32 floats; `bias` the tile's 64; only
/// the first `lanes` lanes gather, the others keep the bias; padded steps get the bias), two
/// steps at a time, then both half tiles' Leaky time loops (`SpikeEngine.hiddenTimeLoop`) on
/// each pair of steps' currents, still in registers: `mem = ((β·mem) + cur) − (mem > thr ? thr
/// : 0)` over all `paddedSteps` steps, the 64 spike bits of step t into `bits[t · tiles]`, and
/// when `training` the surrogate derivatives `halfAlpha / (1 + s·s)`, `s = scale · (mem − thr)`,
/// into `low` and `high` (the half tiles' [paddedSteps][32] blocks; no currents stored). The
/// same operations in the same order, hence the same bits.
void spike_forward_tile_avx512(const uint16_t *inputs, const uint8_t *counts, const int32_t *start, long steps,
                               long paddedSteps, long lanes, const float *w1Low, const float *w1High, const float *bias,
                               float beta, float threshold, float scale, float halfAlpha, int training, uint64_t *bits,
                               long tiles, float *low, float *high);

/// `SpikeEngine.accumulateRows` on a whole half tile with 512-bit registers (for CPUs with
/// AVX-512, like `spike_forward_tile_avx512`): `dW1[input] += count · delta[offset]` for the distinct inputs
/// `lower ..< upper` of an input index, each row's updates in the index's order.
void spike_accumulate32_avx512(const int32_t *distinctInput, const int32_t *distinctEnd,
                               const int32_t *occurrenceOffset, const float *occurrenceCount, long lower, long upper,
                               const float *delta, float *dw1Half);

/// `SpikeEngine.hiddenBackward`'s time loop for one tile (64 lanes) and one recording with
/// 512-bit registers (for CPUs with AVX-512): steps descending, dL/dspk1 = W2ᵀ·dmem2[t]
/// (`w2t` [classes][paddedHidden]), `d = (g·sg) + β·d` over the surrogate values in `low` and
/// `high` (the tile's two [steps][32] half-tile blocks, overwritten with dL/dmem1), and
/// `dW2[j] += dmem2[t]` for the tile's spiking neurons (`bits` [B][steps][tiles], `delta` and
/// `dw2` rows of `classStride` floats). The same operations in the same order as the Swift loop.
/// With `dw1Low` (else null), also dW1 without the input index (`SpikeEngine.scatterRows`) on the
/// tile's first `lanes` lanes, right after each step's dL/dmem1: `dW1[input] += count · dmem1[t]`
/// for the recording's entries of step t < `realSteps` (`inputs`, `counts`, `start` as in
/// `spike_forward_tile_avx512`), into the rows of 32 floats at `dw1Low` and `dw1High` (the
/// tile's two half-tile slices of dW1); the same fused multiply-adds in the same order as
/// `SpikeEngine.scatterRows` on each half tile.
void spike_backward_tile_avx512(long steps, long classes, long classStride, long paddedHidden, long tile, long tiles,
                                long recording, const float *w2t, const uint64_t *bits, const float *delta, float *low,
                                float *high, float beta, float *dw2, const uint16_t *inputs, const uint8_t *counts,
                                const int32_t *start, long realSteps, long lanes, float *dw1Low, float *dw1High);

/// `SpikeEngine.outputLayer`'s forward for one recording and sixteen classes with 512-bit
/// registers (for CPUs with AVX-512): for each of `steps` steps, the current `bias + Σ W2[j]`
/// over the spiking hidden neurons j of the step's `tiles` words of `bits` (ascending j; `w2`
/// rows of `classStride` floats from the first class), the Leaky step `mem = ((β·mem) + cur) −
/// (mem − thr > 0 ? thr : 0)`, the surrogate derivative `halfAlpha / (1 + s·s)`, `s = scale ·
/// (mem − thr)`, into `surrogate + t · classStride`; the spike counts (`mem − thr > 0`) into
/// `spikes[0..<16]`. The same operations in the same order as the Swift loop, hence the same bits.
void spike_output_forward_avx512(long steps, long tiles, const uint64_t *bits, const float *w2, long classStride,
                                 const float *bias, float beta, float threshold, float scale, float halfAlpha,
                                 float *surrogate, int32_t *spikes);

/// `SpikeEngine.outputLayer`'s BPTT for one recording and sixteen classes (for CPUs with
/// AVX-512): `d = (g · sg[t]) + β·d`, steps descending, into `delta + t · classStride`.
void spike_output_backward_avx512(long steps, long classStride, const float *gradient, float beta,
                                  const float *surrogate, float *delta);

/// 1 where the CPU runs `spike_adam_avx2` (AVX2 and FMA), else 0.
int spike_has_avx2(void);

/// `Adam.apply`'s update on `rows` rows of `lanes` floats each (`lanes` a multiple of 8), the
/// rows `stride` floats apart, in place in `p`, `m` and `v` from the gradients `g`. With
/// `weights`, `rule.lambda · (2w)` is added to each gradient and each `w²` (in double) is summed
/// into `squares[k]`, k the element's index modulo 8 within its row, elements in order. Returns
/// 0 where an updated parameter is not finite, else 1. The same IEEE operations per element as
/// `Adam.apply`'s Swift loop, hence the same bits; eight lanes at a time with AVX2.
int spike_adam_avx2(float *p, const float *g, float *m, float *v, long rows, long stride, long lanes, int weights,
                    spike_adam_rule rule, double *squares);

/// `spike_adam_avx2` sixteen lanes at a time, for CPUs with AVX-512 (`spike_has_avx512`); the
/// same bits, `squares` included.
int spike_adam_avx512(float *p, const float *g, float *m, float *v, long rows, long stride, long lanes, int weights,
                      spike_adam_rule rule, double *squares);
#endif

#endif
