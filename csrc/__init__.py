"""csrc: the reference solutions' compiled kernels (our own Cython, no BLAS).

Public API (all arrays float32 or float64, every array of one call the same dtype; outputs are new
C-contiguous arrays of that dtype; inputs are never modified; non-contiguous or non-native
byte-order inputs are accepted, copied when the kernels need it):

matmul(a, b) -> out
    a (M, K), b (K, N) -> out (M, N), equal to ``a @ b`` up to rounding. Any sizes, including
    empty ones (K = 0 gives zeros).
conv2d_forward(x, w, b=None, stride=1, padding=0) -> out
    x (N, C, H, W), w (F, C, KH, KW), b (F,) or None. Cross-correlation like
    ``torch.nn.functional.conv2d``; stride and padding are an int or a pair (h, w); out is
    (N, F, (H + 2*ph - KH)//sh + 1, (W + 2*pw - KW)//sw + 1).
conv2d_backward(dout, x, w, stride=1, padding=0) -> (dx, dw, db)
    dout (N, F, OH, OW) as returned by conv2d_forward; dx like x, dw like w, db (F,).
conv_transpose2d_forward(x, w, b=None, stride=1, padding=0) -> out
    x (N, C_in, H, W), w (C_in, C_out, KH, KW), b (C_out,) or None, like
    ``torch.nn.functional.conv_transpose2d`` (no output_padding, dilation 1, groups 1); out is
    (N, C_out, (H - 1)*sh - 2*ph + KH, (W - 1)*sw - 2*pw + KW).
conv_transpose2d_backward(dout, x, w, stride=1, padding=0) -> (dx, dw, db)
    dout like the forward's out; dx like x, dw like w, db (C_out,).
set_num_threads(n), get_num_threads()
    Most threads a kernel call uses (default: OMP_NUM_THREADS or the number of cores); calls too
    small to gain from threads (under _MIN_FLOPS_PER_THREAD of work per thread, see below) run
    on the calling thread alone. Results do not depend on the thread count.
openmp_enabled() -> bool
    Whether the kernels were compiled with OpenMP (otherwise they always run on one thread).
simd_path() -> str
    The compiled code path picked at import: "avx2-fma" when the module built with -mavx2 -mfma
    exists and the CPU supports AVX2 and FMA, else "generic". Setting the environment variable
    NNFUND_SIMD=generic before import forces the portable path.

A transposed convolution's forward pass is a convolution's input gradient, and its backward pass
is a convolution's forward pass plus a weight gradient with the roles of input and output
swapped; both directions therefore run the same three kernels.
"""

import math
import operator
import os

import numpy as np

from . import _kern_generic

__all__ = [
    "matmul",
    "conv2d_forward",
    "conv2d_backward",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "set_num_threads",
    "get_num_threads",
    "openmp_enabled",
    "simd_path",
]


def _pick_kernels():
    """(module, name) of the fastest compiled path this CPU can run."""
    if os.environ.get("NNFUND_SIMD", "").lower() != "generic" and _kern_generic.cpu_has_avx2_fma():
        try:
            from . import _kern_avx2
        except ImportError:
            _kern_avx2 = None
        if _kern_avx2 is not None and _kern_avx2.SIMD_COMPILED:
            return _kern_avx2, "avx2-fma"
    return _kern_generic, "generic"


_kernels, _simd_path = _pick_kernels()
_num_threads = max(1, int(_kernels.omp_max_threads()))

# Work (floating-point operations, 2 per multiply-add) each thread must get before a call runs on
# more than one. Starting and joining an OpenMP team costs tens of microseconds on a quiet machine
# and whole scheduler time slices (milliseconds) when another process holds a core, so a small
# call runs fastest on the calling thread alone. Measured on a 2-core AVX2 machine, float32:
# matmul 128x64 @ 64x128 (2.1e6 flops) 64 us on 2 threads vs 50 us on 1 (126 vs 51 us with a
# busy process on the other core); 128^3 (4.2e6) 93 vs 85 us; 256^3 (3.4e7) 364 vs 522 us; a
# conv2d forward of 2.4e6 flops 66 vs 85 us when quiet but 8-12 ms on 2 threads under load.
# Below the threshold the kernels get one thread and wake no other: the matmul takes its serial
# path, the conv kernels' parallel loops carry `if(nthreads > 1)` (run by the caller alone, no
# fork, no barrier with sleeping workers). Results are
# identical either way: each output element is summed in the same order whatever the threads.
_MIN_FLOPS_PER_THREAD = 4_000_000


