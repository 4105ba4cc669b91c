//===- runtime/formats/dm.cpp - Gatan DigitalMicrograph DM3 / DM4 --------===//
//
// This file implements the DM3/DM4 reader. A DM file is one tree of tags:
// groups of named (or unnamed, list-like) entries whose structure words are
// big-endian and 4 (DM3) or 8 (DM4) bytes wide, while the tag data is in the
// byte order the header names. The reader walks the whole tree without
// reading any value (it records where each value lies), picks the image of
// ImageList that is not a thumbnail, and maps its ImageData.Data array:
//
//   2-D image (x, y)          nav ()      sig (y, x)
//   3-D stack (x, y, z)       nav (z)     sig (y, x)
//   spectrum image (x, y, E)  nav (y, x)  sig (E), frames one element apart
//   4-D (qx, qy, sx, sy)      nav (sy, sx) sig (qy, qx)
//
// Every structure word is read through ByteReader, counts are checked against
// the bytes that remain before anything is stored, and the nesting depth is
// capped, so a corrupt file gives one DataError naming a byte offset.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/mapped.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tem::rt {

namespace {

/// Deepest nesting of tag groups accepted; real files use about 12.
constexpr int kMaxDepth = 64;
/// Most tags accepted in one file; real files hold a few thousand.
constexpr uint64_t kMaxTags = uint64_t{1} << 20;
/// Longest tag text shown by `tem info`.
constexpr size_t kMaxShownText = 200;

/// Encoded types of tag data: the first word of a data tag's info array.
enum : uint64_t { kTypeStruct = 15, kTypeString = 18, kTypeArray = 20 };
/// Tag entry kinds.
enum : uint8_t { kKindGroup = 20, kKindData = 21 };

/// Bytes of one value of a simple encoded type (2 i16, 3 i32, 4 u16, 5 u32,
/// 6 f32, 7 f64, 8 bool, 9 char, 10 octet, 11 i64, 12 u64); 0 for the
/// composite types (struct, string, array) and unknown codes.
uint64_t simple_size(uint64_t type) {
    switch (type) {
    case 8: case 9: case 10: return 1;
    case 2: case 4: return 2;
    case 3: case 5: case 6: return 4;
    case 7: case 11: case 12: return 8;
    default: return 0;
    }
}

/// One entry of the tag tree. Data tags keep where their value lies, not the
/// value: values are read on demand through the file's ByteReader.
struct Tag {
    std::string name;            ///< empty for list entries
    uint64_t at = 0;             ///< byte offset of the entry (its kind byte)
    bool group = false;
    std::vector<Tag> children;   ///< entries of a group, in file order
    uint64_t type = 0;           ///< data: encoded type (simple, struct, string, array)
    uint64_t elem_type = 0;      ///< arrays: the element's encoded type
    uint64_t count = 0;          ///< arrays: elements; strings: characters
    uint64_t offset = 0;         ///< data: byte offset of the value
    uint64_t bytes = 0;          ///< data: bytes of the value
};

/// The entry named `name` in group `tag`, or nullptr.
const Tag* child(const Tag* tag, std::string_view name) {
    if (!tag || !tag->group) return nullptr;
    for (const Tag& c : tag->children)
        if (c.name == name) return &c;
    return nullptr;
}

/// The entry at a path of names below `tag`, or nullptr.
const Tag* find(const Tag* tag, std::initializer_list<std::string_view> path) {
    for (std::string_view name : path) tag = child(tag, name);
    return tag;
}

/// Builds the tag tree of a DM3 or DM4 file.
class TagParser {
public:
    TagParser(const ByteReader& in, int version) : in_(in), wide_(version == 4) {}

    /// Parses the root group that starts at `pos` (right after the header).
    Tag parse_root(uint64_t pos) {
        Tag root;
        root.group = true;
        root.at = pos;
        parse_group(pos, root, 1, "");
        return root;
    }

private:
    /// Width of a structure word: 4 bytes in DM3, 8 in DM4.
    uint64_t word_bytes() const { return wide_ ? 8 : 4; }

    /// Reads the big-endian structure word at `pos`.
    uint64_t word_at(uint64_t pos, std::string_view what) const {
        return wide_ ? in_.be<uint64_t>(pos, what) : in_.be<uint32_t>(pos, what);
    }

