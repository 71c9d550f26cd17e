import assert from "node:assert/strict";
import { test } from "node:test";
import mime, { Mime } from "../src/index.ts";

test("the README's examples", () => {
  assert.equal(mime.getType("js"), "text/javascript");
  assert.equal(mime.getType("json"), "application/json");
  assert.equal(mime.getType("txt"), "text/plain");
  assert.equal(mime.getType("dir/text.txt"), "text/plain");
  assert.equal(mime.getType("dir\\text.txt"), "text/plain");
  assert.equal(mime.getType(".text.txt"), "text/plain");
  assert.equal(mime.getType(".txt"), "text/plain");
  assert.equal(mime.getType("foo/txt"), null);
  assert.equal(mime.getType("bogus_type"), null);
});

test("an extension-less file in a path is not recognized", () => {
  assert.equal(mime.getType("dir/txt"), null);
  assert.equal(mime.getType("a/b/c/json"), null);
  assert.equal(mime.getType("C:\\docs\\txt"), null);
  assert.equal(mime.getType("dir/.txt"), null);
  assert.equal(mime.getType("dir.txt/readme"), null);
  assert.equal(mime.getType("txt/"), null);
});

test("extensions in paths still work, in any case", () => {
  assert.equal(mime.getType("a/b/c/data.JSON"), "application/json");
  assert.equal(mime.getType("C:\\docs\\notes.TXT"), "text/plain");
  assert.equal(mime.getType("dir.txt/readme.md"), "text/markdown");
  assert.equal(mime.getType("TXT"), "text/plain");
  assert.equal(mime.getType("x."), null);
});

test("custom instances behave the same", () => {
  const custom = new Mime({ "text/x-abc": ["abc"] });
  assert.equal(custom.getType("abc"), "text/x-abc");
  assert.equal(custom.getType("file.abc"), "text/x-abc");
  assert.equal(custom.getType("dir/abc"), null);
  assert.equal(custom.getType("dir/file.abc"), "text/x-abc");
});
