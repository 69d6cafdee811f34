# Kernel source shared by the three compiled builds of the csrc kernels.
#
# It is included by csrc/_kern_generic.pyx (portable flags), csrc/_kern_avx2.pyx (-mavx2 -mfma)
# and csrc/_kern_avx512.pyx (-mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma), each
# compiled with its flags when the compiler accepts them (see setup.py); csrc/__init__.py picks
# one at import time after a run-time CPU feature check. The flags decide, at compile time, the
# micro-tile and blocking of nnf_microkernel.h. Everything here is our own code: no BLAS, no
# numeric library.
#
# Layout of the GEMM (BLIS/Goto style), C += A @ B with A (M, K) and B (K, N) given by a pointer and
# element strides (so transposed operands cost nothing), C row-major with leading dimension ldc:
#   for jc in N by NC:  for pc in K by KC:  pack B[pc:pc+kc, jc:jc+nc] into KC x NR panels
#     for ic in M by MC:  pack A[ic:ic+mc, pc:pc+kc] into MR x KC panels
#       for every (MR, NR) tile: register-tiled micro-kernel over kc.
# The micro-kernel keeps an MR x NR accumulator tile in vector registers (ymm or zmm + vfmadd on
# the SIMD builds). Float semantics are untouched apart from FMA contraction.
#
# Compiler directives (boundscheck, wraparound, cdivision, ...) are set once in setup.py.

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset, memcpy
cimport numpy as cnp

cnp.import_array()

cdef extern from "nnf_platform.h" nogil:
    void* nnf_alloc(size_t size)
    void nnf_free(void* p)
    int nnf_cpu_feature(int i)
    const char* NNF_CPU_FEATURES
    int nnf_openmp_enabled()
    int nnf_omp_max_threads()

cdef extern from "nnf_microkernel.h" nogil:
    void nnf_micro_f32(Py_ssize_t kc, const float* A, const float* B, float* acc)
    void nnf_micro_f64(Py_ssize_t kc, const double* A, const double* B, double* acc)
    void nnf_micro_f32_add(Py_ssize_t kc, const float* A, const float* B, float* C,
                           Py_ssize_t ldc, Py_ssize_t rows)
    void nnf_micro_f64_add(Py_ssize_t kc, const double* A, const double* B, double* C,
                           Py_ssize_t ldc, Py_ssize_t rows)
    void nnf_dot_f32(Py_ssize_t rows, Py_ssize_t n, const float** A, Py_ssize_t lda,
                     const float** B, Py_ssize_t ldb, float* out, Py_ssize_t ldo)
    void nnf_dot_f64(Py_ssize_t rows, Py_ssize_t n, const double** A, Py_ssize_t lda,
                     const double** B, Py_ssize_t ldb, double* out, Py_ssize_t ldo)
    enum: DOT_ROWS "NNF_DOT_ROWS"
    enum: DOT_COLS "NNF_DOT_COLS"

    # Blocking parameters, fixed per build by the compile flags (see the header): MR rows by NR
    # columns per micro-tile (NR per dtype, NR_MAX the float32 one), KC x NR panels of B in L1,
    # MC x KC blocks of A in L2, NC columns of B packed at a time.
    int NNF_ISA
    enum: MR_F32 "NNF_MR_F32"
    enum: MR_F64 "NNF_MR_F64"
    enum: MR_MAX "NNF_MR_MAX"
    enum: NR_F32 "NNF_NR_F32"
    enum: NR_F64 "NNF_NR_F64"
    enum: NR_MAX "NNF_NR_MAX"
    enum: KC "NNF_KC"
    enum: MC "NNF_MC"
    enum: NC "NNF_NC"

cdef enum:
    DW_CHUNKS = 16    # fixed image chunks for weight gradients: results independent of threads


#: The instruction set this module was compiled for: "generic", "avx2" or "avx512" (a SIMD
#: module whose flags the compiler refused is built portably and says "generic").
COMPILED_ISA = ("generic", "avx2", "avx512")[NNF_ISA]

#: Its micro-tile and blocking: {"MR": ..., "NR_float32": ..., "NR_float64": ..., "KC": ...}.
BLOCKING = dict(MR_float32=MR_F32, MR_float64=MR_F64, NR_float32=NR_F32, NR_float64=NR_F64,
                KC=KC, MC=MC, NC=NC)


def cpu_features():
    """{feature: bool} for the CPU features the builds need (run-time CPUID check, including
    the operating system's support for the wide registers)."""
    names = NNF_CPU_FEATURES.decode().split()
    return {name: bool(nnf_cpu_feature(i)) for i, name in enumerate(names)}


def openmp_enabled():
    """True when this module was compiled with OpenMP."""
    return bool(nnf_openmp_enabled())


def omp_max_threads():
    """Default thread count (OMP_NUM_THREADS or the number of cores; 1 without OpenMP)."""
    return nnf_omp_max_threads()


cdef inline Py_ssize_t _nr(const floating* dtype_tag) noexcept nogil:
    """Micro-tile width for the dtype: two vectors of it."""
    if floating is float:
        return NR_F32
    else:
        return NR_F64


cdef inline Py_ssize_t _mr(const floating* dtype_tag) noexcept nogil:
    """Micro-tile height for the dtype."""
    if floating is float:
        return MR_F32
    else:
        return MR_F64


