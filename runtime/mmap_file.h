//===- runtime/mmap_file.h - Read-only memory map of a whole file --------===//
//
// This file declares MappedFile, the RAII owner of a read-only, private
// mapping of one whole file. Every zero-copy reader (raw, npy, ...) keeps one
// and hands out pointers into it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tem::rt {

/// A read-only mapping (PROT_READ, MAP_PRIVATE) of a whole file. Immutable
/// after construction, so const methods may be called from any thread. An
/// empty file is valid: data() is then nullptr and size() is 0.
class MappedFile {
public:
    /// Maps `path`. Throws DataError ("PATH: error: no such file or directory",
    /// "PATH: error: is a directory, not a data file", ...) on failure.
    explicit MappedFile(const std::string& path);
    ~MappedFile();

    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    /// First byte of the file; valid while this object lives.
    const std::byte* data() const { return data_; }
    /// File size in bytes at the time it was mapped.
    size_t size() const { return size_; }
    /// The path the file was opened with.
    const std::string& path() const { return path_; }

    /// Hints, when `sequential`, that bytes [offset, offset+length) will be
    /// read in order: page-cached bytes are mapped at once (populate()),
    /// others read ahead on faults (MADV_SEQUENTIAL).
    /// Out-of-range parts are clipped; failures are ignored (it is a hint).
    void advise(size_t offset, size_t length, bool sequential) const;

    /// True when sampled pages of bytes [offset, offset+length) (a
    /// page-aligned offset) are in the page cache.
    bool resident(size_t offset, size_t length) const;

    /// Maps bytes [offset, offset+length) of page-cached data into the page
    /// tables in one call (MADV_POPULATE_READ, Linux 5.14+), instead of a
    /// fault per few pages while they are read. A hint; failures are ignored.
    void populate(size_t offset, size_t length) const;

private:
    void release() noexcept;

    std::string path_;
    const std::byte* data_ = nullptr;
    size_t size_ = 0;
    /// mincore() tells this process the page cache of the file: it owns the
    /// file. (Linux shows the page cache only to owners and writers, and
    /// reports every page resident to others.)
    bool mincore_tells_ = false;
};

/// Reads the first `count` bytes of `path` (fewer when the file is shorter),
/// for format detection without mapping. Throws DataError like MappedFile.
std::string read_file_head(const std::string& path, size_t count);

/// True when the file's bytes at each of `offsets` are in the page cache,
/// by reads that must not wait (preadv2 RWF_NOWAIT; they may start the
/// kernel's read-ahead). False when it cannot tell.
bool page_cached(const std::string& path, const std::vector<size_t>& offsets);

/// The text of strerror(errnum) with a lower-case first letter, as used in
/// tem's error messages ("no such file or directory").
std::string error_text(int errnum);

} // namespace tem::rt
