#!/usr/bin/env bash
# A Python with the TensorFlow that setup:native built the op library against (tensorflow-cpu
# 2.12.0), for the SavedModel check in Python (spec/savedmodel/python_savedmodel.spec.ts). Kept in
# ~/.cache/tfjs-turbo/python-tf212 so CI reuses it; the wheel comes from setup:native's cache when
# present, else from PyPI. Prints the interpreter's path last.
set -euo pipefail
cache="${TFJS_TURBO_CACHE:-$HOME/.cache/tfjs-turbo}"
venv="$cache/python-tf212"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c 'import tensorflow as tf; assert tf.__version__ == "2.12.0"' 2>/dev/null; then
  echo "$py"
  exit 0
fi
command -v python3.11 >/dev/null || { echo "setup-python-tf: python3.11 not found (TensorFlow 2.12 needs Python 3.8-3.11)" >&2; exit 1; }
rm -rf "$venv"
python3.11 -m venv "$venv"
wheel=$(ls "$cache"/wheels/tensorflow_cpu-2.12.0-*.whl 2>/dev/null | head -n 1 || true)
echo "setup-python-tf: installing tensorflow-cpu 2.12.0 into $venv${wheel:+ (wheel from the setup:native cache)}" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check "${wheel:-tensorflow-cpu==2.12.0}" >&2
"$py" -c 'import tensorflow as tf; assert tf.__version__ == "2.12.0", tf.__version__' >&2
echo "$py"
