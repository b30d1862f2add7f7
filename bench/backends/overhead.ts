/**
 * Per-step overhead of RemotePolicy (HTTP + JSON to a TrainingServer on 127.0.0.1) vs calling the same
 * EmbeddedPolicy in-process, for an RL-sized step: code→doc sampling (B prompts × G), doc→code sampling
 * (B·G prompts × K), old log-probs, reference log-probs, one PPO forward_backward + optim_step over all
 * B·G·(1+K) sequences. Both policies start from the same seed and run the same calls, interleaved
 * (A B B A …) so machine noise hits both; the two must stay bit-identical (checked every step).
 * Server and client share one process (calls are sequential, so this costs the same CPU as two processes).
 *
 *   node dist/bench/backends/overhead.js [--preset tiny] [--steps 6] [--B 4] [--G 4] [--K 2] [--prompt 96] [--doc 32] [--code 64]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEmbeddedPolicy, type EmbeddedPolicy } from "../../src/backends/embedded.js";
import { engineInfo } from "../../src/engine/kernels.js";
import type { ModelPreset } from "../../src/engine/config.js";
import type { AdamParams, Datum, LossSpec, Policy, SampledSequence } from "../../src/core/policy.js";
import { adam, codePrompts, datum, P, preset, spec, tok } from "./step-shape.js";
import { serveTraining } from "../../src/backends/training-server.js";
import {
  stringifyWire,
  parseWire,
  datumToWire,
  lossSpecToWire,
  RequestSchemas,
} from "../../src/backends/training-wire.js";
import { connectRemotePolicy } from "../../src/backends/remote.js";

type Phase = "sample_doc" | "sample_code" | "logprobs" | "ref_logprobs" | "fwd_bwd" | "optim" | "total" | "total_cpu";
const phases: Phase[] = [
  "sample_doc",
  "sample_code",
  "logprobs",
  "ref_logprobs",
  "fwd_bwd",
  "optim",
  "total",
  "total_cpu",
];
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface StepOut {
  loss: number;
  gradNorm: number;
  bytes: number;
  datums: Datum[];
  logprobs: number[][];
  samples: SampledSequence[][];
  metrics: Record<string, number>;
}

async function step(
  policy: Policy,
  ref: { computeLogprobs(d: Datum[]): Promise<number[][]> },
  k: number,
  t: Record<Phase, number[]>,
): Promise<StepOut> {
  const now = () => performance.now();
  const t0 = now();
  const c0 = cpuMs();
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
  const os = await policy.optimStep(adam);
  t.optim.push(now() - a);
  t.total.push(now() - t0);
  t.total_cpu.push(cpuMs() - c0);
  // bytes the step puts on the wire (requests; responses are about as large for log-probs)
  const bytes = stringifyWire({ data: datums.map(datumToWire) }).length * 3;
  return {
    loss: fb.loss,
    gradNorm: os.gradNorm,
    bytes,
    datums,
    logprobs: old,
    samples: [...docs, ...codes],
    metrics: fb.metrics,
  };
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};

/**
 * Wraps the served policy and adds up the wall time spent INSIDE it, so that (client-observed time − time inside
 * the policy) isolates what HTTP + JSON cost, independent of how noisy the model compute is on a shared machine.
 */
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
  get step() {
    return this.p.step;
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
    const r = await this.p.snapshotReference();
    return {
      info: r.info,
      tokenizer: r.tokenizer,
      sample: (q) => timed(() => r.sample(q)),
      computeLogprobs: (d) => timed(() => r.computeLogprobs(d)),
    };
  }
}

const local: EmbeddedPolicy = createEmbeddedPolicy({ preset: preset as ModelPreset, tokenizer: tok, seed: 1 });
const served: EmbeddedPolicy = createEmbeddedPolicy({ preset: preset as ModelPreset, tokenizer: tok, seed: 1 });
const { server, url } = await serveTraining({
  policy: new TimedPolicy(served),
  port: 0,
  tokenizerJSON: tok.toHuggingFaceJSON(),
});
const remote = await connectRemotePolicy(url);
const localRef = await local.snapshotReference();
const remoteRef = await remote.snapshotReference();

