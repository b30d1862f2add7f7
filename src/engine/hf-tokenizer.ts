/**
 * A Hugging Face model folder's tokenizer: `tokenizer.json` (the BPE pipeline) + `tokenizer_config.json` (bos/eos
 * tokens and the chat template) as one bundle. `hfTokenizerFromData` takes the parsed files; `loadHfTokenizer`
 * reads them from a folder.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../core/errors.js";
import { ChatTemplate, parseTokenizerConfig, type TokenizerConfig } from "./chat-template.js";
import { BpeTokenizer } from "./tokenizer.js";

export interface HfTokenizerBundle {
  tokenizer: BpeTokenizer;
  /** null when tokenizer_config.json has no chat_template (base models). */
  chatTemplate: ChatTemplate | null;
  config: TokenizerConfig;
}

/** Builds the bundle from the parsed tokenizer.json and tokenizer_config.json (null when the folder has none). */
export function hfTokenizerFromData(tokenizerJson: unknown, tokenizerConfig: unknown | null): HfTokenizerBundle {
  const config = tokenizerConfig === null ? parseTokenizerConfig({}) : parseTokenizerConfig(tokenizerConfig);
  // without a tokenizer_config.json the tokenizer keeps its own bos/eos defaults (the embedded names)
  const tokenizer =
    tokenizerConfig === null
      ? BpeTokenizer.fromJSON(tokenizerJson)
      : BpeTokenizer.fromJSON(tokenizerJson, { bosToken: config.bosToken, eosToken: config.eosToken });
  return { tokenizer, chatTemplate: ChatTemplate.fromConfig(config), config };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Reads `dir/tokenizer.json` (required) and `dir/tokenizer_config.json` (optional). */
export function loadHfTokenizer(dir: string): HfTokenizerBundle {
  const tj = path.join(dir, "tokenizer.json");
  if (!fs.existsSync(tj)) {
    throw new UserError(
      `${dir}: no tokenizer.json (a Hugging Face model folder needs one; supported: BPE tokenizer.json files, byte-level or SentencePiece-style)`,
    );
  }
  const tc = path.join(dir, "tokenizer_config.json");
  try {
    return hfTokenizerFromData(readJson(tj), fs.existsSync(tc) ? readJson(tc) : null);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${e.message} (in ${dir})`);
    throw e;
  }
}
