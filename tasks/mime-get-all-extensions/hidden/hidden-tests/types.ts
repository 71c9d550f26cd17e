import mime, { Mime } from "../src/index.ts";

const all: Set<string> | null = mime.getAllExtensions("image/jpeg");
const custom: Set<string> | null = new Mime({ "text/x-abc": ["abc"] }).getAllExtensions("text/x-abc");
// @ts-expect-error the result can be null
const notNull: Set<string> = mime.getAllExtensions("image/png");
console.log(all, custom, notNull);
