import assert from "node:assert/strict";
import { test } from "node:test";
import invariant from "../src/tiny-invariant.ts";

test("invariant throws with the prefixed message on a falsy condition", () => {
  assert.doesNotThrow(() => invariant(1, "never shown"));
  assert.throws(() => invariant(0, "boom"), { message: "Invariant failed: boom" });
  assert.throws(() => invariant(null), { message: "Invariant failed" });
});

test("a lazy message is computed only when the condition fails", () => {
  let calls = 0;
  const message = () => {
    calls++;
    return "lazy";
  };
  invariant(true, message);
  assert.equal(calls, 0);
  assert.throws(() => invariant(false, message), { message: "Invariant failed: lazy" });
  assert.equal(calls, 1);
});
