import assert from "node:assert/strict";
import { test } from "node:test";
import invariant from "../src/tiny-invariant.ts";

test("a truthy condition does not throw", () => {
  invariant(true, "never shown");
  invariant(1);
  invariant({}, () => "never built");
});

test("a falsy condition throws with the prefix and the message", () => {
  assert.throws(() => invariant(false, "Expected value to be a person"), {
    message: "Invariant failed: Expected value to be a person",
  });
  assert.throws(() => invariant(0), { message: "Invariant failed" });
  assert.throws(() => invariant(null, ""), { message: "Invariant failed" });
});

test("a message function is called only when the condition is falsy", () => {
  let calls = 0;
  const build = () => {
    calls += 1;
    return "expensive message";
  };
  invariant("ok", build);
  assert.equal(calls, 0);
  assert.throws(() => invariant(undefined, build), { message: "Invariant failed: expensive message" });
  assert.equal(calls, 1);
});
