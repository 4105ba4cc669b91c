#!/usr/bin/env bash
# The README's first command: set up, build, generate a sample 4D-STEM scan
# and run the example analyses on it, writing results and PNG previews.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
TEM=build/bin/tem
if [ ! -f out/sample_scan.npy ]; then
  # A 32x32 scan of 64x64 u16 frames: a bright disk that moves with the scan
  # position on a weak background (see tests/lit/Inputs/gen.py).
  /usr/bin/python3 tests/lit/Inputs/gen.py out/sample_scan.npy --nav 32,32 --sig 64,64 --dtype u16 --pattern cbed
fi
echo "sample dataset: out/sample_scan.npy"
$TEM info out/sample_scan.npy
for script in examples/0*.tem; do
  name=$(basename "$script" .tem)
  $TEM run "$script" d=out/sample_scan.npy -o "out/$name/"
  echo "results of $script:"
  for f in out/"$name"/*; do echo "  $f"; done
done
