# bash completion for tem (installed as share/bash-completion/completions/tem).
#
# Completes the subcommands, each subcommand's flags, the values of the flags
# that take a fixed set (--engine, --emit, --dtype), .tem scripts for run,
# check and plan, and file names elsewhere. Load it by hand with
#   source build/share/bash-completion/completions/tem

_tem() {
    local cur prev sub i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            run|eval|info|repl|check|plan) sub="${COMP_WORDS[i]}"; break ;;
        esac
    done

    case "$prev" in
        --engine) COMPREPLY=($(compgen -W "jit interp" -- "$cur")); return ;;
        --dtype) COMPREPLY=($(compgen -W "u8 u16 u32 u64 i8 i16 i32 i64 f32 f64" -- "$cur")); return ;;
        --emit)
            if [[ "$sub" == check ]]; then
                COMPREPLY=($(compgen -W "tokens ast kinds ir" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "llvm" -- "$cur"))
            fi
            return ;;
        -o|--output) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
        --nav|--sig|--skip-frames|--threads|--set) return ;;
    esac

    local geometry="--nav --sig --dtype --skip-frames"
    local running="$geometry --set -o --output --engine --threads --emit --timings --json --quiet"
    local flags
    case "$sub" in
        "") COMPREPLY=($(compgen -W "run eval info repl check plan --help --version" -- "$cur")); return ;;
        run|eval) flags="$running --help" ;;
        info) flags="$geometry --json --help" ;;
        repl) flags="$geometry --engine --threads --echo --quiet --help" ;;
        check) flags="$geometry --emit --set --help" ;;
        plan) flags="$geometry --set --help" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    compopt -o filenames 2>/dev/null
    if [[ "$sub" == run || "$sub" == check || "$sub" == plan ]] && [[ "$prev" == "$sub" ]]; then
        COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X '!*.tem' -- "$cur"))
        return
    fi
    # NAME=PATH bindings complete the path after '='.
    if [[ "$cur" == *=* ]]; then
        local name="${cur%%=*}"
        COMPREPLY=($(compgen -f -- "${cur#*=}" | sed "s|^|$name=|"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
}

complete -F _tem tem
