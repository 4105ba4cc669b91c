//===- cli/repl.h - tem repl ---------------------------------------------===//
//
// This file declares `tem repl`: an interactive session over a dataset bound
// to `d`, with line editing, history and completion (libedit) on a terminal,
// and plain line-by-line reading when standard input is not one.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dataset.h"

#include <string>

namespace tem::cli {

struct ReplOptions {
    std::string path;          ///< the dataset bound to `d`; empty: none
    rt::OpenOptions open;      ///< --nav --sig --dtype for a raw file
    std::string engine = "jit";
    int threads = 0;           ///< 0: all cores
    bool echo = false;         ///< print each prompt and input line (transcripts)
    bool quiet = false;        ///< no progress bar
};

/// Runs the session until .quit or end of input. Returns 0, or 1 when input
/// was not a terminal and some line failed (so scripts notice).
int cmd_repl(const ReplOptions& options);

} // namespace tem::cli
