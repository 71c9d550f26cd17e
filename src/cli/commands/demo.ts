import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run one complete generation on a scratch repository with scripted models (no API key): Prime reflects and proposes program.md, the Lab renames a function with ts_rename, probes it through eval, adds a test and commits lab/gen-1, Prime verifies it (tests in a fresh container, then its review) and promotes it: main gets the merge and tag gen-1. Labs run in docker when the Lab image is built (npm run image), else as local processes.",
    )
    .option("--keep", "keep the scratch directory for inspection")
    .option("--lab-only", "run only the Lab part in this process (no Supervisor, no verification)")
    .option("--json", "with --lab-only: print agent events as JSON lines")
    .action(async (opts: { keep?: boolean; json?: boolean; labOnly?: boolean }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
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
