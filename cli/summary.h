//===- cli/summary.h - Statistics and JSON forms of results --------------===//
//
// This file declares what the CLI prints about a result besides its text
// summary: the statistics the REPL shows, and the JSON documents that
// `tem run --json`, `tem eval --json` and `tem info --json` print for scripts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/writers.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tem::cli {

/// Statistics over a result's values; min/mean/max over the finite ones
/// (NaN when there are none).
struct ResultStats {
    int64_t count = 0, finite = 0, nan = 0, inf = 0;
    double min = 0, mean = 0, max = 0;
};

/// Computes the statistics of `result` in one pass.
ResultStats result_stats(const rt::Result& result);

/// The REPL's line for a result: "bf: shape (4, 4) f64  min 1  mean 2.5  max 4  nan 0",
/// or "total: 4410" for a scalar.
std::string repl_summary(const rt::Result& result);

/// Results with at most this many values are printed in full by --json.
constexpr int64_t kJsonFullValues = 64;

/// A JSON string literal for `text` (quoted, escaped).
std::string json_string(std::string_view text);

/// A JSON number for one value of type `dtype`: null for NaN and infinities,
/// true/false for bool, exact digits for integers.
std::string json_value(double value, DType dtype);

/// One result as a JSON object: name, shape, dtype, min, mean, max, nan, inf,
/// and "values" (nested lists following the shape; a number for a scalar)
/// when it has at most kJsonFullValues values.
std::string result_json(const rt::Result& result);

/// `{"results": [...]}` with one result per line, ending in a newline.
std::string results_json(const std::vector<rt::Result>& results);

} // namespace tem::cli
