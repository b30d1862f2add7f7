/** Test helpers: a byte-level tokenizer with the project's special tokens (ids 0..N-1, then 256 bytes). */
import type { TokenizerLike } from "../../src/backends/policy.js";
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
