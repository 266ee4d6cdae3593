#!/usr/bin/env python3
"""Writes crypta's test models, with sample inputs and torch's own outputs on them.

Usage: make_models.py OUTDIR [--resnet18] [--no-tiny]

Everything is deterministic (torch.manual_seed; CPU only). Files written to OUTDIR:
  tiny_cnn.pt              TorchScript image classifier: "input" FP32 [-1,3,32,32] -> "logits" FP32 [-1,10]
  tiny_cnn.onnx            the same weights exported to ONNX (dynamic batch)
  tiny_cnn.signature.json  {"inputs":[{"name","datatype","shape"}],"outputs":[...]}
  tiny_cnn.input.npy       a [4,3,32,32] sample batch
  tiny_cnn.expected.npy    torch's logits for it (eager model)
  dtypes.pt                TorchScript model with one input per OIP datatype, returning a tuple:
                           fp32*2, fp64*2, int64+1, int32+1, uint8+1 (wrapping), logical_not(bool)
  dtypes.signature.json
  resnet18.pt / resnet18.onnx / resnet18.signature.json / resnet18.input.npy /
  resnet18.expected.npy    (only with --resnet18: torchvision resnet18(weights=None), seed 0,
                           input [1,3,224,224])
Needs python3-torch (and python3-torchvision for --resnet18); the ONNX export does not need the
onnx Python package.
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn


class TinyCnn(nn.Module):
    """A small image classifier built only from operators OpenCV 4.6's ONNX importer knows."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size=3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(16 * 8 * 8, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class Dtypes(nn.Module):
    """Echoes one tensor of each supported datatype, changed so a test sees the model ran."""

    def forward(self, a, b, c, d, e, f):
        return a * 2.0, b * 2.0, c + 1, d + 1, e + 1, torch.logical_not(f)


def spec(name, datatype, shape):
    return {"name": name, "datatype": datatype, "shape": shape}


def write_signature(path, inputs, outputs):
    with open(path, "w") as f:
        json.dump({"inputs": inputs, "outputs": outputs}, f, indent=1)
        f.write("\n")


def export_onnx(model, example, path):
    torch.onnx.export(
        model,
        example,
        path,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13,
        do_constant_folding=True,
    )


def make_classifier(out, name, model, input_shape, classes):
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    x = torch.rand(input_shape, generator=gen)
    with torch.no_grad():
        expected = model(x)
        traced = torch.jit.trace(model, x)
    traced.save(os.path.join(out, name + ".pt"))
    export_onnx(model, x, os.path.join(out, name + ".onnx"))
    np.save(os.path.join(out, name + ".input.npy"), x.numpy())
    np.save(os.path.join(out, name + ".expected.npy"), expected.numpy())
    write_signature(
        os.path.join(out, name + ".signature.json"),
        [spec("input", "FP32", [-1] + list(input_shape[1:]))],
        [spec("logits", "FP32", [-1, classes])],
    )


def make_tiny(out):
    torch.manual_seed(0)
    model = TinyCnn()
    # Non-trivial batch-norm statistics, so the exported graph exercises them.
    with torch.no_grad():
        model.features[1].running_mean.uniform_(-0.5, 0.5)
        model.features[1].running_var.uniform_(0.5, 2.0)
    make_classifier(out, "tiny_cnn", model, (4, 3, 32, 32), 10)

    torch.jit.script(Dtypes()).save(os.path.join(out, "dtypes.pt"))
    names = [("a", "FP32"), ("b", "FP64"), ("c", "INT64"), ("d", "INT32"), ("e", "UINT8"),
             ("f", "BOOL")]
    write_signature(
        os.path.join(out, "dtypes.signature.json"),
        [spec(n, t, [-1]) for n, t in names],
        [spec(n + "_out", t, [-1]) for n, t in names],
    )


def make_resnet18(out):
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    make_classifier(out, "resnet18", model, (1, 3, 224, 224), 1000)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    flags = {a for a in argv[1:] if a.startswith("--")}
    unknown = flags - {"--resnet18", "--no-tiny"}
    if len(args) != 1 or unknown:
        sys.stderr.write(__doc__)
        return 2
    out = args[0]
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    if "--no-tiny" not in flags:
        make_tiny(out)
    if "--resnet18" in flags:
        make_resnet18(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
