//===- lang/ir.cpp - The typed, kinded expression graph ------------------===//
//
// This file implements node construction (where types, axes, data flags and
// bins extents are derived, in one place), the kinds, and the IR printer.
//
//===----------------------------------------------------------------------===//
#include "lang/ir.h"

#include <algorithm>
#include <functional>
#include <sstream>
#include <unordered_set>

namespace tem::ir {

const char* op_name(Op op) {
    switch (op) {
    case Op::Const: return "const";
    case Op::Coord: return "coord";
    case Op::Data: return "data";
    case Op::ArrayRead: return "array";
    case Op::Neg: return "neg";
    case Op::Not: return "not";
    case Op::Abs: return "abs";
    case Op::Sqrt: return "sqrt";
    case Op::Exp: return "exp";
    case Op::Log: return "log";
    case Op::Log1p: return "log1p";
    case Op::Sin: return "sin";
    case Op::Cos: return "cos";
    case Op::Tan: return "tan";
    case Op::Asin: return "asin";
    case Op::Acos: return "acos";
    case Op::Atan: return "atan";
    case Op::Floor: return "floor";
    case Op::Ceil: return "ceil";
    case Op::Round: return "round";
    case Op::IsNan: return "isnan";
    case Op::Cast: return "cast";
    case Op::Add: return "add";
    case Op::Sub: return "sub";
    case Op::Mul: return "mul";
    case Op::Div: return "div";
    case Op::Mod: return "mod";
    case Op::Pow: return "pow";
    case Op::Eq: return "eq";
    case Op::Ne: return "ne";
    case Op::Lt: return "lt";
    case Op::Le: return "le";
    case Op::Gt: return "gt";
    case Op::Ge: return "ge";
    case Op::And: return "and";
    case Op::Or: return "or";
    case Op::Atan2: return "atan2";
    case Op::Hypot: return "hypot";
    case Op::Min: return "min";
    case Op::Max: return "max";
    case Op::Select: return "select";
    case Op::Reduce: return "reduce";
    case Op::Grad: return "grad";
    }
    return "?";
}

const char* reduce_name(ReduceOp op) {
    switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Mean: return "mean";
    case ReduceOp::Min: return "min";
    case ReduceOp::Max: return "max";
    case ReduceOp::Var: return "var";
    case ReduceOp::Std: return "std";
    case ReduceOp::Count: return "count";
    case ReduceOp::Any: return "any";
    case ReduceOp::All: return "all";
    case ReduceOp::Argmin: return "argmin";
    case ReduceOp::Argmax: return "argmax";
    case ReduceOp::FftRe: return "fft2_re";
    case ReduceOp::FftIm: return "fft2_im";
    case ReduceOp::FftAbs: return "fft2_abs";
    case ReduceOp::FftArg: return "fft2_arg";
    }
    return "?";
}

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::Scalar: return "scalar";
    case Kind::Sig: return "sig";
    case Kind::Nav: return "nav";
    case Kind::Frame: return "frame";
    }
    return "?";
}

AxisSet Program::nav_axes() const {
    AxisSet s = 0;
    for (size_t i = 0; i < axes.size(); ++i)
        if (axes[i].nav) s |= AxisSet(1) << i;
    return s;
}

AxisSet Program::sig_axes() const {
    AxisSet s = 0;
    for (size_t i = 0; i < axes.size(); ++i)
        if (!axes[i].nav) s |= AxisSet(1) << i;
    return s;
}

std::vector<int64_t> Program::nav_shape() const {
    std::vector<int64_t> v;
    for (const auto& a : axes)
        if (a.nav) v.push_back(a.extent);
    return v;
}

std::vector<int64_t> Program::sig_shape() const {
    std::vector<int64_t> v;
    for (const auto& a : axes)
        if (!a.nav) v.push_back(a.extent);
    return v;
}

std::string Program::axes_text() const {
    std::string s = "(";
    bool first = true;
    for (size_t i = 0; i < axes.size(); ++i) {
        if (!axes[i].nav && (i == 0 || axes[i - 1].nav)) s += first ? "| " : " | ";
        else if (!first) s += ", ";
        s += axes[i].name;
        first = false;
    }
    return s + ")";
}

std::string Program::axis_list(AxisSet set) const {
    std::string s;
    for (size_t i = 0; i < axes.size(); ++i)
        if (set & (AxisSet(1) << i)) s += (s.empty() ? "" : ", ") + axes[i].name;
    if (set & kBinBit) s += (s.empty() ? "" : ", ") + std::string("bin");
    return s;
}

