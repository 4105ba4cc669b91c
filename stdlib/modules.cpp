//===- stdlib/modules.cpp - The embedded standard library ----------------===//
//
// This file implements the module table over the sources embedded at build
// time (stdlib/embed.cmake turns each .tem file into a string literal).
//
//===----------------------------------------------------------------------===//
#include "stdlib/modules.h"

namespace tem {

namespace {

struct Module {
    std::string_view name;
    std::string_view text;
};

constexpr Module kModules[] = {
    {"stem",
#include "stem.tem.inc"
    },
};

} // namespace

std::optional<std::string_view> stdlib_module(std::string_view name) {
    for (const Module& m : kModules)
        if (m.name == name) return m.text;
    return std::nullopt;
}

std::vector<std::string> stdlib_module_names() {
    std::vector<std::string> names;
    for (const Module& m : kModules) names.emplace_back(m.name);
    return names;
}

} // namespace tem
