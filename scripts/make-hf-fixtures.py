#!/usr/bin/env python3
"""Writes tiny random Hugging Face checkpoints and PyTorch reference outputs for the decoder
parity tests (test/fixtures/hf-tiny-llama, test/fixtures/hf-tiny-qwen).

The `transformers` package is not available here, so the forward pass below re-implements
Hugging Face's LlamaForCausalLM / Qwen2ForCausalLM (modeling_llama.py / modeling_qwen2.py,
eager attention) in plain PyTorch, and safetensors files are written by hand (8-byte
little-endian header length, JSON header, raw little-endian data). References are computed in
float64 from the exact stored weights (bf16 / f16 values upcast), so they measure our float32
implementation, not rounding in the reference.

Usage: /usr/bin/python3 scripts/make-hf-fixtures.py   (Debian's python3-torch; deterministic)
"""
import json
import math
import os
import struct

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures")

# The shape both tiny fixtures share (2 layers, hidden 64, GQA 4/2, vocabulary 96).
TINY = {
    "vocab_size": 96,
    "hidden_size": 64,
    "intermediate_size": 112,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "hidden_act": "silu",
    "max_position_embeddings": 512,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "initializer_range": 0.02,
}

LLAMA = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    **TINY,
    "head_dim": 16,
    "rms_norm_eps": 1e-5,
    "rope_theta": 500000.0,
    # llama3 scaling with a short original context so that, at these few positions, all three
    # bands (unchanged, blended, stretched) occur among the 8 frequencies.
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
    "attention_bias": False,
    "mlp_bias": False,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}

QWEN = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    **TINY,
    "rms_norm_eps": 1e-6,
    "rope_theta": 1000000.0,
    "rope_scaling": None,
    "tie_word_embeddings": True,
    "use_sliding_window": False,
    "sliding_window": None,
    "max_window_layers": 2,
    "attention_dropout": 0.0,
    "torch_dtype": "float16",
}

DTYPES = {"bfloat16": (torch.bfloat16, "BF16"), "float16": (torch.float16, "F16"), "float32": (torch.float32, "F32")}


def head_dim(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def make_weights(cfg, seed):
    """Random weights under HF names. Larger than HF's init (std 0.02) so attention and the
    output distribution are far from uniform, and norms/biases differ from 1/0 so a forgotten
    term shows."""
    g = torch.Generator().manual_seed(seed)
    base = 0.3 if cfg["tie_word_embeddings"] else 0.15
    n = lambda *shape, std=base: torch.randn(*shape, generator=g) * std
    H, I, V, d = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], head_dim(cfg)
    nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    # Tied heads read the embedding back, so a large table makes the model echo its input:
    # keep it small then, to let attention and the MLP decide the next token.
    w = {"model.embed_tokens.weight": n(V, H, std=0.3 if cfg["tie_word_embeddings"] else 1.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = 1 + n(H, std=0.1)
        w[p + "self_attn.q_proj.weight"] = n(nh * d, H)
        w[p + "self_attn.k_proj.weight"] = n(nkv * d, H)
        w[p + "self_attn.v_proj.weight"] = n(nkv * d, H)
        if bias:
            w[p + "self_attn.q_proj.bias"] = n(nh * d, std=0.3)
            w[p + "self_attn.k_proj.bias"] = n(nkv * d, std=0.3)
            w[p + "self_attn.v_proj.bias"] = n(nkv * d, std=0.3)
        w[p + "self_attn.o_proj.weight"] = n(H, nh * d)
        w[p + "post_attention_layernorm.weight"] = 1 + n(H, std=0.1)
        w[p + "mlp.gate_proj.weight"] = n(I, H)
        w[p + "mlp.up_proj.weight"] = n(I, H)
        w[p + "mlp.down_proj.weight"] = n(H, I)
    w["model.norm.weight"] = 1 + n(H, std=0.1)
    if not cfg["tie_word_embeddings"]:
        w["lm_head.weight"] = n(V, H)
    # Round to the checkpoint's dtype: the reference uses exactly what the file stores.
    tdtype = DTYPES[cfg["torch_dtype"]][0]
    return {k: v.to(tdtype) for k, v in w.items()}


def safetensors_bytes(tensors):
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        dt = {torch.bfloat16: "BF16", torch.float16: "F16", torch.float32: "F32"}[t.dtype]
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": dt, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":"))
    h += " " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h.encode() + b"".join(chunks)


def inv_freq(cfg):
    d = head_dim(cfg)
    f = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    s = cfg.get("rope_scaling")
    if not s:
        return f
    assert s["rope_type"] == "llama3"
    old = s["original_max_position_embeddings"]
    low_wl, high_wl = old / s["low_freq_factor"], old / s["high_freq_factor"]
    wl = 2 * math.pi / f
    scaled = torch.where(wl > low_wl, f / s["factor"], f)
    smooth = (old / wl - s["low_freq_factor"]) / (s["high_freq_factor"] - s["low_freq_factor"])
    smoothed = (1 - smooth) * scaled / s["factor"] + smooth * scaled
    medium = ~(wl < high_wl) & ~(wl > low_wl)
    return torch.where(medium, smoothed, scaled)


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def forward(cfg, w, ids, mask, pos):
    """HF Llama/Qwen2 forward (eager attention) in float64. Returns logits, hidden_states
    (HF output_hidden_states: embeddings, layer outputs, last one after the final norm),
    post-RoPE keys (past_key_values), pre-RoPE keys, values and attention probabilities."""
    W = {k: v.double() for k, v in w.items()}
    B, S = ids.shape
    nh, nkv, d = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim(cfg)
    eps = cfg["rms_norm_eps"]
    lin = lambda x, name: x @ W[name + ".weight"].T + (W[name + ".bias"] if name + ".bias" in W else 0)
    h = W["model.embed_tokens.weight"][ids]
    ang = pos.double()[:, :, None] * inv_freq(cfg)[None, None, :]
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    causal = torch.tril(torch.ones(S, S, dtype=torch.bool))
    allowed = causal[None, None] & mask.bool()[:, None, None, :]
    neg = torch.finfo(torch.float64).min
    hidden, keys, keys_pre, values, attns = [h], [], [], [], []
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = lin(x, p + "self_attn.q_proj").view(B, S, nh, d).transpose(1, 2)
        k = lin(x, p + "self_attn.k_proj").view(B, S, nkv, d).transpose(1, 2)
        v = lin(x, p + "self_attn.v_proj").view(B, S, nkv, d).transpose(1, 2)
        keys_pre.append(k)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        keys.append(k)
        values.append(v)
        kr = k.repeat_interleave(nh // nkv, dim=1)
        vr = v.repeat_interleave(nh // nkv, dim=1)
        scores = (q @ kr.transpose(2, 3)) / math.sqrt(d)
        scores = scores.masked_fill(~allowed, neg)
        probs = torch.softmax(scores, dim=-1)
        attns.append(probs)
        o = (probs @ vr).transpose(1, 2).reshape(B, S, nh * d)
        h = h + lin(o, p + "self_attn.o_proj")
        y = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        h = h + lin(torch.nn.functional.silu(lin(y, p + "mlp.gate_proj")) * lin(y, p + "mlp.up_proj"), p + "mlp.down_proj")
        if l < cfg["num_hidden_layers"] - 1:
            hidden.append(h)
    final = rms_norm(h, W["model.norm.weight"], eps)
    hidden.append(final)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return {"logits": final @ head.T, "hidden": hidden, "keys": keys, "keys_pre": keys_pre, "values": values, "attention": attns}


def greedy(cfg, w, prompt, steps):
    """Greedy decoding by full recomputation (no cache), with the smallest top-2 logit margin."""
    ids, margin = list(prompt), float("inf")
    for _ in range(steps):
        t = torch.tensor([ids])
        logits = forward(cfg, w, t, torch.ones_like(t), torch.arange(len(ids))[None])["logits"][0, -1]
        top = torch.topk(logits, 2).values
        margin = min(margin, float(top[0] - top[1]))
        ids.append(int(logits.argmax()))
    return ids[len(prompt):], margin


def word_level_tokenizer(vocab_size):
    """A tiny word-level tokenizer.json (special tokens <pad> <s> </s>, words w3..)."""
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2}
    for i in range(3, vocab_size):
        vocab[f"w{i}"] = i
    added = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t, i in list(vocab.items())[:3]]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": None,
            "decoder": None, "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<pad>"}}


