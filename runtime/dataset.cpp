//===- runtime/dataset.cpp - Dataset specs, format detection, elements ---===//
//
// This file implements the format-independent half of the dataset interface:
// parsing user specs ("raw:FILE?nav=4,4&sig=8,8&dtype=u16", "npy:FILE", a
// plain path), choosing the reader, converting stored elements to double and
// reading small arrays whole.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include "runtime/mmap_file.h"
#include "runtime/npy_dataset.h"
#include "runtime/raw_dataset.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>

namespace tem::rt {

namespace {

/// A dataset spec split into its reader, file and options.
struct ParsedSpec {
    std::string scheme; ///< "raw", "npy" or "" (detect)
    std::string path;
    OpenOptions options;
};

std::string all_dtype_names() {
    std::string names;
    for (DType t : kAllDTypes) {
        if (!names.empty()) names += ", ";
        names += dtype_name(t);
    }
    return names;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

/// Parses a decimal integer (the whole string; callers check the sign).
std::optional<int64_t> parse_int(std::string_view s) {
    s = trim(s);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return value;
}

/// Applies one "key=value" pair of a spec query to `options`.
void apply_spec_option(const std::string& path, std::string_view key, std::string_view value,
                       OpenOptions& options) {
    auto extents = [&](const char* what) {
        auto parsed = parse_extents(std::string(value));
        if (!parsed)
            throw data_error(path, "bad " + std::string(what) + "='" + std::string(value) +
                                       "'; expected extents like " + what + "=256,256");
        return *parsed;
    };
    if (key == "nav") {
        options.nav = extents("nav");
    } else if (key == "sig") {
        options.sig = extents("sig");
    } else if (key == "dtype") {
        auto t = parse_dtype(trim(value));
        if (!t)
            throw data_error(path, "unknown dtype '" + std::string(value) + "'; expected one of " +
                                       all_dtype_names());
        options.dtype = *t;
    } else if (key == "offset") {
        auto n = parse_int(value);
        if (!n || *n < 0)
            throw data_error(path, "bad offset='" + std::string(value) +
                                       "'; expected a number of bytes >= 0");
        options.offset = *n;
    } else if (key == "order") {
        std::string_view v = trim(value);
        if (v == "little" || v == "le")
            options.big_endian = false;
        else if (v == "big" || v == "be")
            options.big_endian = true;
        else
            throw data_error(path, "bad order='" + std::string(value) +
                                       "'; expected order=little or order=big");
    } else {
        throw data_error(path,
                         "unknown option '" + std::string(key) +
                             "' in the dataset spec; expected nav, sig, dtype, offset or order");
    }
}

/// Splits "raw:FILE?k=v&k=v" / "npy:FILE" / "FILE". Only the known reader
/// prefixes are recognised, so a plain file name may contain ':' and '?'.
ParsedSpec parse_spec(const std::string& spec) {
    ParsedSpec parsed;
    std::string rest = spec;
    for (const char* scheme : {"raw", "npy"}) {
        std::string prefix = std::string(scheme) + ":";
        if (spec.rfind(prefix, 0) == 0) {
            parsed.scheme = scheme;
            rest = spec.substr(prefix.size());
            break;
        }
    }
    if (parsed.scheme.empty()) {
        parsed.path = spec;
        return parsed;
    }
    size_t q = rest.rfind('?');
    parsed.path = rest.substr(0, q);
    if (parsed.path.empty()) throw data_error(spec, "the dataset spec names no file");
    if (q == std::string::npos) return parsed;
    std::string_view query(rest);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view item = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (trim(item).empty()) continue;
        size_t eq = item.find('=');
        if (eq == std::string_view::npos)
            throw data_error(parsed.path,
                             "option '" + std::string(item) +
                                 "' in the dataset spec has no value; write KEY=VALUE");
        apply_spec_option(parsed.path, trim(item.substr(0, eq)), item.substr(eq + 1),
                          parsed.options);
    }
    return parsed;
}

/// Flags fill what the spec left unset (the spec wins).
OpenOptions merge_options(const OpenOptions& spec, const OpenOptions& flags) {
    OpenOptions merged = spec;
    if (!merged.nav) merged.nav = flags.nav;
    if (!merged.sig) merged.sig = flags.sig;
    if (!merged.dtype) merged.dtype = flags.dtype;
    if (!merged.offset) merged.offset = flags.offset;
    if (!merged.big_endian) merged.big_endian = flags.big_endian;
    return merged;
}

bool has_extension(const std::string& path, std::string_view ext) {
    std::string name = std::filesystem::path(path).filename().string();
    if (name.size() <= ext.size()) return false;
    std::string tail = name.substr(name.size() - ext.size());
    std::transform(tail.begin(), tail.end(), tail.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return tail == ext;
}

template <typename T> T load_as(const std::byte* p, bool swap) {
    std::byte bytes[sizeof(T)];
    std::memcpy(bytes, p, sizeof(T));
    if (swap) std::reverse(bytes, bytes + sizeof(T));
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
}

} // namespace

DataError data_error(const std::string& path, const std::string& message) {
    return DataError(path + ": error: " + message);
}

int64_t Dataset::num_frames() const { return checked_product(nav_shape_).value_or(0); }

int64_t Dataset::frame_elems() const { return checked_product(sig_shape_).value_or(0); }

std::string format_shape(const std::vector<int64_t>& extents) {
    std::string text = "(";
    for (size_t axis_idx = 0; axis_idx < extents.size(); ++axis_idx) {
        if (axis_idx > 0) text += ", ";
        text += std::to_string(extents[axis_idx]);
    }
    return text + ")";
}

std::optional<std::vector<int64_t>> parse_extents(const std::string& text) {
    std::vector<int64_t> extents;
    std::string_view rest = trim(text);
    if (rest.empty()) return extents;
    // Accept "(4, 4)" as printed by tem info and NumPy.
    if (rest.front() == '(' && rest.back() == ')') rest = trim(rest.substr(1, rest.size() - 2));
    std::vector<std::string_view> items;
    while (true) {
        size_t sep = rest.find_first_of(",xX");
        items.push_back(trim(rest.substr(0, sep)));
        if (sep == std::string_view::npos) break;
        rest = rest.substr(sep + 1);
    }
    // A trailing comma, as in NumPy's "(16,)", ends the list.
    if (items.size() > 1 && items.back().empty()) items.pop_back();
    for (std::string_view item : items) {
        auto n = parse_int(item);
        if (!n) return std::nullopt;
        extents.push_back(*n);
    }
    return extents;
}

std::optional<int64_t> checked_product(const std::vector<int64_t>& extents) {
    int64_t product = 1;
    for (int64_t e : extents) {
        if (e < 0 || __builtin_mul_overflow(product, e, &product)) return std::nullopt;
    }
    return product;
}

double load_element(const std::byte* p, DType dtype, bool big_endian) {
    bool swap = big_endian != (std::endian::native == std::endian::big);
    switch (dtype) {
    case DType::Bool:
        return *reinterpret_cast<const unsigned char*>(p) != 0 ? 1.0 : 0.0;
    case DType::U8:
        return load_as<uint8_t>(p, false);
    case DType::U16:
        return load_as<uint16_t>(p, swap);
    case DType::U32:
        return load_as<uint32_t>(p, swap);
    case DType::U64:
        return static_cast<double>(load_as<uint64_t>(p, swap));
    case DType::I8:
        return load_as<int8_t>(p, false);
    case DType::I16:
        return load_as<int16_t>(p, swap);
    case DType::I32:
        return load_as<int32_t>(p, swap);
    case DType::I64:
        return static_cast<double>(load_as<int64_t>(p, swap));
    case DType::F32:
        return load_as<float>(p, swap);
    case DType::F64:
        return load_as<double>(p, swap);
    }
    return 0.0;
}

/// Picks the reader:
///   1. an explicit "raw:" or "npy:" prefix;
///   2. the NumPy magic at the start of the file;
///   3. the extension ".npy" (the npy reader then reports the bad header);
///   4. raw, when any raw geometry option was given;
///   5. otherwise an error asking for the geometry.
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const OpenOptions& options) {
    ParsedSpec parsed = parse_spec(spec);
    OpenOptions merged = merge_options(parsed.options, options);
    if (parsed.scheme == "raw") return open_raw(parsed.path, merged);
    if (parsed.scheme == "npy") return open_npy(parsed.path, merged);

    const std::string& path = parsed.path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        std::string message = "no such file or directory";
        if (path.find('?') != std::string::npos)
            message +=
                "; geometry options need the raw: prefix, as in raw:FILE?nav=..&sig=..&dtype=..";
        throw data_error(path, message);
    }
    std::string head = read_file_head(path, 8);
    if (has_npy_magic(head) || has_extension(path, ".npy")) return open_npy(path, merged);
    if (merged.nav || merged.sig || merged.dtype) return open_raw(path, merged);
    throw data_error(path, "unknown data format; for a raw file give its geometry as "
                           "raw:FILE?nav=..&sig=..&dtype=.. or with --nav/--sig/--dtype");
}

