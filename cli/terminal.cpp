//===- cli/terminal.cpp - Result previews in the terminal ----------------===//
//
// This file implements the terminal thumbnails. An image is first resampled
// to a grid of at most kMaxWidth x kMaxHeight pixels that keeps its aspect
// (box averages when shrinking, whole-number repeats when growing), then
// drawn two pixel rows per text row, since a character cell is about twice
// as tall as it is wide.
//
//===----------------------------------------------------------------------===//
#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

namespace tem::cli {

namespace {

/// Largest thumbnail, in image pixels: 96 columns by 24 text rows.
constexpr int kMaxWidth = 96;
constexpr int kMaxHeight = 48;
/// Small images are enlarged by a whole factor up to this longer side.
constexpr int kSmallSide = 32;
/// Text rows of a 1-D bar plot.
constexpr int kPlotRows = 8;
constexpr const char* kIndent = "  ";

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return v && *v ? v : nullptr;
}

/// A resampled image: `w` x `h` values in row-major order, NaN where no
/// finite value fell into the pixel.
struct Grid {
    int w = 0, h = 0;
    std::vector<double> v;
    double at(int x, int y) const { return v[static_cast<size_t>(y) * w + x]; }
};

/// Box-averages (or repeats) `src` (sw x sh) onto a w x h grid.
Grid resample(const std::vector<double>& src, int64_t sw, int64_t sh, int w, int h) {
    Grid g{w, h, std::vector<double>(static_cast<size_t>(w) * h)};
    for (int y = 0; y < h; ++y) {
        int64_t y0 = y * sh / h, y1 = std::max(y0 + 1, (y + 1) * sh / h);
        for (int x = 0; x < w; ++x) {
            int64_t x0 = x * sw / w, x1 = std::max(x0 + 1, (x + 1) * sw / w);
            double sum = 0;
            int64_t n = 0;
            for (int64_t sy = y0; sy < y1; ++sy)
                for (int64_t sx = x0; sx < x1; ++sx) {
                    double val = src[static_cast<size_t>(sy * sw + sx)];
                    if (std::isfinite(val)) {
                        sum += val;
                        ++n;
                    }
                }
            g.v[static_cast<size_t>(y) * w + x] = n ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
        }
    }
    return g;
}

/// Linear-interpolated percentile (numpy's default) of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
    double pos = q / 100.0 * static_cast<double>(sorted.size() - 1);
    auto lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

/// Maps values to [0, 1] between `lo` and `hi` (0.5 for a flat image).
double unit(double v, double lo, double hi) { return hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.5; }

std::string rgb_escape(bool background, double t) {
    std::array<uint8_t, 3> c = std::isnan(t) ? std::array<uint8_t, 3>{0, 0, 0} : rt::viridis(t);
    return std::string("\x1b[") + (background ? "48" : "38") + ";2;" + std::to_string(c[0]) + ";" +
           std::to_string(c[1]) + ";" + std::to_string(c[2]) + "m";
}

/// One character of a ramp for t in [0, 1]; '?' for NaN.
std::string ramp_char(double t, PreviewStyle style) {
    if (std::isnan(t)) return "?";
    if (style == PreviewStyle::Grey) {
        static const char* kShades[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};
        return kShades[std::min(4, static_cast<int>(t * 5))];
    }
    static const char kRamp[] = " .:-=+*#%@";
    return std::string(1, kRamp[std::min(9, static_cast<int>(t * 10))]);
}

std::string render_image(const rt::Result& r, PreviewStyle style, int columns) {
    int64_t h = r.shape[0], w = r.shape[1];
    std::vector<double> finite;
    for (double v : r.values)
        if (std::isfinite(v)) finite.push_back(v);
    double lo = 0, hi = 0;
    if (!finite.empty()) {
        std::sort(finite.begin(), finite.end());
        lo = percentile(finite, 0.5);
        hi = percentile(finite, 99.5);
    }
    int max_w = std::max(8, std::min(kMaxWidth, columns - 2));
    double scale = std::min(static_cast<double>(max_w) / static_cast<double>(w),
                            static_cast<double>(kMaxHeight) / static_cast<double>(h));
    if (scale >= 1)
        scale = std::max(1.0, std::floor(std::min(scale, static_cast<double>(kSmallSide) / static_cast<double>(std::max(w, h)))));
    int gw = std::max(1, static_cast<int>(std::lround(static_cast<double>(w) * scale)));
    int gh = std::max(1, static_cast<int>(std::lround(static_cast<double>(h) * scale)));
    gh += gh % 2;  // whole text rows
    Grid g = resample(r.values, w, h, gw, gh);
    auto t_at = [&](int x, int y) {
        double v = g.at(x, y);
        return std::isnan(v) ? v : unit(v, lo, hi);
    };
    std::string out;
    for (int y = 0; y < gh; y += 2) {
        out += kIndent;
        for (int x = 0; x < gw; ++x) {
            double top = t_at(x, y), bottom = t_at(x, y + 1);
            if (style == PreviewStyle::Color) {
                out += rgb_escape(false, top) + rgb_escape(true, bottom) + "\u2580";
            } else {
                double t = std::isnan(top) ? bottom : std::isnan(bottom) ? top : (top + bottom) / 2;
                out += ramp_char(t, style);
            }
        }
        if (style == PreviewStyle::Color) out += "\x1b[0m";
        out += "\n";
    }
    return out;
}

std::string render_plot(const rt::Result& r, PreviewStyle style, int columns) {
    auto n = static_cast<int64_t>(r.values.size());
    int max_w = std::max(8, std::min(kMaxWidth, columns - 2));
    int gw = n <= max_w ? static_cast<int>(n * std::max<int64_t>(1, std::min<int64_t>(max_w / 2, 48) / n)) : max_w;
    gw = std::min(gw, max_w);
    Grid g = resample(r.values, n, 1, gw, 1);
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : g.v)
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    // Bars start from zero when every value has the same sign, else from the minimum.
    double base = lo >= 0 ? 0 : hi <= 0 ? hi : lo;
    double top = lo >= 0 ? hi : hi <= 0 ? lo : hi;
    static const char* kEighths[] = {"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"};
    std::string out;
    for (int row = kPlotRows - 1; row >= 0; --row) {
        out += kIndent;
        for (int x = 0; x < gw; ++x) {
            double v = g.v[static_cast<size_t>(x)];
            if (std::isnan(v)) {
                out += row == 0 ? "?" : " ";
                continue;
            }
            double t = top != base ? std::clamp((v - base) / (top - base), 0.0, 1.0) : 1.0;
            if (style == PreviewStyle::Ascii) {
                out += static_cast<int>(std::lround(t * kPlotRows)) > row ? "#" : " ";
                continue;
            }
            auto eighths = static_cast<int>(std::lround(t * kPlotRows * 8));
            int in_row = eighths - row * 8;
            std::string cell = in_row >= 8 ? kEighths[7] : in_row > 0 ? kEighths[in_row - 1] : " ";
            if (style == PreviewStyle::Color && in_row > 0) cell = rgb_escape(false, t) + cell + "\x1b[0m";
            out += cell;
        }
        out += "\n";
    }
    return out;
}

} // namespace

bool is_terminal(int fd) {
    if (const char* c = env("TEM_COLOR")) {
        if (std::strcmp(c, "always") == 0) return true;
        if (std::strcmp(c, "never") == 0) return false;
    }
    return ::isatty(fd) == 1;
}

PreviewStyle preview_style(int fd) {
    if (!is_terminal(fd)) return PreviewStyle::Ascii;
    if (const char* term = env("TERM"); term && std::strcmp(term, "dumb") == 0) return PreviewStyle::Ascii;
    if (env("NO_COLOR")) return PreviewStyle::Grey;
    return PreviewStyle::Color;
}

int terminal_columns(int fd) {
    winsize ws{};
    if (::isatty(fd) == 1 && ::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    if (const char* c = env("COLUMNS")) {
        int n = std::atoi(c);
        if (n > 0) return n;
    }
    return 80;
}

std::string render_thumbnail(const rt::Result& result, PreviewStyle style, int columns) {
    if (result.values.empty() || result.shape.empty() || result.shape.size() > 2) return "";
    if (result.shape.size() == 1) return render_plot(result, style, columns);
    return render_image(result, style, columns);
}

} // namespace tem::cli