Kind kind_of(const Program& p, const Node& n) {
    bool nav = (n.axes & p.nav_axes()) != 0;
    bool sig = (n.axes & p.sig_axes()) != 0;
    if (n.data || (nav && sig)) return Kind::Frame;
    if (nav) return Kind::Nav;
    if (sig) return Kind::Sig;
    return Kind::Scalar;
}

namespace {

DType int_type(DType a, DType b) {
    return (a == DType::U64 || b == DType::U64) ? DType::U64 : DType::I64;
}

NodeRef finish(Program& p, Node n) {
    n.id = p.next_id++;
    return std::make_shared<const Node>(std::move(n));
}

void inherit(Node& n, const std::vector<NodeRef>& args) {
    for (const NodeRef& a : args) {
        n.axes |= a->axes;
        n.data = n.data || a->data;
        if (a->axes & kBinBit) n.bins = a->bins;
    }
}

} // namespace

DType arith_type(const Node& a, const Node& b) {
    DType ta = a.type, tb = b.type;
    bool fa = dtype_is_float(ta), fb = dtype_is_float(tb);
    if (a.literal && !b.literal) {
        if (fb) return tb;              // 2 * f32 -> f32, 2.5 * f32 -> f32
        if (!fa) return int_type(ta, tb);
        return DType::F64;              // 2.5 * int -> f64
    }
    if (b.literal && !a.literal) {
        if (fa) return ta;
        if (!fb) return int_type(ta, tb);
        return DType::F64;
    }
    if (fa || fb) return (ta == DType::F32 && tb == DType::F32) ? DType::F32 : DType::F64;
    return int_type(ta, tb);
}

DType float_type(const Node& a, const Node* b) {
    auto is32 = [](const Node& n) { return n.type == DType::F32 || (n.literal); };
    bool any32 = a.type == DType::F32 || (b && b->type == DType::F32);
    if (any32 && is32(a) && (!b || is32(*b))) return DType::F32;
    return DType::F64;
}

DType reduce_type(ReduceOp rop, DType operand) {
    switch (rop) {
    case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::Var: case ReduceOp::Std:
        return DType::F64;
    case ReduceOp::Min: case ReduceOp::Max:
        return operand;
    case ReduceOp::Count: case ReduceOp::Argmin: case ReduceOp::Argmax:
        return DType::I64;
    case ReduceOp::Any: case ReduceOp::All:
        return DType::Bool;
    case ReduceOp::FftRe: case ReduceOp::FftIm: case ReduceOp::FftAbs: case ReduceOp::FftArg:
        return DType::F64;
    }
    return DType::F64;
}

NodeRef make_const(Program& p, double value, DType type, bool literal) {
    Node n;
    n.op = Op::Const;
    n.value = value;
    n.type = type;
    n.literal = literal;
    return finish(p, std::move(n));
}

NodeRef make_coord(Program& p, int axis) {
    Node n;
    n.op = Op::Coord;
    n.axis = axis;
    n.type = DType::I64;
    n.axes = axis == kBinAxis ? kBinBit : AxisSet(1) << axis;
    return finish(p, std::move(n));
}

NodeRef make_unary(Program& p, Op op, NodeRef a, DType type) {
    Node n;
    n.op = op;
    n.type = type;
    n.args = {std::move(a)};
    inherit(n, n.args);
    return finish(p, std::move(n));
}

NodeRef make_binary(Program& p, Op op, NodeRef a, NodeRef b, DType type) {
    Node n;
    n.op = op;
    n.type = type;
    n.args = {std::move(a), std::move(b)};
    inherit(n, n.args);
    return finish(p, std::move(n));
}

NodeRef make_select(Program& p, NodeRef c, NodeRef a, NodeRef b, DType type) {
    Node n;
    n.op = Op::Select;
    n.type = type;
    n.args = {std::move(c), std::move(a), std::move(b)};
    inherit(n, n.args);
    return finish(p, std::move(n));
}

NodeRef make_data(Program& p, std::vector<NodeRef> index, AxisSet axes, DType type) {
    Node n;
    n.op = Op::Data;
    n.type = type;
    n.args = std::move(index);
    inherit(n, n.args);
    n.axes |= axes;
    n.data = true;
    return finish(p, std::move(n));
}

NodeRef make_array_read(Program& p, int array, std::vector<NodeRef> index, AxisSet axes, DType type) {
    Node n;
    n.op = Op::ArrayRead;
    n.array = array;
    n.type = type;
    n.args = std::move(index);
    inherit(n, n.args);
    n.axes |= axes;
    return finish(p, std::move(n));
}

