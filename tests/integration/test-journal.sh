#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real procwatchd against a private, real systemd-journald (../shared/docs/testing-with-real-
# systemd.md): a mount namespace whose /run/systemd, /run/log, /var/log/journal, /dev/kmsg and
# catalog folders are the test's own; the host's journal and /run/systemd are never touched.
#
#  1. journald absent at start: the daemon says so, and forwards once journald is there.
#  2. Real workloads read back with `journalctl -o json`: every field and value for exec, exit with a
#     code, death by SIGSEGV with a core dump, setuid, a comm change (with a newline, a quote and
#     0xff), a 100 KiB argv; PRIORITY, MESSAGE_ID, `journalctl -x` catalog text, `journalctl -u
#     procwatchd` (the daemon in a cgroup named procwatchd.service) and `journalctl -u` of a test
#     unit's cgroup (OBJECT_SYSTEMD_UNIT).
#  3. Filters: comm, subtree, kinds and argv redaction select exactly (a second daemon).
#  4. journald SIGSTOPped during a storm: no event lost (Stats), SIGTERM of a daemon stuck on it
#     ends it within a second; journald killed and started again: the summary of what was not
#     forwarded appears, and every offered entry is accounted for.
#
# Usage: test-journal.sh PROCWATCHD PROCWATCHCTL CATALOG STORM-SOURCE
# Needs root (unshare, mount, cgroups); exits 77 (a skip) without it. Everything polls with a
# deadline; nothing sleeps to synchronise.
set -u -o pipefail

PROCWATCHD=${1:?usage: $0 PROCWATCHD PROCWATCHCTL CATALOG STORM-SOURCE}
PROCWATCHCTL=${2:?usage}
CATALOG=${3:?usage}
STORM_SRC=${4:?usage}

if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: needs root (unshare -m, mount, cgroup writes)."
        exit 77
fi
for tool in unshare mount journalctl python3 cc; do
        command -v "$tool" >/dev/null || { echo "FAIL: $tool not found" >&2; exit 1; }
done
JOURNALD=/lib/systemd/systemd-journald
[ -x "$JOURNALD" ] || { echo "FAIL: $JOURNALD not found (install systemd)" >&2; exit 1; }

