import { test, before } from "node:test";
import assert from "node:assert/strict";
import { loadLanguage, type LangId } from "../../src/lang/index.js";
import { validateDoc } from "../../src/similarity/docformat.js";
import { detectLeak, docCodeOverlap, gappedChains, identifierRarity } from "../../src/similarity/leak.js";
import { LEAK_KINDS, leakingDoc } from "../../src/similarity/leakgen.js";

before(async () => {
  for (const l of ["python", "ruby", "go", "javascript"] as const) await loadLanguage(l);
});

const PY = `def merge_intervals(intervals, min_gap):
    ordered = sorted(intervals, key=lambda iv: iv[0])
    merged_spans = []
    for start, stop in ordered:
        if merged_spans and start - merged_spans[-1][1] <= min_gap:
            merged_spans[-1][1] = max(merged_spans[-1][1], stop)
        else:
            merged_spans.append([start, stop])
    total_len = sum(hi - lo for lo, hi in merged_spans)
    return merged_spans, total_len
`;
const RB = `def word_histogram(text, min_len)
  counts_by_word = Hash.new(0)
  text.downcase.scan(/[a-z']+/) do |tok|
    next if tok.length < min_len
    counts_by_word[tok] += 1
  end
  ranked_pairs = counts_by_word.sort_by { |w, c| [-c, w] }
  ranked_pairs.first(10).map { |w, c| "#{w}: #{c}" }
end
`;
const GO = `func ClampAll(xs []int, lo, hi int) (clamped []int, changedCount int) {
	clamped = make([]int, 0, len(xs))
	for _, x := range xs {
		y := x
		if y < lo {
			y = lo
		} else if y > hi {
			y = hi
		}
		if y != x {
			changedCount++
		}
		clamped = append(clamped, y)
	}
	return clamped, changedCount
}
`;
const CODES: Array<[LangId, string]> = [
  ["python", PY],
  ["ruby", RB],
  ["go", GO],
];

test("every format-valid leak kind is generated deterministically, passes validateDoc and is caught (Python, Ruby, Go)", () => {
  for (const [lang, code] of CODES) {
    for (const kind of LEAK_KINDS) {
      const doc = leakingDoc(code, lang, kind);
      assert.ok(doc, `${lang}/${kind}: no document`);
      assert.equal(leakingDoc(code, lang, kind), doc, `${lang}/${kind}: not deterministic`);
      assert.deepEqual(
        validateDoc(doc).violations,
        [],
        `${lang}/${kind}: the leak should pass the format check\n${doc}`,
      );
      const r = detectLeak(doc, code, lang);
      assert.equal(r.leaked, true, `${lang}/${kind} not caught:\n${doc}\n${JSON.stringify(r)}`);
      assert.ok(r.reasons.length > 0);
    }
  }
});

test("interleaved filler words: the old run signal misses them, the gapped chains cover the body", () => {
  const doc = leakingDoc(PY, "python", "interleave")!;
  const r = detectLeak(doc, PY, "python");
  assert.equal(r.tokenFraction < 0.25, true, "no run of 6 consecutive code tokens survives the fillers");
  assert.ok(r.gappedFraction > 0.9, JSON.stringify(r));
  assert.ok(r.longestChain > 10);
});

test("a copied first fifth of the body and 3-5 token fragments are caught; the same prose without them is not", () => {
  const prefix =
    "Merge overlapping spans.\n\nIt starts with ordered = sorted ( intervals , key = lambda iv : iv [ 0 ] ) merged_spans = [ ] .";
  const frag =
    "Merge overlapping spans.\n\nIt keeps merged_spans [ - 1 ] [ 1 ] and then start - merged_spans, and next sum ( hi - lo.";
  const clean =
    "Merge overlapping spans.\n\nSpans closer than min_gap are joined; returns the merged spans and their total length.";
  for (const d of [prefix, frag, clean]) assert.deepEqual(validateDoc(d).violations, [], d);
  assert.equal(detectLeak(prefix, PY, "python").leaked, true);
  assert.equal(detectLeak(frag, PY, "python").leaked, true, JSON.stringify(detectLeak(frag, PY, "python")));
  const c = detectLeak(clean, PY, "python");
  assert.equal(c.leaked, false, JSON.stringify(c));
});

