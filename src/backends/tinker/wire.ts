/**
 * Tinker's HTTP API (JSON parts), as the Python SDK `tinker` 0.38.0 speaks it: endpoint paths, request and
 * response bodies (zod schemas, strict: an unknown field is a 400 naming it), enum values and the `tinker://`
 * path scheme. forward_backward bodies and the ForwardBackwardOutput / SampleResponse results are protobuf
 * (./protobuf.ts). Shared by our client (TinkerPolicy) and our server (`batcoder serve --training`); the
 * conformance fixtures in test/fixtures/tinker/ were generated from the SDK's own types and are checked against
 * these schemas.
 */
import { z } from "zod";

export const TINKER_SDK_VERSION = "0.38.0";
export const API = "/api/v1";
export const PROTOBUF = "application/x-protobuf";

export const Endpoints = {
  healthz: `${API}/healthz`,
  capabilities: `${API}/get_server_capabilities`,
  clientConfig: `${API}/client/config`,
  dynamicConfig: `${API}/client/dynamic_config`,
  createSession: `${API}/create_session`,
  heartbeat: `${API}/session_heartbeat`,
  createModel: `${API}/create_model`,
  getInfo: `${API}/get_info`,
  forwardBackward: `${API}/forward_backward`,
  optimStep: `${API}/optim_step`,
  createSamplingSession: `${API}/create_sampling_session`,
  asample: `${API}/asample`,
  saveWeights: `${API}/save_weights`,
  saveWeightsForSampler: `${API}/save_weights_for_sampler`,
  loadWeights: `${API}/load_weights`,
  retrieveFuture: `${API}/retrieve_future`,
  telemetry: `${API}/telemetry`,
  /** batcoder extension (advertised in get_server_capabilities): the tokenizer as Hugging Face tokenizer.json. */
  batcoderTokenizer: `${API}/batcoder/tokenizer`,
} as const;

export const LOSS_FN_TYPES = [
  "cross_entropy",
  "importance_sampling",
  "ppo",
  "cispo",
  "dro",
  "gspo",
  "stable_reinforce",
  "custom",
] as const;
export const STOP_REASONS = ["length", "stop"] as const;
export const TENSOR_DTYPES = ["int64", "float32"] as const;
export const ERROR_CATEGORIES = ["unknown", "server", "user"] as const;
export const QUEUE_STATES = ["active", "paused_capacity", "paused_rate_limit"] as const;
export const SAMPLER_SAVE_KINDS = ["snapshot", "inflight"] as const;
export type LossFnType = (typeof LOSS_FN_TYPES)[number];
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

const int = z.number().int();
const nonNegInt = z.number().int().nonnegative();
const metadata = z.record(z.string(), z.unknown());

export const ClientConfigRequest = z.object({ sdk_version: z.string() }).strict();
export const CreateSessionRequest = z
  .object({
    tags: z.array(z.string()),
    user_metadata: metadata.nullable(),
    sdk_version: z.string(),
    project_id: z.string().optional(),
    display_name: z.string().optional(),
    type: z.literal("create_session").optional(),
  })
  .strict();
export const SessionHeartbeatRequest = z
  .object({ session_id: z.string(), type: z.literal("session_heartbeat").optional() })
  .strict();
export const LoraConfig = z
  .object({
    /** 0 = full fine-tuning (batcoder's server, and Tinker-compatible services that train all weights). */
    rank: z.number().int().nonnegative(),
    seed: int.optional(),
    train_unembed: z.boolean().optional(),
    train_mlp: z.boolean().optional(),
    train_attn: z.boolean().optional(),
  })
  .strict();
export const OptimizerConfig = z.object({ type: z.string() }).passthrough();
export const CreateModelRequest = z
  .object({
    session_id: z.string(),
    model_seq_id: int,
    base_model: z.string().min(1),
    user_metadata: metadata.optional(),
    lora_config: LoraConfig.optional(),
    optimizer_config: OptimizerConfig.optional(),
    type: z.literal("create_model").optional(),
  })
  .strict();
export const GetInfoRequest = z.object({ model_id: z.string(), type: z.literal("get_info").optional() }).strict();
export const AdamParamsWire = z
  .object({
    learning_rate: z.number().finite().nonnegative(),
    beta1: z.number().finite(),
    beta2: z.number().finite(),
    eps: z.number().finite(),
    weight_decay: z.number().finite().optional(),
    grad_clip_norm: z.number().finite().nonnegative().optional(),
    type: z.string().optional(),
  })
  .strict();
