import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/shared/config.ts";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import { pushImage, type RunningRegistry, startRegistry } from "../../../src/supervisor/registry/index.ts";
import { RuntimeError } from "../../../src/supervisor/runtime/runtime.ts";
import { SwarmRuntime } from "../../../src/supervisor/runtime/swarm.ts";
import { runtimeConformance } from "./conformance.ts";
import { ensureTestImage } from "./test-image.ts";

/**
 * The swarm runtime on this machine's engine as a single-node swarm (`docker swarm init
 * --advertise-addr 127.0.0.1`, done by .ci/run): the conformance suite, then what only swarm has — the
 * jail that stands in for `--network none`, placement constraints, images pinned by digest from Loom's
 * own registry on 127.0.0.1 (so no node ever asks the internet for a tag).
 */

const required = process.env.LOOM_REQUIRE_ENGINES === "1";
const probe = await new SwarmRuntime().available();
if (!probe.ok) console.warn(`[swarm runtime] skipped: ${probe.reason}`);
const skip = probe.ok ? undefined : (probe.reason ?? "unavailable");

if (required && !probe.ok) {
  describe("required engines (LOOM_REQUIRE_ENGINES=1)", () => {
    it("a swarm manager is available", () => {
      throw new Error(`LOOM_REQUIRE_ENGINES=1 but the swarm runtime is unavailable: ${probe.reason}`);
    });
  });
}

let registry: RunningRegistry | undefined;
let registryDir: string | undefined;
const pinned = new Map<string, Promise<string>>();
const pushedTags: string[] = [];

/** Every image the tests run goes through Loom's registry on 127.0.0.1, pinned by digest. */
async function resolveImage(image: string): Promise<string> {
  if (!registry) {
    registryDir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-swarm-registry-"));
    registry = await startRegistry({ dir: registryDir, port: await freePort() });
  }
  const address = registry.address;
  let ref = pinned.get(image);
  if (!ref) {
    ref = pushImage({ image, registry: address }).then((p) => {
      pushedTags.push(p.tagged);
      return p.reference;
    });
    pinned.set(image, ref);
  }
  return ref;
}

afterAll(async () => {
  await registry?.stop();
  // Each push tagged an image for that registry on this engine: untag them (the images stay).
  if (pushedTags.length > 0) await execa("docker", ["rmi", ...pushedTags], { reject: false });
  if (registryDir) await fs.rm(registryDir, { recursive: true, force: true });
});

runtimeConformance({
  name: "swarm (single node)",
  skip,
  make: async () => new SwarmRuntime({ resolveImage }),
  image: () => ensureTestImage("docker"),
  engineEnv: ["HOSTNAME"],
  memoryLimit: true,
  // A task lands on any node: nothing of the Supervisor's host is mounted or published for it.
  hostBound: false,
  readOnlyMounts: false,
});

