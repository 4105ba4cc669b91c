//===- compiler/interpreter.cpp - The reference evaluator ----------------===//
//
// This file implements interpret(): the Evaluator of compiler/evaluator.h
// with its own element-by-element pass loop.
//
//===----------------------------------------------------------------------===//
#include "compiler/interpreter.h"

#include "compiler/evaluator.h"

namespace tem::compiler {

std::vector<rt::Result> interpret(const ir::Program& program, const Plan& plan, const rt::Dataset* dataset) {
    Evaluator interp(program, plan, dataset);
    return interp.run();
}

} // namespace tem::compiler
