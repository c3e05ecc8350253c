# Sourced by scripts/kb, scripts/test and scripts/bench: make sure .venv exists
# and holds kb (editable) with the extras named in $KB_EXTRAS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
stamp="$VENV/.kb-installed${KB_EXTRAS:+-$KB_EXTRAS}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "kb: creating $VENV (first run) ..." >&2
    "$PY" -m venv "$VENV"
fi
if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "kb: installing kb${KB_EXTRAS:+[$KB_EXTRAS]} into .venv ..." >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT${KB_EXTRAS:+[$KB_EXTRAS]}" >&2
    touch "$stamp"
fi
