//===- runtime/raw_dataset.cpp - Headerless binary arrays ----------------===//
//
// This file implements the raw reader: it checks the user's geometry against
// the file size (the most common mistake with raw data) and then hands out
// pointers into the mmapped file.
//
//===----------------------------------------------------------------------===//
#include "runtime/raw_dataset.h"

#include "runtime/mmap_file.h"

#include <string>
#include <utility>
#include <vector>

namespace tem::rt {

namespace {

/// A raw file mapped whole; frame i starts at offset + i * frame bytes.
class RawDataset final : public Dataset {
public:
    RawDataset(MappedFile file, int64_t offset, std::vector<int64_t> nav, std::vector<int64_t> sig,
               DType dtype, bool big_endian, int64_t frame_bytes)
        : file_(std::move(file)), offset_(offset) {
        nav_shape_ = std::move(nav);
        sig_shape_ = std::move(sig);
        dtype_ = dtype;
        big_endian_ = big_endian;
        frame_stride_ = frame_bytes;
        sig_strides_.assign(sig_shape_.size(), 0);
        int64_t stride = static_cast<int64_t>(dtype_size(dtype));
        for (size_t axis_idx = sig_shape_.size(); axis_idx-- > 0;) {
            sig_strides_[axis_idx] = stride;
            stride *= sig_shape_[axis_idx];
        }
        path_ = file_.path();
        format_ = "raw";
    }

    const std::byte* frame(int64_t index) const override {
        return file_.data() + offset_ + index * frame_stride_;
    }

    void advise_sequential(int64_t first, int64_t count) const override {
        file_.advise(static_cast<size_t>(offset_ + first * frame_stride_),
                     static_cast<size_t>(count * frame_stride_), true);
    }

    std::vector<std::pair<std::string, std::string>> info() const override {
        return {{"offset", std::to_string(offset_) + " bytes"},
                {"byte order", big_endian_ ? "big-endian" : "little-endian"},
                {"file size", std::to_string(file_.size()) + " bytes"},
                {"access", "zero-copy (mmap)"}};
    }

private:
    MappedFile file_;
    int64_t offset_;
};

std::string describe_geometry(const std::vector<int64_t>& nav, const std::vector<int64_t>& sig,
                              DType dtype) {
    return "nav " + format_shape(nav) + " sig " + format_shape(sig) + " " +
           std::string(dtype_name(dtype));
}

void check_extents(const std::string& path, const char* what, const std::vector<int64_t>& extents) {
    for (int64_t e : extents) {
        if (e <= 0)
            throw data_error(path, std::string(what) + " " + format_shape(extents) +
                                       " has an extent " + std::to_string(e) +
                                       "; every extent must be at least 1");
    }
}

} // namespace

std::unique_ptr<Dataset> open_raw(const std::string& path, const OpenOptions& options) {
    std::vector<std::string> missing;
    if (!options.sig) missing.push_back("'sig'");
    if (!options.dtype) missing.push_back("'dtype'");
    if (!missing.empty()) {
        std::string list = missing.size() == 1 ? missing[0] : missing[0] + " and " + missing[1];
        throw data_error(path, "raw data needs its geometry, but " + list +
                                   (missing.size() == 1 ? " is" : " are") +
                                   " missing; give raw:FILE?nav=..&sig=..&dtype=.. or "
                                   "--nav/--sig/--dtype");
    }
    std::vector<int64_t> nav = options.nav.value_or(std::vector<int64_t>{});
    std::vector<int64_t> sig = *options.sig;
    DType dtype = *options.dtype;
    if (sig.empty()) throw data_error(path, "sig needs at least one axis, as in sig=128,128");
    check_extents(path, "nav", nav);
    check_extents(path, "sig", sig);
    int64_t offset = options.offset.value_or(0);
    if (offset < 0) throw data_error(path, "offset " + std::to_string(offset) + " is negative");

    auto frame_elems = checked_product(sig);
    auto frames = checked_product(nav);
    int64_t frame_bytes = 0, data_bytes = 0, needed = 0;
    if (!frame_elems || !frames ||
        __builtin_mul_overflow(*frame_elems, static_cast<int64_t>(dtype_size(dtype)),
                               &frame_bytes) ||
        __builtin_mul_overflow(frame_bytes, *frames, &data_bytes) ||
        __builtin_add_overflow(data_bytes, offset, &needed))
        throw data_error(path, "geometry " + describe_geometry(nav, sig, dtype) +
                                   " is too large to address");

    MappedFile file(path);
    int64_t size = static_cast<int64_t>(file.size());
    std::string geometry = describe_geometry(nav, sig, dtype);
    if (size < needed)
        throw data_error(path, "file is " + std::to_string(size) + " bytes, but offset " +
                                   std::to_string(offset) + " + geometry " + geometry + " needs " +
                                   std::to_string(needed) + " bytes (truncated at byte " +
                                   std::to_string(size) + ")");
    if (size > needed) {
        std::string message = "geometry does not match the file size: offset " +
                              std::to_string(offset) + " + " + geometry + " needs " +
                              std::to_string(needed) + " bytes, file has " + std::to_string(size) +
                              "; pass the right nav/sig/dtype or offset";
        // The usual slip is a missing or wrong nav: say how many frames fit.
        if ((size - offset) % frame_bytes == 0)
            message += " (the data after the offset is " +
                       std::to_string((size - offset) / frame_bytes) + " frames of sig " +
                       format_shape(sig) + " " + std::string(dtype_name(dtype)) + ")";
        throw data_error(path, message);
    }
    return std::make_unique<RawDataset>(std::move(file), offset, std::move(nav), std::move(sig),
                                        dtype, options.big_endian.value_or(false), frame_bytes);
}

} // namespace tem::rt
