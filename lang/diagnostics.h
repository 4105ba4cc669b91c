//===- lang/diagnostics.h - Errors with carets ---------------------------===//
//
// This file implements tem's diagnostics: every user mistake is collected in a
// DiagnosticSink (never printed straight to stderr) and rendered as
//
//   FILE:LINE:COL: error: MESSAGE
//     <the source line>
//     <caret run under the offending span>
//
// with notes attached to their parent diagnostic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/source.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace tem {

enum class Severity { Error, Warning, Note, Remark };

struct Diagnostic {
    Severity severity = Severity::Error;
    SourceRange range;  ///< may be invalid: then only "FILE: error:" or "error:" is printed
    std::string message;
    std::vector<Diagnostic> notes;
};

/// Collects diagnostics in the order they are reported.
class DiagnosticSink {
public:
    /// Reports an error; returns it so that notes can be attached.
    Diagnostic& error(SourceRange range, std::string message);
    Diagnostic& warning(SourceRange range, std::string message);
    /// Attaches a note to the most recent diagnostic.
    void note(SourceRange range, std::string message);

    bool has_errors() const { return errors_ > 0; }
    int error_count() const { return errors_; }
    const std::vector<Diagnostic>& all() const { return diags_; }
    void clear() { diags_.clear(); errors_ = 0; }

    /// Renders every diagnostic with its source line and caret run.
    std::string render(const SourceManager& sm) const;
    static std::string render_one(const SourceManager& sm, const Diagnostic& d);

private:
    std::vector<Diagnostic> diags_;
    int errors_ = 0;
};

/// Thrown to abandon a compilation after errors were reported to a sink (the
/// sink already holds the messages). Caught by the CLI, which exits with 1.
class CompileError : public std::runtime_error {
public:
    CompileError() : std::runtime_error("compilation failed") {}
};

/// Levenshtein distance, for "did you mean" suggestions.
int edit_distance(const std::string& a, const std::string& b);
/// The candidate closest to `name` (distance <= max(1, len/3)), or "".
std::string closest_name(const std::string& name, const std::vector<std::string>& candidates);

} // namespace tem
