//===- lang/lexer.cpp - Tokens of the tem language -----------------------===//
//
// This file implements the lexer: a single forward scan over the text.
//
//===----------------------------------------------------------------------===//
#include "lang/lexer.h"

#include <cctype>
#include <unordered_map>

namespace tem {

const char* token_spelling(Tok kind) {
    switch (kind) {
    case Tok::Eof: return "end of input";
    case Tok::Newline: return "end of line";
    case Tok::Semi: return "';'";
    case Tok::Ident: return "a name";
    case Tok::Int: return "an integer";
    case Tok::Float: return "a number";
    case Tok::String: return "a string";
    case Tok::KwInput: return "'input'";
    case Tok::KwParam: return "'param'";
    case Tok::KwLet: return "'let'";
    case Tok::KwFn: return "'fn'";
    case Tok::KwRoi: return "'roi'";
    case Tok::KwOut: return "'out'";
    case Tok::KwUse: return "'use'";
    case Tok::KwIf: return "'if'";
    case Tok::KwThen: return "'then'";
    case Tok::KwElse: return "'else'";
    case Tok::KwAnd: return "'and'";
    case Tok::KwOr: return "'or'";
    case Tok::KwNot: return "'not'";
    case Tok::KwTrue: return "'true'";
    case Tok::KwFalse: return "'false'";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBracket: return "'['";
    case Tok::RBracket: return "']'";
    case Tok::Comma: return "','";
    case Tok::Bar: return "'|'";
    case Tok::Assign: return "'='";
    case Tok::Eq: return "'=='";
    case Tok::Ne: return "'!='";
    case Tok::Lt: return "'<'";
    case Tok::Le: return "'<='";
    case Tok::Gt: return "'>'";
    case Tok::Ge: return "'>='";
    case Tok::Plus: return "'+'";
    case Tok::Minus: return "'-'";
    case Tok::Star: return "'*'";
    case Tok::Slash: return "'/'";
    case Tok::Percent: return "'%'";
    case Tok::StarStar: return "'**'";
    case Tok::Error: return "an invalid character";
    }
    return "?";
}

std::vector<Token> lex(const SourceManager& sm, uint32_t file, DiagnosticSink& diags) {
    static const std::unordered_map<std::string, Tok> kKeywords = {
        {"input", Tok::KwInput}, {"param", Tok::KwParam}, {"let", Tok::KwLet},
        {"fn", Tok::KwFn},       {"roi", Tok::KwRoi},     {"out", Tok::KwOut},
        {"use", Tok::KwUse},     {"if", Tok::KwIf},       {"then", Tok::KwThen},
        {"else", Tok::KwElse},   {"and", Tok::KwAnd},     {"or", Tok::KwOr},
        {"not", Tok::KwNot},     {"true", Tok::KwTrue},   {"false", Tok::KwFalse}};
    const std::string& s = sm.text(file);
    std::vector<Token> toks;
    int depth = 0;  // bracket nesting: newlines inside brackets are whitespace
    size_t i = 0;
    auto push = [&](Tok k, size_t b, size_t e, std::string text = {}) {
        toks.push_back(Token{k, SourceRange::make(file, static_cast<uint32_t>(b),
                                                  static_cast<uint32_t>(e)),
                             std::move(text)});
    };
    while (i < s.size()) {
        char c = s[i];
        if (c == '#') {
            while (i < s.size() && s[i] != '\n') ++i;
            continue;
        }
        if (c == '\n') {
            if (depth == 0) push(Tok::Newline, i, i + 1);
            ++i;
            continue;
        }
        if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
            // explicit line continuation
            i += s[i + 1] == '\r' && i + 2 < s.size() && s[i + 2] == '\n' ? 3 : 2;
            continue;
        }
        if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
        size_t b = i;
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
            std::string word = s.substr(b, i - b);
            auto it = kKeywords.find(word);
            bool statement_kw = it != kKeywords.end() &&
                                (it->second == Tok::KwInput || it->second == Tok::KwParam || it->second == Tok::KwLet ||
                                 it->second == Tok::KwFn || it->second == Tok::KwRoi || it->second == Tok::KwOut ||
                                 it->second == Tok::KwUse);
            if (statement_kw && depth > 0) {
                // A statement keyword never appears inside an expression: at the
                // start of a line it means a bracket was left open. End the
                // statement here so the parser reports the bracket and recovers.
                size_t line_begin = b;
                while (line_begin > 0 && (s[line_begin - 1] == ' ' || s[line_begin - 1] == '\t')) --line_begin;
                if (line_begin == 0 || s[line_begin - 1] == '\n') {
                    depth = 0;
                    push(Tok::Newline, line_begin > 0 ? line_begin - 1 : 0, line_begin);
                }
            }
            push(it == kKeywords.end() ? Tok::Ident : it->second, b, i, word);
            continue;
        }
        if (std::isdigit(static_cast<unsigned char>(c)) ||
            (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            bool is_float = false;
            while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            if (i < s.size() && s[i] == '.') {
                is_float = true;
                ++i;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
            }
            if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
                if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
                    is_float = true;
                    i = j;
                    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
                }
            }
            if (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
                size_t e = i;
                while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
                diags.error(SourceRange::make(file, b, e),
                            "invalid number '" + s.substr(b, e - b) + "'");
                push(Tok::Error, b, e);
                i = e;
                continue;
            }
            push(is_float ? Tok::Float : Tok::Int, b, i, s.substr(b, i - b));
            continue;
        }
        if (c == '"' || c == '\'') {
            ++i;
            std::string text;
            while (i < s.size() && s[i] != c && s[i] != '\n') text += s[i++];
            if (i >= s.size() || s[i] != c) {
                diags.error(SourceRange::make(file, b, i), "unterminated string");
                push(Tok::Error, b, i);
                continue;
            }
            ++i;
            push(Tok::String, b, i, text);
            continue;
        }
        auto two = [&](char next) { return i + 1 < s.size() && s[i + 1] == next; };
        switch (c) {
        case '(': ++depth; push(Tok::LParen, b, ++i); break;
        case ')': if (depth > 0) --depth; push(Tok::RParen, b, ++i); break;
        case '[': ++depth; push(Tok::LBracket, b, ++i); break;
        case ']': if (depth > 0) --depth; push(Tok::RBracket, b, ++i); break;
        case ',': push(Tok::Comma, b, ++i); break;
        case ';': push(Tok::Semi, b, ++i); break;
        case '|': push(Tok::Bar, b, ++i); break;
        case '+': push(Tok::Plus, b, ++i); break;
        case '-': push(Tok::Minus, b, ++i); break;
        case '/': push(Tok::Slash, b, ++i); break;
        case '%': push(Tok::Percent, b, ++i); break;
        case '*':
            if (two('*')) { i += 2; push(Tok::StarStar, b, i); }
            else push(Tok::Star, b, ++i);
            break;
        case '=':
            if (two('=')) { i += 2; push(Tok::Eq, b, i); }
            else push(Tok::Assign, b, ++i);
            break;
        case '!':
            if (two('=')) { i += 2; push(Tok::Ne, b, i); }
            else {
                diags.error(SourceRange::make(file, b, b + 1), "unexpected '!'; use 'not' for logical negation");
                push(Tok::Error, b, ++i);
            }
            break;
        case '<':
            if (two('=')) { i += 2; push(Tok::Le, b, i); }
            else push(Tok::Lt, b, ++i);
            break;
        case '>':
            if (two('=')) { i += 2; push(Tok::Ge, b, i); }
            else push(Tok::Gt, b, ++i);
            break;
        case '&':
            diags.error(SourceRange::make(file, b, two('&') ? b + 2 : b + 1), "unexpected '&'; use 'and'");
            i += two('&') ? 2 : 1;
            push(Tok::Error, b, i);
            break;
        default: {
            // One UTF-8 sequence counts as one bad character.
            size_t e = i + 1;
            while (e < s.size() && (static_cast<unsigned char>(s[e]) & 0xC0) == 0x80) ++e;
            diags.error(SourceRange::make(file, b, e), "unexpected character '" + s.substr(b, e - b) + "'");
            push(Tok::Error, b, e);
            i = e;
        }
        }
    }
    push(Tok::Newline, s.size(), s.size());
    push(Tok::Eof, s.size(), s.size());
    return toks;
}

} // namespace tem
