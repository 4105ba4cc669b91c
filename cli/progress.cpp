//===- cli/progress.cpp - A progress bar on stderr -----------------------===//
//
// This file implements ProgressBar. The bar is one line rewritten in place
// ("\r", then "erase to end of line"), sized to the terminal's width.
//
//===----------------------------------------------------------------------===//
#include "cli/progress.h"

#include "cli/terminal.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace tem::cli {

namespace {

using Clock = std::chrono::steady_clock;

/// Redraw period: at most 10 redraws a second.
constexpr std::chrono::milliseconds kPeriod{100};

std::string duration_text(double seconds) {
    if (!(seconds >= 0) || seconds > 360000) return "--";
    auto s = static_cast<int64_t>(std::lround(seconds));
    if (s < 60) return std::to_string(s) + " s";
    if (s < 3600) return fmt::format("{}:{:02d} min", s / 60, s % 60);
    return fmt::format("{}:{:02d} h", s / 3600, (s / 60) % 60);
}

} // namespace

ProgressBar::ProgressBar(const compiler::RunControl& control, int64_t total_frames, int64_t frame_bytes,
                         bool enabled)
    : control_(control), total_frames_(std::max<int64_t>(1, total_frames)), frame_bytes_(frame_bytes) {
    if (!enabled || !is_terminal(STDERR_FILENO)) return;
    if (const char* d = std::getenv("TEM_PROGRESS_DELAY")) delay_ = std::atof(d);
    thread_ = std::thread([this] { watch(); });
}

ProgressBar::~ProgressBar() {
    if (!thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (drawn_) {
        std::fputs("\r\x1b[K", stderr);
        std::fflush(stderr);
    }
}

void ProgressBar::watch() {
    Clock::time_point start = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    auto start_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay_));
    if (cv_.wait_until(lock, start_at, [this] { return stop_; })) return;
    do {
        double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
        int64_t done = std::min(control_.frames_done.load(std::memory_order_relaxed), total_frames_);
        double fraction = static_cast<double>(done) / static_cast<double>(total_frames_);
        double gbps = elapsed > 0 ? static_cast<double>(done) * static_cast<double>(frame_bytes_) / elapsed / 1e9 : 0;
        double eta = done > 0 ? elapsed * static_cast<double>(total_frames_ - done) / static_cast<double>(done) : -1;
        std::string tail = fmt::format(" {}/{} frames  {:.2f} GB/s  ETA {}", done, total_frames_, gbps, duration_text(eta));
        int width = std::clamp(terminal_columns(STDERR_FILENO) - static_cast<int>(tail.size()) - 3, 10, 50);
        auto filled = static_cast<int>(fraction * width);
        std::string bar = "[" + std::string(static_cast<size_t>(filled), '#') +
                          std::string(static_cast<size_t>(width - filled), '.') + "]";
        std::fputs(("\r\x1b[K" + bar + tail).c_str(), stderr);
        std::fflush(stderr);
        drawn_ = true;
    } while (!cv_.wait_for(lock, kPeriod, [this] { return stop_; }));
}

} // namespace tem::cli
