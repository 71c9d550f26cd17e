import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { type CycleResult, runDemoCycle } from "../../src/demo/run-cycle.ts";
import { repoLabels } from "../../src/supervisor/lifecycle/lab-spec.ts";
import { SwarmRuntime } from "../../src/supervisor/runtime/swarm.ts";
import { labImageMissing } from "../helpers/lab-image.ts";

/**
 * One whole generation with LOOM_RUNTIME=swarm on this engine's single-node swarm: the Lab and every
 * verification step are swarm services, the Lab image is pushed to Loom's own registry (Debian's
 * docker-registry under the state folder, on 127.0.0.1) and run by digest; afterwards no service of the
 * repository is left and the registry the Supervisor started is stopped.
 */
const missing = await labImageMissing("swarm cycle test");
const swarm = await new SwarmRuntime().available();
const required = process.env.LOOM_REQUIRE_ENGINES === "1";
if (!swarm.ok) console.warn(`[swarm cycle] skipped: ${swarm.reason}`);

const kept: CycleResult[] = [];
const registryPorts: string[] = [];
afterAll(async () => {
  const { rm } = await import("node:fs/promises");
  await Promise.all(kept.map((r) => rm(r.scratch, { recursive: true, force: true })));
  // The push tagged the Lab image for this test's registry on this engine (a port no later run uses):
  // untag it, so runs do not pile up tags of registries long gone (the image itself stays).
  for (const port of registryPorts) {
    const tags = await execa("docker", [
      "images",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      `127.0.0.1:${port}/*`,
    ]);
    const names = tags.stdout.split("\n").filter(Boolean);
    if (names.length > 0) await execa("docker", ["rmi", ...names], { reject: false });
  }
});

describe.skipIf(missing !== undefined || (!swarm.ok && !required))("a generation without mounts", () => {
  it("promotes the demo generation with the Lab and each verification step as swarm services", async () => {
    const lines: string[] = [];
    const port = String(20_000 + Math.floor(Math.random() * 20_000));
    registryPorts.push(port);
    const r = await runDemoCycle({
      keep: true,
      log: (l) => lines.push(l),
      env: { LOOM_RUNTIME: "swarm", LOOM_REGISTRY_PORT: port, LOOM_VERIFY_TIMEOUT_MS: "240000" },
    });
    kept.push(r);
    expect(r.record.outcome, r.record.reason ?? lines.slice(-20).join("\n")).toBe("promoted");
    expect(r.tags).toEqual(["gen-1"]);
    expect(lines.join("\n")).toMatch(/Lab loom-gen-1-\S+ started on swarm/);
    expect(lines.join("\n")).toMatch(
      new RegExp(`recorded 127\\.0\\.0\\.1:${port}/loom-lab@sha256:[0-9a-f]{64}`),
    );
    const label = `label=loom.repo=${repoLabels(`${r.scratch}/repo`)["loom.repo"]}`;
    expect((await execa("docker", ["service", "ls", "-q", "--filter", label])).stdout.trim()).toBe("");
    // The registry this Supervisor started is gone with it.
    const registries = await execa("pgrep", ["-f", `${r.scratch}/state/registry`], { reject: false });
    expect(registries.stdout.trim()).toBe("");
  }, 300_000);

  it("docker with LOOM_WORKSPACE_TRANSPORT=git: the same generation, its Lab and steps cloning through the gateway", async () => {
    const lines: string[] = [];
    const r = await runDemoCycle({
      keep: true,
      log: (l) => lines.push(l),
      env: { LOOM_RUNTIME: "docker", LOOM_WORKSPACE_TRANSPORT: "git", LOOM_VERIFY_TIMEOUT_MS: "240000" },
    });
    kept.push(r);
    expect(r.record.outcome, r.record.reason ?? lines.slice(-20).join("\n")).toBe("promoted");
    expect(lines.join("\n")).toMatch(/Lab gateway at http:\/\/127\.0\.0\.1:\d+/);
    expect(lines.join("\n")).toMatch(/Lab loom-gen-1-\S+ started on docker/);
    const label = `label=loom.repo=${repoLabels(`${r.scratch}/repo`)["loom.repo"]}`;
    expect((await execa("docker", ["ps", "-aq", "--filter", label])).stdout.trim()).toBe("");
  }, 300_000);
});
