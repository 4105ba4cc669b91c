//===- fuzz/format_fuzzer.cpp - libFuzzer target for the header parsers -===//
//
// This file is a libFuzzer target: every input is written to a file and
// opened with one reader (chosen at compile time with -DTEM_FUZZ_FORMAT),
// then every frame is read. A reader may reject the input with DataError;
// anything else (a crash, a sanitizer report, another exception) is a bug.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

#ifndef TEM_FUZZ_FORMAT
#error "define TEM_FUZZ_FORMAT, e.g. -DTEM_FUZZ_FORMAT=\"mib\""
#endif

namespace {

/// A private file the inputs are written to, with the format's extension.
const std::string& input_path() {
    static const std::string path = [] {
        std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/tem-fuzz-XXXXXX";
        if (!mkdtemp(dir.data())) std::abort();
        return dir + "/input." TEM_FUZZ_FORMAT;
    }();
    return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string& path = input_path();
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) std::abort();
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        auto ds = tem::rt::open_dataset(TEM_FUZZ_FORMAT ":" + path);
        const size_t frame = static_cast<size_t>(ds->frame_elems()) * tem::dtype_size(ds->dtype());
        // Read every frame of small datasets (a header may claim terabytes
        // of a sparse file; those are rejected by the size checks anyway).
        if (frame * static_cast<size_t>(ds->num_frames()) <= (size_t{64} << 20)) {
            std::vector<std::byte> buf(frame);
            for (int64_t i = 0; i < ds->num_frames(); ++i) ds->read_frames(i, 1, buf.data());
        }
    } catch (const tem::rt::DataError&) {
        // A clear rejection is the expected outcome for most inputs.
    }
    return 0;
}
