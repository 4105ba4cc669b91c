//===- runtime/formats/mrc.cpp - MRC / MRC2014 files ---------------------===//
//
// This file implements the MRC reader: a 1024-byte header (nx, ny, nz, mode,
// extended header size, machine stamp for the byte order), an optional
// extended header, then nz sections of ny rows x nx columns, read in place.
// Direct Electron movies come with NAME_info.txt; its raster scan size
// becomes the nav shape.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

namespace tem::rt {

namespace {

/// "Key = Value" lines of a Direct Electron *_info.txt.
std::map<std::string, std::string> read_de_info(const std::string& path) {
    std::map<std::string, std::string> entries;
    std::ifstream in(path);
    std::string line;
    auto trim = [](std::string s) {
        size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
        return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    while (std::getline(in, line)) {
        size_t eq = line.find('=');
        if (eq != std::string::npos) entries[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
    return entries;
}

int64_t to_int(const std::string& s) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() ? v : 0;
}

} // namespace

bool looks_like_mrc(std::string_view head) { return head.size() >= 212 && head.substr(208, 4) == "MAP "; }

std::unique_ptr<Dataset> open_mrc(const std::string& path, const OpenOptions& options) {
    MappedFile file(path);
    ByteReader r(file);
    r.need(0, 1024, "the MRC header");
    // Machine stamp: 0x44 0x44 / 0x44 0x41 little-endian, 0x11 0x11 big-endian.
    uint8_t stamp = r.le<uint8_t>(212);
    bool big = stamp == 0x11;
    auto word = [&](uint64_t offset, const char* what) {
        return big ? r.be<int32_t>(offset, what) : r.le<int32_t>(offset, what);
    };
    const int64_t nx = word(0, "nx"), ny = word(4, "ny"), nz = word(8, "nz");
    const int32_t mode = word(12, "mode");
    const int64_t extended = word(92, "the extended header size");
    if (nx <= 0 || ny <= 0 || nz <= 0 || nx > (1 << 24) || ny > (1 << 24))
        throw data_error(path, "bad dimensions nx=" + std::to_string(nx) + " ny=" + std::to_string(ny) +
                                   " nz=" + std::to_string(nz) + " at byte 0 of the MRC header");
    if (extended < 0) throw data_error(path, "negative extended header size at byte 92");
    DType dtype;
    switch (mode) {
    case 0: dtype = DType::I8; break;
    case 1: dtype = DType::I16; break;
    case 2: dtype = DType::F32; break;
    case 6: dtype = DType::U16; break;
    default:
        throw data_error(path, "unsupported MRC mode " + std::to_string(mode) +
                                   " at byte 12 (supported: 0 int8, 1 int16, 2 float32, 6 uint16)");
    }
    const int64_t frame_bytes = nx * ny * static_cast<int64_t>(dtype_size(dtype));
    const int64_t offset = 1024 + extended;

    MappedLayout layout;
    layout.format = "mrc";
    layout.sig = {ny, nx};
    layout.dtype = dtype;
    layout.big_endian = big;
    layout.runs.push_back(FrameRun{0, nz, 0, offset, frame_bytes});
    std::vector<int64_t> stored{nz};
    // Direct Electron: NAME_movie.mrc + NAME_info.txt with the scan.
    std::string stem = std::filesystem::path(path).stem().string();
    if (stem.size() > 6 && stem.substr(stem.size() - 6) == "_movie") {
        std::string info_path = sibling_path(path, stem.substr(0, stem.size() - 6) + "_info.txt");
        if (file_exists(info_path)) {
            auto de = read_de_info(info_path);
            int64_t sx = to_int(de["Scan - Size X"]), sy = to_int(de["Scan - Size Y"]);
            std::string type = de["Scan - Type"];
            layout.info.emplace_back("DE scan", type + " " + std::to_string(sx) + " x " + std::to_string(sy) + " (" + info_path + ")");
            if (type == "Raster" && sx > 0 && sy > 0 && sx * sy == nz) stored = {sy, sx};
        }
    }
    check_stored_geometry(path, options, "mrc", layout.sig, dtype);
    layout.nav = choose_nav(path, options, nz, stored);
    layout.info.emplace_back("mode", std::to_string(mode));
    layout.info.emplace_back("extended header", std::to_string(extended) + " bytes" +
                                                    (extended ? " (" + std::string(r.text(104, 4)) + ")" : ""));
    float cella = big ? r.be<float>(40) : r.le<float>(40);
    if (cella > 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g A", cella / static_cast<float>(nx));
        layout.info.emplace_back("pixel size", buf);
    }
    return make_mapped(std::move(file), std::move(layout));
}

} // namespace tem::rt
