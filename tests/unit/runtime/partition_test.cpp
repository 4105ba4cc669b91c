//===- tests/unit/runtime/partition_test.cpp - Frame partitions ----------===//
//
// This file implements tests of make_partitions: full, ordered coverage,
// balanced sizes near the byte target, and edge cases.
//
//===----------------------------------------------------------------------===//
#include "runtime/partition.h"

#include <gtest/gtest.h>

namespace tem::rt {
namespace {

void expect_covers(const std::vector<Partition>& parts, int64_t num_frames) {
    int64_t next = 0;
    for (const Partition& p : parts) {
        EXPECT_EQ(p.first, next);
        EXPECT_GE(p.count, 1);
        next += p.count;
    }
    EXPECT_EQ(next, num_frames);
}

TEST(Partitions, CoverEveryFrameInOrder) {
    for (int64_t frames : {1, 2, 7, 100, 65536, 1000003}) {
        for (int64_t frame_bytes : {1, 100, 32768, 131072, 4 << 20, 64 << 20}) {
            SCOPED_TRACE(std::to_string(frames) + " x " + std::to_string(frame_bytes));
            auto parts = make_partitions(frames, frame_bytes);
            expect_covers(parts, frames);
            int64_t lo = INT64_MAX, hi = 0;
            for (const Partition& p : parts) {
                lo = std::min(lo, p.count);
                hi = std::max(hi, p.count);
                // Never more than the target, unless one frame is bigger.
                EXPECT_LE(p.count * frame_bytes, std::max(kPartitionBytes, frame_bytes));
            }
            EXPECT_LE(hi - lo, 1);
        }
    }
}

TEST(Partitions, SizedByBytes) {
    // 256x256 scan of 128x128 u16 frames: 32 KiB per frame, 512 frames per 16 MiB.
    auto parts = make_partitions(65536, 32768);
    EXPECT_EQ(parts.size(), 128u);
    EXPECT_EQ(parts[0].count, 512);
    // A frame bigger than the target is a partition of its own.
    parts = make_partitions(5, 64 << 20);
    EXPECT_EQ(parts.size(), 5u);
    // Custom target.
    parts = make_partitions(10, 10, 30);
    EXPECT_EQ(parts.size(), 4u);
    expect_covers(parts, 10);
}

TEST(Partitions, DependOnlyOnTheData) {
    EXPECT_TRUE(make_partitions(0, 100).empty());
    auto a = make_partitions(12345, 4096);
    auto b = make_partitions(12345, 4096);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].first, b[i].first);
        EXPECT_EQ(a[i].count, b[i].count);
    }
}

} // namespace
TEST(Partitions, BlocksStayWhole) {
    // Chunks of 4 frames (an HDF5 chunk of 4 scan rows): every partition but
    // the last starts and ends on a block boundary, and all frames are covered.
    for (int64_t frames : {1, 3, 4, 5, 1000, 1001, 4099}) {
        auto parts = make_partitions(frames, 1 << 20, 16 << 20, 4);
        int64_t next = 0;
        for (size_t i = 0; i < parts.size(); ++i) {
            EXPECT_EQ(parts[i].first, next);
            EXPECT_EQ(parts[i].first % 4, 0);
            if (i + 1 < parts.size()) EXPECT_EQ(parts[i].count % 4, 0);
            EXPECT_GT(parts[i].count, 0);
            next += parts[i].count;
        }
        EXPECT_EQ(next, frames);
    }
}

} // namespace tem::rt
