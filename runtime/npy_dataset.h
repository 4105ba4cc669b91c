//===- runtime/npy_dataset.h - NumPy .npy arrays -------------------------===//
//
// This file declares the .npy reader (format versions 1.0, 2.0 and 3.0):
// the header gives dtype, byte order and shape; the C-order data after it is
// used in place over an mmap.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace tem::rt {

/// True when `head` starts with the NumPy magic "\x93NUMPY".
bool has_npy_magic(std::string_view head);

/// Opens `path` as a .npy array. The axes split into nav and sig by rank:
/// 1 → (|1), 2 → (|2), 3 → (1|2), 4 → (2|2), N ≥ 5 → (N-2|2). `options.sig`,
/// when given, must equal the trailing extents and moves the split;
/// `options.nav` re-shapes the nav axes (same number of frames);
/// `options.dtype`, `offset` and `big_endian` must agree with the header.
/// Throws DataError for malformed headers, unsupported element types,
/// Fortran order and truncated data.
std::unique_ptr<Dataset> open_npy(const std::string& path, const OpenOptions& options);

} // namespace tem::rt
