//===- compiler/passes/eliminate_common_subexpressions.h -----------------===//
//
// This file declares common-subexpression elimination over the expression
// DAG. Inlining writes the same expression many times (com_y and com_x both
// compute sum(d, sig, where = disk(...))); after this pass each distinct
// computation is one node, so the planner gives it one accumulator.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ir.h"

namespace tem::compiler {

/// Replaces structurally equal nodes (same op, type, constants, axes and
/// canonical children) by one node, in the outputs and the roi. Before: sema.
/// After: no two reachable nodes are structurally equal; labels and source
/// ranges of the first occurrence (in id order) are kept.
void eliminate_common_subexpressions(ir::Program& program);

} // namespace tem::compiler