    [[noreturn]] void corrupt(uint64_t at, const std::string& what) const {
        throw data_error(in_.path(), "corrupt DM tag tree at byte " + std::to_string(at) + ": " + what);
    }

    /// The path of entry `index` named `name` in a group, for messages: list
    /// entries as "[index]", names read as Latin-1 and shown as UTF-8.
    static std::string join(const std::string& group_path, const std::string& name, size_t index) {
        std::string entry;
        if (name.empty()) entry = "[" + std::to_string(index) + "]";
        for (unsigned char c : name) {
            if (c < 0x20 || c == 0x7F) {
                entry += '?';
            } else if (c < 0x80) {
                entry += static_cast<char>(c);
            } else {
                entry += static_cast<char>(0xC0 | (c >> 6));
                entry += static_cast<char>(0x80 | (c & 0x3F));
            }
        }
        return group_path.empty() ? entry : group_path + "/" + entry;
    }

    /// Parses the group whose sorted/open bytes are at `pos` into `group`,
    /// advancing `pos` past its last entry.
    void parse_group(uint64_t& pos, Tag& group, int depth, const std::string& path) {
        const std::string shown = path.empty() ? "the root group" : "group '" + path + "'";
        in_.need(pos, 2, "the flags of tag " + shown);
        pos += 2;
        uint64_t count = word_at(pos, "the entry count of tag " + shown);
        uint64_t count_at = pos;
        pos += word_bytes();
        // Every entry takes at least its kind byte and name length.
        uint64_t remaining = in_.size() - std::min<uint64_t>(pos, in_.size());
        if (count > remaining / 3)
            corrupt(count_at, shown + " claims " + std::to_string(count) + " entries, but only " +
                                  std::to_string(remaining) + " bytes follow");
        for (uint64_t i = 0; i < count; ++i) {
            Tag tag;
            tag.at = pos;
            uint8_t kind = in_.be<uint8_t>(pos, "a tag entry");
            uint16_t name_length = in_.be<uint16_t>(pos + 1, "a tag name length");
            tag.name = std::string(in_.text(pos + 3, name_length, "a tag name"));
            pos += 3 + name_length;
            if (wide_) pos += 8;  // DM4: the entry's size in bytes (not needed)
            std::string tag_path = join(path, tag.name, i);
            if (++tags_ > kMaxTags)
                corrupt(tag.at, "more than " + std::to_string(kMaxTags) + " tags; the file is not a DM file or is damaged");
            if (kind == kKindGroup) {
                if (depth >= kMaxDepth)
                    corrupt(tag.at, "tag groups nested deeper than " + std::to_string(kMaxDepth) + " levels");
                tag.group = true;
                parse_group(pos, tag, depth + 1, tag_path);
            } else if (kind == kKindData) {
                parse_data(pos, tag, tag_path);
            } else {
                corrupt(tag.at, "entry " + std::to_string(i) + " of " + shown + " has kind " + std::to_string(kind) +
                                    " (expected 20 for a group or 21 for data)");
            }
            group.children.push_back(std::move(tag));
        }
    }

    /// Multiplies two sizes, or reports that the data of `path` cannot fit.
    uint64_t product(uint64_t a, uint64_t b, uint64_t at, const std::string& path) const {
        uint64_t result = 0;
        if (__builtin_mul_overflow(a, b, &result))
            corrupt(at, "tag '" + path + "' declares " + std::to_string(a) + " x " + std::to_string(b) +
                            " bytes of data, more than can be addressed");
        return result;
    }

    /// Bytes of a struct whose definition (name length, field count, then
    /// one (name length, type) pair per field) starts at info word `first`.
    uint64_t struct_bytes(uint64_t first, uint64_t at, const std::string& path) {
        uint64_t fields = info(first + 1, at, path);
        if (fields > info_count_)
            corrupt(at, "tag '" + path + "' declares a struct of " + std::to_string(fields) +
                            " fields in an info array of " + std::to_string(info_count_) + " words");
        uint64_t bytes = 0;
        for (uint64_t f = 0; f < fields; ++f) {
            uint64_t type = info(first + 3 + 2 * f, at, path);
            uint64_t size = simple_size(type);
            if (size == 0)
                corrupt(at, "tag '" + path + "' has a struct field of encoded type " + std::to_string(type) +
                                " (expected a number type, 2 to 12)");
            bytes += size;
        }
        struct_fields_ = fields;
        return bytes;
    }

