//===- tests/unit/lang/parser_test.cpp - Parser and recovery -------------===//
#include "lang/parser.h"

#include <gtest/gtest.h>

namespace tem {
namespace {

struct Parsed {
    SourceManager sm;
    DiagnosticSink diags;
    ast::Script script;
};

std::unique_ptr<Parsed> parse_text(const std::string& text, ParseMode mode = ParseMode::Script) {
    auto p = std::make_unique<Parsed>();
    uint32_t f = p->sm.add("t.tem", text);
    p->script = parse(p->sm, f, p->diags, mode);
    return p;
}

std::string expr_of(const std::string& text) {
    auto p = parse_text("let x = " + text);
    EXPECT_FALSE(p->diags.has_errors()) << p->diags.render(p->sm);
    if (p->script.stmts.empty()) return "";
    return ast::print_expr(*p->script.stmts[0]->value);
}

TEST(Parser, Precedence) {
    EXPECT_EQ(expr_of("a + b * c"), "(a + (b * c))");
    EXPECT_EQ(expr_of("-x ** 2"), "-(x ** 2)");
    EXPECT_EQ(expr_of("2 ** 3 ** 2"), "(2 ** (3 ** 2))");
    EXPECT_EQ(expr_of("a < b and not c or d"), "(((a < b) and not c) or d)");
    EXPECT_EQ(expr_of("a - b - c"), "((a - b) - c)");
}

TEST(Parser, ReductionWithKeywords) {
    EXPECT_EQ(expr_of("sum(d, sig, where = r < 16)"), "sum(d, sig, where = (r < 16))");
    EXPECT_EQ(expr_of("sum(d, (qy, qx))"), "sum(d, (qy, qx))");
    EXPECT_EQ(expr_of("mean(d, sig, by = k, bins = 8)"), "mean(d, sig, by = k, bins = 8)");
}

TEST(Parser, IfThenElseAndIndex) {
    EXPECT_EQ(expr_of("if a > 0 then d[qy, qx + 1] else 0"), "(if (a > 0) then d[qy, (qx + 1)] else 0)");
}

TEST(Parser, InputWithAxesAndDefault) {
    auto p = parse_text("input d[y, x | ky, kx]\ninput dark = \"dark.npy\"");
    ASSERT_FALSE(p->diags.has_errors());
    const ast::Stmt& d = *p->script.stmts[0];
    EXPECT_TRUE(d.has_bar);
    ASSERT_EQ(d.nav_axes.size(), 2u);
    EXPECT_EQ(d.sig_axes[1].name, "kx");
    EXPECT_TRUE(p->script.stmts[1]->has_default_path);
    EXPECT_EQ(p->script.stmts[1]->default_path, "dark.npy");
}

TEST(Parser, SemicolonsSeparateStatements) {
    auto p = parse_text("param a = 1; let b = a; out c = b");
    EXPECT_FALSE(p->diags.has_errors());
    EXPECT_EQ(p->script.stmts.size(), 3u);
}

TEST(Parser, RecoversAndReportsSeveralErrors) {
    auto p = parse_text("out a = (1 +\nout b = 2\nlet = 3\nout c = 4 4\nout ok = 1");
    EXPECT_EQ(p->diags.error_count(), 3) << p->diags.render(p->sm);
    ASSERT_FALSE(p->script.stmts.empty());
    EXPECT_EQ(p->script.stmts.back()->name.name, "ok");
}

TEST(Parser, ChainedComparisonIsAnError) {
    auto p = parse_text("out a = 1 < 2 < 3");
    ASSERT_EQ(p->diags.error_count(), 1);
    EXPECT_NE(p->diags.all()[0].message.find("cannot be chained"), std::string::npos);
}

TEST(Parser, AssignmentOnlyInEvalMode) {
    auto script = parse_text("x = sum(d)");
    EXPECT_TRUE(script->diags.has_errors());
    auto eval = parse_text("x = sum(d); sum(d, sig)", ParseMode::Eval);
    EXPECT_FALSE(eval->diags.has_errors());
    ASSERT_EQ(eval->script.stmts.size(), 2u);
    EXPECT_EQ(eval->script.stmts[0]->kind, ast::StmtKind::Assign);
    EXPECT_EQ(eval->script.stmts[1]->kind, ast::StmtKind::Bare);
}

TEST(Parser, CaretRendering) {
    auto p = parse_text("out bf = sum(d, ,)");
    ASSERT_TRUE(p->diags.has_errors());
    std::string text = p->diags.render(p->sm);
    EXPECT_EQ(text, "t.tem:1:17: error: expected an expression, found ','\n  out bf = sum(d, ,)\n                  ^\n");
}

} // namespace
} // namespace tem
