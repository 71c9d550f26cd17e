import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { batch, Derived, Store } from "../src/index.ts";
import * as scheduler from "../src/scheduler.ts";

type Notify = (source: Store<unknown> | Derived<unknown>) => void;
const notifyListeners = (scheduler as unknown as { notifyListeners?: Notify }).notifyListeners;

test("scheduler.ts exports notifyListeners", () => {
  assert.equal(typeof notifyListeners, "function");
});

test("notifyListeners calls a store's listeners with its previous and current state", () => {
  const store = new Store(1);
  const seen: unknown[] = [];
  store.subscribe((value) => seen.push(value));
  store.prevState = 1;
  store.state = 5;
  notifyListeners!(store as Store<unknown>);
  assert.deepEqual(seen, [{ prevVal: 1, currentVal: 5 }]);
});

test("notifyListeners calls a derived value's listeners the same way", () => {
  const store = new Store(2);
  const doubled = new Derived({ deps: [store], fn: ({ currDepVals: [n] }) => n * 2 });
  const seen: unknown[] = [];
  doubled.subscribe((value) => seen.push(value));
  doubled.prevState = 4;
  doubled.state = 8;
  notifyListeners!(doubled as Derived<unknown>);
  assert.deepEqual(seen, [{ prevVal: 4, currentVal: 8 }]);
});

test("the flush notifies through that one helper: no listener loop is written twice", () => {
  const dir = import.meta.dirname;
  const source = readFileSync(path.join(dir, "..", "src", "scheduler.ts"), "utf8");
  assert.equal(source.match(/listeners\.forEach|for\s*\(\s*const\s+\w+\s+of\s+\w+\.listeners/g)?.length, 1);
  assert.doesNotMatch(source, /__notifyDerivedListeners/);
});

test("store and derived listeners still hear about every update", () => {
  const store = new Store(1);
  const doubled = new Derived({ deps: [store], fn: ({ currDepVals: [n] }) => n * 2 });
  doubled.mount();
  const storeSeen: unknown[] = [];
  const derivedSeen: unknown[] = [];
  store.subscribe((v) => storeSeen.push(v));
  doubled.subscribe((v) => derivedSeen.push(v));
  store.setState(() => 2);
  store.setState(() => 3);
  assert.deepEqual(storeSeen, [
    { prevVal: 1, currentVal: 2 },
    { prevVal: 2, currentVal: 3 },
  ]);
  assert.deepEqual(derivedSeen, [
    { prevVal: 2, currentVal: 4 },
    { prevVal: 4, currentVal: 6 },
  ]);
});

test("a batch notifies once, with the state from before the batch", () => {
  const store = new Store(0);
  const seen: unknown[] = [];
  store.subscribe((v) => seen.push(v));
  batch(() => {
    store.setState(() => 1);
    store.setState(() => 2);
    store.setState(() => 3);
  });
  assert.deepEqual(seen, [{ prevVal: 0, currentVal: 3 }]);
});

test("an unsubscribed listener is not called", () => {
  const store = new Store("a");
  let calls = 0;
  const unsubscribe = store.subscribe(() => calls++);
  store.setState(() => "b");
  unsubscribe();
  store.setState(() => "c");
  assert.equal(calls, 1);
});
