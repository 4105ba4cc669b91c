//===- runtime/formats/ser.cpp - FEI/TIA series files (.ser) -------------===//
//
// This file implements the TIA .ser reader. A series file is a little-endian
// header (version, element kind, element counts, the offset of the offset
// array, and the calibrated series dimensions), an array of byte offsets of
// the data elements (4-byte in version 0x0210, 8-byte in 0x0220), then the
// elements themselves: each a small calibration header (50 bytes for 2-D
// images, 26 for 1-D spectra) followed by its values. The reader follows the
// offset array, checks that every element has the first one's type and
// shape, and maps the values after each element header as one frame, in file
// order (HyperSpy flips images vertically; tem does not).
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tem::rt {

namespace {

constexpr uint16_t kByteOrderLittle = 0x4949;  // "II"
constexpr uint16_t kSeriesId = 0x0197;
constexpr uint16_t kVersion32 = 0x0210;        // 4-byte offsets
constexpr uint16_t kVersion64 = 0x0220;        // 8-byte offsets
constexpr uint32_t kElements1D = 0x4120;       // spectra
constexpr uint32_t kElements2D = 0x4122;       // images
constexpr uint32_t kTagTimePosition = 0x4142;  // element tags hold time and x, y position

/// Bytes of the calibration header in front of every data element.
constexpr int64_t kHeader1D = 26;
constexpr int64_t kHeader2D = 50;

/// "%g"-style text of a number (6 significant digits).
std::string number_text(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

/// "0x0220".
std::string hex_text(uint32_t value, int digits) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "0x%0*x", digits, value);
    return buffer;
}

/// The tem element type of a TIA DataType code; nullopt for the complex ones.
std::optional<DType> element_dtype(uint16_t code) {
    switch (code) {
    case 1: return DType::U8;
    case 2: return DType::U16;
    case 3: return DType::U32;
    case 4: return DType::I8;
    case 5: return DType::I16;
    case 6: return DType::I32;
    case 7: return DType::F32;
    case 8: return DType::F64;
    default: return std::nullopt;
    }
}

/// One calibrated series dimension of the header.
struct SeriesDim {
    int64_t size = 0;
    double offset = 0, delta = 0;
    int32_t element = 0;
    std::string description, units;
};

/// The type and shape of one data element, read from its header.
struct ElementShape {
    uint16_t type = 0;
    std::vector<int64_t> sig;   ///< (ArraySizeY, ArraySizeX) or (ArrayLength)
    bool operator==(const ElementShape&) const = default;
};

/// Reads the element header at `offset`.
ElementShape read_element(const ByteReader& in, uint64_t offset, bool images, int64_t index) {
    std::string what = "the header of data element " + std::to_string(index);
    in.need(offset, images ? kHeader2D : kHeader1D, what);
    ElementShape shape;
    if (images) {
        shape.type = in.le<uint16_t>(offset + 40, what);
        int32_t x = in.le<int32_t>(offset + 42, what);
        int32_t y = in.le<int32_t>(offset + 46, what);
        if (x <= 0 || y <= 0)
            throw data_error(in.path(), "data element " + std::to_string(index) + " at byte " +
                                            std::to_string(offset) + " is an image of " + std::to_string(x) + " x " +
                                            std::to_string(y) + " pixels");
        shape.sig = {y, x};
    } else {
        shape.type = in.le<uint16_t>(offset + 20, what);
        int32_t length = in.le<int32_t>(offset + 22, what);
        if (length <= 0)
            throw data_error(in.path(), "data element " + std::to_string(index) + " at byte " +
                                            std::to_string(offset) + " is a spectrum of " + std::to_string(length) +
                                            " channels");
        shape.sig = {length};
    }
    return shape;
}

/// The .emi file written with `path` (NAME_1.ser -> NAME.emi), if it exists.
std::optional<std::string> emi_companion(const std::string& path) {
    std::filesystem::path p(path);
    std::string stem = p.stem().string();
    size_t underscore = stem.rfind('_');
    if (underscore == std::string::npos) return std::nullopt;
    std::filesystem::path emi = p.parent_path() / (stem.substr(0, underscore) + ".emi");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(emi, ec)) return std::nullopt;
    return emi.filename().string();
}

} // namespace

bool looks_like_ser(std::string_view head) {
    if (head.size() < 30) return false;
    auto u16 = [&](size_t i) {
        return static_cast<uint16_t>(static_cast<uint8_t>(head[i]) | static_cast<uint8_t>(head[i + 1]) << 8);
    };
    uint32_t kind = u16(6) | uint32_t{u16(8)} << 16;
    return u16(0) == kByteOrderLittle && u16(2) == kSeriesId && (u16(4) == kVersion32 || u16(4) == kVersion64) &&
           (kind == kElements1D || kind == kElements2D);
}

