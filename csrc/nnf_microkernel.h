/* GEMM micro-kernels and blocking parameters of the csrc kernels (our own code).
 *
 * One source, three builds (see setup.py): the flags a module is compiled with decide the vector
 * width V of the tile and the blocking, here, at compile time:
 *
 *   build     flags                               vector   MR x NR f32   MR x NR f64   accumulators
 *   generic   target defaults (SSE2 on x86-64)    256-bit  6 x 16        6 x 8         (SSE pairs)
 *   avx2      -mavx2 -mfma                        256-bit  6 x 16        6 x 8         12 of 16 ymm
 *   avx512    -mavx512f/dq/bw/vl -mavx2 -mfma     512-bit  8 x 32        14 x 16       16 / 28 of 32
 *
 * The tile is MR rows by two vectors; one k step loads two vectors of B, broadcasts MR elements of
 * A and issues 2*MR fused multiply-adds. 14 rows is the tallest AVX-512 tile (28 accumulators,
 * the two B vectors and a broadcast fill the 32 zmm registers), and float64 uses it: n = 1024
 * products ran at 0.88x OpenBLAS against 0.75x with 8 rows. float32 uses 8 rows: a
 * convolution's product has one row per filter, filter counts are multiples of 8 (16 and 32 in
 * the benchmarks), and 14-row tiles computed 28 rows for 16 filters: the float32 forward passes
 * took 1.35-1.5x PyTorch's time against 1.03-1.04x with 8 rows, while n = 1024 products still
 * run at 0.85-0.92x OpenBLAS (16 accumulators cover the FMA latency, 2 ports x 4 cycles, and
 * 8 broadcasts + 2 loads per 16 FMAs fit the load ports).
 *
 * nnf_micro_f32_add(kc, A, B, C, ldc, rows): C[0:rows, 0:NR_F32] += (A_panel @ B_panel)[0:rows]
 * nnf_micro_f64_add(kc, A, B, C, ldc, rows): C[0:rows, 0:NR_F64] += (A_panel @ B_panel)[0:rows]
 *   (rows <= MR of the dtype: a tile cut short by the bottom edge of C is still added straight
 *   from the registers)
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
#define NNF_MR_F32 8
#define NNF_MR_F64 14
#define NNF_MC 168         /* multiple of both tile heights */
#elif defined(__AVX2__) && defined(__FMA__)
#define NNF_ISA 1          /* avx2 */
#define NNF_VEC_BYTES 32
#define NNF_MR_F32 6
#define NNF_MR_F64 6
#define NNF_MC 120
#else
#define NNF_ISA 0          /* generic */
#define NNF_VEC_BYTES 32
#define NNF_MR_F32 6
#define NNF_MR_F64 6
#define NNF_MC 120
#endif

#define NNF_MR_MAX (NNF_MR_F32 > NNF_MR_F64 ? NNF_MR_F32 : NNF_MR_F64)
#define NNF_NR_F32 (2 * NNF_VEC_BYTES / 4)
#define NNF_NR_F64 (2 * NNF_VEC_BYTES / 8)
#define NNF_NR_MAX NNF_NR_F32
#define NNF_KC 256
#define NNF_NC 3072        /* multiple of NNF_NR_MAX */

/* X(r) for every row r of a tile MR rows tall: NNF_ROWS(MR)(X). */
#define NNF_ROWS(mr) NNF_ROWS_(mr)
#define NNF_ROWS_(mr) NNF_ROWS_##mr
#define NNF_ROWS_6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define NNF_ROWS_8(X) NNF_ROWS_6(X) X(6) X(7)
#define NNF_ROWS_14(X) NNF_ROWS_8(X) X(8) X(9) X(10) X(11) X(12) X(13)

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
/* The tile's rows of C are fetched into the cache while the k loop runs: they are added at the
 * end, a row of C apart each (often a multiple of 4 KiB), which no hardware prefetcher follows. */
#define NNF_PREFETCH_ROW(r)                                                                     \
    if ((r) < rows) {                                                                           \
        __builtin_prefetch(C + (r) * ldc, 1, 3);                                                \
        __builtin_prefetch((const char *)(C + (r) * ldc) + 2 * sizeof(nnf_V_) - 1, 1, 3);       \
    }
