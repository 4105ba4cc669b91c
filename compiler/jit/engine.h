//===- compiler/jit/engine.h - The JIT execution engine ------------------===//
//
// This file declares the JIT engine: the reference evaluator's machinery
// around the passes (roi, hoisted values, post-pass expressions) with each
// pass compiled by LLVM and run by a pool of threads over partitions in a
// fixed order, so that results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/plan.h"
#include "compiler/run_control.h"
#include "lang/ir.h"
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include <string>
#include <vector>

namespace tem::compiler {

struct EngineOptions {
    int threads = 0;              ///< 0: all cores
    bool emit_llvm = false;       ///< keep the optimised module text of every pass
    RunControl* control = nullptr;  ///< cancellation and progress; may be null
};

/// What a JIT run measured and produced besides results.
struct EngineReport {
    double compile_seconds = 0;   ///< code generation + optimisation + machine code
    double run_seconds = 0;       ///< the passes over the data
    int threads = 1;
    int64_t frames_read = 0;      ///< frames read by the passes (summed over passes)
    int kernels_compiled = 0;     ///< kernels compiled by LLVM
    int kernels_cached = 0;       ///< kernels loaded from the kernel cache instead (Jit::compile)
    std::string llvm_text;        ///< the optimised modules, when emit_llvm
};

/// Runs `plan` with compiled kernels. Same contract as interpret(); throws
/// Cancelled when options.control is cancelled.
std::vector<rt::Result> run_jit(const ir::Program& program, const Plan& plan, const rt::Dataset* dataset,
                                const EngineOptions& options, EngineReport& report);

} // namespace tem::compiler
