//===- lang/sema.cpp - Name resolution, inlining, kinds and types --------===//
//
// This file implements semantic analysis. Outline:
//
//   1. Statements are processed in order; each defines names in the global
//      scope (axes, inputs, params, lets, fns, outs). Modules loaded with
//      `use` define names in an outer scope that user names may shadow.
//   2. Expressions are lowered to IR nodes. A `fn` call lowers its arguments
//      in the caller's scope and its body in a scope of its parameters over
//      the global one, so inlining is substitution of shared nodes.
//   3. Constant operands are folded with the same element semantics the
//      reference evaluator uses (lang/ir_eval.h).
//   4. Kinds are checked where the language restricts them: outputs may not
//      be frame-kind, `roi` must be nav-kind bool and independent of the data.
//
// Errors are reported to the sink and lowering returns null, which callers
// pass through silently, so one mistake is reported once.
//
//===----------------------------------------------------------------------===//
#include "lang/sema.h"

#include "lang/ir_eval.h"
#include "lang/parser.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <unordered_map>

namespace tem {

using ir::AxisSet;
using ir::NodeRef;
using ir::Op;

std::vector<std::string> default_axis_names(int nav_rank, int sig_rank) {
    std::vector<std::string> names;
    switch (nav_rank) {
    case 0: break;
    case 1: names = {"n"}; break;
    case 2: names = {"ry", "rx"}; break;
    case 3: names = {"rz", "ry", "rx"}; break;
    default:
        for (int i = 0; i < nav_rank; ++i) names.push_back("r" + std::to_string(i));
    }
    switch (sig_rank) {
    case 1: names.push_back("q"); break;
    case 2: names.push_back("qy"); names.push_back("qx"); break;
    case 3: names.push_back("qz"); names.push_back("qy"); names.push_back("qx"); break;
    default:
        for (int i = 0; i < sig_rank; ++i) names.push_back("q" + std::to_string(i));
    }
    return names;
}

namespace {

struct MathFn {
    const char* name;
    int arity;
    Op op;
};

constexpr MathFn kMath[] = {
    {"abs", 1, Op::Abs},     {"sqrt", 1, Op::Sqrt},   {"exp", 1, Op::Exp},
    {"log", 1, Op::Log},     {"log1p", 1, Op::Log1p}, {"sin", 1, Op::Sin},
    {"cos", 1, Op::Cos},     {"tan", 1, Op::Tan},     {"asin", 1, Op::Asin},
    {"acos", 1, Op::Acos},   {"atan", 1, Op::Atan},   {"floor", 1, Op::Floor},
    {"ceil", 1, Op::Ceil},   {"round", 1, Op::Round}, {"isnan", 1, Op::IsNan},
    {"atan2", 2, Op::Atan2}, {"hypot", 2, Op::Hypot},
};

struct ReduceFn {
    const char* name;
    ir::ReduceOp op;
};

constexpr ReduceFn kReductions[] = {
    {"sum", ir::ReduceOp::Sum},       {"mean", ir::ReduceOp::Mean},   {"min", ir::ReduceOp::Min},
    {"max", ir::ReduceOp::Max},       {"var", ir::ReduceOp::Var},     {"std", ir::ReduceOp::Std},
    {"count", ir::ReduceOp::Count},   {"any", ir::ReduceOp::Any},     {"all", ir::ReduceOp::All},
    {"argmin", ir::ReduceOp::Argmin}, {"argmax", ir::ReduceOp::Argmax},
};

enum class SymKind { Axis, Dataset, Array, Param, Let, Out, Fn, Module };

struct Symbol {
    SymKind kind;
    SourceRange decl;
    NodeRef node;               // Param/Let/Out value
    int index = -1;             // Axis: axis index; Array: array index
    const ast::Stmt* fn = nullptr;
    bool from_module = false;   // Fn: defined by a `use`d module (resolves in module scope first)
    bool poisoned = false;      // its definition failed (reported); uses stay silent
};

const char* sym_kind_name(SymKind k) {
    switch (k) {
    case SymKind::Axis: return "an axis";
    case SymKind::Dataset: return "the dataset";
    case SymKind::Array: return "an input";
    case SymKind::Param: return "a param";
    case SymKind::Let: return "a let";
    case SymKind::Out: return "an out";
    case SymKind::Fn: return "a function";
    case SymKind::Module: return "a module";
    }
    return "a name";
}

using Scope = std::unordered_map<std::string, Symbol>;

class Sema {
public:
    Sema(SourceManager& sm, DiagnosticSink& diags, InputProvider& inputs, const SemaOptions& opts)
        : sm_(sm), diags_(diags), inputs_(inputs), opts_(opts) {}

    std::optional<ir::Program> run(const ast::Script& script) {
        for (const auto& [name, value] : opts_.param_overrides) overrides_[name] = value;
        if (opts_.eval_mode) {
            bool declares_input = std::any_of(script.stmts.begin(), script.stmts.end(),
                                              [](const auto& s) { return s->kind == ast::StmtKind::Input; });
            if (!declares_input) {
                implicit_input_ = std::make_unique<ast::Stmt>(ast::StmtKind::Input, SourceRange{});
                implicit_input_->name.name = "d";
                input_stmt(*implicit_input_);
            }
            use_module("stem", SourceRange{});
        }
        for (const auto& s : script.stmts) statement(*s, global_);
        for (const auto& [name, value] : opts_.param_overrides) {
            if (used_overrides_.count(name)) continue;
            std::vector<std::string> names;
            for (const auto& [n, sym] : global_)
                if (sym.kind == SymKind::Param) names.push_back(n);
            std::sort(names.begin(), names.end());
            std::string list;
            for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
            diags_.error(SourceRange{}, "--set " + name + ": the script has no param '" + name + "'" +
                                            (list.empty() ? std::string(" (it declares none)")
                                                          : "; its params are: " + list));
        }
        if (diags_.has_errors()) return std::nullopt;
        if (prog_.outputs.empty() && !opts_.eval_mode)
            diags_.warning(SourceRange{}, "the script declares no 'out': nothing will be computed");
        return std::move(prog_);
    }

private:
    // ---- statements --------------------------------------------------------

    void statement(const ast::Stmt& s, Scope& scope) {
        switch (s.kind) {
        case ast::StmtKind::Input: input_stmt(s); break;
        case ast::StmtKind::Param: param_stmt(s, scope); break;
        case ast::StmtKind::Let: {
            NodeRef v = lower(*s.value);
            if (v) define(scope, s.name, Symbol{SymKind::Let, s.name.range, ir::with_label(prog_, v, s.name.name)});
            else poison(scope, s.name, SymKind::Let);
            break;
        }
        case ast::StmtKind::Fn: {
            std::set<std::string> seen;
            for (const auto& p : s.params)
                if (!seen.insert(p.name).second)
                    diags_.error(p.range, "parameter '" + p.name + "' appears twice");
            Symbol sym{SymKind::Fn, s.name.range, nullptr};
            sym.fn = &s;
            sym.from_module = &scope == &module_scope_;
            define(scope, s.name, sym);
            break;
        }
        case ast::StmtKind::Roi: roi_stmt(s); break;
        case ast::StmtKind::Out: out_stmt(s, s.name.name, s.name.range); break;
        case ast::StmtKind::Assign: out_stmt(s, s.name.name, s.name.range); break;
        case ast::StmtKind::Bare: out_stmt(s, "result", s.range); break;
        case ast::StmtKind::Use: use_module(s.name.name, s.name.range); break;
        }
    }

    /// Defines a name whose definition failed (already reported), so that its
    /// uses report nothing more.
    void poison(Scope& scope, const ast::Ident& name, SymKind kind) {
        if (scope.count(name.name)) return;
        Symbol sym{kind, name.range};
        sym.poisoned = true;
        scope.emplace(name.name, std::move(sym));
    }

