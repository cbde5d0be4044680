#!/usr/bin/env bash
# The benchmark suite must not rot: run kb_bench with tiny sizes and a tiny
# min_time, and check it exits 0, writes JSON, and every benchmark ran
# without error (each one checks its path's bytes against the OpenSSL
# reference before timing). Not a performance test: no number is judged.
#   test_bench_smoke.sh KB_BENCH
set -euo pipefail
bin=$1
if [ ! -x "$bin" ]; then
	echo "kb_bench not built (-Dbench=disabled?): skipped"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" --kb-small --kb-eal="--no-huge --no-pci -m 1024 --file-prefix kbbsmoke$$ -l 0 --log-level=error --vdev crypto_aesni_mb" \
	--benchmark_min_time=0.001 --benchmark_out="$work/out.json" --benchmark_out_format=json \
	>"$work/console" 2>&1 || { cat "$work/console"; echo "kb_bench exited non-zero"; exit 1; }
jq -e . "$work/out.json" >/dev/null || { echo "not JSON"; exit 1; }
n=$(jq '.benchmarks | length' "$work/out.json")
errors=$(jq -r '.benchmarks[] | select(.error_occurred == true) | "\(.name): \(.error_message)"' "$work/out.json")
if [ -n "$errors" ]; then
	echo "benchmarks reported errors:"; echo "$errors"; exit 1
fi
for want in seal/burst/ seal/jobapi/ seal/openssl_ctx/ seal/openssl_naive/ seal/cryptodev/ \
	prim/sha1_block_mb prim/aes128_block ack/burst/ prf/transport_keys decode/msk_message \
	digest/verify keytable/lookup_bulk; do
	jq -e --arg w "$want" '[.benchmarks[] | select(.name | startswith($w))
		| select(.items_per_second > 0)] | length > 0' "$work/out.json" >/dev/null ||
		{ echo "missing or empty: $want"; exit 1; }
done
echo "kb_bench: $n benchmarks ran, JSON ok"
