import type { Command } from "commander";
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
    .action(async (opts: { maxGenerations?: number }) => {
      const [{ loadConfig }, { createPrimeCore, primePlace }, { primeThinking }] = await Promise.all([
        import("../../shared/config.ts"),
        import("../../prime/start-prime.ts"),
        import("../../prime/thinking.ts"),
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
      const engine = primeThinking.autonomous(core.deps, config);
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        const result = await engine.run({
          ...(opts.maxGenerations ? { maxGenerations: opts.maxGenerations } : {}),
          signal: abort.signal,
          log,
        });
        process.stdout.write(`${JSON.stringify(result ?? (await engine.readState()).state, null, 2)}\n`);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
