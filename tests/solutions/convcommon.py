"""What the conv and transposed-conv reference tests share: tolerances, geometry, a dtype fixture."""
import numpy as np
import pytest

#: dtype -> (rtol, atol) against a float64 oracle fed the same (rounded) inputs.
TOL = {np.float32: (1e-4, 1e-5), np.float64: (1e-10, 1e-12)}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def pair(v):
    """An int or a pair as a pair (h, w)."""
    return (v, v) if np.ndim(v) == 0 else tuple(v)


def assert_close(got, want, dtype):
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
