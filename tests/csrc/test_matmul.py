"""csrc.matmul against a naive row-by-column reference and against ``np.matmul``, on every build
of the kernels this CPU runs (the `build` fixture), float32 and float64."""

import itertools

import numpy as np
import pytest

import csrc

from . import _reference as ref
from .conftest import assert_close, assert_fresh_c_array

pytestmark = pytest.mark.usefixtures("build")

# Sizes straddling every build's micro-tile and block edges: tiles of MR = 6 rows (generic, avx2)
# or 8 / 14 (avx512, float32 / float64) by NR = 16 / 8 columns (256-bit builds) or 32 / 16
# (avx512); blocks MC = 120 or 168 rows, KC = 256 deep, NC = 3072 columns. Every combination of
# the small sizes (each a tile and a bit, or less than one), 257 (past a KC block and past an MC
# block of either build) in each position, and N = 3100 past one NC block. (A call evens its MC
# and KC blocks out, _even_step: 257 still makes several blocks, the last one shorter, and
# depths that are not a multiple of the unrolled k step.)
EDGE_SIZES = (1, 5, 17, 67)
EDGE_SHAPES = list(itertools.product(EDGE_SIZES, repeat=3)) + [
    (257, 17, 67),
    (67, 257, 17),
    (17, 67, 257),
    (257, 257, 257),
    (15, 260, 3100),
]


def test_edge_shapes_reach_every_blocking_edge_of_every_build(build):
    """The sizes above really cross each build's tile and block sizes (they are read from the
    compiled modules, so a retuned blocking cannot silently escape the tests). A build is
    checked where it runs (the `build` fixture): importing a module compiled for an instruction
    set the CPU lacks may already execute it."""
    name, blocking = build, csrc._kernels.BLOCKING
    m_sizes = {m for m, _, _ in EDGE_SHAPES}
    k_sizes = {k for _, k, _ in EDGE_SHAPES}
    n_sizes = {n for _, _, n in EDGE_SHAPES}
    assert any(m > blocking["MC"] for m in m_sizes), name
    assert any(k > blocking["KC"] for k in k_sizes), name
    assert any(n > blocking["NC"] for n in n_sizes), name
    for dt in ("float32", "float64"):
        mr, nr = blocking[f"MR_{dt}"], blocking[f"NR_{dt}"]
        assert any(m % mr and m > mr for m in m_sizes), (name, dt)
        assert any(n % nr and n > nr for n in n_sizes), (name, dt)


@pytest.mark.parametrize("m,k,n", EDGE_SHAPES)
def test_matmul_matches_naive_reference_across_tile_and_block_edges(m, k, n, dtype, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = csrc.matmul(a, b)
    assert_close(out, ref.matmul(a, b), dtype, k)
    assert_fresh_c_array(out, a, b)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (300, 600, 130), (2, 1000, 3), (130, 3, 520)])
def test_matmul_equals_numpy_matmul(m, k, n, dtype, rng):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    assert_close(csrc.matmul(a, b), (a.astype(np.float64) @ b.astype(np.float64)), dtype, k)


def test_matmul_one_by_one_is_the_product(dtype):
    out = csrc.matmul(np.array([[3.0]], dtype), np.array([[-2.5]], dtype))
    assert out.dtype == dtype and out.shape == (1, 1) and out[0, 0] == -7.5


@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0), (0, 5, 0)])
def test_matmul_empty_dimensions_give_zeros_of_the_right_shape(m, k, n, dtype):
    out = csrc.matmul(np.ones((m, k), dtype), np.ones((k, n), dtype))
    assert out.shape == (m, n) and out.dtype == dtype and out.flags.c_contiguous
    assert not out.any()


def _views(base):
    """Non-contiguous views of a (2m, 2k) array that all hold an (m, k) matrix."""
    m, k = base.shape[0] // 2, base.shape[1] // 2
    return {
        "transposed": np.ascontiguousarray(base[:m, :k].T).T,
        "fortran": np.asfortranarray(base[:m, :k]),
        "strided": base[::2, ::2],
        "reversed": base[:m, :k][::-1, ::-1],
        "byteswapped": base[:m, :k].astype(base.dtype.newbyteorder()),
        "broadcast_row": np.broadcast_to(base[0, :k], (m, k)),
        "unaligned": _unaligned_copy(base[:m, :k]),
    }


