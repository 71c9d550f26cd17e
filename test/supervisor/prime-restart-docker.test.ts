import { afterEach, describe, expect } from "vitest";
import { DockerRuntime } from "../../src/supervisor/runtime/index.ts";
import { labImageMissing } from "../helpers/lab-image.ts";
import { primeRestartScenario } from "./prime-scenario.ts";

const missing = await labImageMissing("docker Prime test");

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe.skipIf(missing !== undefined)(
  "Prime in a docker container (loom-lab:latest, --network host)",
  () => {
    primeRestartScenario({
      env: { LOOM_RUNTIME: "docker", LOOM_NETWORK: "host" },
      lister: () => new DockerRuntime({}),
      // The image's own user, with the checkout and the repo read-only and only Prime's state writable.
      checkIsolation: (h) => {
        expect(h.uid).toBe(10001);
        expect(h.mounts).toEqual({ repo: "ro", code: "ro", state: "rw" });
      },
      cleanups,
    });
  },
);
