/**
 * Conformance with the Tinker Python SDK (0.38.0), from request/response fixtures the SDK's own types wrote
 * (test/fixtures/tinker/generate.py -> fixtures.json): every field name, JSON type and enum value is checked against
 * our server's validator (wire.ts schemas, protobuf decoder) and against what our client (TinkerPolicy) really
 * sends and parses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { z } from "zod";
import * as W from "../../src/backends/tinker/wire.js";
import * as P from "../../src/backends/tinker/protobuf.js";
import { createEmbeddedPolicy } from "../../src/backends/embedded.js";
import { ByteTokenizer } from "../../src/engine/tokenizer.js";
import { serveTinker } from "../../src/backends/tinker/server.js";
import { connectTinkerPolicy } from "../../src/backends/tinker/client.js";
import type { Datum, LossSpec } from "../../src/core/policy.js";
import { TINY_MODEL } from "../rl/helpers.js";

interface Fixture {
  endpoint: string;
  method: string;
  kind: "request" | "response";
  encoding: "json" | "protobuf";
  body: Record<string, unknown>;
  fields?: Record<string, { required: boolean; annotation: string }>;
}
const here = path.dirname(new URL(import.meta.url).pathname);
const file = JSON.parse(fs.readFileSync(path.resolve(here, "../../../test/fixtures/tinker/fixtures.json"), "utf8")) as {
  sdk_version: string;
  enums: Record<string, string[]>;
  fixtures: Record<string, Fixture>;
};
const fx = file.fixtures;
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

const jsonType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

test("the fixtures come from the SDK version we target", () => {
  assert.equal(file.sdk_version, W.TINKER_SDK_VERSION);
});

test("enum values equal the SDK's", () => {
  assert.deepEqual([...W.LOSS_FN_TYPES].sort(), [...file.enums.LossFnType!].sort());
  assert.deepEqual([...W.STOP_REASONS].sort(), [...file.enums.StopReason!].sort());
  assert.deepEqual([...W.TENSOR_DTYPES].sort(), [...file.enums.TensorDtype!].sort());
  assert.deepEqual([...W.ERROR_CATEGORIES].sort(), [...file.enums.RequestErrorCategory!].sort());
  assert.deepEqual([...W.QUEUE_STATES].sort(), [...file.enums.QueueState!].sort());
  assert.deepEqual([...W.SAMPLER_SAVE_KINDS].sort(), [...file.enums.SaveWeightsForSamplerKind!].sort());
});

const requestFixtures = Object.entries(fx).filter(([, f]) => f.kind === "request" && f.encoding === "json");

test("server validator: every SDK request fixture is accepted; each field's name, type and enum are enforced", () => {
  assert.ok(requestFixtures.length >= 12);
  for (const [name, f] of requestFixtures) {
    const schema = (W.RequestSchemas as Record<string, z.ZodTypeAny>)[f.endpoint];
    assert.ok(schema, `${name}: the server validates ${f.endpoint}`);
    const ok = schema.safeParse(f.body);
    assert.ok(ok.success, `${name}: SDK body refused: ${ok.success ? "" : JSON.stringify(ok.error.issues)}`);
    // every field the SDK type declares is known to the validator (an unknown one would be refused)
    for (const field of Object.keys(f.fields ?? {})) {
      const probe = schema.safeParse({ ...f.body, [field]: undefined });
      const known = !(probe.success === false && probe.error.issues.some((i) => i.code === "unrecognized_keys"));
      assert.ok(known, `${name}: field '${field}' unknown to the validator`);
    }
    assert.equal(
      schema.safeParse({ ...f.body, not_a_tinker_field: 1 }).success,
      false,
      `${name}: unknown field accepted`,
    );
    // a wrong JSON type in any field the SDK sent is refused
    for (const [k, v] of Object.entries(f.body)) {
      const wrong =
        typeof v === "string" ? 12345 : typeof v === "number" ? "x" : typeof v === "boolean" ? "yes" : "not-an-object";
      assert.equal(
        schema.safeParse({ ...f.body, [k]: wrong }).success,
        false,
        `${name}: field '${k}' accepted a ${jsonType(wrong)}`,
      );
    }
    // a required field missing is refused
    for (const [k, meta] of Object.entries(f.fields ?? {})) {
      if (!meta.required || !(k in f.body)) continue;
      const { [k]: _dropped, ...rest } = f.body;
      assert.equal(schema.safeParse(rest).success, false, `${name}: required '${k}' may be missing`);
    }
  }
  // enums inside bodies
  const sw = fx.save_weights_for_sampler!.body;
  assert.equal(W.SaveWeightsForSamplerRequest.safeParse({ ...sw, kind: "hourly" }).success, false);
  assert.equal(W.CreateModelRequest.safeParse({ ...fx.create_model!.body, type: "create_sampler" }).success, false);
  assert.equal(
    W.SampleRequestWire.safeParse({ ...fx.asample!.body, prompt: { chunks: [{ tokens: [1], type: "image" }] } })
      .success,
    false,
  );
});

test("client parsers accept every SDK response fixture", () => {
  const parsers: Record<string, z.ZodTypeAny> = {
    create_session_response: W.CreateSessionResponse,
    future: W.UntypedFuture,
    create_model_response: W.CreateModelResponse,
    optim_step_response: W.OptimStepResponse,
    save_weights_response: W.PathResponse,
    save_weights_for_sampler_response: W.PathResponse,
    load_weights_response: W.LoadWeightsResponse,
    try_again: W.TryAgainResponse,
    request_failed: W.RequestFailedResponse,
    create_sampling_session_response: W.CreateSamplingSessionResponse,
    get_server_capabilities_response: W.GetServerCapabilitiesResponse,
    get_info_response: W.GetInfoResponse,
  };
  for (const [name, f] of Object.entries(fx).filter(([, f]) => f.kind === "response" && f.encoding === "json")) {
    const p = parsers[name];
    assert.ok(p, `no client parser for response fixture ${name}`);
    const r = p.safeParse(f.body);
    assert.ok(r.success, `${name}: ${r.success ? "" : JSON.stringify(r.error.issues)}`);
  }
  assert.equal(W.TryAgainResponse.safeParse({ ...fx.try_again!.body, queue_state: "busy" }).success, false);
  assert.equal(W.RequestFailedResponse.safeParse({ ...fx.request_failed!.body, category: "fatal" }).success, false);
});

test("protobuf: the SDK's forward_backward bytes decode to its fields; our encoding decodes back to the same", () => {
  const f = fx.forward_backward!.body as { protobuf_base64: string; decoded: Record<string, unknown> };
  const r = P.decodeForwardBackwardRequest(b64(f.protobuf_base64));
  const d = f.decoded as {
    model_id: string;
    seq_id: number;
    loss_fn: string;
    forward_only: boolean;
    loss_fn_config: Record<string, number | string>;
    data: { model_input: number[][]; loss_fn_inputs: Record<string, P.PbTensor> }[];
  };
  assert.equal(r.modelId, d.model_id);
  assert.equal(r.seqId, d.seq_id);
  assert.equal(r.lossFn, d.loss_fn);
  assert.equal(r.forwardOnly, d.forward_only);
  assert.deepEqual(r.lossFnConfig, d.loss_fn_config);
  assert.equal(r.data.length, 1);
  assert.deepEqual(r.data[0]!.chunks, d.data[0]!.model_input);
  for (const [k, t] of Object.entries(d.data[0]!.loss_fn_inputs))
    assert.deepEqual(r.data[0]!.lossFnInputs[k], { dtype: t.dtype, shape: t.shape, data: t.data }, k);
  const again = P.decodeForwardBackwardRequest(P.encodeForwardBackwardRequest(r));
  assert.deepEqual(again, r);
  // same fields, same packed encodings: the same size as the SDK's bytes (map entries may come in another order,
  // which protobuf leaves unspecified)
  assert.equal(P.encodeForwardBackwardRequest(r).length, b64(f.protobuf_base64).length);
});

test("protobuf: SDK-built SampleResponse / ForwardBackwardOutput decode; ours round-trip", () => {
  const s = fx.sample_response!.body as {
    protobuf_base64: string;
    decoded: {
      sequences: { stop_reason: string; tokens: number[]; logprobs: number[] }[];
      prompt_logprobs: (number | null)[];
    };
  };
  const sr = P.decodeSampleResponse(b64(s.protobuf_base64));
  assert.deepEqual(
    sr.sequences.map((q) => ({ stop_reason: q.stopReason, tokens: q.tokens, logprobs: q.logprobs })),
    s.decoded.sequences,
  );
  assert.deepEqual(
    sr.promptLogprobs!.map((x) => (Number.isNaN(x) ? null : x)),
    s.decoded.prompt_logprobs,
  );
  assert.deepEqual(P.decodeSampleResponse(P.encodeSampleResponse(sr)), sr);
  const o = fx.forward_backward_output!.body as {
    protobuf_base64: string;
    decoded: { metrics: Record<string, number>; loss_fn_outputs: { logprobs: number[] }[] };
  };
  const fo = P.decodeForwardBackwardOutput(b64(o.protobuf_base64));
  assert.deepEqual(fo.metrics, o.decoded.metrics);
  assert.deepEqual(
    fo.lossFnOutputs.map((x) => ({ logprobs: x.logprobs!.data })),
    o.decoded.loss_fn_outputs,
  );
  assert.deepEqual(P.decodeForwardBackwardOutput(P.encodeForwardBackwardOutput(fo)), fo);
  assert.throws(() => P.decodeSampleResponse(new Uint8Array([0x0a, 0x05, 0x08])), /truncated/);
});

test("client encoder: what TinkerPolicy really sends uses only SDK field names, all required ones, the SDK's JSON types", async () => {
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "bc-tinker-conf-"));
  const sent: { endpoint: string; body: unknown }[] = [];
  try {
    // the exact path (batcoder extensions) and the stock paths (folded / custom), each on its own server
    for (const useExtensions of [true, false]) {
      const policy = createEmbeddedPolicy({ config: TINY_MODEL, tokenizer: new ByteTokenizer(), seed: 3 });
      const { server, url } = await serveTinker({ policy, port: 0, stateRoot, baseModel: "batcoder/tiny" });
      try {
        const p = await connectTinkerPolicy(url, {
          log: () => {},
          heartbeatMs: 0,
          useExtensions,
          trace: (_m, endpoint, body) => sent.push({ endpoint, body }),
        });
        const d: Datum = {
          modelInput: [1, 2, 3, 4],
          lossInputs: {
            targetTokens: [2, 3, 4, 5],
            weights: [0, 1, 1, 1],
            advantages: [0, 0.5, -0.5, 1],
            samplingLogprobs: [0, -5, -5, -5],
            refLogprobs: [0, -5, -5, -5],
          },
        };
        const ppo: LossSpec = {
          kind: "ppo",
          clipLow: 0.2,
          clipHigh: 0.28,
          klCoef: 0.1,
          klEstimator: "k3",
          entropyCoef: 0,
          aggregation: "token-mean",
        };
        await p.forwardBackward([d], ppo);
        await p.forwardBackward([d], { kind: "importance_sampling", aggregation: "seq-mean-token-mean" });
        await p.forwardBackward([d], { kind: "cross_entropy" });
        await p.optimStep({ learningRate: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
        await p.sample([{ prompt: [1, 2], n: 2, params: { maxTokens: 3, temperature: 1, seed: 1 } }]);
        const ref = await p.snapshotReference();
        await ref.computeLogprobs([d]);
        const dir = path.join(stateRoot, `ck-${useExtensions}`);
        await p.saveState(dir);
        await p.loadState(dir);
        await p.close();
        assert.deepEqual(
          p.lossPaths,
          useExtensions ? { exact: 3, folded: 0, custom: 0 } : { exact: 0, folded: 2, custom: 1 },
        );
      } finally {
        await server.close();
      }
    }
  } finally {
    fs.rmSync(stateRoot, { recursive: true, force: true });
  }
  const byEndpoint = new Map<string, Fixture>();
  for (const [, f] of requestFixtures) byEndpoint.set(f.endpoint, f);
  const seen = new Set<string>();
  for (const { endpoint, body } of sent) {
    if (body instanceof Uint8Array) {
      assert.equal(endpoint, W.Endpoints.forwardBackward);
      const r = P.decodeForwardBackwardRequest(body);
      assert.ok((W.LOSS_FN_TYPES as readonly string[]).includes(r.lossFn), r.lossFn);
      for (const dd of r.data) {
        assert.equal(dd.lossFnInputs.target_tokens!.dtype, "int64");
        for (const [k, t] of Object.entries(dd.lossFnInputs))
          if (k !== "target_tokens") assert.equal(t.dtype, "float32", k);
      }
      seen.add(endpoint);
      continue;
    }
    const f = byEndpoint.get(endpoint);
    if (!f) {
      assert.ok(
        [W.Endpoints.capabilities, W.Endpoints.batcoderTokenizer].includes(endpoint as never),
        `no SDK fixture for ${endpoint}`,
      );
      continue;
    }
    seen.add(endpoint);
    const b = body as Record<string, unknown>;
    for (const [k, v] of Object.entries(b)) {
      assert.ok(k in f.fields!, `${endpoint}: '${k}' is not a field of the SDK's request type`);
      if (k in f.body) assert.equal(jsonType(v), jsonType(f.body[k]), `${endpoint}.${k}: type differs from the SDK's`);
      if (k === "type") assert.equal(v, f.body.type, `${endpoint}: type literal`);
    }
    for (const [k, meta] of Object.entries(f.fields!))
      if (meta.required) assert.ok(k in b, `${endpoint}: required '${k}' not sent`);
    const schema = (W.RequestSchemas as Record<string, z.ZodTypeAny>)[endpoint]!;
    assert.ok(schema.safeParse(b).success, `${endpoint}: our own validator refuses our client`);
  }
  for (const e of [
    W.Endpoints.createSession,
    W.Endpoints.createModel,
    W.Endpoints.forwardBackward,
    W.Endpoints.optimStep,
    W.Endpoints.asample,
    W.Endpoints.saveWeights,
    W.Endpoints.saveWeightsForSampler,
    W.Endpoints.loadWeights,
    W.Endpoints.createSamplingSession,
    W.Endpoints.retrieveFuture,
  ]) {
    assert.ok(seen.has(e), `the client never exercised ${e}`);
  }
});
