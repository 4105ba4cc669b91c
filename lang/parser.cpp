//===- lang/parser.cpp - Parser for tem scripts --------------------------===//
//
// This file implements the recursive-descent parser. Precedence, lowest first:
//
//   1. if c then a else b
//   2. or        3. and        4. not (prefix)
//   5. == != < <= > >= (not chained)
//   6. + -       7. * / %      8. unary - +
//   9. ** (right associative; -x**2 is -(x**2))
//  10. calls f(...) and indexing a[...]
//
// Errors throw a private exception that unwinds to the statement loop, which
// skips to the next newline or ';'.
//
//===----------------------------------------------------------------------===//
#include "lang/parser.h"

#include "lang/lexer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace tem {
namespace {

using ast::Expr;
using ast::ExprKind;
using ast::ExprPtr;
using ast::Op;
using ast::Stmt;
using ast::StmtKind;

struct SyntaxError {};

class Parser {
public:
    Parser(const SourceManager& sm, uint32_t file, DiagnosticSink& diags, ParseMode mode)
        : sm_(sm), diags_(diags), mode_(mode) {
        toks_ = lex(sm, file, diags);
        script_.file = file;
    }

    ast::Script run() {
        while (!at(Tok::Eof)) {
            if (at(Tok::Newline) || at(Tok::Semi) || at(Tok::Error)) { ++pos_; continue; }
            try {
                auto stmt = statement();
                if (stmt) script_.stmts.push_back(std::move(stmt));
                if (!at(Tok::Newline) && !at(Tok::Semi) && !at(Tok::Eof))
                    fail(here(), "expected end of statement, found " + describe(peek()));
            } catch (const SyntaxError&) {
                while (!at(Tok::Eof) && !at(Tok::Newline) && !at(Tok::Semi)) ++pos_;
            }
        }
        return std::move(script_);
    }

private:
    const Token& peek(int ahead = 0) const {
        size_t i = pos_ + ahead;
        return i < toks_.size() ? toks_[i] : toks_.back();
    }
    bool at(Tok k) const { return peek().kind == k; }
    const Token& take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
    bool accept(Tok k) {
        if (!at(k)) return false;
        ++pos_;
        return true;
    }
    std::string describe(const Token& t) const {
        if (t.kind == Tok::Ident) return "'" + t.text + "'";
        if (t.kind == Tok::Int || t.kind == Tok::Float) return "'" + t.text + "'";
        return token_spelling(t.kind);
    }
    /// Where an error about the current token points: at the token, or for an
    /// end of line/input right after the last real token, on its line.
    SourceRange here() const {
        const Token& t = peek();
        if ((t.kind == Tok::Newline || t.kind == Tok::Eof) && pos_ > 0) {
            size_t i = pos_;
            while (i > 0 && toks_[i - 1].kind == Tok::Newline) --i;
            if (i > 0 && toks_[i - 1].kind != Tok::Semi)
                return SourceRange::make(toks_[i - 1].range.file, toks_[i - 1].range.end, toks_[i - 1].range.end);
        }
        return t.range;
    }

    [[noreturn]] void fail(SourceRange r, std::string msg) {
        // An error token was already reported by the lexer.
        if (!(peek().kind == Tok::Error && r.begin == peek().range.begin)) diags_.error(r, std::move(msg));
        throw SyntaxError{};
    }
    const Token& expect(Tok k, const char* context) {
        if (!at(k))
            fail(here(), std::string("expected ") + token_spelling(k) + " " + context +
                                   ", found " + describe(peek()));
        return take();
    }
    ast::Ident ident(const char* context) {
        if (!at(Tok::Ident)) {
            std::string found = describe(peek());
            if (peek().kind >= Tok::KwInput && peek().kind <= Tok::KwFalse)
                found = "keyword " + found;
            fail(here(), std::string("expected a name ") + context + ", found " + found);
        }
        const Token& t = take();
        return ast::Ident{t.text, t.range};
    }
    void skip_newlines() {
        while (at(Tok::Newline)) ++pos_;
    }

