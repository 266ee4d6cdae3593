#!/usr/bin/env python3
"""Writes a small trading-signal model for examples/finance, exported to ONNX.

Usage: make_model.py OUTDIR

  signal.onnx          an MLP: "features" FP32 [-1,16] (normalized market features of one
                       instrument) -> "signal" FP32 [-1,3] (softmax over sell / hold / buy)
  features.npy         two sample feature rows (synthetic)
  expected.npy         torch's output for them

Deterministic (torch.manual_seed). Untrained: the numbers mean nothing; the example shows
who can read what. Needs python3-torch (the ONNX export does not need the onnx package).
"""
import os
import sys

import numpy as np
import torch
from torch import nn


class SignalModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                 nn.Linear(32, 3))

    def forward(self, features):
        return torch.softmax(self.net(features), dim=1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(7)
    model = SignalModel().eval()
    features = torch.randn(2, 16)
    with torch.no_grad():
        expected = model(features)
    torch.onnx.export(model, (features,), os.path.join(out, "signal.onnx"),
                      input_names=["features"], output_names=["signal"],
                      dynamic_axes={"features": {0: "batch"}, "signal": {0: "batch"}},
                      opset_version=13)
    np.save(os.path.join(out, "features.npy"), features.numpy())
    np.save(os.path.join(out, "expected.npy"), expected.numpy())


if __name__ == "__main__":
    main()
