import type { Command } from "commander";
import { MAX_CANDIDATES } from "../../../schemas/round-limits.ts";
import { LoomError } from "../../shared/errors.ts";
import { parsePositiveInt } from "../options.ts";

/** The round sizes the demo has scripts for: one generation, or a round of three candidates. */
const DEMO_ROUND_SIZES = [1, 3] as const;

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run one complete generation on a scratch repository with scripted models (no API key): Prime reflects and proposes program.md, the Lab renames a function with ts_rename, probes it through eval, adds a test and commits lab/gen-1, Prime verifies it (tests in a fresh container, then its review) and promotes it: main gets the merge and tag gen-1. Labs run in docker when the Lab image is built (npm run image), else as local processes.",
    )
    .option(
      "--candidates <k>",
      `1 (default LOOM_CANDIDATES, 1 to ${MAX_CANDIDATES}): the generation above; 3: one round of three candidates on three scripted Lab models (LOOM_LAB_MODELS) and two finalists (LOOM_FINALISTS=2), where one breaks a test and is stopped at the reachable tests, one passes every stage with a lower fitness and is archived (refs/loom/archive/gen-N), and one is promoted (tag gen-N); exits 1 unless exactly that happened`,
      parsePositiveInt("--candidates", 1, MAX_CANDIDATES),
    )
    .option("--keep", "keep the scratch directory for inspection")
    .option("--lab-only", "run only the Lab part in this process (no Supervisor, no verification)")
    .option("--json", "with --lab-only: print agent events as JSON lines")
    .action(async (opts: { keep?: boolean; json?: boolean; labOnly?: boolean; candidates?: number }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const candidates = opts.candidates ?? (await candidatesFromConfig());
      const asked =
        opts.candidates !== undefined ? `--candidates ${candidates}` : `LOOM_CANDIDATES=${candidates}`;
      if (!(DEMO_ROUND_SIZES as readonly number[]).includes(candidates)) {
        throw new LoomError(
          "DEMO_ROUND_SIZE",
          `${asked} has no demo: loom demo runs one generation (1) or a round of three candidates (3)`,
        );
      }
      if (opts.labOnly && candidates !== 1) {
        throw new LoomError(
          "DEMO_ROUND_SIZE",
          `${asked}: --lab-only runs one Lab; leave the round size at 1`,
        );
      }
      if (candidates === 3) {
        const [{ runDemoRound }, { keptHint }] = await Promise.all([
          import("../../demo/run-round.ts"),
          import("../../demo/kept-hint.ts"),
        ]);
        const { cycle, report } = await runDemoRound({ keep: opts.keep ?? false, log: out });
        if (opts.keep) out(`\n${keptHint(cycle.scratch, "round").join("\n")}`);
        if (report.problems.length > 0) {
          out(
            `\ndemo: the round did not end as scripted:\n${report.problems.map((p) => `  - ${p}`).join("\n")}`,
          );
          process.exitCode = 1;
        }
        return;
      }
      if (opts.labOnly) {
        const [{ runDemo }, { formatEvent }, { keptHint }] = await Promise.all([
          import("../../demo/run-demo.ts"),
          import("../print-events.ts"),
          import("../../demo/kept-hint.ts"),
        ]);
        const result = await runDemo({
          keep: opts.keep ?? false,
          log: out,
          emit: (e) => out(opts.json ? JSON.stringify(e) : formatEvent(e)),
        });
        if (opts.keep) out(`\n${keptHint(result.scratch, "lab-only").join("\n")}`);
        if (result.report.status !== "done" || result.evalResponse.status !== "ok") process.exitCode = 1;
        return;
      }
      const [{ runDemoCycle }, { keptHint }] = await Promise.all([
        import("../../demo/run-cycle.ts"),
        import("../../demo/kept-hint.ts"),
      ]);
      const result = await runDemoCycle({ keep: opts.keep ?? false, log: out });
      if (opts.keep) out(`\n${keptHint(result.scratch, "cycle").join("\n")}`);
      if (result.record.outcome !== "promoted") {
        out(
          `\ndemo: gen-1 ended ${result.record.outcome}${result.record.reason ? `: ${result.record.reason}` : ""}`,
        );
        process.exitCode = 1;
      }
    });
}

/** LOOM_CANDIDATES (environment or .env), checked like every command checks it: a bad value is named. */
async function candidatesFromConfig(): Promise<number> {
  const { loadConfig } = await import("../../shared/config.ts");
  return loadConfig().candidates;
}