def write(name, cfg, seed, shards):
    out = os.path.join(ROOT, name)
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        os.remove(os.path.join(out, f))
    w = make_weights(cfg, seed)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    names = sorted(w)
    if shards == 1:
        with open(os.path.join(out, "model.safetensors"), "wb") as f:
            f.write(safetensors_bytes(w))
    else:
        weight_map, total = {}, 0
        per = math.ceil(len(names) / shards)
        for s in range(shards):
            file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: w[k] for k in names[s * per:(s + 1) * per]}
            with open(os.path.join(out, file), "wb") as f:
                f.write(safetensors_bytes(part))
            for k, v in part.items():
                weight_map[k] = file
                total += v.numel() * v.element_size()
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(word_level_tokenizer(cfg["vocab_size"]), f)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<pad>"}, f, indent=2)

    # A batch of three rows: full, left-padded, right-padded. Positions as HF generate derives
    # them from the mask (cumsum - 1, clipped at 0).
    g = torch.Generator().manual_seed(seed + 1)
    S = 7
    ids = torch.randint(3, cfg["vocab_size"], (3, S), generator=g)
    mask = torch.ones(3, S, dtype=torch.long)
    mask[1, :2] = 0
    mask[2, 5:] = 0
    ids[mask == 0] = 0
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    ref = forward(cfg, w, ids, mask, pos)
    tensors = {"logits": ref["logits"]}
    for i, t in enumerate(ref["hidden"]):
        tensors[f"hidden.{i}"] = t
    for l in range(cfg["num_hidden_layers"]):
        tensors[f"keys.{l}"] = ref["keys"][l]
        tensors[f"keys_pre.{l}"] = ref["keys_pre"][l]
        tensors[f"values.{l}"] = ref["values"][l]
        tensors[f"attention.{l}"] = ref["attention"][l]
    with open(os.path.join(out, "reference.safetensors"), "wb") as f:
        f.write(safetensors_bytes({k: v.float() for k, v in tensors.items()}))
    prompt = ids[0, :5].tolist()
    generated, margin = greedy(cfg, w, prompt, 10)
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "position_ids": pos.tolist(),
                   "generation": {"prompt": prompt, "greedy": generated, "min_top2_margin": margin}}, f, indent=2)
    size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    print(f"{name}: {size} bytes, greedy {generated}, smallest top-2 logit margin {margin:.4f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    write("hf-tiny-llama", LLAMA, 1234, shards=2)
    write("hf-tiny-qwen", QWEN, 5678, shards=1)