    /// Info word `k` of the data tag being parsed.
    uint64_t info(uint64_t k, uint64_t at, const std::string& path) const {
        if (k >= info_count_)
            corrupt(at, "tag '" + path + "' has an info array of " + std::to_string(info_count_) +
                            " words, too short for its type");
        return word_at(info_at_ + k * word_bytes(), "a tag info word");
    }

    /// Parses the data tag whose "%%%%" delimiter is at `pos` into `tag`.
    void parse_data(uint64_t& pos, Tag& tag, const std::string& path) {
        if (in_.text(pos, 4, "a data tag delimiter") != "%%%%")
            corrupt(pos, "data tag '" + path + "' does not start with the delimiter '%%%%'");
        pos += 4;
        uint64_t at = pos;
        info_count_ = word_at(pos, "the info array length of a data tag");
        pos += word_bytes();
        uint64_t remaining = in_.size() - std::min<uint64_t>(pos, in_.size());
        if (info_count_ == 0 || info_count_ > remaining / word_bytes())
            corrupt(at, "data tag '" + path + "' has an info array of " + std::to_string(info_count_) +
                            " words, but only " + std::to_string(remaining) + " bytes follow");
        info_at_ = pos;
        pos += info_count_ * word_bytes();

        tag.type = info(0, at, path);
        uint64_t bytes = 0;
        if (uint64_t size = simple_size(tag.type)) {
            bytes = size;
        } else if (tag.type == kTypeString) {
            tag.count = info(1, at, path);
            bytes = product(tag.count, 1, at, path);
        } else if (tag.type == kTypeStruct) {
            bytes = struct_bytes(1, at, path);
        } else if (tag.type == kTypeArray) {
            tag.elem_type = info(1, at, path);
            if (uint64_t size = simple_size(tag.elem_type)) {
                tag.count = info(2, at, path);
                bytes = product(tag.count, size, at, path);
            } else if (tag.elem_type == kTypeStruct) {
                uint64_t size = struct_bytes(2, at, path);
                tag.count = info(4 + 2 * struct_fields_, at, path);
                bytes = product(tag.count, size, at, path);
            } else if (tag.elem_type == kTypeString) {
                uint64_t length = info(2, at, path);
                tag.count = info(3, at, path);
                bytes = product(tag.count, length, at, path);
            } else if (tag.elem_type == kTypeArray) {
                uint64_t inner = info(2, at, path);
                uint64_t size = simple_size(inner);
                if (size == 0)
                    corrupt(at, "tag '" + path + "' is an array of arrays of encoded type " + std::to_string(inner) +
                                    " (expected a number type, 2 to 12)");
                uint64_t length = info(3, at, path);
                tag.count = info(4, at, path);
                bytes = product(tag.count, product(length, size, at, path), at, path);
            } else {
                corrupt(at, "tag '" + path + "' is an array of unknown encoded type " + std::to_string(tag.elem_type));
            }
        } else {
            corrupt(at, "tag '" + path + "' has unknown encoded type " + std::to_string(tag.type) +
                            " (expected 2 to 12, 15 struct, 18 string or 20 array)");
        }
        if (pos > in_.size() || bytes > in_.size() - pos)
            throw data_error(in_.path(), "truncated: the data of tag '" + path + "' needs bytes " +
                                             std::to_string(pos) + ".." + std::to_string(pos + bytes) +
                                             ", but the file has " + std::to_string(in_.size()) + " bytes");
        tag.offset = pos;
        tag.bytes = bytes;
        pos += bytes;
    }

    const ByteReader& in_;
    bool wide_;
    uint64_t tags_ = 0;
    uint64_t info_count_ = 0, info_at_ = 0, struct_fields_ = 0;
};

/// Reads tag values in the file's tag-data byte order.
class TagValues {
public:
    TagValues(const ByteReader& in, bool big_endian) : in_(in), big_(big_endian) {}

    /// The value of a data tag of a simple number type, else nullopt.
    std::optional<double> number(const Tag* tag) const {
        if (!tag || tag->group || simple_size(tag->type) == 0) return std::nullopt;
        return element(tag->type, tag->offset);
    }

