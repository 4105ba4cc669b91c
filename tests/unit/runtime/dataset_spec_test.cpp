//===- tests/unit/runtime/dataset_spec_test.cpp - Specs and elements -----===//
//
// This file implements tests of the format-independent dataset code: spec
// parsing and format detection, extent parsing, element loading in every
// dtype and byte order, and read_array.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tem::rt {
namespace {

using test::append;
using test::data_error_of;
using test::make_npy;
using test::npy_dict;
using test::TempDir;
using test::write_bytes;

template <typename T> double load_from(T value, DType dtype, bool big_endian) {
    std::string bytes;
    append<T>(bytes, value, big_endian);
    return load_element(reinterpret_cast<const std::byte*>(bytes.data()), dtype, big_endian);
}

TEST(LoadElement, EveryDtypeBothOrders) {
    for (bool big : {false, true}) {
        SCOPED_TRACE(big ? "big" : "little");
        EXPECT_EQ(load_from<uint8_t>(200, DType::U8, big), 200.0);
        EXPECT_EQ(load_from<int8_t>(-100, DType::I8, big), -100.0);
        EXPECT_EQ(load_from<uint16_t>(65000, DType::U16, big), 65000.0);
        EXPECT_EQ(load_from<int16_t>(-30000, DType::I16, big), -30000.0);
        EXPECT_EQ(load_from<uint32_t>(4000000000u, DType::U32, big), 4000000000.0);
        EXPECT_EQ(load_from<int32_t>(-2000000000, DType::I32, big), -2000000000.0);
        EXPECT_EQ(load_from<uint64_t>(uint64_t{1} << 60, DType::U64, big), 1152921504606846976.0);
        EXPECT_EQ(load_from<int64_t>(-(int64_t{1} << 60), DType::I64, big), -1152921504606846976.0);
        EXPECT_EQ(load_from<float>(1.5f, DType::F32, big), 1.5);
        EXPECT_EQ(load_from<double>(-0.1, DType::F64, big), -0.1);
        EXPECT_TRUE(std::isnan(
            load_from<double>(std::numeric_limits<double>::quiet_NaN(), DType::F64, big)));
        EXPECT_EQ(load_from<uint8_t>(0, DType::Bool, big), 0.0);
        EXPECT_EQ(load_from<uint8_t>(1, DType::Bool, big), 1.0);
        EXPECT_EQ(load_from<uint8_t>(255, DType::Bool, big), 1.0);
    }
}

TEST(Extents, ParseAndFormat) {
    EXPECT_EQ(parse_extents("4,4"), (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(parse_extents(" 256 , 128 "), (std::vector<int64_t>{256, 128}));
    EXPECT_EQ(parse_extents("4x8"), (std::vector<int64_t>{4, 8}));
    EXPECT_EQ(parse_extents("(16,)"), (std::vector<int64_t>{16}));
    EXPECT_EQ(parse_extents(""), (std::vector<int64_t>{}));
    EXPECT_FALSE(parse_extents("4,,4"));
    EXPECT_FALSE(parse_extents("a"));
    EXPECT_FALSE(parse_extents("4.5"));
    EXPECT_EQ(format_shape({4, 4}), "(4, 4)");
    EXPECT_EQ(format_shape({16}), "(16)");
    EXPECT_EQ(format_shape({}), "()");
    EXPECT_EQ(checked_product({}), 1);
    EXPECT_EQ(checked_product({3, 4}), 12);
    EXPECT_FALSE(checked_product({int64_t{1} << 40, int64_t{1} << 40}));
    EXPECT_FALSE(checked_product({-1}));
}

TEST(OpenDataset, NpyDetectedByContentFirst) {
    TempDir dir;
    std::string data;
    for (int i = 0; i < 4; ++i) append<float>(data, static_cast<float>(i));
    std::string path = dir.file("frame.bin"); // npy content, misleading name
    write_bytes(path, make_npy(npy_dict("<f4", "(2, 2)"), data));
    auto ds = open_dataset(path);
    EXPECT_EQ(ds->format(), "npy");
    EXPECT_EQ(open_dataset("npy:" + path)->format(), "npy");
}

TEST(OpenDataset, DirectoryAndQuestionMarkHints) {
    TempDir dir;
    std::string msg = data_error_of([&] { open_dataset(dir.path()); });
    EXPECT_EQ(msg, dir.path() + ": error: is a directory, not a data file");
    std::string spec = dir.file("scan.bin") + "?sig=4,4";
    msg = data_error_of([&] { open_dataset(spec); });
    EXPECT_NE(msg.find("need the raw: prefix"), std::string::npos) << msg;
    EXPECT_NE(data_error_of([&] { open_dataset("raw:?sig=4"); }).find("names no file"),
              std::string::npos);
}

TEST(ReadArray, RawAndNpyInCOrder) {
    TempDir dir;
    std::string data;
    for (int i = 0; i < 24; ++i) append<int16_t>(data, static_cast<int16_t>(i - 10), true);
    std::string raw = dir.file("a.raw");
    write_bytes(raw, "HDR!" + data);
    Array a = read_array("raw:" + raw + "?nav=2&sig=3,4&dtype=i16&order=big&offset=4");
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
    EXPECT_EQ(a.dtype, DType::I16);
    ASSERT_EQ(a.values.size(), 24u);
    for (int i = 0; i < 24; ++i) EXPECT_EQ(a.values[i], i - 10);

    std::string npy_data;
    for (int i = 0; i < 6; ++i) append<double>(npy_data, i * 0.5);
    std::string npy = dir.file("dark.npy");
    write_bytes(npy, make_npy(npy_dict("<f8", "(2, 3)"), npy_data));
    Array b = read_array(npy);
    EXPECT_EQ(b.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(b.values, (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5}));
}

} // namespace
} // namespace tem::rt
