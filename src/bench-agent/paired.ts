import { LoomError } from "../shared/errors.ts";

/** Two refs' results on the same tasks, in the same order, cannot be paired. */
export class PairingError extends LoomError {
  constructor(message: string) {
    super("PAIRING_INVALID", message);
  }
}

export type Verdict = "A better" | "B better" | "within noise";

export interface McNemarResult {
  /** Tasks only A solved, only B solved, both, neither. */
  readonly aOnly: number;
  readonly bOnly: number;
  readonly both: number;
  readonly neither: number;
  /** Two-sided exact p-value: the binomial(aOnly + bOnly, 1/2) test of the discordant pairs. */
  readonly pValue: number;
  readonly verdict: Verdict;
}

const checkPaired = (a: readonly unknown[], b: readonly unknown[], what: string): void => {
  if (a.length !== b.length) {
    throw new PairingError(
      `${what}: ${a.length} against ${b.length} tasks; a paired comparison needs the same tasks, in the same order`,
    );
  }
  if (a.length === 0) throw new PairingError(`${what}: no tasks to compare`);
};

/**
 * P(X ≤ k) for X ~ binomial(n, 1/2). Term by term from 2^-n, which is exact for the small counts of a
 * task suite; past 1000 pairs, where 2^-n underflows, the same sum in log space.
 */
function binomialHalfCdf(k: number, n: number): number {
  const logSpace = n > 1000;
  let term = logSpace ? -n * Math.LN2 : 2 ** -n;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += logSpace ? Math.exp(term) : term;
    term = logSpace ? term + Math.log(n - i) - Math.log(i + 1) : (term * (n - i)) / (i + 1);
  }
  return sum;
}

/**
 * McNemar's exact test on paired solved flags: only tasks one ref solved and the other did not carry
 * information. A verdict other than "within noise" needs p < alpha.
 */
export function mcnemar(a: readonly boolean[], b: readonly boolean[], alpha = 0.05): McNemarResult {
  checkPaired(a, b, "McNemar (A against B)");
  let aOnly = 0;
  let bOnly = 0;
  let both = 0;
  for (const [i, x] of a.entries()) {
    const y = b[i];
    if (x && y) both++;
    else if (x) aOnly++;
    else if (y) bOnly++;
  }
  const n = aOnly + bOnly;
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(aOnly, bOnly), n));
  const verdict: Verdict = pValue >= alpha ? "within noise" : aOnly > bOnly ? "A better" : "B better";
  return { aOnly, bOnly, both, neither: a.length - n - both, pValue, verdict };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same resamples on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  /** The observed mean difference, A − B. */
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
}

export interface BootstrapOptions {
  readonly resamples?: number;
  readonly seed?: number;
  /** Coverage of the interval (0.95: the 2.5th to the 97.5th percentile). */
  readonly level?: number;
}

const quantile = (sorted: readonly number[], q: number): number => {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
};

/**
 * Percentile bootstrap interval of mean(a − b) over paired values: tasks are resampled with
 * replacement, each keeping its A and B together. Deterministic for a given seed.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): Interval {
  checkPaired(a, b, "bootstrap (A against B)");
  const { resamples = 2000, seed = 1, level = 0.95 } = options;
  const diffs = a.map((x, i) => x - b[i]!);
  const n = diffs.length;
  const random = seededRandom(seed);
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diffs[Math.floor(random() * n)]!;
    means.push(sum / n);
  }
  means.sort((x, y) => x - y);
  const tail = (1 - level) / 2;
  const estimate = diffs.reduce((s, d) => s + d, 0) / n;
  return { estimate, low: quantile(means, tail), high: quantile(means, 1 - tail) };
}

export interface RefTasks {
  readonly solved: readonly boolean[];
  /** Per task; null where a model's price was unknown. */
  readonly costUsd: readonly (number | null)[];
}

export interface PairedComparison {
  readonly mcnemar: McNemarResult;
  /** Difference in solved share, A − B (1 = A solved every task B did not). */
  readonly solvedShare: Interval;
  /** Difference in cost per task in US dollars, A − B; null when any task's cost is unknown. */
  readonly costPerTask: Interval | null;
}

/** Everything `--compare A B` reports about two refs' results on the same tasks, in the same order. */
export function comparePaired(
  a: RefTasks,
  b: RefTasks,
  options: BootstrapOptions & { readonly alpha?: number } = {},
): PairedComparison {
  checkPaired(a.solved, a.costUsd, "A's solved flags and costs");
  checkPaired(b.solved, b.costUsd, "B's solved flags and costs");
  const known = (costs: readonly (number | null)[]): costs is readonly number[] =>
    costs.every((c) => c !== null);
  return {
    mcnemar: mcnemar(a.solved, b.solved, options.alpha),
    solvedShare: pairedBootstrap(a.solved.map(Number), b.solved.map(Number), options),
    costPerTask: known(a.costUsd) && known(b.costUsd) ? pairedBootstrap(a.costUsd, b.costUsd, options) : null,
  };
}
