import assert from "node:assert/strict";
import { test } from "node:test";
import { combineReducers, createStore } from "../src/index.ts";

type Counter = { n: number };
const counter =
  (name: string) =>
  (state: Counter = { n: 0 }, action: { type: string }): Counter =>
    action.type === `${name}/inc` ? { n: state.n + 1 } : state;

test("a change in the first slice gives a new root state", () => {
  const reducer = combineReducers({ a: counter("a"), b: counter("b"), c: counter("c") });
  const s0 = reducer(undefined, { type: "@@init" });
  const s1 = reducer(s0, { type: "a/inc" });
  assert.notEqual(s1, s0);
  assert.deepEqual(s1, { a: { n: 1 }, b: { n: 0 }, c: { n: 0 } });
  assert.equal(s1.b, s0.b);
  assert.equal(s1.c, s0.c);
});

test("a change in a middle slice gives a new root state", () => {
  const reducer = combineReducers({ a: counter("a"), b: counter("b"), c: counter("c") });
  const s0 = reducer(undefined, { type: "@@init" });
  const s1 = reducer(s0, { type: "b/inc" });
  assert.deepEqual(s1, { a: { n: 0 }, b: { n: 1 }, c: { n: 0 } });
});

test("no change in any slice keeps the very same root state", () => {
  const reducer = combineReducers({ a: counter("a"), b: counter("b") });
  const s0 = reducer(undefined, { type: "@@init" });
  assert.equal(reducer(s0, { type: "other" }), s0);
  const s1 = reducer(s0, { type: "b/inc" });
  assert.equal(reducer(s1, { type: "other" }), s1);
});

test("a store notices a change in its first slice", () => {
  const store = createStore(combineReducers({ a: counter("a"), b: counter("b") }));
  let calls = 0;
  let last = store.getState();
  store.subscribe(() => {
    calls++;
    last = store.getState();
  });
  store.dispatch({ type: "a/inc" });
  store.dispatch({ type: "a/inc" });
  assert.equal(calls, 2);
  assert.deepEqual(last, { a: { n: 2 }, b: { n: 0 } });
});

test("keys the reducers do not know are dropped", () => {
  const reducer = combineReducers({ a: counter("a") });
  const state = reducer({ a: { n: 3 }, stale: 1 } as never, { type: "other" });
  assert.deepEqual(state, { a: { n: 3 } });
});
