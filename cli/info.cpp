//===- cli/info.cpp - tem info -------------------------------------------===//
//
// This file implements `tem info`.
//
//===----------------------------------------------------------------------===//
#include "cli/info.h"

#include "cli/driver.h"
#include "cli/summary.h"
#include "lang/sema.h"

#include <cstdio>
#include <utility>
#include <vector>

namespace tem::cli {

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

std::string shape_json(const std::vector<int64_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

} // namespace

int cmd_info(const std::string& path, const rt::OpenOptions& options, bool json) {
    std::unique_ptr<rt::Dataset> ds = rt::open_dataset(path, options);
    std::vector<std::string> names =
        default_axis_names(static_cast<int>(ds->nav_shape().size()), static_cast<int>(ds->sig_shape().size()));
    std::string axes = "(";
    size_t nav = ds->nav_shape().size();
    for (size_t i = 0; i < names.size(); ++i) {
        if (i == nav) axes += nav ? " | " : "| ";
        else if (i) axes += ", ";
        axes += names[i];
    }
    axes += ")";
    int64_t frame_bytes = ds->frame_elems() * static_cast<int64_t>(dtype_size(ds->dtype()));
    std::vector<std::pair<std::string, std::string>> rows = {
        {"path", ds->path()},
        {"format", ds->format()},
        {"nav shape", shape_text(ds->nav_shape())},
        {"sig shape", shape_text(ds->sig_shape())},
        {"axes", axes},
        {"dtype", std::string(dtype_name(ds->dtype()))},
        {"byte order", dtype_size(ds->dtype()) == 1 ? "not applicable" : ds->big_endian() ? "big-endian" : "little-endian"},
        {"frames", std::to_string(ds->num_frames())},
        {"frame size", std::to_string(frame_bytes) + " bytes"},
        {"data size", std::to_string(frame_bytes * ds->num_frames()) + " bytes"},
    };
    for (auto& row : ds->info()) {
        bool known = false;
        for (const auto& [k, v] : rows) known = known || k == row.first;
        if (!known) rows.push_back(row);  // the reader may repeat a common field
    }
    if (json) {
        std::vector<std::string> axis_names = names;
        std::string out = "{\"path\": " + json_string(ds->path()) + ", \"format\": " + json_string(ds->format());
        out += ", \"nav_shape\": " + shape_json(ds->nav_shape()) + ", \"sig_shape\": " + shape_json(ds->sig_shape());
        out += ", \"nav_axes\": [";
        for (size_t i = 0; i < axis_names.size(); ++i)
            out += (i == nav ? "], \"sig_axes\": [" : i ? ", " : "") + json_string(axis_names[i]);
        if (nav == axis_names.size()) out += "], \"sig_axes\": [";
        out += "], \"dtype\": " + json_string(dtype_name(ds->dtype()));
        out += ", \"byte_order\": " +
               json_string(dtype_size(ds->dtype()) == 1 ? "none" : ds->big_endian() ? "big" : "little");
        out += ", \"frames\": " + std::to_string(ds->num_frames()) + ", \"frame_bytes\": " +
               std::to_string(frame_bytes) + ", \"data_bytes\": " + std::to_string(frame_bytes * ds->num_frames());
        out += ", \"headers\": {";
        bool first = true;
        for (size_t i = 10; i < rows.size(); ++i) {
            out += (first ? "" : ", ") + json_string(rows[i].first) + ": " + json_string(rows[i].second);
            first = false;
        }
        std::fputs((out + "}}\n").c_str(), stdout);
        return kExitOk;
    }
    size_t width = 0;
    for (const auto& [k, v] : rows) width = std::max(width, k.size());
    for (const auto& [k, v] : rows) std::printf("%-*s  %s\n", static_cast<int>(width + 1), (k + ":").c_str(), v.c_str());
    return kExitOk;
}

} // namespace tem::cli
