//===- compiler/evaluator.h - The reference evaluator's machinery --------===//
//
// This file implements the reference evaluator as a class, so that the JIT
// engine can reuse everything around the pass loop (the roi, hoisted and
// materialised values, reductions outside the passes, neighbourhood
// operators, outputs) and replace only run_pass() with compiled kernels.
//
// Outline of a run:
//
//   1. Evaluate the roi over the nav positions (it never depends on data).
//   2. For each pass: materialise the hoisted sig-kind values; then for each
//      partition in order, each frame in the roi, each stage: loop over the
//      non-nav axes each reduction iterates, evaluate where/by/operand at
//      that element and update the reduction's state. Frame-local results
//      are finalised at the end of their stage (later stages read them);
//      nav-reducing states are per partition and merged in partition order.
//   3. Outputs not produced by a pass are evaluated over their axes from the
//      materialised values; reductions outside the passes are materialised on
//      first use.
//   4. Nav-shaped outputs are NaN (float) or 0 (integer) outside the roi.
//
// Every value is a double holding a value of its node's type (lang/ir_eval.h).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/accumulator.h"
#include "compiler/frame_transforms.h"
#include "compiler/plan.h"
#include "lang/ir.h"
#include "lang/ir_eval.h"
#include "runtime/dataset.h"
#include "compiler/run_control.h"
#include "runtime/partition.h"
#include "runtime/writers.h"

#include <algorithm>
#include <unordered_map>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <functional>
#include <unordered_set>
#include <vector>

namespace tem::compiler {

using ir::AxisSet;
using ir::Node;

/// A value materialised over the axes of its node (dataset order, bin last).
struct Materialized {
    std::vector<int> axes;
    std::vector<int64_t> shape, strides;
    std::vector<double> values;
};

struct Env {
    int64_t coord[64] = {};
    const std::byte* frame = nullptr;
};

class Evaluator {
public:
    Evaluator(const ir::Program& p, const Plan& plan, const rt::Dataset* ds)
        : p_(p), plan_(plan), ds_(ds), mats_(p.next_id) {
        nav_ = p.nav_axes();
        if (ds_) {
            sig_strides_ = ds_->sig_strides();
        }
    }

    /// Frames read by the passes so far (a frame read by two passes counts twice).
    int64_t frames_read() const { return frames_read_; }

    /// Lets another thread cancel the run and watch its progress; may be null.
    void set_control(RunControl* control) { control_ = control; }

    std::vector<rt::Result> run() {
        compute_roi();
        for (const PassPlan& pp : plan_.passes) {
            run_pass(pp);
            check_cancel();
        }
        std::vector<rt::Result> results;
        for (const ir::Output& o : p_.outputs) results.push_back(output(o));
        return results;
    }

    virtual ~Evaluator() = default;

protected:
    /// Throws Cancelled when the run's control says so (between partitions).
    void check_cancel() const {
        if (control_) control_->check();
    }

    // ---- layout helpers ----------------------------------------------------

    /// Extent of `axis` in the space of `n`; the bins axis takes its length
    /// from the node or, for a reduction over bins, from its operands.
    int64_t extent(int axis, const Node& n) const {
        if (axis != ir::kBinAxis) return p_.axes[axis].extent;
        if (n.axes & ir::kBinBit) return n.bins;
        for (const ir::NodeRef& a : n.args)
            if (a->axes & ir::kBinBit) return a->bins;
        return 0;
    }

    std::unique_ptr<Materialized> layout(const Node& n, AxisSet axes) const {
        auto m = std::make_unique<Materialized>();
        for (int a = 0; a < 64; ++a)
            if (axes & (AxisSet(1) << a)) m->axes.push_back(a);
        int64_t size = 1;
        m->strides.resize(m->axes.size());
        m->shape.resize(m->axes.size());
        for (size_t i = m->axes.size(); i-- > 0;) {
            m->shape[i] = extent(m->axes[i], n);
            m->strides[i] = size;
            size *= m->shape[i];
        }
        m->values.assign(static_cast<size_t>(size), 0.0);
        return m;
    }

