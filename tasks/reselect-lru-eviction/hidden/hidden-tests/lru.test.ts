import assert from "node:assert/strict";
import { test } from "node:test";
import { lruMemoize } from "../src/index.ts";

function counted() {
  const calls: number[] = [];
  const square = (n: number) => {
    calls.push(n);
    return { n, square: n * n };
  };
  return { calls, square };
}

test("maxSize: 3 keeps three results", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square, { maxSize: 3 });
  for (const n of [1, 2, 3, 1, 2, 3, 3, 2, 1]) memo(n);
  assert.deepEqual(calls, [1, 2, 3]);
  assert.equal(memo.resultsCount(), 3);
});

test("maxSize: 2 keeps two results", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square, { maxSize: 2 });
  const first = memo(1);
  memo(2);
  assert.equal(memo(1), first);
  assert.deepEqual(calls, [1, 2]);
});

test("the least recently used result is the one evicted", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square, { maxSize: 2 });
  memo(1);
  memo(2);
  memo(1); // 1 is now the most recently used
  memo(3); // evicts 2, not 1
  memo(1);
  assert.deepEqual(calls, [1, 2, 3]);
  memo(2);
  assert.deepEqual(calls, [1, 2, 3, 2]);
});

test("reads keep refreshing an entry", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square, { maxSize: 3 });
  memo(1);
  memo(2);
  memo(3);
  memo(1);
  memo(4); // evicts 2
  memo(1);
  memo(5); // evicts 3
  memo(1);
  memo(4);
  assert.deepEqual(calls, [1, 2, 3, 4, 5]);
  memo(2);
  memo(3);
  assert.deepEqual(calls, [1, 2, 3, 4, 5, 2, 3]);
});

test("the default cache of size 1 and clearCache still work", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square);
  memo(1);
  memo(1);
  memo(2);
  memo(1);
  assert.deepEqual(calls, [1, 2, 1]);
  memo.clearCache();
  memo(1);
  assert.deepEqual(calls, [1, 2, 1, 1]);
  assert.equal(memo.resultsCount(), 1);
});

test("a custom equalityCheck compares the arguments", () => {
  const { calls, square } = counted();
  const memo = lruMemoize(square, { maxSize: 2, equalityCheck: (a, b) => Math.abs(a) === Math.abs(b) });
  memo(2);
  memo(3);
  memo(-2);
  memo(-3);
  assert.deepEqual(calls, [2, 3]);
});
