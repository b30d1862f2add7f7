/** The options the model-using commands (document, implement, roundtrip) share, and their parsing. */
import { UserError } from "../../core/errors.js";
import { LANG_IDS, resolveLangId, type LangId } from "../../lang/index.js";
import { openDirections, type BatDirections, type PromptFormat } from "../../orchestration/directions.js";

export const MODEL_HELP = `Model:
  --model REF           an embedded checkpoint, a run directory (its newest checkpoint), a Hugging Face
                        model folder, a hub id ORG/NAME (from the HF cache), a .gguf file, or an
                        OpenAI-compatible URL (http://host:8000/v1; vLLM, llama.cpp, Ollama, batcoder serve)
  --model-name NAME     model id sent to a URL (default: the first of GET /v1/models)
  --prompt-format F     auto | batcoder | chat (default auto: the RL's task prompts when the model has the
                        task tokens, an instruction conversation otherwise; a URL gets batcoder unless chat)
  --allow-download      let a hub id be downloaded into the HF cache
  --seed N              sampling seed (default 0)`;

export const MODEL_OPTIONS = {
  model: { type: "string" },
  "model-name": { type: "string" },
  "prompt-format": { type: "string", default: "auto" },
  "allow-download": { type: "boolean", default: false },
  seed: { type: "string", default: "0" },
} as const;

export function intFlag(v: string | undefined, name: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`${name} must be an integer ≥ ${min} (got '${v}')`);
  return n;
}

export function numFlag(v: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi)
    throw new UserError(`${name} must be a number in [${lo}, ${hi}] (got '${v}')`);
  return n;
}

export function langFlag(v: string | undefined): LangId | undefined {
  if (v === undefined) return undefined;
  const l = resolveLangId(v);
  if (!l) throw new UserError(`unknown language '${v}' (known: ${LANG_IDS.join(", ")})`);
  return l;
}

export async function directionsFrom(
  values: { model?: string; "model-name"?: string; "prompt-format"?: string; "allow-download"?: boolean },
  cmd: string,
): Promise<BatDirections> {
  if (!values.model) throw new UserError(`${cmd}: --model REF is required (see --help)`);
  const f = values["prompt-format"] ?? "auto";
  if (f !== "auto" && f !== "batcoder" && f !== "chat")
    throw new UserError(`--prompt-format must be auto, batcoder or chat (got '${f}')`);
  return openDirections(values.model, {
    format: f as PromptFormat | "auto",
    modelName: values["model-name"],
    allowDownload: values["allow-download"] ?? false,
  });
}
