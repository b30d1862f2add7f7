"""Drives a Tinker-protocol server with the stock `tinker` SDK: session, LoRA model, forward_backward (protobuf),
optim_step, save_state / load_state_with_optimizer, save_weights_and_get_sampling_client, sample with
prompt_logprobs. Prints one JSON line of results for the calling test (test/backends/tinker-sdk.test.ts)."""
import json
import os
import sys

import tinker
from tinker import types

base_model = sys.argv[1]
svc = tinker.ServiceClient(base_url=os.environ["TINKER_BASE_URL"], api_key=os.environ["TINKER_API_KEY"])
caps = svc.get_server_capabilities()
tc = svc.create_lora_training_client(base_model=base_model, rank=8)
toks = [72, 105, 33, 10, 65, 66]
datum = types.Datum(
    model_input=types.ModelInput.from_ints(toks[:-1]),
    loss_fn_inputs={"target_tokens": types.TensorData(data=toks[1:], dtype="int64"),
                    "weights": types.TensorData(data=[1.0] * (len(toks) - 1), dtype="float32")},
)
fb1 = tc.forward_backward([datum], "cross_entropy").result()
opt = tc.optim_step(types.AdamParams(learning_rate=0.05)).result()
saved = tc.save_state("sdk-ckpt").result()
fb2 = tc.forward_backward([datum], "cross_entropy").result()
tc.optim_step(types.AdamParams(learning_rate=0.05)).result()
tc.load_state_with_optimizer(saved.path).result()
fb3 = tc.forward([datum], "cross_entropy").result()
ppo = types.Datum(
    model_input=types.ModelInput.from_ints(toks[:-1]),
    loss_fn_inputs={"target_tokens": types.TensorData(data=toks[1:], dtype="int64"),
                    "logprobs": types.TensorData(data=[-5.0] * (len(toks) - 1), dtype="float32"),
                    "advantages": types.TensorData(data=[0.0, 0.0, 1.0, 1.0, -1.0], dtype="float32")},
)
fb_ppo = tc.forward_backward([ppo], "ppo", {"clip_low_threshold": 0.8, "clip_high_threshold": 1.2}).result()
sc = tc.save_weights_and_get_sampling_client("sdk-sampler")
sample = sc.sample(prompt=types.ModelInput.from_ints(toks), num_samples=2,
                   sampling_params=types.SamplingParams(max_tokens=4, temperature=1.0, seed=7),
                   include_prompt_logprobs=True).result()
err = None
try:
    tc.forward_backward([datum], "dro").result()
except Exception as e:  # the server's clear refusal, passed through the future
    err = str(e)
lp = lambda out: [list(map(float, o["logprobs"].data)) for o in out.loss_fn_outputs]
print(json.dumps({
    "sdk_version": tinker.__version__,
    "models": [m.model_name for m in caps.supported_models],
    "loss1": fb1.metrics["loss:sum"], "loss2": fb2.metrics["loss:sum"], "loss3": fb3.metrics["loss:sum"],
    "logprobs1": lp(fb1), "logprobs3": lp(fb3),
    "optim_metrics": opt.metrics,
    "state_path": saved.path,
    "ppo_loss": fb_ppo.metrics["loss:sum"], "ppo_metrics": fb_ppo.metrics,
    "samples": [{"tokens": list(map(int, s.tokens)), "logprobs": list(map(float, s.logprobs)), "stop_reason": s.stop_reason}
                for s in sample.sequences],
    "prompt_logprobs": [None if p is None else float(p) for p in sample.prompt_logprobs],
    "unsupported_loss_error": err,
}))
