import assert from "node:assert/strict";
import { test } from "node:test";
import * as signals from "../src/index.ts";

const { computed, effect, signal } = signals;
const untracked = (signals as unknown as { untracked: <T>(fn: () => T) => T }).untracked;

test("untracked is exported", () => {
  assert.equal(typeof untracked, "function");
});

test("untracked returns the callback's value", () => {
  const a = signal(3);
  assert.equal(
    untracked(() => a.value * 2),
    6,
  );
});

test("signals read inside untracked do not subscribe an effect", () => {
  const tracked = signal(1);
  const quiet = signal(10);
  const seen: number[] = [];
  effect(() => {
    seen.push(tracked.value + untracked(() => quiet.value));
  });
  quiet.value = 20;
  assert.deepEqual(seen, [11]);
  tracked.value = 2;
  assert.deepEqual(seen, [11, 22]);
});

test("tracking resumes after untracked, and after it throws", () => {
  const before = signal(0);
  const inside = signal(0);
  const after = signal(0);
  let runs = 0;
  effect(() => {
    runs++;
    before.value;
    try {
      untracked(() => {
        inside.value;
        throw new Error("boom");
      });
    } catch {}
    after.value;
  });
  inside.value = 1;
  assert.equal(runs, 1);
  after.value = 1;
  assert.equal(runs, 2);
  before.value = 1;
  assert.equal(runs, 3);
});

test("a computed does not depend on what it reads untracked", () => {
  const a = signal(1);
  const b = signal(100);
  let evaluations = 0;
  const sum = computed(() => {
    evaluations++;
    return a.value + untracked(() => b.value);
  });
  assert.equal(sum.value, 101);
  b.value = 200;
  assert.equal(sum.value, 101);
  a.value = 2;
  assert.equal(sum.value, 202);
  assert.equal(evaluations, 2);
});

test("untracked nests", () => {
  const a = signal(1);
  let runs = 0;
  effect(() => {
    runs++;
    untracked(() => untracked(() => a.value) + a.value);
  });
  a.value = 2;
  assert.equal(runs, 1);
});
