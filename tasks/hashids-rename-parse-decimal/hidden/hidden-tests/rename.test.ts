import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Hashids from "../src/hashids.ts";
import * as util from "../src/util.ts";

test("util exports parseDecimalInteger and no longer safeParseInt10", () => {
  assert.equal(typeof (util as Record<string, unknown>).parseDecimalInteger, "function");
  assert.equal("safeParseInt10" in util, false);
});

test("parseDecimalInteger behaves as before", () => {
  const parse = (util as Record<string, unknown>).parseDecimalInteger as (s: string) => number | bigint;
  assert.equal(parse("42"), 42);
  assert.equal(parse("+7"), 7);
  assert.equal(parse("0"), 0);
  assert.ok(Number.isNaN(parse("4.2")));
  assert.ok(Number.isNaN(parse("abc")));
  assert.ok(Number.isNaN(parse("-3")));
  assert.equal(parse("12345678901234567890"), 12345678901234567890n);
});

test("no source file under src/ mentions the old name", () => {
  const dir = join(import.meta.dirname, "..", "src");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".ts")) continue;
    assert.ok(!readFileSync(join(dir, name), "utf8").includes("safeParseInt10"), `${name} still mentions it`);
  }
});

test("Hashids still encodes numeric strings like numbers", () => {
  const hashids = new Hashids("this is my salt");
  assert.equal(hashids.encode("1", "2", "3"), hashids.encode(1, 2, 3));
  assert.equal(hashids.encode(["45", "434", "1313", "99"]), hashids.encode(45, 434, 1313, 99));
  assert.equal(hashids.encode("12345678901234567890"), hashids.encode(12345678901234567890n));
  assert.deepEqual(hashids.decode(hashids.encode("5", "+6")), [5, 6]);
  assert.equal(hashids.encode("abc"), "");
  assert.equal(hashids.encode("1.5"), "");
});
