/** Hand-written Ruby reference functions for the near-miss benchmark (see refs-python.ts). */
import type { NearMissRef } from "./types.js";

export const RUBY_REFS: NearMissRef[] = [
  {
    id: "rb-count-vowels",
    entry: "count_vowels",
    code: `def count_vowels(text)
  total = 0
  text.downcase.each_char do |ch|
    total += 1 if "aeiou".include?(ch)
  end
  total
end
`,
    rewrites: {
      "loop-to-count": `def count_vowels(text)
  text.downcase.chars.count { |ch| "aeiou".include?(ch) }
end
`,
      "each-to-while": `def count_vowels(text)
  low = text.downcase
  total = 0
  i = 0
  while i < low.length
    total += 1 if "aeiou".include?(low[i])
    i += 1
  end
  total
end
`,
      "negated-if": `def count_vowels(text)
  total = 0
  text.downcase.each_char do |ch|
    next unless "aeiou".include?(ch)
    total += 1
  end
  total
end
`,
    },
    inputs: [["Hello World"], [""], ["AEIOUxyz"], ["rhythm"]],
  },
  {
    id: "rb-clamp",
    entry: "clamp",
    code: `def clamp(x, lo, hi)
  if x < lo
    lo
  elsif x > hi
    hi
  else
    x
  end
end
`,
    rewrites: {
      "early-return": `def clamp(x, lo, hi)
  return lo if x < lo
  return hi if x > hi
  x
end
`,
      "negated-if": `def clamp(x, lo, hi)
  if x >= lo
    if x <= hi
      x
    else
      hi
    end
  else
    lo
  end
end
`,
      "min-max": `def clamp(x, lo, hi)
  x < lo ? lo : [x, hi].min
end
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
    id: "rb-first-index",
    entry: "first_index",
    code: `def first_index(items, target)
  items.each_with_index do |item, i|
    return i if item == target
  end
  -1
end
`,
    rewrites: {
      "each-to-while": `def first_index(items, target)
  i = 0
  while i < items.length
    return i if items[i] == target
    i += 1
  end
  -1
end
`,
      builtin: `def first_index(items, target)
  items.index(target) || -1
end
`,
      "single-exit": `def first_index(items, target)
  found = -1
  (0...items.length).each do |i|
    found = i if found == -1 && items[i] == target
  end
  found
end
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
    id: "rb-is-sorted",
    entry: "sorted?",
    code: `def sorted?(nums)
  (1...nums.length).each do |i|
    return false if nums[i - 1] > nums[i]
  end
  true
end
`,
    rewrites: {
      all: `def sorted?(nums)
  (1...nums.length).all? { |i| nums[i - 1] <= nums[i] }
end
`,
      "each-cons": `def sorted?(nums)
  nums.each_cons(2) do |a, b|
    return false unless a <= b
  end
  true
end
`,
      "each-to-while": `def sorted?(nums)
  i = 1
  ok = true
  while i < nums.length && ok
    ok = nums[i - 1] <= nums[i]
    i += 1
  end
  ok
end
`,
    },
    inputs: [[[1, 2, 2, 5]], [[3, 1]], [[]], [[7]], [[1, 3, 2]]],
  },
  {
    id: "rb-sum-even-squares",
    entry: "sum_even_squares",
    code: `def even?(n)
  n % 2 == 0
end

def sum_even_squares(nums)
  total = 0
  nums.each do |n|
    total += n * n if even?(n)
  end
  total
end
`,
    rewrites: {
      "inlined-helper": `def sum_even_squares(nums)
  total = 0
  nums.each do |n|
    total += n * n if n % 2 == 0
  end
  total
end
`,
      "select-map-sum": `def sum_even_squares(nums)
  nums.select(&:even?).map { |n| n * n }.sum
end
`,
      "negated-if": `def sum_even_squares(nums)
  total = 0
  nums.each do |n|
    if n.odd?
      next
    else
      total += n**2
    end
  end
  total
end
`,
    },
    inputs: [[[1, 2, 3, 4]], [[]], [[-2, -3]], [[0, 6]]],
  },
  {
    id: "rb-digit-sum",
    entry: "digit_sum",
    code: `def digit_sum(n)
  n = n.abs
  total = 0
  while n > 0
    total += n % 10
    n /= 10
  end
  total
end
`,
    rewrites: {
      "string-digits": `def digit_sum(n)
  n.abs.to_s.chars.map(&:to_i).sum
end
`,
      recursion: `def digit_sum(n)
  n = n.abs
  return n if n < 10
  n % 10 + digit_sum(n / 10)
end
`,
      divmod: `def digit_sum(n)
  m = n.abs
  acc = 0
  until m.zero?
    m, r = m.divmod(10)
    acc += r
  end
  acc
end
`,
    },
    inputs: [[0], [1234], [-907], [5]],
  },
  {
    id: "rb-rotate",
    entry: "rotate_left",
    code: `def rotate_left(xs, k)
  return [] if xs.empty?
  k = k % xs.length
  xs[k..] + xs[0...k]
end
`,
    rewrites: {
      builtin: `def rotate_left(xs, k)
  xs.empty? ? [] : xs.rotate(k)
end
`,
      loop: `def rotate_left(xs, k)
  out = []
  xs.length.times { |i| out << xs[(i + k) % xs.length] }
  out
end
`,
      "negated-if": `def rotate_left(xs, k)
  unless xs.empty?
    s = k % xs.length
    return xs[s..] + xs[0...s]
  end
  []
end
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
    id: "rb-word-lengths",
    entry: "word_lengths",
    code: `def word_lengths(sentence)
  result = {}
  sentence.split.each do |word|
    result[word] = word.length
  end
  result
end
`,
    rewrites: {
      "to-h": `def word_lengths(sentence)
  sentence.split.to_h { |w| [w, w.length] }
end
`,
      "each-with-object": `def word_lengths(sentence)
  sentence.split.each_with_object({}) { |w, acc| acc[w] = w.size }
end
`,
      "each-to-while": `def word_lengths(sentence)
  words = sentence.split
  result = {}
  j = 0
  while j < words.length
    result[words[j]] = words[j].length
    j += 1
  end
  result
end
`,
    },
    inputs: [["the quick brown fox"], [""], ["a a bb"], ["  spaced   out "]],
  },
];
