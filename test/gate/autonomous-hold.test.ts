import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type AutonomousPorts, fileStatePort, runAutonomousLoop } from "../../src/prime/autonomous/index.ts";
import { tempWorkspace } from "../helpers/workspace.ts";
import { FakeSupervisor } from "../prime/fake-supervisor.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const GATE = { touched: true, files: ["src/supervisor/verify/fitness.ts"] };

/** The fake Supervisor's ports, with the generations in `touching` verified as touching the gate. */
async function run(world: FakeSupervisor, touching: number[], promoteMode: "auto" | "manual") {
  const ws = await tempWorkspace();
  cleanups.push(ws.cleanup);
  const suspend = new AbortController();
  const ports: AutonomousPorts = world.ports(fileStatePort(path.join(ws.dir, "autonomous.json")), suspend);
  const verify = ports.verify;
  const withGate: AutonomousPorts = {
    ...ports,
    verify: async (n, signal) => {
      const v = await verify(n, signal);
      if (!touching.includes(n)) return v;
      // The Supervisor measures the gate and stores it on the record, where the run reads it from.
      const held = { ...v, mechanical: { ...v.mechanical, gate: GATE } };
      const i = world.lineage.findIndex((r) => r.generation === n);
      world.lineage[i] = { ...world.lineage[i]!, verification: held };
      return held;
    },
  };
  return runAutonomousLoop(withGate, {
    maxGenerations: 2,
    maxConsecutiveFailures: 0,
    plateauWindow: 0,
    pollMs: 1,
    promoteMode,
    suspendSignal: suspend.signal,
  });
}

describe("the autonomous loop and a generation held for a person", () => {
  for (const mode of ["auto", "manual"] as const) {
    it(`never promotes a gate change and moves on to the next generation (promoteMode ${mode})`, async () => {
      const world = new FakeSupervisor([{ fitness: 0.5 }, { fitness: 0.6 }]);
      // A person promotes what waits for approval in manual mode.
      world.onSleep = () => {
        if (world.get(2).outcome === "verifying") world.personPromotes(2);
      };
      const result = await run(world, [1], mode);
      expect(result.stopReason).toBe("max_generations");
      expect(world.calls.filter((c) => !c.startsWith("sleep"))).toEqual([
        "reflect",
        "spawn 1",
        "wait 1",
        "verify 1",
        "reflect",
        "spawn 2",
        "wait 2",
        "verify 2",
        ...(mode === "auto" ? ["promote 2"] : []),
      ]);
      // Held: still verifying for the Supervisor, booked with the reason by the run.
      expect(world.get(1).outcome).toBe("verifying");
      expect(result.progress.generations[0]).toMatchObject({ generation: 1, outcome: "verifying" });
      expect(result.progress.generations[0]?.reason).toMatch(
        /^held for a person: it changes the gate \(src\/supervisor\/verify\/fitness\.ts\)/,
      );
      expect(result.progress.generations[1]).toMatchObject({ generation: 2, outcome: "promoted" });
    });
  }
});