std::unique_ptr<Dataset> open_ser(const std::string& path, const OpenOptions& options) {
    MappedFile file(path);
    ByteReader in(file);
    in.need(0, 30, "the series header");
    uint16_t byte_order = in.le<uint16_t>(0);
    if (byte_order != kByteOrderLittle)
        throw data_error(path, "not a TIA series file: the byte-order mark at byte 0 is " + hex_text(byte_order, 4) +
                                   (byte_order == 0x4d4d ? " (big-endian, which TIA does not write)" : "") +
                                   ", expected 0x4949 ('II')");
    uint16_t series_id = in.le<uint16_t>(2);
    if (series_id != kSeriesId)
        throw data_error(path, "not a TIA series file: the series id at byte 2 is " + hex_text(series_id, 4) +
                                   ", expected 0x0197");
    uint16_t version = in.le<uint16_t>(4);
    if (version != kVersion32 && version != kVersion64)
        throw data_error(path, "unsupported TIA series version " + hex_text(version, 4) +
                                   " at byte 4 (0x0210 and 0x0220 are known)");
    uint32_t kind = in.le<uint32_t>(6);
    if (kind != kElements1D && kind != kElements2D)
        throw data_error(path, "unsupported TIA data type id " + hex_text(kind, 4) +
                                   " at byte 6 (expected 0x4120 for spectra or 0x4122 for images)");
    const bool images = kind == kElements2D;
    uint32_t tag_kind = in.le<uint32_t>(10);
    uint32_t total = in.le<uint32_t>(14);
    uint32_t valid = in.le<uint32_t>(18);
    const bool wide = version == kVersion64;
    uint64_t array_at = wide ? in.le<uint64_t>(22) : in.le<uint32_t>(22);
    uint64_t pos = wide ? 30 : 26;
    uint32_t ndims = in.le<uint32_t>(pos, "the number of series dimensions");
    pos += 4;
    if (valid == 0)
        throw data_error(path, "the series holds no data (ValidNumberElements at byte 18 is 0)");
    if (valid > total)
        throw data_error(path, "ValidNumberElements at byte 18 is " + std::to_string(valid) +
                                   ", more than TotalNumberElements (" + std::to_string(total) + ") at byte 14");
    // A dimension record takes at least 32 bytes.
    if (ndims > (in.size() - pos) / 32)
        throw data_error(path, "corrupt series header: " + std::to_string(ndims) + " dimensions at byte " +
                                   std::to_string(pos - 4) + " do not fit in the file's " +
                                   std::to_string(in.size()) + " bytes");

    std::vector<SeriesDim> dims;
    int64_t positions = 1;
    for (uint32_t d = 0; d < ndims; ++d) {
        std::string what = "series dimension " + std::to_string(d);
        SeriesDim dim;
        uint64_t at = pos;
        dim.size = in.le<int32_t>(pos, what);
        dim.offset = in.le<double>(pos + 4, what);
        dim.delta = in.le<double>(pos + 12, what);
        dim.element = in.le<int32_t>(pos + 20, what);
        uint32_t length = in.le<uint32_t>(pos + 24, what);
        dim.description = std::string(in.text(pos + 28, length, what + " description"));
        pos += 28 + uint64_t{length};
        length = in.le<uint32_t>(pos, what);
        dim.units = std::string(in.text(pos + 4, length, what + " units"));
        pos += 4 + uint64_t{length};
        if (dim.size <= 0 || __builtin_mul_overflow(positions, dim.size, &positions))
            throw data_error(path, what + " at byte " + std::to_string(at) + " has size " +
                                       std::to_string(dim.size) + "; sizes must be at least 1");
        dims.push_back(std::move(dim));
    }
    if (ndims > 0 && positions != total)
        throw data_error(path, "the series dimensions hold " + std::to_string(positions) +
                                   " positions, but TotalNumberElements at byte 14 is " + std::to_string(total));

    // The offset array: `total` data offsets, then `total` tag offsets; entry
    // `index` of either half as a checked file offset.
    const uint64_t word = wide ? 8 : 4;
    in.need(array_at, uint64_t{valid} * word, "the data offset array");
    auto offset_of = [&](uint64_t index, bool tag) -> uint64_t {
        uint64_t at = array_at + ((tag ? total : 0) + index) * word;
        int64_t value = wide ? in.le<int64_t>(at, "the offset array") : in.le<int32_t>(at, "the offset array");
        if (value < 0 || static_cast<uint64_t>(value) >= in.size())
            throw data_error(path, std::string(tag ? "the tag" : "data element") + " " + std::to_string(index) +
                                       " starts at byte " + std::to_string(value) + " (offset array entry at byte " +
                                       std::to_string(at) + "), outside the file's " + std::to_string(in.size()) +
                                       " bytes (truncated?)");
        return static_cast<uint64_t>(value);
    };

    const int64_t header = images ? kHeader2D : kHeader1D;
    const uint64_t first_at = offset_of(0, false);
    const ElementShape shape = read_element(in, first_at, images, 0);
    std::optional<DType> dtype = element_dtype(shape.type);
    if (!dtype)
        throw data_error(path, "unsupported TIA element data type " + std::to_string(shape.type) + " (" +
                                   (shape.type == 9 || shape.type == 10 ? "complex" : "unknown") + ") at byte " +
                                   std::to_string(first_at + (images ? 40 : 20)) +
                                   "; tem reads types 1 to 8 (u8, u16, u32, i8, i16, i32, f32, f64)");
    int64_t frame_bytes = static_cast<int64_t>(dtype_size(*dtype));
    bool overflow = false;
    for (int64_t extent : shape.sig) overflow = overflow || __builtin_mul_overflow(frame_bytes, extent, &frame_bytes);
    if (overflow || frame_bytes > static_cast<int64_t>(in.size()))
        throw data_error(path, "data element 0 at byte " + std::to_string(first_at) + " declares " +
                                   format_shape(shape.sig) + " values of " + std::string(dtype_name(*dtype)) +
                                   ", more than the file's " + std::to_string(in.size()) + " bytes");

    // Frames in evenly spaced runs (one run when the spacing never changes).
    MappedLayout layout;
    for (int64_t i = 0; i < valid; ++i) {
        uint64_t at = i == 0 ? first_at : offset_of(static_cast<uint64_t>(i), false);
        if (i > 0 && !(read_element(in, at, images, i) == shape))
            throw data_error(path, "data element " + std::to_string(i) + " at byte " + std::to_string(at) +
                                       " differs in type or shape from element 0; tem reads series of equal elements");
        int64_t start = static_cast<int64_t>(at) + header;
        if (!layout.runs.empty()) {
            FrameRun& run = layout.runs.back();
            int64_t last = run.offset + (run.count - 1) * run.stride;
            int64_t step = start - last;
            if (step > 0 && (run.count == 1 || step == run.stride)) {
                run.stride = step;
                ++run.count;
                continue;
            }
        }
        layout.runs.push_back(FrameRun{i, 1, 0, start, header + frame_bytes});
    }

    // The navigation shape: the header's dimensions, slowest first. TIA lists
    // the fastest-scanned dimension first when element tags show it (the
    // first two elements share a y position), as HyperSpy reads it.
    std::vector<int64_t> nav;
    std::vector<size_t> order(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) order[d] = d;
    if (dims.size() > 1 && tag_kind == kTagTimePosition && valid > 1) {
        uint64_t tag0 = offset_of(0, true), tag1 = offset_of(1, true);
        double y0 = in.le<double>(tag0 + 16, "the position tag of element 0");
        double y1 = in.le<double>(tag1 + 16, "the position tag of element 1");
        if (y0 == y1) std::reverse(order.begin(), order.end());
    }
    std::string incomplete;
    if (valid < total) {
        nav = {valid};
        incomplete = std::to_string(valid) + " of " + std::to_string(total) + " elements were acquired";
        if (dims.size() > 1) incomplete += "; the scan is read as a flat series";
    } else if (dims.empty()) {
        nav = {valid};
    } else {
        for (size_t d : order) nav.push_back(dims[d].size);
    }
    layout.format = "ser";
    layout.dtype = *dtype;
    layout.sig = shape.sig;
    layout.frame_header = header;
    layout.nav = choose_nav(path, options, valid, nav);
    check_stored_geometry(path, options, "ser", layout.sig, layout.dtype);

    layout.info.emplace_back("series", "version " + hex_text(version, 4) + ", " + std::to_string(valid) + " of " +
                                           std::to_string(total) + " elements, " +
                                           (images ? "2-D images" : "1-D spectra"));
    if (!incomplete.empty()) layout.info.emplace_back("incomplete", incomplete);
    for (size_t k = 0; k < order.size(); ++k) {
        const SeriesDim& d = dims[order[k]];
        std::string units = d.units.empty() ? "" : " " + d.units;
        layout.info.emplace_back("nav axis " + std::to_string(k),
                                 std::to_string(d.size) + " x " + number_text(d.delta) + units + " from " +
                                     number_text(d.offset) + units +
                                     (d.description.empty() ? "" : " (" + d.description + ")"));
    }
    // Calibration of the first element (offset, delta, reference element per
    // axis, x first in the file); the units are not stored in the .ser file.
    auto calibration = [&](uint64_t at, bool use_element) {
        double offset = in.le<double>(at), delta = in.le<double>(at + 8);
        int32_t element = use_element ? in.le<int32_t>(at + 16) : 0;
        return number_text(delta) + " from " + number_text(offset - element * delta);
    };
    if (images)
        layout.info.emplace_back("pixel size", "y " + calibration(first_at + 20, true) + ", x " +
                                                   calibration(first_at, true));
    else
        layout.info.emplace_back("channel size", calibration(first_at, false));
    if (auto emi = emi_companion(path)) layout.info.emplace_back("companion", *emi + " (metadata, not read)");

    std::vector<MappedFile> files;
    files.push_back(std::move(file));
    return make_mapped(std::move(files), std::move(layout));
}

} // namespace tem::rt
