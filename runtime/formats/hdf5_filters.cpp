//===- runtime/formats/hdf5_filters.cpp - Decoding HDF5 chunk filters ----===//
//
// This file implements the chunk decoders of hdf5_filters.h from the filters'
// published formats: zlib streams (deflate), HDF5's byte shuffle, the HDF5
// LZ4 filter's block framing, and bitshuffle's blocked bit transpose with or
// without LZ4 blocks. Decoders check every length against the input so that
// a corrupt chunk is an error, never a read past a buffer.
//
//===----------------------------------------------------------------------===//
#include "runtime/formats/hdf5_filters.h"

#include <lz4.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace tem::rt::h5filters {

namespace {

uint32_t read_u32_be(const std::byte* p) {
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

uint64_t read_u64_be(const std::byte* p) {
    return (uint64_t(read_u32_be(p)) << 32) | read_u32_be(p + 4);
}

/// Decompresses one LZ4 block of `in_size` bytes into exactly `out_size` bytes.
void lz4_block(const std::byte* in, size_t in_size, std::byte* out, size_t out_size, const char* what) {
    if (in_size > size_t(std::numeric_limits<int>::max()) || out_size > size_t(std::numeric_limits<int>::max()))
        throw DecodeError(std::string(what) + ": LZ4 block too large");
    int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in), reinterpret_cast<char*>(out), int(in_size),
                                int(out_size));
    if (n < 0)
        throw DecodeError(std::string(what) + ": corrupt LZ4 block (" + std::to_string(in_size) + " compressed bytes)");
    if (size_t(n) != out_size)
        throw DecodeError(std::string(what) + ": LZ4 block decodes to " + std::to_string(n) + " bytes, expected " +
                          std::to_string(out_size));
}

/// Transposes the 8x8 bit matrix held in `x` (byte r = row r, bit c = column
/// c): bit (r, c) moves to (c, r). Three rounds of swaps across the diagonal
/// of 1x1, 2x2 and 4x4 bit blocks.
uint64_t transpose_bits_8x8(uint64_t x) {
    uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAULL;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCULL;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ULL;
    x ^= t ^ (t << 28);
    return x;
}

/// Undoes bitshuffle's transpose of one block of `n` elements (n a multiple
/// of 8) of `elem` bytes. The input is 8 * elem bit rows of n / 8 bytes; row
/// 8 * j + k holds bit k of byte j of every element, element 8 * b + t at
/// bit t of the row's byte b.
void bit_untranspose(const std::byte* in, std::byte* out, size_t n, size_t elem) {
    const size_t row_bytes = n / 8;
    for (size_t j = 0; j < elem; ++j) {
        const std::byte* rows = in + j * 8 * row_bytes;
        for (size_t b = 0; b < row_bytes; ++b) {
            uint64_t x = 0;
            for (size_t k = 0; k < 8; ++k) x |= uint64_t(rows[k * row_bytes + b]) << (8 * k);
            x = transpose_bits_8x8(x);
            std::byte* dst = out + 8 * b * elem + j;
            for (size_t t = 0; t < 8; ++t) dst[t * elem] = std::byte((x >> (8 * t)) & 0xFF);
        }
    }
}

/// The most bytes a filter may produce for a chunk of `expected_bytes`: a
/// corrupt header or stream must not make tem allocate without bound.
size_t size_limit(size_t expected_bytes) { return 2 * expected_bytes + (size_t{1} << 20); }

/// bitshuffle's default block: 8 KiB of elements, a multiple of 8, at least 128.
size_t default_block_elems(size_t elem) {
    size_t block = 8192 / elem;
    block -= block % 8;
    return std::max<size_t>(block, 128);
}

} // namespace

bool can_decode(const Filter& filter) {
    switch (filter.id) {
    case kDeflate:
    case kShuffle:
    case kFletcher32:
    case kLz4:
        return true;
    case kBitshuffle:
        // cd_values[4]: 0 = bitshuffle alone, 2 = with LZ4 (3 = zstd: HDF5's plugin).
        return filter.params.size() <= 4 || filter.params[4] == 0 || filter.params[4] == 2;
    default:
        return false;
    }
}

std::string describe(const Filter& filter) {
    switch (filter.id) {
    case kDeflate:
        return "deflate" + (filter.params.empty() ? std::string() : " (level " + std::to_string(filter.params[0]) + ")");
    case kShuffle:
        return "shuffle";
    case kFletcher32:
        return "fletcher32";
    case kSzip:
        return "szip";
    case kNbit:
        return "nbit";
    case kScaleOffset:
        return "scale-offset";
    case kLz4:
        return "lz4 (32004)";
    case kBitshuffle: {
        unsigned codec = filter.params.size() > 4 ? filter.params[4] : 0;
        return codec == 2 ? "bitshuffle+lz4 (32008)"
               : codec == 3 ? "bitshuffle+zstd (32008)"
                            : "bitshuffle (32008)";
    }
    default:
        return "filter " + std::to_string(filter.id) + (filter.name.empty() ? "" : " (" + filter.name + ")");
    }
}

