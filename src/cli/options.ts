import { InvalidArgumentError } from "commander";

/** A commander option parser for whole numbers in a range, with a message naming the flag and the range. */
export function parsePositiveInt(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${flag} must be a whole number from ${min} to ${max} (got "${value}").`,
      );
    }
    return n;
  };
}
