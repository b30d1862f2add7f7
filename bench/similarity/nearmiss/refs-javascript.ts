/** Hand-written JavaScript reference functions for the near-miss benchmark (see refs-python.ts). */
import type { NearMissRef } from "./types.js";

export const JAVASCRIPT_REFS: NearMissRef[] = [
  {
    id: "js-count-vowels",
    entry: "countVowels",
    code: `function countVowels(text) {
  let total = 0;
  for (const ch of text.toLowerCase()) {
    if ("aeiou".includes(ch)) {
      total += 1;
    }
  }
  return total;
}
`,
    rewrites: {
      "loop-to-filter": `function countVowels(text) {
  return [...text.toLowerCase()].filter((ch) => "aeiou".includes(ch)).length;
}
`,
      "for-of-to-while": `function countVowels(text) {
  const low = text.toLowerCase();
  let total = 0;
  let i = 0;
  while (i < low.length) {
    if ("aeiou".includes(low[i])) total++;
    i++;
  }
  return total;
}
`,
      "negated-if": `function countVowels(text) {
  let total = 0;
  for (const ch of text.toLowerCase()) {
    if (!"aeiou".includes(ch)) continue;
    total += 1;
  }
  return total;
}
`,
    },
    inputs: [["Hello World"], [""], ["AEIOUxyz"], ["rhythm"]],
  },
  {
    id: "js-clamp",
    entry: "clamp",
    code: `function clamp(x, lo, hi) {
  if (x < lo) {
    return lo;
  } else if (x > hi) {
    return hi;
  } else {
    return x;
  }
}
`,
    rewrites: {
      ternary: `const clamp = (x, lo, hi) => (x < lo ? lo : x > hi ? hi : x);
`,
      "negated-if": `function clamp(x, lo, hi) {
  if (x >= lo) {
    if (x <= hi) return x;
    return hi;
  }
  return lo;
}
`,
      "single-exit": `function clamp(x, lo, hi) {
  let result = x;
  if (x < lo) result = lo;
  else if (x > hi) result = hi;
  return result;
}
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
    id: "js-first-index",
    entry: "firstIndex",
    code: `function firstIndex(items, target) {
  for (let i = 0; i < items.length; i++) {
    if (items[i] === target) {
      return i;
    }
  }
  return -1;
}
`,
    rewrites: {
      "for-to-while": `function firstIndex(items, target) {
  let i = 0;
  while (i < items.length) {
    if (items[i] === target) return i;
    i += 1;
  }
  return -1;
}
`,
      builtin: `function firstIndex(items, target) {
  return items.findIndex((x) => x === target);
}
`,
      "single-exit": `function firstIndex(items, target) {
  let found = -1;
  items.forEach((item, i) => {
    if (found === -1 && item === target) found = i;
  });
  return found;
}
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
    id: "js-is-sorted",
    entry: "isSorted",
    code: `function isSorted(nums) {
  for (let i = 1; i < nums.length; i++) {
    if (nums[i - 1] > nums[i]) {
      return false;
    }
  }
  return true;
}
`,
    rewrites: {
      every: `function isSorted(nums) {
  return nums.every((x, i) => i === 0 || nums[i - 1] <= x);
}
`,
      "negated-if": `function isSorted(nums) {
  for (let i = 1; i < nums.length; i++) {
    if (nums[i - 1] <= nums[i]) continue;
    return false;
  }
  return true;
}
`,
      "for-to-while": `function isSorted(nums) {
  let i = 1;
  let ok = true;
  while (i < nums.length && ok) {
    ok = nums[i - 1] <= nums[i];
    i++;
  }
  return ok;
}
`,
    },
    inputs: [[[1, 2, 2, 5]], [[3, 1]], [[]], [[7]], [[1, 3, 2]]],
  },
  {
    id: "js-sum-even-squares",
    entry: "sumEvenSquares",
    code: `function isEven(n) {
  return n % 2 === 0;
}

function sumEvenSquares(nums) {
  let total = 0;
  for (const n of nums) {
    if (isEven(n)) {
      total += n * n;
    }
  }
  return total;
}
`,
    rewrites: {
      "inlined-helper": `function sumEvenSquares(nums) {
  let total = 0;
  for (const n of nums) {
    if (n % 2 === 0) total += n * n;
  }
  return total;
}
`,
      "filter-reduce": `function sumEvenSquares(nums) {
  return nums.filter((n) => n % 2 === 0).reduce((acc, n) => acc + n * n, 0);
}
`,
      "negated-if": `function sumEvenSquares(nums) {
  let total = 0;
  for (const n of nums) {
    if (n % 2 !== 0) {
      continue;
    } else {
      total += n ** 2;
    }
  }
  return total;
}
`,
    },
    inputs: [[[1, 2, 3, 4]], [[]], [[-2, -3]], [[0, 6]]],
  },
  {
    id: "js-digit-sum",
    entry: "digitSum",
    code: `function digitSum(n) {
  n = Math.abs(n);
  let total = 0;
  while (n > 0) {
    total += n % 10;
    n = Math.floor(n / 10);
  }
  return total;
}
`,
    rewrites: {
      "string-digits": `function digitSum(n) {
  return String(Math.abs(n)).split("").reduce((a, d) => a + Number(d), 0);
}
`,
      recursion: `function digitSum(n) {
  const m = Math.abs(n);
  if (m < 10) return m;
  return (m % 10) + digitSum(Math.floor(m / 10));
}
`,
      "for-loop": `function digitSum(n) {
  let acc = 0;
  for (let m = Math.abs(n); m > 0; m = Math.floor(m / 10)) acc += m % 10;
  return acc;
}
`,
    },
    inputs: [[0], [1234], [-907], [5]],
  },
  {
    id: "js-rotate",
    entry: "rotateLeft",
    code: `function rotateLeft(xs, k) {
  if (xs.length === 0) {
    return [];
  }
  k = ((k % xs.length) + xs.length) % xs.length;
  return xs.slice(k).concat(xs.slice(0, k));
}
`,
    rewrites: {
      loop: `function rotateLeft(xs, k) {
  const n = xs.length;
  const out = [];
  for (let i = 0; i < n; i++) out.push(xs[(((i + k) % n) + n) % n]);
  return out;
}
`,
      "negated-if": `function rotateLeft(xs, k) {
  if (xs.length !== 0) {
    const s = ((k % xs.length) + xs.length) % xs.length;
    return [...xs.slice(s), ...xs.slice(0, s)];
  }
  return [];
}
`,
      map: `function rotateLeft(xs, k) {
  const n = xs.length;
  return xs.map((_, i) => xs[(((i + k) % n) + n) % n]);
}
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
    id: "js-word-lengths",
    entry: "wordLengths",
    code: `function wordLengths(sentence) {
  const result = {};
  for (const word of sentence.split(/\\s+/).filter(Boolean)) {
    result[word] = word.length;
  }
  return result;
}
`,
    rewrites: {
      "from-entries": `function wordLengths(sentence) {
  return Object.fromEntries(sentence.split(/\\s+/).filter(Boolean).map((w) => [w, w.length]));
}
`,
      reduce: `function wordLengths(sentence) {
  return sentence.split(/\\s+/).filter((w) => w !== "").reduce((acc, w) => {
    acc[w] = w.length;
    return acc;
  }, {});
}
`,
      "for-to-while": `function wordLengths(sentence) {
  const words = sentence.split(/\\s+/).filter(Boolean);
  const result = {};
  let j = 0;
  while (j < words.length) {
    result[words[j]] = words[j].length;
    j++;
  }
  return result;
}
`,
    },
    inputs: [["the quick brown fox"], [""], ["a a bb"], ["  spaced   out "]],
  },
];
