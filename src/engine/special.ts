/**
 * Special tokens of the embedded model's vocabulary (ids 0..N-1, in this order, in every tokenizer the
 * project trains). The two task formats of the method:
 *
 *   code→doc : <|bos|><|code2doc|><|lang:python|>{code}<|doc|>{documentation}<|eos|>
 *   doc→code : <|bos|><|doc2code|><|lang:python|>{documentation}<|code|>{code}<|eos|>
 *
 * and plain pretraining text: <|bos|>{text}<|eos|>. The exact templates live in src/rl/prompts.ts.
 */
export const SPECIAL_TOKENS = [
  "<|pad|>",
  "<|bos|>",
  "<|eos|>",
  "<|code2doc|>",
  "<|doc2code|>",
  "<|code|>",
  "<|doc|>",
  "<|lang:python|>",
  "<|lang:ruby|>",
  "<|lang:go|>",
  "<|lang:javascript|>",
  "<|lang:other|>",
] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];
export const PAD_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;

/**
 * Token ids generation stops on: EOS and every special token the tokenizer knows except padding (SPECIAL_TOKENS,
 * and for a pretrained tokenizer its added tokens flagged special, e.g. <|im_end|>, <|eot_id|>).
 */
export function specialStopIds(tok: {
  eosId: number;
  tokenId(s: string): number | undefined;
  specials?: readonly string[];
}): number[] {
  const ids = new Set<number>(tok.eosId >= 0 ? [tok.eosId] : []);
  for (const s of [...SPECIAL_TOKENS, ...(tok.specials ?? [])]) {
    if (/pad/i.test(s)) continue;
    const id = tok.tokenId(s);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
