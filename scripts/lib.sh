# Shared by run.sh and test.sh: find interpreters, keep virtualenvs in step with requirements.
# shellcheck shell=bash

# find_python MIN_MINOR [MAX_MINOR]: print a python3 whose minor version is in the range.
# Candidates are run, not trusted: a pyenv shim on PATH may exist and fail.
find_python() {
  local min=$1 max=${2:-99} candidate root
  local -a candidates=("${PYTHON:-}" python3.13 python3.12 python3.11 python3)
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    candidates+=("$root"/versions/3.13*/bin/python "$root"/versions/3.12*/bin/python "$root"/versions/3.11*/bin/python)
  fi
  candidates+=(/usr/bin/python3 /usr/local/bin/python3)
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c "import sys; m = sys.version_info[1]; sys.exit(not (sys.version_info[0] == 3 and $min <= m <= $max))" \
        >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "no Python 3.$min..3.$max found (set PYTHON=/path/to/python)" >&2
  return 1
}

# ensure_venv DIR PYTHON REQUIREMENTS...: create DIR with PYTHON and install the requirements
# whenever they changed since the last install.
ensure_venv() {
  local dir=$1 python=$2
  shift 2
  local stamp="$dir/.requirements.sha256" wanted
  wanted=$(cat "$@" | sha256sum | cut -d' ' -f1)
  if [ ! -x "$dir/bin/python" ]; then
    echo "creating $dir with $("$python" --version 2>&1)" >&2
    "$python" -m venv "$dir"
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    echo "installing requirements into $dir" >&2
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
    local args=()
    for requirements in "$@"; do args+=(-r "$requirements"); done
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "${args[@]}"
    echo "$wanted" > "$stamp"
  fi
}
