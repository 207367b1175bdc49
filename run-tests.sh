#!/usr/bin/env bash
# Install everything the tests need, then lint and run the whole suite.
# Idempotent: a second run reuses .venv and the npm cache in .cache/.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
CODEX_VERSION=0.169.0
CLAUDE_VERSION=2.1.330
PHOENIX_VERSION=20.26.1
CACHE="${STASO_TEST_CACHE:-$PWD/.cache}"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

# The real Codex CLI for the end-to-end tests (npm registry; binary ships in the package).
if [ ! -x "$CACHE/codex-$CODEX_VERSION/node_modules/.bin/codex" ]; then
  mkdir -p "$CACHE/codex-$CODEX_VERSION"
  npm install --prefix "$CACHE/codex-$CODEX_VERSION" --no-audit --no-fund \
    "@openai/codex@$CODEX_VERSION" >/dev/null
fi
# The real Claude Code CLI (npm registry; its native binary ships in a platform package).
if [ ! -x "$CACHE/claude-code-$CLAUDE_VERSION/node_modules/.bin/claude" ]; then
  mkdir -p "$CACHE/claude-code-$CLAUDE_VERSION"
  npm install --prefix "$CACHE/claude-code-$CLAUDE_VERSION" --no-audit --no-fund \
    "@anthropic-ai/claude-code@$CLAUDE_VERSION" >/dev/null
fi
# Arize Phoenix for the interop test, in a venv of its own (its dependencies stay apart).
if [ ! -x "$CACHE/phoenix-$PHOENIX_VERSION/bin/phoenix" ]; then
  "$PYTHON" -m venv "$CACHE/phoenix-$PHOENIX_VERSION"
  "$CACHE/phoenix-$PHOENIX_VERSION/bin/python" -m pip install --quiet \
    "arize-phoenix==$PHOENIX_VERSION"
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