    bool define(Scope& scope, const ast::Ident& name, Symbol sym) {
        auto it = scope.find(name.name);
        if (it != scope.end()) {
            diags_.error(name.range, "'" + name.name + "' is already defined as " +
                                         sym_kind_name(it->second.kind));
            if (it->second.decl.valid) diags_.note(it->second.decl, "'" + name.name + "' defined here");
            return false;
        }
        scope.emplace(name.name, std::move(sym));
        return true;
    }

    void use_module(const std::string& name, SourceRange range) {
        if (loaded_modules_.count(name)) return;
        std::optional<std::string> text = inputs_.module_source(name);
        if (!text) {
            diags_.error(range, "unknown module '" + name + "'; the standard library has: stem");
            return;
        }
        loaded_modules_.insert(name);
        bool saved_mode = in_module_;
        in_module_ = true;
        uint32_t file = sm_.add(name + ".tem", *text);
        auto script = std::make_unique<ast::Script>(parse(sm_, file, diags_));
        for (const auto& s : script->stmts) {
            if (s->kind != ast::StmtKind::Fn && s->kind != ast::StmtKind::Let &&
                s->kind != ast::StmtKind::Use && s->kind != ast::StmtKind::Param) {
                diags_.error(s->range, "a module may only define fn, let and param");
                continue;
            }
            statement(*s, module_scope_);
        }
        modules_.push_back(std::move(script));
        in_module_ = saved_mode;
    }

    void input_stmt(const ast::Stmt& s) {
        bool is_dataset = !prog_.has_dataset || s.has_bar;
        if (prog_.has_dataset && s.has_bar) {
            diags_.error(s.range, "only one dataset input per script; '" + prog_.dataset_name +
                                      "' is the dataset, other inputs are arrays");
            return;
        }
        std::string path;
        if (auto bound = inputs_.bound_path(s.name.name)) path = *bound;
        else if (s.has_default_path) path = s.default_path;
        if (is_dataset) dataset_input(s, path);
        else array_input(s, path);
    }

    void dataset_input(const ast::Stmt& s, const std::string& path) {
        prog_.has_dataset = true;
        prog_.dataset_name = s.name.name;
        prog_.dataset_path = path;
        std::optional<DatasetGeometry> geo;
        if (!path.empty()) geo = inputs_.open_dataset(s.name.name, path);
        else if (opts_.require_inputs) {
            diags_.error(s.range.valid ? s.name.range : SourceRange{},
                         "input '" + s.name.name + "' has no data; bind it on the command line: " +
                             s.name.name + "=PATH");
        }
        int nav_rank, sig_rank;
        if (geo) {
            nav_rank = static_cast<int>(geo->nav.size());
            sig_rank = static_cast<int>(geo->sig.size());
            prog_.dataset_type = geo->dtype;
            prog_.geometry_known = true;
            prog_.inputs.emplace_back(s.name.name, geo->path.empty() ? path : geo->path);
        } else if (s.has_axes && s.has_bar) {
            nav_rank = static_cast<int>(s.nav_axes.size());
            sig_rank = static_cast<int>(s.sig_axes.size());
        } else if (s.has_axes) {
            sig_rank = std::min<int>(2, static_cast<int>(s.sig_axes.size()));
            nav_rank = static_cast<int>(s.sig_axes.size()) - sig_rank;
        } else {
            nav_rank = 2;
            sig_rank = 2;
        }
        std::vector<std::string> names = default_axis_names(nav_rank, sig_rank);
        std::vector<ast::Ident> given;
        if (s.has_axes) {
            given = s.nav_axes;
            given.insert(given.end(), s.sig_axes.begin(), s.sig_axes.end());
            if (s.has_bar && geo &&
                (static_cast<int>(s.nav_axes.size()) != nav_rank || static_cast<int>(s.sig_axes.size()) != sig_rank)) {
                diags_.error(s.range, "input '" + s.name.name + "' names " + std::to_string(s.nav_axes.size()) +
                                          " nav and " + std::to_string(s.sig_axes.size()) + " sig axes, but " +
                                          path + " has " + std::to_string(nav_rank) + " nav and " +
                                          std::to_string(sig_rank) + " sig axes");
                given.clear();
            } else if (!s.has_bar && static_cast<int>(given.size()) != nav_rank + sig_rank) {
                diags_.error(s.range, "input '" + s.name.name + "' names " + std::to_string(given.size()) +
                                          " axes, but " + path + " has " + std::to_string(nav_rank + sig_rank));
                given.clear();
            }
            for (size_t i = 0; i < given.size(); ++i) names[i] = given[i].name;
        }
        if (nav_rank + sig_rank > ir::kMaxDatasetAxes) {
            diags_.error(s.range, "datasets may have at most 16 axes");
            return;
        }
        for (int i = 0; i < nav_rank + sig_rank; ++i) {
            ir::AxisInfo a;
            a.name = names[i];
            a.nav = i < nav_rank;
            if (geo) a.extent = a.nav ? geo->nav[i] : geo->sig[i - nav_rank];
            prog_.axes.push_back(a);
            SourceRange r = i < static_cast<int>(given.size()) ? given[i].range : s.name.range;
            define(global_, ast::Ident{a.name, r}, Symbol{SymKind::Axis, r, nullptr, i});
        }
        prog_.nav_rank = nav_rank;
        define(global_, s.name, Symbol{SymKind::Dataset, s.name.range});
    }

    /// Binds an array input; when that fails (after reporting why), the name
    /// is still defined, poisoned, so its uses report nothing more.
    void array_input(const ast::Stmt& s, const std::string& path) {
        size_t before = prog_.arrays.size();
        // Without the dataset's geometry the array cannot be checked; the
        // missing dataset was reported already.
        // (tem check without data checks names and kinds only: arrays are not read.)
        if (prog_.geometry_known || !opts_.require_inputs) bind_array(s, prog_.geometry_known ? path : std::string());
        if (prog_.arrays.size() == before && !global_.count(s.name.name)) {
            Symbol sym{SymKind::Array, s.name.range};
            sym.poisoned = true;
            define(global_, s.name, sym);
        }
    }