    /// A number tag that holds a whole number, else nullopt.
    std::optional<int64_t> integer(const Tag* tag) const {
        std::optional<double> value = number(tag);
        if (!value || *value != static_cast<double>(static_cast<int64_t>(*value))) return std::nullopt;
        return static_cast<int64_t>(*value);
    }

    /// The text of a string tag: an array of UTF-16 code units (type 4), of
    /// bytes (9, 10), or a type-18 string; nullopt for other tags. Trailing
    /// NULs are dropped and long texts are cut.
    std::optional<std::string> text(const Tag* tag) const {
        if (!tag || tag->group) return std::nullopt;
        std::string out;
        if (tag->type == kTypeArray && tag->elem_type == 4) {
            uint64_t units = std::min<uint64_t>(tag->count, 2 * kMaxShownText);
            for (uint64_t i = 0; i < units; ++i) {
                uint32_t code = unit(tag->offset + 2 * i);
                if (code >= 0xD800 && code < 0xDC00 && i + 1 < units) {
                    uint32_t low = unit(tag->offset + 2 * (i + 1));
                    if (low >= 0xDC00 && low < 0xE000) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        ++i;
                    }
                }
                if (code >= 0xD800 && code < 0xE000) code = 0xFFFD;
                append_utf8(out, code);
            }
        } else if ((tag->type == kTypeArray && (tag->elem_type == 9 || tag->elem_type == 10)) ||
                   tag->type == kTypeString) {
            out = std::string(in_.text(tag->offset, std::min<uint64_t>(tag->bytes, kMaxShownText), "a tag text"));
        } else {
            return std::nullopt;
        }
        while (!out.empty() && out.back() == '\0') out.pop_back();
        if (out.size() > kMaxShownText) out = out.substr(0, kMaxShownText) + "...";
        return out;
    }

private:
    uint32_t unit(uint64_t offset) const {
        return big_ ? in_.be<uint16_t>(offset, "a tag text") : in_.le<uint16_t>(offset, "a tag text");
    }

    template <typename T> T get(uint64_t offset) const {
        return big_ ? in_.be<T>(offset, "a tag value") : in_.le<T>(offset, "a tag value");
    }

    double element(uint64_t type, uint64_t offset) const {
        switch (type) {
        case 2: return get<int16_t>(offset);
        case 3: return get<int32_t>(offset);
        case 4: return get<uint16_t>(offset);
        case 5: return get<uint32_t>(offset);
        case 6: return get<float>(offset);
        case 7: return get<double>(offset);
        case 8: return get<uint8_t>(offset);
        case 9: case 10: return get<int8_t>(offset);
        case 11: return static_cast<double>(get<int64_t>(offset));
        case 12: return static_cast<double>(get<uint64_t>(offset));
        default: return 0.0;
        }
    }

    static void append_utf8(std::string& out, uint32_t code) {
        if (code < 0x80) {
            out += static_cast<char>(code);
        } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (code >> 18));
            out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
        }
    }

    const ByteReader& in_;
    bool big_;
};

/// The tem element type of an ImageData.DataType code, or nullopt (with the
/// type's name in `name`) for the complex, packed and colour types.
std::optional<DType> image_dtype(int64_t code, std::string& name) {
    switch (code) {
    case 1: return DType::I16;
    case 2: return DType::F32;
    case 6: return DType::U8;
    case 7: return DType::I32;
    case 9: return DType::I8;
    case 10: return DType::U16;
    case 11: return DType::U32;
    case 12: return DType::F64;
    case 14: return DType::Bool;
    case 3: name = "complex64"; break;
    case 13: name = "complex128"; break;
    case 5: case 27: case 28: name = "packed complex (FFT)"; break;
    case 8: case 23: name = "RGBA colour"; break;
    default: name = "unknown"; break;
    }
    return std::nullopt;
}

/// "%g"-style text of a number (6 significant digits).
std::string number_text(double value) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%g", value);
    return buffer;
}

/// One image of ImageList that could be the data.
struct Candidate {
    const Tag* image = nullptr;
    size_t index = 0;
    std::vector<int64_t> dims;   ///< DM order: x, y, z, ...
    int64_t elements = 0;
};