    std::unique_ptr<Stmt> statement() {
        const Token& first = peek();
        switch (first.kind) {
        case Tok::KwInput: return input_stmt();
        case Tok::KwParam: return named_value(StmtKind::Param, "after 'param'");
        case Tok::KwLet: return named_value(StmtKind::Let, "after 'let'");
        case Tok::KwOut: return named_value(StmtKind::Out, "after 'out'");
        case Tok::KwFn: return fn_stmt();
        case Tok::KwRoi: {
            take();
            auto s = std::make_unique<Stmt>(StmtKind::Roi, first.range);
            s->value = expression();
            s->range = first.range.to(s->value->range);
            return s;
        }
        case Tok::KwUse: {
            take();
            auto s = std::make_unique<Stmt>(StmtKind::Use, first.range);
            s->name = ident("after 'use'");
            s->range = first.range.to(s->name.range);
            return s;
        }
        default: break;
        }
        if (first.kind == Tok::Ident && peek(1).kind == Tok::Assign) {
            if (mode_ == ParseMode::Script)
                fail(first.range.to(peek(1).range),
                     "expected a statement; write 'let " + first.text + " = ...' for a name or 'out " +
                         first.text + " = ...' for a result");
            auto s = std::make_unique<Stmt>(StmtKind::Assign, first.range);
            s->name = ident("");
            take();
            s->value = expression();
            s->range = first.range.to(s->value->range);
            return s;
        }
        if (mode_ == ParseMode::Script)
            fail(first.range, "expected a statement (input, param, let, fn, roi, out, use), found " +
                                  describe(first));
        auto s = std::make_unique<Stmt>(StmtKind::Bare, first.range);
        s->value = expression();
        s->range = s->value->range;
        return s;
    }

    std::unique_ptr<Stmt> named_value(StmtKind kind, const char* context) {
        const Token& kw = take();
        auto s = std::make_unique<Stmt>(kind, kw.range);
        s->name = ident(context);
        if (at(Tok::LParen) && kind != StmtKind::Param)
            fail(here(), "'" + s->name.name + "' takes no parameters here; use 'fn " +
                                   s->name.name + "(...) = ...' for a function");
        expect(Tok::Assign, ("after '" + s->name.name + "'").c_str());
        skip_newlines();
        s->value = expression();
        s->range = kw.range.to(s->value->range);
        return s;
    }

    std::unique_ptr<Stmt> input_stmt() {
        const Token& kw = take();
        auto s = std::make_unique<Stmt>(StmtKind::Input, kw.range);
        s->name = ident("after 'input'");
        s->range = kw.range.to(s->name.range);
        if (accept(Tok::LBracket)) {
            s->has_axes = true;
            std::vector<ast::Ident> before, after;
            bool bar = false;
            while (true) {
                if (at(Tok::Bar)) {
                    if (bar) fail(here(), "only one '|' may separate nav axes from sig axes");
                    bar = true;
                    take();
                    if (at(Tok::RBracket)) break;
                    continue;
                }
                (bar ? after : before).push_back(ident("for an axis"));
                if (accept(Tok::Comma)) continue;
                if (at(Tok::Bar)) continue;
                break;
            }
            s->range = s->range.to(expect(Tok::RBracket, "after the axis names").range);
            s->has_bar = bar;
            if (bar) {
                s->nav_axes = std::move(before);
                s->sig_axes = std::move(after);
            } else {
                s->sig_axes = std::move(before);
            }
        }
        if (accept(Tok::Assign)) {
            const Token& path = expect(Tok::String, "as the default path (in quotes)");
            s->has_default_path = true;
            s->default_path = path.text;
            s->default_path_range = path.range;
            s->range = s->range.to(path.range);
        }
        return s;
    }

    std::unique_ptr<Stmt> fn_stmt() {
        const Token& kw = take();
        auto s = std::make_unique<Stmt>(StmtKind::Fn, kw.range);
        s->name = ident("after 'fn'");
        expect(Tok::LParen, ("after '" + s->name.name + "'").c_str());
        if (!at(Tok::RParen)) {
            do {
                s->params.push_back(ident("for a parameter"));
            } while (accept(Tok::Comma));
        }
        expect(Tok::RParen, "after the parameters");
        expect(Tok::Assign, "before the function body");
        skip_newlines();
        s->value = expression();
        s->range = kw.range.to(s->value->range);
        return s;
    }

    // ---- expressions -------------------------------------------------------

