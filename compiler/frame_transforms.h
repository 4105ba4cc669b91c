//===- compiler/frame_transforms.h - Whole-frame transforms (fft2) -------===//
//
// This file declares the frame transforms that a kernel calls once per frame
// after collecting a value at every pixel: fft2 of the frame, fftshift-ed so
// that the zero frequency sits at (h / 2, w / 2), reduced to one real part.
// Both engines call the same function, so the reference evaluator and the
// compiled kernels agree bit for bit on it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ir.h"

#include <cstdint>

namespace tem::compiler {

/// Which real number of the complex spectrum a transform keeps.
enum class FftPart : int32_t { Re = 0, Im = 1, Abs = 2, Arg = 3 };

/// Replaces `values` (h x w, C order) by the chosen part of its 2-D discrete
/// Fourier transform F[ky, kx] = sum v[y, x] exp(-2 pi i (ky y / h + kx x / w)),
/// fftshift-ed: element (i, j) holds frequency (i - h / 2, j - w / 2) with
/// integer division (NumPy's fftshift of fft2). Thread-safe; plans are made
/// once per shape (FFTW, estimate mode).
void fft2_part(double* values, int64_t h, int64_t w, FftPart part);

/// The part a frame-transform reduction keeps.
inline FftPart fft_part(ir::ReduceOp op) {
    switch (op) {
    case ir::ReduceOp::FftIm: return FftPart::Im;
    case ir::ReduceOp::FftAbs: return FftPart::Abs;
    case ir::ReduceOp::FftArg: return FftPart::Arg;
    default: return FftPart::Re;
    }
}

} // namespace tem::compiler

/// The same, with a C name for the compiled kernels.
extern "C" void tem_fft2_part(double* values, int64_t h, int64_t w, int32_t part);
