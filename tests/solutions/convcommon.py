"""What the conv and transposed-conv reference tests share: tolerances and geometry (the dtype
fixture is in conftest.py)."""

import numpy as np

from grader.catalogue._cases import pair  # noqa: F401 - re-exported to the conv tests

#: dtype -> (rtol, atol) against a float64 oracle fed the same (rounded) inputs.
TOL = {np.float32: (1e-4, 1e-5), np.float64: (1e-10, 1e-12)}


def assert_close(got, want, dtype):
    rtol, atol = TOL[dtype]
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
