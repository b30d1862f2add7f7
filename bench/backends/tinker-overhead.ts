/**
 * Per-step overhead of TinkerPolicy (the Tinker protocol: protobuf forward_backward, futures polled with
 * retrieve_future, a sampling session re-created after each weight change, prompt_logprobs for the reference) to a
 * TinkerServer on 127.0.0.1, vs the same EmbeddedPolicy in-process, for the RL-sized step of overhead.ts:
 * code→doc sampling (B prompts × G), doc→code sampling (B·G × K), old log-probs, reference log-probs, one PPO
 * forward_backward + optim_step over all B·G·(1+K) sequences. Interleaved A B B A …; the served policy is wrapped
 * in a timer so (client wall time − time inside the policy) isolates what the protocol costs.
 *
 *   node dist/bench/backends/tinker-overhead.js [--preset tiny] [--steps 6] [--B 4] [--G 4] [--K 2] [--prompt 96] [--doc 32] [--code 64]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { engineInfo } from "../../src/engine/kernels.js";
import type { ModelPreset } from "../../src/engine/config.js";
import type { AdamParams, Datum, LossSpec, Policy } from "../../src/core/policy.js";
import { adam, codePrompts, datum, P, preset, spec, tok } from "./step-shape.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";

let inside = 0;
async function timed<T>(f: () => Promise<T>): Promise<T> {
  const a = performance.now();
  try {
    return await f();
  } finally {
    inside += performance.now() - a;
  }
}
type Ref = Awaited<ReturnType<Policy["snapshotReference"]>>;
class TimedPolicy implements Policy {
  constructor(readonly p: EmbeddedPolicy) {}
  get info() {
    return this.p.info;
  }
  get tokenizer() {
    return this.p.tokenizer;
  }
  sample(r: Parameters<Policy["sample"]>[0]) {
    return timed(() => this.p.sample(r));
  }
  computeLogprobs(d: Datum[]) {
    return timed(() => this.p.computeLogprobs(d));
  }
  forwardBackward(d: Datum[], l: LossSpec) {
    return timed(() => this.p.forwardBackward(d, l));
  }
  optimStep(a: AdamParams) {
    return timed(() => this.p.optimStep(a));
  }
  saveState(dir: string) {
    return timed(() => this.p.saveState(dir));
  }
  loadState(dir: string) {
    return timed(() => this.p.loadState(dir));
  }
  async snapshotReference(): Promise<Ref> {
    const r = await timed(() => this.p.snapshotReference());
    return {
      info: r.info,
      tokenizer: r.tokenizer,
      sample: (q) => timed(() => r.sample(q)),
      computeLogprobs: (d) => timed(() => r.computeLogprobs(d)),
    };
  }
}

const phases = ["sample_doc", "sample_code", "logprobs", "ref_logprobs", "fwd_bwd", "optim", "total"] as const;
type Phase = (typeof phases)[number];
async function step(
  policy: Policy,
  ref: Ref,
  k: number,
  t: Record<Phase, number[]>,
): Promise<{ loss: number; gradNorm: number }> {
  const now = () => performance.now();
  const t0 = now();
  let a = now();
  const docs = await policy.sample(
    codePrompts.map((p, i) => ({
      prompt: p,
      n: P.G,
      params: { maxTokens: P.doc, temperature: 1, seed: k * 1000 + i },
    })),
  );
  t.sample_doc.push(now() - a);
  const docPrompts = docs.flat().map((d) => [tok.bosId, ...d.tokens.slice(0, 24), tok.eosId]);
  a = now();
  const codes = await policy.sample(
    docPrompts.map((p, i) => ({
      prompt: p,
      n: P.K,
      params: { maxTokens: P.code, temperature: 1, seed: k * 1000 + 500 + i },
    })),
  );
  t.sample_code.push(now() - a);
  const datums: Datum[] = [];
  docs.forEach((row, i) => row.forEach((sq, j) => datums.push(datum(codePrompts[i]!, sq, ((i + j) % 3) - 1))));
  codes.forEach((row, i) => row.forEach((sq, j) => datums.push(datum(docPrompts[i]!, sq, ((i + j) % 2) - 0.5))));
  a = now();
  const old = await policy.computeLogprobs(datums);
  t.logprobs.push(now() - a);
  a = now();
  const refLp = await ref.computeLogprobs(datums);
  t.ref_logprobs.push(now() - a);
  datums.forEach((d, i) => {
    d.lossInputs.samplingLogprobs = old[i]!;
    d.lossInputs.refLogprobs = refLp[i]!;
  });
  a = now();
  const fb = await policy.forwardBackward(datums, spec);
  t.fwd_bwd.push(now() - a);
  a = now();
  const o = await policy.optimStep(adam);
  t.optim.push(now() - a);
  t.total.push(now() - t0);
  return { loss: fb.loss, gradNorm: o.gradNorm };
}
const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};
const empty = () => Object.fromEntries(phases.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;

const root = fs.mkdtempSync(path.join(os.tmpdir(), "bc-bench-tinker-"));
const local = createEmbeddedPolicy({ preset: preset as ModelPreset, tokenizer: tok, seed: 1 });
const served = createEmbeddedPolicy({ preset: preset as ModelPreset, tokenizer: tok, seed: 1 });
const { server, url } = await serveTinker({
  policy: new TimedPolicy(served),
  port: 0,
  stateRoot: root,
  baseModel: "bench",
  tokenizerJSON: tok.toHuggingFaceJSON(),
});
// full fine-tuning (LoRA rank 0) on both sides: the same work in-process and behind the protocol
const remote = await connectTinkerPolicy(url, { loraRank: 0, log: () => {}, heartbeatMs: 0 });
const localRef = await local.snapshotReference();
const remoteRef = await remote.snapshotReference();
console.log(`engine: ${JSON.stringify(engineInfo())}`);
console.log(
  `preset ${preset} (${local.info.nParams} params); step: B=${P.B} G=${P.G} K=${P.K}, prompt ${P.prompt} tok, doc ≤${P.doc}, code ≤${P.code}; ${P.B * P.G * (1 + P.K)} sequences/step; ${P.steps} steps each; Tinker loss path: ${remote.exact ? "exact" : "stock"}`,
);

const tl = empty(),
  tr = empty();
const outside: number[] = [],
  localOutside: number[] = [];
let maxLossDiff = 0;
await step(local, localRef, 0, empty());
await step(remote, remoteRef, 0, empty());
for (let k = 1; k <= P.steps; k++) {
  const order: [Policy, Ref, Record<Phase, number[]>][] = [
    [local, localRef, tl],
    [remote, remoteRef, tr],
  ];
  if (k % 2 === 0) order.reverse();
  const res: Record<string, { loss: number; gradNorm: number }> = {};
  for (const [p, r, t] of order) {
    const before = inside,
      a = performance.now();
    res[p === remote ? "remote" : "local"] = await step(p, r, k, t);
    const wall = performance.now() - a;
    if (p === remote) outside.push(wall - (inside - before));
    else {
      const i = t.total.length - 1;
      localOutside.push(
        t.total[i]! -
          (["sample_doc", "sample_code", "logprobs", "ref_logprobs", "fwd_bwd", "optim"] as const).reduce(
            (acc, ph) => acc + t[ph][i]!,
            0,
          ),
      );
    }
  }
  maxLossDiff = Math.max(maxLossDiff, Math.abs(res.local!.loss - res.remote!.loss));
}
let weightDiff = 0;
for (const [name, t] of local.llama.weights) {
  const u = served.llama.weights.get(name)!.data;
  for (let i = 0; i < t.data.length; i++) weightDiff = Math.max(weightDiff, Math.abs(t.data[i]! - u[i]!));
}
// fixed latency: a 1-datum forward (forward_only, one future) and an optim_step-free round trip (get_server_capabilities)
const tiny: Datum[] = [
  { modelInput: [tok.bosId, 70, 71], lossInputs: { targetTokens: [70, 71, 72], weights: [1, 1, 1] } },
];
const lat = { caps: [] as number[], small_local: [] as number[], small_remote: [] as number[] };
for (let i = 0; i < 30; i++) {
  let a = performance.now();
  await fetch(`${url}/api/v1/get_server_capabilities`).then((r) => r.text());
  lat.caps.push(performance.now() - a);
  a = performance.now();
  await local.computeLogprobs(tiny);
  lat.small_local.push(performance.now() - a);
  a = performance.now();
  await remote.computeLogprobs(tiny);
  lat.small_remote.push(performance.now() - a);
}
const ck = { local: [] as number[], remote: [] as number[] };
for (let i = 0; i < 3; i++) {
  let a = performance.now();
  await local.saveState(path.join(root, `l${i}`));
  await local.loadState(path.join(root, `l${i}`));
  ck.local.push(performance.now() - a);
  a = performance.now();
  await remote.saveState(path.join(root, `r${i}`));
  await remote.loadState(path.join(root, `r${i}`));
  ck.remote.push(performance.now() - a);
}
await remote.close();
await server.close();
fs.rmSync(root, { recursive: true, force: true });

console.log("\nmedian ms per step phase (same process, interleaved):");
console.log("phase           in-process      tinker   overhead ms   tinker/local");
for (const p of phases) {
  const l = median(tl[p]),
    r = median(tr[p]);
  console.log(
    `${p.padEnd(14)} ${l.toFixed(1).padStart(11)} ${r.toFixed(1).padStart(11)} ${(r - l).toFixed(1).padStart(13)} ${(r / l).toFixed(3).padStart(14)}`,
  );
}
const tx = median(outside) - median(localOutside);
console.log(
  `step wall time outside the policy: in-process ${median(localOutside).toFixed(1)} ms, Tinker protocol ${median(outside).toFixed(1)} ms (min ${Math.min(...outside).toFixed(1)})`,
);
console.log(
  `=> protocol cost per step (HTTP, protobuf/JSON, futures, sampling-session snapshot): ${tx.toFixed(1)} ms = ${((100 * tx) / median(tl.total)).toFixed(1)}% of the median in-process step`,
);
console.log(
  `fixed latency: get_server_capabilities ${median(lat.caps).toFixed(2)} ms; 1-datum forward local ${median(lat.small_local).toFixed(2)} ms, Tinker ${median(lat.small_remote).toFixed(2)} ms`,
);
console.log(
  `checkpoint save + load: in-process ${median(ck.local).toFixed(1)} ms, Tinker (tinker:// state on the server) ${median(ck.remote).toFixed(1)} ms`,
);
console.log(
  `numerics: max |Δ loss| over the steps ${maxLossDiff.toExponential(2)}, max |Δ weight| at the end ${weightDiff.toExponential(2)} (0 only when both sides batch alike; see src/backends/README.md)`,
);
