#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs the generated procwatchd.service and procwatchd.socket, unchanged but for ExecStart=, under a
# real systemd service manager (systemd --user as root, which applies the unit's mount namespace,
# capability, syscall and address-family settings as PID 1 would), beside a real private journald,
# and checks from inside the daemon's own mount namespace what it can reach (issue 10, Deliver 8):
#   - the service starts: READY=1 arrives through the notify socket bound into its namespace;
#   - procwatchctl reaches it through the socket unit, and it sees a process the test runs;
#   - its journal entries reach journald through the bound journal socket;
#   - /run, /tmp and /var hold exactly the allowlist (journal and notify sockets, its runtime
#     directory), so the manager's private bus and every other socket there do not exist for it.
#
# The manager runs in a mount namespace of its own, with /run a tmpfs (its private bus and notify
# socket are /run/systemd/private and /run/systemd/notify, as PID 1's are) and in cgroups the test
# makes in every hierarchy: a manager started in the root cgroup would move every process of the
# machine into its init.scope. Everything is killed and removed on every path.
#
# Usage: test-unit-sandbox.sh GENERATED-UNIT GENERATED-SOCKET-UNIT BUILT-PROCWATCHD BUILT-PROCWATCHCTL
# Needs root; exits 77 (a skip for meson) without it.
set -u -o pipefail

unit=${1:?usage: $0 UNIT SOCKET-UNIT PROCWATCHD PROCWATCHCTL}
socket_unit=${2:?}
daemon=${3:?}
ctl=${4:?}

if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: needs root (unshare, mount, cgroups, a root service manager)."
        exit 77
fi
for tool in unshare nsenter mount journalctl systemctl /lib/systemd/systemd /lib/systemd/systemd-journald; do
        if ! command -v "$tool" >/dev/null; then
                echo "FAIL: $tool not found; install systemd and util-linux." >&2
                exit 1
        fi
done

tmp=$(mktemp -d)
[ -n "${PWTEST_KEEP:-}" ] && echo "scratch: $tmp"
cgroups=()

# Every cgroup hierarchy mounted (cgroup2, and cgroup v1 ones on a hybrid host), as "mountpoint
# path-of-this-process-in-it".
hierarchies() {
        local id ctrls path mnt opts fstype c ok
        while IFS=: read -r id ctrls path; do
                while read -r mnt fstype opts; do
                        if [ -z "$ctrls" ]; then
                                [ "$fstype" = cgroup2 ] || continue
                        else
                                [ "$fstype" = cgroup ] || continue
                                ok=1
                                for c in ${ctrls//,/ }; do
                                        case ",$opts," in *",$c,"*) ;; *) ok=0 ;; esac
                                done
                                [ $ok = 1 ] || continue
                        fi
                        echo "$mnt $path"
                        break
                done < <(awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1), $(i + 3) }' /proc/self/mountinfo)
        done < /proc/self/cgroup
}

