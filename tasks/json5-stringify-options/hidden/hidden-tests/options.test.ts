import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

const require = createRequire(import.meta.url);
type Stringify = (value: unknown, ...rest: unknown[]) => string;
const JSON5 = require("../lib/index.js") as { stringify: Stringify; parse: (text: string) => unknown };
const stringify = JSON5.stringify;

test("quote picks the quote character for values and keys", () => {
  assert.equal(stringify({ a: "it's" }, { quote: '"' }), `{a:"it's"}`);
  assert.equal(stringify({ "a-b": "x" }, { quote: '"' }), `{"a-b":"x"}`);
  assert.equal(stringify({ "a-b": ["x", 1] }, { quote: "'" }), `{'a-b':['x',1]}`);
  assert.equal(stringify('say "hi" it\'s', { quote: '"' }), `"say \\"hi\\" it's"`);
  assert.equal(stringify('say "hi" it\'s', { quote: "'" }), `'say "hi" it\\'s'`);
  assert.equal(stringify("plain", { quote: '"' }), `"plain"`);
});

test("without quote the automatic choice stays", () => {
  assert.equal(stringify("it's"), `"it's"`);
  assert.equal(stringify('say "hi"'), `'say "hi"'`);
  assert.equal(stringify("plain"), `'plain'`);
  assert.equal(stringify({ a: "it's" }, {}), `{a:"it's"}`);
  assert.equal(stringify({ a: "x" }, { quote: null }), `{a:'x'}`);
});

test("replacer and space work in the options object like the positional parameters", () => {
  assert.equal(stringify({ a: 1, b: 2, c: 3 }, { replacer: ["a", "c"] }), "{a:1,c:3}");
  assert.equal(
    stringify(
      { a: 1, b: 2 },
      { replacer: (key: string, value: unknown) => (key === "b" ? undefined : value) },
    ),
    "{a:1}",
  );
  assert.equal(stringify({ a: 1 }, { space: 2 }), "{\n  a: 1,\n}");
  assert.equal(stringify({ a: [1, 2] }, { space: "\t" }), "{\n\ta: [\n\t\t1,\n\t\t2,\n\t],\n}");
  assert.equal(stringify({ a: 1 }, { space: 20 }), stringify({ a: 1 }, null, 10));
  assert.equal(stringify({ a: "x", b: 2 }, { replacer: ["a"], space: 1, quote: '"' }), '{\n a: "x",\n}');
});

test("the positional form is unchanged and the output parses back", () => {
  assert.equal(stringify({ a: 1, b: 2 }, ["b"]), "{b:2}");
  assert.equal(stringify({ a: 1 }, null, 2), "{\n  a: 1,\n}");
  assert.equal(stringify([1, "two"], null, "  "), "[\n  1,\n  'two',\n]");
  const value = { s: 'it\'s "quoted"', n: [1, 2, { k: null }], "needs-quotes": true };
  for (const quote of ["'", '"']) {
    assert.deepEqual(JSON5.parse(stringify(value, { quote, space: 2 })), value);
  }
});
