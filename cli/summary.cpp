//===- cli/summary.cpp - Statistics and JSON forms of results ------------===//
//
// This file implements the result statistics and the JSON writers of the CLI.
// JSON is written by hand: the documents are small and flat, and every
// number goes through the same formatting as the text summaries.
//
//===----------------------------------------------------------------------===//
#include "cli/summary.h"

#include "runtime/dataset.h"

#include <cmath>
#include <cstdio>
#include <limits>

namespace tem::cli {

ResultStats result_stats(const rt::Result& result) {
    ResultStats s;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    for (double v : result.values) {
        ++s.count;
        if (std::isnan(v)) {
            ++s.nan;
        } else if (std::isinf(v)) {
            ++s.inf;
        } else {
            ++s.finite;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            sum += v;
        }
    }
    double nan = std::numeric_limits<double>::quiet_NaN();
    s.min = s.finite ? lo : nan;
    s.max = s.finite ? hi : nan;
    s.mean = s.finite ? sum / static_cast<double>(s.finite) : nan;
    return s;
}

std::string repl_summary(const rt::Result& result) {
    if (result.shape.empty()) return result.name + ": " + rt::summarize(result);
    ResultStats s = result_stats(result);
    std::string text = result.name + ": shape " + rt::format_shape(result.shape) + " " +
                       std::string(dtype_name(result.dtype));
    if (s.count == 0) return text + "  (empty)";
    text += "  min " + rt::format_value(s.min, result.dtype) + "  mean " + rt::format_number(s.mean) + "  max " +
            rt::format_value(s.max, result.dtype) + "  nan " + std::to_string(s.nan);
    if (s.inf > 0) text += "  inf " + std::to_string(s.inf);
    return text;
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                out += buf;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

std::string json_value(double value, DType dtype) {
    if (dtype == DType::Bool) return value != 0 && !std::isnan(value) ? "true" : "false";
    if (!std::isfinite(value)) return "null";
    return rt::format_value(value, dtype);
}

namespace {

/// Nested lists of `values` following `shape` from axis `axis`, starting at `offset`.
void append_nested(std::string& out, const rt::Result& r, size_t axis, size_t& offset) {
    if (axis == r.shape.size()) {
        out += json_value(r.values[offset++], r.dtype);
        return;
    }
    out += "[";
    for (int64_t i = 0; i < r.shape[axis]; ++i) {
        if (i) out += ", ";
        append_nested(out, r, axis + 1, offset);
    }
    out += "]";
}

} // namespace

std::string result_json(const rt::Result& result) {
    ResultStats s = result_stats(result);
    std::string out = "{\"name\": " + json_string(result.name) + ", \"shape\": [";
    for (size_t i = 0; i < result.shape.size(); ++i) out += (i ? ", " : "") + std::to_string(result.shape[i]);
    out += "], \"dtype\": " + json_string(dtype_name(result.dtype));
    DType stat_type = result.dtype == DType::Bool ? DType::F64 : result.dtype;
    out += ", \"min\": " + json_value(s.min, stat_type);
    out += ", \"mean\": " + json_value(s.mean, DType::F64);
    out += ", \"max\": " + json_value(s.max, stat_type);
    out += ", \"nan\": " + std::to_string(s.nan) + ", \"inf\": " + std::to_string(s.inf);
    if (s.count <= kJsonFullValues && static_cast<int64_t>(result.values.size()) == s.count) {
        out += ", \"values\": ";
        size_t offset = 0;
        if (result.shape.empty()) out += result.values.empty() ? "null" : json_value(result.values[0], result.dtype);
        else append_nested(out, result, 0, offset);
    }
    return out + "}";
}

std::string results_json(const std::vector<rt::Result>& results) {
    std::string out = "{\"results\": [";
    for (size_t i = 0; i < results.size(); ++i) out += (i ? ",\n  " : "\n  ") + result_json(results[i]);
    return out + (results.empty() ? "]}\n" : "\n]}\n");
}

} // namespace tem::cli
