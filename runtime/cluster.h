//===- runtime/cluster.h - The ranks of an MPI job -----------------------===//
//
// This file declares Cluster, what the engine needs of MPI: which ranks
// there are, which block of partitions is this rank's, a deterministic tree
// merge of partial states, gathering per-frame results, and agreeing on
// failure so that every rank stops together. Without mpirun (or in a build
// without MPI) it is a cluster of one and MPI is never initialised.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace tem::rt {

class Cluster {
public:
    /// The process's cluster. The first call initialises MPI when the
    /// process was started by mpirun/srun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or
    /// PMIX_RANK in the environment) and the build has MPI; otherwise it is a
    /// cluster of one. Only the main thread may call the methods.
    static Cluster& get();

    /// The MPI library this build uses ("Open MPI v4.1.4"), or "no MPI".
    static std::string library_version();

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool distributed() const { return size_ > 1; }

    /// The block [first, last) of `count` items (partitions) this rank takes:
    /// contiguous blocks in rank order, sizes differing by at most one.
    std::pair<size_t, size_t> share(size_t count) const { return share_of(rank_, count); }
    std::pair<size_t, size_t> share_of(int rank, size_t count) const;

    /// Merges every rank's `data` (same length everywhere) into every rank:
    /// a binomial tree towards rank 0 in which `merge(lower, higher)` always
    /// folds a higher block of ranks into a lower one, then a broadcast. The
    /// order is fixed by the rank count, so runs are bit-for-bit repeatable.
    void merge_all(std::vector<double>& data,
                   const std::function<void(std::vector<double>& lower, const std::vector<double>& higher)>& merge);

    /// Every rank holds the values [ranges[rank].first, ranges[rank].second)
    /// of `data` (the same length everywhere); afterwards every rank holds all.
    void gather_ranges(double* data, const std::vector<std::pair<int64_t, int64_t>>& ranges);

    /// Agreement after a phase that may fail on some ranks: every rank passes
    /// its error message ("" when it succeeded); every rank gets "" when all
    /// succeeded, else the message of the lowest failing rank, naming it.
    std::string agree(const std::string& error);

    /// Rank 0's `text` on every rank (scripts read from stdin, which only
    /// rank 0 receives; the dataset's geometry, to compare).
    std::string broadcast(const std::string& text);

    /// Runs `read` (which may throw DataError) on every rank, agrees on
    /// failure and returns its result: a failure on any rank throws on all,
    /// naming that rank.
    std::string agreed_read(const std::function<std::string()>& read);

    /// Finalises MPI (when it was initialised); called once at exit.
    void finish();

private:
    Cluster();
    int rank_ = 0, size_ = 1;
    bool mpi_ = false;
};

} // namespace tem::rt
