//===- tests/unit/runtime/raw_dataset_test.cpp - Raw reader --------------===//
//
// This file implements tests of the raw reader: geometry from the spec and
// from flags, byte order, offsets, and the size checks that catch a wrong
// geometry (truncated and oversized files, missing options).
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

namespace tem::rt {
namespace {

using test::append;
using test::data_error_of;
using test::TempDir;
using test::write_bytes;

/// nav (2, 3) sig (4, 5) u16 with element value = flat index, after `offset`
/// header bytes.
std::string u16_ramp(int64_t count, bool big_endian, size_t offset = 0) {
    std::string bytes(offset, '\x7f');
    for (int64_t i = 0; i < count; ++i)
        append<uint16_t>(bytes, static_cast<uint16_t>(i), big_endian);
    return bytes;
}

TEST(RawDataset, OpensLittleEndianSpec) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(2 * 3 * 4 * 5, false));
    auto ds = open_dataset("raw:" + path + "?nav=2,3&sig=4,5&dtype=u16");
    EXPECT_EQ(ds->format(), "raw");
    EXPECT_EQ(ds->path(), path);
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{4, 5}));
    EXPECT_EQ(ds->dtype(), DType::U16);
    EXPECT_FALSE(ds->big_endian());
    EXPECT_EQ(ds->num_frames(), 6);
    EXPECT_EQ(ds->frame_elems(), 20);
    EXPECT_EQ(ds->frame_stride(), 40);
    EXPECT_EQ(ds->sig_strides(), (std::vector<int64_t>{10, 2}));
    // Frame 4, element (2, 3) is flat index 4 * 20 + 2 * 5 + 3.
    const std::byte* p = ds->frame(4) + 2 * ds->sig_strides()[0] + 3 * ds->sig_strides()[1];
    EXPECT_EQ(load_element(p, ds->dtype(), ds->big_endian()), 93.0);
    ds->advise_sequential(0, 6); // a hint; must not fail
}

TEST(RawDataset, BigEndianWithOffset) {
    TempDir dir;
    std::string path = dir.file("scan.dat");
    write_bytes(path, u16_ramp(2 * 3 * 4 * 5, true, 512));
    auto ds = open_dataset("raw:" + path + "?nav=2,3&sig=4,5&dtype=u16&offset=512&order=big");
    EXPECT_TRUE(ds->big_endian());
    for (int64_t frame_idx = 0; frame_idx < ds->num_frames(); ++frame_idx) {
        for (int64_t elem_idx = 0; elem_idx < ds->frame_elems(); ++elem_idx) {
            double v = load_element(ds->frame(frame_idx) + elem_idx * 2, DType::U16, true);
            ASSERT_EQ(v, static_cast<double>(frame_idx * 20 + elem_idx));
        }
    }
    // Read in the wrong order, 1 (0x0001 big-endian) would be 256.
    EXPECT_EQ(load_element(ds->frame(0) + 2, DType::U16, false), 256.0);
}

TEST(RawDataset, FlagsGiveGeometryForPlainPath) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(4 * 4 * 8 * 8, false));
    OpenOptions flags;
    flags.nav = std::vector<int64_t>{4, 4};
    flags.sig = std::vector<int64_t>{8, 8};
    flags.dtype = DType::U16;
    auto ds = open_dataset(path, flags);
    EXPECT_EQ(ds->format(), "raw");
    EXPECT_EQ(ds->num_frames(), 16);
}

TEST(RawDataset, SpecWinsOverFlags) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(4 * 4 * 8 * 8, false));
    OpenOptions flags;
    flags.nav = std::vector<int64_t>{2, 2};
    flags.sig = std::vector<int64_t>{8, 8};
    flags.dtype = DType::U8;
    auto ds = open_dataset("raw:" + path + "?nav=4,4&dtype=u16", flags);
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{8, 8}));
    EXPECT_EQ(ds->dtype(), DType::U16);
}

TEST(RawDataset, SigOnlyIsOneFrame) {
    TempDir dir;
    std::string path = dir.file("frame.bin");
    write_bytes(path, u16_ramp(64, false));
    auto ds = open_dataset("raw:" + path + "?sig=64&dtype=u16");
    EXPECT_TRUE(ds->nav_shape().empty());
    EXPECT_EQ(ds->num_frames(), 1);
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{64}));
}

