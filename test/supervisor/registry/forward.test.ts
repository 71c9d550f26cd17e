import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import {
  type Forwarder,
  forwardConnections,
  parseEndpoint,
} from "../../../src/supervisor/registry/forward.ts";
import { pullOnEngine } from "../../../src/supervisor/registry/pull-on-engine.ts";
import { pushImage } from "../../../src/supervisor/registry/push-image.ts";
import { atRegistry } from "../../../src/supervisor/registry/reference.ts";
import { type RunningRegistry, startRegistry } from "../../../src/supervisor/registry/registry-process.ts";
import { dockerAnswers, registryInstalled, testRegistryRoot } from "./registry-helpers.ts";

/** The registry reached at the same 127.0.0.1:PORT from a network namespace of its own, through a unix socket. */

function canUnshareNet(): boolean {
  try {
    execFileSync("unshare", ["-n", "true"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const ready = registryInstalled() && dockerAnswers() && canUnshareNet();
if (!ready) console.warn("[registry forward] skipped: needs docker-registry, docker and unshare -n (root)");
const required = process.env.LOOM_REQUIRE_ENGINES === "1";
const FIXTURE = fileURLToPath(new URL("./fixtures/fetch-in-namespace.ts", import.meta.url));
const REPO = "loom-registry-ns-test";

describe("forward endpoints", () => {
  it("accepts loopback TCP addresses and absolute socket paths only", () => {
    expect(parseEndpoint("127.0.0.1:5000")).toEqual({ host: "127.0.0.1", port: 5000 });
    expect(parseEndpoint("/run/loom/registry.sock")).toEqual({ path: "/run/loom/registry.sock" });
    for (const bad of ["10.0.0.1:5000", "127.0.0.1:0", "127.0.0.1", "registry.sock", "127.0.0.1:70000"]) {
      expect(parseEndpoint(bad), bad).toBeUndefined();
    }
  });
});

describe.skipIf(!ready && !required)("a registry reached from another network namespace", () => {
  const run = randomBytes(4).toString("hex");
  let root: string;
  let registry: RunningRegistry;
  let bridge: Forwarder;
  let socket: string;

  beforeAll(async () => {
    root = await testRegistryRoot();
    registry = await startRegistry({ dir: path.join(root, "registry"), port: await freePort() });
    socket = path.join(root, "registry.sock");
    const [host = "", port = ""] = registry.address.split(":");
    bridge = await forwardConnections({ path: socket }, { host, port: Number(port) });
  });
  afterAll(async () => {
    await bridge?.close();
    await registry?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("serves the pushed manifest at the same address inside the namespace, and nothing there without the forwarder", async () => {
    const dir = await mkdtemp(path.join(root, "tiny-"));
    await writeFile(path.join(dir, "marker"), run);
    const tiny = `${REPO}:ns-${run}`;
    await execa("tar", ["-C", dir, "-cf", path.join(root, "tiny.tar"), "marker"]);
    await execa("docker", ["import", path.join(root, "tiny.tar"), tiny]);
    try {
      const pushed = await pushImage({ image: tiny, registry: registry.address, tag: `ns-${run}` });
      const port = registry.address.split(":")[1] as string;
      const inside = await execa(
        "unshare",
        [
          "-n",
          "sh",
          "-c",
          'ip link set lo up && exec "$@"',
          "sh",
          process.execPath,
          "--import",
          "tsx",
          FIXTURE,
          port,
          socket,
          REPO,
          pushed.digest,
        ],
        { timeout: 30_000 },
      );
      const seen = JSON.parse(inside.stdout) as {
        before: { ok: boolean; why?: string };
        after: { ok: boolean };
        served: string;
      };
      expect(seen.before).toMatchObject({ ok: false, why: expect.stringContaining("ECONNREFUSED") });
      expect(seen.after.ok).toBe(true);
      expect(seen.served).toBe(pushed.digest);
    } finally {
      const names = await execa("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
      // This run's names and any an earlier, killed run left.
      const ours = names.stdout.split("\n").filter((n) => n.split(":").at(-2)?.endsWith(REPO));
      await execa("docker", ["rmi", ...ours], { reject: false });
    }
  });

  it("a reference moved to another address with atRegistry pulls the same image there", async () => {
    const dir = await mkdtemp(path.join(root, "moved-"));
    await writeFile(path.join(dir, "marker"), `moved-${run}`);
    const tiny = `${REPO}:moved-${run}`;
    await execa("tar", ["-C", dir, "-cf", path.join(root, "moved.tar"), "marker"]);
    await execa("docker", ["import", path.join(root, "moved.tar"), tiny]);
    // The registry seen at a second address, as nodes see the host's through a forwarder.
    const other = await forwardConnections({ host: "127.0.0.1", port: await freePort() }, { path: socket });
    try {
      const pushed = await pushImage({ image: tiny, registry: registry.address, tag: `moved-${run}` });
      await execa("docker", ["rmi", tiny, pushed.tagged]);
      const seenAs = `127.0.0.1:${"port" in other.listen ? other.listen.port : 0}`;
      const moved = atRegistry(pushed.reference, seenAs);
      expect(moved).toBe(`${seenAs}/${REPO}@${pushed.digest}`);
      expect(await pullOnEngine(moved)).toBe(pushed.imageId);
      await execa("docker", ["rmi", moved]);
      expect(() => atRegistry(pushed.tagged, seenAs)).toThrow(
        expect.objectContaining({ code: "DIGEST_REQUIRED" }),
      );
    } finally {
      await other.close();
      const names = await execa("docker", ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
      const ours = names.stdout.split("\n").filter((n) => n.endsWith(`:moved-${run}`));
      if (ours.length > 0) await execa("docker", ["rmi", ...ours], { reject: false });
    }
  });
});
