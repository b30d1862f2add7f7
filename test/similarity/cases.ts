/**
 * Per-language test programs for the similarity metrics: a reference function and hand-written variants
 * that keep its meaning (consistent renaming, reordering of independent statements) or break it (flipped
 * comparison, deleted statement, swapped arguments).
 */
import type { LangId } from "../../src/lang/index.js";

export interface Case {
  lang: LangId;
  ref: string;
  renamed: string;
  reordered: string;
  flipped: string;
  deleted: string;
  swapped: string;
}

export const CASES: Case[] = [
  {
    lang: "python",
    ref: `def score(items, limit):
    total = 0
    count = 0
    for it in items:
        if it.value < limit:
            total += it.value * 2
        count += 1
    mean = total / max(count, 1)
    return clamp(mean, limit)
`,
    renamed: `def score(xs, cap):
    acc = 0
    n = 0
    for x in xs:
        if x.value < cap:
            acc += x.value * 2
        n += 1
    avg = acc / max(n, 1)
    return clamp(avg, cap)
`,
    reordered: `def score(items, limit):
    count = 0
    total = 0
    for it in items:
        if it.value < limit:
            total += it.value * 2
        count += 1
    mean = total / max(count, 1)
    return clamp(mean, limit)
`,
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "javascript",
    ref: `function score(items, limit) {
  let total = 0;
  let count = 0;
  for (const it of items) {
    if (it.value < limit) {
      total += it.value * 2;
    }
    count += 1;
  }
  const mean = total / Math.max(count, 1);
  return clamp(mean, limit);
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "typescript",
    ref: `function score(items: Item[], limit: number): number {
  let total = 0;
  let count = 0;
  for (const it of items) {
    if (it.value < limit) {
      total += it.value * 2;
    }
    count += 1;
  }
  const mean: number = total / Math.max(count, 1);
  return clamp(mean, limit);
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "java",
    ref: `class S {
  static double score(int[] items, int limit) {
    int total = 0;
    int count = 0;
    for (int it : items) {
      if (it < limit) {
        total += it * 2;
      }
      count += 1;
    }
    double mean = total / Math.max(count, 1);
    return clamp(mean, limit);
  }
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "go",
    ref: `package p

func Score(items []int, limit int) float64 {
	total := 0
	count := 0
	for _, it := range items {
		if it < limit {
			total += it * 2
		}
		count += 1
	}
	mean := float64(total) / max(count, 1)
	return clamp(mean, limit)
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "ruby",
    ref: `def score(items, limit)
  total = 0
  count = 0
  items.each do |it|
    if it.value < limit
      total += it.value * 2
    end
    count += 1
  end
  mean = total / [count, 1].max
  clamp(mean, limit)
end
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "lua",
    ref: `local function score(items, limit)
  local total = 0
  local count = 0
  for _, it in ipairs(items) do
    if it.value < limit then
      total = total + it.value * 2
    end
    count = count + 1
  end
  local mean = total / math.max(count, 1)
  return clamp(mean, limit)
end
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "c",
    ref: `double score(const int *items, int n, int limit) {
    int total = 0;
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (items[i] < limit) {
            total += items[i] * 2;
        }
        count += 1;
    }
    double mean = total / fmax(count, 1);
    return clamp(mean, limit);
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "cpp",
    ref: `double score(const std::vector<int> &items, int limit) {
    int total = 0;
    int count = 0;
    for (int it : items) {
        if (it < limit) {
            total += it * 2;
        }
        count += 1;
    }
    double mean = total / std::max(count, 1);
    return clamp(mean, limit);
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
  {
    lang: "rust",
    ref: `fn score(items: &[i32], limit: i32) -> f64 {
    let mut total = 0;
    let mut count = 0;
    for it in items {
        if *it < limit {
            total += it * 2;
        }
        count += 1;
    }
    let mean = total as f64 / max(count, 1) as f64;
    return clamp(mean, limit);
}
`,
    renamed: "",
    reordered: "",
    flipped: "",
    deleted: "",
    swapped: "",
  },
];

/** Derives the variants mechanically from the reference text (the shapes above are shared on purpose). */
export function fillVariants(c: Case): Case {
  const names: Array<[RegExp, string]> = [
    [/\btotal\b/g, "acc"],
    [/\bcount\b/g, "num"],
    [/\bmean\b/g, "avg"],
    [/\bitems\b/g, "values"],
    [/\bit\b/g, "elem"],
    [/\blimit\b/g, "cap"],
  ];
  let renamed = c.renamed || c.ref;
  if (!c.renamed) for (const [re, to] of names) renamed = renamed.replace(re, to);
  const lines = c.ref.split("\n");
  const ti = lines.findIndex((l) => /\btotal\b/.test(l) && /= 0|:= 0/.test(l));
  const ci = lines.findIndex((l) => /\bcount\b/.test(l) && /= 0|:= 0/.test(l));
  const sw = lines.slice();
  [sw[ti], sw[ci]] = [sw[ci]!, sw[ti]!];
  const reordered = c.reordered || sw.join("\n");
  const flipped = c.ref.replace(/< limit/, "> limit");
  const deleted = lines.filter((l) => !/count (\+= 1|= count \+ 1)/.test(l)).join("\n");
  const swapped = c.ref.replace(/clamp\(mean, limit\)/, "clamp(limit, mean)");
  return { ...c, renamed, reordered, flipped, deleted, swapped };
}

/** An unrelated function of similar length, per language. */
export const UNRELATED: Partial<Record<LangId, string>> = {
  python: `def parse_header(line, sep):
    parts = line.split(sep)
    key = parts[0].strip()
    if not key:
        raise ValueError("empty key")
    value = sep.join(parts[1:]).strip()
    out = {}
    out[key.lower()] = value
    return out
`,
  javascript: `function parseHeader(line, sep) {
  const parts = line.split(sep);
  const key = parts[0].trim();
  if (!key) {
    throw new Error("empty key");
  }
  const value = parts.slice(1).join(sep).trim();
  const out = {};
  out[key.toLowerCase()] = value;
  return out;
}
`,
  go: `package p

func ParseHeader(line string, sep string) (map[string]string, error) {
	parts := strings.Split(line, sep)
	key := strings.TrimSpace(parts[0])
	if key == "" {
		return nil, errors.New("empty key")
	}
	value := strings.Join(parts[1:], sep)
	out := map[string]string{}
	out[strings.ToLower(key)] = value
	return out, nil
}
`,
};
