import type { Command } from "commander";

export function registerRun(program: Command): void {
  program
    .command("run")
    .description(
      "Run the agent loop on a program.md in a workspace, with the base and structural tools, printing events as they happen. No container, no commit. Uses the Lab's model settings (LOOM_LAB_MODEL, LOOM_LAB_API_KEY, LOOM_LAB_API_BASE).",
    )
    .argument("<program.md>", "the task contract to carry out")
    .option("--workspace <dir>", "directory the tools work in", ".")
    .option("--model <name>", "model to use (default: the Lab model from the configuration)")
    .option("--json", "print events as JSON lines instead of text")
    .action(async (programPath: string, opts: { workspace: string; model?: string; json?: boolean }) => {
      const [{ readFile, stat }, { resolve }] = await Promise.all([
        import("node:fs/promises"),
        import("node:path"),
      ]);
      const { LoomError } = await import("../../shared/errors.ts");
      const workspace = resolve(opts.workspace);
      if (!(await stat(workspace).catch(() => undefined))?.isDirectory()) {
        throw new LoomError("WORKSPACE_NOT_FOUND", `--workspace ${opts.workspace}: not a directory`);
      }
      const task = await readFile(programPath, "utf8").catch((err: NodeJS.ErrnoException) => {
        throw new LoomError("PROGRAM_NOT_FOUND", `cannot read ${programPath}: ${err.code ?? err.message}`);
      });
      if (!task.trim())
        throw new LoomError("PROGRAM_EMPTY", `${programPath} is empty; write the task in it first`);

      const { loadConfig } = await import("../../shared/config.ts");
      const config = loadConfig();
      for (const w of config.warnings) process.stderr.write(`loom: warning: ${w}\n`);
      const { modelClientFor } = await import("../../agent/model-for-role.ts");
      const model = modelClientFor(config, "lab", opts.model ? { model: opts.model } : {});
      const [{ labTools }, { ToolRegistry }, { runAgentLoop }, { labSystemPrompt }, { formatEvent }] =
        await Promise.all([
          import("../../agent/catalog.ts"),
          import("../../agent/tool-registry.ts"),
          import("../../agent/loop.ts"),
          import("../../agent/prompts/lab.ts"),
          import("../print-events.ts"),
        ]);
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.on("SIGINT", onSignal);
      try {
        const result = await runAgentLoop(
          [{ role: "user", content: `Here is your program.md. Carry it out in this workspace.\n\n${task}` }],
          {
            model,
            tools: new ToolRegistry(labTools(), { defaultTimeoutMs: config.toolTimeoutMs }),
            workspace,
            signal: abort.signal,
            emit: (e) => process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEvent(e)}\n`),
          },
          {
            system: labSystemPrompt,
            maxIterations: config.maxIterations,
            maxContextMessages: config.maxContextMessages,
            tokenBudget: config.tokenBudget,
          },
        );
        if (result.reason !== "end_turn") process.exitCode = 1;
      } finally {
        process.off("SIGINT", onSignal);
        const { closeSharedEvalEngines } = await import("../../../lab-runtime/eval/shared-engines.ts");
        await closeSharedEvalEngines();
      }
    });
}
