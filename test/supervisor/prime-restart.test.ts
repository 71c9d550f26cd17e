import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { SupervisorStats } from "../../schemas/index.ts";
import { freePort } from "../../src/supervisor/lifecycle/free-port.ts";
import { primeLabels, primeSpec, waitForPrimeHealth } from "../../src/supervisor/prime/index.ts";
import { LocalRuntime } from "../../src/supervisor/runtime/index.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { startSupervisor } from "../../src/supervisor/supervisor.ts";
import { LOOM_BIN } from "../helpers/cli.ts";
import { sh } from "./git-repo-fixture.ts";
import { fakeLoom, makePrimeFixture } from "./prime-fixture.ts";
import { health, primeRestartScenario } from "./prime-scenario.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

describe("Prime under the local runtime (a child process: weaker isolation than a container)", () => {
  primeRestartScenario({
    env: { LOOM_RUNTIME: "local" },
    lister: (stateDir) => new LocalRuntime({ stateDir }),
    spawnDuringRevert: true,
    cleanups,
  });

  it("runs the installed Loom when the repo is not a Loom checkout, says so, and reaps a leftover Prime", async () => {
    const fx = await makePrimeFixture({ name: "not-loom" });
    cleanups.push(() => fx.cleanup());
    const installed = path.join(fx.root, "installed-loom");
    await mkdir(path.join(installed, "bin"), { recursive: true });
    await writeFile(path.join(installed, "bin", "loom.js"), fakeLoom("installed"));
    const config = fx.config();
    // What a crashed Supervisor leaves: a Prime still running with this repo's labels.
    const earlier = new LocalRuntime({ stateDir: config.stateDir, sandbox: "none" });
    const leftover = await earlier.run({
      image: "x",
      command: ["sleep", "300"],
      labels: primeLabels(fx.repo),
    });
    cleanups.push(() => earlier.remove(leftover.id));
    const lines: string[] = [];
    const primePort = await freePort();
    const sup = await startSupervisor({
      config,
      port: 0,
      log: () => {},
      prime: { port: primePort, loomRoot: installed, healthTimeoutMs: 15_000, stopGraceMs: 2000 },
      onEvent: (e) => lines.push(e.type === "prime" || e.type === "log" ? e.message : e.type),
    });
    cleanups.push(() => sup.close());
    expect(sup.reaped.containers).toEqual([leftover.id]);
    expect(lines.some((l) => /^reaped leftover Prime /.test(l))).toBe(true);
    expect(
      lines.some(
        (l) =>
          l.includes(`Prime runs from the installed Loom at ${installed}`) && l.includes('named "not-loom"'),
      ),
    ).toBe(true);
    expect(lines.some((l) => l.includes("weaker isolation than a container"))).toBe(true);
    const url = `http://127.0.0.1:${primePort}`;
    expect(await health(url)).toMatchObject({ version: "installed", root: installed });

    const store = await GenerationStore.open(config.stateDir);
    const n = await fx.verifiedGeneration(store, { "notes.md": "promoted\n" });
    const { mergeCommit } = await sup.controller.promote(n);
    await sup.prime?.idle();
    expect(
      lines.some(
        (l) => l.includes(`gen-${n} promoted: restarting Prime`) && l.includes("to reload its state"),
      ),
    ).toBe(true);
    expect(sup.prime?.status()).toEqual({ state: "running", commit: mergeCommit, url });
    expect(await health(url)).toMatchObject({ version: "installed", root: installed });
    await sup.close();
    expect(await new LocalRuntime({ stateDir: config.stateDir }).list(primeLabels(fx.repo))).toEqual([]);
  }, 60_000);

  it("`loom supervisor` starts Prime once it listens and SIGTERM stops it (server.test.ts runs it with --no-prime)", async () => {
    const fx = await makePrimeFixture();
    cleanups.push(() => fx.cleanup());
    const primePort = await freePort();
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: fx.root,
      LOOM_REPO_PATH: fx.repo,
      LOOM_STATE_DIR: fx.stateDir,
      LOOM_RUNTIME: "local",
      LOOM_PRIME_PORT: String(primePort),
      ANTHROPIC_API_KEY: "prime-key",
    };
    const child = execa(process.execPath, [LOOM_BIN, "supervisor", "--port", "0"], {
      env,
      extendEnv: false,
      reject: false,
      timeout: 60_000,
    });
    cleanups.push(async () => child.kill("SIGKILL"));
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m && out.includes("prime running at")) resolve(m[1] as string);
      });
      child.once("exit", () => reject(new Error(`exited before Prime ran: ${out}`)));
    });
    const stats = SupervisorStats.parse(await (await fetch(`${url}/stats`)).json());
    const main = (await sh(fx.repo, ["rev-parse", "main"])).trim();
    expect(stats.prime).toEqual({ state: "running", commit: main, url: `http://127.0.0.1:${primePort}` });
    expect(await health(`http://127.0.0.1:${primePort}`)).toMatchObject({ version: "v1", commit: main });
    child.kill("SIGTERM");
    const result = await child;
    expect(result.exitCode, `${result.signal} ${result.timedOut} ${result.stderr}`).toBe(0);
    expect(result.stderr).toMatch(/prime running: Prime is healthy on main/);
    expect(await new LocalRuntime({ stateDir: fx.stateDir }).list(primeLabels(fx.repo))).toEqual([]);
    await expect(fetch(`http://127.0.0.1:${primePort}/health`)).rejects.toThrow();
  }, 90_000);
});

