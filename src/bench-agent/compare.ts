import type { BenchAgentResult } from "../../schemas/task.ts";
import { summaryLine } from "./format.ts";
import { comparePaired, type PairedComparison } from "./paired.ts";
import { apiBaseOf, type BenchOptions, planBench, runBench, storedResult } from "./run-bench.ts";

export interface CompareOptions extends Omit<BenchOptions, "ref"> {
  readonly refs: readonly [string, string];
}

export interface RefScore {
  readonly ref: string;
  readonly result: BenchAgentResult;
  /** True when a stored result of the same ref, model, endpoint and task set was used. */
  readonly reused: boolean;
}

export interface Comparison {
  readonly a: RefScore;
  readonly b: RefScore;
  readonly paired: PairedComparison;
  /** One sentence: which ref solved more, and whether the paired test calls it noise. */
  readonly verdict: string;
}

async function score(options: CompareOptions, ref: string): Promise<RefScore> {
  const plan = await planBench({ ...options, ref });
  const stored = await storedResult(options.config, {
    ref: plan.commit,
    model: options.config.labModel,
    apiBase: apiBaseOf(options.config),
    taskSet: plan.taskSet,
  });
  if (stored) {
    options.progress(
      `bench-agent: ${ref} (${plan.commit.slice(0, 12)}): reusing the stored result (${summaryLine(stored)})`,
    );
    return { ref, result: stored, reused: true };
  }
  const run = await runBench({ ...options, ref });
  return { ref, result: run.result, reused: false };
}

/**
 * `--compare A B`: both refs on the same tasks (a stored result reused only when ref, model, endpoint
 * and task set all match), paired task by task: McNemar's exact test on the tasks one solved and the
 * other did not, and bootstrap intervals for the differences in solved share and cost per task.
 */
export async function compareRefs(options: CompareOptions): Promise<Comparison> {
  const a = await score(options, options.refs[0]);
  const b = await score(options, options.refs[1]);
  const byName = new Map(b.result.tasks.map((t) => [t.name, t]));
  const shared = a.result.tasks.filter((t) => byName.has(t.name));
  const pairedB = shared.map((t) => byName.get(t.name) as (typeof shared)[number]);
  const paired = comparePaired(
    { solved: shared.map((t) => t.solved), costUsd: shared.map((t) => t.costUsd ?? null) },
    { solved: pairedB.map((t) => t.solved), costUsd: pairedB.map((t) => t.costUsd ?? null) },
  );
  const m = paired.mcnemar;
  const p = m.pValue < 0.001 ? "p < 0.001" : `p = ${m.pValue.toFixed(3)}`;
  const verdict =
    m.verdict === "within noise"
      ? `${options.refs[0]} and ${options.refs[1]} differ by ${m.aOnly - m.bOnly} task(s) (${m.aOnly} solved only by ${options.refs[0]}, ${m.bOnly} only by ${options.refs[1]}): within noise (${p}, McNemar's exact test), so neither is shown to be better`
      : `${m.verdict === "A better" ? options.refs[0] : options.refs[1]} is better: ${m.aOnly} task(s) solved only by ${options.refs[0]}, ${m.bOnly} only by ${options.refs[1]} (${p}, McNemar's exact test)`;
  return { a, b, paired, verdict };
}

const signed = (x: number, digits: number): string => `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;

export function formatComparison(c: Comparison): string {
  const share = c.paired.solvedShare;
  const cost = c.paired.costPerTask;
  return [
    `A ${c.a.ref} (${c.a.result.ref.slice(0, 12)}${c.a.reused ? ", stored" : ""}): ${summaryLine(c.a.result)}`,
    `B ${c.b.ref} (${c.b.result.ref.slice(0, 12)}${c.b.reused ? ", stored" : ""}): ${summaryLine(c.b.result)}`,
    `solved share A − B: ${signed(share.estimate * 100, 1)} points (95 % interval ${signed(share.low * 100, 1)} to ${signed(share.high * 100, 1)})`,
    cost
      ? `cost per task A − B: ${signed(cost.estimate, 4)} USD (95 % interval ${signed(cost.low, 4)} to ${signed(cost.high, 4)})`
      : "cost per task A − B: unknown (a model's price is not known)",
    c.verdict,
    "",
  ].join("\n");
}
