import assert from "node:assert/strict";
import { test } from "node:test";
import { filesize, partial } from "../dist/filesize.js";

test("each output format returns its documented shape", () => {
  assert.equal(filesize(1024), "1.02 kB");
  assert.deepEqual(filesize(1536, { output: "array" }), [1.54, "kB"]);
  assert.deepEqual(filesize(1536, { output: "object" }), {
    value: 1.54,
    symbol: "kB",
    exponent: 1,
    unit: "kB",
  });
  assert.equal(filesize(1536, { output: "exponent" }), 1);
  assert.equal(filesize(265318, { base: 2 }), "259.1 KiB");
});

test("partial keeps the preset output format", () => {
  assert.equal(partial({ round: 1, standard: "iec" })(1536), "1.5 KiB");
  assert.deepEqual(partial({ output: "array" })(2048), [2.05, "kB"]);
  assert.equal(partial({ output: "exponent" })(5_000_000), 2);
});
