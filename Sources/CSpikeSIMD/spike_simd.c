// The header's inline functions, and the engine's AVX-512 kernels: built for AVX-512 whatever
// the target's own CPU flags (`-march=haswell`), and called only where `spike_has_avx512` says
// the CPU runs them, so one binary serves both kinds of node.
#include "spike_simd.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define SPIKE_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

int spike_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
}

/// acc = fma(count, row[0..<32], acc) on a half tile held in two registers.
#define SPIKE_ADD_ROW(a0, a1, count, row) do { \
        const float *r_ = (row); __m512 c_ = _mm512_set1_ps(count); \
        a0 = _mm512_fmadd_ps(c_, _mm512_loadu_ps(r_), a0); \
        a1 = _mm512_fmadd_ps(c_, _mm512_loadu_ps(r_ + 16), a1); \
    } while (0)

SPIKE_AVX512 void spike_gather32_avx512(const uint16_t *inputs, const uint8_t *counts, const int32_t *start,
                                        long steps, long paddedSteps, const float *w1Half, const float *bias,
                                        float *block) {
    const __m512 bias0 = _mm512_loadu_ps(bias), bias1 = _mm512_loadu_ps(bias + 16);
    long t = 0;
    // Two steps at a time, so that their independent chains overlap (as the Swift loop).
    for (; t + 1 < steps; t += 2) {
        __m512 a0 = bias0, a1 = bias1, b0 = bias0, b1 = bias1;
        const long first = start[t], second = start[t + 1], end = start[t + 2];
        const long shared = (second - first) < (end - second) ? (second - first) : (end - second);
        for (long k = 0; k < shared; k++) {
            SPIKE_ADD_ROW(a0, a1, (float)counts[first + k], w1Half + (long)inputs[first + k] * 32);
            SPIKE_ADD_ROW(b0, b1, (float)counts[second + k], w1Half + (long)inputs[second + k] * 32);
        }
        for (long e = first + shared; e < second; e++) SPIKE_ADD_ROW(a0, a1, (float)counts[e], w1Half + (long)inputs[e] * 32);
        for (long e = second + shared; e < end; e++) SPIKE_ADD_ROW(b0, b1, (float)counts[e], w1Half + (long)inputs[e] * 32);
        float *out = block + t * 32;
        _mm512_storeu_ps(out, a0); _mm512_storeu_ps(out + 16, a1);
        _mm512_storeu_ps(out + 32, b0); _mm512_storeu_ps(out + 48, b1);
    }
    if (t < steps) {
        __m512 a0 = bias0, a1 = bias1;
        for (long e = start[t]; e < start[t + 1]; e++) SPIKE_ADD_ROW(a0, a1, (float)counts[e], w1Half + (long)inputs[e] * 32);
        _mm512_storeu_ps(block + t * 32, a0); _mm512_storeu_ps(block + t * 32 + 16, a1);
        t += 1;
    }
    for (; t < paddedSteps; t++) {
        _mm512_storeu_ps(block + t * 32, bias0); _mm512_storeu_ps(block + t * 32 + 16, bias1);
    }
}

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
#endif
