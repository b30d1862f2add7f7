/**
 * Hugging Face Hub model ids (`Qwen/Qwen2.5-Coder-0.5B-Instruct`, optionally `@revision`) resolved to a local
 * model folder in the standard Hugging Face cache, offline by default:
 *
 *   <cache>/models--ORG--NAME/refs/<branch>        commit hash the branch points at
 *   <cache>/models--ORG--NAME/snapshots/<commit>/   the files (symlinks into ../../blobs/)
 *
 * <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub (as
 * huggingface_hub and @huggingface/hub compute it). Nothing touches the network unless the caller allows a
 * download (and $HF_HUB_OFFLINE is not set); then only the files a model needs are fetched with
 * @huggingface/hub into that same cache, from $HF_ENDPOINT or https://huggingface.co, with $HF_TOKEN if set.
 */
import fs from "node:fs";
import path from "node:path";
import { downloadFileToCacheDir, getHFHubCachePath, listFiles, modelInfo } from "@huggingface/hub";
import { UserError } from "../core/errors.js";

/** A hub model id, with an optional revision: ORG/NAME or ORG/NAME@REV. */
export const HUB_ID = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)(?:@([\w./-]+))?$/;
const COMMIT = /^[0-9a-f]{40}$/;

/** The files fetched for a model (weights, config, tokenizer, chat template); nothing else in the repo. */
export const MODEL_FILE_PATTERNS: readonly RegExp[] = [
  /^config\.json$/,
  /^generation_config\.json$/,
  /^model(-\d{5}-of-\d{5})?\.safetensors$/,
  /^model\.safetensors\.index\.json$/,
  /^tokenizer\.json$/,
  /^tokenizer_config\.json$/,
  /^special_tokens_map\.json$/,
  /^chat_template\.jinja$/,
  /^vocab\.json$/,
  /^merges\.txt$/,
];

export function isHubId(ref: string): boolean {
  return HUB_ID.test(ref) && !fs.existsSync(ref);
}

export function parseHubId(ref: string): { repo: string; revision: string } {
  const m = HUB_ID.exec(ref);
  if (!m) throw new UserError(`${JSON.stringify(ref)} is not a Hugging Face model id (ORG/NAME or ORG/NAME@REVISION)`);
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? "main" };
}

/** The hub cache directory ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
export function hubCacheDir(): string {
  return getHFHubCachePath();
}

function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split("/").join("--")}`);
}

/** The snapshot folder of a cached model, or undefined when the revision is not in the cache. */
export function findCachedSnapshot(ref: string, cacheDir = hubCacheDir()): string | undefined {
  const { repo, revision } = parseHubId(ref);
  const folder = repoFolder(cacheDir, repo);
  let commit = revision;
  if (!COMMIT.test(revision)) {
    const refFile = path.join(folder, "refs", revision);
    if (!fs.existsSync(refFile)) return undefined;
    commit = fs.readFileSync(refFile, "utf8").trim();
  }
  const snap = path.join(folder, "snapshots", commit);
  return fs.existsSync(path.join(snap, "config.json")) ? snap : undefined;
}

export interface HubOptions {
  /** Allow fetching from the hub when the model is not cached (default false: offline). */
  allowDownload?: boolean;
  cacheDir?: string;
  /** Hub base URL (default $HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Access token (default $HF_TOKEN). */
  token?: string;
  /** Progress messages (one line per file). */
  log?: (msg: string) => void;
}

/**
 * Resolves a hub id to a local model folder: from the cache, or (when allowed) by downloading the model's files
 * into the cache first. A missing model while offline is a UserError saying where it looked and how to fetch it.
 */
export async function resolveHubModel(ref: string, opts: HubOptions = {}): Promise<string> {
  const cacheDir = opts.cacheDir ?? hubCacheDir();
  const cached = findCachedSnapshot(ref, cacheDir);
  if (cached) return cached;
  const { repo, revision } = parseHubId(ref);
  const offlineEnv = ["1", "true", "yes", "on"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
  if (!opts.allowDownload || offlineEnv) {
    throw new UserError(
      `model ${repo} (revision ${revision}) is not in the Hugging Face cache ${repoFolder(cacheDir, repo)}` +
        `${offlineEnv ? " and HF_HUB_OFFLINE is set" : ""}; ` +
        `allow the download (--allow-download) or fetch it first (huggingface-cli download ${repo}), ` +
        `or pass a local folder / .gguf file (cache location: HF_HUB_CACHE, HF_HOME)`,
    );
  }
  return downloadHubModel(repo, revision, cacheDir, opts);
}

async function downloadHubModel(repo: string, revision: string, cacheDir: string, opts: HubOptions): Promise<string> {
  const hubUrl = (opts.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const accessToken = opts.token ?? process.env.HF_TOKEN;
  const cred = accessToken ? { accessToken } : {};
  const repoDesignation = { type: "model" as const, name: repo };
  let sha: string;
  try {
    const info = await modelInfo({ name: repo, revision, hubUrl, additionalFields: ["sha"], ...cred });
    sha = (info as { sha?: string }).sha ?? "";
  } catch (e) {
    throw new UserError(`cannot fetch model ${repo}@${revision} from ${hubUrl}: ${(e as Error).message}`);
  }
  if (!COMMIT.test(sha)) throw new UserError(`hub ${hubUrl} returned no commit hash for ${repo}@${revision}`);
  const wanted: string[] = [];
  for await (const entry of listFiles({ repo: repoDesignation, revision: sha, recursive: true, hubUrl, ...cred })) {
    if (entry.type === "file" && MODEL_FILE_PATTERNS.some((p) => p.test(entry.path))) wanted.push(entry.path);
  }
  if (!wanted.includes("config.json"))
    throw new UserError(`hub model ${repo}@${revision} has no config.json: not a transformers model`);
  if (!wanted.some((f) => f.endsWith(".safetensors"))) {
    throw new UserError(`hub model ${repo}@${revision} has no safetensors weights (only those are supported)`);
  }
  // config and index first, weights last: a failure leaves no snapshot that looks complete
  wanted.sort((a, b) => Number(a.endsWith(".safetensors")) - Number(b.endsWith(".safetensors")) || a.localeCompare(b));
  const folder = repoFolder(cacheDir, repo);
  const snapshot = path.join(folder, "snapshots", sha);
  const tmpConfig: string[] = [];
  try {
    for (const file of wanted) {
      opts.log?.(`downloading ${repo}/${file}`);
      await downloadFileToCacheDir({ repo: repoDesignation, path: file, revision: sha, hubUrl, cacheDir, ...cred });
      if (file === "config.json") {
        // hide config.json until every file is in, so an interrupted download is not taken for a cached model
        const p = path.join(snapshot, file);
        fs.renameSync(p, p + ".partial");
        tmpConfig.push(p);
      }
    }
  } catch (e) {
    // config.json stays hidden: the next attempt resumes (blobs already fetched are reused)
    throw new UserError(`downloading ${repo}@${revision} from ${hubUrl} failed: ${(e as Error).message}`);
  }
  for (const p of tmpConfig) fs.renameSync(p + ".partial", p);
  if (!COMMIT.test(revision)) {
    fs.mkdirSync(path.join(folder, "refs"), { recursive: true });
    fs.writeFileSync(path.join(folder, "refs", revision), sha);
  }
  return snapshot;
}
