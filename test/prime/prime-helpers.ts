import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Prime, type PrimeThinking, startPrime } from "../../src/prime/start-prime.ts";
import { primeThinking } from "../../src/prime/thinking.ts";
import { type Config, loadConfig } from "../../src/shared/config.ts";
import type { ScriptedModelServer } from "../../src/shared/scripted-model/index.ts";

/** Prime's configuration for a test: its model is the scripted server, no retries. */
export function primeConfig(
  model: ScriptedModelServer,
  env: Record<string, string> = {},
  cwd = tmpdir(),
): Config {
  return loadConfig({
    cwd,
    env: {
      ANTHROPIC_API_KEY: "prime-test-key",
      ANTHROPIC_BASE_URL: model.url,
      LOOM_MAX_RETRIES: "0",
      LOOM_SUPERVISOR_URL: "http://127.0.0.1:9",
      ...env,
    },
  });
}

/** Starts the real Prime in this process on a free loopback port. */
export async function startTestPrime(input: {
  config: Config;
  repo: string;
  stateDir: string;
  supervisorUrl?: string;
  thinking?: PrimeThinking;
  log?: string[];
}): Promise<Prime> {
  return startPrime({
    config: input.config,
    place: {
      repo: input.repo,
      stateDir: input.stateDir,
      supervisorUrl: input.supervisorUrl ?? input.config.supervisorUrl,
    },
    thinking: input.thinking ?? primeThinking,
    host: "127.0.0.1",
    port: 0,
    pollMs: 100,
    log: (line) => input.log?.push(line),
  });
}

/** Every `data:` frame of an SSE body, parsed. */
export function parseSse(text: string): Record<string, unknown>[] {
  return text
    .split("\n\n")
    .map((frame) =>
      frame
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n"),
    )
    .filter((data) => data !== "")
    .map((data) => JSON.parse(data) as Record<string, unknown>);
}

/** POST /chat and the whole event stream of the turn. */
export async function chat(url: string, message: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ message }),
  });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    text,
    events: res.ok ? parseSse(text) : [],
  };
}

export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