/// The ImageList entries that hold image data, without thumbnails (listed in
/// the Thumbnails group or of DataType 23, RGBA).
std::vector<Candidate> find_images(const std::string& path, const Tag& root, const TagValues& values) {
    const Tag* list = child(&root, "ImageList");
    if (!list || !list->group)
        throw data_error(path, "the DM file has no ImageList tag group, so it holds no image");
    std::set<int64_t> thumbnails;
    if (const Tag* group = child(&root, "Thumbnails"))
        for (const Tag& entry : group->children)
            if (auto index = values.integer(child(&entry, "ImageIndex"))) thumbnails.insert(*index);
    std::vector<Candidate> found;
    for (size_t i = 0; i < list->children.size(); ++i) {
        const Tag& image = list->children[i];
        const Tag* data = find(&image, {"ImageData", "Data"});
        const Tag* dims = find(&image, {"ImageData", "Dimensions"});
        auto type = values.integer(find(&image, {"ImageData", "DataType"}));
        if (!data || !dims || !dims->group || !type) continue;
        if (thumbnails.count(static_cast<int64_t>(i)) || *type == 23) continue;
        Candidate c;
        c.image = &image;
        c.index = i;
        c.elements = 1;
        for (const Tag& d : dims->children) {
            auto extent = values.integer(&d);
            if (!extent || *extent <= 0)
                throw data_error(path, "ImageList/[" + std::to_string(i) + "]/ImageData/Dimensions has an extent " +
                                           (extent ? std::to_string(*extent) : std::string("that is not a number")) +
                                           " at byte " + std::to_string(d.offset) + "; extents must be at least 1");
            if (__builtin_mul_overflow(c.elements, *extent, &c.elements))
                throw data_error(path, "ImageList/[" + std::to_string(i) + "]/ImageData/Dimensions at byte " +
                                           std::to_string(dims->at) + " gives more elements than can be addressed");
            c.dims.push_back(*extent);
        }
        found.push_back(std::move(c));
    }
    return found;
}

/// The ImageTags/Meta Data/Format text says the stack is a spectrum image
/// (or Orsay's spim group is present), as HyperSpy decides it.
bool is_spectrum_image(const Tag* image, const TagValues& values) {
    if (find(image, {"ImageTags", "spim"})) return true;
    auto format = values.text(find(image, {"ImageTags", "Meta Data", "Format"}));
    return format && *format == "Spectrum image";
}

/// Same test for 2-D data: "Spectrum image" or "Spectrum" (a line of spectra).
bool is_spectrum_2d(const Tag* image, const TagValues& values) {
    if (find(image, {"ImageTags", "spim"})) return true;
    auto format = values.text(find(image, {"ImageTags", "Meta Data", "Format"}));
    return format && (*format == "Spectrum image" || *format == "Spectrum");
}

