/**
 * A TinyStories-style generated set of small pure functions in Python, Ruby and Go, with natural documentation:
 * a fixed list of tasks (sums, counts, extremes, clamps, string checks, searches, number theory, ...), each
 * rendered with varied names, parameter names, constants, structure (loop / comprehension / while / early
 * return) and several phrasings of its docstring / doc comment. Deterministic for a seed (src/core/rng).
 *
 * Output: the corpus pipeline's JSONL input records (`{path, lang, repo, license, content}`, one function per
 * file), so the slice goes through the same filters, decontamination against every benchmark, dedup and splits
 * as any corpus (scripts/build-tinyfuncs.sh). Kept apart from every benchmark by that decontamination.
 */
import { Rng } from "../core/rng.js";

export type TinyLang = "python" | "ruby" | "go";
export const TINY_LANGS: readonly TinyLang[] = ["python", "ruby", "go"];

export interface TinyFile {
  path: string;
  lang: TinyLang;
  repo: string;
  license: string;
  content: string;
}

interface Ctx {
  rng: Rng;
  pick<T>(xs: readonly T[]): T;
  k: number;
}

/** One task: names to choose from, docstring phrasings, and a renderer per language (body only; doc added by caller). */
interface Task {
  names: readonly string[];
  params: readonly (readonly string[])[];
  /** Docstring phrasings; `{k}` = the constant, `{a}`, `{b}` = parameter names. */
  docs: readonly string[];
  kRange: [number, number];
  render: Record<TinyLang, (name: string, a: string, b: string, k: number, variant: number) => string>;
}

const ISEVEN: Record<TinyLang, (x: string) => string> = {
  python: (x) => `${x} % 2 == 0`,
  ruby: (x) => `${x}.even?`,
  go: (x) => `${x}%2 == 0`,
};

