/* GEMM micro-kernels of the csrc kernels (our own code).
 *
 * nnf_micro_f32_add(kc, A, B, C, ldc, rows): C[0:rows, 0:16] += (A_panel @ B_panel)[0:rows]
 * nnf_micro_f64_add(kc, A, B, C, ldc, rows): C[0:rows, 0:8]  += (A_panel @ B_panel)[0:rows]
 *   (float32 / float64; rows <= 6: a tile cut short by the bottom edge of C is still added
 *   straight from the registers)
 * nnf_micro_f32(kc, A, B, acc) / nnf_micro_f64: acc = the tile alone (for tiles cut short on
 *   the right)
 *   A: packed MR x kc panel, element (i, p) at A[p*6 + i];
 *   B: packed kc x NR panel, element (p, j) at B[p*NR + j];
 *   C: row-major with row stride ldc; acc: row-major MR x NR tile, overwritten.
 *
 * The tile lives in twelve 256-bit accumulators written with GCC/Clang vector extensions, so the
 * compiler keeps it in registers: on the -mavx2 -mfma build every update is one vfmadd231ps/pd on
 * ymm registers (FMA contraction of c += a*b is the only change to float semantics). Without AVX
 * the same source is lowered to SSE2 pairs. Compilers without vector extensions get plain loops.
 * Pure Cython loops were tried first: GCC 12 vectorised the 6x16 float tile only with xmm registers
 * and stack spills, about 30x slower, hence this header.
 */
#ifndef NNF_MICROKERNEL_H
#define NNF_MICROKERNEL_H

#include <stddef.h>
#include <string.h>

#define NNF_MR 6

#if defined(__GNUC__) || defined(__clang__)

typedef float nnf_v8f __attribute__((vector_size(32)));
typedef double nnf_v4d __attribute__((vector_size(32)));

/* Unaligned vector loads and stores through memcpy (compiled to vmovups/vmovupd). */
#define NNF_DEFINE_IO(V, T)                                                                   \
    static inline V nnf_load_##V(const T *p) { V v; memcpy(&v, p, sizeof v); return v; }    \
    static inline void nnf_store_##V(T *p, V v) { memcpy(p, &v, sizeof v); }
NNF_DEFINE_IO(nnf_v8f, float)
NNF_DEFINE_IO(nnf_v4d, double)

/* One kernel body for both dtypes: V is a 256-bit vector of T, LANES its element count; the
 * tile is 6 rows by 2 vectors, its first `rows` rows added into C (row stride ldc) at the end. */
#define NNF_ADD_ROW(V, LANES, r, lo, hi)                                                        \
    if ((r) < rows) {                                                                           \
        nnf_store_##V(C + (r) * ldc, nnf_load_##V(C + (r) * ldc) + (lo));                      \
        nnf_store_##V(C + (r) * ldc + LANES, nnf_load_##V(C + (r) * ldc + LANES) + (hi));      \
    }
#define NNF_DEFINE_MICRO(NAME, V, T, LANES)                                                     \
    static inline void NAME##_add(ptrdiff_t kc, const T *A, const T *B, T *C, ptrdiff_t ldc,  \
                                  ptrdiff_t rows)                                               \
    {                                                                                           \
        V c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};                   \
        V c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};                   \
        for (ptrdiff_t p = 0; p < kc; ++p) {                                                   \
            V b0 = nnf_load_##V(B), b1 = nnf_load_##V(B + LANES);                              \
            c00 += A[0] * b0; c01 += A[0] * b1;                                                \
            c10 += A[1] * b0; c11 += A[1] * b1;                                                \
            c20 += A[2] * b0; c21 += A[2] * b1;                                                \
            c30 += A[3] * b0; c31 += A[3] * b1;                                                \
            c40 += A[4] * b0; c41 += A[4] * b1;                                                \
            c50 += A[5] * b0; c51 += A[5] * b1;                                                \
            A += NNF_MR;                                                                        \
            B += 2 * LANES;                                                                     \
        }                                                                                       \
        NNF_ADD_ROW(V, LANES, 0, c00, c01) NNF_ADD_ROW(V, LANES, 1, c10, c11)                  \
        NNF_ADD_ROW(V, LANES, 2, c20, c21) NNF_ADD_ROW(V, LANES, 3, c30, c31)                  \
        NNF_ADD_ROW(V, LANES, 4, c40, c41) NNF_ADD_ROW(V, LANES, 5, c50, c51)                  \
    }

#else  /* portable fallback */

#define NNF_DEFINE_MICRO(NAME, V, T, LANES)                                                     \
    static void NAME##_add(ptrdiff_t kc, const T *A, const T *B, T *C, ptrdiff_t ldc,         \
                           ptrdiff_t rows)                                                      \
    {                                                                                           \
        T acc[NNF_MR * 2 * LANES] = {0};                                                        \
        for (ptrdiff_t p = 0; p < kc; ++p, A += NNF_MR, B += 2 * LANES)                        \
            for (int i = 0; i < NNF_MR; ++i)                                                    \
                for (int j = 0; j < 2 * LANES; ++j) acc[i * 2 * LANES + j] += A[i] * B[j];     \
        for (int i = 0; i < rows; ++i)                                                          \
            for (int j = 0; j < 2 * LANES; ++j) C[i * ldc + j] += acc[i * 2 * LANES + j];      \
    }

#endif

NNF_DEFINE_MICRO(nnf_micro_f32, nnf_v8f, float, 8)
NNF_DEFINE_MICRO(nnf_micro_f64, nnf_v4d, double, 4)

/* acc (row-major MR x NR tile, overwritten) = A_panel @ B_panel: for edge tiles. */
static inline void nnf_micro_f32(ptrdiff_t kc, const float *A, const float *B, float *acc)
{
    memset(acc, 0, NNF_MR * 16 * sizeof *acc);
    nnf_micro_f32_add(kc, A, B, acc, 16, NNF_MR);
}

static inline void nnf_micro_f64(ptrdiff_t kc, const double *A, const double *B, double *acc)
{
    memset(acc, 0, NNF_MR * 8 * sizeof *acc);
    nnf_micro_f64_add(kc, A, B, acc, 8, NNF_MR);
}

#endif
