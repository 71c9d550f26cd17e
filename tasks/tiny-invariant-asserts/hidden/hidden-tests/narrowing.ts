import invariant from "../src/tiny-invariant.ts";

interface Person {
  name: string;
}

export function nameOf(value: Person | null): string {
  invariant(value, "Expected value to be a person");
  return value.name;
}

export function lazily(value: string | undefined): string {
  invariant(value, () => `missing value at ${Date.now()}`);
  return value.toUpperCase();
}

export function noMessage(value: number | undefined): number {
  invariant(value);
  return value + 1;
}

// @ts-expect-error a number is not a message
invariant(true, 42);
// @ts-expect-error a message function must return a string
invariant(true, () => 42);
