import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { dequal as esm } from "../dist/index.mjs";

const require = createRequire(import.meta.url);
const cjs = (require("../dist/index.js") as { dequal: (a: unknown, b: unknown) => boolean }).dequal;

for (const [build, dequal] of [
  ["dist/index.mjs", esm],
  ["dist/index.js", cjs],
] as const) {
  test(`${build}: Sets compare object members by value`, () => {
    assert.equal(dequal(new Set([{ a: 1 }]), new Set([{ a: 1 }])), true);
    assert.equal(dequal(new Set([{ a: 1 }, { b: 2 }]), new Set([{ b: 2 }, { a: 1 }])), true);
    assert.equal(dequal(new Set([[1, 2], "x"]), new Set(["x", [1, 2]])), true);
    assert.equal(
      dequal(new Set([new Set([1]), new Map([["k", 1]])]), new Set([new Map([["k", 1]]), new Set([1])])),
      true,
    );
    assert.equal(dequal(new Set([{ a: 1 }]), new Set([{ a: 2 }])), false);
    assert.equal(dequal(new Set([{ a: 1 }, 1]), new Set([{ a: 1 }, 2])), false);
    assert.equal(dequal(new Set([{ a: 1 }]), new Set([{ a: 1 }, { a: 1 }])), false);
  });

  test(`${build}: Maps compare object keys by value`, () => {
    assert.equal(dequal(new Map([[{ id: 1 }, "x"]]), new Map([[{ id: 1 }, "x"]])), true);
    assert.equal(
      dequal(
        new Map<unknown, unknown>([
          [{ id: 1 }, { deep: [1] }],
          [[2], "y"],
        ]),
        new Map<unknown, unknown>([
          [[2], "y"],
          [{ id: 1 }, { deep: [1] }],
        ]),
      ),
      true,
    );
    assert.equal(dequal(new Map([[{ id: 1 }, "x"]]), new Map([[{ id: 1 }, "z"]])), false);
    assert.equal(dequal(new Map([[{ id: 1 }, "x"]]), new Map([[{ id: 2 }, "x"]])), false);
    assert.equal(dequal(new Map([[new Date(0), 1]]), new Map([[new Date(0), 1]])), true);
  });

  test(`${build}: primitives and the README's examples keep working`, () => {
    assert.equal(dequal(new Set([1, 2]), new Set([2, 1])), true);
    assert.equal(dequal(new Set([1, 2]), new Set([1, 3])), false);
    assert.equal(
      dequal(
        new Map([
          ["a", 1],
          ["b", 2],
        ]),
        new Map([
          ["b", 2],
          ["a", 1],
        ]),
      ),
      true,
    );
    assert.equal(dequal(new Map([["a", 1]]), new Map([["a", 2]])), false);
    assert.equal(dequal(1, 1), true);
    assert.equal(dequal({}, {}), true);
    assert.equal(dequal("foo", "foo"), true);
    assert.equal(dequal([1, 2, 3], [1, 2, 3]), true);
    assert.equal(dequal(dequal, dequal), true);
    assert.equal(dequal(/foo/, /foo/), true);
    assert.equal(dequal(null, null), true);
    assert.equal(dequal(NaN, NaN), true);
    assert.equal(dequal([], []), true);
    assert.equal(dequal([{ a: 1 }, [{ b: { c: [1] } }]], [{ a: 1 }, [{ b: { c: [1] } }]]), true);
    assert.equal(dequal(1, "1"), false);
    assert.equal(dequal(null, undefined), false);
    assert.equal(dequal({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
    assert.equal(dequal(new Date("123"), new Date("123")), true);
  });
}
