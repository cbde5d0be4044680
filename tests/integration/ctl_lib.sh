# Shared helpers of the control-plane integration tests (sourced).
# Free ports on 127.0.0.1, the harness start/stop, and assertions.
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok   $*"; }

# free_port: a TCP port on 127.0.0.1 that no socket uses, below the kernel's
# ephemeral range (curl and other clients of parallel tests take their local
# ports from that range; a listener probe cannot see those), and not handed
# out before by this shell. usage: free_port VAR
KB_PORTS_GIVEN=${KB_PORTS_GIVEN:-}
free_port() {
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	for _ in $(seq 1 100); do
		p=$((10000 + RANDOM % (lo - 10000)))
		case " $KB_PORTS_GIVEN " in *" $p "*) continue ;; esac
		[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ] || continue
		KB_PORTS_GIVEN="$KB_PORTS_GIVEN $p"
		printf -v "$1" %s "$p"
		return
	done
	fail "no free port"
}

# start_harness LOGPREFIX ARGS...: sets HPID; waits for "ready"
start_harness() {
	local pfx=$1
	shift
	"$HARNESS" "$@" >"$pfx.out" 2>"$pfx.err" &
	HPID=$!
	for _ in $(seq 1 100); do
		grep -q ready "$pfx.out" 2>/dev/null && return 0
		kill -0 $HPID 2>/dev/null || { cat "$pfx.err" >&2; fail "harness died"; }
		sleep 0.05
	done
	fail "harness not ready"
}

stop_harness() {
	if [ -n "${HPID:-}" ] && kill -0 "$HPID" 2>/dev/null; then
		kill "$HPID"
		wait "$HPID" 2>/dev/null || true
	fi
	HPID=
}

# expect_eq WHAT GOT WANT
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
	pass "$1"
}

expect_grep() {
	grep -q -- "$2" "$3" || { echo "--- $3:" >&2; cat "$3" >&2; fail "$1: '$2' not in $3"; }
	pass "$1"
}

# ctl_setup [CLEANUP]: the common start of a harness test. A work directory
# $W (the shell cds into it; removed at exit, after stop_harness and the
# shell code CLEANUP), the admin token $TOK, and free ports $UP and $AP with
# their base URLs $UE and $ADM (plain http).
ctl_setup() {
	W=$(mktemp -d)
	HPID=
	trap "stop_harness; ${1:-:}; rm -rf \"\$W\"" EXIT
	cd "$W"
	TOK=test-admin-token-0123456789
	free_port UP
	free_port AP
	UE=http://127.0.0.1:$UP
	ADM=http://127.0.0.1:$AP
}

# --- keyburstd tests: the work directory $W, the daemon $KPID, uesim $UPID ---

# rm_work: remove $W, or keep it and say where if KEEP is set
rm_work() {
	[ -n "${KEEP:-}" ] && { echo "kept $W"; return; }
	rm -rf "$W"
}

# kbd_cleanup (EXIT trap): $KPID gets SIGTERM and 5 s to exit, then SIGKILL;
# then rm_work
kbd_cleanup() {
	if [ -n "${KPID:-}" ] && kill -0 "$KPID" 2>/dev/null; then
		kill -TERM "$KPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$KPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$KPID" 2>/dev/null || true
	fi
	rm_work
}

# kill_cleanup (EXIT trap): SIGKILL $KPID and $UPID, reap them, rm_work
kill_cleanup() {
	for p in ${KPID:-} ${UPID:-}; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm_work
}

# tail_logs FILE...: the last lines of each of these logs in $W, to stderr
tail_logs() {
	for f in "$@"; do
		[ -f "$W/$f" ] && { echo "--- $f" >&2; tail -n 25 "$W/$f" >&2; }
	done
	return 0
}

# dfail MSG: fail, after the end of keyburstd's log $W/kbd.log
dfail() {
	tail -n 30 "$W/kbd.log" >&2 2>/dev/null || true
	fail "$@"
}

# wait_healthz ADM TRIES [FAILFN]: poll ADM/healthz every 0.1 s until it
# answers; FAILFN (default fail) if $KPID exits or after TRIES polls
wait_healthz() {
	local f=${3:-fail}
	for _ in $(seq "$2"); do
		curl -sf "$1/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$KPID" 2>/dev/null || "$f" "keyburstd died"
		sleep 0.1
	done
	curl -sf "$1/healthz" >/dev/null || "$f" "control plane not up after $(($2 / 10)) s"
}
