//===- lang/lexer.h - Tokens of the tem language -------------------------===//
//
// This file implements the lexer. It records the location of every token and
// turns newlines into statement terminators only outside brackets, so that an
// expression may span several lines inside parentheses.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/diagnostics.h"
#include "lang/source.h"

#include <string>
#include <vector>

namespace tem {

enum class Tok {
    Eof, Newline, Semi, Ident, Int, Float, String,
    // keywords
    KwInput, KwParam, KwLet, KwFn, KwRoi, KwOut, KwUse, KwIf, KwThen, KwElse,
    KwAnd, KwOr, KwNot, KwTrue, KwFalse,
    // punctuation
    LParen, RParen, LBracket, RBracket, Comma, Bar, Assign,
    Eq, Ne, Lt, Le, Gt, Ge, Plus, Minus, Star, Slash, Percent, StarStar,
    Error,
};

struct Token {
    Tok kind = Tok::Eof;
    SourceRange range;
    std::string text;  ///< identifier name, number spelling, or string contents
};

/// Printable spelling of a token kind, for messages ("')'", "end of line").
const char* token_spelling(Tok kind);

/// Splits one source file into tokens, reporting bad characters to `diags`.
/// The result always ends with Tok::Eof (preceded by a Newline).
std::vector<Token> lex(const SourceManager& sm, uint32_t file, DiagnosticSink& diags);

} // namespace tem
