//===- cli/repl.cpp - tem repl -------------------------------------------===//
//
// This file implements the REPL. The session is a script kept as a list of
// statements (entries): `use stem`, the inputs, and every statement accepted
// so far, an `out` kept as a `let` of the same name. A new line is handled as
// follows:
//
//   1. Parse it alone, so that syntax errors point into the line itself.
//   2. Build the session script with the line's statements in it: one that
//      redefines a name takes the place of the old definition, the others are
//      appended. Only the line's own `out`s (and bare expressions) are outs,
//      so only what they need is planned and computed, in one fused pass.
//   3. Compile; on an error print it with its caret and keep the session as
//      it was. Else run the outs (Ctrl-C cancels between partitions), print
//      each one's summary and thumbnail, cache the results for `.save`, and
//      keep the line's statements.
//
// Dot-commands come from one table (kDotCommands) that also generates `.help`.
//
//===----------------------------------------------------------------------===//
#include "cli/repl.h"

#include "cli/driver.h"
#include "cli/info.h"
#include "cli/progress.h"
#include "cli/summary.h"
#include "cli/terminal.h"
#include "lang/lexer.h"
#include "lang/sema.h"
#include "stdlib/modules.h"

#include <editline/readline.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <unistd.h>

namespace tem::cli {

namespace {

using Clock = std::chrono::steady_clock;

/// Set by SIGINT; the run in progress (if any) is cancelled through g_running.
std::atomic<bool> g_interrupted{false};
std::atomic<compiler::RunControl*> g_running{nullptr};

extern "C" void on_sigint(int) {
    g_interrupted.store(true);
    if (compiler::RunControl* c = g_running.load()) c->cancel.store(true);
}

/// One statement of the session script.
struct Entry {
    ast::StmtKind kind;
    std::string key;      ///< the name it defines; "roi" for the roi, "use M" for a use
    std::string text;     ///< source text as kept (an out is kept as a let)
    bool is_out = false;  ///< entered as an out: .plan and .set compute it again
};

/// One statement of a new line.
struct NewStmt {
    ast::StmtKind kind;
    std::string key;
    std::string text;     ///< as typed
    bool placed = false;  ///< took the place of an entry with the same key
    int input_line = 1;   ///< its first line in the typed input
    int session_line = 0; ///< its first line in the session script (set by session_text)
};

/// Bracket depth of `text` outside strings and comments: > 0 means the
/// statement goes on on the next line.
int open_brackets(const std::string& text) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char ch = text[i];
        if (in_string) {
            if (ch == '"') in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '#') {
            while (i < text.size() && text[i] != '\n') ++i;
        } else if (ch == '(' || ch == '[') {
            ++depth;
        } else if (ch == ')' || ch == ']') {
            --depth;
        }
    }
    return depth;
}

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream ss(text);
    for (std::string w; ss >> w;) words.push_back(w);
    return words;
}

/// The identifiers `text` mentions.
std::set<std::string> referenced_names(const std::string& text) {
    SourceManager sm;
    DiagnosticSink diags;
    uint32_t file = sm.add("<names>", text);
    std::set<std::string> names;
    for (const Token& t : lex(sm, file, diags))
        if (t.kind == Tok::Ident) names.insert(t.text);
    return names;
}

class Session;

/// A dot-command: name, the arguments it takes (for .help), how many, its
/// handler and one line of help.
struct DotCommand {
    const char* name;
    const char* args;
    int min_args, max_args;
    bool (Session::*handler)(const std::vector<std::string>& args);
    const char* help;
};

extern const DotCommand kDotCommands[];
extern const size_t kDotCommandCount;

class Session {
public:
    explicit Session(const ReplOptions& options) : opts_(options), threads_(options.threads) {
        entries_.push_back({ast::StmtKind::Use, "use stem", "use stem", false});
        if (!options.path.empty()) {
            entries_.push_back({ast::StmtKind::Input, "d", "input d", false});
            bindings_["d"] = options.path;
        }
        style_ = preview_style(STDOUT_FILENO);
        if (std::optional<std::string_view> stem = stdlib_module("stem")) stem_names_ = defined_names(std::string(*stem));
    }

