//===- lang/parser.h - Parser for tem scripts ----------------------------===//
//
// This file declares the recursive-descent parser. After a syntax error it
// reports the error, skips to the next statement boundary and goes on, so one
// run reports every independent mistake.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ast.h"
#include "lang/diagnostics.h"

namespace tem {

/// How bare statements are treated: in scripts, `x = e` and bare expressions
/// are errors; in `tem eval` and the REPL, `x = e` means `out x = e` and a
/// bare expression means `out result = e`.
enum class ParseMode { Script, Eval };

/// Parses one registered source file. Errors go to `diags`; the returned
/// script holds every statement that parsed.
ast::Script parse(const SourceManager& sm, uint32_t file, DiagnosticSink& diags,
                  ParseMode mode = ParseMode::Script);

} // namespace tem
