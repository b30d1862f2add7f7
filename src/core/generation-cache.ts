/**
 * On-disk generation cache: one JSONL file, one line per generation, keyed by
 * sha256(model, input (prompt or messages), sampling params without n, sample index). Lines are appended as
 * generations arrive, so an interrupted evaluation resumes without asking again; a torn last line (a kill
 * mid-write) is ignored on load.
 *
 * `CachedGenerator` puts the cache in front of any TextGenerator (the embedded model's SamplerGenerator; the
 * HTTP client has the same cache built in). Missing samples of an input are asked for together
 * (n = number missing); with seeded sampling these are the first samples of that seed, so a resumed run is a
 * valid sample set but not bit-identical to an uninterrupted one.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Generation, GenerationInput, GenerationParams, TextGenerator } from "./generator.js";
import { appendJsonl, readJsonl } from "./jsonl.js";

export function generationKey(model: string, input: GenerationInput, params: GenerationParams, index: number): string {
  const { n: _n, ...rest } = params;
  return crypto
    .createHash("sha256")
    .update(JSON.stringify({ m: model, input, params: rest, index }))
    .digest("hex");
}

export class GenerationCache {
  private readonly map = new Map<string, Generation>();
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // a torn line from an interrupted run is skipped by readJsonl
    for (const e of readJsonl<{ key?: unknown; text?: unknown; finishReason?: unknown }>(file)) {
      if (typeof e.key === "string" && typeof e.text === "string")
        this.map.set(e.key, {
          text: e.text,
          finishReason: typeof e.finishReason === "string" ? e.finishReason : "stop",
        });
    }
  }
  get size(): number {
    return this.map.size;
  }
  get(key: string): Generation | undefined {
    return this.map.get(key);
  }
  put(key: string, g: Generation): void {
    this.map.set(key, g);
    appendJsonl(this.file, { key, text: g.text, finishReason: g.finishReason });
  }
  /** Cache file name for a model in a cache directory. */
  static fileFor(dir: string, model: string, salt = ""): string {
    const slug = model.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 60);
    const h = crypto.createHash("sha256").update(`${salt}\n${model}`).digest("hex").slice(0, 12);
    return path.join(dir, `${slug}-${h}.jsonl`);
  }
}

export class CachedGenerator implements TextGenerator {
  readonly stats = { cacheHits: 0, generated: 0 };
  private readonly cache: GenerationCache;
  constructor(
    private readonly inner: TextGenerator,
    cacheDir: string,
  ) {
    this.cache = new GenerationCache(GenerationCache.fileFor(cacheDir, inner.name));
  }
  get name(): string {
    return this.inner.name;
  }
  get supportsChat(): boolean {
    return this.inner.supportsChat;
  }
  renderPrompt(input: GenerationInput): string | undefined {
    return this.inner.renderPrompt?.(input);
  }

  async generate(inputs: GenerationInput[], params: GenerationParams): Promise<Generation[][]> {
    const keys = inputs.map((inp) =>
      Array.from({ length: params.n }, (_, i) => generationKey(this.inner.name, inp, params, i)),
    );
    const out: (Generation | undefined)[][] = keys.map((ks) => ks.map((k) => this.cache.get(k)));
    for (const row of out) this.stats.cacheHits += row.filter(Boolean).length;
    // inputs grouped by how many samples they miss (one inner call per group size)
    const byMissing = new Map<number, number[]>();
    out.forEach((row, i) => {
      const m = row.filter((g) => !g).length;
      if (m > 0) byMissing.set(m, [...(byMissing.get(m) ?? []), i]);
    });
    for (const [m, idx] of byMissing) {
      const got = await this.inner.generate(
        idx.map((i) => inputs[i]!),
        { ...params, n: m },
      );
      idx.forEach((i, t) => {
        const fresh = got[t] ?? [];
        let f = 0;
        out[i]!.forEach((g, j) => {
          if (g) return;
          const ng = fresh[f++];
          if (!ng) throw new Error(`${this.inner.name}: returned ${fresh.length} samples, expected ${m}`);
          out[i]![j] = ng;
          this.cache.put(keys[i]![j]!, ng);
          this.stats.generated++;
        });
      });
    }
    return out as Generation[][];
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
