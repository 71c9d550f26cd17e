import { type TypeMap as FromIndex, Mime } from "../src/index.ts";
import type { TypeMap as FromLite } from "../src/index_lite.ts";
import type { TypeMap } from "../src/TypeMap.ts";
import otherTypes from "../types/other.ts";
import standardTypes from "../types/standard.ts";

const custom: TypeMap = { "text/x-abc": ["abc"] };
const viaIndex: FromIndex = custom;
const viaLite: FromLite = viaIndex;
new Mime(viaLite, standardTypes, otherTypes);

// the shipped maps are TypeMaps: indexing them by any mime type is fine
const exts: string[] = standardTypes["text/x-made-up"];
const more: string[] | undefined = otherTypes["application/x-anything"];
console.log(exts, more);

// @ts-expect-error extensions are strings
const wrong: TypeMap = { "text/x-abc": [1] };
console.log(wrong);
