/* GEMM micro-kernels and blocking parameters of the csrc kernels (our own code).
 *
 * One source, three builds (see setup.py): the flags a module is compiled with decide the vector
 * width V of the tile and the blocking, here, at compile time:
 *
 *   build     flags                               vector   MR x NR f32   MR x NR f64   registers
 *   generic   target defaults (SSE2 on x86-64)    256-bit  6 x 16        6 x 8         (pairs)
 *   avx2      -mavx2 -mfma                        256-bit  6 x 16        6 x 8         12 of 16
 *   avx512    -mavx512f/dq/bw/vl -mavx2 -mfma     512-bit  14 x 32       14 x 16       28 of 32
 *
 * The tile is MR rows by two vectors; one k step loads two vectors of B, broadcasts MR elements of
 * A and issues 2*MR fused multiply-adds. With 32 zmm registers the AVX-512 build holds 28
 * accumulators, the two B vectors and a broadcast: 14 rows is the tallest tile that fits.
 *
 * nnf_micro_f32_add(kc, A, B, C, ldc, rows): C[0:rows, 0:NR_F32] += (A_panel @ B_panel)[0:rows]
 * nnf_micro_f64_add(kc, A, B, C, ldc, rows): C[0:rows, 0:NR_F64] += (A_panel @ B_panel)[0:rows]
 *   (rows <= MR: a tile cut short by the bottom edge of C is still added straight from the
 *   registers)
 * nnf_micro_f32(kc, A, B, acc) / nnf_micro_f64: acc = the tile alone (for tiles cut short on
 *   the right)
 *   A: packed MR x kc panel, element (i, p) at A[p*MR + i];
 *   B: packed kc x NR panel, element (p, j) at B[p*NR + j];
 *   C: row-major with row stride ldc; acc: row-major MR x NR tile, overwritten.
 *
 * The accumulators are GCC/Clang vector-extension variables, so the compiler keeps the tile in
 * registers: every update is one vfmadd231ps/pd on ymm (avx2) or zmm (avx512) registers (FMA
 * contraction of c += a*b is the only change to float semantics). Without AVX the same source is
 * lowered to SSE2 pairs. Compilers without vector extensions get plain loops. Pure Cython loops
 * were tried first: GCC 12 vectorised the 6x16 float tile only with xmm registers and stack
 * spills, about 30x slower, hence this header.
 *
 * Blocking (elements): a KC x NR panel of B stays in L1 while the MC x KC block of A streams from
 * L2; NC bounds the packed B block. One KC for both dtypes: a panel is 2*KC vectors, 16 KiB
 * (256-bit) or 32 KiB (512-bit) whatever the dtype.
 */
#ifndef NNF_MICROKERNEL_H
#define NNF_MICROKERNEL_H

#include <stddef.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) \
    && defined(__AVX512VL__) && defined(__AVX2__) && defined(__FMA__)
#define NNF_ISA 2          /* avx512 */
#define NNF_VEC_BYTES 64
#define NNF_MR 14
#define NNF_MC 168         /* multiple of NNF_MR */
#elif defined(__AVX2__) && defined(__FMA__)
#define NNF_ISA 1          /* avx2 */
#define NNF_VEC_BYTES 32
#define NNF_MR 6
#define NNF_MC 120
#else
#define NNF_ISA 0          /* generic */
#define NNF_VEC_BYTES 32
#define NNF_MR 6
#define NNF_MC 120
#endif

#define NNF_NR_F32 (2 * NNF_VEC_BYTES / 4)
#define NNF_NR_F64 (2 * NNF_VEC_BYTES / 8)
#define NNF_NR_MAX NNF_NR_F32
#define NNF_KC 256
#define NNF_NC 3072        /* multiple of NNF_NR_MAX */

/* X(r) for every row r of the tile. */
#if NNF_MR == 14
#define NNF_FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#else
#define NNF_FOR_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#endif

#if defined(__GNUC__) || defined(__clang__)

typedef float nnf_vf __attribute__((vector_size(NNF_VEC_BYTES)));
typedef double nnf_vd __attribute__((vector_size(NNF_VEC_BYTES)));

/* Unaligned vector loads and stores through memcpy (compiled to vmovups/vmovupd). */
static inline nnf_vf nnf_load_nnf_vf(const float *p) { nnf_vf v; memcpy(&v, p, sizeof v); return v; }
static inline nnf_vd nnf_load_nnf_vd(const double *p) { nnf_vd v; memcpy(&v, p, sizeof v); return v; }

/* One kernel body for both dtypes: V is a vector of T, LANES its element count; the tile is
 * MR rows by 2 vectors, its first `rows` rows added into C (row stride ldc) at the end. The row
 * macros see the types through the function's local typedefs nnf_V_ / nnf_T_. */
#define NNF_DECL_ROW(r) nnf_V_ c##r##_0 = {0}, c##r##_1 = {0};
#define NNF_FMA_ROW(r) { const nnf_T_ a_ = A[r]; c##r##_0 += a_ * b0; c##r##_1 += a_ * b1; }
#define NNF_ADD_ROW(r)                                                                          \
    if ((r) < rows) {                                                                           \
        nnf_T_ *row_ = C + (r) * ldc;                                                           \
        nnf_V_ lo_, hi_;                                                                        \
        memcpy(&lo_, row_, sizeof lo_);                                                         \
        memcpy(&hi_, row_ + sizeof lo_ / sizeof *row_, sizeof hi_);                             \
        lo_ += c##r##_0;                                                                        \
        hi_ += c##r##_1;                                                                        \
        memcpy(row_, &lo_, sizeof lo_);                                                         \
        memcpy(row_ + sizeof lo_ / sizeof *row_, &hi_, sizeof hi_);                             \
    }
#define NNF_DEFINE_MICRO(NAME, V, T, LANES)                                                     \
    static inline void NAME##_add(ptrdiff_t kc, const T *A, const T *B, T *C, ptrdiff_t ldc,  \
                                  ptrdiff_t rows)                                               \
    {                                                                                           \
        typedef V nnf_V_;                                                                       \
        typedef T nnf_T_;                                                                       \
        NNF_FOR_ROWS(NNF_DECL_ROW)                                                              \
        for (ptrdiff_t p = 0; p < kc; ++p) {                                                   \
            V b0 = nnf_load_##V(B), b1 = nnf_load_##V(B + LANES);                              \
            NNF_FOR_ROWS(NNF_FMA_ROW)                                                           \
            A += NNF_MR;                                                                        \
            B += 2 * LANES;                                                                     \
        }                                                                                       \
        NNF_FOR_ROWS(NNF_ADD_ROW)                                                               \
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

NNF_DEFINE_MICRO(nnf_micro_f32, nnf_vf, float, NNF_NR_F32 / 2)
NNF_DEFINE_MICRO(nnf_micro_f64, nnf_vd, double, NNF_NR_F64 / 2)

/* acc (row-major MR x NR tile, overwritten) = A_panel @ B_panel: for edge tiles. */
static inline void nnf_micro_f32(ptrdiff_t kc, const float *A, const float *B, float *acc)
{
    memset(acc, 0, NNF_MR * NNF_NR_F32 * sizeof *acc);
    nnf_micro_f32_add(kc, A, B, acc, NNF_NR_F32, NNF_MR);
}

static inline void nnf_micro_f64(ptrdiff_t kc, const double *A, const double *B, double *acc)
{
    memset(acc, 0, NNF_MR * NNF_NR_F64 * sizeof *acc);
    nnf_micro_f64_add(kc, A, B, acc, NNF_NR_F64, NNF_MR);
}

#endif
