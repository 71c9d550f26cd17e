import { createHash } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SupervisorEvent } from "../../schemas/events.ts";
import {
  ErrorBody,
  GenerationRecord,
  PromoteResponse,
  RollbackResponse,
  SpawnResponse,
} from "../../schemas/index.ts";
import { parseSseData } from "../../src/shared/http/sse-read.ts";
import { SwarmRuntime } from "../../src/supervisor/runtime/swarm.ts";
import { GenerationStore } from "../../src/supervisor/store/index.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { LOOM_BIN, loom } from "../helpers/cli.ts";
import { type Fixture, git, makeFixture } from "./lifecycle-fixture.ts";
import { recordPassedVerification } from "./passed-verification.ts";

const TOKEN = "s3cret-token";
let fx: Fixture;
let sup: Supervisor;
const logs: string[] = [];

beforeAll(async () => {
  fx = await makeFixture([
    { tool: "write_file", input: { path: "one.txt", content: "one\n" } },
    { text: "wrote one.txt" },
    { tool: "write_file", input: { path: "two.txt", content: "two\n" } },
    { text: "wrote two.txt" },
  ]);
  sup = await startSupervisor({
    config: fx.config({ LOOM_SUPERVISOR_TOKEN: TOKEN }),
    port: 0,
    log: (l) => logs.push(l),
    pollMs: 100,
  });
}, 30_000);
afterAll(async () => {
  await sup?.close();
  await fx?.cleanup();
});

