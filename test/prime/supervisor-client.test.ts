import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GenerationDiff } from "../../schemas/generation-diff.ts";
import { SupervisorClient } from "../../src/prime/supervisor-client.ts";
import { SupervisorError } from "../../src/prime/supervisor-error.ts";
import { type Supervisor, startSupervisor } from "../../src/supervisor/supervisor.ts";
import { type Fixture, makeFixture, WRITE_AND_END } from "../supervisor/lifecycle-fixture.ts";

const TOKEN = "client-token";
let fx: Fixture;
let sup: Supervisor;
let client: SupervisorClient;

beforeAll(async () => {
  fx = await makeFixture(WRITE_AND_END);
  sup = await startSupervisor({
    config: fx.config({ LOOM_SUPERVISOR_TOKEN: TOKEN }),
    port: 0,
    log: () => {},
    pollMs: 100,
  });
  client = new SupervisorClient({ baseUrl: sup.url, token: TOKEN });
}, 30_000);
afterAll(async () => {
  await sup?.close();
  await fx?.cleanup();
});

async function failure(p: Promise<unknown>): Promise<SupervisorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SupervisorError);
  return err as SupervisorError;
}

/** A one-route HTTP server on loopback answering every request with `answer`. */
async function tinyServer(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const server = http.createServer(answer);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

describe("SupervisorClient against the real Supervisor", () => {
  it("reads the lineage and the stats, parsed with their schemas", async () => {
    expect(await client.listGenerations()).toEqual([]);
    const stats = await client.stats();
    expect(stats).toMatchObject({ generations: 0, running: null, totalTokens: 0 });
    expect(stats.runtime).toBe("local");
  });

  it("maps an ErrorBody to a SupervisorError with its code, message and status", async () => {
    const missing = await failure(client.getGeneration(99));
    expect(missing).toMatchObject({ code: "GENERATION_NOT_FOUND", status: 404 });
    expect(missing.message).toMatch(/generation 99 does not exist/);
    const anonymous = new SupervisorClient({ baseUrl: sup.url });
    const refused = await failure(anonymous.spawn({ program: "# Task\nwrite hello.txt\n" }));
    expect(refused).toMatchObject({ code: "UNAUTHORIZED", status: 401 });
    expect(refused.message).toMatch(/LOOM_SUPERVISOR_TOKEN/);
    expect(await client.listGenerations()).toEqual([]);
    const bad = await failure(client.review({ generation: 1, verdict: null, error: null, durationMs: -1 }));
    expect(bad).toMatchObject({ code: "INVALID_BODY", status: 400 });
    expect(bad.message).toMatch(/durationMs/);
  });

  it("spawns, waits for the Lab, reads the diff, refuses an unverified promotion, rolls back", async () => {
    const spawned = await client.spawn({ program: "# Task\nwrite hello.txt\n" });
    expect(spawned).toMatchObject({ generation: 1, branch: "lab/gen-1" });
    const seen: string[] = [];
    const t0 = Date.now();
    // Polls 30 s apart: only the Supervisor's event stream can make the wait see the Lab's end sooner.
    const record = await client.waitForGeneration(spawned.generation, {
      pollMs: 30_000,
      timeoutMs: 80_000,
      onPoll: (r) => seen.push(r.outcome),
    });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(record.outcome, record.reason ?? "").toBe("verifying");
    expect(seen.at(-1)).toBe("verifying");
    expect(record.tokens.input).toBeGreaterThan(0);
    const diff = await client.diff(1);
    expect(GenerationDiff.parse(diff).diff).toContain("+hello from the lab");
    const unverified = await failure(client.promote(1));
    expect(unverified.status).toBe(409);
    expect(unverified.code).toBe("NOT_VERIFIED");
    const rolled = await client.rollback(1, "the test only wanted to see it");
    expect(rolled).toEqual({
      generation: 1,
      outcome: "rolled_back",
      reason: "the test only wanted to see it",
    });
    const again = await failure(client.rollback(1, "twice"));
    expect(again).toMatchObject({ code: "NOT_VERIFYING", status: 409 });
  }, 90_000);
});

describe("SupervisorClient: a round", () => {
  it("spawns two candidates and waits for both: records in candidate order, each its own branch", async () => {
    const write = {
      when: { lastUserTextIncludes: "write hello.txt" },
      tool: "write_file",
      input: { path: "hello.txt", content: "hello\n" },
    };
    const end = { when: { toolResultIsError: false }, text: "done" };
    const rfx = await makeFixture([write, write, end, end]);
    const rsup = await startSupervisor({
      config: rfx.config({ LOOM_LAB_MODELS: "m1,m2" }),
      port: 0,
      log: () => {},
      pollMs: 100,
    });
    try {
      const rclient = new SupervisorClient({ baseUrl: rsup.url });
      const spawned = await rclient.spawn({ program: "# Task\nwrite hello.txt\n", candidates: 2 });
      expect(spawned.round).toBe(1);
      expect(spawned.generations.map((g) => [g.generation, g.candidate.model])).toEqual([
        [1, "m1"],
        [2, "m2"],
      ]);
      const records = await rclient.waitForRound(spawned, { timeoutMs: 80_000 });
      expect(records.map((r) => [r.generation, r.outcome, r.round, r.candidate?.index])).toEqual([
        [1, "verifying", 1, 1],
        [2, "verifying", 1, 2],
      ]);
      const bad = await failure(rclient.spawn({ program: "# Task\n", candidates: 17 }));
      expect(bad).toMatchObject({ code: "INVALID_BODY", status: 400 });
      expect(bad.message).toMatch(/candidates: expected at most 16 candidates/);
    } finally {
      await rsup.close();
      await rfx.cleanup();
    }
  }, 90_000);
});

describe("SupervisorClient failures that are not the Supervisor's answers", () => {
  it("SUPERVISOR_UNREACHABLE names the URL and LOOM_SUPERVISOR_URL", async () => {
    const closed = await tinyServer(() => {});
    await closed.close();
    const err = await failure(new SupervisorClient({ baseUrl: closed.url }).stats());
    expect(err.code).toBe("SUPERVISOR_UNREACHABLE");
    expect(err.message).toContain(closed.url);
    expect(err.message).toContain("LOOM_SUPERVISOR_URL");
    expect(err.status).toBeUndefined();
  });

  it("a read whose connection is reset before its answer is asked again; a write is not", async () => {
    const seen: string[] = [];
    const resetting = await tinyServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      // Every write, and the first try of each read, is cut before any answer.
      if (req.method !== "GET" || seen.filter((s) => s === `${req.method} ${req.url}`).length === 1) {
        req.socket.destroy();
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end("[]");
    });
    try {
      const client = new SupervisorClient({ baseUrl: resetting.url });
      expect(await client.listGenerations()).toEqual([]);
      expect(seen).toEqual(["GET /generations", "GET /generations"]);
      const err = await failure(client.promote(3));
      expect(err.code).toBe("SUPERVISOR_UNREACHABLE");
      expect(err.message).toContain("POST /promote");
      expect(seen.filter((s) => s.startsWith("POST"))).toHaveLength(1);
    } finally {
      await resetting.close();
    }
  });

  it("SUPERVISOR_TIMEOUT when no answer comes in time; SUPERVISOR_ABORTED when the caller aborts", async () => {
    const silent = await tinyServer(() => {});
    try {
      const slow = new SupervisorClient({ baseUrl: silent.url, timeoutMs: 300 });
      const err = await failure(slow.listGenerations());
      expect(err.code).toBe("SUPERVISOR_TIMEOUT");
      expect(err.message).toMatch(/within 300 ms/);
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 100);
      const patient = new SupervisorClient({ baseUrl: silent.url, timeoutMs: 10_000 });
      expect((await failure(patient.listGenerations(abort.signal))).code).toBe("SUPERVISOR_ABORTED");
    } finally {
      await silent.close();
    }
  });

  it("SUPERVISOR_BAD_RESPONSE for a non-2xx without an ErrorBody and for a 2xx that breaks its schema", async () => {
    const odd = await tinyServer((req, res) => {
      if (req.url === "/stats") {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>bad gateway</html>");
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify([{ generation: "one" }]));
      }
    });
    try {
      const c = new SupervisorClient({ baseUrl: odd.url });
      const gateway = await failure(c.stats());
      expect(gateway).toMatchObject({ code: "SUPERVISOR_BAD_RESPONSE", status: 502 });
      expect(gateway.message).toContain("bad gateway");
      const shape = await failure(c.listGenerations());
      expect(shape.code).toBe("SUPERVISOR_BAD_RESPONSE");
      expect(shape.message).toMatch(/\[0\]\.generation/);
    } finally {
      await odd.close();
    }
  });

  it("waitForGeneration gives up with GENERATION_WAIT_TIMEOUT while the Lab keeps running", async () => {
    const running = await tinyServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          version: 1,
          generation: 3,
          parent: null,
          branch: "lab/gen-3",
          programHash: "a".repeat(64),
          outcome: "running",
          reason: null,
          createdAt: new Date().toISOString(),
          finishedAt: null,
          containerId: null,
          tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
          fitness: null,
          verification: null,
        }),
      );
    });
    try {
      const c = new SupervisorClient({ baseUrl: running.url });
      const err = await failure(c.waitForGeneration(3, { pollMs: 50, timeoutMs: 300 }));
      expect(err.code).toBe("GENERATION_WAIT_TIMEOUT");
      expect(err.message).toMatch(/still running/);
    } finally {
      await running.close();
    }
  });

  it("parses every /logs frame as a SupervisorEvent: a bad one is reported and skipped, a good one naming the generation wakes the wait", async () => {
    let outcome = "running";
    const record = () => ({
      version: 1,
      generation: 3,
      parent: null,
      branch: "lab/gen-3",
      programHash: "a".repeat(64),
      outcome,
      reason: null,
      createdAt: "2026-01-01T00:00:00.000Z",
      finishedAt: null,
      containerId: null,
      tokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      fitness: null,
      verification: null,
    });
    const server = await tinyServer((req, res) => {
      if (req.url === "/logs") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: {not json\n\n");
        // Names the generation, but is no event of the schema: the client must not act on it.
        res.write(`data: ${JSON.stringify({ generation: 3, outcome: "verifying" })}\n\n`);
        res.write(": keep-alive\n\n");
        setTimeout(() => {
          outcome = "verifying";
          const event = {
            type: "generation",
            at: new Date().toISOString(),
            generation: 3,
            outcome,
            reason: null,
          };
          res.write(`data: ${JSON.stringify(event)}\n\n`);
        }, 300);
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(record()));
    });
    try {
      const problems: string[] = [];
      const started = Date.now();
      const c = new SupervisorClient({ baseUrl: server.url });
      // Polls far apart: only the event can end the wait in time.
      const ended = await c.waitForGeneration(3, {
        pollMs: 60_000,
        timeoutMs: 120_000,
        onBadEvent: (p) => problems.push(p),
      });
      expect(ended.outcome).toBe("verifying");
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/\/logs: an event is not JSON, skipped: \{not json/);
      expect(problems[1]).toMatch(/\/logs: an event does not match its schema \(type: .*\), skipped/);
    } finally {
      await server.close();
    }
  });

  it("refuses a base URL that is not a URL", () => {
    expect(() => new SupervisorClient({ baseUrl: "localhost 8400" })).toThrow(/LOOM_SUPERVISOR_URL/);
  });
});
