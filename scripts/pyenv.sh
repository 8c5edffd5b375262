#!/usr/bin/env bash
# pyenv.sh - the Python packages the script tests need (Tests/python/requirements.txt),
# in a virtual environment of the project's own (build/venv), installed from PyPI
# once and again only when the requirements change. Prints the venv's python.
set -eu
venv=build/venv
req=Tests/python/requirements.txt
stamp=$venv/.requirements
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! cmp -s "$req" "$stamp" 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
    cp "$req" "$stamp"
fi
echo "$venv/bin/python"