NodeRef make_reduce(Program& p, ReduceOp rop, NodeRef operand, NodeRef where, NodeRef by,
                    int64_t bins, AxisSet reduce_axes, DType type) {
    Node n;
    n.op = Op::Reduce;
    n.rop = rop;
    n.type = type;
    n.args.push_back(std::move(operand));
    if (where) { n.has_where = true; n.args.push_back(std::move(where)); }
    if (by) { n.has_by = true; n.args.push_back(std::move(by)); }
    AxisSet space = 0;
    int64_t child_bins = 0;
    for (const NodeRef& a : n.args) {
        space |= a->axes;
        if (a->axes & kBinBit) child_bins = a->bins;
    }
    n.reduce_axes = reduce_axes;
    n.axes = space & ~reduce_axes;
    n.bins = (n.axes & kBinBit) ? child_bins : 0;
    if (n.has_by) {
        n.axes |= kBinBit;
        n.bins = bins;
    }
    n.data = false;  // a reduction result is read per frame (or later), not per element
    return finish(p, std::move(n));
}

NodeRef with_label(Program& p, const NodeRef& n, const std::string& label) {
    if (n->label == label) return n;
    Node copy = *n;
    copy.label = label;
    return finish(p, std::move(copy));
}

std::vector<const Node*> topo_order(const std::vector<NodeRef>& roots) {
    std::vector<const Node*> order;
    std::unordered_set<const Node*> seen;
    std::function<void(const Node*)> visit = [&](const Node* n) {
        if (!seen.insert(n).second) return;
        for (const NodeRef& a : n->args) visit(a.get());
        order.push_back(n);
    };
    for (const NodeRef& r : roots)
        if (r) visit(r.get());
    std::stable_sort(order.begin(), order.end(),
                     [](const Node* a, const Node* b) { return a->id < b->id; });
    return order;
}

namespace {

std::string value_text(double v, DType t) {
    if (t == DType::Bool) return v != 0 ? "true" : "false";
    std::ostringstream os;
    os.precision(17);
    os << v;
    return os.str();
}

} // namespace

std::string print(const Program& p, const SourceManager& sm) {
    std::vector<NodeRef> roots;
    for (const Output& o : p.outputs) roots.push_back(o.value);
    if (p.roi) roots.push_back(p.roi);
    std::ostringstream os;
    for (const Node* n : topo_order(roots)) {
        os << "%" << n->id << " = ";
        switch (n->op) {
        case Op::Const: os << "const " << value_text(n->value, n->type); break;
        case Op::Grad: os << "grad %" << n->args[0]->id << " along " << p.axes[n->axis].name; break;
        case Op::Coord:
            os << "coord " << (n->axis == kBinAxis ? std::string("bin") : p.axes[n->axis].name);
            break;
        case Op::Data: os << "data " << p.dataset_name; break;
        case Op::ArrayRead: os << "array " << p.arrays[n->array].name; break;
        case Op::Reduce:
            os << reduce_name(n->rop) << " %" << n->operand()->id << " over ("
               << p.axis_list(n->reduce_axes) << ")";
            if (n->where()) os << " where %" << (*n->where())->id;
            if (n->by()) os << " by %" << (*n->by())->id << " bins " << n->bins;
            break;
        default:
            os << op_name(n->op);
            if (n->op == Op::Cast) os << "<" << dtype_name(n->type) << ">";
            for (const NodeRef& a : n->args) os << " %" << a->id;
            break;
        }
        if (n->op == Op::Data || n->op == Op::ArrayRead) {
            if (!n->args.empty()) {
                os << "[";
                for (size_t i = 0; i < n->args.size(); ++i) os << (i ? ", " : "") << "%" << n->args[i]->id;
                os << "]";
            }
        }
        os << " : " << dtype_name(n->type) << " " << kind_name(kind_of(p, *n));
        if (n->axes) os << " (" << p.axis_list(n->axes) << ")";
        if (n->range.valid) {
            auto [l, c] = sm.line_col(n->range.file, n->range.begin);
            os << " @" << sm.name(n->range.file) << ":" << l << ":" << c;
        }
        if (!n->label.empty()) os << " '" << n->label << "'";
        os << "\n";
    }
    for (const Output& o : p.outputs) os << "out " << o.name << " = %" << o.value->id << "\n";
    if (p.roi) os << "roi %" << p.roi->id << "\n";
    return os.str();
}

} // namespace tem::ir
