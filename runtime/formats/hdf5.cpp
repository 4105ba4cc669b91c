//===- runtime/formats/hdf5.cpp - HDF5 files (EMD, Velox, Dectris, ...) --===//
//
// This file implements the HDF5 reader. It finds the detector data (a path
// given after the file name, or the conventions of EMD, Velox, py4DSTEM,
// HyperSpy, NeXus and Dectris master files, or the largest array), splits
// it into nav and sig axes, and returns
//   * a zero-copy mapping (make_mapped) of contiguous, unfiltered datasets,
//     at the address HDF5 reports (H5Dget_offset);
//   * otherwise a decoding Dataset: chunked data is read chunk by chunk as
//     raw bytes (H5Dread_chunk) and decoded by tem (hdf5_filters.h) into a
//     per-thread cache, or read through HDF5's own pipeline (H5Dread) for
//     filters tem does not decode and for compact, virtual and external
//     layouts.
// Every HDF5 call holds one process-wide lock; decompression runs outside it,
// so several threads decode at once.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/formats.h"
#include "runtime/formats/hdf5_filters.h"
#include "runtime/formats/mapped.h"

#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <utility>

namespace tem::rt {

namespace {

namespace fs = std::filesystem;
using h5filters::Filter;

constexpr char kSignature[] = "\x89HDF\r\n\x1a\n";
constexpr size_t kSignatureOffsets[] = {0, 512, 1024, 2048};

//===----------------------------------------------------------------------===//
// Calling HDF5
//===----------------------------------------------------------------------===//

/// Serialises every HDF5 call of this reader (the library may be built
/// without thread safety; when it is thread-safe this costs nothing extra).
/// Recursive, so that helpers may lock again.
std::recursive_mutex& hdf5_mutex() {
    static std::recursive_mutex mutex;
    return mutex;
}

/// Holds the HDF5 lock. The first lock in each thread also silences HDF5's
/// error printing for that thread (error stacks are per thread), so users
/// see only tem's messages.
class H5Lock {
public:
    H5Lock() : lock_(hdf5_mutex()) {
        thread_local bool quiet = false;
        if (!quiet) {
            H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
            quiet = true;
        }
    }

private:
    std::unique_lock<std::recursive_mutex> lock_;
};

/// Owns one HDF5 identifier and closes it (under the lock) with the
/// matching H5?close.
class Hid {
public:
    Hid() = default;
    Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), close_(other.close_) {}
    Hid& operator=(Hid&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
            close_ = other.close_;
        }
        return *this;
    }
    Hid(const Hid&) = delete;
    Hid& operator=(const Hid&) = delete;
    ~Hid() { reset(); }

    void reset() {
        if (id_ >= 0 && close_) {
            H5Lock lock;
            close_(id_);
        }
        id_ = H5I_INVALID_HID;
    }
    hid_t get() const { return id_; }
    bool ok() const { return id_ >= 0; }

private:
    hid_t id_ = H5I_INVALID_HID;
    herr_t (*close_)(hid_t) = nullptr;
};

herr_t innermost_error(unsigned n, const H5E_error2_t* err, void* data) {
    if (n == 0 && err->desc) *static_cast<std::string*>(data) = err->desc;
    return 0;
}

/// The most specific message on this thread's HDF5 error stack ("" when
/// empty), which is then cleared.
std::string hdf5_detail() {
    std::string text;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &text);
    H5Eclear2(H5E_DEFAULT);
    return text;
}

/// " (HDF5: DETAIL)" or "" when HDF5 said nothing.
std::string detail_suffix() {
    std::string d = hdf5_detail();
    return d.empty() ? "" : " (HDF5: " + d + ")";
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string text;
    for (size_t i = 0; i < items.size(); ++i) text += (i ? sep : "") + items[i];
    return text;
}

std::string number_text(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

/// "/a/b" + "c" -> "/a/b/c"; "/" + "c" -> "/c".
std::string child_path(const std::string& parent, const std::string& name) {
    return parent == "/" ? "/" + name : parent + "/" + name;
}

std::string parent_path(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

//===----------------------------------------------------------------------===//
// Signature and superblock
//===----------------------------------------------------------------------===//

/// Offset of the HDF5 signature in `head` (0, 512, 1024 or 2048), or -1.
int64_t signature_offset(std::string_view head) {
    for (size_t offset : kSignatureOffsets)
        if (head.size() >= offset + 8 && head.compare(offset, 8, std::string_view(kSignature, 8)) == 0)
            return static_cast<int64_t>(offset);
    return -1;
}

uint64_t read_le(std::string_view head, size_t offset, size_t bytes) {
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(head[offset + i]);
    return v;
}

/// Checks the end-of-file address the superblock records against the file
/// size, so that a truncated file is reported as such (HDF5 itself only says
/// it cannot open it).
void check_superblock(const std::string& path, std::string_view head, size_t sig, uint64_t file_size) {
    if (head.size() < sig + 16)
        throw data_error(path, "truncated: the file has " + std::to_string(file_size) +
                                   " bytes, too few for the HDF5 superblock at byte " + std::to_string(sig));
    const unsigned version = static_cast<unsigned char>(head[sig + 8]);
    size_t offsets_size = 0, base_at = 0;
    if (version == 0 || version == 1) {
        offsets_size = static_cast<unsigned char>(head[sig + 13]);
        base_at = sig + (version == 0 ? 24 : 28);
    } else if (version == 2 || version == 3) {
        offsets_size = static_cast<unsigned char>(head[sig + 9]);
        base_at = sig + 12;
    } else {
        return;  // a future layout: let HDF5 judge
    }
    if (offsets_size != 2 && offsets_size != 4 && offsets_size != 8) return;
    const size_t eof_at = base_at + 2 * offsets_size;
    if (head.size() < eof_at + offsets_size)
        throw data_error(path, "truncated: the file has " + std::to_string(file_size) +
                                   " bytes, too few for the HDF5 superblock at byte " + std::to_string(sig));
    const uint64_t undefined = offsets_size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * offsets_size)) - 1;
    // The library compares this address, user block included, with the size.
    uint64_t eof = read_le(head, eof_at, offsets_size);
    if (eof == undefined) return;
    if (eof > file_size)
        throw data_error(path, "truncated: the HDF5 superblock says the file ends at byte " + std::to_string(eof) +
                                   ", but it has " + std::to_string(file_size) + " bytes");
}

/// Opens `path` read-only after checking its signature and size. Throws
/// DataError naming the file.
Hid open_file(const std::string& path) {
    std::string head = read_file_head(path, 4096);
    std::error_code ec;
    uint64_t size = fs::file_size(path, ec);
    if (ec) throw data_error(path, "cannot read the file size: " + ec.message());
    int64_t sig = signature_offset(head);
    if (sig < 0)
        throw data_error(path, "not an HDF5 file: no HDF5 signature (\\211HDF\\r\\n\\032\\n) at byte 0, 512, 1024 or 2048");
    check_superblock(path, head, static_cast<size_t>(sig), size);
    H5Lock lock;
    Hid fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
#if H5_VERSION_GE(1, 10, 7)
    // Reading needs no lock, and locks fail on some network file systems.
    H5Pset_file_locking(fapl.get(), false, true);
#endif
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
    if (file < 0) throw data_error(path, "cannot open the HDF5 file" + detail_suffix());
    return Hid(file, H5Fclose);
}

//===----------------------------------------------------------------------===//
// Types and small values
//===----------------------------------------------------------------------===//

struct StoredType {
    DType dtype = DType::U8;
    bool big_endian = false;
};

/// The tem element type of an HDF5 type: integers of 1, 2, 4 or 8 bytes,
/// IEEE floats of 4 or 8 bytes (either byte order), and the FALSE/TRUE enum
/// that h5py and tem write for booleans. nullopt otherwise.
std::optional<StoredType> stored_type(hid_t type) {
    const H5T_class_t cls = H5Tget_class(type);
    const size_t size = H5Tget_size(type);
    StoredType t;
    t.big_endian = H5Tget_order(type) == H5T_ORDER_BE && size > 1;
    if (cls == H5T_INTEGER) {
        if (H5Tget_precision(type) != 8 * size || H5Tget_offset(type) != 0) return std::nullopt;
        const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
        switch (size) {
        case 1: t.dtype = is_signed ? DType::I8 : DType::U8; return t;
        case 2: t.dtype = is_signed ? DType::I16 : DType::U16; return t;
        case 4: t.dtype = is_signed ? DType::I32 : DType::U32; return t;
        case 8: t.dtype = is_signed ? DType::I64 : DType::U64; return t;
        default: return std::nullopt;
        }
    }
    if (cls == H5T_FLOAT) {
        size_t spos = 0, epos = 0, esize = 0, mpos = 0, msize = 0;
        if (H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) < 0) return std::nullopt;
        if (size == 4 && spos == 31 && epos == 23 && esize == 8 && mpos == 0 && msize == 23) {
            t.dtype = DType::F32;
            return t;
        }
        if (size == 8 && spos == 63 && epos == 52 && esize == 11 && mpos == 0 && msize == 52) {
            t.dtype = DType::F64;
            return t;
        }
        return std::nullopt;
    }
    if (cls == H5T_ENUM && size == 1 && H5Tget_nmembers(type) == 2) {
        // h5py's bool: enum {FALSE = 0, TRUE = 1} over an 8-bit integer.
        bool is_bool = true;
        for (unsigned i = 0; i < 2 && is_bool; ++i) {
            char* name = H5Tget_member_name(type, i);
            unsigned char value = 0xFF;
            H5Tget_member_value(type, i, &value);
            is_bool = name && std::string(name) == (value == 0 ? "FALSE" : "TRUE") && value == i;
            if (name) H5free_memory(name);
        }
        if (is_bool) {
            t.dtype = DType::Bool;
            t.big_endian = false;
            return t;
        }
    }
    return std::nullopt;
}

