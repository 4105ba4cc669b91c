#!/usr/bin/env bash
# Installs what tem needs from Debian's archive (only what is missing), then
# configures and builds tem in ./build (incrementally when a build exists).
# Used by scripts/example.sh and scripts/test.sh; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build          # compiler and build
  llvm-19-dev                                # LLVM 19: ORC JIT, host CPU detection
  llvm-19-tools                              # lit and FileCheck for the file tests
  libhdf5-dev                                # HDF5 output (and input formats)
  liblz4-dev                                 # LZ4 and bitshuffle+LZ4 chunks of HDF5 files
  python3-h5py bitshuffle hdf5-filter-plugin # HDF5 test files (h5py, bitshuffle and LZ4 plugins)
  libfftw3-dev                               # fft2: per-frame Fourier transforms (crystallinity)
  libopenmpi-dev openmpi-bin                 # MPI: mpirun -np N tem run ...
  clang-14 libclang-rt-14-dev                # libFuzzer targets of the slow tests (fuzz/run.sh)
  libcli11-dev                               # command-line parsing
  libfmt-dev                                 # formatting
  libpng-dev                                 # PNG previews
  libtiff-dev                                # 32-bit float TIFF results
  libedit-dev                                # line editing, history and completion in tem repl
  googletest libgtest-dev                    # unit tests
  python3 python3-numpy                      # test references and the sample dataset
  zlib1g-dev libzstd-dev libedit-dev libffi-dev libxml2-dev   # libraries LLVM's CMake package links
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_TYPE=${TEM_BUILD_TYPE:-Release}
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${TEM_CMAKE_ARGS:-}
fi
cmake --build build -j "$(nproc)"
