import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bindActionCreators, combineReducers, createStore } from "../src/index.ts";
import * as kinds from "../src/utils/kindOf.ts";

test("src/utils/kindOf.ts exports describeType and no longer kindOf", () => {
  assert.equal(typeof (kinds as Record<string, unknown>).describeType, "function");
  assert.equal("kindOf" in kinds, false);
  assert.equal(typeof kinds.miniKindOf, "function");
});

test("describeType answers as before", () => {
  const describeType = (kinds as unknown as { describeType: (v: unknown) => string }).describeType;
  assert.equal(describeType(undefined), "undefined");
  assert.equal(describeType(null), "null");
  assert.equal(describeType("x"), "string");
  assert.equal(describeType([1]), "array");
  assert.equal(describeType(new Map()), "Map");
  assert.equal(describeType(new Date(0)), "date");
  assert.equal(describeType(new Error("e")), "error");
  assert.equal(describeType({}), "object");
});

test("no source file refers to the old name", () => {
  const src = path.join(import.meta.dirname ?? __dirname, "..", "src");
  const offenders: string[] = [];
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const file = path.join(entry.parentPath, entry.name);
    const text = readFileSync(file, "utf8");
    if (/(?<![A-Za-z_$])kindOf\s*\(|\{\s*kindOf\s*\}|function\s+kindOf\b/.test(text)) offenders.push(file);
  }
  assert.deepEqual(offenders, []);
});

test("error messages still name the type received", () => {
  assert.throws(() => createStore("nope" as never), /Instead, received: 'string'/);
  const store = createStore((s: number = 0) => s);
  assert.throws(() => store.dispatch([] as never), /the actual type was: 'array'/);
  assert.throws(() => store.dispatch({ type: 3 } as never), /the actual type was: 'number'/);
  assert.throws(() => store.subscribe(null as never), /Instead, received: 'null'/);
  assert.throws(() => bindActionCreators(5 as never, store.dispatch), /instead received: 'number'/);
});

test("combineReducers still warns with the type of a bad state", () => {
  const messages: string[] = [];
  const original = console.error;
  console.error = (m: string) => messages.push(String(m));
  try {
    const reducer = combineReducers({ a: (s: number = 0) => s });
    reducer(new Map() as never, { type: "x" });
  } finally {
    console.error = original;
  }
  assert.ok(
    messages.some((m) => m.includes('unexpected type of "Map"')),
    messages.join("\n"),
  );
});
