"""The built csrc modules: no BLAS, run-time SIMD dispatch, OpenMP detection, thread control."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

import csrc
from csrc import _kern_generic

CSRC_DIR = pathlib.Path(csrc.__file__).parent
REPO_ROOT = CSRC_DIR.parent
BUILT_MODULES = sorted(CSRC_DIR.glob("_kern_*.so")) + sorted(CSRC_DIR.glob("_kern_*.pyd"))
BLAS_MARKERS = ("gemm", "cblas_", "openblas", "mkl_", "blas")


def _module_file(name):
    return next(p for p in BUILT_MODULES if p.name.startswith(name + "."))


def test_every_pyx_source_has_a_built_module():
    sources = {p.stem for p in CSRC_DIR.glob("*.pyx")}
    assert sources == {"_kern_generic", "_kern_avx2"}
    assert {p.name.split(".")[0] for p in BUILT_MODULES} == sources


@pytest.mark.skipif(shutil.which("nm") is None, reason="nm is not installed")
@pytest.mark.parametrize("name", ["_kern_generic", "_kern_avx2"])
def test_built_kernels_reference_no_blas_symbol(name):
    undefined = subprocess.run(["nm", "-D", "--undefined-only", str(_module_file(name))],
                               capture_output=True, text=True, check=True).stdout.lower()
    assert undefined.strip(), "nm listed no undefined symbols at all"
    for marker in BLAS_MARKERS:
        assert marker not in undefined, f"{name} references a {marker!r} symbol"


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump is not installed")
def test_generic_module_contains_no_avx_instructions():
    """The portable module must run on any x86-64 CPU: no -march=native, no AVX leaking in."""
    if os.uname().machine not in ("x86_64", "AMD64"):
        pytest.skip("x86-64 only")
    asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(_module_file("_kern_generic"))],
                         capture_output=True, text=True, check=True).stdout
    assert "%ymm" not in asm and "vfmadd" not in asm


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump is not installed")
def test_avx2_micro_kernel_is_fma_on_ymm_registers():
    if not csrc._kern_generic.cpu_has_avx2_fma() or csrc.simd_path() != "avx2-fma":
        pytest.skip("no AVX2/FMA build on this machine")
    asm = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(_module_file("_kern_avx2"))],
                         capture_output=True, text=True, check=True).stdout
    assert "vfmadd231ps %ymm" in asm and "vfmadd231pd %ymm" in asm


def test_simd_path_follows_the_cpu_check():
    expected = "avx2-fma" if _kern_generic.cpu_has_avx2_fma() else "generic"
    assert csrc.simd_path() == expected


def test_generic_path_can_be_forced_and_gives_the_same_product():
    code = ("import numpy as np, csrc; a = np.arange(12.).reshape(3, 4); "
            "print(csrc.simd_path(), csrc.matmul(a, a.T).tolist())")
    env = dict(os.environ, NNFUND_SIMD="generic",
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=REPO_ROOT).stdout.split(" ", 1)
    assert out[0] == "generic"
    a = np.arange(12.).reshape(3, 4)
    assert out[1].strip() == str((a @ a.T).tolist())


def test_openmp_flag_is_a_bool_and_threads_follow_it(threads):
    assert isinstance(csrc.openmp_enabled(), bool)
    threads(2)
    assert csrc.get_num_threads() == (2 if csrc.openmp_enabled() else 1)
    threads(1)
    assert csrc.get_num_threads() == 1


@pytest.mark.parametrize("bad,exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError),
                                     ("2", TypeError)])
def test_set_num_threads_rejects_non_positive_or_non_int(bad, exc, threads):
    with pytest.raises(exc, match="set_num_threads"):
        threads(bad)


def test_public_api_is_documented_in_the_package_docstring():
    for name in csrc.__all__:
        assert name in csrc.__doc__, name
        assert getattr(csrc, name).__doc__
