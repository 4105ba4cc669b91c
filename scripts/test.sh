#!/usr/bin/env bash
# The README's second command: set up, build, and run every test
# (GoogleTest units and lit file/e2e tests through CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Real sample files (../shared/testdata) are used when present; those tests skip otherwise.
if [ -z "${TEM_TESTDATA:-}" ] && [ -d ../shared/testdata ]; then
  export TEM_TESTDATA="$(cd ../shared/testdata && pwd)"
fi
cd build
ctest --output-on-failure -j 2 "$@"
