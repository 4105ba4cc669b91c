//===- tests/unit/runtime/npy_dataset_test.cpp - .npy reader -------------===//
//
// This file implements tests of the .npy reader: header versions 1.0-3.0,
// every supported descr in both byte orders, the nav/sig split by rank, nav
// re-shaping, and the errors for Fortran order, unsupported types,
// malformed headers and truncated data.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace tem::rt {
namespace {

using test::append;
using test::data_error_of;
using test::make_npy;
using test::npy_dict;
using test::TempDir;
using test::write_bytes;

std::string u16_data(int64_t count, bool big_endian = false) {
    std::string bytes;
    for (int64_t i = 0; i < count; ++i)
        append<uint16_t>(bytes, static_cast<uint16_t>(i * 3), big_endian);
    return bytes;
}

class NpyVersion : public ::testing::TestWithParam<int> {};

TEST_P(NpyVersion, ReadsHeaderAndData) {
    TempDir dir;
    std::string path = dir.file("a.npy");
    write_bytes(path, make_npy(npy_dict("<u2", "(2, 3, 4, 5)"), u16_data(120), GetParam()));
    auto ds = open_dataset(path);
    EXPECT_EQ(ds->format(), "npy");
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{4, 5}));
    EXPECT_EQ(ds->dtype(), DType::U16);
    EXPECT_EQ(ds->frame_stride(), 40);
    EXPECT_EQ(ds->sig_strides(), (std::vector<int64_t>{10, 2}));
    EXPECT_EQ(load_element(ds->frame(5) + 19 * 2, DType::U16, false), 119.0 * 3);
    auto info = ds->info();
    ASSERT_FALSE(info.empty());
    EXPECT_EQ(info[0].second, std::to_string(GetParam()) + ".0");
}

INSTANTIATE_TEST_SUITE_P(Versions, NpyVersion, ::testing::Values(1, 2, 3));

TEST(NpyDataset, Utf8HeaderVersion3) {
    TempDir dir;
    std::string path = dir.file("u.npy");
    // Version 3.0 headers are UTF-8; an extra key with non-ASCII text must not matter.
    std::string dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (4,), 'note': 'Å', }";
    write_bytes(path, make_npy(dict, u16_data(4), 3));
    auto ds = open_dataset(path);
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{4}));
}

TEST(NpyDataset, HeaderVariantsParse) {
    TempDir dir;
    std::string path = dir.file("v.npy");
    // Different key order, double quotes, no trailing comma, Python 2 long suffix.
    write_bytes(path, make_npy("{\"shape\": (3L,2L),\"fortran_order\":False,\"descr\":\"<u2\"}",
                               u16_data(6)));
    auto ds = open_dataset(path);
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{3, 2}));
}

struct DescrCase {
    const char* descr;
    DType dtype;
    bool big_endian;
};

TEST(NpyDataset, AllDescrs) {
    const DescrCase cases[] = {
        {"|b1", DType::Bool, false}, {"|u1", DType::U8, false},  {"|i1", DType::I8, false},
        {"<u2", DType::U16, false},  {">u2", DType::U16, true},  {"<u4", DType::U32, false},
        {">u4", DType::U32, true},   {"<u8", DType::U64, false}, {">u8", DType::U64, true},
        {"<i2", DType::I16, false},  {">i2", DType::I16, true},  {"<i4", DType::I32, false},
        {">i4", DType::I32, true},   {"<i8", DType::I64, false}, {">i8", DType::I64, true},
        {"<f4", DType::F32, false},  {">f4", DType::F32, true},  {"<f8", DType::F64, false},
        {">f8", DType::F64, true},   {"=f8", DType::F64, false}, {"=i2", DType::I16, false}};
    TempDir dir;
    for (const DescrCase& c : cases) {
        SCOPED_TRACE(c.descr);
        // Values -2, 0, 3 (bool: 2 -> 1 must read as nonzero = 1).
        std::string data;
        const double values[] = {-2, 0, 3};
        for (double v : values) {
            switch (c.dtype) {
            case DType::Bool:
                data += static_cast<char>(v == 0 ? 0 : 2);
                break;
            case DType::U8:
                append<uint8_t>(data, static_cast<uint8_t>(std::abs(v)));
                break;
            case DType::I8:
                append<int8_t>(data, static_cast<int8_t>(v));
                break;
            case DType::U16:
                append<uint16_t>(data, static_cast<uint16_t>(std::abs(v)), c.big_endian);
                break;
            case DType::U32:
                append<uint32_t>(data, static_cast<uint32_t>(std::abs(v)), c.big_endian);
                break;
            case DType::U64:
                append<uint64_t>(data, static_cast<uint64_t>(std::abs(v)), c.big_endian);
                break;
            case DType::I16:
                append<int16_t>(data, static_cast<int16_t>(v), c.big_endian);
                break;
            case DType::I32:
                append<int32_t>(data, static_cast<int32_t>(v), c.big_endian);
                break;
            case DType::I64:
                append<int64_t>(data, static_cast<int64_t>(v), c.big_endian);
                break;
            case DType::F32:
                append<float>(data, static_cast<float>(v), c.big_endian);
                break;
            case DType::F64:
                append<double>(data, v, c.big_endian);
                break;
            }
        }
        std::string path = dir.file("t.npy");
        write_bytes(path, make_npy(npy_dict(c.descr, "(3,)"), data));
        Array a = read_array(path);
        EXPECT_EQ(a.dtype, c.dtype);
        EXPECT_EQ(a.shape, (std::vector<int64_t>{3}));
        std::vector<double> expected;
        for (double v : values) {
            if (c.dtype == DType::Bool)
                expected.push_back(v != 0 ? 1 : 0);
            else if (dtype_is_unsigned_int(c.dtype))
                expected.push_back(std::abs(v));
            else
                expected.push_back(v);
        }
        EXPECT_EQ(a.values, expected);
        auto ds = open_dataset(path);
        EXPECT_EQ(ds->big_endian(), c.big_endian);
    }
}

