//===- runtime/partition.cpp - Cutting the frames into partitions --------===//
//
// This file implements make_partitions: the number of partitions follows
// from the data size, then frames are dealt out evenly so that the last
// partition is not a small remainder.
//
//===----------------------------------------------------------------------===//
#include "runtime/partition.h"

#include <algorithm>

namespace tem::rt {

std::vector<Partition> make_partitions(int64_t num_frames, int64_t frame_bytes,
                                       int64_t target_bytes, int64_t block_frames) {
    std::vector<Partition> parts;
    if (num_frames <= 0) return parts;
    if (block_frames > 1) {
        // Deal whole blocks, then trim the last partition to the frames.
        int64_t blocks = (num_frames + block_frames - 1) / block_frames;
        std::vector<Partition> block_parts =
            make_partitions(blocks, std::max<int64_t>(frame_bytes, 1) * block_frames, target_bytes);
        for (Partition p : block_parts) {
            p.first *= block_frames;
            p.count = std::min(p.count * block_frames, num_frames - p.first);
            parts.push_back(p);
        }
        return parts;
    }
    frame_bytes = std::max<int64_t>(frame_bytes, 1);
    target_bytes = std::max<int64_t>(target_bytes, 1);
    int64_t frames_per_part = std::max<int64_t>(1, target_bytes / frame_bytes);
    int64_t num_parts = (num_frames + frames_per_part - 1) / frames_per_part;
    // Deal frames evenly: the first `extra` partitions get one more frame.
    int64_t base = num_frames / num_parts;
    int64_t extra = num_frames % num_parts;
    parts.reserve(static_cast<size_t>(num_parts));
    int64_t first = 0;
    for (int64_t part_idx = 0; part_idx < num_parts; ++part_idx) {
        int64_t count = base + (part_idx < extra ? 1 : 0);
        parts.push_back({first, count});
        first += count;
    }
    return parts;
}

} // namespace tem::rt
