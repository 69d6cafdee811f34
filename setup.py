"""Build of the csrc Cython kernels (the rest of the package is pure Python, see pyproject.toml).

Every csrc/*.pyx becomes an extension module compiled in place next to its source
(`pip install -e .`) or into the wheel (`pip install .`).

* Cython compiler directives are set here, once, for every module.
* OpenMP is used when a real test program compiles and links with -fopenmp; otherwise the modules
  are built without it and run serially (prange degrades to a plain loop).
* No -march=native: the portable module (_kern_generic) uses the target's default flags;
  _kern_avx2 adds -mavx2 -mfma and _kern_avx512 -mavx512f -mavx512dq -mavx512bw -mavx512vl
  -mavx2 -mfma, each only when the compiler accepts them on x86-64 (a real compile of intrinsics
  of that set; otherwise the module is built portably and reports itself "generic").
  csrc/__init__.py imports a SIMD module only after a run-time CPU feature check, so a binary
  built here runs on any x86-64 CPU and uses what it has.
"""

import os
import pathlib
import platform
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

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
AVX2_FLAGS = ["-mavx2", "-mfma"]
AVX512_FLAGS = ["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl"] + AVX2_FLAGS

OPENMP_TEST = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n >= 1 ? 0 : 1;
}
"""

AVX2_TEST = r"""
#include <immintrin.h>
int main(void) {
    __m256d a = _mm256_set1_pd(1.0);
    a = _mm256_fmadd_pd(a, a, a);
    return (int)_mm256_cvtsd_f64(a) == 2 ? 0 : 1;
}
"""

AVX512_TEST = r"""
#include <immintrin.h>
int main(void) {
    __m512d a = _mm512_set1_pd(1.0);
    __m512 b = _mm512_set1_ps(1.0f);
    a = _mm512_fmadd_pd(a, a, a);
    b = _mm512_fmadd_ps(b, b, b);
    __m256 lo = _mm512_extractf32x8_ps(b, 0);              /* avx512dq */
    __mmask32 m = _mm512_cmpeq_epi16_mask(_mm512_setzero_si512(), _mm512_setzero_si512()); /* bw */
    __m256d v = _mm256_maskz_mov_pd(1, _mm256_set1_pd(1.0));  /* avx512vl */
    return (int)_mm512_reduce_add_pd(a) + (int)_mm256_cvtss_f32(lo) + (int)(m & 1)
           + (int)_mm256_cvtsd_f64(v) == 20 ? 0 : 1;
}
"""

# Module name -> (the flags its instruction set needs, the program proving the compiler takes them).
SIMD_MODULES = {
    "_kern_avx2": (AVX2_FLAGS, AVX2_TEST),
    "_kern_avx512": (AVX512_FLAGS, AVX512_TEST),
}


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
    """build_ext that probes the compiler for OpenMP and each SIMD flag set before compiling."""

    def build_extensions(self):
        cc = self.compiler
        unix_like = cc.compiler_type == "unix"
        base = BASE_FLAGS if unix_like else []
        openmp = ["-fopenmp"] if unix_like and _try_build(cc, OPENMP_TEST, ["-fopenmp"]) else []
        simd = {
            name: flags
            for name, (flags, test) in SIMD_MODULES.items()
            if unix_like and _is_x86_64() and _try_build(cc, test, flags, link=False)
        }
        accepted = ", ".join(
            f"{name} {' '.join(simd[name])}" if name in simd else f"{name} portable (flags refused)"
            for name in SIMD_MODULES
        )
        print(
            f"nnfund build: OpenMP {'enabled' if openmp else 'not available'}; {accepted}; base flags {base}",
            file=sys.stderr,
        )
        for ext in self.extensions:
            name = ext.name.rsplit(".", 1)[-1]
            ext.extra_compile_args = base + openmp + simd.get(name, [])
            ext.extra_link_args = list(openmp)
        super().build_extensions()


def _extensions():
    from Cython.Build import cythonize

    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(f for f in os.listdir(os.path.join(here, CSRC)) if f.endswith(".pyx"))
    import numpy  # a build requirement (pyproject.toml): the kernels' matmul entry uses its C API

    exts = [
        Extension(
            f"{CSRC}.{src[:-4]}",
            [os.path.join(CSRC, src)],
            include_dirs=[CSRC, numpy.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for src in sources
    ]
    return cythonize(exts, compiler_directives=COMPILER_DIRECTIVES, include_path=[CSRC])


# ---------------------------------------------------------------------------------------------
# Student build: NNFUND_BUILD=student (what `nngrade-release --wheel` and the cibuildwheel workflow
# set). The wheel then holds no answer in readable form: every module of STUDENT_COMPILED_PACKAGES
# (the references, the model answers, the catalogue with its hint machinery, the kernels' Python
# front end) is compiled by Cython from its .py into an extension module, and no .py, .pyx, .pxi,
# .pxd, .c or .h of those packages goes into the wheel. The instructor's build (the default) is
# unchanged. These functions are separate from the kernel build above on purpose.
# ---------------------------------------------------------------------------------------------

STUDENT_BUILD = os.environ.get("NNFUND_BUILD", "").strip().lower() == "student"
# Each of these packages and every subpackage of it (solutions.model, ...) is compiled.
STUDENT_COMPILED_PACKAGES = ("solutions", "grader.catalogue", "csrc")
STUDENT_HIDDEN_SUFFIXES = (".py", ".pyx", ".pxi", ".pxd", ".c", ".h")
# Plain Python semantics for the compiled .py files: no C typing from annotations, wrap-around
# and bounds checks as in Python (the kernel directives above would change their meaning).
STUDENT_DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}
STUDENT_CYTHON_DIR = os.path.join("build", "student-cython")


def _student_compiled(package):
    return any(package == root or package.startswith(root + ".") for root in STUDENT_COMPILED_PACKAGES)


def _student_hidden(package, filename):
    """True for a file of a compiled package that must not be in the student wheel."""
    return _student_compiled(package) and filename.endswith(STUDENT_HIDDEN_SUFFIXES)


def _student_packages():
    """Every compiled package: the roots and the folders with an __init__.py below them."""
    for root in STUDENT_COMPILED_PACKAGES:
        top = pathlib.Path(*root.split("."))
        for init in sorted(top.rglob("__init__.py")):
            yield ".".join(init.parent.parts), init.parent


def _student_extensions():
    """One extension module per .py of the compiled packages (__init__ included)."""
    from Cython.Build import cythonize

    exts = []
    for package, folder in _student_packages():
        for source in sorted(folder.glob("*.py")):
            exts.append(Extension(f"{package}.{source.stem}", [source.as_posix()]))
    return cythonize(exts, compiler_directives=STUDENT_DIRECTIVES, build_dir=STUDENT_CYTHON_DIR, quiet=True)


class StudentBuildPy(build_py):
    """build_py that leaves out the sources of the compiled packages, and removes any copy
    of them an earlier (instructor) build left in the build folder."""

    def find_package_modules(self, package, package_dir):
        return [m for m in super().find_package_modules(package, package_dir) if not _student_hidden(m[0], m[2])]

    def find_data_files(self, package, src_dir):
        return [f for f in super().find_data_files(package, src_dir) if not _student_hidden(package, f)]

    def run(self):
        super().run()
        for root in STUDENT_COMPILED_PACKAGES:
            folder = pathlib.Path(self.build_lib, *root.split("."))
            for stale in folder.rglob("*") if folder.is_dir() else ():
                if stale.is_file() and stale.name.endswith(STUDENT_HIDDEN_SUFFIXES):
                    stale.unlink()


class StudentBuildExt(BuildExt):
    """The kernel build, run on every core, with no debugging information in the modules
    (stripped: they carry no line tables or paths of the compiled sources)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1

    def build_extension(self, ext):
        if self.compiler.compiler_type == "unix":
            ext.extra_compile_args = list(ext.extra_compile_args) + ["-g0"]
            ext.extra_link_args = list(ext.extra_link_args) + (["-s"] if sys.platform != "darwin" else [])
        super().build_extension(ext)


def _setup_arguments():
    if not STUDENT_BUILD:
        return {"ext_modules": _extensions(), "cmdclass": {"build_ext": BuildExt}}
    print("nnfund build: STUDENT build (compiled references, no answer sources)", file=sys.stderr)
    return {
        "ext_modules": _extensions() + _student_extensions(),
        "cmdclass": {"build_ext": StudentBuildExt, "build_py": StudentBuildPy},
    }


setup(**_setup_arguments())