    static int64_t offset(const Materialized& m, const Env& env) {
        int64_t off = 0;
        for (size_t i = 0; i < m.axes.size(); ++i) off += env.coord[m.axes[i]] * m.strides[i];
        return off;
    }

    /// Calls f(env) for every point of `axes` (C order), other coords unchanged.
    template <typename F>
    void for_each_point(const std::vector<int>& axes, const std::vector<int64_t>& shape, Env& env, F&& f) {
        size_t k = axes.size();
        for (size_t i = 0; i < k; ++i) {
            env.coord[axes[i]] = 0;
            if (shape[i] == 0) return;
        }
        while (true) {
            f(env);
            size_t i = k;
            while (i > 0) {
                --i;
                if (++env.coord[axes[i]] < shape[i]) break;
                env.coord[axes[i]] = 0;
                if (i == 0) return;
            }
            if (k == 0) return;
        }
    }

    void axes_and_shape(const Node& n, AxisSet set, std::vector<int>& axes, std::vector<int64_t>& shape) const {
        axes.clear();
        shape.clear();
        for (int a = 0; a < 64; ++a)
            if (set & (AxisSet(1) << a)) {
                axes.push_back(a);
                shape.push_back(extent(a, n));
            }
    }

    bool in_roi(const Env& env) const {
        if (roi_.empty()) return true;
        int64_t f = 0;
        for (size_t i = 0; i < p_.axes.size(); ++i)
            if (p_.axes[i].nav) f = f * p_.axes[i].extent + env.coord[i];
        return roi_[f] != 0;
    }

    // ---- evaluation --------------------------------------------------------

    /// An index value as an integer, or -1 when it lies outside [0, extent)
    /// (checked in floating point: converting a huge value is undefined).
    static int64_t index_value(double v, int64_t extent) {
        double t = std::trunc(v);
        return (t >= 0 && t < static_cast<double>(extent)) ? static_cast<int64_t>(t) : -1;
    }

    double load_data(const Node& n, Env& env) {
        const std::byte* ptr = env.frame;
        size_t sig_index = 0;
        for (size_t i = 0; i < p_.axes.size(); ++i) {
            if (p_.axes[i].nav) continue;
            int64_t c = n.args.empty() ? env.coord[i] : index_value(eval(*n.args[sig_index], env), p_.axes[i].extent);
            if (c < 0 || c >= p_.axes[i].extent) return 0;  // stencil reads outside the frame yield 0
            ptr += c * sig_strides_[sig_index];
            ++sig_index;
        }
        return rt::load_element(ptr, ds_->dtype(), ds_->big_endian());
    }

    double load_array(const Node& n, Env& env) {
        const ir::ArrayInput& arr = p_.arrays[n.array];
        int64_t off = 0;
        for (size_t k = 0; k < arr.axes.size(); ++k) {
            int64_t c = n.args.empty() ? env.coord[arr.axes[k]] : index_value(eval(*n.args[k], env), arr.shape[k]);
            if (c < 0 || c >= arr.shape[k]) return 0;
            off = off * arr.shape[k] + c;
        }
        return (*arr.values)[static_cast<size_t>(off)];
    }

    double eval(const Node& n, Env& env) {
        if (const Materialized* m = mats_[n.id].get()) return m->values[static_cast<size_t>(offset(*m, env))];
        switch (n.op) {
        case ir::Op::Const: return n.value;
        case ir::Op::Coord: return static_cast<double>(env.coord[n.axis]);
        case ir::Op::Data: return load_data(n, env);
        case ir::Op::ArrayRead: return load_array(n, env);
        case ir::Op::Reduce: {
            if (plan_.is_pass_reduction(&n))
                throw std::logic_error("internal error: pass reduction %" + std::to_string(n.id) + " read before its pass");
            materialize_reduction(n);
            return mats_[n.id]->values[static_cast<size_t>(offset(*mats_[n.id], env))];
        }
        case ir::Op::Grad: {
            materialize_grad(n);
            return mats_[n.id]->values[static_cast<size_t>(offset(*mats_[n.id], env))];
        }
        case ir::Op::Select: {
            double c = eval(*n.args[0], env);
            double v = eval(*n.args[c != 0 ? 1 : 2], env);
            return ir::convert(v, n.type);
        }
        default: break;
        }
        double args[3];
        for (size_t i = 0; i < n.args.size(); ++i) args[i] = eval(*n.args[i], env);
        return ir::apply(n, args);
    }

