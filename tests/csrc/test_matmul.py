"""csrc.matmul against a naive row-by-column reference and against ``a @ b``."""

import itertools

import numpy as np
import pytest

import csrc
from csrc import _kern_generic

from . import _reference as ref
from .conftest import assert_close, assert_fresh_c_array

# Sizes straddling the micro-tile (6 x 16 / 6 x 8) and block (MC=120, KC=256) edges: every
# combination of the small ones, and 257 (past one block) in each position.
EDGE_SIZES = (1, 5, 17, 67)
EDGE_SHAPES = list(itertools.product(EDGE_SIZES, repeat=3)) + [
    (257, 17, 67), (67, 257, 17), (17, 67, 257), (257, 257, 257)]


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


@pytest.mark.parametrize("kind", ["transposed", "fortran", "strided", "reversed", "byteswapped",
                                  "broadcast_row", "unaligned"])
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


def test_matmul_generic_path_agrees_with_dispatched_path(dtype, rng):
    a = rng.standard_normal((67, 257)).astype(dtype)
    b = rng.standard_normal((257, 17)).astype(dtype)
    out = np.zeros((67, 17), dtype)
    _kern_generic.matmul_into(a, b, out, 1)
    assert_close(out, csrc.matmul(a, b).astype(np.float64), dtype, 257)


def test_matmul_rejects_integer_arrays_naming_the_dtype():
    with pytest.raises(TypeError, match=r"a has dtype int64.*float32 and float64.*astype"):
        csrc.matmul(np.ones((2, 2), np.int64), np.ones((2, 2)))


def test_matmul_rejects_mixed_dtypes_naming_both():
    with pytest.raises(TypeError, match=r"a is float32, b is float64"):
        csrc.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float64))


@pytest.mark.parametrize("a_shape,b_shape", [((3,), (3, 2)), ((2, 3), (3,)), ((1, 2, 3), (3, 2))])
def test_matmul_rejects_non_2d_inputs(a_shape, b_shape):
    with pytest.raises(ValueError, match=r"must be 2-D"):
        csrc.matmul(np.ones(a_shape), np.ones(b_shape))


def test_matmul_rejects_mismatched_inner_dimensions_with_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\).*a.shape\[1\] \(3\) must equal "
                                         r"b.shape\[0\] \(4\)"):
        csrc.matmul(np.ones((2, 3)), np.ones((4, 5)))
