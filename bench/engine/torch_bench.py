"""PyTorch (CPU) counterpart of bench/engine/bench.ts: the same LLaMA architecture (RMSNorm, rotary rotate_half,
SwiGLU, GQA, tied embeddings), the same sizes, thread count, batch shapes and AdamW step.
Usage: .venv/bin/python bench/engine/torch_bench.py '{"mode": "train"|"gen", "config": {...}, ...}'
Prints one JSON line with the measured numbers."""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

args = json.loads(sys.argv[1])
torch.set_num_threads(args["threads"])
torch.manual_seed(0)
c = args["config"]
d, H, Hkv, L, Fi, V = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
hd = d // H
ctx = c["max_position_embeddings"]
eps = 1e-5


class RMSNorm(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * self.weight


inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
ang = torch.outer(torch.arange(ctx).float(), inv)
COS = torch.cat([ang.cos(), ang.cos()], -1)
SIN = torch.cat([ang.sin(), ang.sin()], -1)


def rot_half(x):
    a, b = x[..., : hd // 2], x[..., hd // 2 :]
    return torch.cat([-b, a], -1)


def rope(x, pos):  # x [B, h, T, hd], pos [T]
    return x * COS[pos] + rot_half(x) * SIN[pos]


class Layer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(), RMSNorm()
        self.q = torch.nn.Linear(d, H * hd, bias=False)
        self.k = torch.nn.Linear(d, Hkv * hd, bias=False)
        self.v = torch.nn.Linear(d, Hkv * hd, bias=False)
        self.o = torch.nn.Linear(H * hd, d, bias=False)
        self.g = torch.nn.Linear(d, Fi, bias=False)
        self.u = torch.nn.Linear(d, Fi, bias=False)
        self.dn = torch.nn.Linear(Fi, d, bias=False)

    def forward(self, x, pos, cache=None):
        B, T, _ = x.shape
        h = self.n1(x)
        q = self.q(h).view(B, T, H, hd).transpose(1, 2)
        k = self.k(h).view(B, T, Hkv, hd).transpose(1, 2)
        v = self.v(h).view(B, T, Hkv, hd).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        if cache is not None:
            if "k" in cache:
                k = torch.cat([cache["k"], k], 2)
                v = torch.cat([cache["v"], v], 2)
            cache["k"], cache["v"] = k, v
        if Hkv != H:
            k = k.repeat_interleave(H // Hkv, 1)
            v = v.repeat_interleave(H // Hkv, 1)
        S = q @ k.transpose(-1, -2) / math.sqrt(hd)
        Tk = k.shape[2]
        if T > 1:
            mask = torch.ones(T, Tk, dtype=torch.bool).tril(Tk - T)
            S = S.masked_fill(~mask, float("-inf"))
        a = (S.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
        x = x + self.o(a)
        h = self.n2(x)
        return x + self.dn(F.silu(self.g(h)) * self.u(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, d)
        self.layers = torch.nn.ModuleList([Layer() for _ in range(L)])
        self.norm = RMSNorm()
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, idx, pos, caches=None):
        x = self.emb(idx)
        for i, l in enumerate(self.layers):
            x = l(x, pos, caches[i] if caches is not None else None)
        return self.norm(x) @ self.emb.weight.t()


m = Model()
nparams = sum(p.numel() for p in m.parameters())
out = {"threads": torch.get_num_threads(), "nParams": nparams, "torch": torch.__version__}
if args["mode"] == "train":
    B, T = args["batch"], args["seqLen"]
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    pos = torch.arange(T)

    def step():
        x = torch.randint(0, V, (B, T + 1))
        logits = m(x[:, :-1], pos)
        loss = F.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    for _ in range(args["warmup"]):
        step()
    t0 = time.perf_counter()
    for _ in range(args["steps"]):
        step()
    dt = time.perf_counter() - t0
    out["tokensPerSecond"] = B * T * args["steps"] / dt
else:
    B, P, N = args["batch"], args["promptLen"], args["genTokens"]
    with torch.no_grad():
        def run():
            caches = [{} for _ in range(L)]
            x = torch.randint(0, V, (B, P))
            logits = m(x, torch.arange(P), caches)[:, -1]
            for t in range(N):
                tok = torch.multinomial(torch.softmax(logits, -1), 1)
                if t == N - 1:
                    break
                logits = m(tok, torch.tensor([P + t]), caches)[:, -1]

        run()  # warm-up
        t0 = time.perf_counter()
        run()
        dt = time.perf_counter() - t0
    out["tokensPerSecond"] = B * N / dt
out["peakRssMB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
