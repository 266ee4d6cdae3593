"""pip install ./python — installs the crypta package with the native module that `make build`
compiled (crypta._native, from <repo>/build/python/crypta, or $CRYPTA_BUILD_DIR/python/crypta).
Nothing is compiled or downloaded here: build first, then install (offline)."""

import glob
import os
import shutil
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))


def native_module():
    build = os.environ.get("CRYPTA_BUILD_DIR", os.path.join(HERE, "..", "build"))
    found = glob.glob(os.path.join(build, "python", "crypta", "_native*.so"))
    if not found:
        sys.exit(f"crypta: no compiled module under {build}/python/crypta: run `make build` "
                 "first (or set CRYPTA_BUILD_DIR to your build directory)")
    return found[0]


class BuildWithNative(build_py):
    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "crypta")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(native_module(), target)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # the wheel carries a compiled module: tag it for this platform
        return True


setup(
    name="crypta",
    version="0.1.0",
    description="crypta SDK: verify confidential AI services and call them end-to-end encrypted",
    packages=["crypta"],
    package_data={"crypta": ["py.typed", "*.pyi"]},
    python_requires=">=3.9",
    cmdclass={"build_py": BuildWithNative},
    distclass=BinaryDistribution,
)
