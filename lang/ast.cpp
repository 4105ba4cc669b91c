//===- lang/ast.cpp - Syntax tree of tem scripts -------------------------===//
//
// This file implements cloning and the AST printer used by
// `tem check --emit=ast`.
//
//===----------------------------------------------------------------------===//
#include "lang/ast.h"

#include <sstream>

namespace tem::ast {

const char* op_spelling(Op op) {
    switch (op) {
    case Op::Neg: return "-";
    case Op::Pos: return "+";
    case Op::Not: return "not";
    case Op::Add: return "+";
    case Op::Sub: return "-";
    case Op::Mul: return "*";
    case Op::Div: return "/";
    case Op::Mod: return "%";
    case Op::Pow: return "**";
    case Op::Eq: return "==";
    case Op::Ne: return "!=";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
    case Op::And: return "and";
    case Op::Or: return "or";
    }
    return "?";
}

ExprPtr Expr::clone() const {
    auto e = std::make_unique<Expr>(kind, range);
    e->is_int = is_int;
    e->number = number;
    e->int_value = int_value;
    e->bool_value = bool_value;
    e->name = name;
    e->name_range = name_range;
    e->op = op;
    e->parenthesized = parenthesized;
    for (const auto& a : args) e->args.push_back(a->clone());
    for (const auto& k : kwargs) e->kwargs.push_back(KeywordArg{k.name, k.name_range, k.value->clone()});
    return e;
}

namespace {

std::string number_text(const Expr& e) {
    if (e.is_int) return std::to_string(e.int_value);
    std::ostringstream os;
    os.precision(17);
    os << e.number;
    return os.str();
}

class Printer {
public:
    explicit Printer(const SourceManager& sm) : sm_(sm) {}

    void stmt(const Stmt& s) {
        static const char* kNames[] = {"Input", "Param", "Let", "Fn", "Roi", "Out", "Use", "Assign", "Bare"};
        line(0, s.range) << kNames[static_cast<int>(s.kind)];
        if (!s.name.name.empty()) out_ << " '" << s.name.name << "'";
        if (s.kind == StmtKind::Input) {
            if (s.has_axes) {
                out_ << " [";
                auto list = [&](const std::vector<Ident>& v) {
                    for (size_t i = 0; i < v.size(); ++i) out_ << (i ? ", " : "") << v[i].name;
                };
                if (s.has_bar) { list(s.nav_axes); out_ << " | "; }
                list(s.sig_axes);
                out_ << "]";
            }
            if (s.has_default_path) out_ << " default \"" << s.default_path << "\"";
        }
        if (s.kind == StmtKind::Fn) {
            out_ << " (";
            for (size_t i = 0; i < s.params.size(); ++i) out_ << (i ? ", " : "") << s.params[i].name;
            out_ << ")";
        }
        out_ << "\n";
        if (s.value) expr(*s.value, 1);
    }

    void expr(const Expr& e, int depth) {
        std::ostream& os = line(depth, e.range);
        switch (e.kind) {
        case ExprKind::Number: os << "Number " << number_text(e); break;
        case ExprKind::Bool: os << "Bool " << (e.bool_value ? "true" : "false"); break;
        case ExprKind::String: os << "String \"" << e.name << "\""; break;
        case ExprKind::Name: os << "Name '" << e.name << "'"; break;
        case ExprKind::Unary: os << "Unary " << op_spelling(e.op); break;
        case ExprKind::Binary: os << "Binary " << op_spelling(e.op); break;
        case ExprKind::If: os << "If"; break;
        case ExprKind::Call: os << "Call '" << e.name << "'"; break;
        case ExprKind::Index: os << "Index"; break;
        case ExprKind::Tuple: os << "Tuple"; break;
        }
        out_ << "\n";
        for (const auto& a : e.args) expr(*a, depth + 1);
        for (const auto& k : e.kwargs) {
            line(depth + 1, k.name_range) << "Keyword '" << k.name << "'\n";
            expr(*k.value, depth + 2);
        }
    }

    std::string str() const { return out_.str(); }

private:
    std::ostream& line(int depth, SourceRange r) {
        for (int i = 0; i < depth; ++i) out_ << "  ";
        if (r.valid) {
            auto [l, c] = sm_.line_col(r.file, r.begin);
            out_ << "@" << l << ":" << c << " ";
        }
        return out_;
    }
    const SourceManager& sm_;
    std::ostringstream out_;
};

} // namespace

std::string print(const Script& script, const SourceManager& sm) {
    Printer p(sm);
    for (const auto& s : script.stmts) p.stmt(*s);
    return p.str();
}

std::string print_expr(const Expr& e) {
    switch (e.kind) {
    case ExprKind::Number: return number_text(e);
    case ExprKind::Bool: return e.bool_value ? "true" : "false";
    case ExprKind::String: return "\"" + e.name + "\"";
    case ExprKind::Name: return e.name;
    case ExprKind::Unary:
        return std::string(op_spelling(e.op)) + (e.op == Op::Not ? " " : "") + print_expr(*e.args[0]);
    case ExprKind::Binary:
        return "(" + print_expr(*e.args[0]) + " " + op_spelling(e.op) + " " + print_expr(*e.args[1]) + ")";
    case ExprKind::If:
        return "(if " + print_expr(*e.args[0]) + " then " + print_expr(*e.args[1]) + " else " +
               print_expr(*e.args[2]) + ")";
    case ExprKind::Call: {
        std::string s = e.name + "(";
        bool first = true;
        for (const auto& a : e.args) { s += (first ? "" : ", ") + print_expr(*a); first = false; }
        for (const auto& k : e.kwargs) { s += (first ? "" : ", ") + k.name + " = " + print_expr(*k.value); first = false; }
        return s + ")";
    }
    case ExprKind::Index: {
        std::string s = print_expr(*e.args[0]) + "[";
        for (size_t i = 1; i < e.args.size(); ++i) s += (i > 1 ? ", " : "") + print_expr(*e.args[i]);
        return s + "]";
    }
    case ExprKind::Tuple: {
        std::string s = "(";
        for (size_t i = 0; i < e.args.size(); ++i) s += (i ? ", " : "") + print_expr(*e.args[i]);
        return s + ")";
    }
    }
    return "?";
}

} // namespace tem::ast
