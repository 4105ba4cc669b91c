//===- compiler/accumulator.h - Reduction state, update, merge, finalize -===//
//
// This file implements the state of one reduction cell and its three
// operations: update with one element, merge two states (associative, used
// in partition order so results are reproducible), and finalize into the
// result value. var/std use Welford's update and Chan et al.'s merge, so any
// split of the data gives the same answer within rounding.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ir.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace tem::compiler {

struct AccState {
    double a = 0;  ///< sum | mean (Welford) | extreme value | count | any/all flag
    double b = 0;  ///< M2 (Welford) | index of the extreme
    double n = 0;  ///< number of elements seen
};

/// Initial state (all starts true; the rest start empty).
inline AccState acc_init(ir::ReduceOp op) {
    AccState s;
    if (op == ir::ReduceOp::All) s.a = 1;
    return s;
}

/// Adds one element `v` whose flat index within the reduced axes is `index`.
inline void acc_update(ir::ReduceOp op, AccState& s, double v, int64_t index) {
    switch (op) {
    case ir::ReduceOp::Sum: s.a += v; break;
    case ir::ReduceOp::Mean: s.a += v; break;
    case ir::ReduceOp::Var: case ir::ReduceOp::Std: {
        double n1 = s.n + 1;
        double delta = v - s.a;
        s.a += delta / n1;
        s.b += delta * (v - s.a);
        break;
    }
    case ir::ReduceOp::Min:
        if (s.n == 0 || std::isnan(v) || v < s.a) { if (!(s.n > 0 && std::isnan(s.a))) s.a = v; }
        break;
    case ir::ReduceOp::Max:
        if (s.n == 0 || std::isnan(v) || v > s.a) { if (!(s.n > 0 && std::isnan(s.a))) s.a = v; }
        break;
    case ir::ReduceOp::Argmin:
        if (s.n == 0 || (!std::isnan(s.a) && (std::isnan(v) || v < s.a))) { s.a = v; s.b = static_cast<double>(index); }
        break;
    case ir::ReduceOp::Argmax:
        if (s.n == 0 || (!std::isnan(s.a) && (std::isnan(v) || v > s.a))) { s.a = v; s.b = static_cast<double>(index); }
        break;
    case ir::ReduceOp::Count: if (v != 0) s.a += 1; break;
    case ir::ReduceOp::Any: if (v != 0) s.a = 1; break;
    case ir::ReduceOp::All: if (v == 0) s.a = 0; break;
    // A frame transform collects the pixel; the frame is transformed at its end.
    case ir::ReduceOp::FftRe: case ir::ReduceOp::FftIm: case ir::ReduceOp::FftAbs: case ir::ReduceOp::FftArg:
        s.a = v;
        break;
    }
    s.n += 1;
}

/// Merges `other` (covering later elements) into `s`.
inline void acc_merge(ir::ReduceOp op, AccState& s, const AccState& o) {
    if (o.n == 0) return;
    if (s.n == 0) { s = o; return; }
    switch (op) {
    case ir::ReduceOp::Sum: case ir::ReduceOp::Mean: case ir::ReduceOp::Count: s.a += o.a; break;
    case ir::ReduceOp::Var: case ir::ReduceOp::Std: {
        double n = s.n + o.n;
        double delta = o.a - s.a;
        s.b = s.b + o.b + delta * delta * s.n * o.n / n;
        s.a = s.a + delta * o.n / n;
        break;
    }
    case ir::ReduceOp::Min:
        if (!std::isnan(s.a) && (std::isnan(o.a) || o.a < s.a)) s.a = o.a;
        break;
    case ir::ReduceOp::Max:
        if (!std::isnan(s.a) && (std::isnan(o.a) || o.a > s.a)) s.a = o.a;
        break;
    case ir::ReduceOp::Argmin:
        if (!std::isnan(s.a) && (std::isnan(o.a) || o.a < s.a)) { s.a = o.a; s.b = o.b; }
        break;
    case ir::ReduceOp::Argmax:
        if (!std::isnan(s.a) && (std::isnan(o.a) || o.a > s.a)) { s.a = o.a; s.b = o.b; }
        break;
    case ir::ReduceOp::Any: s.a = (s.a != 0 || o.a != 0) ? 1 : 0; break;
    case ir::ReduceOp::All: s.a = (s.a != 0 && o.a != 0) ? 1 : 0; break;
    case ir::ReduceOp::FftRe: case ir::ReduceOp::FftIm: case ir::ReduceOp::FftAbs: case ir::ReduceOp::FftArg:
        s.a = o.a;  // per-frame only: never merged across frames
        break;
    }
    s.n += o.n;
}