#if defined(__clang__)
#define NNF_UNROLL _Pragma("unroll 4")
#else
#define NNF_UNROLL _Pragma("GCC unroll 4")
#endif
#define NNF_DEFINE_MICRO(NAME, V, T, LANES, MR)                                                 \
    static inline void NAME##_add(ptrdiff_t kc, const T *A, const T *B, T *C, ptrdiff_t ldc,  \
                                  ptrdiff_t rows)                                               \
    {                                                                                           \
        typedef V nnf_V_;                                                                       \
        typedef T nnf_T_;                                                                       \
        NNF_ROWS(MR)(NNF_PREFETCH_ROW)                                                          \
        NNF_ROWS(MR)(NNF_DECL_ROW)                                                              \
        NNF_UNROLL                                                                              \
        for (ptrdiff_t p = 0; p < kc; ++p) {                                                   \
            V b0 = nnf_load_##V(B), b1 = nnf_load_##V(B + LANES);                              \
            NNF_ROWS(MR)(NNF_FMA_ROW)                                                           \
            A += MR;                                                                            \
            B += 2 * LANES;                                                                     \
        }                                                                                       \
        NNF_ROWS(MR)(NNF_ADD_ROW)                                                               \
    }

#else  /* portable fallback */

#define NNF_DEFINE_MICRO(NAME, V, T, LANES, MR)                                                 \
    static void NAME##_add(ptrdiff_t kc, const T *A, const T *B, T *C, ptrdiff_t ldc,         \
                           ptrdiff_t rows)                                                      \
    {                                                                                           \
        T acc[MR * 2 * LANES] = {0};                                                            \
        for (ptrdiff_t p = 0; p < kc; ++p, A += MR, B += 2 * LANES)                            \
            for (int i = 0; i < MR; ++i)                                                        \
                for (int j = 0; j < 2 * LANES; ++j) acc[i * 2 * LANES + j] += A[i] * B[j];     \
        for (int i = 0; i < rows; ++i)                                                          \
            for (int j = 0; j < 2 * LANES; ++j) C[i * ldc + j] += acc[i * 2 * LANES + j];      \
    }

#endif

NNF_DEFINE_MICRO(nnf_micro_f32, nnf_vf, float, NNF_NR_F32 / 2, NNF_MR_F32)
NNF_DEFINE_MICRO(nnf_micro_f64, nnf_vd, double, NNF_NR_F64 / 2, NNF_MR_F64)

/* acc (row-major MR x NR tile, overwritten) = A_panel @ B_panel: for edge tiles. */
static inline void nnf_micro_f32(ptrdiff_t kc, const float *A, const float *B, float *acc)
{
    memset(acc, 0, NNF_MR_F32 * NNF_NR_F32 * sizeof *acc);
    nnf_micro_f32_add(kc, A, B, acc, NNF_NR_F32, NNF_MR_F32);
}

static inline void nnf_micro_f64(ptrdiff_t kc, const double *A, const double *B, double *acc)
{
    memset(acc, 0, NNF_MR_F64 * NNF_NR_F64 * sizeof *acc);
    nnf_micro_f64_add(kc, A, B, acc, NNF_NR_F64, NNF_MR_F64);
}

/* ---------------------------------------------------------------------------------------------
 * Dot-product tile for a stride-1 convolution's weight gradient (our own code).
 *
 * nnf_dot_f32 / nnf_dot_f64(rows, n, A, lda, B, ldb, out, ldo):
 *   out[i*ldo + j] += sum over r < rows, v < n of A[i][r*lda + v] * B[j][r*ldb + v]
 *   for i < NNF_DOT_ROWS, j < NNF_DOT_COLS; n a multiple of the vector length.
 * The reduction runs along the contiguous axis of both operands (an output row of dout, and
 * the matching shifted row of the padded input), so nothing is packed or transposed: each
 * vector step loads NNF_DOT_ROWS + NNF_DOT_COLS vectors for ROWS x COLS fused multiply-adds into
 * as many vector accumulators, summed across their lanes at the end. The tile is 4 x 4 with
 * AVX-512 (16 accumulators + 8 loaded of 32 registers), 2 x 4 otherwise (8 + 5 of 16).
 */
#if NNF_VEC_BYTES == 64
#define NNF_DOT_ROWS 4
#define NNF_DOT_FOR_A(X) X(0) X(1) X(2) X(3)
#define NNF_DOT_FOR_TILE(X) NNF_DOT_ROW_OF(X, 0) NNF_DOT_ROW_OF(X, 1) NNF_DOT_ROW_OF(X, 2) \
                            NNF_DOT_ROW_OF(X, 3)