def _unaligned_copy(arr):
    raw = np.zeros(arr.nbytes + 1, dtype=np.uint8)
    out = raw[1:].view(arr.dtype).reshape(arr.shape)
    out[...] = arr
    return out


@pytest.mark.parametrize(
    "kind", ["transposed", "fortran", "strided", "reversed", "byteswapped", "broadcast_row", "unaligned"]
)
def test_matmul_accepts_non_contiguous_and_foreign_layout_inputs(kind, dtype, rng):
    a = _views(rng.standard_normal((2 * 23, 2 * 37)).astype(dtype))[kind]
    b = _views(rng.standard_normal((2 * 37, 2 * 19)).astype(dtype))[kind]
    a_before, b_before = a.copy(), b.copy()
    out = csrc.matmul(a, b)
    assert out.dtype == np.dtype(dtype).newbyteorder("=")
    assert_close(out, ref.matmul(a, b), dtype, 37)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


def test_matmul_leaves_inputs_unchanged(dtype, rng):
    a = rng.standard_normal((70, 90)).astype(dtype)
    b = rng.standard_normal((90, 40)).astype(dtype)
    a0, b0 = a.copy(), b.copy()
    csrc.matmul(a, b)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)


def test_matmul_result_does_not_depend_on_thread_count(dtype, rng, threads):
    a = rng.standard_normal((301, 517)).astype(dtype)
    b = rng.standard_normal((517, 263)).astype(dtype)
    threads(1)
    one = csrc.matmul(a, b)
    threads(2)
    two = csrc.matmul(a, b)
    np.testing.assert_array_equal(one, two)


def test_matmul_rejects_integer_arrays_naming_the_dtype():
    with pytest.raises(TypeError, match=r"a has dtype int64.*float32 and float64.*astype"):
        csrc.matmul(np.ones((2, 2), np.int64), np.ones((2, 2)))


def test_matmul_rejects_mixed_dtypes_naming_both():
    with pytest.raises(TypeError, match=r"a is float32, b is float64"):
        csrc.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float64))


@pytest.mark.parametrize("a_shape,b_shape,name", [((3,), (3, 2), "a"), ((2, 3), (3,), "b"), ((), (3, 2), "a")])
def test_matmul_rejects_inputs_of_fewer_than_two_dimensions(a_shape, b_shape, name):
    with pytest.raises(ValueError, match=rf"{name} must be at least 2-D"):
        csrc.matmul(np.ones(a_shape), np.ones(b_shape))


def test_matmul_rejects_mismatched_inner_dimensions_with_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"\(2, 3\).*\(4, 5\).*a.shape\[-1\] \(3\) must equal "
        r"b.shape\[-2\] \(4\)",
    ):
        csrc.matmul(np.ones((2, 3)), np.ones((4, 5)))


# --------------------------------------------------------------------------------------------
# batched products: leading axes broadcast as in np.matmul, one kernel call for the batch
# --------------------------------------------------------------------------------------------

BATCH_SHAPES = {
    "same_leading_axes": ((4, 3, 12, 8), (4, 3, 8, 12)),
    "b_shared_2d": ((5, 7, 9), (9, 4)),
    "a_shared_2d": ((7, 9), (3, 9, 4)),
    "broadcast_ones": ((2, 1, 6, 5), (1, 3, 5, 7)),
    "more_axes_on_b": ((3, 17, 20), (2, 4, 3, 20, 33)),
    "tiles_and_blocks": ((2, 67, 257), (2, 257, 40)),
    "empty_batch": ((0, 3, 4), (4, 5)),
    "empty_inner": ((2, 3, 0), (2, 0, 5)),
}


@pytest.mark.parametrize("name", BATCH_SHAPES)
def test_batched_matmul_equals_numpy_matmul_with_broadcasting(name, dtype, rng):
    a_shape, b_shape = BATCH_SHAPES[name]
    a = rng.standard_normal(a_shape).astype(dtype)
    b = rng.standard_normal(b_shape).astype(dtype)
    out = csrc.matmul(a, b)
    assert_close(out, np.matmul(a.astype(np.float64), b.astype(np.float64)), dtype, a.shape[-1])
    assert_fresh_c_array(out, a, b)


