//===- runtime/formats/empad.cpp - EMPAD .xml + .raw ---------------------===//
//
// This file implements the EMPAD reader. The .xml names the .raw file and
// gives the scan (pix_x, pix_y) or series (count); the .raw holds frames of
// 130 rows x 128 columns of little-endian float32, whose last two rows are
// metadata: they become part of the frame stride, so frames are 128 x 128
// and read in place.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <charconv>
#include <filesystem>
#include <regex>

namespace tem::rt {

namespace {

constexpr int64_t kRows = 128, kStoredRows = 130, kCols = 128;

/// The text between <tag> (or <tag attr...>) and </tag>, if present.
std::optional<std::string> element(std::string_view xml, const std::string& tag) {
    size_t open = 0;
    while ((open = xml.find("<" + tag, open)) != std::string_view::npos) {
        size_t after = open + 1 + tag.size();
        if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ')) {
            size_t close_open = xml.find('>', after);
            size_t end = xml.find("</" + tag + ">", close_open);
            if (close_open == std::string_view::npos || end == std::string_view::npos) return std::nullopt;
            return std::string(xml.substr(close_open + 1, end - close_open - 1));
        }
        open = after;
    }
    return std::nullopt;
}

std::optional<int64_t> element_int(std::string_view xml, const std::string& tag) {
    auto text = element(xml, tag);
    if (!text) return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc() || v <= 0) return std::nullopt;
    return v;
}

} // namespace

bool looks_like_empad(std::string_view head) {
    return head.find("<root") != std::string_view::npos && head.find("raw_file") != std::string_view::npos;
}

std::unique_ptr<Dataset> open_empad(const std::string& path, const OpenOptions& options) {
    MappedFile xml_file(path);
    std::string_view xml(reinterpret_cast<const char*>(xml_file.data()), xml_file.size());
    std::smatch m;
    std::string text(xml);
    if (!std::regex_search(text, m, std::regex(R"re(<raw_file\s+filename\s*=\s*"([^"]+)")re")))
        throw data_error(path, "not an EMPAD .xml file: no <raw_file filename=\"...\"> element");
    std::string raw_name = m[1].str();
    std::string raw_path = sibling_path(path, std::filesystem::path(raw_name).filename().string());
    if (!file_exists(raw_path))
        throw data_error(path, "its data file " + raw_path + " (named by <raw_file>) does not exist");

    std::vector<int64_t> stored;
    auto px = element_int(xml, "pix_x"), py = element_int(xml, "pix_y");
    if (px && py) {
        stored = {*py, *px};
    } else if (auto n = element_int(xml, "series_count")) {
        stored = {*n};
    } else if (std::regex_search(raw_name, m, std::regex(R"(scan_x(\d+)_y(\d+)\.raw$)"))) {
        stored = {std::stoll(m[2].str()), std::stoll(m[1].str())};
    } else if (auto c = element_int(xml, "count")) {
        stored = {*c};
    } else {
        throw data_error(path, "the scan size is missing (no <pix_x>/<pix_y>, <series_count>, or scan_xX_yY "
                               "in the raw file name); give it with --nav");
    }
    MappedFile raw(raw_path);
    const int64_t stride = kStoredRows * kCols * 4;
    const int64_t size = static_cast<int64_t>(raw.size());
    int64_t frames = 1;
    for (int64_t e : stored) frames *= e;
    if (options.nav) frames = checked_product(*options.nav).value_or(-1);
    if (size != frames * stride)
        throw data_error(raw_path, "the file has " + std::to_string(size) + " bytes, but " + std::to_string(frames) +
                                       " EMPAD frames of 130 x 128 float32 need " + std::to_string(frames * stride) +
                                       (size < frames * stride ? " (truncated)" : ""));
    MappedLayout layout;
    layout.format = "empad";
    layout.sig = {kRows, kCols};
    layout.dtype = DType::F32;
    check_stored_geometry(path, options, "empad", layout.sig, layout.dtype);
    layout.nav = choose_nav(path, options, frames, stored);
    layout.runs.push_back(FrameRun{0, frames, 0, 0, stride});
    layout.info.emplace_back("raw file", raw_path);
    layout.info.emplace_back("frame footer", "2 rows (dropped)");
    if (auto t = element(xml, "type")) layout.info.emplace_back("acquisition", *t);
    if (auto e = element(xml, "exposure_time")) layout.info.emplace_back("exposure", *e + " ms");
    std::smatch ts;
    if (std::regex_search(text, ts, std::regex(R"re(isoformat="([^"]+)")re"))) layout.info.emplace_back("time", ts[1].str());
    return make_mapped(std::move(raw), std::move(layout));
}

} // namespace tem::rt
