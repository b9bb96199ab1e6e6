#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Renders a generated man page with man-db and groff and fails on any warning: a roff mistake shows
# up only as a warning, never as a failed build.
#
# Usage: test-man-page.sh MAN-PAGE...
set -u -o pipefail

failures=0
for tool in man groff; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool not found (install man-db and groff)."
                exit 77
        fi
done
[ $# -gt 0 ] || { echo "usage: $0 MAN-PAGE..." >&2; exit 1; }

for page in "$@"; do
        if [ ! -r "$page" ]; then
                echo "FAIL: $page not readable." >&2
                failures=$((failures + 1))
                continue
        fi
        if grep -n '@[A-Za-z_]*@' "$page" >&2; then
                echo "FAIL: $page still holds unsubstituted @...@ placeholders (see above): check man/meson.build." >&2
                failures=$((failures + 1))
        fi
        # What a user sees, at the usual width and a narrow one.
        for width in 80 60; do
                out=$(LC_ALL=C.UTF-8 MANWIDTH=$width man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
                if [ -n "$out" ]; then
                        echo "FAIL: man --warnings (MANWIDTH=$width) warns about $page:" >&2
                        printf '%s\n' "$out" | sed 's/^/    /' >&2
                        failures=$((failures + 1))
                fi
        done
        out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
        if [ -n "$out" ]; then
                echo "FAIL: groff -man -Tutf8 -ww warns about $page:" >&2
                printf '%s\n' "$out" | sed 's/^/    /' >&2
                failures=$((failures + 1))
        fi
        [ $failures -eq 0 ] && echo "ok: $page renders without warnings"
done
exit $((failures != 0))
