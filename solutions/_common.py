"""Helpers shared by the kernel-backed references."""

import numpy as np


_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def common_float(*arrays):
    """The arrays as C-contiguous arrays of one floating dtype for the kernels.

    float32 only when every input is float32; integers, bools and mixtures
    become float64 (the kernels take float32 or float64, one dtype per call).
    """
    first = arrays[0]
    if type(first) is np.ndarray and first.dtype in _KERNEL_DTYPES and all(
            type(a) is np.ndarray and a.dtype is first.dtype and a.flags.c_contiguous
            for a in arrays):
        return list(arrays)  # already what the kernels take: no conversion to pay for
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
