/**
 * Hand-written near-miss pairs for the graph metric: for each base function, semantics-preserving structural
 * rewrites (label 1). The semantics-breaking one-token edits (label 0) are made from the base by
 * `breakEdits` in rewrites.ts. Every rewrite was checked by reading it against the base for all inputs of the
 * types the base accepts (no execution here; the behaviour helper's benchmark checks its own labels by running
 * both programs). Kinds: comprehension (loop <-> comprehension / map / select), negated-if (negated condition,
 * arms swapped; written `not (a < b)`, never `a >= b`, which differs for NaN), early-return, while-for,
 * inlined-helper.
 */
export interface NearMissBase {
  name: string;
  base: string;
  rewrites: Array<[kind: string, code: string]>;
}

export const NEARMISS: Record<"python" | "ruby" | "javascript", NearMissBase[]> = {
  python: [
    {
      name: "squares_of_evens",
      base: `def squares_of_evens(xs):
    out = []
    for x in xs:
        if x % 2 == 0:
            out.append(x * x)
    return out
`,
      rewrites: [
        [
          "comprehension",
          `def squares_of_evens(xs):
    return [x * x for x in xs if x % 2 == 0]
`,
        ],
        [
          "while-for",
          `def squares_of_evens(xs):
    out = []
    i = 0
    while i < len(xs):
        x = xs[i]
        if x % 2 == 0:
            out.append(x * x)
        i += 1
    return out
`,
        ],
      ],
    },
    {
      name: "clamp",
      base: `def clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v
`,
      rewrites: [
        [
          "negated-if",
          `def clamp(v, lo, hi):
    if not (v < lo):
        if v > hi:
            return hi
        return v
    else:
        return lo
`,
        ],
        [
          "early-return",
          `def clamp(v, lo, hi):
    if v < lo:
        result = lo
    elif v > hi:
        result = hi
    else:
        result = v
    return result
`,
        ],
      ],
    },
    {
      name: "count_positive",
      base: `def count_positive(nums):
    count = 0
    for n in nums:
        if n > 0:
            count += 1
    return count
`,
      rewrites: [
        [
          "comprehension",
          `def count_positive(nums):
    return sum([1 for n in nums if n > 0])
`,
        ],
        [
          "negated-if",
          `def count_positive(nums):
    count = 0
    for n in nums:
        if not n > 0:
            continue
        count += 1
    return count
`,
        ],
        [
          "while-for",
          `def count_positive(nums):
    count = 0
    i = 0
    while i < len(nums):
        if nums[i] > 0:
            count += 1
        i += 1
    return count
`,
        ],
      ],
    },
    {
      name: "first_index",
      base: `def first_index(items, target):
    for i in range(len(items)):
        if items[i] == target:
            return i
    return -1
`,
      rewrites: [
        [
          "while-for",
          `def first_index(items, target):
    i = 0
    while i < len(items):
        if items[i] == target:
            return i
        i += 1
    return -1
`,
        ],
        [
          "early-return",
          `def first_index(items, target):
    found = -1
    for i in range(len(items)):
        if items[i] == target:
            found = i
            break
    return found
`,
        ],
      ],
    },
    {
      name: "scaled_total",
      base: `def scale(x, factor):
    return x * factor + 1


def scaled_total(values, factor):
    total = 0
    for v in values:
        total += scale(v, factor)
    return total
`,
      rewrites: [
        [
          "inlined-helper",
          `def scaled_total(values, factor):
    total = 0
    for v in values:
        total += v * factor + 1
    return total
`,
        ],
        [
          "comprehension",
          `def scale(x, factor):
    return x * factor + 1


def scaled_total(values, factor):
    return sum([scale(v, factor) for v in values])
`,
        ],
      ],
    },
    {
      name: "sign_label",
      base: `def sign_label(n):
    if n < 0:
        label = "negative"
    elif n == 0:
        label = "zero"
    else:
        label = "positive"
    return label
`,
      rewrites: [
        [
          "early-return",
          `def sign_label(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"
`,
        ],
        [
          "negated-if",
          `def sign_label(n):
    if not n < 0:
        if n == 0:
            label = "zero"
        else:
            label = "positive"
    else:
        label = "negative"
    return label
`,
        ],
      ],
    },
    {
      name: "running_max",
      base: `def running_max(xs):
    best = xs[0]
    out = []
    for x in xs:
        if x > best:
            best = x
        out.append(best)
    return out
`,
      rewrites: [
        [
          "while-for",
          `def running_max(xs):
    best = xs[0]
    out = []
    k = 0
    while k < len(xs):
        x = xs[k]
        if x > best:
            best = x
        out.append(best)
        k += 1
    return out
`,
        ],
        [
          "negated-if",
          `def running_max(xs):
    best = xs[0]
    out = []
    for x in xs:
        if not x > best:
            pass
        else:
            best = x
        out.append(best)
    return out
`,
        ],
      ],
    },
    {
      name: "normalize_words",
      base: `def is_short(word, limit):
    return len(word) <= limit


def normalize_words(words, limit):
    kept = []
    for w in words:
        if is_short(w, limit):
            kept.append(w.lower())
    return kept
`,
      rewrites: [
        [
          "inlined-helper",
          `def normalize_words(words, limit):
    kept = []
    for w in words:
        if len(w) <= limit:
            kept.append(w.lower())
    return kept
`,
        ],
        [
          "comprehension",
          `def is_short(word, limit):
    return len(word) <= limit


def normalize_words(words, limit):
    return [w.lower() for w in words if is_short(w, limit)]
`,
        ],
      ],
    },
  ],
  ruby: [
    {
      name: "squares_of_evens",
      base: `def squares_of_evens(xs)
  out = []
  xs.each do |x|
    if x % 2 == 0
      out << x * x
    end
  end
  out
end
`,
      rewrites: [
        [
          "comprehension",
          `def squares_of_evens(xs)
  xs.select { |x| x % 2 == 0 }.map { |x| x * x }
end
`,
        ],
        [
          "while-for",
          `def squares_of_evens(xs)
  out = []
  i = 0
  while i < xs.length
    x = xs[i]
    if x % 2 == 0
      out << x * x
    end
    i += 1
  end
  out
end
`,
        ],
      ],
    },
    {
      name: "clamp",
      base: `def clamp(v, lo, hi)
  if v < lo
    return lo
  end
  if v > hi
    return hi
  end
  v
end
`,
      rewrites: [
        [
          "negated-if",
          `def clamp(v, lo, hi)
  unless v < lo
    if v > hi
      return hi
    end
    v
  else
    lo
  end
end
`,
        ],
        [
          "early-return",
          `def clamp(v, lo, hi)
  if v < lo
    result = lo
  elsif v > hi
    result = hi
  else
    result = v
  end
  result
end
`,
        ],
      ],
    },
    {
      name: "count_positive",
      base: `def count_positive(nums)
  count = 0
  nums.each do |n|
    if n > 0
      count += 1
    end
  end
  count
end
`,
      rewrites: [
        [
          "negated-if",
          `def count_positive(nums)
  count = 0
  nums.each do |n|
    unless n > 0
      next
    end
    count += 1
  end
  count
end
`,
        ],
        [
          "while-for",
          `def count_positive(nums)
  count = 0
  i = 0
  while i < nums.length
    if nums[i] > 0
      count += 1
    end
    i += 1
  end
  count
end
`,
        ],
      ],
    },
    {
      name: "first_index",
      base: `def first_index(items, target)
  i = 0
  while i < items.length
    if items[i] == target
      return i
    end
    i += 1
  end
  -1
end
`,
      rewrites: [
        [
          "while-for",
          `def first_index(items, target)
  for i in 0...items.length
    if items[i] == target
      return i
    end
  end
  -1
end
`,
        ],
        [
          "early-return",
          `def first_index(items, target)
  found = -1
  i = 0
  while i < items.length
    if items[i] == target
      found = i
      break
    end
    i += 1
  end
  found
end
`,
        ],
      ],
    },
    {
      name: "scaled_total",
      base: `def scale(x, factor)
  x * factor + 1
end

def scaled_total(values, factor)
  total = 0
  values.each do |v|
    total += scale(v, factor)
  end
  total
end
`,
      rewrites: [
        [
          "inlined-helper",
          `def scaled_total(values, factor)
  total = 0
  values.each do |v|
    total += v * factor + 1
  end
  total
end
`,
        ],
      ],
    },
    {
      name: "sign_label",
      base: `def sign_label(n)
  if n < 0
    label = "negative"
  elsif n == 0
    label = "zero"
  else
    label = "positive"
  end
  label
end
`,
      rewrites: [
        [
          "early-return",
          `def sign_label(n)
  if n < 0
    return "negative"
  end
  if n == 0
    return "zero"
  end
  "positive"
end
`,
        ],
        [
          "negated-if",
          `def sign_label(n)
  unless n < 0
    if n == 0
      label = "zero"
    else
      label = "positive"
    end
  else
    label = "negative"
  end
  label
end
`,
        ],
      ],
    },
  ],
  javascript: [
    {
      name: "squaresOfEvens",
      base: `function squaresOfEvens(xs) {
  const out = [];
  for (const x of xs) {
    if (x % 2 === 0) {
      out.push(x * x);
    }
  }
  return out;
}
`,
      rewrites: [
        [
          "comprehension",
          `function squaresOfEvens(xs) {
  return xs.filter((x) => x % 2 === 0).map((x) => x * x);
}
`,
        ],
        [
          "while-for",
          `function squaresOfEvens(xs) {
  const out = [];
  let i = 0;
  while (i < xs.length) {
    const x = xs[i];
    if (x % 2 === 0) {
      out.push(x * x);
    }
    i++;
  }
  return out;
}
`,
        ],
      ],
    },
    {
      name: "clamp",
      base: `function clamp(v, lo, hi) {
  if (v < lo) {
    return lo;
  }
  if (v > hi) {
    return hi;
  }
  return v;
}
`,
      rewrites: [
        [
          "negated-if",
          `function clamp(v, lo, hi) {
  if (!(v < lo)) {
    if (v > hi) {
      return hi;
    }
    return v;
  } else {
    return lo;
  }
}
`,
        ],
        [
          "early-return",
          `function clamp(v, lo, hi) {
  let result;
  if (v < lo) {
    result = lo;
  } else if (v > hi) {
    result = hi;
  } else {
    result = v;
  }
  return result;
}
`,
        ],
      ],
    },
    {
      name: "countPositive",
      base: `function countPositive(nums) {
  let count = 0;
  for (const n of nums) {
    if (n > 0) {
      count += 1;
    }
  }
  return count;
}
`,
      rewrites: [
        [
          "negated-if",
          `function countPositive(nums) {
  let count = 0;
  for (const n of nums) {
    if (!(n > 0)) {
      continue;
    }
    count += 1;
  }
  return count;
}
`,
        ],
        [
          "while-for",
          `function countPositive(nums) {
  let count = 0;
  for (let i = 0; i < nums.length; i++) {
    if (nums[i] > 0) {
      count += 1;
    }
  }
  return count;
}
`,
        ],
      ],
    },
    {
      name: "firstIndex",
      base: `function firstIndex(items, target) {
  for (let i = 0; i < items.length; i++) {
    if (items[i] === target) {
      return i;
    }
  }
  return -1;
}
`,
      rewrites: [
        [
          "while-for",
          `function firstIndex(items, target) {
  let i = 0;
  while (i < items.length) {
    if (items[i] === target) {
      return i;
    }
    i++;
  }
  return -1;
}
`,
        ],
        [
          "early-return",
          `function firstIndex(items, target) {
  let found = -1;
  for (let i = 0; i < items.length; i++) {
    if (items[i] === target) {
      found = i;
      break;
    }
  }
  return found;
}
`,
        ],
      ],
    },
    {
      name: "scaledTotal",
      base: `function scale(x, factor) {
  return x * factor + 1;
}

function scaledTotal(values, factor) {
  let total = 0;
  for (const v of values) {
    total += scale(v, factor);
  }
  return total;
}
`,
      rewrites: [
        [
          "inlined-helper",
          `function scaledTotal(values, factor) {
  let total = 0;
  for (const v of values) {
    total += v * factor + 1;
  }
  return total;
}
`,
        ],
      ],
    },
    {
      name: "signLabel",
      base: `function signLabel(n) {
  let label;
  if (n < 0) {
    label = "negative";
  } else if (n === 0) {
    label = "zero";
  } else {
    label = "positive";
  }
  return label;
}
`,
      rewrites: [
        [
          "early-return",
          `function signLabel(n) {
  if (n < 0) {
    return "negative";
  }
  if (n === 0) {
    return "zero";
  }
  return "positive";
}
`,
        ],
        [
          "negated-if",
          `function signLabel(n) {
  let label;
  if (!(n < 0)) {
    if (n === 0) {
      label = "zero";
    } else {
      label = "positive";
    }
  } else {
    label = "negative";
  }
  return label;
}
`,
        ],
      ],
    },
  ],
};
