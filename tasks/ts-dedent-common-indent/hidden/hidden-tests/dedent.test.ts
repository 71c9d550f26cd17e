import assert from "node:assert/strict";
import { test } from "node:test";
import dedentDefault, { dedent } from "../src/index.ts";

test("a first line indented deeper than the rest keeps its extra indentation", () => {
  const text = dedent`
      deeper first line
    base line
      deeper again
  `;
  assert.equal(text, "  deeper first line\nbase line\n  deeper again");
});

test("the smallest indentation is removed, wherever the least indented line is", () => {
  const text = dedent(`
        four
      two
    zero
          six
  `);
  assert.equal(text, "    four\n  two\nzero\n      six");
});

test("the README list example", () => {
  const text = dedent`
    Leading and trailing lines will be trimmed, so you can write something like
    this and have it work as you expect:

      * how convenient it is
      * that I can use an indented list
          - and still have it do the right thing

    That's all.
  `;
  assert.equal(
    text,
    "Leading and trailing lines will be trimmed, so you can write something like\n" +
      "this and have it work as you expect:\n\n" +
      "  * how convenient it is\n" +
      "  * that I can use an indented list\n" +
      "      - and still have it do the right thing\n\n" +
      "That's all.",
  );
});

test("placeholders and multi-line values", () => {
  assert.equal(
    dedent`
    ${1}. With any kind of
    ${2}. Placeholders
  `,
    "1. With any kind of\n2. Placeholders",
  );
  const list = "- a\n- b";
  assert.equal(
    dedent`
      Items:
        ${list}
    end
  `,
    "  Items:\n    - a\n    - b\nend",
  );
});

test("a single line and the default export", () => {
  assert.equal(dedent("  just one line"), "  just one line");
  assert.equal(
    dedentDefault`
    x
      y
  `,
    "x\n  y",
  );
});
