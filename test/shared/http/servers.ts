import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { type LabServer, startLabServer } from "../../../lab-runtime/server.ts";
import type { LabStatus } from "../../../schemas/index.ts";
import type { Prime } from "../../../src/prime/start-prime.ts";
import { type ScriptedModelServer, startScriptedModel } from "../../../src/shared/scripted-model/index.ts";
import { type Supervisor, startSupervisor } from "../../../src/supervisor/supervisor.ts";
import { makeWorkspace } from "../../lab-runtime/workspace.ts";
import { primeConfig, startTestPrime, tempDir } from "../../prime/prime-helpers.ts";
import { type Fixture, makeFixture } from "../../supervisor/lifecycle-fixture.ts";

export const LAB_STATUS: LabStatus = { status: "running", progress: "idle", error: null };

/** The three real servers on loopback: a Lab's eval server, the Supervisor (local runtime) and Prime. */
export interface ThreeServers {
  readonly lab: LabServer;
  readonly labWorkspace: string;
  readonly sup: Supervisor;
  readonly prime: Prime;
  readonly model: ScriptedModelServer;
  readonly fixture: Fixture;
  close(): Promise<void>;
}

/**
 * Starts all three as their tests do (test/lab-runtime, test/supervisor, test/prime). `env` holds
 * variables the HTTP servers read (LOOM_HTTP_*, LOOM_SSE_MAX_CLIENTS): in the Supervisor's and Prime's
 * config, and in the environment for the start only (the Lab server and any hub read it there).
 */
export async function startThreeServers(env: Record<string, string> = {}): Promise<ThreeServers> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const ws = await makeWorkspace({ "src/a.ts": "export const a = 1;\n" });
  const fixture = await makeFixture([]);
  const model = await startScriptedModel([]);
  const primeRoot = await tempDir("loom-http-prime-");
  const repo = path.join(primeRoot.dir, "repo");
  await mkdir(repo, { recursive: true });
  await writeFile(path.join(repo, "README.md"), "# repo\n");
  try {
    const lab = await startLabServer({ workspace: ws.root, port: 0, status: () => LAB_STATUS });
    const sup = await startSupervisor({ config: fixture.config(env), port: 0, log: () => {}, pollMs: 100 });
    const prime = await startTestPrime({
      config: primeConfig(model, env),
      repo,
      stateDir: path.join(primeRoot.dir, "state"),
    });
    return {
      lab,
      labWorkspace: ws.root,
      sup,
      prime,
      model,
      fixture,
      close: async () => {
        await Promise.allSettled([lab.close(), sup.close(), prime.close()]);
        await Promise.allSettled([model.close(), fixture.cleanup(), ws.remove(), primeRoot.cleanup()]);
      },
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

/**
 * One request over node:http with exactly the headers given (Host included: fetch would not let a test
 * send another); the answer's body is read only up to `maxBytes` (an event stream never ends).
 */
export function raw(
  url: string,
  input: { method?: string; path: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer },
  maxBytes = 64 * 1024,
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname.replace(/^\[|\]$/g, ""),
        port: u.port,
        method: input.method ?? "GET",
        path: input.path,
        setHost: false,
        headers: { host: u.host, ...input.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          });
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          if (size >= maxBytes || res.headers["content-type"]?.startsWith("text/event-stream")) {
            res.destroy();
            done();
          }
        });
        res.on("end", done);
        res.on("error", () => done());
      },
    );
    req.on("error", reject);
    req.end(input.body);
  });
}

/** The code and message of an error answer in either shape: ErrorBody or the Lab's EvalResponse. */
export function errorOf(text: string): { code: string | undefined; message: string } {
  const json = JSON.parse(text) as {
    error?: { code: string; message: string };
    status?: string;
    message?: string;
  };
  if (json.error) return { code: json.error.code, message: json.error.message };
  if (json.status === "error" && typeof json.message === "string")
    return { code: undefined, message: json.message };
  throw new Error(`not an error body: ${text}`);
}
