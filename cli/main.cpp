//===- cli/main.cpp - The tem command ------------------------------------===//
//
// This file implements the `tem` executable: argument parsing with CLI11 and
// one handler per subcommand (run, eval, info, repl, check, plan). Every user
// mistake ends with a message on stderr and exit status 1; nothing else.
//
//===----------------------------------------------------------------------===//
#include "cli/driver.h"
#include "runtime/cluster.h"
#include "cli/info.h"
#include "cli/progress.h"
#include "cli/repl.h"
#include "cli/summary.h"
#include "compiler/interpreter.h"
#include "lang/ast.h"
#include "lang/lexer.h"
#include "lang/sema.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <hdf5.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/TargetParser/Host.h>

#include <chrono>
#include <cstdio>
#include <malloc.h>
#include <exception>
#include <iostream>

namespace tem::cli {
namespace {

/// Options shared by the subcommands that open data.
struct DataFlags {
    std::string nav, sig, dtype;
    std::optional<int64_t> skip_frames;
    std::vector<std::string> sets;
    std::string out;
    std::string engine = "jit";
    int threads = 0;
    std::string emit;
    bool timings = false;
    bool json = false;
    bool quiet = false;

    void add_geometry(CLI::App* app) {
        app->add_option("--nav", nav, "nav shape of a raw file (or a re-shape of a flat scan), e.g. 256,256");
        app->add_option("--sig", sig, "sig shape of a raw file, e.g. 128,128");
        app->add_option("--dtype", dtype, "element type of a raw file: u8 u16 u32 u64 i8 i16 i32 i64 f32 f64");
        app->add_option("--skip-frames", skip_frames,
                        "scan position i reads stored frame i+N: N > 0 skips N junk frames at the start, N < 0 "
                        "inserts -N missing (zero) frames; positions past the stored frames read as zeros");
    }
    void add_run(CLI::App* app) {
        add_geometry(app);
        app->add_option("--set", sets, "override a param: --set cy=63.5 (repeatable)")->allow_extra_args(false);
        app->add_option("-o,--output", out, "write results: FILE.h5 (all), FILE.npy / FILE.png (one), or a folder");
        app->add_option("--engine", engine, "execution engine: jit (compiled, the default) or interp (the reference evaluator)")
            ->check(CLI::IsMember({"jit", "interp"}));
        app->add_option("--threads", threads, "threads to use (default: all cores)")->check(CLI::PositiveNumber);
        app->add_option("--emit", emit, "print a stage instead of nothing: llvm (the optimised kernels, on stderr)")
            ->check(CLI::IsMember({"llvm"}));
        app->add_flag("--timings", timings, "print the time of each phase (parse, plan, compile, run, write) on stderr");
        app->add_flag("--json", json, "print every result's summary (and arrays of at most 64 values in full) as JSON");
        app->add_flag("-q,--quiet", quiet, "no progress bar on stderr (it shows only on a terminal, after 0.5 s)");
    }
};

std::vector<int64_t> parse_shape(const std::string& flag, const std::string& text) {
    std::vector<int64_t> shape;
    std::string item;
    std::stringstream ss(text);
    while (std::getline(ss, item, ',')) {
        char* end = nullptr;
        long long v = std::strtoll(item.c_str(), &end, 10);
        if (item.empty() || *end != '\0' || v <= 0)
            throw rt::DataError(flag + " " + text + ": error: expected positive integers separated by commas");
        shape.push_back(v);
    }
    return shape;
}

rt::OpenOptions open_options(const DataFlags& f) {
    rt::OpenOptions o;
    if (!f.nav.empty()) o.nav = parse_shape("--nav", f.nav);
    if (!f.sig.empty()) o.sig = parse_shape("--sig", f.sig);
    o.skip_frames = f.skip_frames;
    if (!f.dtype.empty()) {
        o.dtype = parse_dtype(f.dtype);
        if (!o.dtype) throw rt::DataError("--dtype " + f.dtype + ": error: unknown element type; expected one of u8 u16 u32 u64 i8 i16 i32 i64 f32 f64");
    }
    return o;
}

std::vector<std::pair<std::string, std::string>> parse_sets(const std::vector<std::string>& sets) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const std::string& s : sets) {
        size_t eq = s.find('=');
        if (eq == std::string::npos || eq == 0)
            throw rt::DataError("--set " + s + ": error: expected --set NAME=VALUE");
        out.emplace_back(s.substr(0, eq), s.substr(eq + 1));
    }
    return out;
}

