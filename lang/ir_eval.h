//===- lang/ir_eval.h - Scalar semantics of IR operations ----------------===//
//
// This file declares the one definition of what every elementwise operation
// computes on one element. Constant folding in sema and the reference
// evaluator both call it, so a folded constant and an evaluated element can
// never disagree; the JIT is tested against it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ir.h"

namespace tem::ir {

/// Converts a value to `type`: bool is v != 0 (NaN is true); integers
/// truncate toward zero and saturate at the type's range, NaN gives 0;
/// f32 rounds to the nearest float; f64 is unchanged.
double convert(double v, DType type);

/// Applies an elementwise op (not Const/Coord/Data/ArrayRead/Reduce) to
/// argument values, producing a value of `n.type` (already converted).
/// `args` has n.args.size() entries, each already of its node's type.
double apply(const Node& n, const double* args);

/// True for ops apply() handles.
bool is_elementwise(Op op);

} // namespace tem::ir
