import type { Command } from "commander";
import { parsePositiveInt } from "../options.ts";

export function registerAnalyze(program: Command): void {
  program
    .command("analyze")
    .description(
      "Analyse a TypeScript repository offline: declaration sizes and complexity, exported API, import graph and cycles, test coverage by import, unused exports.",
    )
    .argument("[dir]", "repository to analyse", ".")
    .option("--json", "print the full report as JSON instead of text")
    .option("--top <n>", "how many entries the top-N lists show", parsePositiveInt("--top", 1, 500))
    .action(async (dir: string, opts: { json?: boolean; top?: number }) => {
      const { analyzeCommand } = await import("../../analyze/analyze-command.ts");
      process.stdout.write(
        await analyzeCommand(dir, {
          ...(opts.json ? { json: true } : {}),
          ...(opts.top ? { top: opts.top } : {}),
        }),
      );
    });
}
