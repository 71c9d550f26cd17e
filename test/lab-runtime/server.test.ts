import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LabServer, startLabServer } from "../../lab-runtime/server.ts";
import type { LabStatus } from "../../schemas/index.ts";
import { makeWorkspace } from "./workspace.ts";

let ws: Awaited<ReturnType<typeof makeWorkspace>>;
let server: LabServer;
let status: LabStatus = {
  status: "running",
  progress: "editing",
  error: null,
  toolCalls: { read: { calls: 2, errors: 0 } },
};

beforeAll(async () => {
  ws = await makeWorkspace({ "src/greet.ts": 'export const greet = (n: string): string => "hi " + n;\n' });
  server = await startLabServer({
    workspace: ws.root,
    port: 0,
    status: () => status,
    evalTimeoutMs: 500,
    maxBodyBytes: 4096,
  });
});

afterAll(async () => {
  await server?.close();
  await ws?.remove();
});

/** A raw request over real HTTP; returns status, headers and the parsed JSON body. */
function request(
  method: string,
  route: string,
  body?: string | Buffer,
  headers: http.OutgoingHttpHeaders = { "content-type": "application/json" },
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; json: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = http.request(`${server.url}${route}`, { method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: JSON.parse(Buffer.concat(chunks).toString()),
          }),
        );
      });
      req.on("error", reject);
      req.end(body);
    },
  );
}

const evalForm = (payload: unknown) => request("POST", "/eval", JSON.stringify(payload));

/** Every /eval answer is an EvalResponse: status plus optional value/message, nothing else. */
function expectEvalResponseShape(json: Record<string, unknown>) {
  expect(["ok", "error"]).toContain(json.status);
  for (const key of Object.keys(json)) expect(["status", "value", "message"]).toContain(key);
}

describe("GET /status", () => {
  it("serves the current status", async () => {
    expect(await request("GET", "/status")).toMatchObject({ status: 200, json: status });
    status = { ...status, status: "done", progress: "finished" };
    expect((await request("GET", "/status?x=1")).json).toEqual(status);
  });

  it("answers 500 naming the field when the status callback returns something invalid", async () => {
    const saved = status;
    status = { ...status, status: "sleeping" } as unknown as LabStatus;
    const res = await request("GET", "/status");
    status = saved;
    expect(res.status).toBe(500);
    expect(res.json.message).toMatch(/^internal error: .*status/s);
  });
});

describe("routing", () => {
  it("answers 404 for unknown routes and 405 with Allow for wrong methods", async () => {
    const missing = await request("GET", "/nope");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({
      status: "error",
      message: "no route GET /nope; routes: GET /status; POST /eval",
    });
    const wrongEval = await request("GET", "/eval");
    expect(wrongEval).toMatchObject({ status: 405, headers: { allow: "POST" } });
    expect(wrongEval.json.message).toBe("GET is not allowed on /eval; use POST");
    expect(await request("DELETE", "/status")).toMatchObject({ status: 405, headers: { allow: "GET" } });
  });
});

describe("POST /eval input validation", () => {
  it("answers 400 for a body that is not JSON", async () => {
    const res = await request("POST", "/eval", "{form:");
    expect(res.status).toBe(400);
    expect(res.json.status).toBe("error");
    expect(res.json.message).toMatch(/^request body is not valid JSON \(.+\); expected \{"form": string/);
  });

  it("answers 400 naming the path and reason for wrong types, unknown fields and bad timeouts", async () => {
    const cases: [unknown, string][] = [
      [{ form: 1 }, "form: expected string, received number"],
      [{ form: "1", extra: true }, '(body): Unrecognized key: "extra"'],
      [{ form: "1", timeout: 0 }, "timeout: Too small"],
      [{ form: "1", timeout: 60_001 }, "timeout: Too big"],
      [{ form: "1", timeout: 1.5 }, "timeout: expected int"],
      [[1], "(body): expected object, received array"],
    ];
    for (const [payload, expected] of cases) {
      const res = await evalForm(payload);
      expect(res.status).toBe(400);
      expectEvalResponseShape(res.json);
      expect(res.json.message).toContain(expected);
    }
  });

  it("answers 413 for a body over the limit, declared or streamed", async () => {
    const declared = await request("POST", "/eval", JSON.stringify({ form: "x".repeat(10_000) }));
    expect(declared.status).toBe(413);
    expect(declared.json).toEqual({
      status: "error",
      message: "request body is over the limit of 4096 bytes; send a smaller JSON body",
    });
    const chunked = await request("POST", "/eval", Buffer.alloc(20_000, 32), {
      "transfer-encoding": "chunked",
      "content-type": "application/json",
    });
    expect(chunked.status).toBe(413);
    // The server still answers afterwards.
    expect((await evalForm({ form: "1 + 1" })).json).toEqual({ status: "ok", value: 2 });
  });
});

describe("POST /eval", () => {
  it("evaluates a form importing a workspace module", async () => {
    const res = await evalForm({ form: `import { greet } from "./src/greet.js"; greet("lab")` });
    expect(res).toMatchObject({ status: 200, json: { status: "ok", value: "hi lab" } });
  });

  it("answers eval failures as 200 EvalResponses and survives forms that end the worker", async () => {
    const forms = [
      { form: "while (true) {}" },
      { form: "for (;;) await null;", timeout: 300 },
      { form: "process.exit(1)" },
      { form: "throw new Error('plain')" },
    ];
    for (const payload of forms) {
      const res = await evalForm(payload);
      expect(res.status).toBe(200);
      expectEvalResponseShape(res.json);
      expect(res.json.status).toBe("error");
    }
    expect((await request("GET", "/status")).status).toBe(200);
    expect((await evalForm({ form: "'still here'" })).json).toEqual({ status: "ok", value: "still here" });
  });

  it("queues concurrent evals and answers each", async () => {
    const answers = await Promise.all(
      [1, 2, 3, 4].map((n) => evalForm({ form: `await new Promise((r) => setTimeout(r, 20)); ${n} * 10` })),
    );
    expect(answers.map((a) => a.json.value)).toEqual([10, 20, 30, 40]);
  });
});

describe("startLabServer options", () => {
  it("takes the port from $PORT when none is given, and refuses a malformed $PORT or port", async () => {
    const saved = process.env.PORT;
    try {
      process.env.PORT = "0";
      const fromEnv = await startLabServer({ workspace: ws.root, status: () => status });
      expect(fromEnv.port).toBeGreaterThan(0);
      expect(fromEnv.port).not.toBe(8402);
      expect(fromEnv.url).toBe(`http://127.0.0.1:${fromEnv.port}`);
      await fromEnv.close();
      process.env.PORT = "eighty";
      await expect(startLabServer({ workspace: ws.root, status: () => status })).rejects.toThrow(
        'PORT must be an integer from 0 to 65535, got "eighty"',
      );
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
    await expect(startLabServer({ workspace: ws.root, port: 70_000, status: () => status })).rejects.toThrow(
      "port must be an integer from 0 to 65535, got 70000",
    );
  });

  it("rejects when the port is taken", async () => {
    await expect(
      startLabServer({ workspace: ws.root, port: server.port, status: () => status }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
