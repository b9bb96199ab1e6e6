#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# procwatchctl's bash completion, run by bash with the bash-completion library: commands, the
# options of each command, event kinds after --kind= (also after a comma), which the completion asks
# procwatchctl for (--kind=help), so that the list of kinds exists once.
#
# Usage: test-completion.sh COMPLETION-FILE PROCWATCHCTL
set -u

file=${1:?usage: $0 COMPLETION-FILE PROCWATCHCTL}
ctl=${2:?usage: $0 COMPLETION-FILE PROCWATCHCTL}
# The completion runs the procwatchctl being completed: this build's.
PATH=$(dirname "$(realpath "$ctl")"):$PATH
lib=/usr/share/bash-completion/bash_completion
if [ ! -r "$lib" ]; then
        echo "SKIP: $lib not found (apt-get install bash-completion)."
        exit 77
fi
bash -n "$file" || { echo "FAIL: $file does not parse." >&2; exit 1; }

# shellcheck disable=SC1090
. "$lib"
. "$file"
# compopt works only inside a real completion; what it would set is not checked here.
compopt() { :; }

failures=0
# complete LINE WANT...: completes the last word of LINE; every WANT must be offered, nothing else.
complete_line() {
        local line=$1
        shift
        COMP_LINE=$line
        COMP_POINT=${#line}
        read -r -a COMP_WORDS <<<"$line"
        [[ $line == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _procwatchctl procwatchctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        local got want
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
        want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
        if [ "$got" != "$want" ]; then
                echo "FAIL: '$line' completes to [$got], want [$want]" >&2
                failures=$((failures + 1))
        else
                echo "ok: '$line' -> $got"
        fi
}

complete_line "procwatchctl " show ps tree stats events drop-retained reload config
complete_line "procwatchctl re" reload
complete_line "procwatchctl --json co" config
complete_line "procwatchctl config --" --help --version --json --socket=
complete_line "procwatchctl e" events
complete_line "procwatchctl --json d" drop-retained
complete_line "procwatchctl events --k" --kind=
complete_line "procwatchctl events --kind=ex" exec exit
complete_line "procwatchctl events --kind=fork,ex" fork,exec fork,exit
complete_line "procwatchctl events --kind=" fork exec exit comm uid gid sid ptrace coredump
complete_line "procwatchctl tree --" --help --version --json --socket= --alive --depth=
complete_line "procwatchctl ps --a" --alive
complete_line "procwatchctl events --th" --threads
complete_line "procwatchctl ps --so" --socket= --sort=
complete_line "procwatchctl ps --sort=" cpu rss io lifetime
complete_line "procwatchctl ps --sort=l" lifetime
complete_line "procwatchctl ps --sort l" lifetime
complete_line "procwatchctl ps --sort=cpu --e" --exited

if [ $failures -ne 0 ]; then
        exit 1
fi
echo "all completion checks passed"
