//===- runtime/npy_writer.cpp - Results as NumPy .npy files --------------===//
//
// This file implements write_npy: format 1.0, little-endian, C order, in the
// result's dtype, header padded with spaces so that the data starts at a
// multiple of 64 bytes as NumPy itself does.
//
//===----------------------------------------------------------------------===//
#include "runtime/writers.h"

#include "runtime/dataset.h"
#include "runtime/mmap_file.h"

#include <cerrno>
#include <cstdio>
#include <string>

namespace tem::rt {

namespace {

std::string npy_descr(DType dtype) {
    switch (dtype) {
    case DType::Bool:
        return "|b1";
    case DType::U8:
        return "|u1";
    case DType::I8:
        return "|i1";
    case DType::U16:
        return "<u2";
    case DType::U32:
        return "<u4";
    case DType::U64:
        return "<u8";
    case DType::I16:
        return "<i2";
    case DType::I32:
        return "<i4";
    case DType::I64:
        return "<i8";
    case DType::F32:
        return "<f4";
    case DType::F64:
        return "<f8";
    }
    return "<f8";
}

/// Python tuple syntax: "()", "(16,)", "(4, 4)".
std::string python_tuple(const std::vector<int64_t>& shape) {
    std::string text = "(";
    for (size_t axis_idx = 0; axis_idx < shape.size(); ++axis_idx) {
        if (axis_idx > 0) text += ", ";
        text += std::to_string(shape[axis_idx]);
    }
    if (shape.size() == 1) text += ",";
    return text + ")";
}

} // namespace

void write_npy(const std::string& path, const Result& result) {
    std::vector<unsigned char> data = encode_values(result);
    std::string header = "{'descr': '" + npy_descr(result.dtype) +
                         "', 'fortran_order': False, 'shape': " + python_tuple(result.shape) +
                         ", }";
    // magic (6) + version (2) + header length (2) + header, padded to 64 with
    // spaces and ended by a newline.
    size_t unpadded = 10 + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    if (header.size() > 0xffff)
        throw data_error(path, "cannot write npy: the header of shape " +
                                   format_shape(result.shape) + " is too long");

    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) throw data_error(path, "cannot write output: " + error_text(errno));
    std::string prefix = "\x93NUMPY";
    prefix += '\x01';
    prefix += '\x00';
    prefix += static_cast<char>(header.size() & 0xff);
    prefix += static_cast<char>(header.size() >> 8);
    bool ok = std::fwrite(prefix.data(), 1, prefix.size(), f) == prefix.size() &&
              std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
              std::fwrite(data.data(), 1, data.size(), f) == data.size();
    int err = ok ? 0 : errno;
    if (std::fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) throw data_error(path, "cannot write output: " + error_text(err));
}

} // namespace tem::rt
