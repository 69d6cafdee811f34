"""csrc's thread policy (csrc/__init__.py): calls below _MIN_FLOPS_PER_THREAD of work per thread
run on the calling thread alone, and give exactly what the threaded kernels give."""

import numpy as np
import pytest

import csrc

# The compiled entry points that take a thread count as their last argument.
THREADED_KERNELS = ("conv2d_forward_into", "conv2d_input_grad_into", "conv2d_weight_grad_into")


class _ThreadSpy:
    """Stands in for csrc's compiled module: records (kernel name, thread count) of every call
    to a threaded kernel and forwards it."""

    def __init__(self, real):
        self.real = real
        self.calls = []

    def __getattr__(self, name):
        fn = getattr(self.real, name)
        if name == "matmul":  # it picks its thread count itself and returns it

            def call_matmul(*args):
                result = fn(*args)
                if result is not None:
                    self.calls.append(("matmul", result[1]))
                return result

            return call_matmul
        if name not in THREADED_KERNELS:
            return fn

        def call(*args):
            self.calls.append((name, args[-1]))
            return fn(*args)

        return call


@pytest.fixture
def spy(monkeypatch):
    recorder = _ThreadSpy(csrc._kernels)
    monkeypatch.setattr(csrc, "_kernels", recorder)
    return recorder


@pytest.fixture
def two_threads(threads):
    if not csrc.openmp_enabled():
        pytest.skip("built without OpenMP: every call is single-threaded")
    threads(2)


def test_threads_for_gives_each_thread_the_minimum_work(two_threads):
    least = csrc._MIN_FLOPS_PER_THREAD
    assert csrc._threads_for(2 * least - 1, tasks=100) == 1
    assert csrc._threads_for(2 * least, tasks=100) == 2
    assert csrc._threads_for(100 * least, tasks=100) == 2  # never past get_num_threads()
    assert csrc._threads_for(100 * least, tasks=1) == 1  # never past the parts to share
    assert csrc._threads_for(0, tasks=100) == 1


def test_threads_for_never_exceeds_one_thread_when_set_to_one(threads):
    threads(1)
    assert csrc._threads_for(10**12, tasks=10**6) == 1


# (M, K, N): the tiny products measured slow on two threads; both are cut into two slabs when
# threaded (3x20 along the columns, 128x128 along the rows), so the forced run really splits.
SMALL_PRODUCTS = [(3, 4, 20), (128, 64, 128)]


@pytest.mark.parametrize("m,k,n", SMALL_PRODUCTS)
def test_small_matmul_runs_on_one_thread_and_equals_the_threaded_product(
    m, k, n, dtype, rng, two_threads, spy, request
):
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    serial = csrc.matmul(a, b)
    assert spy.calls == [("matmul", 1)]
    request.getfixturevalue("split_small_calls")
    threaded = csrc.matmul(a, b)
    assert spy.calls[1:] == [("matmul", 2)]
    np.testing.assert_array_equal(serial, threaded)


def test_large_matmul_uses_every_allowed_thread(rng, two_threads, spy):
    a = rng.standard_normal((256, 256))
    csrc.matmul(a, a)  # 3.4e7 flops: well past two threads' minimum
    assert spy.calls == [("matmul", 2)]


def test_small_conv2d_runs_on_one_thread_and_equals_the_threaded_result(dtype, rng, two_threads, spy, request):
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    dout = rng.standard_normal((2, 4, 7, 6)).astype(dtype)

    def run():
        return (
            csrc.conv2d_forward(x, w, b, padding=1),
            *csrc.conv2d_backward(dout, x, w, padding=1),
            csrc.conv_transpose2d_forward(dout, w, None, padding=1),
        )

    serial = run()
    assert spy.calls == [
        ("conv2d_forward_into", 1),
        ("conv2d_input_grad_into", 1),
        ("conv2d_weight_grad_into", 1),
        ("conv2d_input_grad_into", 1),
    ]
    request.getfixturevalue("split_small_calls")
    threaded = run()
    assert [t for _, t in spy.calls[4:]] == [2, 2, 2, 2]
    for one, two in zip(serial, threaded):
        np.testing.assert_array_equal(one, two)


def test_conv2d_of_a_single_image_never_asks_for_more_threads_than_images(rng, two_threads, spy, split_small_calls):
    x = rng.standard_normal((1, 8, 16, 16))
    w = rng.standard_normal((8, 8, 3, 3))
    csrc.conv2d_forward(x, w, padding=1)
    assert spy.calls == [("conv2d_forward_into", 1)]
