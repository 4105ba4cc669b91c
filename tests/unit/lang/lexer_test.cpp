//===- tests/unit/lang/lexer_test.cpp - Lexer edge cases -----------------===//
#include "lang/lexer.h"

#include <gtest/gtest.h>

namespace tem {
namespace {

std::vector<Token> lex_text(const std::string& text, DiagnosticSink& diags) {
    static SourceManager sm;  // tokens keep ranges into it
    uint32_t f = sm.add("t.tem", text);
    return lex(sm, f, diags);
}

std::vector<Tok> kinds(const std::string& text) {
    DiagnosticSink diags;
    std::vector<Tok> out;
    for (const Token& t : lex_text(text, diags)) out.push_back(t.kind);
    return out;
}

TEST(Lexer, OperatorsAndKeywords) {
    EXPECT_EQ(kinds("a ** b <= c != d"),
              (std::vector<Tok>{Tok::Ident, Tok::StarStar, Tok::Ident, Tok::Le, Tok::Ident, Tok::Ne,
                                Tok::Ident, Tok::Newline, Tok::Eof}));
    EXPECT_EQ(kinds("if x then y else z")[0], Tok::KwIf);
    EXPECT_EQ(kinds("not true and false")[0], Tok::KwNot);
}

TEST(Lexer, NumbersIntAndFloat) {
    DiagnosticSink diags;
    auto toks = lex_text("12 1.5 1e-3 .5 3E2", diags);
    EXPECT_EQ(toks[0].kind, Tok::Int);
    EXPECT_EQ(toks[1].kind, Tok::Float);
    EXPECT_EQ(toks[2].kind, Tok::Float);
    EXPECT_EQ(toks[2].text, "1e-3");
    EXPECT_EQ(toks[3].kind, Tok::Float);
    EXPECT_EQ(toks[4].kind, Tok::Float);
    EXPECT_FALSE(diags.has_errors());
}

TEST(Lexer, NewlinesInsideBracketsAreWhitespace) {
    EXPECT_EQ(kinds("f(a,\n b)\nx"),
              (std::vector<Tok>{Tok::Ident, Tok::LParen, Tok::Ident, Tok::Comma, Tok::Ident, Tok::RParen,
                                Tok::Newline, Tok::Ident, Tok::Newline, Tok::Eof}));
}

TEST(Lexer, CommentsRunToEndOfLine) {
    EXPECT_EQ(kinds("a # b c\nd"), (std::vector<Tok>{Tok::Ident, Tok::Newline, Tok::Ident, Tok::Newline, Tok::Eof}));
}

TEST(Lexer, BadCharacterIsReportedWithItsRange) {
    DiagnosticSink diags;
    auto toks = lex_text("a $ b", diags);
    ASSERT_EQ(diags.error_count(), 1);
    EXPECT_EQ(diags.all()[0].range.begin, 2u);
    EXPECT_EQ(diags.all()[0].range.end, 3u);
    EXPECT_EQ(toks[1].kind, Tok::Error);
}

TEST(Lexer, UnterminatedStringAndBadNumber) {
    DiagnosticSink diags;
    lex_text("input d = \"abc\n12abc", diags);
    EXPECT_EQ(diags.error_count(), 2);
    EXPECT_NE(diags.all()[0].message.find("unterminated string"), std::string::npos);
    EXPECT_NE(diags.all()[1].message.find("invalid number '12abc'"), std::string::npos);
}

TEST(Lexer, StringContents) {
    DiagnosticSink diags;
    auto toks = lex_text("'dark.npy'", diags);
    EXPECT_EQ(toks[0].kind, Tok::String);
    EXPECT_EQ(toks[0].text, "dark.npy");
}

} // namespace
} // namespace tem
