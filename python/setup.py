"""Build step of the lsprobe package (the metadata is in pyproject.toml).

The package is pure Python: it loads liblsprobe at import time (see
lsprobe/_lib.py for where it looks). When LSPROBE_LIBRARY names a built
liblsprobe.so while the package is built, that file is copied into the
package as liblsprobe.so.<major>, so the installed package finds it "next to
the package" without any setting:

    LSPROBE_LIBRARY=build/release/liblsprobe.so pip install --no-build-isolation ./python
"""
import glob
import os
import shutil

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

MAJOR = 0


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        # A library an earlier build bundled stays in the build folder:
        # without LSPROBE_LIBRARY the package bundles nothing, so remove it.
        for old in glob.glob(os.path.join(self.build_lib, "lsprobe", "liblsprobe.so*")):
            os.remove(old)
        lib = os.environ.get("LSPROBE_LIBRARY")
        if not lib:
            return
        if not os.path.isfile(lib):
            raise SystemExit(f"setup.py: LSPROBE_LIBRARY={lib} is not a file")
        dest = os.path.join(self.build_lib, "lsprobe", f"liblsprobe.so.{MAJOR}")
        shutil.copyfile(os.path.realpath(lib), dest)
        print(f"setup.py: bundled {lib} as {dest}")


class MaybeBinaryDistribution(Distribution):
    """A wheel that carries a bundled liblsprobe is for this platform only
    (not py3-none-any)."""

    def has_ext_modules(self):
        return bool(os.environ.get("LSPROBE_LIBRARY"))


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=MaybeBinaryDistribution)
