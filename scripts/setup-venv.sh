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
set -e
VENV="${DS2_VENV:-$HOME/.cache/libds2/venv}"
[ $# -gt 0 ] || set -- train
pkgs=""
for group in "$@"; do
    case "$group" in
    train) pkgs="$pkgs torch numpy pillow" ;;
    peers) pkgs="$pkgs torch numpy onnx onnxscript onnxruntime openvino" ;;
    pyctcdecode) pkgs="$pkgs pyctcdecode kenlm" ;;
    *) echo "setup-venv.sh: unknown group '$group' (train, peers, pyctcdecode)" >&2; exit 2 ;;
    esac
done
if [ ! -x "$VENV/bin/python" ]; then
    command -v python3 >/dev/null || { echo "setup-venv.sh: python3 not found" >&2; exit 1; }
    python3 -m venv "$VENV" || {
        echo "setup-venv.sh: 'python3 -m venv' failed (apt-get install python3-venv)" >&2; exit 1; }
fi
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install -q --disable-pip-version-check $pkgs >&2
echo "$VENV/bin/python"
