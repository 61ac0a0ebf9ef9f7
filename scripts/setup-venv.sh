#!/bin/sh
# Makes the Python virtual environment of the offline tools that need PyPI packages (training,
# peer benchmarks) and installs into it the package groups named on the command line:
#   train   torch (PyPI's 2.x, not Debian's 1.13), numpy, pillow
#   peers   torch, numpy, onnx, onnxscript, onnxruntime, openvino
#   pyctcdecode  pyctcdecode, kenlm (tools/compare-pyctcdecode). pyctcdecode 0.5 pins numpy < 2,
#           which breaks the other groups' packages: give it its own venv, e.g.
#           DS2_VENV=$HOME/.cache/libds2/venv-pyctcdecode scripts/setup-venv.sh pyctcdecode
# The venv lives outside the work tree: ${DS2_VENV:-$HOME/.cache/libds2/venv}. Idempotent:
# installed packages are kept. Prints the venv's python on its last line.
#   ray     (alone) ray[serve] at the version the tests were verified with, in its own venv
#           ${DS2_RAY_VENV:-$HOME/.cache/libds2/venv-ray} over /usr/bin/python3 with
#           --system-site-packages (Debian's numpy and pytest): the interpreter `make
#           test-python-package` runs the Python package's tests with (~45 s, ~400 MB).
set -e
RAY_PIN="ray[serve]==2.60.0"
VENV="${DS2_VENV:-$HOME/.cache/libds2/venv}"
[ $# -gt 0 ] || set -- train
pkgs=""
venv_args=""
for group in "$@"; do
    case "$group" in
    train) pkgs="$pkgs torch numpy pillow" ;;
    peers) pkgs="$pkgs torch numpy onnx onnxscript onnxruntime openvino" ;;
    pyctcdecode) pkgs="$pkgs pyctcdecode kenlm" ;;
    ray)
        [ $# -eq 1 ] || { echo "setup-venv.sh: 'ray' has its own venv; name it alone" >&2; exit 2; }
        VENV="${DS2_RAY_VENV:-$HOME/.cache/libds2/venv-ray}"
        venv_args="--system-site-packages"
        pkgs="$RAY_PIN"
        # Already there at the pinned version: no pip run (no network) at all.
        if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c \
            "import ray, ray.serve, numpy, pytest; assert ray.__version__ == '${RAY_PIN#*==}'" \
            2>/dev/null; then
            echo "$VENV/bin/python"
            exit 0
        fi ;;
    *) echo "setup-venv.sh: unknown group '$group' (train, peers, pyctcdecode, ray)" >&2; exit 2 ;;
    esac
done
if [ ! -x "$VENV/bin/python" ]; then
    py=python3
    [ -z "$venv_args" ] || [ ! -x /usr/bin/python3 ] || py=/usr/bin/python3
    command -v $py >/dev/null || { echo "setup-venv.sh: python3 not found" >&2; exit 1; }
    # shellcheck disable=SC2086
    $py -m venv $venv_args "$VENV" || {
        echo "setup-venv.sh: 'python3 -m venv' failed (apt-get install python3-venv)" >&2; exit 1; }
fi
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install -q --disable-pip-version-check $pkgs >&2
echo "$VENV/bin/python"
