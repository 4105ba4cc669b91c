//===- lang/ast.h - Syntax tree of tem scripts ---------------------------===//
//
// This file implements the abstract syntax tree the parser builds: a script
// is a list of statements; expressions are small tagged nodes that own their
// children. Every node carries its SourceRange for diagnostics.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/source.h"

#include <memory>
#include <string>
#include <vector>

namespace tem::ast {

enum class ExprKind {
    Number,   ///< integer or float literal
    Bool,     ///< true / false
    String,   ///< only valid as an input's default path
    Name,     ///< identifier
    Unary,    ///< -x, +x, not x
    Binary,   ///< arithmetic, comparison, logic
    If,       ///< if c then a else b
    Call,     ///< f(args, key = value)
    Index,    ///< base[i, j]
    Tuple,    ///< (a, b) — only valid as a reduction's axis list
};

enum class Op {
    Neg, Pos, Not,
    Add, Sub, Mul, Div, Mod, Pow,
    Eq, Ne, Lt, Le, Gt, Ge,
    And, Or,
};

const char* op_spelling(Op op);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct KeywordArg {
    std::string name;
    SourceRange name_range;
    ExprPtr value;
};

struct Expr {
    ExprKind kind;
    SourceRange range;
    // Number
    bool is_int = false;
    double number = 0;
    int64_t int_value = 0;
    bool bool_value = false;
    // Name / Call callee / String contents
    std::string name;
    SourceRange name_range;  ///< callee range for Call
    Op op = Op::Add;
    bool parenthesized = false;   ///< written inside its own parentheses
    std::vector<ExprPtr> args;    ///< operands, call arguments, tuple items; Index: base first
    std::vector<KeywordArg> kwargs;

    explicit Expr(ExprKind k, SourceRange r) : kind(k), range(r) {}
    ExprPtr clone() const;
};

enum class StmtKind { Input, Param, Let, Fn, Roi, Out, Use, Assign, Bare };

struct Ident {
    std::string name;
    SourceRange range;
};

struct Stmt {
    StmtKind kind;
    SourceRange range;
    Ident name;                 ///< Input/Param/Let/Fn/Out/Use/Assign
    // Input
    bool has_axes = false, has_bar = false;
    std::vector<Ident> nav_axes, sig_axes;  ///< without '|', all names are in sig_axes
    std::string default_path;
    SourceRange default_path_range;
    bool has_default_path = false;
    // Fn
    std::vector<Ident> params;
    // Param/Let/Fn/Roi/Out/Assign/Bare
    ExprPtr value;

    Stmt(StmtKind k, SourceRange r) : kind(k), range(r) {}
};

struct Script {
    uint32_t file = 0;
    std::vector<std::unique_ptr<Stmt>> stmts;
};

/// Prints the tree in an indented, stable, one-node-per-line form with
/// `@line:col` tags (for `tem check --emit=ast` and lit tests).
std::string print(const Script& script, const SourceManager& sm);
std::string print_expr(const Expr& e);  ///< compact source-like rendering

} // namespace tem::ast
