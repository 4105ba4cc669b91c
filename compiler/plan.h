//===- compiler/plan.h - Pass planning and the kernel IR -----------------===//
//
// This file declares the pass planner and the kernel IR it produces. The
// plan says, for every reduction that needs the data, in which pass over the
// dataset and in which stage of a frame's visit it is computed:
//
//   * reductions that do not depend on each other share a pass (one read of
//     each element feeds all of them);
//   * a reduction whose operand uses a sig-reduction of the same frame stays
//     in the pass, one stage later (the frame is revisited while in cache);
//   * a reduction whose operand needs a result reduced over nav goes to a
//     later pass.
//
// Per pass the kernel IR lists the loop nest's ingredients: sig-kind values
// hoisted out of the frame loop, nav-kind values read once per frame, and
// per stage the reductions (accumulators) whose frame-kind operands are fused
// into the element loop. Values that need no data pass (expressions over
// results, reductions of small materialised arrays) run after the passes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ir.h"
#include "lang/source.h"

#include <string>
#include <unordered_map>
#include <vector>

namespace tem::compiler {

/// Where a value becomes available. `ready` is the first pass in which it
/// can be read per element; `local_stage` says how it is produced there:
/// kNotLocal (already materialised before pass `ready`), kDataLocal (read
/// from the data in any pass) or a stage >= 0 (computed in pass `ready` by
/// that stage, per frame).
struct Avail {
    static constexpr int kNotLocal = -2;
    static constexpr int kDataLocal = -1;
    int ready = 0;
    int local_stage = kNotLocal;
    /// Reads the dataset element directly (not through a reduction): computed
    /// inside whichever pass reads it, whatever else it combines.
    bool data = false;
};

/// A reduction computed inside a pass.
struct PassReduction {
    const ir::Node* node = nullptr;
    int pass = 0;
    int stage = 0;
    /// True when it reduces no nav axis: each frame produces its own values,
    /// usable by later stages of the same frame.
    bool frame_local = false;
};

struct Stage {
    std::vector<const ir::Node*> reductions;  ///< in node-id order
};

struct PassPlan {
    int index = 0;
    std::vector<Stage> stages;
    std::vector<const ir::Node*> hoisted;     ///< sig-kind values computed once before the pass
    std::vector<const ir::Node*> per_frame;   ///< nav-kind values read once per frame
};

struct Plan {
    std::vector<PassPlan> passes;
    std::unordered_map<const ir::Node*, PassReduction> in_pass;  ///< every pass reduction
    std::unordered_map<const ir::Node*, Avail> avail;            ///< every reachable node
    bool is_pass_reduction(const ir::Node* n) const { return in_pass.count(n) != 0; }
};

/// Plans the smallest number of passes (ASAP scheduling of the reduction
/// dependency graph). The program must outlive the plan.
Plan plan_program(const ir::Program& program);

/// The human-readable plan printed by `tem plan` (stable; lit tests read it).
std::string print_plan(const Plan& plan, const ir::Program& program, const SourceManager& sm);

} // namespace tem::compiler