    void bind_array(const ast::Stmt& s, const std::string& path) {
        ir::ArrayInput arr;
        arr.name = s.name.name;
        arr.path = path;
        arr.range = s.range;
        std::optional<ArrayData> data;
        if (!path.empty()) {
            try {
                data = inputs_.load_array(s.name.name, path);
            } catch (const std::exception& e) {
                // Point at the default path in the script when that is where it came from.
                if (!s.has_default_path || path != s.default_path) throw;
                std::string what = e.what();
                size_t cut = what.find(": error: ");
                diags_.error(s.default_path_range, "cannot read input '" + s.name.name + "' from '" + path + "': " +
                                                       (cut == std::string::npos ? what : what.substr(cut + 9)));
                return;
            }
        }
        else if (opts_.require_inputs) {
            diags_.error(s.name.range, "input '" + s.name.name + "' has no data; give it a default path (input " +
                                           s.name.name + " = \"FILE.npy\") or bind it: " + s.name.name + "=PATH");
            return;
        }
        if (s.has_bar) return;  // reported in input_stmt
        std::vector<int> axes;
        bool ok = true;
        for (const auto& id : s.sig_axes) {
            auto it = global_.find(id.name);
            if (it == global_.end() || it->second.kind != SymKind::Axis) {
                diags_.error(id.range, "'" + id.name + "' is not an axis of '" + prog_.dataset_name +
                                           "'; its axes are " + prog_.axes_text());
                ok = false;
                continue;
            }
            axes.push_back(it->second.index);
        }
        if (!ok) return;
        if (data) {
            arr.shape = data->shape;
            arr.dtype = data->dtype;
            arr.values = data->values;
            prog_.inputs.emplace_back(s.name.name, data->path.empty() ? path : data->path);
            std::vector<int64_t> nav = prog_.nav_shape(), sig = prog_.sig_shape();
            if (s.has_axes) {
                if (axes.size() != arr.shape.size()) {
                    diags_.error(s.range, "input '" + s.name.name + "' names " + std::to_string(axes.size()) +
                                              (axes.size() == 1 ? " axis, but " : " axes, but ") + path + " has " + std::to_string(arr.shape.size()) +
                                              " dimensions " + shape_text(arr.shape));
                    return;
                }
                for (size_t k = 0; k < axes.size(); ++k) {
                    int64_t want = prog_.axes[axes[k]].extent;
                    if (want >= 0 && want != arr.shape[k]) {
                        diags_.error(s.sig_axes[k].range,
                                     "input '" + s.name.name + "': axis '" + prog_.axes[axes[k]].name + "' has extent " +
                                         std::to_string(want) + ", but dimension " + std::to_string(k) + " of " + path +
                                         " (shape " + shape_text(arr.shape) + ") has " + std::to_string(arr.shape[k]));
                        return;
                    }
                }
            } else {
                bool is_sig = arr.shape == sig && !sig.empty();
                bool is_nav = arr.shape == nav && !nav.empty();
                if (is_sig && is_nav) {
                    diags_.error(s.range, "array '" + s.name.name + "' has shape " + shape_text(arr.shape) +
                                              ", which is both the nav and the sig shape; name its axes, e.g. input " +
                                              s.name.name + "[" + prog_.axis_list(prog_.sig_axes()) + "]");
                    return;
                }
                if (!is_sig && !is_nav) {
                    diags_.error(s.range, "array '" + s.name.name + "' has shape " + shape_text(arr.shape) +
                                              ", which is neither the sig shape " + shape_text(sig) +
                                              " nor the nav shape " + shape_text(nav) + " of '" + prog_.dataset_name + "'");
                    return;
                }
                AxisSet set = is_sig ? prog_.sig_axes() : prog_.nav_axes();
                axes.clear();
                for (size_t i = 0; i < prog_.axes.size(); ++i)
                    if (set & (AxisSet(1) << i)) axes.push_back(static_cast<int>(i));
            }
        } else if (!s.has_axes) {
            // No data (tem check): assume a sig-shaped array.
            for (size_t i = 0; i < prog_.axes.size(); ++i)
                if (!prog_.axes[i].nav) axes.push_back(static_cast<int>(i));
        }
        if (!data)
            for (int a : axes) arr.shape.push_back(prog_.axes[a].extent);
        arr.axes = axes;
        prog_.arrays.push_back(std::move(arr));
        Symbol sym{SymKind::Array, s.name.range};
        sym.index = static_cast<int>(prog_.arrays.size() - 1);
        define(global_, s.name, sym);
    }

    static std::string shape_text(const std::vector<int64_t>& shape) {
        std::string s = "(";
        for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
        if (shape.size() == 1) s += ",";
        return s + ")";
    }

    void param_stmt(const ast::Stmt& s, Scope& scope) {
        NodeRef v;
        auto ov = overrides_.find(s.name.name);
        if (ov != overrides_.end() && &scope == &global_) {
            used_overrides_.insert(s.name.name);
            v = parse_override(s.name.name, ov->second);
            if (!v) return poison(scope, s.name, SymKind::Param);
        } else {
            v = lower(*s.value);
            if (!v) return poison(scope, s.name, SymKind::Param);
            if (v->op != Op::Const) {
                diags_.error(s.value->range, "param '" + s.name.name +
                                                 "' must be a constant (numbers, other params, arithmetic); use 'let' for expressions");
                return poison(scope, s.name, SymKind::Param);
            }
        }
        Node copy = *v;
        copy.literal = copy.type != DType::Bool;
        copy.label = s.name.name;
        NodeRef node = ir::make_const(prog_, copy.value, copy.type, copy.literal);
        node = ir::with_label(prog_, node, s.name.name);
        if (&scope == &global_) prog_.params.emplace_back(s.name.name, value_text(*node));
        define(scope, s.name, Symbol{SymKind::Param, s.name.range, node});
    }

    using Node = ir::Node;

    static std::string value_text(const Node& n) {
        if (n.type == DType::Bool) return n.value != 0 ? "true" : "false";
        char buf[64];
        if (dtype_is_int(n.type)) std::snprintf(buf, sizeof buf, "%.0f", n.value);
        else std::snprintf(buf, sizeof buf, "%.17g", n.value);
        return buf;
    }

    NodeRef parse_override(const std::string& name, const std::string& text) {
        if (text == "true" || text == "false") return ir::make_const(prog_, text == "true" ? 1 : 0, DType::Bool);
        char* end = nullptr;
        errno = 0;
        long long iv = std::strtoll(text.c_str(), &end, 10);
        if (!text.empty() && *end == '\0' && errno == 0)
            return ir::make_const(prog_, static_cast<double>(iv), DType::I64, true);
        double dv = std::strtod(text.c_str(), &end);
        if (!text.empty() && *end == '\0' && std::isfinite(dv))
            return ir::make_const(prog_, dv, DType::F64, true);
        diags_.error(SourceRange{}, "--set " + name + "=" + text + ": expected a number, true or false");
        return nullptr;
    }

    void roi_stmt(const ast::Stmt& s) {
        NodeRef v = lower(*s.value);
        if (!v) return;
        ir::Kind k = ir::kind_of(prog_, *v);
        if (v->type != DType::Bool) {
            diags_.error(s.value->range, std::string("roi must be a bool (a comparison), not ") +
                                             std::string(dtype_name(v->type)));
            return;
        }
        if (k == ir::Kind::Sig || k == ir::Kind::Frame) {
            diags_.error(s.value->range, std::string("roi must be nav-kind (it selects scan positions), but this is ") +
                                             ir::kind_name(k) + "-kind" +
                                             (k == ir::Kind::Sig ? "; to select pixels use 'where =' in a reduction" : ""));
            return;
        }
        if (v->axes & ir::kBinBit) {
            diags_.error(s.value->range, "roi cannot depend on a grouped reduction");
            return;
        }
        for (const Node* n : ir::topo_order({v}))
            if (n->op == Op::Reduce && depends_on_data(*n)) {
                diags_.error(s.value->range, "roi must not depend on the data: it decides which frames are read");
                return;
            }
        prog_.roi = prog_.roi ? ir::make_binary(prog_, Op::And, prog_.roi, v, DType::Bool) : v;
    }

    static bool depends_on_data(const Node& n) {
        for (const Node* m : ir::topo_order({std::make_shared<const Node>(n)}))
            if (m->data) return true;
        return false;
    }

    void out_stmt(const ast::Stmt& s, const std::string& name, SourceRange name_range) {
        NodeRef v = lower(*s.value);
        if (!v) {
            if (s.kind != ast::StmtKind::Bare) poison(global_, ast::Ident{name, name_range}, SymKind::Out);
            return;
        }
        // Partial reductions such as sum(d, (qx)) may be stored; what cannot is a
        // value for every element of the data.
        ir::AxisSet everything = prog_.all_axes();
        if (v->data || ((v->axes & everything) == everything && prog_.nav_rank > 0)) {
            diags_.error(s.value->range,
                         "'" + name + "' is frame-kind: it has a value for every pixel of every frame and cannot be stored; "
                         "reduce it (sum(..., nav) gives a frame, sum(..., sig) a scan image) or use pick(d, ry, rx) for one raw frame");
            return;
        }
        for (const auto& o : prog_.outputs)
            if (o.name == name) {
                diags_.error(name_range, "result '" + name + "' is defined twice");
                diags_.note(o.range, "first defined here");
                return;
            }
        NodeRef labeled = ir::with_label(prog_, v, name);
        prog_.outputs.push_back(ir::Output{name, labeled, name_range});
        if (s.kind != ast::StmtKind::Bare)
            define(global_, ast::Ident{name, name_range}, Symbol{SymKind::Out, name_range, labeled});
    }

