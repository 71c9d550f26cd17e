import { SpawnRequest } from "../../../schemas/supervisor.ts";
import { defineTool } from "../../agent/tool.ts";
import type { PrimeToolDeps } from "../ports.ts";
import { describeGeneration } from "./describe.ts";

export function spawnLabTool(deps: PrimeToolDeps) {
  return defineTool({
    name: "spawn_lab",
    description:
      "Start a round: the Supervisor runs `candidates` Labs at once (default LOOM_CANDIDATES, 1 to 16), each a new generation on a clone of main with this program.md (hints[i], when given, is added to candidate i+1's program.md as an approach hint), and this tool waits until every Lab is done. Returns each generation's number, outcome (verifying when the Lab committed work, else failed/timed_out with a reason) and tokens.",
    input: SpawnRequest,
    effect: "self-modify",
    timeoutMs: deps.labWaitMs + 60_000,
    run: async (request, { signal }) => {
      const spawned = await deps.client.spawn(request, signal);
      const records = await deps.client.waitForRound(spawned, {
        signal,
        timeoutMs: deps.labWaitMs,
        ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
      });
      if (records.length === 1) {
        const [record] = records as [(typeof records)[number]];
        return { content: describeGeneration(record), details: record };
      }
      const content = [
        `round ${spawned.round}: ${records.length} candidates`,
        ...records.map(
          (r) => `candidate ${r.candidate?.index} (model ${r.candidate?.model}): ${describeGeneration(r)}`,
        ),
      ].join("\n");
      return { content, details: { round: spawned.round, generations: records } };
    },
  });
}
