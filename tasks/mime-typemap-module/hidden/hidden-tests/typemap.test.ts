import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import mime, { Mime } from "../src/index.ts";
import mimeLite from "../src/index_lite.ts";
import otherTypes from "../types/other.ts";
import standardTypes from "../types/standard.ts";

const root = join(import.meta.dirname, "..");
const source = (path: string) => readFileSync(join(root, path), "utf8");

test("TypeMap lives in src/TypeMap.ts and Mime.ts imports it", () => {
  assert.ok(existsSync(join(root, "src/TypeMap.ts")));
  assert.match(source("src/TypeMap.ts"), /export\s+type\s+TypeMap\b/);
  const mimeTs = source("src/Mime.ts");
  assert.doesNotMatch(mimeTs, /^\s*(export\s+)?type\s+TypeMap\s*=/m);
  assert.match(mimeTs, /import[^;]*\bTypeMap\b[^;]*from\s+['"]\.\/TypeMap(\.js|\.ts)?['"]/);
});

test("the type maps are unchanged and frozen", () => {
  assert.deepEqual(standardTypes["text/plain"], ["txt", "text", "conf", "def", "list", "log", "in", "ini"]);
  assert.ok(Object.isFrozen(standardTypes));
  assert.ok(Object.isFrozen(otherTypes));
  assert.ok(Object.keys(standardTypes).length > 300);
});

test("lookups behave as before", () => {
  assert.equal(mime.getType("txt"), "text/plain");
  assert.equal(mime.getType("dir/data.json"), "application/json");
  assert.equal(mime.getType("foo/txt"), null);
  assert.equal(mime.getExtension("text/plain"), "txt");
  assert.equal(mime.getExtension("text/html; charset=utf8"), "html");
  assert.equal(mimeLite.getType("png"), "image/png");
  const custom = new Mime({ "text/x-abc": ["abc", "abcd"] });
  assert.equal(custom.getType("abcd"), "text/x-abc");
  assert.throws(() => custom.define({ "text/x-other": ["abc"] }));
});