/// Merges the states of `cells` cells in the kernels' layout (a[0..c) |
/// b[c..2c) | n[2c..3c)): `src`, covering later elements, into `dst`, each
/// cell as acc_merge() does. `uniform`: every cell of `dst` has one count,
/// and every cell of `src` one count (uniform_count(): no where, no by, only
/// nav axes reduced; the engine fills the counts so). The caller vouches for
/// it: the counts of cells after the first are not read. Then sums, means
/// and variances merge in loops without a branch or a division per cell,
/// which the compiler vectorises (a merge per partition of the variance
/// frame of 128 x 128 frames cost 9% of W5).
inline void acc_merge_cells(ir::ReduceOp op, double* dst, const double* src, int64_t cells, bool uniform) {
    double* da = dst;
    double* db = dst + cells;
    double* dn = dst + 2 * cells;
    const double* sa = src;
    const double* sb = src + cells;
    const double* sn = src + 2 * cells;
    bool moments = op == ir::ReduceOp::Sum || op == ir::ReduceOp::Mean || op == ir::ReduceOp::Count ||
                   op == ir::ReduceOp::Var || op == ir::ReduceOp::Std;
    if (uniform && moments && cells > 0) {
        double m = sn[0], n0 = dn[0];
        if (m == 0) return;
        if (n0 == 0) {
            std::copy(src, src + 3 * cells, dst);
            return;
        }
        if (op == ir::ReduceOp::Var || op == ir::ReduceOp::Std) {
            double w = m / (n0 + m);  // Chan et al.: the source's share
            double f = n0 * w;
            for (int64_t k = 0; k < cells; ++k) {
                double delta = sa[k] - da[k];
                db[k] = db[k] + sb[k] + delta * delta * f;
                da[k] = da[k] + delta * w;
            }
        } else {
            for (int64_t k = 0; k < cells; ++k) da[k] += sa[k];
        }
        std::fill(dn, dn + cells, n0 + m);
        return;
    }
    switch (op) {
    case ir::ReduceOp::Sum: case ir::ReduceOp::Mean: case ir::ReduceOp::Count:
        for (int64_t k = 0; k < cells; ++k) {
            // acc_merge: an empty source changes nothing; an empty target
            // takes the source (its sum is 0, so adding is the same).
            bool take = sn[k] != 0;
            da[k] = take ? (dn[k] != 0 ? da[k] + sa[k] : sa[k]) : da[k];
            dn[k] += sn[k];
        }
        return;
    case ir::ReduceOp::Var: case ir::ReduceOp::Std:
        for (int64_t k = 0; k < cells; ++k) {
            double n = dn[k] + sn[k];
            double delta = sa[k] - da[k];
            double b = db[k] + sb[k] + delta * delta * dn[k] * sn[k] / (n != 0 ? n : 1);
            double a = da[k] + delta * sn[k] / (n != 0 ? n : 1);
            bool empty_src = sn[k] == 0, empty_dst = dn[k] == 0;
            da[k] = empty_src ? da[k] : empty_dst ? sa[k] : a;
            db[k] = empty_src ? db[k] : empty_dst ? sb[k] : b;
            dn[k] = n;
        }
        return;
    default:
        for (int64_t k = 0; k < cells; ++k) {
            AccState s{da[k], db[k], dn[k]};
            acc_merge(op, s, AccState{sa[k], sb[k], sn[k]});
            da[k] = s.a, db[k] = s.b, dn[k] = s.n;
        }
        return;
    }
}

/// The result value of a cell. Empty cells: sum/count 0, all true, any false,
/// argmin/argmax -1, mean/var/std/min/max NaN (0 for integer min/max).
inline double acc_finalize(ir::ReduceOp op, const AccState& s, DType type) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    switch (op) {
    case ir::ReduceOp::Sum: case ir::ReduceOp::Count: case ir::ReduceOp::Any: case ir::ReduceOp::All:
        return s.a;
    case ir::ReduceOp::Mean: return s.n > 0 ? s.a / s.n : nan;
    // Rounding can leave M2 slightly negative; NaN (a NaN element) must stay NaN.
    case ir::ReduceOp::Var: return s.n > 0 ? (s.b / s.n < 0 ? 0.0 : s.b / s.n) : nan;
    case ir::ReduceOp::Std: return s.n > 0 ? std::sqrt(s.b / s.n < 0 ? 0.0 : s.b / s.n) : nan;
    case ir::ReduceOp::Min: case ir::ReduceOp::Max:
        return s.n > 0 ? s.a : (dtype_is_float(type) ? nan : 0);
    case ir::ReduceOp::Argmin: case ir::ReduceOp::Argmax: return s.n > 0 ? s.b : -1;
    case ir::ReduceOp::FftRe: case ir::ReduceOp::FftIm: case ir::ReduceOp::FftAbs: case ir::ReduceOp::FftArg:
        return s.a;
    }
    return nan;
}

} // namespace tem::compiler
