#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Checks the generated procwatchd.service with the real systemd tools: systemd-analyze verify must
# print nothing (it exits 0 on warnings), systemd-analyze security must stay within the exposure
# threshold, every capability named must exist (systemd accepts unknown names silently), and
# `systemctl enable` must work from the unit's install directory.
#
# The generated procwatchd.socket, when given, is verified beside the service and installed with it.
#
# Usage: test-unit-file.sh GENERATED-UNIT BUILT-PROCWATCHD UNITDIR [GENERATED-SOCKET-UNIT]
# Needs root (unshare, mount); exits 77 (a skip for meson) without it.
set -u -o pipefail

# Exposure threshold on systemd-analyze's 0-100 scale (score x 10).
THRESHOLD=20

unit=${1:?usage: $0 GENERATED-UNIT BUILT-PROCWATCHD UNITDIR}
binary=${2:?usage: $0 GENERATED-UNIT BUILT-PROCWATCHD UNITDIR}
unitdir=${3:?usage: $0 GENERATED-UNIT BUILT-PROCWATCHD UNITDIR}
socket_unit=${4:-}
capability_h=${CAPABILITY_H:-/usr/include/linux/capability.h}

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: needs root for unshare -m and mount (systemd-analyze must not write the host's /run/systemd)."
        exit 77
fi
for tool in systemd-analyze systemctl unshare mount; do
        if ! command -v "$tool" >/dev/null; then
                echo "FAIL: $tool not found; install systemd and util-linux." >&2
                exit 1
        fi
done
if [ ! -r "$unit" ]; then
        echo "FAIL: generated unit $unit not readable." >&2
        exit 1
fi
if [ ! -x "$binary" ]; then
        echo "FAIL: built daemon $binary not executable." >&2
        exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT

# Runs "$@" in a private mount namespace with a tmpfs over /run/systemd, so that systemd-analyze
# cannot write the host's /run/systemd/systemd-units-load (or anything else there).
sandboxed() {
        local over=/run/systemd
        [ -d "$over" ] || over=/run
        unshare -m --propagation private sh -c 'mount -n -t tmpfs tmpfs "$0" && exec "$@"' "$over" "$@"
}

# 1. Every @placeholder@ was substituted.
if grep -n '@[A-Za-z_]*@' "$unit" >&2; then
        fail "$unit still holds unsubstituted @...@ placeholders (see above): check systemd/meson.build."
fi

# 2. A test copy whose ExecStart= names the built binary: verify wants an existing executable.
mkdir "$tmp/unit"
copy="$tmp/unit/procwatchd.service"
sed "s|^ExecStart=[^ ]*procwatchd\\b|ExecStart=$binary|" "$unit" > "$copy"
if ! grep -qxF "ExecStart=$binary" "$copy"; then
        fail "could not point ExecStart= at $binary; the unit's ExecStart= line is: $(grep '^ExecStart=' "$unit")"
fi

# 3. systemd-analyze verify: any output at all is a failure.
out=$(sandboxed systemd-analyze verify --man=no "$copy" 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
        fail "systemd-analyze verify --man=no exited $rc and printed (it must print nothing):"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
else
        echo "ok: systemd-analyze verify printed nothing"
fi

# 3a. The socket unit beside the service: verify must print nothing for the pair either.
if [ -n "$socket_unit" ]; then
        if grep -n '@[A-Za-z_]*@' "$socket_unit" >&2; then
                fail "$socket_unit still holds unsubstituted @...@ placeholders (see above)."
        fi
        cp "$socket_unit" "$tmp/unit/procwatchd.socket"
        out=$(sandboxed systemd-analyze verify --man=no "$tmp/unit/procwatchd.socket" "$copy" 2>&1)
        rc=$?
        if [ $rc -ne 0 ] || [ -n "$out" ]; then
                fail "systemd-analyze verify --man=no of procwatchd.socket exited $rc and printed (it must print nothing):"
                printf '%s\n' "$out" | sed 's/^/    /' >&2
        else
                echo "ok: systemd-analyze verify printed nothing for procwatchd.socket"
        fi
        if ! grep -qx 'ListenStream=/run/procwatchd/io.procwatch' "$socket_unit" ||
           ! grep -qx 'SocketMode=0666' "$socket_unit"; then
                fail "$socket_unit does not listen on /run/procwatchd/io.procwatch with mode 0666."
        fi
fi

# 3b. The check above is only worth something if verify does complain about a broken unit.
broken="$tmp/unit-broken/procwatchd.service"
mkdir "$tmp/unit-broken"
sed 's/^\[Service\]$/[Service]\nNoSuchSetting=yes/' "$copy" > "$broken"
out=$(sandboxed systemd-analyze verify --man=no "$broken" 2>&1)
if [ -z "$out" ]; then
        fail "self-check: systemd-analyze verify printed nothing for a unit with an unknown key, so its silence above proves nothing."
fi

# 4. systemd-analyze security: exposure within the threshold.
out=$(sandboxed systemd-analyze security --offline=yes --threshold=$THRESHOLD "$copy" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | grep -o 'Overall exposure level for [^:]*: .*' | sed 's/^Overall exposure level for [^:]*: //')
echo "exposure: ${score:-unknown} (threshold $((THRESHOLD / 10)).$((THRESHOLD % 10)))"
if [ $rc -ne 0 ] || [ -z "$score" ]; then
        fail "systemd-analyze security --offline=yes --threshold=$THRESHOLD exited $rc; what counts against the unit:"
        printf '%s\n' "$out" | grep -E '✗|exposure|Failed|rror' | sed 's/^/    /' >&2
fi

# 4a. Issue 10: the powers a compromised daemon must not keep.
expect_line() {
        if ! grep -qxF "$1" "$unit"; then
                fail "$unit lacks '$1' ($2)."
        else
                echo "ok: $1"
        fi
}
expect_line 'SystemCallFilter=~process_vm_readv process_vm_writev' "no access to other processes' memory"
expect_line 'ReadOnlyPaths=/proc' "/proc is read, never written"
expect_line 'TemporaryFileSystem=/run:ro /tmp:ro /var:ro' \
        "AF_UNIX reach is an allowlist (test-unit-sandbox.sh checks it under a real service manager)"
# And what systemd makes of them: the syscalls are really denied in the effective filter.
out=$(sandboxed systemd-analyze security --offline=yes --no-pager "$copy" 2>&1)
if ! printf '%s\n' "$out" | grep -q 'SystemCallFilter=~@debug'; then
        fail "systemd-analyze security does not see @debug (ptrace) as denied:"
        printf '%s\n' "$out" | grep SystemCallFilter | sed 's/^/    /' >&2
fi
if grep -E '^(AmbientCapabilities|CapabilityBoundingSet)=.*CAP_(SYS_ADMIN|DAC_OVERRIDE|SYS_MODULE)' "$unit" >&2; then
        fail "the unit keeps a capability it has no use for (above)."
fi

# 5. Capability names: systemd drops unknown ones without a word, so compare with the kernel's list.
if [ ! -r "$capability_h" ]; then
        fail "$capability_h not readable (linux-libc-dev); cannot check capability names."
else
        known=$(sed -n 's/^#define[[:space:]]\{1,\}\(CAP_[A-Z0-9_]\{1,\}\)[[:space:]]\{1,\}[0-9]\{1,\}[[:space:]]*$/\1/p' "$capability_h")
        if [ "$(printf '%s\n' "$known" | grep -c .)" -lt 30 ]; then
                fail "found only $(printf '%s\n' "$known" | grep -c .) capability names in $capability_h; the parser is broken."
        fi
        named=$(sed -n 's/^\(CapabilityBoundingSet\|AmbientCapabilities\)=~\{0,1\}//p' "$unit" | tr ' ' '\n' | grep .)
        if [ -z "$named" ]; then
                fail "the unit names no capability in CapabilityBoundingSet=; it would keep them all."
        fi
        for cap in $named; do
                upper=$(printf '%s' "$cap" | tr '[:lower:]' '[:upper:]')
                if printf '%s\n' "$known" | grep -qx "$upper"; then
                        echo "ok: capability $cap exists"
                else
                        fail "capability '$cap' in the unit is not in $capability_h; systemd would ignore it silently."
                fi
        done
fi

# 6. `systemctl enable` from the install directory, in a scratch root: [Install] and the unit
#    directory (on systemd's search path) must both be right.
root="$tmp/root"
mkdir -p "$root/$unitdir" "$root/etc/systemd/system"
cp "$unit" "$root/$unitdir/procwatchd.service"
[ -n "$socket_unit" ] && cp "$socket_unit" "$root/$unitdir/procwatchd.socket"
out=$(systemctl --root="$root" enable procwatchd.service 2>&1)
rc=$?
link="$root/etc/systemd/system/sysinit.target.wants/procwatchd.service"
if [ $rc -ne 0 ] || [ ! -L "$link" ]; then
        fail "systemctl --root enable procwatchd.service (unit in $unitdir) exited $rc and made no $link:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
else
        echo "ok: systemctl enable links $(readlink "$link") into sysinit.target.wants"
fi
if [ -n "$socket_unit" ]; then
        if [ ! -L "$root/etc/systemd/system/sockets.target.wants/procwatchd.socket" ]; then
                fail "systemctl enable procwatchd.service did not enable procwatchd.socket (Also=)."
        else
                echo "ok: systemctl enable also links procwatchd.socket into sockets.target.wants"
        fi
fi

if [ $failures -ne 0 ]; then
        echo "$failures check(s) failed for $unit" >&2
        exit 1
fi
echo "all unit checks passed"