Array read_array(const std::string& spec, const OpenOptions& options) {
    std::unique_ptr<Dataset> ds = open_dataset(spec, options);
    Array array;
    array.shape = ds->nav_shape();
    array.shape.insert(array.shape.end(), ds->sig_shape().begin(), ds->sig_shape().end());
    array.dtype = ds->dtype();
    int64_t frames = ds->num_frames();
    int64_t elems = ds->frame_elems();
    auto total = checked_product(array.shape);
    if (!total)
        throw data_error(ds->path(), "array " + format_shape(array.shape) + " is too large");
    array.values.resize(static_cast<size_t>(*total));
    std::vector<int64_t> index(ds->sig_shape().size(), 0);
    size_t out = 0;
    for (int64_t frame_idx = 0; frame_idx < frames; ++frame_idx) {
        const std::byte* base = ds->frame(frame_idx);
        // Walk the sig axes in C order through the strides, so that any
        // layout a reader reports is honoured.
        std::fill(index.begin(), index.end(), 0);
        for (int64_t elem_idx = 0; elem_idx < elems; ++elem_idx) {
            int64_t byte_offset = 0;
            for (size_t axis_idx = 0; axis_idx < index.size(); ++axis_idx)
                byte_offset += index[axis_idx] * ds->sig_strides()[axis_idx];
            array.values[out++] = load_element(base + byte_offset, ds->dtype(), ds->big_endian());
            for (size_t axis_idx = index.size(); axis_idx-- > 0;) {
                if (++index[axis_idx] < ds->sig_shape()[axis_idx]) break;
                index[axis_idx] = 0;
            }
        }
    }
    return array;
}

} // namespace tem::rt
