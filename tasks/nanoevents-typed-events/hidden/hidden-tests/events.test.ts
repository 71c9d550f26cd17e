import assert from "node:assert/strict";
import { test } from "node:test";
import { createNanoEvents } from "../index.js";

test("listeners get the emitted arguments and can be unbound", () => {
  const emitter = createNanoEvents<{ set: (name: string, value: number) => void }>();
  const seen: Array<[string, number]> = [];
  const unbind = emitter.on("set", (name, value) => {
    seen.push([name, value]);
  });
  emitter.emit("set", "a", 1);
  unbind();
  emitter.emit("set", "b", 2);
  assert.deepEqual(seen, [["a", 1]]);
});
