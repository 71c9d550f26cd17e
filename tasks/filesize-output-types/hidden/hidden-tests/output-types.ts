import {
  type FilesizeArray,
  type FilesizeObject,
  type FilesizeOptions,
  type FilesizeReturn,
  filesize,
  partial,
} from "../types/filesize.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_: T) {}

const plain = filesize(1024);
expectType<Equal<typeof plain, string>>(true);
const bits = filesize(1024, { bits: true, round: 1 });
expectType<Equal<typeof bits, string>>(true);
const asString = filesize(1024, { output: "string" });
expectType<Equal<typeof asString, string>>(true);
const asArray = filesize(1024, { output: "array" });
expectType<Equal<typeof asArray, FilesizeArray>>(true);
const asObject = filesize(1024, { output: "object", standard: "iec" });
expectType<Equal<typeof asObject, FilesizeObject>>(true);
const asExponent = filesize(1024n, { output: "exponent" });
expectType<Equal<typeof asExponent, number>>(true);

const [value, unit] = filesize("2048", { output: "array" });
export const described: string = `${value} ${unit}`;
export const symbol: string = filesize(1, { output: "object" }).symbol;

const toObject = partial({ output: "object", round: 1 });
expectType<Equal<ReturnType<typeof toObject>, FilesizeObject>>(true);
const toText = partial({ standard: "iec" });
expectType<Equal<ReturnType<typeof toText>, string>>(true);
const toExponent = partial({ output: "exponent" });
export const exponent: number = toExponent(5000);

expectType<Equal<FilesizeReturn<{ output: "array" }>, FilesizeArray>>(true);
expectType<Equal<FilesizeReturn, string>>(true);

const options: FilesizeOptions = { output: "object" };
export const wide = filesize(1, options);

// @ts-expect-error a string result has no symbol
filesize(1024).symbol;
// @ts-expect-error "json" is not an output format
filesize(1024, { output: "json" });
