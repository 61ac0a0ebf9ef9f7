#!/bin/sh
# Installs the Debian packages libds2's build, tests and bench need. Idempotent; uses sudo when
# not root. The CUDA toolkit is not installed here: cuda/ is built when nvcc is present.
set -e
# clang + libclang-rt-14-dev: ThreadSanitizer (make test-tsan) and the libFuzzer targets (make fuzz;
# make test runs a short smoke). python3-pytest/venv/setuptools/wheel: the Python package's tests.
# fortunes, wordnet-base: the training corpus's text (test/check_corpus_text.py checks its splits).
PKGS="build-essential pkg-config libopenblas-dev libsndfile1-dev libsamplerate0-dev check python3-numpy
      python3-pytest python3-venv python3-setuptools python3-wheel clang libclang-rt-14-dev
      fortunes wordnet-base"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
# Ray (PyPI ray[serve], pinned) in ~/.cache/libds2/venv-ray: the Python package's Ray batch and
# Serve tests run with that interpreter in `make test`. DS2_NO_RAY=1 skips it (offline).
[ -n "${DS2_NO_RAY:-}" ] || "$(dirname "$0")/setup-venv.sh" ray >/dev/null
