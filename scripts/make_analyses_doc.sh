#!/usr/bin/env bash
# Regenerates the result images of docs/analyses.md: runs every example on
# the sample scan of scripts/example.sh and copies the PNG previews to
# docs/analyses/EXAMPLE_RESULT.png. Run after `bash scripts/example.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
TEM=build/bin/tem
[ -f out/sample_scan.npy ] || { echo "run bash scripts/example.sh first (it makes out/sample_scan.npy)" >&2; exit 1; }
mkdir -p docs/analyses
for script in examples/0*.tem; do
  name=$(basename "$script" .tem)
  rm -rf "out/doc_$name"
  $TEM run "$script" d=out/sample_scan.npy -o "out/doc_$name/" >/dev/null
  for png in out/doc_"$name"/*.png; do
    cp "$png" "docs/analyses/${name}_$(basename "$png")"
  done
done
ls docs/analyses
