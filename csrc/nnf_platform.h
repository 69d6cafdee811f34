/* Small platform helpers for the csrc kernels (our own code).
 *
 * nnf_cpu_feature(i): run-time CPU feature check (CPUID, and for AVX/AVX-512 the OS's saving of
 *   the wide registers, as GCC's __builtin_cpu_supports does) of feature i of NNF_CPU_FEATURES
 *   (0 avx2, 1 fma, 2 avx512f, 3 avx512dq, 4 avx512bw, 5 avx512vl); csrc/__init__.py picks the
 *   build of the kernels from them at import time; 0 on non-x86 or non-GCC/Clang compilers.
 * nnf_openmp_enabled() / nnf_omp_max_threads(): whether this translation unit was compiled with
 *   OpenMP, and the default thread count (OMP_NUM_THREADS or the core count), 1 without OpenMP.
 * nnf_alloc(bytes) / nnf_free(p): a buffer aligned to a 64-byte cache line (NULL when out of
 *   memory; nnf_free(NULL) does nothing). Packed GEMM panels start on a line, so that no vector
 *   load of the micro-kernel straddles two lines.
 */
#ifndef NNF_PLATFORM_H
#define NNF_PLATFORM_H

#include <stdint.h>
#include <stdlib.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#define NNF_CPU_FEATURES "avx2 fma avx512f avx512dq avx512bw avx512vl"

static int nnf_cpu_feature(int i)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    switch (i) {   /* __builtin_cpu_supports takes a string literal only */
    case 0: return __builtin_cpu_supports("avx2") != 0;
    case 1: return __builtin_cpu_supports("fma") != 0;
    case 2: return __builtin_cpu_supports("avx512f") != 0;
    case 3: return __builtin_cpu_supports("avx512dq") != 0;
    case 4: return __builtin_cpu_supports("avx512bw") != 0;
    case 5: return __builtin_cpu_supports("avx512vl") != 0;
    default: return 0;
    }
#else
    (void)i;
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

#define NNF_LINE 64

/* The block from malloc is over-allocated by a line; the pointer malloc returned is kept in the
 * bytes just before the aligned start. */
static void *nnf_alloc(size_t bytes)
{
    char *raw = (char *)malloc(bytes + NNF_LINE + sizeof(void *));
    char *start;
    if (raw == NULL)
        return NULL;
    start = (char *)(((uintptr_t)raw + sizeof(void *) + NNF_LINE - 1) & ~(uintptr_t)(NNF_LINE - 1));
    ((void **)start)[-1] = raw;
    return start;
}

static void nnf_free(void *p)
{
    if (p != NULL)
        free(((void **)p)[-1]);
}

#endif
