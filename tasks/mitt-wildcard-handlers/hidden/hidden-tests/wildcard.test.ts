import assert from "node:assert/strict";
import { test } from "node:test";
import mitt from "../src/index.ts";

test("a '*' handler receives every event as (type, evt), after the type's own handlers", () => {
  const emitter = mitt();
  const calls: unknown[][] = [];
  emitter.on("foo", (e: unknown) => calls.push(["foo-handler", e]));
  emitter.on("*", (type: unknown, e: unknown) => calls.push(["star", type, e]));
  emitter.emit("foo", 1);
  emitter.emit("bar", { x: 2 });
  assert.deepEqual(calls, [
    ["foo-handler", 1],
    ["star", "foo", 1],
    ["star", "bar", { x: 2 }],
  ]);
});

test("several '*' handlers run in the order they were added; symbols are passed through", () => {
  const emitter = mitt();
  const order: string[] = [];
  const sym = Symbol("evt");
  let seen: unknown;
  emitter.on("*", (type: unknown) => {
    order.push("first");
    seen = type;
  });
  emitter.on("*", () => order.push("second"));
  emitter.emit(sym, "payload");
  assert.deepEqual(order, ["first", "second"]);
  assert.equal(seen, sym);
});

test("off('*', handler) removes only that wildcard handler", () => {
  const emitter = mitt();
  const a: unknown[] = [];
  const b: unknown[] = [];
  const ha = (type: unknown, e: unknown) => a.push([type, e]);
  const hb = (type: unknown, e: unknown) => b.push([type, e]);
  emitter.on("*", ha);
  emitter.on("*", hb);
  emitter.emit("x", 1);
  emitter.off("*", ha);
  emitter.emit("y", 2);
  assert.deepEqual(a, [["x", 1]]);
  assert.deepEqual(b, [
    ["x", 1],
    ["y", 2],
  ]);
});

test("normal handlers are unaffected and emitting with no listeners is fine", () => {
  const emitter = mitt();
  emitter.emit("nobody", 1);
  const got: unknown[] = [];
  const h = (e: unknown) => got.push(e);
  emitter.on("foo", h);
  emitter.emit("foo", "a");
  emitter.off("foo", h);
  emitter.emit("foo", "b");
  assert.deepEqual(got, ["a"]);
});

test("the map passed to mitt() holds wildcard handlers under '*'", () => {
  const all = new Map();
  const emitter = mitt(all);
  const h = () => {};
  emitter.on("*", h);
  assert.deepEqual(all.get("*"), [h]);
});
