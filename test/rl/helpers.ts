/** Test helpers: a byte-level tokenizer with the project's special tokens (ids 0..N-1, then 256 bytes). */
import type { TokenizerLike } from "../../src/core/policy.js";
import { SPECIAL_TOKENS, BOS_ID, EOS_ID } from "../../src/engine/special.js";

export class TestByteTokenizer implements TokenizerLike {
  readonly vocabSize = SPECIAL_TOKENS.length + 256;
  readonly eosId = EOS_ID;
  readonly bosId = BOS_ID;
  private readonly n = SPECIAL_TOKENS.length;
  encode(text: string): number[] {
    return [...Buffer.from(text, "utf8")].map((b) => b + this.n);
  }
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    let out = "";
    for (const id of ids) {
      if (id < this.n) {
        out += Buffer.from(bytes.splice(0)).toString("utf8") + SPECIAL_TOKENS[id];
      } else bytes.push(id - this.n);
    }
    return out + Buffer.from(bytes).toString("utf8");
  }
  tokenId(s: string): number | undefined {
    const i = (SPECIAL_TOKENS as readonly string[]).indexOf(s);
    return i < 0 ? undefined : i;
  }
}

/**
 * The toy reward the RL tests push a policy toward: a reconstruction's similarity is the fraction of its
 * characters that are lowercase ASCII letters; a documentation is valid when it is non-empty.
 */
export const lowercaseToyReward = {
  penalties: { formatPenalty: 0.1, leakPenalty: 0.5 },
  checkDoc: (doc: string) => ({
    valid: doc.length > 0,
    violations: [] as string[],
    leaked: false,
    leakFraction: 0,
    reasons: [] as string[],
  }),
  async score(jobs: { rebuilt: string }[]) {
    return jobs.map((j) => {
      const s = j.rebuilt.length ? [...j.rebuilt].filter((c) => c >= "a" && c <= "z").length / j.rebuilt.length : 0;
      return { total: s, similarity: s, components: { lower: s } };
    });
  },
};

/** A one-layer LLaMA config small enough for RL loop tests. */
export const TINY_MODEL = {
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 2,
  max_position_embeddings: 128,
};
