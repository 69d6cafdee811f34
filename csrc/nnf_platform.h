/* Small platform helpers for the csrc kernels (our own code).
 *
 * nnf_cpu_has_avx2_fma(): run-time CPU feature check used to pick the AVX2/FMA build of the
 *   kernels at import time; 0 on non-x86-64 or non-GCC/Clang compilers.
 * nnf_openmp_enabled() / nnf_omp_max_threads(): whether this translation unit was compiled with
 *   OpenMP, and the default thread count (OMP_NUM_THREADS or the core count), 1 without OpenMP.
 * NNF_SIMD_COMPILED: 1 when this module was compiled with -mavx2 -mfma.
 */
#ifndef NNF_PLATFORM_H
#define NNF_PLATFORM_H

#ifdef _OPENMP
#include <omp.h>
#endif

static int nnf_cpu_has_avx2_fma(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static int nnf_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

static int nnf_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int nnf_thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

#if defined(__AVX2__) && defined(__FMA__)
#define NNF_SIMD_COMPILED 1
#else
#define NNF_SIMD_COMPILED 0
#endif

#endif
