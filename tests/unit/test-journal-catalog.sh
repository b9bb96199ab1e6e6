#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every MESSAGE_ID in the header has exactly one catalog entry, every catalog entry is a MESSAGE_ID
# of the header, and each entry has a Subject; the file is what journalctl --update-catalog accepts.
# Usage: test-journal-catalog.sh MESSAGE-IDS-HEADER GENERATED-CATALOG
set -u -o pipefail
header=${1:?usage}
catalog=${2:?usage}
fail=0

ids=$(sed -n 's/^#define PW_MESSAGE_[A-Z_]* *"\([0-9a-f]\{32\}\)"$/\1/p' "$header" | sort)
entries=$(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$catalog" | sort)
if [ "$(printf '%s\n' "$ids" | grep -c .)" -lt 13 ]; then
        echo "FAIL: found only $(printf '%s\n' "$ids" | grep -c .) MESSAGE_IDs in $header" >&2
        fail=1
fi
if dup=$(printf '%s\n' "$ids" | uniq -d) && [ -n "$dup" ]; then
        echo "FAIL: MESSAGE_ID used twice in the header: $dup" >&2
        fail=1
fi
if dup=$(printf '%s\n' "$entries" | uniq -d) && [ -n "$dup" ]; then
        echo "FAIL: catalog entry twice: $dup" >&2
        fail=1
fi
missing=$(comm -23 <(printf '%s\n' "$ids") <(printf '%s\n' "$entries"))
extra=$(comm -13 <(printf '%s\n' "$ids") <(printf '%s\n' "$entries"))
[ -z "$missing" ] || { echo "FAIL: no catalog entry for: $missing" >&2; fail=1; }
[ -z "$extra" ] || { echo "FAIL: catalog entries for no MESSAGE_ID in the header: $extra" >&2; fail=1; }
subjects=$(grep -c '^Subject: .' "$catalog")
if [ "$subjects" != "$(printf '%s\n' "$entries" | grep -c .)" ]; then
        echo "FAIL: $subjects Subject: lines for $(printf '%s\n' "$entries" | grep -c .) entries" >&2
        fail=1
fi
if grep -n '@[A-Za-z_]*@' "$catalog" | grep -v '@PROCWATCH_[A-Z_]*@' >&2; then
        echo "FAIL: unsubstituted placeholders above" >&2
        fail=1
fi
# journalctl's own parser, on a scratch database (no root, nothing of the host's touched).
if command -v journalctl >/dev/null; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        trap 'exit 143' TERM INT
        mkdir -p "$tmp/usr/lib/systemd/catalog" "$tmp/var/lib/systemd/catalog"
        cp "$catalog" "$tmp/usr/lib/systemd/catalog/"
        if ! out=$(journalctl --root="$tmp" --update-catalog 2>&1) || [ -n "$out" ]; then
                echo "FAIL: journalctl --update-catalog: $out" >&2
                fail=1
        fi
        n=$(journalctl --root="$tmp" --list-catalog 2>/dev/null | grep -c procwatchd)
        if [ "$n" != "$(printf '%s\n' "$entries" | grep -c .)" ]; then
                echo "FAIL: journalctl --list-catalog shows $n procwatchd entries" >&2
                fail=1
        fi
fi
[ $fail = 0 ] && echo "ok: $(printf '%s\n' "$ids" | grep -c .) MESSAGE_IDs, each with one catalog entry"
exit $fail
