/**
 * Hand-written Python reference functions for the near-miss benchmark (written for this project; not taken from
 * any benchmark), each with semantics-preserving rewrites (labelled by the kind of rewrite) and a few
 * hand-picked inputs used, together with generated ones, to check every label by execution.
 */
import type { NearMissRef } from "./types.js";

export const PYTHON_REFS: NearMissRef[] = [
  {
    id: "py-count-vowels",
    entry: "count_vowels",
    code: `def count_vowels(text):
    total = 0
    for ch in text.lower():
        if ch in "aeiou":
            total += 1
    return total
`,
    rewrites: {
      "loop-to-comprehension": `def count_vowels(text):
    return sum(1 for ch in text.lower() if ch in "aeiou")
`,
      "for-to-while": `def count_vowels(text):
    total = 0
    low = text.lower()
    i = 0
    while i < len(low):
        if low[i] in "aeiou":
            total += 1
        i += 1
    return total
`,
      "negated-if": `def count_vowels(text):
    total = 0
    for ch in text.lower():
        if ch not in "aeiou":
            continue
        total += 1
    return total
`,
    },
    inputs: [["Hello World"], [""], ["AEIOUxyz"], ["rhythm"]],
  },
  {
    id: "py-clamp",
    entry: "clamp",
    code: `def clamp(x, lo, hi):
    if x < lo:
        return lo
    elif x > hi:
        return hi
    else:
        return x
`,
    rewrites: {
      "min-max": `def clamp(x, lo, hi):
    return lo if x < lo else min(x, hi)
`,
      "negated-if": `def clamp(x, lo, hi):
    if x >= lo:
        if x <= hi:
            return x
        return hi
    return lo
`,
      "single-exit": `def clamp(x, lo, hi):
    result = x
    if x < lo:
        result = lo
    elif x > hi:
        result = hi
    return result
`,
    },
    inputs: [
      [5, 0, 10],
      [-3, 0, 10],
      [12, 0, 10],
      [0, 0, 0],
      [7, 10, 3],
    ],
  },
  {
    id: "py-first-index",
    entry: "first_index",
    code: `def first_index(items, target):
    for i, item in enumerate(items):
        if item == target:
            return i
    return -1
`,
    rewrites: {
      "for-to-while": `def first_index(items, target):
    i = 0
    while i < len(items):
        if items[i] == target:
            return i
        i += 1
    return -1
`,
      "single-exit": `def first_index(items, target):
    found = -1
    for i in range(len(items)):
        if found == -1 and items[i] == target:
            found = i
    return found
`,
      comprehension: `def first_index(items, target):
    hits = [i for i, item in enumerate(items) if item == target]
    return hits[0] if hits else -1
`,
    },
    inputs: [
      [[3, 1, 4, 1], 1],
      [[], 2],
      [[5, 5], 5],
      [[1, 2, 3], 4],
    ],
  },
  {
    id: "py-dedupe",
    entry: "dedupe",
    code: `def dedupe(items):
    seen = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
`,
    rewrites: {
      "dict-fromkeys": `def dedupe(items):
    return list(dict.fromkeys(items))
`,
      "negated-if": `def dedupe(items):
    seen = set()
    out = []
    for x in items:
        if x in seen:
            continue
        seen.add(x)
        out.append(x)
    return out
`,
      "for-to-while": `def dedupe(items):
    out = []
    k = 0
    while k < len(items):
        if items[k] not in out:
            out.append(items[k])
        k += 1
    return out
`,
    },
    inputs: [[[1, 2, 1, 3, 2]], [[]], [["a", "b", "a"]], [[4, 4, 4]]],
  },
  {
    id: "py-is-sorted",
    entry: "is_sorted",
    code: `def is_sorted(nums):
    for i in range(1, len(nums)):
        if nums[i - 1] > nums[i]:
            return False
    return True
`,
    rewrites: {
      "all-generator": `def is_sorted(nums):
    return all(nums[i - 1] <= nums[i] for i in range(1, len(nums)))
`,
      "zip-pairs": `def is_sorted(nums):
    for a, b in zip(nums, nums[1:]):
        if not a <= b:
            return False
    return True
`,
      "for-to-while": `def is_sorted(nums):
    i = 1
    ok = True
    while i < len(nums) and ok:
        ok = nums[i - 1] <= nums[i]
        i += 1
    return ok
`,
    },
    inputs: [[[1, 2, 2, 5]], [[3, 1]], [[]], [[7]], [[1, 3, 2]]],
  },
  {
    id: "py-sum-even-squares",
    entry: "sum_even_squares",
    code: `def is_even(n):
    return n % 2 == 0


def sum_even_squares(nums):
    total = 0
    for n in nums:
        if is_even(n):
            total += n * n
    return total
`,
    rewrites: {
      "inlined-helper": `def sum_even_squares(nums):
    total = 0
    for n in nums:
        if n % 2 == 0:
            total += n * n
    return total
`,
      "loop-to-comprehension": `def sum_even_squares(nums):
    return sum(n * n for n in nums if n % 2 == 0)
`,
      "negated-if": `def sum_even_squares(nums):
    total = 0
    for n in nums:
        if n % 2 != 0:
            pass
        else:
            total += n ** 2
    return total
`,
    },
    inputs: [[[1, 2, 3, 4]], [[]], [[-2, -3]], [[0, 6]]],
  },
  {
    id: "py-digit-sum",
    entry: "digit_sum",
    code: `def digit_sum(n: int) -> int:
    n = abs(n)
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
`,
    rewrites: {
      "string-digits": `def digit_sum(n: int) -> int:
    return sum(int(d) for d in str(abs(n)))
`,
      recursion: `def digit_sum(n: int) -> int:
    n = abs(n)
    if n < 10:
        return n
    return n % 10 + digit_sum(n // 10)
`,
      divmod: `def digit_sum(n: int) -> int:
    m, acc = abs(n), 0
    while m:
        m, r = divmod(m, 10)
        acc += r
    return acc
`,
    },
    inputs: [[0], [1234], [-907], [5]],
  },
  {
    id: "py-word-lengths",
    entry: "word_lengths",
    code: `def word_lengths(sentence):
    result = {}
    for word in sentence.split():
        result[word] = len(word)
    return result
`,
    rewrites: {
      "dict-comprehension": `def word_lengths(sentence):
    return {word: len(word) for word in sentence.split()}
`,
      "for-to-while": `def word_lengths(sentence):
    words = sentence.split()
    result = {}
    j = 0
    while j < len(words):
        result[words[j]] = len(words[j])
        j += 1
    return result
`,
      "dict-zip": `def word_lengths(sentence):
    ws = sentence.split()
    return dict(zip(ws, map(len, ws)))
`,
    },
    inputs: [["the quick brown fox"], [""], ["a a bb"], ["  spaced   out "]],
  },
  {
    id: "py-rotate",
    entry: "rotate_left",
    code: `def rotate_left(xs, k):
    if not xs:
        return []
    k = k % len(xs)
    return xs[k:] + xs[:k]
`,
    rewrites: {
      loop: `def rotate_left(xs, k):
    if len(xs) == 0:
        return []
    out = []
    for i in range(len(xs)):
        out.append(xs[(i + k) % len(xs)])
    return out
`,
      "negated-if": `def rotate_left(xs, k):
    if xs:
        shift = k % len(xs)
        return xs[shift:] + xs[:shift]
    return []
`,
      comprehension: `def rotate_left(xs, k):
    n = len(xs)
    return [xs[(i + k) % n] for i in range(n)]
`,
    },
    inputs: [
      [[1, 2, 3, 4], 1],
      [[], 3],
      [[1, 2, 3], -1],
      [[9], 5],
      [[1, 2, 3], 7],
    ],
  },
  {
    id: "py-mutate-scale",
    entry: "scale_in_place",
    code: `def scale_in_place(values, factor):
    for i in range(len(values)):
        values[i] = values[i] * factor
    return len(values)
`,
    rewrites: {
      enumerate: `def scale_in_place(values, factor):
    for i, v in enumerate(values):
        values[i] = v * factor
    return len(values)
`,
      "slice-assign": `def scale_in_place(values, factor):
    values[:] = [v * factor for v in values]
    return len(values)
`,
      "for-to-while": `def scale_in_place(values, factor):
    i = 0
    while i < len(values):
        values[i] *= factor
        i += 1
    return i
`,
    },
    inputs: [
      [[1, 2, 3], 2],
      [[], 5],
      [[-1, 4], 0],
    ],
  },
];
