//===- lang/ir.h - The typed, kinded expression graph --------------------===//
//
// This file implements the expression IR that semantic analysis produces and
// the compiler plans, interprets and (later) compiles. Nodes form a DAG of
// immutable, shared nodes: `let` names and inlined `fn` arguments share one
// node, so common subexpressions are written once.
//
// Every node knows
//   * its element type (DType, with the promotion rules of LANGUAGE.md),
//   * the axes it varies over (AxisSet: bit i is dataset axis i, bit
//     kBinAxis is the trailing bins axis of a grouped reduction),
//   * whether it reads the dataset element directly (`data`).
// The kind (scalar / sig / nav / frame) follows from those.
//
// Semantics worth knowing: arithmetic is on the promoted type; `/` is true
// division (float result); `%` is floored modulo (sign of the divisor, as
// NumPy); integer results saturate at their type's range; casts to integer types truncate toward zero
// and saturate, NaN becomes 0; comparisons with NaN are false except `!=`.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/dtype.h"
#include "lang/source.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tem::ir {

using AxisSet = uint64_t;
constexpr int kBinAxis = 63;
constexpr AxisSet kBinBit = AxisSet(1) << kBinAxis;
constexpr int kMaxDatasetAxes = 16;

enum class Op : uint8_t {
    Const,      ///< `value`; `literal` marks a weakly typed number from the source
    Coord,      ///< the integer coordinate of `axis`
    Data,       ///< the dataset element of the current frame; args = one index per sig axis
    ArrayRead,  ///< element of array input `array`; args = one index per array dimension
    // unary
    Neg, Not, Abs, Sqrt, Exp, Log, Log1p, Sin, Cos, Tan, Asin, Acos, Atan,
    Floor, Ceil, Round, IsNan, Cast,
    // binary
    Add, Sub, Mul, Div, Mod, Pow, Eq, Ne, Lt, Le, Gt, Ge, And, Or,
    Atan2, Hypot, Min, Max,
    Select,     ///< args: condition, then, else
    Grad,       ///< derivative of the materialised operand along `axis` (NumPy's gradient, unit spacing)
    Reduce,     ///< args: operand, then `where` if has_where, then `by` if has_by
};

/// The Fft* ops are frame transforms, not reductions: they collect the
/// operand at every pixel of a frame (reducing no axis) and replace the frame
/// by one real part of its fftshift-ed 2-D Fourier transform (fft2).
enum class ReduceOp : uint8_t { Sum, Mean, Min, Max, Var, Std, Count, Any, All, Argmin, Argmax, FftRe, FftIm, FftAbs, FftArg };

/// True for the frame transforms (fft2 parts).
inline bool is_fft(ReduceOp op) { return op >= ReduceOp::FftRe; }

const char* op_name(Op op);
const char* reduce_name(ReduceOp op);

struct Node;
using NodeRef = std::shared_ptr<const Node>;

struct Node {
    Op op = Op::Const;
    DType type = DType::F64;
    AxisSet axes = 0;      ///< axes the value varies over
    bool data = false;     ///< reads the dataset element (not through a reduction)
    int64_t bins = 0;      ///< extent of the bins axis when kBinBit is in axes
    std::vector<NodeRef> args;

    double value = 0;      ///< Const
    bool literal = false;  ///< Const written as a bare number (adapts to the other operand's type)
    int axis = -1;         ///< Coord
    int array = -1;        ///< ArrayRead: index into Program::arrays

    ReduceOp rop = ReduceOp::Sum;  ///< Reduce
    AxisSet reduce_axes = 0;       ///< Reduce: the axes reduced away (may include kBinBit)
    bool has_where = false, has_by = false;

    SourceRange range;     ///< where it was written (the call for reductions)
    std::string label;     ///< the source name, when it has one (param, let, out)
    uint32_t id = 0;       ///< unique within a Program, in creation order

    const NodeRef& operand() const { return args[0]; }
    const NodeRef* where() const { return has_where ? &args[1] : nullptr; }
    const NodeRef* by() const { return has_by ? &args[has_where ? 2 : 1] : nullptr; }
};

/// One axis of the dataset's index space.
struct AxisInfo {
    std::string name;
    int64_t extent = -1;  ///< -1 when the geometry is not known (tem check without data)
    bool nav = false;
};

