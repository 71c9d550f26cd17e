import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../../src/supervisor/lifecycle/free-port.ts";
import type {
  ContainerHandle,
  ContainerInfo,
  ContainerRuntime,
  HostHandle,
} from "../../../src/supervisor/runtime/runtime.ts";
import { isHostRuntime, RuntimeError } from "../../../src/supervisor/runtime/runtime.ts";

/**
 * One behavioural suite every ContainerRuntime must pass. A backend states what it cannot do
 * (capabilities), and those checks are skipped for it with the reason shown, never silently.
 */

export interface ConformanceTarget {
  readonly name: string;
  /** Why the whole suite is skipped here (engine missing); undefined to run it. */
  readonly skip: string | undefined;
  readonly make: () => Promise<ContainerRuntime>;
  readonly image: () => Promise<string>;
  /** Variables the engine itself adds to every container (e.g. docker's HOSTNAME). */
  readonly engineEnv: readonly string[];
  readonly memoryLimit: boolean;
  /**
   * A runtime on the Supervisor's own host (`HostRuntime`): it also mounts host folders and reports host
   * endpoints, and those checks run. A cluster runtime (swarm) takes neither; the probe runs without them.
   */
  readonly hostBound: boolean;
  readonly readOnlyMounts: boolean;
}

const PROBE = `
const fs = require("fs");
const http = require("http");
console.log("ENV " + JSON.stringify(process.env));
try { fs.writeFileSync("ro/blocked.txt", "x"); console.log("RO_WRITE succeeded"); }
catch (e) { console.log("RO_WRITE failed " + e.code); }
try { fs.writeFileSync("out.txt", "written-by-container"); } catch (e) { console.log("WRITE failed " + e.code); }
http.createServer((req, res) => res.end("loom-probe " + process.env.PROBE_TOKEN))
  .listen(Number(process.env.PROBE_PORT), "127.0.0.1", () => console.log("LISTENING"));
`;

const HOG = "const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1));";

