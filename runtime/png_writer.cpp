//===- runtime/png_writer.cpp - PNG previews of results ------------------===//
//
// This file implements write_png with libpng's simplified API (no setjmp):
// 2-D results as viridis images with robust auto-contrast, upscaled by an
// integer factor when small; 1-D results as a plain line plot.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"

#include <png.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tem::rt {

namespace {

using Rgb = std::array<uint8_t, 3>;

/// Images are upscaled until their shorter side reaches this many pixels...
constexpr int64_t kMinShortSide = 256;
/// ...unless that would make the longer side exceed this.
constexpr int64_t kMaxLongSide = 4096;
constexpr int64_t kPlotWidth = 512, kPlotHeight = 256;

/// Percentile `q` (0..100) of sorted values, interpolated linearly between
/// neighbours as numpy.percentile does by default.
double percentile(const std::vector<double>& sorted, double q) {
    double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, sorted.size() - 1);
    double frac = pos - static_cast<double>(lo);
    return sorted[lo] + frac * (sorted[hi] - sorted[lo]);
}

/// An RGB canvas, row-major, 3 bytes per pixel.
struct Canvas {
    int64_t width, height;
    std::vector<uint8_t> pixels;

    Canvas(int64_t w, int64_t h, Rgb fill) : width(w), height(h) {
        pixels.resize(static_cast<size_t>(w * h * 3));
        for (size_t i = 0; i < pixels.size(); i += 3)
            std::copy(fill.begin(), fill.end(), pixels.begin() + i);
    }

    void set(int64_t x, int64_t y, Rgb c) {
        if (x < 0 || y < 0 || x >= width || y >= height) return;
        std::copy(c.begin(), c.end(), pixels.begin() + (y * width + x) * 3);
    }
};

void save(const std::string& path, const Canvas& canvas) {
    png_image image{};
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(canvas.width);
    image.height = static_cast<png_uint_32>(canvas.height);
    image.format = PNG_FORMAT_RGB;
    if (!png_image_write_to_file(&image, path.c_str(), 0, canvas.pixels.data(), 0, nullptr)) {
        std::string message = image.message;
        png_image_free(&image);
        throw data_error(path, "cannot write PNG output: " + message);
    }
}

/// 1. contrast limits: the 0.5 and 99.5 percentiles of the finite values;
/// 2. colour each value (NaN black, a constant image mid-colour);
/// 3. replicate each value into a factor × factor block.
Canvas draw_image(const double* values, int64_t height, int64_t width) {
    std::vector<double> finite;
    finite.reserve(static_cast<size_t>(height * width));
    for (int64_t i = 0; i < height * width; ++i)
        if (std::isfinite(values[i])) finite.push_back(values[i]);
    std::sort(finite.begin(), finite.end());
    double lo = 0, hi = 0;
    if (!finite.empty()) {
        lo = percentile(finite, 0.5);
        hi = percentile(finite, 99.5);
    }
    int64_t factor = std::max<int64_t>(1, (kMinShortSide + std::min(height, width) - 1) /
                                              std::min(height, width));
    factor = std::max<int64_t>(1, std::min(factor, kMaxLongSide / std::max(height, width)));
    Canvas canvas(width * factor, height * factor, Rgb{0, 0, 0});
    for (int64_t row = 0; row < height; ++row) {
        for (int64_t col = 0; col < width; ++col) {
            double v = values[row * width + col];
            Rgb c{0, 0, 0};
            if (!std::isnan(v))
                c = viridis(hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.5);
            for (int64_t dy = 0; dy < factor; ++dy)
                for (int64_t dx = 0; dx < factor; ++dx)
                    canvas.set(col * factor + dx, row * factor + dy, c);
        }
    }
    return canvas;
}