export const OptimStepRequest = z
  .object({
    adam_params: AdamParamsWire,
    model_id: z.string(),
    seq_id: int.optional(),
    type: z.literal("optim_step").optional(),
  })
  .strict();
export const CreateSamplingSessionRequest = z
  .object({
    session_id: z.string(),
    sampling_session_seq_id: int,
    base_model: z.string().optional(),
    model_path: z.string().optional(),
    type: z.literal("create_sampling_session").optional(),
  })
  .strict();
export const EncodedTextChunk = z.object({ tokens: z.array(nonNegInt), type: z.literal("encoded_text") }).strict();
export const ModelInputWire = z.object({ chunks: z.array(EncodedTextChunk) }).strict();
export const SamplingParamsWire = z
  .object({
    max_tokens: nonNegInt.optional(),
    seed: int.optional(),
    stop: z.union([z.string(), z.array(z.string()), z.array(nonNegInt)]).optional(),
    temperature: z.number().finite().nonnegative().optional(),
    top_k: int.optional(),
    top_p: z.number().finite().optional(),
  })
  .strict();
export const SampleRequestWire = z
  .object({
    num_samples: z.number().int().positive().optional(),
    prompt: ModelInputWire,
    sampling_params: SamplingParamsWire,
    base_model: z.string().optional(),
    model_path: z.string().optional(),
    sampling_session_id: z.string().optional(),
    seq_id: int.optional(),
    prompt_logprobs: z.boolean().optional(),
    topk_prompt_logprobs: nonNegInt.optional(),
    topk_sample_logprobs: nonNegInt.optional(),
    target_prompt_logprobs: z.unknown().optional(),
    prompt_alt_tokens_k: nonNegInt.optional(),
    prompt_logprobs_last_n: nonNegInt.optional(),
    record_stability_info: z.boolean().optional(),
    /** batcoder extension: score prompt_logprobs at this temperature (log softmax(logits / T)); default 1. */
    batcoder_logprob_temperature: z.number().positive().optional(),
    type: z.literal("sample").optional(),
  })
  .strict();
const userMeta = z.record(z.string(), z.string());
export const SaveWeightsRequest = z
  .object({
    model_id: z.string(),
    path: z.string().optional(),
    seq_id: int.optional(),
    ttl_seconds: int.optional(),
    overwrite: z.boolean().optional(),
    user_metadata: userMeta.optional(),
    type: z.literal("save_weights").optional(),
  })
  .strict();
export const SaveWeightsForSamplerRequest = z
  .object({
    model_id: z.string(),
    path: z.string().optional(),
    sampling_session_seq_id: int.optional(),
    kind: z.enum(SAMPLER_SAVE_KINDS).optional(),
    seq_id: int.optional(),
    ttl_seconds: int.optional(),
    user_metadata: userMeta.optional(),
    type: z.literal("save_weights_for_sampler").optional(),
  })
  .strict();
export const LoadWeightsRequest = z
  .object({
    model_id: z.string().optional(),
    seq_id: int.optional(),
    session_id: z.string().optional(),
    model_seq_id: int.optional(),
    base_model: z.string().optional(),
    user_metadata: metadata.optional(),
    path: z.string(),
    optimizer: z.boolean(),
    optimizer_config: OptimizerConfig.optional(),
    weights_access_token: z.string().optional(),
    type: z.literal("load_weights").optional(),
  })
  .strict();
export const FutureRetrieveRequest = z
  .object({ request_id: z.string(), allow_metadata_only: z.boolean().optional() })
  .strict();

export const RequestSchemas = {
  [Endpoints.clientConfig]: ClientConfigRequest,
  [Endpoints.dynamicConfig]: ClientConfigRequest,
  [Endpoints.createSession]: CreateSessionRequest,
  [Endpoints.heartbeat]: SessionHeartbeatRequest,
  [Endpoints.createModel]: CreateModelRequest,
  [Endpoints.getInfo]: GetInfoRequest,
  [Endpoints.optimStep]: OptimStepRequest,
  [Endpoints.createSamplingSession]: CreateSamplingSessionRequest,
  [Endpoints.asample]: SampleRequestWire,
  [Endpoints.saveWeights]: SaveWeightsRequest,
  [Endpoints.saveWeightsForSampler]: SaveWeightsForSamplerRequest,
  [Endpoints.loadWeights]: LoadWeightsRequest,
  [Endpoints.retrieveFuture]: FutureRetrieveRequest,
} as const;

