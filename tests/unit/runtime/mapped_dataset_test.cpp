//===- tests/unit/runtime/mapped_dataset_test.cpp ------------------------===//
//
// This file tests make_mapped: runs that continue each other merge, frames
// are found across runs and files, back-to-back frames are reported for one
// kernel call, truncation names the frame, and decoded frames unpack.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/mapped.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <fstream>

namespace tem::rt {
namespace {

using test::TempDir;

/// A file of `n` bytes 0, 1, 2, ... (mod 256).
std::string byte_file(const TempDir& dir, const std::string& name, int n) {
    std::string path = dir.file(name);
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < n; ++i) out.put(static_cast<char>(i & 0xff));
    return path;
}

TEST(MappedDataset, RunsThatContinueEachOtherMerge) {
    TempDir dir;
    std::string path = byte_file(dir, "a.bin", 64);
    MappedLayout layout;
    layout.format = "test";
    layout.nav = {6};
    layout.sig = {2, 2};
    layout.dtype = DType::U8;
    // Frames of 4 bytes: 0..1 at 0, 2 at 8 (continues), 3..4 at 20 (a gap), 5 at 28.
    layout.runs = {{0, 2, 0, 0, 4}, {2, 1, 0, 8, 4}, {3, 2, 0, 20, 4}, {5, 1, 0, 28, 4}};
    auto ds = make_mapped(MappedFile(path), std::move(layout));
    EXPECT_EQ(ds->frame_stride(), 0);
    EXPECT_EQ(static_cast<int>(ds->frame(2)[0]), 8);
    EXPECT_EQ(static_cast<int>(ds->frame(4)[0]), 24);
    EXPECT_EQ(static_cast<int>(ds->frame(5)[0]), 28);
    // Frames 0..2 are back to back, then 3..5.
    EXPECT_EQ(ds->contiguous_frames(0), 3);
    EXPECT_EQ(ds->contiguous_frames(1), 2);
    EXPECT_EQ(ds->contiguous_frames(3), 3);
    std::vector<std::byte> out(8);
    ds->read_frames(2, 2, out.data());
    EXPECT_EQ(static_cast<int>(out[0]), 8);
    EXPECT_EQ(static_cast<int>(out[4]), 20);
}

TEST(MappedDataset, OneEvenRunIsEvenlySpaced) {
    TempDir dir;
    std::string path = byte_file(dir, "a.bin", 40);
    MappedLayout layout;
    layout.format = "test";
    layout.nav = {4};
    layout.sig = {3};
    layout.dtype = DType::U8;
    layout.runs = {{0, 2, 0, 4, 10}, {2, 2, 0, 24, 10}};  // one run with a 7-byte header per frame
    auto ds = make_mapped(MappedFile(path), std::move(layout));
    EXPECT_EQ(ds->frame_stride(), 10);
    EXPECT_EQ(static_cast<int>(ds->frame(3)[0]), 34);
    EXPECT_EQ(ds->contiguous_frames(0), 1);  // headers between frames
}

TEST(MappedDataset, TruncationNamesTheFrame) {
    TempDir dir;
    std::string path = byte_file(dir, "a.bin", 30);
    MappedLayout layout;
    layout.format = "test";
    layout.nav = {4};
    layout.sig = {8};
    layout.dtype = DType::U8;
    layout.runs = {{0, 4, 0, 0, 8}};
    try {
        make_mapped(MappedFile(path), std::move(layout));
        FAIL() << "expected a DataError";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("truncated: frame 3 of 4 needs bytes 24..32, but the file has 30 bytes"),
                  std::string::npos)
            << e.what();
    }
}

TEST(MappedDataset, DecodedFramesUnpack) {
    TempDir dir;
    std::string path = byte_file(dir, "a.bin", 8);
    MappedLayout layout;
    layout.format = "test";
    layout.nav = {4};
    layout.sig = {2};
    layout.dtype = DType::U16;
    layout.runs = {{0, 4, 0, 0, 2}};
    // Stored: 2 bytes per frame; decoded: each byte widened to u16.
    std::vector<MappedFile> files;
    files.emplace_back(path);
    auto ds = make_decoded(
        std::move(files), std::move(layout), 2,
        [](const std::byte* in, std::byte* out) {
            uint16_t v[2] = {static_cast<uint16_t>(in[0]), static_cast<uint16_t>(in[1])};
            std::memcpy(out, v, sizeof v);
        },
        "test packing");
    EXPECT_FALSE(ds->mapped());
    std::vector<uint16_t> out(4);
    ds->read_frames(2, 2, reinterpret_cast<std::byte*>(out.data()));
    EXPECT_EQ(out, (std::vector<uint16_t>{4, 5, 6, 7}));
}

} // namespace
} // namespace tem::rt