/// `tem info` rows from the image's calibrations and tags.
std::vector<std::pair<std::string, std::string>> image_info(const Candidate& c, const TagValues& values,
                                                             const std::vector<size_t>& sig_axes) {
    std::vector<std::pair<std::string, std::string>> rows;
    const Tag* image = c.image;
    if (auto name = values.text(child(image, "Name")); name && !name->empty()) rows.emplace_back("image name", *name);
    // Calibrations/Dimension lists one (Origin, Scale, Units) per DM axis;
    // shown in file (numpy) order, which is the DM order reversed.
    const Tag* cal = find(image, {"ImageData", "Calibrations", "Dimension"});
    const size_t n = c.dims.size();
    std::vector<std::string> scale_text(n), units(n);
    std::string calibration;
    for (size_t axis = 0; axis < n; ++axis) {
        size_t dm_axis = n - 1 - axis;
        const Tag* dim = cal && dm_axis < cal->children.size() ? &cal->children[dm_axis] : nullptr;
        double scale = values.number(child(dim, "Scale")).value_or(1.0);
        double origin = values.number(child(dim, "Origin")).value_or(0.0);
        units[axis] = values.text(child(dim, "Units")).value_or("");
        scale_text[axis] = number_text(scale) + (units[axis].empty() ? "" : " " + units[axis]);
        if (axis) calibration += ", ";
        calibration += std::to_string(c.dims[dm_axis]) + " x " + scale_text[axis];
        if (origin != 0.0) calibration += " from " + number_text(-origin * scale);
    }
    rows.emplace_back("calibration", calibration);
    std::string pixel;
    for (size_t k = 0; k < sig_axes.size(); ++k) pixel += (k ? " x " : "") + scale_text[sig_axes[k]];
    rows.emplace_back("pixel size", pixel);
    if (auto signal = values.text(find(image, {"ImageTags", "Meta Data", "Signal"})); signal && !signal->empty())
        rows.emplace_back("signal", *signal);
    const Tag* tags = child(image, "ImageTags");
    const Tag* exposures[] = {find(tags, {"DataBar", "Exposure Time (s)"}),
                              find(tags, {"Acquisition", "Parameters", "High Level", "Exposure (s)"}),
                              find(tags, {"EELS", "Acquisition", "Exposure (s)"})};
    for (const Tag* exposure : exposures) {
        if (auto seconds = values.number(exposure)) {
            rows.emplace_back("exposure", number_text(*seconds) + " s");
            break;
        }
    }
    const Tag* microscope = child(tags, "Microscope Info");
    if (auto volts = values.number(child(microscope, "Voltage")); volts && *volts > 0)
        rows.emplace_back("voltage", number_text(*volts / 1000.0) + " kV");
    if (auto length = values.number(child(microscope, "STEM Camera Length")); length && *length > 0)
        rows.emplace_back("camera length", number_text(*length) + " mm");
    if (auto mag = values.number(child(microscope, "Indicated Magnification")); mag && *mag > 0)
        rows.emplace_back("magnification", number_text(*mag) + "x");
    if (auto name = values.text(child(microscope, "Name")); name && !name->empty())
        rows.emplace_back("microscope", *name);
    return rows;
}

} // namespace

bool looks_like_dm(std::string_view head) {
    if (head.size() < 32) return false;
    auto byte = [&](size_t i) { return static_cast<uint8_t>(head[i]); };
    auto be32 = [&](size_t i) {
        return uint32_t{byte(i)} << 24 | uint32_t{byte(i + 1)} << 16 | uint32_t{byte(i + 2)} << 8 | byte(i + 3);
    };
    uint32_t version = be32(0);
    if (version != 3 && version != 4) return false;
    size_t flag_at = version == 3 ? 8 : 12;
    size_t group_at = flag_at + 4;
    size_t first_tag = group_at + 2 + (version == 3 ? 4 : 8);
    uint32_t flag = be32(flag_at);
    return (flag == 0 || flag == 1) && byte(group_at) <= 1 && byte(group_at + 1) <= 1 &&
           (byte(first_tag) == kKindGroup || byte(first_tag) == kKindData);
}

