import type { AutonomousState, AutonomousStopReason } from "../../../schemas/autonomous.ts";
import type { RunProgress } from "./progress.ts";

/** Candidates the next round spawns: the run's round size, never past maxGenerations. */
export function roundSize(state: AutonomousState): number {
  const k = state.options.candidates ?? 1;
  const max = state.options.maxGenerations;
  return max > 0 ? Math.max(1, Math.min(k, max - state.generations.length)) : k;
}

/** The stop rule that holds before starting another generation, if any. */
export function stopRuleFor(
  state: AutonomousState,
  progress: RunProgress,
): { reason: AutonomousStopReason; detail: string } | null {
  const o = state.options;
  const n = state.generations.length;
  if (o.maxGenerations > 0 && n >= o.maxGenerations) {
    return { reason: "max_generations", detail: `${n} of ${o.maxGenerations} generations run` };
  }
  const tokens = state.primeTokens + progress.labTokens;
  if (o.tokenBudget > 0 && tokens >= o.tokenBudget) {
    return { reason: "token_budget", detail: `${tokens} tokens used of a budget of ${o.tokenBudget}` };
  }
  if (o.plateauWindow > 0 && progress.promotedWithoutGain >= o.plateauWindow) {
    return {
      reason: "plateau",
      detail: `${progress.promotedWithoutGain} promoted generations without beating fitness ${progress.bestFitness ?? "(none)"}`,
    };
  }
  // A round of several candidates counts once: it failed when none of them was promoted.
  let failures = 0;
  let lastRound: number | undefined;
  for (const g of [...progress.generations].reverse()) {
    if (g.outcome === "promoted") break;
    if (g.round === undefined || g.round !== lastRound) failures++;
    lastRound = g.round;
  }
  if (o.maxConsecutiveFailures > 0 && failures >= o.maxConsecutiveFailures) {
    return { reason: "consecutive_failures", detail: `the last ${failures} rounds were not promoted` };
  }
  return null;
}
