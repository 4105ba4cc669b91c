//===- cli/driver.cpp - From source text to results ----------------------===//
//
// This file implements the pipeline shared by run, eval, check and plan, and
// the InputProvider that binds `input` statements to files on the command
// line through the runtime's readers.
//
//===----------------------------------------------------------------------===//
#include "cli/driver.h"

#include "compiler/interpreter.h"
#include "compiler/jit/engine.h"
#include "compiler/passes/eliminate_common_subexpressions.h"
#include "lang/sema.h"
#include "stdlib/modules.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace tem::cli {

const char* version() { return "0.1.0"; }

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw rt::data_error(path, "cannot read script: no such file or not readable");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

namespace {

/// Binds inputs to the paths given on the command line.
class CommandLineInputs : public InputProvider {
public:
    CommandLineInputs(const CompileOptions& opts, Compilation& c) : opts_(opts), c_(c) {
        for (const std::string& b : opts.bindings) {
            size_t eq = b.find('=');
            // "NAME=PATH" when NAME is a plain identifier; anything else is a bare path.
            bool named = eq != std::string::npos && eq > 0 && b.find_first_of(":/?.") > eq;
            if (named) named_[b.substr(0, eq)] = b.substr(eq + 1);
            else bare_.push_back(b);
        }
    }

    std::optional<std::string> bound_path(const std::string& name) override {
        asked_.insert(name);
        auto it = named_.find(name);
        if (it != named_.end()) {
            used_.insert(name);
            return it->second;
        }
        if (first_ && !bare_.empty()) {
            first_ = false;
            return bare_.front();
        }
        first_ = false;
        return std::nullopt;
    }

    std::optional<DatasetGeometry> open_dataset(const std::string& name, const std::string& path) override {
        c_.dataset = rt::open_dataset(path, opts_.open);
        DatasetGeometry g;
        g.nav = c_.dataset->nav_shape();
        g.sig = c_.dataset->sig_shape();
        g.dtype = c_.dataset->dtype();
        g.path = path;
        return g;
    }

    std::optional<ArrayData> load_array(const std::string& name, const std::string& path) override {
        if (path.rfind("<memory>:", 0) == 0) {
            auto it = opts_.memory.find(path.substr(9));
            if (it == opts_.memory.end()) throw rt::DataError(path + ": error: internal: no such result in memory");
            ArrayData d;
            d.shape = it->second->shape;
            d.dtype = it->second->dtype;
            d.values = std::make_shared<const std::vector<double>>(it->second->values);
            d.path = path;
            return d;
        }
        rt::Array a = rt::read_array(path);
        ArrayData d;
        d.shape = a.shape;
        d.dtype = a.dtype;
        d.values = std::make_shared<const std::vector<double>>(std::move(a.values));
        d.path = path;
        return d;
    }

    std::optional<std::string> module_source(const std::string& module) override {
        if (auto text = stdlib_module(module)) return std::string(*text);
        return std::nullopt;
    }

    /// Reports NAME=PATH bindings that name no input, and extra bare paths.
    void check_unused(DiagnosticSink& diags) {
        for (const auto& [name, path] : named_) {
            if (used_.count(name)) continue;
            std::string list;
            for (const auto& n : asked_) list += (list.empty() ? "" : ", ") + n;
            diags.error(SourceRange{}, name + "=" + path + ": the script has no input '" + name + "'" +
                                           (list.empty() ? std::string() : "; its inputs are: " + list));
        }
        if (bare_.size() > 1)
            diags.error(SourceRange{}, "more than one path without a name; bind inputs as NAME=PATH");
    }

private:
    const CompileOptions& opts_;
    Compilation& c_;
    std::map<std::string, std::string> named_;
    std::vector<std::string> bare_;
    std::set<std::string> asked_, used_;
    bool first_ = true;
};

} // namespace

bool compile(const CompileOptions& options, Compilation& c) {
    c.file = c.sm.add(options.source_name, options.source_text);
    c.script = parse(c.sm, c.file, c.diags, options.mode);
    if (c.diags.has_errors() || !options.analyze) return !c.diags.has_errors();
    CommandLineInputs inputs(options, c);
    SemaOptions sema;
    sema.param_overrides = options.sets;
    sema.eval_mode = options.mode == ParseMode::Eval && options.implicit_inputs;
    sema.require_inputs = options.require_inputs;
    c.program = analyze(c.script, c.sm, c.diags, inputs, sema);
    inputs.check_unused(c.diags);
    if (c.diags.has_errors()) {
        c.program.reset();
        return false;
    }
    compiler::eliminate_common_subexpressions(*c.program);
    c.plan = compiler::plan_program(*c.program);
    return true;
}

void print_diagnostics(const Compilation& c) {
    std::string text = c.diags.render(c.sm);
    std::fputs(text.c_str(), stderr);
}

std::vector<rt::Result> execute(Compilation& c, const ExecuteOptions& options, ExecuteReport& report) {
    if (!options.jit)
        return compiler::interpret(*c.program, *c.plan, c.dataset.get(), &report.frames_read, options.control);
    compiler::EngineOptions eo;
    eo.control = options.control;
    eo.threads = options.threads;
    eo.emit_llvm = options.emit_llvm;
    compiler::EngineReport er;
    std::vector<rt::Result> results = compiler::run_jit(*c.program, *c.plan, c.dataset.get(), eo, er);
    report.compile_seconds = er.compile_seconds;
    report.run_seconds = er.run_seconds;
    report.threads = er.threads;
    report.frames_read = er.frames_read;
    report.kernels_compiled = er.kernels_compiled;
    report.kernels_cached = er.kernels_cached;
    report.llvm_text = std::move(er.llvm_text);
    return results;
}

void check_output_target(const Compilation& c, const std::string& out) {
    if (out.empty()) return;
    std::vector<std::string> names;
    for (const ir::Output& o : c.program->outputs) names.push_back(o.name);
    rt::check_output(out, names);
}

void emit_results(const Compilation& c, const std::vector<rt::Result>& results, const std::string& out, bool bare) {
    if (!out.empty()) {
        rt::RunMetadata meta;
        meta.script_text = c.sm.text(c.file);
        for (const auto& [name, value] : c.program->params) meta.params[name] = value;
        for (const auto& [name, path] : c.program->inputs) meta.inputs[name] = path;
        meta.tem_version = version();
        rt::OutputTransaction tx;
        rt::write_results(out, results, meta, tx);
        tx.commit();
        return;
    }
    for (const rt::Result& r : results) {
        std::string line = bare && results.size() == 1 ? rt::summarize(r) : r.name + ": " + rt::summarize(r);
        std::fputs((line + "\n").c_str(), stdout);
    }
}

} // namespace tem::cli