    /// Evaluates a node over all points of its axes into a materialised array.
    void materialize_value(const Node& n) {
        if (mats_[n.id]) return;
        // Shared sig-kind subexpressions are materialised first, once each:
        // the radius under 16 ring masks is computed once per pixel, not 32
        // times. Only shared ones: every frame-sized array is kept for the run.
        std::unordered_set<const Node*> seen;
        std::function<void(const Node&)> shared = [&](const Node& x) {
            for (const ir::NodeRef& a : x.args) {
                if (!seen.insert(a.get()).second || mats_[a->id] || (a->axes & ~n.axes) != 0) continue;
                if (cacheable(*a)) materialize_value(*a);
                else shared(*a);  // `ring` is an `and` of comparisons of the shared radius
            }
        };
        shared(n);
        auto m = layout(n, n.axes);
        std::unordered_set<const Node*> seen_columnar;
        if (columnar(n, seen_columnar)) {
            std::unordered_map<const Node*, std::vector<double>> memo;
            Column c = columns(n, *m, memo);
            for (size_t i = 0; i < m->values.size(); ++i) m->values[i] = c.values[i * c.step];
        } else {
            Env env;
            size_t i = 0;
            for_each_point(m->axes, m->shape, env, [&](Env& e) { m->values[i++] = eval(n, e); });
        }
        mats_[n.id] = std::move(m);
    }

    /// True when every node under `n` that is not materialised yet is a
    /// constant, a coordinate or an elementwise op (nothing that reads data,
    /// arrays or reductions): columns() can evaluate it.
    bool columnar(const Node& n, std::unordered_set<const Node*>& seen) const {
        if (mats_[n.id] || !seen.insert(&n).second) return true;
        if (n.op == ir::Op::Const || n.op == ir::Op::Coord) return true;
        if (!ir::is_elementwise(n.op)) return false;
        for (const ir::NodeRef& a : n.args)
            if (!columnar(*a, seen)) return false;
        return true;
    }

    /// The values of columnar node `n` at every point of layout `m` (C order
    /// of its axes; coordinates of other axes are 0, as for_each_point
    /// leaves them), one node at a time over all points: a per-point walk of
    /// the expression tree costs ~20 ns a point and node, a loop per node a
    /// few. Same results as eval() at each point: the same ir::apply, and a
    /// select's untaken branch is pure, so computing it changes nothing.
    /// The values live in `memo` (or in the materialised array itself).
    /// A constant is one value (step 0), anything else a value per point.
    struct Column {
        const double* values;
        size_t step;
    };
    Column columns(const Node& n, const Materialized& m, std::unordered_map<const Node*, std::vector<double>>& memo) {
        const Materialized* src = mats_[n.id].get();
        if (src && src->axes == m.axes) return {src->values.data(), 1};
        if (!src && n.op == ir::Op::Const) return {&n.value, 0};
        if (auto it = memo.find(&n); it != memo.end()) return {it->second.data(), 1};
        std::vector<double> out(m.values.size());
        if (src || n.op == ir::Op::Coord) {
            // A materialised value over other axes, or a coordinate: looked
            // up at each point.
            Env env;
            size_t i = 0;
            for_each_point(m.axes, m.shape, env, [&](Env& e) {
                out[i++] = src ? src->values[static_cast<size_t>(offset(*src, e))] : static_cast<double>(e.coord[n.axis]);
            });
        } else {
            Column args[3] = {};
            for (size_t k = 0; k < n.args.size(); ++k) args[k] = columns(*n.args[k], m, memo);
            double in[3] = {0, 0, 0};
            for (size_t i = 0; i < out.size(); ++i) {
                for (size_t k = 0; k < n.args.size(); ++k) in[k] = args[k].values[i * args[k].step];
                out[i] = ir::apply(n, in);
            }
        }
        return {memo.emplace(&n, std::move(out)).first->second.data(), 1};
    }

