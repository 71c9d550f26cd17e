import path from "node:path";
import { REASON_MAX_CHARS } from "../../schemas/supervisor.ts";
import type { Config } from "../shared/config.ts";
import { describeAutonomousEvent } from "./autonomous/events.ts";
import { isActive, runAutonomousLoop } from "./autonomous/run-loop.ts";
import { AUTONOMOUS_STATE_FILE, fileStatePort } from "./autonomous/state-file.ts";
import type { AutonomousEngine, PrimeCoreDeps } from "./ports.ts";
import { reflectAndPropose } from "./tools/reflect-and-propose.ts";
import { verifyGeneration } from "./tools/verify-generation.ts";

/**
 * The autonomous loop bound to Prime's parts: the Supervisor client for spawn/wait/promote/rollback and
 * the lineage, the same reflect and two-stage verify the tools use, and `<state>/autonomous.json`.
 * Limits come from the configuration (LOOM_MAX_GENERATIONS, LOOM_TOKEN_BUDGET, LOOM_PLATEAU_WINDOW,
 * LOOM_PROMOTE, LOOM_CANDIDATES, LOOM_FINALISTS); a resumed run keeps the limits it was started with.
 */
export function autonomousEngine(
  deps: PrimeCoreDeps,
  config: Config,
  tokensUsed: () => number,
): AutonomousEngine {
  const state = fileStatePort(path.join(deps.stateDir, AUTONOMOUS_STATE_FILE));
  const { client } = deps;
  return {
    run: ({ maxGenerations, candidates, signal, suspendSignal, log }) =>
      runAutonomousLoop(
        {
          reflect: async (s) => (await reflectAndPropose(deps, { signal: s })).program,
          spawn: async (program, s, k) =>
            (await client.spawn({ program, candidates: k }, s)).generations.map((g) => g.generation),
          waitForLab: (n, s) =>
            client.waitForGeneration(n, {
              signal: s,
              timeoutMs: deps.labWaitMs,
              ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
            }),
          verify: (n, s) => verifyGeneration(deps, n, s),
          screen: (n, s) => client.verify(n, s, { through: "reachable" }),
          promote: (n, s) => client.promote(n, s),
          rollback: (n, reason, s) => client.rollback(n, reason.slice(0, REASON_MAX_CHARS), s),
          archive: (n, reason, s) => client.archive(n, reason.slice(0, REASON_MAX_CHARS), s),
          tokensUsed,
          records: (s) => client.listGenerations(s),
          emit: (event) => log(describeAutonomousEvent(event)),
          state,
        },
        {
          maxGenerations: maxGenerations ?? config.maxGenerations,
          tokenBudget: config.tokenBudget,
          plateauWindow: config.plateauWindow,
          promoteMode: config.promote,
          candidates: candidates ?? config.candidates,
          finalists: config.finalists,
          parent: config.parent,
          signal,
          suspendSignal,
          ...(deps.pollMs ? { pollMs: deps.pollMs } : {}),
        },
      ),
    readState: async () => {
      const saved = await state.load();
      return { active: isActive(saved), state: saved };
    },
  };
}
