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
  tiny_gpt.pt              TorchScript GPT-style decoder with random weights (issue 18): "input_ids"
                           INT64 [1,-1] (printable-ASCII characters, token i = chr(32 + i)) ->
                           "logits" FP32 [1,95], the next-token logits of the last position
  tiny_gpt.signature.json  the signature plus "generate": {"tokenizer","max_context"} (what
                           crypta-runtime's generate routes read)
  tiny_gpt.expected.json   torch's own greedy continuations of sample prompts
  resnet18.pt / resnet18.onnx / resnet18.signature.json / resnet18.input.npy /
  resnet18.expected.npy    (only with --resnet18: torchvision resnet18(weights=None), seed 0,
                           input [1,3,224,224])
Needs python3-torch (and python3-torchvision for --resnet18); the ONNX export does not need the
onnx Python package.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from torch import nn

# The tiny GPT's vocabulary: the 95 printable ASCII characters, token i = chr(32 + i).
GPT_VOCAB = 95
GPT_CONTEXT = 128
GPT_PROMPTS = ["Hello, confidential world", "crypta", "A"]
GPT_NEW_TOKENS = 24


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


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        h = self.heads
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(y)


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGpt(nn.Module):
    """A GPT-style decoder (random weights): one forward pass per generated token, returning
    the logits of the last position only, so the runtime's greedy loop reads [1, vocab]."""

    def __init__(self, vocab=GPT_VOCAB, dim=64, heads=4, layers=2, context=GPT_CONTEXT):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(context, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, input_ids):
        t = input_ids.shape[1]
        positions = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(positions)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x[:, -1, :]))


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


def greedy(model, prompt, new_tokens):
    ids = [ord(c) - 32 for c in prompt]
    out = []
    with torch.no_grad():
        for _ in range(new_tokens):
            window = ids[-GPT_CONTEXT:]
            logits = model(torch.tensor([window], dtype=torch.int64))
            nxt = int(torch.argmax(logits[0]))
            ids.append(nxt)
            out.append(chr(32 + nxt))
    return "".join(out)


def make_tiny_gpt(out):
    torch.manual_seed(7)
    model = TinyGpt().eval()
    scripted = torch.jit.script(model)
    scripted.save(os.path.join(out, "tiny_gpt.pt"))
    signature = {
        "inputs": [spec("input_ids", "INT64", [1, -1])],
        "outputs": [spec("logits", "FP32", [1, GPT_VOCAB])],
        "generate": {"tokenizer": "ascii-printable", "max_context": GPT_CONTEXT},
    }
    with open(os.path.join(out, "tiny_gpt.signature.json"), "w") as f:
        json.dump(signature, f, indent=1)
        f.write("\n")
    # The scripted model, as saved, is what the runtime loads: its greedy output is the reference.
    loaded = torch.jit.load(os.path.join(out, "tiny_gpt.pt"))
    expected = [{"prompt": p, "max_tokens": GPT_NEW_TOKENS,
                 "text_output": greedy(loaded, p, GPT_NEW_TOKENS)} for p in GPT_PROMPTS]
    with open(os.path.join(out, "tiny_gpt.expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


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
        make_tiny_gpt(out)
    if "--resnet18" in flags:
        make_resnet18(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
