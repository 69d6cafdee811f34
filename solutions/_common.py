"""Helpers shared by the kernel-backed references."""

import numpy as np


def common_float(*arrays):
    """The arrays as C-contiguous arrays of one floating dtype for the kernels.

    float32 only when every input is float32; integers, bools and mixtures
    become float64 (the kernels take float32 or float64, one dtype per call).
    """
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