TEST(NpyDataset, UnsupportedDescrIsNamed) {
    TempDir dir;
    std::string path = dir.file("c.npy");
    for (std::string descr : {"<c8", "<f2", "<U5", "|S3", "|O"}) {
        write_bytes(path, make_npy(npy_dict(descr, "(2,)"), std::string(64, '\0')));
        std::string msg = data_error_of([&] { open_dataset(path); });
        EXPECT_EQ(msg.rfind(path + ": error: unsupported npy element type '" + descr + "'", 0), 0u)
            << msg;
    }
    write_bytes(
        path,
        make_npy("{'descr': [('a', '<u2'), ('b', '<f4')], 'fortran_order': False, 'shape': (2,), }",
                 std::string(12, '\0')));
    EXPECT_NE(data_error_of([&] { open_dataset(path); }).find("structured"), std::string::npos);
}

TEST(NpyDataset, FortranOrderIsRejected) {
    TempDir dir;
    std::string path = dir.file("f.npy");
    write_bytes(path, make_npy(npy_dict("<u2", "(4, 5)", true), u16_data(20)));
    EXPECT_EQ(
        data_error_of([&] { open_dataset(path); }),
        path + ": error: Fortran-order arrays are not supported; save with np.ascontiguousarray");
    // One long axis: Fortran and C order are the same bytes.
    write_bytes(path, make_npy(npy_dict("<u2", "(1, 20)", true), u16_data(20)));
    EXPECT_EQ(open_dataset(path)->sig_shape(), (std::vector<int64_t>{1, 20}));
}

TEST(NpyDataset, TruncatedData) {
    TempDir dir;
    std::string path = dir.file("t.npy");
    std::string bytes = make_npy(npy_dict("<u2", "(4, 4, 8, 8)"), u16_data(4 * 4 * 64 - 3));
    write_bytes(path, bytes);
    std::string msg = data_error_of([&] { open_dataset(path); });
    EXPECT_EQ(msg, path + ": error: file is " + std::to_string(bytes.size()) +
                       " bytes, but the npy header 128 + shape (4, 4, 8, 8) u16 needs " +
                       std::to_string(128 + 2048) + " bytes (truncated at byte " +
                       std::to_string(bytes.size()) + ")");
    // A header cut short.
    write_bytes(path, bytes.substr(0, 40));
    msg = data_error_of([&] { open_dataset(path); });
    EXPECT_NE(msg.find("truncated at byte 40"), std::string::npos) << msg;
}

TEST(NpyDataset, MalformedHeaders) {
    TempDir dir;
    std::string path = dir.file("m.npy");
    for (std::string dict :
         {"{'descr': '<u2', 'shape': (2,), }", "{'descr': '<u2', 'fortran_order': False, }",
          "{'descr': '<u2', 'fortran_order': Maybe, 'shape': (2,)}", "[1, 2]",
          "{'descr': '<u2', 'fortran_order': False, 'shape': (2,"}) {
        write_bytes(path, make_npy(dict, u16_data(2)));
        std::string msg = data_error_of([&] { open_dataset(path); });
        EXPECT_EQ(msg.rfind(path + ": error: malformed npy header", 0), 0u)
            << dict << " -> " << msg;
    }
    write_bytes(path, std::string("\x93NUMPY\x07\x00\x10\x00", 10) + std::string(16, ' '));
    EXPECT_NE(data_error_of([&] { open_dataset(path); }).find("unsupported npy format version 7.0"),
              std::string::npos);
    // The .npy extension without the magic.
    write_bytes(path, "hello, world");
    EXPECT_NE(data_error_of([&] { open_dataset(path); }).find("not a NumPy .npy file"),
              std::string::npos);
}

