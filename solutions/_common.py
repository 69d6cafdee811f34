"""Helpers shared by the kernel-backed references."""

import numpy as np

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def common_float(*arrays):
    """The arrays in one floating dtype for the kernels.

    float32 only when every input is float32; integers, bools and mixtures
    become float64 (the kernels take float32 or float64, one dtype per call).
    Arrays already of one native float dtype come back as they are, whatever
    their memory layout (the kernels read strided arrays); the others are
    converted to new C-contiguous arrays.
    """
    dtype = None
    for a in arrays:  # a plain loop of identity tests: this runs on every small call of a reference
        if type(a) is not np.ndarray:
            break
        if a.dtype is not dtype:
            if dtype is not None:
                break
            dtype = a.dtype
    else:
        if dtype is _F64 or dtype is _F32:
            return arrays  # already what the kernels take: no conversion to pay for
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