    ExprPtr expression() {
        if (at(Tok::KwIf)) {
            const Token& kw = take();
            auto e = std::make_unique<Expr>(ExprKind::If, kw.range);
            e->args.push_back(expression());
            skip_newlines();
            expect(Tok::KwThen, "after the condition of 'if'");
            skip_newlines();
            e->args.push_back(expression());
            skip_newlines();
            expect(Tok::KwElse, "after the 'then' branch ('if' needs an 'else')");
            skip_newlines();
            e->args.push_back(expression());
            e->range = kw.range.to(e->args.back()->range);
            return e;
        }
        return or_expr();
    }

    ExprPtr binary(Op op, ExprPtr lhs, ExprPtr rhs) {
        auto e = std::make_unique<Expr>(ExprKind::Binary, lhs->range.to(rhs->range));
        e->op = op;
        e->args.push_back(std::move(lhs));
        e->args.push_back(std::move(rhs));
        return e;
    }

    ExprPtr or_expr() {
        ExprPtr lhs = and_expr();
        while (accept(Tok::KwOr)) {
            skip_newlines();
            lhs = binary(Op::Or, std::move(lhs), and_expr());
        }
        return lhs;
    }

    ExprPtr and_expr() {
        ExprPtr lhs = not_expr();
        while (accept(Tok::KwAnd)) {
            skip_newlines();
            lhs = binary(Op::And, std::move(lhs), not_expr());
        }
        return lhs;
    }

    ExprPtr not_expr() {
        if (at(Tok::KwNot)) {
            const Token& kw = take();
            auto e = std::make_unique<Expr>(ExprKind::Unary, kw.range);
            e->op = Op::Not;
            e->args.push_back(not_expr());
            e->range = kw.range.to(e->args[0]->range);
            return e;
        }
        return comparison();
    }

    static bool comparison_op(Tok k, Op& op) {
        switch (k) {
        case Tok::Eq: op = Op::Eq; return true;
        case Tok::Ne: op = Op::Ne; return true;
        case Tok::Lt: op = Op::Lt; return true;
        case Tok::Le: op = Op::Le; return true;
        case Tok::Gt: op = Op::Gt; return true;
        case Tok::Ge: op = Op::Ge; return true;
        default: return false;
        }
    }

    ExprPtr comparison() {
        ExprPtr lhs = additive();
        Op op;
        if (comparison_op(peek().kind, op)) {
            take();
            skip_newlines();
            lhs = binary(op, std::move(lhs), additive());
            Op op2;
            if (comparison_op(peek().kind, op2))
                fail(here(), "comparisons cannot be chained; write 'a < b and b < c'");
        }
        return lhs;
    }

    ExprPtr additive() {
        ExprPtr lhs = multiplicative();
        while (at(Tok::Plus) || at(Tok::Minus)) {
            Op op = take().kind == Tok::Plus ? Op::Add : Op::Sub;
            skip_newlines();
            lhs = binary(op, std::move(lhs), multiplicative());
        }
        return lhs;
    }

    ExprPtr multiplicative() {
        ExprPtr lhs = unary();
        while (at(Tok::Star) || at(Tok::Slash) || at(Tok::Percent)) {
            Tok k = take().kind;
            Op op = k == Tok::Star ? Op::Mul : k == Tok::Slash ? Op::Div : Op::Mod;
            skip_newlines();
            lhs = binary(op, std::move(lhs), unary());
        }
        return lhs;
    }

    ExprPtr unary() {
        if (at(Tok::Minus) || at(Tok::Plus)) {
            const Token& t = take();
            auto e = std::make_unique<Expr>(ExprKind::Unary, t.range);
            e->op = t.kind == Tok::Minus ? Op::Neg : Op::Pos;
            e->args.push_back(unary());
            e->range = t.range.to(e->args[0]->range);
            return e;
        }
        return power();
    }

    ExprPtr power() {
        ExprPtr base = postfix();
        if (accept(Tok::StarStar)) {
            skip_newlines();
            return binary(Op::Pow, std::move(base), unary());  // right associative, -x binds inside
        }
        return base;
    }

    ExprPtr postfix() {
        ExprPtr e = primary();
        while (true) {
            if (at(Tok::LParen)) {
                if (e->kind != ExprKind::Name || e->parenthesized)
                    fail(here(), "only a function name can be called");
                e = call(std::move(e));
            } else if (at(Tok::LBracket)) {
                take();
                auto idx = std::make_unique<Expr>(ExprKind::Index, e->range);
                idx->args.push_back(std::move(e));
                if (at(Tok::RBracket)) fail(here(), "expected an index expression");
                do {
                    idx->args.push_back(expression());
                } while (accept(Tok::Comma));
                idx->range = idx->range.to(expect(Tok::RBracket, "after the indices").range);
                e = std::move(idx);
            } else {
                return e;
            }
        }
    }

