//===- runtime/npy_dataset.cpp - NumPy .npy arrays -----------------------===//
//
// This file implements the .npy reader. The header is a Python dict literal,
// e.g. {'descr': '<u2', 'fortran_order': False, 'shape': (3, 2, 256, 256), },
// parsed here with a small recursive-descent reader of the Python literal
// subset NumPy writes (strings, ints, booleans, None, tuples, lists, dicts),
// so that key order, spacing and trailing commas do not matter.
//
//===----------------------------------------------------------------------===//
#include "runtime/npy_dataset.h"

#include "runtime/mmap_file.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace tem::rt {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

/// A parsed Python literal. Tuples and lists are both `items`.
struct PyValue {
    enum class Kind { String, Int, Bool, None, Sequence, Dict } kind = Kind::None;
    std::string text;
    int64_t number = 0;
    bool flag = false;
    std::vector<PyValue> items;
    std::map<std::string, PyValue> dict;
};

/// Recursive-descent reader of one Python literal; throws DataError with
/// the header text position on malformed input.
class PyLiteralParser {
public:
    PyLiteralParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

    PyValue parse_all() {
        PyValue value = parse_value();
        skip_space();
        if (pos_ != text_.size()) fail("unexpected text after the header dict");
        return value;
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        throw data_error(path_, "malformed npy header: " + what + " at header character " +
                                    std::to_string(pos_) + " in " + std::string(text_));
    }

    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    }

    bool consume(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    PyValue parse_value() {
        skip_space();
        if (pos_ >= text_.size()) fail("unexpected end");
        char c = text_[pos_];
        if (c == '\'' || c == '"') return parse_string();
        if (c == '(') return parse_sequence(')');
        if (c == '[') return parse_sequence(']');
        if (c == '{') return parse_dict();
        if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return parse_int();
        if (std::isalpha(static_cast<unsigned char>(c))) return parse_word();
        fail(std::string("unexpected character '") + c + "'");
    }

    PyValue parse_string() {
        char quote = text_[pos_++];
        PyValue value;
        value.kind = PyValue::Kind::String;
        while (pos_ < text_.size() && text_[pos_] != quote) {
            if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
            value.text += text_[pos_++];
        }
        if (pos_ >= text_.size()) fail("unterminated string");
        ++pos_;
        return value;
    }

    PyValue parse_int() {
        size_t start = pos_;
        bool negative = text_[pos_] == '-';
        if (negative) ++pos_;
        PyValue value;
        value.kind = PyValue::Kind::Int;
        if (pos_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[pos_])))
            fail("bad number");
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
            int digit = text_[pos_++] - '0';
            if (__builtin_mul_overflow(value.number, 10, &value.number) ||
                __builtin_add_overflow(value.number, digit, &value.number)) {
                pos_ = start;
                fail("number too large");
            }
        }
        // Python 2 wrote long integers with an 'L' suffix.
        if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;
        if (negative) value.number = -value.number;
        return value;
    }

    PyValue parse_word() {
        size_t start = pos_;
        while (pos_ < text_.size() && std::isalnum(static_cast<unsigned char>(text_[pos_]))) ++pos_;
        std::string_view word = text_.substr(start, pos_ - start);
        PyValue value;
        if (word == "True" || word == "False") {
            value.kind = PyValue::Kind::Bool;
            value.flag = word == "True";
        } else if (word != "None") {
            pos_ = start;
            fail("unknown name '" + std::string(word) + "'");
        }
        return value;
    }

    PyValue parse_sequence(char close) {
        ++pos_;
        PyValue value;
        value.kind = PyValue::Kind::Sequence;
        while (!consume(close)) {
            value.items.push_back(parse_value());
            if (!consume(',')) {
                if (!consume(close)) fail(std::string("expected ',' or '") + close + "'");
                break;
            }
        }
        return value;
    }

    PyValue parse_dict() {
        ++pos_;
        PyValue value;
        value.kind = PyValue::Kind::Dict;
        while (!consume('}')) {
            PyValue key = parse_value();
            if (key.kind != PyValue::Kind::String) fail("dict key is not a string");
            if (!consume(':')) fail("expected ':'");
            value.dict[key.text] = parse_value();
            if (!consume(',')) {
                if (!consume('}')) fail("expected ',' or '}'");
                break;
            }
        }
        return value;
    }

    const std::string& path_;
    std::string_view text_;
    size_t pos_ = 0;
};