def test_batched_matmul_reads_transposed_and_strided_batches(dtype, rng):
    q = rng.standard_normal((4, 3, 12, 8)).astype(dtype)
    k = rng.standard_normal((4, 3, 10, 8)).astype(dtype)
    scores = csrc.matmul(q, np.swapaxes(k, -1, -2))
    assert_close(scores, np.matmul(q.astype(np.float64), np.swapaxes(k, -1, -2)), dtype, 8)
    every_other = q[::2, :, ::-1]
    assert_close(
        csrc.matmul(every_other, np.swapaxes(k[::2], -1, -2)),
        np.matmul(every_other.astype(np.float64), np.swapaxes(k[::2], -1, -2)),
        dtype,
        8,
    )


def test_batched_matmul_makes_one_kernel_call(dtype, rng, monkeypatch):
    calls = []
    real = csrc._kernels

    class Spy:
        def __getattr__(self, name):
            return getattr(real, name)

        def matmul(self, a, b, *rest):
            calls.append((a.shape, b.shape))
            return real.matmul(a, b, *rest)

    monkeypatch.setattr(csrc, "_kernels", Spy())
    csrc.matmul(rng.standard_normal((4, 4, 12, 8)).astype(dtype), rng.standard_normal((4, 4, 8, 12)).astype(dtype))
    assert calls == [((4, 4, 12, 8), (4, 4, 8, 12))]


@pytest.mark.parametrize("batch", [1, 3, 40])
def test_batched_matmul_result_does_not_depend_on_thread_count(batch, dtype, rng, threads, split_small_calls):
    """Fewer products than threads split each product; more give each thread whole products."""
    a = rng.standard_normal((batch, 37, 70)).astype(dtype)
    b = rng.standard_normal((70, 45)).astype(dtype)
    threads(1)
    one = csrc.matmul(a, b)
    threads(2)
    np.testing.assert_array_equal(csrc.matmul(a, b), one)


def test_batched_matmul_rejects_leading_axes_that_do_not_broadcast():
    with pytest.raises(
        ValueError,
        match=r"leading \(batch\) axes of a \(2,\) and b \(3,\) do not "
        r"broadcast",
    ):
        csrc.matmul(np.ones((2, 4, 5)), np.ones((3, 5, 6)))


NOT_TAKEN = {
    "list": ([[1.0, 2.0]], np.ones((2, 2))),
    "subclass": (np.ones((2, 2)).view(np.matrix), np.ones((2, 2))),
    "int64": (np.ones((2, 2), np.int64), np.ones((2, 2), np.int64)),
    "mixed": (np.ones((2, 2), np.float32), np.ones((2, 2))),
    "byteswapped": (np.ones((2, 2), ">f8"), np.ones((2, 2), ">f8")),
    "one_dimensional": (np.ones(2), np.ones((2, 2))),
    "inner_mismatch": (np.ones((2, 3)), np.ones((2, 2))),
    "no_broadcast": (np.ones((2, 2, 2)), np.ones((3, 2, 2))),
    "unaligned": (np.frombuffer(b"\0" + bytes(32), np.float64, 4, 1).reshape(2, 2), np.ones((2, 2))),
}


@pytest.mark.parametrize("name", NOT_TAKEN)
def test_kernel_entry_declines_inputs_it_does_not_take_as_they_are(name):
    """The compiled entry checks its own inputs and answers None (never a read outside an
    array, never a wrong product) for anything but aligned native float arrays of one dtype
    with agreeing shapes; csrc.matmul then converts or explains."""
    a, b = NOT_TAKEN[name]
    assert csrc._kernels.matmul(a, b, 1, 1.0) is None


def test_kernel_entry_reports_the_threads_it_used():
    """At most the allowed threads, and one when the product is below the per-thread work."""
    a = np.ones((64, 64))
    out, used = csrc._kernels.matmul(a, a, 2, 1.0)
    np.testing.assert_array_equal(out, a @ a)
    assert used == 2
    assert csrc._kernels.matmul(a, a, 2, 1e12)[1] == 1
    assert csrc._kernels.matmul(a[:1, :1], a[:1, :1], 2, 1.0)[1] == 1  # one part to share