describe.skipIf(skip !== undefined)("SwarmRuntime: what only swarm has", () => {
  const run = randomBytes(6).toString("hex");
  const labels = { "loom.test.run": run };
  const rt = new SwarmRuntime({ resolveImage, pollMs: 100 });
  let image: string;
  let hostServer: net.Server;
  let hostPort: number;

  beforeAll(async () => {
    image = await ensureTestImage("docker");
    // Something on the host's loopback that a network-less task must not reach.
    hostServer = net.createServer((s) => s.end("host secret\n"));
    await new Promise<void>((r) => hostServer.listen(0, "127.0.0.1", r));
    hostPort = (hostServer.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of await rt.list(labels)) await rt.remove(c.id);
    expect(await rt.list(labels)).toEqual([]);
    await new Promise<void>((r) => hostServer.close(() => r()));
  });

  const runToEnd = async (spec: Parameters<SwarmRuntime["run"]>[0]) => {
    const h = await rt.run(spec);
    const ended = await rt.wait(h.id, { timeoutMs: 60_000 });
    return { ended, logs: await rt.logs(h.id) };
  };

  const CONNECT = (port: number) =>
    `const s = require("net").connect(${port}, "127.0.0.1");
     s.on("data", (d) => { console.log("REACHED " + d); process.exit(0); });
     s.on("error", (e) => { console.log("BLOCKED " + e.code); process.exit(0); });
     const st = require("fs").readFileSync("/proc/self/status", "utf8");
     console.log(st.match(/^(CapEff|CapBnd|NoNewPrivs):.*$/gm).join(" | "));
     const lo = require("http").createServer((q, r) => r.end("own lo")).listen(0, "127.0.0.1", () => {
       require("http").get("http://127.0.0.1:" + lo.address().port, (r) => r.on("data", (d) => console.log("LO " + d)));
     });`;

  it("without a network (the default) a task has only its own lo, no capabilities and no-new-privs", async () => {
    const { ended, logs } = await runToEnd({
      image,
      command: ["node", "-e", CONNECT(hostPort)],
      labels: { ...labels, "loom.test.role": "none" },
    });
    expect(ended).toEqual({ kind: "exited", exitCode: 0 });
    expect(logs).toMatch(/BLOCKED (ECONNREFUSED|ENETUNREACH)/);
    expect(logs).not.toContain("REACHED");
    expect(logs).toMatch(/CapEff:\s+0+ \| CapBnd:\s+0+ \| NoNewPrivs:\s+1/);
  });

  it("on the host network the same task reaches the host (the difference the jail makes)", async () => {
    const { logs } = await runToEnd({
      image,
      command: ["node", "-e", CONNECT(hostPort)],
      network: "host",
      labels: { ...labels, "loom.test.role": "host" },
    });
    expect(logs).toContain("REACHED host secret");
    expect(logs).toMatch(/CapEff:\s+0+ \| CapBnd:\s+0+/);
  });

  it("a placement constraint no node meets leaves the task unscheduled; removing it leaves nothing", async () => {
    const constrained = new SwarmRuntime({
      resolveImage,
      constraints: ["node.labels.loom-test-nowhere==yes"],
      startTimeoutMs: 1_000,
    });
    const h = await constrained.run({ image, command: ["sh", "-c", "echo never"], labels });
    expect(h.warnings.join(" ")).toMatch(/not started within 1000 ms: .*(no suitable node|constraint)/);
    expect(await constrained.wait(h.id, { timeoutMs: 1_500 })).toEqual({ kind: "timeout" });
    expect((await constrained.inspect(h.id))?.state).toBe("created");
    await constrained.remove(h.id);
    expect(await constrained.inspect(h.id)).toBeUndefined();
  });

  it("refuses what it cannot honour, naming what is accepted", async () => {
    const refused = { ...labels, "loom.test.role": "refused" };
    const env = (v: string) => ({ LOOM_SWARM_CONSTRAINTS: v, LOOM_REPO_PATH: os.tmpdir() });
    expect(() => loadConfig({ env: env("node.role=manager"), cwd: os.tmpdir() })).toThrow(
      /LOOM_SWARM_CONSTRAINTS="node.role=manager".*expected placement constraints "key==value" or "key!=value" separated by ";"/,
    );
    expect(
      loadConfig({ env: env(" node.role==worker ; node.labels.a!=b "), cwd: os.tmpdir() }).swarmConstraints,
    ).toEqual(["node.role==worker", "node.labels.a!=b"]);
    await expect(rt.run({ image, command: ["true"], network: "bridge", labels: refused })).rejects.toThrow(
      /network "bridge" is not available under the swarm runtime; expected "host" or "none"/,
    );
    const unpinned = new SwarmRuntime();
    await expect(unpinned.run({ image, command: ["true"], labels: refused })).rejects.toMatchObject({
      code: "INVALID_SPEC",
      message: expect.stringMatching(/pinned by digest .*`npm run image -- --push`\) or set LOOM_REGISTRY/),
    });
    expect(await rt.list(refused)).toEqual([]);
  });

  it("an engine that is not there is named, with what to do", async () => {
    const away = new SwarmRuntime({ host: "unix:///nonexistent/docker.sock" });
    expect(await away.available()).toEqual({
      ok: false,
      reason: expect.stringContaining("no Docker engine answers on /nonexistent/docker.sock"),
    });
    expect(() => new SwarmRuntime({ host: "tcp://127.0.0.1:2375" })).toThrow(RuntimeError);
    expect(() => new SwarmRuntime({ host: "tcp://127.0.0.1:2375" })).toThrow(
      /expected unix:\/\/\/path\/to\/docker.sock/,
    );
  });
});