    /// Compiles the session as it stands (opening the dataset). False on error.
    bool check() {
        Compilation c;
        return compile_session({}, {}, c);
    }

    /// Handles one complete input: a dot-command or statements. False on error.
    bool handle(const std::string& input) {
        try {
            std::string trimmed = input.substr(input.find_first_not_of(" \t\n"));
            if (trimmed[0] == '.') return dot_command(trimmed);
            return statements(input);
        } catch (const rt::DataError& e) {
            std::fprintf(stderr, "%s\n", e.what());
        } catch (const compiler::Cancelled&) {
            std::fprintf(stderr, "cancelled\n");
        } catch (const std::bad_alloc&) {
            std::fprintf(stderr, "tem: error: out of memory\n");
        } catch (const std::exception& e) {
            std::fprintf(stderr, "tem: internal error: %s\n", e.what());
        }
        return false;
    }

    bool quitting() const { return quit_; }

    /// Words that complete `prefix` at the start of a line ('.' commands) or
    /// in an expression (names, builtins, stdlib functions, keywords, axes).
    std::vector<std::string> words(bool dot) const {
        std::vector<std::string> out;
        if (dot) {
            for (size_t i = 0; i < kDotCommandCount; ++i) out.push_back(kDotCommands[i].name);
            return out;
        }
        static const char* kKeywords[] = {"input", "param", "let", "fn", "roi", "out", "use", "if", "then", "else",
                                          "and", "or", "not", "true", "false", "sig", "nav", "all", "where", "by",
                                          "bins", "stem"};
        out.assign(std::begin(kKeywords), std::end(kKeywords));
        for (const std::string& b : builtin_names()) out.push_back(b);
        for (const std::string& n : stem_names_) out.push_back(n);
        for (const Entry& e : entries_)
            if (e.kind != ast::StmtKind::Use && e.kind != ast::StmtKind::Roi) out.push_back(e.key);
        for (const std::string& a : axis_names_) out.push_back(a);
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    // ---- dot-commands (handlers of kDotCommands) ---------------------------

    bool cmd_help(const std::vector<std::string>&) {
        size_t width = 0;
        for (size_t i = 0; i < kDotCommandCount; ++i)
            width = std::max(width, std::strlen(kDotCommands[i].name) + 1 + std::strlen(kDotCommands[i].args));
        for (size_t i = 0; i < kDotCommandCount; ++i) {
            std::string usage = std::string(kDotCommands[i].name) + (*kDotCommands[i].args ? " " : "") +
                                kDotCommands[i].args;
            std::printf("%-*s  %s\n", static_cast<int>(width), usage.c_str(), kDotCommands[i].help);
        }
        std::printf("Statements: any tem statement; 'out NAME = EXPR', 'NAME = EXPR' or a bare expression is\n"
                    "computed at once. An unclosed '(' or '[' continues on the next line. Ctrl-C cancels a\n"
                    "computation, Ctrl-D quits.\n");
        return true;
    }

    bool cmd_info(const std::vector<std::string>& args) {
        std::string name = args.empty() ? "d" : args[0];
        auto it = bindings_.find(name);
        if (it == bindings_.end()) {
            std::fprintf(stderr, ".info: error: no input '%s' is open; open one with .open %s PATH\n", name.c_str(),
                         name.c_str());
            return false;
        }
        std::fflush(stdout);
        return tem::cli::cmd_info(it->second, opts_.open) == kExitOk;
    }

    bool cmd_vars(const std::vector<std::string>&) {
        size_t width = 0;
        for (const Entry& e : entries_) width = std::max(width, e.key.size());
        for (const Entry& e : entries_) {
            if (e.kind == ast::StmtKind::Use) continue;
            std::string what;
            switch (e.kind) {
            case ast::StmtKind::Input: {
                auto it = bindings_.find(e.key);
                what = "input  " + (it != bindings_.end() ? it->second : e.text);
                break;
            }
            case ast::StmtKind::Param: {
                what = "param  " + e.text;
                for (const auto& [p, v] : sets_)
                    if (p == e.key) what += "  (set to " + v + ")";
                break;
            }
            case ast::StmtKind::Fn: what = "fn     " + e.text; break;
            case ast::StmtKind::Roi: what = "roi    " + e.text; break;
            default: {
                auto it = results_.find(e.key);
                if (e.is_out && it != results_.end()) what = "out    " + repl_summary(it->second).substr(e.key.size() + 2);
                else what = (e.is_out ? "out    " : "let    ") + e.text;
            }
            }
            std::printf("%-*s  %s\n", static_cast<int>(width), e.key.c_str(), what.c_str());
        }
        return true;
    }

    bool cmd_plan(const std::vector<std::string>&) {
        std::set<std::string> outs;
        for (const Entry& e : entries_)
            if (e.is_out) outs.insert(e.key);
        if (outs.empty()) {
            std::printf("nothing to plan: no out yet\n");
            return true;
        }
        Compilation c;
        if (!compile_session({}, outs, c)) return false;
        std::fputs(compiler::print_plan(*c.plan, *c.program, c.sm).c_str(), stdout);
        return true;
    }

    bool cmd_save(const std::vector<std::string>& args) {
        auto it = results_.find(args[0]);
        if (it == results_.end()) {
            std::string names;
            for (const auto& [n, r] : results_) names += (names.empty() ? "" : ", ") + n;
            std::fprintf(stderr, ".save: error: no result '%s'%s\n", args[0].c_str(),
                         names.empty() ? "; nothing has been computed yet" : ("; the results are: " + names).c_str());
            return false;
        }
        rt::check_output(args[1], {args[0]});
        rt::RunMetadata meta;
        meta.script_text = session_text({}, {});
        for (const auto& [p, v] : sets_) meta.params[p] = v;
        for (const auto& [n, p] : bindings_) meta.inputs[n] = p;
        meta.tem_version = version();
        rt::OutputTransaction tx;
        rt::write_results(args[1], {it->second}, meta, tx);
        tx.commit();
        std::printf("saved %s to %s\n", args[0].c_str(), args[1].c_str());
        return true;
    }

    bool cmd_load(const std::vector<std::string>& args) { return statements(read_text_file(args[0])); }

    bool cmd_open(const std::vector<std::string>& args) {
        const std::string& name = args[0];
        if (!is_identifier(name)) {
            std::fprintf(stderr, ".open: error: '%s' is not a name; use .open NAME PATH\n", name.c_str());
            return false;
        }
        std::vector<Entry> saved_entries = entries_;
        std::map<std::string, std::string> saved_bindings = bindings_;
        bindings_[name] = args[1];
        invalidate({name});
        bool known = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == name; });
        if (!known) entries_.push_back({ast::StmtKind::Input, name, "input " + name, false});
        if (check()) {
            std::printf("%s = %s\n", name.c_str(), args[1].c_str());
            return true;
        }
        entries_ = std::move(saved_entries);
        bindings_ = std::move(saved_bindings);
        return false;
    }

    bool cmd_set(const std::vector<std::string>& args) {
        std::string text;
        for (const std::string& a : args) text += a;
        size_t eq = text.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
            std::fprintf(stderr, ".set: error: expected .set NAME=VALUE\n");
            return false;
        }
        std::string name = text.substr(0, eq), value = text.substr(eq + 1);
        std::vector<std::string> params;
        for (const Entry& e : entries_)
            if (e.kind == ast::StmtKind::Param) params.push_back(e.key);
        if (std::find(params.begin(), params.end(), name) == params.end()) {
            std::string list;
            for (const std::string& p : params) list += (list.empty() ? "" : ", ") + p;
            std::fprintf(stderr, ".set %s: error: the session has no param '%s'%s\n", text.c_str(), name.c_str(),
                         list.empty() ? " (declare one with 'param NAME = VALUE')" : ("; its params are: " + list).c_str());
            return false;
        }
        auto saved = sets_;
        auto it = std::find_if(sets_.begin(), sets_.end(), [&](const auto& s) { return s.first == name; });
        if (it != sets_.end()) it->second = value;
        else sets_.emplace_back(name, value);
        invalidate({name});
        // Outs that depend on the param, through any chain of names.
        std::set<std::string> affected = {name}, outs;
        for (const Entry& e : entries_) {
            std::set<std::string> refs = referenced_names(e.text);
            bool uses = std::any_of(refs.begin(), refs.end(), [&](const std::string& r) { return affected.count(r) > 0; });
            if (!uses || e.kind == ast::StmtKind::Param) continue;
            affected.insert(e.key);
            if (e.is_out) outs.insert(e.key);
        }
        Compilation c;
        if (!compile_session({}, outs, c)) {
            sets_ = std::move(saved);
            return false;
        }
        std::printf("%s = %s\n", name.c_str(), value.c_str());
        if (!outs.empty() && !run_and_show(c)) {
            sets_ = std::move(saved);
            return false;
        }
        return true;
    }

    bool cmd_threads(const std::vector<std::string>& args) {
        char* end = nullptr;
        long n = std::strtol(args[0].c_str(), &end, 10);
        if (*end != '\0' || n < 0) {
            std::fprintf(stderr, ".threads: error: expected a number of threads (0: all cores), not '%s'\n",
                         args[0].c_str());
            return false;
        }
        threads_ = static_cast<int>(n);
        std::printf("threads: %s\n", n == 0 ? "all cores" : args[0].c_str());
        return true;
    }

    bool cmd_timer(const std::vector<std::string>& args) {
        if (args[0] != "on" && args[0] != "off") {
            std::fprintf(stderr, ".timer: error: expected on or off, not '%s'\n", args[0].c_str());
            return false;
        }
        timer_ = args[0] == "on";
        std::printf("timer: %s\n", args[0].c_str());
        return true;
    }

    bool cmd_quit(const std::vector<std::string>&) {
        quit_ = true;
        return true;
    }

