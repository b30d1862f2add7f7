"""SentencePiece-style tokenizer.json files made by the real libraries, and their ids (the reference for
test/engine/spm-tokenizer.test.ts and gguf-spm.test.ts).

stdin: {"out": DIR, "train": [texts], "docs": [texts], "vocab": N, "alphabet": K}
Writes DIR/<variant>/tokenizer.json (+ tokenizer_config.json where transformers writes one) and DIR/reference.json
{"variants": {name: {"dir": ..., "ids": [[...]], "decoded": [...], "decoded_all": [...]}}}:
ids = Tokenizer.encode_batch(docs, add_special_tokens=True), decoded = decode(ids, skip_special_tokens=True),
decoded_all = decode(ids, skip_special_tokens=False), all by the Rust `tokenizers`.

Variants:
  llama         transformers' LlamaTokenizer (the Llama-2 / Mistral / CodeLlama class) built from a vocabulary
                with the Llama layout (<unk> <s> </s>, the 256 <0xNN> byte tokens, then pieces) and the merges
                transformers' SentencePiece converter derives from it (`generate_merges`: every split of a piece
                into two pieces, in piece order): Metaspace(prepend_scheme "first", split false), byte_fallback,
                fuse_unk, decoder Replace/ByteFallback/Fuse/Strip, BOS template; saved by save_pretrained.
  llama_legacy  the same model in the legacy tokenizer.json layout of the Llama-2 / Mistral-7B-v0.1 / CodeLlama
                files on the Hub: normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer, merges as
                "a b" strings.
  spbpe_unk     tokenizers' SentencePieceBPETokenizer trained on the same text with a small alphabet: NFKC,
                Metaspace(prepend always, split true), Metaspace decoder, unk_token without byte fallback.
  spbpe_fuse    the same with fuse_unk true.
The pieces come from the tokenizers BPE trainer (no sentencepiece package in the venv); the layout, merges and
files are what transformers / tokenizers produce.
"""

import json
import os
import sys

from tokenizers import Tokenizer, SentencePieceBPETokenizer, models, pre_tokenizers, trainers
from transformers import LlamaTokenizer
from transformers.tokenization_utils_base import generate_merges

req = json.load(sys.stdin)
out = req["out"]
train, docs = req["train"], req["docs"]
vocab_size, alphabet = int(req["vocab"]), int(req["alphabet"])

# 1. pieces: BPE over Metaspace words (SentencePiece's "▁word" pieces), small alphabet so rare characters
#    (CJK, emoji) are not pieces and take the byte fallback
base = Tokenizer(models.BPE())
base.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
base.train_from_iterator(
    train, trainers.BpeTrainer(vocab_size=vocab_size, limit_alphabet=alphabet, show_progress=False)
)
pieces = [p for p, _ in sorted(base.get_vocab().items(), key=lambda kv: kv[1])]

# 2. the Llama layout and transformers' SentencePiece merges
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for b in range(256):
    vocab[f"<0x{b:02X}>"] = len(vocab)
for p in pieces:
    if p not in vocab:
        vocab[p] = len(vocab)
merges = generate_merges(vocab)

variants = {}
d = os.path.join(out, "llama")
# add_bos_token as the Llama-2 / Mistral tokenizer_config.json files set it: the <s> template
LlamaTokenizer(vocab=vocab, merges=merges, add_bos_token=True).save_pretrained(d)
variants["llama"] = d

with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
    tj = json.load(f)
tj["normalizer"] = {
    "type": "Sequence",
    "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    ],
}
tj["pre_tokenizer"] = None
tj["model"]["merges"] = [" ".join(m) for m in tj["model"]["merges"]]
d = os.path.join(out, "llama_legacy")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tj, f, ensure_ascii=False)
variants["llama_legacy"] = d

sp = SentencePieceBPETokenizer(unk_token="<unk>")
sp.train_from_iterator(
    train,
    vocab_size=vocab_size,
    limit_alphabet=alphabet // 2,
    special_tokens=["<unk>", "<s>", "</s>"],
    show_progress=False,
)
d = os.path.join(out, "spbpe_unk")
os.makedirs(d, exist_ok=True)
sp.save(os.path.join(d, "tokenizer.json"))
variants["spbpe_unk"] = d
with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
    tj = json.load(f)
tj["model"]["fuse_unk"] = True
d = os.path.join(out, "spbpe_fuse")
os.makedirs(d, exist_ok=True)
with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tj, f, ensure_ascii=False)
variants["spbpe_fuse"] = d

result = {}
for name, d in variants.items():
    tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    ids = [e.ids for e in tok.encode_batch(docs, add_special_tokens=True)]
    result[name] = {
        "dir": d,
        "ids": ids,
        "decoded": tok.decode_batch(ids, skip_special_tokens=True),
        "decoded_all": tok.decode_batch(ids, skip_special_tokens=False),
    }
with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
    json.dump({"variants": result}, f, ensure_ascii=False)
