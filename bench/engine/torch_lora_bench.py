"""PyTorch CPU + peft side of bench/engine/lora-bench.ts: the same LoRA setup (rank, alpha, targets, AdamW on the
adapter only, cross-entropy over random tokens) on the same HF folder. Prints torch.__config__.show() to stderr and
one JSON line (tokens/s, peak RSS) to stdout."""
import json, resource, sys, time
import torch
from transformers import AutoModelForCausalLM
from peft import LoraConfig, get_peft_model

a = json.loads(sys.argv[1])
torch.set_num_threads(a["threads"])
print(torch.__config__.show(), file=sys.stderr)
print(f"torch {torch.__version__} threads {torch.get_num_threads()}", file=sys.stderr)
model = AutoModelForCausalLM.from_pretrained(a["dir"], dtype=torch.float32)
cfg = LoraConfig(r=a["rank"], lora_alpha=a["alpha"], lora_dropout=0.0, target_modules=a["targets"])
model = get_peft_model(model, cfg)
model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
g = torch.Generator().manual_seed(1)
V = model.config.vocab_size

def step():
    ids = torch.randint(0, V, (a["batch"], a["seqLen"] + 1), generator=g)
    out = model(input_ids=ids[:, :-1], labels=ids[:, :-1].clone())  # HF shifts labels internally
    out.loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)

for _ in range(a["warmup"]):
    step()
t0 = time.perf_counter()
for _ in range(a["steps"]):
    step()
dt = time.perf_counter() - t0
print(json.dumps({
    "tokensPerSecond": a["batch"] * a["seqLen"] * a["steps"] / dt,
    "secondsPerStep": dt / a["steps"],
    "trainable": sum(p.numel() for p in params),
    "peakRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
