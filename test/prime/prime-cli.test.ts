import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrimeHealth } from "../../schemas/prime.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../src/shared/scripted-model/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { LOOM_BIN, loom } from "../helpers/cli.ts";
import { type Fixture, makeFixture, WRITE_AND_END } from "../supervisor/lifecycle-fixture.ts";

let fx: Fixture;
let sup: Supervisor;
let primeModel: ScriptedModelServer;

beforeAll(async () => {
  fx = await makeFixture(WRITE_AND_END);
  sup = await startSupervisor({ config: fx.config(), port: 0, log: () => {}, pollMs: 100 });
  primeModel = await startScriptedModel([
    {
      tool: "propose_program",
      input: {
        task: "Describe the repo",
        objective: "README.md says what the repo is for.",
        files: ["README.md"],
        acceptanceCriteria: ["README.md has a second line"],
        constraints: ["touch nothing else"],
      },
    },
  ]);
}, 30_000);
afterAll(async () => {
  await sup?.close();
  await primeModel?.close();
  await fx?.cleanup();
});

const primeEnv = () => ({
  ANTHROPIC_API_KEY: "prime-cli-key",
  ANTHROPIC_BASE_URL: primeModel.url,
  LOOM_MAX_RETRIES: "0",
  LOOM_REPO_PATH: fx.repo,
  LOOM_STATE_DIR: path.join(fx.root, "prime-state"),
  LOOM_SUPERVISOR_URL: sup.url,
});

describe("loom prime / spawn / reflect / autonomous: bad input", () => {
  it("bad flags exit 2 naming the flag and what is accepted", async () => {
    const [port, url, gens, noArg] = await Promise.all([
      loom(["prime", "--port", "abc"]),
      loom(["prime", "--supervisor", "localhost:8400"]),
      loom(["autonomous", "--max-generations", "0"]),
      loom(["spawn"]),
    ]);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain("--port must be a whole number from 0 to 65535");
    expect(url.code).toBe(2);
    expect(url.stderr).toContain("--supervisor must be an http:// or https:// URL");
    expect(gens.code).toBe(2);
    expect(gens.stderr).toContain("--max-generations must be a whole number from 1 to 100000");
    expect(noArg.code).toBe(2);
    expect(noArg.stderr).toContain("missing required argument 'program.md'");
  }, 120_000);

  it("a bad round size: --candidates exits 2, LOOM_CANDIDATES and LOOM_LAB_MODELS exit 1, each named", async () => {
    const [zero, many, text, env, models] = await Promise.all([
      loom(["autonomous", "--candidates", "0"]),
      loom(["autonomous", "--candidates", "17"]),
      loom(["autonomous", "--candidates", "3x"]),
      loom(["autonomous"], { env: { LOOM_CANDIDATES: "0" }, cwd: fx.root }),
      loom(["autonomous"], { env: { LOOM_LAB_MODELS: "a,,b" }, cwd: fx.root }),
    ]);
    for (const r of [zero, many, text]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--candidates must be a whole number from 1 to 16");
    }
    expect(text.stderr).toContain('(got "3x")');
    expect(env.code).toBe(1);
    expect(env.stderr).toContain('LOOM_CANDIDATES="0" is not valid: expected a whole number from 1 to 16');
    expect(models.code).toBe(1);
    expect(models.stderr).toContain('LOOM_LAB_MODELS="a,,b" is not valid: expected a comma-separated list');
  }, 120_000);

  it("configuration problems are one line, exit 1", async () => {
    const [noKey, badUrl, missing] = await Promise.all([
      loom(["prime", "--port", "0"], { cwd: fx.root }),
      loom(["spawn", "README.md"], { env: { LOOM_SUPERVISOR_URL: "ftp://x" }, cwd: fx.repo }),
      loom(["spawn", "absent.md"], { cwd: fx.root }),
    ]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr.trim()).toBe(
      "loom: ANTHROPIC_API_KEY is not set; Prime calls the model and needs it: set it in the environment or in .env",
    );
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr.trim()).toMatch(
      /^loom: LOOM_SUPERVISOR_URL="ftp:\/\/x" is not valid: expected an http/,
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe("loom: cannot read absent.md: ENOENT");
  }, 120_000);
});

