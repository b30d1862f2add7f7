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
