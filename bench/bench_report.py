#!/usr/bin/env python3
"""Turn a scripts/bench results file into docs/benchmarks.md and a PNG plot.

Every number in the report is read from the results file: medians over the
repetitions (gbench's "median" aggregates; the machine is shared and noisy),
ratios between paths measured in the same run, targets met or missed.
usage: bench_report.py RESULTS.json --md OUT.md --png OUT.png
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TARGETS = {
    "naive": 10.0,  # burst seal >= 10x OpenSSL naive
    "openssl": 2.5,  # >= 2.5x the best OpenSSL path
    "cryptodev": 1.5,  # >= 1.5x the DPDK cryptodev path
    "pipeline_frac": 0.75,  # pipeline loses no more than 25% of seal-only
    "per_lcore": 8e6,  # 8 M msgs/s per lcore
}

SEAL_ROWS = [
    ("seal/write_only/{u}/burst:32", "write only (no crypto): the pipeline's floor"),
    ("seal/burst/{u}/burst:32", "**keyburst burst sealer**, burst 32"),
    ("seal/burst/{u}/burst:64", "**keyburst burst sealer**, burst 64"),
    ("seal/jobapi/{u}/burst:1", "IPsec-MB job API, one message at a time"),
    ("seal/jobapi/{u}/burst:32", "IPsec-MB job API, 32 submitted then flushed"),
    ("seal/openssl_ctx/{u}", "OpenSSL reference, reused contexts"),
    ("seal/openssl_naive/{u}", "OpenSSL naive, new EVP contexts per message"),
    ("seal/cryptodev/{u}/burst:32", "DPDK cryptodev crypto_aesni_mb, burst 32"),
    ("seal/cryptodev/{u}/burst:64", "DPDK cryptodev crypto_aesni_mb, burst 64"),
]


def load(path):
    with open(path) as f:
        return json.load(f)


class Runs:
    def __init__(self, gb):
        self.med, self.cv, self.err = {}, {}, {}
        for b in gb.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                self.err[name] = b.get("error_message", "error")
                continue
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    self.med[name] = b
                elif b.get("aggregate_name") == "cv":
                    self.cv[name] = b
        # without repetitions there are no aggregates: take the single run
        for b in gb.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("run_type") == "iteration" and name not in self.med and name not in self.err:
                self.med[name] = b

    def rate(self, name):
        b = self.med.get(name)
        return b.get("items_per_second") if b else None

    def ns(self, name):
        r = self.rate(name)
        return 1e9 / r if r else None

    def counter(self, name, key):
        b = self.med.get(name)
        return b.get(key) if b else None

    def cvpct(self, name):
        b = self.cv.get(name)
        if not b or "items_per_second" not in b:
            return None
        return 100.0 * b["items_per_second"]

    def names(self, prefix):
        return sorted(n for n in self.med if n.startswith(prefix))


def m(x, digits=2):
    return "n/a" if x is None else f"{x / 1e6:.{digits}f}"


def f(x, fmt="{:.1f}"):
    return "n/a" if x is None else fmt.format(x)


def ratio(a, b):
    return a / b if a and b else None


def verdict(value, target, higher=True):
    if value is None:
        return "not measured"
    met = value >= target if higher else value <= target
    if met:
        return f"**met** ({value:.2f} vs {target:g}, {100 * (value / target - 1):+.0f}%)"
    return f"**missed** ({value:.2f} vs {target:g}: {100 * (1 - value / target):.0f}% short)"


def ue_sizes(runs):
    sizes = set()
    for n in runs.names("seal/"):
        for part in n.split("/"):
            if part.startswith("ues:"):
                sizes.add(int(part[4:]))
    sizes = sorted(sizes)
    return (sizes[0], sizes[-1]) if sizes else (None, None)


def pipeline_rows(res):
    by = {}
    for p in res.get("pipeline", []) or []:
        s = p.get("summary", {})
        lc = len(s.get("lcores", [])) or p.get("lcores_requested")
        by.setdefault(lc, []).append(p)
    out = []
    for lc in sorted(by):
        ps = by[lc]
        rates = [p["summary"].get("rate_msgs_per_s", 0) for p in ps]
        busy = []
        for p in ps:
            for lcs in p["summary"].get("lcores", []):
                busy.append(lcs.get("msgs_per_busy_s", 0))
        out.append({
            "lcores": lc,
            "runs": len(ps),
            "rate": statistics.median(rates),
            "per_lcore": statistics.median(rates) / lc,
            "busy": statistics.median(busy) if busy else None,
            "ues": ps[0]["summary"].get("ues"),
            "sent": ps[0]["summary"].get("sent"),
            "complete": all(p["summary"].get("complete") for p in ps),
            "cores": ps[0].get("eal_cores"),
        })
    return out


def plot(runs, hot, cold, png):
    rows = []
    for pat, label in SEAL_ROWS:
        h, c = runs.rate(pat.format(u=f"ues:{hot}")), runs.rate(pat.format(u=f"ues:{cold}"))
        if h or c:
            short = (pat.split("/")[1] + ("/" + pat.split("/")[-1].replace("burst:", "b") if "burst:" in pat else ""))
            rows.append((short, h, c))
    b = runs.rate("prim/seal_crypto")
    if not rows:
        return False
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "seal.dat")
        with open(data, "w") as fd:
            for short, h, c in rows:
                fd.write(f'"{short}" {h / 1e6 if h else "NaN"} {c / 1e6 if c else "NaN"}\n')
        bound = ""
        sha1 = runs.rate("prim/sha1_block_mb/len:1024")
        aes = runs.rate("prim/aes128_block")
        sb = runs.counter(f"seal/burst/ues:{hot}/burst:32", "sha1_blocks")
        ab = runs.counter(f"seal/burst/ues:{hot}/burst:32", "aes_blocks")
        if sha1 and aes and sb and ab:
            bmsgs = 1.0 / (sb / sha1 + ab / aes) / 1e6
            bound = (f'set arrow from graph 0, first {bmsgs} to graph 1, first {bmsgs} nohead dt 2 lw 2 lc rgb "red"\n'
                     f'set label "primitive bound {bmsgs:.1f} M/s" at graph 0.55, first {bmsgs * 1.12} tc rgb "red"\n')
        script = f"""
