#!/bin/bash
# Runs tem's bash completion on a command line and prints the candidates,
# one a line: complete.sh TEM 'tem run --e'
# (the completion script is found next to the tem binary: ../share/...).
tem="$1"
line="$2"
source "$(dirname "$tem")/../share/bash-completion/completions/tem"
read -r -a COMP_WORDS <<< "$line"
[[ "$line" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_tem
printf '%s\n' "${COMPREPLY[@]}"
