//===- runtime/dataset.h - Datasets behind one interface -----------------===//
//
// This file declares the dataset interface every reader implements: a
// hyper-rectangular array split into nav axes (one frame per position) and
// sig axes (the detector frame), handed to kernels as pointers and byte
// strides into an mmapped file, so that no element is copied.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/dtype.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tem::rt {

/// A user-facing error about a data file: a missing path, a truncated file, a
/// header that contradicts the geometry. `what()` is the full one-line message,
/// already formatted as "PATH: error: MESSAGE" (with the byte offset in the
/// message where one applies). Exit status 1.
class DataError : public std::runtime_error {
public:
    explicit DataError(const std::string& message) : std::runtime_error(message) {}
};

/// Builds a DataError whose message reads "PATH: error: MESSAGE".
DataError data_error(const std::string& path, const std::string& message);

/// Geometry hints from the command line (`--nav`, `--sig`, `--dtype`) or a
/// `raw:FILE?nav=...&sig=...&dtype=...&offset=...&order=...` spec. Every field
/// is optional; readers of self-describing formats use `nav` to re-shape a
/// flat scan and reject the others when they contradict the file.
struct OpenOptions {
    std::optional<std::vector<int64_t>> nav;
    std::optional<std::vector<int64_t>> sig;
    std::optional<DType> dtype;
    std::optional<int64_t> offset;     ///< bytes before the first element (raw)
    std::optional<bool> big_endian;    ///< byte order of stored elements (raw)
    /// Scan position i reads stored frame i + skip_frames; positions whose
    /// stored frame does not exist (before the first or after the last) read
    /// as zeros. The nav shape is `nav` or the stored one.
    std::optional<int64_t> skip_frames;
};

/// One opened dataset. Frames are numbered 0 .. num_frames()-1 in C order of
/// the nav axes. Implementations are immutable after opening, so every method
/// is safe to call concurrently from any thread.
class Dataset {
public:
    virtual ~Dataset() = default;

    /// Extents of the nav axes, slowest first (empty for a single image).
    const std::vector<int64_t>& nav_shape() const { return nav_shape_; }
    /// Extents of the sig axes, slowest first (usually two: qy, qx).
    const std::vector<int64_t>& sig_shape() const { return sig_shape_; }
    DType dtype() const { return dtype_; }
    /// True when stored elements are big-endian (kernels byte-swap on load).
    bool big_endian() const { return big_endian_; }

    int64_t num_frames() const;       ///< product of nav_shape (1 when it is empty)
    int64_t frame_elems() const;      ///< product of sig_shape

    /// True when the stored elements are in memory (an mmapped file) and
    /// frame() points at them; false for formats that must be decoded
    /// (bit-packed or compressed), which only read_frames() can deliver.
    bool mapped() const { return mapped_; }

    /// Pointer to element (0, 0, ...) of frame `index`; valid while the
    /// dataset lives. Element `s` of the frame (sig multi-index) lives at
    /// frame(index) + sum(s[k] * sig_strides()[k]). Only when mapped().
    virtual const std::byte* frame(int64_t index) const = 0;
    /// Byte strides between neighbouring elements along each sig axis (of
    /// the mapped file, or of read_frames' output when not mapped()).
    const std::vector<int64_t>& sig_strides() const { return sig_strides_; }
    /// Byte distance between consecutive frames, or 0 when frames are not
    /// evenly spaced or not mapped (then frame() or read_frames() is needed).
    int64_t frame_stride() const { return frame_stride_; }

    /// Copies or decodes frames [first, first + count) into `out`:
    /// count * frame_elems() elements of dtype(), C order, native byte order.
    /// The default gathers mapped frames through their strides; decoding
    /// readers override it. Thread-safe. Throws DataError for corrupt data.
    virtual void read_frames(int64_t first, int64_t count, std::byte* out) const;

    /// Frames that are stored (or compressed) together, such as the frames of
    /// one HDF5 chunk: partitions start at multiples of it so that no block
    /// is decoded twice. 1 for mapped formats.
    virtual int64_t block_frames() const { return 1; }

    /// For mapped datasets whose frames are not evenly spaced overall: how
    /// many frames from `first` on lie back to back, each frame_elems()
    /// C-contiguous elements right after the previous (one kernel call reads
    /// them all through frame(first)). At least 1.
    virtual int64_t contiguous_frames(int64_t first) const { return 1; }

    /// Hints the kernel is about to read frames [first, first+count) in order
    /// (madvise sequential / willneed); a no-op where it does not apply.
    virtual void advise_sequential(int64_t first, int64_t count) const {}

    /// The path as the user gave it, and the reader's format name ("raw", "npy").
    const std::string& path() const { return path_; }
    const std::string& format() const { return format_; }

    /// Human-readable lines for `tem info` beyond shape/dtype (header size,
    /// zero-copy, metadata), as (key, value) pairs in display order.
    virtual std::vector<std::pair<std::string, std::string>> info() const { return {}; }

protected:
    std::vector<int64_t> nav_shape_, sig_shape_, sig_strides_;
    int64_t frame_stride_ = 0;
    DType dtype_ = DType::F32;
    bool big_endian_ = false;
    bool mapped_ = true;
    std::string path_, format_;
};

/// Opens a dataset from a user spec: "raw:FILE?nav=4,4&sig=8,8&dtype=u16",
/// "FORMAT:FILE" (npy, mib, empad, blo, tvips, ser, mrc, dm, hdf5), an HDF5
/// "FILE.h5:/path/to/dataset", or a plain path whose format is chosen by
/// content (magic bytes, header text) then extension. Options from flags are merged with those in the spec (the
/// spec wins). Throws DataError for every user mistake.
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const OpenOptions& options = {});

/// Reads a whole (small) array file — dark frames, gain maps, masks, shift
/// maps — into memory as float64 values in C order. Any dataset spec works;
/// the shape is nav_shape ++ sig_shape. Throws DataError.
struct Array {
    std::vector<int64_t> shape;
    DType dtype = DType::F64;
    std::vector<double> values;
};
Array read_array(const std::string& spec, const OpenOptions& options = {});

/// C-order byte strides of a contiguous array of `extents` elements of
/// `elem_bytes` bytes each.
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& extents, int64_t elem_bytes);

/// Formats extents as "(4, 4)"; one axis is "(16)", none is "()".
std::string format_shape(const std::vector<int64_t>& extents);

/// Parses an extent list "4,4" (also "4x4", spaces allowed) into extents;
/// an empty string is an empty list. nullopt when the text is malformed.
/// Extents are not checked for being positive.
std::optional<std::vector<int64_t>> parse_extents(const std::string& text);

/// Product of the extents (1 for none), or nullopt when one is negative or
/// the product overflows int64.
std::optional<int64_t> checked_product(const std::vector<int64_t>& extents);

/// Converts element `i` of a frame buffer of `dtype` stored with the given byte
/// order to double. Used by the reference evaluator (slow path, obviously correct).
double load_element(const std::byte* p, DType dtype, bool big_endian);

} // namespace tem::rt
