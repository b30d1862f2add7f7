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

// ---- honest documentation that states constants or shows usage examples (written for this test) ----

const PY_PARSE = `def parse_switch(word):
    w = word.strip().lower()
    if w in ('enabled', 'active', 'up', 'yes', 'hi', '1'):
        return True
    if w in ('disabled', 'inactive', 'down', 'no', 'lo', '0'):
        return False
    raise KeyError("unknown switch word %r" % (word,))
`;

test("a documentation that lists the accepted literal values is not a leak; the copied body still is", () => {
  const doc =
    "Read an on/off word.\n\nAccepted on words are 'enabled', 'active', 'up', 'yes', 'hi', '1'; off words are\n" +
    "'disabled', 'inactive', 'down', 'no', 'lo', '0'. Raises KeyError for anything else.\n";
  assert.ok(validateDoc(doc).valid);
  const r = detectLeak(doc, PY_PARSE, "python");
  assert.equal(r.leaked, false, JSON.stringify(r.reasons));
  const pasted = detectLeak(`Read an on/off word.\n\n${PY_PARSE.split("\n").slice(1).join("\n")}`, PY_PARSE, "python");
  assert.equal(pasted.leaked, true);
});

const RB_WATCH = `def self.watch_dir(dir, interval)
  seen = Dir.children(dir).sort
  loop do
    sleep interval
    now = Dir.children(dir).sort
    added = now - seen
    yield added unless added.empty?
    seen = now
  end
end
`;

test("a usage example that calls the function is not a leak; the body passed off as an example still is", () => {
  const doc =
    "Watch a directory and report new entries.\n\nThe block receives the names added since the previous poll. It\n" +
    "never returns; stop it with break or an exception.\n\nLog incoming files.\n" +
    'Watcher.watch_dir(Rails.root.join("tmp"), 3) {|added| Queue.push(added.sort) unless added.empty? }\n';
  assert.ok(validateDoc(doc).valid, JSON.stringify(validateDoc(doc).violations));
  const honest = detectLeak(doc, RB_WATCH, "ruby");
  assert.equal(honest.leaked, false, JSON.stringify(honest.reasons));
  // (main's detector flagged it: `added.sort ... unless added.empty?` is a gapped chain of the body)
  // the same prose, the "example" line carrying the body's tokens in order: read in full, caught
  const body = RB_WATCH.split("\n").slice(1, -2).join(" ").replace(/\s+/g, " ");
  const disguised = doc.replace(/Watcher\.watch_dir\(.*\n$/, `watch_dir(dir, interval) { ${body} }\n`);
  assert.notEqual(disguised, doc);
  assert.equal(detectLeak(disguised, RB_WATCH, "ruby").leaked, true);
  // every format-valid leak kind of this function is still caught
  for (const k of LEAK_KINDS) {
    const d = leakingDoc(RB_WATCH, "ruby", k);
    if (d) assert.equal(detectLeak(d, RB_WATCH, "ruby").leaked, true, k);
  }
});

test("a recursive function's body in a line that calls the function is never skipped as a usage example", () => {
  const code =
    "def tri(n):\n    if n <= 2:\n        return n * 3 - 1\n    return tri(n - 1) + tri(n - 2) * 2 - tri(n - 3) // 4\n";
  const doc =
    "Compute the sequence.\n\nThe value follows the rule below for n above two, with small values given directly.\n" +
    "tri(n - 1) + tri(n - 2) * 2 - tri(n - 3) // 4\n";
  assert.equal(detectLeak(doc, code, "python").leaked, true);
});
