"""Kernels called from several Python threads at once give exactly their serial results.

The grader computes references from a thread pool, so no kernel may keep a
shared workspace: each call owns its buffers.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import csrc


def _calls(rng, dtype):
    """A mix of small (serial path) and large (OpenMP path) calls of every kernel."""
    calls = []
    for m, k, n in [(3, 4, 20), (67, 129, 33), (300, 257, 190)]:
        a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
        calls.append(lambda a=a, b=b: (csrc.matmul(a, b),))
    for xs, ws, s, p in [((2, 3, 7, 6), (4, 3, 3, 2), 1, 1), ((8, 16, 20, 20), (32, 16, 3, 3), (2, 1), (1, 0))]:
        x, w = rng.standard_normal(xs).astype(dtype), rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype)
        out = csrc.conv2d_forward(x, w, b, s, p)
        dout = rng.standard_normal(out.shape).astype(dtype)
        calls.append(lambda x=x, w=w, b=b, s=s, p=p: (csrc.conv2d_forward(x, w, b, s, p),))
        calls.append(lambda d=dout, x=x, w=w, s=s, p=p: csrc.conv2d_backward(d, x, w, s, p))
        # w (F, C, KH, KW) is a transposed conv's (C_in, C_out, KH, KW) for an input like dout
        calls.append(lambda d=dout, w=w, s=s, p=p: (csrc.conv_transpose2d_forward(d, w, None, s, p),))
    return calls


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_concurrent_calls_from_python_threads_equal_serial_calls(dtype):
    calls = _calls(np.random.default_rng(0), dtype)
    serial = [call() for call in calls]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(lambda call: call(), calls * 6))
    for i, got in enumerate(concurrent):
        for g, want in zip(got, serial[i % len(calls)]):
            np.testing.assert_array_equal(g, want)