/// A description of an HDF5 type tem does not read, for error messages.
std::string type_description(hid_t type) {
    const size_t size = H5Tget_size(type);
    const std::string bytes = std::to_string(size) + (size == 1 ? " byte" : " bytes");
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: return "integer of " + bytes + " with " + std::to_string(H5Tget_precision(type)) + " bits used";
    case H5T_FLOAT: return size == 2 ? "half-precision float (2 bytes)" : "non-IEEE float of " + bytes;
    case H5T_STRING: return "strings";
    case H5T_BITFIELD: return "bitfield of " + bytes;
    case H5T_OPAQUE: return "opaque (" + bytes + ")";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum of " + bytes;
    case H5T_VLEN: return "variable-length sequence";
    case H5T_ARRAY: return "array type";
    case H5T_TIME: return "time values";
    case H5T_COMPOUND: {
        std::vector<std::string> fields;
        int n = H5Tget_nmembers(type);
        bool floats = n == 2;
        for (int i = 0; i < n && i < 8; ++i) {
            char* name = H5Tget_member_name(type, static_cast<unsigned>(i));
            fields.push_back(name ? name : "?");
            if (name) H5free_memory(name);
            floats = floats && H5Tget_member_class(type, static_cast<unsigned>(i)) == H5T_FLOAT;
        }
        return std::string(floats ? "complex numbers (compound" : "compound (") + (floats ? " " : "") + bytes +
               ": fields " + join(fields, ", ") + ")";
    }
    default: return "unknown type of " + bytes;
    }
}

/// Reads a string or numeric value (an attribute or a small dataset) as
/// text: strings as stored, numbers joined by ", " (at most 16). `read`
/// reads the whole object into a buffer of the given memory type.
template <typename Read>
std::optional<std::string> value_text(hid_t type, hid_t space, Read read) {
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n <= 0 || n > 16) return std::nullopt;
    const H5T_class_t cls = H5Tget_class(type);
    if (cls == H5T_STRING) {
        std::vector<std::string> items;
        if (H5Tis_variable_str(type) > 0) {
            Hid mem(H5Tcopy(H5T_C_S1), H5Tclose);
            H5Tset_size(mem.get(), H5T_VARIABLE);
            H5Tset_cset(mem.get(), H5Tget_cset(type));
            std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
            if (read(mem.get(), ptrs.data()) < 0) return std::nullopt;
            for (char* p : ptrs) {
                items.push_back(p ? p : "");
                if (p) H5free_memory(p);
            }
        } else {
            size_t size = H5Tget_size(type);
            Hid mem(H5Tcopy(type), H5Tclose);
            std::vector<char> buf(size * static_cast<size_t>(n) + 1, '\0');
            if (read(mem.get(), buf.data()) < 0) return std::nullopt;
            for (hssize_t i = 0; i < n; ++i) {
                std::string s(buf.data() + static_cast<size_t>(i) * size, size);
                s = s.substr(0, s.find('\0'));
                while (!s.empty() && s.back() == ' ') s.pop_back();
                items.push_back(s);
            }
        }
        return join(items, ", ");
    }
    if (cls == H5T_ENUM && H5Tget_size(type) <= 8) {
        // Enums (h5py's bool) do not convert to numbers: read their bytes.
        const size_t size = H5Tget_size(type);
        const bool big = H5Tget_order(type) == H5T_ORDER_BE;
        Hid mem(H5Tcopy(type), H5Tclose);
        std::vector<unsigned char> buf(size * static_cast<size_t>(n));
        if (read(mem.get(), buf.data()) < 0) return std::nullopt;
        std::vector<std::string> items;
        for (hssize_t i = 0; i < n; ++i) {
            uint64_t v = 0;
            for (size_t b = 0; b < size; ++b)
                v |= uint64_t(buf[static_cast<size_t>(i) * size + b]) << (8 * (big ? size - 1 - b : b));
            items.push_back(std::to_string(v));
        }
        return join(items, ", ");
    }
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        std::vector<double> values(static_cast<size_t>(n));
        if (read(H5T_NATIVE_DOUBLE, values.data()) < 0) return std::nullopt;
        std::vector<std::string> items;
        for (double v : values) items.push_back(number_text(v));
        return join(items, ", ");
    }
    return std::nullopt;
}

/// The attribute `name` of `obj` as text, or nullopt when absent or unreadable.
std::optional<std::string> attribute_text(hid_t obj, const char* name) {
    if (H5Aexists(obj, name) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    Hid attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
    if (!attr.ok()) return std::nullopt;
    Hid type(H5Aget_type(attr.get()), H5Tclose);
    Hid space(H5Aget_space(attr.get()), H5Sclose);
    if (!type.ok() || !space.ok()) return std::nullopt;
    auto text = value_text(type.get(), space.get(), [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); });
    H5Eclear2(H5E_DEFAULT);
    return text;
}

/// True when every component of the absolute `path` exists in `file`
/// (H5Lexists fails on a missing intermediate group).
bool link_exists(hid_t file, const std::string& path) {
    if (path == "/") return true;
    size_t pos = 1;
    while (true) {
        size_t slash = path.find('/', pos);
        std::string prefix = path.substr(0, slash);
        if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            return false;
        }
        if (slash == std::string::npos) return true;
        pos = slash + 1;
    }
}

/// Opens the object at `path` when it exists and resolves (a dangling soft or
/// external link gives an invalid Hid); its kind is H5Iget_type.
Hid open_object(hid_t file, const std::string& path) {
    if (!link_exists(file, path)) return {};
    hid_t obj = H5Oopen(file, path.c_str(), H5P_DEFAULT);
    if (obj < 0) {
        H5Eclear2(H5E_DEFAULT);
        return {};
    }
    return Hid(obj, H5Oclose);
}

/// A small dataset at `path` as text plus its `units` attribute.
std::optional<std::string> dataset_text(hid_t file, const std::string& path) {
    Hid obj = open_object(file, path);
    if (!obj.ok() || H5Iget_type(obj.get()) != H5I_DATASET) return std::nullopt;
    Hid type(H5Dget_type(obj.get()), H5Tclose);
    Hid space(H5Dget_space(obj.get()), H5Sclose);
    auto text = value_text(type.get(), space.get(), [&](hid_t mem, void* buf) {
        return H5Dread(obj.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    });
    H5Eclear2(H5E_DEFAULT);
    if (!text) return std::nullopt;
    if (auto units = attribute_text(obj.get(), "units"); units && !units->empty()) *text += " " + *units;
    return text;
}

/// A 1-D numeric dataset (at most a million values) as doubles.
std::optional<std::vector<double>> read_axis_values(hid_t file, const std::string& path) {
    Hid obj = open_object(file, path);
    if (!obj.ok() || H5Iget_type(obj.get()) != H5I_DATASET) return std::nullopt;
    Hid type(H5Dget_type(obj.get()), H5Tclose);
    Hid space(H5Dget_space(obj.get()), H5Sclose);
    H5T_class_t cls = H5Tget_class(type.get());
    hssize_t n = H5Sget_simple_extent_npoints(space.get());
    if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || H5Sget_simple_extent_ndims(space.get()) != 1 || n <= 0 ||
        n > 1000000)
        return std::nullopt;
    std::vector<double> values(static_cast<size_t>(n));
    if (H5Dread(obj.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return values;
}

//===----------------------------------------------------------------------===//
// The file's tree
//===----------------------------------------------------------------------===//

/// One dataset met while walking the file.
struct DatasetEntry {
    std::string path;
    std::vector<int64_t> dims;
    std::optional<StoredType> type;  ///< nullopt: not a number type tem reads
    std::string type_text;
    int64_t elems = 0;
};

/// One group and the attributes the conventions look at.
struct GroupEntry {
    std::string path;
    std::map<std::string, std::string> attrs;  ///< emd_group_type, NX_class, signal, python_class
};

struct FileTree {
    std::vector<GroupEntry> groups;
    std::vector<DatasetEntry> datasets;
};

struct LinkList {
    std::vector<std::pair<std::string, H5L_type_t>> links;
};

herr_t collect_link(hid_t, const char* name, const H5L_info_t* info, void* data) {
    static_cast<LinkList*>(data)->links.emplace_back(name, info->type);
    return 0;
}

/// The links of a group, in name order.
std::vector<std::pair<std::string, H5L_type_t>> group_links(hid_t group) {
    LinkList list;
    hsize_t index = 0;
    if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_link, &list) < 0) H5Eclear2(H5E_DEFAULT);
    return list.links;
}

