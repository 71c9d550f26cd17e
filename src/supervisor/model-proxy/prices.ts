import type { Usage } from "../../../schemas/usage.ts";

/** US dollars per million tokens for one model family. */
export interface ModelPrice {
  readonly family: string;
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  /** The 5-minute cache write, the kind Loom's `ephemeral` breakpoints make. */
  readonly cacheWrite: number;
}

/**
 * Public list prices by family, most specific pattern first. A model no pattern matches has no
 * price: its cost is reported as unknown rather than guessed.
 */
const PRICES: readonly (ModelPrice & { readonly pattern: RegExp })[] = [
  {
    family: "opus-4.5+",
    pattern: /opus-4-[5-9]|opus-4\.[5-9]/,
    input: 5,
    output: 25,
    cacheRead: 0.5,
    cacheWrite: 6.25,
  },
  { family: "opus", pattern: /opus/, input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75 },
  { family: "sonnet", pattern: /sonnet/, input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
  { family: "haiku-4.5", pattern: /haiku-4/, input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25 },
  {
    family: "haiku-3.5",
    pattern: /3-5-haiku|haiku-3-5/,
    input: 0.8,
    output: 4,
    cacheRead: 0.08,
    cacheWrite: 1,
  },
  {
    family: "haiku-3",
    pattern: /3-haiku|haiku-3/,
    input: 0.25,
    output: 1.25,
    cacheRead: 0.03,
    cacheWrite: 0.3,
  },
];

export function priceOf(model: string): ModelPrice | undefined {
  const id = model.toLowerCase();
  return PRICES.find((p) => p.pattern.test(id));
}

/** The cost of one response in US dollars, or null when the model's price is not known. */
export function costOf(model: string, usage: Usage): number | null {
  const price = priceOf(model);
  if (!price) return null;
  const micro =
    usage.input * price.input +
    usage.output * price.output +
    usage.cacheRead * price.cacheRead +
    usage.cacheWrite * price.cacheWrite;
  return micro / 1_000_000;
}
