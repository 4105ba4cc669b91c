//===- compiler/plan.cpp - Pass planning and the kernel IR ---------------===//
//
// This file implements the planner. Outline:
//
//   1. Visit every node reachable from the outputs and the roi, children
//      first, computing its Avail (see plan.h): leaves are ready at pass 0;
//      the dataset element is data-local; an elementwise node is ready when
//      its last child is, and local when a child is local at that pass.
//   2. A reduction with a local child is a pass reduction: it runs in the
//      pass its children are ready in, one stage after its latest frame-local
//      child. A frame-local result is then usable by later stages of the same
//      pass; one reduced over nav only from the next pass on.
//   3. A reduction without a local child reduces materialised values and
//      runs outside the passes, when its children are ready.
//   4. Per pass, collect the maximal static sig-kind and nav-kind
//      subexpressions the reductions read (hoisted / per-frame values).
//
//===----------------------------------------------------------------------===//
#include "compiler/plan.h"

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

namespace tem::compiler {

namespace {

Avail combine(const std::vector<Avail>& children) {
    Avail r;
    for (const Avail& c : children) r.ready = std::max(r.ready, c.ready);
    for (const Avail& c : children) {
        r.data = r.data || c.data;
        if (c.local_stage == Avail::kDataLocal) r.local_stage = std::max(r.local_stage, Avail::kDataLocal);
        else if (c.local_stage >= 0 && c.ready == r.ready) r.local_stage = std::max(r.local_stage, c.local_stage);
    }
    // A child that reads the data is computed in this pass too, even when its
    // own frame-local inputs came from an earlier one (d + sum(d, sig) + sum(d)).
    if (r.data) r.local_stage = std::max(r.local_stage, Avail::kDataLocal);
    return r;
}

} // namespace

Plan plan_program(const ir::Program& program) {
    Plan plan;
    std::vector<ir::NodeRef> roots;
    for (const ir::Output& o : program.outputs) roots.push_back(o.value);
    if (program.roi) roots.push_back(program.roi);
    ir::AxisSet nav = program.nav_axes();
    int num_passes = 0;
    for (const ir::Node* n : ir::topo_order(roots)) {
        std::vector<Avail> kids;
        for (const ir::NodeRef& a : n->args) kids.push_back(plan.avail.at(a.get()));
        Avail a = combine(kids);
        if (n->op == ir::Op::Data) {
            a.data = true;
            a.local_stage = std::max(a.local_stage, Avail::kDataLocal);
        } else if (n->op == ir::Op::Reduce && a.local_stage != Avail::kNotLocal) {
            PassReduction pr;
            pr.node = n;
            pr.pass = a.ready;
            pr.stage = a.local_stage + 1;
            pr.frame_local = (n->reduce_axes & nav) == 0;
            plan.in_pass[n] = pr;
            num_passes = std::max(num_passes, pr.pass + 1);
            a = pr.frame_local ? Avail{pr.pass, pr.stage, false} : Avail{pr.pass + 1, Avail::kNotLocal, false};
        } else if (n->op == ir::Op::Reduce || n->op == ir::Op::Grad) {
            // Needs its operand complete: a per-frame operand is complete after its pass.
            if (a.local_stage >= 0) a.ready += 1;
            a.local_stage = Avail::kNotLocal;
            a.data = false;
        }
        plan.avail[n] = a;
    }
    plan.passes.resize(num_passes);
    for (int p = 0; p < num_passes; ++p) plan.passes[p].index = p;
    std::vector<const ir::Node*> ordered;
    for (const auto& [node, pr] : plan.in_pass) ordered.push_back(node);
    std::sort(ordered.begin(), ordered.end(), [](const ir::Node* a, const ir::Node* b) { return a->id < b->id; });
    for (const ir::Node* n : ordered) {
        const PassReduction& pr = plan.in_pass[n];
        PassPlan& pp = plan.passes[pr.pass];
        if (static_cast<int>(pp.stages.size()) <= pr.stage) pp.stages.resize(pr.stage + 1);
        pp.stages[pr.stage].reductions.push_back(n);
    }
    // Hoisted and per-frame values: maximal non-local subexpressions of the
    // pass reductions' operands that vary over sig only / nav only.
    ir::AxisSet sig = program.sig_axes();
    for (PassPlan& pp : plan.passes) {
        std::set<const ir::Node*> hoisted, per_frame, seen;
        std::function<void(const ir::Node*)> visit = [&](const ir::Node* n) {
            if (!seen.insert(n).second) return;
            const Avail& a = plan.avail.at(n);
            bool local = a.data || a.local_stage == Avail::kDataLocal || (a.local_stage >= 0 && a.ready == pp.index);
            bool materialisable = n->op != ir::Op::Const && n->op != ir::Op::Coord && !local;
            if (materialisable && (n->axes & ~ir::kBinBit) && !(n->axes & nav) && (n->axes & sig)) {
                hoisted.insert(n);
                return;
            }
            if (materialisable && (n->axes & nav) && !(n->axes & sig)) {
                per_frame.insert(n);
                return;
            }
            for (const ir::NodeRef& c : n->args) visit(c.get());
        };
        for (const Stage& st : pp.stages)
            for (const ir::Node* r : st.reductions)
                for (const ir::NodeRef& c : r->args) visit(c.get());
        auto by_id = [](const ir::Node* a, const ir::Node* b) { return a->id < b->id; };
        pp.hoisted.assign(hoisted.begin(), hoisted.end());
        pp.per_frame.assign(per_frame.begin(), per_frame.end());
        std::sort(pp.hoisted.begin(), pp.hoisted.end(), by_id);
        std::sort(pp.per_frame.begin(), pp.per_frame.end(), by_id);
    }
    return plan;
}

namespace {

std::string shape_of(const ir::Program& p, const ir::Node& n) {
    std::string s = "(";
    bool first = true;
    for (size_t i = 0; i < p.axes.size(); ++i) {
        if (!(n.axes & (ir::AxisSet(1) << i))) continue;
        s += (first ? "" : ", ") + p.axes[i].name;
        if (p.axes[i].extent >= 0) s += "=" + std::to_string(p.axes[i].extent);
        first = false;
    }
    if (n.axes & ir::kBinBit) s += (first ? "" : ", ") + std::string("bin=") + std::to_string(n.bins);
    return s + ")";
}

std::string describe(const ir::Program& p, const ir::Node& n, const SourceManager& sm) {
    std::ostringstream os;
    os << "%" << n.id << " = " << ir::reduce_name(n.rop) << " over (" << p.axis_list(n.reduce_axes) << ")";
    if (n.has_where) os << " where";
    if (n.has_by) os << " by bins=" << n.bins;
    ir::Kind k = ir::kind_of(p, n);
    os << " -> " << ir::kind_name(k);
    if (n.axes) os << " " << shape_of(p, n);
    os << " " << dtype_name(n.type);
    if (!n.label.empty()) os << " '" << n.label << "'";
    if (n.range.valid) {
        auto [l, c] = sm.line_col(n.range.file, n.range.begin);
        os << " @" << sm.name(n.range.file) << ":" << l << ":" << c;
    }
    return os.str();
}

} // namespace

std::string print_plan(const Plan& plan, const ir::Program& program, const SourceManager& sm) {
    std::ostringstream os;
    std::string data = program.dataset_name + " " + program.axes_text();
    if (program.geometry_known) {
        os << "dataset " << program.dataset_name << ": nav (";
        auto nav = program.nav_shape(), sig = program.sig_shape();
        for (size_t i = 0; i < nav.size(); ++i) os << (i ? ", " : "") << nav[i];
        os << ") sig (";
        for (size_t i = 0; i < sig.size(); ++i) os << (i ? ", " : "") << sig[i];
        os << ") " << dtype_name(program.dataset_type) << "\n";
    }
    if (program.roi) os << "roi: %" << program.roi->id << " (frames outside are not read)\n";
    for (const PassPlan& pp : plan.passes) {
        size_t count = 0;
        for (const Stage& st : pp.stages) count += st.reductions.size();
        os << "pass " << pp.index << ": reads " << data << ", " << count << " reduction"
           << (count == 1 ? "" : "s") << " in " << pp.stages.size() << " stage" << (pp.stages.size() == 1 ? "" : "s")
           << "\n";
        if (!pp.hoisted.empty()) {
            os << "  hoisted (sig-kind, once per run):";
            for (const ir::Node* n : pp.hoisted) os << " %" << n->id << (n->label.empty() ? "" : " '" + n->label + "'");
            os << "\n";
        }
        if (!pp.per_frame.empty()) {
            os << "  per frame (nav-kind):";
            for (const ir::Node* n : pp.per_frame) os << " %" << n->id << (n->label.empty() ? "" : " '" + n->label + "'");
            os << "\n";
        }
        for (size_t s = 0; s < pp.stages.size(); ++s) {
            os << "  stage " << s << ":\n";
            for (const ir::Node* n : pp.stages[s].reductions) os << "    " << describe(program, *n, sm) << "\n";
        }
    }
    os << "results:\n";
    for (const ir::Output& o : program.outputs) {
        const ir::Node& n = *o.value;
        os << "  " << o.name << ": " << ir::kind_name(ir::kind_of(program, n));
        if (n.axes) os << " " << shape_of(program, n);
        os << " " << dtype_name(n.type);
        auto it = plan.in_pass.find(&n);
        if (it != plan.in_pass.end()) os << ", from pass " << it->second.pass;
        else os << ", computed after " << (plan.passes.empty() ? "binding (no pass)" : "the passes");
        os << "\n";
    }
    os << "passes: " << plan.passes.size() << "\n";
    return os.str();
}

} // namespace tem::compiler
