//===- runtime/formats/tvips.cpp - TVIPS recorder files (.tvips) ---------===//
//
// This file implements the TVIPS reader. The first part (NAME_000.tvips)
// starts with a 256-byte little-endian header (size, version, dimx, dimy,
// bits per pixel, ..., frame header bytes); then, in that part and in every
// further part (_001, _002, ...; no header), records of a frame header and
// dimy x dimx pixels. Each part is one evenly spaced run of frames.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <cstdio>
#include <filesystem>
#include <regex>

namespace tem::rt {

bool looks_like_tvips(std::string_view head) {
    if (head.size() < 52) return false;
    ByteReader r(reinterpret_cast<const std::byte*>(head.data()), head.size(), "");
    uint32_t version = r.le<uint32_t>(4);
    return r.le<uint32_t>(0) == 256 && (version == 1 || version == 2);
}

std::unique_ptr<Dataset> open_tvips(const std::string& path, const OpenOptions& options) {
    // The parts of a series: NAME_000.tvips, NAME_001.tvips, ...
    std::smatch m;
    std::string name = std::filesystem::path(path).filename().string();
    std::vector<std::string> parts;
    if (std::regex_match(name, m, std::regex(R"((.*)_(\d{3})\.tvips)", std::regex::icase))) {
        if (m[2].str() != "000")
            throw data_error(path, "open the first part of the series (" + m[1].str() + "_000.tvips); it holds the header");
        for (int i = 0;; ++i) {
            char suffix[16];
            std::snprintf(suffix, sizeof suffix, "_%03d.tvips", i);
            std::string part = sibling_path(path, m[1].str() + suffix);
            if (!file_exists(part)) break;
            parts.push_back(part);
        }
    }
    if (parts.empty()) parts.push_back(path);

    std::vector<MappedFile> files;
    files.emplace_back(parts[0]);
    ByteReader r(files[0]);
    const uint32_t header = r.le<uint32_t>(0, "the header size");
    const uint32_t version = r.le<uint32_t>(4, "the version");
    if (header != 256 || (version != 1 && version != 2))
        throw data_error(path, "not a TVIPS file: header size " + std::to_string(header) + " and version " +
                                   std::to_string(version) + " at byte 0 (expected 256 and 1 or 2)");
    const int64_t dimx = r.le<uint32_t>(8, "dimx"), dimy = r.le<uint32_t>(12, "dimy");
    const uint32_t bits = r.le<uint32_t>(16, "bits per pixel");
    const int64_t frame_header = version == 2 ? r.le<uint32_t>(48, "the frame header size") : 12;
    DType dtype;
    if (bits == 8) dtype = DType::U8;
    else if (bits == 16) dtype = DType::U16;
    else if (bits == 32) dtype = DType::U32;
    else
        throw data_error(path, "unsupported " + std::to_string(bits) + " bits per pixel at byte 16 (expected 8, 16 or 32)");
    if (dimx == 0 || dimy == 0 || dimx > 65536 || dimy > 65536 || frame_header > (1 << 20))
        throw data_error(path, "bad frame size " + std::to_string(dimy) + " x " + std::to_string(dimx) +
                                   " or frame header " + std::to_string(frame_header) + " bytes in the header");
    const int64_t stride = frame_header + dimx * dimy * static_cast<int64_t>(bits / 8);

    MappedLayout layout;
    layout.format = "tvips";
    layout.sig = {dimy, dimx};
    layout.dtype = dtype;
    layout.frame_header = frame_header;
    int64_t frames = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i > 0) files.emplace_back(parts[i]);
        int64_t start = i == 0 ? header : 0;
        int64_t bytes = static_cast<int64_t>(files[i].size()) - start;
        if (bytes < 0 || bytes % stride != 0)
            throw data_error(parts[i], "truncated: " + std::to_string(bytes) + " bytes of records after byte " +
                                           std::to_string(start) + " are not whole records of " +
                                           std::to_string(stride) + " bytes");
        if (bytes == 0) continue;
        layout.runs.push_back(FrameRun{frames, bytes / stride, i, start + frame_header, stride});
        frames += bytes / stride;
    }
    if (frames == 0) throw data_error(path, "the series holds no frames");
    check_stored_geometry(path, options, "tvips", layout.sig, dtype);
    layout.nav = choose_nav(path, options, frames, {frames});
    layout.info.emplace_back("version", std::to_string(version));
    if (parts.size() > 1) layout.info.emplace_back("parts", std::to_string(parts.size()));
    layout.info.emplace_back("high tension", std::to_string(r.le<uint32_t>(40, "ht")) + " kV");
    layout.info.emplace_back("pixel size", std::to_string(r.le<uint32_t>(36, "pixelsize")) + " (file units)");
    layout.info.emplace_back("magnification", std::to_string(r.le<uint32_t>(44, "magtotal")));
    return make_mapped(std::move(files), std::move(layout));
}

} // namespace tem::rt
