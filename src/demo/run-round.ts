import { LoomError } from "../shared/errors.ts";
import { demoRoundPrimeScript } from "./demo-prime-script.ts";
import { demoRoundRepoFiles } from "./demo-repo.ts";
import { DEMO_ROUND_MAX, DEMO_ROUND_MIN, roundCandidates, roundLabScript } from "./demo-script.ts";
import { type RoundReport, roundReport } from "./round-report.ts";
import { type CycleResult, runDemoCycle } from "./run-cycle.ts";

/** Finalists of the demo's round: both candidates that pass the cheap stages are verified in full. */
export const DEMO_ROUND_FINALISTS = 2;

export interface DemoRoundOptions {
  readonly log: (line: string) => void;
  readonly keep?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * The round's size, from DEMO_ROUND_MIN to DEMO_ROUND_MAX (default 3, `loom demo --candidates 3`).
   * Candidate i plays careless, verbose, tidy in turn on a model of its own (roundCandidates).
   */
  readonly candidates?: number;
}

/**
 * `loom demo --candidates 3`: one round of three candidates on one program.md, each Lab on its own
 * scripted model (LOOM_LAB_MODELS, drawn in turn), two finalists (LOOM_FINALISTS=2), on the demo
 * repository tested with vitest; then the round as its records and refs show it. Other sizes (the
 * rounds benchmark's K = 2 and 4) cycle the same three parts.
 */
export async function runDemoRound(
  options: DemoRoundOptions,
): Promise<{ cycle: CycleResult; report: RoundReport }> {
  const k = options.candidates ?? 3;
  if (!Number.isInteger(k) || k < DEMO_ROUND_MIN || k > DEMO_ROUND_MAX) {
    throw new LoomError(
      "DEMO_ROUND_SIZE",
      `a demo round of ${k} candidates has no script: its size is a whole number from ${DEMO_ROUND_MIN} to ${DEMO_ROUND_MAX}`,
    );
  }
  const candidates = roundCandidates(k);
  const cycle = await runDemoCycle({
    log: options.log,
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
    ...(options.env ? { env: options.env } : {}),
    candidates: k,
    finalists: DEMO_ROUND_FINALISTS,
    labModels: candidates.map((c) => c.model),
    labScript: roundLabScript(candidates),
    primeScript: demoRoundPrimeScript(),
    repoFiles: demoRoundRepoFiles,
  });
  const report = roundReport(cycle.records, cycle.refs, cycle.tags, candidates);
  options.log(`\nthe round (LOOM_FINALISTS=${DEMO_ROUND_FINALISTS}):`);
  for (const line of report.lines) options.log(line);
  return { cycle, report };
}