private:
    static bool is_identifier(const std::string& s) {
        if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
        return std::all_of(s.begin(), s.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; });
    }

    /// Names a module defines with fn, let or param.
    static std::vector<std::string> defined_names(const std::string& text) {
        SourceManager sm;
        DiagnosticSink diags;
        uint32_t file = sm.add("<module>", text);
        std::vector<Token> tokens = lex(sm, file, diags);
        std::vector<std::string> names;
        for (size_t i = 0; i + 1 < tokens.size(); ++i)
            if ((tokens[i].kind == Tok::KwFn || tokens[i].kind == Tok::KwLet || tokens[i].kind == Tok::KwParam) &&
                tokens[i + 1].kind == Tok::Ident)
                names.push_back(tokens[i + 1].text);
        return names;
    }

    bool dot_command(const std::string& line) {
        std::vector<std::string> words = split_words(line);
        for (size_t i = 0; i < kDotCommandCount; ++i) {
            const DotCommand& cmd = kDotCommands[i];
            if (words[0] != cmd.name) continue;
            std::vector<std::string> args(words.begin() + 1, words.end());
            int n = static_cast<int>(args.size());
            if (n < cmd.min_args || n > cmd.max_args) {
                std::fprintf(stderr, "%s: error: expected %s%s%s\n", cmd.name, cmd.name, *cmd.args ? " " : "", cmd.args);
                return false;
            }
            return (this->*cmd.handler)(args);
        }
        std::fprintf(stderr, "%s: error: unknown command; .help lists them\n", words[0].c_str());
        return false;
    }

    /// The session script: every entry, with `replace` statements in place of
    /// the entries they redefine (the rest appended), and the entries named in
    /// `outs` written as outs again.
    std::string session_text(std::vector<NewStmt>& replace, const std::set<std::string>& outs) const {
        std::string text;
        auto line_now = [&] { return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n')); };
        for (const Entry& e : entries_) {
            auto it = std::find_if(replace.begin(), replace.end(), [&](const NewStmt& n) { return n.key == e.key; });
            if (it != replace.end() && !it->placed) {
                it->session_line = line_now();
                text += it->text + "\n";
                it->placed = true;
            } else if (e.is_out && outs.count(e.key)) {
                text += "out" + e.text.substr(3) + "\n";  // "let NAME = ..." was "out NAME = ..."
            } else if (e.is_out && cache_.count(e.key)) {
                // Computed before and still valid: read from memory, not the data.
                const CachedOut& k = cache_.at(e.key);
                std::string axes;
                for (const std::string& a : k.axes) axes += (axes.empty() ? "" : ", ") + a;
                text += "input " + e.key + "[" + axes + "] = \"<memory>:" + e.key + "\"\n";
            } else {
                text += e.text + "\n";
            }
        }
        for (NewStmt& n : replace)
            if (!n.placed) {
                n.session_line = line_now();
                text += n.text + "\n";
            }
        return text;
    }

    std::string session_text(std::vector<NewStmt>&& replace, const std::set<std::string>& outs) const {
        return session_text(replace, outs);
    }

    CompileOptions compile_options(std::string text) const {
        CompileOptions o;
        o.source_name = "<repl>";
        o.source_text = std::move(text);
        o.mode = ParseMode::Eval;
        o.implicit_inputs = false;
        for (const auto& [name, path] : bindings_) o.bindings.push_back(name + "=" + path);
        o.sets = sets_;
        o.open = opts_.open;
        for (const auto& [name, k] : cache_) o.memory[name] = k.result;
        return o;
    }

    /// Prints the diagnostics of a failed compilation, leaving out the
    /// warning that the script declares no out (a REPL line need not).
    static void print_errors(const Compilation& c, const std::vector<NewStmt>& typed = {}) {
        std::string text;
        for (const Diagnostic& d : c.diags.all())
            if (d.severity == Severity::Error) text += input_lines(DiagnosticSink::render_one(c.sm, d), typed);
        std::fputs(text.c_str(), stderr);
    }

    /// Rewrites "<repl>:N:" (a line of the session script) to the line of the
    /// typed input that holds it, for errors in what was just typed.
    static std::string input_lines(std::string rendered, const std::vector<NewStmt>& typed) {
        const std::string prefix = "<repl>:";
        if (rendered.rfind(prefix, 0) != 0) return rendered;
        size_t colon = rendered.find(':', prefix.size());
        if (colon == std::string::npos) return rendered;
        int line = std::atoi(rendered.substr(prefix.size(), colon - prefix.size()).c_str());
        for (const NewStmt& n : typed) {
            int lines = 1 + static_cast<int>(std::count(n.text.begin(), n.text.end(), '\n'));
            if (n.session_line > 0 && line >= n.session_line && line < n.session_line + lines)
                return prefix + std::to_string(n.input_line + line - n.session_line) + rendered.substr(colon);
        }
        return rendered;
    }

    bool compile_session(std::vector<NewStmt> replace, const std::set<std::string>& outs, Compilation& c) {
        CompileOptions o = compile_options(session_text(replace, outs));
        if (!compile(o, c)) {
            print_errors(c);
            return false;
        }
        remember_axes(c);
        return true;
    }

    void remember_axes(const Compilation& c) {
        axis_names_.clear();
        for (const auto& a : c.program->axes) axis_names_.push_back(a.name);
    }

    /// Steps 1 to 3 of the file comment.
    bool statements(const std::string& input) {
        SourceManager sm;
        DiagnosticSink diags;
        uint32_t file = sm.add("<repl>", input);
        ast::Script script = parse(sm, file, diags, ParseMode::Eval);
        if (diags.has_errors()) {
            std::fputs(diags.render(sm).c_str(), stderr);
            return false;
        }
        std::vector<NewStmt> stmts;
        for (const auto& s : script.stmts) {
            NewStmt n{s->kind, s->name.name, input.substr(s->range.begin, s->range.end - s->range.begin)};
            n.input_line = 1 + static_cast<int>(std::count(input.begin(), input.begin() + s->range.begin, '\n'));
            if (s->kind == ast::StmtKind::Roi) n.key = "roi";
            else if (s->kind == ast::StmtKind::Use) n.key = "use " + s->name.name;
            else if (s->kind == ast::StmtKind::Bare) n.key = "result";
            stmts.push_back(std::move(n));
        }
        if (stmts.empty()) return true;
        // Earlier results that depend on what this line redefines are stale.
        std::set<std::string> redefined;
        for (const NewStmt& n : stmts) {
            if (n.kind == ast::StmtKind::Roi || n.kind == ast::StmtKind::Use) cache_.clear();
            bool exists = std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == n.key; });
            if (exists) redefined.insert(n.key);
        }
        invalidate(redefined);
        Compilation c;
        std::string text = session_text(stmts, {});
        CompileOptions o = compile_options(text);
        if (!compile(o, c)) {
            print_errors(c, stmts);
            return false;
        }
        remember_axes(c);
        if (!c.program->outputs.empty() && !run_and_show(c)) return false;
        // Keep the line: in place of what it redefines, or at the end.
        for (const NewStmt& n : stmts) {
            if (n.kind == ast::StmtKind::Bare) continue;
            Entry e{n.kind, n.key, n.text, false};
            if (n.kind == ast::StmtKind::Out) {
                e.text = "let" + n.text.substr(3);
                e.is_out = true;
            } else if (n.kind == ast::StmtKind::Assign) {
                e.text = "let " + n.text;
                e.is_out = true;
            }
            auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& old) { return old.key == n.key; });
            if (it != entries_.end()) *it = std::move(e);
            else entries_.push_back(std::move(e));
        }
        return true;
    }

    /// Runs the compiled outs, prints and caches them. False when cancelled.
    bool run_and_show(Compilation& c) {
        compiler::RunControl control;
        if (const char* hook = std::getenv("TEM_TEST_CANCEL_AFTER_PARTITIONS"))
            control.cancel_after_partitions = std::atoll(hook);
        ExecuteOptions eo;
        eo.jit = opts_.engine == "jit";
        eo.threads = threads_;
        eo.control = &control;
        ExecuteReport report;
        std::vector<rt::Result> results;
        Clock::time_point t0 = Clock::now();
        g_interrupted.store(false);
        g_running.store(&control);
        try {
            int64_t frames = c.dataset ? c.dataset->num_frames() * static_cast<int64_t>(c.plan->passes.size()) : 0;
            int64_t frame_bytes =
                c.dataset ? c.dataset->frame_elems() * static_cast<int64_t>(dtype_size(c.dataset->dtype())) : 0;
            ProgressBar bar(control, frames, frame_bytes, !opts_.quiet);
            results = execute(c, eo, report);
        } catch (...) {
            g_running.store(nullptr);
            throw;
        }
        g_running.store(nullptr);
        double total = std::chrono::duration<double>(Clock::now() - t0).count();
        for (rt::Result& r : results) {
            std::printf("%s\n", repl_summary(r).c_str());
            std::fputs(render_thumbnail(r, style_, terminal_columns(STDOUT_FILENO)).c_str(), stdout);
            remember_result(c, r);
            results_[r.name] = std::move(r);
        }
        if (timer_)
            std::printf("time: %.3f s (compile %.3f s, run %.3f s, %d thread%s, frames read %lld)\n", total,
                        report.compile_seconds, report.run_seconds, report.threads, report.threads == 1 ? "" : "s",
                        static_cast<long long>(report.frames_read));
        std::fflush(stdout);
        return true;
    }

    /// Keeps a nav- or sig-shaped result for later lines (scalars and grouped
    /// results are computed again: an array input needs dataset axes).
    void remember_result(const Compilation& c, const rt::Result& r) {
        cache_.erase(r.name);
        for (const ir::Output& o : c.program->outputs) {
            if (o.name != r.name || (o.value->axes & ir::kBinBit) || o.value->axes == 0) continue;
            CachedOut k;
            for (size_t a = 0; a < c.program->axes.size(); ++a)
                if (o.value->axes & (ir::AxisSet(1) << a)) k.axes.push_back(c.program->axes[a].name);
            k.result = std::make_shared<const rt::Result>(r);
            cache_[r.name] = std::move(k);
        }
    }

    /// Forgets the cached results that depend on any of `names` (through any
    /// chain of definitions), and those named.
    void invalidate(std::set<std::string> names) {
        for (const std::string& n : names) cache_.erase(n);
        for (const Entry& e : entries_) {
            std::set<std::string> refs = referenced_names(e.text);
            if (std::any_of(refs.begin(), refs.end(), [&](const std::string& r) { return names.count(r) > 0; })) {
                names.insert(e.key);
                cache_.erase(e.key);
            }
        }
    }

    struct CachedOut {
        std::vector<std::string> axes;            ///< dataset axis names of the result
        std::shared_ptr<const rt::Result> result;
    };
    std::map<std::string, CachedOut> cache_;   // valid results of earlier outs

    ReplOptions opts_;
    std::vector<Entry> entries_;
    std::map<std::string, std::string> bindings_;               // input name -> path
    std::vector<std::pair<std::string, std::string>> sets_;     // .set overrides, in order
    std::map<std::string, rt::Result> results_;                 // the latest result of each name
    std::vector<std::string> stem_names_, axis_names_;
    PreviewStyle style_ = PreviewStyle::Ascii;
    int threads_ = 0;
    bool timer_ = false;
    bool quit_ = false;
};

