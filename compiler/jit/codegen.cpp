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
#include <limits>

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
        if (it == groups.end()) groups.push_back(LoopGroup{space, {r}, -1});
        else it->reductions.push_back(r);
    }
    return groups;
}

namespace {

struct Layout {
    std::vector<int> axes;
    std::vector<int64_t> extents, strides;
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
                    for (int k = 0; k < 3; ++k)
                        if (cells <= kStackCells && stack_cells_ + cells <= kStackBudgetCells) {
                            stack_cells_ += cells;
                            frame_state_[r][k] = b_.CreateAlloca(f64_, b_.getInt64(cells));
                        } else {
                            frame_state_[r][k] = b_.CreateInBoundsGEP(f64_, scratch, b_.getInt64(s_.scratch_doubles));
                            s_.scratch_doubles += cells;
                        }
                    // Per-frame sums of integer data add integers: exact, and
                    // one instruction fewer per pixel than converting to f64.
                    if (integer_sum(*r) && cells <= kStackCells && stack_cells_ + cells <= kStackBudgetCells) {
                        stack_cells_ += cells;
                        int_state_[r] = b_.CreateAlloca(i64_, b_.getInt64(cells));
                    }
                }
        frames_done_ = b_.CreateAlloca(f64_);
        b_.CreateStore(frames_before, frames_done_);
        llvm::Value* end = b_.CreateAdd(first, count);
        llvm::BasicBlock* body_entry = llvm::BasicBlock::Create(ctx_, "frames", fn_);
        llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "done", fn_);
        b_.CreateCondBr(b_.CreateICmpSLT(first, end), body_entry, done);
        b_.SetInsertPoint(body_entry);
        loop(first, end, [&](llvm::Value* f) { frame_body(f); });
        b_.CreateBr(done);
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
    void loop(llvm::Value* begin, llvm::Value* end, F&& body) {
        llvm::BasicBlock* pre = b_.GetInsertBlock();
        llvm::BasicBlock* header = llvm::BasicBlock::Create(ctx_, "loop", fn_);
        b_.CreateBr(header);
        b_.SetInsertPoint(header);
        llvm::PHINode* i = b_.CreatePHI(i64_, 2);
        i->addIncoming(begin, pre);
        body(i);
        llvm::Value* next = b_.CreateAdd(i, b_.getInt64(1), "", true, true);
        i->addIncoming(next, b_.GetInsertBlock());
        llvm::BasicBlock* exit = llvm::BasicBlock::Create(ctx_, "endloop", fn_);
        b_.CreateCondBr(b_.CreateICmpSLT(next, end), header, exit);
        b_.SetInsertPoint(exit);
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

    llvm::Value* cf(double v) { return llvm::ConstantFP::get(f64_, v); }
    llvm::Value* truthy(llvm::Value* v) { return b_.CreateFCmpUNE(v, cf(0)); }
    llvm::Value* from_bool(llvm::Value* c) { return b_.CreateUIToFP(c, f64_); }
    llvm::Value* isnan(llvm::Value* v) { return b_.CreateFCmpUNO(v, v); }

    llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Value*> args) {
        return b_.CreateIntrinsic(id, {f64_}, args);
    }

    /// A libm function that reads no memory, so LICM and GVN may move it.
    llvm::Value* libm(const char* name, std::vector<llvm::Value*> args) {
        std::vector<llvm::Type*> types(args.size(), f64_);
        llvm::FunctionCallee callee = m_.getOrInsertFunction(name, llvm::FunctionType::get(f64_, types, false));
        if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
            f->setDoesNotThrow();
            f->setWillReturn();
            f->setMemoryEffects(llvm::MemoryEffects::none());
        }
        llvm::CallInst* call = b_.CreateCall(callee, args);
        call->setDoesNotAccessMemory();
        return call;
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
        case DType::F32: return b_.CreateFPExt(b_.CreateFPTrunc(v, llvm::Type::getFloatTy(ctx_)), f64_);
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

    llvm::Value* load_leaf(int slot, const std::vector<int>& axes, const std::vector<int64_t>& strides) {
        if (s_.leaves[slot].bytes) {
            llvm::Type* i8 = llvm::Type::getInt8Ty(ctx_);
            llvm::Value* ptr = b_.CreateInBoundsGEP(i8, leaf_ptr_[slot], offset(axes, strides));
            return b_.CreateUIToFP(load(i8, ptr, obj_leaf(slot)), f64_);
        }
        llvm::Value* ptr = b_.CreateInBoundsGEP(f64_, leaf_ptr_[slot], offset(axes, strides));
        return load(f64_, ptr, obj_leaf(slot));
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
    llvm::Value* load_raw(llvm::Value* ptr) {
        DType t = s_.dtype;
        llvm::Type* it = llvm::Type::getIntNTy(ctx_, static_cast<unsigned>(dtype_size(t) * 8));
        llvm::Value* v = tag(b_.CreateAlignedLoad(it, ptr, llvm::MaybeAlign(1)), obj_data());
        if (s_.big_endian && dtype_size(t) > 1) v = b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, v);
        return v;
    }

    llvm::Value* load_element(llvm::Value* ptr) {
        DType t = s_.dtype;
        llvm::Type* it = llvm::Type::getIntNTy(ctx_, static_cast<unsigned>(dtype_size(t) * 8));
        llvm::Value* v = load_raw(ptr);
        switch (t) {
        case DType::Bool: return from_bool(b_.CreateICmpNE(v, llvm::ConstantInt::get(it, 0)));
        case DType::U8: case DType::U16: case DType::U32: case DType::U64: return b_.CreateUIToFP(v, f64_);
        case DType::I8: case DType::I16: case DType::I32: case DType::I64: return b_.CreateSIToFP(v, f64_);
        case DType::F32: return b_.CreateFPExt(b_.CreateBitCast(v, llvm::Type::getFloatTy(ctx_)), f64_);
        case DType::F64: return b_.CreateBitCast(v, f64_);
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
        case Op::Coord: return b_.CreateSIToFP(coord_[n.axis], f64_);
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
            return load(f64_, b_.CreateInBoundsGEP(f64_, it->second, offset(l.axes, l.strides)), obj_result(&n));
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
        return exact ? r : convert(r, n.type);
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
    llvm::Value* gen_int(const Node& n) {
        auto [ptr, inside] = data_address(n);
        DType t = s_.dtype;
        bool is_signed = t == DType::I8 || t == DType::I16 || t == DType::I32;
        llvm::Value* v = is_signed ? b_.CreateSExt(load_raw(ptr), i64_) : b_.CreateZExt(load_raw(ptr), i64_);
        return inside ? b_.CreateSelect(inside, v, b_.getInt64(0)) : v;
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

    // ---- the frame ----------------------------------------------------------------

    void frame_body(llvm::Value* f) {
        llvm::BasicBlock* next = llvm::BasicBlock::Create(ctx_, "next_frame", fn_);
        if (s_.roi) {
            llvm::BasicBlock* work = llvm::BasicBlock::Create(ctx_, "in_roi", fn_);
            llvm::Value* flag = load(llvm::Type::getInt8Ty(ctx_),
                                     b_.CreateInBoundsGEP(llvm::Type::getInt8Ty(ctx_), roi_, f), obj_roi());
            b_.CreateCondBr(b_.CreateICmpNE(flag, b_.getInt8(0)), work, next);
            b_.SetInsertPoint(work);
        }
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
        for (const std::vector<LoopGroup>& groups : s_.groups) {
            for (const LoopGroup& g : groups) {
                const std::vector<const Node*>& rs = g.reductions;
                for (const Node* r : rs)
                    if (frame_local(*r)) init_frame_states(*r);
                Layout l = layout(*rs.front(), g.space);
                bounds_ = g.bounds_slot >= 0 ? leaf_ptr_[g.bounds_slot] : nullptr;
                bounds_slot_ = g.bounds_slot;
                nest(l, 0, rs);
                bounds_ = nullptr;
                for (const Node* r : rs)
                    if (frame_local(*r)) finish_frame(*r);
            }
        }
        memo_.pop_back();
        b_.CreateStore(b_.CreateFAdd(n_frame_, cf(1)), frames_done_);
        b_.CreateBr(next);
        b_.SetInsertPoint(next);
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
            llvm::BasicBlock* run = llvm::BasicBlock::Create(ctx_, "row", fn_);
            llvm::BasicBlock* skip = llvm::BasicBlock::Create(ctx_, "row_done", fn_);
            b_.CreateCondBr(b_.CreateICmpSLT(lo, hi), run, skip);
            b_.SetInsertPoint(run);
            loop(lo, hi, inner);
            b_.CreateBr(skip);
            b_.SetInsertPoint(skip);
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