cdef inline Py_ssize_t _imin(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    return a if a < b else b


cdef inline Py_ssize_t _round_up(Py_ssize_t a, Py_ssize_t m) noexcept nogil:
    return ((a + m - 1) // m) * m


cdef inline Py_ssize_t _cols_ld(Py_ssize_t P) noexcept nogil:
    """Row stride of an im2col buffer with P columns: padded so that rows are not a multiple of
    4 KiB apart (reading a panel down the rows would otherwise hit one L1 set)."""
    return _round_up(P, NR_MAX) + NR_MAX


# ----------------------------------------------------------------------------------------------
# GEMM building blocks
# ----------------------------------------------------------------------------------------------

cdef void _pack_a(Py_ssize_t mc, Py_ssize_t kc, const floating* A, Py_ssize_t rs, Py_ssize_t cs,
                  floating* Ap) noexcept nogil:
    """A[0:mc, 0:kc] -> consecutive MR x kc panels, element (i, p) of a panel at p*MR + i.
    Rows past mc are zero so the micro-kernel always runs full tiles. The panel is written in
    order, a column of MR elements at a time: a row-major A is then read along MR rows at
    once, MR streams the prefetchers follow together (row after row, each kc-element segment
    was too short a stream for them: 1.4 ns per element at n = 1024)."""
    cdef Py_ssize_t MR = _mr(Ap)
    cdef Py_ssize_t ip, i, p, mr, ip_b
    cdef const floating* src
    for ip_b in range((mc + MR - 1) // MR):
        ip = ip_b * MR
        mr = _imin(MR, mc - ip)
        src = A + ip * rs
        if mr == MR:
            for p in range(kc):
                for i in range(MR):
                    Ap[p * MR + i] = src[i * rs + p * cs]
        else:
            for p in range(kc):
                for i in range(mr):
                    Ap[p * MR + i] = src[i * rs + p * cs]
                for i in range(mr, MR):
                    Ap[p * MR + i] = 0
        Ap += MR * kc


cdef void _pack_b_panel(Py_ssize_t kc, Py_ssize_t nr, const floating* B, Py_ssize_t rs,
                        Py_ssize_t cs, floating* Bp) noexcept nogil:
    """B[0:kc, 0:nr] (nr <= NR) -> one kc x NR panel, element (p, j) at p*NR + j, zero padded."""
    cdef Py_ssize_t NR = _nr(Bp)
    cdef Py_ssize_t p, j
    if cs <= rs:         # walk the source along its rows
        for p in range(kc):
            for j in range(nr):
                Bp[p * NR + j] = B[p * rs + j * cs]
    else:
        for j in range(nr):
            for p in range(kc):
                Bp[p * NR + j] = B[p * rs + j * cs]
    for p in range(kc):
        for j in range(nr, NR):
            Bp[p * NR + j] = 0


cdef void _pack_b(Py_ssize_t kc, Py_ssize_t nc, const floating* B, Py_ssize_t rs, Py_ssize_t cs,
                  floating* Bp) noexcept nogil:
    """B[0:kc, 0:nc] -> consecutive kc x NR panels (_pack_b_panel), the last one zero padded.
    A source whose rows are its short-stride axis (row-major B) is read row by row, each row
    dealt out to every panel: panel by panel, the reads would step a whole row of B (often a
    power of two of bytes: 4 KiB for 1024 floats) down kc rows, all of them in one set of the
    L1 and L2 caches, and no prefetcher follows that, so every line came from L3 (3 ns per
    element at n = 1024)."""
    cdef Py_ssize_t NR = _nr(Bp)
    cdef Py_ssize_t full = nc // NR, panel = NR * kc
    cdef Py_ssize_t jp, jp_b, p, j
    cdef const floating* src
    cdef floating* dst
    if cs <= rs:
        for p in range(kc):
            src = B + p * rs
            dst = Bp + p * NR
            if cs == 1:
                for jp_b in range(full):
                    memcpy(dst + jp_b * panel, src + jp_b * NR, NR * sizeof(floating))
            else:
                for jp_b in range(full):
                    for j in range(NR):
                        dst[jp_b * panel + j] = src[(jp_b * NR + j) * cs]
        if nc > full * NR:
            _pack_b_panel(kc, nc - full * NR, B + full * NR * cs, rs, cs, Bp + full * panel)
        return
    for jp_b in range((nc + NR - 1) // NR):
        jp = jp_b * NR
        _pack_b_panel(kc, _imin(NR, nc - jp), B + jp * cs, rs, cs, Bp + jp * kc)


cdef inline void _micro(Py_ssize_t kc, const floating* Ap, const floating* Bp, floating* C,
                        Py_ssize_t ldc, Py_ssize_t mr, Py_ssize_t nr) noexcept nogil:
    """C[0:mr, 0:nr] += (MR x kc panel) @ (kc x NR panel), the tile computed in registers by
    the micro-kernel of nnf_microkernel.h."""
    cdef Py_ssize_t NR = _nr(Ap)
    cdef floating acc[MR_MAX * NR_MAX]
    cdef Py_ssize_t i, j
    if nr == NR:        # full width: the tile's mr rows added straight from the vector registers
        if floating is float:
            nnf_micro_f32_add(kc, Ap, Bp, C, ldc, mr)
        else:
            nnf_micro_f64_add(kc, Ap, Bp, C, ldc, mr)
        return
    if floating is float:
        nnf_micro_f32(kc, Ap, Bp, acc)
    else:
        nnf_micro_f64(kc, Ap, Bp, acc)
    for i in range(mr):
        for j in range(nr):
            C[i * ldc + j] += acc[i * NR + j]


cdef void _macro(Py_ssize_t mc, Py_ssize_t nc, Py_ssize_t kc, const floating* Ap,
                 const floating* Bp, floating* C, Py_ssize_t ldc) noexcept nogil:
    """C[0:mc, 0:nc] += packed A block @ packed B block."""
    cdef Py_ssize_t MR = _mr(Ap)
    cdef Py_ssize_t NR = _nr(Ap)
    cdef Py_ssize_t ir, jr, ir_b, jr_b
    for jr_b in range((nc + NR - 1) // NR):
        jr = jr_b * NR
        for ir_b in range((mc + MR - 1) // MR):
            ir = ir_b * MR
            _micro(kc, Ap + ir * kc, Bp + jr * kc, C + ir * ldc + jr, ldc,
                   _imin(MR, mc - ir), _imin(NR, nc - jr))


cdef void _pack_a_full(Py_ssize_t M, Py_ssize_t K, const floating* A, Py_ssize_t rs,
                       Py_ssize_t cs, floating* Ap) noexcept nogil:
    """All of A (M, K) packed for _gemm_packed: K cut in KC blocks, block pc at
    Ap + pc*round_up(M, MR), each made of MR x kc panels."""
    cdef Py_ssize_t MR = _mr(Ap)
    cdef Py_ssize_t Mround = _round_up(M, MR)
    cdef Py_ssize_t pc, pc_b
    for pc_b in range((K + KC - 1) // KC):
        pc = pc_b * KC
        _pack_a(M, _imin(KC, K - pc), A + pc * cs, rs, cs, Ap + pc * Mround)


cdef void _pack_b_full(Py_ssize_t K, Py_ssize_t N, const floating* B, Py_ssize_t rs,
                       Py_ssize_t cs, floating* Bp) noexcept nogil:
    """All of B (K, N) packed for _gemm_packed: block pc at Bp + pc*round_up(N, NR), each made
    of kc x NR panels."""
    cdef Py_ssize_t Nround = _round_up(N, _nr(Bp))
    cdef Py_ssize_t pc, pc_b
    for pc_b in range((K + KC - 1) // KC):
        pc = pc_b * KC
        _pack_b(_imin(KC, K - pc), N, B + pc * rs, rs, cs, Bp + pc * Nround)


cdef void _gemm_packed(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const floating* Ap,
                       const floating* Bp, floating* C, Py_ssize_t ldc) noexcept nogil:
    """C (M, N) += A @ B on the calling thread, both operands already packed by _pack_a_full /
    _pack_b_full."""
    cdef Py_ssize_t MR = _mr(Ap)
    cdef Py_ssize_t Mround = _round_up(M, MR), Nround = _round_up(N, _nr(Ap))
    cdef Py_ssize_t pc, pc_b, ic, ic_b, kc
    for pc_b in range((K + KC - 1) // KC):
        pc = pc_b * KC
        kc = _imin(KC, K - pc)
        for ic_b in range((M + MC - 1) // MC):
            ic = ic_b * MC
            _macro(_imin(MC, M - ic), N, kc, Ap + pc * Mround + ic * kc, Bp + pc * Nround,
                   C + ic * ldc, ldc)


cdef inline Py_ssize_t _even_step(Py_ssize_t n, Py_ssize_t block, Py_ssize_t unit) noexcept nogil:
    """The step cutting n into as few blocks of at most `block` (a multiple of `unit`) as
    possible, all but the last a multiple of `unit`, of near-equal sizes: a thin last block
    would cost a full pass over the other operand's packed block for little work (n = 1024 on
    2 threads: 516 rows as 4 x 120 + 36, now 5 x 108 less the last's 24)."""
    cdef Py_ssize_t count = (n + block - 1) // block
    return _imin(block, _round_up((n + count - 1) // count, unit))


cdef int _gemm_serial(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                      const floating* A, Py_ssize_t ars, Py_ssize_t acs,
                      const floating* B, Py_ssize_t brs, Py_ssize_t bcs,
                      floating* C, Py_ssize_t ldc) noexcept nogil:
    """C += A @ B on the calling thread, Goto-blocked (NC, KC, MC, the last two evened out by
    _even_step) with its own packing buffers. The KC blocks depend on K alone, so each element
    is summed in the same order whatever part of C a thread computes. Returns -1 when out of
    memory."""
    cdef Py_ssize_t MR = _mr(A)
    cdef Py_ssize_t NR = _nr(A)
    cdef Py_ssize_t jc, jc_b, pc, pc_b, ic, ic_b, nc, kc, mc
    cdef Py_ssize_t kc_step = _even_step(K, KC, 4), mc_step = _even_step(M, MC, MR)
    cdef Py_ssize_t nc_max = _round_up(_imin(NC, N), NR)
    cdef floating* Ap = <floating*> nnf_alloc(<size_t>(mc_step * kc_step) * sizeof(floating))
    cdef floating* Bp = <floating*> nnf_alloc(<size_t>(kc_step * nc_max) * sizeof(floating))
    if Ap == NULL or Bp == NULL:
        nnf_free(Ap)
        nnf_free(Bp)
        return -1
    for jc_b in range((N + NC - 1) // NC):
        jc = jc_b * NC
        nc = _imin(NC, N - jc)
        for pc_b in range((K + kc_step - 1) // kc_step):
            pc = pc_b * kc_step
            kc = _imin(kc_step, K - pc)
            _pack_b(kc, nc, B + pc * brs + jc * bcs, brs, bcs, Bp)
            for ic_b in range((M + mc_step - 1) // mc_step):
                ic = ic_b * mc_step
                mc = _imin(mc_step, M - ic)
                _pack_a(mc, kc, A + ic * ars + pc * acs, ars, acs, Ap)
                _macro(mc, nc, kc, Ap, Bp, C + ic * ldc + jc, ldc)
    nnf_free(Ap)
    nnf_free(Bp)
    return 0


cdef int _gemm_parallel(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                        const floating* A, Py_ssize_t ars, Py_ssize_t acs,
                        const floating* B, Py_ssize_t brs, Py_ssize_t bcs,
                        floating* C, Py_ssize_t ldc, int nthreads) noexcept nogil:
    """C += A @ B on nthreads threads: the longer side of C is cut into nthreads tile-aligned
    slabs and each thread runs the serial GEMM on its own (packing its own share of B or A).
    One parallel region and no barrier inside it, which matters on a loaded machine; each
    element of C is computed in the same order whatever the thread count. -1 when out of
    memory."""
    cdef Py_ssize_t MR = _mr(A)
    cdef Py_ssize_t NR = _nr(A)
    cdef bint split_rows = M >= N
    cdef Py_ssize_t tile = MR if split_rows else NR
    cdef Py_ssize_t length = M if split_rows else N
    cdef Py_ssize_t slab = _round_up((length + nthreads - 1) // nthreads, tile)
    cdef Py_ssize_t n_slabs = (length + slab - 1) // slab
    cdef Py_ssize_t t, lo, size
    cdef int failed = 0
    if n_slabs <= 1:
        return _gemm_serial(M, N, K, A, ars, acs, B, brs, bcs, C, ldc)
    for t in prange(n_slabs, num_threads=nthreads, schedule='static', chunksize=1):
        lo = t * slab
        size = _imin(slab, length - lo)
        if split_rows:
            if _gemm_serial(size, N, K, A + lo * ars, ars, acs, B, brs, bcs, C + lo * ldc,
                            ldc):
                failed = 1
        else:
            if _gemm_serial(M, size, K, A, ars, acs, B + lo * bcs, brs, bcs, C + lo, ldc):
                failed = 1
    return -failed


cdef int _gemm_batch(Py_ssize_t nb, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const floating* A, const Py_ssize_t* a_off, Py_ssize_t ars, Py_ssize_t acs,
                     const floating* B, const Py_ssize_t* b_off, Py_ssize_t brs, Py_ssize_t bcs,
                     floating* C, int nthreads) noexcept nogil:
    """C[i] (M, N), C-contiguous, += A[a_off[i]:] @ B[b_off[i]:] for i < nb (offsets in
    elements). With at least as many products as threads, each thread runs whole products
    serially; otherwise the products run one after another, each split over the threads. The
    order of the additions of every element is the same either way. -1 when out of memory."""
    cdef Py_ssize_t i, MN = M * N
    cdef int failed = 0
    if nthreads > 1 and nb >= nthreads:
        for i in prange(nb, num_threads=nthreads, schedule='static'):
            if _gemm_serial(M, N, K, A + a_off[i], ars, acs, B + b_off[i], brs, bcs,
                            C + i * MN, N):
                failed = 1
        return -failed
    for i in range(nb):
        if _gemm_parallel(M, N, K, A + a_off[i], ars, acs, B + b_off[i], brs, bcs, C + i * MN,
                          N, nthreads):
            return -1
    return 0


cdef enum:
    MAX_LEAD = 32     # leading (batch) axes a product may have


cdef inline Py_ssize_t _threads_for(double flops, Py_ssize_t tasks, Py_ssize_t max_threads,
                                    double min_flops_per_thread) noexcept nogil:
    """Threads for a call of `flops` operations split into `tasks` independent parts: at most
    max_threads and tasks, and few enough that each gets min_flops_per_thread (at least 1)."""
    cdef double by_work = flops / min_flops_per_thread
    cdef Py_ssize_t n = max_threads if max_threads < tasks else tasks
    if by_work < n:
        n = <Py_ssize_t> by_work
    return n if n > 1 else 1


def threads_for(double flops, Py_ssize_t tasks, Py_ssize_t max_threads,
                double min_flops_per_thread):
    """The thread policy of every kernel call (see _threads_for): matmul applies it here, the
    convolutions through csrc/__init__.py."""
    return _threads_for(flops, tasks, max_threads, min_flops_per_thread)


def matmul(object a, object b, int max_threads, double min_flops_per_thread):
    """(out, threads) with out = a @ b as np.matmul computes it, a new C-contiguous array, and
    the number of threads the product ran on; or None when the inputs are not ones this entry
    takes as they are: NumPy arrays (exactly), of one native-byte-order dtype, float32 or
    float64, aligned, at least 2-D, a.shape[-1] == b.shape[-2], leading axes that broadcast
    (at most 32 of them). The caller converts or explains such inputs.

    Threads: at most max_threads and the number of independent parts (rows or columns of each
    product, times the batch), and few enough that each gets min_flops_per_thread flops.

    Everything is checked and set up here through the NumPy C API: the references make many
    small products (an RNN step, an attention head), where a Python-level wrapper cost several
    times the product itself."""
    cdef cnp.ndarray A, B, out
    cdef int typ, nda, ndb, nd, d, da, db
    cdef Py_ssize_t M, K, N, nb = 1, i, itemsize, size_a, size_b, threads
    cdef cnp.npy_intp shape[MAX_LEAD + 2]
    cdef Py_ssize_t sa[MAX_LEAD]
    cdef Py_ssize_t sb[MAX_LEAD]
    cdef Py_ssize_t idx[MAX_LEAD]
    cdef Py_ssize_t* offsets
    cdef Py_ssize_t oa, ob
    cdef int rc
    if not (cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b)):
        return None
    A, B = <cnp.ndarray> a, <cnp.ndarray> b
    typ = cnp.PyArray_TYPE(A)
    if (typ != cnp.NPY_FLOAT32 and typ != cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(B) != typ:
        return None
    if not (cnp.PyArray_ISNOTSWAPPED(A) and cnp.PyArray_ISNOTSWAPPED(B)
            and cnp.PyArray_ISALIGNED(A) and cnp.PyArray_ISALIGNED(B)):
        return None
    nda, ndb = cnp.PyArray_NDIM(A), cnp.PyArray_NDIM(B)
    if nda < 2 or ndb < 2 or nda > MAX_LEAD + 2 or ndb > MAX_LEAD + 2:
        return None
    M, K = cnp.PyArray_DIMS(A)[nda - 2], cnp.PyArray_DIMS(A)[nda - 1]
    N = cnp.PyArray_DIMS(B)[ndb - 1]
    if cnp.PyArray_DIMS(B)[ndb - 2] != K:
        return None
    itemsize = cnp.PyArray_ITEMSIZE(A)
    nd = (nda if nda > ndb else ndb) - 2
    for d in range(nd):              # leading axes, aligned at the right as NumPy does
        da, db = d - (nd - (nda - 2)), d - (nd - (ndb - 2))
        size_a = cnp.PyArray_DIMS(A)[da] if da >= 0 else 1
        size_b = cnp.PyArray_DIMS(B)[db] if db >= 0 else 1
        if size_a != size_b and size_a != 1 and size_b != 1:
            return None
        shape[d] = size_a if size_b == 1 else size_b
        sa[d] = cnp.PyArray_STRIDES(A)[da] // itemsize if da >= 0 and size_a != 1 else 0
        sb[d] = cnp.PyArray_STRIDES(B)[db] // itemsize if db >= 0 and size_b != 1 else 0
        nb *= shape[d]
    shape[nd], shape[nd + 1] = M, N
    out = cnp.PyArray_ZEROS(nd + 2, shape, typ, 0)
    if nb == 0 or M == 0 or N == 0 or K == 0:
        return out, 1
    threads = _threads_for(2.0 * nb * M * N * K, nb * (M if M > N else N), max_threads,
                           min_flops_per_thread)
    offsets = <Py_ssize_t*> malloc(<size_t>(2 * nb) * sizeof(Py_ssize_t))
    if offsets == NULL:
        raise MemoryError("matmul: could not allocate the batch offsets")
    for d in range(nd):
        idx[d] = 0
    oa = ob = 0
    for i in range(nb):              # odometer over the leading axes, last one fastest
        offsets[i], offsets[nb + i] = oa, ob
        d = nd - 1
        while d >= 0:
            idx[d] += 1
            oa += sa[d]
            ob += sb[d]
            if idx[d] < shape[d]:
                break
            oa -= sa[d] * shape[d]
            ob -= sb[d] * shape[d]
            idx[d] = 0
            d -= 1
    with nogil:
        if typ == cnp.NPY_FLOAT32:
            rc = _gemm_batch[float](
                nb, M, N, K, <const float*> cnp.PyArray_DATA(A), offsets,
                _elem(A, nda - 2, itemsize), _elem(A, nda - 1, itemsize),
                <const float*> cnp.PyArray_DATA(B), offsets + nb,
                _elem(B, ndb - 2, itemsize), _elem(B, ndb - 1, itemsize),
                <float*> cnp.PyArray_DATA(out), <int> threads)
        else:
            rc = _gemm_batch[double](
                nb, M, N, K, <const double*> cnp.PyArray_DATA(A), offsets,
                _elem(A, nda - 2, itemsize), _elem(A, nda - 1, itemsize),
                <const double*> cnp.PyArray_DATA(B), offsets + nb,
                _elem(B, ndb - 2, itemsize), _elem(B, ndb - 1, itemsize),
                <double*> cnp.PyArray_DATA(out), <int> threads)
    free(offsets)
    if rc:
        raise MemoryError("matmul: could not allocate the packing buffers")
    return out, <int> threads


cdef inline Py_ssize_t _elem(cnp.ndarray arr, int axis, Py_ssize_t itemsize) noexcept nogil:
    """Element stride of an aligned array along `axis` (0 for an axis of length 1, whose
    stride is never used). NumPy's aligned flag guarantees whole items."""
    if cnp.PyArray_DIMS(arr)[axis] == 1:
        return 0
    return cnp.PyArray_STRIDES(arr)[axis] // itemsize


# ----------------------------------------------------------------------------------------------
# Convolution as a GEMM per image, parallel over images: the forward pass builds its im2col panel
# by panel straight in packed form; the two gradients use a per-thread im2col buffer.
# ----------------------------------------------------------------------------------------------

cdef struct ConvGeom:
    Py_ssize_t C, H, W        # input image
    Py_ssize_t F, KH, KW      # filters
    Py_ssize_t OH, OW         # output image
    Py_ssize_t sh, sw, ph, pw


cdef inline void _valid_range(Py_ssize_t n_out, Py_ssize_t stride, Py_ssize_t offset,
                              Py_ssize_t size, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """[lo, hi): the output positions o < n_out whose input position o*stride + offset lies in
    [0, size)."""
    cdef Py_ssize_t l = 0, h = n_out
    if offset < 0:
        l = (-offset + stride - 1) // stride
    if size - offset <= 0:
        h = 0
    else:
        h = _imin(n_out, (size - offset + stride - 1) // stride)
    if l > h:
        l = h
    lo[0] = l
    hi[0] = h


cdef void _im2col(const floating* x, const ConvGeom* g, floating* cols,
                  Py_ssize_t ld) noexcept nogil:
    """The im2col of one image x (C, H, W): cols (C*KH*KW, OH*OW) with row stride ld, row
    (c, kh, kw), zero where the window reads padding."""
    # Geometry in locals: read through `g`, the fields would be reloaded after every store to
    # `cols` whenever the compiler cannot rule out aliasing (e.g. -fno-strict-aliasing builds).
    cdef Py_ssize_t C = g.C, H = g.H, W = g.W, KH = g.KH, KW = g.KW, OH = g.OH, OW = g.OW
    cdef Py_ssize_t sh = g.sh, sw = g.sw, ph = g.ph, pw = g.pw
    cdef Py_ssize_t c, kh, kw, oh, ow, lo, hi, oh_lo, oh_hi
    cdef const floating* src
    cdef floating* row
    cdef floating* dst = cols
    for c in range(C):
        for kh in range(KH):
            _valid_range(OH, sh, kh - ph, H, &oh_lo, &oh_hi)
            for kw in range(KW):
                _valid_range(OW, sw, kw - pw, W, &lo, &hi)
                memset(dst, 0, oh_lo * OW * sizeof(floating))
                for oh in range(oh_lo, oh_hi):
                    row = dst + oh * OW
                    src = x + (c * H + oh * sh + kh - ph) * W + kw - pw
                    for ow in range(lo):
                        row[ow] = 0
                    if sw == 1:     # inline copy: segments are short, a memcpy call costs more
                        for ow in range(lo, hi):
                            row[ow] = src[ow]
                    else:
                        for ow in range(lo, hi):
                            row[ow] = src[ow * sw]
                    for ow in range(hi, OW):
                        row[ow] = 0
                memset(dst + oh_hi * OW, 0, (OH - oh_hi) * OW * sizeof(floating))
                dst += ld


cdef void _im2col_panel(const floating* xp, Py_ssize_t Hp, Py_ssize_t Wp, const ConvGeom* g,
                        Py_ssize_t q0, Py_ssize_t nr, Py_ssize_t pc, Py_ssize_t kc,
                        floating* Bp) noexcept nogil:
    """Rows [pc, pc+kc) and output pixels [q0, q0+nr) (nr <= NR) of the im2col of one image,
    read from xp (C, Hp, Wp), the image with its zero padding already in place, and written
    straight in the GEMM's packed-B layout: one kc x NR panel, element (p, j) at p*NR + j,
    zero in the columns past nr."""
    cdef Py_ssize_t NR = _nr(Bp)
    cdef Py_ssize_t KH = g.KH, KW = g.KW, OW = g.OW, sw = g.sw
    # The panel's pixels as runs along one output row: run s starts at panel column seg_j[s],
    # is seg_len[s] pixels long, and its first window corner is xp[seg_off[s]].
    cdef Py_ssize_t seg_off[NR_MAX]
    cdef Py_ssize_t seg_j[NR_MAX]
    cdef Py_ssize_t seg_len[NR_MAX]
    cdef Py_ssize_t n_seg = 0, j = 0, oh = q0 // OW, ow = q0 % OW
    cdef Py_ssize_t c, kh, kw, row, p, s, t, ln
    cdef const floating* src
    cdef floating* dst
    cdef floating* d
    while j < nr:
        seg_off[n_seg] = oh * g.sh * Wp + ow * sw
        seg_j[n_seg] = j
        seg_len[n_seg] = _imin(nr - j, OW - ow)
        j += seg_len[n_seg]
        n_seg += 1
        oh += 1
        ow = 0
    c = pc // (KH * KW)         # row pc of cols is (c, kh, kw); later rows step kw fastest
    kh = (pc // KW) % KH
    kw = pc % KW
    if n_seg == 1 and nr == NR and sw == 1:
        # The common case, the panel inside one output row: each panel row is NR consecutive
        # elements of xp (two vector moves); the next row's start follows by additions alone.
        src = xp + (c * Hp + kh) * Wp + kw + seg_off[0]
        for p in range(kc):
            memcpy(Bp + p * NR, src, NR * sizeof(floating))
            src += 1
            kw += 1
            if kw == KW:
                kw = 0
                src += Wp - KW
                kh += 1
                if kh == KH:
                    kh = 0
                    src += (Hp - KH) * Wp
        return
    for p in range(kc):
        dst = Bp + p * NR
        row = (c * Hp + kh) * Wp + kw
        for s in range(n_seg):
            d = dst + seg_j[s]
            src = xp + row + seg_off[s]
            ln = seg_len[s]
            for t in range(ln):
                d[t] = src[t * sw]
        for t in range(nr, NR):
            dst[t] = 0
        kw += 1
        if kw == KW:
            kw = 0
            kh += 1
            if kh == KH:
                kh = 0
                c += 1


cdef const floating* _padded(const floating* x, const ConvGeom* g, Py_ssize_t Hp, Py_ssize_t Wp,
                             floating* buf) noexcept nogil:
    """One image x (C, H, W) with its zero padding: x itself when there is none, else buf
    (C, Hp, Wp), whose border must already be zero, with x copied into its interior."""
    cdef Py_ssize_t c, h
    if g.ph == 0 and g.pw == 0:
        return x
    for c in range(g.C):
        for h in range(g.H):
            memcpy(buf + (c * Hp + h + g.ph) * Wp + g.pw, x + (c * g.H + h) * g.W,
                   g.W * sizeof(floating))
    return buf


cdef void _col2im(const floating* cols, const ConvGeom* g, floating* x,
                  Py_ssize_t ld) noexcept nogil:
    """Adjoint of _im2col: x (C, H, W) += every cols entry (row stride ld) at the pixel it was
    read from."""
    cdef Py_ssize_t C = g.C, H = g.H, W = g.W, KH = g.KH, KW = g.KW, OH = g.OH, OW = g.OW
    cdef Py_ssize_t sh = g.sh, sw = g.sw, ph = g.ph, pw = g.pw
    cdef Py_ssize_t c, kh, kw, oh, ow, lo, hi, oh_lo, oh_hi
    cdef floating* dst
    cdef const floating* row
    cdef const floating* src = cols
    for c in range(C):
        for kh in range(KH):
            _valid_range(OH, sh, kh - ph, H, &oh_lo, &oh_hi)
            for kw in range(KW):
                _valid_range(OW, sw, kw - pw, W, &lo, &hi)
                for oh in range(oh_lo, oh_hi):
                    row = src + oh * OW
                    dst = x + (c * H + oh * sh + kh - ph) * W + kw - pw
                    if sw == 1:
                        for ow in range(lo, hi):
                            dst[ow] += row[ow]
                    else:
                        for ow in range(lo, hi):
                            dst[ow * sw] += row[ow]
                src += ld


cdef ConvGeom _geom(Py_ssize_t C, Py_ssize_t H, Py_ssize_t W, Py_ssize_t F, Py_ssize_t KH,
                    Py_ssize_t KW, Py_ssize_t OH, Py_ssize_t OW, int sh, int sw, int ph, int pw):
    cdef ConvGeom g
    g.C = C; g.H = H; g.W = W; g.F = F; g.KH = KH; g.KW = KW; g.OH = OH; g.OW = OW
    g.sh = sh; g.sw = sw; g.ph = ph; g.pw = pw
    return g


cdef int _conv_forward(Py_ssize_t N, const floating* x, const floating* w, const floating* bias,
                       floating* out, const ConvGeom* g, int nthreads) noexcept nogil:
    """out (N, F, OH, OW) = conv of x (N, C, H, W) with w (F, C, KH, KW) + bias (F,) or NULL.
    Per image: out_n (F, P) = w (F, CKK) @ cols (CKK, P), w packed once. cols is never stored:
    each kc x NR panel of it is copied straight in packed form (_im2col_panel) from the padded
    image into a per-thread L1-sized buffer and multiplied by every row tile of w while there,
    the same additions in the same order as the blocked GEMM. Returns -1 when out of memory."""
    cdef Py_ssize_t MR = _mr(x)
    cdef Py_ssize_t NR = _nr(x)
    cdef Py_ssize_t P = g.OH * g.OW, CKK = g.C * g.KH * g.KW, F = g.F, CHW = g.C * g.H * g.W
    cdef Py_ssize_t Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw
    # Per-thread buffers, each a whole number of 64-byte lines apart (no false sharing).
    cdef Py_ssize_t pad_size = _round_up(g.C * Hp * Wp, NR_MAX), panel_size = KC * NR_MAX
    cdef Py_ssize_t Mround = _round_up(F, MR)
    cdef Py_ssize_t n, f, i, q0, nr, jp_b, pc, pc_b, kc, ir, ir_b
    cdef floating bf
    cdef floating* o
    cdef floating* Bp
    cdef const floating* xp
    cdef floating* Ap = <floating*> nnf_alloc(<size_t>(Mround * CKK) * sizeof(floating))
    cdef floating* Bp_all = <floating*> nnf_alloc(<size_t>(nthreads * panel_size)
                                                  * sizeof(floating))
    cdef floating* pad_all = <floating*> calloc(<size_t>(nthreads * pad_size), sizeof(floating))
    if Ap == NULL or Bp_all == NULL or pad_all == NULL:
        nnf_free(Ap)
        nnf_free(Bp_all)
        free(pad_all)
        return -1
    _pack_a_full(F, CKK, w, CKK, 1, Ap)
    for n in prange(N, num_threads=nthreads, schedule='dynamic', use_threads_if=nthreads > 1):
        Bp = Bp_all + threadid() * panel_size
        xp = _padded(x + n * CHW, g, Hp, Wp, pad_all + threadid() * pad_size)
        o = out + n * F * P
        for f in range(F):
            bf = bias[f] if bias != NULL else 0
            for i in range(P):
                o[f * P + i] = bf
        for jp_b in range((P + NR - 1) // NR):
            q0 = jp_b * NR
            nr = _imin(NR, P - q0)
            for pc_b in range((CKK + KC - 1) // KC):
                pc = pc_b * KC
                kc = _imin(KC, CKK - pc)
                _im2col_panel(xp, Hp, Wp, g, q0, nr, pc, kc, Bp)
                for ir_b in range((F + MR - 1) // MR):
                    ir = ir_b * MR
                    _micro(kc, Ap + pc * Mround + ir * kc, Bp, o + ir * P + q0, P,
                           _imin(MR, F - ir), nr)
    nnf_free(Ap)
    nnf_free(Bp_all)
    free(pad_all)
    return 0


cdef int _conv_input_grad(Py_ssize_t N, const floating* dout, const floating* w, floating* dx,
                          const ConvGeom* g, int nthreads) noexcept nogil:
    """dx (N, C, H, W) += gradient of the conv w.r.t. its input, given dout (N, F, OH, OW).
    Per image: dcols (CKK, P) = w^T (CKK, F) @ dout_n (F, P), then col2im. This is also the
    forward pass of the transposed convolution. Returns -1 when out of memory."""
    cdef Py_ssize_t MR = _mr(w)
    cdef Py_ssize_t NR = _nr(w)
    cdef Py_ssize_t P = g.OH * g.OW, CKK = g.C * g.KH * g.KW, F = g.F, ld = _cols_ld(P)
    cdef Py_ssize_t b_size = F * _round_up(P, NR)
    cdef Py_ssize_t n
    cdef floating* cols
    cdef floating* Bp
    cdef floating* Ap = <floating*> nnf_alloc(<size_t>(_round_up(CKK, MR) * F) * sizeof(floating))
    cdef floating* Bp_all = <floating*> nnf_alloc(<size_t>(nthreads * b_size) * sizeof(floating))
    cdef floating* cols_all = <floating*> malloc(<size_t>(nthreads * CKK * ld) * sizeof(floating))
    if Ap == NULL or Bp_all == NULL or cols_all == NULL:
        nnf_free(Ap)
        nnf_free(Bp_all)
        free(cols_all)
        return -1
    _pack_a_full(CKK, F, w, 1, CKK, Ap)
    for n in prange(N, num_threads=nthreads, schedule='dynamic', use_threads_if=nthreads > 1):
        Bp = Bp_all + threadid() * b_size
        cols = cols_all + threadid() * CKK * ld
        _pack_b_full(F, P, dout + n * F * P, P, 1, Bp)
        memset(cols, 0, CKK * ld * sizeof(floating))
        _gemm_packed(CKK, P, F, Ap, Bp, cols, ld)
        _col2im(cols, g, dx + n * g.C * g.H * g.W, ld)
    nnf_free(Ap)
    nnf_free(Bp_all)
    free(cols_all)
    return 0


cdef void _dw_image_s1(const floating* xp, Py_ssize_t Hp, Py_ssize_t Wp, const floating* dp,
                       Py_ssize_t OWr, Py_ssize_t Fr, Py_ssize_t CKKr, const ConvGeom* g,
                       floating* acc) noexcept nogil:
    """acc (Fr, CKKr) += one image's weight gradient of a stride-1 conv: dp (Fr, OH, OWr) its
    dout zero-padded to OWr columns and Fr filters, xp (C, Hp, Wp) its input zero-padded (Wp
    >= OWr + KW - 1, so every vector read stays inside). Element (f, (c, kh, kw)) is the sum
    over output rows oh and columns v of dp[f, oh, v] * xp[c, kh + oh, kw + v]; the columns
    past OW multiply zeros of dp. Rows of acc past the CKK real ones repeat the last one."""
    cdef const floating* A[DOT_ROWS]
    cdef const floating* B[DOT_COLS]
    cdef Py_ssize_t CKK = g.C * g.KH * g.KW, KHW = g.KH * g.KW, OH = g.OH
    cdef Py_ssize_t f0, r0, i, j, r, f_b, r_b
    for f_b in range(Fr // DOT_ROWS):
        f0 = f_b * DOT_ROWS
        for i in range(DOT_ROWS):
            A[i] = dp + (f0 + i) * OH * OWr
        for r_b in range(CKKr // DOT_COLS):
            r0 = r_b * DOT_COLS
            for j in range(DOT_COLS):
                r = _imin(r0 + j, CKK - 1)
                B[j] = xp + ((r // KHW) * Hp + (r // g.KW) % g.KH) * Wp + r % g.KW
            if floating is float:
                nnf_dot_f32(OH, OWr, A, OWr, B, Wp, acc + f0 * CKKr + r0, CKKr)
            else:
                nnf_dot_f64(OH, OWr, A, OWr, B, Wp, acc + f0 * CKKr + r0, CKKr)


cdef int _conv_weight_grad_s1(Py_ssize_t N, const floating* dout, const floating* x,
                              floating* dw, const ConvGeom* g, int nthreads) noexcept nogil:
    """dw (F, C, KH, KW) += the weight gradient of a stride-1 conv, from x and dout, with no
    im2col and no packing: per image, every (filter, (c, kh, kw)) pair is a dot product of a
    dout plane with a shifted plane of the padded input, both read along their rows
    (_dw_image_s1). The input and dout are first copied into zero-padded per-thread buffers.
    Images are split into a fixed number of chunks, each with its own accumulator, summed in
    chunk order at the end: the result does not depend on the thread count. Returns -1 when
    out of memory."""
    cdef Py_ssize_t L = _nr(x) // 2       # lanes of one vector
    cdef Py_ssize_t C = g.C, H = g.H, W = g.W, F = g.F, OH = g.OH, OW = g.OW
    cdef Py_ssize_t CKK = C * g.KH * g.KW, OWr = _round_up(OW, L)
    cdef Py_ssize_t Fr = _round_up(F, DOT_ROWS), CKKr = _round_up(CKK, DOT_COLS)
    cdef Py_ssize_t Hp = H + 2 * g.ph, Wp = W + 2 * g.pw
    cdef Py_ssize_t n_chunks = _imin(N, DW_CHUNKS), acc_size = Fr * CKKr
    cdef Py_ssize_t x_size, d_size, n, ch, f, h, r
    cdef floating* xp
    cdef floating* dp
    cdef floating* x_all
    cdef floating* d_all
    cdef floating* acc
    if Wp < OWr + g.KW - 1:
        Wp = OWr + g.KW - 1
    x_size = _round_up(C * Hp * Wp, NR_MAX)
    d_size = _round_up(Fr * OH * OWr, NR_MAX)
    x_all = <floating*> calloc(<size_t>(nthreads * x_size), sizeof(floating))
    d_all = <floating*> calloc(<size_t>(nthreads * d_size), sizeof(floating))
    acc = <floating*> calloc(<size_t>(n_chunks * acc_size), sizeof(floating))
    if x_all == NULL or d_all == NULL or acc == NULL:
        free(x_all)
        free(d_all)
        free(acc)
        return -1
    for ch in prange(n_chunks, num_threads=nthreads, schedule='dynamic',
                    use_threads_if=nthreads > 1):
        xp = x_all + threadid() * x_size
        dp = d_all + threadid() * d_size
        for n in range(ch * N // n_chunks, (ch + 1) * N // n_chunks):
            for h in range(C * H):       # rows of x into the interior; the border stays zero
                memcpy(xp + ((h // H) * Hp + h % H + g.ph) * Wp + g.pw, x + (n * C * H + h) * W,
                       W * sizeof(floating))
            for h in range(F * OH):      # rows of dout; columns past OW stay zero
                memcpy(dp + h * OWr, dout + (n * F * OH + h) * OW, OW * sizeof(floating))
            _dw_image_s1(xp, Hp, Wp, dp, OWr, Fr, CKKr, g, acc + ch * acc_size)
    for ch in range(n_chunks):
        for f in range(F):
            for r in range(CKK):
                dw[f * CKK + r] += acc[ch * acc_size + f * CKKr + r]
    free(x_all)
    free(d_all)
    free(acc)
    return 0


cdef int _conv_weight_grad(Py_ssize_t N, const floating* dout, const floating* x, floating* dw,
                           const ConvGeom* g, int nthreads) noexcept nogil:
    """dw (F, C, KH, KW) += gradient of the conv w.r.t. its weights, from x and dout.
    Per image: acc (F, CKK) += dout_n (F, P) @ cols^T (P, CKK). The filters are the product's
    rows, a whole number of MR-row tiles for the usual filter counts (multiples of 8), and the
    long reduction runs over the pixels; cols^T is packed from the im2col buffer along its
    contiguous pixel axis. (The transposed product, CKK rows by F columns, left half of every
    micro-tile empty when F = 16 on the 32-column float32 AVX-512 tile.) Images are split into a
    fixed number of chunks, each with its own accumulator, summed in chunk order at the end:
    the result does not depend on the thread count. Returns -1 when out of memory."""
    cdef Py_ssize_t MR = _mr(x)
    cdef Py_ssize_t NR = _nr(x)
    cdef Py_ssize_t P = g.OH * g.OW, CKK = g.C * g.KH * g.KW, F = g.F, FK = F * CKK
    cdef Py_ssize_t ld = _cols_ld(P)
    cdef Py_ssize_t a_size = _round_up(F, MR) * P, b_size = P * _round_up(CKK, NR)
    cdef Py_ssize_t n_chunks = _imin(N, DW_CHUNKS)
    cdef Py_ssize_t n, ch, r
    cdef floating* Ap
    cdef floating* Bp
    cdef floating* cols
    cdef floating* Ap_all = <floating*> nnf_alloc(<size_t>(nthreads * a_size) * sizeof(floating))
    cdef floating* Bp_all = <floating*> nnf_alloc(<size_t>(nthreads * b_size) * sizeof(floating))
    cdef floating* cols_all = <floating*> malloc(<size_t>(nthreads * CKK * ld) * sizeof(floating))
    cdef floating* acc = <floating*> calloc(<size_t>(n_chunks * FK), sizeof(floating))
    if Ap_all == NULL or Bp_all == NULL or cols_all == NULL or acc == NULL:
        nnf_free(Ap_all)
        nnf_free(Bp_all)
        free(cols_all)
        free(acc)
        return -1
    for ch in prange(n_chunks, num_threads=nthreads, schedule='dynamic',
                    use_threads_if=nthreads > 1):
        Ap = Ap_all + threadid() * a_size
        Bp = Bp_all + threadid() * b_size
        cols = cols_all + threadid() * CKK * ld
        for n in range(ch * N // n_chunks, (ch + 1) * N // n_chunks):
            _im2col(x + n * g.C * g.H * g.W, g, cols, ld)
            _pack_a_full(F, P, dout + n * F * P, P, 1, Ap)
            _pack_b_full(P, CKK, cols, 1, ld, Bp)
            _gemm_packed(F, CKK, P, Ap, Bp, acc + ch * FK, CKK)
    for ch in range(n_chunks):
        for r in range(FK):
            dw[r] += acc[ch * FK + r]
    nnf_free(Ap_all)
    nnf_free(Bp_all)
    free(cols_all)
    free(acc)
    return 0


def conv2d_forward_into(const floating[:, :, :, ::1] x, const floating[:, :, :, ::1] w,
                        const floating[::1] b, floating[:, :, :, ::1] out, int sh, int sw,
                        int ph, int pw, int nthreads):
    """out (N, F, OH, OW) = conv2d(x (N, C, H, W), w (F, C, KH, KW)) + b (F,), all sizes >= 1;
    b may be empty (no bias). out's previous content is ignored."""
    cdef ConvGeom g = _geom(x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2],
                            w.shape[3], out.shape[2], out.shape[3], sh, sw, ph, pw)
    cdef int rc
    with nogil:
        rc = _conv_forward(x.shape[0], &x[0, 0, 0, 0], &w[0, 0, 0, 0],
                           &b[0] if b.shape[0] else NULL, &out[0, 0, 0, 0], &g, nthreads)
    if rc:
        raise MemoryError("conv2d: could not allocate the work buffers")


def conv2d_input_grad_into(const floating[:, :, :, ::1] dout, const floating[:, :, :, ::1] w,
                           floating[:, :, :, ::1] dx, int sh, int sw, int ph, int pw,
                           int nthreads):
    """dx (N, C, H, W) += d conv2d / d x applied to dout (N, F, OH, OW); w (F, C, KH, KW)."""
    cdef ConvGeom g = _geom(dx.shape[1], dx.shape[2], dx.shape[3], w.shape[0], w.shape[2],
                            w.shape[3], dout.shape[2], dout.shape[3], sh, sw, ph, pw)
    cdef int rc
    with nogil:
        rc = _conv_input_grad(dx.shape[0], &dout[0, 0, 0, 0], &w[0, 0, 0, 0],
                              &dx[0, 0, 0, 0], &g, nthreads)
    if rc:
        raise MemoryError("conv2d: could not allocate the work buffers")


def conv2d_weight_grad_into(const floating[:, :, :, ::1] dout, const floating[:, :, :, ::1] x,
                            floating[:, :, :, ::1] dw, int sh, int sw, int ph, int pw,
                            int nthreads):
    """dw (F, C, KH, KW) += d conv2d / d w applied to dout (N, F, OH, OW); x (N, C, H, W)."""
    cdef ConvGeom g = _geom(x.shape[1], x.shape[2], x.shape[3], dw.shape[0], dw.shape[2],
                            dw.shape[3], dout.shape[2], dout.shape[3], sh, sw, ph, pw)
    cdef int rc
    with nogil:
        if sh == 1 and sw == 1:
            rc = _conv_weight_grad_s1(x.shape[0], &dout[0, 0, 0, 0], &x[0, 0, 0, 0],
                                      &dw[0, 0, 0, 0], &g, nthreads)
        else:
            rc = _conv_weight_grad(x.shape[0], &dout[0, 0, 0, 0], &x[0, 0, 0, 0],
                                   &dw[0, 0, 0, 0], &g, nthreads)
    if rc:
        raise MemoryError("conv2d: could not allocate the work buffers")


def add_channel_bias(floating[:, :, :, ::1] out, const floating[::1] b):
    """out (N, F, H, W) += b (F,) broadcast over images and pixels."""
    cdef Py_ssize_t n, f, p, P = out.shape[2] * out.shape[3]
    cdef floating* o
    cdef floating bf
    with nogil:
        for n in range(out.shape[0]):
            for f in range(out.shape[1]):
                o = &out[n, f, 0, 0]
                bf = b[f]
                for p in range(P):
                    o[p] += bf


def channel_sum_into(const floating[:, :, :, ::1] dout, floating[::1] db):
    """db (F,) += dout (N, F, H, W) summed over images and pixels (the bias gradient)."""
    cdef Py_ssize_t n, f, p, P = dout.shape[2] * dout.shape[3]
    cdef const floating* d
    cdef floating s
    with nogil:
        for f in range(dout.shape[1]):
            s = 0
            for n in range(dout.shape[0]):
                d = &dout[n, f, 0, 0]
                for p in range(P):
                    s += d[p]
            db[f] += s
