import assert from "node:assert/strict";
import { test } from "node:test";
import Hashids from "../src/hashids.ts";

test("the examples from the issue decode back", () => {
  const h3 = new Hashids("salt", 3);
  assert.deepEqual(h3.decode(h3.encode(1)), [1]);
  const h4 = new Hashids("salt", 4);
  assert.deepEqual(h4.decode(h4.encode(1000)), [1000]);
});

test("every id round-trips for minLength 0..24", () => {
  for (const salt of ["", "salt", "this is my salt"]) {
    for (let minLength = 0; minLength <= 24; minLength++) {
      const hashids = new Hashids(salt, minLength);
      for (const numbers of [[0], [1], [7], [42], [1000], [123456789], [1, 2, 3], [5, 0, 99]]) {
        const id = hashids.encode(numbers);
        assert.ok(id.length >= minLength, `${id} is shorter than ${minLength}`);
        assert.deepEqual(
          hashids.decode(id),
          numbers,
          `salt ${JSON.stringify(salt)}, minLength ${minLength}: ${id}`,
        );
      }
    }
  }
});

test("hex ids round-trip with a minLength", () => {
  for (let minLength = 0; minLength <= 20; minLength++) {
    const hashids = new Hashids("hex salt", minLength);
    for (const hex of ["1", "ff", "deadbeef", "0123456789abcdef0123"]) {
      assert.equal(hashids.decodeHex(hashids.encodeHex(hex)), hex, `minLength ${minLength}`);
    }
  }
});

test("the documented padded example still works", () => {
  const hashids = new Hashids("this is my salt", 8);
  assert.equal(hashids.encode(1), "gB0NV05e");
  assert.deepEqual(hashids.decode("gB0NV05e"), [1]);
});

test("ids that this instance did not produce decode to []", () => {
  const hashids = new Hashids("salt", 3);
  const other = new Hashids("other salt", 3);
  assert.deepEqual(hashids.decode(other.encode(123)), []);
  assert.deepEqual(hashids.decode(""), []);
});
