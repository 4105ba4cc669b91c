//===- runtime/formats/hdf5_filters.h - Decoding HDF5 chunk filters ------===//
//
// This file declares tem's own decoders for the HDF5 filters that detector
// files use: deflate (zlib), byte shuffle, Fletcher-32, bitshuffle (+LZ4,
// filter 32008, Dectris) and LZ4 (filter 32004). The HDF5 reader reads raw
// chunks with H5Dread_chunk and undoes the filter pipeline here, outside the
// HDF5 library's lock, so that several threads decode at once. Filters not
// listed here are left to HDF5's own pipeline (H5Dread and plugins).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <span>
#include <vector>

namespace tem::rt::h5filters {

/// HDF5 filter identifiers (H5Zpublic.h and the registered-filter list).
inline constexpr int kDeflate = 1;
inline constexpr int kShuffle = 2;
inline constexpr int kFletcher32 = 3;
inline constexpr int kSzip = 4;
inline constexpr int kNbit = 5;
inline constexpr int kScaleOffset = 6;
inline constexpr int kLz4 = 32004;
inline constexpr int kBitshuffle = 32008;

/// One stage of a dataset's filter pipeline, as H5Pget_filter2 reports it.
struct Filter {
    int id = 0;
    std::vector<unsigned> params;  ///< the filter's client data (cd_values)
    std::string name;              ///< the name stored in the file (may be empty)
};

/// A chunk whose bytes do not decode (bad compressed stream, wrong sizes).
/// The message says what failed ("deflate: invalid distance too far back");
/// the reader adds the file, dataset and chunk coordinates.
class DecodeError : public std::runtime_error {
public:
    explicit DecodeError(const std::string& message) : std::runtime_error(message) {}
};

/// True when tem decodes `filter` itself (bitshuffle with zstd, szip, nbit,
/// scale-offset and unknown filters are left to HDF5).
bool can_decode(const Filter& filter);

/// A short description for `tem info`: "deflate (level 4)", "shuffle",
/// "bitshuffle+lz4 (32008)", "filter 307 (name)".
std::string describe(const Filter& filter);

/// Undoes the pipeline on one raw chunk, last filter first, skipping the
/// filters whose bit is set in `filter_mask` (H5Dread_chunk's mask of filters
/// not applied to this chunk). `chunk` holds the raw bytes on entry and the
/// decoded bytes on return; `scratch` is working space. `elem_size` is the
/// size of one stored element and `expected_bytes` the decoded chunk size
/// (a hint for buffer sizes; the caller checks the result). Every filter
/// must satisfy can_decode. Throws DecodeError.
void decode_chunk(const std::vector<Filter>& pipeline, uint32_t filter_mask, size_t elem_size,
                  size_t expected_bytes, std::vector<std::byte>& chunk, std::vector<std::byte>& scratch);

/// The same, reading the raw bytes from `raw` (e.g. straight from a mapping
/// of the file: no copy before the first filter) into `chunk`.
void decode_chunk(const std::vector<Filter>& pipeline, uint32_t filter_mask, size_t elem_size,
                  size_t expected_bytes, std::span<const std::byte> raw, std::vector<std::byte>& chunk,
                  std::vector<std::byte>& scratch);

/// The single decoders, exposed for tests. Each reads `in` and replaces `out`;
/// `expected_bytes` bounds what a corrupt chunk may make them allocate.
void inflate_zlib(std::span<const std::byte> in, size_t expected_bytes, std::vector<std::byte>& out);
void unshuffle_bytes(std::span<const std::byte> in, size_t elem_size, std::vector<std::byte>& out);
void decode_lz4(std::span<const std::byte> in, size_t expected_bytes, std::vector<std::byte>& out);
void decode_bitshuffle(std::span<const std::byte> in, const std::vector<unsigned>& params, size_t elem_size,
                       size_t expected_bytes, std::vector<std::byte>& out);

} // namespace tem::rt::h5filters
