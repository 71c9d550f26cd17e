import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBody } from "../../schemas/supervisor.ts";
import { startThreeServers, type ThreeServers } from "../shared/http/servers.ts";
import { type FuzzRequest, type FuzzRoute, fuzzRequest, malformedRequest, Rng } from "./generate.ts";

/**
 * Every route of the three servers, fed malformed bodies, methods, content types, headers, path
 * parameters and oversize input: no 5xx, no crash, bounded memory, and every refusal a well-formed
 * error body. Seeded: LOOM_FUZZ_SEED=<n> replays a run; LOOM_FUZZ_REQUESTS sets the requests per route.
 */
const SEED = Number(process.env.LOOM_FUZZ_SEED ?? 13);
const PER_ROUTE = Number(process.env.LOOM_FUZZ_REQUESTS ?? 200);
const MALFORMED_PER_SERVER = 60;
/** The run stops adding requests past this, so CI time stays bounded on a loaded machine. */
const TIME_CAP_MS = 40_000;
/** The servers run in this process: its resident memory may grow by at most this over the run. */
const RSS_GROWTH_BOUND = 256 * 1024 * 1024;
const MAX_BODY = 1024 * 1024;

let s: ThreeServers;
beforeAll(async () => {
  s = await startThreeServers({ LOOM_HTTP_HEADERS_TIMEOUT_MS: "3000", LOOM_HTTP_BODY_TIMEOUT_MS: "5000" });
}, 60_000);
afterAll(async () => {
  await s?.close();
});

const tokenLike = { generation: 1 };
const routes = (): { name: string; url: string; errorShape: "lab" | "error-body"; routes: FuzzRoute[] }[] => [
  {
    name: "Lab",
    url: s.lab.url,
    errorShape: "lab",
    routes: [
      { method: "GET", path: "/status" },
      { method: "POST", path: "/eval", sample: { form: "1 + 1", timeout: 1000 } },
    ],
  },
  {
    name: "Supervisor",
    url: s.sup.url,
    errorShape: "error-body",
    routes: [
      { method: "GET", path: "/" },
      { method: "GET", path: "/logs" },
      { method: "GET", path: "/stats" },
      { method: "GET", path: "/generations" },
      { method: "GET", path: "/generations/:n" },
      { method: "GET", path: "/generations/:n/diff" },
      { method: "POST", path: "/verify", sample: tokenLike },
      {
        method: "POST",
        path: "/review",
        sample: { generation: 1, verdict: null, error: "no model", durationMs: 1 },
      },
      { method: "POST", path: "/spawn", sample: { program: "# Task: x\n" } },
      { method: "POST", path: "/promote", sample: { generation: 1, approveGateChange: false } },
      { method: "POST", path: "/rollback", sample: { generation: 1, reason: "fuzz" } },
    ],
  },
  {
    name: "Prime",
    url: s.prime.url,
    errorShape: "error-body",
    routes: [
      { method: "GET", path: "/" },
      { method: "GET", path: "/health" },
      { method: "GET", path: "/stats" },
      { method: "GET", path: "/logs" },
      { method: "GET", path: "/chat" },
      { method: "POST", path: "/chat", sample: { message: "hi" } },
    ],
  },
];

/**
 * Requests that would start real work rather than probe the server (a Lab, a chat turn): a well-formed
 * spawn or chat with a JSON content type, from its own origin. Everything else is sent.
 */
function startsWork(route: FuzzRoute, req: FuzzRequest): boolean {
  if (req.method !== "POST" || !(route.path === "/spawn" || route.path === "/chat")) return false;
  try {
    const value = JSON.parse(req.body?.toString() ?? "") as Record<string, unknown>;
    return typeof value?.program === "string" || typeof value?.message === "string";
  } catch {
    return false;
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function send(url: string, req: FuzzRequest, agent: http.Agent): Promise<Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: req.method,
        path: req.path,
        headers: req.headers,
        setHost: false,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          });
        // An event stream never ends: its headers are the answer.
        if (res.headers["content-type"]?.startsWith("text/event-stream")) {
          res.destroy();
          return done();
        }
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", done);
        res.on("error", done);
      },
    );
    r.setTimeout(15_000, () => r.destroy(new Error("no answer within 15 s")));
    r.on("error", reject);
    r.end(req.body);
  });
}

/** Raw bytes over a fresh socket; the answer as text, once the server closes (bounded). */
function sendRaw(url: string, bytes: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.write(bytes));
    let text = "";
    socket.on("data", (d) => {
      text += d.toString();
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(text));
    setTimeout(() => socket.destroy(), 10_000).unref();
  });
}