const TASKS: readonly Task[] = [
  {
    names: ["sum_even", "total_of_evens", "add_even_numbers", "even_sum"],
    params: [["nums"], ["values"], ["numbers"], ["items"]],
    docs: [
      "Return the sum of the even numbers in {a}.",
      "Add up every even value in {a} and return the total.",
      "Sum only the even entries of the list {a}.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return sum(x for x in ${a} if x % 2 == 0)\n`
          : `def ${n}(${a}):\n    total = 0\n    for x in ${a}:\n        if x % 2 == 0:\n            total += x\n    return total\n`,
      ruby: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a})\n  ${a}.select(&:even?).sum\nend\n`
          : `def ${n}(${a})\n  total = 0\n  ${a}.each do |x|\n    total += x if ${ISEVEN.ruby("x")}\n  end\n  total\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} []int) int {\n\ttotal := 0\n\tfor _, x := range ${a} {\n\t\tif ${ISEVEN.go("x")} {\n\t\t\ttotal += x\n\t\t}\n\t}\n\treturn total\n}\n`,
    },
  },
  {
    names: ["count_above", "how_many_greater", "count_larger_than", "num_over"],
    params: [
      ["values", "limit"],
      ["nums", "threshold"],
      ["xs", "bound"],
      ["scores", "cutoff"],
    ],
    docs: [
      "Count how many elements of {a} are greater than {b}.",
      "Return the number of items in {a} that exceed {b}.",
      "How many values in {a} are strictly above {b}.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, b, _k, v) =>
        v % 2
          ? `def ${n}(${a}, ${b}):\n    return len([x for x in ${a} if x > ${b}])\n`
          : `def ${n}(${a}, ${b}):\n    count = 0\n    for x in ${a}:\n        if x > ${b}:\n            count += 1\n    return count\n`,
      ruby: (n, a, b) => `def ${n}(${a}, ${b})\n  ${a}.count { |x| x > ${b} }\nend\n`,
      go: (n, a, b) =>
        `func ${goName(n)}(${a} []int, ${b} int) int {\n\tcount := 0\n\tfor _, x := range ${a} {\n\t\tif x > ${b} {\n\t\t\tcount++\n\t\t}\n\t}\n\treturn count\n}\n`,
    },
  },
  {
    names: ["clamp", "limit_to_range", "bound_value", "restrict"],
    params: [
      ["x", "low"],
      ["value", "lo"],
      ["n", "floor"],
    ],
    docs: [
      "Clamp {a} so it lies between {b} and {b} + {k}.",
      "Return {a} limited to the range from {b} to {b} plus {k}.",
      "Keep {a} inside [{b}, {b} + {k}]: smaller values become {b}, larger ones the upper end.",
    ],
    kRange: [3, 20],
    render: {
      python: (n, a, b, k, v) =>
        v % 2
          ? `def ${n}(${a}, ${b}):\n    return max(${b}, min(${a}, ${b} + ${k}))\n`
          : `def ${n}(${a}, ${b}):\n    if ${a} < ${b}:\n        return ${b}\n    if ${a} > ${b} + ${k}:\n        return ${b} + ${k}\n    return ${a}\n`,
      ruby: (n, a, b, k) =>
        `def ${n}(${a}, ${b})\n  return ${b} if ${a} < ${b}\n  return ${b} + ${k} if ${a} > ${b} + ${k}\n  ${a}\nend\n`,
      go: (n, a, b, k) =>
        `func ${goName(n)}(${a} int, ${b} int) int {\n\tif ${a} < ${b} {\n\t\treturn ${b}\n\t}\n\tif ${a} > ${b}+${k} {\n\t\treturn ${b} + ${k}\n\t}\n\treturn ${a}\n}\n`,
    },
  },
  {
    names: ["count_vowels", "vowel_count", "number_of_vowels"],
    params: [["text"], ["s"], ["word"], ["sentence"]],
    docs: [
      "Count the vowels in {a}, ignoring case.",
      "Return how many characters of {a} are vowels (a, e, i, o, u).",
      "Number of vowel letters in the string {a}.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return sum(1 for ch in ${a}.lower() if ch in "aeiou")\n`
          : `def ${n}(${a}):\n    count = 0\n    for ch in ${a}.lower():\n        if ch in "aeiou":\n            count += 1\n    return count\n`,
      ruby: (n, a) => `def ${n}(${a})\n  ${a}.downcase.count("aeiou")\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} string) int {\n\tcount := 0\n\tfor _, ch := range strings.ToLower(${a}) {\n\t\tif strings.ContainsRune("aeiou", ch) {\n\t\t\tcount++\n\t\t}\n\t}\n\treturn count\n}\n`,
    },
  },
  {
    names: ["is_palindrome", "reads_same_backwards", "palindrome_check"],
    params: [["text"], ["s"], ["word"]],
    docs: [
      "Tell whether {a} reads the same forwards and backwards.",
      "Return true when the string {a} is a palindrome.",
      "Check if {a} equals its own reverse.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return ${a} == ${a}[::-1]\n`
          : `def ${n}(${a}):\n    i, j = 0, len(${a}) - 1\n    while i < j:\n        if ${a}[i] != ${a}[j]:\n            return False\n        i += 1\n        j -= 1\n    return True\n`,
      ruby: (n, a) => `def ${n}(${a})\n  ${a} == ${a}.reverse\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} string) bool {\n\tfor i, j := 0, len(${a})-1; i < j; i, j = i+1, j-1 {\n\t\tif ${a}[i] != ${a}[j] {\n\t\t\treturn false\n\t\t}\n\t}\n\treturn true\n}\n`,
    },
  },
  {
    names: ["index_of", "find_position", "first_index", "locate"],
    params: [
      ["items", "target"],
      ["values", "wanted"],
      ["xs", "needle"],
    ],
    docs: [
      "Return the index of the first occurrence of {b} in {a}, or -1 when it is absent.",
      "Find where {b} first appears in {a}; -1 if it never does.",
      "Position of {b} in the list {a} (the first match), else -1.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, b) =>
        `def ${n}(${a}, ${b}):\n    for i, x in enumerate(${a}):\n        if x == ${b}:\n            return i\n    return -1\n`,
      ruby: (n, a, b) =>
        `def ${n}(${a}, ${b})\n  ${a}.each_with_index do |x, i|\n    return i if x == ${b}\n  end\n  -1\nend\n`,
      go: (n, a, b) =>
        `func ${goName(n)}(${a} []int, ${b} int) int {\n\tfor i, x := range ${a} {\n\t\tif x == ${b} {\n\t\t\treturn i\n\t\t}\n\t}\n\treturn -1\n}\n`,
    },
  },
  {
    names: ["gcd", "greatest_common_divisor", "common_factor"],
    params: [
      ["a", "b"],
      ["x", "y"],
      ["m", "n"],
    ],
    docs: [
      "Greatest common divisor of {a} and {b} (Euclid's algorithm).",
      "Return the largest number that divides both {a} and {b}.",
      "Compute gcd({a}, {b}) by repeated remainders.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, b) =>
        `def ${n}(${a}, ${b}):\n    while ${b}:\n        ${a}, ${b} = ${b}, ${a} % ${b}\n    return abs(${a})\n`,
      ruby: (n, a, b) =>
        `def ${n}(${a}, ${b})\n  while ${b} != 0\n    ${a}, ${b} = ${b}, ${a} % ${b}\n  end\n  ${a}.abs\nend\n`,
      go: (n, a, b) =>
        `func ${goName(n)}(${a} int, ${b} int) int {\n\tfor ${b} != 0 {\n\t\t${a}, ${b} = ${b}, ${a}%${b}\n\t}\n\tif ${a} < 0 {\n\t\treturn -${a}\n\t}\n\treturn ${a}\n}\n`,
    },
  },
  {
    names: ["sign_label", "describe_sign", "classify_number"],
    params: [["x"], ["value"], ["n"]],
    docs: [
      'Describe the sign of {a}: "negative", "zero" or "positive".',
      "Return a word for the sign of the number {a}.",
      "Label {a} as negative, zero or positive.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a) =>
        `def ${n}(${a}):\n    if ${a} < 0:\n        return "negative"\n    if ${a} == 0:\n        return "zero"\n    return "positive"\n`,
      ruby: (n, a) =>
        `def ${n}(${a})\n  return "negative" if ${a} < 0\n  return "zero" if ${a} == 0\n  "positive"\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} int) string {\n\tif ${a} < 0 {\n\t\treturn "negative"\n\t}\n\tif ${a} == 0 {\n\t\treturn "zero"\n\t}\n\treturn "positive"\n}\n`,
    },
  },
  {
    names: ["scale_all", "multiply_each", "times_k", "scaled"],
    params: [["values"], ["nums"], ["xs"]],
    docs: [
      "Return a new list with every element of {a} multiplied by {k}.",
      "Multiply each value in {a} by {k} and return the results in order.",
      "Scale the list {a} by the factor {k}.",
    ],
    kRange: [2, 9],
    render: {
      python: (n, a, _b, k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return [x * ${k} for x in ${a}]\n`
          : `def ${n}(${a}):\n    out = []\n    for x in ${a}:\n        out.append(x * ${k})\n    return out\n`,
      ruby: (n, a, _b, k) => `def ${n}(${a})\n  ${a}.map { |x| x * ${k} }\nend\n`,
      go: (n, a, _b, k) =>
        `func ${goName(n)}(${a} []int) []int {\n\tout := make([]int, 0, len(${a}))\n\tfor _, x := range ${a} {\n\t\tout = append(out, x*${k})\n\t}\n\treturn out\n}\n`,
    },
  },
  {
    names: ["largest", "max_value", "biggest_item", "maximum_or_default"],
    params: [["nums"], ["values"], ["scores"]],
    docs: [
      "Return the largest number in {a}, or {k} when {a} is empty.",
      "The maximum of {a}; an empty list gives {k}.",
      "Find the biggest element of {a} (default {k} for no elements).",
    ],
    kRange: [0, 5],
    render: {
      python: (n, a, _b, k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return max(${a}) if ${a} else ${k}\n`
          : `def ${n}(${a}):\n    if not ${a}:\n        return ${k}\n    best = ${a}[0]\n    for x in ${a}[1:]:\n        if x > best:\n            best = x\n    return best\n`,
      ruby: (n, a, _b, k) => `def ${n}(${a})\n  return ${k} if ${a}.empty?\n  ${a}.max\nend\n`,
      go: (n, a, _b, k) =>
        `func ${goName(n)}(${a} []int) int {\n\tif len(${a}) == 0 {\n\t\treturn ${k}\n\t}\n\tbest := ${a}[0]\n\tfor _, x := range ${a}[1:] {\n\t\tif x > best {\n\t\t\tbest = x\n\t\t}\n\t}\n\treturn best\n}\n`,
    },
  },
  {
    names: ["digit_sum", "sum_of_digits", "add_digits"],
    params: [["n"], ["number"], ["value"]],
    docs: [
      "Sum the decimal digits of {a} (its absolute value).",
      "Return the total of the digits of the integer {a}.",
      "Add together every digit of {a}, ignoring the sign.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return sum(int(d) for d in str(abs(${a})))\n`
          : `def ${n}(${a}):\n    ${a} = abs(${a})\n    total = 0\n    while ${a} > 0:\n        total += ${a} % 10\n        ${a} //= 10\n    return total\n`,
      ruby: (n, a) => `def ${n}(${a})\n  ${a}.abs.digits.sum\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} int) int {\n\tif ${a} < 0 {\n\t\t${a} = -${a}\n\t}\n\ttotal := 0\n\tfor ${a} > 0 {\n\t\ttotal += ${a} % 10\n\t\t${a} /= 10\n\t}\n\treturn total\n}\n`,
    },
  },
  {
    names: ["sum_up_to", "triangular", "total_to_n"],
    params: [["n"], ["limit"], ["count"]],
    docs: [
      "Return 1 + 2 + ... + {a}, or 0 when {a} is not positive.",
      "Sum of the whole numbers from 1 through {a}.",
      "Add every integer from 1 up to {a} inclusive.",
    ],
    kRange: [0, 0],
    render: {
      python: (n, a, _b, _k, v) =>
        v % 2
          ? `def ${n}(${a}):\n    return sum(range(1, ${a} + 1))\n`
          : `def ${n}(${a}):\n    total = 0\n    i = 1\n    while i <= ${a}:\n        total += i\n        i += 1\n    return total\n`,
      ruby: (n, a) => `def ${n}(${a})\n  (1..${a}).sum\nend\n`,
      go: (n, a) =>
        `func ${goName(n)}(${a} int) int {\n\ttotal := 0\n\tfor i := 1; i <= ${a}; i++ {\n\t\ttotal += i\n\t}\n\treturn total\n}\n`,
    },
  },
];

