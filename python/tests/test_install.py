"""`pip install ./python` into a fresh virtual environment bundles build/libds2.so and the
converter, and the installed package works from anywhere without DS2_LIBRARY.

Offline (--no-build-isolation --no-index; setuptools, wheel and numpy from the system through
--system-site-packages: scripts/install-deps.sh installs them), so CI needs no network; skipped where python3-venv is missing."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import BUILD, MODEL, ROOT, heldout, reference_transcripts


def test_pip_install_into_a_venv(tmp_path):
    if not os.path.isfile(os.path.join(BUILD, "libds2.so")):
        pytest.skip(f"{BUILD}/libds2.so not built")
    venv = tmp_path / "venv"
    r = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"no working venv/ensurepip here: {r.stderr.strip()[-200:]}")
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index",
                    "--no-deps", os.path.join(ROOT, "python")], check=True, cwd=tmp_path,
                   capture_output=True)
    path = heldout(1)[0]
    script = (
        "import ds2, os, sys\n"
        "pkg = os.path.dirname(ds2.__file__)\n"
        "assert ds2.library_path() == os.path.join(pkg, 'libds2.so'), ds2.library_path()\n"
        "assert 'site-packages' in pkg, pkg\n"
        f"m = ds2.Model({MODEL!r})\n"
        f"print(m.session().transcribe({path!r}).text)\n"
        "ds2.convert(sys.argv[1], sys.argv[2])\n"
        "assert ds2._convert._converter().__file__.startswith(pkg)\n")
    # Neither variable: the installed package must find its own copy of the library.
    env = {k: v for k, v in os.environ.items() if k not in ("DS2_LIBRARY", "PYTHONPATH")}
    ck = _checkpoint(tmp_path)
    r = subprocess.run([py, "-c", script, ck, str(tmp_path / "m.gguf")], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == reference_transcripts([path])[path]
    shutil.rmtree(venv)


def _checkpoint(d):
    from test_convert import _package
    return str(_package(d / "m.pth"))