/// Element type and byte order from a descr string such as "<u2".
struct NpyElement {
    DType dtype;
    bool big_endian;
};

NpyElement parse_descr(const std::string& path, const std::string& descr) {
    std::string_view d = descr;
    bool big_endian = false;
    // '|' (not applicable) and '=' (native) both mean little-endian here:
    // tem runs on little-endian machines.
    if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '|' || d[0] == '=')) {
        big_endian = d[0] == '>';
        d.remove_prefix(1);
    }
    auto unsupported = [&](const std::string& why) {
        return data_error(path, "unsupported npy element type '" + descr + "'" + why +
                                    "; tem reads bool, u8..u64, i8..i64, f32 and f64");
    };
    if (d.size() < 2) throw unsupported("");
    char kind = d[0];
    std::string_view size = d.substr(1);
    struct Entry {
        char kind;
        std::string_view size;
        DType dtype;
    };
    static constexpr Entry kTable[] = {
        {'b', "1", DType::Bool}, {'u', "1", DType::U8},  {'u', "2", DType::U16},
        {'u', "4", DType::U32},  {'u', "8", DType::U64}, {'i', "1", DType::I8},
        {'i', "2", DType::I16},  {'i', "4", DType::I32}, {'i', "8", DType::I64},
        {'f', "4", DType::F32},  {'f', "8", DType::F64}};
    for (const Entry& e : kTable)
        if (e.kind == kind && e.size == size)
            return {e.dtype, big_endian && dtype_size(e.dtype) > 1};
    switch (kind) {
    case 'c':
        throw unsupported(" (complex)");
    case 'f':
        throw unsupported(size == "2" ? " (half precision)" : " (extended precision)");
    case 'S':
    case 'a':
    case 'U':
        throw unsupported(" (strings)");
    case 'O':
        throw unsupported(" (Python objects)");
    case 'V':
        throw unsupported(" (structured or void)");
    case 'M':
    case 'm':
        throw unsupported(" (dates and times)");
    default:
        throw unsupported("");
    }
}

/// A .npy file mapped whole; the data is one C-order block after the header.
class NpyDataset final : public Dataset {
public:
    NpyDataset(MappedFile file, int64_t data_offset, std::string version, std::string descr)
        : file_(std::move(file)), data_offset_(data_offset), version_(std::move(version)),
          descr_(std::move(descr)) {
        path_ = file_.path();
        format_ = "npy";
    }

    void set_geometry(std::vector<int64_t> nav, std::vector<int64_t> sig, NpyElement element) {
        nav_shape_ = std::move(nav);
        sig_shape_ = std::move(sig);
        dtype_ = element.dtype;
        big_endian_ = element.big_endian;
        sig_strides_.assign(sig_shape_.size(), 0);
        int64_t stride = static_cast<int64_t>(dtype_size(dtype_));
        for (size_t axis_idx = sig_shape_.size(); axis_idx-- > 0;) {
            sig_strides_[axis_idx] = stride;
            stride *= sig_shape_[axis_idx];
        }
        frame_stride_ = stride;
    }

    const std::byte* frame(int64_t index) const override {
        return file_.data() + data_offset_ + index * frame_stride_;
    }

    void advise_sequential(int64_t first, int64_t count) const override {
        file_.advise(static_cast<size_t>(data_offset_ + first * frame_stride_),
                     static_cast<size_t>(count * frame_stride_), true);
    }