set terminal pngcairo size 1100,600 font "DejaVu Sans,10" noenhanced
set output "{png}"
set title "MSK message sealing, messages/s per core (median of repetitions; {int(runs.counter(f'seal/burst/ues:{hot}/burst:32', 'msg_bytes') or 0)}-byte message)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.05:*]
set ylabel "million messages/s (log scale)"
set xtics rotate by -30 scale 0
set grid ytics
set key top right
{bound}
plot "{data}" using 2:xtic(1) title "{hot} UEs (hot)", "" using 3 title "{cold} UEs (cold, random order)"
"""
        try:
            subprocess.run(["gnuplot"], input=script, text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"bench_report: gnuplot failed: {e}", file=sys.stderr)
            return False
    return True


def report(res, md_path, png_path):
    gb = res.get("gbench", {})
    runs = Runs(gb)
    hot, cold = ue_sizes(runs)
    L = []
    w = L.append
    mach, ver = res.get("machine", {}), res.get("versions", {})
    ctx = gb.get("context", {})
    reps = None
    for b in gb.get("benchmarks", []):
        if "repetitions" in b:
            reps = b["repetitions"]
            break

    w("# keyburst benchmarks")
    w("")
    w("Generated by `scripts/bench` from `" + res.get("_path", "bench/results/<date>.json") + "`; do not edit by hand.")
    w(f"Run: {res.get('date')} ({res.get('mode')} mode), commit `{res.get('commit')}`. "
      f"Reproduce with `{res.get('command')}` (then `scripts/bench-compare OLD.json NEW.json --threshold 5%`).")
    w("")
    w("Every number is the **median over {} repetitions** of CPU time per item on one core "
      "(Google Benchmark's median aggregate). This machine is a shared 2-vCPU VM: other work ran "
      "at the same time, so wall time was often well above CPU time, and the spread (CV) is given "
      "where it matters. Ratios compare paths measured side by side in this one run.".format(reps or 1))
    w("")

    # ---- machine
    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| CPU | {mach.get('cpu')} ({mach.get('cpus')} vCPUs, {mach.get('hypervisor') or 'bare metal'}), "
      f"{ctx.get('mhz_per_cpu', '?')} MHz |")
    caches = ", ".join(f"L{c['level']} {c['type'][0]} {c['size'] // 1024} KiB"
                       + (f" (shared by {c['num_sharing']} CPUs)" if c.get('num_sharing', 1) > 1 else " per CPU")
                       for c in ctx.get("caches", []))
    w(f"| caches | {caches} |")
    w(f"| memory | {mach.get('memory')} |")
    w(f"| kernel | {mach.get('kernel')} |")
    flags = mach.get("flags", "").split()
    keep = [x for x in flags if x in ("aes", "avx2", "avx512f", "avx512bw", "avx512vl", "vaes", "vpclmulqdq", "sha_ni", "gfni", "pclmulqdq")]
    w(f"| relevant CPU flags | {' '.join(keep)} (the full list is in the results file) |")
    w(f"| DPDK | {ver.get('dpdk')} |")
    w(f"| IPsec-MB | {ver.get('ipsec_mb')} (sealer arch: {runs.med.get(f'seal/burst/ues:{hot}/burst:32', {}).get('label', '?')}) |")
    w(f"| OpenSSL | {ver.get('openssl')} |")
    w(f"| Google Benchmark | {ver.get('google_benchmark')} (Debian's build, which calls itself DEBUG: that concerns "
      "the harness's own code, not the code measured) |")
    w(f"| compiler | {ver.get('compiler')}, meson --buildtype=release, -march=native for the C code |")
    w(f"| load average at the end | {mach.get('load_at_end')} |")
    w("")

    # ---- seal
    msg_bytes = runs.counter(f"seal/burst/ues:{hot}/burst:32", "msg_bytes")
    sb = runs.counter(f"seal/burst/ues:{hot}/burst:32", "sha1_blocks")
    ab = runs.counter(f"seal/burst/ues:{hot}/burst:32", "aes_blocks")
    sha1 = runs.rate("prim/sha1_block_mb/len:1024")
    sha1_1 = runs.rate("prim/sha1_block_mb/len:55")
    aes = runs.rate("prim/aes128_block")
    bound_ns = (sb / sha1 + ab / aes) * 1e9 if sha1 and aes and sb and ab else None
    bound_ns1 = (sb / sha1_1 + ab / aes) * 1e9 if sha1_1 and aes and sb and ab else None

    w("## MSK message sealing")
    w("")
    w(f"The profile's MSK message with a 60-byte B-TID as IDr: **{f(msg_bytes, '{:.0f}')} bytes**; sealing it is "
      f"AES-128-CTR over the 25-byte key data ({f(ab, '{:.0f}')} AES blocks) and HMAC-SHA-1 over the "
      f"{f(msg_bytes - 20 if msg_bytes else None, '{:.0f}')} bytes before the MAC ({f(sb, '{:.0f}')} SHA-1 compressions with "
      "precomputed pads: 3 inner, 1 outer). Every path runs the same pipeline per message: take the next UE in the "
      "visiting order, take its next counter, write the message (`kb_msk_msg_write`), seal it. "
      f"**Hot** = {hot} UEs (all key state in cache); **cold** = {cold} UEs (SA records, about 450 bytes each, "
      "spread over DRAM and visited in a random permutation). Each path's output bytes are checked against "
      "`kb_ref_seal_msk` before it is timed.")
    w("")
    w(f"| path | hot M msgs/s | hot ns/msg | cold M msgs/s | cold ns/msg | hot % of bound | CV hot/cold |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for pat, label in SEAL_ROWS:
        nh, nc = pat.format(u=f"ues:{hot}"), pat.format(u=f"ues:{cold}")
        rh, rc = runs.rate(nh), runs.rate(nc)
        if rh is None and rc is None:
            err = runs.err.get(nh) or runs.err.get(nc)
            if err:
                w(f"| {label} | error: {err} | | | | | |")
            continue
        frac = f"{100 * bound_ns / runs.ns(nh):.0f}%" if bound_ns and rh and "write_only" not in pat else ""
        cvs = "/".join(f(runs.cvpct(n), "{:.0f}%") for n in (nh, nc))
        w(f"| {label} | {m(rh)} | {f(runs.ns(nh), '{:.0f}')} | {m(rc)} | {f(runs.ns(nc), '{:.0f}')} | {frac} | {cvs} |")
    w("")
    w("![messages/s per path and size](benchmarks.png)")
    w("")

    # ---- bound
    w("### The physical bound")
    w("")
    w("The primitives' throughput on this core, measured with IPsec-MB directly in multi-buffer bursts of 64 "
      "(`prim/*` in kb_bench):")
    w("")
    w("| primitive | rate | per item |")
    w("|---|---:|---:|")
    w(f"| SHA-1 compressions, multi-buffer, streaming (HMAC jobs over 1 KiB: 18 compressions each) | {m(sha1)} M/s | {f(1e9 / sha1 if sha1 else None, '{:.2f}')} ns |")
    w(f"| SHA-1 compressions, multi-buffer, single-block jobs (55-byte HMAC: 1 inner + 1 outer) | {m(sha1_1)} M/s | {f(1e9 / sha1_1 if sha1_1 else None, '{:.2f}')} ns |")
    w(f"| AES-128 block encryptions (CTR, 1 KiB buffers) | {m(aes, 0)} M/s | {f(1e9 / aes if aes else None, '{:.2f}')} ns |")
    w(f"| the seal's crypto alone (a CTR burst + an HMAC burst of 64, keys hot, no message writing) | {m(runs.rate('prim/seal_crypto'))} M msgs/s | {f(runs.ns('prim/seal_crypto'), '{:.0f}')} ns |")
    w("")
    if bound_ns:
        w(f"Lower bound for one message = {f(sb, '{:.0f}')} compressions / SHA-1 rate + {f(ab, '{:.0f}')} blocks / AES rate "
          f"= **{bound_ns:.1f} ns, i.e. {1e3 / bound_ns:.1f} M msgs/s per core** (with the single-block compression rate: "
          f"{f(bound_ns1, '{:.1f}')} ns, {f(1e3 / bound_ns1 if bound_ns1 else None)} M/s). The \"% of bound\" column above is "
          "bound time / measured time. SHA-1 dominates: AES is about 1% of the bound.")
    w("")

    # ---- ratios and targets
    w("### Ratios and targets (issue 6), same run")
    w("")
    w("keyburst's best burst size against each baseline's best configuration (best against best), hot and cold:")
    w("")
    w("| ratio | hot | cold | target | verdict (cold, the realistic case) | verdict (hot) |")
    w("|---|---:|---:|---:|---|---|")
    def best(names):
        v = [runs.rate(n) for n in names]
        v = [x for x in v if x]
        return max(v) if v else None
    rat = {}
    for temp, u in (("hot", hot), ("cold", cold)):
        kb = best([f"seal/burst/ues:{u}/burst:32", f"seal/burst/ues:{u}/burst:64"])
        naive = runs.rate(f"seal/openssl_naive/ues:{u}")
        ossl = best([f"seal/openssl_ctx/ues:{u}", f"seal/openssl_naive/ues:{u}"])
        cdev = best([f"seal/cryptodev/ues:{u}/burst:32", f"seal/cryptodev/ues:{u}/burst:64"])
        job = best([f"seal/jobapi/ues:{u}/burst:1", f"seal/jobapi/ues:{u}/burst:32"])
        rat[temp] = {"naive": ratio(kb, naive), "openssl": ratio(kb, ossl), "cryptodev": ratio(kb, cdev), "jobapi": ratio(kb, job)}
    labels = {"naive": "burst / OpenSSL naive", "openssl": "burst / best OpenSSL path",
              "cryptodev": "burst / DPDK cryptodev", "jobapi": "burst / IPsec-MB job API (no target)"}
    for k in ("naive", "openssl", "cryptodev", "jobapi"):
        t = TARGETS.get(k)
        w(f"| {labels[k]} | {f(rat['hot'][k], '{:.2f}x')} | {f(rat['cold'][k], '{:.2f}x')} | "
          f"{'>= %gx' % t if t else ''} | {verdict(rat['cold'][k], t) if t else ''} | {verdict(rat['hot'][k], t) if t else ''} |")
    w("")

    # ---- pipeline
    w("## The whole pipeline: keyburstd to net_null")
    w("")
    pl = pipeline_rows(res)
    seal_only = runs.rate(f"seal/burst/ues:{cold}/burst:32")
    if not pl:
        w("**Not measured in this run**: " + (res.get("note") or "keyburstd did not run (see the scripts/bench output)")
          + ". The seal-only rate is in the table above.")
    else:
        w("`keyburstd` one-shot rollover (`--oneshot-rollover 1 --no-ack`) of a "
          f"{pl[0]['ues']}-UE roster (`keyburst roster gen --count {pl[0]['ues']} --seed 1`; key state cold in DRAM) "
          "to `--vdev net_null0,no-rx=1`, EAL `--no-huge -m 4096`, burst 32 (dataplane/keyburstd.conf.example). "
          "The rate is the daemon's own summary: messages sent / duration of the rollover (roster loading "
          "excluded); \"busy\" is per lcore, messages per second of loop time. Median over the runs.")
        w("")
        w("| dataplane lcores | EAL cores | runs | M msgs/s total | M msgs/s per lcore | busy M msgs/s per lcore | all sent |")
        w("|---:|---|---:|---:|---:|---:|---|")
        for p in pl:
            w(f"| {p['lcores']} | `{p['cores']}` | {p['runs']} | {m(p['rate'])} | {m(p['per_lcore'])} | {m(p['busy'])} | {'yes' if p['complete'] else 'NO'} |")
        w("")
        one = next((p for p in pl if p["lcores"] == 1), None)
        if one:
            frac = ratio(one["rate"], seal_only)
            w(f"- Pipeline at 1 lcore vs seal-only (`seal/burst/ues:{cold}/burst:32`, {m(seal_only)} M/s, same run): "
              f"{f(100 * frac if frac else None, '{:.0f}%')} of it, target >= 75%: {verdict(frac, TARGETS['pipeline_frac'])}.")
            w(f"- Per-lcore rate: {m(one['per_lcore'])} M msgs/s, target 8 M/s: {verdict(one['per_lcore'] / 1e6, 8.0)}.")
        if any(p["lcores"] == 2 for p in pl):
            w("- The 2-lcore runs share the machine's 2 vCPUs with the main (control) lcore, which runs on CPU 0 "
              "with dataplane lcore 1: they show scaling on this VM, not on a host with a free core per lcore.")
        w("- net_null runs with `no-rx=1`: its RX side would otherwise hand the loop an endless stream of "
          "empty frames that no real port delivers. `--no-huge` memory (a memfd without huge pages here) "
          "makes every cold record a TLB miss: `scripts/bench-pipeline` also measures with hugepages "
          "(docs/benchmarks-e2e.md).")
    w("")
    w("The 8 M msgs/s per lcore target needs the seal alone to run at about 10 M/s; on this core the "
      f"crypto alone (`prim/seal_crypto`) does {m(runs.rate('prim/seal_crypto'))} M/s and the primitive bound is "
      f"{f(1e3 / bound_ns if bound_ns else None)} M/s.")
    w("")

    # ---- other areas
    w("## Other hot paths")
    w("")
    w("| benchmark | what | M items/s | ns/item |")
    w("|---|---|---:|---:|")
    other = [
        ("ack/burst/ues:{h}/burst:32", "ack V-MAC verify, IPsec-MB hash burst of 32, hot"),
        ("ack/burst/ues:{h}/burst:64", "ack V-MAC verify, burst of 64, hot"),
        ("ack/burst/ues:{c}/burst:32", "ack V-MAC verify, burst of 32, cold (random order)"),
        ("ack/burst/ues:{c}/burst:64", "ack V-MAC verify, burst of 64, cold"),
        ("ack/openssl_ctx/ues:{h}", "ack verify, OpenSSL reference, reused context, hot"),
        ("decode/msk_message", f"MIKEY decode of the {f(msg_bytes, '{:.0f}')}-byte MSK message"),
        ("decode/ack", "MIKEY decode of a 38-byte verification message"),
        ("prf/transport_keys", "transport keys per UE (MIKEY PRF x3, OpenSSL HMAC)"),
        ("prf/sa_record_build", "whole SA record per UE (PRF + AES key expansion + HMAC pads)"),
        ("digest/verify/alg:0", "HTTP Digest verify, MD5, qop=auth (server side)"),
        ("digest/verify/alg:2", "HTTP Digest verify, SHA-256, qop=auth"),
    ]
    for pat, what in other:
        n = pat.format(h=hot, c=cold)
        if n in runs.med:
            w(f"| `{n}` | {what} | {m(runs.rate(n), 3)} | {f(runs.ns(n), '{:.0f}')} |")
        elif n in runs.err:
            w(f"| `{n}` | {what} | error: {runs.err[n]} | |")
    w("")
    kt = runs.names("keytable/")
    w("### Key table bulk lookup (rte_hash RW_CONCURRENCY_LF)")
    w("")
    if kt:
        w("`kb_keytable_lookup_bulk` of 32 or 64 csb_ids drawn at random from the table, one reader registered "
          "with QSBR reporting a quiescent state per bulk. Records are copies of one built record with distinct "
          "csb_ids (lookups do not read keys), published through the writer API; the publish rate is the "
          "single-writer fill rate.")
        w("")
        w("| SAs | burst | M lookups/s | ns/lookup | publish rate (M/s) |")
        w("|---:|---:|---:|---:|---:|")
        for n in sorted(kt, key=lambda s: (int(s.split("sas:")[1].split("/")[0]), s)):
            sas = n.split("sas:")[1].split("/")[0]
            burst = n.split("burst:")[1]
            w(f"| {int(sas):,} | {burst} | {m(runs.rate(n))} | {f(runs.ns(n), '{:.0f}')} | {m(runs.counter(n, 'publish_per_s'))} |")
        if not any("sas:10000000" in n for n in kt):
            w("")
            w("The 10M-entry table was not measured in this run (`--quick` stops at 1M; the full run builds it "
              "with EAL `--no-huge -m 10240`, about 6.5 GB resident).")
    else:
        w("Not measured in this run (no EAL).")
    w("")
    if runs.err:
        w("## Benchmarks that reported an error")
        w("")
        for n, e in sorted(runs.err.items()):
            w(f"- `{n}`: {e}")
        w("")

    w("## Method")
    w("")
    w("- `kb_bench` (bench/) is Google Benchmark driven through a thin C++ shim (`bench/gbench_shim.cc`); every "
      "benchmark body is C calling keyburst's C functions. One benchmark iteration is one item (message, lookup, "
      "verify), so time per iteration is ns per item. `--benchmark_filter=REGEX` runs a subset; `--kb-small` "
      "runs tiny sizes (the `bench_smoke` integration test).")
    w("- Cold populations are built once per run with a real derivation per UE (MIKEY PRF from a per-UE MUK, "
      "`kb_sa_record_build`), the same records the daemon uses; the OpenSSL and cryptodev paths read their own "
      "per-UE state (raw transport keys, one cache-line-aligned struct per UE) in the same random order.")
    w("- The cryptodev path uses one session per SA, created before timing, as a server would hold them "
      f"({f(runs.counter(f'seal/cryptodev/ues:{hot}/burst:32', 'sess_bytes'), '{:.0f}')} bytes each in the session "
      "mempool); messages are written into a fixed set of mbufs and the ops are reused (the burst path reuses its "
      "buffers too), so neither path pays for mbuf allocation here. Ops are built per message: session attach, "
      "offsets, the digest pointer, the IV in the op's private area.")
    w("- Medians, not means: on this shared VM a single descheduling can add milliseconds. Timing is CPU time "
      "of the benchmark thread; the raw repetitions are kept in the results file.")
    w("- Nothing here is tuned per path: every path gets the same message, the same UEs, the same order.")
    w("")
    with open(md_path, "w") as fd:
        fd.write("\n".join(L))
    if png_path and hot is not None:
        plot(runs, hot, cold, os.path.abspath(png_path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--md", required=True)
    ap.add_argument("--png")
    a = ap.parse_args()
    res = load(a.results)
    rel = os.path.relpath(os.path.abspath(a.results))
    res["_path"] = rel if not rel.startswith("..") else os.path.abspath(a.results)
    report(res, a.md, a.png)


if __name__ == "__main__":
    main()
