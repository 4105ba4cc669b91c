//===- runtime/formats/mapped.h - Zero-copy frames in mapped files -------===//
//
// This file declares the pieces every header-parsing reader shares: a
// bounds-checked byte reader for headers, the nav/sig option checks, and
// MappedLayout, the description of where each frame lies in one or more
// mmapped files, from which make_mapped builds a zero-copy Dataset. A
// reader's job is to parse its header into a MappedLayout; nothing else.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"
#include "runtime/mmap_file.h"

#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tem::rt {

/// Reads little- and big-endian numbers from a header at byte offsets,
/// throwing DataError "PATH: error: truncated header: WHAT at byte N needs K
/// bytes, the file has S bytes" instead of reading past the end.
class ByteReader {
public:
    ByteReader(const std::byte* data, size_t size, std::string path)
        : data_(data), size_(size), path_(std::move(path)) {}
    explicit ByteReader(const MappedFile& file) : ByteReader(file.data(), file.size(), file.path()) {}

    size_t size() const { return size_; }
    const std::string& path() const { return path_; }
    const std::byte* data() const { return data_; }

    /// Throws unless bytes [offset, offset + count) are in the file.
    void need(uint64_t offset, uint64_t count, std::string_view what) const;

    template <typename T> T le(uint64_t offset, std::string_view what = "a header field") const {
        return get<T>(offset, false, what);
    }
    template <typename T> T be(uint64_t offset, std::string_view what = "a header field") const {
        return get<T>(offset, true, what);
    }
    std::string_view text(uint64_t offset, uint64_t count, std::string_view what = "header text") const {
        need(offset, count, what);
        return {reinterpret_cast<const char*>(data_) + offset, static_cast<size_t>(count)};
    }

private:
    template <typename T> T get(uint64_t offset, bool big, std::string_view what) const {
        need(offset, sizeof(T), what);
        unsigned char bytes[sizeof(T)];
        std::memcpy(bytes, data_ + offset, sizeof(T));
        if (big != (std::endian::native == std::endian::big))
            for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(bytes[i], bytes[sizeof(T) - 1 - i]);
        T value;
        std::memcpy(&value, bytes, sizeof(T));
        return value;
    }

    const std::byte* data_;
    size_t size_;
    std::string path_;
};

/// Frames [first, first + count) lie evenly spaced in one file: frame f starts
/// at byte offset + (f - first) * stride of files[file].
struct FrameRun {
    int64_t first = 0, count = 0;
    size_t file = 0;
    int64_t offset = 0, stride = 0;
};

/// What a reader learned from a header: the geometry, the element type, and
/// where every frame is. Frames are numbered in C order of `nav`.
struct MappedLayout {
    std::string format;                ///< reader name for `tem info` ("mib", "dm", ...)
    std::vector<int64_t> nav, sig;
    std::vector<int64_t> sig_strides;  ///< byte strides; empty = C-contiguous
    DType dtype = DType::U8;
    bool big_endian = false;
    std::vector<FrameRun> runs;        ///< in frame order, covering every frame once
    int64_t frame_header = 0;          ///< bytes of per-frame header before each frame (for info)
    std::vector<std::pair<std::string, std::string>> info;  ///< metadata rows for `tem info`
};

/// Builds the zero-copy dataset. Checks that the runs cover every frame in
/// order and that every byte of every frame lies inside its file; otherwise
/// throws DataError naming the file, the first frame that does not fit, the
/// bytes it needs and the file size ("truncated").
std::unique_ptr<Dataset> make_mapped(std::vector<MappedFile> files, MappedLayout layout);
/// The same for a layout in one file.
std::unique_ptr<Dataset> make_mapped(MappedFile file, MappedLayout layout);

/// Decodes one stored frame (the bytes at the frame's position in its file)
/// into frame_elems() elements of the layout's dtype, native byte order.
/// Called from several threads at once.
using FrameDecoder = std::function<void(const std::byte* stored, std::byte* out)>;

/// Builds a dataset whose frames lie in mapped files as in make_mapped, but
/// packed: each takes `stored_frame_bytes` bytes and is unpacked by `decode`
/// into the layout's dtype (sig_strides must be empty: the output is
/// C-contiguous). `packing` describes it for `tem info` ("1-bit raw").
std::unique_ptr<Dataset> make_decoded(std::vector<MappedFile> files, MappedLayout layout, int64_t stored_frame_bytes,
                                      FrameDecoder decode, std::string packing);

/// The nav shape of a file with `frames` frames: `--nav` when given (its
/// product must equal `frames`, else DataError), otherwise `stored`.
std::vector<int64_t> choose_nav(const std::string& path, const OpenOptions& options, int64_t frames,
                                std::vector<int64_t> stored);

/// Rejects `--sig`, `--dtype`, an offset or a byte order that contradict
/// (or make no sense for) a self-describing file of format `format`.
void check_stored_geometry(const std::string& path, const OpenOptions& options, const std::string& format,
                           const std::vector<int64_t>& sig, DType dtype);

/// True when `path` names an existing file or directory. Never throws (a
/// name too long for the file system, a permission error: false).
bool file_exists(const std::string& path);

/// The path of `name` next to `path` (same directory).
std::string sibling_path(const std::string& path, const std::string& name);

} // namespace tem::rt
