//===- tests/unit/runtime/npy_writer_test.cpp - .npy output --------------===//
//
// This file implements round-trip tests of write_npy: every dtype is written
// and read back with tem's own reader; the header follows NumPy's layout.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tem::rt {
namespace {

using test::read_bytes;
using test::TempDir;

TEST(NpyWriter, RoundTripsEveryDtype) {
    TempDir dir;
    for (DType dtype : kAllDTypes) {
        SCOPED_TRACE(std::string(dtype_name(dtype)));
        Result r{"r", {2, 3}, dtype, {0, 1, 2, 3, 100, 7}};
        if (dtype == DType::Bool) r.values = {0, 1, 0, 1, 1, 0};
        if (dtype_is_signed_int(dtype) || dtype_is_float(dtype)) r.values[0] = -5;
        std::string path = dir.file("r.npy");
        write_npy(path, r);
        Array a = read_array(path);
        EXPECT_EQ(a.dtype, dtype);
        EXPECT_EQ(a.shape, r.shape);
        EXPECT_EQ(a.values, r.values);
        // NumPy's layout: data 64-byte aligned, header ends in a newline.
        std::string bytes = read_bytes(path);
        size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
        EXPECT_EQ((10 + header_len) % 64, 0u);
        EXPECT_EQ(bytes[10 + header_len - 1], '\n');
        EXPECT_EQ(bytes.size(), 10 + header_len + r.values.size() * dtype_size(dtype));
    }
}

TEST(NpyWriter, NanInfAndSaturation) {
    TempDir dir;
    double nan = std::numeric_limits<double>::quiet_NaN();
    double inf = std::numeric_limits<double>::infinity();
    std::string path = dir.file("f.npy");
    write_npy(path, Result{"f", {4}, DType::F32, {nan, inf, -inf, 0.1}});
    Array a = read_array(path);
    EXPECT_TRUE(std::isnan(a.values[0]));
    EXPECT_EQ(a.values[1], inf);
    EXPECT_EQ(a.values[2], -inf);
    EXPECT_EQ(a.values[3], static_cast<double>(0.1f));
    write_npy(path, Result{"u", {4}, DType::U8, {nan, 300, -3, 255}});
    EXPECT_EQ(read_array(path).values, (std::vector<double>{0, 255, 0, 255}));
}

TEST(NpyWriter, HeaderShapes) {
    TempDir dir;
    std::string path = dir.file("s.npy");
    write_npy(path, Result{"s", {}, DType::F64, {2.5}});
    EXPECT_NE(read_bytes(path).find("'shape': (), "), std::string::npos);
    Array a = read_array(path);
    EXPECT_TRUE(a.shape.empty());
    EXPECT_EQ(a.values, (std::vector<double>{2.5}));
    write_npy(path, Result{"v", {3}, DType::I64, {1, 2, 3}});
    EXPECT_NE(read_bytes(path).find("'shape': (3,), "), std::string::npos);
    EXPECT_NE(read_bytes(path).find("'descr': '<i8'"), std::string::npos);
    write_npy(path, Result{"b", {1}, DType::Bool, {1}});
    EXPECT_NE(read_bytes(path).find("'descr': '|b1'"), std::string::npos);
}

TEST(NpyWriter, UnwritablePath) {
    TempDir dir;
    std::string path = dir.file("no/such/dir/r.npy");
    std::string msg = test::data_error_of([&] {
        write_npy(path, Result{"r", {1}, DType::F64, {1}});
    });
    EXPECT_EQ(msg, path + ": error: cannot write output: no such file or directory");
}

} // namespace
} // namespace tem::rt
