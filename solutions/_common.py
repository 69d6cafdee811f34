"""Helpers shared by the kernel-backed references."""

import numpy as np

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def common_float(*arrays):
    """The arrays as C-contiguous arrays of one floating dtype for the kernels.

    float32 only when every input is float32; integers, bools and mixtures
    become float64 (the kernels take float32 or float64, one dtype per call).
    """
    dtype = None
    for a in arrays:  # a plain loop: this runs on every small call of a reference
        if type(a) is not np.ndarray or not a.flags.c_contiguous:
            break
        if dtype is None:
            if a.dtype is not _F64 and a.dtype is not _F32:
                break
            dtype = a.dtype
        elif a.dtype is not dtype:
            break
    else:
        return list(arrays)  # already what the kernels take: no conversion to pay for
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]
