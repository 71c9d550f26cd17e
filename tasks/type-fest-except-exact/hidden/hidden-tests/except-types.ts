// Type-level checks for Except: compiled with tsc, never run.
import type { Except } from "../source/except";
import type { SetOptional } from "../source/set-optional";

type Foo = { a: number; b: string; c?: boolean };
const withA = { a: 1, b: "x" };

// Without options: as before
type NoA = Except<Foo, "a">;
export const plain: NoA = { b: "x" };
export const plainWithC: NoA = { b: "x", c: true };
// @ts-expect-error an object literal may not name the omitted key
export const plainLiteral: NoA = { a: 1, b: "x" };
// Without options a value that has the omitted key is still assignable (structural typing)
export const plainFromVariable: NoA = withA;
// @ts-expect-error the keys must be keys of the object type
export type WrongKey = Except<Foo, "zzz">;
// @ts-expect-error the other keys keep their types
export const plainWrongType: NoA = { b: 1 };

// requireExactProps: false is the default
type NoALoose = Except<Foo, "a", { requireExactProps: false }>;
export const looseFromVariable: NoALoose = withA;

// requireExactProps: true forbids the omitted keys even on values that are not literals
type NoAExact = Except<Foo, "a", { requireExactProps: true }>;
export const exact: NoAExact = { b: "x" };
// @ts-expect-error the omitted key may not be set
export const exactLiteral: NoAExact = { a: 1, b: "x" };
// @ts-expect-error the omitted key may not come in through a variable either
export const exactFromVariable: NoAExact = withA;
// @ts-expect-error the other keys keep their types
export const exactWrongType: NoAExact = { b: 1 };

type NoAB = Except<Foo, "a" | "b", { requireExactProps: true }>;
export const onlyC: NoAB = { c: false };
const withB = { b: "y", c: true };
// @ts-expect-error every omitted key is forbidden
export const noabFromVariable: NoAB = withB;

// @ts-expect-error options are an object with requireExactProps
export type BadOptions = Except<Foo, "a", { requireExactProps: "yes" }>;

// Types built on Except still work
type OptionalB = SetOptional<Foo, "b">;
export const optionalB: OptionalB = { a: 1 };
