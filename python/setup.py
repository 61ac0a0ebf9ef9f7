"""Build step of `pip install ./python`: bundles the already built libds2 into the package.

The package itself is pure Python (ctypes); what makes the wheel platform-specific is the copy
of build/libds2.so (and build/libds2_cuda.so, the GPU plugin libds2 dlopens from its own
directory, when it was built) that build_py puts beside ds2/__init__.py, plus the converter's
modules from tools/. Run `make` in the repository first; this step does not compile C, so
the library a user tests with `make test` is the one that is installed.
"""
import os

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        pkg = os.path.join(self.build_lib, "ds2")
        # Relative to the repository root, as `make BUILD=...` names it (pip runs this file
        # from python/, so cwd-relative would be wrong).
        build = os.path.join(REPO, os.environ.get("DS2_BUILD_DIR", "build"))
        lib = os.path.join(build, "libds2.so")
        if not os.path.isfile(lib):
            raise SystemExit(f"ds2: {lib} not found: run `make` in {REPO} before "
                             "`pip install ./python` (or set DS2_BUILD_DIR)")
        self.copy_file(lib, os.path.join(pkg, "libds2.so"))
        plugin = os.path.join(build, "libds2_cuda.so")
        if os.path.isfile(plugin):
            self.copy_file(plugin, os.path.join(pkg, "libds2_cuda.so"))
        dest = os.path.join(pkg, "_tools")
        os.makedirs(dest, exist_ok=True)
        tools = os.path.join(REPO, "tools")
        # ds2-convert has no .py suffix (it is a command); ds2/_convert.py imports it by path.
        self.copy_file(os.path.join(tools, "ds2-convert"), os.path.join(dest, "ds2_convert.py"))
        for m in ("ds2_checkpoint.py", "ds2gguf.py", "ds2_wer.py"):
            self.copy_file(os.path.join(tools, m), os.path.join(dest, m))


class BinaryDistribution(Distribution):
    """Marks the wheel as platform-specific: it carries a native shared library."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildPyWithLibrary}, distclass=BinaryDistribution)