function goName(snake: string): string {
  return snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function docText(t: Task, c: Ctx, a: string, b: string, k: number): string {
  return c.pick(t.docs).replaceAll("{a}", a).replaceAll("{b}", b).replaceAll("{k}", String(k));
}

function withDoc(lang: TinyLang, code: string, doc: string): string {
  if (lang === "python") {
    const [head, ...rest] = code.split("\n");
    return `${head}\n    """${doc}"""\n${rest.join("\n")}`;
  }
  if (lang === "ruby") return `# ${doc}\n${code}`;
  const needsStrings = code.includes("strings.");
  return `package tiny\n\n${needsStrings ? 'import "strings"\n\n' : ""}// ${doc}\n${code}`;
}

/** `perLang` functions per language, deterministic for `seed`. Name suffixes keep files (and splits) distinct. */
export function generateTinyFunctions(opts: { seed?: number; perLang?: number } = {}): TinyFile[] {
  const rng = new Rng(opts.seed ?? 1);
  const perLang = opts.perLang ?? 300;
  const c: Ctx = { rng, pick: (xs) => xs[rng.int(xs.length)]!, k: 0 };
  const out: TinyFile[] = [];
  const ext: Record<TinyLang, string> = { python: "py", ruby: "rb", go: "go" };
  for (const lang of TINY_LANGS) {
    for (let i = 0; i < perLang; i++) {
      const t = TASKS[i % TASKS.length]!;
      const ps = c.pick(t.params);
      const a = ps[0]!,
        b = ps[1] ?? "k";
      const k = t.kRange[0] + rng.int(t.kRange[1] - t.kRange[0] + 1);
      const base = c.pick(t.names);
      const name = i < TASKS.length ? base : `${base}_${i}`;
      const variant = rng.int(2);
      const code = t.render[lang](name, a, b, k, variant);
      const doc = docText(t, c, a, b, k);
      out.push({
        path: `tiny/${lang}/${name}.${ext[lang]}`,
        lang,
        repo: "batcoder-tinyfuncs",
        license: "MIT",
        content: withDoc(lang, code, doc) + "\n",
      });
    }
  }
  return out;
}
