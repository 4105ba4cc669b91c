//===- bench/limit.cpp - The machine's limit: sum a mapped file at full speed -===//
//
// tem_bench_limit FILE [--dtype f32|u16] [--offset BYTES] [--threads 1,2,...]
//                      [--repeat R]
//
// Maps FILE read-only and sums its elements (float32 or uint16) with each
// requested number of threads, as fast as this machine can: std::thread over
// contiguous slices, many independent accumulator lanes per thread (so the
// loop vectorises without -ffast-math), float32 / uint32 lane partials added
// into float64 / uint64 once per block. A .npy file's header is parsed for
// the data offset and dtype; other files need --offset and --dtype.
//
// Two figures per thread count, each the best of R repetitions:
//   warm   one mapping made up front, touched once, then summed R times: the
//          memory-bandwidth ceiling of a process whose page tables are filled;
//   fresh  mmap + sum + munmap R times: what a process that maps the file
//          anew (as every tem run does) pays, page faults included.
// Output: one line per thread count, `key=value` pairs (read by bench/run.py).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "tem_bench_limit: %s\n", msg.c_str());
    std::exit(2);
}

enum class DType { F32, U16 };

struct Layout {
    std::size_t offset = 0;
    DType dtype = DType::F32;
    bool have_dtype = false;
};

/// Reads the header of a .npy file: offset of the data and its dtype.
bool parse_npy(int fd, Layout& out) {
    unsigned char head[12];
    if (::pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head) return false;
    if (std::memcmp(head, "\x93NUMPY", 6) != 0) return false;
    std::size_t hlen, pre;
    if (head[6] == 1) {
        hlen = head[8] | (head[9] << 8);
        pre = 10;
    } else {
        hlen = head[8] | (head[9] << 8) | (head[10] << 16) | ((std::size_t)head[11] << 24);
        pre = 12;
    }
    std::string h(hlen, '\0');
    if (::pread(fd, h.data(), hlen, (off_t)pre) != (ssize_t)hlen) die("short .npy header");
    if (h.find("'fortran_order': True") != std::string::npos) die("fortran order not supported");
    out.offset = pre + hlen;
    if (h.find("'<f4'") != std::string::npos) {
        out.dtype = DType::F32;
    } else if (h.find("'<u2'") != std::string::npos) {
        out.dtype = DType::U16;
    } else {
        die("only little-endian f32 (<f4) and u16 (<u2) .npy files are supported");
    }
    out.have_dtype = true;
    return true;
}

constexpr std::size_t kLanes = 128;      // independent accumulators per thread
constexpr std::size_t kBlock = 4096;     // iterations of the lane loop per f64/u64 flush

/// Sum of n float32 values: kLanes float lanes, flushed into double per block.
double sum_f32(const float* p, std::size_t n) {
    double total = 0;
    std::size_t i = 0;
    const std::size_t step = kLanes * kBlock;
    alignas(64) float acc[kLanes];
    while (i + kLanes <= n) {
        std::fill(acc, acc + kLanes, 0.0f);
        const std::size_t end = std::min(n - (n - i) % kLanes, i + step);
        for (; i < end; i += kLanes) {
            const float* q = p + i;
            for (std::size_t j = 0; j < kLanes; ++j) acc[j] += q[j];
        }
        double part = 0;
        for (std::size_t j = 0; j < kLanes; ++j) part += acc[j];
        total += part;
    }
    for (; i < n; ++i) total += p[i];
    return total;
}

/// Sum of n uint16 values: kLanes uint32 lanes (kBlock * 65535 fits), flushed
/// into uint64 per block.
double sum_u16(const std::uint16_t* p, std::size_t n) {
    std::uint64_t total = 0;
    std::size_t i = 0;
    const std::size_t step = kLanes * kBlock;
    alignas(64) std::uint32_t acc[kLanes];
    while (i + kLanes <= n) {
        std::fill(acc, acc + kLanes, 0u);
        const std::size_t end = std::min(n - (n - i) % kLanes, i + step);
        for (; i < end; i += kLanes) {
            const std::uint16_t* q = p + i;
            for (std::size_t j = 0; j < kLanes; ++j) acc[j] += q[j];
        }
        for (std::size_t j = 0; j < kLanes; ++j) total += acc[j];
    }
    for (; i < n; ++i) total += p[i];
    return (double)total;
}

