import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../src/supervisor/runtime/docker.ts";
import { ensureTestImage } from "./test-image.ts";

/** Docker-only behaviour the conformance suite does not cover: user networks, published ports, failed runs. */

const docker = await new DockerRuntime().available();
if (!docker.ok) console.warn(`[docker runtime] skipped: ${docker.reason}`);
const required = process.env.LOOM_REQUIRE_ENGINES === "1";

describe("DockerRuntime without an engine", () => {
  it("reports why it is unavailable and fails calls with ENGINE_NOT_FOUND", async () => {
    const rt = new DockerRuntime({ binary: "/nonexistent/docker" });
    expect(await rt.available()).toEqual({
      ok: false,
      reason: expect.stringContaining("/nonexistent/docker is not installed"),
    });
    await expect(rt.run({ image: "i", command: ["x"] })).rejects.toMatchObject({ code: "ENGINE_NOT_FOUND" });
  });
});

describe("DockerRuntime: Engine API or CLI", () => {
  /** Runs `f` with these variables set (undefined: unset), restoring them after. */
  async function withEnv<T>(vars: Record<string, string | undefined>, f: () => T | Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const put = (k: string, v: string | undefined) => {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    };
    try {
      for (const [k, v] of Object.entries(vars)) put(k, v);
      return await f();
    } finally {
      for (const [k, v] of Object.entries(saved)) put(k, v);
    }
  }

  it("uses the API on a unix socket, the CLI where only the CLI knows the engine, deciding on each call", async () => {
    const config = await fs.mkdtemp(path.join(os.tmpdir(), "loom-docker-config-"));
    try {
      const rt = new DockerRuntime();
      const none = { DOCKER_HOST: undefined, DOCKER_CONTEXT: undefined, DOCKER_CONFIG: config };
      await withEnv(none, () => expect(rt.transport()).toBe("api"));
      await withEnv({ ...none, DOCKER_HOST: "unix:///run/other.sock" }, () =>
        expect(rt.transport()).toBe("api"),
      );
      await withEnv({ ...none, DOCKER_HOST: "tcp://127.0.0.1:2375" }, () =>
        expect(rt.transport()).toBe("cli"),
      );
      await withEnv({ ...none, DOCKER_HOST: "ssh://builder" }, () => expect(rt.transport()).toBe("cli"));
      await withEnv({ ...none, DOCKER_CONTEXT: "remote" }, () => expect(rt.transport()).toBe("cli"));
      await withEnv({ ...none, DOCKER_CONTEXT: "default" }, () => expect(rt.transport()).toBe("api"));
      const other = await fs.mkdtemp(path.join(os.tmpdir(), "loom-docker-config-"));
      await fs.writeFile(path.join(other, "config.json"), JSON.stringify({ currentContext: "remote" }));
      await withEnv({ ...none, DOCKER_CONFIG: other }, () => expect(rt.transport()).toBe("cli"));
      await fs.rm(other, { recursive: true, force: true });
      expect(new DockerRuntime({ binary: "docker" }).transport()).toBe("cli");
    } finally {
      await fs.rm(config, { recursive: true, force: true });
    }
  });

  it("with no engine on the socket: unavailable with the reason, and a run fails ENGINE_NOT_FOUND naming the socket", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "loom-docker-nosock-"));
    const socket = path.join(dir, "docker.sock");
    try {
      await withEnv({ DOCKER_HOST: `unix://${socket}`, DOCKER_CONTEXT: undefined }, async () => {
        const rt = new DockerRuntime();
        expect(await rt.available()).toEqual({ ok: false, reason: expect.stringContaining(socket) });
        await expect(rt.run({ image: "i", command: ["x"] })).rejects.toMatchObject({
          code: "ENGINE_NOT_FOUND",
          message: expect.stringContaining("start dockerd"),
        });
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!docker.ok && !required)("DockerRuntime on a user network", () => {
  const run = randomBytes(6).toString("hex");
  const labels = { "loom.test.run": run };
  const network = `loom-test-${run}`;
  const rt = new DockerRuntime();
  let image: string;

  beforeAll(async () => {
    image = await ensureTestImage();
  });
  afterAll(async () => {
    for (const c of await rt.list(labels)) await rt.remove(c.id);
    await execa("docker", ["network", "rm", network], { reject: false });
  });

  it("creates the named network, publishes the port on loopback and reports the real host port", async () => {
    const server = "require('http').createServer((q, s) => s.end('on ' + process.env.NET)).listen(8402)";
    const h = await rt.runOnHost(
      {
        image,
        command: ["node", "-e", server],
        env: { NET: network },
        labels,
        network,
      },
      { ports: [{ container: 8402 }] },
    );
    const ep = h.endpoints[0];
    expect(ep).toMatchObject({ containerPort: 8402, host: "127.0.0.1" });
    let body = "";
    for (let i = 0; i < 20 && body === ""; i++) {
      body = await fetch(`http://127.0.0.1:${ep?.port}/`, { signal: AbortSignal.timeout(1_000) }).then(
        (r) => r.text(),
        () => "",
      );
      if (body === "") await new Promise((r) => setTimeout(r, 100));
    }
    expect(body).toBe(`on ${network}`);
    const nets = await execa("docker", [
      "network",
      "inspect",
      "--format",
      '{{ index .Labels "loom.managed" }}',
      network,
    ]);
    expect(nets.stdout.trim()).toBe("true");
  });

  it("a background-priority container gets an eighth of the default CPU weight", async () => {
    const h = await rt.run({
      image,
      command: ["sleep", "5"],
      labels,
      network: "host",
      limits: { priority: "background" },
    });
    const shares = await execa("docker", ["inspect", "--format", "{{.HostConfig.CpuShares}}", h.id]);
    expect(shares.stdout.trim()).toBe("128");
    await rt.remove(h.id);
  });

  it("a run that fails after creating the container leaves nothing behind", async () => {
    // A file mounted over a directory passes `create` and fails at start, leaving a Created container.
    const file = path.join(await fs.mkdtemp(path.join(os.tmpdir(), "loom-docker-")), "file");
    await fs.writeFile(file, "x");
    const spec = {
      image,
      command: ["sh"],
      labels: { ...labels, bad: "1" },
    };
    await expect(rt.runOnHost(spec, { mounts: [{ host: file, container: "/bin" }] })).rejects.toMatchObject({
      code: "ENGINE_FAILED",
      message: expect.stringContaining("not a directory"),
    });
    await fs.rm(path.dirname(file), { recursive: true, force: true });
    expect(await rt.list({ ...labels, bad: "1" })).toEqual([]);
  });
});
