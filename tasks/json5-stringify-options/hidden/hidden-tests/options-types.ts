import { stringify } from "../lib/index.js";

export const a: string = stringify({ a: 1 }, { space: 2, quote: "'" });
export const b: string = stringify({ a: 1 }, { replacer: ["a"], quote: null });
export const c: string = stringify(
  { a: 1 },
  { replacer: (_key: string, value: unknown) => value, space: "\t" },
);
export const d: string = stringify({ a: 1 }, {});
export const e: string = stringify({ a: 1 }, null, 2);
// @ts-expect-error quote is a string
stringify({ a: 1 }, { quote: 1 });
