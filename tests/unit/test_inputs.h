//===- tests/unit/test_inputs.h - In-memory inputs for unit tests --------===//
//
// An InputProvider with a fixed dataset geometry, arrays held in memory and
// the real embedded stdlib when linked with tem::stdlib.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/parser.h"
#include "lang/sema.h"

#include <map>

namespace tem::testing {

class MemoryInputs : public InputProvider {
public:
    std::optional<DatasetGeometry> geometry;
    std::map<std::string, ArrayData> arrays;
    std::map<std::string, std::string> modules;

    std::optional<std::string> bound_path(const std::string& name) override {
        if (name == "d" && geometry) return std::string("mem:d");
        if (arrays.count(name)) return "mem:" + name;
        return std::nullopt;
    }
    std::optional<DatasetGeometry> open_dataset(const std::string&, const std::string&) override { return geometry; }
    std::optional<ArrayData> load_array(const std::string& name, const std::string&) override {
        auto it = arrays.find(name);
        if (it == arrays.end()) return std::nullopt;
        return it->second;
    }
    std::optional<std::string> module_source(const std::string& m) override {
        auto it = modules.find(m);
        if (it == modules.end()) return std::nullopt;
        return it->second;
    }
};

/// Parses and analyzes `text`; diagnostics rendered into `errors`.
struct Analyzed {
    SourceManager sm;
    DiagnosticSink diags;
    ast::Script script;
    std::optional<ir::Program> program;
    std::string errors() const { return diags.render(sm); }
};

inline std::unique_ptr<Analyzed> analyze_text(const std::string& text, MemoryInputs& inputs,
                                              ParseMode mode = ParseMode::Script) {
    auto a = std::make_unique<Analyzed>();
    uint32_t f = a->sm.add("t.tem", text);
    a->script = parse(a->sm, f, a->diags, mode);
    if (a->diags.has_errors()) return a;
    SemaOptions opts;
    opts.eval_mode = mode == ParseMode::Eval;
    a->program = analyze(a->script, a->sm, a->diags, inputs, opts);
    return a;
}

} // namespace tem::testing
