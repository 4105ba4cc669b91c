//===- runtime/writers.cpp - Output staging, dispatch and summaries ------===//
//
// This file implements OutputTransaction (stage under temporary names, rename
// on commit, clean up on failure), write_results (choosing the writer from
// the output path) and the text forms of results printed without -o.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"
#include "runtime/mmap_file.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <sys/stat.h>
#include <unistd.h>

namespace tem::rt {

namespace fs = std::filesystem;

namespace {

/// Unique suffix for temporary names: the pid keeps concurrent runs apart,
/// the counter keeps the files of one run apart.
std::string temp_suffix() {
    static std::atomic<uint64_t> counter{0};
    return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

/// Removes trailing '/' (but keeps "/" itself).
std::string strip_trailing_slashes(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return path;
}

/// Throws unless `dir` is an existing, writable directory.
void check_writable_dir(const std::string& final_path, const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT)
            throw data_error(final_path,
                             "cannot write output: directory '" + dir + "' does not exist");
        throw data_error(final_path, "cannot write output: " + dir + ": " + error_text(errno));
    }
    if (!S_ISDIR(st.st_mode))
        throw data_error(final_path, "cannot write output: '" + dir + "' is not a directory");
    if (::access(dir.c_str(), W_OK) != 0)
        throw data_error(final_path, "cannot write output: " + dir + ": " + error_text(errno));
}

std::string lower_extension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

/// Writers report the temporary path they write to; users should see theirs.
template <typename Fn>
void write_staged(const std::string& temp, const std::string& final_path, Fn&& write) {
    try {
        write(temp);
    } catch (const DataError& e) {
        std::string message = e.what();
        std::string prefix = temp + ": ";
        if (message.rfind(prefix, 0) == 0)
            message = final_path + ": " + message.substr(prefix.size());
        throw DataError(message);
    }
}

std::string result_names(const std::vector<Result>& results) {
    std::string names;
    for (const Result& r : results) names += (names.empty() ? "" : ", ") + r.name;
    return names;
}

void check_single_result(const std::string& out, const std::vector<Result>& results,
                         const std::string& ext) {
    if (results.size() == 1) return;
    if (results.empty()) throw data_error(out, "there is no result to write");
    throw data_error(out, ext + " holds one result, but there are " +
                              std::to_string(results.size()) + " (" + result_names(results) +
                              "); write them to a folder (-o DIR/) or an .h5 file");
}

bool has_pixels(const Result& r) {
    if (r.shape.empty()) return false;
    for (int64_t e : r.shape)
        if (e <= 0) return false;
    return true;
}

/// Folder mode: NAME.npy and (for non-scalar results) NAME.png per result.
void write_folder(const std::string& out, const std::vector<Result>& results,
                  OutputTransaction& tx) {
    std::string dir = strip_trailing_slashes(out);
    struct stat st {};
    bool exists = ::stat(dir.c_str(), &st) == 0;
    if (exists && !S_ISDIR(st.st_mode))
        throw data_error(out, "cannot write output: it exists and is not a folder; "
                              "give a file name ending in .h5, .npy or .png, or a new folder");
    // A new folder is built whole under a temporary name and renamed on
    // commit; inside an existing one each file is staged on its own.
    std::string root = exists ? dir : tx.stage_directory(dir);
    for (const Result& r : results) {
        std::vector<std::pair<std::string, bool>> files = {{r.name + ".npy", false}};
        if (has_pixels(r)) files.push_back({r.name + ".png", true});
        for (const auto& [file, is_png] : files) {
            std::string final_path = (fs::path(dir) / file).string();
            std::string target = exists ? tx.stage(final_path) : (fs::path(root) / file).string();
            write_staged(target, final_path, [&](const std::string& p) {
                if (is_png)
                    write_png(p, r);
                else
                    write_npy(p, r);
            });
        }
    }
}

template <typename T> T saturate(double v) {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
        return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
        return std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

template <typename T>
void append_values(const std::vector<double>& values, std::vector<unsigned char>& out) {
    out.resize(values.size() * sizeof(T));
    unsigned char* p = out.data();
    for (double v : values) {
        T x;
        if constexpr (std::is_floating_point_v<T>)
            x = static_cast<T>(v);
        else
            x = saturate<T>(v);
        std::memcpy(p, &x, sizeof(T));
        if constexpr (std::endian::native == std::endian::big) std::reverse(p, p + sizeof(T));
        p += sizeof(T);
    }
}

} // namespace

OutputTransaction::~OutputTransaction() {
    for (const auto& [temp, final_path] : staged_) {
        std::error_code ec;
        fs::remove_all(temp, ec);
    }
}

std::string OutputTransaction::stage(const std::string& final_path) {
    fs::path final_fs(final_path);
    std::string name = final_fs.filename().string();
    if (name.empty() || name == "." || name == "..")
        throw data_error(final_path, "cannot write output: the path names no file");
    std::string dir = final_fs.parent_path().string();
    if (dir.empty()) dir = ".";
    check_writable_dir(final_path, dir);
    struct stat st {};
    if (::stat(final_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw data_error(final_path, "cannot write output: it is a directory");
    std::string temp = (fs::path(dir) / ("." + name + temp_suffix())).string();
    staged_.emplace_back(temp, final_path);
    return temp;
}

/// 1. normalise the path and find its nearest existing ancestor;
/// 2. the first missing component is what commit() will create, by renaming
///    a temporary directory next to it;
/// 3. the remaining components are created inside that temporary directory.
std::string OutputTransaction::stage_directory(const std::string& final_dir) {
    fs::path target = fs::path(strip_trailing_slashes(final_dir)).lexically_normal();
    fs::path ancestor = target;
    fs::path first_missing;
    std::error_code ec;
    while (!ancestor.empty() && !fs::exists(ancestor, ec)) {
        first_missing = ancestor;
        ancestor = ancestor.parent_path();
    }
    if (first_missing.empty())
        throw data_error(final_dir, "cannot write output: the folder exists already");
    std::string dir = ancestor.empty() ? "." : ancestor.string();
    check_writable_dir(final_dir, dir);
    fs::path temp = fs::path(dir) / ("." + first_missing.filename().string() + temp_suffix());
    fs::path inside = temp / target.lexically_relative(first_missing);
    fs::create_directories(inside, ec);
    staged_.emplace_back(temp.string(), first_missing.string());
    if (ec) throw data_error(final_dir, "cannot write output: " + ec.message());
    return inside.lexically_normal().string();
}

void OutputTransaction::commit() {
    while (!staged_.empty()) {
        const auto& [temp, final_path] = staged_.front();
        if (std::rename(temp.c_str(), final_path.c_str()) != 0)
            throw data_error(final_path, "cannot write output: " + error_text(errno));
        staged_.erase(staged_.begin());
    }
    committed_ = true;
}

void check_output(const std::string& out, const std::vector<std::string>& names) {
    struct stat st {};
    bool is_dir = ::stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::string ext = out.ends_with('/') ? std::string() : lower_extension(out);
    if (is_dir || ext.empty()) {
        // The nearest existing ancestor must be a writable directory.
        std::error_code ec;
        fs::path p = fs::absolute(fs::path(strip_trailing_slashes(out)), ec);
        while (!p.empty() && !fs::exists(p, ec) && p != p.parent_path()) p = p.parent_path();
        check_writable_dir(out, p.string());
        return;
    }
    if (ext != ".h5" && ext != ".hdf5" && ext != ".npy" && ext != ".png" && ext != ".tif" && ext != ".tiff")
        throw data_error(out, "unknown output format '" + ext +
                                  "'; use .h5, .npy, .png, .tif or a folder (a path ending in '/')");
    if (ext != ".h5" && ext != ".hdf5") {
        std::vector<Result> shells;
        for (const std::string& n : names) shells.push_back(Result{n, {}, DType::F64, {}});
        check_single_result(out, shells, ext);
    }
    fs::path parent = fs::path(out).parent_path();
    check_writable_dir(out, parent.empty() ? std::string(".") : parent.string());
}

void write_results(const std::string& out, const std::vector<Result>& results,
                   const RunMetadata& meta, OutputTransaction& tx) {
    struct stat st {};
    bool is_dir = ::stat(out.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    std::string ext = out.ends_with('/') ? std::string() : lower_extension(out);
    if (is_dir || ext.empty()) {
        write_folder(out, results, tx);
        return;
    }
    if (ext == ".h5" || ext == ".hdf5") {
        std::string temp = tx.stage(out);
        write_staged(temp, out, [&](const std::string& p) { write_h5(p, results, meta); });
    } else if (ext == ".npy") {
        check_single_result(out, results, ext);
        std::string temp = tx.stage(out);
        write_staged(temp, out, [&](const std::string& p) { write_npy(p, results[0]); });
    } else if (ext == ".png") {
        check_single_result(out, results, ext);
        std::string temp = tx.stage(out);
        write_staged(temp, out, [&](const std::string& p) { write_png(p, results[0]); });
    } else if (ext == ".tif" || ext == ".tiff") {
        check_single_result(out, results, ext);
        std::string temp = tx.stage(out);
        write_staged(temp, out, [&](const std::string& p) { write_tiff(p, results[0]); });
    } else {
        throw data_error(out, "unknown output format '" + ext +
                                  "'; use .h5, .npy, .png, .tif or a folder (a path ending in '/')");
    }
}

std::string format_number(double value) {
    if (std::isnan(value)) return "nan";
    if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
    return std::string(buf, ec == std::errc() ? end : buf);
}

std::string format_value(double value, DType dtype) {
    if (dtype == DType::Bool) return value != 0 && !std::isnan(value) ? "true" : "false";
    // Doubles hold every integer up to 2^53 exactly, and larger ones as
    // integers too: print those digits rather than an exponent.
    if (dtype_is_int(dtype) && std::isfinite(value) && value == std::trunc(value)) {
        char buf[32];
        std::to_chars_result r{};
        if (value >= -9223372036854775808.0 && value < 9223372036854775808.0)
            r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(value));
        else if (value >= 0 && value < 18446744073709551616.0)
            r = std::to_chars(buf, buf + sizeof(buf), static_cast<uint64_t>(value));
        else
            return format_number(value);
        return std::string(buf, r.ptr);
    }
    return format_number(value);
}

std::string summarize(const Result& result) {
    if (result.shape.empty())
        return result.values.empty() ? "nan" : format_value(result.values[0], result.dtype);
    std::string text =
        "shape " + format_shape(result.shape) + " " + std::string(dtype_name(result.dtype));
    int64_t nan_count = 0, inf_count = 0, finite = 0;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, sum = 0;
    for (double v : result.values) {
        if (std::isnan(v)) {
            ++nan_count;
        } else if (std::isinf(v)) {
            ++inf_count;
        } else {
            ++finite;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            sum += v;
        }
    }
    if (result.values.empty()) return text + "  (empty)";
    if (finite > 0) {
        text += "  min " + format_value(lo, result.dtype) + "  mean " +
                format_number(sum / static_cast<double>(finite)) + "  max " +
                format_value(hi, result.dtype);
    } else {
        text += "  min nan  mean nan  max nan";
    }
    if (nan_count > 0) text += "  nan " + std::to_string(nan_count);
    if (inf_count > 0) text += "  inf " + std::to_string(inf_count);
    return text;
}

std::vector<unsigned char> encode_values(const Result& result) {
    auto expected = checked_product(result.shape);
    if (!expected || static_cast<size_t>(*expected) != result.values.size())
        throw std::logic_error("internal error: result '" + result.name + "' has " +
                               std::to_string(result.values.size()) + " values for shape " +
                               format_shape(result.shape));
    std::vector<unsigned char> out;
    switch (result.dtype) {
    case DType::Bool:
        out.resize(result.values.size());
        for (size_t i = 0; i < result.values.size(); ++i)
            out[i] = result.values[i] != 0 && !std::isnan(result.values[i]) ? 1 : 0;
        break;
    case DType::U8:
        append_values<uint8_t>(result.values, out);
        break;
    case DType::U16:
        append_values<uint16_t>(result.values, out);
        break;
    case DType::U32:
        append_values<uint32_t>(result.values, out);
        break;
    case DType::U64:
        append_values<uint64_t>(result.values, out);
        break;
    case DType::I8:
        append_values<int8_t>(result.values, out);
        break;
    case DType::I16:
        append_values<int16_t>(result.values, out);
        break;
    case DType::I32:
        append_values<int32_t>(result.values, out);
        break;
    case DType::I64:
        append_values<int64_t>(result.values, out);
        break;
    case DType::F32:
        append_values<float>(result.values, out);
        break;
    case DType::F64:
        append_values<double>(result.values, out);
        break;
    }
    return out;
}

} // namespace tem::rt
