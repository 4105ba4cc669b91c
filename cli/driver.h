//===- cli/driver.h - From source text to results ------------------------===//
//
// This file declares the compile-and-run pipeline the subcommands share:
// parse, bind inputs through the runtime's readers, analyze, plan, execute,
// and write or print the results.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/plan.h"
#include "compiler/run_control.h"
#include "lang/ast.h"
#include "lang/diagnostics.h"
#include "lang/ir.h"
#include "lang/parser.h"
#include "runtime/dataset.h"
#include "runtime/writers.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tem::cli {

/// Exit statuses (LANGUAGE.md): 0 ok, 1 every user mistake, 3 internal error.
constexpr int kExitOk = 0;
constexpr int kExitUser = 1;
constexpr int kExitInternal = 3;

struct CompileOptions {
    std::string source_name;     ///< "bf.tem" or "<eval>"
    std::string source_text;
    ParseMode mode = ParseMode::Script;
    std::vector<std::string> bindings;   ///< "NAME=PATH", or a bare PATH for the dataset
    std::vector<std::pair<std::string, std::string>> sets;  ///< --set P=V
    rt::OpenOptions open;        ///< --nav --sig --dtype for raw files
    bool require_inputs = true;  ///< false for tem check / tem plan without bindings
    bool analyze = true;         ///< false: stop after parsing (--emit=tokens|ast)
    /// Eval mode only: declare the dataset `d` and `use stem` implicitly
    /// (tem eval); the REPL writes its inputs itself and turns this off.
    bool implicit_inputs = true;
    /// Arrays held in memory (the REPL's earlier results), served to array
    /// inputs whose path is "<memory>:NAME".
    std::map<std::string, std::shared_ptr<const rt::Result>> memory;
};

/// Everything a compilation produced. Diagnostics are in `diags`.
struct Compilation {
    SourceManager sm;
    DiagnosticSink diags;
    uint32_t file = 0;
    ast::Script script;
    std::optional<ir::Program> program;
    std::unique_ptr<rt::Dataset> dataset;
    std::optional<compiler::Plan> plan;
};

/// Parses and analyzes; returns false when an error was reported (the
/// diagnostics are in c.diags). DataError from the readers propagates.
bool compile(const CompileOptions& options, Compilation& c);

/// Prints diagnostics to stderr.
void print_diagnostics(const Compilation& c);

struct ExecuteOptions {
    bool jit = true;         ///< false: the reference evaluator
    int threads = 0;         ///< 0: all cores
    bool emit_llvm = false;
    compiler::RunControl* control = nullptr;  ///< cancellation and progress; may be null
};

struct ExecuteReport {
    double compile_seconds = 0, run_seconds = 0;
    int threads = 1;
    int64_t frames_read = 0;  ///< frames the passes read (summed over passes)
    int kernels_compiled = 0, kernels_cached = 0;  ///< JIT kernels compiled / loaded from the kernel cache
    std::string llvm_text;
};

/// Runs the plan with the JIT engine or the reference evaluator. Throws
/// compiler::Cancelled when options.control is cancelled.
std::vector<rt::Result> execute(Compilation& c, const ExecuteOptions& options, ExecuteReport& report);

/// Throws DataError when the results cannot be written to `out` (checked
/// before computing, so a typo in -o costs nothing). Empty `out` is fine.
void check_output_target(const Compilation& c, const std::string& out);

/// Writes results to `out` (all or nothing) or prints them to stdout.
/// `bare` prints a single result without its name.
void emit_results(const Compilation& c, const std::vector<rt::Result>& results,
                  const std::string& out, bool bare);

/// Reads a whole file; throws DataError when it cannot.
std::string read_text_file(const std::string& path);

/// The tem version string.
const char* version();

} // namespace tem::cli