void inflate_zlib(std::span<const std::byte> in, size_t expected_bytes, std::vector<std::byte>& out) {
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) throw DecodeError("deflate: cannot initialise zlib");
    out.resize(std::max<size_t>(expected_bytes, 64));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    size_t in_left = in.size(), produced = 0;
    int rc = Z_OK;
    while (true) {
        if (produced == out.size()) {
            if (out.size() >= size_limit(expected_bytes)) {
                inflateEnd(&zs);
                throw DecodeError("deflate: the stream decodes to more than " + std::to_string(out.size()) +
                                  " bytes, expected " + std::to_string(expected_bytes));
            }
            out.resize(out.size() * 2);
        }
        // zlib counts in uInt; feed huge buffers in pieces.
        uInt in_step = uInt(std::min<size_t>(in_left, std::numeric_limits<uInt>::max()));
        uInt out_step = uInt(std::min<size_t>(out.size() - produced, std::numeric_limits<uInt>::max()));
        zs.avail_in = in_step;
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        zs.avail_out = out_step;
        rc = inflate(&zs, Z_NO_FLUSH);
        in_left -= in_step - zs.avail_in;
        produced += out_step - zs.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc == Z_BUF_ERROR && in_left == 0) {
            inflateEnd(&zs);
            throw DecodeError("deflate: the compressed stream ends early (" + std::to_string(in.size()) + " bytes)");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            std::string reason = zs.msg ? zs.msg : "error " + std::to_string(rc);
            inflateEnd(&zs);
            throw DecodeError("deflate: " + reason);
        }
    }
    inflateEnd(&zs);
    out.resize(produced);
}

namespace {

/// Unshuffles n elements of E bytes: a gather of one byte from each plane per
/// element, which the compiler vectorises (the plane-by-plane scatter of the
/// generic loop runs at a quarter of the speed).
template <size_t E> void unshuffle_fixed(const std::byte* in, size_t n, std::byte* out) {
    const std::byte* plane[E];
    for (size_t j = 0; j < E; ++j) plane[j] = in + j * n;
    for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < E; ++j) out[i * E + j] = plane[j][i];
}

} // namespace

void unshuffle_bytes(std::span<const std::byte> in, size_t elem_size, std::vector<std::byte>& out) {
    out.resize(in.size());
    const size_t n = elem_size > 0 ? in.size() / elem_size : 0;
    if (elem_size <= 1 || n <= 1) {
        std::memcpy(out.data(), in.data(), in.size());
        return;
    }
    // Byte j of element i was stored at j * n + i; trailing bytes as they are.
    switch (elem_size) {
    case 2: unshuffle_fixed<2>(in.data(), n, out.data()); break;
    case 4: unshuffle_fixed<4>(in.data(), n, out.data()); break;
    case 8: unshuffle_fixed<8>(in.data(), n, out.data()); break;
    default:
        for (size_t j = 0; j < elem_size; ++j) {
            const std::byte* plane = in.data() + j * n;
            for (size_t i = 0; i < n; ++i) out[i * elem_size + j] = plane[i];
        }
    }
    size_t done = n * elem_size;
    std::memcpy(out.data() + done, in.data() + done, in.size() - done);
}

void decode_lz4(std::span<const std::byte> in, size_t expected_bytes, std::vector<std::byte>& out) {
    // Header: total decoded bytes (u64 BE), block bytes (u32 BE); then per
    // block its stored size (u32 BE) and the LZ4 block, or the plain bytes
    // when the stored size equals the block size.
    if (in.size() < 12) throw DecodeError("lz4: chunk of " + std::to_string(in.size()) + " bytes has no header");
    const uint64_t total = read_u64_be(in.data());
    uint64_t block = read_u32_be(in.data() + 8);
    if (total > size_limit(expected_bytes))
        throw DecodeError("lz4: the header gives " + std::to_string(total) + " bytes, expected " + std::to_string(expected_bytes));
    if (block == 0 || block > total) block = total;
    out.resize(size_t(total));
    size_t pos = 12, done = 0;
    while (done < total) {
        size_t this_block = size_t(std::min<uint64_t>(block, total - done));
        if (pos + 4 > in.size()) throw DecodeError("lz4: the chunk ends inside block header at byte " + std::to_string(pos));
        size_t stored = read_u32_be(in.data() + pos);
        pos += 4;
        if (stored > in.size() - pos)
            throw DecodeError("lz4: block at byte " + std::to_string(pos) + " needs " + std::to_string(stored) +
                              " bytes, the chunk has " + std::to_string(in.size() - pos) + " left");
        if (stored == this_block) std::memcpy(out.data() + done, in.data() + pos, stored);
        else lz4_block(in.data() + pos, stored, out.data() + done, this_block, "lz4");
        pos += stored;
        done += this_block;
    }
}