    std::vector<std::pair<std::string, std::string>> info() const override {
        return {{"npy version", version_},
                {"descr", descr_},
                {"header", std::to_string(data_offset_) + " bytes"},
                {"byte order", big_endian_ ? "big-endian" : "little-endian"},
                {"access", "zero-copy (mmap)"}};
    }

private:
    MappedFile file_;
    int64_t data_offset_;
    std::string version_, descr_;
};

uint32_t read_le(const std::byte* p, int bytes) {
    uint32_t value = 0;
    for (int byte_idx = bytes - 1; byte_idx >= 0; --byte_idx)
        value = (value << 8) | static_cast<uint8_t>(p[byte_idx]);
    return value;
}

const PyValue& require_key(const std::string& path, const PyValue& header, const char* key) {
    auto it = header.dict.find(key);
    if (it == header.dict.end())
        throw data_error(path, std::string("malformed npy header: no '") + key + "' entry");
    return it->second;
}

} // namespace

bool has_npy_magic(std::string_view head) { return head.substr(0, kMagic.size()) == kMagic; }

/// Reads the header, then:
///   1. maps descr to a dtype and byte order, rejects Fortran order;
///   2. checks the file holds every element the shape promises;
///   3. splits the shape into nav and sig by rank, or by options.sig;
///   4. re-shapes nav to options.nav when given (same number of frames).
std::unique_ptr<Dataset> open_npy(const std::string& path, const OpenOptions& options) {
    MappedFile file(path);
    std::string_view bytes(reinterpret_cast<const char*>(file.data()), file.size());
    if (!has_npy_magic(bytes))
        throw data_error(path, "not a NumPy .npy file (it does not start with \\x93NUMPY)");
    if (bytes.size() < 10)
        throw data_error(path, "npy header is truncated at byte " + std::to_string(bytes.size()));
    int major = static_cast<uint8_t>(bytes[6]);
    int minor = static_cast<uint8_t>(bytes[7]);
    if (major < 1 || major > 3)
        throw data_error(path, "unsupported npy format version " + std::to_string(major) + "." +
                                   std::to_string(minor) + "; tem reads versions 1.0, 2.0 and 3.0");
    int len_bytes = major == 1 ? 2 : 4;
    size_t prefix = 8 + static_cast<size_t>(len_bytes);
    if (bytes.size() < prefix)
        throw data_error(path, "npy header is truncated at byte " + std::to_string(bytes.size()));
    size_t header_len = read_le(file.data() + 8, len_bytes);
    if (bytes.size() < prefix + header_len)
        throw data_error(
            path, "file is " + std::to_string(bytes.size()) + " bytes, but its npy header needs " +
                      std::to_string(prefix + header_len) + " bytes (truncated at byte " +
                      std::to_string(bytes.size()) + ")");
    // Version 3.0 only changes the header encoding to UTF-8; every key and
    // value NumPy writes for the supported dtypes is ASCII either way.
    std::string_view header_text = bytes.substr(prefix, header_len);
    PyValue header = PyLiteralParser(path, header_text).parse_all();
    if (header.kind != PyValue::Kind::Dict)
        throw data_error(path, "malformed npy header: it is not a dict");

    const PyValue& descr = require_key(path, header, "descr");
    if (descr.kind == PyValue::Kind::Sequence)
        throw data_error(path, "unsupported npy element type: structured dtype; tem reads bool, "
                               "u8..u64, i8..i64, f32 and f64");
    if (descr.kind != PyValue::Kind::String)
        throw data_error(path, "malformed npy header: 'descr' is not a string");
    NpyElement element = parse_descr(path, descr.text);

    const PyValue& shape_value = require_key(path, header, "shape");
    if (shape_value.kind != PyValue::Kind::Sequence)
        throw data_error(path, "malformed npy header: 'shape' is not a tuple");
    std::vector<int64_t> shape;
    for (const PyValue& item : shape_value.items) {
        if (item.kind != PyValue::Kind::Int || item.number < 0)
            throw data_error(path, "malformed npy header: bad 'shape' entry");
        shape.push_back(item.number);
    }

    const PyValue& fortran = require_key(path, header, "fortran_order");
    if (fortran.kind != PyValue::Kind::Bool)
        throw data_error(path, "malformed npy header: 'fortran_order' is not True or False");
    // With at most one axis longer than 1, Fortran and C order are the same bytes.
    int long_axes = 0;
    for (int64_t e : shape) long_axes += e > 1 ? 1 : 0;
    if (fortran.flag && long_axes > 1)
        throw data_error(path,
                         "Fortran-order arrays are not supported; save with np.ascontiguousarray");

    std::string shape_text = format_shape(shape) + " " + std::string(dtype_name(element.dtype));
    auto elems = checked_product(shape);
    int64_t data_bytes = 0;
    int64_t data_offset = static_cast<int64_t>(prefix + header_len);
    if (!elems ||
        __builtin_mul_overflow(*elems, static_cast<int64_t>(dtype_size(element.dtype)),
                               &data_bytes) ||
        data_bytes > INT64_MAX - data_offset)
        throw data_error(path, "npy shape " + shape_text + " is too large");
    int64_t needed = data_offset + data_bytes;
    int64_t size = static_cast<int64_t>(bytes.size());
    if (size < needed)
        throw data_error(path, "file is " + std::to_string(size) + " bytes, but the npy header " +
                                   std::to_string(data_offset) + " + shape " + shape_text +
                                   " needs " + std::to_string(needed) +
                                   " bytes (truncated at byte " + std::to_string(size) + ")");

    if (options.dtype && *options.dtype != element.dtype)
        throw data_error(path, "the file holds " + std::string(dtype_name(element.dtype)) +
                                   ", not " + std::string(dtype_name(*options.dtype)) +
                                   " as given; drop the dtype option");
    if (options.offset && *options.offset != data_offset)
        throw data_error(path, "the npy data starts at byte " + std::to_string(data_offset) +
                                   ", not at offset " + std::to_string(*options.offset) +
                                   " as given; drop the offset option");
    if (options.big_endian && *options.big_endian != element.big_endian &&
        dtype_size(element.dtype) > 1)
        throw data_error(path, std::string("the file is ") +
                                   (element.big_endian ? "big" : "little") +
                                   "-endian; drop the order option");

    // Split nav | sig: two sig axes unless the array has fewer than three axes.
    size_t sig_rank = shape.size() >= 2 ? 2 : shape.size();
    if (options.sig) {
        const std::vector<int64_t>& sig = *options.sig;
        bool suffix =
            sig.size() <= shape.size() &&
            std::equal(sig.begin(), sig.end(), shape.end() - static_cast<ptrdiff_t>(sig.size()));
        if (!suffix)
            throw data_error(path, "the npy shape " + format_shape(shape) +
                                       " does not end in sig " + format_shape(sig) + " as given");
        sig_rank = sig.size();
    }
    std::vector<int64_t> nav(shape.begin(), shape.end() - static_cast<ptrdiff_t>(sig_rank));
    std::vector<int64_t> sig(shape.end() - static_cast<ptrdiff_t>(sig_rank), shape.end());
    if (options.nav) {
        const std::vector<int64_t>& wanted = *options.nav;
        for (int64_t e : wanted) {
            if (e <= 0)
                throw data_error(path, "nav " + format_shape(wanted) + " has an extent " +
                                           std::to_string(e) + "; every extent must be at least 1");
        }
        auto wanted_frames = checked_product(wanted);
        int64_t frames = checked_product(nav).value_or(0);
        if (!wanted_frames || *wanted_frames != frames)
            throw data_error(path, "cannot re-shape nav " + format_shape(nav) + " (" +
                                       std::to_string(frames) + " frames) to " +
                                       format_shape(wanted) + " (" +
                                       std::to_string(wanted_frames.value_or(0)) + " frames)");
        nav = wanted;
    }

    std::string version = std::to_string(major) + "." + std::to_string(minor);
    auto ds = std::make_unique<NpyDataset>(std::move(file), data_offset, version, descr.text);
    ds->set_geometry(std::move(nav), std::move(sig), element);
    return ds;
}

} // namespace tem::rt
