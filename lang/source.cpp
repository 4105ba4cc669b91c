//===- lang/source.cpp - Source buffers and locations --------------------===//
//
// This file implements the SourceManager: line tables built once per text.
//
//===----------------------------------------------------------------------===//
#include "lang/source.h"

#include <algorithm>

namespace tem {

uint32_t SourceManager::add(std::string name, std::string text) {
    File f;
    f.name = std::move(name);
    f.text = std::move(text);
    f.line_starts.push_back(0);
    for (uint32_t i = 0; i < f.text.size(); ++i)
        if (f.text[i] == '\n') f.line_starts.push_back(i + 1);
    files_.push_back(std::move(f));
    return static_cast<uint32_t>(files_.size() - 1);
}

std::pair<int, int> SourceManager::line_col(uint32_t file, uint32_t offset) const {
    const File& f = files_[file];
    auto it = std::upper_bound(f.line_starts.begin(), f.line_starts.end(), offset);
    int line = static_cast<int>(it - f.line_starts.begin());
    int col = static_cast<int>(offset - f.line_starts[line - 1]) + 1;
    return {line, col};
}

std::string_view SourceManager::line_text(uint32_t file, int line) const {
    const File& f = files_[file];
    if (line < 1 || line > static_cast<int>(f.line_starts.size())) return {};
    uint32_t begin = f.line_starts[line - 1];
    uint32_t end = begin;
    while (end < f.text.size() && f.text[end] != '\n') ++end;
    if (end > begin && f.text[end - 1] == '\r') --end;
    return std::string_view(f.text).substr(begin, end - begin);
}

std::string_view SourceManager::slice(const SourceRange& range) const {
    if (!range.valid) return {};
    const std::string& t = files_[range.file].text;
    uint32_t b = std::min<uint32_t>(range.begin, t.size());
    uint32_t e = std::min<uint32_t>(range.end, t.size());
    return std::string_view(t).substr(b, e > b ? e - b : 0);
}

} // namespace tem