    /// Worth materialising on its own: a computed, sig-kind value that more
    /// than one node reads.
    bool cacheable(const Node& c) {
        switch (c.op) {
        case ir::Op::Const: case ir::Op::Coord: case ir::Op::Data: case ir::Op::ArrayRead:
        case ir::Op::Reduce: case ir::Op::Grad:
            return false;
        default:
            if (c.data || c.axes == 0 || (c.axes & (nav_ | ir::kBinBit)) != 0) return false;
        }
        if (readers_.empty()) {
            std::vector<ir::NodeRef> roots;
            for (const ir::Output& o : p_.outputs) roots.push_back(o.value);
            if (p_.roi) roots.push_back(p_.roi);
            for (const Node* n : ir::topo_order(roots))
                for (const ir::NodeRef& a : n->args) ++readers_[a.get()];
        }
        auto it = readers_.find(&c);
        return it != readers_.end() && it->second > 1;
    }

    static int64_t flat_reduced_index(const Node& r, const Env& env, const std::vector<int>& red_axes,
                                      const std::vector<int64_t>& red_shape) {
        int64_t idx = 0;
        for (size_t i = 0; i < red_axes.size(); ++i) idx = idx * red_shape[i] + env.coord[red_axes[i]];
        return idx;
    }

    /// Result cell of reduction `r` at env (bin from its key), or -1 to drop.
    int64_t cell(const Node& r, const Materialized& m, Env& env) {
        if (r.has_by) {
            double key = eval(**r.by(), env);
            if (!(key >= 0 && key < static_cast<double>(r.bins))) return -1;
            env.coord[ir::kBinAxis] = static_cast<int64_t>(key);
        }
        return offset(m, env);
    }

    /// NumPy's gradient along one axis of the materialised operand: central
    /// differences inside, one-sided first-order differences at the edges,
    /// 0 along an axis of extent 1.
    void materialize_grad(const Node& n) {
        if (mats_[n.id]) return;
        const Node& x = *n.args[0];
        if (x.op == ir::Op::Reduce) materialize_reduction(x);
        else materialize_value(x);
        const Materialized& src = *mats_[x.id];
        auto m = std::make_unique<Materialized>(src);
        size_t k = 0;
        while (k < src.axes.size() && src.axes[k] != n.axis) ++k;
        if (k == src.axes.size()) {
            std::fill(m->values.begin(), m->values.end(), 0.0);  // constant along the axis
        } else {
            int64_t len = src.shape[k], stride = src.strides[k];
            for (size_t i = 0; i < src.values.size(); ++i) {
                int64_t c = (static_cast<int64_t>(i) / stride) % len;
                const double* v = src.values.data() + i;
                double g = 0;
                if (len > 1) {
                    if (c == 0) g = v[stride] - v[0];
                    else if (c == len - 1) g = v[0] - v[-stride];
                    else g = (v[stride] - v[-stride]) / 2;
                }
                m->values[i] = ir::convert(g, n.type);
            }
        }
        mats_[n.id] = std::move(m);
    }

    /// Reduction outside the passes: iterates its whole space on first use.
    void materialize_reduction(const Node& r) {
        if (mats_[r.id]) return;
        auto m = layout(r, r.axes);
        std::vector<AccState> st(m->values.size(), acc_init(r.rop));
        AxisSet space = r.reduce_axes;
        for (const ir::NodeRef& a : r.args) space |= a->axes;
        if (r.has_by) space &= ~ir::kBinBit;
        std::vector<int> axes, red_axes;
        std::vector<int64_t> shape, red_shape;
        axes_and_shape(r, space, axes, shape);
        axes_and_shape(r, r.reduce_axes, red_axes, red_shape);
        bool apply_roi = !roi_.empty() && (space & nav_) == nav_;
        Env env;
        for_each_point(axes, shape, env, [&](Env& e) {
            if (apply_roi && !in_roi(e)) return;
            if (r.has_where && eval(**r.where(), e) == 0) return;
            int64_t c = cell(r, *m, e);
            if (c < 0) return;
            acc_update(r.rop, st[c], eval(*r.operand(), e), flat_reduced_index(r, e, red_axes, red_shape));
        });
        for (size_t i = 0; i < st.size(); ++i) m->values[i] = acc_finalize(r.rop, st[i], r.type);
        mats_[r.id] = std::move(m);
    }