console.log(`engine: ${JSON.stringify(engineInfo())}`);
console.log(
  `preset ${preset} (${local.info.nParams} params); step: B=${P.B} G=${P.G} K=${P.K}, prompt ${P.prompt} tok, doc ≤${P.doc}, code ≤${P.code}; ${P.B * P.G * (1 + P.K)} sequences/step; ${P.steps} steps each`,
);

const tl = Object.fromEntries(phases.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;
const tr = Object.fromEntries(phases.map((p) => [p, [] as number[]])) as Record<Phase, number[]>;
let bytes = 0;
let last: StepOut | null = null;
const transport: number[] = [];
const localOutside: number[] = [];
// one untimed warm-up step each (JIT)
await step(local, localRef, 0, Object.fromEntries(phases.map((p) => [p, []])) as unknown as Record<Phase, number[]>);
await step(remote, remoteRef, 0, Object.fromEntries(phases.map((p) => [p, []])) as unknown as Record<Phase, number[]>);
for (let k = 1; k <= P.steps; k++) {
  const order: [Policy, typeof localRef, Record<Phase, number[]>][] = [
    [local, localRef, tl],
    [remote, remoteRef, tr],
  ];
  if (k % 2 === 0) order.reverse();
  const out: StepOut[] = [];
  for (const [p, r, t] of order) {
    const before = inside,
      a = performance.now();
    const o = await step(p, r, k, t);
    if (p === remote) transport.push(performance.now() - a - (inside - before));
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
    out.push(o);
  }
  if (order[0]![0] === remote) out.reverse();
  if (out[0]!.loss !== out[1]!.loss || out[0]!.gradNorm !== out[1]!.gradNorm)
    throw new Error(`step ${k}: remote and local diverged`);
  bytes = out[0]!.bytes;
  last = out[0]!;
}
for (const [name, t] of local.llama.weights) {
  const u = served.llama.weights.get(name)!.data;
  for (let i = 0; i < t.data.length; i++)
    if (t.data[i] !== u[i]) throw new Error(`weights differ after the run: ${name}`);
}

// fixed per-call latency: GET /info round trip and a 1-datum compute_logprobs
const tiny: Datum[] = [
  { modelInput: [tok.bosId, 70, 71], lossInputs: { targetTokens: [70, 71, 72], weights: [1, 1, 1] } },
];
const lat = { info: [] as number[], small_local: [] as number[], small_remote: [] as number[] };
for (let i = 0; i < 30; i++) {
  let a = performance.now();
  await fetch(`${url}/v1/training/info`).then((r) => r.text());
  lat.info.push(performance.now() - a);
  a = performance.now();
  await local.computeLogprobs(tiny);
  lat.small_local.push(performance.now() - a);
  a = performance.now();
  await remote.computeLogprobs(tiny);
  lat.small_remote.push(performance.now() - a);
}
// checkpoint round trip: saveState + loadState in-process vs through HTTP (state travels as base64 JSON)
const ckRoot = fs.mkdtempSync(path.join(os.tmpdir(), "bc-bench-remote-"));
const ckTimes = { local: [] as number[], remote: [] as number[] };
for (let i = 0; i < 3; i++) {
  let a = performance.now();
  await local.saveState(path.join(ckRoot, "l"));
  await local.loadState(path.join(ckRoot, "l"));
  ckTimes.local.push(performance.now() - a);
  a = performance.now();
  await remote.saveState(path.join(ckRoot, "r"));
  await remote.loadState(path.join(ckRoot, "r"));
  ckTimes.remote.push(performance.now() - a);
}
const ckBytes = fs
  .readdirSync(path.join(ckRoot, "r"))
  .reduce((acc, f) => acc + fs.statSync(path.join(ckRoot, "r", f)).size, 0);
fs.rmSync(ckRoot, { recursive: true, force: true });
await server.close();

/**
 * The transport's own CPU work for one step's payloads, without the model: client encode, server decode +
 * validate, server encode of the response, client decode — for the three datum-carrying calls and the two
 * sampling calls. Deterministic work, so it is a steadier overhead figure than the wall-clock difference.
 */
function codecMs(o: StepOut): number {
  const wd = o.datums.map(datumToWire);
  const lp = { logprobs: o.logprobs };
  const trips: [unknown, { safeParse(x: unknown): { success: boolean } }, unknown][] = [
    [{ data: wd }, RequestSchemas.data, lp],
    [{ reference_id: "ref-1", data: wd }, RequestSchemas.refData, lp],
    [
      { data: wd, ...lossSpecToWire(spec) },
      RequestSchemas.forwardBackward,
      { loss: o.loss, loss_fn_outputs: o.logprobs.map((l) => ({ logprobs: l })), metrics: o.metrics },
    ],
    [
      { requests: [] },
      RequestSchemas.sample,
      {
        sequences: o.samples.map((r) =>
          r.map((q) => ({ tokens: q.tokens, logprobs: q.logprobs, text: q.text, stop_reason: q.finishReason })),
        ),
      },
    ],
  ];
  const t0 = performance.now();
  for (const [req, schema, res] of trips) {
    const body = parseWire(stringifyWire(req));
    if (!schema.safeParse(body).success) throw new Error("codec bench: invalid request");
    parseWire(stringifyWire(res));
  }
  return performance.now() - t0;
}
const codec: number[] = [];
for (let i = 0; i < 25; i++) codec.push(codecMs(last!));

console.log(
  "\nmedian ms per step phase (same process, interleaved; total_cpu = CPU ms of the process, all threads, server + client):",
);
console.log("phase           in-process      remote   overhead ms   remote/local");
for (const p of phases) {
  const l = median(tl[p]),
    r = median(tr[p]);
  console.log(
    `${p.padEnd(14)} ${l.toFixed(1).padStart(11)} ${r.toFixed(1).padStart(11)} ${(r - l).toFixed(1).padStart(13)} ${(r / l).toFixed(3).padStart(14)}`,
  );
}
const min = (xs: number[]) => Math.min(...xs);
console.log(
  `fastest step (noise only adds time): in-process ${min(tl.total).toFixed(1)} ms, remote ${min(tr.total).toFixed(1)} ms, remote/local ${(min(tr.total) / min(tl.total)).toFixed(3)}`,
);
console.log(
  `\nwire payload per step ≈ ${(bytes / 1e6).toFixed(2)} MB of JSON (datums sent 3×: logprobs, ref logprobs, forward_backward)`,
);
console.log(
  `fixed latency: GET /info ${median(lat.info).toFixed(2)} ms (incl. ${(JSON.stringify(served.tokenizer.toHuggingFaceJSON()).length / 1e3).toFixed(0)} kB tokenizer); 1-datum compute_logprobs local ${median(lat.small_local).toFixed(2)} ms, remote ${median(lat.small_remote).toFixed(2)} ms`,
);
const tx = median(transport) - median(localOutside);
console.log(
  `step wall time outside the policy: in-process ${median(localOutside).toFixed(1)} ms (building datums), remote ${median(transport).toFixed(1)} ms (min ${min(transport).toFixed(1)})`,
);
console.log(
  `=> HTTP + JSON + validation per step (6 calls): ${tx.toFixed(1)} ms = ${((100 * tx) / median(tl.total)).toFixed(1)}% of the median in-process step`,
);
console.log(
  `transport CPU (encode/decode/validate of one step's payloads, no model): ${median(codec).toFixed(1)} ms = ${((100 * median(codec)) / median(tl.total)).toFixed(1)}% of the in-process step`,
);
console.log(
  `checkpoint save+load (${(ckBytes / 1e6).toFixed(1)} MB): in-process ${median(ckTimes.local).toFixed(0)} ms, remote ${median(ckTimes.remote).toFixed(0)} ms (×${(median(ckTimes.remote) / median(ckTimes.local)).toFixed(2)})`,
);
console.log("bit-identical: losses, grad norms and final weights of remote == in-process");