int run_compiled(CompileOptions& opts, const DataFlags& flags, bool bare) {
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
    Clock::time_point t0 = Clock::now();
    Compilation c;
    rt::Cluster& cluster = rt::Cluster::get();
    if (!cluster.distributed()) {
        bool ok = compile(opts, c);
        print_diagnostics(c);
        if (!ok) return kExitUser;
        check_output_target(c, flags.out);
    } else {
        // Every rank compiles and opens the data; all stop if one fails, and
        // rank 0 alone speaks and writes.
        std::string error;
        bool ok = false;
        try {
            ok = compile(opts, c);
            if (ok && cluster.rank() == 0) check_output_target(c, flags.out);
        } catch (const rt::DataError& e) {
            error = e.what();
        }
        if (cluster.rank() == 0) print_diagnostics(c);
        std::string agreed = cluster.agree(error.empty() && !ok ? "the script has errors" : error);
        if (!agreed.empty()) {
            if (error.empty() && !ok) return kExitUser;  // the diagnostics said it (rank 0)
            throw rt::DataError(agreed);
        }
        // Every rank must see the same data: the ranks' partitions and
        // merges follow from its geometry.
        std::string mine;
        if (c.dataset)
            mine = rt::format_shape(c.dataset->nav_shape()) + " " + rt::format_shape(c.dataset->sig_shape()) + " " +
                   std::string(dtype_name(c.dataset->dtype()));
        std::string root = cluster.broadcast(mine);
        agreed = cluster.agree(mine == root ? ""
                                            : (c.dataset ? c.dataset->path() : std::string("tem")) +
                                                  ": error: this rank opened a dataset of nav, sig and dtype " + mine +
                                                  ", rank 0 one of " + root + "; every rank must read the same data");
        if (!agreed.empty()) throw rt::DataError(agreed);
    }
    double front = since(t0);
    ExecuteOptions eo;
    eo.jit = flags.engine == "jit";
    eo.threads = flags.threads;
    eo.emit_llvm = flags.emit == "llvm";
    ExecuteReport report;
    compiler::RunControl control;
    eo.control = &control;
    Clock::time_point t1 = Clock::now();
    std::vector<rt::Result> results;
    {
        int64_t frames = c.dataset ? c.dataset->num_frames() * static_cast<int64_t>(c.plan->passes.size()) : 0;
        int64_t frame_bytes = c.dataset ? c.dataset->frame_elems() * static_cast<int64_t>(dtype_size(c.dataset->dtype())) : 0;
        // Under MPI rank 0 draws the bar for the job from its own share of
        // the frames (the ranks take equal shares and run in step).
        if (cluster.distributed()) frames = (frames + cluster.size() - 1) / cluster.size();
        ProgressBar bar(control, frames, frame_bytes, !flags.quiet && cluster.rank() == 0);
        results = execute(c, eo, report);
    }
    double exec = since(t1);
    if (eo.emit_llvm) std::fputs(report.llvm_text.c_str(), stderr);
    Clock::time_point t2 = Clock::now();
    if (cluster.rank() != 0) return kExitOk;  // rank 0 writes and prints
    if (flags.json) {
        if (!flags.out.empty()) emit_results(c, results, flags.out, bare);
        std::fputs(results_json(results).c_str(), stdout);
    } else {
        emit_results(c, results, flags.out, bare);
    }
    if (flags.timings)
        std::fprintf(stderr,
                     "timings: parse+plan %.4f s, compile %.4f s, run %.4f s (passes %.4f s, %d thread%s), write %.4f s, engine %s, "
                     "frames read %lld of %lld, kernels compiled %d, cached %d\n",
                     front, report.compile_seconds, exec - report.compile_seconds, report.run_seconds, report.threads,
                     report.threads == 1 ? "" : "s", since(t2), flags.engine.c_str(),
                     static_cast<long long>(report.frames_read),
                     static_cast<long long>(c.dataset ? c.dataset->num_frames() : 0), report.kernels_compiled,
                     report.kernels_cached);
    return kExitOk;
}

