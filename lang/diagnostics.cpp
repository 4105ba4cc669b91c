//===- lang/diagnostics.cpp - Errors with carets -------------------------===//
//
// This file implements rendering of diagnostics. Long source lines are cut to
// a window around the range, with "..." marking what was left out.
//
//===----------------------------------------------------------------------===//
#include "lang/diagnostics.h"

#include <algorithm>

namespace tem {

Diagnostic& DiagnosticSink::error(SourceRange range, std::string message) {
    ++errors_;
    diags_.push_back(Diagnostic{Severity::Error, range, std::move(message), {}});
    return diags_.back();
}

Diagnostic& DiagnosticSink::warning(SourceRange range, std::string message) {
    diags_.push_back(Diagnostic{Severity::Warning, range, std::move(message), {}});
    return diags_.back();
}

void DiagnosticSink::note(SourceRange range, std::string message) {
    if (diags_.empty()) return;
    diags_.back().notes.push_back(Diagnostic{Severity::Note, range, std::move(message), {}});
}

namespace {

const char* severity_name(Severity s) {
    switch (s) {
    case Severity::Error: return "error";
    case Severity::Warning: return "warning";
    case Severity::Note: return "note";
    case Severity::Remark: return "remark";
    }
    return "error";
}

constexpr size_t kMaxLine = 100;

void render_into(std::string& out, const SourceManager& sm, const Diagnostic& d) {
    if (!d.range.valid) {
        out += severity_name(d.severity);
        out += ": " + d.message + "\n";
        return;
    }
    auto [line, col] = sm.line_col(d.range.file, d.range.begin);
    {
        std::string_view whole = sm.line_text(d.range.file, line);
        int char_col = 1;
        for (int i = 0; i < col - 1 && i < static_cast<int>(whole.size()); ++i)
            if ((static_cast<unsigned char>(whole[i]) & 0xC0) != 0x80) ++char_col;
        if (col - 1 > static_cast<int>(whole.size())) char_col += col - 1 - static_cast<int>(whole.size());
        out += sm.name(d.range.file) + ":" + std::to_string(line) + ":" + std::to_string(char_col) + ": ";
    }
    out += severity_name(d.severity);
    out += ": " + d.message + "\n";
    std::string text(sm.line_text(d.range.file, line));
    // Tabs would misplace the caret: show them as spaces.
    std::replace(text.begin(), text.end(), '\t', ' ');
    size_t caret_begin = static_cast<size_t>(col - 1);
    auto [end_line, end_col] = sm.line_col(d.range.file, std::max(d.range.begin, d.range.end));
    size_t caret_end = end_line == line ? static_cast<size_t>(end_col - 1) : text.size();
    if (caret_end <= caret_begin) caret_end = caret_begin + 1;
    std::string prefix;
    if (text.size() > kMaxLine) {
        // Keep a window of kMaxLine characters that starts a little before the range.
        size_t start = caret_begin > 20 ? caret_begin - 20 : 0;
        std::string window = text.substr(start, kMaxLine);
        bool cut_left = start > 0, cut_right = start + kMaxLine < text.size();
        text = (cut_left ? "..." : "") + window + (cut_right ? "..." : "");
        size_t shift = cut_left ? 3 : 0;
        caret_begin = caret_begin - start + shift;
        caret_end = std::min(caret_end - start + shift, text.size());
        if (caret_end <= caret_begin) caret_end = caret_begin + 1;
    }
    // Columns on screen count characters, not UTF-8 bytes.
    auto chars = [&](size_t bytes) {
        size_t n = 0;
        for (size_t i = 0; i < bytes && i < text.size(); ++i)
            if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
        return n + (bytes > text.size() ? bytes - text.size() : 0);
    };
    caret_end = chars(caret_end);
    caret_begin = chars(caret_begin);
    if (caret_end <= caret_begin) caret_end = caret_begin + 1;
    out += "  " + text + "\n";
    out += "  " + std::string(caret_begin, ' ') + "^";
    if (caret_end > caret_begin + 1) out += std::string(caret_end - caret_begin - 1, '~');
    out += "\n";
}

} // namespace

std::string DiagnosticSink::render_one(const SourceManager& sm, const Diagnostic& d) {
    std::string out;
    render_into(out, sm, d);
    for (const Diagnostic& n : d.notes) render_into(out, sm, n);
    return out;
}

std::string DiagnosticSink::render(const SourceManager& sm) const {
    std::string out;
    for (const Diagnostic& d : diags_) out += render_one(sm, d);
    return out;
}

int edit_distance(const std::string& a, const std::string& b) {
    std::vector<int> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = static_cast<int>(j);
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = static_cast<int>(i);
        for (size_t j = 1; j <= b.size(); ++j) {
            int sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string closest_name(const std::string& name, const std::vector<std::string>& candidates) {
    int best = std::max<int>(1, static_cast<int>(name.size()) / 3) + 1;
    std::string found;
    for (const std::string& c : candidates) {
        int d = edit_distance(name, c);
        if (d < best) { best = d; found = c; }
    }
    return found;
}

} // namespace tem
