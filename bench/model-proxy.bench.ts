// The model proxy's cost per request: Loom's model client through the proxy's unix socket against the
// same client straight to the model server over loopback. Writes bench/results/model-proxy.md.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createModelClient, type ModelClient } from "../src/agent/model-client.ts";
import { unixSocketFetch } from "../src/agent/unix-socket-fetch.ts";
import { startScriptedModel } from "../src/shared/scripted-model/index.ts";
import { createModelProxy } from "../src/supervisor/model-proxy/index.ts";
import { fmt, pct, uptime } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const WARMUP = 20;
const RUNS = 300;
const MODEL = "claude-haiku-4-5-20251001";
/** A reply the size of a typical tool-using turn, and a request with some context. */
const REPLY = "x".repeat(4000);
const request = {
  system: "You are a Lab. ".repeat(200),
  tools: [],
  messages: [{ role: "user" as const, content: "y".repeat(20_000) }],
};

const model = await startScriptedModel(Array.from({ length: 2 * (WARMUP + RUNS) }, () => ({ text: REPLY })));
const proxy = createModelProxy({ upstream: model.url, apiKey: "sk-bench" });
const dir = await mkdtemp(path.join(os.tmpdir(), "loom-proxy-bench-"));
const socketPath = path.join(dir, "model.sock");
const { token } = await proxy.open({ generation: 1, socketPath, budgetTokens: 0 });
const options = { model: MODEL, timeoutMs: 10_000, maxRetries: 0 };
const direct = createModelClient({ ...options, apiKey: "sk-bench", baseURL: model.url });
const proxied = createModelClient({
  ...options,
  apiKey: token,
  baseURL: "http://model-proxy",
  fetch: unixSocketFetch(socketPath),
});

async function time(client: ModelClient): Promise<number> {
  const started = performance.now();
  await client.call(request);
  return performance.now() - started;
}

try {
  for (let i = 0; i < WARMUP; i++) {
    await time(direct);
    await time(proxied);
  }
  const samples = { direct: [] as number[], proxied: [] as number[] };
  // Interleaved, so drift in the machine's load hits both alike.
  for (let i = 0; i < RUNS; i++) {
    samples.direct.push(await time(direct));
    samples.proxied.push(await time(proxied));
  }
  const row = (name: string, xs: number[]) =>
    `| ${name} | ${xs.length} | ${fmt(pct(xs, 50))} | ${fmt(pct(xs, 90))} | ${fmt(pct(xs, 99))} |`;
  const p50 = (xs: number[]) => pct(xs, 50);
  const counted = proxy.usage(1)!;
  const text = [
    "# Model proxy benchmark",
    "",
    "Reproduce: `node --import tsx bench/model-proxy.bench.ts`. Writes this file.",
    "",
    `One Messages request (~24 KB body, ~4 KB reply) with Loom's model client: **through the proxy** (the`,
    "Lab's path: HTTP over the generation's unix socket, token check, body bounded, forwarded with the real key",
    "over loopback, usage metered) against the same client **straight to** the scripted model server over",
    `loopback. ${WARMUP} unmeasured rounds, then ${RUNS} of each, interleaved.`,
    "",
    "| path | n | p50 | p90 | p99 |",
    "|---|---|---|---|---|",
    row("direct", samples.direct),
    row("through the proxy", samples.proxied),
    "",
    `Proxy / direct at p50: ${(p50(samples.proxied) / p50(samples.direct)).toFixed(2)}×; the proxy's cost per request ` +
      `${fmt(p50(samples.proxied) - p50(samples.direct))} at p50. The proxy counted ${counted.requests} requests ` +
      `(warm-up included), ${counted.inputTokens + counted.cacheReadTokens + counted.cacheWriteTokens} input and ` +
      `${counted.outputTokens} output tokens.`,
    "",
    `Machine: ${os.cpus().length} cores, \`${uptime()}\`.`,
    "",
  ].join("\n");
  await writeFile(path.join(here, "results", "model-proxy.md"), text);
  console.log(text);
} finally {
  await proxy.closeAll();
  await model.close();
  await rm(dir, { recursive: true, force: true });
}
