import assert from "node:assert/strict";
import { test } from "node:test";
import ms from "../index.js";

test("the README's examples", () => {
  assert.equal(ms(60000), "1m");
  assert.equal(ms(2 * 60000), "2m");
  assert.equal(ms(-3 * 60000), "-3m");
  assert.equal(ms(ms("10 hours")), "10h");
  assert.equal(ms(60000, { long: true }), "1 minute");
  assert.equal(ms(2 * 60000, { long: true }), "2 minutes");
  assert.equal(ms(-3 * 60000, { long: true }), "-3 minutes");
  assert.equal(ms(ms("10 hours"), { long: true }), "10 hours");
});

test("negative short format picks the unit from the magnitude", () => {
  assert.equal(ms(-500), "-500ms");
  assert.equal(ms(-1000), "-1s");
  assert.equal(ms(-1600), "-2s");
  assert.equal(ms(-10 * 1000), "-10s");
  assert.equal(ms(-60 * 60 * 1000), "-1h");
  assert.equal(ms(-40 * 60 * 60 * 1000), "-2d");
  assert.equal(ms(-234234234), "-3d");
});

test("negative long format, with plurals from the magnitude", () => {
  assert.equal(ms(-500, { long: true }), "-500 ms");
  assert.equal(ms(-1000, { long: true }), "-1 second");
  assert.equal(ms(-1200, { long: true }), "-1 second");
  assert.equal(ms(-1600, { long: true }), "-2 seconds");
  assert.equal(ms(-10 * 1000, { long: true }), "-10 seconds");
  assert.equal(ms(-60 * 1000, { long: true }), "-1 minute");
  assert.equal(ms(-60 * 60 * 1000, { long: true }), "-1 hour");
  assert.equal(ms(-24 * 60 * 60 * 1000, { long: true }), "-1 day");
  assert.equal(ms(-234234234, { long: true }), "-3 days");
});

test("positive numbers and parsing are unchanged", () => {
  assert.equal(ms(500), "500ms");
  assert.equal(ms(1500), "2s");
  assert.equal(ms(1000, { long: true }), "1 second");
  assert.equal(ms(1500, { long: true }), "2 seconds");
  assert.equal(ms(234234234), "3d");
  assert.equal(ms("-3 days"), -259200000);
  assert.equal(ms("-1h"), -3600000);
  assert.equal(ms("-200"), -200);
  assert.equal(ms("2.5 hrs"), 9000000);
});
