#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (what CI runs: .ci/run calls this).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --test-tools
MLREC_TESTS=ON "$ROOT/scripts/build.sh"
cd "$ROOT/build"
ctest --output-on-failure --no-tests=error -j "${MLREC_TEST_JOBS:-2}" --timeout 900
