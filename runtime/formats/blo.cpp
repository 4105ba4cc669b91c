//===- runtime/formats/blo.cpp - NanoMegas ASTAR blockfiles (.blo) -------===//
//
// This file implements the blockfile reader: a packed little-endian header
// ("IMGBLO", scan and frame size, calibrations), a virtual bright-field
// image, then one record per scan position: a 6-byte prefix (AA 55 and the
// frame index) and a square u8 frame. The prefix becomes the frame header.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <cstdio>

namespace tem::rt {

bool looks_like_blo(std::string_view head) { return head.substr(0, 6) == "IMGBLO"; }

std::unique_ptr<Dataset> open_blo(const std::string& path, const OpenOptions& options) {
    MappedFile file(path);
    ByteReader r(file);
    if (r.text(0, 6, "the magic") != "IMGBLO")
        throw data_error(path, "not a blockfile: byte 0 is not 'IMGBLO'");
    const int64_t data_offset = r.le<uint32_t>(12, "the data offset");
    const int64_t side = r.le<uint16_t>(20, "the frame size");
    const int64_t nx = r.le<uint16_t>(24, "the scan width");
    const int64_t ny = r.le<uint16_t>(26, "the scan height");
    if (side == 0 || nx == 0 || ny == 0)
        throw data_error(path, "the header at byte 20 gives a scan of " + std::to_string(ny) + " x " +
                                   std::to_string(nx) + " frames of " + std::to_string(side) + " x " +
                                   std::to_string(side) + " pixels; expected non-zero sizes");
    const int64_t stride = 6 + side * side;
    // Every record starts with AA 55; check the first.
    if (r.le<uint8_t>(data_offset, "the first frame") != 0xAA || r.le<uint8_t>(data_offset + 1, "the first frame") != 0x55)
        throw data_error(path, "no frame marker (AA 55) at byte " + std::to_string(data_offset) +
                                   ", where the header says the frames start");
    char buf[64];
    MappedLayout layout;
    layout.format = "blo";
    layout.sig = {side, side};
    layout.dtype = DType::U8;
    layout.frame_header = 6;
    check_stored_geometry(path, options, "blo", layout.sig, layout.dtype);
    layout.nav = choose_nav(path, options, nx * ny, {ny, nx});
    layout.runs.push_back(FrameRun{0, nx * ny, 0, data_offset + 6, stride});
    std::snprintf(buf, sizeof buf, "%g x %g nm", r.le<double>(38, "the scan step") , r.le<double>(30, "the scan step"));
    layout.info.emplace_back("scan step (y x)", buf);
    layout.info.emplace_back("beam energy", std::to_string(r.le<uint32_t>(46, "the beam energy")) + " eV");
    layout.info.emplace_back("camera length", std::to_string(r.le<uint32_t>(52, "the camera length")) + " (file units)");
    layout.info.emplace_back("diffraction rotation", std::to_string(r.le<uint16_t>(22, "the rotation")) + " (file units)");
    return make_mapped(std::move(file), std::move(layout));
}

} // namespace tem::rt
