//===- runtime/dataset.cpp - Dataset specs, format detection, elements ---===//
//
// This file implements the format-independent half of the dataset interface:
// parsing user specs ("raw:FILE?nav=4,4&sig=8,8&dtype=u16", "npy:FILE", a
// plain path), choosing the reader, converting stored elements to double and
// reading small arrays whole.
//
//===----------------------------------------------------------------------===//
#include "runtime/dataset.h"

#include "runtime/formats/formats.h"
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
    std::string scheme; ///< a reader name (kFormats) or "" (detect)
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

/// Reader names a spec may start with ("mib:scan.mib").
constexpr const char* kFormats[] = {"raw", "npy", "mib", "empad", "blo", "tvips", "mrc", "ser", "dm", "hdf5"};

/// Splits "raw:FILE?k=v&k=v" / "mib:FILE" / "FILE". Only the known reader
/// prefixes are recognised, so a plain file name may contain ':' and '?'.
ParsedSpec parse_spec(const std::string& spec) {
    ParsedSpec parsed;
    std::string rest = spec;
    for (const char* scheme : kFormats) {
        std::string prefix = std::string(scheme) + ":";
        if (spec.rfind(prefix, 0) == 0) {
            parsed.scheme = scheme;
            rest = spec.substr(prefix.size());
            break;
        }
    }
    if (parsed.scheme != "raw" && parsed.scheme != "npy") {
        // Only raw and npy specs take options; other names may hold '?'.
        parsed.path = rest;
        if (parsed.path.empty()) throw data_error(spec, "the dataset spec names no file");
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

namespace {

/// Splits "FILE.h5:/inner/path" when FILE.h5 exists; otherwise the whole
/// spec is the path.
std::pair<std::string, std::string> split_hdf5_path(const std::string& spec) {
    for (size_t colon = spec.find(":/"); colon != std::string::npos; colon = spec.find(":/", colon + 1)) {
        std::string file = spec.substr(0, colon);
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return {file, spec.substr(colon + 1)};
    }
    return {spec, ""};
}

bool file_is_readable(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// The reader for a file, by content, then by extension; "" when unknown.
std::string detect_format(const std::string& path) {
    std::string head = read_file_head(path, 4096);
    if (has_npy_magic(head)) return "npy";
    if (has_hdf5_signature(head)) return "hdf5";
    if (looks_like_mib(head)) return "mib";
    if (looks_like_blo(head)) return "blo";
    if (looks_like_ser(head)) return "ser";
    if (looks_like_dm(head)) return "dm";
    if (looks_like_mrc(head)) return "mrc";
    if (looks_like_empad(head)) return "empad";
    if (looks_like_tvips(head) && has_extension(path, ".tvips")) return "tvips";
    // Extensions: the reader then explains what is wrong with the header.
    static const std::pair<const char*, const char*> kExtensions[] = {
        {".npy", "npy"},   {".mib", "mib"},     {".hdr", "mib"},  {".blo", "blo"},  {".ser", "ser"},
        {".dm3", "dm"},    {".dm4", "dm"},      {".mrc", "mrc"},  {".mrcs", "mrc"}, {".tvips", "tvips"},
        {".xml", "empad"}, {".h5", "hdf5"},     {".hdf5", "hdf5"}, {".emd", "hdf5"}, {".hspy", "hdf5"},
        {".nxs", "hdf5"},  {".cxi", "hdf5"}};
    for (const auto& [ext, format] : kExtensions)
        if (has_extension(path, ext)) return format;
    return "";
}

std::unique_ptr<Dataset> open_format(const std::string& format, const std::string& spec_path,
                                     const OpenOptions& options) {
    if (format == "raw") return open_raw(spec_path, options);
    if (format == "hdf5") {
        auto [file, inner] = split_hdf5_path(spec_path);
        return open_hdf5(file, inner, options);
    }
    if (format == "npy") return open_npy(spec_path, options);
    if (format == "mib") return open_mib(spec_path, options);
    if (format == "empad") return open_empad(spec_path, options);
    if (format == "blo") return open_blo(spec_path, options);
    if (format == "tvips") return open_tvips(spec_path, options);
    if (format == "mrc") return open_mrc(spec_path, options);
    if (format == "ser") return open_ser(spec_path, options);
    if (format == "dm") return open_dm(spec_path, options);
    throw DataError(spec_path + ": error: internal: unknown reader '" + format + "'");
}

/// A dataset seen through --skip-frames: position i is stored frame i + skip,
/// or a frame of zeros where that does not exist.
class SkippedDataset final : public Dataset {
public:
    SkippedDataset(std::unique_ptr<Dataset> inner, int64_t skip, std::vector<int64_t> nav)
        : inner_(std::move(inner)), skip_(skip) {
        nav_shape_ = std::move(nav);
        sig_shape_ = inner_->sig_shape();
        sig_strides_ = inner_->sig_strides();
        dtype_ = inner_->dtype();
        big_endian_ = inner_->big_endian();
        mapped_ = inner_->mapped();
        path_ = inner_->path();
        format_ = inner_->format();
        // Zeros covering the span of one frame through its strides.
        int64_t span = static_cast<int64_t>(dtype_size(dtype_));
        for (size_t a = 0; a < sig_shape_.size(); ++a) span += (sig_shape_[a] - 1) * sig_strides_[a];
        zeros_.assign(static_cast<size_t>(span), std::byte{0});
        // Evenly spaced when every position has a stored frame.
        bool complete = skip_ >= 0 && skip_ + num_frames() <= inner_->num_frames();
        frame_stride_ = complete ? inner_->frame_stride() : 0;
    }

    const std::byte* frame(int64_t index) const override {
        int64_t j = index + skip_;
        if (j < 0 || j >= inner_->num_frames()) return zeros_.data();
        return inner_->frame(j);
    }

    void read_frames(int64_t first, int64_t count, std::byte* out) const override {
        const size_t bytes = static_cast<size_t>(frame_elems()) * dtype_size(dtype_);
        for (int64_t f = first; f < first + count;) {
            int64_t j = f + skip_;
            if (j < 0 || j >= inner_->num_frames()) {
                std::memset(out, 0, bytes);
                out += bytes;
                ++f;
                continue;
            }
            // The longest run of stored frames goes to the reader at once.
            int64_t n = std::min(first + count - f, inner_->num_frames() - j);
            inner_->read_frames(j, n, out);
            out += bytes * static_cast<size_t>(n);
            f += n;
        }
    }

    int64_t block_frames() const override { return inner_->block_frames(); }

    int64_t contiguous_frames(int64_t first) const override {
        int64_t j = first + skip_;
        if (j < 0 || j >= inner_->num_frames()) return 1;
        return std::min(inner_->contiguous_frames(j), num_frames() - first);
    }

    void advise_sequential(int64_t first, int64_t count) const override {
        int64_t a = std::max<int64_t>(0, first + skip_);
        int64_t b = std::min(inner_->num_frames(), first + count + skip_);
        if (b > a) inner_->advise_sequential(a, b - a);
    }

    std::vector<std::pair<std::string, std::string>> info() const override {
        auto rows = inner_->info();
        rows.emplace_back("skip frames", std::to_string(skip_) + " (stored frames: " +
                                             std::to_string(inner_->num_frames()) + ")");
        return rows;
    }

private:
    std::unique_ptr<Dataset> inner_;
    int64_t skip_;
    std::vector<std::byte> zeros_;
};

/// Applies --skip-frames: the reader opens the stored frames as they are,
/// then the scan (of --nav positions, or as many as stored) is laid over them.
std::unique_ptr<Dataset> apply_skip(std::unique_ptr<Dataset> ds, const OpenOptions& options) {
    int64_t skip = *options.skip_frames;
    std::vector<int64_t> nav = options.nav ? *options.nav : ds->nav_shape();
    auto frames = checked_product(nav);
    if (!frames || *frames <= 0) throw data_error(ds->path(), "--nav " + format_shape(nav) + " has no positions");
    if (skip >= ds->num_frames() || skip <= -*frames)
        throw data_error(ds->path(), "--skip-frames " + std::to_string(skip) + " leaves no stored frame in the scan (" +
                                         std::to_string(ds->num_frames()) + " stored frames, " +
                                         std::to_string(*frames) + " scan positions)");
    return std::make_unique<SkippedDataset>(std::move(ds), skip, std::move(nav));
}

} // namespace

/// Picks the reader:
///   1. an explicit "FORMAT:" prefix ("raw:", "mib:", "hdf5:", ...);
///   2. "FILE.h5:/inner/path" names a dataset inside an HDF5 file;
///   3. the file's content (magic bytes, header text);
///   4. its extension (the reader then reports what is wrong with the header);
///   5. raw, when any raw geometry option was given;
///   6. otherwise an error asking for the geometry.
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const OpenOptions& options) {
    if (options.skip_frames) {
        // The reader sees the stored frames; the scan shape applies after.
        OpenOptions stored = options;
        stored.skip_frames.reset();
        // Raw data needs its nav to be read at all; any other format stores
        // its frames and the scan shape applies after.
        ParsedSpec parsed = parse_spec(spec);
        bool raw = parsed.scheme == "raw" ||
                   (parsed.scheme.empty() && split_hdf5_path(parsed.path).second.empty() &&
                    file_is_readable(parsed.path) && detect_format(parsed.path).empty());
        if (!raw) stored.nav.reset();
        return apply_skip(open_dataset(spec, stored), options);
    }
    ParsedSpec parsed = parse_spec(spec);
    OpenOptions merged = merge_options(parsed.options, options);
    if (!parsed.scheme.empty()) return open_format(parsed.scheme, parsed.path, merged);

    auto [file, inner] = split_hdf5_path(parsed.path);
    if (!inner.empty()) return open_hdf5(file, inner, merged);
    const std::string& path = parsed.path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
        std::string message = "no such file or directory";
        if (path.find('?') != std::string::npos)
            message +=
                "; geometry options need the raw: prefix, as in raw:FILE?nav=..&sig=..&dtype=..";
        throw data_error(path, message);
    }
    std::string format = detect_format(path);
    // Raw geometry flags on an unrecognised file mean raw data.
    if (format.empty() && (merged.nav || merged.sig || merged.dtype)) format = "raw";
    if (format.empty())
        throw data_error(path, "unknown data format; for a raw file give its geometry as "
                               "raw:FILE?nav=..&sig=..&dtype=.. or with --nav/--sig/--dtype");
    return open_format(format, path, merged);
}

void Dataset::read_frames(int64_t first, int64_t count, std::byte* out) const {
    const size_t elem = dtype_size(dtype_);
    const bool swap = big_endian_ != (std::endian::native == std::endian::big) && elem > 1;
    const int64_t elems = frame_elems();
    const size_t axes = sig_shape_.size();
    const bool contiguous = sig_strides_ == contiguous_strides(sig_shape_, static_cast<int64_t>(elem));
    std::vector<int64_t> index(axes, 0);
    for (int64_t f = first; f < first + count; ++f) {
        const std::byte* base = frame(f);
        if (contiguous) {
            std::memcpy(out, base, static_cast<size_t>(elems) * elem);
        } else {
            // Walk the sig axes in C order through the strides.
            std::fill(index.begin(), index.end(), 0);
            for (int64_t e = 0; e < elems; ++e) {
                int64_t offset = 0;
                for (size_t a = 0; a < axes; ++a) offset += index[a] * sig_strides_[a];
                std::memcpy(out + e * static_cast<int64_t>(elem), base + offset, elem);
                for (size_t a = axes; a-- > 0;) {
                    if (++index[a] < sig_shape_[a]) break;
                    index[a] = 0;
                }
            }
        }
        if (swap)
            for (int64_t e = 0; e < elems; ++e) std::reverse(out + e * elem, out + (e + 1) * elem);
        out += static_cast<size_t>(elems) * elem;
    }
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& extents, int64_t elem_bytes) {
    std::vector<int64_t> strides(extents.size(), 0);
    int64_t stride = elem_bytes;
    for (size_t a = extents.size(); a-- > 0;) {
        strides[a] = stride;
        stride *= extents[a];
    }
    return strides;
}

Array read_array(const std::string& spec, const OpenOptions& options) {
    std::unique_ptr<Dataset> ds = open_dataset(spec, options);
    Array array;
    array.shape = ds->nav_shape();
    array.shape.insert(array.shape.end(), ds->sig_shape().begin(), ds->sig_shape().end());
    array.dtype = ds->dtype();
    auto total = checked_product(array.shape);
    if (!total)
        throw data_error(ds->path(), "array " + format_shape(array.shape) + " is too large");
    array.values.resize(static_cast<size_t>(*total));
    const int64_t elems = ds->frame_elems();
    const size_t elem = dtype_size(ds->dtype());
    std::vector<std::byte> frame(static_cast<size_t>(elems) * elem);
    size_t out = 0;
    for (int64_t frame_idx = 0; frame_idx < ds->num_frames(); ++frame_idx) {
        ds->read_frames(frame_idx, 1, frame.data());
        for (int64_t e = 0; e < elems; ++e)
            array.values[out++] = load_element(frame.data() + e * elem, ds->dtype(), false);
    }
    return array;
}

} // namespace tem::rt
