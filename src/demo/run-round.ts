import { demoRoundPrimeScript } from "./demo-prime-script.ts";
import { demoRoundRepoFiles } from "./demo-repo.ts";
import { demoRoundLabScript, ROUND_LAB_MODELS } from "./demo-script.ts";
import { type RoundReport, roundReport } from "./round-report.ts";
import { type CycleResult, runDemoCycle } from "./run-cycle.ts";

/** Finalists of the demo's round: both candidates that pass the cheap stages are verified in full. */
export const DEMO_ROUND_FINALISTS = 2;

export interface DemoRoundOptions {
  readonly log: (line: string) => void;
  readonly keep?: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * `loom demo --candidates 3`: one round of three candidates on one program.md, each Lab on its own
 * scripted model (LOOM_LAB_MODELS, drawn in turn), two finalists (LOOM_FINALISTS=2), on the demo
 * repository tested with vitest; then the round as its records and refs show it.
 */
export async function runDemoRound(
  options: DemoRoundOptions,
): Promise<{ cycle: CycleResult; report: RoundReport }> {
  const cycle = await runDemoCycle({
    log: options.log,
    ...(options.keep !== undefined ? { keep: options.keep } : {}),
    ...(options.env ? { env: options.env } : {}),
    candidates: ROUND_LAB_MODELS.length,
    finalists: DEMO_ROUND_FINALISTS,
    labModels: ROUND_LAB_MODELS,
    labScript: demoRoundLabScript,
    primeScript: demoRoundPrimeScript(),
    repoFiles: demoRoundRepoFiles,
  });
  const report = roundReport(cycle.records, cycle.refs, cycle.tags);
  options.log(`\nthe round (LOOM_FINALISTS=${DEMO_ROUND_FINALISTS}):`);
  for (const line of report.lines) options.log(line);
  return { cycle, report };
}
