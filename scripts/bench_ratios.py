#!/usr/bin/env python3
"""Computes the benchmark target ratios from Google Benchmark JSON results."""
import json
import os
import re
import sys


def load(directory):
    times = {}
    context = None
    rcar = []
    runtime = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as f:
            data = json.load(f)
        if "rcar_load" in data:  # bench/rcar_load's own format (latency percentiles)
            rcar = data["rcar_load"]
            continue
        if "runtime_load" in data:  # bench/runtime_load (scripts/bench_runtime.sh)
            runtime[data["runtime_load"]["label"]] = data["runtime_load"]
            continue
        context = context or data.get("context", {})
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            key = b["name"].split("/min_time")[0].replace("/real_time", "")
            key = re.sub(r"/iterations:\d+", "", key)
            times[key] = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return times, context or {}, rcar, runtime


def main():
    times, ctx, rcar, runtime = load(sys.argv[1])
    cores = ctx.get("num_cpus", os.cpu_count())
    rows = []

    def ratio(label, num, den, target, higher_is_better, scale=1.0):
        if num not in times or den not in times:
            return
        # Throughput ratio = baseline time / our time (for same work); time ratio otherwise.
        r = (times[den] / times[num]) if higher_is_better else (times[num] / times[den])
        goal = target * scale
        ok = r >= goal if higher_is_better else r <= goal
        op = ">=" if higher_is_better else "<="
        rows.append((label, f"{r:.2f}x", f"{op} {goal:.2f}x", "met" if ok else "MISSED"))

    raw = "BM_RawEvpDecrypt1GiB"
    ratio("unseal 1 GiB in memory, 1 thread / raw EVP decrypt (16 KiB updates)",
          "BM_UnsealInMemory1GiB/1", raw, 0.9, True)
    ratio(f"unseal 1 GiB in memory, all {cores} cores / raw EVP decrypt",
          "BM_UnsealInMemory1GiB/0", raw, 0.9, True, cores)
    ratio("seal 256 B (Aead) / raw EVP seal", "BM_AeadSeal256", "BM_RawEvpSeal256", 1.5, False)
    ratio("open 256 B (Aead) / raw EVP open", "BM_AeadOpen256", "BM_RawEvpOpen256", 1.5, False)
    ratio("HPKE open 1 KiB / one X25519 derivation", "BM_HpkeOpen1KiB", "BM_X25519Derive", 1.3, False)
    ratio("SEV-SNP report verification / one ECDSA P-384 verify", "BM_SnpVerifyReport",
          "BM_EcdsaP384Verify", 1.2, False)
    ratio("TDX quote verification / two ECDSA P-256 verifies", "BM_TdxVerifyQuote",
          "BM_TwoEcdsaP256Verify", 1.2, False)
    ratio("AWS Nitro document verification, chain and leaf cached / one ECDSA P-384 verify",
          "BM_NitroDocumentVerify", "BM_NitroEcdsaP384Verify", 1.3, False)
    ratio("NVIDIA GPU report verification, chain cached / one ECDSA P-384 verify",
          "BM_GpuReportVerify", "BM_GpuEcdsaP384Verify", 1.3, False)
    if "BM_RimAppraisalCached" in times:
        ms = times["BM_RimAppraisalCached"] / 1e6
        rows.append(("NVIDIA RIM appraisal, signatures cached (absolute)", f"{ms:.3f} ms",
                     "<= 1 ms", "met" if ms <= 1.0 else "MISSED"))
    ratio("KBS DEK unwrap (UnwrapDekUnderKek) / raw EVP AES-256-GCM unwrap", "BM_KbsUnwrapDekUnderKek",
          "BM_RawEvpUnwrapDek", 1.2, False)

    print(f"\nmachine: {cores} CPUs, {ctx.get('mhz_per_cpu', '?')} MHz, host {ctx.get('host_name', '?')}")
    print("| ratio | measured | target | |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for k in ("BM_UnsealFile1GiB/1", "BM_UnsealFile1GiB/0", "BM_CopyFile1GiB"):
        if k in times:
            print(f"reference: {k}: {times[k] / 1e6:.0f} ms per GiB")
    report_kbs(times)
    report_audit(times)
    report_rcar(rcar)
    report_runtime(runtime)


def report_runtime(runs):
    """Confidential (OHTTP) against plain OIP on the same crypta-runtime (issue 5)."""
    if not runs:
        return
    print("\nconfidential inference (bench/runtime_load; baseline: plain OIP, same server and run):")
    print("| what | measured | target | |\n|---|---|---|---|")

    def row(what, value, target, ok):
        print(f"| {what} | {value} | {target} | {'' if ok is None else ('met' if ok else 'MISSED')} |")

    r = runs.get("resnet18", {}).get("rounds")
    if r:
        pct = r["overhead_p50_pct"]
        row(f"ResNet-18 batch 1 overhead at p50 ({r['confidential']['p50_us'] / 1e3:.1f} vs "
            f"{r['plain']['p50_us'] / 1e3:.1f} ms)", f"{pct:+.2f}%", "<= 1%", pct <= 1.0)
    t = runs.get("tiny", {}).get("rounds")
    if t:
        gw = t["server"]["gateway_mean_us"]
        row("tiny model: server-side overhead without model compute (/metrics: /v1/ohttp handler "
            "- inner OIP handler, mean)", f"{gw:.0f} us", "<= 50 us", gw <= 50)
        row("tiny model: confidential - client crypto - plain, p50 (client side)",
            f"{t['server_overhead_p50_us']:.0f} us", "(cross-check)", None)
        row("tiny model: overhead at p50 incl. client crypto "
            f"({t['client_crypto']['p50_us']:.0f} us)", f"{t['overhead_p50_pct']:+.1f}%", "", None)
    for label in ("resnet18_clients", "tiny_batch_clients"):
        for c in runs.get(label, {}).get("concurrent", []):
            row(f"{label}: {c['path']}, {c['clients']} clients (p50 {c.get('p50_us', 0) / 1e3:.1f} ms,"
                f" errors {c['errors']})", f"{c['req_per_s']:.1f} req/s", "", None)
    h = runs.get("hold", {}).get("hold")
    if h:
        row(f"{h['clients']} kept-alive connections x {h['duration_s']} s, {h['path']}: errors "
            f"(p50 {h.get('p50_us', 0) / 1e3:.0f} ms, p99 {h.get('p99_us', 0) / 1e3:.0f} ms, "
            f"{h['ok']} ok)", str(h["errors"]), "0", h["errors"] == 0)


def report_kbs(times):
    raw = times.get("BM_RawEvpUnwrapDek")
    if not raw:
        return
    print("\nkey broker (ns per call; ratio to a raw EVP unwrap with a fresh context):")
    for k in ("BM_RawEvpUnwrapDekReusedCtx", "BM_RawEvpUnwrapDekPreKeyed", "BM_AeadCreateAes256Gcm",
              "BM_KbsUnwrapDekUnderKek", "BM_SealedBlobUnwrapDataKey", "BM_KbsReleaseCrypto",
              "BM_KbsUnwrapDekForRelease"):
        if k in times:
            print(f"  {k}: {times[k]:.0f} ns ({times[k] / raw:.2f}x)")


def report_audit(times):
    if "BM_AuditAppend" not in times:
        return
    print("\naudit log (no targets; baselines from the same run):")
    app, ins = times["BM_AuditAppend"], times.get("BM_SqliteInsertBaseline")
    line = f"  append: {app / 1e3:.0f} us ({1e9 / app:.0f}/s)"
    if ins:
        line += f"; durable SQLite insert baseline {ins / 1e3:.0f} us ({app / ins:.2f}x)"
    print(line)
    floor = times.get("BM_SqliteScanLeafHashes", 0) + times.get("BM_MerkleRootInMemory", 0)
    for k in ("BM_AuditInclusionProof", "BM_AuditConsistencyProof"):
        if k in times:
            extra = f" (scan + in-memory MTH baseline {floor / 1e6:.0f} ms, {times[k] / floor:.2f}x)" \
                if floor else ""
            print(f"  {k}: {times[k] / 1e6:.0f} ms{extra}")


def report_rcar(rcar):
    if not rcar:
        return
    print("\nRCAR over loopback (us; healthz = HTTP floor on the same server):")
    print("| clients | RCAR p50 | RCAR p99 | server-side p50 | releases/s | healthz p50 | healthz p99 |")
    print("|---|---|---|---|---|---|---|")
    for r in rcar:
        print(f"| {r['clients']} | {r['rcar_p50_us']:.0f} | {r['rcar_p99_us']:.0f} | "
              f"{r['rcar_server_p50_us']:.0f} | {r['releases_per_s']:.0f} | "
              f"{r['healthz_p50_us']:.0f} | {r['healthz_p99_us']:.0f} |")


if __name__ == "__main__":
    main()