#else
#define NNF_DOT_ROWS 2
#define NNF_DOT_FOR_A(X) X(0) X(1)
#define NNF_DOT_FOR_TILE(X) NNF_DOT_ROW_OF(X, 0) NNF_DOT_ROW_OF(X, 1)
#endif
#define NNF_DOT_COLS 4
#define NNF_DOT_FOR_B(X) X(0) X(1) X(2) X(3)
#define NNF_DOT_ROW_OF(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)

#if defined(__GNUC__) || defined(__clang__)

#define NNF_DOT_DECL(i, j) nnf_V_ d##i##j = {0};
#define NNF_DOT_PTR_A(i) const nnf_T_ *a##i = A[i];
#define NNF_DOT_PTR_B(j) const nnf_T_ *b##j = B[j];
#define NNF_DOT_LOAD_B(j) nnf_V_ y##j; memcpy(&y##j, b##j + v, sizeof y##j);
#define NNF_DOT_FMA_A(i)                                                                        \
    { nnf_V_ x_; memcpy(&x_, a##i + v, sizeof x_);                                              \
      d##i##0 += x_ * y0; d##i##1 += x_ * y1; d##i##2 += x_ * y2; d##i##3 += x_ * y3; }
#define NNF_DOT_STEP_A(i) a##i += lda;
#define NNF_DOT_STEP_B(j) b##j += ldb;
#define NNF_DOT_STORE(i, j)                                                                     \
    { nnf_T_ s_ = 0;                                                                            \
      for (int l_ = 0; l_ < (int)(sizeof(nnf_V_) / sizeof(nnf_T_)); ++l_) s_ += d##i##j[l_];   \
      out[(i) * ldo + (j)] += s_; }
#define NNF_DEFINE_DOT(NAME, V, T, LANES)                                                       \
    static inline void NAME(ptrdiff_t rows, ptrdiff_t n, const T *const *A, ptrdiff_t lda,     \
                            const T *const *B, ptrdiff_t ldb, T *out, ptrdiff_t ldo)           \
    {                                                                                           \
        typedef V nnf_V_;                                                                       \
        typedef T nnf_T_;                                                                       \
        NNF_DOT_FOR_TILE(NNF_DOT_DECL)                                                          \
        NNF_DOT_FOR_A(NNF_DOT_PTR_A)                                                            \
        NNF_DOT_FOR_B(NNF_DOT_PTR_B)                                                            \
        for (ptrdiff_t r = 0; r < rows; ++r) {                                                 \
            for (ptrdiff_t v = 0; v < n; v += LANES) {                                         \
                NNF_DOT_FOR_B(NNF_DOT_LOAD_B)                                                   \
                NNF_DOT_FOR_A(NNF_DOT_FMA_A)                                                    \
            }                                                                                   \
            NNF_DOT_FOR_A(NNF_DOT_STEP_A)                                                       \
            NNF_DOT_FOR_B(NNF_DOT_STEP_B)                                                       \
        }                                                                                       \
        NNF_DOT_FOR_TILE(NNF_DOT_STORE)                                                         \
    }

#else  /* portable fallback */

#define NNF_DEFINE_DOT(NAME, V, T, LANES)                                                       \
    static void NAME(ptrdiff_t rows, ptrdiff_t n, const T *const *A, ptrdiff_t lda,            \
                     const T *const *B, ptrdiff_t ldb, T *out, ptrdiff_t ldo)                  \
    {                                                                                           \
        for (int i = 0; i < NNF_DOT_ROWS; ++i)                                                  \
            for (int j = 0; j < NNF_DOT_COLS; ++j) {                                            \
                T s = 0;                                                                        \
                for (ptrdiff_t r = 0; r < rows; ++r)                                            \
                    for (ptrdiff_t v = 0; v < n; ++v) s += A[i][r * lda + v] * B[j][r * ldb + v]; \
                out[i * ldo + j] += s;                                                          \
            }                                                                                   \
    }

#endif

NNF_DEFINE_DOT(nnf_dot_f32, nnf_vf, float, NNF_NR_F32 / 2)
NNF_DEFINE_DOT(nnf_dot_f64, nnf_vd, double, NNF_NR_F64 / 2)

#endif