DatasetEntry describe_dataset(hid_t dset, const std::string& path) {
    DatasetEntry e;
    e.path = path;
    Hid space(H5Dget_space(dset), H5Sclose);
    int rank = space.ok() ? H5Sget_simple_extent_ndims(space.get()) : -1;
    if (rank > 0) {
        std::vector<hsize_t> dims(static_cast<size_t>(rank));
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
        for (hsize_t d : dims) e.dims.push_back(static_cast<int64_t>(d));
    }
    e.elems = checked_product(e.dims).value_or(0);
    Hid type(H5Dget_type(dset), H5Tclose);
    if (type.ok()) {
        e.type = stored_type(type.get());
        e.type_text = e.type ? std::string(dtype_name(e.type->dtype)) : type_description(type.get());
    }
    H5Eclear2(H5E_DEFAULT);
    return e;
}

/// Walks every group reachable by hard and soft links (external links are
/// not followed), recording groups and datasets. Depth and size are bounded
/// so that hard-link cycles end.
void walk(hid_t group, const std::string& path, int depth, FileTree& tree) {
    GroupEntry entry;
    entry.path = path;
    for (const char* name : {"emd_group_type", "NX_class", "signal", "python_class"})
        if (auto v = attribute_text(group, name)) entry.attrs[name] = *v;
    tree.groups.push_back(std::move(entry));
    for (const auto& [name, kind] : group_links(group)) {
        if (kind == H5L_TYPE_EXTERNAL || tree.groups.size() + tree.datasets.size() > 200000) continue;
        hid_t obj = H5Oopen(group, name.c_str(), H5P_DEFAULT);
        if (obj < 0) {
            H5Eclear2(H5E_DEFAULT);
            continue;
        }
        Hid owner(obj, H5Oclose);
        std::string sub = child_path(path, name);
        H5I_type_t type = H5Iget_type(obj);
        if (type == H5I_GROUP && depth < 32) walk(obj, sub, depth + 1, tree);
        else if (type == H5I_DATASET) tree.datasets.push_back(describe_dataset(obj, sub));
    }
}

FileTree read_tree(hid_t file) {
    FileTree tree;
    Hid root(H5Gopen2(file, "/", H5P_DEFAULT), H5Gclose);
    if (root.ok()) walk(root.get(), "/", 0, tree);
    return tree;
}

bool usable(const DatasetEntry& e) { return e.type && e.dims.size() >= 2 && e.elems > 0; }

/// "candidates: /a (4, 4, 8, 8) u16, /b (8, 8) f32" for error messages.
std::string candidate_list(const FileTree& tree) {
    std::vector<std::string> items;
    for (const DatasetEntry& e : tree.datasets)
        if (usable(e) && items.size() < 12) items.push_back(e.path + " " + format_shape(e.dims) + " " + e.type_text);
    if (items.empty()) {
        if (tree.datasets.empty()) return "the file holds no datasets";
        for (const DatasetEntry& e : tree.datasets)
            if (items.size() < 8) items.push_back(e.path + " " + format_shape(e.dims) + " " + e.type_text);
        return "the file holds no numeric dataset of two or more dimensions, only " + join(items, ", ");
    }
    return "datasets with at least 2 dimensions: " + join(items, ", ");
}

//===----------------------------------------------------------------------===//
// The data: one dataset, or the data files of a Dectris master
//===----------------------------------------------------------------------===//

/// One HDF5 dataset holding frames. A Dectris master's data files are
/// several parts, concatenated along their first axis.
struct Part {
    std::string file;                ///< the file that holds the dataset
    std::string name;                ///< its HDF5 path
    std::string link;                ///< the external link that led to it ("" if none)
    Hid dset, type;                  ///< open while the Dataset lives; type = stored element type
    std::vector<int64_t> dims;
    std::vector<int64_t> chunk;      ///< chunk shape; for other layouts one frame
    H5D_layout_t layout = H5D_CONTIGUOUS;
    std::shared_ptr<MappedFile> map; ///< the file mapped, for raw chunk bytes (direct parts)
    bool chunked = false;
    bool direct = false;             ///< tem decodes the raw chunks itself
    bool external = false;           ///< contiguous data in external raw files
    std::vector<Filter> filters;
    StoredType stored;
    size_t elem = 1;
    std::vector<std::byte> fill;     ///< one element in stored byte order
    haddr_t offset = HADDR_UNDEF;    ///< contiguous: first byte in `file`
    int64_t first_frame = 0, frames = 0;
};

/// Opens the dataset `name` of `loc` (in `file_path`) and learns its layout.
/// Throws DataError for a missing dataset, a type tem does not read and a
/// filter nobody can decode.
Part open_part(const std::string& file_path, hid_t loc, const std::string& name) {
    Part p;
    p.file = file_path;
    p.name = name;
    Hid dapl(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
    // External raw files are named relative to the HDF5 file.
    H5Pset_efile_prefix(dapl.get(), "${ORIGIN}");
    hid_t d = H5Dopen2(loc, name.c_str(), dapl.get());
    if (d < 0) throw data_error(file_path, "cannot open dataset " + name + detail_suffix());
    p.dset = Hid(d, H5Dclose);
    p.type = Hid(H5Dget_type(d), H5Tclose);
    Hid space(H5Dget_space(d), H5Sclose);
    if (!p.type.ok() || !space.ok()) throw data_error(file_path, "cannot read dataset " + name + detail_suffix());
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank > 0) {
        std::vector<hsize_t> dims(static_cast<size_t>(rank));
        H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
        for (hsize_t x : dims) p.dims.push_back(static_cast<int64_t>(x));
    }
    auto stored = stored_type(p.type.get());
    if (!stored)
        throw data_error(file_path, "dataset " + name + " holds " + type_description(p.type.get()) +
                                        "; tem reads integers (u8..u64, i8..i64), floats (f32, f64) and booleans");
    p.stored = *stored;
    p.elem = dtype_size(p.stored.dtype);

    Hid dcpl(H5Dget_create_plist(d), H5Pclose);
    p.layout = H5Pget_layout(dcpl.get());
    p.chunked = p.layout == H5D_CHUNKED;
    if (p.chunked && rank > 0) {
        std::vector<hsize_t> chunk(static_cast<size_t>(rank));
        H5Pget_chunk(dcpl.get(), rank, chunk.data());
        for (hsize_t x : chunk) p.chunk.push_back(static_cast<int64_t>(std::max<hsize_t>(x, 1)));
    }
    int nfilters = H5Pget_nfilters(dcpl.get());
    for (int i = 0; i < nfilters; ++i) {
        unsigned flags = 0, config = 0;
        unsigned cd[32] = {};
        size_t ncd = 32;
        char fname[256] = {};
        H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &ncd, cd, sizeof fname, fname, &config);
        Filter f;
        f.id = static_cast<int>(id);
        f.params.assign(cd, cd + std::min<size_t>(ncd, 32));
        f.name = fname;
        p.filters.push_back(std::move(f));
    }
    p.direct = p.chunked && std::all_of(p.filters.begin(), p.filters.end(), h5filters::can_decode);
    // A filter nobody decodes is an error at once (h5py marks plugin filters
    // optional, but a chunk that skipped one is rare).
    if (p.chunked && !p.direct)
        for (const Filter& f : p.filters) {
            if (h5filters::can_decode(f) || H5Zfilter_avail(static_cast<H5Z_filter_t>(f.id)) > 0) continue;
            const char* plugins = std::getenv("HDF5_PLUGIN_PATH");
            throw data_error(file_path, "dataset " + name + " is compressed with HDF5 filter " + std::to_string(f.id) +
                                            (f.name.empty() ? "" : " (" + f.name + ")") +
                                            ", which tem does not decode and no HDF5 plugin provides" +
                                            (plugins ? " (HDF5_PLUGIN_PATH=" + std::string(plugins) + ")"
                                                     : "; install its plugin and set HDF5_PLUGIN_PATH"));
        }
    p.external = H5Pget_external_count(dcpl.get()) > 0;
    if (p.layout == H5D_CONTIGUOUS && !p.external) p.offset = H5Dget_offset(d);
    p.fill.assign(p.elem, std::byte{0});
    H5D_fill_value_t fill_status = H5D_FILL_VALUE_UNDEFINED;
    if (H5Pfill_value_defined(dcpl.get(), &fill_status) >= 0 && fill_status != H5D_FILL_VALUE_UNDEFINED)
        H5Pget_fill_value(dcpl.get(), p.type.get(), p.fill.data());
    if (p.layout == H5D_VIRTUAL) {
        // Name a missing source file instead of silently reading fill values.
        size_t count = 0;
        H5Pget_virtual_count(dcpl.get(), &count);
        for (size_t i = 0; i < count; ++i) {
            char source[4096] = {};
            if (H5Pget_virtual_filename(dcpl.get(), i, source, sizeof source) < 0) continue;
            std::string src = source;
            if (src == "." || src.find('%') != std::string::npos) continue;
            if (!file_exists(src) && !file_exists(sibling_path(file_path, src)))
                throw data_error(file_path, "virtual dataset " + name + " maps data from '" + src +
                                                "', which is missing (looked for " + sibling_path(file_path, src) + ")");
        }
    }
    H5Eclear2(H5E_DEFAULT);
    return p;
}

struct ExternalTarget {
    std::string file, object;
};

