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
                                  int64_t* frames_read, RunControl* control) {
    Evaluator interp(program, plan, dataset);
    interp.set_control(control);
    std::vector<rt::Result> results = interp.run();
    if (frames_read) *frames_read = interp.frames_read();
    return results;
}

} // namespace tem::compiler