TEST(NpyDataset, NavSigSplitByRank) {
    struct Case {
        const char* shape;
        std::vector<int64_t> nav, sig;
        int64_t count;
    };
    const Case cases[] = {
        {"(6,)", {}, {6}, 6},
        {"(2, 3)", {}, {2, 3}, 6},
        {"(4, 2, 3)", {4}, {2, 3}, 24},
        {"(2, 2, 2, 3)", {2, 2}, {2, 3}, 24},
        {"(2, 1, 2, 2, 3)", {2, 1, 2}, {2, 3}, 24},
    };
    TempDir dir;
    std::string path = dir.file("r.npy");
    for (const Case& c : cases) {
        SCOPED_TRACE(c.shape);
        write_bytes(path, make_npy(npy_dict("<u2", c.shape), u16_data(c.count)));
        auto ds = open_dataset(path);
        EXPECT_EQ(ds->nav_shape(), c.nav);
        EXPECT_EQ(ds->sig_shape(), c.sig);
    }
}

TEST(NpyDataset, NavReshape) {
    TempDir dir;
    std::string path = dir.file("flat.npy");
    write_bytes(path, make_npy(npy_dict("<u2", "(16, 8, 8)"), u16_data(16 * 64)));
    OpenOptions flags;
    flags.nav = std::vector<int64_t>{4, 4};
    auto ds = open_dataset(path, flags);
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{8, 8}));
    EXPECT_EQ(load_element(ds->frame(5), DType::U16, false), 5 * 64 * 3.0);
    // Also through an npy: spec.
    EXPECT_EQ(open_dataset("npy:" + path + "?nav=2,8")->nav_shape(), (std::vector<int64_t>{2, 8}));

    flags.nav = std::vector<int64_t>{4, 5};
    EXPECT_EQ(data_error_of([&] { open_dataset(path, flags); }),
              path + ": error: cannot re-shape nav (16) (16 frames) to (4, 5) (20 frames)");
}

TEST(NpyDataset, OptionsMustAgreeWithHeader) {
    TempDir dir;
    std::string path = dir.file("a.npy");
    write_bytes(path, make_npy(npy_dict("<u2", "(2, 5, 4)"), u16_data(40)));
    OpenOptions flags;
    flags.dtype = DType::F32;
    EXPECT_NE(data_error_of([&] { open_dataset(path, flags); }).find("holds u16, not f32"),
              std::string::npos);
    flags = {};
    flags.sig = std::vector<int64_t>{4};
    auto ds = open_dataset(path, flags);
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{2, 5}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{4}));
    flags.sig = std::vector<int64_t>{3, 4};
    EXPECT_NE(data_error_of([&] { open_dataset(path, flags); }).find("does not end in sig (3, 4)"),
              std::string::npos);
}

TEST(NpyDataset, RealSampleFile) {
    const char* env = std::getenv("TEM_TESTDATA");
    std::string root = env && *env ? env : "/work/shared/testdata";
    std::string path = root + "/npy/sparc-angle-resolved-data.npy";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << "no sample data at " << path;
    auto ds = open_dataset(path);
    EXPECT_EQ(ds->nav_shape(), (std::vector<int64_t>{3, 2}));
    EXPECT_EQ(ds->sig_shape(), (std::vector<int64_t>{256, 256}));
    EXPECT_EQ(ds->dtype(), DType::U16);
    // Reference values from the test data MANIFEST: total sum and first frame sums.
    double total = 0, first = 0;
    for (int64_t frame_idx = 0; frame_idx < ds->num_frames(); ++frame_idx) {
        double frame_sum = 0;
        for (int64_t i = 0; i < ds->frame_elems(); ++i)
            frame_sum += load_element(ds->frame(frame_idx) + 2 * i, DType::U16, false);
        if (frame_idx == 0) first = frame_sum;
        total += frame_sum;
    }
    EXPECT_EQ(total, 300418883.0);
    EXPECT_EQ(first, 50081589.0);
}

} // namespace
} // namespace tem::rt
