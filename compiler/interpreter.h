//===- compiler/interpreter.h - The reference evaluator ------------------===//
//
// This file declares the reference evaluator: it executes a plan element by
// element in float64, walking the expression graph for every element. It is
// slow and obviously correct; it is `--engine=interp` and the oracle every
// compiled kernel is tested against.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/plan.h"
#include "compiler/run_control.h"
#include "lang/ir.h"
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include <vector>

namespace tem::compiler {

/// Runs every pass of `plan` over `dataset` (may be null when the plan has
/// no pass and the program reads no data) and returns the outputs in program
/// order. Single-threaded; partitions are processed and merged in order.
/// `frames_read`, when given, receives the number of frames the passes read.
/// `control`, when given, can cancel the run (Cancelled is thrown) and counts
/// the frames done.
std::vector<rt::Result> interpret(const ir::Program& program, const Plan& plan,
                                  const rt::Dataset* dataset, int64_t* frames_read = nullptr,
                                  RunControl* control = nullptr);

} // namespace tem::compiler
