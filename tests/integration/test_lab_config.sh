#!/bin/bash
# lab/keyburstd-lab.conf, lab/run-keyburstd and lab/run-uesim (docs/nic-lab.md)
# checked by the real programs, with DPDK virtual devices in place of the NIC
# ports (KB_VDEV / UESIM_VDEV instead of the PCI addresses of the .env files):
#  1. the .env files give the documented command lines (--dry-run);
#  2. keyburstd takes the lab config on net_null (one-shot rollover of 1000
#     UEs, --no-ack) and refuses the same config with one misspelt key;
#  3. keyburstd (lab config, run-keyburstd) and keyburst-uesim (run-uesim)
#     over memif: a rollover of 2000 UEs with acks, 10% of them dropped by
#     the UEs, completes; every UE holds keyburstd's MSK ID.
set -euo pipefail
KEYBURSTD=$1
KEYBURST=$2
UESIM=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$here/../..
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d)
kpid=
cleanup() {
	[ -n "$kpid" ] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
export KB_BIN=$KEYBURSTD UESIM_BIN=$UESIM

# 1. the command lines the .env files give
dry=$("$top/lab/run-keyburstd" --dry-run)
for want in "-a 0000:3b:00.0" "--socket-mem 4096" "--config lab/keyburstd-lab.conf" \
	"--oneshot-rollover 1"; do
	case $dry in *"$want"*) ;; *) fail "run-keyburstd --dry-run: no '$want' in: $dry" ;; esac
done
dry=$("$top/lab/run-uesim" --dry-run -- --progress 0)
for want in "-a 0000:3b:00.1" "--roster lab/roster.csv" "--until-all" "--progress 0"; do
	case $dry in *"$want"*) ;; *) fail "run-uesim --dry-run: no '$want' in: $dry" ;; esac
done
dry=$(UESIM_VDEV=net_null0 UESIM_NO_HUGE=1 "$top/lab/run-uesim" --dry-run)
case $dry in *"--no-pci --vdev net_null0"*"--no-huge -m"* | *"--no-huge -m"*"--no-pci --vdev net_null0"*) ;;
*) fail "run-uesim: the environment must win over the file: $dry" ;; esac
echo "ok   dry runs"

"$KEYBURST" roster gen --count 2000 --seed 20261122 --output "$dir/r.csv"
head -n 1001 "$dir/r.csv" >"$dir/r1k.csv"

# 2. the lab config on net_null
common=(KB_NO_HUGE=1 KB_MEM_MB=768 KB_LCORES=0-1 KB_EAL_ARGS=--log-level=lib.eal:error)
env "${common[@]}" KB_VDEV=net_null0 KB_FILE_PREFIX="kbt_lab_null_$$" KB_ROSTER="$dir/r1k.csv" \
	KB_ARGS="--oneshot-rollover 1 --no-ack" KB_CONFIG="$top/lab/keyburstd-lab.conf" \
	"$top/lab/run-keyburstd" >"$dir/null.json" 2>"$dir/null.err" ||
	{ cat "$dir/null.err"; fail "keyburstd refused the lab config"; }
python3 - "$dir/null.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ues"] == 1000 and s["sent"] == 1000 and s["msk_id"] == "00010001", s
assert s["stats"]["tx_dropped"] == 0 and s["stats"]["seal_errors"] == 0, s
PY
grep -q "port 0 (net_null)" "$dir/null.err" || fail "no port line in the log"
echo "ok   keyburstd: lab config on net_null, 1000 UEs sent"
sed 's/^ack_timeout_ms/ack_timeout/' "$top/lab/keyburstd-lab.conf" >"$dir/typo.conf"
if env "${common[@]}" KB_VDEV=net_null0 KB_FILE_PREFIX="kbt_lab_typo_$$" KB_ROSTER="$dir/r1k.csv" \
	KB_ARGS="--oneshot-rollover 1 --no-ack" KB_CONFIG="$dir/typo.conf" \
	"$top/lab/run-keyburstd" >/dev/null 2>"$dir/typo.err"; then
	fail "keyburstd accepted an unknown key"
fi
grep -q "unknown key \[dataplane\] ack_timeout" "$dir/typo.err" || { cat "$dir/typo.err"; fail "typo"; }
echo "ok   keyburstd refuses a misspelt key"

# 3. keyburstd and uesim through the wrappers, memif in place of the cable
sock=$dir/kb.sock
env "${common[@]}" KB_FILE_PREFIX="kbt_lab_kbd_$$" KB_ROSTER="$dir/r.csv" \
	KB_VDEV="net_memif0,role=server,socket=$sock,socket-abstract=no,rsize=14" \
	KB_CONFIG="$top/lab/keyburstd-lab.conf" KB_ARGS="--oneshot-rollover 1 --max-time-s 120" \
	"$top/lab/run-keyburstd" >"$dir/kbd.json" 2>"$dir/kbd.err" &
kpid=$!
for _ in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$dir/kbd.err"; fail "keyburstd did not open the memif socket"; }
UESIM_NO_HUGE=1 UESIM_MEM_MB=768 UESIM_LCORES=1 UESIM_FILE_PREFIX="kbt_lab_ue_$$" \
	UESIM_VDEV="net_memif0,role=client,socket=$sock,socket-abstract=no,rsize=14" \
	UESIM_ROSTER="$dir/r.csv" UESIM_JSON="$dir/ue.json" UESIM_DURATION=120 UESIM_DROP_ACK=0.1 \
	UESIM_EAL_ARGS=--log-level=lib.eal:error \
	"$top/lab/run-uesim" -- --progress 0 2>"$dir/ue.err" || { cat "$dir/ue.err"; fail "uesim"; }
wait "$kpid" || { cat "$dir/kbd.err"; fail "keyburstd rollover did not complete"; }
kpid=
python3 - "$dir/kbd.json" "$dir/ue.json" <<'PY'
import json, sys
k, u = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert k["ues"] == 2000 and k["acked"] == 2000 and k["failed"] == 0, k
assert k["retried"] > 0, "10% dropped acks must cause retransmissions"
assert u["ues"] == 2000 and u["all_hold"] and u["msk_id"] == k["msk_id"], u
assert u["bad_mac"] == 0 and u["msk_mismatch"] == 0 and u["acks_dropped"] > 0, u
print("ok   keyburstd + uesim (lab wrappers, memif): %d UEs acked, %d retried" % (k["acked"], k["retried"]))
PY
echo PASS
