import type { Command } from "commander";
import { MAX_CANDIDATES } from "../../../schemas/round-limits.ts";
import { parsePositiveInt } from "../options.ts";

export function registerAutonomous(program: Command): void {
  program
    .command("autonomous")
    .description(
      "Run the autonomous loop in the foreground: reflect, spawn, verify, promote or roll back, until LOOM_MAX_GENERATIONS, LOOM_TOKEN_BUDGET or a plateau (LOOM_PLATEAU_WINDOW). Its state in LOOM_STATE_DIR lets a later run resume.",
    )
    .option(
      "--max-generations <n>",
      "stop after this many generations (default LOOM_MAX_GENERATIONS)",
      parsePositiveInt("--max-generations", 1, 100_000),
    )
    .option(
      "--candidates <k>",
      `Labs each round starts at once on the same program.md (default LOOM_CANDIDATES, 1 to ${MAX_CANDIDATES})`,
      parsePositiveInt("--candidates", 1, MAX_CANDIDATES),
    )
    .action(async (opts: { maxGenerations?: number; candidates?: number }) => {
      const [{ loadConfig }, { createPrimeCore, primePlace }, { primeThinking }, { totalTokens }] =
        await Promise.all([
          import("../../shared/config.ts"),
          import("../../prime/start-prime.ts"),
          import("../../prime/thinking.ts"),
          import("../../shared/events.ts"),
        ]);
      const config = loadConfig();
      for (const w of config.warnings) process.stderr.write(`loom: warning: ${w}\n`);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const core = await createPrimeCore({
        config,
        place: primePlace(config, {}),
        thinking: primeThinking,
        log,
      });
      const engine = primeThinking.autonomous(core.deps, config, () => totalTokens(core.model.usage));
      // Ctrl-C stops the run; SIGTERM suspends it, so the next `loom autonomous` or Prime resumes it.
      const stop = new AbortController();
      const suspend = new AbortController();
      const onInt = () => stop.abort();
      const onTerm = () => suspend.abort();
      process.on("SIGINT", onInt);
      process.on("SIGTERM", onTerm);
      try {
        const result = await engine.run({
          ...(opts.maxGenerations ? { maxGenerations: opts.maxGenerations } : {}),
          ...(opts.candidates ? { candidates: opts.candidates } : {}),
          signal: stop.signal,
          suspendSignal: suspend.signal,
          log,
        });
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      } finally {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
      }
    });
}