const DotCommand kDotCommands[] = {
    {".help", "", 0, 0, &Session::cmd_help, "list the commands"},
    {".info", "[NAME]", 0, 1, &Session::cmd_info, "shape, dtype, layout and headers of the dataset (or input NAME)"},
    {".vars", "", 0, 0, &Session::cmd_vars, "the session's inputs, params, lets, fns and outs"},
    {".plan", "", 0, 0, &Session::cmd_plan, "the pass plan of every out so far"},
    {".save", "NAME PATH", 2, 2, &Session::cmd_save, "write result NAME to PATH (.npy .png .tif .h5, or a folder)"},
    {".load", "FILE.tem", 1, 1, &Session::cmd_load, "run a script's statements in the session (its outs in one pass)"},
    {".open", "NAME PATH", 2, 2, &Session::cmd_open, "bind input NAME to a file (the first input is the dataset)"},
    {".set", "P=V", 1, 3, &Session::cmd_set, "override param P and recompute the outs that depend on it"},
    {".threads", "N", 1, 1, &Session::cmd_threads, "run on N threads (0: all cores)"},
    {".timer", "on|off", 1, 1, &Session::cmd_timer, "print the time of each computation"},
    {".quit", "", 0, 0, &Session::cmd_quit, "leave the session (Ctrl-D does too)"},
};
const size_t kDotCommandCount = sizeof(kDotCommands) / sizeof(kDotCommands[0]);