/// The standard input as text. Under mpirun only rank 0 has it: it reads it
/// and shares it with the other ranks.
std::string read_stdin_shared() {
    rt::Cluster& cluster = rt::Cluster::get();
    std::string text;
    if (cluster.rank() == 0) {
        std::ostringstream ss;
        ss << std::cin.rdbuf();
        text = ss.str();
    }
    return cluster.broadcast(text);
}

int cmd_run(const std::string& script, const std::vector<std::string>& bindings, const DataFlags& flags) {
    CompileOptions opts;
    opts.source_name = script == "-" ? "<stdin>" : script;
    rt::Cluster& cluster = rt::Cluster::get();
    if (script == "-") {
        opts.source_text = read_stdin_shared();
    } else {
        // A script missing on one node stops every rank, naming it.
        opts.source_text = cluster.agreed_read([&] { return read_text_file(script); });
    }
    opts.bindings = bindings;
    opts.sets = parse_sets(flags.sets);
    opts.open = open_options(flags);
    return run_compiled(opts, flags, false);
}

int cmd_eval(const std::string& expr, const std::vector<std::string>& paths, const DataFlags& flags) {
    CompileOptions opts;
    opts.source_name = "<eval>";
    if (expr == "-") {
        opts.source_text = read_stdin_shared();
    } else {
        opts.source_text = expr;
    }
    opts.mode = ParseMode::Eval;
    opts.bindings = paths;
    opts.sets = parse_sets(flags.sets);
    opts.open = open_options(flags);
    return run_compiled(opts, flags, true);
}

int cmd_check(const std::string& script, const std::vector<std::string>& bindings, const std::string& emit,
              const DataFlags& flags, bool plan_only) {
    CompileOptions opts;
    opts.source_name = script;
    opts.source_text = read_text_file(script);
    opts.bindings = bindings;
    opts.sets = parse_sets(flags.sets);
    opts.open = open_options(flags);
    opts.require_inputs = false;
    Compilation c;
    if (emit == "tokens") {
        c.file = c.sm.add(opts.source_name, opts.source_text);
        for (const Token& t : lex(c.sm, c.file, c.diags)) {
            auto [l, col] = c.sm.line_col(t.range.file, t.range.begin);
            std::printf("%d:%d %s%s\n", l, col, token_spelling(t.kind),
                        t.text.empty() ? "" : (" '" + t.text + "'").c_str());
        }
        print_diagnostics(c);
        return c.diags.has_errors() ? kExitUser : kExitOk;
    }
    opts.analyze = emit != "ast";
    bool ok = compile(opts, c);
    print_diagnostics(c);
    if (!ok) return kExitUser;
    if (plan_only) {
        std::fputs(compiler::print_plan(*c.plan, *c.program, c.sm).c_str(), stdout);
    } else if (emit == "ast") {
        std::fputs(ast::print(c.script, c.sm).c_str(), stdout);
    } else if (emit == "ir") {
        std::fputs(ir::print(*c.program, c.sm).c_str(), stdout);
    } else if (emit == "kinds") {
        const ir::Program& p = *c.program;
        if (p.has_dataset)
            std::printf("dataset %s %s %s\n", p.dataset_name.c_str(), p.axes_text().c_str(),
                        std::string(dtype_name(p.dataset_type)).c_str());
        for (const ir::Output& o : p.outputs) {
            const ir::Node& n = *o.value;
            std::printf("out %s: %s %s", o.name.c_str(), ir::kind_name(ir::kind_of(p, n)),
                        std::string(dtype_name(n.type)).c_str());
            if (n.axes) std::printf(" (%s)", p.axis_list(n.axes).c_str());
            std::printf("\n");
        }
        if (p.roi) std::printf("roi: %s\n", ir::kind_name(ir::kind_of(p, *p.roi)));
    } else if (emit.empty()) {
        std::printf("%s: ok\n", script.c_str());
    }
    return kExitOk;
}

