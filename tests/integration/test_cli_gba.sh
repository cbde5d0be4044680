#!/bin/bash
# keyburst gba against tests/vectors/gba-1.json (MILENAGE TS 35.208 set 1 and
# the TS 33.220 NAF keys), compared with jq; plus exit codes of bad input.
# usage: test_cli_gba.sh /path/to/keyburst
set -u
KB=${1:?usage: $0 /path/to/keyburst}
VEC="$(cd "$(dirname "$0")/../vectors" && pwd)/gba-1.json"
fails=0
checks=0

v() { jq -er "$1" "$VEC"; }
# expect NAME GOT WANT
expect() {
	checks=$((checks + 1))
	if [ "$2" != "$3" ] || [ -z "$3" ]; then
		echo "FAIL $1: got '$2' want '$3'" >&2
		fails=$((fails + 1))
	fi
}
# expect_rc NAME WANT_RC cmd...
expect_rc() {
	local name=$1 want=$2
	shift 2
	"$@" >/dev/null 2>&1
	expect "$name (exit status)" "$?" "$want"
}

K=$(v .milenage.k) OP=$(v .milenage.op) OPC=$(v .milenage.opc) RAND=$(v .milenage.rand)
SQN=$(v .milenage.sqn) AMF=$(v .milenage.amf)
IMPI=$(v .impi) FQDN=$(v .naf_fqdn) UA=$(v .ua_protocol_id) BTID=$(v .b_tid)
BSF=${BTID#*@}

# MILENAGE from OP: every field of the vector
out=$("$KB" gba milenage --k "$K" --op "$OP" --rand "$RAND" --sqn "$SQN" --amf "$AMF")
expect "milenage exit status" "$?" 0
for f in opc f1 f1star res ck ik ak akstar; do
	expect "milenage $f" "$(jq -r ".$f" <<<"$out")" "$(v ".milenage.$f")"
done
AUTN=$(jq -r .autn <<<"$out")
CK=$(jq -r .ck <<<"$out") IK=$(jq -r .ik <<<"$out")

# the UE side accepts that AUTN (given OPc this time) and recovers SQN
out=$("$KB" gba milenage --k "$K" --opc "$OPC" --rand "$RAND" --autn "$AUTN")
expect "autn check exit status" "$?" 0
expect "autn_ok" "$(jq -r .autn_ok <<<"$out")" true
expect "recovered sqn" "$(jq -r .sqn <<<"$out")" "$SQN"
expect "recovered amf" "$(jq -r .amf <<<"$out")" "$AMF"
expect "res after autn" "$(jq -r .res <<<"$out")" "$(v .milenage.res)"
# a flipped last bit of MAC-A is rejected with status 1
last=${AUTN: -1}
flipped=${AUTN:0:31}$(printf '%x' $((0x$last ^ 1)))
expect_rc "tampered autn" 1 "$KB" gba milenage --k "$K" --opc "$OPC" --rand "$RAND" --autn "$flipped"

# GBA_ME from the CK/IK the CLI just computed: Ks_NAF, MUK, B-TID
out=$("$KB" gba ks-naf --ck "$CK" --ik "$IK" --rand "$RAND" --impi "$IMPI" --naf-fqdn "$FQDN" \
	--ua-id "$UA" --bsf "$BSF")
expect "ks-naf exit status" "$?" 0
expect "mode" "$(jq -r .mode <<<"$out")" gba-me
expect "ks_naf" "$(jq -r .ks_naf <<<"$out")" "$(v .ks_naf)"
expect "muk (gba-me) = ks_naf" "$(jq -r .muk <<<"$out")" "$(v .ks_naf)"
expect "naf_id" "$(jq -r .naf_id <<<"$out")" "$(printf '%s' "$FQDN" | od -An -tx1 | tr -d ' \n')$UA"
expect "b_tid" "$(jq -r .b_tid <<<"$out")" "$BTID"
expect "mrk_variant" "$(jq -r .mrk_variant <<<"$out")" kdf-mbms-mrk
MRK=$(jq -r .mrk <<<"$out")
checks=$((checks + 1))
if [ "$MRK" = "$(v .ks_naf)" ] || [ ${#MRK} -ne 64 ]; then
	echo "FAIL default mrk must be 32 bytes and differ from Ks_NAF: $MRK" >&2
	fails=$((fails + 1))
fi
# the default Ua id is MBMS, which is the vector's
out=$("$KB" gba ks-naf --ck "$CK" --ik "$IK" --rand "$RAND" --impi "$IMPI" --naf-fqdn "$FQDN" \
	--mrk ks-naf)
expect "ks_naf (default ua-id)" "$(jq -r .ks_naf <<<"$out")" "$(v .ks_naf)"
expect "mrk (ks-naf variant)" "$(jq -r .mrk <<<"$out")" "$(v .ks_naf)"

# GBA_U: Ks_ext_NAF, Ks_int_NAF, MUK = Ks_int_NAF, MRK = Ks_ext_NAF
out=$("$KB" gba ks-naf --gba-u --ck "$CK" --ik "$IK" --rand "$RAND" --impi "$IMPI" \
	--naf-fqdn "$FQDN" --ua-id mbms)
expect "gba-u exit status" "$?" 0
expect "ks_ext_naf" "$(jq -r .ks_ext_naf <<<"$out")" "$(v .ks_naf)"
expect "ks_int_naf" "$(jq -r .ks_int_naf <<<"$out")" "$(v .ks_int_naf)"
expect "muk (gba-u)" "$(jq -r .muk <<<"$out")" "$(v .ks_int_naf)"
expect "mrk (gba-u)" "$(jq -r .mrk <<<"$out")" "$(v .ks_naf)"

# B-TID both ways
expect "btid" "$("$KB" gba btid --rand "$RAND" --bsf "$BSF" | jq -r .b_tid)" "$BTID"
out=$("$KB" gba btid --parse "$BTID")
expect "btid parse rand" "$(jq -r .rand <<<"$out")" "$RAND"
expect "btid parse bsf" "$(jq -r .bsf <<<"$out")" "$BSF"

# usage errors are 2, failed operations 1
expect_rc "no sub-command" 2 "$KB" gba
expect_rc "unknown sub-command" 2 "$KB" gba frobnicate
expect_rc "help" 0 "$KB" gba --help
expect_rc "short ck" 2 "$KB" gba ks-naf --ck 00 --ik "$IK" --rand "$RAND" --impi "$IMPI" --naf-fqdn "$FQDN"
expect_rc "missing impi" 2 "$KB" gba ks-naf --ck "$CK" --ik "$IK" --rand "$RAND" --naf-fqdn "$FQDN"
expect_rc "unknown mrk" 2 "$KB" gba ks-naf --ck "$CK" --ik "$IK" --rand "$RAND" --impi "$IMPI" \
	--naf-fqdn "$FQDN" --mrk nope
expect_rc "op and opc" 2 "$KB" gba milenage --k "$K" --op "$OP" --opc "$OPC" --rand "$RAND"
expect_rc "sqn without amf" 2 "$KB" gba milenage --k "$K" --op "$OP" --rand "$RAND" --sqn "$SQN"
expect_rc "non-hex k" 2 "$KB" gba milenage --k "zz${K:2}" --op "$OP" --rand "$RAND"
expect_rc "bad b-tid" 1 "$KB" gba btid --parse "not-a-btid"
expect_rc "bad bsf" 2 "$KB" gba btid --rand "$RAND" --bsf "has space"

echo "$checks checks, $fails failed"
[ "$fails" -eq 0 ]
