//===- lang/sema.h - Name resolution, inlining, kinds and types ----------===//
//
// This file declares semantic analysis: it walks a parsed script in order,
// resolves names, inlines `fn` calls, folds params into constants, binds
// inputs (through an InputProvider, so that lang/ does no file I/O), infers
// every node's type and kind and reports each misuse with a caret.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/ast.h"
#include "lang/diagnostics.h"
#include "lang/ir.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tem {

/// Geometry of the streamed dataset, as a reader reports it.
struct DatasetGeometry {
    std::vector<int64_t> nav, sig;
    DType dtype = DType::F32;
    std::string path;
};

/// A small array input loaded whole.
struct ArrayData {
    std::vector<int64_t> shape;
    DType dtype = DType::F64;
    std::shared_ptr<const std::vector<double>> values;
    std::string path;
};

/// Supplies inputs and modules to sema. The CLI implements it over the
/// runtime's readers; tests implement it in memory. Methods may throw the
/// runtime's DataError, which propagates out of analyze().
class InputProvider {
public:
    virtual ~InputProvider() = default;
    /// The path bound on the command line (NAME=PATH) for an input, if any.
    virtual std::optional<std::string> bound_path(const std::string& name) = 0;
    /// Opens the dataset; nullopt means "no data" (tem check without bindings).
    virtual std::optional<DatasetGeometry> open_dataset(const std::string& name, const std::string& path) = 0;
    /// Loads an array input; nullopt means "no data".
    virtual std::optional<ArrayData> load_array(const std::string& name, const std::string& path) = 0;
    /// Source text of a standard-library module (`use stem`), or nullopt.
    virtual std::optional<std::string> module_source(const std::string& module) = 0;
};

struct SemaOptions {
    /// `--set P=V` overrides, in command-line order.
    std::vector<std::pair<std::string, std::string>> param_overrides;
    /// `tem eval` / REPL: the dataset `d` and `use stem` are implicit.
    bool eval_mode = false;
    /// An input without a path is an error (run/eval/plan); tem check allows it.
    bool require_inputs = true;
};

/// Analyzes a parsed script. Returns the program when no error was reported.
std::optional<ir::Program> analyze(const ast::Script& script, SourceManager& sm,
                                   DiagnosticSink& diags, InputProvider& inputs,
                                   const SemaOptions& options);

/// Default axis names for a dataset with the given nav and sig ranks
/// (LANGUAGE.md: 4-D ry rx | qy qx, 3-D n | qy qx, 5-D rz ry rx | qy qx).
std::vector<std::string> default_axis_names(int nav_rank, int sig_rank);

/// Names of the builtin functions (for suggestions and REPL completion).
const std::vector<std::string>& builtin_names();

} // namespace tem
