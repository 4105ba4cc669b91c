//===- tests/unit/runtime/tiff_writer_test.cpp - TIFF results ------------===//
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include <gtest/gtest.h>
#include <tiffio.h>

#include <cstdio>
#include <string>
#include <unistd.h>
#include <vector>

namespace tem::rt {
namespace {

std::string temp_path(const char* name) {
    return std::string(::testing::TempDir()) + "/" + name + std::to_string(::getpid()) + ".tif";
}

TEST(TiffWriter, TwoDimensionalResultReadsBackAsFloat32) {
    Result r{"img", {3, 4}, DType::F64, {}};
    for (int i = 0; i < 12; ++i) r.values.push_back(i * 0.5 - 1);
    std::string path = temp_path("img");
    write_tiff(path, r);
    TIFF* tif = TIFFOpen(path.c_str(), "r");
    ASSERT_NE(tif, nullptr);
    uint32_t w = 0, h = 0;
    uint16_t bits = 0, format = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetField(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetField(tif, TIFFTAG_SAMPLEFORMAT, &format);
    EXPECT_EQ(w, 4u);
    EXPECT_EQ(h, 3u);
    EXPECT_EQ(bits, 32);
    EXPECT_EQ(format, SAMPLEFORMAT_IEEEFP);
    std::vector<float> row(4);
    ASSERT_EQ(TIFFReadScanline(tif, row.data(), 2, 0), 1);
    EXPECT_FLOAT_EQ(row[3], 11 * 0.5f - 1);
    TIFFClose(tif);
    std::remove(path.c_str());
}

TEST(TiffWriter, ThreeDimensionalResultIsAStackOfPages) {
    Result r{"stack", {2, 3, 5}, DType::F64, std::vector<double>(30, 7.0)};
    std::string path = temp_path("stack");
    write_tiff(path, r);
    TIFF* tif = TIFFOpen(path.c_str(), "r");
    ASSERT_NE(tif, nullptr);
    EXPECT_EQ(TIFFNumberOfDirectories(tif), 2);
    TIFFClose(tif);
    std::remove(path.c_str());
}

TEST(TiffWriter, ScalarIsRefused) {
    Result r{"total", {}, DType::F64, {3.0}};
    EXPECT_THROW(write_tiff(temp_path("scalar"), r), DataError);
}

} // namespace
} // namespace tem::rt