    // ---- expressions -------------------------------------------------------

    const Symbol* lookup(const std::string& name) {
        for (auto it = locals_.rbegin(); it != locals_.rend(); ++it) {
            auto f = it->find(name);
            if (f != it->end()) return &f->second;
        }
        // Module code resolves its own names first, so a user's `disk` never
        // replaces the one a stdlib function calls.
        Scope* first = in_module_ ? &module_scope_ : &global_;
        Scope* second = in_module_ ? &global_ : &module_scope_;
        auto f = first->find(name);
        if (f != first->end()) return &f->second;
        auto g = second->find(name);
        if (g != second->end()) return &g->second;
        return nullptr;
    }

    std::vector<std::string> visible_names() {
        std::vector<std::string> names;
        for (const auto& l : locals_)
            for (const auto& [n, _] : l) names.push_back(n);
        for (const auto& [n, _] : global_) names.push_back(n);
        for (const auto& [n, _] : module_scope_) names.push_back(n);
        for (const auto& n : builtin_names()) names.push_back(n);
        return names;
    }

    void unknown_name(const std::string& name, SourceRange range) {
        std::string msg = "unknown name '" + name + "'";
        std::string close = closest_name(name, visible_names());
        if (!close.empty()) msg += "; did you mean '" + close + "'?";
        diags_.error(range, msg);
    }

    NodeRef fold(NodeRef n) {
        if (!ir::is_elementwise(n->op)) return n;
        std::vector<double> vals;
        bool literal = true;
        for (const NodeRef& a : n->args) {
            if (a->op != Op::Const) return n;
            vals.push_back(a->value);
            literal = literal && a->literal;
        }
        double v = ir::apply(*n, vals.data());
        // A cast gives its value a definite type: i64(3) is not a weak literal.
        return ir::make_const(prog_, v, n->type, literal && n->type != DType::Bool && n->op != Op::Cast);
    }

    NodeRef unary(Op op, NodeRef a, DType type) { return fold(ir::make_unary(prog_, op, std::move(a), type)); }
    NodeRef binary(Op op, NodeRef a, NodeRef b, DType type) {
        return fold(ir::make_binary(prog_, op, std::move(a), std::move(b), type));
    }

    bool check_bins(const NodeRef& a, const NodeRef& b, SourceRange range) {
        if ((a->axes & ir::kBinBit) && (b->axes & ir::kBinBit) && a->bins != b->bins) {
            diags_.error(range, "cannot combine grouped results with " + std::to_string(a->bins) + " and " +
                                    std::to_string(b->bins) + " bins");
            return false;
        }
        return true;
    }

    NodeRef lower(const ast::Expr& e) {
        switch (e.kind) {
        case ast::ExprKind::Number:
            return e.is_int ? ir::make_const(prog_, static_cast<double>(e.int_value), DType::I64, true)
                            : ir::make_const(prog_, e.number, DType::F64, true);
        case ast::ExprKind::Bool: return ir::make_const(prog_, e.bool_value ? 1 : 0, DType::Bool);
        case ast::ExprKind::String:
            diags_.error(e.range, "a string is only allowed as an input's default path");
            return nullptr;
        case ast::ExprKind::Tuple:
            diags_.error(e.range, "a parenthesized list is only allowed as the axes of a reduction, e.g. sum(d, (qy, qx))");
            return nullptr;
        case ast::ExprKind::Name: return name_expr(e);
        case ast::ExprKind::Unary: {
            NodeRef a = lower(*e.args[0]);
            if (!a) return nullptr;
            if (e.op == ast::Op::Pos) return a;
            if (e.op == ast::Op::Not) return unary(Op::Not, a, DType::Bool);
            DType t = a->type;
            if (t == DType::Bool || dtype_is_int(t)) t = t == DType::U64 ? DType::U64 : DType::I64;
            NodeRef r = ir::make_unary(prog_, Op::Neg, a, t);
            NodeRef f = fold(r);
            return f;
        }
        case ast::ExprKind::Binary: return binary_expr(e);
        case ast::ExprKind::If: {
            NodeRef c = lower(*e.args[0]), a = lower(*e.args[1]), b = lower(*e.args[2]);
            if (!c || !a || !b) return nullptr;
            if (!check_bins(a, b, e.range) || !check_bins(c, a, e.range)) return nullptr;
            DType t = (a->type == DType::Bool && b->type == DType::Bool) ? DType::Bool : ir::arith_type(*a, *b);
            if (c->op == Op::Const) return c->value != 0 ? a : b;
            return ir::make_select(prog_, c, a, b, t);
        }
        case ast::ExprKind::Call: return call_expr(e);
        case ast::ExprKind::Index: return index_expr(e);
        }
        return nullptr;
    }

    /// Module code is written with the default axis names; when the script
    /// renamed its axes (input d[y, x | ky, kx]), qy/qx mean the last two sig
    /// axes and ry/rx the last two nav axes.
    int conventional_axis(const std::string& name) const {
        std::vector<int> nav, sig;
        for (size_t i = 0; i < prog_.axes.size(); ++i) (prog_.axes[i].nav ? nav : sig).push_back(static_cast<int>(i));
        auto from_end = [](const std::vector<int>& v, size_t k) { return v.size() > k ? v[v.size() - 1 - k] : -1; };
        if (name == "qx") return from_end(sig, 0);
        if (name == "qy") return from_end(sig, 1);
        if (name == "rx") return from_end(nav, 0);
        if (name == "ry") return from_end(nav, 1);
        return -1;
    }

    NodeRef name_expr(const ast::Expr& e) {
        const Symbol* sym = lookup(e.name);
        if (!sym && in_module_) {
            int axis = conventional_axis(e.name);
            if (axis >= 0) return ir::make_coord(prog_, axis);
        }
        if (!sym) {
            if (e.name == "sig" || e.name == "nav" || e.name == "all")
                diags_.error(e.range, "'" + e.name + "' names axes and is only allowed as the axes of a reduction, e.g. sum(d, " + e.name + ")");
            else unknown_name(e.name, e.range);
            return nullptr;
        }
        if (sym->poisoned) return nullptr;
        switch (sym->kind) {
        case SymKind::Axis: return ir::make_coord(prog_, sym->index);
        case SymKind::Dataset: {
            auto n = ir::make_data(prog_, {}, prog_.all_axes(), prog_.dataset_type);
            return with_range(n, e.range);
        }
        case SymKind::Array: {
            const ir::ArrayInput& arr = prog_.arrays[sym->index];
            AxisSet axes = 0;
            for (int a : arr.axes) axes |= AxisSet(1) << a;
            return with_range(ir::make_array_read(prog_, sym->index, {}, axes, arr.dtype), e.range);
        }
        case SymKind::Param: case SymKind::Let: case SymKind::Out: return sym->node;
        case SymKind::Fn:
            diags_.error(e.range, "'" + e.name + "' is a function; call it: " + e.name + "(...)");
            return nullptr;
        case SymKind::Module:
            diags_.error(e.range, "'" + e.name + "' is a module");
            return nullptr;
        }
        return nullptr;
    }

    NodeRef with_range(NodeRef n, SourceRange r) {
        Node copy = *n;
        copy.range = r;
        copy.id = prog_.next_id++;  // ids stay unique: evaluators index by them
        return std::make_shared<const Node>(std::move(copy));
    }

