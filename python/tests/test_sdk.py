"""The Python SDK against real processes: crypta up, crypta-runtime in the sim TEE (issue 11)."""

import base64
import gc
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch

import crypta
from conftest import env, ohttp_count


def verify(setup, **kw):
    kw.setdefault("expected_measurements", [setup.measurement])
    kw.setdefault("allow_simulated", True)
    kw.setdefault("data_dir", setup.data_dir)
    return crypta.verify_service(setup.service, **kw)


def post(url, body, content_type):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture(scope="module")
def svc(setup):
    return verify(setup)


@pytest.fixture(scope="module")
def torch_model(setup):
    return torch.jit.load(os.path.join(setup.models, "tiny_cnn.pt")).eval()


def reference(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def test_verify_reports_the_attested_service(setup, svc):
    assert svc.is_valid
    assert svc.tee == "sim" and svc.simulated
    assert svc.measurement == setup.measurement
    assert svc.claims["measurement"] == setup.measurement
    assert svc.runtime_data["workload"] == "radiology-demo"
    assert 0 <= svc.ohttp_key_id < 256
    assert "SIMULATED TEE" in repr(svc)
    with verify(setup) as again:
        assert again.measurement == svc.measurement


def test_predict_equals_plain_libtorch(setup, svc, torch_model):
    x = np.load(os.path.join(setup.models, "tiny_cnn.input.npy"))
    out = svc.predict("tiny_cnn", {"input": x})
    assert list(out) == ["logits"]
    assert out["logits"].dtype == np.float32 and out["logits"].shape == (4, 10)
    np.testing.assert_allclose(out["logits"], reference(torch_model, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out["logits"],
                               np.load(os.path.join(setup.models, "tiny_cnn.expected.npy")),
                               rtol=1e-5, atol=1e-5)
    # One array: named after the model's first input (from its metadata, through OHTTP).
    single = svc.predict("tiny_cnn", x)
    np.testing.assert_array_equal(single["logits"], out["logits"])
    # A non-contiguous view is made contiguous, not misread.
    wide = np.concatenate([x, x], axis=0)[::2]
    np.testing.assert_allclose(svc.predict("tiny_cnn", {"input": wide})["logits"],
                               reference(torch_model, np.ascontiguousarray(wide)), rtol=1e-5,
                               atol=1e-5)


def test_same_result_as_the_cpp_sdk(setup, svc, tmp_path):
    # `crypta predict` is the C++ SDK: both clients' answers from the same runtime agree.
    x = os.path.join(setup.models, "tiny_cnn.input.npy")
    out = setup.cli("predict", setup.service, "--model", "tiny_cnn", "--input", x,
                    "--expect-measurement", setup.measurement, "--allow-simulated",
                    "--data-dir", setup.data_dir)
    cpp = json.loads(out)["outputs"][0]
    py = svc.predict("tiny_cnn", {"input": np.load(x)})["logits"]
    np.testing.assert_allclose(np.array(cpp["data"], dtype=np.float32).reshape(cpp["shape"]), py,
                               rtol=1e-6, atol=1e-6)


def flip_b64url(text, index):
    return text[:index] + ("B" if text[index] == "A" else "A") + text[index + 1:]


def test_predict_returns_a_verified_receipt(setup, svc, tmp_path):
    # Issue 17: the runtime signs a receipt into each answer; the C++ SDK verifies it and
    # the Python SDK hands it back with the outputs, as a bundle verify_receipt re-checks.
    assert svc.issues_receipts
    x = np.load(os.path.join(setup.models, "tiny_cnn.input.npy"))
    out, receipt = svc.predict("tiny_cnn", {"input": x}, with_receipt=True)
    np.testing.assert_array_equal(out["logits"], svc.predict("tiny_cnn", {"input": x})["logits"])
    assert receipt.jws.count(".") == 2
    claims = receipt.claims
    assert claims["measurement"] == setup.measurement
    assert claims["workload"] == "radiology-demo"
    assert claims["request_digest"].startswith("sha256:")
    bundle = receipt.bundle()
    assert json.loads(bundle)["receipt"] == receipt.jws
    sim_root = os.path.join(setup.data_dir, "sim", "ca.pem")
    verified = crypta.verify_receipt(bundle, allow_simulated=True, sim_root=sim_root)
    assert verified["verified"] is True and verified["simulated"] is True
    assert verified["measurement"] == setup.measurement
    assert verified["receipt"]["request_digest"] == claims["request_digest"]
    assert verified["receipt"]["sequence"] == claims["sequence"]
    # Saved (0600) like `crypta predict --receipt`; the CLI and the SDK accept each other's.
    path = tmp_path / "receipt.json"
    receipt.save(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert crypta.verify_receipt(path, allow_simulated=True, sim_root=sim_root)["verified"]
    assert crypta.verify_receipt(json.loads(bundle), True, sim_root,
                                 at=claims["time"])["verified"]
    cli = json.loads(setup.cli("receipt", "verify", str(path), "--allow-simulated",
                               "--data-dir", setup.data_dir))
    assert cli["receipt"] == verified["receipt"]
    # The JSON path returns one too.
    answer, r2 = svc.infer("tiny_cnn", {"inputs": [{"name": "input", "shape": list(x.shape),
                                                    "datatype": "FP32",
                                                    "data": x.ravel().tolist()}]},
                           with_receipt=True)
    assert answer["outputs"][0]["name"] == "logits"
    assert r2.claims["sequence"] != claims["sequence"]
    assert crypta.verify_receipt(r2.bundle(), allow_simulated=True, sim_root=sim_root)["verified"]

    # Refused: the simulated TEE unless allowed; a flipped character of the receipt (header,
    # payload, signature) or a flipped byte of the response or the request.
    with pytest.raises(crypta.VerificationError, match="attestation"):
        crypta.verify_receipt(bundle)
    with pytest.raises(crypta.InvalidArgumentError, match="sim root"):
        crypta.verify_receipt(bundle, allow_simulated=True)
    doc = json.loads(bundle)
    jws = doc["receipt"]
    dots = [i for i, c in enumerate(jws) if c == "."]
    for index in (5, dots[0] + 10, dots[1] + 10):
        bad = dict(doc, receipt=flip_b64url(jws, index))
        with pytest.raises(crypta.VerificationError, match="^receipt: "):
            crypta.verify_receipt(json.dumps(bad), allow_simulated=True, sim_root=sim_root)
    for field, check in (("response_b64", "response_digest"), ("request_b64", "request_digest")):
        raw = bytearray(base64.b64decode(doc[field]))
        raw[len(raw) // 2] ^= 1
        bad = dict(doc, **{field: base64.b64encode(bytes(raw)).decode()})
        with pytest.raises(crypta.VerificationError, match=check) as e:
            crypta.verify_receipt(json.dumps(bad), allow_simulated=True, sim_root=sim_root)
        assert e.value.code == "unauthenticated"
    with pytest.raises(crypta.VerificationError):
        crypta.verify_receipt(bundle[:-2], allow_simulated=True, sim_root=sim_root)


def test_wrong_measurement_raises_before_anything_is_sent(setup):
    before = ohttp_count(setup.service)
    with pytest.raises(crypta.VerificationError) as e:
        verify(setup, expected_measurements=["00" * 48])
    assert f"measurement {setup.measurement} is not an expected measurement" in str(e.value)
    assert e.value.code == "permission_denied"
    with pytest.raises(crypta.VerificationError, match="simulated"):
        crypta.verify_service(setup.service, expected_measurements=[setup.measurement])
    with pytest.raises(crypta.InvalidArgumentError, match="sim root"):
        crypta.verify_service(setup.service, expected_measurements=[setup.measurement],
                              allow_simulated=True)
    with pytest.raises(crypta.InvalidArgumentError, match="not hex"):
        verify(setup, expected_measurements=["xyz"])
    with pytest.raises(crypta.UnavailableError):
        crypta.verify_service("http://127.0.0.1:9", expected_measurements=["00"], timeout=2)
    assert ohttp_count(setup.service) == before


def test_reference_values_from_the_platform(setup):
    # tenant + workload: the control plane's signed reference values of a deployment.
    with pytest.raises(crypta.InvalidArgumentError, match="workload"):
        verify(setup, expected_measurements=None, tenant="radiology")
    with pytest.raises(crypta.NotFoundError, match="no deployment radiology-demo"):
        verify(setup, expected_measurements=None, tenant="radiology", workload="radiology-demo")


def control_plane_url(setup):
    with open(os.path.join(setup.data_dir, "url"), encoding="utf-8") as f:
        return f.read().strip()


def other_verifier_key(name):
    # A well-formed signed-note verifier key for `name` that is not the log's (RFC 8032's
    # test key 1): a checkpoint signed by the log carries no signature it verifies.
    pub = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4].hex()
    key = base64.b64encode(b"\x01" + pub).decode()
    return f"{name}+{key_id}+{key}"


def test_release_transparency(setup, svc, tmp_path):
    # Issue 17: with transparency=<control plane URL>, the service's measurement and model
    # digest must be published in the release log; nothing is sent to it otherwise.
    log = control_plane_url(setup)
    digest = svc.runtime_data["model-digest"]
    state = tmp_path / "state.json"
    assert svc.published is None  # no log asked for
    before = ohttp_count(setup.service)
    with pytest.raises(crypta.VerificationError, match="not published") as e:
        verify(setup, transparency=log, transparency_state=state)
    assert e.value.code == "permission_denied"
    assert not state.exists()

    p = crypta.Platform(data_dir=setup.data_dir)
    published = p.request("POST", "/v1/transparency/releases", {
        "tenant": "radiology", "workload": "radiology-demo", "measurement": setup.measurement,
        "model_digest": digest, "note": "sdk.python"})
    origin = p.request("GET", "/v1/transparency/key")["origin"]

    s = verify(setup, tenant="radiology", transparency=log, transparency_state=state)
    got = s.published
    assert got["index"] == published["index"]
    assert got["tenant"] == "radiology" and got["workload"] == "radiology-demo"
    assert got["measurement"] == setup.measurement and got["model_digest"] == digest
    assert got["note"] == "sdk.python" and got["host_data"] == "" and got["time"] > 0
    assert got["origin"] == origin and got["checkpoint_size"] > got["index"]
    assert got["state_file"] == str(state)
    remembered = json.loads(state.read_text())
    assert remembered["size"] == got["checkpoint_size"] and remembered["origin"] == origin
    # The log's key from a file (default: release-log.vkey of data_dir), and the log as the
    # reference list of a policy with require_published (no measurements).
    vkey = os.path.join(setup.data_dir, "release-log.vkey")
    policy = {"tee": ["sim"], "allow_simulated": True, "require_published": True}
    again = verify(setup, expected_measurements=None, policy=policy, transparency=log,
                   log_key=vkey, transparency_state=state)
    assert again.published["index"] == got["index"]

    # Refused, before anything reaches the model: another tenant's release; a log key that
    # did not sign the checkpoint; a remembered checkpoint of the same size with another
    # root (a fork) or a larger one (a rollback); require_published without a log.
    with pytest.raises(crypta.VerificationError, match="not published") as e:
        verify(setup, tenant="cardiology", transparency=log, transparency_state=state)
    assert e.value.code == "permission_denied"
    with pytest.raises(crypta.VerificationError, match="transparency") as e:
        verify(setup, transparency=log, log_key=other_verifier_key(origin),
               transparency_state=state)
    assert e.value.code == "unauthenticated"
    forged = tmp_path / "forged.json"
    for size, what in ((remembered["size"], "fork:"), (remembered["size"] + 5, "rollback:")):
        forged.write_text(json.dumps({"origin": origin, "size": size, "v": 1,
                                      "root": base64.b64encode(os.urandom(32)).decode()}))
        with pytest.raises(crypta.VerificationError, match=what) as e:
            verify(setup, transparency=log, transparency_state=forged)
        assert e.value.code == "permission_denied"
    with pytest.raises(crypta.VerificationError, match="require_published"):
        verify(setup, expected_measurements=None, policy=policy)
    assert ohttp_count(setup.service) == before

    # Usage errors: the log's companions without the log; tenant with neither workload nor log.
    with pytest.raises(crypta.InvalidArgumentError, match="transparency"):
        verify(setup, log_key=vkey)
    with pytest.raises(crypta.InvalidArgumentError, match="transparency"):
        verify(setup, transparency_state=state)
    with pytest.raises(crypta.InvalidArgumentError, match="workload"):
        verify(setup, tenant="radiology")
    # Eight fresh attestations just now: let the runtime's limit (10/s, burst 20) refill.
    time.sleep(1)


def test_policy_instead_of_measurements(setup, tmp_path):
    policy = {"tee": ["sim"], "allow_simulated": True, "measurements": [setup.measurement]}
    assert verify(setup, expected_measurements=None, policy=policy).is_valid
    path = tmp_path / "p.yaml"
    path.write_text(f"tee: [sim]\nallow_simulated: true\nmeasurements: ['{'11' * 48}']\n")
    with pytest.raises(crypta.VerificationError, match="measurement"):
        verify(setup, expected_measurements=None, policy=path)


def test_encrypt_decrypt_through_predict_json(setup, svc):
    # The seed's /predict shape: {"encrypted_input"} -> {"encrypted_result"}.
    x = np.load(os.path.join(setup.models, "tiny_cnn.input.npy"))[:1]
    body = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "data": x.ravel().tolist()}]}).encode()
    req = svc.encrypt(body, path="/v2/models/tiny_cnn/infer", content_type="application/json")
    status, answer = post(setup.service + "/predict", json.dumps(req.predict_body()).encode(),
                          "application/json")
    assert status == 200, answer
    resp = req.read_predict_result(answer).raise_for_status()
    logits = resp.json()["outputs"][0]
    assert logits["name"] == "logits" and logits["shape"] == [1, 10]
    # Replaying the same encrypted request is refused by the runtime.
    status, answer = post(setup.service + "/predict", json.dumps(req.predict_body()).encode(),
                          "application/json")
    assert status != 200 or not json.loads(answer).get("success"), answer


