"""csrc: the reference solutions' compiled kernels (our own Cython, no BLAS).

Public API (all arrays float32 or float64, every array of one call the same dtype; outputs are new
C-contiguous arrays of that dtype; inputs are never modified; non-contiguous or non-native
byte-order inputs are accepted, copied when the kernels need it):

matmul(a, b) -> out
    a (..., M, K), b (..., K, N) -> out (..., M, N), equal to ``np.matmul(a, b)`` up to
    rounding: the leading (batch) axes broadcast as in NumPy, and the whole batch is one kernel
    call. Both inputs at least 2-D. Any sizes, including empty ones (K = 0 gives zeros).
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
active_build() -> str
    The build of the kernels in use: "avx512", "avx2" or "generic". At import csrc picks the
    most capable build that was compiled with its instruction set and that this CPU runs
    (run-time CPUID check), so one binary runs on any x86-64 CPU and uses what it has. The
    environment variable NNFUND_KERNELS=generic|avx2|avx512 (read at import; "auto" or unset:
    the default choice) forces one; forcing a build that cannot run here raises
    BuildUnavailable at import, naming what is missing. ``python -m csrc`` prints the CPU's
    features, every build's state and the active one with the reason it was chosen.
builds() -> dict
    {name: (usable, reason)} for every build, most capable first, e.g.
    {"avx512": (False, "the CPU lacks avx512bw"), ...}; active_build_reason() -> str says why
    the active one was chosen.

A transposed convolution's forward pass is a convolution's input gradient, and its backward pass
is a convolution's forward pass plus a weight gradient with the roles of input and output
swapped; both directions therefore run the same three kernels.
"""

import importlib
import math
import operator
import os

import numpy as np

from . import _kern_generic  # type: ignore[attr-defined]  # a compiled module: no stub

__all__ = [
    "matmul",
    "conv2d_forward",
    "conv2d_backward",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "set_num_threads",
    "get_num_threads",
    "openmp_enabled",
    "active_build",
    "active_build_reason",
    "builds",
    "BuildUnavailable",
]

