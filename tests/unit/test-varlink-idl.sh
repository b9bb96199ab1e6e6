#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks Varlink interface files with a real IDL parser: the interface generator of Debian's
# varlink-go package, which exits 1 on a file it cannot parse. Each file must also be named after
# the interface it declares. Exits 77 (a skip) when the tool is missing; CI installs it.
#
# Usage: test-varlink-idl.sh FILE.varlink...
set -u -o pipefail

gen=$(command -v varlink-go-interface-generator || true)
if [ -z "$gen" ] && command -v dpkg >/dev/null; then
        gen=$(dpkg -L varlink-go 2>/dev/null | grep '/varlink-go-interface-generator$' | head -n1 || true)
fi
if [ -z "$gen" ] || [ ! -x "$gen" ]; then
        echo "SKIP: varlink-go-interface-generator not found (apt-get install varlink-go)."
        exit 77
fi
[ $# -gt 0 ] || { echo "usage: $0 FILE.varlink..." >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT
failures=0

# The generator writes Go code beside its input: work on copies.
for file in "$@"; do
        name=$(basename "$file")
        iface=${name%.varlink}
        mkdir "$tmp/$iface"
        cp "$file" "$tmp/$iface/$name"
        if ! out=$(cd "$tmp/$iface" && "$gen" "$name" 2>&1); then
                echo "FAIL: $file does not parse:" >&2
                printf '%s\n' "$out" | sed 's/^/    /' >&2
                failures=$((failures + 1))
                continue
        fi
        if ! grep -qx "interface $iface" "$file"; then
                echo "FAIL: $file does not declare 'interface $iface'." >&2
                failures=$((failures + 1))
                continue
        fi
        echo "ok: $file"
done

# The parser must refuse a broken file, or passing proves nothing.
mkdir "$tmp/broken"
printf 'interface io.procwatch\n\nmethod Show(pid: ?int -> (process: Process)\n' >"$tmp/broken/io.procwatch.varlink"
if (cd "$tmp/broken" && "$gen" io.procwatch.varlink) >/dev/null 2>&1; then
        echo "FAIL: $gen accepted a broken interface file." >&2
        failures=$((failures + 1))
fi
exit $((failures != 0))
