//===- tests/unit/runtime/test_util.h - Helpers for runtime tests --------===//
//
// This file implements the helpers the runtime tests share: a temporary
// directory removed at the end of a test, writing files byte by byte, and
// building .npy files with any header version, descr and flags.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace tem::rt::test {

/// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
public:
    TempDir() {
        std::string templ = (std::filesystem::temp_directory_path() / "tem-rt-XXXXXX").string();
        path_ = ::mkdtemp(templ.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
        std::filesystem::remove_all(path_, ec);
    }
    std::string file(const std::string& name) const {
        return (std::filesystem::path(path_) / name).string();
    }
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Appends `value` in the given byte order.
template <typename T> void append(std::string& out, T value, bool big_endian = false) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    if (big_endian) std::reverse(bytes, bytes + sizeof(T));
    out.append(bytes, sizeof(T));
}

/// A .npy file: magic, version, header length (2 bytes for 1.x, 4 for 2.x/3.x),
/// the header dict padded to 64 bytes, then `data`.
inline std::string make_npy(const std::string& dict, const std::string& data, int major = 1) {
    std::string header = dict;
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t unpadded = 8 + len_bytes + header.size() + 1;
    header.append((64 - unpadded % 64) % 64, ' ');
    header += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += '\0';
    if (major == 1)
        append<uint16_t>(out, static_cast<uint16_t>(header.size()));
    else
        append<uint32_t>(out, static_cast<uint32_t>(header.size()));
    return out + header + data;
}

/// The usual header dict.
inline std::string npy_dict(const std::string& descr, const std::string& shape,
                            bool fortran = false) {
    return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
           ", 'shape': " + shape + ", }";
}

/// Runs `fn` and returns the DataError message it throws ("" when none).
template <typename Fn> std::string data_error_of(Fn&& fn) {
    try {
        fn();
    } catch (const DataError& e) {
        return e.what();
    }
    return "";
}

} // namespace tem::rt::test
