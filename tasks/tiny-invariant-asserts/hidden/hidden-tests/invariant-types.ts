// Type-level checks for invariant: compiled with tsc, never run.
import invariant from "../src/tiny-invariant.ts";

type Person = { name: string };

export function narrowsNull(value: Person | null): string {
  invariant(value, "Expected value to be a person");
  return value.name;
}

export function narrowsUndefined(value: Person | undefined): string {
  invariant(value);
  return value.name;
}

export function narrowsTypeof(value: string | number): string {
  invariant(typeof value === "string", () => `expected a string, got ${typeof value}`);
  return value.toUpperCase();
}

export function narrowsUnion(
  shape: { kind: "circle"; r: number } | { kind: "square"; side: number },
): number {
  invariant(shape.kind === "circle");
  return shape.r;
}

export function messageTypes(): void {
  invariant(true, "text");
  invariant(true, () => "lazy text");
  // @ts-expect-error a message is a string or a function returning one
  invariant(true, 42);
  // @ts-expect-error a lazy message returns a string
  invariant(true, () => 42);
}

export function withoutNarrowing(value: Person | null): string {
  // @ts-expect-error without invariant the value may be null
  return value.name;
}