/// An array input (dark frame, gain map, mask, shift map), loaded whole.
struct ArrayInput {
    std::string name, path;
    std::vector<int> axes;          ///< dataset axis of each array dimension
    std::vector<int64_t> shape;
    DType dtype = DType::F64;
    std::shared_ptr<const std::vector<double>> values;  ///< C order; null without data
    SourceRange range;
};

struct Output {
    std::string name;
    NodeRef value;
    SourceRange range;
};

/// The result of semantic analysis: everything the compiler needs.
struct Program {
    std::vector<AxisInfo> axes;   ///< nav axes first, then sig axes
    int nav_rank = 0;
    bool has_dataset = false;
    std::string dataset_name, dataset_path;
    DType dataset_type = DType::F32;
    bool geometry_known = false;
    std::vector<ArrayInput> arrays;
    std::vector<Output> outputs;
    NodeRef roi;                  ///< null: every frame
    std::vector<std::pair<std::string, std::string>> params;  ///< final values, as text
    std::vector<std::pair<std::string, std::string>> inputs;  ///< name -> path
    uint32_t next_id = 0;

    AxisSet nav_axes() const;
    AxisSet sig_axes() const;
    AxisSet all_axes() const { return nav_axes() | sig_axes(); }
    std::vector<int64_t> nav_shape() const;
    std::vector<int64_t> sig_shape() const;
    /// "(ry, rx | qy, qx)"
    std::string axes_text() const;
    /// Names of the axes in `set`, in dataset order ("bin" last).
    std::string axis_list(AxisSet set) const;
};

enum class Kind { Scalar, Sig, Nav, Frame };
const char* kind_name(Kind k);

/// The kind of a node within a program (Frame when it reads data or varies
/// over both nav and sig axes).
Kind kind_of(const Program& p, const Node& n);

// ---- construction (types, axes and data flags are derived here) -----------

/// Type of `a op b` for arithmetic: bool counts as integer; int op int is i64
/// (u64 if either is u64); any float gives f64 unless both are f32. A literal
/// adapts: an integer literal takes the other side's type family, a float
/// literal with f32 stays f32.
DType arith_type(const Node& a, const Node& b);
/// Float type for a math function or `/` of these operands (f32 only if all are f32/literals).
DType float_type(const Node& a, const Node* b = nullptr);

NodeRef make_const(Program& p, double value, DType type, bool literal = false);
NodeRef make_coord(Program& p, int axis);
NodeRef make_unary(Program& p, Op op, NodeRef a, DType type);
NodeRef make_binary(Program& p, Op op, NodeRef a, NodeRef b, DType type);
NodeRef make_select(Program& p, NodeRef c, NodeRef a, NodeRef b, DType type);
/// args: indices; `data`/`array` leaf with the given axes
NodeRef make_data(Program& p, std::vector<NodeRef> index, AxisSet axes, DType type);
NodeRef make_array_read(Program& p, int array, std::vector<NodeRef> index, AxisSet axes, DType type);
NodeRef make_reduce(Program& p, ReduceOp rop, NodeRef operand, NodeRef where, NodeRef by,
                    int64_t bins, AxisSet reduce_axes, DType type);
/// Calls `f(c)` for every conjunct c of `n`: `n` split at `and`.
template <class F> void for_each_conjunct(const Node& n, F&& f) {
    if (n.op == Op::And) {
        for_each_conjunct(*n.args[0], f);
        for_each_conjunct(*n.args[1], f);
    } else {
        f(n);
    }
}

/// Same node with a new label (for printing); returns a copy sharing children.
NodeRef with_label(Program& p, const NodeRef& n, const std::string& label);

/// Result type of a reduction of `operand` (LANGUAGE.md: f64 for sum/mean/var/std,
/// the operand type for min/max, i64 for count/argmin/argmax, bool for any/all).
DType reduce_type(ReduceOp rop, DType operand);

/// Prints every node reachable from the outputs (and roi), one per line, in
/// id order: `%7 = sum %5 over (qy, qx) where %6 : f64 nav (ry, rx) @3:10 'bf'`.
std::string print(const Program& p, const SourceManager& sm);

/// Visits every node reachable from `roots` once, children before parents.
std::vector<const Node*> topo_order(const std::vector<NodeRef>& roots);

} // namespace tem::ir
