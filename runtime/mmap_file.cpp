//===- runtime/mmap_file.cpp - Read-only memory map of a whole file ------===//
//
// This file implements MappedFile on top of open/fstat/mmap/madvise. The file
// descriptor is closed right after mapping: the mapping keeps the file alive.
//
//===----------------------------------------------------------------------===//
#include "runtime/mmap_file.h"

#include "runtime/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace tem::rt {

namespace {

/// Closes a file descriptor on scope exit.
struct FdCloser {
    int fd;
    ~FdCloser() {
        if (fd >= 0) ::close(fd);
    }
};

/// Opens `path` read-only and checks that it is a regular file; returns the
/// descriptor and fills `st`. Throws DataError.
int open_regular_file(const std::string& path, struct stat& st) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw data_error(path, error_text(errno));
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        throw data_error(path, error_text(err));
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw data_error(path, "is a directory, not a data file");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw data_error(path, "is not a regular file");
    }
    return fd;
}

} // namespace

std::string error_text(int errnum) {
    std::string text = std::strerror(errnum);
    if (!text.empty())
        text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    return text;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
    struct stat st {};
    FdCloser fd{open_regular_file(path, st)};
    size_ = static_cast<size_t>(st.st_size);
    // mmap rejects a zero length; an empty file simply has no bytes.
    if (size_ == 0) return;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        size_ = 0;
        throw data_error(path, "cannot map the file: " + error_text(err));
    }
    data_ = static_cast<const std::byte*>(p);
    // Linux shows the page cache to owners and writers of the file; owners
    // are known from the stat already made (others ask by reads).
    mincore_tells_ = st.st_uid == ::geteuid();
}

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)), mincore_tells_(other.mincore_tells_) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        mincore_tells_ = other.mincore_tells_;
    }
    return *this;
}

void MappedFile::release() noexcept {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
    size_ = 0;
}

void MappedFile::advise(size_t offset, size_t length, bool sequential) const {
    if (data_ == nullptr || offset >= size_ || length == 0 || !sequential) return;
    length = std::min(length, size_ - offset);
    // madvise wants a page-aligned start; the mapping itself is page-aligned.
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t aligned = offset - offset % page;
    void* start = const_cast<std::byte*>(data_ + aligned);
    size_t span = length + (offset - aligned);
    // Page-cached bytes are mapped into the page tables in one call: faults
    // on them cost more than the call (6 ms against 3 ms per GiB here), and
    // a software prefetch of a page not yet mapped is dropped (W5's tile
    // loops and W3's ring pieces prefetch ahead: 48.7 -> 40.6 ms and
    // 55.8 -> 46.5 ms per GiB at 1 thread). Bytes still on disk are read
    // by faults on a mapping marked sequential, which read ahead
    // asynchronously while the kernel computes. Not both: marking part of
    // the mapping splits it at page boundaries, and the huge pages that
    // straddle a split are mapped page by page. MADV_WILLNEED is not used:
    // it walks the page cache of the whole range at once (8 ms per GiB).
    if (resident(aligned, span)) {
        populate(offset, length);
        return;
    }
    ::madvise(start, span, MADV_SEQUENTIAL);
}

bool MappedFile::resident(size_t offset, size_t length) const {
    // A few pages stand for the range: mincore over all of them costs 18 ms
    // per GiB, and a wrong guess costs speed only.
    if (length == 0) return false;
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    constexpr size_t kSamples = 4;
    std::vector<size_t> samples;
    for (size_t i = 0; i < kSamples; ++i) {
        size_t at = offset + (length - 1) / (kSamples - 1) * i;
        at -= at % page;
        if (at >= size_) return false;
        samples.push_back(at);
    }
    // mincore answers without a system call per page read; a caller it does
    // not tell (mincore_tells_) asks with reads that must not wait.
    if (!mincore_tells_) return page_cached(path_, samples);
    for (size_t at : samples) {
        unsigned char in = 0;
        if (::mincore(const_cast<std::byte*>(data_ + at), 1, &in) != 0 || (in & 1) == 0) return false;
    }
    return true;
}

bool page_cached(const std::string& path, const std::vector<size_t>& offsets) {
#ifdef RWF_NOWAIT
    FdCloser fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) return false;
    for (size_t at : offsets) {
        char byte = 0;
        iovec v{&byte, 1};
        if (::preadv2(fd.fd, &v, 1, static_cast<off_t>(at), RWF_NOWAIT) != 1) return false;
    }
    return !offsets.empty();
#else
    (void)path;
    (void)offsets;
    return false;
#endif
}

void MappedFile::populate(size_t offset, size_t length) const {
#ifdef MADV_POPULATE_READ
    if (data_ == nullptr || offset >= size_ || length == 0) return;
    length = std::min(length, size_ - offset);
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t aligned = offset - offset % page;
    ::madvise(const_cast<std::byte*>(data_ + aligned), length + (offset - aligned), MADV_POPULATE_READ);
#else
    (void)offset;
    (void)length;
#endif
}

std::string read_file_head(const std::string& path, size_t count) {
    struct stat st {};
    FdCloser fd{open_regular_file(path, st)};
    std::string head(count, '\0');
    size_t got = 0;
    while (got < count) {
        ssize_t n = ::read(fd.fd, head.data() + got, count - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw data_error(path, "cannot read the file: " + error_text(errno));
        }
        if (n == 0) break;
        got += static_cast<size_t>(n);
    }
    head.resize(got);
    return head;
}

} // namespace tem::rt
