#!/bin/bash
# Builds one libFuzzer target per header parser with Debian's clang and runs
# each for SECONDS seconds (default 20) from a corpus of the sample files.
#
#   bash fuzz/run.sh [SECONDS] [FORMAT...]     (formats: mib blo tvips mrc ser dm empad npy hdf5)
#
# Builds in build/fuzz/ (clang++-14, -fsanitize=fuzzer,address,undefined).
# Needs ../shared/testdata for the seed corpus. Exits non-zero on the first
# crash, leaving the crashing input in build/fuzz/<format>/.
#
# The default list leaves out hdf5: its target fuzzes Debian's libhdf5 1.10.8
# more than tem, and finds memory errors inside the library itself within
# seconds (e.g. a heap overflow in H5G__ent_to_link on a corrupt symbol
# table), which tem cannot fix. Run it by name: bash fuzz/run.sh 20 hdf5.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER=${1:-20}
shift || true
FORMATS=("$@")
[ ${#FORMATS[@]} -eq 0 ] && FORMATS=(mib blo tvips mrc ser dm empad npy)
TESTDATA=${TEM_TESTDATA:-../shared/testdata}
CXX=${FUZZ_CXX:-clang++-14}
OUT=build/fuzz
mkdir -p "$OUT"
HDF5_INC=$(pkg-config --cflags hdf5-serial 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LIB=$(pkg-config --libs hdf5-serial 2>/dev/null || echo "-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5")
SOURCES=(runtime/dataset.cpp runtime/mmap_file.cpp runtime/npy_dataset.cpp runtime/raw_dataset.cpp runtime/formats/*.cpp)
FLAGS=(-std=c++20 -O1 -g -I. $HDF5_INC -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
LIBS=($HDF5_LIB -lz -llz4 -lfmt)

# Objects shared by every target: built once, with the fuzzer instrumentation.
mkdir -p "$OUT/obj"
OBJS=()
for src in "${SOURCES[@]}"; do
  obj="$OUT/obj/$(echo "$src" | tr / _).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ]; then
    "$CXX" "${FLAGS[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$src" -o "$obj"
  fi
  OBJS+=("$obj")
done

seeds() {
  case "$1" in
    mib) ls "$TESTDATA"/mib/*.mib ;;
    blo) ls "$TESTDATA"/blo/*.blo ;;
    tvips) ls "$TESTDATA"/tvips/*_000.tvips ;;
    mrc) ls "$TESTDATA"/mrc/*.mrc ;;
    ser) ls "$TESTDATA"/ser/*.ser ;;
    dm) ls "$TESTDATA"/dm/*.dm3 "$TESTDATA"/dm/*.dm4 ;;
    empad) ls "$TESTDATA"/empad/*.xml ;;
    npy) ls "$TESTDATA"/npy/*.npy ;;
    hdf5) ls "$TESTDATA"/hdf5/* "$TESTDATA"/dectris/*data*.h5 ;;
  esac
}

for fmt in "${FORMATS[@]}"; do
  bin="$OUT/fuzz_$fmt"
  "$CXX" "${FLAGS[@]}" -DTEM_FUZZ_FORMAT="\"$fmt\"" fuzz/format_fuzzer.cpp "${OBJS[@]}" "${LIBS[@]}" -o "$bin"
  corpus="$OUT/$fmt/corpus"
  mkdir -p "$corpus"
  for s in $(seeds "$fmt"); do cp -f "$s" "$corpus/" 2>/dev/null || true; done
  echo "fuzzing $fmt for ${SECONDS_PER}s"
  (cd "$OUT/$fmt" && "../fuzz_$fmt" -max_total_time="$SECONDS_PER" -max_len=4194304 -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 corpus 2>&1 | tail -n 12)
done