int main_impl(int argc, char** argv) {
    // Under mpirun every rank runs the same command; rank 0 alone prints
    // (tem info, tem plan, --help: once, not once per rank).
    if (rt::Cluster::get().rank() != 0 && !std::freopen("/dev/null", "w", stdout))
        throw std::runtime_error("cannot silence the standard output of rank " +
                                 std::to_string(rt::Cluster::get().rank()));
    CLI::App app{"tem — fused, compiled reductions over huge detector datasets"};
    app.require_subcommand(0, 1);
    bool show_version = false;
    app.add_flag("--version", show_version, "print the version of tem, LLVM and HDF5");

    std::string script, expr, path, emit;
    bool info_json = false;
    ReplOptions repl_opts;
    std::vector<std::string> bindings;
    DataFlags run_flags, eval_flags, check_flags, plan_flags, info_flags;

    CLI::App* run = app.add_subcommand("run", "run a script: tem run SCRIPT.tem NAME=PATH ... [--set P=V] [-o OUT]");
    run->footer("Example:\n  tem run examples/01_virtual_detectors.tem d=scan.npy -o results/");
    run->add_option("script", script, "the .tem script ('-' reads standard input)")->required();
    run->add_option("bindings", bindings, "inputs as NAME=PATH (a single bare PATH binds the dataset)");
    run_flags.add_run(run);

    CLI::App* eval = app.add_subcommand("eval", "evaluate a one-liner with the dataset bound to d");
    eval->footer("Examples:\n  tem eval 'sum(d, sig)' scan.npy\n  tem eval 'bf = sum(d, sig, where = disk(64, 64, 10)); total = sum(d)' scan.npy -o out/");
    eval->add_option("expr", expr, "an expression, or 'a = EXPR; b = EXPR' for several results ('-' reads standard input)")->required();
    eval->add_option("path", bindings, "the dataset (and NAME=PATH for other inputs)");
    eval_flags.add_run(eval);

    CLI::App* info = app.add_subcommand("info", "print shape, dtype, layout and headers of a dataset");
    info->footer("Example:\n  tem info scan.npy\n  tem info 'raw:scan.raw?nav=256,256&sig=128,128&dtype=u16'");
    info->add_option("path", path, "the dataset")->required();
    info_flags.add_geometry(info);
    info->add_flag("--json", info_json, "print the fields as one JSON object");

    CLI::App* repl = app.add_subcommand("repl", "an interactive session with the dataset bound to d");
    repl->footer("Example:\n  tem repl scan.npy\n  tem> bf = sum(d, sig, where = disk(64, 64, 10))\n"
                 "Type .help in the session for its commands; docs/repl.md has a whole session.");
    repl->add_option("path", repl_opts.path, "the dataset bound to d (optional: .open d PATH binds it later)");
    DataFlags repl_flags;
    repl_flags.add_geometry(repl);
    repl->add_option("--engine", repl_opts.engine, "execution engine: jit (the default) or interp")
        ->check(CLI::IsMember({"jit", "interp"}));
    repl->add_option("--threads", repl_opts.threads, "threads to use (default: all cores)")->check(CLI::PositiveNumber);
    repl->add_flag("--echo", repl_opts.echo, "print each prompt and input line when reading a pipe (for transcripts)");
    repl->add_flag("-q,--quiet", repl_opts.quiet, "no progress bar on stderr");

    CLI::App* check = app.add_subcommand("check", "parse and type-check a script without running it");
    check->footer("Example:\n  tem check bf.tem\n  tem check bf.tem --emit=ir d=scan.npy");
    check->add_option("script", script, "the .tem script")->required();
    check->add_option("bindings", bindings, "optional NAME=PATH bindings (geometry for kinds and shapes)");
    check->add_option("--emit", emit, "print a stage: tokens, ast, kinds, ir")
        ->check(CLI::IsMember({"tokens", "ast", "kinds", "ir"}));
    check_flags.add_geometry(check);
    check->add_option("--set", check_flags.sets, "override a param: --set cy=63.5")->allow_extra_args(false);

    CLI::App* plan = app.add_subcommand("plan", "print the pass plan and the fused kernels");
    plan->footer("Example:\n  tem plan examples/01_virtual_detectors.tem d=scan.npy");
    plan->add_option("script", script, "the .tem script")->required();
    plan->add_option("bindings", bindings, "optional NAME=PATH bindings");
    plan_flags.add_geometry(plan);
    plan->add_option("--set", plan_flags.sets, "override a param: --set cy=63.5")->allow_extra_args(false);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "tem: error: %s\n", e.what());
        std::fprintf(stderr, "run 'tem --help' (or 'tem SUBCOMMAND --help') for usage\n");
        return kExitUser;
    }
    if (show_version) {
        unsigned maj = 0, min = 0, rel = 0;
        H5get_libversion(&maj, &min, &rel);
        std::printf("tem %s (LLVM %s, HDF5 %u.%u.%u, %s, host CPU %s)\n", version(), LLVM_VERSION_STRING, maj, min, rel,
                    rt::Cluster::library_version().c_str(), llvm::sys::getHostCPUName().str().c_str());
        return kExitOk;
    }
    if (run->parsed()) return cmd_run(script, bindings, run_flags);
    if (eval->parsed()) return cmd_eval(expr, bindings, eval_flags);
    if (info->parsed()) return cmd_info(path, open_options(info_flags), info_json);
    if (repl->parsed() && rt::Cluster::get().distributed())
        throw rt::DataError("tem repl: error: the REPL runs in one process; start it without mpirun or srun");
    if (repl->parsed()) {
        repl_opts.open = open_options(repl_flags);
        return cmd_repl(repl_opts);
    }
    if (check->parsed()) return cmd_check(script, bindings, emit, check_flags, false);
    if (plan->parsed()) return cmd_check(script, bindings, "", plan_flags, true);
    std::fputs(app.help().c_str(), stdout);
    return kExitOk;
}

} // namespace
} // namespace tem::cli

namespace {

int main_guarded(int argc, char** argv) {
    // Under mpirun only rank 0 reports errors (all ranks agree on them first).
    const bool speaks = tem::rt::Cluster::get().rank() == 0;
    try {
        return tem::cli::main_impl(argc, argv);
    } catch (const tem::rt::DataError& e) {
        if (speaks) std::fprintf(stderr, "%s\n", e.what());
        return tem::cli::kExitUser;
    } catch (const std::bad_alloc&) {
        if (speaks) std::fprintf(stderr, "tem: error: out of memory\n");
        return tem::cli::kExitUser;
    } catch (const std::exception& e) {
        if (speaks) std::fprintf(stderr, "tem: internal error: %s\n", e.what());
        return tem::cli::kExitInternal;
    }
}

} // namespace

int main(int argc, char** argv) {
    // Arrays of a frame's or a scan's size (materialised masks, results,
    // states) are allocated and freed throughout a run. glibc would map
    // each one of 128 KiB or more anew and page-fault it in, at about 1 µs
    // a page on a virtual machine (materialising 16 ring masks took 6 ms
    // that way); from the heap, and kept there when freed, they are reused.
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    int status = main_guarded(argc, argv);
    tem::rt::Cluster::get().finish();
    return status;
}
