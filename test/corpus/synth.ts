/**
 * A deterministic generator of synthetic source files (Python, Go, Ruby) as JSONL records, for streaming and
 * throughput tests: every function is different (random names, constants and statement mixes), about a third
 * carry documentation, and ~5 % of functions repeat an earlier one exactly so deduplication has work to do.
 */
import fs from "node:fs";
import { once } from "node:events";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "alpha beta gamma delta value total count index offset limit buffer queue node tree item entry record " +
  "name path size width height depth score weight scale factor ratio delta step start stop result output " +
  "source target cache token chunk block frame field label state mode flag level rank group batch"
).split(" ");

export class Synth {
  private readonly rnd: () => number;
  /** Fraction of records that are source files; the rest are crawl noise (data, docs, vendored, lockfiles). */
  readonly codeFraction: number;
  private readonly recent: Record<string, string[]> = { python: [], go: [], ruby: [] };
  private n = 0;
  constructor(seed = 1, codeFraction = 1) {
    this.rnd = mulberry32(seed);
    this.codeFraction = codeFraction;
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rnd() * xs.length)]!;
  }
  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  private ident(): string {
    return `${this.pick(WORDS)}_${this.pick(WORDS)}${this.int(0, 999)}`;
  }
  private python(): string {
    const name = this.ident();
    const args = Array.from({ length: this.int(1, 3) }, () => this.ident());
    const lines: string[] = [`def ${name}(${args.join(", ")}):`];
    if (this.rnd() < 0.35)
      lines.push(`    """Compute the ${this.pick(WORDS)} of ${args[0]} scaled by ${this.int(2, 99)} and return it."""`);
    const vars = [...args];
    for (let i = 0, n = this.int(3, 14); i < n; i++) {
      const v = this.ident();
      const a = this.pick(vars);
      const kind = this.int(0, 3);
      if (kind === 0) lines.push(`    ${v} = ${a} * ${this.int(1, 500)} + ${this.pick(vars)}`);
      else if (kind === 1)
        lines.push(`    ${v} = [x + ${this.int(1, 50)} for x in range(${this.int(2, 90)}) if x % ${this.int(2, 9)}]`);
      else if (kind === 2)
        lines.push(
          `    if ${a} > ${this.int(0, 1000)}:\n        ${v} = ${a} - ${this.int(1, 77)}\n    else:\n        ${v} = ${this.int(0, 9)}`,
        );
      else lines.push(`    ${v} = str(${a}).replace("${this.pick(WORDS)}", "${this.pick(WORDS)}")`);
      vars.push(v);
    }
    lines.push(`    return ${this.pick(vars)}`);
    return lines.join("\n") + "\n";
  }
  private go(): string {
    const name = this.ident().replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
    const lines: string[] = [];
    if (this.rnd() < 0.35)
      lines.push(
        `// ${name} folds the ${this.pick(WORDS)} values into a ${this.pick(WORDS)} of width ${this.int(2, 64)}.`,
      );
    lines.push(`func ${name}(xs []int, k int) int {`, `\tacc := ${this.int(0, 100)}`);
    for (let i = 0, n = this.int(2, 10); i < n; i++) {
      if (this.rnd() < 0.5)
        lines.push(`\tfor i, x := range xs {`, `\t\tacc += x*${this.int(1, 300)} - i%${this.int(2, 17)}`, `\t}`);
      else lines.push(`\tif acc > ${this.int(10, 9000)} {`, `\t\tacc = acc/${this.int(2, 9)} + k`, `\t}`);
    }
    lines.push(`\treturn acc`, `}`);
    return lines.join("\n") + "\n";
  }
  private ruby(): string {
    const name = this.ident();
    const lines: string[] = [];
    if (this.rnd() < 0.35)
      lines.push(`# Returns the ${this.pick(WORDS)} of the ${this.pick(WORDS)} list, capped at ${this.int(5, 500)}.`);
    lines.push(`def ${name}(items, limit = ${this.int(1, 90)})`, `  total = ${this.int(0, 50)}`);
    for (let i = 0, n = this.int(2, 10); i < n; i++) {
      if (this.rnd() < 0.5)
        lines.push(
          `  items.each_with_index do |x, i|`,
          `    total += x * ${this.int(1, 300)} - i * ${this.int(2, 17)}`,
          `  end`,
        );
      else lines.push(`  total = [total, limit * ${this.int(2, 40)}].min if total > ${this.int(10, 9000)}`);
    }
    lines.push(`  total`, `end`);
    return lines.join("\n") + "\n";
  }
  private fn(lang: "python" | "go" | "ruby"): string {
    const recent = this.recent[lang]!;
    if (recent.length > 20 && this.rnd() < 0.05) return this.pick(recent);
    const f = lang === "python" ? this.python() : lang === "go" ? this.go() : this.ruby();
    if (recent.length < 200) recent.push(f);
    else recent[this.int(0, 199)] = f;
    return f;
  }
  /** A non-code file as found in real repositories: data, prose, vendored code, lockfiles, minified bundles. */
  private noise(k: number): string {
    const kind = k % 5;
    const rows = Array.from(
      { length: this.int(200, 1200) },
      () => `${this.ident()},${this.int(0, 1e6)},${this.pick(WORDS)}`,
    );
    if (kind === 0)
      return JSON.stringify({ repo: `synth-${k % 64}`, path: `data/table_${k}.csv`, content: rows.join("\n") });
    if (kind === 1)
      return JSON.stringify({
        repo: `synth-${k % 64}`,
        path: `docs/notes_${k}.md`,
        content: rows.map((r) => `- ${r.replace(/,/g, " ")}`).join("\n"),
      });
    if (kind === 2)
      return JSON.stringify({
        repo: `synth-${k % 64}`,
        path: `vendor/lib${k}/mod.py`,
        content: Array.from({ length: 20 }, () => this.python()).join("\n\n"),
      });
    if (kind === 3)
      return JSON.stringify({
        repo: `synth-${k % 64}`,
        path: `pkg${k}/package-lock.json`,
        content: JSON.stringify({ deps: rows }),
      });
    return JSON.stringify({ repo: `synth-${k % 64}`, path: `web/bundle_${k}.min.js`, content: rows.join(";") });
  }

  /** The next JSONL line (without newline). */
  record(): string {
    const k = this.n++;
    if (this.codeFraction < 1 && this.rnd() >= this.codeFraction) return this.noise(k);
    const lang = (["python", "go", "ruby"] as const)[k % 3]!;
    const ext = lang === "python" ? "py" : lang === "go" ? "go" : "rb";
    const head = lang === "go" ? `package p${k % 50}\n\n` : "";
    const fns = Array.from({ length: this.int(4, 12) }, () => this.fn(lang));
    return JSON.stringify({
      repo: `synth-${k % 64}`,
      path: `pkg${k % 101}/mod_${k}.${ext}`,
      content: head + fns.join("\n\n"),
    });
  }
}

/** Writes about `bytes` of JSONL to `file`, streaming (with back-pressure). Returns the bytes written. */
export async function writeSynthJsonl(file: string, bytes: number, seed = 1, codeFraction = 1): Promise<number> {
  const s = new Synth(seed, codeFraction);
  const out = fs.createWriteStream(file);
  let written = 0;
  while (written < bytes) {
    const line = s.record() + "\n";
    written += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
  return written;
}
