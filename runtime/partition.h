//===- runtime/partition.h - Cutting the frames into partitions ----------===//
//
// This file declares how the nav range of a dataset is cut into partitions,
// the units of work that threads and MPI ranks take. The cut depends only on
// the dataset (never on the thread or rank count), and partial results are
// merged in partition order, so a run is bit-for-bit repeatable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <vector>

namespace tem::rt {

/// A contiguous range of frames [first, first + count).
struct Partition {
    int64_t first = 0;
    int64_t count = 0;
};

/// Target amount of frame data per partition (16 MiB): large enough to
/// amortise scheduling and merging, small enough to balance two to a few
/// dozen threads over a file of a few hundred MB.
inline constexpr int64_t kPartitionBytes = int64_t{16} << 20;

/// Cuts frames [0, num_frames) into contiguous partitions of about
/// `target_bytes` of data each, in order, covering every frame once. Sizes
/// differ by at most one frame; every partition has at least one frame (a
/// frame larger than the target is a partition of its own). No frames gives
/// no partitions. Depends only on its arguments. With `block_frames` > 1,
/// every partition but the last starts and ends at a multiple of it (the
/// frames of one compressed chunk stay in one partition).
std::vector<Partition> make_partitions(int64_t num_frames, int64_t frame_bytes,
                                       int64_t target_bytes = kPartitionBytes,
                                       int64_t block_frames = 1);

} // namespace tem::rt