    // ---- passes ------------------------------------------------------------

    void compute_roi() {
        if (!p_.roi) return;
        std::vector<int> axes;
        std::vector<int64_t> shape;
        axes_and_shape(*p_.roi, nav_, axes, shape);
        int64_t frames = 1;
        for (int64_t s : shape) frames *= s;
        roi_.assign(static_cast<size_t>(frames), 0);
        Env env;
        size_t i = 0;
        for_each_point(axes, shape, env, [&](Env& e) { roi_[i++] = eval(*p_.roi, e) != 0 ? 1 : 0; });
    }

    /// The frames pass `pp` reads (1 per frame, C order of nav; empty = all):
    /// the roi, narrowed when every reduction of the pass reduces nav axes
    /// and its `where` has conditions on nav-kind values known before the
    /// pass (`sum(d, nav, where = ry == 3 and rx == 5)` reads one frame).
    /// A frame those conditions exclude would add nothing to any reduction.
    std::vector<uint8_t> pass_frames(const PassPlan& pp) {
        std::vector<uint8_t> keep = narrowed_frames(pp);
        int64_t n = ds_ ? ds_->num_frames() : 0;
        if (!keep.empty()) n = std::count(keep.begin(), keep.end(), uint8_t{1});
        frames_read_ += n;
        return keep;
    }

    std::vector<uint8_t> narrowed_frames(const PassPlan& pp) {
        std::vector<std::vector<const Node*>> filters;
        for (const Stage& st : pp.stages)
            for (const Node* r : st.reductions) {
                if (plan_.in_pass.at(r).frame_local || !r->has_where) return roi_;
                std::vector<const Node*> conditions;
                nav_conditions(**r->where(), pp, conditions);
                if (conditions.empty()) return roi_;
                filters.push_back(std::move(conditions));
            }
        std::vector<int> axes;
        std::vector<int64_t> shape;
        for (size_t i = 0; i < p_.axes.size(); ++i)
            if (p_.axes[i].nav) {
                axes.push_back(static_cast<int>(i));
                shape.push_back(p_.axes[i].extent);
            }
        int64_t frames = 1;
        for (int64_t s : shape) frames *= s;
        std::vector<uint8_t> keep(static_cast<size_t>(frames), 0);
        Env env;
        size_t f = 0;
        for_each_point(axes, shape, env, [&](Env& e) {
            bool any = roi_.empty() || roi_[f] != 0;
            if (any) {
                any = false;
                for (const auto& conditions : filters) {
                    bool all = true;
                    for (const Node* c : conditions) all = all && eval(*c, e) != 0;
                    any = any || all;
                }
            }
            keep[f++] = any ? 1 : 0;
        });
        return keep;
    }

    /// The conjuncts of `n` (split at `and`) that are nav-kind and known
    /// before pass `pp`.
    void nav_conditions(const Node& n, const PassPlan& pp, std::vector<const Node*>& out) const {
        ir::for_each_conjunct(n, [&](const Node& c) {
            if ((c.axes & ~nav_) != 0 || nav_ == 0) return;
            const Avail& a = plan_.avail.at(&c);
            bool in_this_pass = a.data || a.local_stage == Avail::kDataLocal || (a.local_stage >= 0 && a.ready == pp.index);
            if (!in_this_pass && a.ready <= pp.index) out.push_back(&c);
        });
    }

    struct Running {
        const Node* node;
        std::unique_ptr<Materialized> result;   // over node axes
        std::vector<AccState> global, partition, frame;
        std::vector<int> iter_axes, red_axes;
        std::vector<int64_t> iter_shape, red_shape;
        bool frame_local;
        int64_t frame_cells = 1;                // cells per frame (frame-local)
        std::unique_ptr<Materialized> frame_layout;  // over node axes minus nav
    };

