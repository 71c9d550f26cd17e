import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AppleRuntime } from "../../../src/supervisor/runtime/apple.ts";
import { DockerRuntime } from "../../../src/supervisor/runtime/docker.ts";
import { LocalRuntime } from "../../../src/supervisor/runtime/local.ts";
import { PodmanRuntime } from "../../../src/supervisor/runtime/podman.ts";
import { runtimeConformance } from "./conformance.ts";
import { ensureTestImage } from "./test-image.ts";

/**
 * The conformance suite against every backend this machine has. A missing engine is skipped with the
 * reason printed; with LOOM_REQUIRE_ENGINES=1 (CI) a missing docker fails instead.
 */

const requireEngines = process.env.LOOM_REQUIRE_ENGINES === "1";
const [docker, podman, apple] = await Promise.all([
  new DockerRuntime().available(),
  new PodmanRuntime().available(),
  new AppleRuntime().available(),
]);

function skipReason(name: string, a: { ok: boolean; reason?: string }): string | undefined {
  if (a.ok) return undefined;
  console.warn(`[runtime conformance] ${name} skipped: ${a.reason}`);
  return a.reason ?? "unavailable";
}

if (requireEngines && !docker.ok) {
  describe("required engines (LOOM_REQUIRE_ENGINES=1)", () => {
    it("docker is available", () => {
      throw new Error(`LOOM_REQUIRE_ENGINES=1 but docker is unavailable: ${docker.reason}`);
    });
  });
}

runtimeConformance({
  name: "docker",
  skip: skipReason("docker", docker),
  make: async () => {
    const rt = new DockerRuntime();
    expect(rt.transport()).toBe("api");
    return rt;
  },
  image: () => ensureTestImage("docker"),
  engineEnv: ["HOSTNAME"],
  memoryLimit: true,
  hostBound: true,
  readOnlyMounts: true,
});

// Docker answers through its Engine API on the socket; the same suite through its CLI (what a
// DOCKER_HOST of another scheme, a docker context or a named binary gets).
runtimeConformance({
  name: "docker (CLI)",
  skip: skipReason("docker", docker),
  make: async () => {
    const rt = new DockerRuntime({ binary: "docker" });
    expect(rt.transport()).toBe("cli");
    return rt;
  },
  image: () => ensureTestImage("docker"),
  engineEnv: ["HOSTNAME"],
  memoryLimit: true,
  hostBound: true,
  readOnlyMounts: true,
});

runtimeConformance({
  name: "podman",
  skip: skipReason("podman", podman),
  make: async () => new PodmanRuntime(),
  image: () => ensureTestImage("podman"),
  engineEnv: ["HOSTNAME", "container", "TERM"],
  memoryLimit: true,
  hostBound: true,
  readOnlyMounts: true,
});

// Apple's VMs cannot share the host network or run this Linux host's binaries as an image; on a Mac
// the suite still runs, but with an image that has node.
runtimeConformance({
  name: "apple",
  skip: skipReason("apple", apple),
  make: async () => new AppleRuntime(),
  image: async () => process.env.LOOM_TEST_APPLE_IMAGE ?? "docker.io/library/node:20-alpine",
  engineEnv: ["HOSTNAME", "NODE_VERSION", "YARN_VERSION", "TERM"],
  memoryLimit: false,
  hostBound: true,
  readOnlyMounts: true,
});

const stateDirs: string[] = [];
afterAll(async () => {
  for (const d of stateDirs) await fs.rm(d, { recursive: true, force: true });
});
const localState = async () => {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), "loom-local-state-"));
  stateDirs.push(d);
  return d;
};

runtimeConformance({
  name: "local (bubblewrap when it works)",
  skip: process.platform === "win32" ? "no process groups on Windows" : undefined,
  make: async () => {
    const rt = new LocalRuntime({ stateDir: await localState() });
    const a = await rt.available();
    console.warn(`[runtime conformance] ${a.warning}`);
    return rt;
  },
  image: async () => "host",
  // bubblewrap exports PWD after --chdir (it cannot be unset); TMPDIR points into the container's HOME.
  engineEnv: ["PWD", "TMPDIR"],
  memoryLimit: false,
  hostBound: true,
  // Only bubblewrap can make a bind read-only; the suite asks the runtime rather than assuming.
  readOnlyMounts:
    (await new LocalRuntime({ stateDir: os.tmpdir() }).available()).warning?.includes(
      "bubblewrap contains",
    ) ?? false,
});

runtimeConformance({
  name: "local (no sandbox)",
  skip: process.platform === "win32" ? "no process groups on Windows" : undefined,
  make: async () => new LocalRuntime({ stateDir: await localState(), sandbox: "none" }),
  image: async () => "host",
  engineEnv: [],
  memoryLimit: false,
  hostBound: true,
  readOnlyMounts: false,
});
