"""Fixtures for the SDK tests: they run under tests/sdk/with_service.sh, which starts
`crypta up` and a crypta-runtime serving tiny_cnn in the sim TEE and exports CRYPTA_TEST_*."""

import contextlib
import os
import re
import subprocess
import time
import urllib.request

import pytest


def env(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run these tests through tests/sdk/with_service.sh", 2)
    return value


class Setup:
    def __init__(self):
        self.service = env("CRYPTA_TEST_SERVICE")
        self.measurement = env("CRYPTA_TEST_MEASUREMENT")
        self.data_dir = env("CRYPTA_TEST_DATA_DIR")
        self.platform = env("CRYPTA_TEST_PLATFORM")
        self.model_ref = env("CRYPTA_TEST_MODEL_REF")
        self.models = env("CRYPTA_TEST_MODELS")
        self.crypta = env("CRYPTA_TEST_CRYPTA")
        self.runtime = env("CRYPTA_TEST_RUNTIME")

    def cli(self, *args, check=True):
        """Runs the crypta CLI against the test platform; returns its stdout."""
        r = subprocess.run([self.crypta, *args], capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"crypta {' '.join(args)}: exit {r.returncode}: {r.stderr}")
        return r.stdout

    def measure(self, argv):
        return self.cli("sim", "measure", "--data-dir", self.data_dir, "--", *argv).split()[-1]

    def allow(self, tenant, key, measurement, path):
        with open(path, "w") as f:
            f.write(f"tee: [sim]\nallow_simulated: true\nmeasurements: [{measurement}]\n")
        self.cli("policy", "set", "--tenant", tenant, "--key", key, "-f", path,
                 "--data-dir", self.data_dir)

    @contextlib.contextmanager
    def runtime_for(self, ref, signature, key, tmp_path, workload="sdk-test"):
        """Launches crypta-runtime for `ref` under `crypta sim launch` with a release policy on
        radiology/`key` for its measurement; yields (url, measurement)."""
        argv = [self.runtime, "--broker", self.platform, "--model", ref, "--workload", workload,
                "--listen", "127.0.0.1:0", "--tee", "sim"]
        if signature:  # else the backend and signature pushed with the model
            argv += ["--backend", "torchscript", "--signature", signature]
        measurement = self.measure(argv)
        self.allow("radiology", key, measurement, str(tmp_path / "policy.yaml"))
        out = open(tmp_path / "runtime.out", "w+")
        err = open(tmp_path / "runtime.err", "w+")
        proc = subprocess.Popen([self.crypta, "sim", "launch", "--data-dir", self.data_dir, "--",
                                 *argv], stdout=out, stderr=err)
        try:
            url = None
            for _ in range(600):
                out.seek(0)
                m = re.search(r"^crypta-runtime: serving (http://127\.0\.0\.1:\d+)$", out.read(),
                              re.M)
                if m:
                    url = m.group(1)
                    break
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
            if url is None:
                err.seek(0)
                raise AssertionError(f"runtime did not start: {err.read()}")
            yield url, measurement
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            out.close()
            err.close()


@pytest.fixture(scope="session")
def setup():
    return Setup()


def ohttp_count(url):
    """OHTTP requests the runtime has seen (its /metrics)."""
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
    n = 0.0
    for line in text.splitlines():
        if line.startswith("crypta_runtime_http_requests_total{") and (
                'route="/v1/ohttp"' in line or 'channel="ohttp"' in line):
            n += float(line.split()[-1])
    return n
