import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError } from "../../shared/errors.ts";
import { addUsage, totalTokens, type Usage, zeroUsage } from "../../shared/events.ts";
import { createGenerationServer } from "./generation-server.ts";
import { closeServer, listenLoopback, listenOnSocket } from "./listen.ts";
import { costOf } from "./prices.ts";
import { ModelProxyError } from "./proxy-error.ts";

export { type ModelUsageRecord, usageForRecord } from "./record-usage.ts";
export { ModelProxyError };

/** What the proxy counted for one generation: every forwarded Messages request, from the API's answers. */
export interface ProxyUsage {
  requests: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** US dollars; null once any answer came from a model without a known price. */
  costUsd: number | null;
  /** The generation's total reached its budget; further requests are refused. */
  budgetExceeded: boolean;
  /** Models whose answers could not be priced (why costUsd is null). */
  unpricedModels: string[];
  /** The budget this generation was opened with (0 = none). */
  budgetTokens: number;
}

export interface ModelProxy {
  /**
   * Starts serving one generation on socketPath (created 0600 unless `socketMode` says otherwise,
   * removed on close); returns the token the Lab sends as its API key. With `loopbackPort` (0 = any)
   * it also listens on 127.0.0.1, for tests and demos, and returns that URL.
   */
  open(input: {
    generation: number;
    socketPath: string;
    budgetTokens: number /* 0 = none */;
    socketMode?: number;
    loopbackPort?: number;
    /** The only models its requests may name (e.g. [LOOM_LAB_MODEL]); any model when absent. */
    models?: readonly string[];
  }): Promise<{ token: string; url?: string }>;
  usage(generation: number): ProxyUsage | undefined;
  /** Stops serving it (in-flight requests aborted) and returns the final usage. Idempotent. */
  close(generation: number): Promise<ProxyUsage | undefined>;
  closeAll(): Promise<void>;
}

