import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createModelClient,
  type ModelClient,
  type ModelClientOptions,
} from "../../../src/agent/model-client.ts";
import { unixSocketFetch } from "../../../src/agent/unix-socket-fetch.ts";
import {
  type ScriptedModelServer,
  type ScriptTurnInput,
  startScriptedModel,
} from "../../../src/shared/scripted-model/index.ts";
import {
  createModelProxy,
  type ModelProxy,
  type ModelProxyOptions,
} from "../../../src/supervisor/model-proxy/index.ts";

export const REAL_KEY = "sk-ant-real-key-only-the-supervisor-holds";
export const LAB_MODEL = "claude-haiku-4-5-20251001";

/** One scripted model, one proxy in front of it, one generation's socket in a temp folder. */
export interface ProxyRig {
  readonly model: ScriptedModelServer;
  readonly proxy: ModelProxy;
  readonly dir: string;
  readonly socketPath: string;
  readonly token: string;
  readonly generation: number;
  readonly logs: string[];
  /** Loom's real model client, as a Lab builds it: the token as its key, HTTP over the socket. */
  client(options?: Partial<ModelClientOptions>): ModelClient;
  close(): Promise<void>;
}

export async function proxyRig(
  script: ScriptTurnInput[],
  options: { budgetTokens?: number; proxy?: Partial<ModelProxyOptions>; generation?: number } = {},
): Promise<ProxyRig> {
  const model = await startScriptedModel(script);
  const logs: string[] = [];
  const proxy = createModelProxy({
    upstream: model.url,
    apiKey: REAL_KEY,
    log: (line) => logs.push(line),
    ...options.proxy,
  });
  const dir = await mkdtemp(path.join(tmpdir(), "loom-proxy-"));
  const socketPath = path.join(dir, "run", "model.sock");
  const generation = options.generation ?? 7;
  const { token } = await proxy.open({ generation, socketPath, budgetTokens: options.budgetTokens ?? 0 });
  return {
    model,
    proxy,
    dir,
    socketPath,
    token,
    generation,
    logs,
    client: (o = {}) =>
      createModelClient({
        apiKey: token,
        baseURL: "http://localhost",
        model: LAB_MODEL,
        timeoutMs: 5_000,
        maxRetries: 0,
        fetch: unixSocketFetch(socketPath),
        ...o,
      }),
    async close() {
      await proxy.closeAll();
      await model.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
