//===- stdlib/modules.h - The embedded standard library ------------------===//
//
// This file declares access to the tem modules compiled into the binary, so
// that `use stem` works from any directory.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tem {

/// Source text of a standard-library module, or nullopt when there is none.
std::optional<std::string_view> stdlib_module(std::string_view name);

/// Names of every module ("stem").
std::vector<std::string> stdlib_module_names();

} // namespace tem
