#!/usr/bin/env python3
"""A Flask service whose /predict forwards to a confidential model through the crypta SDK.

The app verifies the crypta-runtime once at start (attestation: the code it runs, the TEE it
runs in, the OHTTP key bound to that evidence) and then sends every input end to end
encrypted to that TEE: the app's host, the network and the runtime's host see ciphertext.

    CRYPTA_SERVICE=http://127.0.0.1:8443 CRYPTA_MEASUREMENT=<hex> \\
    CRYPTA_DATA_DIR=~/.local/share/crypta CRYPTA_ALLOW_SIMULATED=1 \\
    python3 examples/python/app.py --port 5000

    curl -s localhost:5000/predict -H 'content-type: application/json' \\
         -d '{"input": [[...3x32x32 floats...]]}'

CRYPTA_ALLOW_SIMULATED=1 accepts the SIMULATED TEE (no hardware isolation), for trying it on
a laptop; leave it unset in production. POST /predict takes {"input": nested list} (the
model's first input; "model" optional) and answers {"outputs": {name: nested list},
"tee": ..., "measurement": ...}.
"""
import argparse
import os

import numpy as np
from flask import Flask, jsonify, request

import crypta

app = Flask(__name__)
MODEL = os.environ.get("CRYPTA_MODEL", "tiny_cnn")
service = None


def connect():
    return crypta.verify_service(
        os.environ["CRYPTA_SERVICE"],
        expected_measurements=os.environ["CRYPTA_MEASUREMENT"].split(","),
        allow_simulated=os.environ.get("CRYPTA_ALLOW_SIMULATED") == "1",
        data_dir=os.environ.get("CRYPTA_DATA_DIR"),
    )


@app.post("/predict")
def predict():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "input" not in body:
        return jsonify(error='want a JSON object {"input": [...]}'), 400
    try:
        x = np.asarray(body["input"], dtype=np.float32)
        outputs = service.predict(body.get("model", MODEL), x)
    except (crypta.InvalidArgumentError, ValueError) as e:
        return jsonify(error=str(e)), 400
    except crypta.CryptaError as e:
        return jsonify(error=str(e)), 502
    return jsonify(outputs={k: v.tolist() for k, v in outputs.items()}, tee=service.tee,
                   measurement=service.measurement)


@app.get("/healthz")
def healthz():
    return jsonify(service=service.url, tee=service.tee, simulated=service.simulated)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    service = connect()  # refuses to start unless the service verifies
    print(f"verified {service!r}", flush=True)
    app.run(host=args.host, port=args.port)
