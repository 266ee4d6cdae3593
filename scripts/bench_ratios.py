#!/usr/bin/env python3
"""Computes the benchmark target ratios from Google Benchmark JSON results."""
import json
import os
import sys


def load(directory):
    times = {}
    context = None
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name)) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            key = b["name"].split("/min_time")[0].replace("/real_time", "")
            times[key] = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return times, context or {}


def main():
    times, ctx = load(sys.argv[1])
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

    print(f"\nmachine: {cores} CPUs, {ctx.get('mhz_per_cpu', '?')} MHz, host {ctx.get('host_name', '?')}")
    print("| ratio | measured | target | |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    for k in ("BM_UnsealFile1GiB/1", "BM_UnsealFile1GiB/0", "BM_CopyFile1GiB"):
        if k in times:
            print(f"reference: {k}: {times[k] / 1e6:.0f} ms per GiB")


if __name__ == "__main__":
    main()