def test_tampered_and_misdirected_responses_raise(setup, svc):
    a = svc.encrypt(b"", path="/v2/models/tiny_cnn", method="GET")
    b = svc.encrypt(b"", path="/v2/models/tiny_cnn", method="GET")
    status, ra = post(setup.service + "/v1/ohttp", a.data, "message/ohttp-req")
    assert status == 200
    status, rb = post(setup.service + "/v1/ohttp", b.data, "message/ohttp-req")
    assert status == 200
    assert a.decrypt(ra).json()["name"] == "tiny_cnn"
    tampered = bytearray(rb)
    tampered[-1] ^= 1
    with pytest.raises(crypta.ResponseError):
        b.decrypt(bytes(tampered))
    with pytest.raises(crypta.ResponseError):  # another request's answer
        b.decrypt(ra)
    with pytest.raises(crypta.ResponseError):  # an old answer replayed for a new request
        svc.encrypt(b"", path="/v2/models/tiny_cnn", method="GET").decrypt(ra)
    assert svc.decrypt(b, rb).ok
    # The same request sent twice: the runtime refuses the replay.
    status, _ = post(setup.service + "/v1/ohttp", a.data, "message/ohttp-req")
    assert status != 200


def test_bad_inputs_are_named(svc):
    with pytest.raises(crypta.InvalidArgumentError, match="input"):
        svc.predict("tiny_cnn", {"input": np.zeros((1, 3, 32, 32), dtype=np.float64)})
    with pytest.raises(ValueError, match="complex64"):
        svc.predict("tiny_cnn", {"input": np.zeros((1, 3), dtype=np.complex64)})
    with pytest.raises(crypta.InvalidArgumentError, match="model"):
        svc.predict("no/such model", {"input": np.zeros((1,), dtype=np.float32)})
    with pytest.raises(crypta.CryptaError):
        svc.predict("missing_model", {"input": np.zeros((1, 3, 32, 32), dtype=np.float32)})


