#!/usr/bin/env python3
"""Seal a torchvision model and push it to crypta with the SDK (Platform.encrypt_model).

    python3 examples/python/seal_and_push.py --tenant radiology --key models \\
        --name resnet18 [--data-dir ~/.local/share/crypta] [--tee sim]

Scripts the model with TorchScript (torchvision resnet18, random weights: nothing is
downloaded), declares its signature, seals it locally with a fresh data key that the key broker wraps, uploads only
the sealed blob, and prints the store:// reference a deployment's `model:` names. The key's
release policy decides which attested TEEs can ever open it.
"""
import argparse
import os
import tempfile

import torch
import torchvision

import crypta

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--tenant", required=True)
p.add_argument("--key", required=True)
p.add_argument("--name", default="resnet18")
p.add_argument("--data-dir", help="a local `crypta up` data dir (default: CRYPTA_URL/TOKEN)")
p.add_argument("--tee", action="append", help="release only to this TEE (repeatable)")
args = p.parse_args()

model = torchvision.models.resnet18(weights=None).eval()
scripted = torch.jit.trace(model, torch.zeros(1, 3, 224, 224))
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, args.name + ".pt")
    scripted.save(path)
    platform = crypta.Platform(data_dir=args.data_dir)
    # TorchScript does not record its inputs and outputs: the signature travels with the
    # model (docs/models.md), and push checks that the model runs with it.
    signature = {"inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, 3, 224, 224]}],
                 "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 1000]}]}
    ref = platform.encrypt_model(path, tenant=args.tenant, key=args.key, name=args.name,
                                 signature=signature, recipient_tee=args.tee)
print(ref)