def _threads_for(flops, tasks):
    """Threads for a call of `flops` operations split into `tasks` independent parts (rows of
    a product, images of a batch): at most get_num_threads() and `tasks`, and few enough that
    each thread gets _MIN_FLOPS_PER_THREAD."""
    return max(1, min(_num_threads, tasks, int(flops // _MIN_FLOPS_PER_THREAD)))


# --------------------------------------------------------------------------------------------
# runtime configuration
# --------------------------------------------------------------------------------------------

def set_num_threads(n):
    """Use n >= 1 threads in the kernels (no effect beyond 1 without OpenMP)."""
    global _num_threads
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}") from None
    if n < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, got {n}")
    _num_threads = n if openmp_enabled() else 1


def get_num_threads():
    """Number of threads the kernels use."""
    return _num_threads


def openmp_enabled():
    """True when the kernels were compiled with OpenMP."""
    return bool(_kernels.openmp_enabled())


def simd_path():
    """Name of the compiled code path in use: "avx2-fma" or "generic"."""
    return _simd_path


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _arrays(fname, **named):
    """Checked NumPy views of the named arrays: float32/float64, one dtype for all.
    Non-native byte order is converted; contiguity is left to the caller."""
    arrays = {}
    for name, value in named.items():
        arr = np.asarray(value)
        if arr.dtype.newbyteorder("=") not in _FLOAT_DTYPES:
            raise TypeError(
                f"{fname}: {name} has dtype {arr.dtype}, but only float32 and float64 are "
                f"supported; convert it first, e.g. {name}.astype(np.float64)")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr
    dtypes = {name: arr.dtype.name for name, arr in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} is {dt}" for name, dt in dtypes.items())
        raise TypeError(
            f"{fname}: all arrays must have the same dtype, but {listed}; cast them to one "
            f"dtype, e.g. with .astype(np.float64)")
    return arrays


def _check_ndim(fname, name, arr, ndim, layout):
    if arr.ndim != ndim:
        raise ValueError(
            f"{fname}: {name} must be {ndim}-D {layout}, got shape {arr.shape} ({arr.ndim}-D)")


def _pair(fname, name, value, minimum):
    """An int or a pair of ints -> (h, w), each >= minimum."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{fname}: {name} must be an int or a pair (h, w), got {value!r}")
    pair = []
    for item in items:
        if isinstance(item, (bool, np.bool_)):
            raise TypeError(f"{fname}: {name} must be an int or a pair of ints, got {value!r}")
        try:
            pair.append(operator.index(item))
        except TypeError:
            raise TypeError(
                f"{fname}: {name} must be an int or a pair of ints, got {value!r}") from None
    if min(pair) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fname}: {name} must be {what}, got {value!r}")
    return tuple(pair)


def _geometry(fname, stride, padding):
    return _pair(fname, "stride", stride, 1), _pair(fname, "padding", padding, 0)


def _c(arr):
    return np.ascontiguousarray(arr)


def _kernel_view(arr):
    """The array itself when the kernel can read it through its strides, else a C copy."""
    if arr.flags.aligned and all(s % arr.itemsize == 0 for s in arr.strides):
        return arr
    return np.ascontiguousarray(arr)


# --------------------------------------------------------------------------------------------
# matmul
# --------------------------------------------------------------------------------------------

def matmul(a, b):
    """a (M, K) @ b (K, N) -> new C-contiguous (M, N) array of their dtype."""
    arr = _arrays("matmul", a=a, b=b)
    a, b = arr["a"], arr["b"]
    _check_ndim("matmul", "a", a, 2, "(M, K)")
    _check_ndim("matmul", "b", b, 2, "(K, N)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"matmul: a has shape {a.shape} and b has shape {b.shape}; a.shape[1] "
            f"({a.shape[1]}) must equal b.shape[0] ({b.shape[0]})")
    out = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
    if out.size and a.shape[1]:
        (m, k), n = a.shape, b.shape[1]
        _kernels.matmul_into(_kernel_view(a), _kernel_view(b), out,
                             _threads_for(2 * m * n * k, max(m, n)))
    return out


# --------------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------------

def _conv_out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _transpose_out_size(size, k, s, p):
    return (size - 1) * s - 2 * p + k


def _check_bias(fname, b, channels, owner):
    if b is None:
        return
    if b.ndim != 1 or b.shape[0] != channels:
        raise ValueError(
            f"{fname}: b must have shape ({channels},), one value per output channel "
            f"({owner}), got shape {b.shape}")


def _check_out_size(fname, oh, ow, detail):
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{fname}: the output would be {oh}x{ow}, it must be at least 1x1 ({detail})")


def _check_dout(fname, dout, expected, source):
    _check_ndim(fname, "dout", dout, 4, "(N, C, H, W)")
    if dout.shape != expected:
        raise ValueError(
            f"{fname}: dout has shape {dout.shape} but the forward output is {expected} "
            f"({source})")


def _conv2d_checked(fname, x, w, stride, padding):
    """Validates a conv2d's x (N, C, H, W) and w (F, C, KH, KW); returns its output shape."""
    _check_ndim(fname, "x", x, 4, "(N, C, H, W)")
    _check_ndim(fname, "w", w, 4, "(F, C, KH, KW)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"{fname}: x has {x.shape[1]} channels but w expects {w.shape[1]} (w.shape[1])")
    (sh, sw), (ph, pw) = stride, padding
    oh = _conv_out_size(x.shape[2], w.shape[2], sh, ph)
    ow = _conv_out_size(x.shape[3], w.shape[3], sw, pw)
    _check_out_size(fname, oh, ow,
                    f"input {x.shape[2]}x{x.shape[3]}, kernel {w.shape[2]}x{w.shape[3]}, "
                    f"stride {stride}, padding {padding}; the padded input must be at least "
                    f"as large as the kernel")
    return (x.shape[0], w.shape[0], oh, ow)


def _conv_transpose2d_checked(fname, x, w, stride, padding):
    """Validates a conv_transpose2d's x (N, C_in, H, W) and w (C_in, C_out, KH, KW); returns
    its output shape."""
    _check_ndim(fname, "x", x, 4, "(N, C_in, H, W)")
    _check_ndim(fname, "w", w, 4, "(C_in, C_out, KH, KW)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"{fname}: x has {x.shape[1]} channels but w expects {w.shape[0]} (w.shape[0])")
    (sh, sw), (ph, pw) = stride, padding
    oh = _transpose_out_size(x.shape[2], w.shape[2], sh, ph)
    ow = _transpose_out_size(x.shape[3], w.shape[3], sw, pw)
    _check_out_size(fname, oh, ow,
                    f"input {x.shape[2]}x{x.shape[3]}, kernel {w.shape[2]}x{w.shape[3]}, "
                    f"stride {stride}, padding {padding}; reduce the padding")
    return (x.shape[0], w.shape[1], oh, ow)


def _nonempty(*arrays):
    return all(a.size for a in arrays)


# The three kernels every convolution direction is made of, for a conv2d of an input
# (N, C, H, W) with w (F, C, KH, KW) giving an output (N, F, OH, OW).

def _conv_threads(out_shape, w_shape):
    """Threads for one of the three kernels of a conv2d with output (N, F, OH, OW) and weights
    (F, C, KH, KW): each costs 2*N*F*OH*OW*C*KH*KW flops and is split over the N images."""
    return _threads_for(2 * math.prod(out_shape) * math.prod(w_shape[1:]), out_shape[0])


def _forward(x, w, b, shape, stride, padding):
    """New array `shape` = conv2d(x, w) + b (b may be None)."""
    if not (_nonempty(x, w) and all(shape)):
        out = np.zeros(shape, dtype=x.dtype)
        _add_bias(out, b)
        return out
    out = np.empty(shape, dtype=x.dtype)
    bias = _c(b) if b is not None else np.empty(0, dtype=x.dtype)
    _kernels.conv2d_forward_into(_c(x), _c(w), bias, out, *stride, *padding,
                                 _conv_threads(shape, w.shape))
    return out


def _input_grad(dout, w, shape, stride, padding):
    """New array `shape` (the input's) = gradient of conv2d(., w) w.r.t. its input at dout."""
    dx = np.zeros(shape, dtype=dout.dtype)
    if _nonempty(dout, w, dx):
        _kernels.conv2d_input_grad_into(_c(dout), _c(w), dx, *stride, *padding,
                                        _conv_threads(dout.shape, w.shape))
    return dx


def _weight_grad(dout, x, shape, stride, padding):
    """New array `shape` (the weights') = gradient of conv2d(x, .) w.r.t. its weights at dout."""
    dw = np.zeros(shape, dtype=x.dtype)
    if _nonempty(dout, x, dw):
        _kernels.conv2d_weight_grad_into(_c(dout), _c(x), dw, *stride, *padding,
                                         _conv_threads(dout.shape, shape))
    return dw


def _add_bias(out, b):
    if b is not None and out.size:
        _kernels.add_channel_bias(out, _c(b))


def _channel_sum(dout, channels):
    db = np.zeros(channels, dtype=dout.dtype)
    if dout.size:
        _kernels.channel_sum_into(_c(dout), db)
    return db


def conv2d_forward(x, w, b=None, stride=1, padding=0):
    """conv2d of x (N, C, H, W) with w (F, C, KH, KW) plus b (F,) -> out (N, F, OH, OW)."""
    fname = "conv2d_forward"
    arr = _arrays(fname, x=x, w=w, **({} if b is None else {"b": b}))
    x, w, b = arr["x"], arr["w"], arr.get("b")
    stride, padding = _geometry(fname, stride, padding)
    shape = _conv2d_checked(fname, x, w, stride, padding)
    _check_bias(fname, b, w.shape[0], "w.shape[0]")
    return _forward(x, w, b, shape, stride, padding)


def conv2d_backward(dout, x, w, stride=1, padding=0):
    """Gradients (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)) of conv2d_forward given
    dout (N, F, OH, OW)."""
    fname = "conv2d_backward"
    arr = _arrays(fname, dout=dout, x=x, w=w)
    dout, x, w = arr["dout"], arr["x"], arr["w"]
    stride, padding = _geometry(fname, stride, padding)
    shape = _conv2d_checked(fname, x, w, stride, padding)
    _check_dout(fname, dout, shape, "conv2d_forward(x, w) with this stride and padding")
    return (_input_grad(dout, w, x.shape, stride, padding),
            _weight_grad(dout, x, w.shape, stride, padding),
            _channel_sum(dout, w.shape[0]))


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0):
    """Transposed conv of x (N, C_in, H, W) with w (C_in, C_out, KH, KW) plus b (C_out,)
    -> out (N, C_out, (H-1)*sh - 2*ph + KH, (W-1)*sw - 2*pw + KW)."""
    fname = "conv_transpose2d_forward"
    arr = _arrays(fname, x=x, w=w, **({} if b is None else {"b": b}))
    x, w, b = arr["x"], arr["w"], arr.get("b")
    stride, padding = _geometry(fname, stride, padding)
    shape = _conv_transpose2d_checked(fname, x, w, stride, padding)
    _check_bias(fname, b, w.shape[1], "w.shape[1]")
    # The conv2d whose input is `out` and whose output is `x` has weights w: its input gradient.
    out = _input_grad(x, w, shape, stride, padding)
    _add_bias(out, b)
    return out


def conv_transpose2d_backward(dout, x, w, stride=1, padding=0):
    """Gradients (dx (N, C_in, H, W), dw (C_in, C_out, KH, KW), db (C_out,)) of
    conv_transpose2d_forward given dout (N, C_out, OH, OW)."""
    fname = "conv_transpose2d_backward"
    arr = _arrays(fname, dout=dout, x=x, w=w)
    dout, x, w = arr["dout"], arr["x"], arr["w"]
    stride, padding = _geometry(fname, stride, padding)
    shape = _conv_transpose2d_checked(fname, x, w, stride, padding)
    _check_dout(fname, dout, shape,
                "conv_transpose2d_forward(x, w) with this stride and padding")
    # Roles swapped: dout is the conv2d input, x its output.
    return (_forward(dout, w, None, x.shape, stride, padding),
            _weight_grad(x, dout, w.shape, stride, padding),
            _channel_sum(dout, w.shape[1]))
