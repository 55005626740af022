/*
 * simd_level.c — which vector instruction set the hand-vectorised kernels (depthwise,
 * small dense convs) use: chosen once from CPUID (__builtin_cpu_supports) on x86, NEON on
 * AArch64 (part of its base instruction set, __ARM_NEON), lowered to the
 * portable C path when the environment variable DC_FORCE_PORTABLE=1 is set at first use,
 * and overridable by tests and benchmarks through dc_simd_force().
 */
#include "kernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 0 until first use, else 1 + the dc_simd_level in force (so 0 can mean "unset"). */
static atomic_int simd_choice;

bool dc_simd_supported(dc_simd_level level)
{
    switch (level) {
    case DC_SIMD_PORTABLE:
        return true;
#if defined(__x86_64__) || defined(__i386__)
    case DC_SIMD_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case DC_SIMD_AVX512:
        return __builtin_cpu_supports("avx512f");
#elif defined(__aarch64__) && defined(__ARM_NEON)
    case DC_SIMD_NEON:
        return true;
#endif
    default:
        return false;
    }
}

/* The best level this CPU has, unless DC_FORCE_PORTABLE=1. */
static dc_simd_level simd_detect(void)
{
    const char *force = getenv("DC_FORCE_PORTABLE");
    if (force && strcmp(force, "1") == 0)
        return DC_SIMD_PORTABLE;
    if (dc_simd_supported(DC_SIMD_AVX512))
        return DC_SIMD_AVX512;
    if (dc_simd_supported(DC_SIMD_AVX2))
        return DC_SIMD_AVX2;
    if (dc_simd_supported(DC_SIMD_NEON))
        return DC_SIMD_NEON;
    return DC_SIMD_PORTABLE;
}

dc_simd_level dc_simd_active(void)
{
    int c = atomic_load_explicit(&simd_choice, memory_order_relaxed);
    if (c == 0) {
        /* Threads racing here all compute the same answer: a benign double store. */
        c = 1 + (int)simd_detect();
        atomic_store_explicit(&simd_choice, c, memory_order_relaxed);
    }
    return (dc_simd_level)(c - 1);
}

bool dc_simd_force(dc_simd_level level)
{
    if (!dc_simd_supported(level))
        return false;
    atomic_store_explicit(&simd_choice, 1 + (int)level, memory_order_relaxed);
    return true;
}
