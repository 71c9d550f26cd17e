import assert from "node:assert/strict";
import { test } from "node:test";
import * as immerModule from "../src/immer.ts";
import { createDraft, enablePatches, finishDraft, Immer, produce, produceWithPatches } from "../src/immer.ts";

enablePatches();

const bump = (d: { a: number }) => {
  d.a = 2;
};

const setAutoFreeze = (immerModule as unknown as Record<string, (v: boolean) => void>).setAutoFreeze;

function withAutoFreeze(value: boolean, fn: () => void) {
  assert.equal(typeof setAutoFreeze, "function", "src/immer.ts exports setAutoFreeze");
  setAutoFreeze(value);
  try {
    fn();
  } finally {
    setAutoFreeze(true);
  }
}

test("by default produce deep-freezes new and changed objects", () => {
  const base = { list: [{ id: 1 }], other: { x: 1 } };
  const next = produce(base, (draft) => {
    draft.list.push({ id: 2 });
  });
  assert.ok(Object.isFrozen(next));
  assert.ok(Object.isFrozen(next.list));
  assert.ok(Object.isFrozen(next.list[1]));
  assert.equal(next.other, base.other);
  const fromPrimitive = produce(undefined, () => ({ a: { b: 1 } }));
  assert.ok(Object.isFrozen(fromPrimitive));
  assert.ok(Object.isFrozen(fromPrimitive.a));
});

test("setAutoFreeze(false) leaves produce's results mutable", () => {
  withAutoFreeze(false, () => {
    const base = { list: [{ id: 1 }], other: { x: 1 } };
    const next = produce(base, (draft) => {
      draft.list.push({ id: 2 });
      draft.list[0]!.id = 10;
    });
    assert.deepEqual(next, { list: [{ id: 10 }, { id: 2 }], other: { x: 1 } });
    assert.ok(!Object.isFrozen(next));
    assert.ok(!Object.isFrozen(next.list));
    assert.ok(!Object.isFrozen(next.list[0]));
    assert.ok(!Object.isFrozen(next.list[1]));
    assert.ok(!Object.isFrozen(base.other));
    assert.equal(next.other, base.other);
    next.list.push({ id: 3 });
    assert.equal(next.list.length, 3);
    assert.equal(base.list.length, 1);

    const fromPrimitive = produce(undefined, () => ({ a: { b: 1 } }));
    assert.ok(!Object.isFrozen(fromPrimitive));
    assert.ok(!Object.isFrozen(fromPrimitive.a));

    const replaced = produce(base, () => ({ list: [], other: { x: 2 } }));
    assert.ok(!Object.isFrozen(replaced));
    assert.ok(!Object.isFrozen(replaced.other));
  });
});

test("turning it back on freezes again", () => {
  withAutoFreeze(false, () => {
    assert.ok(!Object.isFrozen(produce({ a: 1 }, bump)));
  });
  assert.ok(Object.isFrozen(produce({ a: 1 }, bump)));
});

test("produceWithPatches and finishDraft follow the switch", () => {
  withAutoFreeze(false, () => {
    const [next, patches] = produceWithPatches({ a: { b: 1 } }, (draft) => {
      draft.a.b = 2;
    });
    assert.deepEqual(patches, [{ op: "replace", path: ["a", "b"], value: 2 }]);
    assert.ok(!Object.isFrozen(next));
    assert.ok(!Object.isFrozen(next.a));
    const draft = createDraft({ items: [1] });
    draft.items.push(2);
    const done = finishDraft(draft);
    assert.deepEqual(done, { items: [1, 2] });
    assert.ok(!Object.isFrozen(done));
    assert.ok(!Object.isFrozen(done.items));
  });
  const draft = createDraft({ items: [1] });
  draft.items.push(2);
  assert.ok(Object.isFrozen(finishDraft(draft).items));
});

test("Immer instances: the autoFreeze option and the setAutoFreeze method", () => {
  const MutableImmer = Immer as unknown as new (config?: { autoFreeze?: boolean }) => Immer;
  const loose = new MutableImmer({ autoFreeze: false });
  const a = loose.produce({ n: { v: 1 } }, (d) => {
    d.n.v = 2;
  });
  assert.ok(!Object.isFrozen(a));
  assert.ok(!Object.isFrozen(a.n));

  const strict = new Immer();
  const b = strict.produce({ n: { v: 1 } }, (d) => {
    d.n.v = 2;
  });
  assert.ok(Object.isFrozen(b));
  assert.ok(Object.isFrozen(b.n));

  const switched = new Immer() as Immer & { setAutoFreeze(v: boolean): void };
  switched.setAutoFreeze(false);
  assert.ok(!Object.isFrozen(switched.produce({ x: [1] }, (d) => void d.x.push(2)).x));
  switched.setAutoFreeze(true);
  assert.ok(Object.isFrozen(switched.produce({ x: [1] }, (d) => void d.x.push(2)).x));

  // instances do not affect the default one
  assert.ok(Object.isFrozen(produce({ a: 1 }, bump)));
});