describe("loom commands against a real Supervisor", () => {
  it("loom spawn starts a generation, waits for its Lab and prints the outcome", async () => {
    const program = path.join(fx.root, "program.md");
    await writeFile(program, "# Task\nwrite hello.txt\n");
    const r = await loom(["spawn", program], { env: { LOOM_SUPERVISOR_URL: sup.url }, cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^generation 1 \(lab\/gen-1\): verifying\n/);
    expect(r.stderr).toContain("loom: generation 1 started (lab/gen-1); waiting for its Lab");
  }, 90_000);

  it("loom reflect prints the proposed program.md and saves it", async () => {
    const r = await loom(["reflect"], { env: primeEnv(), cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Task\n/);
    expect(r.stdout).toContain("Describe the repo");
    const saved = await readFile(path.join(fx.root, "prime-state", "program.md"), "utf8");
    // execa drops the final newline of what was printed.
    expect(r.stdout).toBe(saved.trimEnd());
    // The reflection read the lineage: generation 1 from the previous test.
    expect(JSON.stringify(primeModel.requests.at(-1)!.body)).toContain("- gen 1: verifying");
  }, 60_000);

  it("loom prime, as the Supervisor launches it, answers /health and exits 0 on SIGTERM", async () => {
    const state = path.join(fx.root, "prime-cli-state");
    const child = execa(
      process.execPath,
      [
        LOOM_BIN,
        "prime",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--repo",
        fx.repo,
        "--state",
        state,
        "--supervisor",
        sup.url,
      ],
      {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...primeEnv() },
        extendEnv: false,
        cwd: fx.root,
        reject: false,
        stdin: "ignore",
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`prime did not start: ${out}`)), 30_000);
        child.stdout!.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          const m = /prime: listening on (http:\/\/127\.0\.0\.1:\d+) \(supervisor (\S+)\)/.exec(out);
          if (m) {
            clearTimeout(timer);
            expect(m[2]).toBe(sup.url);
            resolve(m[1]!);
          }
        });
      });
      const res = await fetch(`${url}/health`);
      expect(res.status).toBe(200);
      expect(PrimeHealth.parse(await res.json()).ok).toBe(true);
    } finally {
      child.kill("SIGTERM");
    }
    const done = await child;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stderr).toContain("prime: shutting down");
  }, 60_000);

  it("loom autonomous resumes an active run from its state file and stops by its rule", async () => {
    const state = path.join(fx.root, "autonomous-state");
    await mkdir(state, { recursive: true });
    const at = new Date().toISOString();
    await writeFile(
      path.join(state, "autonomous.json"),
      JSON.stringify({
        version: 1,
        runId: "run-cli",
        status: "running",
        phase: "reflecting",
        generation: null,
        program: null,
        spawnFloor: null,
        reason: null,
        options: {
          maxGenerations: 1,
          tokenBudget: 0,
          plateauWindow: 3,
          maxConsecutiveFailures: 5,
          promoteMode: "auto",
        },
        startedAt: at,
        updatedAt: at,
        generations: [{ generation: 1, outcome: "rolled_back", fitness: null, reason: "made for the test" }],
        bestFitness: null,
        promotedWithoutGain: 0,
        primeTokens: 0,
        labTokens: 0,
        stopReason: null,
        stopDetail: null,
      }),
    );
    const r = await loom(["autonomous"], { env: { ...primeEnv(), LOOM_STATE_DIR: state }, cwd: fx.root });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("autonomous run run-cli resumed at reflecting");
    expect(JSON.parse(r.stdout)).toMatchObject({
      stopReason: "max_generations",
      state: { runId: "run-cli", status: "stopped" },
    });
    const saved = JSON.parse(await readFile(path.join(state, "autonomous.json"), "utf8"));
    expect(saved).toMatchObject({ status: "stopped", stopReason: "max_generations" });
  }, 60_000);
});
