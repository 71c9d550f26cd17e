import { execa } from "execa";
import { afterEach, describe, expect } from "vitest";
import { DEFAULT_LAB_IMAGE } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { DockerRuntime } from "../../src/supervisor/runtime/index.ts";
import { primeRestartScenario } from "./prime-scenario.ts";

/** Runs only where the Lab image was built (`npm run image`); LOOM_REQUIRE_ENGINES=1 makes its absence a failure. */
async function imageMissing(): Promise<string | undefined> {
  const r = await execa("docker", ["image", "inspect", DEFAULT_LAB_IMAGE], {
    reject: false,
    stdin: "ignore",
  }).catch((err: Error) => ({ exitCode: 1, stderr: err.message }));
  return r.exitCode === 0
    ? undefined
    : `docker image ${DEFAULT_LAB_IMAGE} is not available (build it with npm run image)`;
}
const missing = await imageMissing();
if (missing) {
  if (process.env.LOOM_REQUIRE_ENGINES === "1") throw new Error(`LOOM_REQUIRE_ENGINES=1 but ${missing}`);
  console.warn(`skipping docker Prime test: ${missing}`);
}

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