TEST(RawDataset, TruncatedFileNamesSizes) {
    TempDir dir;
    std::string path = dir.file("short.bin");
    write_bytes(path, u16_ramp(4 * 4 * 8 * 8 - 1, false));
    std::string msg =
        data_error_of([&] { open_dataset("raw:" + path + "?nav=4,4&sig=8,8&dtype=u16"); });
    EXPECT_EQ(msg, path +
                       ": error: file is 2046 bytes, but offset 0 + geometry nav (4, 4) sig (8, 8) "
                       "u16 needs 2048 bytes (truncated at byte 2046)");
}

TEST(RawDataset, OversizedFileIsAnError) {
    TempDir dir;
    std::string path = dir.file("long.bin");
    write_bytes(path, u16_ramp(4 * 4 * 8 * 8, false));
    std::string msg =
        data_error_of([&] { open_dataset("raw:" + path + "?nav=2,4&sig=8,8&dtype=u16"); });
    EXPECT_EQ(msg.rfind(path +
                            ": error: geometry does not match the file size: offset 0 + nav (2, 4) "
                            "sig (8, 8) u16 needs 1024 bytes, file has 2048; pass the right "
                            "nav/sig/dtype or offset",
                        0),
              0u)
        << msg;
    EXPECT_NE(msg.find("16 frames"), std::string::npos) << msg;
}

TEST(RawDataset, MissingOptionsAreNamed) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(16, false));
    std::string msg = data_error_of([&] { open_dataset("raw:" + path + "?nav=4,4&sig=2,2"); });
    EXPECT_NE(msg.find("'dtype' is missing"), std::string::npos) << msg;
    msg = data_error_of([&] { open_dataset("raw:" + path + "?nav=4,4&dtype=u8"); });
    EXPECT_NE(msg.find("'sig' is missing"), std::string::npos) << msg;
    msg = data_error_of([&] { open_dataset("raw:" + path); });
    EXPECT_NE(msg.find("'sig' and 'dtype' are missing"), std::string::npos) << msg;
    OpenOptions flags;
    flags.nav = std::vector<int64_t>{4, 4};
    msg = data_error_of([&] { open_dataset(path, flags); });
    EXPECT_NE(msg.find("'sig' and 'dtype' are missing"), std::string::npos) << msg;
}

TEST(RawDataset, BadSpecValues) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(16, false));
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=0,4&dtype=u8");
              }).find("at least 1"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,-4&dtype=u8");
              }).find("at least 1"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,4&dtype=u17");
              }).find("unknown dtype 'u17'"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,a&dtype=u8");
              }).find("bad sig='4,a'"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,4&dtype=u8&order=middle");
              }).find("bad order='middle'"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,4&dtype=u8&offset=-1");
              }).find("bad offset='-1'"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path + "?sig=4,4&dtype=u8&colour=red");
              }).find("unknown option 'colour'"),
              std::string::npos);
    EXPECT_NE(data_error_of([&] {
                  open_dataset("raw:" + path +
                               "?nav=99999999999,99999999999&sig=99999999,9&dtype=f64");
              }).find("too large"),
              std::string::npos);
}

TEST(RawDataset, MissingFile) {
    TempDir dir;
    std::string path = dir.file("nope.bin");
    EXPECT_EQ(data_error_of([&] { open_dataset("raw:" + path + "?sig=4,4&dtype=u8"); }),
              path + ": error: no such file or directory");
    EXPECT_EQ(data_error_of([&] { open_dataset(path); }),
              path + ": error: no such file or directory");
}

TEST(RawDataset, PlainPathWithoutGeometryAsksForIt) {
    TempDir dir;
    std::string path = dir.file("scan.bin");
    write_bytes(path, u16_ramp(16, false));
    std::string msg = data_error_of([&] { open_dataset(path); });
    EXPECT_EQ(msg.rfind(path + ": error: unknown data format", 0), 0u) << msg;
    EXPECT_NE(msg.find("raw:FILE?nav=..&sig=..&dtype=.."), std::string::npos) << msg;
    EXPECT_NE(msg.find("--nav/--sig/--dtype"), std::string::npos) << msg;
}

} // namespace
} // namespace tem::rt