    NodeRef binary_expr(const ast::Expr& e) {
        NodeRef a = lower(*e.args[0]);
        NodeRef b = lower(*e.args[1]);
        if (!a || !b) return nullptr;
        if (!check_bins(a, b, e.range)) return nullptr;
        switch (e.op) {
        case ast::Op::Add: return binary(Op::Add, a, b, ir::arith_type(*a, *b));
        case ast::Op::Sub: return binary(Op::Sub, a, b, ir::arith_type(*a, *b));
        case ast::Op::Mul: return binary(Op::Mul, a, b, ir::arith_type(*a, *b));
        case ast::Op::Mod: return binary(Op::Mod, a, b, ir::arith_type(*a, *b));
        case ast::Op::Div: case ast::Op::Pow: {
            DType t = ir::arith_type(*a, *b);
            if (!dtype_is_float(t)) t = DType::F64;
            return binary(e.op == ast::Op::Div ? Op::Div : Op::Pow, a, b, t);
        }
        case ast::Op::Eq: return binary(Op::Eq, a, b, DType::Bool);
        case ast::Op::Ne: return binary(Op::Ne, a, b, DType::Bool);
        case ast::Op::Lt: return binary(Op::Lt, a, b, DType::Bool);
        case ast::Op::Le: return binary(Op::Le, a, b, DType::Bool);
        case ast::Op::Gt: return binary(Op::Gt, a, b, DType::Bool);
        case ast::Op::Ge: return binary(Op::Ge, a, b, DType::Bool);
        case ast::Op::And: return binary(Op::And, a, b, DType::Bool);
        case ast::Op::Or: return binary(Op::Or, a, b, DType::Bool);
        default: break;
        }
        return nullptr;
    }

    NodeRef index_expr(const ast::Expr& e) {
        const ast::Expr& base = *e.args[0];
        const Symbol* sym = base.kind == ast::ExprKind::Name ? lookup(base.name) : nullptr;
        if (sym && sym->poisoned) return nullptr;
        bool value = sym && (sym->kind == SymKind::Let || sym->kind == SymKind::Param) && sym->node;
        if (!sym || (sym->kind != SymKind::Dataset && sym->kind != SymKind::Array && !value)) {
            if (base.kind == ast::ExprKind::Name && !sym) unknown_name(base.name, base.range);
            else diags_.error(base.range, "only the dataset, array inputs and named values can be indexed");
            return nullptr;
        }
        std::vector<NodeRef> idx;
        for (size_t i = 1; i < e.args.size(); ++i) {
            NodeRef n = lower(*e.args[i]);
            if (!n) return nullptr;
            if (!dtype_is_int(n->type) && n->type != DType::Bool) {
                diags_.error(e.args[i]->range, std::string("an index must be an integer, not ") +
                                                   std::string(dtype_name(n->type)) + "; use i64(...) or i64(round(...))");
                return nullptr;
            }
            if (n->axes & ir::kBinBit) {
                diags_.error(e.args[i]->range, "an index cannot depend on a grouped reduction");
                return nullptr;
            }
            idx.push_back(n);
        }
        if (value) {
            // A named value (a let, or a fn parameter such as the mask of
            // stem's `patched`) is re-evaluated at the indexed sig
            // coordinates: its data and array reads move, and read 0 outside.
            size_t sig_rank = prog_.axes.size() - prog_.nav_rank;
            std::string why;
            if (idx.size() != sig_rank && !move_to(sym->node, std::vector<NodeRef>(prog_.axes.size()), why)) {
                diags_.error(e.range, "'" + base.name + "' cannot be indexed: it " + why);
                return nullptr;
            }
            if (idx.size() != sig_rank) {
                diags_.error(e.range, "'" + base.name + "[...]' takes one index per sig axis (" +
                                          prog_.axis_list(prog_.sig_axes()) + "), got " + std::to_string(idx.size()));
                return nullptr;
            }
            std::vector<NodeRef> sub(prog_.axes.size());
            size_t k = 0;
            for (size_t a = 0; a < prog_.axes.size(); ++a)
                if (!prog_.axes[a].nav) sub[a] = idx[k++];
            NodeRef moved = move_to(sym->node, sub, why);
            if (!moved) {
                diags_.error(e.range, "'" + base.name + "' cannot be indexed: it " + why);
                return nullptr;
            }
            return moved;
        }
        if (sym->kind == SymKind::Dataset) {
            size_t sig_rank = prog_.axes.size() - prog_.nav_rank;
            if (idx.size() != sig_rank) {
                diags_.error(e.range, "'" + base.name + "[...]' takes one index per sig axis (" +
                                          prog_.axis_list(prog_.sig_axes()) + "), got " + std::to_string(idx.size()));
                return nullptr;
            }
            return with_range(ir::make_data(prog_, idx, prog_.nav_axes(), prog_.dataset_type), e.range);
        }
        const ir::ArrayInput& arr = prog_.arrays[sym->index];
        if (idx.size() != arr.axes.size()) {
            diags_.error(e.range, "'" + base.name + "' has " + std::to_string(arr.axes.size()) +
                                      " dimensions, but " + std::to_string(idx.size()) +
                                      (idx.size() == 1 ? " index was given" : " indices were given"));
            return nullptr;
        }
        return with_range(ir::make_array_read(prog_, sym->index, idx, 0, arr.dtype), e.range);
    }

    /// PART(fft2(x)): the fftshift-ed 2-D Fourier transform of every frame of
    /// `x`, reduced to one real part. A per-frame transform reducing no
    /// axis (compiler/frame_transforms.h).
    NodeRef fft_call(const ast::Expr& call, const std::string& part) {
        if (call.args.size() != 1 || !call.kwargs.empty()) {
            diags_.error(call.range, "'fft2' takes one frame-kind value, e.g. fft2(d)");
            return nullptr;
        }
        NodeRef x = lower(*call.args[0]);
        if (!x) return nullptr;
        AxisSet sig = prog_.sig_axes();
        if (prog_.axes.size() - prog_.nav_rank != 2) {
            diags_.error(call.range, "fft2 transforms 2-D frames, but the frames of '" + prog_.dataset_name + "' have axes " +
                                         prog_.axis_list(sig));
            return nullptr;
        }
        if (!x->data || (x->axes & ir::kBinBit)) {
            diags_.error(call.args[0]->range, "fft2 transforms the frames of the data: its argument must read '" +
                                                  prog_.dataset_name + "' pixel by pixel (a frame-kind value)");
            return nullptr;
        }
        // The transform needs a value at every pixel of the frame.
        for (size_t a = 0; a < prog_.axes.size(); ++a)
            if (!prog_.axes[a].nav && !(x->axes & (AxisSet(1) << a)))
                x = binary(Op::Add, x, binary(Op::Mul, ir::make_const(prog_, 0, DType::I64, true), ir::make_coord(prog_, static_cast<int>(a)), DType::I64),
                           ir::arith_type(*x, *ir::make_const(prog_, 0, DType::I64, true)));
        ir::ReduceOp op = part == "abs" ? ir::ReduceOp::FftAbs : part == "re" ? ir::ReduceOp::FftRe
                          : part == "im" ? ir::ReduceOp::FftIm : ir::ReduceOp::FftArg;
        return with_range(ir::make_reduce(prog_, op, x, nullptr, nullptr, 0, 0, DType::F64), call.range);
    }

    /// `n` with every coordinate of an axis in `sub` replaced by sub[axis]
    /// (implicit data and array reads become explicit reads at the new
    /// coordinates). Null, with `why` set, when `n` holds a reduction or a
    /// neighbourhood operator, whose axes cannot move.
    NodeRef move_to(const NodeRef& n, const std::vector<NodeRef>& sub, std::string& why) {
        std::unordered_map<const ir::Node*, NodeRef> memo;
        return move_to(n, sub, why, memo);
    }

    /// move_to with the nodes already moved (a shared subexpression is moved
    /// once and stays shared: no blow-up on deep DAGs).
    NodeRef move_to(const NodeRef& n, const std::vector<NodeRef>& sub, std::string& why,
                    std::unordered_map<const ir::Node*, NodeRef>& memo) {
        if (auto it = memo.find(n.get()); it != memo.end()) return it->second;
        NodeRef moved = move_one(n, sub, why, memo);
        if (moved) memo[n.get()] = moved;
        return moved;
    }

