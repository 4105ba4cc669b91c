//===- compiler/jit/engine.cpp - The JIT execution engine ----------------===//
//
// This file implements the JIT engine. For each pass:
//
//   1. Find the kernel's leaves: every maximal subexpression of the
//      reductions' operands that is already complete before the pass
//      (hoisted sig-kind masks, nav-kind values, earlier results, array
//      inputs). They are materialised once, by the evaluator, and read by the
//      kernel from memory.
//   2. Generate and compile the kernel (compiler/jit/codegen.h).
//   3. Run it: threads take partitions in increasing order; a partition's
//      nav-reducing states start at zero and are merged into the run's
//      states strictly in partition order (a thread that finishes early waits
//      for its turn), so the result is the same for any thread count.
//      Frame-local results are written straight into their result arrays.
//
//===----------------------------------------------------------------------===//
#include "compiler/jit/engine.h"

#include "compiler/evaluator.h"
#include "compiler/jit/codegen.h"
#include "compiler/jit/jit.h"
#include "runtime/cluster.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

namespace tem::compiler {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class JitEvaluator : public Evaluator {
public:
    JitEvaluator(const ir::Program& p, const Plan& plan, const rt::Dataset* ds, const EngineOptions& opts,
                 EngineReport& report)
        : Evaluator(p, plan, ds), opts_(opts), report_(report) {
        set_control(opts.control);
    }

protected:
    void run_pass(const PassPlan& pp) override {
        if (!ds_) {
            Evaluator::run_pass(pp);
            return;
        }
        Clock::time_point t0 = Clock::now();
        // Frames outside the roi, or excluded by every reduction's nav-kind
        // `where`, are skipped without being read.
        const std::vector<uint8_t> keep = pass_frames(pp);
        KernelSpec spec;
        spec.roi = !keep.empty();
        spec.program = &p_;
        spec.plan = &plan_;
        spec.pass = &pp;
        spec.dtype = ds_->dtype();
        // Three ways to reach the frames: evenly spaced in a mapping (one
        // call per partition), mapped but unevenly spaced (one call per
        // frame, still zero-copy), or decoded into a buffer per tile.
        const bool even = ds_->mapped() && ds_->frame_stride() > 0;
        int64_t frame_bytes = ds_->frame_elems() * static_cast<int64_t>(dtype_size(ds_->dtype()));
        spec.big_endian = ds_->big_endian();
        spec.sig_strides = ds_->sig_strides();
        spec.frame_stride = even ? ds_->frame_stride() : frame_bytes;
        std::vector<const double*> leaves;
        collect_leaves(pp, spec, leaves);
        for (const Stage& st : pp.stages) {
            std::vector<LoopGroup> groups;
            for (const LoopGroup& g : group_reductions(p_, st))
                for (LoopGroup& part : split_by_masks(pp, g, spec, leaves)) groups.push_back(std::move(part));
            spec.groups.push_back(std::move(groups));
        }
        // Result arrays and states.
        std::vector<double*> frame_results;
        std::vector<const Node*> nav_reducing;
        std::vector<std::pair<int, int64_t>> buffered;  // frame-result slot, cells of one frame
        for (const Stage& st : pp.stages)
            for (const Node* r : st.reductions) {
                if (plan_.in_pass.at(r).frame_local && frame_kind(*r) && !read_after(*r, pp)) {
                    spec.frame_buffer.insert(r);
                    spec.frame_result_slot[r] = static_cast<int>(frame_results.size());
                    buffered.emplace_back(static_cast<int>(frame_results.size()), reduction_cells(p_, *r, true));
                    frame_results.push_back(nullptr);  // per thread
                } else if (plan_.in_pass.at(r).frame_local) {
                    auto m = layout(*r, r->axes);
                    double missing = dtype_is_float(r->type) ? std::numeric_limits<double>::quiet_NaN() : 0.0;
                    std::fill(m->values.begin(), m->values.end(), missing);
                    spec.frame_result_slot[r] = static_cast<int>(frame_results.size());
                    frame_results.push_back(m->values.data());
                    mats_[r->id] = std::move(m);
                } else {
                    spec.state_slot[r] = static_cast<int>(nav_reducing.size());
                    nav_reducing.push_back(r);
                }
            }
        if (!jit_) jit_ = std::make_unique<Jit>();
        auto ctx = std::make_unique<llvm::LLVMContext>();
        std::string name = "tem_pass_" + std::to_string(pp.index);
        auto module = generate_pass(spec, *jit_, *ctx, name);
        std::string text;
        auto kernel = reinterpret_cast<void (*)(const KernelArgs*)>(
            jit_->compile(std::move(module), std::move(ctx), name, opts_.emit_llvm ? &text : nullptr));
        report_.llvm_text += text;
        report_.compile_seconds += seconds_since(t0);
        report_.kernels_compiled = jit_->compiled_kernels();
        report_.kernels_cached = jit_->cached_kernels();

        Clock::time_point t1 = Clock::now();
        std::vector<int64_t> cells;
        std::vector<std::vector<double>> global;  // per reduction, the kernels' layout a | b | n
        for (const Node* r : nav_reducing) {
            cells.push_back(reduction_cells(p_, *r, false));
            AccState init = acc_init(r->rop);
            auto& g = global.emplace_back(static_cast<size_t>(3 * cells.back()), 0.0);
            std::fill(g.begin(), g.begin() + cells.back(), init.a);
        }
        // Under MPI this rank takes its contiguous block of the partitions.
        rt::Cluster& cluster = rt::Cluster::get();
        const std::vector<rt::Partition> all_parts =
            rt::make_partitions(ds_->num_frames(), frame_bytes, rt::kPartitionBytes, ds_->block_frames());
        auto [part_lo, part_hi] = cluster.share(all_parts.size());
        std::vector<rt::Partition> parts(all_parts.begin() + static_cast<std::ptrdiff_t>(part_lo),
                                         all_parts.begin() + static_cast<std::ptrdiff_t>(part_hi));
        int threads = opts_.threads > 0 ? opts_.threads : static_cast<int>(std::thread::hardware_concurrency());
        threads = std::max(1, std::min<int>(threads, static_cast<int>(parts.size())));
        report_.threads = std::max(report_.threads, threads);
        std::mutex mu;
        std::condition_variable cv;
        size_t next = 0, merged = 0;
        const uint8_t* base = even ? reinterpret_cast<const uint8_t*>(ds_->frame(0)) : nullptr;
        // Decoded frames go through a per-thread buffer of about 1 MiB (whole
        // blocks), small enough to stay in the L2 cache.
        int64_t block = std::max<int64_t>(1, ds_->block_frames());
        int64_t tile_frames = std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(frame_bytes, 1));
        tile_frames = (tile_frames + block - 1) / block * block;
        const uint8_t* roi = keep.empty() ? nullptr : keep.data();
        std::exception_ptr failure;
        auto worker = [&]() {
            try {
                std::vector<std::vector<double>> states(nav_reducing.size());
                std::vector<double*> state_ptrs(nav_reducing.size());
                std::vector<std::byte> buffer;
                std::vector<double> scratch(static_cast<size_t>(spec.scratch_doubles));
                // This thread's frame results: the shared arrays, and its own
                // one-frame buffers for the values never read after the pass.
                std::vector<double*> my_results = frame_results;
                std::vector<std::vector<double>> frame_buffers;
                for (auto [slot, n] : buffered) {
                    frame_buffers.emplace_back(static_cast<size_t>(n));
                    my_results[static_cast<size_t>(slot)] = frame_buffers.back().data();
                }
                while (true) {
                    size_t part;
                    {
                        std::lock_guard<std::mutex> lock(mu);
                        if (next >= parts.size() || failure) return;
                        check_cancel();  // the catch below stops the other threads
                        part = next++;
                    }
                    for (size_t i = 0; i < nav_reducing.size(); ++i) {
                        double a0 = nav_reducing[i]->rop == ir::ReduceOp::All ? 1 : 0;
                        states[i].assign(static_cast<size_t>(3 * cells[i]), 0.0);
                        std::fill(states[i].begin(), states[i].begin() + cells[i], a0);
                        state_ptrs[i] = states[i].data();
                    }
                    KernelArgs args;
                    args.roi = roi;
                    args.leaves = leaves.data();
                    args.frame_results = my_results.data();
                    args.states = state_ptrs.data();
                    args.scratch = scratch.data();
                    const rt::Partition& pa = parts[part];
                    double done = 0;  // frames accumulated so far (uniform counts, Welford)
                    auto call = [&](const uint8_t* b, int64_t first, int64_t count) {
                        args.base = b;
                        args.base_frame = first;
                        args.first = first;
                        args.count = count;
                        args.frames_done = done;
                        kernel(&args);
                        for (int64_t f = first; f < first + count; ++f) done += roi == nullptr || roi[f] != 0;
                    };
                    if (even) {
                        ds_->advise_sequential(pa.first, pa.count);
                        args.base = base;
                        args.base_frame = 0;
                        args.first = pa.first;
                        args.count = pa.count;
                        args.frames_done = 0;
                        kernel(&args);
                        for (int64_t f = pa.first; f < pa.first + pa.count; ++f) done += roi == nullptr || roi[f] != 0;
                    } else if (ds_->mapped()) {
                        // One call per run of back-to-back frames (the kernel
                        // skips frames outside the roi itself).
                        for (int64_t f = pa.first, end = pa.first + pa.count; f < end;) {
                            int64_t n = std::max<int64_t>(1, std::min(ds_->contiguous_frames(f), end - f));
                            bool any = roi == nullptr;
                            for (int64_t g = f; g < f + n && !any; ++g) any = roi[g] != 0;
                            if (any) call(reinterpret_cast<const uint8_t*>(ds_->frame(f)), f, n);
                            f += n;
                        }
                    } else {
                        buffer.resize(static_cast<size_t>(tile_frames * frame_bytes));
                        for (int64_t t = pa.first; t < pa.first + pa.count; t += tile_frames) {
                            check_cancel();  // decoding is slower than reading: also between tiles
                            int64_t end = std::min(t + tile_frames, pa.first + pa.count);
                            // Only runs of frames inside the roi are decoded.
                            for (int64_t f = t; f < end;) {
                                if (roi != nullptr && roi[f] == 0) {
                                    ++f;
                                    continue;
                                }
                                int64_t g = f;
                                while (g < end && (roi == nullptr || roi[g] != 0)) ++g;
                                ds_->read_frames(f, g - f, buffer.data());
                                call(reinterpret_cast<const uint8_t*>(buffer.data()), f, g - f);
                                f = g;
                            }
                        }
                    }
                    // Uniform counts: every cell saw each processed frame once.
                    for (size_t i = 0; i < nav_reducing.size(); ++i)
                        if (uniform_count(p_, *nav_reducing[i]))
                            std::fill(states[i].begin() + 2 * cells[i], states[i].end(), done);
                    // Merge in partition order: wait for the previous partitions.
                    std::unique_lock<std::mutex> lock(mu);
                    cv.wait(lock, [&] { return merged == part || failure; });
                    if (failure) return;
                    for (size_t i = 0; i < nav_reducing.size(); ++i)
                        acc_merge_cells(nav_reducing[i]->rop, global[i].data(), states[i].data(), cells[i],
                                        uniform_count(p_, *nav_reducing[i]));
                    ++merged;
                    if (opts_.control) opts_.control->partition_finished(pa.count);
                    cv.notify_all();
                }
            } catch (...) {
                std::lock_guard<std::mutex> lock(mu);
                if (!failure) failure = std::current_exception();
                cv.notify_all();
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
        worker();
        for (std::thread& t : pool) t.join();
        if (cluster.distributed()) {
            // Every rank stops together, with the first failing rank's reason.
            // The kind of failure travels in the first character, so that
            // every rank exits as the failing one would: D data, M memory,
            // I internal.
            std::string error;
            if (failure) {
                try {
                    std::rethrow_exception(failure);
                } catch (const rt::DataError& e) {
                    error = std::string("D") + e.what();
                } catch (const std::bad_alloc&) {
                    error = "Mtem: error: out of memory";
                } catch (const std::exception& e) {
                    error = std::string("I") + (*e.what() ? e.what() : "unknown error");
                } catch (...) {
                    error = "Iunknown error";
                }
            }
            error = cluster.agree(error);
            if (!error.empty()) {
                if (error[0] == 'I') throw std::runtime_error(error.substr(1));
                throw rt::DataError(error.substr(1));
            }
            merge_ranks(cluster, all_parts, nav_reducing, cells, global, frame_results, spec);
        } else if (failure) {
            std::rethrow_exception(failure);
        }
        for (size_t i = 0; i < nav_reducing.size(); ++i) {
            const Node* r = nav_reducing[i];
            auto m = layout(*r, r->axes);
            const double* g = global[i].data();
            int64_t c = cells[i];
            for (int64_t k = 0; k < c; ++k) m->values[k] = acc_finalize(r->rop, AccState{g[k], g[c + k], g[2 * c + k]}, r->type);
            mats_[r->id] = std::move(m);
        }
        report_.run_seconds += seconds_since(t1);
    }

private:
    /// Makes every rank hold the whole pass: the nav-reducing states merged
    /// over the ranks (a tree in rank order, compiler/accumulator.h's merge)
    /// and every rank's frames of the per-frame results.
    void merge_ranks(rt::Cluster& cluster, const std::vector<rt::Partition>& all_parts,
                     const std::vector<const Node*>& nav_reducing, const std::vector<int64_t>& cells,
                     std::vector<std::vector<double>>& global, const std::vector<double*>& frame_results,
                     const KernelSpec& spec) {
        std::vector<double> flat;
        for (const auto& states : global) flat.insert(flat.end(), states.begin(), states.end());
        cluster.merge_all(flat, [&](std::vector<double>& lower, const std::vector<double>& higher) {
            size_t at = 0;
            for (size_t i = 0; i < nav_reducing.size(); ++i) {
                acc_merge_cells(nav_reducing[i]->rop, lower.data() + at, higher.data() + at, cells[i],
                                uniform_count(p_, *nav_reducing[i]));
                at += static_cast<size_t>(3 * cells[i]);
            }
        });
        size_t at = 0;
        for (auto& states : global) {
            std::copy(flat.begin() + static_cast<std::ptrdiff_t>(at),
                      flat.begin() + static_cast<std::ptrdiff_t>(at + states.size()), states.begin());
            at += states.size();
        }
        // Per-frame results: frame f's cells are contiguous (nav axes first).
        std::vector<std::pair<int64_t, int64_t>> frames(static_cast<size_t>(cluster.size()));
        for (int r = 0; r < cluster.size(); ++r) {
            auto [lo, hi] = cluster.share_of(r, all_parts.size());
            int64_t first = lo < hi ? all_parts[lo].first : 0;
            int64_t last = lo < hi ? all_parts[hi - 1].first + all_parts[hi - 1].count : 0;
            frames[static_cast<size_t>(r)] = {first, last};
        }
        // In node order: every rank must gather the same arrays in the same
        // order (an unordered_map's order follows pointers, which differ).
        std::vector<std::pair<const Node*, int>> slots(spec.frame_result_slot.begin(), spec.frame_result_slot.end());
        std::sort(slots.begin(), slots.end(), [](const auto& x, const auto& y) { return x.first->id < y.first->id; });
        for (const auto& [node, slot] : slots) {
            if (spec.frame_buffer.count(node)) continue;  // one frame at a time: never materialised
            int64_t per_frame = reduction_cells(p_, *node, true);
            std::vector<std::pair<int64_t, int64_t>> ranges;
            for (const auto& [a, b] : frames) ranges.emplace_back(a * per_frame, b * per_frame);
            cluster.gather_ranges(frame_results[static_cast<size_t>(slot)], ranges);
        }
    }

    /// True for a value that varies over nav and sig axes (a frame-kind
    /// value: one number per pixel of every frame).
    bool frame_kind(const Node& n) const { return (n.axes & nav_) != 0 && (n.axes & ~nav_ & ~ir::kBinBit) != 0; }

    /// True when `r` (computed in pass `pp`) is read by a value computed
    /// outside that pass: a later pass, an expression over results, an output.
    bool read_after(const Node& r, const PassPlan& pp) {
        if (consumers_.empty()) {
            std::vector<ir::NodeRef> roots;
            for (const ir::Output& o : p_.outputs) roots.push_back(o.value);
            if (p_.roi) roots.push_back(p_.roi);
            for (const Node* n : ir::topo_order(roots))
                for (const ir::NodeRef& a : n->args) consumers_[a.get()].push_back(n);
            for (const ir::Output& o : p_.outputs) consumers_[o.value.get()].push_back(nullptr);
        }
        auto it = consumers_.find(&r);
        if (it == consumers_.end()) return false;
        for (const Node* c : it->second) {
            if (!c) return true;  // an output
            bool pass_reduction = c->op == ir::Op::Reduce && plan_.in_pass.count(c) && plan_.in_pass.at(c).pass == pp.index;
            if (pass_reduction) continue;
            // A value computed in the pass from `r` passes it on to its readers.
            if (c->op == ir::Op::Reduce || !in_pass_value(*c, pp) || read_after(*c, pp)) return true;
        }
        return false;
    }

    /// True when node `n` is computed inside this pass (reads data, or a
    /// frame-local result of this pass): then the kernel computes it.
    bool in_pass_value(const Node& n, const PassPlan& pp) const {
        const Avail& a = plan_.avail.at(&n);
        if (a.data || a.local_stage == Avail::kDataLocal) return true;
        return a.local_stage >= 0 && a.ready == pp.index;
    }

    void collect_leaves(const PassPlan& pp, KernelSpec& spec, std::vector<const double*>& leaves) {
        std::set<const Node*> seen;
        std::function<void(const Node&)> visit = [&](const Node& n) {
            if (!seen.insert(&n).second) return;
            if (n.op == ir::Op::Const || n.op == ir::Op::Coord) return;
            if (n.op == ir::Op::ArrayRead) {
                for (const ir::NodeRef& c : n.args) visit(*c);
                return;
            }
            if (!in_pass_value(n, pp) && n.op != ir::Op::Data) {
                // Complete before the pass: materialise it and read it from memory.
                if (!mats_[n.id]) {
                    if (n.op == ir::Op::Reduce) materialize_reduction(n);
                    else if (n.op == ir::Op::Grad) materialize_grad(n);
                    else materialize_value(n);
                }
                const Materialized& m = *mats_[n.id];
                spec.leaf_slot[&n] = static_cast<int>(spec.leaves.size());
                if (n.type == DType::Bool) {
                    // Masks as bytes: a 128x128 mask is 16 KiB and stays in L1.
                    auto& bytes = byte_leaves_.emplace_back(m.values.size());
                    // 0xff for true: the kernel tests the sign bit, which
                    // AVX-512 turns into a mask register in one instruction.
                    for (size_t i = 0; i < m.values.size(); ++i) bytes[i] = m.values[i] != 0 ? 0xff : 0;
                    spec.leaves.push_back(LeafLayout{m.axes, m.strides, true});
                    leaves.push_back(reinterpret_cast<const double*>(bytes.data()));
                } else {
                    spec.leaves.push_back(LeafLayout{m.axes, m.strides, false});
                    leaves.push_back(m.values.data());
                }
                return;
            }
            if (n.op == ir::Op::Reduce) return;  // a frame-local result of an earlier stage
            for (const ir::NodeRef& c : n.args) visit(*c);
        };
        for (const Stage& st : pp.stages)
            for (const Node* r : st.reductions)
                for (const ir::NodeRef& c : r->args) visit(*c);
        spec.array_slot.assign(p_.arrays.size(), -1);
        for (size_t i = 0; i < p_.arrays.size(); ++i) {
            spec.array_slot[i] = static_cast<int>(spec.leaves.size());
            spec.leaves.push_back(LeafLayout{});
            leaves.push_back(p_.arrays[i].values ? p_.arrays[i].values->data() : nullptr);
        }
    }

    /// The conjuncts of a `where` that are complete before the pass and vary
    /// over sig axes only (masks): where they are false, nothing is updated.
    void static_conjuncts(const Node& w, const PassPlan& pp, std::vector<const Node*>& out) const {
        ir::for_each_conjunct(w, [&](const Node& c) {
            if (!in_pass_value(c, pp) && !(c.axes & p_.nav_axes()) && !(c.axes & ir::kBinBit)) out.push_back(&c);
        });
    }

    /// The parts of a `where` that are true wherever its static conjuncts
    /// are: the conjuncts and every `and` of them (a materialised mask may be
    /// the whole `and`).
    bool implied_parts(const Node& w, const PassPlan& pp, std::vector<const Node*>& out) const {
        bool all;
        if (w.op == ir::Op::And) {
            bool a = implied_parts(*w.args[0], pp, out);
            bool b = implied_parts(*w.args[1], pp, out);
            all = a && b;
        } else {
            all = !in_pass_value(w, pp) && !(w.axes & p_.nav_axes()) && !(w.axes & ir::kBinBit);
        }
        if (all) out.push_back(&w);
        return all;
    }

    /// Splits a group iterating exactly the two innermost sig axes by the
    /// static masks of its reductions. Reductions whose masks cover the same
    /// part of the frame share a loop nest limited to it (per row, the
    /// columns where any of their masks holds: columns outside could not
    /// update anything); reductions without a mask loop over the whole
    /// frame. Clusters of reductions merge while that saves work:
    ///
    ///   1. one cluster per distinct row hull (the unmasked ones: the frame);
    ///   2. cost of a cluster = pixels visited x (1 read + 1 update per
    ///      reduction) + a loop start per row;
    ///   3. merge the pair whose merge lowers the total cost most, until no
    ///      merge does (the frame's data is re-read from cache per cluster).
    std::vector<LoopGroup> split_by_masks(const PassPlan& pp, const LoopGroup& g, KernelSpec& spec,
                                          std::vector<const double*>& leaves) {
        int rank = static_cast<int>(p_.axes.size());
        if (rank < 2 || p_.axes[rank - 1].nav || p_.axes[rank - 2].nav) return {g};
        int ya = rank - 2, xa = rank - 1;
        if (g.space != ((AxisSet(1) << ya) | (AxisSet(1) << xa))) return {g};
        int64_t h = p_.axes[ya].extent, w = p_.axes[xa].extent;
        struct Cluster {
            std::vector<const Node*> reds;
            std::vector<int64_t> bounds;  // lo, hi per row; empty: the whole frame
            int64_t area = 0, rows = 0;
            // Pixel-units: a load per pixel, an update per reduction, and per
            // row the bounds, the loop entry and a masked remainder (32: the
            // bright-field disk then shares the centre of mass's loop; W6 at
            // 1 thread 49.7 -> 46.7 ms, 1.6 ms less compile time).
            double cost() const { return static_cast<double>(area) * (1.0 + reds.size()) + 32.0 * rows; }
        };
        auto measure = [&](Cluster& c) {
            c.area = c.rows = 0;
            if (c.bounds.empty()) {
                c.area = h * w;
                c.rows = h;
                return;
            }
            for (int64_t y = 0; y < h; ++y) {
                c.area += c.bounds[2 * y + 1] - c.bounds[2 * y];
                c.rows += c.bounds[2 * y + 1] > c.bounds[2 * y];
            }
        };
        std::vector<Cluster> clusters;
        struct RunSet {
            std::vector<const Node*> reds, implied;
            std::vector<uint8_t> bits;
            bool whole = true;  // every reduction's `where` is the static mask
        };
        std::vector<RunSet> run_sets;
        // The runs of a mask, row by row, in pieces of at most kRunLanes
        // pixels: [row, x0, n, ...].
        auto pieces_of = [&](const std::vector<uint8_t>& bits, std::vector<int64_t>& out) {
            for (int64_t y = 0; y < h; ++y)
                for (int64_t x = 0; x < w;) {
                    if (!bits[static_cast<size_t>(y * w + x)]) {
                        ++x;
                        continue;
                    }
                    int64_t x0 = x;
                    while (x < w && bits[static_cast<size_t>(y * w + x)] && x - x0 < kRunLanes) ++x;
                    out.insert(out.end(), {y, x0, x - x0});
                }
        };
        Env env;
        for (const Node* r : g.reductions) {
            std::vector<const Node*> conj;
            if (r->has_where) static_conjuncts(**r->where(), pp, conj);
            std::vector<int64_t> bounds;
            if (!conj.empty()) {
                // A `where` that is static as a whole is materialised: read it.
                std::vector<const Node*> parts;
                bool whole = implied_parts(**r->where(), pp, parts);
                if (whole) conj = {r->where()->get()};
                std::vector<uint8_t> bits(static_cast<size_t>(h * w));
                int64_t pixels = 0, runs = 0, hull = 0;
                bounds.assign(static_cast<size_t>(2 * h), 0);
                for (int64_t y = 0; y < h; ++y) {
                    int64_t lo = w, hi = 0;
                    env.coord[ya] = y;
                    for (int64_t x = 0; x < w; ++x) {
                        env.coord[xa] = x;
                        bool all = true;
                        for (const Node* c : conj) all = all && eval(*c, env) != 0;
                        bits[static_cast<size_t>(y * w + x)] = all;
                        if (all) {
                            lo = std::min(lo, x);
                            hi = x + 1;
                            ++pixels;
                            runs += x == 0 || !bits[static_cast<size_t>(y * w + x - 1)];
                        }
                    }
                    if (hi > lo) {
                        // Whole vectors: short, ragged chords cost more in loop
                        // remainders than the masked pixels they would skip.
                        lo = lo & ~int64_t(15);
                        hi = std::min<int64_t>(w, (hi + 15) & ~int64_t(15));
                    } else {
                        lo = hi = 0;
                    }
                    bounds[2 * y] = lo;
                    bounds[2 * y + 1] = hi;
                    hull += hi - lo;
                }
                if (whole && !(r->axes & ~p_.nav_axes())) spec.static_count[r] = static_cast<double>(pixels);
                // A thin mask (a ring) of a per-frame total visits its runs
                // of pixels (in pieces of at most kRunLanes, one vector
                // each): a run costs about as much as 16 pixels.
                if (!(r->axes & ~p_.nav_axes()) && frame_lanes_capable(spec, *r) && 2 * pixels + 16 * runs < hull) {
                    auto same = std::find_if(run_sets.begin(), run_sets.end(), [&](const RunSet& rs) { return rs.bits == bits; });
                    if (same == run_sets.end()) {
                        run_sets.push_back(RunSet{{}, {}, std::move(bits)});
                        same = run_sets.end() - 1;
                    }
                    same->reds.push_back(r);
                    same->whole = implied_parts(**r->where(), pp, same->implied) && same->whole;
                    continue;
                }
            }
            auto same = std::find_if(clusters.begin(), clusters.end(), [&](const Cluster& c) { return c.bounds == bounds; });
            if (same != clusters.end()) {
                same->reds.push_back(r);
                continue;
            }
            Cluster c;
            c.reds = {r};
            c.bounds = std::move(bounds);
            measure(c);
            clusters.push_back(std::move(c));
        }
        auto merged = [&](const Cluster& a, const Cluster& b) {
            Cluster m;
            m.reds = a.reds;
            m.reds.insert(m.reds.end(), b.reds.begin(), b.reds.end());
            if (!a.bounds.empty() && !b.bounds.empty()) {
                m.bounds.resize(a.bounds.size());
                for (int64_t y = 0; y < h; ++y) {
                    int64_t alo = a.bounds[2 * y], ahi = a.bounds[2 * y + 1];
                    int64_t blo = b.bounds[2 * y], bhi = b.bounds[2 * y + 1];
                    bool ae = ahi <= alo, be = bhi <= blo;
                    m.bounds[2 * y] = ae ? blo : be ? alo : std::min(alo, blo);
                    m.bounds[2 * y + 1] = ae ? bhi : be ? ahi : std::max(ahi, bhi);
                }
            }
            measure(m);
            return m;
        };
        while (clusters.size() > 1) {
            double best = 0;
            size_t bi = 0, bj = 0;
            for (size_t i = 0; i < clusters.size(); ++i)
                for (size_t j = i + 1; j < clusters.size(); ++j) {
                    double gain = clusters[i].cost() + clusters[j].cost() - merged(clusters[i], clusters[j]).cost();
                    if (gain > best) best = gain, bi = i, bj = j;
                }
            if (best <= 0) break;
            clusters[bi] = merged(clusters[bi], clusters[bj]);
            clusters.erase(clusters.begin() + static_cast<std::ptrdiff_t>(bj));
        }
        std::vector<LoopGroup> out;
        for (Cluster& c : clusters) {
            // Reductions keep the order of the stage (node ids).
            std::sort(c.reds.begin(), c.reds.end(), [](const Node* a, const Node* b) { return a->id < b->id; });
            LoopGroup part;
            part.space = g.space;
            part.reductions = c.reds;
            if (!c.bounds.empty() && c.area * 10 <= h * w * 9) {  // else too little saved for a load per row
                part.bounds_slot = static_cast<int>(spec.leaves.size());
                bound_leaves_.push_back(std::move(c.bounds));
                spec.leaves.push_back(LeafLayout{});
                leaves.push_back(reinterpret_cast<const double*>(bound_leaves_.back().data()));
            }
            out.push_back(std::move(part));
        }
        // Sums of one operand over several thin masks (rings) share one loop
        // over the pieces of all their runs, each piece naming its mask:
        // one loop to compile instead of one per mask.
        std::vector<size_t> merged_sets;
        for (size_t i = 0; i < run_sets.size(); ++i) {
            const RunSet& rs = run_sets[i];
            const Node* r = rs.reds.front();
            bool sum = rs.reds.size() == 1 && rs.whole && r->rop == ir::ReduceOp::Sum;
            if (sum && (merged_sets.empty() ||
                        run_sets[merged_sets.front()].reds.front()->operand() == r->operand()))
                merged_sets.push_back(i);
        }
        if (merged_sets.size() >= 2) {
            LoopGroup part;
            part.space = g.space;
            size_t k_count = merged_sets.size();
            std::vector<int64_t> table(k_count + 1), pieces;
            for (size_t k = 0; k < k_count; ++k) {
                RunSet& rs = run_sets[merged_sets[k]];
                part.reductions.push_back(rs.reds.front());
                table[k] = static_cast<int64_t>(pieces.size() / 3);
                pieces_of(rs.bits, pieces);
                rs.reds.clear();
            }
            table[k_count] = static_cast<int64_t>(pieces.size() / 3);
            table.insert(table.end(), pieces.begin(), pieces.end());
            part.run_count = static_cast<int64_t>(pieces.size() / 3);
            part.run_sets = static_cast<int>(merged_sets.size());
            part.run_row_lo = h;
            for (size_t i = 0; i < pieces.size(); i += 3) {
                part.run_row_lo = std::min(part.run_row_lo, pieces[i]);
                part.run_row_hi = std::max(part.run_row_hi, pieces[i]);
            }
            part.runs_slot = static_cast<int>(spec.leaves.size());
            bound_leaves_.push_back(std::move(table));
            spec.leaves.push_back(LeafLayout{});
            leaves.push_back(reinterpret_cast<const double*>(bound_leaves_.back().data()));
            out.push_back(std::move(part));
        }
        for (RunSet& rs : run_sets) {
            if (rs.reds.empty()) continue;  // merged above
            std::vector<int64_t> runs;
            pieces_of(rs.bits, runs);
            LoopGroup part;
            part.space = g.space;
            part.reductions = rs.reds;
            part.run_count = static_cast<int64_t>(runs.size() / 3);
            part.implied = std::move(rs.implied);
            part.runs_slot = static_cast<int>(spec.leaves.size());
            bound_leaves_.push_back(std::move(runs));
            spec.leaves.push_back(LeafLayout{});
            leaves.push_back(reinterpret_cast<const double*>(bound_leaves_.back().data()));
            out.push_back(std::move(part));
        }
        std::sort(out.begin(), out.end(), [](const LoopGroup& a, const LoopGroup& b) {
            return a.reductions.front()->id < b.reductions.front()->id;
        });
        return out;
    }

    std::deque<std::vector<uint8_t>> byte_leaves_;
    std::deque<std::vector<int64_t>> bound_leaves_;
    const EngineOptions& opts_;
    EngineReport& report_;
    std::unique_ptr<Jit> jit_;
    std::unordered_map<const Node*, std::vector<const Node*>> consumers_;  // by read_after
};

} // namespace

std::vector<rt::Result> run_jit(const ir::Program& program, const Plan& plan, const rt::Dataset* dataset,
                                const EngineOptions& options, EngineReport& report) {
    JitEvaluator engine(program, plan, dataset, options, report);
    std::vector<rt::Result> results = engine.run();
    report.frames_read = engine.frames_read();
    return results;
}

} // namespace tem::compiler