    /// Runs one pass over the data; the JIT engine overrides it.
    virtual void run_pass(const PassPlan& pp) {
        for (const ir::Node* h : pp.hoisted) materialize_value(*h);
        for (const ir::Node* v : pp.per_frame) {
            if (v->op == ir::Op::Reduce) materialize_reduction(*v);
            else materialize_value(*v);
        }
        std::vector<std::vector<Running>> stages(pp.stages.size());
        for (size_t s = 0; s < pp.stages.size(); ++s) {
            for (const ir::Node* r : pp.stages[s].reductions) {
                Running run;
                run.node = r;
                run.frame_local = plan_.in_pass.at(r).frame_local;
                run.result = layout(*r, r->axes);
                AxisSet space = r->reduce_axes;
                for (const ir::NodeRef& a : r->args) space |= a->axes;
                if (r->has_by) space &= ~ir::kBinBit;
                axes_and_shape(*r, space & ~nav_, run.iter_axes, run.iter_shape);
                axes_and_shape(*r, r->reduce_axes, run.red_axes, run.red_shape);
                if (run.frame_local) {
                    run.frame_layout = layout(*r, r->axes & ~nav_);
                    run.frame_cells = static_cast<int64_t>(run.frame_layout->values.size());
                    run.frame.assign(run.frame_cells, acc_init(r->rop));
                    // Frames outside the roi keep the "missing" value.
                    double missing = dtype_is_float(r->type) ? std::numeric_limits<double>::quiet_NaN() : 0.0;
                    std::fill(run.result->values.begin(), run.result->values.end(), missing);
                } else {
                    run.global.assign(run.result->values.size(), acc_init(r->rop));
                }
                stages[s].push_back(std::move(run));
            }
        }
        int64_t frames = ds_ ? ds_->num_frames() : 1;
        int64_t frame_bytes = ds_ ? ds_->frame_elems() * static_cast<int64_t>(dtype_size(ds_->dtype())) : 1;
        std::vector<int> nav_axes;
        std::vector<int64_t> nav_shape;
        axes_and_shape(*pp.stages[0].reductions[0], nav_, nav_axes, nav_shape);
        // Frame-local results are written into the materialised array as
        // each frame finishes a stage, so later stages (and passes) read them.
        for (auto& st : stages)
            for (Running& run : st)
                if (run.frame_local) mats_[run.node->id] = std::make_unique<Materialized>(*run.result);
        const std::vector<uint8_t> keep = pass_frames(pp);
        std::vector<std::byte> decoded;  // one frame of a format that is not mapped
        if (ds_ && !ds_->mapped()) decoded.resize(static_cast<size_t>(frame_bytes));
        int64_t block = ds_ ? ds_->block_frames() : 1;
        for (const rt::Partition& part : rt::make_partitions(frames, frame_bytes, rt::kPartitionBytes, block)) {
            check_cancel();
            for (auto& st : stages)
                for (Running& run : st)
                    if (!run.frame_local) run.partition.assign(run.global.size(), acc_init(run.node->rop));
            for (int64_t f = part.first; f < part.first + part.count; ++f) {
                // The reference loop is slow: a partition may take a second,
                // so a cancel is also honoured every 16 frames.
                if ((f & 15) == 0) check_cancel();
                Env env;
                int64_t rest = f;
                for (size_t i = nav_axes.size(); i-- > 0;) {
                    env.coord[nav_axes[i]] = rest % nav_shape[i];
                    rest /= nav_shape[i];
                }
                if (!keep.empty() && keep[static_cast<size_t>(f)] == 0) continue;
                if (!ds_) {
                    env.frame = nullptr;
                } else if (ds_->mapped()) {
                    env.frame = ds_->frame(f);
                } else {
                    ds_->read_frames(f, 1, decoded.data());
                    env.frame = decoded.data();
                }
                for (auto& st : stages) {
                    for (Running& run : st) run_frame(run, env);
                    for (Running& run : st)
                        if (run.frame_local) finish_frame(run, env);
                }
            }
            for (auto& st : stages)
                for (Running& run : st)
                    if (!run.frame_local)
                        for (size_t i = 0; i < run.global.size(); ++i)
                            acc_merge(run.node->rop, run.global[i], run.partition[i]);
            if (control_) control_->partition_finished(part.count);
        }
        for (auto& st : stages)
            for (Running& run : st) {
                if (run.frame_local) continue;
                for (size_t i = 0; i < run.global.size(); ++i)
                    run.result->values[i] = acc_finalize(run.node->rop, run.global[i], run.node->type);
                mats_[run.node->id] = std::move(run.result);
            }
    }

