//===- bench/tile_model.cpp - What a nav-reducing tile loop costs ----------===//
//
// tem_bench_tile_model FILE [--offset BYTES] [--frame-bytes B] [--repeat R]
//
// A model of the loops behind W5 (the mean and variance frames), outside
// tem: it reads a page-cached file of float32 frames (a .npy written by
// bench/run.py: --offset 128, frames of 128 x 128 = 65536 bytes, the
// defaults) in four orders, one thread, and prints each one's GB/s:
//
//   linear      every element in address order into vector accumulators
//               (the per-frame sum, W1: the memory's pace);
//   tile        tiles of 8 frames, one 64-byte line of each frame in turn,
//               sums in registers (the cost of reading 8 frames at once);
//   tile-state  as tem's tile loop for sum(d, nav): per 16 pixels, the 8
//               frames' values converted to float64 and added pairwise, then
//               into a float64 state per pixel, read and written once per
//               tile, the next tile prefetched in address order;
//   frame-state one frame at a time into the float64 state (no tiles).
//
// Each figure is the best of R runs, each on a new mapping whose page tables
// are filled (MADV_POPULATE_READ) before the clock starts, so that the four
// differ only in their loops. docs/performance.md quotes its output.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using v16f = float __attribute__((vector_size(64)));
using v8f = float __attribute__((vector_size(32)));
using v8d = double __attribute__((vector_size(64)));

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "tem_bench_tile_model: %s\n", msg.c_str());
    std::exit(2);
}

v16f load16(const char* p) {
    v16f v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// The two float64 halves of 16 floats.
void widen(v16f v, v8d& lo, v8d& hi) {
    v8f a, b;
    std::memcpy(&a, &v, sizeof a);
    std::memcpy(&b, reinterpret_cast<const char*>(&v) + sizeof a, sizeof b);
    lo = __builtin_convertvector(a, v8d);
    hi = __builtin_convertvector(b, v8d);
}

/// The state of 16 pixels from `s` on plus the halves `lo` and `hi`.
void add_to_state(double* s, v8d lo, v8d hi) {
    v8d a, b;
    std::memcpy(&a, s, sizeof a);
    std::memcpy(&b, s + 8, sizeof b);
    a += lo;
    b += hi;
    std::memcpy(s, &a, sizeof a);
    std::memcpy(s + 8, &b, sizeof b);
}

double linear(const char* d, size_t bytes) {
    v16f a0{}, a1{}, a2{}, a3{};
    for (size_t i = 0; i + 256 <= bytes; i += 256) {
        a0 += load16(d + i);
        a1 += load16(d + i + 64);
        a2 += load16(d + i + 128);
        a3 += load16(d + i + 192);
    }
    v16f s = a0 + a1 + a2 + a3;
    double t = 0;
    for (int k = 0; k < 16; ++k) t += s[k];
    return t;
}

double tile(const char* d, size_t frames, size_t fb) {
    v16f a[8] = {};
    for (size_t f = 0; f + 8 <= frames; f += 8)
        for (size_t c = 0; c < fb; c += 64)
            for (size_t t = 0; t < 8; ++t) a[t] += load16(d + (f + t) * fb + c);
    double s = 0;
    for (const v16f& v : a)
        for (int k = 0; k < 16; ++k) s += v[k];
    return s;
}

double tile_state(const char* d, size_t frames, size_t fb, std::vector<double>& st) {
    std::fill(st.begin(), st.end(), 0.0);
    for (size_t f = 0; f + 8 <= frames; f += 8) {
        const char* x = d + f * fb;
        for (size_t c = 0; c < fb; c += 64) {
            v8d lo[8], hi[8];
            for (size_t t = 0; t < 8; ++t) widen(load16(x + t * fb + c), lo[t], hi[t]);
            for (size_t j = 0; j < 8; ++j) __builtin_prefetch(x + 8 * fb + 8 * c + 64 * j, 0, 3);
            v8d slo = ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((lo[4] + lo[5]) + (lo[6] + lo[7]));
            v8d shi = ((hi[0] + hi[1]) + (hi[2] + hi[3])) + ((hi[4] + hi[5]) + (hi[6] + hi[7]));
            add_to_state(st.data() + c / 4, slo, shi);
        }
    }
    return st[st.size() / 2];
}

double frame_state(const char* d, size_t frames, size_t fb, std::vector<double>& st) {
    std::fill(st.begin(), st.end(), 0.0);
    for (size_t f = 0; f < frames; ++f)
        for (size_t c = 0; c < fb; c += 64) {
            v8d lo, hi;
            widen(load16(d + f * fb + c), lo, hi);
            add_to_state(st.data() + c / 4, lo, hi);
        }
    return st[st.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) die("usage: tem_bench_tile_model FILE [--offset BYTES] [--frame-bytes B] [--repeat R]");
    std::string path = argv[1];
    size_t offset = 128, fb = 65536;
    int repeat = 7;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc) die("missing value after " + arg);
        long v = std::strtol(argv[++i], nullptr, 10);
        if (v < 0) die("negative value for " + arg);
        if (arg == "--offset") offset = static_cast<size_t>(v);
        else if (arg == "--frame-bytes") fb = static_cast<size_t>(v);
        else if (arg == "--repeat") repeat = std::max(1, static_cast<int>(v));
        else die("unknown option " + arg);
    }
    if (fb == 0 || fb % 64 != 0) die("--frame-bytes must be a positive multiple of 64");
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("cannot open " + path + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) <= offset) die(path + ": too small");
    size_t size = static_cast<size_t>(st.st_size);
    size_t frames = (size - offset) / fb;
    if (frames < 8) die(path + ": fewer than 8 frames");
    size_t bytes = frames * fb;
    std::vector<double> state(fb / 4);
    const char* names[] = {"linear", "tile", "tile-state", "frame-state"};
    double keep = 0;
    for (int mode = 0; mode < 4; ++mode) {
        double best = 1e300;
        for (int r = 0; r < repeat; ++r) {
            void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
            if (m == MAP_FAILED) die("cannot map " + path);
#ifdef MADV_POPULATE_READ
            ::madvise(m, size, MADV_POPULATE_READ);
#endif
            const char* d = static_cast<const char*>(m) + offset;
            auto t0 = std::chrono::steady_clock::now();
            switch (mode) {
            case 0: keep += linear(d, bytes); break;
            case 1: keep += tile(d, frames, fb); break;
            case 2: keep += tile_state(d, frames, fb, state); break;
            default: keep += frame_state(d, frames, fb, state); break;
            }
            double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ::munmap(m, size);
            best = std::min(best, s);
        }
        std::printf("mode=%s bytes=%zu best_s=%.6f gbps=%.3f\n", names[mode], bytes, best, bytes / best / 1e9);
    }
    std::fprintf(stderr, "(checksum %g)\n", keep);
    ::close(fd);
    return 0;
}
