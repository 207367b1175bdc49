#!/usr/bin/env bash
# Install everything the tests need, then lint and run the whole suite.
# Idempotent: a second run reuses .venv and the npm cache in .cache/.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
# Each agent CLI at the version the recordings were made with and at the current latest
# release users run (keep tests/e2e_codex.py, tests/e2e_claude.py and tests/e2e_gemini.py
# in step; Gemini CLI: the release before the latest, and the latest).
CODEX_VERSIONS="0.169.0 0.171.0"
CLAUDE_VERSIONS="2.1.330 2.1.332"
GEMINI_VERSIONS="0.60.0 0.61.0"
PHOENIX_VERSION=20.26.1
MLFLOW_VERSION=3.17.2
CACHE="${STASO_TEST_CACHE:-$PWD/.cache}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip at error level: setuptools' notice on every editable install is not about this
# project; a failed install still prints its error and stops the script.
.venv/bin/python -m pip install -qq --upgrade pip
.venv/bin/python -m pip install -qq -e '.[test]'

# The real Codex CLI for the end-to-end tests (npm registry; binary ships in the package).
for v in $CODEX_VERSIONS; do
  if [ ! -x "$CACHE/codex-$v/node_modules/.bin/codex" ]; then
    mkdir -p "$CACHE/codex-$v"
    npm install --prefix "$CACHE/codex-$v" --no-audit --no-fund --loglevel=error \
      "@openai/codex@$v" >/dev/null
  fi
done
# The real Claude Code CLI (npm registry; its native binary ships in a platform package).
for v in $CLAUDE_VERSIONS; do
  if [ ! -x "$CACHE/claude-code-$v/node_modules/.bin/claude" ]; then
    mkdir -p "$CACHE/claude-code-$v"
    npm install --prefix "$CACHE/claude-code-$v" --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$v" >/dev/null
  fi
done
# The real Gemini CLI (npm registry; a bundled Node program, run by the Node on PATH).
for v in $GEMINI_VERSIONS; do
  if [ ! -x "$CACHE/gemini-cli-$v/node_modules/.bin/gemini" ]; then
    mkdir -p "$CACHE/gemini-cli-$v"
    npm install --prefix "$CACHE/gemini-cli-$v" --no-audit --no-fund --loglevel=error \
      "@google/gemini-cli@$v" >/dev/null
  fi
done
# Arize Phoenix for the interop test, in a venv of its own (its dependencies stay apart).
if [ ! -x "$CACHE/phoenix-$PHOENIX_VERSION/bin/phoenix" ]; then
  "$PYTHON" -m venv "$CACHE/phoenix-$PHOENIX_VERSION"
  "$CACHE/phoenix-$PHOENIX_VERSION/bin/python" -m pip install -qq \
    "arize-phoenix==$PHOENIX_VERSION"
fi
# An MLflow tracking server for the same interop checks, likewise in a venv of its own.
if [ ! -x "$CACHE/mlflow-$MLFLOW_VERSION/bin/mlflow" ]; then
  "$PYTHON" -m venv "$CACHE/mlflow-$MLFLOW_VERSION"
  "$CACHE/mlflow-$MLFLOW_VERSION/bin/python" -m pip install -qq "mlflow==$MLFLOW_VERSION"
fi
export STASO_TEST_CACHE="$CACHE"

.venv/bin/ruff check .
.venv/bin/ruff format --check .

set +e
.venv/bin/python -m pytest -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: that is a failure here" >&2
  exit 1
fi
exit "$status"