    NodeRef move_one(const NodeRef& n, const std::vector<NodeRef>& sub, std::string& why,
                     std::unordered_map<const ir::Node*, NodeRef>& memo) {
        switch (n->op) {
        case Op::Const: return n;
        case Op::Coord: return sub[static_cast<size_t>(n->axis)] ? sub[static_cast<size_t>(n->axis)] : n;
        case Op::Reduce: case Op::Grad:
            why = "holds a reduction or grad, which is not a pixel value";
            return nullptr;
        case Op::Data: case Op::ArrayRead: {
            std::vector<NodeRef> idx;
            if (n->args.empty()) {
                // The implicit read: one coordinate per sig axis (data) or per array axis.
                std::vector<int> axes;
                if (n->op == Op::Data) {
                    for (size_t a = 0; a < prog_.axes.size(); ++a)
                        if (!prog_.axes[a].nav) axes.push_back(static_cast<int>(a));
                } else {
                    axes = prog_.arrays[static_cast<size_t>(n->array)].axes;
                }
                for (int a : axes) idx.push_back(sub[static_cast<size_t>(a)] ? sub[static_cast<size_t>(a)] : ir::make_coord(prog_, a));
            } else {
                for (const NodeRef& a : n->args) {
                    NodeRef m = move_to(a, sub, why, memo);
                    if (!m) return nullptr;
                    idx.push_back(m);
                }
            }
            if (n->op == Op::Data) return ir::make_data(prog_, idx, prog_.nav_axes(), n->type);
            return ir::make_array_read(prog_, n->array, idx, 0, n->type);
        }
        default: break;
        }
        ir::Node copy = *n;
        copy.axes = 0;
        copy.data = false;
        for (NodeRef& a : copy.args) {
            a = move_to(a, sub, why, memo);
            if (!a) return nullptr;
            copy.axes |= a->axes;
            copy.data = copy.data || a->data;
        }
        copy.id = prog_.next_id++;
        return std::make_shared<const ir::Node>(std::move(copy));
    }

    const ast::KeywordArg* kwarg(const ast::Expr& e, const char* name) {
        for (const auto& k : e.kwargs)
            if (k.name == name) return &k;
        return nullptr;
    }

    bool is_axes_spec(const ast::Expr& e) {
        auto axis_like = [&](const ast::Expr& x) {
            if (x.kind != ast::ExprKind::Name) return false;
            if (x.name == "sig" || x.name == "nav" || x.name == "all" || x.name == "bin") return true;
            const Symbol* s = lookup(x.name);
            if (!s && in_module_) return conventional_axis(x.name) >= 0;
            return s && s->kind == SymKind::Axis;
        };
        if (e.kind == ast::ExprKind::Tuple) {
            for (const auto& a : e.args)
                if (!axis_like(*a)) return false;
            return true;
        }
        if (e.kind == ast::ExprKind::Name && (e.name == "sig" || e.name == "nav" || e.name == "all" || e.name == "bin"))
            return !lookup(e.name);
        return e.parenthesized && axis_like(e);
    }

    bool axes_spec(const ast::Expr& e, bool operand_has_bins, AxisSet& out) {
        std::vector<const ast::Expr*> items;
        if (e.kind == ast::ExprKind::Tuple) for (const auto& a : e.args) items.push_back(a.get());
        else items.push_back(&e);
        out = 0;
        for (const ast::Expr* x : items) {
            if (x->kind != ast::ExprKind::Name) {
                diags_.error(x->range, "expected the axes to reduce over: sig, nav, all, or a list such as (qy, qx)");
                return false;
            }
            if (x->name == "sig") out |= prog_.sig_axes();
            else if (x->name == "nav") out |= prog_.nav_axes();
            else if (x->name == "all") out |= all_axes_;
            else if (x->name == "bin") {
                if (!operand_has_bins) {
                    diags_.error(x->range, "there is no bins axis to reduce: the operand is not a grouped result");
                    return false;
                }
                out |= ir::kBinBit;
            } else {
                const Symbol* s = lookup(x->name);
                // Module code names the conventional axes (qy, qx, ry, rx).
                if (!s && in_module_ && conventional_axis(x->name) >= 0) {
                    out |= AxisSet(1) << conventional_axis(x->name);
                    continue;
                }
                if (!s || s->kind != SymKind::Axis) {
                    diags_.error(x->range, "'" + x->name + "' is not an axis of '" + prog_.dataset_name +
                                               "'; its axes are " + prog_.axes_text());
                    auto d = global_.find(prog_.dataset_name);
                    if (d != global_.end() && d->second.decl.valid)
                        diags_.note(d->second.decl, "'" + prog_.dataset_name + "' declared here");
                    return false;
                }
                out |= AxisSet(1) << s->index;
            }
        }
        return true;
    }