const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
async function call(method: string, path: string, body?: string, headers: Record<string, string> = auth) {
  const res = await fetch(`${sup.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}
async function expectError(
  p: Promise<{ status: number; json: unknown; text: string }>,
  status: number,
  code: string,
) {
  const r = await p;
  expect(r.status, r.text).toBe(status);
  const body = ErrorBody.parse(r.json);
  expect(body.error.code).toBe(code);
  expect(r.text).not.toMatch(/\n\s+at /);
  return body.error.message;
}
async function waitForOutcome(n: number, outcome: string): Promise<GenerationRecord> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const r = await call("GET", `/generations/${n}`);
    const record = GenerationRecord.parse(r.json);
    if (record.outcome === outcome || Date.now() > deadline) return record;
    await new Promise((res) => setTimeout(res, 200));
  }
}

describe("Supervisor HTTP: bad input", () => {
  it("400 for bad JSON, unknown fields and wrong types, naming the path", async () => {
    await expectError(call("POST", "/spawn", "{not json"), 400, "INVALID_JSON");
    const unknown = await expectError(
      call("POST", "/spawn", JSON.stringify({ program: "x", extra: 1 })),
      400,
      "INVALID_BODY",
    );
    expect(unknown).toMatch(/extra/);
    const wrongType = await expectError(
      call("POST", "/spawn", JSON.stringify({ program: 5 })),
      400,
      "INVALID_BODY",
    );
    expect(wrongType).toMatch(/program/);
    const badGen = await expectError(
      call("POST", "/promote", JSON.stringify({ generation: "1" })),
      400,
      "INVALID_BODY",
    );
    expect(badGen).toMatch(/generation/);
    await expectError(call("POST", "/rollback", JSON.stringify({ generation: 0 })), 400, "INVALID_BODY");
    await expectError(call("GET", "/generations/abc"), 400, "INVALID_GENERATION");
  });

  it("401 without or with a wrong bearer token on POST routes; nothing is spawned", async () => {
    const body = JSON.stringify({ program: "# Task\n" });
    await expectError(
      call("POST", "/spawn", body, { "content-type": "application/json" }),
      401,
      "UNAUTHORIZED",
    );
    await expectError(call("POST", "/spawn", body, { authorization: "Bearer nope" }), 401, "UNAUTHORIZED");
    await expectError(
      call("POST", "/promote", body, { authorization: `Basic ${TOKEN}` }),
      401,
      "UNAUTHORIZED",
    );
    expect((await call("GET", "/generations")).json).toEqual([]);
  });

  it("404 for unknown routes and generations, 405 for a wrong method, 413 over 1 MiB", async () => {
    await expectError(call("GET", "/nope"), 404, "NOT_FOUND");
    await expectError(call("GET", "/generations/999"), 404, "GENERATION_NOT_FOUND");
    const r = await call("DELETE", "/spawn");
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("POST");
    await expectError(
      call("POST", "/spawn", JSON.stringify({ program: "x".repeat(1024 * 1024 + 10) })),
      413,
      "BODY_TOO_LARGE",
    );
    await expectError(
      call("POST", "/promote", JSON.stringify({ generation: 999 })),
      404,
      "GENERATION_NOT_FOUND",
    );
  });

  it("409 when promoting or rolling back a generation that is not verifying", async () => {
    const store = await GenerationStore.open(fx.stateDir);
    const rec = await store.allocate({
      programHash: createHash("sha256").update("p").digest("hex"),
      parent: null,
    });
    await store.update(rec.generation, { outcome: "failed", reason: "made for the test" });
    const msg = await expectError(
      call("POST", "/promote", JSON.stringify({ generation: rec.generation })),
      409,
      "NOT_VERIFYING",
    );
    expect(msg).toMatch(/failed/);
    await expectError(
      call("POST", "/rollback", JSON.stringify({ generation: rec.generation })),
      409,
      "NOT_VERIFYING",
    );
  });

  it("409 with git's reason when promote cannot merge; the record stays verifying until rolled back", async () => {
    const store = await GenerationStore.open(fx.stateDir);
    const rec = await store.allocate({
      programHash: createHash("sha256").update("q").digest("hex"),
      parent: null,
    });
    await store.update(rec.generation, { outcome: "running" });
    await store.update(rec.generation, { outcome: "verifying" });
    await recordPassedVerification(store, fx.repo, rec.generation);
    // No lab/gen-N branch exists in the repo for this record.
    await expectError(
      call("POST", "/promote", JSON.stringify({ generation: rec.generation })),
      409,
      "BRANCH_NOT_FOUND",
    );
    expect((await store.get(rec.generation))?.outcome).toBe("verifying");
    const rolled = await call("POST", "/rollback", JSON.stringify({ generation: rec.generation }));
    expect(rolled.status, rolled.text).toBe(200);
    expect((await store.get(rec.generation))?.reason).toBe("rolled back on request");
  });
});

describe("Supervisor HTTP: generations end to end (local runtime)", () => {
  it("spawn → verifying → promote; spawn → 409 while running → rollback; stats, logs and dashboard", async () => {
    const spawned = await call("POST", "/spawn", JSON.stringify({ program: "# Task: write one.txt\n" }));
    expect(spawned.status, spawned.text).toBe(202);
    const first = SpawnResponse.parse(spawned.json);
    expect(first.outcome).toBe("pending");
    const busy = await expectError(
      call("POST", "/spawn", JSON.stringify({ program: "# again\n" })),
      409,
      "GENERATION_RUNNING",
    );
    expect(busy).toMatch(String(first.generation));
    const done = await waitForOutcome(first.generation, "verifying");
    expect(done.outcome, done.reason ?? "").toBe("verifying");
    await sup.controller.idle();

    await expectError(
      call("POST", "/promote", JSON.stringify({ generation: first.generation })),
      409,
      "NOT_VERIFIED",
    );
    // This test is about the lifecycle and git; /verify and /review are tested in verify-http.test.ts.
    await recordPassedVerification(await GenerationStore.open(fx.stateDir), fx.repo, first.generation);
    const promoted = await call("POST", "/promote", JSON.stringify({ generation: first.generation }));
    expect(promoted.status, promoted.text).toBe(200);
    expect(PromoteResponse.parse(promoted.json).tag).toBe(`gen-${first.generation}`);
    expect(await git(fx.repo, ["show", "main:one.txt"])).toBe("one");
    expect(GenerationRecord.parse((await call("GET", `/generations/${first.generation}`)).json).outcome).toBe(
      "promoted",
    );

    const second = SpawnResponse.parse(
      (await call("POST", "/spawn", JSON.stringify({ program: "# Task: two\n" }))).json,
    );
    expect((await waitForOutcome(second.generation, "verifying")).outcome).toBe("verifying");
    await sup.controller.idle();
    expect(GenerationRecord.parse((await call("GET", `/generations/${second.generation}`)).json).parent).toBe(
      first.generation,
    );
    const rolled = await call(
      "POST",
      "/rollback",
      JSON.stringify({ generation: second.generation, reason: "not wanted" }),
    );
    expect(rolled.status, rolled.text).toBe(200);
    expect(RollbackResponse.parse(rolled.json)).toEqual({
      generation: second.generation,
      outcome: "rolled_back",
      reason: "not wanted",
    });
    expect(await git(fx.repo, ["branch", "--list", `lab/gen-${second.generation}`])).toBe("");

    const stats = (await call("GET", "/stats")).json as {
      byOutcome: Record<string, number>;
      running: number | null;
    };
    expect(stats.byOutcome).toMatchObject({ promoted: 1, rolled_back: 2, failed: 1 });
    expect(stats.running).toBeNull();

    const list = (await call("GET", "/generations")).json as unknown[];
    expect(list.map((r) => GenerationRecord.parse(r).outcome)).toEqual([
      "failed",
      "rolled_back",
      "promoted",
      "rolled_back",
    ]);

    const page = await call("GET", "/");
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.text).toContain("rolled_back");
    expect(page.text).not.toContain(TOKEN);

    // SSE replays recent events: the lifecycle of both generations is there.
    const abort = new AbortController();
    const res = await fetch(`${sup.url}/logs`, { signal: abort.signal });
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = "";
    const deadline = Date.now() + 5000;
    while (!text.includes('"outcome":"rolled_back"') && Date.now() < deadline) {
      const { value, done: ended } = await Promise.race([
        reader.read(),
        new Promise<{ value: undefined; done: true }>((r) =>
          setTimeout(() => r({ value: undefined, done: true }), 5000),
        ),
      ]);
      if (ended) break;
      text += new TextDecoder().decode(value);
    }
    abort.abort();
    expect(text).toMatch(/data: \{"type":"generation".*"outcome":"verifying"/);
    expect(text).toContain('"type":"lab_status"');
    expect(text).toContain('"outcome":"rolled_back"');
    // Every event the Supervisor produced is one of schemas/events.ts, as every consumer parses it.
    const frames = text.split("\n\n").filter((f) => f.startsWith("data: "));
    expect(frames.length).toBeGreaterThan(3);
    for (const f of frames) {
      const parsed = parseSseData(f.slice(6), SupervisorEvent);
      expect(parsed.ok, parsed.ok ? "" : parsed.problem).toBe(true);
    }
  }, 90_000);
});

describe("binding off loopback", () => {
  it("startSupervisor refuses a non-loopback host without a token", async () => {
    const other = await makeFixture([]);
    try {
      await expect(
        startSupervisor({ config: other.config(), host: "0.0.0.0", port: 0, log: () => {} }),
      ).rejects.toThrow(/LOOM_SUPERVISOR_TOKEN/);
    } finally {
      await other.cleanup();
    }
  });

  it("refuses a workspace transport its runtime cannot give, naming both and what to use", async () => {
    const other = await makeFixture([]);
    try {
      const start = (env: Record<string, string>) =>
        startSupervisor({ config: other.config(env), port: 0, log: () => {} });
      await expect(start({ LOOM_RUNTIME: "local", LOOM_WORKSPACE_TRANSPORT: "git" })).rejects.toThrow(
        "LOOM_WORKSPACE_TRANSPORT=git needs LOOM_RUNTIME=docker or swarm (the relay runs in a container on the host's network); this Supervisor runs local: use mount",
      );
      if ((await new SwarmRuntime().available()).ok)
        await expect(start({ LOOM_RUNTIME: "swarm", LOOM_WORKSPACE_TRANSPORT: "mount" })).rejects.toThrow(
          /LOOM_WORKSPACE_TRANSPORT=mount cannot be used with LOOM_RUNTIME=swarm: a Lab on another node shares no folder/,
        );
    } finally {
      await other.cleanup();
    }
  });

  it("`loom supervisor --host 0.0.0.0` exits 1 with one clear line", async () => {
    const r = await loom(["supervisor", "--host", "0.0.0.0", "--port", "0"], {
      env: { LOOM_REPO_PATH: fx.repo, LOOM_STATE_DIR: fx.stateDir, LOOM_RUNTIME: "local" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without LOOM_SUPERVISOR_TOKEN/);
  }, 30_000);
});

describe("loom supervisor", () => {
  it("serves on --port 0 until SIGTERM, then exits 0", async () => {
    const other = await makeFixture([]);
    try {
      const child = execa(process.execPath, [LOOM_BIN, "supervisor", "--port", "0", "--no-prime"], {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: other.root,
          LOOM_REPO_PATH: other.repo,
          LOOM_STATE_DIR: other.stateDir,
          LOOM_RUNTIME: "local",
        },
        extendEnv: false,
        reject: false,
        timeout: 30_000,
      });
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout?.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1] as string);
        });
        child.once("exit", () => reject(new Error(`exited before listening: ${out}`)));
      });
      const stats = (await (await fetch(`${url}/stats`)).json()) as { runtime: string; generations: number };
      expect(stats).toMatchObject({
        runtime: "local",
        generations: 0,
        prime: { state: "disabled", commit: null, url: null },
      });
      child.kill("SIGTERM");
      const result = await child;
      expect(result.exitCode, result.stderr).toBe(0);
    } finally {
      await other.cleanup();
    }
  }, 30_000);
});
