/**
 * OpenAISampler: our `Sampler` over an OpenAI-compatible /v1/completions server (vLLM, SGLang, llama.cpp server,
 * `batcoder serve`), for the RL rollouts (`batcoder rl --sampler-url URL`).
 *
 * Token ids in and out where the server offers them, so nothing is re-tokenised between the two rollout stages:
 * the prompt goes as a token-id array, and vLLM's `return_tokens_as_token_ids` + `logprobs: 1` return every
 * sampled token as "token_id:N" with its log-prob (`stop_token_ids` carries our stop tokens). A server that refuses
 * those parameters (HTTP 400) or ignores them (tokens come back as text) switches this sampler to TEXT mode, said
 * loudly once: the prompt is sent decoded, the completion text is re-tokenised here (the tokens may differ from
 * what the server sampled), and no log-probs are reported (NaN), so the trainer cannot correct the sampler/trainer
 * mismatch (it logs `mismatch/unavailable`).
 *
 * The server keeps the weights it was started with: nothing here pushes the trainer's updates to it. The RL loop
 * corrects the resulting (growing) mismatch with truncated importance sampling and logs it.
 */
import type { PolicyInfo, SampledSequence, SampleRequest, Sampler, TokenizerLike } from "../core/policy.js";
import type { OpenAIClient } from "./openai-client.js";

interface Choice {
  index: number;
  text: string;
  finish_reason: string | null;
  logprobs?: { tokens?: string[]; token_logprobs?: (number | null)[] } | null;
}

export class OpenAISampler implements Sampler {
  /** "tokens" once the server has returned token ids; "text" after a fallback; null before the first call. */
  mode: "tokens" | "text" | null = null;
  readonly info: PolicyInfo;

  constructor(
    private readonly client: OpenAIClient,
    readonly tokenizer: TokenizerLike,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
    contextLength = 4096,
  ) {
    this.info = { backend: "openai-http", modelName: client.name, contextLength };
  }

  private fallback(why: string): void {
    if (this.mode === "text") return;
    this.mode = "text";
    this.log(
      `WARNING: sampler ${this.client.baseUrl} ${why}: falling back to TEXT mode — prompts are sent as text and completions ` +
        "re-tokenised locally (token drift between the rollout stages is possible), and without sampler log-probs the " +
        "sampler/trainer mismatch cannot be corrected (truncated IS off).",
    );
  }

  async sample(requests: SampleRequest[]): Promise<SampledSequence[][]> {
    await this.client.init();
    return Promise.all(requests.map((r) => this.one(r)));
  }

  private body(r: SampleRequest, tokens: boolean): Record<string, unknown> {
    const p = r.params;
    const eos = this.tokenizer.eosId;
    return {
      model: this.client.name,
      prompt: tokens ? r.prompt : this.tokenizer.decode(r.prompt.filter((t) => t !== this.tokenizer.bosId)),
      max_tokens: p.maxTokens,
      temperature: p.temperature,
      ...(p.topP !== undefined ? { top_p: p.topP } : {}),
      ...(p.topK !== undefined ? { top_k: p.topK } : {}),
      n: r.n,
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.stop?.length ? { stop: p.stop } : {}),
      ...(tokens
        ? { logprobs: 1, return_tokens_as_token_ids: true, stop_token_ids: [eos, ...(p.stopTokenIds ?? [])] }
        : {}),
    };
  }

  private async one(r: SampleRequest): Promise<SampledSequence[]> {
    if (this.mode !== "text") {
      let res: { choices?: Choice[] };
      try {
        res = (await this.client.request("POST", "/completions", this.body(r, true))) as { choices?: Choice[] };
      } catch (e) {
        const m = (e as Error).message;
        if (
          !/HTTP 4(00|22)/.test(m) ||
          !/return_tokens_as_token_ids|stop_token_ids|logprobs|prompt|unrecognized|extra/i.test(m)
        )
          throw e;
        this.fallback(`refused token-id requests (${m.slice(0, 160)})`);
        return this.one(r);
      }
      const choices = this.choices(res, r);
      const tokenized = choices.every((c) => c.logprobs?.tokens?.every((t) => /^token_id:\d+$/.test(t)));
      if (tokenized) {
        this.mode = "tokens";
        return choices.map((c) => this.fromTokens(c, r));
      }
      this.fallback("ignores return_tokens_as_token_ids (tokens came back as text)");
      return choices.map((c) => this.fromText(c, r));
    }
    const res = (await this.client.request("POST", "/completions", this.body(r, false))) as { choices?: Choice[] };
    return this.choices(res, r).map((c) => this.fromText(c, r));
  }

  private choices(res: { choices?: Choice[] }, r: SampleRequest): Choice[] {
    const cs = (res.choices ?? []).slice().sort((a, b) => a.index - b.index);
    if (cs.length !== r.n)
      throw new Error(`sampler ${this.client.baseUrl}: asked for ${r.n} completions, got ${cs.length}`);
    return cs;
  }

  private finish(c: Choice): "stop" | "length" {
    return c.finish_reason === "length" ? "length" : "stop";
  }

  private fromTokens(c: Choice, r: SampleRequest): SampledSequence {
    const tokens = c.logprobs!.tokens!.map((t) => Number(t.slice("token_id:".length)));
    const lps = (c.logprobs!.token_logprobs ?? []).map((x) => (typeof x === "number" ? x : NaN));
    const stopIds = new Set([this.tokenizer.eosId, ...(r.params.stopTokenIds ?? [])]);
    const finish = this.finish(c);
    const visible =
      finish === "stop" && tokens.length && stopIds.has(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
    let text = this.tokenizer.decode(visible);
    let cut = -1;
    for (const st of r.params.stop ?? []) {
      const at = text.indexOf(st);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) text = text.slice(0, cut);
    return { tokens, logprobs: lps.length === tokens.length ? lps : tokens.map(() => NaN), text, finishReason: finish };
  }

  private fromText(c: Choice, r: SampleRequest): SampledSequence {
    const finish = this.finish(c);
    const tokens = this.tokenizer.encode(c.text);
    if (finish === "stop" && !(r.params.stop ?? []).some((s) => c.text.endsWith(s))) tokens.push(this.tokenizer.eosId);
    return { tokens, logprobs: tokens.map(() => NaN), text: c.text, finishReason: finish };
  }
}
