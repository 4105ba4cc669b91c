//===- lang/ir_eval.cpp - Scalar semantics of IR operations --------------===//
//
// This file implements the element semantics documented in lang/ir.h.
//
//===----------------------------------------------------------------------===//
#include "lang/ir_eval.h"

#include <cmath>
#include <limits>

namespace tem::ir {

namespace {

double saturate(double v, double lo, double hi) {
    if (std::isnan(v)) return 0;
    v = std::trunc(v);
    if (v < lo) return lo;
    if (v > hi) return hi;
    return v;
}

bool truthy(double v) { return v != 0; }

double floored_mod(double a, double b, bool integer) {
    if (b == 0) return integer ? 0 : std::numeric_limits<double>::quiet_NaN();
    double r = std::fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}

} // namespace

double convert(double v, DType type) {
    switch (type) {
    case DType::Bool: return v != 0 ? 1 : 0;
    case DType::U8: return saturate(v, 0, 255);
    case DType::U16: return saturate(v, 0, 65535);
    case DType::U32: return saturate(v, 0, 4294967295.0);
    case DType::U64: return saturate(v, 0, 18446744073709551615.0);
    case DType::I8: return saturate(v, -128, 127);
    case DType::I16: return saturate(v, -32768, 32767);
    case DType::I32: return saturate(v, -2147483648.0, 2147483647.0);
    case DType::I64: return saturate(v, -9223372036854775808.0, 9223372036854775807.0);
    case DType::F32: return static_cast<double>(static_cast<float>(v));
    case DType::F64: return v;
    }
    return v;
}

bool is_elementwise(Op op) {
    switch (op) {
    case Op::Const: case Op::Coord: case Op::Data: case Op::ArrayRead: case Op::Reduce: case Op::Grad:
        return false;
    default:
        return true;
    }
}

double apply(const Node& n, const double* a) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    bool integer = dtype_is_int(n.type);
    double r = 0;
    switch (n.op) {
    case Op::Neg: r = -a[0]; break;
    case Op::Not: r = truthy(a[0]) ? 0 : 1; break;
    case Op::Abs: r = std::fabs(a[0]); break;
    case Op::Sqrt: r = std::sqrt(a[0]); break;
    case Op::Exp: r = std::exp(a[0]); break;
    case Op::Log: r = std::log(a[0]); break;
    case Op::Log1p: r = std::log1p(a[0]); break;
    case Op::Sin: r = std::sin(a[0]); break;
    case Op::Cos: r = std::cos(a[0]); break;
    case Op::Tan: r = std::tan(a[0]); break;
    case Op::Asin: r = std::asin(a[0]); break;
    case Op::Acos: r = std::acos(a[0]); break;
    case Op::Atan: r = std::atan(a[0]); break;
    case Op::Floor: r = std::floor(a[0]); break;
    case Op::Ceil: r = std::ceil(a[0]); break;
    case Op::Round: r = std::nearbyint(a[0]); break;
    case Op::IsNan: r = std::isnan(a[0]) ? 1 : 0; break;
    case Op::Cast: r = a[0]; break;
    case Op::Add: r = a[0] + a[1]; break;
    case Op::Sub: r = a[0] - a[1]; break;
    case Op::Mul: r = a[0] * a[1]; break;
    case Op::Div: r = a[0] / a[1]; break;
    case Op::Mod: r = floored_mod(a[0], a[1], integer); break;
    case Op::Pow: r = std::pow(a[0], a[1]); break;
    case Op::Eq: r = a[0] == a[1]; break;
    case Op::Ne: r = a[0] != a[1]; break;
    case Op::Lt: r = a[0] < a[1]; break;
    case Op::Le: r = a[0] <= a[1]; break;
    case Op::Gt: r = a[0] > a[1]; break;
    case Op::Ge: r = a[0] >= a[1]; break;
    case Op::And: r = truthy(a[0]) && truthy(a[1]); break;
    case Op::Or: r = truthy(a[0]) || truthy(a[1]); break;
    case Op::Atan2: r = std::atan2(a[0], a[1]); break;
    case Op::Hypot: r = std::hypot(a[0], a[1]); break;
    case Op::Min: r = (std::isnan(a[0]) || std::isnan(a[1])) ? nan : (a[1] < a[0] ? a[1] : a[0]); break;
    case Op::Max: r = (std::isnan(a[0]) || std::isnan(a[1])) ? nan : (a[1] > a[0] ? a[1] : a[0]); break;
    case Op::Select: r = truthy(a[0]) ? a[1] : a[2]; break;
    default: r = nan; break;
    }
    return convert(r, n.type);
}

} // namespace tem::ir
