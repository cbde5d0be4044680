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
