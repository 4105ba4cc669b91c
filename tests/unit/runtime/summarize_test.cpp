//===- tests/unit/runtime/summarize_test.cpp - Printed results -----------===//
//
// This file implements tests of format_number, format_value and summarize,
// the text printed for results without -o.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace tem::rt {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(FormatNumber, ShortestRoundTrip) {
    EXPECT_EQ(format_number(3), "3");
    EXPECT_EQ(format_number(0.1), "0.1");
    EXPECT_EQ(format_number(2.5), "2.5");
    EXPECT_EQ(format_number(-7), "-7");
    EXPECT_EQ(format_number(1.0 / 3), "0.3333333333333333");
    EXPECT_EQ(format_number(1e300), "1e+300");
    EXPECT_EQ(format_number(kNan), "nan");
    EXPECT_EQ(format_number(kInf), "inf");
    EXPECT_EQ(format_number(-kInf), "-inf");
    for (double v : {0.1 + 0.2, 123456.789, 6.02214076e23, 5e-324})
        EXPECT_EQ(std::strtod(format_number(v).c_str(), nullptr), v);
}

TEST(FormatValue, ByDtype) {
    EXPECT_EQ(format_value(1, DType::Bool), "true");
    EXPECT_EQ(format_value(0, DType::Bool), "false");
    EXPECT_EQ(format_value(300418883, DType::I64), "300418883");
    EXPECT_EQ(format_value(1e18, DType::I64), "1000000000000000000");
    EXPECT_EQ(format_value(9223372036854777856.0, DType::U64), "9223372036854777856");
    EXPECT_EQ(format_value(2.5, DType::F32), "2.5");
}

TEST(Summarize, ArraysAndScalars) {
    EXPECT_EQ(summarize(Result{"a", {2, 2}, DType::F64, {1, 2, 3, 4}}),
              "shape (2, 2) f64  min 1  mean 2.5  max 4");
    EXPECT_EQ(summarize(Result{"a", {5}, DType::F32, {1, kNan, 3, kNan, kNan}}),
              "shape (5) f32  min 1  mean 2  max 3  nan 3");
    EXPECT_EQ(summarize(Result{"a", {3}, DType::F64, {1, kInf, 3}}),
              "shape (3) f64  min 1  mean 2  max 3  inf 1");
    EXPECT_EQ(summarize(Result{"a", {2}, DType::F64, {kNan, kNan}}),
              "shape (2) f64  min nan  mean nan  max nan  nan 2");
    EXPECT_EQ(summarize(Result{"a", {3}, DType::U16, {7, 9, 11}}),
              "shape (3) u16  min 7  mean 9  max 11");
    EXPECT_EQ(summarize(Result{"s", {}, DType::F64, {2.5}}), "2.5");
    EXPECT_EQ(summarize(Result{"s", {}, DType::I64, {12}}), "12");
    EXPECT_EQ(summarize(Result{"s", {}, DType::F64, {kNan}}), "nan");
    EXPECT_EQ(summarize(Result{"s", {}, DType::Bool, {1}}), "true");
    EXPECT_EQ(summarize(Result{"e", {0}, DType::F64, {}}), "shape (0) f64  (empty)");
}

} // namespace
} // namespace tem::rt