#: The compiled builds, most capable first: name -> (module, the CPU features it needs).
_BUILDS = {
    "avx512": ("_kern_avx512", ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx2", "fma")),
    "avx2": ("_kern_avx2", ("avx2", "fma")),
    "generic": ("_kern_generic", ()),
}
BUILD_ENV = "NNFUND_KERNELS"


class BuildUnavailable(ImportError):
    """A build of the kernels cannot run here; `missing` lists the CPU features it lacks
    (empty when the reason is the build itself: a missing module, or one compiled without
    its instruction set)."""

    def __init__(self, message, missing=()):
        super().__init__(message)
        self.missing = tuple(missing)


def _load_build(name, cpu):
    """The compiled module of build `name`, given the CPU's features `cpu` ({feature: bool}).
    Raises BuildUnavailable with the reason when the CPU lacks a feature it needs, when the
    module is missing, or when it was compiled without its instruction set."""
    module_name, needs = _BUILDS[name]
    missing = [f for f in needs if not cpu.get(f)]
    if missing:
        raise BuildUnavailable(f"the CPU lacks {', '.join(missing)}", missing)
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        raise BuildUnavailable(f"its module {module_name} is not built ({exc})") from None
    if name != module.COMPILED_ISA:
        raise BuildUnavailable(
            f"{module_name} was compiled without the {name} instruction set (the compiler "
            f"refused its flags when the package was built)"
        )
    return module


def _choose_build(requested, cpu):
    """(module, name, reason) of the build to use: `requested` ("auto" or a build name, from
    NNFUND_KERNELS) given the CPU's features `cpu`. BuildUnavailable when the requested build
    cannot run here or the request names no build."""
    if requested not in ("auto", *_BUILDS):
        raise BuildUnavailable(
            f"{BUILD_ENV}={requested!r} names no build of the csrc kernels; use one of "
            f"{', '.join(_BUILDS)} or auto (or unset it)"
        )
    if requested != "auto":
        try:
            return _load_build(requested, cpu), requested, f"forced by {BUILD_ENV}={requested}"
        except BuildUnavailable as exc:
            usable = [n for n in _BUILDS if _usable(n, cpu)]
            raise BuildUnavailable(
                f"{BUILD_ENV}={requested} asks for the {requested} build of the csrc kernels, "
                f"but {exc}; builds this machine can run: {', '.join(usable)} (or unset "
                f"{BUILD_ENV} to pick the best automatically)",
                exc.missing,
            ) from None
    skipped = []
    for name in _BUILDS:
        try:
            module = _load_build(name, cpu)
        except BuildUnavailable as exc:
            skipped.append(f"not {name}: {exc}")
            continue
        return module, name, "; ".join(["auto: the most capable build this CPU runs"] + skipped)
    raise AssertionError("the generic build needs no CPU feature")  # pragma: no cover


def _usable(name, cpu):
    try:
        _load_build(name, cpu)
    except BuildUnavailable:
        return False
    return True


_cpu_features = _kern_generic.cpu_features()
_kernels, _build, _build_reason = _choose_build(os.environ.get(BUILD_ENV, "").strip().lower() or "auto", _cpu_features)
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
    each thread gets _MIN_FLOPS_PER_THREAD. The policy itself is compiled (threads_for), so
    that matmul, which decides in C, follows the same one."""
    return _kernels.threads_for(flops, tasks, _num_threads, _MIN_FLOPS_PER_THREAD)


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


def active_build():
    """Name of the build of the kernels in use: "avx512", "avx2" or "generic"."""
    return _build


def active_build_reason():
    """Why the active build was chosen (forced by NNFUND_KERNELS, or the automatic choice and
    why each more capable build was passed over)."""
    return _build_reason


def builds():
    """{name: (usable, reason)} for every build of the kernels, most capable first."""
    states = {}
    for name in _BUILDS:
        try:
            module = _load_build(name, _cpu_features)
        except BuildUnavailable as exc:
            states[name] = (False, str(exc))
        else:
            states[name] = (True, f"{_BUILDS[name][0]}, blocking {module.BLOCKING}")
    return states


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_FLOAT_DTYPES = (_F32, _F64)


def _arrays(fname, **named):
    """Checked NumPy views of the named arrays: float32/float64, one dtype for all.
    Non-native byte order is converted; contiguity is left to the caller."""
    # Fast path, the references' usual call: ndarrays already of one native float dtype. Small
    # products are dominated by this wrapper's cost, so it takes a few attribute reads only.
    dtypes = {value.dtype for value in named.values() if type(value) is np.ndarray}
    if len(dtypes) == 1 and len(named) == sum(type(v) is np.ndarray for v in named.values()):
        (dtype,) = dtypes
        if dtype is _F64 or dtype is _F32 or dtype in _FLOAT_DTYPES:
            return named
    arrays = {}
    for name, value in named.items():
        arr = np.asarray(value)
        if arr.dtype.newbyteorder("=") not in _FLOAT_DTYPES:
            raise TypeError(
                f"{fname}: {name} has dtype {arr.dtype}, but only float32 and float64 are "
                f"supported; convert it first, e.g. {name}.astype(np.float64)"
            )
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        arrays[name] = arr
    dtypes = {name: arr.dtype.name for name, arr in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name} is {dt}" for name, dt in dtypes.items())
        raise TypeError(
            f"{fname}: all arrays must have the same dtype, but {listed}; cast them to one "
            f"dtype, e.g. with .astype(np.float64)"
        )
    return arrays


def _check_ndim(fname, name, arr, ndim, layout):
    if arr.ndim != ndim:
        raise ValueError(f"{fname}: {name} must be {ndim}-D {layout}, got shape {arr.shape} ({arr.ndim}-D)")


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
            raise TypeError(f"{fname}: {name} must be an int or a pair of ints, got {value!r}") from None
    if min(pair) < minimum:
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{fname}: {name} must be {what}, got {value!r}")
    return tuple(pair)


def _geometry(fname, stride, padding):
    return _pair(fname, "stride", stride, 1), _pair(fname, "padding", padding, 0)


def _c(arr):
    return np.ascontiguousarray(arr)


def _kernel_view(arr):
    """The array itself when the kernel can read it through its strides, else a C copy. NumPy's
    `aligned` flag covers the strides too (each a multiple of the item's alignment), which is
    all the kernel asks of a layout."""
    return arr if arr.flags.aligned else arr.copy(order="C")  # a fresh copy is aligned


# --------------------------------------------------------------------------------------------
# matmul
# --------------------------------------------------------------------------------------------


def matmul(a, b):
    """a (..., M, K) @ b (..., K, N) -> new C-contiguous (..., M, N) array of their dtype; the
    leading (batch) axes broadcast as in np.matmul, and the whole batch is one kernel call."""
    # The compiled entry takes the usual inputs as they are (and checks them in C: many small
    # products are made, where a Python-level check would cost more than the product); it
    # answers None for anything else, which is converted or explained here, then passed again.
    done = _kernels.matmul(a, b, _num_threads, _MIN_FLOPS_PER_THREAD)
    if done is not None:
        return done[0]
    fname = "matmul"
    arr = _arrays(fname, a=a, b=b)
    a, b = arr["a"], arr["b"]
    if a.ndim < 2 or b.ndim < 2:
        name, x, layout = ("a", a, "(..., M, K)") if a.ndim < 2 else ("b", b, "(..., K, N)")
        raise ValueError(f"{fname}: {name} must be at least 2-D {layout}, got shape {x.shape} ({x.ndim}-D)")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"{fname}: a has shape {a.shape} and b has shape {b.shape}; a.shape[-1] "
            f"({a.shape[-1]}) must equal b.shape[-2] ({b.shape[-2]})"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise ValueError(
            f"{fname}: the leading (batch) axes of a {a.shape[:-2]} and b {b.shape[:-2]} do "
            f"not broadcast (a has shape {a.shape}, b {b.shape})"
        ) from None
    if max(a.ndim, b.ndim) > 34:
        raise ValueError(f"{fname}: at most 32 leading (batch) axes, got shapes {a.shape} and {b.shape}")
    return _kernels.matmul(_kernel_view(a), _kernel_view(b), _num_threads, _MIN_FLOPS_PER_THREAD)[0]


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
            f"{fname}: b must have shape ({channels},), one value per output channel ({owner}), got shape {b.shape}"
        )


def _check_out_size(fname, oh, ow, detail):
    if oh < 1 or ow < 1:
        raise ValueError(f"{fname}: the output would be {oh}x{ow}, it must be at least 1x1 ({detail})")


def _check_dout(fname, dout, expected, source):
    _check_ndim(fname, "dout", dout, 4, "(N, C, H, W)")
    if dout.shape != expected:
        raise ValueError(f"{fname}: dout has shape {dout.shape} but the forward output is {expected} ({source})")


def _conv2d_checked(fname, x, w, stride, padding):
    """Validates a conv2d's x (N, C, H, W) and w (F, C, KH, KW); returns its output shape."""
    _check_ndim(fname, "x", x, 4, "(N, C, H, W)")
    _check_ndim(fname, "w", w, 4, "(F, C, KH, KW)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(f"{fname}: x has {x.shape[1]} channels but w expects {w.shape[1]} (w.shape[1])")
    (sh, sw), (ph, pw) = stride, padding
    oh = _conv_out_size(x.shape[2], w.shape[2], sh, ph)
    ow = _conv_out_size(x.shape[3], w.shape[3], sw, pw)
    _check_out_size(
        fname,
        oh,
        ow,
        f"input {x.shape[2]}x{x.shape[3]}, kernel {w.shape[2]}x{w.shape[3]}, "
        f"stride {stride}, padding {padding}; the padded input must be at least "
        f"as large as the kernel",
    )
    return (x.shape[0], w.shape[0], oh, ow)


def _conv_transpose2d_checked(fname, x, w, stride, padding):
    """Validates a conv_transpose2d's x (N, C_in, H, W) and w (C_in, C_out, KH, KW); returns
    its output shape."""
    _check_ndim(fname, "x", x, 4, "(N, C_in, H, W)")
    _check_ndim(fname, "w", w, 4, "(C_in, C_out, KH, KW)")
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{fname}: x has {x.shape[1]} channels but w expects {w.shape[0]} (w.shape[0])")
    (sh, sw), (ph, pw) = stride, padding
    oh = _transpose_out_size(x.shape[2], w.shape[2], sh, ph)
    ow = _transpose_out_size(x.shape[3], w.shape[3], sw, pw)
    _check_out_size(
        fname,
        oh,
        ow,
        f"input {x.shape[2]}x{x.shape[3]}, kernel {w.shape[2]}x{w.shape[3]}, "
        f"stride {stride}, padding {padding}; reduce the padding",
    )
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
    _kernels.conv2d_forward_into(_c(x), _c(w), bias, out, *stride, *padding, _conv_threads(shape, w.shape))
    return out


# A stride-1 input gradient is itself a convolution: of dout, padded by (KH-1-ph, KW-1-pw), with
# the filters flipped and their two channel axes swapped (w' (C, F, KH, KW)); the forward kernel
# then computes it with no col2im. Its product has one row per input channel, so it pays when
# there are at least a tile's worth of them. Measured on one thread (float32 / float64):
# N=32 C=16 F=32 3x3: 3.4 -> 2.6 / 7.1 -> 6.6 ms; C=32 F=16: 5.1 -> 2.3 / 11.4 -> 4.8 ms; but
# N=64 C=3 F=16 5x5: 2.6 -> 4.1 / 4.7 -> 8.8 ms, so three channels keep the GEMM + col2im.
_DIRECT_INPUT_GRAD_MIN_CHANNELS = 8


def _input_grad(dout, w, shape, stride, padding):
    """New array `shape` (the input's) = gradient of conv2d(., w) w.r.t. its input at dout."""
    (kh, kw), (ph, pw) = w.shape[2:], padding
    if (
        stride == (1, 1)
        and ph < kh
        and pw < kw
        and shape[1] >= _DIRECT_INPUT_GRAD_MIN_CHANNELS
        and _nonempty(dout, w)
        and all(shape)
    ):
        flipped = np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])
        return _forward(dout, flipped, None, shape, stride, (kh - 1 - ph, kw - 1 - pw))
    dx = np.zeros(shape, dtype=dout.dtype)
    if _nonempty(dout, w, dx):
        _kernels.conv2d_input_grad_into(_c(dout), _c(w), dx, *stride, *padding, _conv_threads(dout.shape, w.shape))
    return dx


def _weight_grad(dout, x, shape, stride, padding):
    """New array `shape` (the weights') = gradient of conv2d(x, .) w.r.t. its weights at dout."""
    dw = np.zeros(shape, dtype=x.dtype)
    if _nonempty(dout, x, dw):
        _kernels.conv2d_weight_grad_into(_c(dout), _c(x), dw, *stride, *padding, _conv_threads(dout.shape, shape))
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
    return (
        _input_grad(dout, w, x.shape, stride, padding),
        _weight_grad(dout, x, w.shape, stride, padding),
        _channel_sum(dout, w.shape[0]),
    )


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
    _check_dout(fname, dout, shape, "conv_transpose2d_forward(x, w) with this stride and padding")
    # Roles swapped: dout is the conv2d input, x its output.
    return (
        _forward(dout, w, None, x.shape, stride, padding),
        _weight_grad(x, dout, w.shape, stride, padding),
        _channel_sum(dout, w.shape[1]),
    )