    NodeRef call_expr(const ast::Expr& e) {
        const std::string& name = e.name;
        const Symbol* sym = lookup(name);
        if (sym && sym->kind != SymKind::Fn) {
            // Values and functions may share a name (`out field_y = field_y(...)`):
            // a call looks for a function in the other scope too.
            const Scope& other = in_module_ ? global_ : module_scope_;
            auto it = other.find(name);
            if (it != other.end() && it->second.kind == SymKind::Fn) sym = &it->second;
        }
        if (sym && sym->kind == SymKind::Fn) return inline_call(e, *sym->fn, sym->from_module);
        if (sym && sym->kind != SymKind::Fn) {
            diags_.error(e.name_range, "'" + name + "' is " + sym_kind_name(sym->kind) + ", not a function");
            return nullptr;
        }
        // abs(fft2(e)), re(...), im(...), arg(...): a frame transform.
        if ((name == "abs" || name == "re" || name == "im" || name == "arg") && e.args.size() == 1 &&
            e.args[0]->kind == ast::ExprKind::Call && e.args[0]->name == "fft2" && !lookup("fft2"))
            return fft_call(*e.args[0], name);
        if (name == "fft2") {
            diags_.error(e.name_range, "fft2 gives complex values: take abs(fft2(e)), re(fft2(e)), im(fft2(e)) or "
                                       "arg(fft2(e)) of it");
            return nullptr;
        }
        if (name == "re" || name == "im" || name == "arg") {
            diags_.error(e.name_range, "'" + name + "' takes the complex spectrum fft2(e), as in " + name + "(fft2(d))");
            return nullptr;
        }
        for (const ReduceFn& r : kReductions) {
            if (name != r.name) continue;
            bool elementwise_minmax = (r.op == ir::ReduceOp::Min || r.op == ir::ReduceOp::Max) &&
                                      e.args.size() == 2 && e.kwargs.empty() && !is_axes_spec(*e.args[1]);
            if (!elementwise_minmax) return reduce_call(e, r.op);
            NodeRef a = lower(*e.args[0]), b = lower(*e.args[1]);
            if (!a || !b || !check_bins(a, b, e.range)) return nullptr;
            return binary(r.op == ir::ReduceOp::Min ? Op::Min : Op::Max, a, b, ir::arith_type(*a, *b));
        }
        if (!e.kwargs.empty()) {
            diags_.error(e.kwargs[0].name_range, "'" + name + "' takes no keyword arguments");
            return nullptr;
        }
        for (const MathFn& m : kMath) {
            if (name != m.name) continue;
            if (static_cast<int>(e.args.size()) != m.arity) {
                diags_.error(e.range, "'" + name + "' takes " + std::to_string(m.arity) + " argument" +
                                          (m.arity == 1 ? "" : "s") + ", got " + std::to_string(e.args.size()));
                return nullptr;
            }
            std::vector<NodeRef> args;
            for (const auto& a : e.args) {
                args.push_back(lower(*a));
                if (!args.back()) return nullptr;
            }
            if (m.arity == 2) {
                if (!check_bins(args[0], args[1], e.range)) return nullptr;
                return binary(m.op, args[0], args[1], ir::float_type(*args[0], args[1].get()));
            }
            DType t;
            switch (m.op) {
            case Op::Abs: t = args[0]->type == DType::Bool ? DType::I64 : dtype_is_int(args[0]->type) ? (args[0]->type == DType::U64 ? DType::U64 : DType::I64) : args[0]->type; break;
            case Op::Floor: case Op::Ceil: case Op::Round:
                t = dtype_is_float(args[0]->type) ? args[0]->type : DType::I64; break;
            case Op::IsNan: t = DType::Bool; break;
            default: t = ir::float_type(*args[0]);
            }
            return unary(m.op, args[0], t);
        }
        if (name == "grad") {
            if (e.args.size() != 2 || e.args[1]->kind != ast::ExprKind::Name) {
                diags_.error(e.range, "'grad' takes a value and an axis name: grad(e, ry)");
                return nullptr;
            }
            NodeRef x = lower(*e.args[0]);
            if (!x) return nullptr;
            const Symbol* ax = lookup(e.args[1]->name);
            if (!ax || ax->kind != SymKind::Axis) {
                diags_.error(e.args[1]->range, "'" + e.args[1]->name + "' is not an axis of '" + prog_.dataset_name +
                                                   "'; its axes are " + prog_.axes_text());
                return nullptr;
            }
            if (x->data || ((x->axes & prog_.nav_axes()) && (x->axes & prog_.sig_axes()))) {
                diags_.error(e.args[0]->range, "grad works on results (nav- or sig-kind values), not on frame-kind values");
                return nullptr;
            }
            ir::Node n;
            n.op = Op::Grad;
            n.type = ir::float_type(*x);
            n.axis = ax->index;
            n.axes = x->axes;
            n.bins = x->bins;
            n.args = {x};
            n.id = prog_.next_id++;
            n.range = e.range;
            return std::make_shared<const ir::Node>(std::move(n));
        }
        if (name == "extent") {
            const Symbol* ax = e.args.size() == 1 && e.args[0]->kind == ast::ExprKind::Name ? lookup(e.args[0]->name) : nullptr;
            if (!ax || ax->kind != SymKind::Axis) {
                diags_.error(e.range, "'extent' takes one axis name, e.g. extent(qx), and gives its length; the axes of '" +
                                          prog_.dataset_name + "' are " + prog_.axes_text());
                return nullptr;
            }
            return ir::make_const(prog_, static_cast<double>(prog_.axes[static_cast<size_t>(ax->index)].extent), DType::I64);
        }
        if (name == "clamp") {
            if (e.args.size() != 3) {
                diags_.error(e.range, "'clamp' takes 3 arguments (x, lo, hi), got " + std::to_string(e.args.size()));
                return nullptr;
            }
            NodeRef x = lower(*e.args[0]), lo = lower(*e.args[1]), hi = lower(*e.args[2]);
            if (!x || !lo || !hi) return nullptr;
            if (!check_bins(x, lo, e.range) || !check_bins(x, hi, e.range)) return nullptr;
            NodeRef m = binary(Op::Max, x, lo, ir::arith_type(*x, *lo));
            return binary(Op::Min, m, hi, ir::arith_type(*m, *hi));
        }
        if (std::optional<DType> t = parse_dtype(name); t && dtype_name(*t) == name) {
            if (e.args.size() != 1) {
                diags_.error(e.range, "the cast '" + name + "' takes 1 argument, got " + std::to_string(e.args.size()));
                return nullptr;
            }
            NodeRef a = lower(*e.args[0]);
            if (!a) return nullptr;
            return unary(Op::Cast, a, *t);
        }
        std::string msg = "unknown function '" + name + "'";
        std::optional<std::string> stem = loaded_modules_.count("stem") ? std::nullopt : inputs_.module_source("stem");
        if (stem && stem->find("fn " + name + "(") != std::string::npos) {
            msg += "; it is defined in the stem module: add 'use stem'";
        } else {
            std::string close = closest_name(name, visible_names());
            if (!close.empty()) msg += "; did you mean '" + close + "'?";
        }
        diags_.error(e.name_range, msg);
        return nullptr;
    }