void decode_bitshuffle(std::span<const std::byte> in, const std::vector<unsigned>& params, size_t elem_size,
                       size_t expected_bytes, std::vector<std::byte>& out) {
    const size_t elem = params.size() > 2 && params[2] > 0 ? params[2] : elem_size;
    size_t block = params.size() > 3 ? params[3] : 0;
    const bool lz4 = params.size() > 4 && params[4] == 2;
    size_t pos = 0, total = in.size();
    if (lz4) {
        // Header: total decoded bytes (u64 BE), block size in bytes (u32 BE).
        if (in.size() < 12)
            throw DecodeError("bitshuffle: chunk of " + std::to_string(in.size()) + " bytes has no header");
        uint64_t t = read_u64_be(in.data());
        if (t > size_limit(expected_bytes))
            throw DecodeError("bitshuffle: the header gives " + std::to_string(t) + " bytes, expected " +
                              std::to_string(expected_bytes));
        total = size_t(t);
        block = read_u32_be(in.data() + 8) / elem;
        pos = 12;
    }
    if (block == 0) block = default_block_elems(elem);
    if (block % 8 != 0) throw DecodeError("bitshuffle: block of " + std::to_string(block) + " elements is not a multiple of 8");
    if (total % elem != 0)
        throw DecodeError("bitshuffle: " + std::to_string(total) + " bytes are not whole elements of " +
                          std::to_string(elem) + " bytes");
    const size_t n = total / elem;
    out.resize(total);
    std::vector<std::byte> plain;
    size_t done = 0;  // elements decoded
    while (n - done >= 8) {
        size_t count = std::min(block, n - done);
        count -= count % 8;
        const size_t bytes = count * elem;
        const std::byte* src;
        if (lz4) {
            if (pos + 4 > in.size())
                throw DecodeError("bitshuffle: the chunk ends inside a block header at byte " + std::to_string(pos));
            size_t stored = read_u32_be(in.data() + pos);
            pos += 4;
            if (stored > in.size() - pos)
                throw DecodeError("bitshuffle: block at byte " + std::to_string(pos) + " needs " +
                                  std::to_string(stored) + " bytes, the chunk has " + std::to_string(in.size() - pos) +
                                  " left");
            plain.resize(bytes);
            lz4_block(in.data() + pos, stored, plain.data(), bytes, "bitshuffle");
            pos += stored;
            src = plain.data();
        } else {
            if (bytes > in.size() - pos) throw DecodeError("bitshuffle: the chunk ends inside block at byte " + std::to_string(pos));
            src = in.data() + pos;
            pos += bytes;
        }
        bit_untranspose(src, out.data() + done * elem, count, elem);
        done += count;
    }
    // Fewer than 8 trailing elements are stored as they are.
    const size_t rest = (n - done) * elem;
    if (rest > in.size() - pos)
        throw DecodeError("bitshuffle: the chunk ends before its last " + std::to_string(rest) + " plain bytes");
    std::memcpy(out.data() + done * elem, in.data() + pos, rest);
}

void decode_chunk(const std::vector<Filter>& pipeline, uint32_t filter_mask, size_t elem_size,
                  size_t expected_bytes, std::span<const std::byte> raw, std::vector<std::byte>& chunk,
                  std::vector<std::byte>& scratch) {
    // `cur` is the input of the next filter: `raw` until a filter has run,
    // then `chunk` (each filter writes `scratch`, which then becomes `chunk`).
    std::span<const std::byte> cur = raw;
    bool in_raw = true;
    for (size_t i = pipeline.size(); i-- > 0;) {
        if (i < 32 && (filter_mask >> i) & 1u) continue;  // not applied to this chunk
        const Filter& f = pipeline[i];
        switch (f.id) {
        case kDeflate:
            inflate_zlib(cur, expected_bytes, scratch);
            break;
        case kShuffle:
            unshuffle_bytes(cur, !f.params.empty() && f.params[0] > 0 ? f.params[0] : elem_size, scratch);
            break;
        case kFletcher32:
            // The checksum trails the data; HDF5 verifies it on its own path.
            if (cur.size() < 4) throw DecodeError("fletcher32: chunk of " + std::to_string(cur.size()) + " bytes has no checksum");
            cur = cur.first(cur.size() - 4);
            if (!in_raw) chunk.resize(cur.size());
            continue;
        case kLz4:
            decode_lz4(cur, expected_bytes, scratch);
            break;
        case kBitshuffle:
            decode_bitshuffle(cur, f.params, elem_size, expected_bytes, scratch);
            break;
        default:
            throw DecodeError("filter " + std::to_string(f.id) + " is not decoded by tem");
        }
        chunk.swap(scratch);
        cur = chunk;
        in_raw = false;
    }
    if (in_raw) {
        // No filter ran: the chunk is the raw bytes (without a checksum).
        if (cur.data() == chunk.data()) chunk.resize(cur.size());
        else chunk.assign(cur.begin(), cur.end());
    }
}

void decode_chunk(const std::vector<Filter>& pipeline, uint32_t filter_mask, size_t elem_size,
                  size_t expected_bytes, std::vector<std::byte>& chunk, std::vector<std::byte>& scratch) {
    // The raw bytes are read before `chunk` is first written (into scratch, then swapped).
    std::span<const std::byte> raw(chunk.data(), chunk.size());
    decode_chunk(pipeline, filter_mask, elem_size, expected_bytes, raw, chunk, scratch);
}

} // namespace tem::rt::h5filters
