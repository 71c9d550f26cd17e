import assert from "node:assert/strict";
import { test } from "node:test";
import compose from "../src/compose.ts";

test("compose applies functions right to left", () => {
  const add = (a: number, b: number) => a + b;
  const double = (n: number) => n * 2;
  const toStr = (n: number) => `=${n}`;
  assert.equal(compose(toStr, double, add)(2, 3), "=10");
  assert.equal(compose(double)(4), 8);
  assert.equal(compose()(7), 7);
});
