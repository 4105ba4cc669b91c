//===- bench/merge.cpp - The cost of merging states across MPI ranks -----===//
//
// tem_bench_merge: under mpirun, times Cluster::merge_all (the binomial tree
// and broadcast the engine uses after each pass) for accumulator sizes from
// 1 Ki to 64 Mi doubles, with the merge of a sum (one add per value).
//
//   mpirun -np 2 build/bin/tem_bench_merge [--max-mib 512] [--repeat 5]
//
// Prints one line per size on rank 0: "doubles=N bytes=B seconds=S GBps=G".
//
//===----------------------------------------------------------------------===//
#include "runtime/cluster.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    int64_t max_mib = 512;
    int repeat = 5;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--max-mib")) max_mib = std::atoll(argv[i + 1]);
        if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
    }
    tem::rt::Cluster& cluster = tem::rt::Cluster::get();
    for (int64_t n = 1024; n * 8 <= (max_mib << 20); n *= 8) {
        std::vector<double> data(static_cast<size_t>(n), 1.0);
        double best = 1e30;
        for (int r = 0; r < repeat; ++r) {
            std::fill(data.begin(), data.end(), 1.0);
            cluster.agree("");  // a barrier
            auto t0 = std::chrono::steady_clock::now();
            cluster.merge_all(data, [](std::vector<double>& lower, const std::vector<double>& higher) {
                for (size_t i = 0; i < lower.size(); ++i) lower[i] += higher[i];
            });
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            best = std::min(best, s);
        }
        if (data[0] != cluster.size()) {
            std::fprintf(stderr, "merge gave %g, expected %d\n", data[0], cluster.size());
            return 1;
        }
        if (cluster.rank() == 0)
            std::printf("ranks=%d doubles=%lld bytes=%lld seconds=%.6f GBps=%.3f\n", cluster.size(),
                        static_cast<long long>(n), static_cast<long long>(n * 8), best, n * 8 / best / 1e9);
    }
    cluster.finish();
    return 0;
}