// ---- line editing (libedit) ------------------------------------------------

Session* g_session = nullptr;
std::vector<std::string> g_candidates;

char* next_candidate(const char* text, int state) {
    static size_t index;
    if (state == 0) index = 0;
    size_t len = std::strlen(text);
    while (index < g_candidates.size()) {
        const std::string& w = g_candidates[index++];
        if (w.compare(0, len, text) == 0) return strdup(w.c_str());
    }
    return nullptr;
}

/// Completion: dot-commands at the start of a line, file paths after
/// .open/.load/.save and inside strings, names everywhere else.
char** complete(const char* text, int start, int) {
    rl_attempted_completion_over = 1;
    std::string before(rl_line_buffer, static_cast<size_t>(start));
    bool in_string = std::count(before.begin(), before.end(), '"') % 2 == 1;
    std::vector<std::string> words = split_words(before);
    bool dot_line = !before.empty() && before.find_first_not_of(" \t") != std::string::npos &&
                    before[before.find_first_not_of(" \t")] == '.';
    if (in_string || (dot_line && !words.empty() &&
                      (words[0] == ".load" || ((words[0] == ".open" || words[0] == ".save") && words.size() >= 2))))
        return rl_completion_matches(text, rl_filename_completion_function);
    if (dot_line && !words.empty()) return nullptr;
    g_candidates = g_session->words(text[0] == '.');
    return rl_completion_matches(text, next_candidate);
}

