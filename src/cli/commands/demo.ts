import type { Command } from "commander";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "Run one complete Lab generation on a scratch repository with the scripted model server (no API key): outline, structural rename, a new test, the test run, a commit on lab/gen-1, an /eval probe, and the branch fetched back.",
    )
    .option("--keep", "keep the scratch directory for inspection")
    .option("--json", "print agent events as JSON lines")
    .action(async (opts: { keep?: boolean; json?: boolean }) => {
      const [{ runDemo }, { formatEvent }] = await Promise.all([
        import("../../demo/run-demo.ts"),
        import("../print-events.ts"),
      ]);
      const result = await runDemo({
        keep: opts.keep ?? false,
        log: (line) => process.stdout.write(`${line}\n`),
        emit: (e) => process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e)}\n`),
      });
      if (opts.keep) process.stdout.write(`\nkept: ${result.scratch}\n`);
      if (result.report.status !== "done" || result.evalResponse.status !== "ok") process.exitCode = 1;
    });
}
