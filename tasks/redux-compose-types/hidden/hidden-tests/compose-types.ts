// Type-level checks for compose: compiled with tsc, never run.
import compose from "../src/compose.ts";

const toStr = (n: number): string => `${n}`;
const len = (s: string): number => s.length;
const add = (a: number, b: number): number => a + b;
const isEven = (n: number): boolean => n % 2 === 0;
const flag = (b: boolean): "yes" | "no" => (b ? "yes" : "no");

// no function: a generic identity
const id = compose();
const idNum: number = id(3);
const idStr: string = id("s");
// @ts-expect-error identity keeps its argument's type
const idWrong: string = id(3);

// one function: that function's own type
const one = compose(toStr);
const oneOut: string = one(1);
// @ts-expect-error the single function keeps its parameter type
one("1");

// two functions: the rightmost's parameters, the leftmost's result
const two = compose(toStr, add);
const twoOut: string = two(1, 2);
// @ts-expect-error wrong argument type for the rightmost function
two("1", 2);
// @ts-expect-error wrong number of arguments
two(1);
// @ts-expect-error the result is a string
const twoWrong: number = two(1, 2);

// three functions
const three = compose(len, toStr, add);
const threeOut: number = three(1, 2);
// @ts-expect-error the result is a number
const threeWrong: string = three(1, 2);
// @ts-expect-error wrong argument type
three(1, "2");

// four functions
const four = compose(flag, isEven, len, toStr);
const fourOut: "yes" | "no" = four(12);
// @ts-expect-error the result is "yes" | "no"
const fourWrong: boolean = four(12);
// @ts-expect-error wrong argument type
four("12");

// five or more functions still compile
const five = compose(toStr, len, toStr, len, toStr);

export const used = [
  idNum,
  idStr,
  idWrong,
  oneOut,
  twoOut,
  twoWrong,
  threeOut,
  threeWrong,
  fourOut,
  fourWrong,
  five,
];