export interface ModelProxyOptions {
  /** The model API's base URL (LOOM_LAB_API_BASE, else https://api.anthropic.com). */
  upstream: string;
  /** The real key (LOOM_LAB_API_KEY → ANTHROPIC_API_KEY); only the proxy ever holds it. */
  apiKey: string | undefined;
  fetch?: typeof fetch;
  log?: (line: string) => void;
  /** Called after every counted request. */
  onUsage?: (generation: number, usage: ProxyUsage) => void;
  /** Largest request body forwarded (default 32 MiB, as the API). */
  maxBodyBytes?: number;
  /** How long one upstream request may take (default 10 min; the client's own timeout is usually shorter). */
  upstreamTimeoutMs?: number;
  /** A client slower than this to send its headers (default 10 s) or whole request (60 s) is cut off. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export const DEFAULT_UPSTREAM = "https://api.anthropic.com";

interface Open {
  servers: Server[];
  abortAll: () => void;
  readonly socketPath: string;
  usage: Usage;
  requests: number;
  cost: number | null;
  readonly unpriced: Set<string>;
  readonly budget: number;
  closing?: Promise<ProxyUsage>;
}

export function createModelProxy(options: ModelProxyOptions): ModelProxy {
  let upstream: URL;
  try {
    upstream = new URL(options.upstream);
    if (upstream.protocol !== "http:" && upstream.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new ConfigError(`model proxy upstream ${JSON.stringify(options.upstream)} is not an http(s) URL`);
  }
  const log = options.log ?? (() => {});
  const doFetch = options.fetch ?? globalThis.fetch;
  const open = new Map<number, Open>();
  const closed = new Map<number, ProxyUsage>();

  const snapshot = (g: Open): ProxyUsage => ({
    requests: g.requests,
    inputTokens: g.usage.input,
    outputTokens: g.usage.output,
    cacheReadTokens: g.usage.cacheRead,
    cacheWriteTokens: g.usage.cacheWrite,
    costUsd: g.cost,
    budgetExceeded: g.budget > 0 && totalTokens(g.usage) >= g.budget,
    unpricedModels: [...g.unpriced],
    budgetTokens: g.budget,
  });

  const proxy: ModelProxy = {
    async open(input) {
      const n = input.generation;
      if (open.has(n))
        throw new ModelProxyError(
          "MODEL_PROXY_ALREADY_OPEN",
          `the model proxy already serves generation ${n}`,
        );
      if (!Number.isInteger(n) || n < 1)
        throw new ModelProxyError("MODEL_PROXY_BAD_INPUT", `generation ${n} is not a positive whole number`);
      if (!Number.isInteger(input.budgetTokens) || input.budgetTokens < 0)
        throw new ModelProxyError(
          "MODEL_PROXY_BAD_INPUT",
          `budgetTokens ${input.budgetTokens} is not a whole number of tokens (0 = no budget)`,
        );
      const token = `loom-proxy-${n}-${randomBytes(24).toString("hex")}`;
      const state: Open = {
        servers: [],
        abortAll: () => {},
        socketPath: input.socketPath,
        usage: zeroUsage(),
        requests: 0,
        cost: 0,
        unpriced: new Set(),
        budget: input.budgetTokens,
      };
      const made = () =>
        createGenerationServer({
          generation: n,
          token,
          upstream,
          apiKey: options.apiKey,
          fetch: doFetch,
          maxBodyBytes: options.maxBodyBytes ?? 32 * 1024 * 1024,
          upstreamTimeoutMs: options.upstreamTimeoutMs ?? 600_000,
          models: input.models,
          headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
          requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
          overBudget: () => {
            const used = totalTokens(state.usage);
            return state.budget > 0 && used >= state.budget ? { used, budget: state.budget } : null;
          },
          onForwarded: (metered, requestModel) => {
            state.requests++;
            if (metered) {
              state.usage = addUsage(state.usage, metered.usage);
              const model = metered.model ?? requestModel ?? "unknown";
              const cost = costOf(model, metered.usage);
              if (cost === null) {
                if (!state.unpriced.has(model))
                  log(`gen-${n}: no price known for model ${model}; cost unknown`);
                state.unpriced.add(model);
                state.cost = null;
              } else if (state.cost !== null) state.cost += cost;
            }
            options.onUsage?.(n, snapshot(state));
          },
          log,
        });
      // Reserved before the first await, so two opens of one generation cannot both listen.
      open.set(n, state);
      const socket = made();
      const servers = [socket.server];
      const aborts = [socket.abortAll];
      let url: string | undefined;
      try {
        await listenOnSocket(socket.server, input.socketPath, input.socketMode ?? 0o600);
        if (input.loopbackPort !== undefined) {
          const tcp = made();
          servers.push(tcp.server);
          aborts.push(tcp.abortAll);
          await listenLoopback(tcp.server, input.loopbackPort);
          url = `http://127.0.0.1:${(tcp.server.address() as AddressInfo).port}`;
        }
      } catch (err) {
        open.delete(n);
        await Promise.all(servers.map((s) => closeServer(s, input.socketPath)));
        throw err;
      }
      state.servers = servers;
      state.abortAll = () => {
        for (const a of aborts) a();
      };
      closed.delete(n);
      log(`gen-${n}: model proxy on ${input.socketPath}${url ? ` and ${url}` : ""}`);
      return url ? { token, url } : { token };
    },

    usage(n) {
      const g = open.get(n);
      return g ? snapshot(g) : closed.get(n);
    },

    async close(n) {
      const g = open.get(n);
      if (!g) return closed.get(n);
      g.closing ??= (async () => {
        g.abortAll();
        await Promise.all(g.servers.map((s) => closeServer(s, g.socketPath)));
        const final = snapshot(g);
        closed.set(n, final);
        open.delete(n);
        return final;
      })();
      return g.closing;
    },

    async closeAll() {
      await Promise.all([...open.keys()].map((n) => proxy.close(n)));
    },
  };
  return proxy;
}
