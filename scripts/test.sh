#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   - lint and `makemigrations --check`;
#   - Django 6.1 on SQLite (default user model, then a custom email-as-username model);
#   - Django 6.1 on PostgreSQL, including the end-to-end (real server and worker processes)
#     and browser (headless Chromium) tests;
#   - the OpenAPI schema validated, and the schemathesis fuzzer against a real server and
#     worker on PostgreSQL (Django 6.1);
#   - Django 5.2 LTS (Python 3.11) on PostgreSQL, without end-to-end and browser tests.
# Installs what it needs (virtualenvs, a throwaway PostgreSQL, Chromium), cleans up what it
# started, exits non-zero if anything failed. Extra arguments go to every pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
set -e

ensure_venv .venv "$(find_python 12)" requirements.txt
ensure_venv .venv-django52 "$(find_python 11 11)" requirements.txt
CHROMIUM=$(scripts/install-chromium.sh)
export CHROMIUM

export PGPORT_TEST=${PGPORT_TEST:-54329}
pg_url=$(scripts/pg.sh start)
scratch=$(mktemp -d)
cleanup() { scripts/pg.sh stop; rm -rf "$scratch"; }
trap cleanup EXIT
set +e

failed=()
leg() {
  local name=$1
  shift
  printf '\n===== %s =====\n' "$name"
  local started=$SECONDS
  if "$@"; then
    printf '===== %s: passed in %ss\n' "$name" $((SECONDS - started))
  else
    printf '===== %s: FAILED in %ss\n' "$name" $((SECONDS - started))
    failed+=("$name")
  fi
}

export IMPORTOPS_VAR_DIR="$scratch/var" DJANGO_SETTINGS_MODULE=tests.settings
quick="not e2e and not browser and not fuzz"

leg "lint (ruff)" .venv/bin/ruff check .
leg "migrations are complete (Django 6.1)" env -u DATABASE_URL .venv/bin/python manage.py makemigrations --check --dry-run
leg "migrations are complete (Django 5.2)" env -u DATABASE_URL .venv-django52/bin/python manage.py makemigrations --check --dry-run
leg "Django 6.1 / SQLite" env -u DATABASE_URL .venv/bin/python -m pytest -m "$quick" "$@"
leg "Django 6.1 / SQLite / email user model" env -u DATABASE_URL TEST_USER_MODEL=email \
  .venv/bin/python -m pytest -m "$quick and not username_model" "$@"
leg "OpenAPI schema is valid" env -u DATABASE_URL .venv/bin/python manage.py spectacular --validate --fail-on-warn \
  --custom-settings importops.api.schema.SETTINGS --urlconf importops.urls --file "$scratch/openapi.yaml"
leg "Django 6.1 / PostgreSQL / with end-to-end and browser tests" env DATABASE_URL="$pg_url" \
  .venv/bin/python -m pytest -m "not fuzz" "$@"
leg "fuzzer (schemathesis) / Django 6.1 / PostgreSQL" env DATABASE_URL="$pg_url" \
  .venv/bin/python -m pytest -m fuzz -rP "$@"
leg "Django 5.2 / PostgreSQL" env DATABASE_URL="$pg_url" .venv-django52/bin/python -m pytest -m "$quick" "$@"

if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failed[@]}"
  exit 1
fi
printf '\nAll test legs passed.\n'
