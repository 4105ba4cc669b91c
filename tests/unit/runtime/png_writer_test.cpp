//===- tests/unit/runtime/png_writer_test.cpp - PNG previews -------------===//
//
// This file implements tests of write_png, reading the image back with
// libpng: sizes (upscaling, line plots, slices of higher ranks), colours at
// the contrast limits and for NaN, and the scalar error.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <png.h>

#include <cmath>
#include <limits>

namespace tem::rt {
namespace {

using test::data_error_of;
using test::TempDir;

struct Image {
    uint32_t width = 0, height = 0;
    std::vector<uint8_t> rgb;
    std::array<int, 3> at(uint32_t x, uint32_t y) const {
        size_t i = (static_cast<size_t>(y) * width + x) * 3;
        return {rgb[i], rgb[i + 1], rgb[i + 2]};
    }
};

Image read_png(const std::string& path) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    Image out;
    if (!png_image_begin_read_from_file(&image, path.c_str())) {
        ADD_FAILURE() << "not a PNG: " << image.message;
        return out;
    }
    image.format = PNG_FORMAT_RGB;
    out.width = image.width;
    out.height = image.height;
    out.rgb.resize(PNG_IMAGE_SIZE(image));
    EXPECT_TRUE(png_image_finish_read(&image, nullptr, out.rgb.data(), 0, nullptr))
        << image.message;
    return out;
}

Result ramp(std::vector<int64_t> shape) {
    Result r{"img", shape, DType::F64, {}};
    int64_t n = 1;
    for (int64_t e : shape) n *= e;
    for (int64_t i = 0; i < n; ++i) r.values.push_back(static_cast<double>(i));
    return r;
}

TEST(PngWriter, SmallImagesAreUpscaled) {
    TempDir dir;
    std::string path = dir.file("a.png");
    write_png(path, ramp({16, 32}));
    Image img = read_png(path);
    EXPECT_EQ(img.height, 256u);
    EXPECT_EQ(img.width, 512u);
    // Lowest value is viridis(0) (dark purple), highest viridis(1) (yellow).
    auto lo = img.at(0, 0), hi = img.at(511, 255);
    EXPECT_NEAR(lo[0], 71, 3);
    EXPECT_NEAR(lo[1], 1, 3);
    EXPECT_NEAR(lo[2], 85, 4);
    EXPECT_GT(hi[0], 230);
    EXPECT_GT(hi[1], 220);
    EXPECT_LT(hi[2], 60);
    // Nearest neighbour: each value is a 16x16 block.
    EXPECT_EQ(img.at(0, 0), img.at(15, 15));
}

TEST(PngWriter, LargeImagesKeepTheirSize) {
    TempDir dir;
    std::string path = dir.file("b.png");
    write_png(path, ramp({300, 260}));
    Image img = read_png(path);
    EXPECT_EQ(img.height, 300u);
    EXPECT_EQ(img.width, 260u);
}

TEST(PngWriter, NanIsBlackAndConstantIsMidColour) {
    TempDir dir;
    std::string path = dir.file("c.png");
    Result r{"c", {2, 2}, DType::F32, {5, 5, 5, std::numeric_limits<double>::quiet_NaN()}};
    write_png(path, r);
    Image img = read_png(path);
    EXPECT_EQ(img.at(img.width - 1, img.height - 1), (std::array<int, 3>{0, 0, 0}));
    auto mid = img.at(0, 0); // viridis(0.5) is teal
    EXPECT_NEAR(mid[0], 33, 4);
    EXPECT_NEAR(mid[1], 145, 4);
    EXPECT_NEAR(mid[2], 140, 4);
}

TEST(PngWriter, LinePlotAndHigherRanks) {
    TempDir dir;
    std::string path = dir.file("p.png");
    Result line = ramp({100});
    line.values[50] = std::numeric_limits<double>::quiet_NaN();
    write_png(path, line);
    Image plot = read_png(path);
    EXPECT_EQ(plot.width, 512u);
    EXPECT_EQ(plot.height, 256u);
    EXPECT_EQ(plot.at(2, 2), (std::array<int, 3>{255, 255, 255}));
    int dark = 0;
    for (size_t i = 0; i < plot.rgb.size(); i += 3) dark += plot.rgb[i] < 100 ? 1 : 0;
    EXPECT_GT(dark, 400); // the line is there

    write_png(path, ramp({3, 4, 300, 300}));
    Image slice = read_png(path);
    EXPECT_EQ(slice.width, 300u);
    EXPECT_EQ(slice.height, 300u);
}

TEST(PngWriter, ScalarAndEmptyAreErrors) {
    TempDir dir;
    std::string path = dir.file("s.png");
    EXPECT_EQ(
        data_error_of([&] {
            write_png(path, Result{"total", {}, DType::F64, {1}});
        }),
        path + ": error: cannot draw the scalar result 'total' as a PNG; write it to .npy or .h5");
    EXPECT_NE(data_error_of([&] {
                  write_png(path, Result{"e", {0, 4}, DType::F64, {}});
              }).find("empty"),
              std::string::npos);
}

} // namespace
} // namespace tem::rt
