#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Written by nngrade-release for grader @VERSION@ (wheels for Python @PYTHON@).
# NNGRADE_AUTOGRADER_ROOT (default /autograder), NNGRADE_PYTHON and NNGRADE_NO_APT
# let the same script run on a simulated tree (the project's tests do).
set -euo pipefail
ROOT="${NNGRADE_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${NNGRADE_PYTHON:-python@PYTHON@}"
if [ -z "${NNGRADE_NO_APT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "python@PYTHON@" "python@PYTHON@-venv"
fi
"$PYTHON" -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install -q --find-links "$ROOT/source/wheelhouse" \
    --only-binary nnfund "nnfund==@VERSION@"
"$ROOT/venv/bin/nngrade" --list > /dev/null