std::unique_ptr<Dataset> open_dm(const std::string& path, const OpenOptions& options) {
    MappedFile file(path);
    ByteReader in(file);
    uint32_t version = in.be<uint32_t>(0, "the DM version");
    if (version != 3 && version != 4)
        throw data_error(path, "not a DigitalMicrograph file: the version at byte 0 is " + std::to_string(version) +
                                   " (expected 3 or 4)");
    const uint64_t flag_at = version == 3 ? 8 : 12;
    uint32_t flag = in.be<uint32_t>(flag_at, "the DM byte-order flag");
    if (flag > 1)
        throw data_error(path, "not a DigitalMicrograph file: the byte-order flag at byte " + std::to_string(flag_at) +
                                   " is " + std::to_string(flag) + " (expected 0 or 1)");
    const bool big_endian = flag == 0;

    TagParser parser(in, static_cast<int>(version));
    Tag root = parser.parse_root(flag_at + 4);
    TagValues values(in, big_endian);

    std::vector<Candidate> images = find_images(path, root, values);
    if (images.empty())
        throw data_error(path, "the ImageList tag group at byte " + std::to_string(child(&root, "ImageList")->at) +
                                   " holds no image data (only thumbnails or empty entries)");
    // The data is the largest image; of equal ones, the last.
    const Candidate* chosen = &images.front();
    for (const Candidate& c : images)
        if (c.elements >= chosen->elements) chosen = &c;
    const std::string where = "ImageList/[" + std::to_string(chosen->index) + "]/ImageData";

    const Tag* type_tag = find(chosen->image, {"ImageData", "DataType"});
    int64_t type_code = *values.integer(type_tag);
    std::string type_name;
    std::optional<DType> dtype = image_dtype(type_code, type_name);
    if (!dtype)
        throw data_error(path, "unsupported DM data type " + std::to_string(type_code) + " (" + type_name +
                                   ") in " + where + "/DataType at byte " + std::to_string(type_tag->offset) +
                                   "; tem reads integer, float and bool images");
    const size_t ndims = chosen->dims.size();
    if (ndims < 1 || ndims > 4)
        throw data_error(path, where + "/Dimensions lists " + std::to_string(ndims) +
                                   " extents; tem reads 1- to 4-dimensional DM data");

    const Tag* data = find(chosen->image, {"ImageData", "Data"});
    const int64_t elem = static_cast<int64_t>(dtype_size(*dtype));
    if (data->group || data->type != kTypeArray || simple_size(data->elem_type) == 0)
        throw data_error(path, where + "/Data at byte " + std::to_string(data->at) +
                                   " is not an array of numbers");
    uint64_t needed = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(chosen->elements), static_cast<uint64_t>(elem), &needed) ||
        needed != data->bytes) {
        std::string extents;
        for (size_t i = 0; i < ndims; ++i) extents += (i ? " x " : "") + std::to_string(chosen->dims[i]);
        throw data_error(path, where + "/Data at byte " + std::to_string(data->offset) + " holds " +
                                   std::to_string(data->bytes) + " bytes, but its Dimensions (" + extents + ") of " +
                                   std::string(dtype_name(*dtype)) + " need " + std::to_string(needed));
    }

    // File (numpy) order is the DM order reversed: (..., z, y, x).
    std::vector<int64_t> shape(chosen->dims.rbegin(), chosen->dims.rend());
    MappedLayout layout;
    layout.format = "dm";
    layout.dtype = *dtype;
    layout.big_endian = big_endian;
    std::vector<size_t> sig_axes;
    std::string kind;
    const int64_t offset = static_cast<int64_t>(data->offset);
    if (ndims == 3 && is_spectrum_image(chosen->image, values)) {
        // Stored (E, y, x): a frame is one spectrum, its channels one plane apart.
        layout.nav = {shape[1], shape[2]};
        layout.sig = {shape[0]};
        layout.sig_strides = {shape[1] * shape[2] * elem};
        layout.runs = {FrameRun{0, shape[1] * shape[2], 0, offset, elem}};
        sig_axes = {0};
        kind = "spectrum image, stored (energy, y, x)";
    } else {
        size_t nav_rank = ndims <= 2 ? 0 : ndims - 2;
        if (ndims == 2 && is_spectrum_2d(chosen->image, values)) nav_rank = 1;
        if (ndims == 1) kind = "spectrum";
        else if (ndims == 2) kind = nav_rank ? "line of spectra" : "image";
        else if (ndims == 3) kind = "image stack";
        else kind = "4-D scan";
        layout.nav.assign(shape.begin(), shape.begin() + static_cast<std::ptrdiff_t>(nav_rank));
        layout.sig.assign(shape.begin() + static_cast<std::ptrdiff_t>(nav_rank), shape.end());
        for (size_t a = nav_rank; a < ndims; ++a) sig_axes.push_back(a);
        int64_t frame_bytes = elem;
        for (int64_t e : layout.sig) frame_bytes *= e;
        int64_t frames = chosen->elements / (frame_bytes / elem);
        layout.runs = {FrameRun{0, frames, 0, offset, frame_bytes}};
    }
    int64_t frames = layout.runs.front().count;
    layout.nav = choose_nav(path, options, frames, layout.nav);
    check_stored_geometry(path, options, "dm", layout.sig, layout.dtype);

    layout.info.emplace_back("dm version", std::to_string(version) + " (tag data " +
                                               (big_endian ? "big" : "little") + "-endian)");
    layout.info.emplace_back("image", "ImageList/[" + std::to_string(chosen->index) + "], " + kind + ", " +
                                          std::to_string(chosen->elements * elem) + " bytes at byte " +
                                          std::to_string(offset));
    auto rows = image_info(*chosen, values, sig_axes);
    layout.info.insert(layout.info.end(), rows.begin(), rows.end());

    std::vector<MappedFile> files;
    files.push_back(std::move(file));
    return make_mapped(std::move(files), std::move(layout));
}

} // namespace tem::rt
