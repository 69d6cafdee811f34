"""Build of the csrc Cython kernels (the rest of the package is pure Python, see pyproject.toml).

Every csrc/*.pyx becomes an extension module compiled in place next to its source
(`pip install -e .`) or into the wheel (`pip install .`).

* Cython compiler directives are set here, once, for every module.
* OpenMP is used when a real test program compiles and links with -fopenmp; otherwise the modules
  are built without it and run serially (prange degrades to a plain loop).
* No -march=native: the portable module (_kern_generic) uses the target's default flags, and
  _kern_avx2 adds -mavx2 -mfma only when the compiler accepts them on x86-64. csrc/__init__.py
  imports _kern_avx2 only after a run-time CPU feature check, so a binary built here runs on any
  x86-64 CPU.
"""

import os
import platform
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "csrc"

COMPILER_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}

# Optimisation flags shared by every module. -O3 turns on the complete unrolling and SLP
# vectorisation the GEMM micro-kernel relies on; nothing changes float semantics (no fast-math).
BASE_FLAGS = ["-O3"]
SIMD_FLAGS = ["-mavx2", "-mfma"]
SIMD_MODULES = {"_kern_avx2"}

OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n >= 1 ? 0 : 1;
}
"""

SIMD_TEST = r"""
#include <immintrin.h>
int main(void) {
    __m256d a = _mm256_set1_pd(1.0);
    a = _mm256_fmadd_pd(a, a, a);
    return (int)_mm256_cvtsd_f64(a) == 2 ? 0 : 1;
}
"""


def _try_build(compiler, source, flags, link=True):
    """True when `source` compiles (and links, when `link`) with `flags` using `compiler`."""
    tmp = tempfile.mkdtemp(prefix="nnfund-probe-")
    try:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(source)
        devnull = os.open(os.devnull, os.O_WRONLY)
        saved = os.dup(2), os.dup(1)
        os.dup2(devnull, 2)
        os.dup2(devnull, 1)
        try:
            objects = compiler.compile([path], output_dir=tmp, extra_postargs=flags)
            if link:
                compiler.link_executable(objects, "probe", output_dir=tmp, extra_postargs=flags)
        finally:
            os.dup2(saved[0], 2)
            os.dup2(saved[1], 1)
            os.close(devnull)
            os.close(saved[0])
            os.close(saved[1])
        return True
    except Exception:  # any compile or link failure means "not supported"
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _is_x86_64():
    return platform.machine().lower() in {"x86_64", "amd64"}


class BuildExt(build_ext):
    """build_ext that probes the compiler for OpenMP and AVX2/FMA before compiling."""

    def build_extensions(self):
        cc = self.compiler
        unix_like = cc.compiler_type == "unix"
        base = BASE_FLAGS if unix_like else []
        openmp = ["-fopenmp"] if unix_like and _try_build(cc, OPENMP_TEST, ["-fopenmp"]) else []
        simd = (SIMD_FLAGS if unix_like and _is_x86_64()
                and _try_build(cc, SIMD_TEST, SIMD_FLAGS, link=False) else [])
        print(f"nnfund build: OpenMP {'enabled' if openmp else 'not available'}; "
              f"AVX2/FMA flags {'accepted' if simd else 'not available'}; "
              f"base flags {base}", file=sys.stderr)
        for ext in self.extensions:
            name = ext.name.rsplit(".", 1)[-1]
            ext.extra_compile_args = base + openmp + (simd if name in SIMD_MODULES else [])
            ext.extra_link_args = list(openmp)
        super().build_extensions()


def _extensions():
    from Cython.Build import cythonize

    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(f for f in os.listdir(os.path.join(here, CSRC)) if f.endswith(".pyx"))
    exts = [Extension(f"{CSRC}.{src[:-4]}", [os.path.join(CSRC, src)], include_dirs=[CSRC])
            for src in sources]
    return cythonize(exts, compiler_directives=COMPILER_DIRECTIVES, include_path=[CSRC])


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