/** Polls until check returns a value, within a bounded time. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 1_000; i++) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const exited = (rt: ContainerRuntime, id: string) =>
  until(`${id} to exit`, async () => {
    const info = await rt.inspect(id);
    return info && info.state === "exited" ? info : undefined;
  });

export function runtimeConformance(target: ConformanceTarget): void {
  describe.skipIf(target.skip !== undefined)(`ContainerRuntime conformance: ${target.name}`, () => {
    const runKey = `loom.test.run`;
    const runId = randomBytes(6).toString("hex");
    const ours = { [runKey]: runId };
    const canary = `LOOM_CANARY_${runId.toUpperCase()}`;
    let rt: ContainerRuntime;
    let image: string;
    let dir: string;
    let ws: string;
    let ro: string;
    let port: number;
    let probe: ContainerHandle;
    /** The probe's host endpoints, from a host runtime. */
    let endpoints: HostHandle["endpoints"] = [];
    const token = randomBytes(4).toString("hex");

    beforeAll(async () => {
      rt = await target.make();
      image = await target.image();
      dir = await fs.mkdtemp(path.join(os.tmpdir(), `loom-conf-${target.name}-`));
      ws = path.join(dir, "ws");
      ro = path.join(dir, "ro");
      await fs.mkdir(ws);
      await fs.mkdir(ro);
      await fs.writeFile(path.join(ro, "given.txt"), "read me");
      port = await freePort();
      // Set on the host only: it must never reach the container.
      process.env[canary] = "leaked";
      expect(isHostRuntime(rt)).toBe(target.hostBound);
      const spec = {
        image,
        command: ["node", "-e", PROBE],
        env: { PROBE_TOKEN: token, PROBE_PORT: String(port), SPACED: "a b=c 'd'" },
        labels: { ...ours, "loom.test.role": "probe" },
        network: "host",
        limits: { memoryMb: 256, pids: 64, cpus: 1 },
      };
      if (isHostRuntime(rt)) {
        const h = await rt.runOnHost(
          { ...spec, workdir: "/work" },
          {
            mounts: [
              { host: ws, container: "/work" },
              { host: ro, container: "/work/ro", readOnly: true },
            ],
            ports: [{ container: port }],
          },
        );
        probe = h;
        endpoints = h.endpoints;
      } else probe = await rt.run({ ...spec, workdir: "/tmp" });
      await until("the probe to listen", async () =>
        (await rt.logs(probe.id)).includes("LISTENING") ? true : undefined,
      );
    });

    afterAll(async () => {
      delete process.env[canary];
      if (rt) for (const c of await rt.list(ours)) await rt.remove(c.id);
      if (rt) expect(await rt.list(ours)).toEqual([]);
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    });

    it("inspect shows the container running with its labels", async () => {
      const info = (await rt.inspect(probe.id)) as ContainerInfo;
      expect(info.state).toBe("running");
      expect(info.labels).toMatchObject({ ...ours, "loom.test.role": "probe" });
      expect(info.exitCode).toBeUndefined();
      expect(Number.isNaN(Date.parse(info.startedAt ?? ""))).toBe(false);
    });

    it("the environment holds exactly what the spec gave (plus engine basics), never the host's", async () => {
      const line = (await rt.logs(probe.id)).split("\n").find((l) => l.startsWith("ENV "));
      const env = JSON.parse(line?.slice(4) ?? "{}") as Record<string, string>;
      expect(env).toMatchObject({ PROBE_TOKEN: token, PROBE_PORT: String(port), SPACED: "a b=c 'd'" });
      expect(env[canary]).toBeUndefined();
      const allowed = new Set(["PROBE_TOKEN", "PROBE_PORT", "SPACED", "PATH", "HOME", ...target.engineEnv]);
      expect(Object.keys(env).filter((k) => !allowed.has(k))).toEqual([]);
    });

    it.skipIf(!target.hostBound || !target.readOnlyMounts)(
      "a read-only mount cannot be written",
      async () => {
        expect(await rt.logs(probe.id)).toMatch(/RO_WRITE failed (EROFS|EACCES|EPERM)/);
        expect(await fs.readdir(ro)).toEqual(["given.txt"]);
      },
    );

    it.skipIf(!target.hostBound)("a writable workspace mount is written through to the host", async () => {
      expect(await fs.readFile(path.join(ws, "out.txt"), "utf8")).toBe("written-by-container");
    });

    it("logs return the output, and tail only the last lines", async () => {
      const all = await rt.logs(probe.id);
      expect(all).toContain("LISTENING");
      expect((await rt.logs(probe.id, { tail: 1 })).trim()).toBe("LISTENING");
    });

    it.skipIf(!target.hostBound)(
      "a server inside answers on the endpoint the runtime reports (host networking)",
      async () => {
        expect(endpoints).toEqual([{ containerPort: port, host: "127.0.0.1", port }]);
        const ep = endpoints[0] as { host: string; port: number };
        const body = await (
          await fetch(`http://${ep.host}:${ep.port}/`, { signal: AbortSignal.timeout(5_000) })
        ).text();
        expect(body).toBe(`loom-probe ${token}`);
        const info = isHostRuntime(rt) ? await rt.inspect(probe.id) : undefined;
        expect(info?.endpoints).toEqual(endpoints);
      },
    );

    it("a spec naming a host path or port is refused by run(): those are a host runtime's binding", async () => {
      const before = (await rt.list(ours)).length;
      const mounted = { image, command: ["true"], labels: ours, mounts: [{ host: ws, container: "/w" }] };
      await expect(rt.run(mounted as never)).rejects.toMatchObject({
        code: "INVALID_SPEC",
        message: expect.stringMatching(/mounts/),
      });
      const published = { image, command: ["true"], labels: ours, ports: [{ container: port }] };
      await expect(rt.run(published as never)).rejects.toMatchObject({ code: "INVALID_SPEC" });
      expect((await rt.list(ours)).length).toBe(before);
    });

    it("a command's exit code is reported once it exits", async () => {
      const h = await rt.run({
        image,
        command: ["sh", "-c", "echo bye; exit 3"],
        labels: { ...ours, "loom.test.role": "exit" },
      });
      const info = await exited(rt, h.id);
      expect(info.exitCode).toBe(3);
      expect(await rt.logs(h.id)).toBe("bye\n");
    });

    it("wait answers when the container exits, with its exit code; unknown ids are gone", async () => {
      // Taken before the run: `sleep 1` starts after it, so the exit is at least a second later, however
      // long `run` itself takes on a loaded machine.
      const t0 = Date.now();
      const h = await rt.run({
        image,
        command: ["sh", "-c", "sleep 1; exit 5"],
        labels: { ...ours, "loom.test.role": "wait" },
      });
      // Still running: a short wait runs out; then the full wait sees the exit and its code.
      expect(await rt.wait(h.id, { timeoutMs: 100 })).toEqual({ kind: "timeout" });
      expect(await rt.wait(h.id, { timeoutMs: 20_000 })).toEqual({ kind: "exited", exitCode: 5 });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
      // Already exited: answered at once, again.
      expect(await rt.wait(h.id, { timeoutMs: 20_000 })).toEqual({ kind: "exited", exitCode: 5 });
      await rt.remove(h.id);
      expect(await rt.wait(h.id, { timeoutMs: 5_000 })).toEqual({ kind: "gone" });
      expect(await rt.wait("fedcba987654", { timeoutMs: 5_000 })).toEqual({ kind: "gone" });
    });

    it("wait ends early, as aborted, when its signal fires", async () => {
      const h = await rt.run({
        image,
        command: ["sh", "-c", "sleep 30"],
        labels: { ...ours, "loom.test.role": "wait-abort" },
      });
      const abort = new AbortController();
      const t0 = Date.now();
      setTimeout(() => abort.abort(), 200);
      expect(await rt.wait(h.id, { timeoutMs: 20_000, signal: abort.signal })).toEqual({ kind: "aborted" });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect((await rt.inspect(h.id))?.state).toBe("running");
      await rt.remove(h.id);
    });

    it("list by label finds exactly ours", async () => {
      const found = await rt.list({ ...ours, "loom.test.role": "probe" });
      expect(found.map((c) => c.id)).toEqual([probe.id]);
      expect(await rt.list({ [runKey]: "no-such-run" })).toEqual([]);
    });

    it("an invalid spec is refused before anything starts", async () => {
      const before = (await rt.list(ours)).length;
      await expect(
        rt.run({ image, command: [], env: { "BAD-NAME": "x" }, labels: ours }),
      ).rejects.toMatchObject({
        code: "INVALID_SPEC",
        message: expect.stringMatching(/command.*env\.BAD-NAME|env\.BAD-NAME.*command/),
      });
      expect((await rt.list(ours)).length).toBe(before);
    });

    it.skipIf(!target.memoryLimit)("a memory limit kills a hog", async () => {
      const h = await rt.run({
        image,
        command: ["node", "-e", HOG],
        labels: { ...ours, "loom.test.role": "hog" },
        limits: { memoryMb: 64 },
      });
      const info = await exited(rt, h.id);
      expect(info.oomKilled || info.exitCode === 137).toBe(true);
    });

    it("unknown ids: inspect is undefined, stop and logs fail NOT_FOUND, remove is a no-op", async () => {
      const unknown = "fedcba987654";
      expect(await rt.inspect(unknown)).toBeUndefined();
      await expect(rt.stop(unknown)).rejects.toBeInstanceOf(RuntimeError);
      await expect(rt.stop(unknown)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(rt.logs(unknown)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(rt.remove(unknown)).resolves.toBeUndefined();
    });

    it("stop ends it (state exited), and stopping again is fine", async () => {
      await rt.stop(probe.id, { timeoutMs: 5_000 });
      expect((await rt.inspect(probe.id))?.state).toBe("exited");
      await expect(
        fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }),
      ).rejects.toThrow();
      await rt.stop(probe.id, { timeoutMs: 1_000 });
    });

    it("remove removes it", async () => {
      await rt.remove(probe.id);
      expect(await rt.inspect(probe.id)).toBeUndefined();
      expect(await rt.list({ ...ours, "loom.test.role": "probe" })).toEqual([]);
    });
  });
}