/// Sums the data at `base` (n elements) with `threads` threads over contiguous slices.
double sum_parallel(const unsigned char* base, std::size_t n, DType dt, unsigned threads) {
    std::vector<double> part(threads, 0.0);
    auto work = [&](unsigned t) {
        const std::size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        if (dt == DType::F32)
            part[t] = sum_f32(reinterpret_cast<const float*>(base) + lo, hi - lo);
        else
            part[t] = sum_u16(reinterpret_cast<const std::uint16_t*>(base) + lo, hi - lo);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    double s = 0;
    for (double v : part) s += v;
    return s;
}

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::printf("usage: tem_bench_limit FILE [--dtype f32|u16] [--offset BYTES] "
                    "[--threads 1,2,...] [--repeat R]\n");
        return argc < 2 ? 2 : 0;
    }
    const char* path = argv[1];
    Layout lay;
    bool offset_given = false;
    std::vector<unsigned> thread_counts;
    int repeat = 5;
    for (int a = 2; a < argc; ++a) {
        std::string arg = argv[a];
        auto value = [&]() -> std::string {
            if (a + 1 >= argc) die(arg + " needs a value");
            return argv[++a];
        };
        if (arg == "--dtype") {
            std::string v = value();
            if (v == "f32") lay.dtype = DType::F32;
            else if (v == "u16") lay.dtype = DType::U16;
            else die("--dtype must be f32 or u16");
            lay.have_dtype = true;
        } else if (arg == "--offset") {
            lay.offset = std::stoull(value());
            offset_given = true;
        } else if (arg == "--threads") {
            std::string v = value();
            std::size_t pos = 0;
            while (pos <= v.size()) {
                std::size_t c = v.find(',', pos);
                if (c == std::string::npos) c = v.size();
                thread_counts.push_back((unsigned)std::stoul(v.substr(pos, c - pos)));
                pos = c + 1;
            }
        } else if (arg == "--repeat") {
            repeat = std::max(1, std::stoi(value()));
        } else {
            die("unknown argument " + arg);
        }
    }
    if (thread_counts.empty()) {
        unsigned hw = std::max(1u, std::thread::hardware_concurrency());
        thread_counts.push_back(1);
        if (hw > 1) thread_counts.push_back(hw);
    }

    int fd = ::open(path, O_RDONLY);
    if (fd < 0) die(std::string("cannot open ") + path + ": " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0) die("fstat failed");
    const std::size_t file_size = (std::size_t)st.st_size;
    if (!offset_given) {
        Layout npy;
        if (parse_npy(fd, npy)) {
            lay.offset = npy.offset;
            if (!lay.have_dtype) lay = npy;
        }
    }
    if (!lay.have_dtype) die("not a .npy file: give --dtype (and --offset)");
    if (lay.offset > file_size) die("offset past the end of the file");
    const std::size_t elem = lay.dtype == DType::F32 ? 4 : 2;
    const std::size_t n = (file_size - lay.offset) / elem;
    const std::size_t bytes = n * elem;

    auto map = [&]() -> const unsigned char* {
        void* p = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) die(std::string("mmap failed: ") + std::strerror(errno));
        return static_cast<const unsigned char*>(p);
    };

    for (unsigned threads : thread_counts) {
        // warm: one mapping, touched once before timing.
        const unsigned char* base = map();
        double checksum = sum_parallel(base + lay.offset, n, lay.dtype, threads);
        double best_warm = 1e300;
        for (int r = 0; r < repeat; ++r) {
            double t0 = now();
            double s = sum_parallel(base + lay.offset, n, lay.dtype, threads);
            double t1 = now();
            if (s != checksum) die("checksum differs between repetitions");
            best_warm = std::min(best_warm, t1 - t0);
        }
        ::munmap(const_cast<unsigned char*>(base), file_size);
        // fresh: map, sum, unmap each time.
        double best_fresh = 1e300;
        for (int r = 0; r < repeat; ++r) {
            double t0 = now();
            const unsigned char* b = map();
            double s = sum_parallel(b + lay.offset, n, lay.dtype, threads);
            ::munmap(const_cast<unsigned char*>(b), file_size);
            double t1 = now();
            if (s != checksum) die("checksum differs between repetitions");
            best_fresh = std::min(best_fresh, t1 - t0);
        }
        std::printf("threads=%u bytes=%zu dtype=%s warm_s=%.6f warm_gbps=%.3f fresh_s=%.6f "
                    "fresh_gbps=%.3f sum=%.17g\n",
                    threads, bytes, lay.dtype == DType::F32 ? "f32" : "u16", best_warm,
                    bytes / best_warm / 1e9, best_fresh, bytes / best_fresh / 1e9, checksum);
        std::fflush(stdout);
    }
    ::close(fd);
    return 0;
}
