//===- compiler/interpreter.cpp - The reference evaluator ----------------===//
//
// This file implements interpret(): the Evaluator of compiler/evaluator.h
// with its own element-by-element pass loop.
//
//===----------------------------------------------------------------------===//
#include "compiler/interpreter.h"

#include "compiler/evaluator.h"

namespace tem::compiler {

std::vector<rt::Result> interpret(const ir::Program& program, const Plan& plan, const rt::Dataset* dataset,
                                  int64_t* frames_read) {
    Evaluator interp(program, plan, dataset);
    std::vector<rt::Result> results = interp.run();
    if (frames_read) *frames_read = interp.frames_read();
    return results;
}

} // namespace tem::compiler
