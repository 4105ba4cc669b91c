# Writes the text of IN as a C++ raw string literal into OUT (run at build time).
file(READ "${IN}" content)
file(WRITE "${OUT}" "R\"tem_stdlib(${content})tem_stdlib\"\n")