cleanup() {
        local cg i d
        # Kill what is left (the manager, the daemon, journald), then remove the cgroups deepest first.
        for i in 1 2 3 4 5; do
                for cg in "${cgroups[@]}"; do
                        [ -d "$cg" ] || continue
                        find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
                done
                for cg in "${cgroups[@]}"; do
                        [ -d "$cg" ] || continue
                        find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
                done
                left=0
                for cg in "${cgroups[@]}"; do [ -d "$cg" ] && left=1; done
                [ $left = 0 ] && break
                sleep 0.2
        done
        for cg in "${cgroups[@]}"; do
                [ -d "$cg" ] && echo "WARNING: could not remove $cg" >&2
        done
        [ -n "${PWTEST_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

while read -r mnt path; do
        d="${mnt}${path%/}/pwtest-unit-sandbox.$$"
        if mkdir "$d" 2>/dev/null; then
                cgroups+=("$d")
        fi
done < <(hierarchies)
if [ ${#cgroups[@]} -eq 0 ]; then
        echo "FAIL: could not make a cgroup in any hierarchy (is cgroupfs mounted?)." >&2
        exit 1
fi

mkdir -p "$tmp/config/systemd/user" "$tmp/journal" "$tmp/bin"
: > "$tmp/kmsg-null"
# The binaries go where the unit's namespace shows them: the build tree may be under /tmp, /var or
# /home, which the unit hides. /usr/local/sbin is a tmpfs of the test's own mount namespace below.
sed "s|^ExecStart=[^ ]*procwatchd\\b|ExecStart=/usr/local/sbin/procwatchd|" "$unit" \
        > "$tmp/config/systemd/user/procwatchd.service"
cp "$socket_unit" "$tmp/config/systemd/user/procwatchd.socket"
cp "$daemon" "$ctl" "$tmp/bin/"

# The test proper, in the cgroups made above and a mount namespace of its own.
inner() {
        set -u
        local failures=0 M out listing i
        fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

        mount -n -t tmpfs -o mode=0755 tmpfs /run || return 1
        mount -n -t tmpfs -o mode=0755 tmpfs /usr/local/sbin || return 1
        cp "$tmp/bin/procwatchd" "$tmp/bin/procwatchctl" /usr/local/sbin/
        mount -n --bind "$tmp/kmsg-null" /dev/kmsg
        mount -n --bind "$tmp/journal" /var/log/journal 2>/dev/null || true
        # /run/systemd/system: what a manager checks for "booted with systemd".
        mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/systemd/system /run/log
        printf '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nForwardToSyslog=no\nForwardToWall=no\n' \
                > /run/systemd/journald.conf.d/50-test.conf
        SYSTEMD_LOG_TARGET=console /lib/systemd/systemd-journald > "$tmp/journald.log" 2>&1 &
        for i in $(seq 300); do [ -S /run/systemd/journal/io.systemd.journal ] && break; sleep 0.1; done
        [ -S /run/systemd/journal/socket ] || { fail "journald did not start:"; cat "$tmp/journald.log" >&2; return 1; }

        export XDG_RUNTIME_DIR=/run XDG_CONFIG_HOME="$tmp/config"
        unset NOTIFY_SOCKET DBUS_SESSION_BUS_ADDRESS
        SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=${PWTEST_MANAGER_LOG_LEVEL:-info} /lib/systemd/systemd --user > "$tmp/manager.log" 2>&1 &
        for i in $(seq 300); do [ -S /run/systemd/private ] && break; sleep 0.1; done
        [ -S /run/systemd/private ] || { fail "systemd --user did not start:"; cat "$tmp/manager.log" >&2; return 1; }

        # 1. It starts, with every hardening setting of the unit applied, and says READY=1.
        if ! timeout 60 systemctl --user start procwatchd.socket procwatchd.service; then
                fail "the unit did not start:"
                systemctl --user status --no-pager procwatchd.service >&2
                tail -30 "$tmp/manager.log" >&2
                return 1
        fi
        M=$(systemctl --user show -P MainPID procwatchd.service)
        if [ "$(systemctl --user show -P ActiveState procwatchd.service)" != active ] || [ "${M:-0}" -le 0 ]; then
                fail "procwatchd.service is not active after start (MainPID ${M:-none})"
                return 1
        fi
        echo "ok: procwatchd.service active under a real service manager, MainPID $M"

        # 2. A process of the test's, seen through the socket unit's socket.
        sleep 300 & marker=$!
        out=""
        for i in $(seq 300); do
                out=$(timeout 10 /usr/local/sbin/procwatchctl show "$marker" 2>&1) && break
                sleep 0.1
        done
        if printf '%s\n' "$out" | grep -q 'sleep 300'; then
                echo "ok: procwatchctl, through /run/procwatchd/io.procwatch, shows the test's process"
        else
                fail "procwatchctl show $marker did not show 'sleep 300': $out"
        fi
        kill "$marker"; wait "$marker" 2>/dev/null

        # 3. Its journal entries reach journald through the bound socket: the marker's exec entry.
        for i in $(seq 300); do
                journalctl --sync 2>/dev/null
                journalctl -q -o cat PROCWATCH_PID="$marker" 2>/dev/null | grep -q . && break
                sleep 0.1
        done
        if journalctl -q -o cat PROCWATCH_PID="$marker" | grep -q .; then
                echo "ok: journald stored the daemon's entries for the test's process"
        else
                fail "no journal entry with PROCWATCH_PID=$marker; journald's log:"
                tail -20 "$tmp/journald.log" >&2
        fi

        # 4. What exists for it under /run, /tmp and /var: the allowlist, nothing else.
        listing=$(nsenter -t "$M" -m -- find /run /tmp /var -mindepth 1 -not -path '/run/procwatchd/*' | sort | head -40 | tr '\n' ' ')
        want="/run/procwatchd /run/systemd /run/systemd/journal /run/systemd/journal/socket /run/systemd/notify "
        if [ "$listing" = "$want" ]; then
                echo "ok: in the daemon's namespace /run, /tmp and /var hold only: $listing"
        else
                fail "the daemon's namespace holds '$listing' under /run, /tmp and /var; want '$want'"
        fi
        # The manager's private bus exists beside it, and is out of its reach.
        if [ -S /run/systemd/private ] && ! nsenter -t "$M" -m -- test -e /run/systemd/private; then
                echo "ok: the service manager's private bus does not exist for the daemon"
        else
                fail "the daemon can reach /run/systemd/private"
        fi
        if nsenter -t "$M" -m -- test -S /run/procwatchd/io.procwatch; then
                echo "ok: its control socket is in its runtime directory"
        else
                fail "/run/procwatchd/io.procwatch is not visible to the daemon"
        fi

        timeout 30 systemctl --user stop procwatchd.service procwatchd.socket ||
                fail "systemctl stop procwatchd did not finish"
        return $failures
}

(
        # A v1 cpuset cgroup takes no process until given CPUs; systemd does not use that hierarchy.
        for cg in "${cgroups[@]}"; do echo "$BASHPID" 2>/dev/null > "$cg/cgroup.procs"; done
        export tmp
        exec unshare -m --propagation private bash -c "$(declare -f inner); inner"
)
rc=$?
if [ $rc -ne 0 ]; then
        echo "$rc check(s) failed (manager log: below)" >&2
        tail -20 "$tmp/manager.log" >&2 2>/dev/null
        exit 1
fi
echo "all unit sandbox checks passed"