def test_threads_get_their_own_results(svc, torch_model):
    rng = np.random.default_rng(7)
    inputs = [rng.standard_normal((1, 3, 32, 32), dtype=np.float32) for _ in range(16)]
    expected = [reference(torch_model, x) for x in inputs]
    errors = []

    def worker(i):
        try:
            for _ in range(50):
                got = svc.predict("tiny_cnn", {"input": inputs[i]})["logits"]
                np.testing.assert_allclose(got, expected[i], rtol=1e-5, atol=1e-5)
        except Exception as e:  # reported below
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_platform_lists(setup):
    p = crypta.Platform(data_dir=setup.data_dir)
    assert any(m["name"] == "tiny_cnn" for m in p.models("radiology"))
    assert any(k["name"] == "models" for k in p.keys("radiology"))
    assert any(e["action"] for e in p.audit_tail(50))
    with pytest.raises(crypta.NotFoundError):
        p.request("GET", "/v1/tenants/radiology/models/no-such-model")
    with pytest.raises(crypta.UnauthenticatedError):
        crypta.Platform(url=setup.platform, token="wrong").models("radiology")


def test_encrypt_model_deploy_predict_every_dtype(setup, tmp_path):
    p = crypta.Platform(data_dir=setup.data_dir)
    setup.cli("key", "create", "--tenant", "radiology", "dtypes", "--data-dir", setup.data_dir)
    with pytest.raises(crypta.InvalidArgumentError, match="does not declare its inputs"):
        p.encrypt_model(os.path.join(setup.models, "dtypes.pt"), "radiology", "dtypes",
                        name="dtypes", check=True)
    ref = p.encrypt_model(os.path.join(setup.models, "dtypes.pt"), "radiology", "dtypes",
                          name="dtypes", recipient_tee=["sim"], check=True,
                          signature=os.path.join(setup.models, "dtypes.signature.json"))
    assert ref.startswith("store://radiology/dtypes@sha256:")
    with pytest.raises(crypta.FailedPreconditionError, match="rotates only by hand"):
        p.encrypt_model(os.path.join(setup.models, "dtypes.pt"), "radiology", "dtypes",
                        key_rotation_days=90)
    # No --backend or --signature: the runtime serves the model with those pushed with it.
    with setup.runtime_for(ref, None, "dtypes", tmp_path) as (url, measurement):
        s = crypta.verify_service(url, [measurement], allow_simulated=True,
                                  data_dir=setup.data_dir, model_digest=ref.split("@")[1])
        meta = s.metadata("dtypes")
        names = [i["name"] for i in meta["inputs"]]
        values = [np.array([[1.5, -2.0]], dtype=np.float32),
                  np.array([[0.25, 3.0]], dtype=np.float64),
                  np.array([[1, -(2**40)]], dtype=np.int64),
                  np.array([[7, -9]], dtype=np.int32),
                  np.array([[255, 3]], dtype=np.uint8),
                  np.array([[True, False]], dtype=np.bool_)]
        shapes = {i["name"]: i["shape"] for i in meta["inputs"]}
        feeds = {}
        for name, v in zip(names, values):
            want = [d if d != -1 else 1 for d in shapes[name]]
            feeds[name] = np.resize(v, want).astype(v.dtype)
        out = list(s.predict("dtypes", feeds).values())
        ins = list(feeds.values())
        np.testing.assert_array_equal(out[0], ins[0] * 2)
        np.testing.assert_array_equal(out[1], ins[1] * 2)
        np.testing.assert_array_equal(out[2], ins[2] + 1)
        np.testing.assert_array_equal(out[3], ins[3] + 1)
        np.testing.assert_array_equal(out[4], (ins[4] + 1).astype(np.uint8))
        np.testing.assert_array_equal(out[5], np.logical_not(ins[5]))
        assert [o.dtype for o in out] == [v.dtype for v in ins]


