//===- runtime/cluster.cpp - The ranks of an MPI job ---------------------===//
//
// This file implements Cluster over MPI when the build has it (TEM_HAVE_MPI)
// and the process runs under a launcher; a cluster of one otherwise.
//
//===----------------------------------------------------------------------===//
#include "runtime/cluster.h"

#include "runtime/dataset.h"

#include <cstdlib>
#include <stdexcept>

#ifdef TEM_HAVE_MPI
#include <mpi.h>
#endif

namespace tem::rt {

namespace {

bool launched_by_mpirun() {
    for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(var)) return true;
    return false;
}

} // namespace

std::string Cluster::library_version() {
#ifdef TEM_HAVE_MPI
    char text[MPI_MAX_LIBRARY_VERSION_STRING] = {};
    int length = 0;
    MPI_Get_library_version(text, &length);
    std::string v(text, static_cast<size_t>(length));
    size_t cut = v.find_first_of(",\n");
    return cut == std::string::npos ? v : v.substr(0, cut);
#else
    return "no MPI";
#endif
}

Cluster& Cluster::get() {
    static Cluster cluster;
    return cluster;
}

Cluster::Cluster() {
#ifdef TEM_HAVE_MPI
    if (!launched_by_mpirun()) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    mpi_ = true;
#endif
}

void Cluster::finish() {
#ifdef TEM_HAVE_MPI
    if (mpi_) {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (!finalized) MPI_Finalize();
    }
#endif
}

std::pair<size_t, size_t> Cluster::share_of(int rank, size_t count) const {
    size_t n = static_cast<size_t>(size_), r = static_cast<size_t>(rank);
    size_t base = count / n, extra = count % n;
    size_t first = r * base + std::min(r, extra);
    return {first, first + base + (r < extra ? 1 : 0)};
}

void Cluster::merge_all(std::vector<double>& data,
                        const std::function<void(std::vector<double>& lower, const std::vector<double>& higher)>& merge) {
    if (size_ == 1) return;
#ifdef TEM_HAVE_MPI
    const int n = static_cast<int>(data.size());
    std::vector<double> other(data.size());
    for (int step = 1; step < size_; step *= 2) {
        if (rank_ % (2 * step) == 0) {
            int partner = rank_ + step;
            if (partner < size_) {
                MPI_Recv(other.data(), n, MPI_DOUBLE, partner, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                merge(data, other);
            }
        } else {
            MPI_Send(data.data(), n, MPI_DOUBLE, rank_ - step, 7, MPI_COMM_WORLD);
            break;
        }
    }
    MPI_Bcast(data.data(), n, MPI_DOUBLE, 0, MPI_COMM_WORLD);
#else
    (void)data;
    (void)merge;
#endif
}

void Cluster::gather_ranges(double* data, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
    if (size_ == 1) return;
#ifdef TEM_HAVE_MPI
    std::vector<int> counts(static_cast<size_t>(size_)), displs(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
        const auto& [a, b] = ranges[static_cast<size_t>(r)];
        if (b - a > INT32_MAX || a > INT32_MAX)
            throw std::runtime_error("a per-frame result is too large to gather over MPI (more than 2^31 values per rank)");
        counts[static_cast<size_t>(r)] = static_cast<int>(b - a);
        displs[static_cast<size_t>(r)] = static_cast<int>(a);
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), MPI_DOUBLE, MPI_COMM_WORLD);
#else
    (void)data;
    (void)ranges;
#endif
}

std::string Cluster::broadcast(const std::string& text) {
    if (size_ == 1) return text;
#ifdef TEM_HAVE_MPI
    long long length = rank_ == 0 ? static_cast<long long>(text.size()) : 0;
    MPI_Bcast(&length, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    std::string out = rank_ == 0 ? text : std::string(static_cast<size_t>(length), '\0');
    if (length > 0) MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, 0, MPI_COMM_WORLD);
    return out;
#else
    return text;
#endif
}

std::string Cluster::agreed_read(const std::function<std::string()>& read) {
    std::string value, error;
    try {
        value = read();
    } catch (const DataError& e) {
        if (size_ == 1) throw;
        error = e.what();
    }
    error = agree(error);
    if (!error.empty()) throw DataError(error);
    return value;
}

std::string Cluster::agree(const std::string& error) {
    if (size_ == 1) return error;
#ifdef TEM_HAVE_MPI
    // The lowest failing rank (size_ when none), then its message.
    int mine = error.empty() ? size_ : rank_, lowest = size_;
    MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (lowest == size_) return "";
    int length = lowest == rank_ ? static_cast<int>(error.size()) : 0;
    MPI_Bcast(&length, 1, MPI_INT, lowest, MPI_COMM_WORLD);
    std::string message(static_cast<size_t>(length), '\0');
    if (lowest == rank_) message = error;
    MPI_Bcast(message.data(), length, MPI_CHAR, lowest, MPI_COMM_WORLD);
    return message + " (rank " + std::to_string(lowest) + " of " + std::to_string(size_) + ")";
#else
    return error;
#endif
}

} // namespace tem::rt
