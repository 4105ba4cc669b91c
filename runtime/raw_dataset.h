//===- runtime/raw_dataset.h - Headerless binary arrays ------------------===//
//
// This file declares the raw reader: a file holding nothing but elements in
// C order (after an optional header of `offset` bytes), whose geometry comes
// from the user (raw:FILE?nav=..&sig=..&dtype=.. or --nav/--sig/--dtype).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <memory>
#include <string>

namespace tem::rt {

/// Opens `path` as a raw array, zero-copy over an mmap. `options.sig` and
/// `options.dtype` are required; `nav` defaults to none (one frame), `offset`
/// to 0, the byte order to little-endian. The file size must equal offset +
/// frames * frame bytes exactly: a shorter file is truncated and a longer one
/// almost always means the wrong geometry, so both throw DataError.
std::unique_ptr<Dataset> open_raw(const std::string& path, const OpenOptions& options);

} // namespace tem::rt
