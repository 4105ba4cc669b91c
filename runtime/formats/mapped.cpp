//===- runtime/formats/mapped.cpp - Zero-copy frames in mapped files -----===//
//
// This file implements MappedDataset (frames anywhere in one or more mmapped
// files, found by binary search over evenly spaced runs) and the checks that
// every reader shares.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/mapped.h"

#include <algorithm>
#include <filesystem>

namespace tem::rt {

namespace {

/// Frames found through evenly spaced runs in mapped files.
class RunDataset : public Dataset {
public:
    RunDataset(std::vector<MappedFile> files, MappedLayout& layout)
        : files_(std::move(files)), runs_(std::move(layout.runs)), extra_(std::move(layout.info)),
          frame_header_(layout.frame_header) {
        nav_shape_ = std::move(layout.nav);
        sig_shape_ = std::move(layout.sig);
        dtype_ = layout.dtype;
        big_endian_ = layout.big_endian && dtype_size(dtype_) > 1;
        sig_strides_ = layout.sig_strides.empty()
                           ? contiguous_strides(sig_shape_, static_cast<int64_t>(dtype_size(dtype_)))
                           : std::move(layout.sig_strides);
        path_ = files_.front().path();
        format_ = std::move(layout.format);
    }

protected:
    /// Where frame `index` is stored.
    const std::byte* stored(int64_t index) const {
        const FrameRun& run = find(index);
        return files_[run.file].data() + run.offset + (index - run.first) * run.stride;
    }

    const FrameRun& find(int64_t index) const {
        if (runs_.size() == 1) return runs_[0];
        auto it = std::upper_bound(runs_.begin(), runs_.end(), index,
                                   [](int64_t i, const FrameRun& r) { return i < r.first; });
        return *(it - 1);
    }

    std::vector<std::pair<std::string, std::string>> common_info(int64_t stride) const {
        std::vector<std::pair<std::string, std::string>> rows;
        rows.emplace_back("frame header", std::to_string(frame_header_) + " bytes");
        if (stride > 0) rows.emplace_back("frame stride", std::to_string(stride) + " bytes");
        else rows.emplace_back("frame stride", "uneven (" + std::to_string(runs_.size()) + " runs)");
        if (files_.size() > 1) rows.emplace_back("files", std::to_string(files_.size()));
        return rows;
    }

    std::vector<MappedFile> files_;
    std::vector<FrameRun> runs_;
    std::vector<std::pair<std::string, std::string>> extra_;
    int64_t frame_header_;
};

class MappedDataset final : public RunDataset {
public:
    MappedDataset(std::vector<MappedFile> files, MappedLayout layout) : RunDataset(std::move(files), layout) {
        frame_stride_ = runs_.size() == 1 ? runs_[0].stride : 0;
        // A single frame has no spacing; any stride describes it.
        if (runs_.size() == 1 && runs_[0].count == 1 && frame_stride_ == 0) frame_stride_ = 1;
    }

    const std::byte* frame(int64_t index) const override { return stored(index); }

    int64_t contiguous_frames(int64_t first) const override {
        const FrameRun& run = find(first);
        const int64_t bytes = frame_elems() * static_cast<int64_t>(dtype_size(dtype_));
        if (run.stride != bytes || sig_strides_ != contiguous_strides(sig_shape_, static_cast<int64_t>(dtype_size(dtype_))))
            return 1;
        return run.first + run.count - first;
    }

    void advise_sequential(int64_t first, int64_t count) const override {
        if (count <= 0) return;
        const FrameRun& a = find(first);
        const FrameRun& b = find(first + count - 1);
        if (&a != &b || a.stride <= 0) return;
        int64_t start = a.offset + (first - a.first) * a.stride;
        files_[a.file].advise(static_cast<size_t>(start), static_cast<size_t>(count * a.stride), true);
    }

