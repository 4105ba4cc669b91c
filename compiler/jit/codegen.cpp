//===- compiler/jit/codegen.cpp - Kernel IR to LLVM IR -------------------===//
//
// This file implements the lowering of a pass to LLVM IR. Outline of the
// generated function:
//
//   for f in [first, first + count):            # frames of one partition
//     if roi and not roi[f]: continue           # never touched
//     nav coords of f (divisions by constants); frame = base + f * stride
//     for each stage:
//       for each group of reductions iterating the same axes:
//         initialise the per-frame states (registers after SROA)
//         loop nest over the group's axes, innermost contiguous:
//           evaluate where/by/operand once per element (shared values are
//           generated once per element; loop-invariant ones are hoisted by
//           LICM), update every state
//         finalise the frame-local states into their result arrays
//
// Values are doubles holding a value of their node's type, exactly as in the
// reference evaluator (lang/ir_eval.cpp); only the accumulating adds may be
// reassociated, so that the vectorizer can split them over lanes.
//
//===----------------------------------------------------------------------===//
#include "compiler/jit/codegen.h"

#include "compiler/frame_transforms.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>

namespace tem::compiler {

using ir::AxisSet;
using ir::Node;
using ir::Op;
using ir::ReduceOp;

int64_t reduction_cells(const ir::Program& p, const ir::Node& r, bool per_frame) {
    int64_t cells = 1;
    for (int a = 0; a < 64; ++a) {
        if (!(r.axes & (AxisSet(1) << a))) continue;
        if (a == ir::kBinAxis) cells *= r.bins;
        else if (!(per_frame && p.axes[a].nav)) cells *= p.axes[a].extent;
    }
    return cells;
}

bool uniform_count(const ir::Program& p, const ir::Node& r) {
    // Every frame reaches every cell once only when all nav axes are reduced
    // (mean(d, (ry)) reaches a cell from one column of the scan only).
    ir::AxisSet nav = p.nav_axes();
    return !r.has_where && !r.has_by && (r.reduce_axes & ~nav) == 0 && (r.axes & nav) == 0;
}

/// The bins extent of the first grouped argument of `n` (0 when none is).
static int64_t operand_bins(const Node& n) {
    for (const ir::NodeRef& a : n.args)
        if (a->axes & ir::kBinBit) return a->bins;
    return 0;
}

std::vector<LoopGroup> group_reductions(const ir::Program& p, const Stage& stage) {
    std::vector<LoopGroup> groups;
    for (const Node* r : stage.reductions) {
        AxisSet space = r->reduce_axes;
        for (const ir::NodeRef& a : r->args) space |= a->axes;
        if (r->has_by) space &= ~ir::kBinBit;
        space &= ~p.nav_axes();
        // The bins axis of one grouped value is not that of another: same
        // axes, same bins extent, or a loop of its own.
        auto it = std::find_if(groups.begin(), groups.end(), [&](const LoopGroup& g) {
            return g.space == space &&
                   (!(space & ir::kBinBit) || operand_bins(*g.reductions.front()) == operand_bins(*r));
        });
        if (it == groups.end()) {
            LoopGroup g;
            g.space = space;
            g.reductions = {r};
            groups.push_back(std::move(g));
        } else {
            it->reductions.push_back(r);
        }
    }
    return groups;
}

namespace {

/// True when expression `n` can be computed on lanes: no explicit indices,
/// no bins axis, and (in tiles) no value kept one frame at a time.
bool lanes_ok(const KernelSpec& spec, const Node& n, bool tile, std::unordered_set<const Node*>& seen) {
    if (!seen.insert(&n).second) return true;
    if (n.axes & ir::kBinBit) return false;
    if (spec.leaf_slot.count(&n)) return true;
    switch (n.op) {
    case Op::Data: case Op::ArrayRead: return n.args.empty();
    case Op::Reduce: return !(tile && spec.frame_buffer.count(&n));
    default: break;
    }
    for (const ir::NodeRef& a : n.args)
        if (!lanes_ok(spec, *a, tile, seen)) return false;
    return true;
}

bool args_lanes_ok(const KernelSpec& spec, const Node& r, bool tile) {
    std::unordered_set<const Node*> seen;
    for (const ir::NodeRef& a : r.args)
        if (!lanes_ok(spec, *a, tile, seen)) return false;
    return true;
}

/// The reductions a frame-local vector loop computes.
bool frame_reduction_on_lanes(const Node& r) {
    if (r.has_by || ((r.axes | r.reduce_axes) & ir::kBinBit)) return false;
    switch (r.rop) {
    case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::Count: case ReduceOp::Min: case ReduceOp::Max:
    case ReduceOp::Any: case ReduceOp::All:
        return true;
    default:
        return false;
    }
}

} // namespace

bool vector_loops_possible(const KernelSpec& spec) {
    const ir::Program& p = *spec.program;
    const char* env = std::getenv("TEM_JIT_VECTOR");
    return !p.axes.empty() && !p.axes.back().nav && !spec.sig_strides.empty() &&
           spec.sig_strides.back() == static_cast<int64_t>(dtype_size(spec.dtype)) && !(env && std::string(env) == "0");
}

bool frame_lanes_capable(const KernelSpec& spec, const Node& r) {
    return vector_loops_possible(spec) && spec.plan->in_pass.at(&r).frame_local && frame_reduction_on_lanes(r) &&
           args_lanes_ok(spec, r, false);
}

namespace {

struct Layout {
    std::vector<int> axes;
    std::vector<int64_t> extents, strides;
};

/// One loop group as the kernel emits it: its reductions split by the code
/// that computes them.
struct EmitGroup {
    Layout layout;                     ///< the group's loop nest
    int bounds_slot = -1;              ///< LoopGroup::bounds_slot
    std::vector<const Node*> scalar;   ///< one element at a time (the general loops)
    std::vector<const Node*> lanes;    ///< frame-local, on vectors of pixels
    std::vector<const Node*> tiled;    ///< nav-reducing, on vectors of pixels of a tile of frames
    std::vector<const Node*> fused;    ///< (tile groups) per-frame totals computed in the tile loop
    int runs_slot = -1;                ///< LoopGroup::runs_slot (then `lanes` holds every reduction)
    int run_sets = 0;                  ///< LoopGroup::run_sets
    int64_t run_count = 0;
    int64_t run_row_lo = 0, run_row_hi = 0;  ///< LoopGroup::run_row_lo, run_row_hi
    std::vector<const Node*> implied;
};

class Codegen {
public:
    Codegen(KernelSpec& spec, const Jit& jit, llvm::LLVMContext& ctx, llvm::Module& m)
        : s_(spec), p_(*spec.program), ctx_(ctx), m_(m), b_(ctx) {
        f64_ = llvm::Type::getDoubleTy(ctx);
        i64_ = llvm::Type::getInt64Ty(ctx);
        i1_ = llvm::Type::getInt1Ty(ctx);
        ptr_ = llvm::PointerType::get(ctx, 0);
        nav_ = p_.nav_axes();
        (void)jit;
    }

    // The generated code reads KernelArgs as 8-byte words by field index.
    static_assert(offsetof(KernelArgs, states) == 6 * 8 && offsetof(KernelArgs, base_frame) == 7 * 8 &&
                  offsetof(KernelArgs, frames_done) == 8 * 8 && offsetof(KernelArgs, scratch) == 9 * 8);
    /// Per-frame states of more cells than this live in args.scratch, not
    /// on the stack (a 512 x 512 fft2 frame is 6 MiB of states).
    static constexpr int64_t kStackCells = 4096;
    /// And all per-frame states on the stack together stay below this many
    /// cells (3 doubles each: 768 KiB of an 8 MiB thread stack).
    static constexpr int64_t kStackBudgetCells = 32768;
    /// Cells after a per-frame state's own (the widest chunk of lanes).
    static constexpr int64_t kStatePad = 64;
    /// Unbounded per-frame loops prefetch this far ahead (at most a frame),
    /// into the L2 cache (locality 1: on Zen 4 faster than into L1,
    /// measured; the same as locality 3 on Zen 5). Bounded loops and tile
    /// loops prefetch into L1 (prefetch_lines()).
    static constexpr int64_t kPrefetchBytes = int64_t{64} << 10;
    /// Tile loops that cannot prefetch the next tile as one stream (a roi
    /// picks the frames, a bounded group, a partial tile) prefetch this far
    /// ahead in each frame of the tile.
    static constexpr int64_t kTilePrefetchBytes = int64_t{8} << 10;
    /// Frames per tile of the nav-reducing vector loops (at most): 8 frames
    /// of 128 x 128 f32 and their states stay in a 1 MiB L2 cache.
    static constexpr int kTileFrames = 8;

    llvm::Function* run(const std::string& name, const Jit& jit) {
        auto* fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_), {ptr_}, false);
        fn_ = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
        jit.configure_function(*fn_);
        fn_->addParamAttr(0, llvm::Attribute::NoAlias);
        entry_ = llvm::BasicBlock::Create(ctx_, "entry", fn_);
        b_.SetInsertPoint(entry_);
        llvm::Value* args = fn_->getArg(0);
        auto field = [&](int i, llvm::Type* t, const char* n) {
            return b_.CreateLoad(t, b_.CreateConstInBoundsGEP1_64(llvm::Type::getInt8Ty(ctx_), args, i * 8), n);
        };
        base_ = field(0, ptr_, "base");
        llvm::Value* first = field(1, i64_, "first");
        llvm::Value* count = field(2, i64_, "count");
        roi_ = field(3, ptr_, "roi");
        llvm::Value* leaves = field(4, ptr_, "leaves");
        llvm::Value* results = field(5, ptr_, "frame_results");
        llvm::Value* states = field(6, ptr_, "states");
        base_frame_ = field(7, i64_, "base_frame");
        llvm::Value* frames_before = field(8, f64_, "frames_done");
        llvm::Value* scratch = field(9, ptr_, "scratch");
        auto slot_ptr = [&](llvm::Value* table, int i) {
            return b_.CreateLoad(ptr_, b_.CreateConstInBoundsGEP1_64(ptr_, table, i));
        };
        for (size_t i = 0; i < s_.leaves.size(); ++i) leaf_ptr_.push_back(slot_ptr(leaves, static_cast<int>(i)));
        for (const auto& [node, slot] : s_.frame_result_slot) result_ptr_[node] = slot_ptr(results, slot);
        for (const auto& [node, slot] : s_.state_slot) state_ptr_[node] = slot_ptr(states, slot);
        make_scopes();
        // Per-frame states live in allocas (promoted to registers when small).
        for (const Stage& st : s_.pass->stages)
            for (const Node* r : st.reductions)
                if (s_.plan->in_pass.at(r).frame_local) {
                    int64_t cells = reduction_cells(p_, *r, true);
                    frame_cells_[r] = cells;
                    // Vector loops read and write a chunk of lanes of these
                    // cells at once (masked where the chunk passes the last
                    // cell): the memory covers a whole chunk beyond them.
                    int64_t room = cells + kStatePad;
                    for (int k = 0; k < 3; ++k)
                        if (cells <= kStackCells && stack_cells_ + room <= kStackBudgetCells) {
                            stack_cells_ += room;
                            frame_state_[r][k] = b_.CreateAlloca(f64_, b_.getInt64(room));
                        } else {
                            frame_state_[r][k] = b_.CreateInBoundsGEP(f64_, scratch, b_.getInt64(s_.scratch_doubles));
                            s_.scratch_doubles += room;
                        }
                    // Per-frame sums of integer data add integers: exact, and
                    // one instruction fewer per pixel than converting to f64.
                    if (integer_sum(*r) && cells <= kStackCells && stack_cells_ + room <= kStackBudgetCells) {
                        stack_cells_ += room;
                        int_state_[r] = b_.CreateAlloca(i64_, b_.getInt64(room));
                    }
                }
        frames_done_ = b_.CreateAlloca(f64_);
        b_.CreateStore(frames_before, frames_done_);
        plan_groups(jit);
        llvm::Value* end = b_.CreateAdd(first, count);
        llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "done", fn_);
        if (!tiled_) {
            llvm::BasicBlock* body_entry = llvm::BasicBlock::Create(ctx_, "frames", fn_);
            b_.CreateCondBr(b_.CreateICmpSLT(first, end), body_entry, done);
            b_.SetInsertPoint(body_entry);
            loop(first, end, [&](llvm::Value* f) {
                llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx_, "next_frame", fn_);
                skip_outside_roi(f, next);
                frame_work(f);
                b_.CreateBr(next);
                b_.SetInsertPoint(next);
            });
            b_.CreateBr(done);
        } else {
            tiles(first, end, done);
        }
        b_.SetInsertPoint(done);
        b_.CreateRetVoid();
        return fn_;
    }

