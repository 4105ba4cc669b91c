//===- tests/unit/runtime/mmap_file_test.cpp - Memory-mapped files -------===//
//
// This file implements tests of MappedFile: contents, empty files, moves,
// advice, and the errors for missing paths and directories.
//
//===----------------------------------------------------------------------===//
#include "runtime/mmap_file.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

namespace tem::rt {
namespace {

using test::data_error_of;
using test::TempDir;
using test::write_bytes;

/// Whether the file system of `path` serves buffered reads with RWF_NOWAIT
/// (some, such as FUSE or NFS, answer EOPNOTSUPP).
bool nowait_reads_supported(const std::string& path) {
#ifdef RWF_NOWAIT
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char byte = 0;
    iovec v{&byte, 1};
    ssize_t got = ::preadv2(fd, &v, 1, 0, RWF_NOWAIT);
    int err = errno;
    ::close(fd);
    return got == 1 || (got < 0 && err == EAGAIN);
#else
    (void)path;
    return false;
#endif
}

TEST(MappedFile, MapsWholeFile) {
    TempDir dir;
    std::string path = dir.file("x.bin");
    std::string bytes(10000, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7);
    write_bytes(path, bytes);
    MappedFile file(path);
    ASSERT_EQ(file.size(), bytes.size());
    EXPECT_EQ(std::memcmp(file.data(), bytes.data(), bytes.size()), 0);
    EXPECT_EQ(file.path(), path);
    file.advise(4097, 3000, true);
    file.advise(9000, 99999, false); // clipped
    file.advise(20000, 10, true);    // out of range: ignored
    // Just written: the file is in the page cache (advise() maps it at once).
    EXPECT_TRUE(file.resident(0, file.size()));
    EXPECT_FALSE(file.resident(0, 3 * 4096 * 4096)); // samples past the end
    // The test any reader can make (mincore hides the page cache of files
    // the caller neither owns nor could write), where the file system
    // answers reads that must not wait.
    if (nowait_reads_supported(path)) EXPECT_TRUE(page_cached(path, {0, 4096, 9999}));
    EXPECT_FALSE(page_cached(path, {0, 10000}));  // past the end: nothing to read
    EXPECT_FALSE(page_cached(path, {}));
    EXPECT_FALSE(page_cached(dir.file("missing.bin"), {0}));

    MappedFile moved(std::move(file));
    EXPECT_EQ(moved.size(), bytes.size());
    EXPECT_EQ(file.data(), nullptr);
    EXPECT_EQ(std::memcmp(moved.data(), bytes.data(), bytes.size()), 0);
}

TEST(MappedFile, EmptyFile) {
    TempDir dir;
    std::string path = dir.file("empty.bin");
    write_bytes(path, "");
    MappedFile file(path);
    EXPECT_EQ(file.size(), 0u);
    EXPECT_EQ(file.data(), nullptr);
    file.advise(0, 10, true);
}

TEST(MappedFile, Errors) {
    TempDir dir;
    std::string missing = dir.file("missing.bin");
    EXPECT_EQ(data_error_of([&] { MappedFile f(missing); }),
              missing + ": error: no such file or directory");
    EXPECT_EQ(data_error_of([&] { MappedFile f(dir.path()); }),
              dir.path() + ": error: is a directory, not a data file");
    EXPECT_EQ(data_error_of([&] { read_file_head(missing, 8); }),
              missing + ": error: no such file or directory");
}

TEST(MappedFile, ReadHead) {
    TempDir dir;
    std::string path = dir.file("h.bin");
    write_bytes(path, "abc");
    EXPECT_EQ(read_file_head(path, 8), "abc");
    EXPECT_EQ(read_file_head(path, 2), "ab");
}

TEST(ErrorText, LowerCase) { EXPECT_EQ(error_text(ENOENT), "no such file or directory"); }

} // namespace
} // namespace tem::rt