function errorProblem(shape: "lab" | "error-body", text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `the error body is not JSON: ${JSON.stringify(text.slice(0, 200))}`;
  }
  if (shape === "error-body") {
    const parsed = ErrorBody.safeParse(json);
    if (!parsed.success || parsed.data.error.message.trim() === "")
      return `not an ErrorBody: ${text.slice(0, 200)}`;
    return undefined;
  }
  const lab = json as { status?: unknown; message?: unknown };
  if (
    lab.status !== "error" ||
    typeof lab.message !== "string" ||
    lab.message.trim() === "" ||
    Object.keys(lab).length !== 2
  )
    return `not an EvalResponse error: ${text.slice(0, 200)}`;
  return undefined;
}

function describeRequest(req: FuzzRequest): string {
  const body = req.body
    ? ` body(${req.body.length} B)=${JSON.stringify(req.body.subarray(0, 80).toString())}`
    : "";
  return `${req.method} ${req.path.slice(0, 120)} ${JSON.stringify(req.headers).slice(0, 300)}${body}`;
}

describe(`fuzzing every route of the three servers (seed ${SEED}, ${PER_ROUTE} requests per route)`, () => {
  it("answers every request below 500 with a well-formed error body, keeps serving, and stays within memory", async () => {
    const rng = new Rng(SEED);
    const started = Date.now();
    const rssAtStart = process.memoryUsage().rss;
    let rssPeak = rssAtStart;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 50);
    const problems: string[] = [];
    const counts = { sent: 0, skipped: 0, malformed: 0, byStatus: new Map<number, number>() };
    try {
      for (const server of routes()) {
        const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
        const host = new URL(server.url).host;
        for (const route of server.routes) {
          for (let i = 0; i < PER_ROUTE && Date.now() - started < TIME_CAP_MS; i++) {
            const req = fuzzRequest(rng, route, host, MAX_BODY);
            if (startsWork(route, req)) {
              counts.skipped++;
              continue;
            }
            const where = `seed ${SEED}, ${server.name} ${route.method} ${route.path} #${i}: ${describeRequest(req)}`;
            let answer: Answer;
            try {
              answer = await send(server.url, req, agent);
            } catch (err) {
              problems.push(`${where}: no answer (${(err as Error).message})`);
              continue;
            }
            counts.sent++;
            counts.byStatus.set(answer.status, (counts.byStatus.get(answer.status) ?? 0) + 1);
            if (answer.status >= 500 || answer.status < 200)
              problems.push(`${where}: ${answer.status} ${answer.text.slice(0, 300)}`);
            else if (
              answer.status >= 400 &&
              req.method !== "HEAD" &&
              // A person's browser asking for a page gets the page's own "not found" (the Supervisor's).
              !(req.headers.accept === "text/html" && answer.headers["content-type"]?.startsWith("text/html"))
            ) {
              if (!answer.headers["content-type"]?.startsWith("application/json"))
                problems.push(
                  `${where}: ${answer.status} with content-type ${answer.headers["content-type"]}`,
                );
              const problem = errorProblem(server.errorShape, answer.text);
              if (problem) problems.push(`${where}: ${answer.status} ${problem}`);
              if (answer.status === 405 && !answer.headers.allow)
                problems.push(`${where}: 405 without Allow`);
            }
          }
        }
        agent.destroy();
        for (let i = 0; i < MALFORMED_PER_SERVER && Date.now() - started < TIME_CAP_MS; i++) {
          const bytes = malformedRequest(rng, host);
          const text = await sendRaw(server.url, bytes);
          counts.malformed++;
          const where = `seed ${SEED}, ${server.name} malformed #${i}: ${JSON.stringify(bytes.slice(0, 120))}`;
          const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
          if (!m) {
            problems.push(`${where}: no status line, got ${JSON.stringify(text.slice(0, 200))}`);
            continue;
          }
          const status = Number(m[1]);
          if (status < 400 || status >= 500) problems.push(`${where}: ${status}`);
          const problem = errorProblem(server.errorShape, text.slice(text.indexOf("\r\n\r\n") + 4));
          if (problem) problems.push(`${where}: ${problem}`);
        }
        // Still serving after all that.
        const health = await fetch(`${server.url}${server.name === "Lab" ? "/status" : "/stats"}`);
        expect(health.status, `${server.name} after fuzzing`).toBe(200);
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const growth = rssPeak - rssAtStart;
    console.log(
      `fuzz seed ${SEED}: ${counts.sent} requests + ${counts.malformed} malformed in ${seconds} s (${counts.skipped} well-formed spawn/chat not sent); statuses ${JSON.stringify(Object.fromEntries([...counts.byStatus].sort((a, b) => a[0] - b[0])))}; RSS ${Math.round(rssAtStart / 2 ** 20)} → peak ${Math.round(rssPeak / 2 ** 20)} MiB`,
    );
    expect(problems.slice(0, 20), `${problems.length} problems`).toEqual([]);
    expect(growth, "RSS growth over the run").toBeLessThan(RSS_GROWTH_BOUND);
    // A Supervisor that took no spawn has no generation.
    expect(await (await fetch(`${s.sup.url}/generations`)).json()).toEqual([]);
  }, 90_000);
});
