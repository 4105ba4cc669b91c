//===- cli/terminal.h - Result previews in the terminal ------------------===//
//
// This file declares the terminal thumbnails of the REPL: 2-D results as
// Unicode upper-half blocks in 24-bit colour (two image rows per text row,
// viridis), 1-D results as bar plots of eighth blocks; grey levels without
// colour escapes under NO_COLOR, and a plain ASCII ramp for TERM=dumb or
// when the output is not a terminal.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/writers.h"

#include <string>

namespace tem::cli {

enum class PreviewStyle {
    Color,  ///< upper-half blocks, 24-bit foreground and background colours
    Grey,   ///< shade characters ░▒▓█, no escape sequences
    Ascii,  ///< the ramp " .:-=+*#%@", one character per two image rows
};

/// The style for output on `fd`: Ascii when it is not a terminal or TERM is
/// "dumb", else Grey when NO_COLOR is set (and not empty), else Color.
/// TEM_COLOR=always treats `fd` as a terminal, TEM_COLOR=never as not one.
PreviewStyle preview_style(int fd);

/// True when `fd` is a terminal (or TEM_COLOR says to treat it as one).
bool is_terminal(int fd);

/// Width of the terminal on `fd` in columns: TIOCGWINSZ, else $COLUMNS, else 80.
int terminal_columns(int fd);

/// The thumbnail of a 1-D or 2-D result, at most `columns` wide, as lines
/// each ending in '\n' and indented by two spaces; empty for scalars, empty
/// arrays and higher ranks. 2-D contrast spans the 0.5 to 99.5 percentiles of
/// the finite values (as the PNG previews); NaN is black, or '?' without colour.
std::string render_thumbnail(const rt::Result& result, PreviewStyle style, int columns);

} // namespace tem::cli
