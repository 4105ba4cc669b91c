//===- tests/unit/compiler/accumulator_test.cpp - Merging states ---------===//
//
// acc_merge_cells() merges the states of many cells at once (the JIT
// engine's partitions, MPI ranks); each cell must end as the one-element
// updates of both halves' data in order would leave it, within rounding,
// whether the counts are uniform (the fast loops) or not.
#include "compiler/accumulator.h"

#include <gtest/gtest.h>

#include <vector>

namespace tem::compiler {
namespace {

using ir::ReduceOp;

/// States of `cells` cells in the kernels' layout after updating cell k with
/// values[k][i] for i in [from, to).
std::vector<double> states(ReduceOp op, const std::vector<std::vector<double>>& values, size_t from, size_t to) {
    size_t c = values.size();
    std::vector<double> out(3 * c, 0.0);
    for (size_t k = 0; k < c; ++k) {
        AccState s = acc_init(op);
        for (size_t i = from; i < std::min(to, values[k].size()); ++i) acc_update(op, s, values[k][i], static_cast<int64_t>(i));
        out[k] = s.a, out[c + k] = s.b, out[2 * c + k] = s.n;
    }
    return out;
}

void expect_merge_matches_one_sweep(ReduceOp op, const std::vector<std::vector<double>>& values, size_t split,
                                    bool uniform) {
    size_t c = values.size();
    std::vector<double> lower = states(op, values, 0, split);
    std::vector<double> higher = states(op, values, split, SIZE_MAX);
    std::vector<double> whole = states(op, values, 0, SIZE_MAX);
    acc_merge_cells(op, lower.data(), higher.data(), static_cast<int64_t>(c), uniform);
    for (size_t k = 0; k < c; ++k) {
        double want = acc_finalize(op, AccState{whole[k], whole[c + k], whole[2 * c + k]}, DType::F64);
        double got = acc_finalize(op, AccState{lower[k], lower[c + k], lower[2 * c + k]}, DType::F64);
        if (std::isnan(want))
            EXPECT_TRUE(std::isnan(got)) << "cell " << k << " split " << split;
        else
            EXPECT_NEAR(got, want, 1e-9 * std::max(1.0, std::abs(want))) << "cell " << k << " split " << split;
        EXPECT_EQ(lower[2 * c + k], whole[2 * c + k]) << "count of cell " << k;
    }
}

std::vector<std::vector<double>> ramps(size_t cells, size_t n) {
    std::vector<std::vector<double>> v(cells);
    for (size_t k = 0; k < cells; ++k)
        for (size_t i = 0; i < n; ++i) v[k].push_back(1e6 + static_cast<double>((i * 7 + k * 3) % 11) - 0.25 * k);
    return v;
}

TEST(Accumulator, UniformMergesOfSumsMeansAndVariancesMatchOneSweep) {
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Count, ReduceOp::Var, ReduceOp::Std})
        for (size_t split : {0, 1, 5, 9, 10}) expect_merge_matches_one_sweep(op, ramps(13, 10), split, true);
}

TEST(Accumulator, MergesWithCountsPerCellMatchOneSweep) {
    // Cells with different numbers of values, some empty on one side.
    std::vector<std::vector<double>> v = ramps(7, 10);
    v[1].resize(3);
    v[2].clear();
    v[4].resize(6);
    for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Var, ReduceOp::Std, ReduceOp::Min, ReduceOp::Max})
        for (size_t split : {0, 2, 4, 10}) expect_merge_matches_one_sweep(op, v, split, false);
}

TEST(Accumulator, UniformMergeOfEmptyStatesKeepsThemEmpty) {
    std::vector<double> lower(9, 0.0), higher(9, 0.0);
    acc_merge_cells(ReduceOp::Var, lower.data(), higher.data(), 3, true);
    for (double x : lower) EXPECT_EQ(x, 0.0);
    EXPECT_TRUE(std::isnan(acc_finalize(ReduceOp::Var, AccState{lower[0], lower[3], lower[6]}, DType::F64)));
}

} // namespace
} // namespace tem::compiler