/// A line plot in a box: x spans the box, y the finite range; NaNs break the
/// line and infinities sit on the box edges.
Canvas draw_plot(const double* values, int64_t n) {
    const Rgb kBackground{255, 255, 255}, kBox{128, 128, 128}, kLine{32, 32, 48};
    Canvas canvas(kPlotWidth, kPlotHeight, kBackground);
    const int64_t left = 24, right = kPlotWidth - 25, top = 16, bottom = kPlotHeight - 17;
    for (int64_t x = left; x <= right; ++x) {
        canvas.set(x, top, kBox);
        canvas.set(x, bottom, kBox);
    }
    for (int64_t y = top; y <= bottom; ++y) {
        canvas.set(left, y, kBox);
        canvas.set(right, y, kBox);
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        if (std::isfinite(values[i])) {
            lo = std::min(lo, values[i]);
            hi = std::max(hi, values[i]);
        }
    }
    if (lo > hi) return canvas; // nothing finite to draw
    if (lo == hi) {
        lo -= 1;
        hi += 1;
    }
    // Keep the line a few pixels off the box.
    const double x0 = left + 4, x1 = right - 4, y0 = top + 4, y1 = bottom - 4;
    auto px = [&](int64_t i) {
        return n == 1 ? (x0 + x1) / 2
                      : x0 + (x1 - x0) * static_cast<double>(i) / static_cast<double>(n - 1);
    };
    auto py = [&](double v) { return y1 - (y1 - y0) * std::clamp((v - lo) / (hi - lo), 0.0, 1.0); };
    auto dot = [&](double x, double y) {
        int64_t ix = std::lround(x), iy = std::lround(y);
        for (int64_t dy = 0; dy < 2; ++dy)
            for (int64_t dx = 0; dx < 2; ++dx) canvas.set(ix + dx, iy + dy, kLine);
    };
    for (int64_t i = 0; i < n; ++i) {
        if (std::isnan(values[i])) continue;
        double xa = px(i), ya = py(values[i]);
        dot(xa, ya);
        if (i + 1 >= n || std::isnan(values[i + 1])) continue;
        double xb = px(i + 1), yb = py(values[i + 1]);
        int64_t steps =
            std::max<int64_t>(1, std::lround(std::max(std::abs(xb - xa), std::abs(yb - ya))));
        for (int64_t s = 1; s <= steps; ++s) {
            double f = static_cast<double>(s) / static_cast<double>(steps);
            dot(xa + f * (xb - xa), ya + f * (yb - ya));
        }
    }
    return canvas;
}

} // namespace

std::array<uint8_t, 3> viridis(double t) {
    static constexpr double kC[7][3] = {
        {0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
        {0.1050930431085774, 1.404613529898575, 1.384590162594685},
        {-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
        {-4.634230498983486, -5.799100973351585, -19.33244095627987},
        {6.228269936347081, 14.17993336680509, 56.69055260068105},
        {4.776384997670288, -13.74514537774601, -65.35303263337234},
        {-5.435455855934631, 4.645852612178535, 26.3124352495832}};
    std::array<uint8_t, 3> rgb{};
    for (int channel = 0; channel < 3; ++channel) {
        double v = kC[6][channel];
        for (int k = 5; k >= 0; --k) v = kC[k][channel] + t * v;
        rgb[channel] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
    return rgb;
}

void write_png(const std::string& path, const Result& result) {
    if (result.shape.empty())
        throw data_error(path, "cannot draw the scalar result '" + result.name +
                                   "' as a PNG; write it to .npy or .h5");
    auto count = checked_product(result.shape);
    if (!count || static_cast<size_t>(*count) != result.values.size())
        throw std::logic_error("internal error: result '" + result.name + "' has " +
                               std::to_string(result.values.size()) + " values for shape " +
                               format_shape(result.shape));
    if (*count == 0)
        throw data_error(path, "cannot draw the empty result '" + result.name + "' of shape " +
                                   format_shape(result.shape));
    if (result.shape.size() == 1) {
        save(path, draw_plot(result.values.data(), result.shape[0]));
        return;
    }
    // Rank >= 3: the first 2-D slice [0, ..., 0, :, :], i.e. the first
    // height * width values in C order.
    int64_t height = result.shape[result.shape.size() - 2];
    int64_t width = result.shape.back();
    save(path, draw_image(result.values.data(), height, width));
}

} // namespace tem::rt
