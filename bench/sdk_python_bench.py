#!/usr/bin/env python3
"""crypta.VerifiedService.predict against a crypta-runtime (issue 11): the Python side of
scripts/bench_sdk.sh, which runs bench/sdk_predict_load (the C++ SDK) on the same runtime in
the same run. Same shape of measurement: --requests sequential calls (p50/p90 ms), then
--threads threads x --requests calls each (predictions per second). Prints one JSON object.

Usage: sdk_python_bench.py --url URL --model M --input X.npy --input-name NAME
         --data-dir DIR --measurement HEX [--requests 200] [--threads 8]"""
import argparse
import json
import threading
import time

import numpy as np

import crypta

p = argparse.ArgumentParser()
for flag in ("--url", "--model", "--input", "--data-dir", "--measurement"):
    p.add_argument(flag, required=True)
p.add_argument("--input-name", default="input")
p.add_argument("--requests", type=int, default=200)
p.add_argument("--threads", type=int, default=8)
a = p.parse_args()

svc = crypta.verify_service(a.url, [a.measurement], allow_simulated=True, data_dir=a.data_dir)
inputs = {a.input_name: np.load(a.input)}
for _ in range(20):
    svc.predict(a.model, inputs)
ms = []
for _ in range(a.requests):
    t = time.perf_counter()
    svc.predict(a.model, inputs)
    ms.append((time.perf_counter() - t) * 1000)
ms.sort()


def worker():
    for _ in range(a.requests):
        svc.predict(a.model, inputs)


threads = [threading.Thread(target=worker) for _ in range(a.threads)]
t = time.perf_counter()
for th in threads:
    th.start()
for th in threads:
    th.join()
seconds = time.perf_counter() - t
print(json.dumps({"p50_ms": ms[len(ms) // 2], "p90_ms": ms[int(len(ms) * 0.9)],
                  "n": a.requests, "threads": a.threads,
                  "threaded_per_s": a.threads * a.requests / seconds}))