std::string history_path() {
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.tem_history";
}

/// Reads one line: with libedit on a terminal, else from stdin. False at end of input.
bool read_line(bool interactive, bool echo, const char* prompt, std::string& line) {
    if (!interactive) {
        if (!std::getline(std::cin, line)) return false;
        if (echo) {
            std::printf("%s%s\n", prompt, line.c_str());
            std::fflush(stdout);  // before any error on stderr
        }
        return true;
    }
    while (true) {
        g_interrupted.store(false);
        char* text = readline(prompt);
        if (text) {
            line = text;
            std::free(text);
            return true;
        }
        // libedit returns null for Ctrl-C as for Ctrl-D; the flag tells them apart.
        if (!g_interrupted.load()) return false;
        std::printf("\n");
        line.clear();
        return true;
    }
}

} // namespace

int cmd_repl(const ReplOptions& options) {
    Session session(options);
    g_session = &session;
    bool interactive = ::isatty(STDIN_FILENO) == 1;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: an interrupted read returns
    sigaction(SIGINT, &sa, nullptr);

    if (!session.check()) return kExitUser;
    std::string hist = history_path();
    if (interactive) {
        rl_readline_name = "tem";
        rl_attempted_completion_function = complete;
        static char kBreaks[] = " \t\n\"'()[],;=+*%<>!";
        rl_basic_word_break_characters = kBreaks;
        using_history();
        stifle_history(1000);
        read_history(hist.c_str());
        std::printf("tem %s%s; .help lists the commands, Ctrl-D quits\n", version(),
                    options.path.empty() ? "" : (" with d = " + options.path).c_str());
    }
    bool failed = false;
    std::string pending;
    while (!session.quitting()) {
        std::fflush(stdout);
        std::string line;
        if (!read_line(interactive, options.echo, pending.empty() ? "tem> " : "...> ", line)) break;
        if (interactive && g_interrupted.load() && line.empty()) {
            pending.clear();  // Ctrl-C at the prompt drops the unfinished statement
            continue;
        }
        pending += pending.empty() ? line : "\n" + line;
        if (pending.find_first_not_of(" \t\n") == std::string::npos) {
            pending.clear();
            continue;
        }
        bool dot = pending[pending.find_first_not_of(" \t\n")] == '.';
        if (!dot && open_brackets(pending) > 0) continue;
        if (interactive) {
            add_history(pending.c_str());
            write_history(hist.c_str());
        }
        if (!session.handle(pending)) failed = true;
        std::fflush(stderr);
        pending.clear();
    }
    if (!pending.empty() && !session.quitting()) {
        std::fprintf(stderr, "<repl>: error: the input ended inside an unclosed '(' or '['\n");
        failed = true;
    }
    if (interactive && !session.quitting()) std::printf("\n");
    return !interactive && failed ? kExitUser : kExitOk;
}

} // namespace tem::cli