test("identifier and operator sequences: listing the body's unusual names in order is a leak", () => {
  const ids =
    "Summarise the spans.\n\nIt works with ordered, sorted, intervals, merged_spans, start, stop, merged_spans, total_len.";
  const r = detectLeak(ids, PY, "python");
  assert.equal(r.leaked, true, JSON.stringify(r));
  assert.ok(r.rareIdentifierShare > 0.5 || r.identFraction >= 0.5);
});

test("honest documentation passes: naming the function, its parameters and a few of its words is allowed", () => {
  const honest: Array<[LangId, string, string]> = [
    [
      "python",
      PY,
      "Merge overlapping intervals.\n\nIntervals are sorted by start; two intervals whose gap is at most min_gap\nare joined.\n\nParameters:\n  intervals: pairs of start and stop\n  min_gap: the largest gap that still merges\n\nReturns:\n  the merged intervals and their total length\n\nExamples:\n  merge_intervals([[1, 2], [3, 5]], 1) -> ([[1, 5]], 4)",
    ],
    [
      "ruby",
      RB,
      "Count the words of a text and list the ten most frequent.\n\nWords shorter than min_len are skipped; ties are broken alphabetically.\n\nReturns:\n  up to ten strings of the form word: count",
    ],
    [
      "go",
      GO,
      "ClampAll limits every value of xs to the range from lo to hi.\n\nIt returns the clamped copy and how many values changed.",
    ],
    ["python", "def add(a, b):\n    return a + b\n", "Return a + b, the sum of a and b."],
  ];
  for (const [lang, code, doc] of honest) {
    assert.deepEqual(validateDoc(doc).violations, [], doc);
    const r = detectLeak(doc, code, lang);
    assert.equal(r.leaked, false, `${lang}: ${doc}\n${JSON.stringify(r)}`);
    assert.ok(r.gappedFraction < 0.12, JSON.stringify(r));
  }
});

test("gappedChains tolerates inserted words but not scattered matches", () => {
  const code = ["a", "=", "b", "+", "c"];
  const w = Float64Array.from([1, 1, 1, 1, 1]);
  const index = new Map<string, number[]>(code.map((t, i) => [t, [i]]));
  const withFiller = gappedChains(code, w, index, ["a", "then", "=", "b", "so", "and", "+", "c"], 1, 2, 3, 3);
  assert.deepEqual([...withFiller.covered], [1, 1, 1, 1, 1]);
  assert.equal(withFiller.best, 5);
  const tooFar = gappedChains(code, w, index, ["a", "x", "y", "z", "w", "=", "q", "r", "s", "t", "b"], 1, 2, 3, 3);
  assert.deepEqual([...tooFar.covered], [0, 0, 0, 0, 0]);
  assert.equal(tooFar.best, 1);
});

test("identifierRarity: code-shaped names are rare, common documentation words are not", () => {
  assert.equal(identifierRarity("merged_spans"), 1);
  assert.equal(identifierRarity("changedCount"), 1);
  assert.ok(identifierRarity("the") < 0.5);
  assert.ok(identifierRarity("value") < 0.5);
});

test("docCodeOverlap: pasted code overlaps fully, honest prose not at all, empty input gives zeros", () => {
  const pasted = docCodeOverlap(`Merge spans.\n\n${PY.split("\n").slice(1).join("\n")}`, PY, "python");
  assert.ok(pasted.code3 > 0.95 && pasted.code4 > 0.95, JSON.stringify(pasted));
  assert.ok(pasted.doc4 > 0.8);
  const honest = docCodeOverlap("Merge overlapping intervals and report their total length.", PY, "python");
  assert.equal(honest.code3, 0);
  assert.equal(honest.doc4, 0);
  assert.ok(honest.docNgrams3 > 0 && honest.codeNgrams3 > 0);
  assert.deepEqual(docCodeOverlap("", PY, "python"), {
    doc3: 0,
    doc4: 0,
    code3: 0,
    code4: 0,
    docNgrams3: 0,
    codeNgrams3: 0,
  });
});
