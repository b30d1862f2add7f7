/**
 * Hand-written completions (continuing each MultiPL-E prompt, in the completion format) for a few
 * HumanEval tasks in every enabled language: `right` must pass, `wrong` must fail.
 */
import type { Language } from "../../src/sandbox/executors.js";

export interface HandSolution {
  task: string;
  right: string;
  wrong?: string;
}

export const HAND_SOLUTIONS: Partial<Record<Language, HandSolution[]>> = {
  py: [
    { task: "HumanEval_53_add", right: "    return x + y\n", wrong: "    return x - y\n" },
    { task: "HumanEval_60_sum_to_n", right: "    return n * (n + 1) // 2\n", wrong: "    return n\n" },
    { task: "HumanEval_23_strlen", right: "    return len(string)\n" },
  ],
  rb: [
    { task: "HumanEval_53_add", right: "  x + y\nend\n", wrong: "  x - y\nend\n" },
    { task: "HumanEval_60_sum_to_n", right: "  (1..n).sum\nend\n", wrong: "  n\nend\n" },
    { task: "HumanEval_23_strlen", right: "  string.length\nend\n" },
  ],
  go: [
    { task: "HumanEval_53_add", right: "\treturn x + y\n}\n", wrong: "\treturn x - y\n}\n" },
    { task: "HumanEval_60_sum_to_n", right: "\ts := 0\n\tfor i := 1; i <= n; i++ {\n\t\ts += i\n\t}\n\treturn s\n}\n" },
    { task: "HumanEval_23_strlen", right: "\treturn len(myString)\n}\n" },
  ],
  lua: [
    { task: "HumanEval_53_add", right: "  return x + y\nend\n", wrong: "  return x - y\nend\n" },
    {
      task: "HumanEval_60_sum_to_n",
      right: "  local s = 0\n  for i = 1, n do s = s + i end\n  return s\nend\n",
      wrong: "  return n\nend\n",
    },
    { task: "HumanEval_23_strlen", right: "  return #string\nend\n" },
  ],
  js: [
    { task: "HumanEval_53_add", right: "  return x + y;\n}\n", wrong: "  return x - y;\n}\n" },
    {
      task: "HumanEval_60_sum_to_n",
      right: "  let s = 0;\n  for (let i = 1; i <= n; i++) s += i;\n  return s;\n}\n",
      wrong: "  return n;\n}\n",
    },
    { task: "HumanEval_23_strlen", right: "  return string.length;\n}\n" },
  ],
  ts: [
    { task: "HumanEval_53_add", right: "  return x + y;\n}\n", wrong: "  return x - y;\n}\n" },
    {
      task: "HumanEval_60_sum_to_n",
      right: "  let s: number = 0;\n  for (let i = 1; i <= n; i++) s += i;\n  return s;\n}\n",
    },
    { task: "HumanEval_23_strlen", right: "  return string.length as number;\n}\n" },
  ],
  php: [
    { task: "HumanEval_53_add", right: "  return $x + $y;\n}\n", wrong: "  return $x - $y;\n}\n" },
    {
      task: "HumanEval_60_sum_to_n",
      right: "  $s = 0;\n  for ($i = 1; $i <= $n; $i++) { $s += $i; }\n  return $s;\n}\n",
      wrong: "  return $n;\n}\n",
    },
  ],
  sh: [
    { task: "HumanEval_53_add", right: "  echo $(( $1 + $2 ))\n", wrong: "  echo $(( $1 - $2 ))\n" },
    { task: "HumanEval_60_sum_to_n", right: "  echo $(( $1 * ($1 + 1) / 2 ))\n" },
    { task: "HumanEval_23_strlen", right: '  echo "${#1}"\n' },
  ],
  cpp: [
    { task: "HumanEval_53_add", right: "    return x + y;\n", wrong: "    return x - y;\n" },
    { task: "HumanEval_60_sum_to_n", right: "    return n * (n + 1) / 2;\n" },
    { task: "HumanEval_23_strlen", right: "    return string.size();\n" },
  ],
  java: [
    { task: "HumanEval_53_add", right: "        return x + y;\n", wrong: "        return x - y;\n" },
    { task: "HumanEval_60_sum_to_n", right: "        return n * (n + 1) / 2;\n" },
  ],
  rs: [
    { task: "HumanEval_53_add", right: "    x + y\n", wrong: "    x - y\n" },
    { task: "HumanEval_60_sum_to_n", right: "    n * (n + 1) / 2\n" },
  ],
  pl: [
    { task: "HumanEval_53_add", right: "    return $x + $y;\n}\n", wrong: "    return $x - $y;\n}\n" },
    {
      task: "HumanEval_60_sum_to_n",
      right: "    my $s = 0;\n    $s += $_ for 1 .. $n;\n    return $s;\n}\n",
      wrong: "    return $n;\n}\n",
    },
  ],
  r: [
    { task: "HumanEval_53_add", right: "  x + y\n}\n", wrong: "  x - y\n}\n" },
    { task: "HumanEval_60_sum_to_n", right: "  sum(1:n)\n}\n", wrong: "  n\n}\n" },
    { task: "HumanEval_23_strlen", right: "  nchar(string)\n}\n" },
  ],
  rkt: [
    { task: "HumanEval_53_add", right: "  (+ x y))\n", wrong: "  (- x y))\n" },
    { task: "HumanEval_60_sum_to_n", right: "  (quotient (* n (+ n 1)) 2))\n", wrong: "  n)\n" },
    { task: "HumanEval_23_strlen", right: "  (string-length string))\n" },
  ],
  ml: [
    { task: "HumanEval_53_add", right: "  x + y\n", wrong: "  x - y\n" },
    { task: "HumanEval_60_sum_to_n", right: "  n * (n + 1) / 2\n", wrong: "  n\n" },
    { task: "HumanEval_23_strlen", right: "  String.length string\n" },
  ],
  scala: [
    { task: "HumanEval_53_add", right: "        x + y\n", wrong: "        x - y\n" },
    { task: "HumanEval_60_sum_to_n", right: "        n * (n + 1) / 2\n" },
  ],
};
