import assert from "node:assert/strict";
import { test } from "node:test";
import { batch, effect, signal } from "../src/index.ts";

test("the cleanup runs before the effect runs again, once per run", () => {
  const count = signal(0);
  const log: string[] = [];
  effect(() => {
    const seen = count.value;
    log.push(`run ${seen}`);
    return () => log.push(`cleanup ${seen}`);
  });
  count.value = 1;
  count.value = 2;
  assert.deepEqual(log, ["run 0", "cleanup 0", "run 1", "cleanup 1", "run 2"]);
});

test("disposing the effect runs its last cleanup, once", () => {
  const count = signal(0);
  const log: string[] = [];
  const dispose = effect(() => {
    const seen = count.value;
    log.push(`run ${seen}`);
    return () => log.push(`cleanup ${seen}`);
  });
  count.value = 1;
  dispose();
  dispose();
  count.value = 2;
  assert.deepEqual(log, ["run 0", "cleanup 0", "run 1", "cleanup 1"]);
});

test("an effect disposed from inside its own callback is cleaned up after that run", () => {
  const count = signal(0);
  const log: string[] = [];
  let dispose = () => {};
  dispose = effect(() => {
    const seen = count.value;
    log.push(`run ${seen}`);
    if (seen === 1) dispose();
    return () => log.push(`cleanup ${seen}`);
  });
  count.value = 1;
  count.value = 2;
  assert.deepEqual(log, ["run 0", "cleanup 0", "run 1", "cleanup 1"]);
});

test("signals read in a cleanup do not become dependencies", () => {
  const trigger = signal(0);
  const other = signal(0);
  let runs = 0;
  effect(() => {
    runs++;
    trigger.value;
    return () => {
      other.value;
    };
  });
  trigger.value = 1;
  assert.equal(runs, 2);
  other.value = 1;
  assert.equal(runs, 2);
});

test("a batch of changes cleans up and re-runs once", () => {
  const a = signal(0);
  const b = signal(0);
  const log: string[] = [];
  effect(() => {
    const sum = a.value + b.value;
    log.push(`run ${sum}`);
    return () => log.push(`cleanup ${sum}`);
  });
  batch(() => {
    a.value = 1;
    b.value = 2;
  });
  assert.deepEqual(log, ["run 0", "cleanup 0", "run 3"]);
});