    NodeRef reduce_call(const ast::Expr& e, ir::ReduceOp rop) {
        if (e.args.empty()) {
            diags_.error(e.range, "'" + e.name + "' needs an operand: " + e.name + "(e, AXES)");
            return nullptr;
        }
        if (e.args.size() > 2) {
            diags_.error(e.args[2]->range, "'" + e.name + "' takes an operand and the axes; use where = ... for a condition");
            return nullptr;
        }
        for (const auto& k : e.kwargs)
            if (k.name != "where" && k.name != "by" && k.name != "bins") {
                diags_.error(k.name_range, "unknown keyword '" + k.name + "' for '" + e.name + "'; expected where, by or bins");
                return nullptr;
            }
        NodeRef operand = lower(*e.args[0]);
        if (!operand) return nullptr;
        NodeRef where, by;
        int64_t bins = 0;
        if (const ast::KeywordArg* w = kwarg(e, "where")) {
            where = lower(*w->value);
            if (!where) return nullptr;
            if (where->type != DType::Bool) {
                diags_.error(w->value->range, std::string("'where' must be a bool condition, not ") +
                                                  std::string(dtype_name(where->type)));
                return nullptr;
            }
            if (!check_bins(operand, where, e.range)) return nullptr;
        }
        const ast::KeywordArg* by_arg = kwarg(e, "by");
        const ast::KeywordArg* bins_arg = kwarg(e, "bins");
        if (bins_arg && !by_arg) {
            diags_.error(bins_arg->name_range, "'bins' needs 'by = KEY' (the bin of each element)");
            return nullptr;
        }
        if (by_arg && !bins_arg) {
            diags_.error(by_arg->name_range, "'by' needs 'bins = N' (the number of bins)");
            return nullptr;
        }
        if (by_arg) {
            if ((operand->axes & ir::kBinBit) || (where && (where->axes & ir::kBinBit))) {
                diags_.error(by_arg->name_range, "a grouped reduction of an already grouped value is not supported");
                return nullptr;
            }
            by = lower(*by_arg->value);
            if (!by) return nullptr;
            if (!dtype_is_int(by->type) && by->type != DType::Bool) {
                diags_.error(by_arg->value->range, std::string("'by' must be an integer key, not ") +
                                                       std::string(dtype_name(by->type)) + "; use i64(...) or i64(floor(...))");
                return nullptr;
            }
            NodeRef n = lower(*bins_arg->value);
            if (!n) return nullptr;
            if (n->op != Op::Const || !dtype_is_int(n->type) || n->value < 1 || n->value > 1e8) {
                diags_.error(bins_arg->value->range, "'bins' must be a positive integer constant");
                return nullptr;
            }
            bins = static_cast<int64_t>(n->value);
        }
        bool has_bins = (operand->axes & ir::kBinBit) != 0;
        // `all` (the default) means every axis the operand, where and by vary
        // over, as NumPy reduces a materialised array: sum(sum(d, nav)) is the
        // total, once. Named axes (sig, nav, lists) are iterated as written,
        // even where the operand is constant along them: count(true, sig) is
        // the number of detector pixels.
        AxisSet space = operand->axes | (where ? where->axes : 0) | (by ? by->axes : 0);
        space &= has_bins ? ~AxisSet(0) : ~ir::kBinBit;
        if (by) space &= ~ir::kBinBit;
        AxisSet axes = space | (has_bins ? ir::kBinBit : 0);
        all_axes_ = axes;
        if (e.args.size() == 2 && !axes_spec(*e.args[1], has_bins, axes)) return nullptr;
        if ((rop == ir::ReduceOp::Var || rop == ir::ReduceOp::Std) && !by && (axes & prog_.nav_axes()) == 0 &&
            (operand->axes & prog_.nav_axes()) != 0) {
            // A per-frame variance, in one sweep over the frame when that is
            // accurate: the mean m and the mean square q give q - m^2, whose
            // rounding error is at most (3n + 3)u q <= 4(n + 1)u q for n
            // pixels, in any order of summation (u = 2^-53; to first order:
            // (n + 1)u q for q with the squares of f64 data, 2n u q + u q for
            // m^2 as |m| mean|x| <= q, u q for the difference). That is within
            // 1e-6 of the variance (the contract allows 1e-5) where
            // q - m^2 >= 4(n + 1)u q 1e6, i.e. unless the mean exceeds the
            // standard deviation about 10^4.5 / sqrt(n) times (counting data:
            // a mean below about 10^9 / n). The other frames (and frames with
            // NaN, infinities or squares that overflow) take a second sweep:
            // the corrected two-pass algorithm, mean((x - m)^2) - mean(x - m)^2,
            // whose second term cancels the rounding error of m (Chan, Golub
            // and LeVeque). Its `where` holds the frame's test as a nav-kind
            // conjunct, which the JIT turns into one branch around the sweep;
            // that test has a margin of 2 over the one choosing the result,
            // so that a frame whose one-sweep value is not taken has always
            // been swept, even if the two tests rounded differently. No
            // division per pixel, as Welford's update has (which made FEM ten
            // times slower). Over the bins axis (a grouped value), the count
            // of a constant would not see the bins: two sweeps always.
            NodeRef x = operand->type == DType::F64 ? operand : unary(Op::Cast, operand, DType::F64);
            NodeRef m = ir::make_reduce(prog_, ir::ReduceOp::Mean, x, where, nullptr, 0, axes, DType::F64);
            NodeRef ok, v1, where2 = where;
            if (!((operand->axes | (where ? where->axes : 0)) & ir::kBinBit)) {
                NodeRef q = ir::make_reduce(prog_, ir::ReduceOp::Mean, binary(Op::Mul, x, x, DType::F64), where,
                                            nullptr, 0, axes, DType::F64);
                NodeRef n = ir::make_reduce(prog_, ir::ReduceOp::Count, ir::make_const(prog_, 1, DType::Bool), where,
                                            nullptr, 0, axes, DType::I64);
                v1 = binary(Op::Sub, q, binary(Op::Mul, m, m, DType::F64), DType::F64);
                NodeRef n1 = binary(Op::Add, unary(Op::Cast, n, DType::F64), ir::make_const(prog_, 1, DType::F64),
                                    DType::F64);
                NodeRef bound = binary(Op::Mul, binary(Op::Mul, ir::make_const(prog_, 4.5e-10, DType::F64), q, DType::F64),
                                       n1, DType::F64);
                NodeRef finite = binary(Op::Le, q, ir::make_const(prog_, std::numeric_limits<double>::max(), DType::F64),
                                        DType::Bool);
                auto passes = [&](NodeRef b) { return binary(Op::And, binary(Op::Ge, v1, b, DType::Bool), finite, DType::Bool); };
                ok = passes(bound);
                NodeRef again = unary(Op::Not, passes(binary(Op::Mul, bound, ir::make_const(prog_, 2, DType::F64), DType::F64)),
                                      DType::Bool);
                where2 = where ? binary(Op::And, where, again, DType::Bool) : again;
            }
            NodeRef dev = binary(Op::Sub, x, m, DType::F64);
            NodeRef sq = binary(Op::Mul, dev, dev, DType::F64);
            NodeRef msq = ir::make_reduce(prog_, ir::ReduceOp::Mean, sq, where2, nullptr, 0, axes, DType::F64);
            NodeRef mdev = ir::make_reduce(prog_, ir::ReduceOp::Mean, dev, where2, nullptr, 0, axes, DType::F64);
            NodeRef v = binary(Op::Sub, msq, binary(Op::Mul, mdev, mdev, DType::F64), DType::F64);
            if (ok) v = ir::make_select(prog_, ok, v1, v, DType::F64);
            // Rounding may leave a tiny negative; a variance is never below 0 (NaN stays NaN).
            v = ir::make_select(prog_, binary(Op::Lt, v, ir::make_const(prog_, 0, DType::F64), DType::Bool),
                                ir::make_const(prog_, 0, DType::F64), v, DType::F64);
            if (rop == ir::ReduceOp::Std) v = unary(Op::Sqrt, v, DType::F64);
            return with_range(v, e.range);
        }
        DType t = ir::reduce_type(rop, operand->type);
        NodeRef r = ir::make_reduce(prog_, rop, operand, where, by, bins, axes, t);
        return with_range(r, e.range);
    }

    NodeRef inline_call(const ast::Expr& e, const ast::Stmt& fn, bool from_module) {
        if (!e.kwargs.empty()) {
            diags_.error(e.kwargs[0].name_range, "function '" + fn.name.name + "' takes no keyword arguments");
            return nullptr;
        }
        if (e.args.size() != fn.params.size()) {
            std::string plist;
            for (const auto& p : fn.params) plist += (plist.empty() ? "" : ", ") + p.name;
            diags_.error(e.range, "'" + fn.name.name + "' takes " + std::to_string(fn.params.size()) + " argument" +
                                      (fn.params.size() == 1 ? "" : "s") + " (" + plist + "), got " +
                                      std::to_string(e.args.size()));
            diags_.note(fn.name.range, "'" + fn.name.name + "' defined here");
            return nullptr;
        }
        if (std::find(inline_stack_.begin(), inline_stack_.end(), &fn) != inline_stack_.end()) {
            diags_.error(e.range, "function '" + fn.name.name + "' calls itself; functions cannot be recursive");
            return nullptr;
        }
        Scope frame;
        for (size_t i = 0; i < fn.params.size(); ++i) {
            NodeRef a = lower(*e.args[i]);
            if (!a) return nullptr;
            frame.emplace(fn.params[i].name, Symbol{SymKind::Let, fn.params[i].range, a});
        }
        // The body sees its parameters over the global scope, not the caller's locals.
        std::vector<Scope> saved;
        saved.swap(locals_);
        locals_.push_back(std::move(frame));
        inline_stack_.push_back(&fn);
        bool saved_mode = in_module_;
        in_module_ = from_module;
        NodeRef r = lower(*fn.value);
        in_module_ = saved_mode;
        inline_stack_.pop_back();
        locals_.swap(saved);
        return r;
    }

    SourceManager& sm_;
    DiagnosticSink& diags_;
    InputProvider& inputs_;
    const SemaOptions& opts_;
    ir::Program prog_;
    Scope global_, module_scope_;
    std::vector<Scope> locals_;
    std::vector<const ast::Stmt*> inline_stack_;
    std::set<std::string> loaded_modules_;
    std::vector<std::unique_ptr<ast::Script>> modules_;
    std::map<std::string, std::string> overrides_;
    std::set<std::string> used_overrides_;
    std::unique_ptr<ast::Stmt> implicit_input_;
    bool in_module_ = false;
    AxisSet all_axes_ = 0;  // what `all` means in the reduction being lowered
};

} // namespace

const std::vector<std::string>& builtin_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (const MathFn& m : kMath) v.push_back(m.name);
        for (const ReduceFn& r : kReductions) v.push_back(r.name);
        v.push_back("clamp");
        v.push_back("extent");
        v.push_back("fft2");
        v.push_back("re");
        v.push_back("im");
        v.push_back("arg");
        v.push_back("grad");
        for (DType t : kAllDTypes) v.emplace_back(dtype_name(t));
        return v;
    }();
    return names;
}

std::optional<ir::Program> analyze(const ast::Script& script, SourceManager& sm, DiagnosticSink& diags,
                                   InputProvider& inputs, const SemaOptions& options) {
    Sema sema(sm, diags, inputs, options);
    return sema.run(script);
}

} // namespace tem
