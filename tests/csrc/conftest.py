"""Fixtures shared by the csrc kernel tests."""

import numpy as np
import pytest

import csrc

# Per-dtype tolerances relative to the scale of a reduction of `k` unit-normal products:
# atol = ATOL[dtype] * sqrt(k), rtol = RTOL[dtype].
RTOL = {np.float32: 1e-4, np.float64: 1e-11}
ATOL = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture
def threads():
    """Lets a test change csrc's thread count; restores it afterwards."""
    before = csrc.get_num_threads()
    yield csrc.set_num_threads
    csrc.set_num_threads(before)


def assert_close(actual, expected, dtype, k):
    """actual (any shape) equals the float64 `expected` within the dtype's tolerance for sums of
    k products; shapes and dtype must match exactly."""
    assert actual.shape == expected.shape
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, expected, rtol=RTOL[dtype], atol=ATOL[dtype] * np.sqrt(max(k, 1)))


def assert_fresh_c_array(out, *inputs):
    """out is a new C-contiguous array sharing no memory with the inputs."""
    assert isinstance(out, np.ndarray)
    assert out.flags.c_contiguous
    for arr in inputs:
        assert not np.shares_memory(out, arr)


@pytest.fixture
def split_small_calls(monkeypatch):
    """Makes every call big enough to share run on all the threads allowed (csrc would run a
    small one on the calling thread alone), so small test inputs still exercise the threads."""
    monkeypatch.setattr(csrc, "_MIN_FLOPS_PER_THREAD", 1)


@pytest.fixture(params=list(csrc._BUILDS))
def build(request, monkeypatch):
    """Runs the test on each build of the kernels (avx512, avx2, generic) in turn, by making it
    the one csrc's functions call. Only a build whose CPU features this machine lacks is
    skipped, with the features named; a build that is missing or was compiled without its
    instruction set fails the test."""
    name = request.param
    try:
        module = csrc._load_build(name, csrc._cpu_features)
    except csrc.BuildUnavailable as exc:
        if exc.missing:
            pytest.skip(f"hardware: {name} build: {exc}")
        pytest.fail(f"{name} build unusable on a CPU that supports it: {exc}")
    monkeypatch.setattr(csrc, "_kernels", module)
    return name
