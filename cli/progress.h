//===- cli/progress.h - A progress bar on stderr -------------------------===//
//
// This file declares the progress display of long runs: a bar with the
// frames done, the throughput in GB/s and the time left, drawn on stderr by
// a watcher thread that reads the run's RunControl counters.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/run_control.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace tem::cli {

/// Watches one run from construction to destruction. Draws nothing unless
/// `enabled` and stderr is a terminal (TEM_COLOR=always counts as one), and
/// nothing during the first 0.5 s (TEM_PROGRESS_DELAY=SECONDS changes that,
/// for tests); then redraws at most 10 times a second. The destructor stops
/// the watcher and clears the bar's line. Not copyable; one per run.
class ProgressBar {
public:
    /// `total_frames` counts every pass (frames x passes); `frame_bytes` is
    /// the size of one stored frame, for the throughput.
    ProgressBar(const compiler::RunControl& control, int64_t total_frames, int64_t frame_bytes, bool enabled);
    ~ProgressBar();
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

private:
    void watch();

    const compiler::RunControl& control_;
    int64_t total_frames_, frame_bytes_;
    double delay_ = 0.5;
    bool drawn_ = false;
    bool stop_ = false;
    std::mutex mu_;
    std::condition_variable cv_;
    std::thread thread_;
};

} // namespace tem::cli
