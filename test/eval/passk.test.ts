import { test } from "node:test";
import assert from "node:assert/strict";
import { meanPassAtK, passAtK } from "../../src/eval/passk.js";

/** Brute force: probability that a random k-subset of n samples (c correct) holds at least one correct. */
function bruteForce(n: number, c: number, k: number): number {
  let hit = 0;
  let total = 0;
  const rec = (start: number, chosen: number[]) => {
    if (chosen.length === k) {
      total++;
      if (chosen.some((i) => i < c)) hit++;
      return;
    }
    for (let i = start; i < n; i++) rec(i + 1, [...chosen, i]);
  };
  rec(0, []);
  return hit / total;
}

test("pass@k equals the subset-enumeration probability", () => {
  for (const [n, c, k] of [
    [5, 0, 1],
    [5, 1, 1],
    [5, 2, 3],
    [10, 3, 5],
    [7, 7, 2],
    [8, 1, 8],
    [9, 4, 1],
  ] as const) {
    assert.ok(Math.abs(passAtK(n, c, k) - bruteForce(n, c, k)) < 1e-12, `n=${n} c=${c} k=${k}`);
  }
});

test("pass@1 is c/n; pass@k is 1 when n - c < k; 0 when c = 0", () => {
  assert.ok(Math.abs(passAtK(200, 37, 1) - 37 / 200) < 1e-12);
  assert.equal(passAtK(10, 8, 3), 1);
  assert.equal(passAtK(10, 0, 10), 0);
});

test("pass@k rejects invalid inputs", () => {
  assert.throws(() => passAtK(3, 1, 4), RangeError);
  assert.throws(() => passAtK(3, 4, 1), RangeError);
  assert.throws(() => passAtK(0, 0, 1), RangeError);
});

test("mean over tasks skips tasks with fewer than k samples", () => {
  const m = meanPassAtK(
    [
      { n: 2, c: 1 },
      { n: 2, c: 2 },
      { n: 1, c: 1 },
    ],
    2,
  );
  assert.equal(m.tasks, 2);
  assert.equal(m.skipped, 1);
  assert.equal(m.value, 1);
  const m1 = meanPassAtK(
    [
      { n: 2, c: 1 },
      { n: 4, c: 0 },
    ],
    1,
  );
  assert.equal(m1.value, 0.25);
});
