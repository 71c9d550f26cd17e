import { type Command, Option } from "commander";

export function registerTool(program: Command): void {
  program
    .command("tool")
    .description(
      "Run one agent tool once and print its result as JSON (exit 1 when the result is an error). `loom tool --list` lists the tools.",
    )
    .argument("[name]", "tool name, e.g. read_file or ts_rename")
    .option("--input <json>", "the tool's input as a JSON object", "{}")
    .option("--workspace <dir>", "workspace root the tool is confined to", ".")
    .option("--list", "list every tool with its effect class and input fields")
    .option(
      "--no-warm",
      "run a ts_* tool in this process (a fresh TypeScript project) instead of the workspace's warm server",
    )
    .option("--warm-idle <seconds>", "seconds the warm server waits for another call before it exits", "300")
    .option("--stop-warm", "stop the workspace's warm TypeScript server, if one runs")
    .addOption(
      new Option(
        "--serve-warm",
        "run the workspace's warm TypeScript server (started by a ts_* call)",
      ).hideHelp(),
    )
    .action(async (name: string | undefined, opts: ToolOptions) => {
      if (opts.serveWarm || opts.stopWarm) {
        const { serveOrStop } = await import("./tool-warm.ts");
        return serveOrStop(opts);
      }
      const [{ findTool, loadAllTools }, { ToolRegistry }, { LoomError }, { resolve }, { stat }, { z }] =
        await Promise.all([
          import("../../agent/tool-groups.ts"),
          import("../../agent/tool-registry.ts"),
          import("../../shared/errors.ts"),
          import("node:path"),
          import("node:fs/promises"),
          import("zod"),
        ]);
      if (opts.list || !name) {
        for (const t of await loadAllTools()) {
          const schema = z.toJSONSchema(t.input) as {
            properties?: Record<string, unknown>;
            required?: string[];
          };
          const fields = Object.keys(schema.properties ?? {})
            .map((f) => (schema.required?.includes(f) ? f : `${f}?`))
            .join(", ");
          process.stdout.write(`${t.name.padEnd(24)} ${t.effect.padEnd(6)} {${fields}}\n`);
        }
        if (!opts.list && !name) process.exitCode = 2;
        return;
      }
      let input: unknown;
      try {
        input = JSON.parse(opts.input);
      } catch (err) {
        throw new LoomError(
          "BAD_INPUT",
          `--input is not valid JSON (${(err as Error).message}); pass a JSON object, e.g. --input '{"path":"src/x.ts"}'`,
        );
      }
      const workspace = resolve(opts.workspace);
      if (!(await stat(workspace).catch(() => undefined))?.isDirectory()) {
        throw new LoomError("WORKSPACE_NOT_FOUND", `--workspace ${opts.workspace}: not a directory`);
      }
      if (name.startsWith("ts_") && opts.warm) {
        const { runWarm } = await import("./tool-warm.ts");
        const result = await runWarm(name, input, workspace, opts);
        if (result) {
          process.stdout.write(`${JSON.stringify({ tool: name, ...result }, null, 2)}\n`);
          if (result.isError) process.exitCode = 1;
          return;
        }
      }
      const tool = await findTool(name);
      if (!tool) {
        const names = (await loadAllTools()).map((t) => t.name);
        throw new LoomError("UNKNOWN_TOOL", `unknown tool "${name}"; available: ${names.join(", ")}`);
      }
      const registry = new ToolRegistry([tool]);
      const { closeSharedEvalEngines } = await import("../../../lab-runtime/eval/shared-engines.ts");
      const result = await registry
        .execute(name, input, { workspace, signal: new AbortController().signal })
        .finally(closeSharedEvalEngines);
      process.stdout.write(`${JSON.stringify({ tool: name, ...result }, null, 2)}\n`);
      if (result.isError) process.exitCode = 1;
    });
}

export interface ToolOptions {
  input: string;
  workspace: string;
  list?: boolean;
  warm: boolean;
  warmIdle: string;
  stopWarm?: boolean;
  serveWarm?: boolean;
}