private:
    // ---- alias scopes ----------------------------------------------------------
    //
    // Every memory object the kernel touches (the data, each leaf array, each
    // result array, each state array a | b | n, the roi) gets its own scope, so
    // that LLVM knows stores to accumulators never change the data or each
    // other and vectorises without runtime alias checks.

    int obj_data() const { return 0; }
    int obj_leaf(int slot) const { return 1 + slot; }
    int obj_result(const Node* r) const { return 1 + static_cast<int>(s_.leaves.size()) + s_.frame_result_slot.at(r); }
    int obj_state(const Node* r, int part) const {
        return 1 + static_cast<int>(s_.leaves.size() + s_.frame_result_slot.size()) + 3 * s_.state_slot.at(r) + part;
    }
    int obj_roi() const { return 1 + static_cast<int>(s_.leaves.size() + s_.frame_result_slot.size() + 3 * s_.state_slot.size()); }

    void make_scopes() {
        llvm::MDBuilder mdb(ctx_);
        llvm::MDNode* domain = mdb.createAnonymousAliasScopeDomain("tem");
        int count = obj_roi() + 1;
        for (int i = 0; i < count; ++i) scopes_.push_back(mdb.createAnonymousAliasScope(domain));
        for (int i = 0; i < count; ++i) {
            std::vector<llvm::Metadata*> others;
            for (int j = 0; j < count; ++j)
                if (j != i) others.push_back(scopes_[j]);
            scope_lists_.push_back(llvm::MDNode::get(ctx_, {scopes_[i]}));
            noalias_lists_.push_back(llvm::MDNode::get(ctx_, others));
        }
    }

    template <typename T>
    T* tag(T* inst, int obj) {
        inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_lists_[obj]);
        inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_lists_[obj]);
        return inst;
    }

    llvm::Value* load(llvm::Type* t, llvm::Value* ptr, int obj) { return tag(b_.CreateLoad(t, ptr), obj); }
    void store(llvm::Value* v, llvm::Value* ptr, int obj) { tag(b_.CreateStore(v, ptr), obj); }

    // ---- loops and layouts ---------------------------------------------------

    /// Emits `for (i = begin; i < end; ++i) body(i)`; the caller guarantees begin < end.
    template <typename F>
    void loop(llvm::Value* begin, llvm::Value* end, F&& body, const char* name = "loop") {
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, name, fn_);
        b_.CreateBr(header);
        b_.SetInsertPoint(header);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2);
        i->addIncoming(begin, pre);
        body(i);
        llvm::Value* next = b_.CreateAdd(i, b_.getInt64(1), "", true, true);
        i->addIncoming(next, b_.GetInsertBlock());
        llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "endloop", fn_);
        llvm::BranchInst* br = b_.CreateCondBr(b_.CreateICmpSLT(next, end), header, exit);
        if (lanes_loops_) plain_loop(br);
        b_.SetInsertPoint(exit);
    }

    /// Emits `for (i = begin; i < end; ++i) body(i)` for any begin and end
    /// (`skip` names the block after it).
    template <typename F>
    void guarded_loop(llvm::Value* begin, llvm::Value* end, F&& body, const char* name = "loop",
                      const char* skip = "skip") {
        llvm::BasicBlock* some = llvm::BasicBlock::Create(ctx_, name, fn_);
        llvm::BasicBlock* none = llvm::BasicBlock::Create(ctx_, skip, fn_);
        b_.CreateCondBr(b_.CreateICmpSLT(begin, end), some, none);
        b_.SetInsertPoint(some);
        loop(begin, end, body, name);
        b_.CreateBr(none);
        b_.SetInsertPoint(none);
    }

    /// Marks the loop whose back edge is `br` as not to be unrolled or
    /// vectorised by LLVM: vector loops are vectors already, and unrolling
    /// them multiplied the compile time.
    void plain_loop(llvm::BranchInst* br) {
        llvm::MDNode* unroll = llvm::MDNode::get(ctx_, {llvm::MDString::get(ctx_, "llvm.loop.unroll.disable")});
        llvm::MDNode* vec = llvm::MDNode::get(
            ctx_, {llvm::MDString::get(ctx_, "llvm.loop.vectorize.enable"),
                   llvm::ConstantAsMetadata::get(llvm::ConstantInt::getFalse(ctx_))});
        llvm::TempMDTuple tmp = llvm::MDNode::getTemporary(ctx_, {});
        llvm::MDNode* id = llvm::MDNode::get(ctx_, {tmp.get(), unroll, vec});
        id->replaceOperandWith(0, id);
        br->setMetadata(llvm::LLVMContext::MD_loop, id);
    }

    int64_t bins_of(const Node& n) const { return (n.axes & ir::kBinBit) ? n.bins : operand_bins(n); }

    Layout layout(const Node& n, AxisSet axes) const {
        Layout l;
        for (int a = 0; a < 64; ++a)
            if (axes & (AxisSet(1) << a)) {
                l.axes.push_back(a);
                l.extents.push_back(a == ir::kBinAxis ? bins_of(n) : p_.axes[a].extent);
            }
        l.strides.resize(l.axes.size());
        int64_t st = 1;
        for (size_t i = l.axes.size(); i-- > 0;) {
            l.strides[i] = st;
            st *= l.extents[i];
        }
        // One frame at a time: every frame uses the same cells.
        if (s_.frame_buffer.count(&n))
            for (size_t i = 0; i < l.axes.size(); ++i)
                if (l.axes[i] != ir::kBinAxis && p_.axes[l.axes[i]].nav) l.strides[i] = 0;
        return l;
    }

    llvm::Value* offset(const std::vector<int>& axes, const std::vector<int64_t>& strides) {
        llvm::Value* off = b_.getInt64(0);
        for (size_t i = 0; i < axes.size(); ++i) {
            off = b_.CreateAdd(off, b_.CreateMul(coord_[axes[i]], b_.getInt64(strides[i]), "", true, true), "", true, true);
        }
        return off;
    }

    // ---- values ----------------------------------------------------------------

    // Values are f64 scalars, or in vector code (lanes_ > 1) vectors of
    // lanes_ f64 values, one per pixel of a chunk along lane_axis_.
    llvm::Type* vt() const { return lanes_ == 1 ? f64_ : llvm::FixedVectorType::get(f64_, lanes_); }
    llvm::Type* vt(llvm::Type* elem) const { return vtn(elem, lanes_); }
    llvm::Type* vtn(llvm::Type* elem, unsigned n) const { return n == 1 ? elem : llvm::FixedVectorType::get(elem, n); }
    llvm::Value* splat(llvm::Value* v) { return lanes_ == 1 ? v : b_.CreateVectorSplat(lanes_, v); }
    llvm::Value* cf(double v) { return llvm::ConstantFP::get(vt(), v); }
    llvm::Value* cf1(double v) { return llvm::ConstantFP::get(f64_, v); }
    llvm::Value* truthy(llvm::Value* v) { return b_.CreateFCmpUNE(v, cf(0)); }
    llvm::Value* from_bool(llvm::Value* c) { return b_.CreateUIToFP(c, vt()); }
    llvm::Value* isnan(llvm::Value* v) { return b_.CreateFCmpUNO(v, v); }

    llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Value*> args) {
        return b_.CreateIntrinsic(id, {vt()}, args);
    }

    /// A libm function that reads no memory, so LICM and GVN may move it;
    /// called once per lane in vector code.
    llvm::Value* libm(const char* name, std::vector<llvm::Value*> args) {
        std::vector<llvm::Type*> types(args.size(), f64_);
        llvm::FunctionCallee callee = m_.getOrInsertFunction(name, llvm::FunctionType::get(f64_, types, false));
        if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
            f->setDoesNotThrow();
            f->setWillReturn();
            f->setMemoryEffects(llvm::MemoryEffects::none());
        }
        auto call_one = [&](std::vector<llvm::Value*> a) {
            llvm::CallInst* call = b_.CreateCall(callee, a);
            call->setDoesNotAccessMemory();
            return static_cast<llvm::Value*>(call);
        };
        if (lanes_ == 1) return call_one(args);
        llvm::Value* out = llvm::PoisonValue::get(vt());
        for (unsigned l = 0; l < lanes_; ++l) {
            std::vector<llvm::Value*> a;
            for (llvm::Value* v : args) a.push_back(b_.CreateExtractElement(v, l));
            out = b_.CreateInsertElement(out, call_one(a), l);
        }
        return out;
    }

    /// lang/ir_eval.cpp convert(): the value as a value of `type`.
    llvm::Value* convert(llvm::Value* v, DType type) {
        auto saturate = [&](double lo, double hi) {
            llvm::Value* t = intrinsic(llvm::Intrinsic::trunc, {v});
            t = b_.CreateSelect(b_.CreateFCmpOLT(t, cf(lo)), cf(lo), t);
            t = b_.CreateSelect(b_.CreateFCmpOGT(t, cf(hi)), cf(hi), t);
            return b_.CreateSelect(isnan(v), cf(0), t);
        };
        switch (type) {
        case DType::Bool: return from_bool(truthy(v));
        case DType::U8: return saturate(0, 255);
        case DType::U16: return saturate(0, 65535);
        case DType::U32: return saturate(0, 4294967295.0);
        case DType::U64: return saturate(0, 18446744073709551615.0);
        case DType::I8: return saturate(-128, 127);
        case DType::I16: return saturate(-32768, 32767);
        case DType::I32: return saturate(-2147483648.0, 2147483647.0);
        case DType::I64: return saturate(-9223372036854775808.0, 9223372036854775807.0);
        case DType::F32: return b_.CreateFPExt(b_.CreateFPTrunc(v, vt(llvm::Type::getFloatTy(ctx_))), vt());
        case DType::F64: return v;
        }
        return v;
    }

    llvm::Value* lookup(const Node* n) {
        for (auto it = memo_.rbegin(); it != memo_.rend(); ++it) {
            auto f = it->find(n);
            if (f != it->end()) return f->second;
        }
        return nullptr;
    }

    llvm::Value* gen(const Node& n) {
        if (llvm::Value* v = lookup(&n)) return v;
        llvm::Value* v = gen_uncached(n);
        memo_.back()[&n] = v;
        return v;
    }

    /// <0, 1, ..., lanes_ - 1> as i64 or f64.
    llvm::Value* iota(llvm::Type* elem) {
        std::vector<llvm::Constant*> c;
        for (unsigned l = 0; l < lanes_; ++l)
            c.push_back(elem->isDoubleTy() ? llvm::ConstantFP::get(elem, l) : llvm::ConstantInt::get(elem, l));
        return llvm::ConstantVector::get(c);
    }

    /// The element of an array of `et` at the current coordinates: a scalar,
    /// or in vector code the lanes' elements (one load when the array is
    /// contiguous along lane_axis_, a broadcast when it does not vary along it, a
    /// gather otherwise; lanes outside valid_ are not read).
    llvm::Value* load_lanes(llvm::Type* et, llvm::Value* base, const std::vector<int>& axes,
                            const std::vector<int64_t>& strides, int obj) {
        llvm::Value* ptr = b_.CreateInBoundsGEP(et, base, offset(axes, strides));
        if (lanes_ == 1) return load(et, ptr, obj);
        int64_t xs = 0;
        for (size_t i = 0; i < axes.size(); ++i)
            if (axes[i] == lane_axis_) xs = strides[i];
        if (xs == 0) return splat(load(et, ptr, obj));
        llvm::Type* vty = vt(et);
        llvm::Align align = m_.getDataLayout().getABITypeAlign(et);
        llvm::Value* zero = llvm::Constant::getNullValue(vty);
        if (xs == 1) {
            if (valid_) return tag(b_.CreateMaskedLoad(vty, ptr, align, valid_, zero), obj);
            return tag(b_.CreateAlignedLoad(vty, ptr, align), obj);
        }
        llvm::Value* ptrs = b_.CreateInBoundsGEP(et, ptr, b_.CreateMul(iota(i64_), splat(b_.getInt64(xs))));
        llvm::Value* mask = valid_ ? valid_ : llvm::Constant::getAllOnesValue(vt(i1_));
        return tag(b_.CreateMaskedGather(vty, ptrs, align, mask, zero), obj);
    }

    llvm::Value* load_leaf(int slot, const std::vector<int>& axes, const std::vector<int64_t>& strides) {
        if (s_.leaves[slot].bytes) {
            llvm::Type* i8 = llvm::Type::getInt8Ty(ctx_);
            llvm::Value* v = load_lanes(i8, leaf_ptr_[slot], axes, strides, obj_leaf(slot));
            return from_bool(b_.CreateICmpSLT(v, llvm::Constant::getNullValue(v->getType())));
        }
        return load_lanes(f64_, leaf_ptr_[slot], axes, strides, obj_leaf(slot));
    }

    /// The address of data element `n` (a Data node, its sig coordinates
    /// implicit or indexed) in the current frame, and whether an index lies
    /// inside the frame (null when none is given).
    std::pair<llvm::Value*, llvm::Value*> data_address(const Node& n) {
        llvm::Value* off = b_.getInt64(0);
        llvm::Value* inside = nullptr;
        size_t k = 0;
        for (size_t a = 0; a < p_.axes.size(); ++a) {
            if (p_.axes[a].nav) continue;
            llvm::Value* c = coord_[a];
            if (!n.args.empty()) {
                auto [i, in] = index(*n.args[k], p_.axes[a].extent);
                c = i;
                inside = inside ? b_.CreateAnd(inside, in) : in;
            }
            off = b_.CreateAdd(off, b_.CreateMul(c, b_.getInt64(s_.sig_strides[k])));
            ++k;
        }
        return {b_.CreateInBoundsGEP(llvm::Type::getInt8Ty(ctx_), frame_, off), inside};
    }

    /// The stored element at `ptr` as an integer of its width, in native byte order.
    /// The stored element at `ptr` as an integer of its width, in native
    /// byte order (in vector code, the lanes' elements, contiguous).
    llvm::Value* load_raw(llvm::Value* ptr) {
        DType t = s_.dtype;
        llvm::Type* it = vt(llvm::Type::getIntNTy(ctx_, static_cast<unsigned>(dtype_size(t) * 8)));
        llvm::Value* v;
        if (lanes_ > 1 && valid_)
            v = tag(b_.CreateMaskedLoad(it, ptr, llvm::Align(1), valid_, llvm::Constant::getNullValue(it)), obj_data());
        else
            v = tag(b_.CreateAlignedLoad(it, ptr, llvm::MaybeAlign(1)), obj_data());
        if (s_.big_endian && dtype_size(t) > 1) v = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, v);
        return v;
    }

    llvm::Value* load_element(llvm::Value* ptr) {
        DType t = s_.dtype;
        llvm::Value* v = load_raw(ptr);
        switch (t) {
        case DType::Bool: return from_bool(b_.CreateICmpNE(v, llvm::Constant::getNullValue(v->getType())));
        case DType::U8: case DType::U16: case DType::U32: case DType::U64: return b_.CreateUIToFP(v, vt());
        case DType::I8: case DType::I16: case DType::I32: case DType::I64: return b_.CreateSIToFP(v, vt());
        case DType::F32: return b_.CreateFPExt(b_.CreateBitCast(v, vt(llvm::Type::getFloatTy(ctx_))), vt());
        case DType::F64: return b_.CreateBitCast(v, vt());
        }
        return v;
    }

    /// An explicit index: its integer value and whether it lies in [0, extent).
    std::pair<llvm::Value*, llvm::Value*> index(const Node& e, int64_t extent) {
        // Range-check the value before converting: fptosi of a huge value is poison.
        llvm::Value* v = intrinsic(llvm::Intrinsic::trunc, {gen(e)});
        llvm::Value* in = b_.CreateAnd(b_.CreateFCmpOGE(v, cf(0)), b_.CreateFCmpOLT(v, cf(static_cast<double>(extent))));
        llvm::Value* i = b_.CreateFPToSI(b_.CreateSelect(in, v, cf(0)), i64_);
        return {i, in};
    }

    llvm::Value* gen_uncached(const Node& n) {
        auto leaf = s_.leaf_slot.find(&n);
        if (leaf != s_.leaf_slot.end()) {
            const LeafLayout& l = s_.leaves[leaf->second];
            return load_leaf(leaf->second, l.axes, l.strides);
        }
        switch (n.op) {
        case Op::Const: return cf(n.value);
        case Op::Coord: {
            llvm::Value* c = splat(b_.CreateSIToFP(coord_[n.axis], f64_));
            return lanes_ > 1 && n.axis == lane_axis_ ? b_.CreateFAdd(c, iota(f64_)) : c;
        }
        case Op::Data: {
            auto [ptr, inside] = data_address(n);
            llvm::Value* v = load_element(ptr);
            return inside ? b_.CreateSelect(inside, v, cf(0)) : v;
        }
        case Op::ArrayRead: {
            const ir::ArrayInput& arr = p_.arrays[n.array];
            int slot = s_.array_slot[n.array];
            llvm::Value* off = b_.getInt64(0);
            llvm::Value* inside = nullptr;
            int64_t stride = 1;
            std::vector<int64_t> strides(arr.axes.size());
            for (size_t k = arr.axes.size(); k-- > 0;) {
                strides[k] = stride;
                stride *= arr.shape[k];
            }
            if (n.args.empty()) return load_lanes(f64_, leaf_ptr_[slot], arr.axes, strides, obj_leaf(slot));
            for (size_t k = 0; k < arr.axes.size(); ++k) {
                llvm::Value* c = coord_[arr.axes[k]];
                if (!n.args.empty()) {
                    auto [i, in] = index(*n.args[k], arr.shape[k]);
                    c = i;
                    inside = inside ? b_.CreateAnd(inside, in) : in;
                }
                off = b_.CreateAdd(off, b_.CreateMul(c, b_.getInt64(strides[k])));
            }
            llvm::Value* v = load(f64_, b_.CreateInBoundsGEP(f64_, leaf_ptr_[slot], off), obj_leaf(slot));
            return inside ? b_.CreateSelect(inside, v, cf(0)) : v;
        }
        case Op::Reduce: {
            // A frame-local reduction of an earlier stage of this pass.
            auto it = result_ptr_.find(&n);
            if (it == result_ptr_.end()) throw std::logic_error("internal error: reduction read before it is computed");
            Layout l = layout(n, n.axes);
            return load_lanes(f64_, it->second, l.axes, l.strides, obj_result(&n));
        }
        case Op::Select: {
            llvm::Value* c = truthy(gen(*n.args[0]));
            return convert(b_.CreateSelect(c, gen(*n.args[1]), gen(*n.args[2])), n.type);
        }
        default: break;
        }
        std::vector<llvm::Value*> a;
        for (const ir::NodeRef& c : n.args) a.push_back(gen(*c));
        llvm::Value* r = nullptr;
        bool exact = false;  // already of the node's type (comparisons, logic)
        switch (n.op) {
        case Op::Neg: r = b_.CreateFNeg(a[0]); break;
        case Op::Not: r = from_bool(b_.CreateNot(truthy(a[0]))); exact = true; break;
        case Op::Abs: r = intrinsic(llvm::Intrinsic::fabs, {a[0]}); break;
        case Op::Sqrt: r = intrinsic(llvm::Intrinsic::sqrt, {a[0]}); break;
        case Op::Exp: r = libm("exp", {a[0]}); break;
        case Op::Log: r = libm("log", {a[0]}); break;
        case Op::Log1p: r = libm("log1p", {a[0]}); break;
        case Op::Sin: r = libm("sin", {a[0]}); break;
        case Op::Cos: r = libm("cos", {a[0]}); break;
        case Op::Tan: r = libm("tan", {a[0]}); break;
        case Op::Asin: r = libm("asin", {a[0]}); break;
        case Op::Acos: r = libm("acos", {a[0]}); break;
        case Op::Atan: r = libm("atan", {a[0]}); break;
        case Op::Floor: r = intrinsic(llvm::Intrinsic::floor, {a[0]}); break;
        case Op::Ceil: r = intrinsic(llvm::Intrinsic::ceil, {a[0]}); break;
        case Op::Round: r = intrinsic(llvm::Intrinsic::nearbyint, {a[0]}); break;
        case Op::IsNan: r = from_bool(isnan(a[0])); exact = true; break;
        case Op::Cast: r = a[0]; break;
        case Op::Add: r = b_.CreateFAdd(a[0], a[1]); break;
        case Op::Sub: r = b_.CreateFSub(a[0], a[1]); break;
        case Op::Mul: r = b_.CreateFMul(a[0], a[1]); break;
        case Op::Div: r = b_.CreateFDiv(a[0], a[1]); break;
        case Op::Mod: {
            llvm::Value* rem = b_.CreateFRem(a[0], a[1]);
            llvm::Value* fix = b_.CreateAnd(b_.CreateFCmpUNE(rem, cf(0)),
                                            b_.CreateXor(b_.CreateFCmpOLT(rem, cf(0)), b_.CreateFCmpOLT(a[1], cf(0))));
            rem = b_.CreateSelect(fix, b_.CreateFAdd(rem, a[1]), rem);
            double zero = dtype_is_int(n.type) ? 0 : std::numeric_limits<double>::quiet_NaN();
            r = b_.CreateSelect(b_.CreateFCmpOEQ(a[1], cf(0)), cf(zero), rem);
            break;
        }
        case Op::Pow: r = libm("pow", {a[0], a[1]}); break;
        case Op::Eq: r = from_bool(b_.CreateFCmpOEQ(a[0], a[1])); exact = true; break;
        case Op::Ne: r = from_bool(b_.CreateFCmpUNE(a[0], a[1])); exact = true; break;
        case Op::Lt: r = from_bool(b_.CreateFCmpOLT(a[0], a[1])); exact = true; break;
        case Op::Le: r = from_bool(b_.CreateFCmpOLE(a[0], a[1])); exact = true; break;
        case Op::Gt: r = from_bool(b_.CreateFCmpOGT(a[0], a[1])); exact = true; break;
        case Op::Ge: r = from_bool(b_.CreateFCmpOGE(a[0], a[1])); exact = true; break;
        case Op::And: r = from_bool(b_.CreateAnd(truthy(a[0]), truthy(a[1]))); exact = true; break;
        case Op::Or: r = from_bool(b_.CreateOr(truthy(a[0]), truthy(a[1]))); exact = true; break;
        case Op::Atan2: r = libm("atan2", {a[0], a[1]}); break;
        case Op::Hypot: r = libm("hypot", {a[0], a[1]}); break;
        case Op::Min: case Op::Max: {
            llvm::Value* nan = b_.CreateOr(isnan(a[0]), isnan(a[1]));
            llvm::Value* pick_b = n.op == Op::Min ? b_.CreateFCmpOLT(a[1], a[0]) : b_.CreateFCmpOGT(a[1], a[0]);
            r = b_.CreateSelect(nan, cf(std::numeric_limits<double>::quiet_NaN()), b_.CreateSelect(pick_b, a[1], a[0]));
            break;
        }
        default:
            throw std::logic_error(std::string("internal error: the JIT cannot lower ") + ir::op_name(n.op));
        }
        // Integer arithmetic whose result provably lies in its type (and
        // below 2^53, where doubles are exact) needs no saturation.
        if (!exact && dtype_is_int(n.type) && fits_without_saturation(n)) return r;
        return exact ? r : convert(r, n.type);
    }

    /// The range of an integer (or bool) value's type.
    static std::pair<double, double> type_range(DType t) {
        switch (t) {
        case DType::Bool: return {0, 1};
        case DType::U8: return {0, 255};
        case DType::U16: return {0, 65535};
        case DType::U32: return {0, 4294967295.0};
        case DType::I8: return {-128, 127};
        case DType::I16: return {-32768, 32767};
        case DType::I32: return {-2147483648.0, 2147483647.0};
        case DType::U64: return {0, 18446744073709551615.0};
        default: return {-9223372036854775808.0, 9223372036854775807.0};
        }
    }

    /// Bounds of an integer-typed value (conservative; memoised), or null
    /// when it is not an integer computed from integers.
    const std::pair<double, double>* int_range(const Node& n) {
        auto it = ranges_.find(&n);
        if (it != ranges_.end()) return it->second ? &*it->second : nullptr;
        std::optional<std::pair<double, double>> r;
        auto arg = [&](size_t i) { return int_range(*n.args[i]); };
        if (dtype_is_int(n.type) || n.type == DType::Bool) {
            // (A materialised leaf is the value of its expression: its
            // structure bounds it too.)
            if (n.op == Op::Data || n.op == Op::ArrayRead || n.op == Op::Reduce || n.op == Op::Cast ||
                n.op == Op::Grad) {
                r = type_range(n.type);  // a value of its type
            } else if (n.op == Op::Const) {
                r = std::make_pair(n.value, n.value);
            } else if (n.op == Op::Coord) {
                r = std::make_pair(0.0, static_cast<double>(std::max<int64_t>(0, p_.axes[n.axis].extent - 1)));
            } else if (n.args.size() == 2 && arg(0) && arg(1)) {
                auto [a0, a1] = *arg(0);
                auto [b0, b1] = *arg(1);
                switch (n.op) {
                case Op::Add: r = std::make_pair(a0 + b0, a1 + b1); break;
                case Op::Sub: r = std::make_pair(a0 - b1, a1 - b0); break;
                case Op::Mul: {
                    double c[] = {a0 * b0, a0 * b1, a1 * b0, a1 * b1};
                    r = std::make_pair(*std::min_element(c, c + 4), *std::max_element(c, c + 4));
                    break;
                }
                case Op::Min: r = std::make_pair(std::min(a0, b0), std::min(a1, b1)); break;
                case Op::Max: r = std::make_pair(std::max(a0, b0), std::max(a1, b1)); break;
                default: break;
                }
            } else if (n.op == Op::Neg && arg(0)) {
                r = std::make_pair(-arg(0)->second, -arg(0)->first);
            } else if (n.op == Op::Select && arg(1) && arg(2)) {
                r = std::make_pair(std::min(arg(1)->first, arg(2)->first), std::max(arg(1)->second, arg(2)->second));
            } else {
                r = type_range(n.type);
            }
        }
        auto& slot = ranges_[&n];
        slot = r;
        return slot ? &*slot : nullptr;
    }

    /// True when `n`, an integer-typed value, always lies in its type's
    /// range and within +-2^53, its operands being integers.
    bool fits_without_saturation(const Node& n) {
        if (n.op == Op::Cast) return false;
        const std::pair<double, double>* r = int_range(n);
        if (!r) return false;
        auto [lo, hi] = type_range(n.type);
        const double exact = 9007199254740992.0;
        return r->first >= lo && r->second <= hi && r->first >= -exact && r->second <= exact;
    }

    // ---- reductions --------------------------------------------------------------

    struct StatePtrs {
        llvm::Value* a;
        llvm::Value* b;
        llvm::Value* n;
    };

    StatePtrs state_of(const Node& r) {
        auto fl = frame_state_.find(&r);
        if (fl != frame_state_.end()) return {fl->second[0], fl->second[1], fl->second[2]};
        llvm::Value* base = state_ptr_.at(&r);
        int64_t cells = reduction_cells(p_, r, false);
        return {base, b_.CreateConstInBoundsGEP1_64(f64_, base, cells),
                b_.CreateConstInBoundsGEP1_64(f64_, base, 2 * cells)};
    }

    bool frame_local(const Node& r) const { return s_.plan->in_pass.at(&r).frame_local; }

    /// A per-frame sum of the data itself, of an integer type of at most 32
    /// bits: its cells can be summed in i64 exactly (2^32 x 2^31 < 2^63).
    bool integer_sum(const Node& r) const {
        if (r.rop != ReduceOp::Sum || r.has_by || r.operand()->op != Op::Data) return false;
        switch (s_.dtype) {
        case DType::U8: case DType::U16: case DType::U32: case DType::I8: case DType::I16: case DType::I32:
            return true;
        default:
            return false;
        }
    }

    /// The data element `n` (a Data node) as an i64, 0 outside the frame.
    llvm::Value* gen_int(const Node& n, llvm::Type* width = nullptr) {
        auto [ptr, inside] = data_address(n);
        DType t = s_.dtype;
        llvm::Type* w = vt(width ? width : i64_);
        bool is_signed = t == DType::I8 || t == DType::I16 || t == DType::I32;
        llvm::Value* raw = load_raw(ptr);
        llvm::Value* v = is_signed ? b_.CreateSExtOrTrunc(raw, w) : b_.CreateZExtOrTrunc(raw, w);
        return inside ? b_.CreateSelect(inside, v, llvm::ConstantInt::get(w, 0)) : v;
    }

    void init_frame_states(const Node& r) {
        int64_t cells = frame_cells_.at(&r);
        StatePtrs st = state_of(r);
        if (auto it = int_state_.find(&r); it != int_state_.end()) {
            llvm::Value* is = it->second;
            if (cells == 1) b_.CreateStore(b_.getInt64(0), is);
            else loop(b_.getInt64(0), b_.getInt64(cells), [&](llvm::Value* i) {
                b_.CreateStore(b_.getInt64(0), b_.CreateInBoundsGEP(i64_, is, i));
            });
        }
        double a0 = r.rop == ReduceOp::All ? 1 : 0;
        if (cells == 1) {
            b_.CreateStore(cf(a0), st.a);
            b_.CreateStore(cf(0), st.b);
            b_.CreateStore(cf(0), st.n);
            return;
        }
        loop(b_.getInt64(0), b_.getInt64(cells), [&](llvm::Value* i) {
            b_.CreateStore(cf(a0), b_.CreateInBoundsGEP(f64_, st.a, i));
            b_.CreateStore(cf(0), b_.CreateInBoundsGEP(f64_, st.b, i));
            b_.CreateStore(cf(0), b_.CreateInBoundsGEP(f64_, st.n, i));
        });
    }

    llvm::Value* reassoc_add(llvm::Value* x, llvm::Value* y) {
        llvm::Value* r = b_.CreateFAdd(x, y);
        if (auto* inst = llvm::dyn_cast<llvm::Instruction>(r)) inst->setHasAllowReassoc(true);
        return r;
    }

    /// Updates reduction `r` with the element at the current coordinates.
    void update(const Node& r) {
        llvm::Value* take = b_.getTrue();
        if (r.has_where) take = truthy(gen(**r.where()));
        AxisSet cell_axes = frame_local(r) ? (r.axes & ~nav_) : r.axes;
        Layout l = layout(r, cell_axes);
        if (r.has_by) {
            llvm::Value* key = gen(**r.by());
            llvm::Value* in = b_.CreateAnd(b_.CreateFCmpOGE(key, cf(0)), b_.CreateFCmpOLT(key, cf(static_cast<double>(r.bins))));
            take = b_.CreateAnd(take, in);
            coord_[ir::kBinAxis] = b_.CreateSelect(in, b_.CreateFPToSI(key, i64_), b_.getInt64(0));
        }
        llvm::Value* cell = offset(l.axes, l.strides);
        if (auto it = int_state_.find(&r); it != int_state_.end()) {
            llvm::Value* p = b_.CreateInBoundsGEP(i64_, it->second, cell);
            llvm::Value* v = b_.CreateSelect(take, gen_int(*r.operand()), b_.getInt64(0));
            b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_, p), v), p);
            return;
        }
        StatePtrs st = state_of(r);
        llvm::Value* pa = b_.CreateInBoundsGEP(f64_, st.a, cell);
        llvm::Value* pb = b_.CreateInBoundsGEP(f64_, st.b, cell);
        llvm::Value* pn = b_.CreateInBoundsGEP(f64_, st.n, cell);
        llvm::Value* v = gen(*r.operand());
        bool fl = frame_local(r);
        // Per-frame states are allocas (no scope needed); run states are tagged.
        auto ld = [&](llvm::Value* ptr, int part) {
            return fl ? static_cast<llvm::Value*>(b_.CreateLoad(f64_, ptr)) : load(f64_, ptr, obj_state(&r, part));
        };
        auto put = [&](llvm::Value* val, llvm::Value* ptr, int part) {
            if (fl) b_.CreateStore(val, ptr);
            else store(val, ptr, obj_state(&r, part));
        };
        llvm::Value* a = ld(pa, 0);
        bool uniform = uniform_count(r);
        // A uniform count is the number of frames done: kept once, not per cell.
        llvm::Value* n = uniform ? n_frame_ : ld(pn, 2);
        llvm::Value* n1 = uniform ? nullptr : reassoc_add(n, b_.CreateSelect(take, cf(1), cf(0)));
        llvm::Value* na = a;
        llvm::Value* nb = nullptr;
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Mean:
            // select(take, a + v, a), not a + select(take, v, 0): the latter is
            // turned into a masked load-and-convert, several times slower on Zen.
            na = reassoc_add(a, b_.CreateSelect(take, v, cf(0)));
            break;
        case ReduceOp::Count:
            na = reassoc_add(a, b_.CreateSelect(b_.CreateAnd(take, truthy(v)), cf(1), cf(0)));
            break;
        case ReduceOp::Any: na = b_.CreateSelect(b_.CreateAnd(take, truthy(v)), cf(1), a); break;
        case ReduceOp::FftRe: case ReduceOp::FftIm: case ReduceOp::FftAbs: case ReduceOp::FftArg:
            na = b_.CreateSelect(take, v, a);  // collected; transformed when the frame ends
            break;
        case ReduceOp::All: na = b_.CreateSelect(b_.CreateAnd(take, b_.CreateNot(truthy(v))), cf(0), a); break;
        case ReduceOp::Var: case ReduceOp::Std: {
            llvm::Value* bv = ld(pb, 1);
            llvm::Value* delta = b_.CreateFSub(v, a);
            llvm::Value* mean = uniform ? b_.CreateFAdd(a, b_.CreateFMul(delta, inv_frame_))
                                        : b_.CreateFAdd(a, b_.CreateFDiv(delta, b_.CreateFAdd(n, cf(1))));
            llvm::Value* m2 = b_.CreateFAdd(bv, b_.CreateFMul(delta, b_.CreateFSub(v, mean)));
            na = b_.CreateSelect(take, mean, a);
            nb = b_.CreateSelect(take, m2, bv);
            break;
        }
        case ReduceOp::Min: case ReduceOp::Max: {
            llvm::Value* better = r.rop == ReduceOp::Min ? b_.CreateFCmpOLT(v, a) : b_.CreateFCmpOGT(v, a);
            llvm::Value* empty = b_.CreateFCmpOEQ(n, cf(0));
            llvm::Value* takes = b_.CreateOr(b_.CreateOr(empty, isnan(v)), better);
            llvm::Value* keep = b_.CreateNot(b_.CreateAnd(b_.CreateNot(empty), isnan(a)));
            na = b_.CreateSelect(b_.CreateAnd(take, b_.CreateAnd(takes, keep)), v, a);
            break;
        }
        case ReduceOp::Argmin: case ReduceOp::Argmax: {
            llvm::Value* bv = ld(pb, 1);
            llvm::Value* better = r.rop == ReduceOp::Argmin ? b_.CreateFCmpOLT(v, a) : b_.CreateFCmpOGT(v, a);
            llvm::Value* empty = b_.CreateFCmpOEQ(n, cf(0));
            llvm::Value* takes =
                b_.CreateOr(empty, b_.CreateAnd(b_.CreateNot(isnan(a)), b_.CreateOr(isnan(v), better)));
            takes = b_.CreateAnd(take, takes);
            Layout red = layout(r, r.reduce_axes);
            llvm::Value* idx = b_.CreateSIToFP(offset(red.axes, red.strides), f64_);
            na = b_.CreateSelect(takes, v, a);
            nb = b_.CreateSelect(takes, idx, bv);
            break;
        }
        }
        put(na, pa, 0);
        if (nb) put(nb, pb, 1);
        if (!uniform) put(n1, pn, 2);
    }

    /// One update per cell per frame (no where, no by, only nav axes reduced):
    /// the engine fills the count after the call.
    bool uniform_count(const Node& r) const { return !frame_local(r) && compiler::uniform_count(p_, r); }

    /// compiler/accumulator.h acc_finalize().
    llvm::Value* finalize(const Node& r, llvm::Value* a, llvm::Value* bv, llvm::Value* n) {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        llvm::Value* empty = b_.CreateFCmpOEQ(n, cf(0));
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Count: case ReduceOp::Any: case ReduceOp::All: return a;
        case ReduceOp::Mean: return b_.CreateSelect(empty, cf(nan), b_.CreateFDiv(a, n));
        case ReduceOp::Var: case ReduceOp::Std: {
            llvm::Value* var = b_.CreateFDiv(bv, n);
            var = b_.CreateSelect(b_.CreateFCmpOLT(var, cf(0)), cf(0), var);
            if (r.rop == ReduceOp::Std) var = intrinsic(llvm::Intrinsic::sqrt, {var});
            return b_.CreateSelect(empty, cf(nan), var);
        }
        case ReduceOp::Min: case ReduceOp::Max:
            return b_.CreateSelect(empty, cf(dtype_is_float(r.type) ? nan : 0), a);
        case ReduceOp::Argmin: case ReduceOp::Argmax: return b_.CreateSelect(empty, cf(-1), bv);
        case ReduceOp::FftRe: case ReduceOp::FftIm: case ReduceOp::FftAbs: case ReduceOp::FftArg: return a;
        }
        return a;
    }

    void finish_frame(const Node& r) {
        int64_t cells = frame_cells_.at(&r);
        StatePtrs st = state_of(r);
        Layout full = layout(r, r.axes);
        // Nav axes come first in the layout: the frame's cells are contiguous.
        std::vector<int> nav_axes;
        std::vector<int64_t> nav_strides;
        for (size_t i = 0; i < full.axes.size(); ++i)
            if (full.axes[i] != ir::kBinAxis && p_.axes[full.axes[i]].nav) {
                nav_axes.push_back(full.axes[i]);
                nav_strides.push_back(full.strides[i]);
            }
        llvm::Value* base = b_.CreateInBoundsGEP(f64_, result_ptr_.at(&r), offset(nav_axes, nav_strides));
        if (ir::is_fft(r.rop)) {
            // The frame's pixels are collected in `a` (sig axes, C order):
            // the runtime replaces them by the part of their fft2.
            Layout frame = layout(r, r.axes & ~nav_);
            llvm::FunctionCallee fft = m_.getOrInsertFunction(
                "tem_fft2_part", llvm::FunctionType::get(llvm::Type::getVoidTy(ctx_),
                                                         {ptr_, i64_, i64_, llvm::Type::getInt32Ty(ctx_)}, false));
            b_.CreateCall(fft, {st.a, b_.getInt64(frame.extents.at(0)), b_.getInt64(frame.extents.at(1)),
                                b_.getInt32(static_cast<int32_t>(fft_part(r.rop)))});
        }
        auto int_it = int_state_.find(&r);
        auto one = [&](llvm::Value* i) {
            llvm::Value* a = int_it != int_state_.end()
                                 ? b_.CreateSIToFP(b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, int_it->second, i)), f64_)
                                 : b_.CreateLoad(f64_, b_.CreateInBoundsGEP(f64_, st.a, i));
            llvm::Value* bv = b_.CreateLoad(f64_, b_.CreateInBoundsGEP(f64_, st.b, i));
            llvm::Value* n = b_.CreateLoad(f64_, b_.CreateInBoundsGEP(f64_, st.n, i));
            store(finalize(r, a, bv, n), b_.CreateInBoundsGEP(f64_, base, i), obj_result(&r));
        };
        if (cells == 1) one(b_.getInt64(0));
        else loop(b_.getInt64(0), b_.getInt64(cells), one);
    }

    // ---- vector loops ------------------------------------------------------------
    //
    // A loop group whose innermost axis is the last sig axis, with the data
    // contiguous along it, runs on chunks of lanes: every value is a vector
    // of one value per pixel of the chunk. Frame-local reductions accumulate
    // per lane in registers and combine their lanes once per cell (a sum
    // over the frame once per frame, a sum over a row once per row); their
    // cells are the same per-frame states as the general loops', so
    // finish_frame() finalises both. Nav-reducing reductions whose cells
    // cover the last sig axis (the mean and variance frames) run in tiles of
    // tile_ frames: per chunk, the tile's values of every frame are combined
    // in registers and merged into the states once (for var/std, the tile's
    // mean and squared deviations, merged by Chan et al.'s update), so the
    // states are read and written once per tile instead of once per frame.

    /// The code for every loop group, decided before any is emitted.
    void plan_groups(const Jit& jit) {
        int rank = static_cast<int>(p_.axes.size());
        xaxis_ = rank >= 1 && !p_.axes[rank - 1].nav ? rank - 1 : -1;
        bool vector = vector_loops_possible(s_);
        unsigned w = static_cast<unsigned>(std::max(2, jit.vector_bits() / 64));
        // Two f64 vectors per frame of a tile. With AVX2, at least a cache
        // line of data, at most 32 lanes (16 of f32, 32 of u16). With
        // AVX-512, two vectors are a line of f32 already, and 32 lanes of
        // u16 (two i32 vectors per frame) made the tile loop of W6 spill to
        // the stack: 16 lanes took S1 on u16 at 2 threads from 25.5 to
        // 22.0 ms and 4 ms off the compile time.
        tile_lanes_ = 2 * w;
        if (w < 8)
            tile_lanes_ = std::max<unsigned>(tile_lanes_, std::min<unsigned>(32, 64 / static_cast<unsigned>(dtype_size(s_.dtype))));
        int64_t ext = xaxis_ >= 0 ? p_.axes[xaxis_].extent : 1;
        frame_lanes_ = w;
        while (frame_lanes_ < 4 * w && frame_lanes_ < ext) frame_lanes_ *= 2;
        int64_t frame_bytes = static_cast<int64_t>(dtype_size(s_.dtype));
        for (const ir::AxisInfo& a : p_.axes)
            if (!a.nav) frame_bytes *= a.extent;
        // Per-frame integer sums of data of at most 16 bits add in i32 lanes
        // (twice as many per vector as i64) while no lane can overflow: at
        // most 32767 elements of a frame per lane.
        int64_t pixels = frame_bytes / static_cast<int64_t>(dtype_size(s_.dtype));
        int64_t fewest_lanes = std::min<int64_t>({tile_lanes_, frame_lanes_, kRunLanes});
        acc_int_ = dtype_size(s_.dtype) <= 2 && pixels / fewest_lanes < 32768 ? llvm::Type::getInt32Ty(ctx_) : i64_;
        lane_int_ = acc_int_;
        // The frames of a tile stay in the L2 cache between their per-frame
        // loops and the tile loops.
        tile_ = 1;
        while (tile_ < kTileFrames && frame_bytes * tile_ * 2 <= (int64_t{1} << 21)) tile_ *= 2;
        for (const std::vector<LoopGroup>& groups : s_.groups)
            for (const LoopGroup& g : groups) {
                EmitGroup e;
                e.layout = layout(*g.reductions.front(), g.space);
                e.bounds_slot = g.bounds_slot;
                if (g.runs_slot >= 0) {
                    for (const Node* r : g.reductions)
                        if (!frame_lanes_ok(*r) || (r->axes & ~nav_))
                            throw std::logic_error("internal error: a reduction over runs cannot run on lanes");
                    e.lanes = g.reductions;
                    e.runs_slot = g.runs_slot;
                    e.run_count = g.run_count;
                    e.run_sets = g.run_sets;
                    e.run_row_lo = g.run_row_lo;
                    e.run_row_hi = g.run_row_hi;
                    e.implied = g.implied;
                    emit_.push_back(std::move(e));
                    continue;
                }
                bool lanes = vector && !e.layout.axes.empty() && e.layout.axes.back() == xaxis_ && !(g.space & ir::kBinBit);
                // A loop over another sig axis that reads no data (a sum
                // over rows of per-row results) runs on lanes along it.
                bool other = vector && !e.layout.axes.empty() && !p_.axes[e.layout.axes.back()].nav &&
                             e.layout.axes.back() != xaxis_ && !(g.space & ir::kBinBit);
                for (const Node* r : g.reductions) {
                    if (lanes && frame_lanes_ok(*r)) e.lanes.push_back(r);
                    else if (lanes && tile_ok(*r)) e.tiled.push_back(r);
                    else if (other && frame_lanes_ok(*r) && !reduction_reads_data(*r)) e.lanes.push_back(r);
                    else e.scalar.push_back(r);
                }
                if (!e.tiled.empty()) {
                    EmitGroup t;
                    t.layout = e.layout;
                    t.bounds_slot = e.bounds_slot;
                    t.tiled = std::move(e.tiled);
                    e.tiled.clear();
                    tile_groups_.push_back(std::move(t));
                }
                emit_.push_back(std::move(e));
            }
        tiled_ = !tile_groups_.empty();
        // Tile first: when no tile reduction reads a per-frame result of the
        // pass, the tile loops read each tile's frames first and the
        // per-frame loops then find them in the cache; per-frame totals over
        // whole frames are computed in the tile loop itself (one read and
        // one conversion of each pixel for both).
        tile_first_ = tiled_;
        for (const EmitGroup& t : tile_groups_)
            for (const Node* r : t.tiled)
                if (reads_pass_result(*r)) tile_first_ = false;
        if (tile_first_)
            for (EmitGroup& e : emit_) {
                if (e.bounds_slot >= 0 || e.runs_slot >= 0) continue;
                auto t = std::find_if(tile_groups_.begin(), tile_groups_.end(),
                                      [&](const EmitGroup& t) { return t.layout.axes == e.layout.axes && t.bounds_slot < 0; });
                if (t == tile_groups_.end()) continue;
                std::vector<const Node*> keep;
                for (const Node* r : e.lanes) {
                    bool fuse = !(r->axes & ~nav_) && !reads_pass_result(*r) &&
                                (r->rop == ReduceOp::Sum || r->rop == ReduceOp::Mean || r->rop == ReduceOp::Count);
                    (fuse ? t->fused : keep).push_back(r);
                }
                e.lanes = std::move(keep);
            }
        // A pass that only streams whole frames is served by the hardware
        // prefetchers (software prefetches slowed a per-frame sum by 10%).
        size_t loops = tile_groups_.size();
        for (const EmitGroup& e : emit_) loops += !e.scalar.empty() + !e.lanes.empty();
        streaming_only_ = loops <= 1;
        // Tiles fetch their next frames unless a per-frame loop over whole
        // frames (which prefetches) reads the data before them; per-frame
        // loops after the tile loops find their frames in the cache.
        prefetch_tile_ = true;
        if (!tile_first_)
            for (const EmitGroup& e : emit_)
                for (const Node* r : e.lanes)
                    if (e.bounds_slot < 0 && reduction_reads_data(*r)) prefetch_tile_ = false;
        prefetch_frames_ = !tile_first_;
    }

    bool args_lanes_ok(const Node& r, bool tile) const { return compiler::args_lanes_ok(s_, r, tile); }
    bool frame_lanes_ok(const Node& r) const {
        return frame_local(r) && frame_reduction_on_lanes(r) && args_lanes_ok(r, false);
    }

    bool tile_ok(const Node& r) const {
        if (frame_local(r) || r.has_by || (r.axes & nav_) || ((r.axes | r.reduce_axes) & ir::kBinBit) ||
            !(r.axes & (AxisSet(1) << xaxis_)))
            return false;
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::Count: case ReduceOp::Min: case ReduceOp::Max:
        case ReduceOp::Any: case ReduceOp::All: case ReduceOp::Var: case ReduceOp::Std:
            return args_lanes_ok(r, true);
        default:
            return false;
        }
    }

    /// A reduction of a vector loop nest.
    struct LaneRed {
        const Node* r = nullptr;
        Layout cell;            // its cells
        bool per_chunk = false; // its cells vary along the lanes: states are read and written per chunk
        size_t level = 0;       // otherwise its accumulator spans the loop at this depth
        bool int_sum = false;   // integer_sum(): i64 lanes
        unsigned lanes = 1;     // lanes of its accumulator
    };

    /// Frame-local reductions whose finalisation reads the count.
    bool keeps_count(const Node& r) const {
        return (r.rop == ReduceOp::Mean && static_count(r) < 0) || r.rop == ReduceOp::Min || r.rop == ReduceOp::Max;
    }

    /// The number of elements a frame-local mean takes per frame when it is
    /// known before the pass (no condition, or a static mask), else -1.
    double static_count(const Node& r) const {
        if (r.rop != ReduceOp::Mean || !frame_local(r) || r.has_by || (r.axes & ~nav_)) return -1;
        if (r.has_where) {
            auto it = s_.static_count.find(&r);
            return it == s_.static_count.end() ? -1 : it->second;
        }
        double n = 1;
        for (size_t a = 0; a < p_.axes.size(); ++a)
            if (!p_.axes[a].nav && (r.reduce_axes & (AxisSet(1) << a))) n *= static_cast<double>(p_.axes[a].extent);
        return n;
    }

    void vector_nest(const EmitGroup& g, const std::vector<const Node*>& reds, bool tile) {
        lanes_loops_ = true;
        const Layout& l = g.layout;
        lane_axis_ = l.axes.back();
        std::vector<LaneRed> lr;
        for (const Node* r : reds) {
            LaneRed v;
            v.r = r;
            AxisSet cell_axes = tile ? r->axes : (r->axes & ~nav_);
            v.cell = layout(*r, cell_axes);
            v.per_chunk = (cell_axes >> l.axes.back()) & 1;
            for (size_t i = 0; i + 1 < l.axes.size(); ++i)
                if (cell_axes & (AxisSet(1) << l.axes[i])) v.level = i + 1;
            v.int_sum = !tile && int_state_.count(r) != 0;
            v.lanes = tile ? tile_lanes_ : frame_lanes_;
            lr.push_back(v);
        }
        vnest(l, 0, lr, tile);
        lanes_loops_ = false;
    }

    void vnest(const Layout& l, size_t depth, std::vector<LaneRed>& lr, bool tile) {
        // A bounded row outside every mask (lo == hi) has nothing to read
        // and its accumulators nothing to merge (merging an empty one
        // changes no cell): it is skipped, with the horizontal combination
        // of its row cells' lanes (a centre of mass inside a disk of radius
        // 24 in 128 rows combined 80 empty rows a frame).
        llvm::BasicBlock* row_done = nullptr;
        if (depth + 1 == l.axes.size() && bounds_ && l.axes.size() >= 2) {
            auto [lo, hi] = row_bounds(l);
            llvm::BasicBlock* row = llvm::BasicBlock::Create(ctx_, "row", fn_);
            row_done = llvm::BasicBlock::Create(ctx_, "row_done", fn_);
            b_.CreateCondBr(b_.CreateICmpSLT(lo, hi), row, row_done);
            b_.SetInsertPoint(row);
        }
        for (LaneRed& v : lr)
            if (!v.per_chunk && v.level == depth) acc_init(v);
        if (depth + 1 == l.axes.size()) {
            chunks(l, lr, tile);
        } else {
            loop(b_.getInt64(0), b_.getInt64(l.extents[depth]), [&](llvm::Value* i) {
                coord_[l.axes[depth]] = i;
                vnest(l, depth + 1, lr, tile);
            });
        }
        for (LaneRed& v : lr)
            if (!v.per_chunk && v.level == depth) acc_flush(v);
        if (row_done) {
            b_.CreateBr(row_done);
            b_.SetInsertPoint(row_done);
        }
    }

    /// The columns [lo, hi) of the current row of a bounded group (the
    /// row's entry in the group's bounds).
    std::pair<llvm::Value*, llvm::Value*> row_bounds(const Layout& l) {
        llvm::Value* at = b_.CreateMul(coord_[l.axes[l.axes.size() - 2]], b_.getInt64(2));
        return {load(i64_, b_.CreateInBoundsGEP(i64_, bounds_, at), obj_leaf(bounds_slot_)),
                load(i64_, b_.CreateInBoundsGEP(i64_, bounds_, b_.CreateAdd(at, b_.getInt64(1))), obj_leaf(bounds_slot_))};
    }

    /// The innermost loop: whole chunks of lanes, then one partial chunk
    /// whose missing lanes are neither read nor accumulated.
    void chunks(const Layout& l, std::vector<LaneRed>& lr, bool tile) {
        unsigned lanes = tile ? tile_lanes_ : frame_lanes_;
        int64_t ext = l.extents.back();
        llvm::Value* lo = b_.getInt64(0);
        llvm::Value* hi = b_.getInt64(ext);
        bool bounded = bounds_ && l.axes.size() >= 2;
        if (bounded) std::tie(lo, hi) = row_bounds(l);
        if (!bounded && ext % lanes == 0) {
            loop(b_.getInt64(0), b_.getInt64(ext / lanes), [&](llvm::Value* i) {
                chunk(b_.CreateMul(i, b_.getInt64(lanes)), nullptr, lr, tile, lanes);
            });
            return;
        }
        // Row bounds are multiples of 16 (split_by_masks): with at most 16
        // lanes (AVX2) a bounded row has no partial chunk. (Capping AVX-512's
        // 32 lanes at 16 for that made u16 centre of mass 1.6x slower.)
        chunk_range(lo, hi, lr, tile, lanes, bounded && ext % 16 == 0 && 16 % lanes == 0);
    }

    /// Chunks covering columns [lo, hi), the last one partial unless
    /// `whole` (hi - lo is a multiple of the lanes).
    void chunk_range(llvm::Value* lo, llvm::Value* hi, std::vector<LaneRed>& lr, bool tile, unsigned lanes,
                     bool whole = false) {
        llvm::Value* step = b_.getInt64(lanes);
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        llvm::BasicBlock* body = llvm::BasicBlock::Create(ctx_, "chunk", fn_);
        llvm::BasicBlock* check = llvm::BasicBlock::Create(ctx_, "chunk_rest", fn_);
        llvm::BasicBlock* tail = llvm::BasicBlock::Create(ctx_, "chunk_part", fn_);
        llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "chunks_done", fn_);
        b_.CreateCondBr(b_.CreateICmpSLE(b_.CreateAdd(lo, step), hi), body, check);
        b_.SetInsertPoint(body);
        llvm::PHINode* x = b_.CreatePHI(i64_, 2);
        x->addIncoming(lo, pre);
        chunk(x, nullptr, lr, tile, lanes);
        llvm::Value* next = b_.CreateAdd(x, step);
        x->addIncoming(next, b_.GetInsertBlock());
        llvm::BasicBlock* body_end = b_.GetInsertBlock();
        plain_loop(b_.CreateCondBr(b_.CreateICmpSLE(b_.CreateAdd(next, step), hi), body, check));
        b_.SetInsertPoint(check);
        llvm::PHINode* xt = b_.CreatePHI(i64_, 2);
        xt->addIncoming(lo, pre);
        xt->addIncoming(next, body_end);
        if (whole) {
            b_.CreateBr(done);
            tail->eraseFromParent();
        } else {
            b_.CreateCondBr(b_.CreateICmpSLT(xt, hi), tail, done);
            b_.SetInsertPoint(tail);
            chunk(xt, b_.CreateSub(hi, xt), lr, tile, lanes);
            b_.CreateBr(done);
        }
        b_.SetInsertPoint(done);
    }

    /// A group over runs of pixels: every reduction accumulates over all
    /// pieces of runs (each one partial chunk, without a branch) and is
    /// combined once per frame.
    void run_loops(const EmitGroup& g) {
        // A lane takes at most one element per piece: i32 only while no lane
        // can overflow.
        lane_int_ = g.run_count < 32768 ? acc_int_ : i64_;
        std::vector<LaneRed> lr;
        for (const Node* r : g.lanes) {
            LaneRed v;
            v.r = r;
            v.cell = layout(*r, r->axes & ~nav_);
            v.int_sum = int_state_.count(r) != 0;
            v.lanes = static_cast<unsigned>(kRunLanes);
            lr.push_back(v);
            acc_init(lr.back());
        }
        implied_ = &g.implied;
        lanes_loops_ = true;
        lane_axis_ = xaxis_;
        llvm::Value* runs = leaf_ptr_[g.runs_slot];
        int obj = obj_leaf(g.runs_slot);
        loop(
            b_.getInt64(0), b_.getInt64(g.run_count),
            [&](llvm::Value* i) {
                llvm::Value* at = b_.CreateMul(i, b_.getInt64(3));
                auto field = [&](int k) {
                    return load(i64_, b_.CreateInBoundsGEP(i64_, runs, b_.CreateAdd(at, b_.getInt64(k))), obj);
                };
                coord_[xaxis_ - 1] = field(0);
                chunk(field(1), field(2), lr, false, static_cast<unsigned>(kRunLanes));
            },
            "run_pieces");
        implied_ = nullptr;
        lanes_loops_ = false;
        for (LaneRed& v : lr) acc_flush(v);
        lane_int_ = acc_int_;
    }

    /// Sums of one operand over several masks in one loop nest, compiled
    /// once whatever the number of masks: for each mask k, its pieces, into
    /// four accumulators in registers, then into reduction k's state (found
    /// through a table of state pointers).
    void merged_run_loops(const EmitGroup& g) {
        const Node& r0 = *g.lanes.front();
        bool is_int = int_state_.count(&r0) != 0;
        // A lane takes at most one element per piece: i32 only while no
        // lane can overflow.
        llvm::Type* et = is_int ? (g.run_count < 32768 ? acc_int_ : i64_) : f64_;
        lanes_ = static_cast<unsigned>(kRunLanes);
        llvm::Type* vty = vt(et);
        lanes_ = 1;
        int64_t k_count = static_cast<int64_t>(g.lanes.size());
        // Pieces are short (a ring of width 4 gives about 5 pixels per row):
        // four accumulators, one per piece of a group, so that the adds of
        // consecutive pieces do not wait for one another (W7 runs 12%
        // faster).
        constexpr int64_t kUnroll = 4;
        llvm::AllocaInst* acc[kUnroll];
        llvm::AllocaInst* cells;
        {
            llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
            for (llvm::AllocaInst*& a : acc) a = eb.CreateAlloca(vty);
            cells = eb.CreateAlloca(ptr_, eb.getInt64(k_count));
        }
        for (int64_t k = 0; k < k_count; ++k) {
            const Node& r = *g.lanes[static_cast<size_t>(k)];
            b_.CreateStore(is_int ? int_state_.at(&r) : state_of(r).a, b_.CreateConstInBoundsGEP1_64(ptr_, cells, k));
        }
        llvm::Value* table = leaf_ptr_[g.runs_slot];
        int obj = obj_leaf(g.runs_slot);
        llvm::Value* pieces = b_.CreateConstInBoundsGEP1_64(i64_, table, k_count + 1);
        lanes_loops_ = true;
        lane_axis_ = xaxis_;
        const int64_t share = share_lines(g);
        // Piece i (row, column, length) added into accumulator u.
        auto piece = [&](llvm::Value* i, int64_t u) {
            llvm::Value* at = b_.CreateMul(i, b_.getInt64(3));
            auto field = [&](int f) {
                return load(i64_, b_.CreateInBoundsGEP(i64_, pieces, b_.CreateAdd(at, b_.getInt64(f))), obj);
            };
            coord_[xaxis_ - 1] = field(0);
            coord_[xaxis_] = field(1);
            llvm::Value* n = field(2);
            lanes_ = static_cast<unsigned>(kRunLanes);
            // Sparse pieces prefetch their own place in the next frame.
            if (share == 0 && s_.frame_stride > 0 && prefetch_frames_) prefetch(frame_, s_.frame_stride, lanes_, 3);
            valid_ = b_.CreateICmpSLT(iota(i64_), splat(n));
            memo_.emplace_back();
            llvm::Value* a = b_.CreateLoad(vty, acc[u]);
            llvm::Value* x = is_int ? gen_int(*r0.operand(), et) : gen(*r0.operand());
            llvm::Value* sum = is_int ? b_.CreateAdd(a, x) : reassoc_add(a, x);
            b_.CreateStore(b_.CreateSelect(valid_, sum, a), acc[u]);
            memo_.pop_back();
            valid_ = nullptr;
            lanes_ = 1;
        };
        loop(b_.getInt64(0), b_.getInt64(k_count), [&](llvm::Value* k) {
            llvm::Value* lo = load(i64_, b_.CreateInBoundsGEP(i64_, table, k), obj);
            llvm::Value* hi = load(i64_, b_.CreateInBoundsGEP(i64_, table, b_.CreateAdd(k, b_.getInt64(1))), obj);
            for (int64_t u = 0; u < kUnroll; ++u) b_.CreateStore(llvm::Constant::getNullValue(vty), acc[u]);
            // Whole groups of kUnroll pieces, then the rest one by one.
            llvm::Value* groups = b_.CreateUDiv(b_.CreateSub(hi, lo), b_.getInt64(kUnroll));
            llvm::Value* mid = b_.CreateAdd(lo, b_.CreateMul(groups, b_.getInt64(kUnroll)));
            guarded_loop(b_.getInt64(0), groups, [&](llvm::Value* j) {
                llvm::Value* first = b_.CreateAdd(lo, b_.CreateMul(j, b_.getInt64(kUnroll)));
                prefetch_share(g, share, first, kUnroll);
                for (int64_t u = 0; u < kUnroll; ++u) piece(b_.CreateAdd(first, b_.getInt64(u)), u);
            }, "mask_run_pieces");
            guarded_loop(mid, hi, [&](llvm::Value* i) {
                prefetch_share(g, share, i, 1);
                piece(i, 0);
            }, "mask_run_pieces_rest");
            lanes_ = static_cast<unsigned>(kRunLanes);
            llvm::Value* a = b_.CreateLoad(vty, acc[0]);
            for (int64_t u = 1; u < kUnroll; ++u) {
                llvm::Value* au = b_.CreateLoad(vty, acc[u]);
                a = is_int ? b_.CreateAdd(a, au) : reassoc_add(a, au);
            }
            llvm::Value* cell = b_.CreateLoad(ptr_, b_.CreateInBoundsGEP(ptr_, cells, k));
            if (is_int) {
                llvm::Value* h = b_.CreateAddReduce(b_.CreateSExtOrTrunc(a, vt(i64_)));
                b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_, cell), h), cell);
            } else {
                llvm::CallInst* h = b_.CreateFAddReduce(llvm::ConstantFP::getNegativeZero(f64_), a);
                h->setHasAllowReassoc(true);
                b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64_, cell), h), cell);
            }
            lanes_ = 1;
        });
        lanes_loops_ = false;
    }

    /// The cache lines of the rows that a merged group's pieces span, when
    /// the pieces prefetch the next frame's rows in shares (prefetch_share):
    /// the frame comes from memory and the pieces are dense, at most two
    /// lines of those rows per piece (rings are; a few pixels at the ends of
    /// far-apart rows are not, and their pieces prefetch their own places).
    /// 0 otherwise.
    int64_t share_lines(const EmitGroup& g) const {
        if (!prefetch_frames_ || s_.frame_stride <= 0 || g.run_count <= 0 || s_.sig_strides.size() < 2) return 0;
        int64_t row_stride = s_.sig_strides[s_.sig_strides.size() - 2];
        int64_t lines = ((g.run_row_hi - g.run_row_lo + 1) * row_stride + 63) / 64;
        return lines <= 2 * g.run_count ? lines : 0;
    }

    /// A prefetch of the next frame's share of `count` pieces from piece
    /// `first` on, of the `lines` lines of the rows the pieces span, in
    /// address order. The pieces go ring by ring, each ring over the whole
    /// frame; a prefetch per piece, of its own place in the next frame,
    /// left the pieces waiting (W3 at 1 thread: 47 against 38 ms).
    void prefetch_share(const EmitGroup& g, int64_t lines, llvm::Value* first, int64_t count) {
        if (lines == 0) return;
        int64_t row_stride = s_.sig_strides[s_.sig_strides.size() - 2];
        int64_t per = (count * lines + g.run_count - 1) / g.run_count;  // at most 2 * count, rounded up
        llvm::Value* line = b_.CreateUDiv(b_.CreateMul(first, b_.getInt64(lines)), b_.getInt64(g.run_count));
        llvm::Value* at = b_.CreateGEP(llvm::Type::getInt8Ty(ctx_), frame_,
                                       b_.CreateAdd(b_.getInt64(s_.frame_stride + g.run_row_lo * row_stride),
                                                    b_.CreateMul(line, b_.getInt64(64))));
        prefetch_lines(at, per * 64, 3);
    }

    /// One chunk of lanes starting at column `x`; `rem` (when not null) is
    /// the number of valid lanes.
    void chunk(llvm::Value* x, llvm::Value* rem, std::vector<LaneRed>& lr, bool tile, unsigned lanes) {
        lanes_ = lanes;
        coord_[lane_axis_] = x;
        if (s_.frame_stride > 0 &&
            (tile ? prefetch_tile_ : prefetch_frames_ && group_reads_data_ && (bounds_ || !streaming_only_))) {
            // Fetch the pixels of this chunk in a later frame now, so that
            // memory is read while the kernel computes: a bounded loop (part
            // of each frame) reads short runs of rows the hardware
            // prefetchers miss, and the loops after a frame's streaming loop
            // would leave the memory idle. A tile that reads frames no
            // per-frame loop has read fetches ahead in each of its frames.
            int64_t ahead = tile ? kTilePrefetchBytes
                            : bounds_ ? s_.frame_stride
                                      : std::min(s_.frame_stride, kPrefetchBytes);
            if (tile && linear_next_tile())
                prefetch_next_tile(lanes);
            else if (tile)
                for (llvm::Value* f : tile_frame_ptr_) prefetch(f, ahead, lanes, 3);
            else
                prefetch(frame_, ahead, lanes, bounds_ ? 3 : 1);
        }
        valid_ = rem ? b_.CreateICmpSLT(iota(i64_), splat(rem)) : nullptr;
        memo_.emplace_back();
        if (implied_)
            for (const Node* n : *implied_) memo_.back()[n] = cf(1);  // true on every pixel of a run
        if (tile) tile_chunk(lr);
        else
            for (LaneRed& v : lr) lane_update(v);
        memo_.pop_back();
        valid_ = nullptr;
        lanes_ = 1;
    }

    /// True when the tile loops prefetch the next tile (the frames after
    /// this full tile: no roi picks frames) rather than ahead in each frame.
    bool linear_next_tile() const {
        return !s_.roi && !bounds_ && tile_ > 1 && static_cast<int>(tile_frame_ptr_.size()) == tile_;
    }

    /// Prefetches the next tile in address order: the chunk at sig offset
    /// `off` of each of the tile_ frames fetches tile_ chunks' bytes at
    /// tile_ * off of the next tile's span: the next tile is on its way
    /// (into L2 and beyond; it does not fit L1) before its loops start,
    /// read as one stream. Eight streams of
    /// one chunk per frame (prefetching ahead in each frame) left the
    /// memory idle: a nav sum over 1 GiB took 43 ms against 39 ms this way
    /// (1 thread, the mapping populated). A prefetch past the data is
    /// harmless: it never faults.
    void prefetch_next_tile(unsigned lanes) {
        int64_t t = tile_;
        llvm::Value* at = b_.CreateGEP(llvm::Type::getInt8Ty(ctx_), tile_frame_ptr_[0],
                                       b_.CreateAdd(b_.CreateMul(sig_offset(), b_.getInt64(t)), b_.getInt64(t * s_.frame_stride)));
        prefetch_lines(at, t * static_cast<int64_t>(lanes) * static_cast<int64_t>(dtype_size(s_.dtype)), 3);
    }

    /// Prefetches the bytes of `lanes` elements at the current sig
    /// coordinates of the frame at `frame`, `ahead` bytes further on.
    void prefetch(llvm::Value* frame, int64_t ahead, unsigned lanes, int locality) {
        llvm::Value* at = b_.CreateGEP(llvm::Type::getInt8Ty(ctx_), frame, b_.CreateAdd(sig_offset(), b_.getInt64(ahead)));
        prefetch_lines(at, static_cast<int64_t>(lanes) * static_cast<int64_t>(dtype_size(s_.dtype)), locality);
    }

    /// The byte offset in a frame of the current sig coordinates.
    llvm::Value* sig_offset() {
        llvm::Value* off = b_.getInt64(0);
        size_t k = 0;
        for (size_t a = 0; a < p_.axes.size(); ++a)
            if (!p_.axes[a].nav) off = b_.CreateAdd(off, b_.CreateMul(coord_[a], b_.getInt64(s_.sig_strides[k++])));
        return off;
    }

    /// A prefetch of each cache line of `bytes` bytes from `at`, with the
    /// llvm.prefetch locality: 3 (prefetcht0, into L1) for bounded loops,
    /// runs of mask pieces and tile loops, 1 (prefetcht2) for unbounded
    /// per-frame loops (kPrefetchBytes). On Zen 5 prefetcht2 did not hide
    /// the latency of short runs of rows: the centre of mass on u16 frames, whose bounded
    /// rows are prefetched one frame ahead, ran at 35.6 ms against 18.1 ms
    /// with prefetcht0 (512 MiB, 1 thread); the tile loops' next tile
    /// arrived sooner too (33.5 against 38.8 ms in a C++ model of a nav sum).
    void prefetch_lines(llvm::Value* at, int64_t bytes, int locality) {
        for (int64_t line = 0; line < bytes; line += 64)
            b_.CreateIntrinsic(llvm::Intrinsic::prefetch, {ptr_},
                               {b_.CreateGEP(llvm::Type::getInt8Ty(ctx_), at, b_.getInt64(line)), b_.getInt32(0),
                                b_.getInt32(locality), b_.getInt32(1)});
    }

    /// True when a reduction's operand or condition reads the data element
    /// (not through an earlier stage's result).
    bool reads_data(const Node& n, std::unordered_set<const Node*>& seen) const {
        if (!seen.insert(&n).second || s_.leaf_slot.count(&n) || n.op == Op::Reduce) return false;
        if (n.op == Op::Data) return true;
        for (const ir::NodeRef& a : n.args)
            if (reads_data(*a, seen)) return true;
        return false;
    }

    /// True when a reduction's operand or condition reads a result of an
    /// earlier stage of the pass.
    bool reads_pass_result(const Node& r) const {
        std::unordered_set<const Node*> seen;
        std::function<bool(const Node&)> walk = [&](const Node& n) {
            if (!seen.insert(&n).second || s_.leaf_slot.count(&n)) return false;
            if (n.op == Op::Reduce) return true;
            for (const ir::NodeRef& a : n.args)
                if (walk(*a)) return true;
            return false;
        };
        for (const ir::NodeRef& a : r.args)
            if (walk(*a)) return true;
        return false;
    }

    bool reduction_reads_data(const Node& r) const {
        std::unordered_set<const Node*> seen;
        for (const ir::NodeRef& a : r.args)
            if (reads_data(*a, seen)) return true;
        return false;
    }

    llvm::Value* all_lanes() { return valid_ ? valid_ : llvm::Constant::getAllOnesValue(vt(i1_)); }

    llvm::Value* lane_load(llvm::Type* ty, llvm::Value* ptr, int obj = -1) {
        llvm::Value* v = valid_ ? static_cast<llvm::Value*>(b_.CreateMaskedLoad(ty, ptr, llvm::Align(8), valid_,
                                                                                   llvm::Constant::getNullValue(ty)))
                                : b_.CreateAlignedLoad(ty, ptr, llvm::Align(8));
        if (obj >= 0) tag(llvm::cast<llvm::Instruction>(v), obj);
        return v;
    }

    void lane_store(llvm::Value* v, llvm::Value* ptr, int obj = -1) {
        llvm::Instruction* st = valid_ ? static_cast<llvm::Instruction*>(b_.CreateMaskedStore(v, ptr, llvm::Align(8), valid_))
                                       : b_.CreateAlignedStore(v, ptr, llvm::Align(8));
        if (obj >= 0) tag(st, obj);
    }

    /// The lane-wise update of state `a` (count `n`) with element `v` where `take`.
    llvm::Value* lane_combine(ReduceOp op, llvm::Value* a, llvm::Value* n, llvm::Value* v, llvm::Value* take) {
        switch (op) {
        case ReduceOp::Sum: case ReduceOp::Mean: return b_.CreateSelect(take, reassoc_add(a, v), a);
        case ReduceOp::Count: return reassoc_add(a, b_.CreateSelect(b_.CreateAnd(take, truthy(v)), cf(1), cf(0)));
        case ReduceOp::Any: return b_.CreateSelect(b_.CreateAnd(take, truthy(v)), cf(1), a);
        case ReduceOp::All: return b_.CreateSelect(b_.CreateAnd(take, b_.CreateNot(truthy(v))), cf(0), a);
        case ReduceOp::Min: case ReduceOp::Max: {
            llvm::Value* better = op == ReduceOp::Min ? b_.CreateFCmpOLT(v, a) : b_.CreateFCmpOGT(v, a);
            llvm::Value* takes = b_.CreateOr(b_.CreateFCmpOEQ(n, cf(0)),
                                             b_.CreateAnd(b_.CreateNot(isnan(a)), b_.CreateOr(isnan(v), better)));
            return b_.CreateSelect(b_.CreateAnd(take, takes), v, a);
        }
        default: break;
        }
        throw std::logic_error("internal error: no lane update for this reduction");
    }

    /// A frame-local reduction's update at the current chunk.
    void lane_update(LaneRed& v) {
        const Node& r = *v.r;
        llvm::Value* take = all_lanes();
        if (r.has_where) take = b_.CreateAnd(take, truthy(gen(**r.where())));
        if (v.int_sum) {
            llvm::Value* x = gen_int(*r.operand(), v.per_chunk ? i64_ : lane_int_);
            llvm::Type* ty = vt(v.per_chunk ? i64_ : lane_int_);
            if (v.per_chunk) {
                llvm::Value* p = b_.CreateInBoundsGEP(i64_, int_state_.at(&r), offset(v.cell.axes, v.cell.strides));
                llvm::Value* a = lane_load(ty, p);
                lane_store(b_.CreateSelect(take, b_.CreateAdd(a, x), a), p);
            } else {
                llvm::Value* a = b_.CreateLoad(ty, acc_.at(&r)[0]);
                b_.CreateStore(b_.CreateSelect(take, b_.CreateAdd(a, x), a), acc_.at(&r)[0]);
            }
            return;
        }
        llvm::Value* val = gen(*r.operand());
        bool counts = keeps_count(r);
        if (v.per_chunk) {
            StatePtrs st = state_of(r);
            llvm::Value* off = offset(v.cell.axes, v.cell.strides);
            llvm::Value* pa = b_.CreateInBoundsGEP(f64_, st.a, off);
            llvm::Value* pn = b_.CreateInBoundsGEP(f64_, st.n, off);
            llvm::Value* a = lane_load(vt(), pa);
            llvm::Value* n = counts ? lane_load(vt(), pn) : nullptr;
            lane_store(lane_combine(r.rop, a, n, val, take), pa);
            if (counts) lane_store(reassoc_add(n, b_.CreateSelect(take, cf(1), cf(0))), pn);
            return;
        }
        llvm::Value* a = b_.CreateLoad(vt(), acc_.at(&r)[0]);
        llvm::Value* n = counts ? b_.CreateLoad(vt(), acc_.at(&r)[1]) : nullptr;
        b_.CreateStore(lane_combine(r.rop, a, n, val, take), acc_.at(&r)[0]);
        if (counts) b_.CreateStore(reassoc_add(n, b_.CreateSelect(take, cf(1), cf(0))), acc_.at(&r)[1]);
    }

    /// Sets a frame-local accumulator to its empty state (allocas in the entry
    /// block, so that they become registers).
    void acc_init(LaneRed& v) {
        lanes_ = v.lanes;
        auto& acc = acc_[v.r];
        llvm::Type* ty = vt(v.int_sum ? lane_int_ : f64_);
        if (!acc[0]) {
            llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
            acc[0] = eb.CreateAlloca(ty);
            acc[1] = eb.CreateAlloca(ty);
        }
        if (v.int_sum) {
            b_.CreateStore(llvm::Constant::getNullValue(ty), acc[0]);
        } else {
            b_.CreateStore(cf(v.r->rop == ReduceOp::All ? 1 : 0), acc[0]);
            b_.CreateStore(cf(0), acc[1]);
        }
        lanes_ = 1;
    }

    /// Combines the accumulator's lanes and merges them into the cell at
    /// the current coordinates.
    void acc_flush(LaneRed& v) {
        const Node& r = *v.r;
        lanes_ = v.lanes;
        auto& acc = acc_.at(&r);
        llvm::Value* off = offset(v.cell.axes, v.cell.strides);
        if (v.int_sum) {
            llvm::Value* h = b_.CreateAddReduce(b_.CreateSExt(b_.CreateLoad(vt(lane_int_), acc[0]), vt(i64_)));
            llvm::Value* p = b_.CreateInBoundsGEP(i64_, int_state_.at(&r), off);
            b_.CreateStore(b_.CreateAdd(b_.CreateLoad(i64_, p), h), p);
            lanes_ = 1;
            return;
        }
        StatePtrs st = state_of(r);
        llvm::Value* pa = b_.CreateInBoundsGEP(f64_, st.a, off);
        llvm::Value* pn = b_.CreateInBoundsGEP(f64_, st.n, off);
        llvm::Value* a = b_.CreateLoad(vt(), acc[0]);
        llvm::Value* n = b_.CreateLoad(vt(), acc[1]);
        llvm::Value* ca = b_.CreateLoad(f64_, pa);
        auto hsum = [&](llvm::Value* x) {
            llvm::CallInst* c = b_.CreateFAddReduce(llvm::ConstantFP::getNegativeZero(f64_), x);
            c->setHasAllowReassoc(true);
            return c;
        };
        llvm::Value* na = ca;
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::Count: na = b_.CreateFAdd(ca, hsum(a)); break;
        case ReduceOp::Any: na = b_.CreateSelect(b_.CreateFCmpUNE(b_.CreateFPMaxReduce(a), cf1(0)), cf1(1), ca); break;
        case ReduceOp::All: na = b_.CreateSelect(b_.CreateFCmpOEQ(b_.CreateFPMinReduce(a), cf1(0)), cf1(0), ca); break;
        case ReduceOp::Min: case ReduceOp::Max: {
            bool is_min = r.rop == ReduceOp::Min;
            double inf = std::numeric_limits<double>::infinity();
            llvm::Value* am = b_.CreateSelect(b_.CreateFCmpOEQ(n, cf(0)), cf(is_min ? inf : -inf), a);
            llvm::Value* h = is_min ? b_.CreateFPMinReduce(am) : b_.CreateFPMaxReduce(am);
            h = b_.CreateSelect(b_.CreateOrReduce(isnan(am)), cf1(std::numeric_limits<double>::quiet_NaN()), h);
            llvm::Value* hn = hsum(n);
            llvm::Value* cn = b_.CreateLoad(f64_, pn);
            llvm::Value* better = is_min ? b_.CreateFCmpOLT(h, ca) : b_.CreateFCmpOGT(h, ca);
            llvm::Value* takes = b_.CreateOr(b_.CreateFCmpOEQ(cn, cf1(0)),
                                             b_.CreateAnd(b_.CreateNot(isnan(ca)), b_.CreateOr(isnan(h), better)));
            na = b_.CreateSelect(b_.CreateAnd(b_.CreateFCmpOGT(hn, cf1(0)), takes), h, ca);
            break;
        }
        default: throw std::logic_error("internal error: no lane flush for this reduction");
        }
        b_.CreateStore(na, pa);
        if (keeps_count(r)) b_.CreateStore(b_.CreateFAdd(b_.CreateLoad(f64_, pn), hsum(n)), pn);
        else if (static_count(r) >= 0) b_.CreateStore(cf1(static_count(r)), pn);
        lanes_ = 1;
    }

    /// Emits the tile loops for `count` frames (at most `frames_in`) whose
    /// indices are at `frames`; `before` frames were accumulated before them.
    void tile_body(int frames_in, llvm::Value* frames, llvm::Value* count, llvm::Value* before) {
        tile_coord_.assign(static_cast<size_t>(frames_in), {});
        tile_frame_ptr_.assign(static_cast<size_t>(frames_in), nullptr);
        tile_valid_.assign(static_cast<size_t>(frames_in), nullptr);
        for (int t = 0; t < frames_in; ++t) {
            llvm::Value* ti = b_.getInt64(t);
            llvm::Value* valid = b_.CreateICmpSLT(ti, count);
            // A missing frame reads the last one again, contributing nothing.
            llvm::Value* at = t == 0 ? ti : b_.CreateSelect(valid, ti, b_.CreateSub(count, b_.getInt64(1)));
            llvm::Value* f = b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, frames, at));
            llvm::Value* rest = f;
            for (size_t a = p_.axes.size(); a-- > 0;) {
                if (!p_.axes[a].nav) continue;
                llvm::Value* ext = b_.getInt64(p_.axes[a].extent);
                tile_coord_[t][a] = b_.CreateURem(rest, ext);
                rest = b_.CreateUDiv(rest, ext);
            }
            tile_frame_ptr_[t] = b_.CreateInBoundsGEP(llvm::Type::getInt8Ty(ctx_), base_,
                                                      b_.CreateMul(b_.CreateSub(f, base_frame_), b_.getInt64(s_.frame_stride)));
            tile_valid_[t] = valid;
        }
        tile_k_ = b_.CreateSIToFP(count, f64_);
        tile_before_ = before;
        for (const EmitGroup& g : tile_groups_) {
            bounds_ = g.bounds_slot >= 0 ? leaf_ptr_[g.bounds_slot] : nullptr;
            bounds_slot_ = g.bounds_slot;
            fused_ = &g.fused;
            fused_init(frames_in);
            vector_nest(g, g.tiled, true);
            fused_finish(frames_in, count);
            fused_ = nullptr;
            bounds_ = nullptr;
        }
    }

    /// Per-frame totals computed in the tile loop: one accumulator (and
    /// count) per reduction and frame of the tile, in registers.
    void fused_init(int frames_in) {
        for (const Node* r : *fused_) {
            auto& acc = fused_acc_[r];
            bool is_int = int_state_.count(r) != 0;
            lanes_ = fused_lanes(*r);
            llvm::Type* ty = vt(is_int ? acc_int_ : f64_);
            llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
            while (acc.size() < static_cast<size_t>(2 * frames_in)) acc.push_back(eb.CreateAlloca(ty));
            for (int i = 0; i < 2 * frames_in; ++i) b_.CreateStore(llvm::Constant::getNullValue(ty), acc[static_cast<size_t>(i)]);
        }
        lanes_ = 1;
    }

    /// Updates the tile frame `t`'s accumulators of the fused totals at the
    /// current chunk (values generated in that frame's memo scope).
    void fused_update(size_t t, llvm::Value* in) {
        for (const Node* r : *fused_) {
            auto& acc = fused_acc_.at(r);
            llvm::Value* take = in;
            if (r->has_where) take = b_.CreateAnd(take, truthy(gen(**r->where())));
            if (int_state_.count(r)) {
                llvm::Value* x = gen_int(*r->operand(), acc_int_);
                llvm::Value* a = b_.CreateLoad(vt(acc_int_), acc[2 * t]);
                b_.CreateStore(b_.CreateSelect(take, b_.CreateAdd(a, x), a), acc[2 * t]);
                continue;
            }
            // Accumulators of half the lanes, so that a tile's frames keep
            // theirs in registers: each half of the chunk is added in turn,
            // under its half of the condition (a masked add, and for a
            // product a masked multiply-add, fused where the CPU has FMA: one
            // instruction per half where zeroing, multiplying and adding the
            // halves took three).
            unsigned half = fused_lanes(*r);
            const Node& op = *r->operand();
            bool product = r->rop != ReduceOp::Count && op.op == Op::Mul && op.type == DType::F64 &&
                           op.args[0]->type == DType::F64 && op.args[1]->type == DType::F64;
            if (product) {
                llvm::Value* l = gen(*op.args[0]);
                llvm::Value* rr = gen(*op.args[1]);
                add_halves(acc[2 * t], take, half, [&](llvm::Value* a, auto part) {
                    return b_.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vtn(f64_, half)}, {part(l), part(rr), a});
                });
            } else {
                llvm::Value* x = r->rop == ReduceOp::Count ? b_.CreateSelect(truthy(gen(op)), cf(1), cf(0)) : gen(op);
                add_halves(acc[2 * t], take, half, [&](llvm::Value* a, auto part) { return reassoc_add(a, part(x)); });
            }
            if (r->rop == ReduceOp::Mean && static_count(*r) < 0)
                add_halves(acc[2 * t + 1], take, half, [&](llvm::Value* a, auto) { return reassoc_add(a, llvm::ConstantFP::get(vtn(f64_, half), 1.0)); });
        }
    }

    /// Lanes of a fused total's accumulator: half a tile chunk for f64
    /// totals, which add the chunk's halves in turn.
    unsigned fused_lanes(const Node& r) const {
        return int_state_.count(&r) || tile_lanes_ < 2 ? tile_lanes_ : tile_lanes_ / 2;
    }

    /// Updates the accumulator of `half` lanes at `slot` with each part of
    /// `half` lanes of the chunk in turn, where `take` holds for the lane:
    /// `update(a, part)` gives the new value, `part(v)` the current part of
    /// a chunk-wide vector.
    template <typename F>
    void add_halves(llvm::Value* slot, llvm::Value* take, unsigned half, F&& update) {
        llvm::Value* a = b_.CreateLoad(vtn(f64_, half), slot);
        for (unsigned first = 0; first < lanes_; first += half) {
            std::vector<int> idx(half);
            for (unsigned i = 0; i < half; ++i) idx[i] = static_cast<int>(first + i);
            auto part = [&](llvm::Value* v) { return lanes_ == half ? v : b_.CreateShuffleVector(v, idx); };
            a = b_.CreateSelect(part(take), update(a, part), a);
        }
        b_.CreateStore(a, slot);
    }

    /// Combines the fused totals' lanes and writes each valid frame's result.
    void fused_finish(int frames_in, llvm::Value* count) {
        lanes_ = tile_lanes_;
        auto hsum = [&](llvm::Value* x) {
            llvm::CallInst* c = b_.CreateFAddReduce(llvm::ConstantFP::getNegativeZero(f64_), x);
            c->setHasAllowReassoc(true);
            return c;
        };
        for (const Node* r : *fused_) {
            auto& acc = fused_acc_.at(r);
            Layout full = layout(*r, r->axes);
            for (int t = 0; t < frames_in; ++t) {
                for (size_t a = 0; a < p_.axes.size(); ++a)
                    if (p_.axes[a].nav) coord_[a] = tile_coord_[static_cast<size_t>(t)][a];
                llvm::Value* a = int_state_.count(r)
                                     ? b_.CreateSIToFP(b_.CreateAddReduce(b_.CreateSExt(b_.CreateLoad(vt(acc_int_), acc[2 * t]), vt(i64_))), f64_)
                                     : hsum(b_.CreateLoad(vtn(f64_, fused_lanes(*r)), acc[2 * t]));
                llvm::Value* n = r->rop != ReduceOp::Mean ? cf1(1)
                                 : static_count(*r) >= 0 ? cf1(static_count(*r))
                                                         : hsum(b_.CreateLoad(vtn(f64_, fused_lanes(*r)), acc[2 * t + 1]));
                lanes_ = 1;
                llvm::Value* v = finalize(*r, a, cf(0), n);
                llvm::Value* ptr = b_.CreateInBoundsGEP(f64_, result_ptr_.at(r), offset(full.axes, full.strides));
                lanes_ = tile_lanes_;
                // A missing frame of a partial tile repeats a valid one: no store.
                llvm::BasicBlock* st = llvm::BasicBlock::Create(ctx_, "fused_store", fn_);
                llvm::BasicBlock* after = llvm::BasicBlock::Create(ctx_, "fused_next", fn_);
                b_.CreateCondBr(b_.CreateICmpSLT(b_.getInt64(t), count), st, after);
                b_.SetInsertPoint(st);
                store(v, ptr, obj_result(r));
                b_.CreateBr(after);
                b_.SetInsertPoint(after);
            }
        }
        lanes_ = 1;
    }

    /// The state pointers of the cells at the current chunk.
    struct CellPtrs {
        llvm::Value *a, *b, *n;
    };
    CellPtrs cell_ptrs(const LaneRed& v) {
        StatePtrs st = state_of(*v.r);
        llvm::Value* off = offset(v.cell.axes, v.cell.strides);
        return {b_.CreateInBoundsGEP(f64_, st.a, off), b_.CreateInBoundsGEP(f64_, st.b, off),
                b_.CreateInBoundsGEP(f64_, st.n, off)};
    }

    /// Chan et al.'s merge of a tile's moments (count `cnt`, mean, squared
    /// deviations m2; lanes where `got`) into the state (mean `a`, M2 at c.b):
    /// stores M2, returns the new mean.
    llvm::Value* chan_merge(const Node& r, const CellPtrs& c, bool uniform, llvm::Value* a, llvm::Value* cnt,
                            llvm::Value* got, llvm::Value* mean, llvm::Value* m2) {
        llvm::Value* before = uniform ? splat(tile_before_) : lane_load(vt(), c.n, obj_state(&r, 2));
        llvm::Value* total = b_.CreateFAdd(before, cnt);
        llvm::Value* ratio = b_.CreateFDiv(cnt, b_.CreateSelect(got, total, cf(1)));
        llvm::Value* bv = lane_load(vt(), c.b, obj_state(&r, 1));
        llvm::Value* delta = b_.CreateFSub(mean, a);
        llvm::Value* ma = b_.CreateFAdd(a, b_.CreateFMul(delta, ratio));
        llvm::Value* mb = b_.CreateFAdd(b_.CreateFAdd(bv, m2),
                                        b_.CreateFMul(b_.CreateFMul(delta, delta), b_.CreateFMul(before, ratio)));
        lane_store(b_.CreateSelect(got, mb, bv), c.b, obj_state(&r, 1));
        return b_.CreateSelect(got, ma, a);
    }

    /// tile_merge() of small_int_moments() values (i32 lanes).
    void tile_merge_small_int(const LaneRed& v, const std::vector<llvm::Value*>& vals,
                              const std::vector<llvm::Value*>& takes) {
        const Node& r = *v.r;
        bool uniform = uniform_count(r);
        CellPtrs c = cell_ptrs(v);
        llvm::Value *pa = c.a, *pn = c.n;
        llvm::Type* i32v = vt(llvm::Type::getInt32Ty(ctx_));
        llvm::Type* f32v = vt(llvm::Type::getFloatTy(ctx_));
        size_t frames = vals.size();
        std::vector<llvm::Value*> taken, ones;
        for (size_t t = 0; t < frames; ++t) {
            taken.push_back(b_.CreateSelect(takes[t], vals[t], llvm::Constant::getNullValue(i32v)));
            ones.push_back(b_.CreateSelect(takes[t], cf(1), cf(0)));
        }
        while (taken.size() > 1) {  // pairwise, exact
            std::vector<llvm::Value*> next;
            for (size_t i = 0; i + 1 < taken.size(); i += 2) next.push_back(b_.CreateAdd(taken[i], taken[i + 1]));
            if (taken.size() % 2) next.push_back(taken.back());
            taken = std::move(next);
        }
        llvm::Value* sum = b_.CreateSIToFP(taken.front(), vt());
        llvm::Value* cnt = uniform ? splat(tile_k_) : tree(ones);
        llvm::Value* a = lane_load(vt(), pa, obj_state(&r, 0));
        llvm::Value* na;
        if (r.rop == ReduceOp::Sum || r.rop == ReduceOp::Mean) {
            na = reassoc_add(a, sum);
        } else {
            llvm::Value* got = b_.CreateFCmpOGT(cnt, cf(0));
            llvm::Value* mean = b_.CreateFDiv(sum, b_.CreateSelect(got, cnt, cf(1)));
            llvm::Value* mean32 = b_.CreateFPTrunc(mean, f32v);
            llvm::Value* m2 = llvm::Constant::getNullValue(f32v);
            for (size_t t = 0; t < frames; ++t) {
                llvm::Value* dev = b_.CreateFSub(b_.CreateSIToFP(vals[t], f32v), mean32);
                dev = b_.CreateSelect(takes[t], dev, llvm::Constant::getNullValue(f32v));
                m2 = b_.CreateIntrinsic(llvm::Intrinsic::fma, {f32v}, {dev, dev, m2});
            }
            na = chan_merge(r, c, uniform, a, cnt, got, mean, b_.CreateFPExt(m2, vt()));
        }
        lane_store(na, pa, obj_state(&r, 0));
        if (!uniform) lane_store(reassoc_add(lane_load(vt(), pn, obj_state(&r, 2)), cnt), pn, obj_state(&r, 2));
    }

    /// Pairwise combination of `v` by `op` (reassociable adds, or `or`).
    llvm::Value* tree(std::vector<llvm::Value*> v, bool is_or = false) {
        while (v.size() > 1) {
            std::vector<llvm::Value*> next;
            for (size_t i = 0; i + 1 < v.size(); i += 2)
                next.push_back(is_or ? b_.CreateOr(v[i], v[i + 1]) : reassoc_add(v[i], v[i + 1]));
            if (v.size() % 2) next.push_back(v.back());
            v = std::move(next);
        }
        return v.front();
    }

    /// One chunk of every frame of the tile: the values first, frame by frame
    /// (each frame's nav coordinates and data), then one merge per reduction.
    void tile_chunk(std::vector<LaneRed>& lr) {
        size_t frames = tile_valid_.size();
        std::vector<std::vector<llvm::Value*>> vals(lr.size()), takes(lr.size());
        llvm::Value* lanes = all_lanes();
        for (size_t t = 0; t < frames; ++t) {
            for (size_t a = 0; a < p_.axes.size(); ++a)
                if (p_.axes[a].nav) coord_[a] = tile_coord_[t][a];
            frame_ = tile_frame_ptr_[t];
            memo_.emplace_back();
            llvm::Value* in = frames == 1 ? lanes : b_.CreateAnd(lanes, splat(tile_valid_[t]));
            for (size_t i = 0; i < lr.size(); ++i) {
                const Node& r = *lr[i].r;
                llvm::Value* take = in;
                if (r.has_where) take = b_.CreateAnd(take, truthy(gen(**r.where())));
                vals[i].push_back(small_int_moments(r) ? gen_int(*r.operand(), llvm::Type::getInt32Ty(ctx_))
                                                       : gen(*r.operand()));
                takes[i].push_back(take);
            }
            if (fused_ && !fused_->empty()) fused_update(t, in);
            memo_.pop_back();
        }
        for (size_t i = 0; i < lr.size(); ++i) tile_merge(lr[i], vals[i], takes[i]);
    }

    /// Sums, means and variances over nav of the data itself, of at most 16
    /// bits per integer: a tile's values are summed in i32 lanes (exact) and
    /// its squared deviations in f32 (the deviations from a mean of 8 such
    /// integers are exact in f32; their squares are rounded to 24 bits).
    bool small_int_moments(const Node& r) const {
        if (r.operand()->op != Op::Data || !r.operand()->args.empty()) return false;
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Mean: case ReduceOp::Var: case ReduceOp::Std: break;
        default: return false;
        }
        switch (s_.dtype) {
        case DType::U8: case DType::U16: case DType::I8: case DType::I16: return true;
        default: return false;
        }
    }

    /// Merges a tile's values of one chunk into the states of its cells.
    void tile_merge(const LaneRed& v, const std::vector<llvm::Value*>& vals, const std::vector<llvm::Value*>& takes) {
        const Node& r = *v.r;
        if (small_int_moments(r)) return tile_merge_small_int(v, vals, takes);
        bool uniform = uniform_count(r);
        CellPtrs c = cell_ptrs(v);
        llvm::Value *pa = c.a, *pn = c.n;
        size_t frames = vals.size();
        auto each = [&](auto&& f) {
            std::vector<llvm::Value*> out;
            for (size_t t = 0; t < frames; ++t) out.push_back(f(vals[t], takes[t]));
            return out;
        };
        llvm::Value* cnt = uniform ? splat(tile_k_)
                                   : tree(each([&](llvm::Value*, llvm::Value* take) {
                                         return b_.CreateSelect(take, cf(1), cf(0));
                                     }));
        llvm::Value* a = lane_load(vt(), pa, obj_state(&r, 0));
        llvm::Value* na = a;
        switch (r.rop) {
        case ReduceOp::Sum: case ReduceOp::Mean:
            na = reassoc_add(a, tree(each([&](llvm::Value* x, llvm::Value* take) { return b_.CreateSelect(take, x, cf(0)); })));
            break;
        case ReduceOp::Count:
            na = reassoc_add(a, tree(each([&](llvm::Value* x, llvm::Value* take) {
                return b_.CreateSelect(b_.CreateAnd(take, truthy(x)), cf(1), cf(0));
            })));
            break;
        case ReduceOp::Any:
            na = b_.CreateSelect(tree(each([&](llvm::Value* x, llvm::Value* take) { return b_.CreateAnd(take, truthy(x)); }), true),
                                 cf(1), a);
            break;
        case ReduceOp::All:
            na = b_.CreateSelect(tree(each([&](llvm::Value* x, llvm::Value* take) {
                                          return b_.CreateAnd(take, b_.CreateNot(truthy(x)));
                                      }), true),
                                 cf(0), a);
            break;
        case ReduceOp::Min: case ReduceOp::Max: {
            bool is_min = r.rop == ReduceOp::Min;
            double inf = std::numeric_limits<double>::infinity();
            auto better = [&](llvm::Value* x, llvm::Value* y) { return is_min ? b_.CreateFCmpOLT(x, y) : b_.CreateFCmpOGT(x, y); };
            llvm::Value* m = cf(is_min ? inf : -inf);
            for (size_t t = 0; t < frames; ++t)
                m = b_.CreateSelect(b_.CreateAnd(takes[t], b_.CreateAnd(b_.CreateNot(isnan(m)),
                                                                         b_.CreateOr(isnan(vals[t]), better(vals[t], m)))),
                                    vals[t], m);
            llvm::Value* before = uniform ? splat(tile_before_) : lane_load(vt(), pn, obj_state(&r, 2));
            llvm::Value* takes_m = b_.CreateOr(b_.CreateFCmpOEQ(before, cf(0)),
                                               b_.CreateAnd(b_.CreateNot(isnan(a)), b_.CreateOr(isnan(m), better(m, a))));
            na = b_.CreateSelect(b_.CreateAnd(b_.CreateFCmpOGT(cnt, cf(0)), takes_m), m, a);
            break;
        }
        case ReduceOp::Var: case ReduceOp::Std: {
            // The tile's mean and squared deviations (two passes over values
            // in registers), merged into (mean, M2) by Chan et al.
            llvm::Value* sum = tree(each([&](llvm::Value* x, llvm::Value* take) { return b_.CreateSelect(take, x, cf(0)); }));
            llvm::Value* got = b_.CreateFCmpOGT(cnt, cf(0));
            llvm::Value* mean = b_.CreateFDiv(sum, b_.CreateSelect(got, cnt, cf(1)));
            // Squared deviations accumulate by fused multiply-adds: the FMA
            // units are idle while the adds bound the tile loop.
            llvm::Value* m2 = cf(0);
            for (size_t t = 0; t < frames; ++t) {
                llvm::Value* dev = b_.CreateSelect(takes[t], b_.CreateFSub(vals[t], mean), cf(0));
                m2 = b_.CreateIntrinsic(llvm::Intrinsic::fma, {vt()}, {dev, dev, m2});
            }
            na = chan_merge(r, c, uniform, a, cnt, got, mean, m2);
            break;
        }
        default: throw std::logic_error("internal error: no tile merge for this reduction");
        }
        lane_store(na, pa, obj_state(&r, 0));
        if (!uniform) lane_store(reassoc_add(lane_load(vt(), pn, obj_state(&r, 2)), cnt), pn, obj_state(&r, 2));
    }

    // ---- the frame ----------------------------------------------------------------

    /// Branches to `next` when frame `f` is outside the roi.
    void skip_outside_roi(llvm::Value* f, llvm::BasicBlock* next) {
        if (!s_.roi) return;
        llvm::BasicBlock* work = llvm::BasicBlock::Create(ctx_, "in_roi", fn_);
        llvm::Value* flag = load(llvm::Type::getInt8Ty(ctx_), b_.CreateInBoundsGEP(llvm::Type::getInt8Ty(ctx_), roi_, f),
                                 obj_roi());
        b_.CreateCondBr(b_.CreateICmpNE(flag, b_.getInt8(0)), work, next);
        b_.SetInsertPoint(work);
    }

    /// The frames [first, end) in tiles: the next tile_ frames inside the roi
    /// are collected, their per-frame loops run (after the tile loops when
    /// tile first), and a full tile runs the tile loops once, a last,
    /// partial one frame by frame. Each of the three is emitted once.
    void tiles(llvm::Value* first, llvm::Value* end, llvm::BasicBlock* done) {
        llvm::Value* count_slot;
        llvm::Value* cursor;
        {
            llvm::IRBuilder<> eb(entry_, entry_->getFirstInsertionPt());
            tile_frames_ = eb.CreateAlloca(i64_, eb.getInt64(tile_));
            cursor = eb.CreateAlloca(i64_);
            count_slot = eb.CreateAlloca(i64_);
        }
        b_.CreateStore(first, cursor);
        llvm::BasicBlock* tile = llvm::BasicBlock::Create(ctx_, "tile", fn_);
        b_.CreateBr(tile);
        b_.SetInsertPoint(tile);
        // Collect: up to tile_ frames from the cursor on.
        b_.CreateStore(b_.getInt64(0), count_slot);
        llvm::BasicBlock* scan = llvm::BasicBlock::Create(ctx_, "tile_scan", fn_);
        llvm::BasicBlock* take = llvm::BasicBlock::Create(ctx_, "tile_take", fn_);
        llvm::BasicBlock* collected = llvm::BasicBlock::Create(ctx_, "tile_collected", fn_);
        b_.CreateBr(scan);
        b_.SetInsertPoint(scan);
        llvm::Value* f = b_.CreateLoad(i64_, cursor);
        llvm::Value* k = b_.CreateLoad(i64_, count_slot);
        b_.CreateCondBr(b_.CreateAnd(b_.CreateICmpSLT(f, end), b_.CreateICmpSLT(k, b_.getInt64(tile_))), take, collected);
        b_.SetInsertPoint(take);
        b_.CreateStore(b_.CreateAdd(f, b_.getInt64(1)), cursor);
        skip_outside_roi(f, scan);
        b_.CreateStore(f, b_.CreateInBoundsGEP(i64_, tile_frames_, k));
        b_.CreateStore(b_.CreateAdd(k, b_.getInt64(1)), count_slot);
        b_.CreateBr(scan);
        b_.SetInsertPoint(collected);
        llvm::Value* n = b_.CreateLoad(i64_, count_slot);
        llvm::BasicBlock* work = llvm::BasicBlock::Create(ctx_, "tile_work", fn_);
        b_.CreateCondBr(b_.CreateICmpSGT(n, b_.getInt64(0)), work, done);
        b_.SetInsertPoint(work);
        auto per_frame = [&] {
            loop(b_.getInt64(0), n, [&](llvm::Value* t) {
                frame_work(b_.CreateLoad(i64_, b_.CreateInBoundsGEP(i64_, tile_frames_, t)));
            });
        };
        if (!tile_first_) per_frame();
        // Frames accumulated before the tile: frame_work() counts them.
        llvm::Value* done_frames = b_.CreateLoad(f64_, frames_done_);
        llvm::Value* before = tile_first_ ? done_frames : b_.CreateFSub(done_frames, b_.CreateSIToFP(n, f64_));
        llvm::BasicBlock* full = llvm::BasicBlock::Create(ctx_, "tile_full", fn_);
        llvm::BasicBlock* part = llvm::BasicBlock::Create(ctx_, "tile_partial", fn_);
        llvm::BasicBlock* after = llvm::BasicBlock::Create(ctx_, "tile_after", fn_);
        b_.CreateCondBr(b_.CreateICmpEQ(n, b_.getInt64(tile_)), full, part);
        b_.SetInsertPoint(full);
        tile_body(tile_, tile_frames_, b_.getInt64(tile_), before);
        b_.CreateBr(after);
        b_.SetInsertPoint(part);
        loop(b_.getInt64(0), n, [&](llvm::Value* i) {
            tile_body(1, b_.CreateInBoundsGEP(i64_, tile_frames_, i), b_.getInt64(1),
                      b_.CreateFAdd(before, b_.CreateSIToFP(i, f64_)));
        });
        b_.CreateBr(after);
        b_.SetInsertPoint(after);
        if (tile_first_) per_frame();
        b_.CreateBr(tile);
    }

    /// The per-frame loops of frame `f`: its nav coordinates and data, every
    /// group not computed in tiles; counts the frame.
    void frame_work(llvm::Value* f) {
        llvm::Value* rest = f;
        for (size_t a = p_.axes.size(); a-- > 0;) {
            if (!p_.axes[a].nav) continue;
            llvm::Value* ext = b_.getInt64(p_.axes[a].extent);
            coord_[a] = b_.CreateURem(rest, ext);
            rest = b_.CreateUDiv(rest, ext);
        }
        frame_ = b_.CreateInBoundsGEP(llvm::Type::getInt8Ty(ctx_), base_,
                                     b_.CreateMul(b_.CreateSub(f, base_frame_), b_.getInt64(s_.frame_stride)));
        n_frame_ = b_.CreateLoad(f64_, frames_done_);
        inv_frame_ = b_.CreateFDiv(cf(1), b_.CreateFAdd(n_frame_, cf(1)));
        memo_.emplace_back();
        for (const EmitGroup& g : emit_) {
            bounds_ = g.bounds_slot >= 0 ? leaf_ptr_[g.bounds_slot] : nullptr;
            bounds_slot_ = g.bounds_slot;
            if (!g.scalar.empty()) {
                for (const Node* r : g.scalar)
                    if (frame_local(*r)) init_frame_states(*r);
                if_frame_selected(g.scalar, [&] { nest(g.layout, 0, g.scalar); });
                for (const Node* r : g.scalar)
                    if (frame_local(*r)) finish_frame(*r);
            }
            if (!g.lanes.empty()) {
                for (const Node* r : g.lanes) init_frame_states(*r);
                group_reads_data_ = std::any_of(g.lanes.begin(), g.lanes.end(),
                                                [&](const Node* r) { return reduction_reads_data(*r); });
                if_frame_selected(g.lanes, [&] {
                    if (g.run_sets >= 2) merged_run_loops(g);
                    else if (g.runs_slot >= 0) run_loops(g);
                    else vector_nest(g, g.lanes, false);
                });
                for (const Node* r : g.lanes) finish_frame(*r);
            }
            bounds_ = nullptr;
        }
        memo_.pop_back();
        b_.CreateStore(b_.CreateFAdd(n_frame_, cf(1)), frames_done_);
    }

    /// The conjuncts of `w` that vary over nav axes only and can be
    /// computed before the frame's loops: one value per frame.
    void frame_conjuncts(const Node& w, std::vector<const Node*>& out) const {
        ir::for_each_conjunct(w, [&](const Node& c) {
            if (c.op != Op::Const && (c.axes & nav_) && !(c.axes & ~nav_) && per_frame_value(c)) out.push_back(&c);
        });
    }

    /// True when `n` can be computed once per frame, before its loops: from
    /// materialised arrays, nav coordinates and this pass's earlier results.
    bool per_frame_value(const Node& n) const {
        if (s_.leaf_slot.count(&n)) return true;
        switch (n.op) {
        case Op::Const: return true;
        case Op::Coord: return p_.axes[n.axis].nav;
        case Op::Data: return false;
        case Op::Reduce: return result_ptr_.count(&n) != 0;
        default: break;
        }
        for (const ir::NodeRef& a : n.args)
            if (!per_frame_value(*a)) return false;
        return true;
    }

    /// Emits `body` (the loops of per-frame reductions `rs`) behind one
    /// branch when every reduction's `where` has conjuncts that hold or fail
    /// for the frame as a whole (such as the test that sends a frame's
    /// variance to its second sweep): a frame none of them selects skips the
    /// loops, and the reductions keep their initial (empty) states.
    template <class Body> void if_frame_selected(const std::vector<const Node*>& rs, Body body) {
        std::vector<std::vector<const Node*>> conds;
        for (const Node* r : rs) {
            std::vector<const Node*> c;
            if (frame_local(*r) && r->has_where) frame_conjuncts(**r->where(), c);
            if (c.empty()) {
                body();
                return;
            }
            conds.push_back(std::move(c));
        }
        unsigned lanes = lanes_;
        lanes_ = 1;
        memo_.emplace_back();  // scalar values: not for the vector loops
        llvm::Value* any = b_.getFalse();
        for (const auto& c : conds) {
            llvm::Value* all = b_.getTrue();
            for (const Node* n : c) all = b_.CreateAnd(all, truthy(gen(*n)));
            any = b_.CreateOr(any, all);
        }
        memo_.pop_back();
        lanes_ = lanes;
        llvm::BasicBlock* run = llvm::BasicBlock::Create(ctx_, "frame_selected", fn_);
        llvm::BasicBlock* after = llvm::BasicBlock::Create(ctx_, "frame_skipped", fn_);
        b_.CreateCondBr(any, run, after);
        b_.SetInsertPoint(run);
        memo_.emplace_back();  // values of the branch are not valid after it
        body();
        memo_.pop_back();
        b_.CreateBr(after);
        b_.SetInsertPoint(after);
    }

    void nest(const Layout& l, size_t depth, const std::vector<const Node*>& rs) {
        if (depth == l.axes.size()) {
            memo_.emplace_back();
            for (const Node* r : rs) update(*r);
            memo_.pop_back();
            return;
        }
        auto inner = [&](llvm::Value* i) {
            coord_[l.axes[depth]] = i;
            memo_.emplace_back();  // values of this level are not valid outside it
            nest(l, depth + 1, rs);
            memo_.pop_back();
        };
        if (bounds_ && depth + 1 == l.axes.size() && depth >= 1) {
            // Only the columns [lo, hi) of this row hold a pixel of any mask.
            llvm::Value* at = b_.CreateMul(coord_[l.axes[depth - 1]], b_.getInt64(2));
            llvm::Value* lo = load(i64_, b_.CreateInBoundsGEP(i64_, bounds_, at), obj_leaf(bounds_slot_));
            llvm::Value* hi =
                load(i64_, b_.CreateInBoundsGEP(i64_, bounds_, b_.CreateAdd(at, b_.getInt64(1))), obj_leaf(bounds_slot_));
            guarded_loop(lo, hi, inner, "row", "row_done");
            return;
        }
        loop(b_.getInt64(0), b_.getInt64(l.extents[depth]), inner);
    }

    KernelSpec& s_;
    const ir::Program& p_;
    llvm::LLVMContext& ctx_;
    llvm::Module& m_;
    llvm::IRBuilder<> b_;
    llvm::Type *f64_, *i64_, *i1_, *ptr_;
    llvm::Function* fn_ = nullptr;
    llvm::BasicBlock* entry_ = nullptr;
    llvm::Value* base_ = nullptr;
    llvm::Value* base_frame_ = nullptr;
    int64_t stack_cells_ = 0;  // cells of per-frame states in allocas so far
    std::unordered_map<const Node*, llvm::Value*> int_state_;  // i64 cells of integer_sum() reductions
    llvm::Value* roi_ = nullptr;
    llvm::Value* frame_ = nullptr;
    llvm::Value* bounds_ = nullptr;
    int bounds_slot_ = -1;
    std::vector<llvm::MDNode*> scopes_, scope_lists_, noalias_lists_;
    llvm::Value* frames_done_ = nullptr;  // alloca: frames processed in this call
    llvm::Value* n_frame_ = nullptr;      // frames processed before this one
    llvm::Value* inv_frame_ = nullptr;    // 1 / (n_frame_ + 1)
    llvm::Value* coord_[64] = {};
    AxisSet nav_ = 0;
    std::vector<llvm::Value*> leaf_ptr_;
    std::unordered_map<const Node*, llvm::Value*> result_ptr_, state_ptr_;
    std::unordered_map<const Node*, std::array<llvm::Value*, 3>> frame_state_;
    std::unordered_map<const Node*, int64_t> frame_cells_;
    std::vector<std::unordered_map<const Node*, llvm::Value*>> memo_;
    std::unordered_map<const Node*, std::optional<std::pair<double, double>>> ranges_;  // int_range()
    // Vector code (see "vector loops").
    unsigned lanes_ = 1;           // lanes of the values being generated (1: scalar code)
    unsigned frame_lanes_ = 1;     // lanes of per-frame loops
    unsigned tile_lanes_ = 1;      // lanes of tile loops (one vector per frame of the tile)
    int xaxis_ = -1;               // the last sig axis
    int lane_axis_ = -1;           // the axis the lanes of the loop being emitted run along
    llvm::Value* valid_ = nullptr; // lanes of a partial chunk, null when all are
    std::vector<EmitGroup> emit_, tile_groups_;
    bool tiled_ = false;
    bool group_reads_data_ = false;  // the per-frame vector loop being emitted reads the data
    bool prefetch_tile_ = false;     // tile loops prefetch the next tile's frames
    bool streaming_only_ = false;    // the pass is one loop over whole frames
    bool tile_first_ = false;        // tile loops run before the per-frame loops of their frames
    bool prefetch_frames_ = false;   // per-frame loops prefetch the next frame
    bool lanes_loops_ = false;       // loops being emitted are vector loops (not to be unrolled)
    llvm::Type* acc_int_ = nullptr;  // lanes of per-frame integer sums in registers (i32 or i64)
    llvm::Type* lane_int_ = nullptr; // ... of the loop being emitted
    const std::vector<const Node*>* fused_ = nullptr;  // per-frame totals of the tile loop being emitted
    std::unordered_map<const Node*, std::vector<llvm::AllocaInst*>> fused_acc_;  // per frame of a tile: a, n
    const std::vector<const Node*>* implied_ = nullptr;  // masks true in the chunks being emitted
    int tile_ = 1;                          // frames per tile
    llvm::Value* tile_frames_ = nullptr;    // alloca: the tile's frame indices
    std::vector<std::array<llvm::Value*, 64>> tile_coord_;  // per tile frame: its nav coordinates
    std::vector<llvm::Value*> tile_frame_ptr_, tile_valid_;
    llvm::Value* tile_k_ = nullptr;         // valid frames of the tile (f64)
    llvm::Value* tile_before_ = nullptr;    // frames accumulated before the tile (f64)
    std::unordered_map<const Node*, std::array<llvm::AllocaInst*, 2>> acc_;  // vector accumulators (a, n)
};

} // namespace

std::unique_ptr<llvm::Module> generate_pass(KernelSpec& spec, const Jit& jit, llvm::LLVMContext& ctx,
                                            const std::string& name) {
    auto m = jit.new_module(ctx, name);
    Codegen cg(spec, jit, ctx, *m);
    cg.run(name, jit);
    return m;
}

} // namespace tem::compiler
