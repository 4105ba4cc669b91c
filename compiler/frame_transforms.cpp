//===- compiler/frame_transforms.cpp - Whole-frame transforms (fft2) -----===//
//
// This file implements fft2_part with FFTW: a real-to-complex plan per frame
// shape, made once under a lock, executed by any thread on its own aligned
// buffers; the full fftshift-ed plane is filled from the stored half by
// conjugate symmetry.
//
//===----------------------------------------------------------------------===//
#include "compiler/frame_transforms.h"

#include <fftw3.h>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <new>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace tem::compiler {

namespace {

/// A growing buffer of T from fftw_malloc (aligned for FFTW's vector code).
template <typename T> struct FftwBuffer {
    T* data = nullptr;
    size_t size = 0;
    FftwBuffer() = default;
    FftwBuffer(const FftwBuffer&) = delete;
    FftwBuffer& operator=(const FftwBuffer&) = delete;
    ~FftwBuffer() { fftw_free(data); }
    T* get(size_t n) {
        if (n > size) {
            fftw_free(data);
            data = static_cast<T*>(fftw_malloc(sizeof(T) * n));
            if (!data) throw std::bad_alloc();
            size = n;
        }
        return data;
    }
};

/// The plan of a real-to-complex transform of an h x w frame (FFTW's r2c:
/// half the work of a complex transform; the other half of the spectrum is
/// the complex conjugate). Made once per shape under a lock (FFTW's planner
/// is not thread-safe); every buffer comes from fftw_malloc, so any thread may
/// execute it on its own buffers (new-array execution is thread-safe).
fftw_plan plan_for(int64_t h, int64_t w) {
    static std::mutex mu;
    static std::map<std::pair<int64_t, int64_t>, fftw_plan> plans;
    std::lock_guard<std::mutex> lock(mu);
    auto it = plans.find({h, w});
    if (it != plans.end()) return it->second;
    FftwBuffer<double> in;
    FftwBuffer<fftw_complex> out;
    fftw_plan p = fftw_plan_dft_r2c_2d(static_cast<int>(h), static_cast<int>(w), in.get(static_cast<size_t>(h * w)),
                                       out.get(static_cast<size_t>(h * (w / 2 + 1))), FFTW_ESTIMATE);
    if (!p) throw std::runtime_error("FFTW could not plan the transform");
    plans.emplace(std::make_pair(h, w), p);
    return p;
}

double part_of(double re, double im, FftPart part) {
    switch (part) {
    case FftPart::Re: return re;
    case FftPart::Im: return im;
    case FftPart::Abs: return std::sqrt(re * re + im * im);  // glibc's hypot is 10x slower
    case FftPart::Arg: return std::atan2(im, re);
    }
    return re;
}

} // namespace

void fft2_part(double* values, int64_t h, int64_t w, FftPart part) {
    thread_local FftwBuffer<double> frame;
    thread_local FftwBuffer<fftw_complex> spectrum;
    const size_t n = static_cast<size_t>(h * w);
    const int64_t half = w / 2 + 1;  // columns of the r2c output
    double* input = frame.get(n);
    std::copy(values, values + n, input);
    fftw_complex* c = spectrum.get(static_cast<size_t>(h * half));
    fftw_execute_dft_r2c(plan_for(h, w), input, c);
    // Output (i, j) holds frequency (ky, kx) = ((i + h - h/2) % h, (j + w - w/2) % w)
    // (fftshift); kx beyond the stored half is the conjugate of (-ky, -kx).
    for (int64_t i = 0; i < h; ++i) {
        const int64_t ky = (i + h - h / 2) % h;
        const int64_t ky_neg = (h - ky) % h;
        double* row = values + i * w;
        for (int64_t j = 0; j < w; ++j) {
            int64_t kx = j + w - w / 2;
            if (kx >= w) kx -= w;
            if (kx < half) {
                const fftw_complex& v = c[ky * half + kx];
                row[j] = part_of(v[0], v[1], part);
            } else {
                const fftw_complex& v = c[ky_neg * half + (w - kx)];
                row[j] = part_of(v[0], -v[1], part);
            }
        }
    }
}

} // namespace tem::compiler

extern "C" void tem_fft2_part(double* values, int64_t h, int64_t w, int32_t part) {
    // Called from compiled kernels, through which no exception may pass:
    // running out of memory here ends the run with a message and status 1
    // (no output file has been written yet).
    try {
        tem::compiler::fft2_part(values, h, w, static_cast<tem::compiler::FftPart>(part));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tem: error: fft2 of a %lld x %lld frame failed: %s\n", static_cast<long long>(h),
                     static_cast<long long>(w), e.what());
        std::_Exit(1);
    }
}