    std::vector<std::pair<std::string, std::string>> info() const override {
        auto rows = common_info(frame_stride_);
        rows.emplace_back("access", "zero-copy (mmap)");
        rows.emplace_back("compression", "none");
        rows.insert(rows.end(), extra_.begin(), extra_.end());
        return rows;
    }
};

/// Packed frames in mapped files, unpacked by a decoder into the caller's buffer.
class DecodedDataset final : public RunDataset {
public:
    DecodedDataset(std::vector<MappedFile> files, MappedLayout layout, FrameDecoder decode, std::string packing)
        : RunDataset(std::move(files), layout), decode_(std::move(decode)), packing_(std::move(packing)) {
        mapped_ = false;
        big_endian_ = false;
    }

    const std::byte* frame(int64_t) const override { return nullptr; }

    void read_frames(int64_t first, int64_t count, std::byte* out) const override {
        const size_t bytes = static_cast<size_t>(frame_elems()) * dtype_size(dtype_);
        for (int64_t f = first; f < first + count; ++f, out += bytes) decode_(stored(f), out);
    }

    std::vector<std::pair<std::string, std::string>> info() const override {
        auto rows = common_info(runs_.size() == 1 ? runs_[0].stride : 0);
        rows.emplace_back("access", "decoded per tile (" + packing_ + ")");
        rows.emplace_back("compression", "none");
        rows.insert(rows.end(), extra_.begin(), extra_.end());
        return rows;
    }

private:
    FrameDecoder decode_;
    std::string packing_;
};

/// Checks that the runs cover the frames in order and that `span` bytes from
/// the start of every frame lie inside its file.
void check_runs(const std::vector<MappedFile>& files, const MappedLayout& layout, int64_t span, int64_t frames) {
    const std::string& path = files.front().path();
    int64_t next = 0;
    for (const FrameRun& run : layout.runs) {
        if (run.first != next || run.count <= 0)
            throw DataError(path + ": error: internal: frame runs do not cover the frames in order");
        const MappedFile& file = files.at(run.file);
        int64_t last_start = run.offset + (run.count - 1) * run.stride;
        int64_t end = last_start + span;
        if (run.offset < 0 || end > static_cast<int64_t>(file.size())) {
            // Name the first frame that does not fit.
            int64_t k = run.stride > 0 ? std::max<int64_t>(0, (static_cast<int64_t>(file.size()) - span - run.offset) / run.stride + 1)
                                       : 0;
            k = std::min(k, run.count - 1);
            int64_t start = run.offset + k * run.stride;
            throw data_error(file.path(), "truncated: frame " + std::to_string(run.first + k) + " of " +
                                              std::to_string(frames) + " needs bytes " + std::to_string(start) +
                                              ".." + std::to_string(start + span) + ", but the file has " +
                                              std::to_string(file.size()) + " bytes");
        }
        next += run.count;
    }
    if (next != frames)
        throw data_error(path, "the file holds " + std::to_string(next) + " frames, but the shape " +
                                   format_shape(layout.nav) + " needs " + std::to_string(frames));
}

/// Number of frames of the layout, after checking its shape.
int64_t checked_frames(const std::string& path, const MappedLayout& layout) {
    auto frames = checked_product(layout.nav);
    auto elems = checked_product(layout.sig);
    if (!frames || !elems) throw data_error(path, "the header's shape is too large to address");
    for (int64_t e : layout.sig)
        if (e <= 0) throw data_error(path, "the header gives a frame of " + format_shape(layout.sig) + " pixels");
    return *frames;
}

} // namespace

void ByteReader::need(uint64_t offset, uint64_t count, std::string_view what) const {
    if (offset <= size_ && count <= size_ - offset) return;
    throw data_error(path_, "truncated header: " + std::string(what) + " at byte " + std::to_string(offset) +
                                " needs " + std::to_string(count) + " bytes, but the file has " +
                                std::to_string(size_) + " bytes");
}

std::unique_ptr<Dataset> make_mapped(std::vector<MappedFile> files, MappedLayout layout) {
    int64_t frames = checked_frames(files.front().path(), layout);
    // Runs that continue each other (chunks written one after the other)
    // become one: fewer lookups, longer kernel calls.
    std::vector<FrameRun> merged;
    for (const FrameRun& r : layout.runs) {
        if (!merged.empty()) {
            FrameRun& m = merged.back();
            int64_t stride = m.count > 1 ? m.stride : r.count > 1 ? r.stride : r.offset - m.offset;
            if (m.file == r.file && m.first + m.count == r.first && stride > 0 && (m.count == 1 || m.stride == stride) &&
                (r.count == 1 || r.stride == stride) && m.offset + m.count * stride == r.offset) {
                m.stride = stride;
                m.count += r.count;
                continue;
            }
        }
        merged.push_back(r);
    }
    layout.runs = std::move(merged);
    const int64_t elem = static_cast<int64_t>(dtype_size(layout.dtype));
    std::vector<int64_t> strides =
        layout.sig_strides.empty() ? contiguous_strides(layout.sig, elem) : layout.sig_strides;
    // Bytes a frame spans from its first element (strides are never negative).
    int64_t span = elem;
    for (size_t a = 0; a < layout.sig.size(); ++a) span += (layout.sig[a] - 1) * strides[a];
    check_runs(files, layout, span, frames);
    return std::make_unique<MappedDataset>(std::move(files), std::move(layout));
}

std::unique_ptr<Dataset> make_mapped(MappedFile file, MappedLayout layout) {
    std::vector<MappedFile> files;
    files.push_back(std::move(file));
    return make_mapped(std::move(files), std::move(layout));
}

std::unique_ptr<Dataset> make_decoded(std::vector<MappedFile> files, MappedLayout layout, int64_t stored_frame_bytes,
                                      FrameDecoder decode, std::string packing) {
    int64_t frames = checked_frames(files.front().path(), layout);
    check_runs(files, layout, stored_frame_bytes, frames);
    return std::make_unique<DecodedDataset>(std::move(files), std::move(layout), std::move(decode),
                                            std::move(packing));
}

std::vector<int64_t> choose_nav(const std::string& path, const OpenOptions& options, int64_t frames,
                                std::vector<int64_t> stored) {
    if (!options.nav) return stored;
    auto n = checked_product(*options.nav);
    for (int64_t e : *options.nav)
        if (e <= 0)
            throw data_error(path, "--nav " + format_shape(*options.nav) + " has an extent " + std::to_string(e) +
                                       "; every extent must be at least 1");
    if (!n || *n != frames)
        throw data_error(path, "--nav " + format_shape(*options.nav) + " has " +
                                   (n ? std::to_string(*n) : std::string("too many")) + " positions, but the file has " +
                                   std::to_string(frames) + " frames");
    return *options.nav;
}

void check_stored_geometry(const std::string& path, const OpenOptions& options, const std::string& format,
                           const std::vector<int64_t>& sig, DType dtype) {
    if (options.sig && *options.sig != sig)
        throw data_error(path, "--sig " + format_shape(*options.sig) + " contradicts the " + format +
                                   " header, which gives frames of " + format_shape(sig));
    if (options.dtype && *options.dtype != dtype)
        throw data_error(path, "--dtype " + std::string(dtype_name(*options.dtype)) + " contradicts the " + format +
                                   " header, which gives " + std::string(dtype_name(dtype)));
    if (options.offset) throw data_error(path, "an offset applies to raw files only; " + format + " files carry their own");
    if (options.big_endian)
        throw data_error(path, "a byte order applies to raw files only; " + format + " files carry their own");
}

bool file_exists(const std::string& path) {
    std::error_code ec;
    return std::filesystem::exists(path, ec) && !ec;
}

std::string sibling_path(const std::string& path, const std::string& name) {
    return (std::filesystem::path(path).parent_path() / name).string();
}

} // namespace tem::rt
