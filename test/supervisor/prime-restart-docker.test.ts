import { afterEach, describe, expect } from "vitest";
import { DockerRuntime } from "../../src/supervisor/runtime/index.ts";
import { SwarmRuntime } from "../../src/supervisor/runtime/swarm.ts";
import { labImageMissing } from "../helpers/lab-image.ts";
import { primeRestartScenario } from "./prime-scenario.ts";

const missing = await labImageMissing("docker Prime test");
const swarm = await new SwarmRuntime().available();
if (!swarm.ok) console.warn(`[Prime under swarm] skipped: ${swarm.reason}`);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** The image's own user, with the checkout and the repo read-only and only Prime's state writable. */
const contained = (h: { uid: number; mounts: unknown }) => {
  expect(h.uid).toBe(10001);
  expect(h.mounts).toEqual({ repo: "ro", code: "ro", state: "rw" });
};

describe.skipIf(missing !== undefined)(
  "Prime in a docker container (loom-lab:latest, --network host)",
  () => {
    primeRestartScenario({
      env: { LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" },
      lister: () => new DockerRuntime({}),
      checkIsolation: contained,
      cleanups,
    });
  },
);

// Labs and steps of a swarm Supervisor name nothing of its host; Prime does (the repo, its checkout, a
// port on 127.0.0.1), so it runs beside the Supervisor on the manager's own engine: a container there,
// never a swarm service.
describe.skipIf(missing !== undefined || !swarm.ok)(
  "Prime under LOOM_RUNTIME=swarm: a container on the manager's engine, not a service",
  () => {
    primeRestartScenario({
      env: { LOOM_RUNTIME: "swarm" },
      lister: () => new DockerRuntime({}),
      checkIsolation: contained,
      alsoEmpty: () => new SwarmRuntime(),
      // Reaped on the manager's engine at start, though the Labs' runtime (swarm) would never list it.
      plantLeftover: async (labels) => {
        const h = await new DockerRuntime({}).run({
          image: "loom-lab:latest",
          entrypoint: "sleep",
          command: ["300"],
          labels,
          network: "none",
        });
        cleanups.push(() => new DockerRuntime({}).remove(h.id));
        return h.id;
      },
      cleanups,
    });
  },
);
