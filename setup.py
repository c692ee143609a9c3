"""Build script for tem_sim's compiled core.

Set ``TEM_SIM_DEBUG=1`` in the environment to build with Cython's bounds
checking, negative-index wraparound and C assertions switched back on; the
test suite is run once that way in CI.
"""
import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("TEM_SIM_DEBUG", "0") not in ("", "0", "false", "False")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}
macros = []
cflags = ["-O0", "-g"] if DEBUG else ["-O3"]
if not DEBUG:
    macros.append(("CYTHON_WITHOUT_ASSERTIONS", None))
    macros.append(("NDEBUG", None))

extensions = [
    Extension(
        "tem_sim._core",
        ["tem_sim/_core.pyx"],
        define_macros=macros,
        extra_compile_args=cflags,
        libraries=["m"],
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