    ExprPtr call(ExprPtr callee) {
        auto e = std::make_unique<Expr>(ExprKind::Call, callee->range);
        e->name = callee->name;
        e->name_range = callee->range;
        take();  // (
        if (!at(Tok::RParen)) {
            do {
                if (at(Tok::Ident) && peek(1).kind == Tok::Assign) {
                    ast::KeywordArg kw;
                    kw.name = peek().text;
                    kw.name_range = peek().range;
                    take();
                    take();
                    for (const auto& other : e->kwargs)
                        if (other.name == kw.name)
                            fail(kw.name_range, "keyword '" + kw.name + "' is given twice");
                    kw.value = expression();
                    e->kwargs.push_back(std::move(kw));
                } else {
                    if (!e->kwargs.empty())
                        fail(here(), "a positional argument cannot follow keyword arguments");
                    e->args.push_back(expression());
                }
            } while (accept(Tok::Comma));
        }
        e->range = e->range.to(expect(Tok::RParen, "to close the call").range);
        return e;
    }

    ExprPtr primary() {
        const Token& t = peek();
        switch (t.kind) {
        case Tok::Int: {
            take();
            auto e = std::make_unique<Expr>(ExprKind::Number, t.range);
            errno = 0;
            char* end = nullptr;
            unsigned long long v = std::strtoull(t.text.c_str(), &end, 10);
            if (errno == ERANGE || v > static_cast<unsigned long long>(INT64_MAX)) {
                e->number = std::strtod(t.text.c_str(), nullptr);
                e->is_int = false;
            } else {
                e->is_int = true;
                e->int_value = static_cast<int64_t>(v);
                e->number = static_cast<double>(v);
            }
            return e;
        }
        case Tok::Float: {
            take();
            auto e = std::make_unique<Expr>(ExprKind::Number, t.range);
            e->number = std::strtod(t.text.c_str(), nullptr);
            if (std::isinf(e->number)) fail(t.range, "number '" + t.text + "' is out of range");
            return e;
        }
        case Tok::KwTrue:
        case Tok::KwFalse: {
            take();
            auto e = std::make_unique<Expr>(ExprKind::Bool, t.range);
            e->bool_value = t.kind == Tok::KwTrue;
            return e;
        }
        case Tok::String: {
            take();
            auto e = std::make_unique<Expr>(ExprKind::String, t.range);
            e->name = t.text;
            return e;
        }
        case Tok::Ident: {
            take();
            auto e = std::make_unique<Expr>(ExprKind::Name, t.range);
            e->name = t.text;
            return e;
        }
        case Tok::LParen: {
            take();
            ExprPtr first = expression();
            if (accept(Tok::Comma)) {
                auto tuple = std::make_unique<Expr>(ExprKind::Tuple, t.range);
                tuple->args.push_back(std::move(first));
                if (!at(Tok::RParen)) {
                    do {
                        tuple->args.push_back(expression());
                    } while (accept(Tok::Comma) && !at(Tok::RParen));
                }
                tuple->range = t.range.to(expect(Tok::RParen, "to close the list").range);
                tuple->parenthesized = true;
                return tuple;
            }
            const Token& close = expect(Tok::RParen, "to close '('");
            first->parenthesized = true;
            first->range = t.range.to(close.range);
            return first;
        }
        default:
            break;
        }
        std::string found = describe(t);
        if (t.kind >= Tok::KwInput && t.kind <= Tok::KwUse)
            found = "keyword " + found + " (statements start a new line or follow ';')";
        fail(t.range, "expected an expression, found " + found);
    }

    const SourceManager& sm_;
    DiagnosticSink& diags_;
    ParseMode mode_;
    std::vector<Token> toks_;
    size_t pos_ = 0;
    ast::Script script_;
};

} // namespace

ast::Script parse(const SourceManager& sm, uint32_t file, DiagnosticSink& diags, ParseMode mode) {
    Parser p(sm, file, diags, mode);
    return p.run();
}

} // namespace tem