/// Where an external link points, or nullopt when `link` is not one.
std::optional<ExternalTarget> external_target(hid_t loc, const std::string& link) {
    H5L_info_t info;
    if (H5Lget_info(loc, link.c_str(), &info, H5P_DEFAULT) < 0 || info.type != H5L_TYPE_EXTERNAL) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    std::vector<char> buf(info.u.val_size + 1, '\0');
    unsigned flags = 0;
    const char* file = nullptr;
    const char* object = nullptr;
    if (H5Lget_val(loc, link.c_str(), buf.data(), buf.size(), H5P_DEFAULT) < 0 ||
        H5Lunpack_elink_val(buf.data(), info.u.val_size, &flags, &file, &object) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return ExternalTarget{file ? file : "", object ? object : ""};
}

/// The file an external link of `master` names: next to the master first
/// (as Dectris writes them), then as given. Throws naming the missing file.
std::string locate_linked_file(const std::string& master, const std::string& link, const std::string& target) {
    std::vector<std::string> tries;
    if (fs::path(target).is_absolute()) {
        tries.push_back(target);
    } else {
        tries.push_back(sibling_path(master, target));
        tries.push_back(target);
        tries.push_back(sibling_path(master, fs::path(target).filename().string()));
    }
    for (const std::string& t : tries)
        if (std::error_code ec; fs::is_regular_file(t, ec)) return t;
    throw data_error(master, link + " links to the data file '" + target + "', which is missing (looked for " +
                                 tries.front() + ")");
}

/// Opens the dataset behind the link `link` of `file`, following an
/// external link to another file itself (for a clear missing-file message
/// and to know which file to map).
Part open_linked_part(const std::string& path, hid_t file, const std::string& link) {
    if (auto target = external_target(file, link)) {
        std::string data_file = locate_linked_file(path, link, target->file);
        Hid other = open_file(data_file);
        std::string object = target->object.empty() || target->object[0] != '/' ? "/" + target->object : target->object;
        if (!link_exists(other.get(), object))
            throw data_error(data_file, "no dataset " + object + " (the target of " + path + ":" + link + ")");
        Part p = open_part(data_file, other.get(), object);
        p.link = link;
        return p;
    }
    Part p = open_part(path, file, link);
    // A path through an external group link lives in another file.
    char name[4096] = {};
    if (H5Fget_name(p.dset.get(), name, sizeof name) > 0 && fs::path(name) != fs::path(path) && file_exists(name))
        p.file = name;
    return p;
}

//===----------------------------------------------------------------------===//
// Choosing the detector data
//===----------------------------------------------------------------------===//

/// The dataset(s) chosen and why.
struct Selection {
    std::vector<Part> parts;
    bool velox = false;        ///< stored (y, x, frame): frames along the last axis
    std::string convention;    ///< for `tem info` ("" when the path was given)
};

bool is_velox_path(const std::string& path) {
    static const std::regex pattern("^/Data/Image/[^/]+/Data$");
    return std::regex_match(path, pattern);
}

/// Checks an explicit inner path and opens its dataset.
Selection select_path(const std::string& path, hid_t file, std::string inner) {
    if (inner.empty() || inner[0] != '/') inner = "/" + inner;
    while (inner.size() > 1 && inner.back() == '/') inner.pop_back();
    H5L_info_t info;
    bool exists = link_exists(file, inner);
    bool external = exists && H5Lget_info(file, inner.c_str(), &info, H5P_DEFAULT) >= 0 && info.type == H5L_TYPE_EXTERNAL;
    H5Eclear2(H5E_DEFAULT);
    if (!exists) throw data_error(path, "no dataset " + inner + " in the file; " + candidate_list(read_tree(file)));
    if (!external) {
        Hid obj = open_object(file, inner);
        if (!obj.ok()) throw data_error(path, inner + " is a link to nothing (a dangling soft link)");
        if (H5Iget_type(obj.get()) == H5I_GROUP) {
            FileTree tree;
            walk(obj.get(), inner, 0, tree);
            throw data_error(path, inner + " is a group, not a dataset; " + candidate_list(tree));
        }
        if (H5Iget_type(obj.get()) != H5I_DATASET) throw data_error(path, inner + " is not a dataset");
    }
    Selection sel;
    sel.parts.push_back(open_linked_part(path, file, inner));
    sel.velox = is_velox_path(inner) && sel.parts[0].dims.size() == 3;
    return sel;
}

/// A Dectris master: /entry/data/data_000001, data_000002, ... (usually
/// external links to the data files), concatenated along frames.
std::optional<Selection> select_dectris(const std::string& path, hid_t file) {
    Hid data = open_object(file, "/entry/data");
    if (!data.ok() || H5Iget_type(data.get()) != H5I_GROUP) return std::nullopt;
    static const std::regex pattern("^data_[0-9]{6}$");
    std::vector<std::string> names;
    for (const auto& [name, kind] : group_links(data.get()))
        if (std::regex_match(name, pattern)) names.push_back(name);
    if (names.empty()) return std::nullopt;
    std::sort(names.begin(), names.end());
    Selection sel;
    sel.convention = "Dectris master (" + std::to_string(names.size()) + " data file" + (names.size() > 1 ? "s" : "") + ")";
    for (const std::string& name : names) sel.parts.push_back(open_linked_part(path, file, "/entry/data/" + name));
    return sel;
}

/// The datasets of a tree by path.
using DatasetIndex = std::map<std::string, const DatasetEntry*>;

/// The largest usable dataset among `paths` (first on ties), or nullptr.
const DatasetEntry* largest(const DatasetIndex& index, const std::vector<std::string>& paths) {
    const DatasetEntry* best = nullptr;
    for (const std::string& p : paths) {
        auto it = index.find(p);
        if (it != index.end() && usable(*it->second) && (!best || it->second->elems > best->elems)) best = it->second;
    }
    return best;
}

/// Applies the conventions in order; the first that finds data wins.
Selection select_by_convention(const std::string& path, hid_t file) {
    if (auto dectris = select_dectris(path, file)) return std::move(*dectris);
    FileTree tree = read_tree(file);
    DatasetIndex index;
    for (const DatasetEntry& e : tree.datasets) index.emplace(e.path, &e);
    auto datasets_in = [&](const std::string& group) {
        std::vector<std::string> paths;
        for (const DatasetEntry& e : tree.datasets)
            if (parent_path(e.path) == group) paths.push_back(e.path);
        return paths;
    };
    auto pick = [&](const DatasetEntry* e, const std::string& convention, bool velox = false) -> std::optional<Selection> {
        if (!e) return std::nullopt;
        Selection sel;
        sel.parts.push_back(open_part(path, file, e->path));
        sel.convention = convention;
        sel.velox = velox && e->dims.size() == 3;
        return sel;
    };
    // EMD (Berkeley, Prismatic, py4DSTEM 0.13): groups with emd_group_type = 1
    // hold `data` (Prismatic: `datacube`) beside dim1..dimN.
    {
        std::vector<std::string> paths;
        for (const GroupEntry& g : tree.groups) {
            auto it = g.attrs.find("emd_group_type");
            if (it == g.attrs.end() || it->second != "1") continue;
            const DatasetEntry* inside = largest(index, {child_path(g.path, "data")});
            if (!inside) inside = largest(index, datasets_in(g.path));
            if (inside) paths.push_back(inside->path);
        }
        if (auto sel = pick(largest(index, paths), "EMD (emd_group_type 1)")) return std::move(*sel);
    }
    // py4DSTEM / emdfile: a DataCube array group.
    {
        std::vector<std::string> paths = {"/datacube_root/datacube/data"};
        static const std::regex old_layout("^/4DSTEM_(experiment|simulation)/data/datacubes/[^/]+/(data|datacube)$");
        for (const DatasetEntry& e : tree.datasets)
            if (std::regex_match(e.path, old_layout)) paths.push_back(e.path);
        for (const GroupEntry& g : tree.groups) {
            auto cls = g.attrs.find("python_class");
            if (cls != g.attrs.end() && cls->second == "DataCube") paths.push_back(child_path(g.path, "data"));
        }
        if (auto sel = pick(largest(index, paths), "py4DSTEM")) return std::move(*sel);
    }
    // Velox EMD: Data/Image/<uuid>/Data, stored (y, x, frame).
    {
        std::vector<std::string> paths;
        for (const DatasetEntry& e : tree.datasets)
            if (is_velox_path(e.path)) paths.push_back(e.path);
        if (auto sel = pick(largest(index, paths), "Velox EMD: (y, x, frame), frames along the last axis", true))
            return std::move(*sel);
    }
    // HyperSpy: Experiments/<name>/data.
    {
        static const std::regex pattern("^/Experiments/[^/]+/data$");
        std::vector<std::string> paths;
        for (const DatasetEntry& e : tree.datasets)
            if (std::regex_match(e.path, pattern)) paths.push_back(e.path);
        if (auto sel = pick(largest(index, paths), "HyperSpy")) return std::move(*sel);
    }
    // NeXus: an NXdata group names its data in the `signal` attribute.
    {
        std::vector<std::string> paths, linked;
        for (const GroupEntry& g : tree.groups) {
            auto cls = g.attrs.find("NX_class");
            auto signal = g.attrs.find("signal");
            if (cls == g.attrs.end() || cls->second != "NXdata" || signal == g.attrs.end()) continue;
            std::string signal_path = child_path(g.path, signal->second);
            paths.push_back(signal_path);
            if (external_target(file, signal_path)) linked.push_back(signal_path);
        }
        if (auto sel = pick(largest(index, paths), "NeXus NXdata signal")) return std::move(*sel);
        if (!linked.empty()) {
            // The signal lives in another file (an external link).
            Selection sel;
            sel.parts.push_back(open_linked_part(path, file, linked.front()));
            sel.convention = "NeXus NXdata signal";
            return sel;
        }
    }
    // Otherwise the largest array of 3 or more dimensions, then of 2.
    for (size_t min_rank : {3, 2}) {
        std::vector<std::string> paths;
        for (const DatasetEntry& e : tree.datasets)
            if (e.dims.size() >= min_rank) paths.push_back(e.path);
        if (auto sel = pick(largest(index, paths), min_rank == 3 ? "largest array" : "largest image")) return std::move(*sel);
    }
    // Name the reason: non-numeric or 1-D data only, or nothing at all.
    throw data_error(path, "found no detector data; " + candidate_list(tree));
}

//===----------------------------------------------------------------------===//
// Geometry
//===----------------------------------------------------------------------===//

/// Which stored axes are nav and which sig, and the shapes tem reports.
struct Geometry {
    std::vector<int> nav_axes, sig_axes;
    std::vector<int64_t> nav, sig;
};

Geometry plan_geometry(const std::string& path, const Selection& sel, const OpenOptions& options) {
    const Part& first = sel.parts.front();
    std::vector<int64_t> dims = first.dims;
    const std::string what = sel.parts.size() > 1 ? "datasets " + first.name + " ..." : "dataset " + first.name;
    for (size_t i = 1; i < sel.parts.size(); ++i) {
        const Part& p = sel.parts[i];
        if (p.dims.size() != dims.size() || p.dims.size() < 3 ||
            !std::equal(p.dims.begin() + 1, p.dims.end(), first.dims.begin() + 1))
            throw data_error(p.file, "dataset " + p.name + " has shape " + format_shape(p.dims) + ", but " + first.name +
                                         " in " + first.file + " has " + format_shape(first.dims) +
                                         "; the data files must differ only in their number of frames");
        if (p.stored.dtype != first.stored.dtype || p.stored.big_endian != first.stored.big_endian)
            throw data_error(p.file, "dataset " + p.name + " holds " + std::string(dtype_name(p.stored.dtype)) +
                                         ", but " + first.name + " holds " + std::string(dtype_name(first.stored.dtype)));
        dims[0] += p.dims[0];
    }
    const int rank = static_cast<int>(dims.size());
    if (rank == 0) throw data_error(path, what + " is a single value; tem needs at least a 2-D frame");
    if (rank == 1)
        throw data_error(path, what + " is 1-D (" + std::to_string(dims[0]) +
                                   " values); tem needs at least 2 dimensions (a detector frame)");
    Geometry g;
    if (sel.velox && rank == 3) {
        g.nav_axes = {2};
        g.sig_axes = {0, 1};
        g.sig = {dims[0], dims[1]};
    } else {
        int sig_rank = 2;
        g.sig = {dims[rank - 2], dims[rank - 1]};
        if (options.sig && rank >= 3 && *options.sig != g.sig) {
            // --sig picks how many trailing axes make the frame (and may
            // re-shape them, which C order allows).
            auto want = checked_product(*options.sig);
            sig_rank = 0;
            for (int k = 1; k < rank && want; ++k) {
                std::vector<int64_t> tail(dims.end() - k, dims.end());
                if (checked_product(tail) == want) {
                    sig_rank = k;
                    break;
                }
            }
            if (sig_rank == 0)
                throw data_error(path, "--sig " + format_shape(*options.sig) + " does not fit " + what + " of shape " +
                                           format_shape(dims) + ": the frame must be made of the last axes");
            g.sig = *options.sig;
        }
        for (int a = 0; a < rank; ++a) (a < rank - sig_rank ? g.nav_axes : g.sig_axes).push_back(a);
    }
    for (int a : g.nav_axes) g.nav.push_back(dims[static_cast<size_t>(a)]);
    for (int64_t e : g.sig)
        if (e <= 0) throw data_error(path, what + " has shape " + format_shape(dims) + "; a frame needs every extent >= 1");
    auto frames = checked_product(g.nav);
    if (!frames) throw data_error(path, what + " of shape " + format_shape(dims) + " is too large to address");
    g.nav = choose_nav(path, options, *frames, g.nav);
    check_stored_geometry(path, options, "HDF5", g.sig, first.stored.dtype);
    return g;
}

//===----------------------------------------------------------------------===//
// Decoding dataset
//===----------------------------------------------------------------------===//

/// One decoded chunk (or, for unchunked layouts, one frame's box): the
/// elements of the box `origin` + `extent` of the stored array, held in a
/// buffer of shape `buffer_dims` (the full chunk, or the box) in C order.
struct Chunk {
    std::vector<int64_t> origin, extent, buffer_dims;
    std::vector<std::byte> data;
};

/// Per-thread cache of recently decoded chunks, so that frame-by-frame
/// reads (the reference evaluator) or partitions that split a chunk do not
/// decode it again. Bounded in entries and bytes.
class ChunkCache {
public:
    struct Entry {
        uint64_t dataset = 0;  ///< 0 = empty
        size_t part = 0;
        int64_t key = 0;
        uint64_t stamp = 0;
        Chunk chunk;
    };

    Chunk* find(uint64_t dataset, size_t part, int64_t key) {
        for (Entry& e : entries_)
            if (e.dataset == dataset && e.part == part && e.key == key) {
                e.stamp = ++clock_;
                return &e.chunk;
            }
        return nullptr;
    }

    /// A fresh entry for a chunk of about `bytes` bytes, evicting the least
    /// recently used ones (whose buffer it reuses); the caller fills it and
    /// sets its key. It stays valid until the next reserve.
    Entry& reserve(size_t bytes) {
        std::vector<std::byte> spare;
        while (!entries_.empty() && (entries_.size() >= kMaxEntries || used() + bytes > kMaxBytes)) {
            auto oldest = std::min_element(entries_.begin(), entries_.end(),
                                           [](const Entry& a, const Entry& b) { return a.stamp < b.stamp; });
            spare = std::move(oldest->chunk.data);
            entries_.erase(oldest);
        }
        entries_.emplace_back();
        entries_.back().stamp = ++clock_;
        entries_.back().chunk.data = std::move(spare);
        return entries_.back();
    }

private:
    static constexpr size_t kMaxEntries = 16;
    static constexpr size_t kMaxBytes = size_t{32} << 20;
    size_t used() const {
        size_t total = 0;
        for (const Entry& e : entries_) total += e.chunk.data.capacity();
        return total;
    }

    std::vector<Entry> entries_;
    uint64_t clock_ = 0;
};

thread_local ChunkCache t_chunk_cache;
thread_local std::vector<std::byte> t_scratch;

std::atomic<uint64_t> g_next_dataset_id{1};

std::string coords_text(const std::vector<int64_t>& v) { return format_shape(v); }

class Hdf5Dataset final : public Dataset {
public:
    Hdf5Dataset(const std::string& path, Selection sel, Geometry geometry,
                std::vector<std::pair<std::string, std::string>> info)
        : parts_(std::move(sel.parts)), nav_axes_(std::move(geometry.nav_axes)), sig_axes_(std::move(geometry.sig_axes)),
          info_(std::move(info)), id_(g_next_dataset_id++) {
        path_ = path;
        format_ = "hdf5";
        mapped_ = false;
        nav_shape_ = std::move(geometry.nav);
        sig_shape_ = std::move(geometry.sig);
        dtype_ = parts_.front().stored.dtype;
        big_endian_ = false;
        elem_ = dtype_size(dtype_);
        sig_strides_ = contiguous_strides(sig_shape_, static_cast<int64_t>(elem_));
        frame_stride_ = 0;
        frame_bytes_ = frame_elems() * static_cast<int64_t>(elem_);
        swap_ = parts_.front().stored.big_endian != (std::endian::native == std::endian::big) && elem_ > 1;
        int64_t next = 0;
        for (Part& p : parts_) {
            // Raw chunk bytes are copied from a mapping of the file, outside
            // HDF5's lock (H5Dread_chunk is a pread under it).
            if (p.direct) p.map = std::make_shared<MappedFile>(p.file);
            if (!p.chunked) {
                // Unchunked layouts are read one frame's box at a time.
                p.chunk.assign(p.dims.size(), 1);
                for (int a : sig_axes_) p.chunk[static_cast<size_t>(a)] = p.dims[static_cast<size_t>(a)];
            }
            int64_t frames = 1;
            for (int a : nav_axes_) frames *= p.dims[static_cast<size_t>(a)];
            p.first_frame = next;
            p.frames = frames;
            next += frames;
        }
        block_ = compute_block_frames();
    }

    ~Hdf5Dataset() override {
        H5Lock lock;
        parts_.clear();
    }

    const std::byte* frame(int64_t) const override { return nullptr; }

    int64_t block_frames() const override { return block_; }

    void read_frames(int64_t first, int64_t count, std::byte* out) const override {
        if (count <= 0) return;
        if (first < 0 || first + count > num_frames())
            throw DataError(path_ + ": error: internal: frames " + std::to_string(first) + ".." +
                            std::to_string(first + count) + " requested of " + std::to_string(num_frames()));
        for (size_t i = 0; i < parts_.size(); ++i) {
            const Part& p = parts_[i];
            int64_t lo = std::max(first, p.first_frame), hi = std::min(first + count, p.first_frame + p.frames);
            if (lo < hi) read_part(i, lo - p.first_frame, hi - p.first_frame, out + (lo - first) * frame_bytes_);
        }
        if (swap_) {
            const size_t n = static_cast<size_t>(count * frame_bytes_);
            for (size_t at = 0; at < n; at += elem_) std::reverse(out + at, out + at + elem_);
        }
    }

    std::vector<std::pair<std::string, std::string>> info() const override { return info_; }

private:
    /// Frames per chunk along the flattened nav axes: a run of whole chunks
    /// that partitions may start at without splitting one. With nav chunk
    /// extents c and nav extents n, the slowest axis j with c[j] > 1 decides:
    /// c[j] * n[j+1] * ... frames cover whole chunks (whole rows of them).
    int64_t compute_block_frames() const {
        const Part& p = parts_.front();
        if (!p.chunked || nav_axes_.empty()) return 1;
        const size_t nn = nav_axes_.size();
        for (size_t j = 0; j < nn; ++j) {
            int64_t c = p.chunk[static_cast<size_t>(nav_axes_[j])];
            int64_t n = p.dims[static_cast<size_t>(nav_axes_[j])];
            if (std::min(c, n) <= 1) continue;
            int64_t faster = 1;
            for (size_t k = j + 1; k < nn; ++k) faster *= p.dims[static_cast<size_t>(nav_axes_[k])];
            // When c does not divide n the chunk rows drift across the
            // slower axes; a whole plane then keeps chunks together.
            int64_t rows = (j == 0 || n % c == 0) ? std::min(c, n) : n;
            int64_t block = rows * faster;
            // Very large blocks would make huge tiles; the chunk cache then
            // keeps split chunks from being decoded twice.
            if (block * frame_bytes_ > (int64_t{64} << 20)) return 1;
            return block;
        }
        return 1;
    }

    /// Copies local frames [l0, l1) of part `pi` into `out`.
    void read_part(size_t pi, int64_t l0, int64_t l1, std::byte* out) const {
        const Part& p = parts_[pi];
        const size_t nn = nav_axes_.size(), ns = sig_axes_.size();
        std::vector<int64_t> nav_dims(nn), nav_chunk(nn), nav_grid(nn), sig_grid(ns);
        for (size_t k = 0; k < nn; ++k) {
            size_t a = static_cast<size_t>(nav_axes_[k]);
            nav_dims[k] = p.dims[a];
            nav_chunk[k] = p.chunk[a];
            nav_grid[k] = (p.dims[a] + p.chunk[a] - 1) / p.chunk[a];
        }
        int64_t sig_chunks = 1;
        for (size_t k = 0; k < ns; ++k) {
            size_t a = static_cast<size_t>(sig_axes_[k]);
            sig_grid[k] = (p.dims[a] + p.chunk[a] - 1) / p.chunk[a];
            sig_chunks *= sig_grid[k];
        }
        // The nav chunks that hold these frames, in order.
        std::vector<int64_t> keys;
        std::vector<int64_t> index(nn, 0);
        for (int64_t rest = l0, k = static_cast<int64_t>(nn) - 1; k >= 0; --k) {
            index[static_cast<size_t>(k)] = rest % nav_dims[static_cast<size_t>(k)];
            rest /= nav_dims[static_cast<size_t>(k)];
        }
        for (int64_t f = l0; f < l1; ++f) {
            int64_t key = 0;
            for (size_t k = 0; k < nn; ++k) key = key * nav_grid[k] + index[k] / nav_chunk[k];
            if (keys.empty() || keys.back() != key) keys.push_back(key);
            for (size_t k = nn; k-- > 0;) {
                if (++index[k] < nav_dims[k]) break;
                index[k] = 0;
            }
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

        std::vector<int64_t> coord(p.dims.size(), 0);
        for (int64_t key : keys) {
            for (size_t k = nn; k-- > 0;) {
                coord[static_cast<size_t>(nav_axes_[k])] = key % nav_grid[k];
                key /= nav_grid[k];
            }
            for (int64_t s = 0; s < sig_chunks; ++s) {
                int64_t rest = s;
                for (size_t k = ns; k-- > 0;) {
                    coord[static_cast<size_t>(sig_axes_[k])] = rest % sig_grid[k];
                    rest /= sig_grid[k];
                }
                const Chunk& chunk = fetch(pi, coord);
                scatter(p, chunk, nav_dims, l0, l1, out);
            }
        }
    }

    /// Copies the elements of `chunk` that belong to local frames [l0, l1)
    /// to their places in `out` (frames of C-ordered sig elements).
    void scatter(const Part& p, const Chunk& chunk, const std::vector<int64_t>& nav_dims, int64_t l0, int64_t l1,
                 std::byte* out) const {
        const size_t rank = p.dims.size(), nn = nav_axes_.size(), ns = sig_axes_.size();
        const int64_t elem = static_cast<int64_t>(elem_);
        std::vector<int64_t> src_stride(rank);
        for (int64_t s = elem, a = static_cast<int64_t>(rank) - 1; a >= 0; --a) {
            src_stride[static_cast<size_t>(a)] = s;
            s *= chunk.buffer_dims[static_cast<size_t>(a)];
        }
        // Output strides over the stored sig axes (C order within a frame).
        std::vector<int64_t> dst_stride(ns);
        for (int64_t s = elem, k = static_cast<int64_t>(ns) - 1; k >= 0; --k) {
            dst_stride[static_cast<size_t>(k)] = s;
            s *= p.dims[static_cast<size_t>(sig_axes_[static_cast<size_t>(k)])];
        }
        int64_t dst_origin = 0;
        for (size_t k = 0; k < ns; ++k) dst_origin += chunk.origin[static_cast<size_t>(sig_axes_[k])] * dst_stride[k];
        const size_t last = static_cast<size_t>(sig_axes_.back());
        const int64_t run = chunk.extent[last];
        const bool contiguous_run = src_stride[last] == elem;

        std::vector<int64_t> ni(nn, 0), si(ns > 0 ? ns - 1 : 0, 0);
        while (true) {
            int64_t frame = 0;
            for (size_t k = 0; k < nn; ++k)
                frame = frame * nav_dims[k] + chunk.origin[static_cast<size_t>(nav_axes_[k])] + ni[k];
            if (frame >= l0 && frame < l1) {
                const std::byte* src_frame = chunk.data.data();
                for (size_t k = 0; k < nn; ++k) src_frame += ni[k] * src_stride[static_cast<size_t>(nav_axes_[k])];
                std::byte* dst_frame = out + (frame - l0) * frame_bytes_ + dst_origin;
                std::fill(si.begin(), si.end(), 0);
                while (true) {
                    const std::byte* src = src_frame;
                    std::byte* dst = dst_frame;
                    for (size_t k = 0; k + 1 < ns; ++k) {
                        src += si[k] * src_stride[static_cast<size_t>(sig_axes_[k])];
                        dst += si[k] * dst_stride[k];
                    }
                    if (contiguous_run) {
                        std::memcpy(dst, src, static_cast<size_t>(run * elem));
                    } else {
                        for (int64_t e = 0; e < run; ++e)
                            std::memcpy(dst + e * elem, src + e * src_stride[last], elem_);
                    }
                    size_t k = si.size();
                    while (k-- > 0) {
                        if (++si[k] < chunk.extent[static_cast<size_t>(sig_axes_[k])]) break;
                        si[k] = 0;
                    }
                    if (k == static_cast<size_t>(-1)) break;
                }
            }
            size_t k = nn;
            while (k-- > 0) {
                if (++ni[k] < chunk.extent[static_cast<size_t>(nav_axes_[k])]) break;
                ni[k] = 0;
            }
            if (k == static_cast<size_t>(-1)) break;
        }
    }

    /// The chunk at chunk-grid coordinates `coord` of part `pi`, from this
    /// thread's cache or read and decoded now. The reference is valid until
    /// the next fetch on this thread.
    const Chunk& fetch(size_t pi, const std::vector<int64_t>& coord) const {
        const Part& p = parts_[pi];
        int64_t key = 0;
        for (size_t a = 0; a < p.dims.size(); ++a) key = key * ((p.dims[a] + p.chunk[a] - 1) / p.chunk[a]) + coord[a];
        if (Chunk* hit = t_chunk_cache.find(id_, pi, key)) return *hit;
        int64_t chunk_elems = 1;
        for (int64_t c : p.chunk) chunk_elems *= c;
        ChunkCache::Entry& entry = t_chunk_cache.reserve(static_cast<size_t>(chunk_elems) * elem_);
        load(p, coord, entry.chunk);
        entry.dataset = id_;
        entry.part = pi;
        entry.key = key;
        return entry.chunk;
    }

    /// "chunk (0, 3, 0, 0) of /data (elements from (0, 12, 0, 0))".
    std::string chunk_name(const Part& p, const std::vector<int64_t>& coord, const std::vector<int64_t>& origin) const {
        if (!p.chunked) return "the frame at " + coords_text(origin) + " of " + p.name;
        return "chunk " + coords_text(coord) + " of " + p.name + " (elements from " + coords_text(origin) + ")";
    }

    /// Reads and decodes one chunk (or frame box) into `chunk`.
    void load(const Part& p, const std::vector<int64_t>& coord, Chunk& chunk) const {
        const size_t rank = p.dims.size();
        chunk.origin.resize(rank);
        chunk.extent.resize(rank);
        std::vector<hsize_t> offset(rank), count(rank);
        int64_t chunk_elems = 1;
        for (size_t a = 0; a < rank; ++a) {
            chunk.origin[a] = coord[a] * p.chunk[a];
            chunk.extent[a] = std::min(p.chunk[a], p.dims[a] - chunk.origin[a]);
            offset[a] = static_cast<hsize_t>(chunk.origin[a]);
            count[a] = static_cast<hsize_t>(chunk.extent[a]);
            chunk_elems *= p.chunk[a];
        }
        const size_t expected = static_cast<size_t>(chunk_elems) * elem_;
        if (p.direct) {
            chunk.buffer_dims = p.chunk;
            hsize_t stored = 0;
            haddr_t address = HADDR_UNDEF;
            unsigned info_mask = 0;
            uint32_t mask = 0;
            {
                H5Lock lock;
                // Size 0 and no address: the chunk was never written.
                if (H5Dget_chunk_info_by_coord(p.dset.get(), offset.data(), &info_mask, &address, &stored) < 0)
                    throw data_error(p.file, "cannot locate " + chunk_name(p, coord, chunk.origin) + detail_suffix());
                if (address == HADDR_UNDEF) stored = 0;
                mask = info_mask;
            }
            if (stored == 0) {
                // Never written: the fill value.
                chunk.data.resize(expected);
                for (size_t at = 0; at < expected; at += elem_) std::memcpy(chunk.data.data() + at, p.fill.data(), elem_);
                return;
            }
            if (address > p.map->size() || stored > p.map->size() - address)
                throw data_error(p.file, "truncated: " + chunk_name(p, coord, chunk.origin) + " needs bytes " +
                                             std::to_string(address) + ".." + std::to_string(address + stored) +
                                             ", but the file has " + std::to_string(p.map->size()) + " bytes");
            try {
                // Decoded straight from the mapping: no copy of the raw bytes.
                p.map->populate(static_cast<size_t>(address), static_cast<size_t>(stored));
                std::span<const std::byte> raw(p.map->data() + address, static_cast<size_t>(stored));
                h5filters::decode_chunk(p.filters, mask, elem_, expected, raw, chunk.data, t_scratch);
            } catch (const h5filters::DecodeError& e) {
                throw data_error(p.file, "corrupt " + chunk_name(p, coord, chunk.origin) + ": " + e.what());
            }
            if (chunk.data.size() != expected)
                throw data_error(p.file, "corrupt " + chunk_name(p, coord, chunk.origin) + ": it decodes to " +
                                             std::to_string(chunk.data.size()) + " bytes, expected " +
                                             std::to_string(expected));
            return;
        }
        // HDF5's own pipeline (filters tem does not decode, plugins) or an
        // unchunked layout: read the box.
        chunk.buffer_dims = chunk.extent;
        int64_t box = 1;
        for (int64_t e : chunk.extent) box *= e;
        chunk.data.resize(static_cast<size_t>(box) * elem_);
        H5Lock lock;
        Hid file_space(H5Dget_space(p.dset.get()), H5Sclose);
        Hid mem_space(H5Screate_simple(static_cast<int>(rank), count.data(), nullptr), H5Sclose);
        if (!file_space.ok() || !mem_space.ok() ||
            H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, offset.data(), nullptr, count.data(), nullptr) < 0 ||
            H5Dread(p.dset.get(), p.type.get(), mem_space.get(), file_space.get(), H5P_DEFAULT, chunk.data.data()) < 0)
            throw data_error(p.file, "cannot read " + chunk_name(p, coord, chunk.origin) + detail_suffix());
    }

    std::vector<Part> parts_;
    std::vector<int> nav_axes_, sig_axes_;
    std::vector<std::pair<std::string, std::string>> info_;
    uint64_t id_;
    size_t elem_ = 1;
    int64_t frame_bytes_ = 0;
    int64_t block_ = 1;
    bool swap_ = false;
};

//===----------------------------------------------------------------------===//
// Metadata for `tem info`
//===----------------------------------------------------------------------===//

/// EMD dim1..dimN beside the data: name, units, count, first value and step.
void emd_dims(hid_t file, const Part& p, std::vector<std::pair<std::string, std::string>>& rows) {
    const std::string group = parent_path(p.name);
    // Berkeley EMD numbers them from 1, emdfile (py4DSTEM >= 0.14) from 0.
    const size_t from = link_exists(file, child_path(group, "dim0")) ? 0 : 1;
    for (size_t k = from; k < from + p.dims.size(); ++k) {
        std::string path = child_path(group, "dim" + std::to_string(k));
        auto values = read_axis_values(file, path);
        if (!values) continue;
        Hid obj = open_object(file, path);
        std::string name = attribute_text(obj.get(), "name").value_or("");
        std::string units = attribute_text(obj.get(), "units").value_or("");
        std::string text = name.empty() ? "" : name + ": ";
        text += std::to_string(values->size()) + " values from " + number_text(values->front());
        if (values->size() > 1) text += ", step " + number_text((*values)[1] - (*values)[0]);
        if (!units.empty() && units != "[]") text += " " + units;
        rows.emplace_back("dim" + std::to_string(k), text);
    }
}

/// HyperSpy axis-N groups: name, size, scale, units, nav or sig.
void hyperspy_axes(hid_t file, const Part& p, std::vector<std::pair<std::string, std::string>>& rows) {
    const std::string group = parent_path(p.name);
    for (size_t k = 0; k < p.dims.size(); ++k) {
        std::string path = child_path(group, "axis-" + std::to_string(k));
        Hid obj = open_object(file, path);
        if (!obj.ok() || H5Iget_type(obj.get()) != H5I_GROUP) continue;
        std::string text = attribute_text(obj.get(), "name").value_or("?");
        if (auto size = attribute_text(obj.get(), "size")) text += ", " + *size + " points";
        if (auto scale = attribute_text(obj.get(), "scale")) text += " of " + *scale;
        if (auto units = attribute_text(obj.get(), "units"); units && !units->empty() && *units != "<undefined>")
            text += " " + *units;
        if (auto nav = attribute_text(obj.get(), "navigate")) text += *nav == "1" ? " (nav)" : " (sig)";
        rows.emplace_back("axis-" + std::to_string(k), text);
    }
}

/// Dectris /entry/instrument: exposure, pixel size, distance, energy.
void dectris_metadata(hid_t file, std::vector<std::pair<std::string, std::string>>& rows) {
    const std::string det = "/entry/instrument/detector/";
    const std::pair<const char*, std::string> items[] = {
        {"detector", det + "description"},
        {"count time", det + "count_time"},
        {"frame time", det + "frame_time"},
        {"x pixel size", det + "x_pixel_size"},
        {"y pixel size", det + "y_pixel_size"},
        {"detector distance", det + "detector_distance"},
        {"beam energy", det + "detectorSpecific/photon_energy"},
        {"wavelength", "/entry/instrument/beam/incident_wavelength"},
    };
    for (const auto& [key, path] : items)
        if (auto text = dataset_text(file, path)) rows.emplace_back(key, *text);
}

/// The reader's rows for `tem info`: where the data is, how it is stored,
/// and the metadata of its convention.
std::vector<std::pair<std::string, std::string>> info_rows(const std::string& path, hid_t file, const Selection& sel,
                                                           bool mapped) {
    std::vector<std::pair<std::string, std::string>> rows;
    const Part& p = sel.parts.front();
    auto where = [](const Part& q) {
        return q.link.empty() ? q.name : q.link + " -> " + fs::path(q.file).filename().string() + ":" + q.name;
    };
    if (sel.parts.size() == 1) {
        rows.emplace_back("hdf5 path", where(p));
    } else {
        rows.emplace_back("hdf5 path", where(sel.parts.front()) + " .. " + where(sel.parts.back()));
    }
    if (!sel.convention.empty()) rows.emplace_back("found by", sel.convention);
    if (sel.parts.size() > 1 || p.file != path) {
        std::vector<std::string> files;
        for (const Part& q : sel.parts) files.push_back(q.file + " " + format_shape(q.dims));
        rows.emplace_back(sel.parts.size() > 1 ? "data files" : "data file", join(files, "; "));
    }
    rows.emplace_back("stored shape", format_shape(p.dims) + (sel.velox ? " (y, x, frame)" : ""));
    std::string layout;
    switch (p.layout) {
    case H5D_CHUNKED: layout = "chunked " + format_shape(p.chunk); break;
    case H5D_CONTIGUOUS: layout = mapped ? "contiguous at byte " + std::to_string(p.offset) : "contiguous"; break;
    case H5D_COMPACT: layout = "compact (in the object header)"; break;
    case H5D_VIRTUAL: layout = "virtual (mapped from other datasets)"; break;
    default: layout = "unknown"; break;
    }
    if (p.external) layout += ", in external raw files";
    rows.emplace_back("layout", layout);
    if (!mapped) {
        std::vector<std::string> filters;
        for (const Filter& f : p.filters) filters.push_back(h5filters::describe(f));
        rows.emplace_back("compression", filters.empty() ? "none" : join(filters, ", "));
        rows.emplace_back("access", p.direct ? "decoded by tem (direct chunk reads)"
                                             : "read through HDF5 (H5Dread)");
    }
    emd_dims(file, p, rows);
    hyperspy_axes(file, p, rows);
    if (sel.convention.rfind("Dectris", 0) == 0) dectris_metadata(file, rows);
    H5Eclear2(H5E_DEFAULT);
    return rows;
}

/// The geometry and element type of a selection mapped zero-copy (the runs
/// are the caller's).
MappedLayout mapped_layout(const Selection& sel, const Geometry& g) {
    MappedLayout layout;
    layout.format = "hdf5";
    layout.nav = g.nav;
    layout.sig = g.sig;
    layout.dtype = sel.parts.front().stored.dtype;
    layout.big_endian = sel.parts.front().stored.big_endian;
    return layout;
}

/// The zero-copy dataset over contiguous parts, checking that each lies
/// inside its file.
std::unique_ptr<Dataset> map_parts(const std::string& path, const Selection& sel, const Geometry& g,
                                   std::vector<std::pair<std::string, std::string>> info) {
    const Part& first = sel.parts.front();
    const int64_t elem = static_cast<int64_t>(first.elem);
    int64_t frame_elems = checked_product(g.sig).value_or(0);
    MappedLayout layout = mapped_layout(sel, g);
    layout.info = std::move(info);
    if (sel.velox) {
        // (y, x, frame): frames are one element apart.
        int64_t frames = first.dims[2];
        layout.sig_strides = {first.dims[1] * frames * elem, frames * elem};
    }
    std::vector<MappedFile> files;
    std::vector<std::string> names;
    int64_t next = 0;
    for (const Part& p : sel.parts) {
        auto bytes = checked_product(p.dims);
        uint64_t end = static_cast<uint64_t>(p.offset) + static_cast<uint64_t>(bytes.value_or(0)) * p.elem;
        std::error_code ec;
        uint64_t size = fs::file_size(p.file, ec);
        if (!ec && end > size)
            throw data_error(p.file, "truncated: dataset " + p.name + " needs bytes " + std::to_string(p.offset) + ".." +
                                         std::to_string(end) + ", but the file has " + std::to_string(size) + " bytes");
        size_t index = std::find(names.begin(), names.end(), p.file) - names.begin();
        if (index == names.size()) {
            names.push_back(p.file);
            files.emplace_back(p.file);
        }
        FrameRun run;
        run.first = next;
        run.count = 1;
        for (int a : g.nav_axes) run.count *= p.dims[static_cast<size_t>(a)];
        run.file = index;
        run.offset = static_cast<int64_t>(p.offset);
        run.stride = sel.velox ? elem : frame_elems * elem;
        next += run.count;
        layout.runs.push_back(run);
    }
    return make_mapped(std::move(files), std::move(layout));
}

/// Advances the first `axes` entries of `index` in C order within `extents`;
/// false once they wrap around (every index was visited).
bool next_index(std::vector<int64_t>& index, const std::vector<int64_t>& extents, size_t axes) {
    for (size_t a = axes; a-- > 0;) {
        if (++index[a] < extents[a]) return true;
        index[a] = 0;
    }
    return false;
}

/// Unfiltered chunks that hold whole frames are plain arrays in the file:
/// maps them zero-copy, one run of frames per chunk row (merged when chunks
/// follow each other in the file). Null when the layout does not allow it
/// (filters, chunks that split a frame, unwritten chunks, Velox order).
std::unique_ptr<Dataset> map_chunks(const Selection& sel, const Geometry& g,
                                    std::vector<std::pair<std::string, std::string>>& info) {
    if (sel.velox) return nullptr;
    const size_t nav_rank = g.nav_axes.size();
    for (size_t i = 0; i < nav_rank; ++i)
        if (g.nav_axes[i] != static_cast<int>(i)) return nullptr;
    for (const Part& p : sel.parts) {
        if (!p.chunked || !p.filters.empty() || p.external || p.chunk.size() != p.dims.size()) return nullptr;
        for (int a : g.sig_axes)
            if (p.chunk[static_cast<size_t>(a)] != p.dims[static_cast<size_t>(a)]) return nullptr;
    }
    const Part& first = sel.parts.front();
    const int64_t elem = static_cast<int64_t>(first.elem);
    const int64_t frame_bytes = checked_product(g.sig).value_or(0) * elem;
    MappedLayout layout = mapped_layout(sel, g);
    std::vector<MappedFile> files;
    std::vector<std::string> names;
    int64_t part_first = 0;
    for (const Part& p : sel.parts) {
        size_t file_index = std::find(names.begin(), names.end(), p.file) - names.begin();
        if (file_index == names.size()) {
            names.push_back(p.file);
            files.emplace_back(p.file);
        }
        if (nav_rank == 0) return nullptr;
        std::vector<int64_t> grid(nav_rank), nav_dims(nav_rank), chunk(nav_rank);
        int64_t chunk_frames = 1, part_frames = 1;
        for (size_t a = 0; a < nav_rank; ++a) {
            nav_dims[a] = p.dims[a];
            chunk[a] = p.chunk[a];
            grid[a] = (nav_dims[a] + chunk[a] - 1) / chunk[a];
            chunk_frames *= chunk[a];
            part_frames *= nav_dims[a];
        }
        // Every chunk of the grid, in C order of its coordinates.
        std::vector<int64_t> coord(nav_rank, 0);
        std::vector<hsize_t> offset(p.dims.size(), 0);
        while (true) {
            for (size_t a = 0; a < nav_rank; ++a) offset[a] = static_cast<hsize_t>(coord[a] * chunk[a]);
            unsigned mask = 0;
            haddr_t address = HADDR_UNDEF;
            hsize_t stored = 0;
            if (H5Dget_chunk_info_by_coord(p.dset.get(), offset.data(), &mask, &address, &stored) < 0 ||
                address == HADDR_UNDEF || stored != static_cast<hsize_t>(chunk_frames * frame_bytes)) {
                H5Eclear2(H5E_DEFAULT);
                return nullptr;  // unwritten (fill value) or unexpected: decode instead
            }
            // The frames of the chunk along its last nav axis are back to back.
            std::vector<int64_t> local(nav_rank, 0);
            while (true) {
                int64_t flat = 0, in_chunk = 0;
                bool inside = true;
                for (size_t a = 0; a < nav_rank; ++a) {
                    int64_t idx = coord[a] * chunk[a] + local[a];
                    inside = inside && idx < nav_dims[a];
                    flat = flat * nav_dims[a] + idx;
                    in_chunk = in_chunk * chunk[a] + local[a];
                }
                if (inside) {
                    const size_t last = nav_rank - 1;
                    int64_t count = std::min(chunk[last], nav_dims[last] - coord[last] * chunk[last]);
                    layout.runs.push_back(FrameRun{part_first + flat, count, file_index,
                                                   static_cast<int64_t>(address) + in_chunk * frame_bytes, frame_bytes});
                }
                // Next row of the chunk (all nav axes but the last).
                if (!next_index(local, chunk, nav_rank - 1)) break;
            }
            if (!next_index(coord, grid, nav_rank)) break;
        }
        part_first += part_frames;
    }
    std::sort(layout.runs.begin(), layout.runs.end(), [](const FrameRun& a, const FrameRun& b) { return a.first < b.first; });
    for (auto& row : info)
        if (row.first == "layout") row.second += ", chunks mapped in place";
    info.erase(std::remove_if(info.begin(), info.end(),
                              [](const auto& row) { return row.first == "access" || row.first == "compression"; }),
               info.end());
    layout.info = std::move(info);
    return make_mapped(std::move(files), std::move(layout));
}

} // namespace

bool has_hdf5_signature(std::string_view head) { return signature_offset(head) >= 0; }

std::unique_ptr<Dataset> open_hdf5(const std::string& path, const std::string& inner, const OpenOptions& options) {
    H5Lock lock;
    Hid file = open_file(path);
    Selection sel = inner.empty() ? select_by_convention(path, file.get()) : select_path(path, file.get(), inner);
    Geometry geometry = plan_geometry(path, sel, options);
    const bool mappable = std::all_of(sel.parts.begin(), sel.parts.end(), [](const Part& p) {
        return p.layout == H5D_CONTIGUOUS && !p.external && p.offset != HADDR_UNDEF;
    });
    auto info = info_rows(path, file.get(), sel, mappable);
    if (mappable) {
        std::unique_ptr<Dataset> ds = map_parts(path, sel, geometry, std::move(info));
        return ds;
    }
    if (auto ds = map_chunks(sel, geometry, info)) return ds;
    return std::make_unique<Hdf5Dataset>(path, std::move(sel), std::move(geometry), std::move(info));
}

} // namespace tem::rt
