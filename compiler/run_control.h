//===- compiler/run_control.h - Cancelling and watching a run ------------===//
//
// This file declares RunControl, shared between a run and the thread that
// started it: a cancellation flag the engines check between partitions, and
// counters of the work done that a progress display reads while the run goes
// on.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>

namespace tem::compiler {

/// Thrown out of run_jit() and interpret() when RunControl::cancel was set:
/// the run stopped between two partitions and its partial results are gone.
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

/// Shared state of one run. The engines only write the counters and read the
/// flag; any thread (or a signal handler, since the atomics are lock-free)
/// may set the flag. Concurrent: every member is atomic.
struct RunControl {
    /// Set to stop the run: checked before each partition and after each pass.
    std::atomic<bool> cancel{false};
    /// Frames of the partitions finished so far, summed over passes.
    std::atomic<int64_t> frames_done{0};
    /// Partitions finished so far, summed over passes.
    std::atomic<int64_t> partitions_done{0};
    /// Test hook: set `cancel` once this many partitions have finished (< 0: never).
    int64_t cancel_after_partitions = -1;

    /// Called by the engines when a partition of `frames` frames has finished.
    void partition_finished(int64_t frames) {
        frames_done.fetch_add(frames, std::memory_order_relaxed);
        int64_t n = partitions_done.fetch_add(1, std::memory_order_relaxed) + 1;
        if (cancel_after_partitions >= 0 && n >= cancel_after_partitions) cancel.store(true);
    }
    /// Throws Cancelled when the flag is set.
    void check() const {
        if (cancel.load(std::memory_order_relaxed)) throw Cancelled();
    }
};

} // namespace tem::compiler
