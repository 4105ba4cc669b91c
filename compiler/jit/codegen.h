//===- compiler/jit/codegen.h - Kernel IR to LLVM IR ---------------------===//
//
// This file declares the lowering of one pass of the plan to an LLVM
// function `void tem_pass_N(const KernelArgs*)` that processes a range of
// frames. Everything the planner knows is a constant in the generated code:
// shapes, strides, dtype, byte order, params, the layout of every
// materialised array. Per frame and stage, reductions that iterate the same
// axes share one loop nest; the innermost loop runs over contiguous pixels,
// each element is loaded and converted once and feeds every reduction.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/jit/jit.h"
#include "compiler/plan.h"
#include "lang/ir.h"

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tem::compiler {

/// The argument block of a kernel (the generated code indexes it by field).
struct KernelArgs {
    const uint8_t* base = nullptr;          ///< frame 0 of the dataset
    int64_t first = 0, count = 0;           ///< frames [first, first + count)
    const uint8_t* roi = nullptr;           ///< per frame (C order of nav), or null
    const double* const* leaves = nullptr;  ///< materialised arrays, by leaf slot
    double* const* frame_results = nullptr; ///< results of frame-local reductions, by slot
    double* const* states = nullptr;        ///< SoA states (a | b | n) of nav-reducing reductions, by slot
    int64_t base_frame = 0;                 ///< the frame `base` points at (frame f is at base + (f - base_frame) * stride)
    double frames_done = 0;                 ///< frames already accumulated into `states` by earlier calls
    double* scratch = nullptr;              ///< per-thread memory for large per-frame states (KernelSpec::scratch_doubles)
};

/// A materialised array the kernel reads: values over `axes` (dataset axes in
/// order, bin last) with element strides.
struct LeafLayout {
    std::vector<int> axes;
    std::vector<int64_t> strides;
    bool bytes = false;  ///< stored as one byte per element, 0 or 0xff (bool masks: 8x less cache)
};

/// Reductions of one stage that iterate the same axes: one loop nest.
/// Pixels per piece of a run (LoopGroup::runs_slot): one vector of f64.
constexpr int64_t kRunLanes = 8;

struct LoopGroup {
    ir::AxisSet space = 0;                 ///< the non-nav axes iterated
    std::vector<const ir::Node*> reductions;
    /// When >= 0: leaf slot of an int64 array [lo0, hi0, lo1, hi1, ...] giving,
    /// per row of the two innermost axes, the columns where any reduction's
    /// static mask holds; columns outside are never touched.
    int bounds_slot = -1;
    /// When >= 0: the group visits runs of pixels instead of its loop nest:
    /// the leaf slot of an int64 array [row, x0, n, ...] of `run_count`
    /// pieces of runs along the last sig axis (n <= kRunLanes pixels from
    /// column x0), exactly the pixels where the static masks `implied`
    /// (conjuncts of every reduction's `where`) hold. Its reductions are
    /// frame_lanes_capable() and reduce every sig axis.
    int runs_slot = -1;
    int64_t run_count = 0;
    std::vector<const ir::Node*> implied;
    /// When >= 2: the runs of that many masks, one sum of the same operand
    /// each, share one loop nest: the array holds K + 1 offsets, then the
    /// pieces [row, x0, n, ...]; pieces off[k] .. off[k+1] - 1 are those of
    /// reductions[k]'s mask (whose `where` is that mask alone, so `implied`
    /// is empty).
    int run_sets = 0;
    /// With run_sets: the first and last row of the pieces (a frame read
    /// from memory is prefetched over these rows, in step with the pieces).
    int64_t run_row_lo = 0, run_row_hi = 0;
};

struct KernelSpec {
    bool roi = false;  ///< frames whose byte in args.roi is 0 are skipped
    /// Doubles of args.scratch the kernel uses for per-frame states too large
    /// for the stack (set by generate_pass).
    int64_t scratch_doubles = 0;
    /// Frame-local results read only inside this pass and varying over sig
    /// axes (fft2, partial sig reductions): kept one frame at a time in a
    /// per-thread buffer of one frame's cells (nav strides 0), not as an
    /// array over the whole scan.
    std::unordered_set<const ir::Node*> frame_buffer;
    /// Frame-local means over every sig axis whose `where` is a static mask:
    /// the number of pixels it keeps (the kernel does not count them).
    std::unordered_map<const ir::Node*, double> static_count;
    const ir::Program* program = nullptr;
    const Plan* plan = nullptr;
    const PassPlan* pass = nullptr;
    std::unordered_map<const ir::Node*, int> leaf_slot;   ///< nodes read from materialised arrays
    std::vector<LeafLayout> leaves;
    std::vector<int> array_slot;                          ///< leaf slot of each array input
    std::unordered_map<const ir::Node*, int> frame_result_slot;
    std::unordered_map<const ir::Node*, int> state_slot;
    std::vector<std::vector<LoopGroup>> groups;           ///< per stage
    DType dtype = DType::F32;
    bool big_endian = false;
    std::vector<int64_t> sig_strides;                     ///< bytes
    int64_t frame_stride = 0;                             ///< bytes
};

/// Builds the module for one pass; the kernel is named `name`.
std::unique_ptr<llvm::Module> generate_pass(KernelSpec& spec, const Jit& jit, llvm::LLVMContext& ctx,
                                            const std::string& name);

/// Groups a stage's reductions by the non-nav axes they iterate (in order of
/// first appearance).
std::vector<LoopGroup> group_reductions(const ir::Program& p, const Stage& stage);

/// True when a nav-reducing reduction gets exactly one element per cell per
/// frame (no where, no by, no sig axis reduced): the kernel then does not
/// count per cell, and the caller sets each cell's count to the number of
/// frames processed.
bool uniform_count(const ir::Program& p, const ir::Node& r);

/// True when the kernel can run vector loops for this pass (the data is
/// contiguous along the last sig axis).
bool vector_loops_possible(const KernelSpec& spec);

/// True when frame-local reduction `r` of the pass can be computed on
/// vectors of pixels (KernelSpec's leaves and plan set).
bool frame_lanes_capable(const KernelSpec& spec, const ir::Node& r);

/// Number of result cells a reduction has per frame (frame-local) or in all (nav-reducing).
int64_t reduction_cells(const ir::Program& p, const ir::Node& r, bool per_frame);

} // namespace tem::compiler