    void run_frame(Running& run, Env& env) {
        const Node& r = *run.node;
        std::vector<AccState>& states = run.frame_local ? run.frame : run.partition;
        const Materialized& cells = run.frame_local ? *run.frame_layout : *run.result;
        if (run.frame_local) std::fill(states.begin(), states.end(), acc_init(r.rop));
        // The flat index of argmin/argmax counts over all reduced axes, nav
        // axes (fixed for this frame) included.
        for_each_point(run.iter_axes, run.iter_shape, env, [&](Env& e) {
            if (r.has_where && eval(**r.where(), e) == 0) return;
            int64_t c = cell(r, cells, e);
            if (c < 0) return;
            acc_update(r.rop, states[c], eval(*r.operand(), e), flat_reduced_index(r, e, run.red_axes, run.red_shape));
        });
    }

    void finish_frame(Running& run, Env& env) {
        const Node& r = *run.node;
        Materialized& out = *mats_[r.id];
        if (ir::is_fft(r.rop)) transform_frame(run);
        // Copy each per-frame cell into the frame's slot of the result.
        std::vector<int> axes = run.frame_layout->axes;
        size_t i = 0;
        for_each_point(axes, run.frame_layout->shape, env, [&](Env& e) {
            out.values[static_cast<size_t>(offset(out, e))] = acc_finalize(r.rop, run.frame[i++], r.type);
        });
    }

    /// Replaces the collected pixels of a frame transform by the chosen part
    /// of their fftshift-ed fft2 (the cells are the sig axes in C order).
    void transform_frame(Running& run) {
        const std::vector<int64_t>& shape = run.frame_layout->shape;
        std::vector<double> values(run.frame.size());
        for (size_t i = 0; i < values.size(); ++i) values[i] = run.frame[i].a;
        fft2_part(values.data(), shape.at(0), shape.at(1), fft_part(run.node->rop));
        for (size_t i = 0; i < values.size(); ++i) run.frame[i].a = values[i];
    }

    // ---- outputs -----------------------------------------------------------

    rt::Result output(const ir::Output& o) {
        const Node& n = *o.value;
        if (!mats_[n.id]) {
            if (n.op == ir::Op::Reduce) materialize_reduction(n);
            else if (n.op == ir::Op::Grad) materialize_grad(n);
            else materialize_value(n);
        }
        const Materialized& m = *mats_[n.id];
        rt::Result r;
        r.name = o.name;
        r.dtype = n.type;
        r.shape = m.shape;
        r.values = m.values;
        if (!roi_.empty() && (n.axes & nav_) == nav_ && nav_ != 0) {
            double missing = dtype_is_float(n.type) ? std::numeric_limits<double>::quiet_NaN() : 0.0;
            Env env;
            size_t i = 0;
            for_each_point(m.axes, m.shape, env, [&](Env& e) {
                if (!in_roi(e)) r.values[i] = missing;
                ++i;
            });
        }
        return r;
    }

    const ir::Program& p_;
    const Plan& plan_;
    const rt::Dataset* ds_;
    std::vector<std::unique_ptr<Materialized>> mats_;  // by node id
    std::vector<uint8_t> roi_;                        // per frame, C order of nav
    RunControl* control_ = nullptr;                   // set_control(); may be null
    int64_t frames_read_ = 0;                         // frames the passes read, summed over passes
    std::unordered_map<const Node*, int> readers_;    // nodes reading each node (cacheable())
    std::vector<int64_t> sig_strides_;
    AxisSet nav_ = 0;
};

} // namespace tem::compiler
