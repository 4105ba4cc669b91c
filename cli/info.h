//===- cli/info.h - tem info ---------------------------------------------===//
//
// This file declares `tem info`: the geometry and headers of a dataset.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <string>

namespace tem::cli {

/// Prints format, shape with the nav/sig split, dtype, byte order, frame size
/// and the reader's own lines, aligned in two columns; with `json`, one JSON
/// object instead (shapes as lists, sizes as numbers, the reader's own lines
/// under "headers"). Returns the exit status.
int cmd_info(const std::string& path, const rt::OpenOptions& options, bool json = false);

} // namespace tem::cli
