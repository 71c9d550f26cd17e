import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAB_MODEL, type ProxyRig, proxyRig } from "../supervisor/model-proxy/proxy-fixture.ts";
import { type FuzzRequest, type FuzzRoute, fuzzRequest, Rng } from "./generate.ts";

/**
 * The model proxy is the one server a Lab's own code can reach, and it runs inside the Supervisor: what a
 * hostile Lab sends it must never crash it or get a 5xx of its own. Seeded like the servers' fuzzing
 * (LOOM_FUZZ_SEED); the upstream is the scripted model, with turns enough that it never answers 500.
 */
const SEED = Number(process.env.LOOM_FUZZ_SEED ?? 13);
const PER_ROUTE = Number(process.env.LOOM_FUZZ_REQUESTS ?? 200);
const TIME_CAP_MS = 30_000;
const RSS_GROWTH_BOUND = 256 * 1024 * 1024;
/** Above the proxy's body limit (32 MiB) only now and then: the generator sends up to twice this. */
const MAX_BODY = 1024 * 1024;

let rig: ProxyRig;
beforeAll(async () => {
  rig = await proxyRig(Array.from({ length: 3 * PER_ROUTE + 10 }, () => ({ text: "ok" })));
}, 30_000);
afterAll(async () => {
  await rig?.close();
});

const message = { model: LAB_MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] };
const routes: FuzzRoute[] = [
  { method: "POST", path: "/v1/messages", sample: message },
  { method: "POST", path: "/v1/messages/count_tokens", sample: message },
  { method: "GET", path: "/v1/:x" },
];

function send(req: FuzzRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        socketPath: rig.socketPath,
        method: req.method,
        path: req.path,
        headers: req.headers,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        const done = () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() });
        res.on("end", done);
        res.on("error", done);
      },
    );
    r.setTimeout(15_000, () => r.destroy(new Error("no answer within 15 s")));
    r.on("error", reject);
    r.end(req.body);
  });
}

function apiErrorProblem(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { type?: unknown; error?: { type?: unknown; message?: unknown } };
    if (
      body.type === "error" &&
      typeof body.error?.type === "string" &&
      typeof body.error.message === "string"
    )
      return undefined;
  } catch {
    // reported below
  }
  return `not the API's error shape: ${JSON.stringify(text.slice(0, 200))}`;
}

describe(`fuzzing the model proxy (seed ${SEED}, ${PER_ROUTE} requests per route)`, () => {
  it("answers everything a Lab can send below 500, in the API's error shape, and keeps serving", async () => {
    const rng = new Rng(SEED);
    const started = Date.now();
    const rssAtStart = process.memoryUsage().rss;
    let rssPeak = rssAtStart;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 50);
    const problems: string[] = [];
    let sent = 0;
    try {
      for (const route of routes) {
        for (let i = 0; i < PER_ROUTE && Date.now() - started < TIME_CAP_MS; i++) {
          const req = fuzzRequest(rng, route, "model-proxy", MAX_BODY);
          // Most requests carry the generation's token, so the fuzzing reaches past the token check.
          if (rng.chance(0.8) && req.headers.authorization === undefined)
            req.headers["x-api-key"] = rig.token;
          sent++;
          const answer = await send(req).catch((err: Error) => ({ status: -1, text: err.message }));
          const what = `${req.method} ${req.path.slice(0, 80)}`;
          if (answer.status === -1 || answer.status >= 500)
            problems.push(`${what}: ${answer.status} ${answer.text.slice(0, 200)}`);
          // A HEAD answer has no body, by HTTP's rules.
          else if (answer.status >= 400 && req.method !== "HEAD") {
            const problem = apiErrorProblem(answer.text);
            if (problem) problems.push(`${what}: ${answer.status} ${problem}`);
          }
        }
      }
    } finally {
      clearInterval(sampler);
    }
    console.log(
      `model proxy fuzz: ${sent} requests in ${Date.now() - started} ms, RSS ${Math.round(rssAtStart / 2 ** 20)} → peak ${Math.round(rssPeak / 2 ** 20)} MiB`,
    );
    const counted = new Map<string, number>();
    for (const p of problems) {
      const k = p.replace(/^(\S+) \S+/, "$1");
      counted.set(k, (counted.get(k) ?? 0) + 1);
    }
    expect([...counted.entries()]).toEqual([]);
    expect(sent).toBeGreaterThan(100);
    expect(rssPeak - rssAtStart).toBeLessThan(RSS_GROWTH_BOUND);
    // Still serving the generation: the real client's call goes through.
    const reply = await rig
      .client()
      .call({ system: "s", tools: [], messages: [{ role: "user", content: "hi" }] });
    expect(reply).toBeDefined();
  }, 90_000);
});
