import assert from "node:assert/strict";
import { test } from "node:test";
import mime, { Mime } from "../src/index.ts";
import mimeLite from "../src/index_lite.ts";

test("the documented example on the default instance", () => {
  assert.deepEqual([...(mime.getAllExtensions("image/jpeg") ?? [])], ["jpg", "jpeg", "jpe"]);
  assert.deepEqual([...(mimeLite.getAllExtensions("image/jpeg") ?? [])], ["jpg", "jpeg", "jpe"]);
  assert.ok(mime.getAllExtensions("text/plain")?.has("txt"));
});

test("case and parameters are ignored; unknown types and non-strings give null", () => {
  assert.deepEqual([...(mime.getAllExtensions("IMAGE/JPEG; charset=x") ?? [])], ["jpg", "jpeg", "jpe"]);
  assert.deepEqual(
    [...(mime.getAllExtensions("Text/Plain ;charset=utf-8") ?? [])],
    [...(mime.getAllExtensions("text/plain") ?? [])],
  );
  assert.equal(mime.getAllExtensions("application/x-does-not-exist"), null);
  assert.equal(mime.getAllExtensions(undefined as unknown as string), null);
  assert.equal(mime.getAllExtensions(42 as unknown as string), null);
});

test("a custom instance lists every extension, starred ones too, across define() calls", () => {
  const custom = new Mime({ "text/x-abc": ["abc", "abcd"] });
  assert.deepEqual([...(custom.getAllExtensions("text/x-abc") ?? [])], ["abc", "abcd"]);
  custom.define({ "audio/wav": ["wav"] });
  custom.define({ "audio/x-wav": ["*wav", "xwav"] });
  assert.deepEqual([...(custom.getAllExtensions("audio/x-wav") ?? [])], ["wav", "xwav"]);
  assert.equal(custom.getType("wav"), "audio/wav");
  assert.equal(custom.getExtension("audio/x-wav"), "wav");
  custom.define({ "text/x-abc": ["abcx"] });
  assert.deepEqual([...(custom.getAllExtensions("text/x-abc") ?? [])], ["abc", "abcd", "abcx"]);
  assert.equal(custom.getExtension("text/x-abc"), "abcx");
});

test("the returned set is a copy", () => {
  const custom = new Mime({ "text/x-abc": ["abc", "abcd"] });
  const set = custom.getAllExtensions("text/x-abc");
  assert.ok(set instanceof Set);
  set.add("zzz");
  set.delete("abc");
  assert.deepEqual([...(custom.getAllExtensions("text/x-abc") ?? [])], ["abc", "abcd"]);
});

test("the other lookups still work", () => {
  assert.equal(mime.getType("dir/text.txt"), "text/plain");
  assert.equal(mime.getExtension("text/html; charset=utf8"), "html");
  assert.throws(() => mime.define({ "text/x-new": ["new"] }));
});