describe("waitForPrimeHealth", () => {
  it("fails at once with the last output when Prime exits, and at the deadline when it never answers 200", async () => {
    const fx = await makePrimeFixture();
    cleanups.push(() => fx.cleanup());
    const runtime = new LocalRuntime({ stateDir: fx.stateDir, sandbox: "none" });
    const port = await freePort();
    const signal = new AbortController().signal;
    const node = (code: string) =>
      runtime.run({ image: "x", command: [process.execPath, "-e", code], labels: { test: "health" } });

    const dies = await node("console.error('boom: no key'); process.exit(4)");
    cleanups.push(() => runtime.remove(dies.id));
    const started = Date.now();
    const died = await waitForPrimeHealth({
      runtime,
      id: dies.id,
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 20_000,
      pollMs: 50,
      signal,
    });
    expect(died).toEqual({
      ok: false,
      why: expect.stringMatching(
        /^Prime exited \(code 4\) before GET \/health answered 200; last output: boom: no key/,
      ),
    });
    expect(Date.now() - started).toBeLessThan(10_000);

    const sick = await node(
      `require("http").createServer((q, s) => { s.writeHead(503); s.end('{"ok":false,"why":"warming up"}'); }).listen(${port}, "127.0.0.1", () => console.log("sick but up"))`,
    );
    cleanups.push(() => runtime.remove(sick.id));
    const timedOut = await waitForPrimeHealth({
      runtime,
      id: sick.id,
      url: `http://127.0.0.1:${port}`,
      timeoutMs: 1000,
      pollMs: 50,
      signal,
    });
    expect(timedOut.ok).toBe(false);
    expect(!timedOut.ok && timedOut.why).toMatch(
      /did not answer 200 \{"ok":true\} within 1000 ms \(LOOM_PRIME_HEALTH_TIMEOUT_MS\); last answer: 503 \{"ok":false,"why":"warming up"\}; last output: sick but up/,
    );
  }, 30_000);
});

describe("primeSpec", () => {
  it("gives Prime its own variables only, its folders at their own paths, code and repo read-only; the host network whatever Labs use", async () => {
    const fx = await makePrimeFixture();
    cleanups.push(() => fx.cleanup());
    const config = fx.config({ LOOM_SUPERVISOR_TOKEN: "tok", ANTHROPIC_BASE_URL: "http://127.0.0.1:7" });
    const code = path.join(fx.stateDir, "prime", "a".repeat(40));
    const { spec, host } = primeSpec({
      runtime: "docker",
      // Labs on a bridge; Prime still needs the host's loopback, where the Supervisor listens.
      config: { ...config, network: "loom-net" },
      image: "loom-lab:latest",
      code,
      nodeModules: path.join(fx.repo, "node_modules"),
      primeState: path.join(fx.stateDir, "prime-state"),
      port: 8401,
      supervisorUrl: "http://127.0.0.1:8400",
      commit: "a".repeat(40),
    });
    expect(Object.keys(spec.env ?? {}).sort()).toEqual([
      "ANTHROPIC_API_KEY",
      "ANTHROPIC_BASE_URL",
      "LOOM_LAB_READY_TIMEOUT_MS",
      "LOOM_LAB_TIMEOUT_MS",
      "LOOM_MAX_CONTEXT_MESSAGES",
      "LOOM_MAX_GENERATIONS",
      "LOOM_MAX_ITERATIONS",
      "LOOM_MAX_RETRIES",
      "LOOM_MODEL",
      "LOOM_PLATEAU_WINDOW",
      "LOOM_PROMOTE",
      "LOOM_REQUEST_TIMEOUT_MS",
      "LOOM_SUPERVISOR_TOKEN",
      "LOOM_SUPERVISOR_URL",
      "LOOM_TOKEN_BUDGET",
      "LOOM_VERIFY_TIMEOUT_MS",
    ]);
    expect(spec.env?.ANTHROPIC_API_KEY).toBe("prime-key");
    expect(spec.entrypoint).toBe("node");
    expect(spec.command).toEqual([
      path.join(code, "bin", "loom.js"),
      "prime",
      "--port",
      "8401",
      "--host",
      "127.0.0.1",
      "--repo",
      fx.repo,
      "--state",
      path.join(fx.stateDir, "prime-state"),
      "--supervisor",
      "http://127.0.0.1:8400",
    ]);
    expect(host.ports).toEqual([{ container: 8401 }]);
    expect(host.mounts).toEqual([
      { host: fx.repo, container: fx.repo, readOnly: true },
      { host: code, container: code, readOnly: true },
      {
        host: path.join(fx.repo, "node_modules"),
        container: path.join(code, "node_modules"),
        readOnly: true,
      },
      {
        host: path.join(fx.stateDir, "prime-state"),
        container: path.join(fx.stateDir, "prime-state"),
        readOnly: false,
      },
    ]);
    expect(spec.labels).toEqual({ ...primeLabels(fx.repo), "loom.commit": "a".repeat(40) });
    expect(spec.labels?.["loom.role"]).toBe("prime");
    expect(spec.network).toBe("host");
    expect(spec.limits).toEqual({ memoryMb: 2048, pids: 512, cpus: 1 });
  });
});
