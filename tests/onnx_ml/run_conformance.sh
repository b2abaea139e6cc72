#!/bin/sh
# Builds the fixtures, runs them through ONNX Runtime (onnxruntime-node) and through our
# runtime, and compares: the ctest entry point of the ai.onnx.ml conformance test.
#
#   run_conformance.sh CONFORMANCE_BINARY [PYTHON] [NODE]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
python=${2:-/usr/bin/python3}
node=${3:-node}
work=$(mktemp -d "${TMPDIR:-/tmp}/onnx_ml_conformance.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$python" "$here/make_fixtures.py" "$work/fixtures"
"$node" "$here/ort_reference.js" "$work/fixtures" "$work/ort_reference.json"
"$bin" "$work/fixtures" "$work/ort_reference.json"