// ------------------------------------------------------------------------------------------------ responses

export const UntypedFuture = z
  .object({
    request_id: z.string(),
    model_id: z.string().optional(),
    sample_sequence_ids: z.array(z.string()).optional(),
  })
  .strict();
export const CreateSessionResponse = z
  .object({
    session_id: z.string(),
    type: z.literal("create_session").optional(),
    info_message: z.string().optional(),
    warning_message: z.string().optional(),
    error_message: z.string().optional(),
  })
  .strict();
export const CreateSamplingSessionResponse = z
  .object({ sampling_session_id: z.string(), type: z.literal("create_sampling_session").optional() })
  .strict();
export const SupportedModel = z
  .object({
    model_name: z.string().optional(),
    max_context_length: int.optional(),
    trainable: z.boolean().optional(),
    sampleable: z.boolean().optional(),
  })
  .strict();
/** batcoder's extension block (an extra field: the SDK's pydantic model ignores what it does not know). */
export const BatcoderCapabilities = z
  .object({
    /** loss_fn_config keys beyond Tinker's, which make the server compute batcoder's LossSpec exactly. */
    loss_fn_config_keys: z.array(z.string()),
    /** extra loss_fn_inputs accepted (ref_logprobs for the KL-in-loss term). */
    loss_fn_inputs: z.array(z.string()),
    tokenizer_endpoint: z.string(),
    /** the model's own short name (what `info.modelName` reports), distinct from the served base_model id. */
    model_name: z.string(),
  })
  .strict();
export const GetServerCapabilitiesResponse = z
  .object({ supported_models: z.array(SupportedModel), batcoder: BatcoderCapabilities.optional() })
  .strict();
export const CreateModelResponse = z
  .object({ model_id: z.string(), type: z.literal("create_model").optional() })
  .strict();
export const GetInfoResponse = z
  .object({
    type: z.literal("get_info").optional(),
    model_data: z
      .object({ arch: z.string().optional(), model_name: z.string().optional(), tokenizer_id: z.string().optional() })
      .strict(),
    model_id: z.string(),
    optimizer_config: OptimizerConfig.optional(),
    is_lora: z.boolean().optional(),
    lora_rank: int.optional(),
    model_name: z.string().optional(),
  })
  .strict();
export const OptimStepResponse = z.object({ metrics: z.record(z.string(), z.number()).optional() }).strict();
export const PathResponse = z.object({ path: z.string(), type: z.string().optional() }).strict();
export const LoadWeightsResponse = z
  .object({ path: z.string().optional(), model_id: z.string().optional(), type: z.string().optional() })
  .strict();
export const TryAgainResponse = z
  .object({ type: z.literal("try_again"), request_id: z.string(), queue_state: z.enum(QUEUE_STATES) })
  .strict();
export const RequestFailedResponse = z.object({ error: z.string(), category: z.enum(ERROR_CATEGORIES) }).strict();

// ------------------------------------------------------------------------------------------------ tinker:// paths

/**
 * `tinker://<model_id>/<kind>/<name>`: kind is `weights` (full training state, loadable with load_weights) or
 * `sampler_weights` (weights for a sampling session). Names are one path segment of [A-Za-z0-9._-].
 */
export interface TinkerPath {
  modelId: string;
  kind: "weights" | "sampler_weights";
  name: string;
}
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function parseTinkerPath(p: string): TinkerPath {
  const m = /^tinker:\/\/([^/]+)\/(weights|sampler_weights)\/([^/]+)$/.exec(p);
  if (!m || !SEGMENT.test(m[1]!) || !SEGMENT.test(m[3]!)) {
    throw new Error(
      `invalid tinker path '${p}' (expected tinker://<model_id>/weights/<name> or tinker://<model_id>/sampler_weights/<name>, names of [A-Za-z0-9._-])`,
    );
  }
  return { modelId: m[1]!, kind: m[2] as TinkerPath["kind"], name: m[3]! };
}
export function formatTinkerPath(p: TinkerPath): string {
  return `tinker://${p.modelId}/${p.kind}/${p.name}`;
}
export function isValidName(name: string): boolean {
  return SEGMENT.test(name);
}

/** "loss:sum" -> ["loss", "sum"]: Tinker's metric keys always name their cross-chunk reduction. */
export function splitMetricKey(key: string): [string, string] {
  const i = key.lastIndexOf(":");
  return i < 0 ? [key, ""] : [key.slice(0, i), key.slice(i + 1)];
}
