import { SpawnRequest } from "../../../schemas/supervisor.ts";
import { defineTool } from "../../agent/tool.ts";
import type { PrimeToolDeps } from "../ports.ts";
import { describeGeneration } from "./describe.ts";

export function spawnLabTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "spawn_lab",
    description:
      "Start a new generation: the Supervisor runs a Lab on a clone of main with this program.md, and this tool waits until the Lab is done. Returns the generation's number, outcome (verifying when the Lab committed work, else failed/timed_out with a reason) and tokens.",
    input: SpawnRequest,
    effect: "self-modify",
    timeoutMs: deps.labWaitMs + 60_000,
    run: async ({ program }, { signal }) => {
      const spawned = await deps.client.spawn(program, signal);
      const record = await deps.client.waitForGeneration(spawned.generation, {
        signal,
        timeoutMs: deps.labWaitMs,
        ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
      });
      return { content: describeGeneration(record), details: record };
    },
  });
}
