/** Writes a small built-corpus directory (train/validation/test shards) of valid records for pipeline tests. */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const h = (s: string, n: number) => crypto.createHash("sha256").update(s).digest("hex").slice(0, n);

export function record(i: number, split: "train" | "validation" | "test", withDoc: boolean, lang = "python") {
  const name = `scale_${split}_${i}`;
  const code =
    lang === "python"
      ? `def ${name}(values, factor):\n    out = []\n    for v in values:\n        out.append(v * factor + ${i})\n    return out\n`
      : `func Scale${i}(values []int, factor int) []int {\n\tout := []int{}\n\tfor _, v := range values {\n\t\tout = append(out, v*factor+${i})\n\t}\n\treturn out\n}\n`;
  return {
    id: h(`${split}${i}${lang}`, 16),
    lang,
    repo: "fixture",
    path: `${split}/${i}.${lang === "python" ? "py" : "go"}`,
    name,
    class_name: null,
    kind: "function",
    signature: code.split("\n")[0]!,
    code,
    doc: withDoc
      ? `Scale every value by a factor and shift it by ${i}.\n\nArgs:\n    values: the numbers\n    factor: the multiplier\n\nReturns:\n    a new list`
      : null,
    start_line: 1,
    end_line: 5,
    n_lines: 5,
    n_tokens: 30,
    hashes: { exact: h(`e${split}${i}${lang}`, 13), code_sha256: h(code, 16), split_key: h(`k${split}${i}`, 16) },
    split,
    license: "MIT",
  };
}

export function writeCorpus(
  dir: string,
  counts: { train: number; validation: number; test: number },
  langs = ["python"],
): void {
  for (const split of ["train", "validation", "test"] as const) {
    fs.mkdirSync(path.join(dir, split), { recursive: true });
    const lines: string[] = [];
    for (const lang of langs)
      for (let i = 0; i < counts[split]; i++) lines.push(JSON.stringify(record(i, split, i % 3 !== 2, lang)));
    fs.writeFileSync(path.join(dir, split, "shard-00000.jsonl"), lines.join("\n") + (lines.length ? "\n" : ""));
  }
}
