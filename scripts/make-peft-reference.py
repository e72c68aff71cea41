#!/usr/bin/env python3
"""Computes, with PyTorch, what a PyTorch user gets from the base model + the PEFT adapter that
`exportAdapter` wrote to test/fixtures/peft-tiny-llama, and writes it next to the adapter
(reference.json: the inputs; reference.safetensors: the logits and a projection check) for
packages/kava-core/test/export-adapter.test.ts, which needs no Python.

Neither `transformers` nor `peft` is available here, so the adapter is applied by hand exactly as
PEFT's LoRA layers compute it in eval mode: each target module's output is
base(x) + lora_B(lora_A(x)) * lora_alpha / r, i.e. W + (lora_alpha / r) * B @ A; the modules in
`modules_to_save` (the embedding table and the untied head, grown by the added tokens) replace
the base model's. The forward pass is HF Llama's, from scripts/make-hf-fixtures.py, in float64.
The latent projection is torch.nn's Linear -> GELU (erf) -> Linear -> LayerNorm(eps 1e-5) read
from latent_projection.safetensors in torch.nn layout.

Usage: /usr/bin/python3 scripts/make-peft-reference.py   (Debian's python3-torch; deterministic)
"""
import importlib.util
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "test", "fixtures")
BASE = os.path.join(FIXTURES, "hf-tiny-llama")
ADAPTER = os.path.join(FIXTURES, "peft-tiny-llama")

spec = importlib.util.spec_from_file_location("hf_fixtures", os.path.join(HERE, "make-hf-fixtures.py"))
hf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hf)


def read_safetensors(path):
    """Every tensor of a safetensors file (F32 / BF16 / F16), as float64."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        raw = bytearray(body[a:b])
        if e["dtype"] == "F32":
            t = torch.frombuffer(raw, dtype=torch.float32)
        elif e["dtype"] == "BF16":
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        elif e["dtype"] == "F16":
            t = torch.frombuffer(raw, dtype=torch.float16)
        else:
            raise ValueError(f"{path}: {name}: dtype {e['dtype']}")
        out[name] = t.reshape(e["shape"]).double()
    return out


def base_weights():
    w = {}
    for f in sorted(os.listdir(BASE)):
        if f.startswith("model") and f.endswith(".safetensors"):
            w.update(read_safetensors(os.path.join(BASE, f)))
    return w


def apply_peft(w, cfg):
    """The base weights with the adapter applied as PEFT's LoRA layers compute it."""
    with open(os.path.join(ADAPTER, "adapter_config.json")) as f:
        ac = json.load(f)
    assert ac["peft_type"] == "LORA" and not ac["use_rslora"] and not ac["use_dora"] and ac["bias"] == "none"
    scale = ac["lora_alpha"] / ac["r"]
    a = read_safetensors(os.path.join(ADAPTER, "adapter_model.safetensors"))
    out = dict(w)
    applied = 0
    for key, A in a.items():
        if not key.endswith(".lora_A.weight"):
            continue
        module = key[len("base_model.model."):-len(".lora_A.weight")]
        assert module.split(".")[-1] in ac["target_modules"], module
        B = a[key.replace("lora_A", "lora_B")]
        out[module + ".weight"] = w[module + ".weight"] + scale * (B @ A)
        applied += 1
    assert applied == cfg["num_hidden_layers"] * len(ac["target_modules"]), applied
    for m in ac["modules_to_save"] or []:
        name = {"embed_tokens": "model.embed_tokens.weight", "lm_head": "lm_head.weight"}[m]
        out[name] = a["base_model.model." + name]
    return out


def projection(h):
    p = read_safetensors(os.path.join(ADAPTER, "latent_projection.safetensors"))
    x = torch.nn.functional.linear(h, p["fc1.weight"], p["fc1.bias"])
    x = torch.nn.functional.gelu(x)
    x = torch.nn.functional.linear(x, p["fc2.weight"], p["fc2.bias"])
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), p["norm.weight"], p["norm.bias"], eps=1e-5)


def main():
    with open(os.path.join(BASE, "config.json")) as f:
        cfg = json.load(f)
    w = apply_peft(base_weights(), cfg)
    vocab = w["model.embed_tokens.weight"].shape[0]
    g = torch.Generator().manual_seed(2024)
    ids = torch.randint(3, cfg["vocab_size"], (3, 8), generator=g)
    # The added tokens (<bot>, <eot>, <latent>) appear, so their saved rows are checked too.
    ids[0, 3], ids[1, 5], ids[2, 1], ids[2, 6] = vocab - 3, vocab - 2, vocab - 1, vocab - 3
    mask = torch.ones_like(ids)
    pos = torch.arange(ids.shape[1])[None].expand_as(ids)
    logits = hf.forward(cfg, w, ids, mask, pos)["logits"]
    h = torch.randn(4, cfg["hidden_size"], generator=g)
    tensors = {"logits": logits.float(), "projection.input": h.float(), "projection.output": projection(h.double()).float()}
    with open(os.path.join(ADAPTER, "reference.safetensors"), "wb") as f:
        f.write(hf.safetensors_bytes(tensors))
    with open(os.path.join(ADAPTER, "reference.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "vocab_rows": vocab}, f, indent=2)
    print(f"peft-tiny-llama: logits {list(logits.shape)}, |logits| max {logits.abs().max():.3f}")


if __name__ == "__main__":
    main()