TEE_SCRIPT = r'''
import io, json, sys
import crypta, torch
env = crypta.TEEEnvironment()
model = torch.jit.load(io.BytesIO(env.load_encrypted_model(sys.argv[1])))
x = torch.ones(1, 3, 32, 32)
blob = open(sys.argv[2], "rb").read()
plain = env.decrypt_data(blob, sys.argv[3])
mine = env.encrypt_data(b"result:" + plain, like=blob, object_id=sys.argv[3])
open(sys.argv[4], "wb").write(mine)
print(json.dumps({"tee": env.tee, "simulated": env.simulated, "plain": plain.decode(),
                  "logits": model(x).detach().numpy().ravel().tolist(),
                  "again": env.decrypt_data(mine, sys.argv[3]).decode()}))
'''


def test_tee_environment_under_sim_launch(setup, tmp_path, torch_model):
    p = crypta.Platform(data_dir=setup.data_dir)
    setup.cli("key", "create", "--tenant", "radiology", "teepy", "--data-dir", setup.data_dir)
    ref = p.encrypt_model(os.path.join(setup.models, "tiny_cnn.pt"), "radiology", "teepy",
                          name="teepy",
                          signature=os.path.join(setup.models, "tiny_cnn.signature.json"))
    sealed = p.encrypt_data(b"patient 42", "radiology", "teepy")
    script = tmp_path / "workload.py"
    script.write_text(TEE_SCRIPT)
    (tmp_path / "in.sealed").write_bytes(sealed.blob)
    argv = [sys.executable, str(script), ref, str(tmp_path / "in.sealed"), sealed.object_id,
            str(tmp_path / "out.sealed")]
    env = dict(os.environ, CRYPTA_BROKER_URL=setup.platform,
               PYTHONPATH=os.path.dirname(os.path.dirname(crypta.__file__)))
    launch = [setup.crypta, "sim", "launch", "--data-dir", setup.data_dir, "--", *argv]

    # No release policy for this workload's measurement yet: the key is refused.
    r = subprocess.run(launch, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0, r.stdout
    assert "PermissionDeniedError" in r.stderr or "UnauthenticatedError" in r.stderr, r.stderr

    setup.allow("radiology", "teepy", setup.measure(argv), str(tmp_path / "p.yaml"))
    r = subprocess.run(launch, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["tee"] == "sim" and got["simulated"]
    assert got["plain"] == "patient 42" and got["again"] == "result:patient 42"
    np.testing.assert_allclose(got["logits"],
                               reference(torch_model, np.ones((1, 3, 32, 32), np.float32)).ravel(),
                               rtol=1e-5, atol=1e-5)
    # The blob the workload sealed is a normal sealed blob under radiology/teepy.
    assert (tmp_path / "out.sealed").read_bytes()[:4] == sealed.blob[:4]

    # Outside a TEE (no sim socket): refused before anything is fetched.
    outside = dict(env)
    outside.pop("CRYPTA_SIM_SOCKET", None)
    r = subprocess.run(argv, capture_output=True, text=True, env=outside, timeout=60)
    assert r.returncode != 0 and "not inside a TEE" in r.stderr, r.stderr


GPU_SCRIPT = r'''
import sys
import crypta
env = crypta.TEEEnvironment(gpu_evidence="sim")
print(env.decrypt_data(open(sys.argv[1], "rb").read(), sys.argv[2]).decode())
'''


def test_tee_environment_attests_its_gpus(setup, tmp_path):
    # A key whose policy demands a GPU: released to the sim TEE with a simulated GPU bound
    # to its evidence (gpu_evidence="sim" under `crypta sim launch --gpus 1`), refused when
    # the workload attests no GPU.
    p = crypta.Platform(data_dir=setup.data_dir)
    setup.cli("key", "create", "--tenant", "radiology", "teegpu", "--data-dir", setup.data_dir)
    sealed = p.encrypt_data(b"scan 7", "radiology", "teegpu")
    script = tmp_path / "gpu_workload.py"
    script.write_text(GPU_SCRIPT)
    (tmp_path / "in.sealed").write_bytes(sealed.blob)
    argv = [sys.executable, str(script), str(tmp_path / "in.sealed"), sealed.object_id]
    policy = tmp_path / "gpu.yaml"
    policy.write_text(f"tee: [sim]\nallow_simulated: true\nmeasurements: [{setup.measure(argv)}]\n"
                      "gpu: {count: 1, driver_versions: [550.90.07]}\n")
    setup.cli("policy", "set", "--tenant", "radiology", "--key", "teegpu", "-f", str(policy),
              "--data-dir", setup.data_dir)
    env = dict(os.environ, CRYPTA_BROKER_URL=setup.platform,
               PYTHONPATH=os.path.dirname(os.path.dirname(crypta.__file__)))

    def launch(*flags):
        return subprocess.run([setup.crypta, "sim", "launch", "--data-dir", setup.data_dir,
                               *flags, "--", *argv], capture_output=True, text=True, env=env,
                              timeout=120)

    r = launch("--gpus", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "scan 7"
    r = launch()  # no GPU passed through: nothing to attest
    assert r.returncode != 0 and "no GPUs" in r.stderr, r.stderr


# ---------------------------------------------------------------------------------------------
# Text generation (issue 18): the tiny GPT served by the second runtime of with_service.sh.

STREAM_PROXY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests", "runtime", "ohttp_stream_proxy.py")


@pytest.fixture(scope="module")
def gen(setup):
    return crypta.verify_service(env("CRYPTA_TEST_GEN_SERVICE"),
                                 [env("CRYPTA_TEST_GEN_MEASUREMENT")], allow_simulated=True,
                                 data_dir=setup.data_dir)


@pytest.fixture(scope="module")
def gen_cases(setup):
    with open(os.path.join(setup.models, "tiny_gpt.expected.json"), encoding="utf-8") as f:
        return json.load(f)


def test_generate_stream_equals_generate_and_torch(setup, gen, gen_cases, tmp_path):
    assert gen.issues_receipts
    sim_root = os.path.join(setup.data_dir, "sim", "ca.pem")
    for i, case in enumerate(gen_cases):
        prompt, n, want = case["prompt"], case["max_tokens"], case["text_output"]
        stream = gen.generate_stream("tiny_gpt", prompt, max_tokens=n)
        assert isinstance(stream, crypta.GenerationStream)
        assert stream.receipt is None and not stream.done
        with pytest.raises(crypta.FailedPreconditionError, match="not ended"):
            stream.receipt_bundle()
        tokens = [tok for tok in stream]
        assert all(isinstance(t, str) and t for t in tokens)
        assert len(tokens) > 1, tokens  # incremental: one event per token, not one blob
        assert "".join(tokens) == want  # torch's own greedy continuation
        assert gen.generate("tiny_gpt", prompt, max_tokens=n) == want
        # Ended whole, with the runtime's receipt over the request and every event.
        assert stream.done and "ended" in repr(stream)
        with pytest.raises(StopIteration):
            next(stream)
        assert stream.receipt.count(".") == 2
        bundle = stream.receipt_bundle()
        assert json.loads(bundle)["receipt"] == stream.receipt
        path = tmp_path / f"stream-{i}.json"
        path.write_text(bundle)
        cli = json.loads(setup.cli("receipt", "verify", str(path), "--allow-simulated",
                                   "--data-dir", setup.data_dir))
        assert cli["verified"] is True
        assert cli["receipt"]["measurement"] == env("CRYPTA_TEST_GEN_MEASUREMENT")
        assert cli["receipt"]["workload"] == "radiology-gen"
        sdk = crypta.verify_receipt(bundle, allow_simulated=True, sim_root=sim_root)
        assert sdk["receipt"] == cli["receipt"]
    # The default max_tokens (16): a prefix of the 24-token continuation.
    assert gen.generate("tiny_gpt", gen_cases[0]["prompt"]) == gen_cases[0]["text_output"][:16]


def test_generate_errors_are_named(gen):
    # Refused inside the encrypted channel with the model's reason, streamed or not.
    with pytest.raises(crypta.InvalidArgumentError, match="printable ASCII"):
        gen.generate("tiny_gpt", "caf\u00e9")
    stream = gen.generate_stream("tiny_gpt", "caf\u00e9")
    with pytest.raises(crypta.InvalidArgumentError, match="printable ASCII") as e:
        next(stream)
    assert e.value.code == "invalid_argument"
    with pytest.raises(crypta.InvalidArgumentError, match="printable ASCII"):
        next(stream)  # and again: never a quiet end
    assert stream.receipt is None
    with pytest.raises(crypta.InvalidArgumentError, match="printable ASCII"):
        list(gen.generate_stream("tiny_gpt", "caf\u00e9"))
    with pytest.raises(crypta.NotFoundError, match="no_such_model") as e:
        gen.generate("no_such_model", "hi")
    assert e.value.code == "not_found"
    with pytest.raises(crypta.NotFoundError, match="no_such_model"):
        for _ in gen.generate_stream("no_such_model", "hi"):
            pass
    with pytest.raises(crypta.InvalidArgumentError, match="model"):
        gen.generate_stream("no/such model", "hi")
    with pytest.raises(crypta.InvalidArgumentError, match="max_tokens"):
        gen.generate("tiny_gpt", "hi", max_tokens=5000)
    with pytest.raises(crypta.InvalidArgumentError, match="max_tokens"):
        gen.generate_stream("tiny_gpt", "hi", max_tokens=0)
    with pytest.raises(crypta.InvalidArgumentError, match="prompt"):
        gen.generate("tiny_gpt", b"hi")
    # A model that does not generate.
    with pytest.raises(crypta.CryptaError):
        gen.generate("tiny_cnn", "hi")


def test_generate_stream_closed_early(gen, gen_cases):
    case = gen_cases[2]
    stream = gen.generate_stream("tiny_gpt", case["prompt"], max_tokens=case["max_tokens"])
    assert next(stream) == case["text_output"][0]
    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < 30
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.receipt is None and not stream.done
    with pytest.raises(crypta.FailedPreconditionError):
        stream.receipt_bundle()
    stream.close()  # twice is fine
    with gen.generate_stream("tiny_gpt", case["prompt"], max_tokens=200) as s:
        assert next(s) == case["text_output"][0]
    dropped = gen.generate_stream("tiny_gpt", case["prompt"], max_tokens=200)
    next(dropped)
    del dropped
    gc.collect()
    unread = gen.generate_stream("tiny_gpt", case["prompt"], max_tokens=200)
    del unread
    gc.collect()
    # The service serves on.
    assert gen.generate("tiny_gpt", case["prompt"], max_tokens=case["max_tokens"]) == \
        case["text_output"]


def test_generate_streams_in_threads(gen, gen_cases):
    # next() releases the GIL while it waits: streams in threads proceed together.
    results, errors = {}, []

    def worker(i):
        try:
            case = gen_cases[i % len(gen_cases)]
            got = "".join(gen.generate_stream("tiny_gpt", case["prompt"],
                                              max_tokens=case["max_tokens"]))
            results[i] = got == case["text_output"]
        except Exception as e:  # reported below
            errors.append((i, e))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert results == {i: True for i in range(6)}


@pytest.mark.parametrize("mode,want,codes", [
    # Cut inside the final chunk: it does not open (cut at a chunk boundary: "data_loss").
    ("cut", "truncated|final chunk", ("unauthenticated", "data_loss")),
    ("flip", "authenticat|does not open|tag", ("unauthenticated",))])
def test_generate_stream_damaged_in_transit_raises(setup, gen, mode, want, codes):
    # A man in the middle keeps the HTTP framing whole but drops the final OHTTP chunk, or
    # flips a byte: the stream raises (after whatever tokens came), it never just ends.
    port = env("CRYPTA_TEST_GEN_SERVICE").rsplit(":", 1)[1]
    proxy = subprocess.Popen([sys.executable, STREAM_PROXY, port, mode], stdout=subprocess.PIPE,
                             text=True)
    try:
        url = f"http://127.0.0.1:{proxy.stdout.readline().strip()}"
        svc = crypta.verify_service(url, [env("CRYPTA_TEST_GEN_MEASUREMENT")],
                                    allow_simulated=True, data_dir=setup.data_dir)
        stream = svc.generate_stream("tiny_gpt", "Hello", max_tokens=8)
        tokens = []
        with pytest.raises(crypta.CryptaError, match=want) as e:
            for tok in stream:
                tokens.append(tok)
        assert e.value.code in codes
        assert e.value.code != "unauthenticated" or isinstance(e.value, crypta.ResponseError)
        assert len(tokens) <= 8  # what came before the damage, then the error
        assert not stream.done and stream.receipt is None
    finally:
        proxy.kill()
        proxy.wait()


def test_pip_install_offline(tmp_path):
    # `pip install ./python` into a venv, with no index: nothing is downloaded.
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.path.dirname(os.path.dirname(os.path.dirname(crypta.__file__)))
    venv = tmp_path / "venv"
    # From a copy: pip's in-tree build writes build/ and *.egg-info next to setup.py.
    src = tmp_path / "src"
    shutil.copytree(os.path.join(repo, "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, timeout=120)
    r = subprocess.run([str(venv / "bin/pip"), "install", "--no-index", "--no-build-isolation",
                        "-q", str(src)], capture_output=True, text=True,
                       env=dict(os.environ, CRYPTA_BUILD_DIR=build), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([str(venv / "bin/python"), "-c",
                        "import crypta, crypta._native; print(crypta.__file__)"],
                       capture_output=True, text=True, env=clean, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert str(venv) in r.stdout