SB=$(mktemp -d /tmp/pw-journal-test.XXXXXX)
# The unified (cgroup v2) hierarchy: /sys/fs/cgroup/unified on a hybrid host, else /sys/fs/cgroup.
if [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then
        CGROOT=/sys/fs/cgroup/unified
else
        CGROOT=/sys/fs/cgroup
fi
SLICE=$CGROOT/pwtest-$$.slice
cleanup() {
        # Anything we started that is still in our cgroups goes; then the cgroups.
        for cg in "$SLICE"/*/ "$SLICE"/; do
                [ -e "$cg/cgroup.procs" ] || continue
                while read -r p; do kill -9 "$p" 2>/dev/null; done < "$cg/cgroup.procs"
        done
        for cg in "$SLICE"/*/ "$SLICE"/; do
                [ -d "$cg" ] || continue
                for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
        done
        rm -rf "$SB"
}
trap cleanup EXIT
# A timeout (SIGTERM from meson) or Ctrl-C still cleans up: exit through the EXIT trap.
trap 'exit 143' TERM
trap 'exit 130' INT

mkdir -p "$SB/run-systemd/journal" "$SB/run-systemd/journald.conf.d" "$SB/run-log" "$SB/var-log-journal" \
        "$SB/catalog-usr" "$SB/catalog-var" "$SB/scratch" "$SB/run-systemd/units"
printf '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nForwardToSyslog=no\nForwardToWall=no\n' \
        > "$SB/run-systemd/journald.conf.d/50-test.conf"
: > "$SB/kmsg-null"
cp "$CATALOG" "$SB/catalog-usr/procwatchd.catalog"
cc -O2 -o "$SB/storm" "$STORM_SRC" || { echo "FAIL: cannot build $STORM_SRC" >&2; exit 1; }
# Filter workloads: scripts whose comm is their name, living long enough (100 ms) for /proc to be
# read after their exec (a process gone before that has no command line to filter or redact).
# Their names are this run's own: the connector is multicast, and another run of this test on the
# same machine must not match the filters.
TAG=$(printf '%x' $$)
FY=pwy$TAG FN=pwn$TAG
for name in $FY $FN; do
        printf '#!/bin/sh\nsleep 0.1\n' > "$SB/$name"
        chmod +x "$SB/$name"
done
# The workloads run in cgroups of the test's own, never in the runner's: that may be the root
# cgroup, where no unit exists.
mkdir -p "$SLICE/procwatchd.service" "$SLICE/pwtest-work.service" "$SLICE/pwtest-marks.service" "$SLICE/runner" || {
        echo "FAIL: cannot make cgroups under $CGROOT" >&2
        exit 1
}

export SB PROCWATCHD PROCWATCHCTL JOURNALD SLICE FY FN
# Everything in the namespace (journald, daemons, workloads) runs in the test's cgroups, so that the
# cleanup finds and ends it whichever way the test ends.
bash -c 'echo $$ > "$SLICE/runner/cgroup.procs" && exec unshare -m --propagation private bash -s' <<'INNER'
set -u -o pipefail
mount -n --bind "$SB/run-systemd" /run/systemd
mount -n --bind "$SB/run-log" /run/log
mount -n --bind "$SB/var-log-journal" /var/log/journal
mount -n --bind "$SB/kmsg-null" /dev/kmsg
mkdir -p /usr/lib/systemd/catalog /var/lib/systemd/catalog
mount -n --bind "$SB/catalog-usr" /usr/lib/systemd/catalog
mount -n --bind "$SB/catalog-var" /var/lib/systemd/catalog
journalctl --update-catalog || { echo "FAIL: journalctl --update-catalog" >&2; exit 1; }

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for DEADLINE_MS COMMAND...: polls COMMAND until it succeeds or the deadline passes.
wait_for() {
        local deadline=$(( $(now_ms) + $1 )); shift
        until "$@"; do
                [ "$(now_ms)" -lt "$deadline" ] || return 1
                sleep 0.05
        done
}

start_journald() {
        rm -f /run/systemd/journal/io.systemd.journal
        SYSTEMD_LOG_TARGET=console "$JOURNALD" >> "$SB/journald.log" 2>&1 &
        J=$!
        wait_for 30000 test -S /run/systemd/journal/io.systemd.journal || { echo "FAIL: journald did not start" >&2; exit 1; }
}

# Starts a daemon in cgroup $1 with the remaining options; sets DPID, logs to $SB/d-$DPID.log.
start_daemon() {
        local cg=$1; shift
        local sock="$SB/ctl-$RANDOM$RANDOM"
        bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$PROCWATCHD" --socket="$sock" "$@" \
                > /dev/null 2> "$SB/d.tmp.log" &
        DPID=$!
        DSOCK=$sock
        wait_for 30000 test -S "$sock" || { cat "$SB/d.tmp.log" >&2; echo "FAIL: procwatchd did not start" >&2; exit 1; }
        mv "$SB/d.tmp.log" "$SB/d-$DPID.log"
}

# Gone, or a zombie waiting for us to reap it.
is_gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# stop_daemon PID: SIGTERM; prints the ms it took and fails unless it is gone within 1000 ms.
stop_daemon() {
        local t0; t0=$(now_ms)
        kill -TERM "$1"
        if wait_for 1000 is_gone "$1"; then
                echo "$(( $(now_ms) - t0 ))"
                return 0
        fi
        kill -9 "$1"
        return 1
}

# A not-forwarded summary from daemon $1 that counts queue-full drops.
summary_full() {
        journalctl --sync
        journalctl -o json _PID="$1" MESSAGE_ID=c582ddc6d04b4a47a8634cbe5f84eda8 | python3 -c '
import json, sys
sys.exit(0 if any(int(json.loads(l).get("PROCWATCH_NOT_FORWARDED_QUEUE_FULL", "0")) > 0 for l in sys.stdin) else 1)'
}

stats() { "$PROCWATCHCTL" --socket="$1" stats --json; }
jget() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Whether an entry matching the journalctl matches exists (journalctl --sync first).
has_entry() { journalctl --sync; [ -n "$(journalctl -q -o cat "$@" 2>/dev/null | head -n1)" ]; }

# --- 1. journald absent at start ------------------------------------------------------------------
rm -f /run/systemd/journal/socket
start_daemon "$SLICE/procwatchd.service" --journal-events=all --journal-pid=$$
D1=$DPID; D1SOCK=$DSOCK
if wait_for 30000 grep -q "journald is not available" "$SB/d-$D1.log"; then
        ok "journald absent at start: the daemon says so"
else
        fail "no 'journald is not available' in the daemon's log"; cat "$SB/d-$D1.log" >&2
fi
start_journald
# Forwarded once journald is there (retried every 500 ms: run the marker until its entry comes).
found=0
deadline=$(( $(now_ms) + 30000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
        /bin/true pwmark-after-start
        if has_entry PROCWATCH_EVENT=exec PROCWATCH_CMDLINE="/bin/true pwmark-after-start"; then found=1; break; fi
        sleep 0.1
done
[ $found = 1 ] && ok "forwarding once journald started" || fail "no entry after journald started"
wait_for 30000 grep -q "journald takes entries again" "$SB/d-$D1.log" && ok "the daemon says journald is back" ||
        fail "no 'journald takes entries again' in the log"
wait_for 30000 has_entry MESSAGE_ID=c582ddc6d04b4a47a8634cbe5f84eda8 _PID=$D1 &&
        ok "summary of entries not forwarded while journald was absent" || fail "no not-forwarded summary after start"

# --- 2. workloads ---------------------------------------------------------------------------------
cd "$SB/scratch"
bash -c 'echo $$ > "$0/cgroup.procs" && exec python3 -' "$SLICE/pwtest-marks.service" > "$SB/pids.json" <<'PY'
import ctypes, json, os, resource, signal, subprocess
out = {}
p = subprocess.Popen(["/bin/sh", "-c", "sleep 0.1; exit 7", "pwmark-exit7"]); p.wait(); out["exit7"] = p.pid
assert p.returncode == 7
def core():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
p = subprocess.Popen(["/bin/sh", "-c", "kill -SEGV $$", "pwmark-segv"], preexec_fn=core, cwd=os.getcwd())
p.wait(); out["segv"] = p.pid; out["segv_rc"] = p.returncode
p = subprocess.Popen(["python3", "-c", "import os,sys; os.setgid(65534); os.setuid(65534); sys.exit(0)", "pwmark-uid"])
p.wait(); out["uid"] = p.pid
p = subprocess.Popen(["python3", "-c", "import ctypes; ctypes.CDLL(None).prctl(15, b'pw\\nq\"x\\xff', 0, 0, 0)", "pwmark-comm"])
p.wait(); out["comm"] = p.pid
p = subprocess.Popen(["python3", "-c", "import time; time.sleep(0.1)", "pwmark-big", "x" * (100 * 1024)])
p.wait(); out["big"] = p.pid
print(json.dumps(out))
PY
cd /
# A process in a test unit's cgroup.
bash -c 'echo $$ > "$0/cgroup.procs" && exec /bin/sleep 0.3' "$SLICE/pwtest-work.service"
journalctl --sync
wait_for 30000 has_entry PROCWATCH_EVENT=exit PROCWATCH_PID="$(jget big < "$SB/pids.json")" || fail "no exit entry for the big argv"
wait_for 30000 has_entry PROCWATCH_EVENT=exit PROCWATCH_COMM=sleep OBJECT_SYSTEMD_UNIT=pwtest-work.service ||
        fail "no exit entry for the test unit's process"
journalctl -a -o json SYSLOG_IDENTIFIER=procwatchd _PID=$D1 > "$SB/entries.json"

python3 - "$SB/pids.json" "$SB/entries.json" "$SLICE" "$SB/scratch" <<'PY' || failures=$((failures + 1))
import json, os, sys
pids = json.load(open(sys.argv[1]))
entries = [json.loads(l) for l in open(sys.argv[2])]
slice_name = os.path.basename(sys.argv[3])
bad = 0
def val(e, k):
    v = e.get(k)
    if isinstance(v, list) and v and isinstance(v[0], int):
        return bytes(v)
    return v
def check(cond, what):
    global bad
    if not cond:
        print("FAIL:", what, file=sys.stderr); bad += 1
    else:
        print("ok:", what)
def find(event, pid):
    r = [e for e in entries if e.get("PROCWATCH_EVENT") == event and e.get("PROCWATCH_PID") == str(pid)]
    check(len(r) == 1, f"one {event} entry for {pid} (got {len(r)})")
    return r[0] if r else {}
ids = {"exec": "0949ffb4cc6a4b37b1c6558af7f4256f", "exit": "dfeef2d0bf7644d5a5ef96812979a09e",
       "uid": "b8e98f2069484293855dbc4bc9fb444d", "comm": "e4e5060dd9dc480baadc91b95f125e08",
       "coredump": "d1d2d9ccc2fd4192b27efe35fb112ac1", "fork": "b1f445ade04548bcb79bd20bd57be0d2"}
for e in entries:
    if "PROCWATCH_EVENT" in e:
        assert e["MESSAGE_ID"] == ids.get(e["PROCWATCH_EVENT"], e["MESSAGE_ID"])
check(all("OBJECT_PID" not in e for e in entries), "no entry carries OBJECT_PID")
check(all(e.get("SYSLOG_IDENTIFIER") == "procwatchd" for e in entries), "SYSLOG_IDENTIFIER=procwatchd")

# exec + exit with a code
p = pids["exit7"]
x = find("exec", p)
for k, v in {"MESSAGE_ID": ids["exec"], "PRIORITY": "6", "PROCWATCH_PID": str(p), "PROCWATCH_TID": str(p),
             "PROCWATCH_EXE": "/usr/bin/dash", "PROCWATCH_CMDLINE": "/bin/sh -c sleep 0.1; exit 7 pwmark-exit7",
             "PROCWATCH_COMM": "sh", "PROCWATCH_PARENT_COMM": "python3", "PROCWATCH_UID": "0", "PROCWATCH_EUID": "0",
             "PROCWATCH_GID": "0", "PROCWATCH_EGID": "0", "PROCWATCH_USER": "root"}.items():
    check(x.get(k) == v, f"exec {k}={v!r} (got {x.get(k)!r})")
for k in ("PROCWATCH_ID", "PROCWATCH_PPID", "PROCWATCH_SID", "PROCWATCH_CGROUP", "PROCWATCH_START_REALTIME_USEC",
          "PROCWATCH_KERNEL_TIMESTAMP_NS"):
    check(k in x, f"exec has {k} ({x.get(k)!r})")
check(x.get("OBJECT_SYSTEMD_UNIT") == "pwtest-marks.service" and x.get("PROCWATCH_UNIT") == "pwtest-marks.service"
      and x.get("PROCWATCH_CGROUP") == f"/{slice_name}/pwtest-marks.service",
      f"exec in the workloads' unit ({x.get('OBJECT_SYSTEMD_UNIT')!r}, {x.get('PROCWATCH_CGROUP')!r})")
check(x.get("PROCWATCH_ID", "").startswith(f"{p}:"), "PROCWATCH_ID is PID:START")
check(x.get("MESSAGE", "").startswith(f"exec {p} /usr/bin/dash -c sleep 0.1; exit 7 pwmark-exit7 (parent "), f"exec MESSAGE {x.get('MESSAGE')!r}")
check(abs(int(x.get("PROCWATCH_START_REALTIME_USEC", "0")) - int(x.get("__REALTIME_TIMESTAMP", "0"))) < 5_000_000,
      "START_REALTIME_USEC close to the entry's time")
x = find("exit", p)
check(x.get("PRIORITY") == "5", f"exit 7 PRIORITY=5 ({x.get('PRIORITY')})")
check(x.get("PROCWATCH_EXIT_CODE") == "7" and "PROCWATCH_EXIT_SIGNAL" not in x, "exit code 7, no signal")
check("PROCWATCH_DURATION_USEC" in x, "exit has DURATION_USEC")
check(x.get("MESSAGE", "").startswith(f"exit {p} sh: status 7 after "), f"exit MESSAGE {x.get('MESSAGE')!r}")

# SIGSEGV with a core dump
p = pids["segv"]
x = find("exit", p)
check(x.get("PROCWATCH_EXIT_SIGNAL") == "11", f"segv EXIT_SIGNAL=11 ({x.get('PROCWATCH_EXIT_SIGNAL')})")
check(x.get("PROCWATCH_CORE_DUMPED") == "1", f"segv CORE_DUMPED=1 ({x.get('PROCWATCH_CORE_DUMPED')})")
check(x.get("PRIORITY") == "4", "segv PRIORITY=4")
check("PROCWATCH_EXIT_CODE" not in x, "segv has no EXIT_CODE")
check(" sh: killed by SIGSEGV (core dumped) after " in x.get("MESSAGE", ""), f"segv MESSAGE {x.get('MESSAGE')!r}")
check(os.path.exists(os.path.join(sys.argv[4], "core")) or any(f.startswith("core") for f in os.listdir(sys.argv[4])),
      "a core file was written")
x = find("coredump", p)
check(x.get("PRIORITY") == "4", "coredump PRIORITY=4")

# setuid
p = pids["uid"]
u = [e for e in entries if e.get("PROCWATCH_EVENT") == "uid" and e.get("PROCWATCH_PID") == str(p)]
check(len(u) >= 1 and u[-1].get("PROCWATCH_UID") == "65534" and u[-1].get("PROCWATCH_EUID") == "65534",
      f"uid entry with UID=EUID=65534 ({[e.get('PROCWATCH_UID') for e in u]})")
check(u and u[-1].get("MESSAGE_ID") == ids["uid"], "uid MESSAGE_ID")
check(u and u[-1].get("PROCWATCH_USER") == "nobody", f"uid USER=nobody ({u and u[-1].get('PROCWATCH_USER')})")
g = [e for e in entries if e.get("PROCWATCH_EVENT") == "gid" and e.get("PROCWATCH_PID") == str(p)]
check(g and g[-1].get("PROCWATCH_GID") == "65534", "gid entry with GID=65534")

# comm with a newline, a quote and 0xff
p = pids["comm"]
x = find("comm", p)
check(val(x, "PROCWATCH_COMM") == b'pw\nq"x\xff', f"raw comm ({val(x, 'PROCWATCH_COMM')!r})")
check(x.get("PROCWATCH_OLD_COMM") == "python3", f"OLD_COMM=python3 ({x.get('PROCWATCH_OLD_COMM')!r})")
check(x.get("MESSAGE") == f'comm {p} python3 -> pw\\nq"x\\xff', f"comm MESSAGE escaped ({x.get('MESSAGE')!r})")
x = find("exit", p)
check(val(x, "PROCWATCH_COMM") == b'pw\nq"x\xff' and "\n" not in x.get("MESSAGE", "\n"), "exit of the renamed process")

# 100 KiB argv
p = pids["big"]
x = find("exec", p)
c = x.get("PROCWATCH_CMDLINE", "")
check(len(c) == 16384 and c.startswith("python3 -c import time; time.sleep(0.1) pwmark-big xxx"), f"CMDLINE cut at 16384 bytes ({len(c)})")
check(x.get("PROCWATCH_CMDLINE_TRUNCATED") == "1", "CMDLINE_TRUNCATED=1")
check(len(x.get("MESSAGE", "")) < 700 and x["MESSAGE"].endswith("... (parent %s python3, uid 0)" % x.get("PROCWATCH_PPID")),
      f"MESSAGE bounded ({len(x.get('MESSAGE', ''))} bytes)")

# the test unit's process
u = [e for e in entries if e.get("OBJECT_SYSTEMD_UNIT") == "pwtest-work.service" and e.get("PROCWATCH_EVENT") == "exec"]
check(len(u) == 1 and u[0].get("PROCWATCH_CGROUP") == f"/{slice_name}/pwtest-work.service"
      and u[0].get("PROCWATCH_UNIT") == "pwtest-work.service", "exec in the test unit: OBJECT_SYSTEMD_UNIT, CGROUP, UNIT")
sys.exit(1 if bad else 0)
PY

# journalctl -x shows the catalog text; -u finds the daemon's entries and the test unit's process.
if journalctl -x -q MESSAGE_ID=dfeef2d0bf7644d5a5ef96812979a09e PROCWATCH_PID="$(jget segv < "$SB/pids.json")" | grep -q "Subject: A process ended"; then
        ok "journalctl -x shows the catalog entry"
else
        fail "journalctl -x shows no catalog text"; journalctl -x -q MESSAGE_ID=dfeef2d0bf7644d5a5ef96812979a09e | head -20 >&2
fi
n=$(journalctl -q -o cat -u procwatchd PROCWATCH_EVENT=exit | wc -l)
[ "$n" -gt 0 ] && ok "journalctl -u procwatchd: $n exit entries" || fail "journalctl -u procwatchd finds nothing"
n=$(journalctl -q -o cat -u procwatchd PROCWATCH_EVENT=exit PROCWATCH_EXIT_SIGNAL=11 | wc -l)
[ "$n" -ge 1 ] && ok "journalctl -u procwatchd PROCWATCH_EVENT=exit PROCWATCH_EXIT_SIGNAL=11" || fail "the man page's example finds nothing"
if journalctl -q -o cat -u pwtest-work.service | grep -q "^exec [0-9]* /usr/bin/sleep 0.3 "; then
        ok "journalctl -u pwtest-work.service shows the process run in it"
else
        fail "journalctl -u pwtest-work.service"; journalctl -q -o cat -u pwtest-work.service >&2
fi

# --- 3. filters -----------------------------------------------------------------------------------
start_daemon "$SLICE/procwatchd.service" --journal-comm="$FY*" --journal-argv=redact \
        --journal-redact='--password=*' --journal-redact=-p --journal-uid=0
D2=$DPID
bash -c '"$0/$1" --password=hunter2 -p secret --user=bob; "$0/$2" x' "$SB" "$FY" "$FN"
"$SB/$FY" outside
wait_for 30000 has_entry _PID=$D2 PROCWATCH_EVENT=exit PROCWATCH_CMDLINE="/bin/sh $SB/$FY outside" || fail "filtered daemon: no exit of the last run"
# The subtree filter: a third daemon watching only one shell's descendants.
mkfifo "$SB/go"
bash -c 'read -r _ < "$0/go"; "$0/$1" in-subtree; exit 0' "$SB" "$FY" &
SUBSHELL=$!
start_daemon "$SLICE/procwatchd.service" --journal-pid=$SUBSHELL --journal-events=exec
D3=$DPID
echo go > "$SB/go"
wait $SUBSHELL
"$SB/$FY" not-in-subtree
wait_for 30000 has_entry _PID=$D3 PROCWATCH_EVENT=exec PROCWATCH_CMDLINE="/bin/sh $SB/$FY in-subtree" || { fail "subtree: no exec of the shell"; journalctl -o verbose _PID=$D3 >&2; cat "$SB/d-$D3.log" >&2; }
"$SB/$FY" marker-end
wait_for 30000 has_entry _PID=$D2 PROCWATCH_CMDLINE="/bin/sh $SB/$FY marker-end" PROCWATCH_EVENT=exit || fail "no marker-end"
journalctl -a -o json _PID=$D2 PROCWATCH_EVENT=exec + _PID=$D2 PROCWATCH_EVENT=exit > "$SB/f2.json"
journalctl -a -o json _PID=$D3 > "$SB/f3.json"
python3 - "$SB" "$SB/f2.json" "$SB/f3.json" "$FY" <<'PY' || failures=$((failures + 1))
import json, sys
sb = sys.argv[1]
fy = sys.argv[4]
f2 = [json.loads(l) for l in open(sys.argv[2])]
f3 = [json.loads(l) for l in open(sys.argv[3])]
bad = 0
def check(cond, what):
    global bad
    print(("ok: " if cond else "FAIL: ") + what, file=sys.stdout if cond else sys.stderr)
    bad += not cond
cmds = sorted(((e["PROCWATCH_EVENT"], e.get("PROCWATCH_CMDLINE")) for e in f2), key=str)
want = sorted([(k, f"/bin/sh {sb}/{fy} {a}") for k in ("exec", "exit")
               for a in ("--password=*** -p *** --user=bob", "outside", "in-subtree", "not-in-subtree", "marker-end")])
check(cmds == want, f"comm+uid filter and redaction select exactly: {cmds}")
check(all("hunter2" not in json.dumps(e) and "secret" not in json.dumps(e) for e in f2), "no secret in any entry")
ev = [(e.get("PROCWATCH_EVENT"), e.get("PROCWATCH_CMDLINE")) for e in f3 if "PROCWATCH_EVENT" in e]
check(ev == [("exec", f"/bin/sh {sb}/{fy} in-subtree"), ("exec", "sleep 0.1")], f"subtree + kinds filter select exactly: {ev}")
sys.exit(1 if bad else 0)
PY
for d in $D2 $D3; do stop_daemon $d > /dev/null || fail "daemon $d did not stop within 1 s"; done

# --- 4. journald stopped, killed, restarted during a storm ------------------------------------------
kill -STOP $J
"$SB/storm" -w 2 -n 6000 -m exec > "$SB/storm.out" || fail "storm failed"
st=$(stats "$D1SOCK")
lost=$(jget lost <<< "$st"); full=$(jget journal_dropped_queue_full <<< "$st")
[ "$lost" = 0 ] && ok "ingest lost nothing while journald was stopped ($(cat "$SB/storm.out"))" || fail "lost $lost events"
[ "$full" -gt 0 ] && ok "queue full while journald was stopped: $full entries dropped and counted" || fail "queue never full ($st)"
# A daemon stuck on a stopped journald still stops within one second.
start_daemon "$SLICE/procwatchd.service" --journal-events=all
D4=$DPID
"$SB/storm" -w 1 -n 200 -m exec > /dev/null
if ms=$(stop_daemon $D4); then
        ok "SIGTERM with journald stopped: gone in $ms ms"
else
        fail "daemon $D4 did not stop within 1 s of SIGTERM with journald stopped"
fi
grep -q "not forwarded" "$SB/d-$D4.log" && ok "it says what it did not forward at shutdown" || fail "no shutdown count in its log"
kill -KILL $J; wait $J 2>/dev/null
/bin/true pwmark-dead
wait_for 30000 grep -q "journald is not available (send failed)" "$SB/d-$D1.log" &&
        ok "journald dead (socket file left): the daemon says so" || fail "no 'send failed' for a dead journald"
start_journald
found=0
deadline=$(( $(now_ms) + 30000 ))
while [ "$(now_ms)" -lt "$deadline" ]; do
        /bin/true pwmark-restarted
        if summary_full $D1; then found=1; break; fi
        sleep 0.1
done
[ $found = 1 ] && ok "summary after journald came back: $(journalctl -q -o cat _PID=$D1 MESSAGE_ID=c582ddc6d04b4a47a8634cbe5f84eda8 | tail -n1)" ||
        fail "no summary of entries not forwarded after journald came back"
st=$(stats "$D1SOCK")
python3 - <<PY || failures=$((failures + 1))
import json
s = json.loads('''$st''')
acc = s["journal_forwarded"] + s["journal_dropped"]
# Ingest while journald was stopped is checked above, right after its storm; by now other suites'
# storms on the machine may have overflowed the socket (counted in lost): only printed here.
print(f"info: lost {s['lost']} events over the whole run")
print(("ok" if s["journal_offered"] >= acc and s["journal_offered"] - acc < 100 else "FAIL")
      + f": offered {s['journal_offered']} = forwarded {s['journal_forwarded']} + dropped {s['journal_dropped']} (+ queued)")
assert s["journal_offered"] >= acc and s["journal_offered"] - acc < 100
PY
if ms=$(stop_daemon $D1); then ok "SIGTERM: gone in $ms ms"; else fail "daemon did not stop within 1 s"; fi
kill $J; wait $J 2>/dev/null
echo "$failures failure(s)"
exit $(( failures > 0 ))
INNER
rc=$?
exit $rc
