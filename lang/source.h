//===- lang/source.h - Source buffers and locations ----------------------===//
//
// This file implements the source manager: every text tem compiles (a script,
// an eval one-liner, a REPL line, an embedded stdlib module) is registered
// once and referred to by a file id; locations are byte offsets into it, and
// line/column are computed only when a diagnostic is printed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tem {

/// A half-open byte range [begin, end) in one source file.
struct SourceRange {
    uint32_t file = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
    bool valid = false;

    static SourceRange make(uint32_t file, uint32_t begin, uint32_t end) {
        return SourceRange{file, begin, end, true};
    }
    /// The smallest range covering both (they must be in the same file).
    SourceRange to(const SourceRange& other) const {
        if (!valid) return other;
        if (!other.valid) return *this;
        return make(file, begin < other.begin ? begin : other.begin,
                    end > other.end ? end : other.end);
    }
};

/// Owns every source text of a compilation. Ids are stable; texts never move.
class SourceManager {
public:
    /// Registers a text under a display name ("bf.tem", "<eval>", "<repl>:3").
    uint32_t add(std::string name, std::string text);
    const std::string& name(uint32_t file) const { return files_[file].name; }
    const std::string& text(uint32_t file) const { return files_[file].text; }
    /// 1-based line and column of a byte offset.
    std::pair<int, int> line_col(uint32_t file, uint32_t offset) const;
    /// The text of a 1-based line, without its newline.
    std::string_view line_text(uint32_t file, int line) const;
    /// The source text a range covers.
    std::string_view slice(const SourceRange& range) const;

private:
    struct File {
        std::string name, text;
        std::vector<uint32_t> line_starts;
    };
    std::vector<File> files_;
};

} // namespace tem
