import { mkdir, stat } from "node:fs/promises";
import path from "node:path";
import type { PrimeLogEvent } from "../../schemas/events.ts";
import type { PrimeStats } from "../../schemas/prime.ts";
import { createModelClient, type ModelClient } from "../agent/model-client.ts";
import { ToolRegistry } from "../agent/tool-registry.ts";
import { type Config, labWaitMs, requireApiKey } from "../shared/config.ts";
import { errorMessage, LoomError } from "../shared/errors.ts";
import { totalTokens } from "../shared/events.ts";
import { httpLimitsOf } from "../shared/http/limits.ts";
import { SseHub, SseSlots } from "../shared/http/sse.ts";
import { AutonomousRunner } from "./autonomous-runner.ts";
import { primeTools } from "./catalog.ts";
import { ChatLog } from "./chat/chat-log.ts";
import { ChatSession } from "./chat/chat-session.ts";
import { codeCommit } from "./code-commit.ts";
import type { AutonomousEngine, PrimeCoreDeps, PrimeToolDeps, ReflectFn, ReviewFn } from "./ports.ts";
import { primeSystemPrompt } from "./prompt.ts";
import { logLine } from "./server/log-event.ts";
import { type PrimeServer, startPrimeServer } from "./server/server.ts";
import { SupervisorClient } from "./supervisor-client.ts";

/** Where Prime works; the CLI flags override the configuration. */
export interface PrimePlace {
  /** The repository Prime reads (--repo, else LOOM_REPO_PATH). */
  readonly repo: string;
  /** Prime's writable state (--state, else LOOM_STATE_DIR): chat.jsonl, program.md, autonomous state. */
  readonly stateDir: string;
  /** --supervisor, else LOOM_SUPERVISOR_URL. */
  readonly supervisorUrl: string;
}

/** Prime's core parts without a server: what `loom reflect`, `loom autonomous` and the server share. */
export interface PrimeCore {
  readonly deps: PrimeToolDeps;
  readonly model: ModelClient;
  readonly client: SupervisorClient;
  readonly autonomous: AutonomousRunner;
  readonly place: PrimePlace;
}

/** The thinking functions and the autonomous loop, injected so the composition root stays small. */
export interface PrimeThinking {
  readonly review: ReviewFn;
  readonly reflect: ReflectFn;
  /** Binds the autonomous loop to the core deps (client, model, review, reflect). */
  readonly autonomous: (deps: PrimeCoreDeps, config: Config, tokensUsed: () => number) => AutonomousEngine;
}

export interface PrimeCoreOptions {
  readonly config: Config;
  readonly place: PrimePlace;
  readonly thinking: PrimeThinking;
  readonly log: (line: string) => void;
  /** Between polls of a running generation (default 1 s). */
  readonly pollMs?: number;
}

async function requireDir(dir: string, what: string): Promise<void> {
  if (!(await stat(dir).catch(() => undefined))?.isDirectory()) {
    throw new LoomError("REPO_NOT_FOUND", `${what} ${dir} is not a directory; pass an existing one`);
  }
}

/** Builds the model client, the Supervisor client, the tools' deps and the autonomous runner. */
export async function createPrimeCore(options: PrimeCoreOptions): Promise<PrimeCore> {
  const { config, place, thinking, log } = options;
  await requireDir(place.repo, "--repo");
  await mkdir(place.stateDir, { recursive: true });
  const model = createModelClient({
    apiKey: requireApiKey(config, "prime"),
    ...(config.primeBaseUrl ? { baseURL: config.primeBaseUrl } : {}),
    model: config.primeModel,
    timeoutMs: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
  });
  // Stage 1 runs up to five steps (install, baseline, check, tests, acceptance), each within its limit.
  const verifyWaitMs = 5 * config.verifyTimeoutMs + 120_000;
  const client = new SupervisorClient({
    baseUrl: place.supervisorUrl,
    token: config.supervisorToken,
    verifyTimeoutMs: verifyWaitMs,
  });
  const core: PrimeCoreDeps = {
    client,
    model,
    repo: place.repo,
    stateDir: place.stateDir,
    review: thinking.review,
    reflect: thinking.reflect,
    labWaitMs: labWaitMs(config),
    verifyWaitMs,
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  };
  const autonomous = new AutonomousRunner(
    thinking.autonomous(core, config, () => totalTokens(model.usage)),
    log,
  );
  return { deps: { ...core, autonomous }, model, client, autonomous, place };
}

export interface StartPrimeOptions extends PrimeCoreOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface Prime {
  readonly url: string;
  readonly port: number;
  readonly session: ChatSession;
  readonly core: PrimeCore;
  close(): Promise<void>;
}

/**
 * The Prime process: chat session (restored from chat.jsonl), tools, HTTP server; then, if the
 * autonomous state says a run was in progress (the Supervisor restarts Prime after a promotion),
 * resumes it.
 */
export async function startPrime(options: StartPrimeOptions): Promise<Prime> {
  const { config, log } = options;
  const limits = httpLimitsOf(config);
  const hub = new SseHub<PrimeLogEvent>(200, new SseSlots(limits.sseMaxClients));
  const say = (line: string) => {
    log(line);
    hub.publish(logLine(line));
  };
  const core = await createPrimeCore({ ...options, log: say }).catch((err: unknown) => {
    hub.close();
    throw err;
  });
  const runner = core.autonomous;
  const tools = new ToolRegistry(primeTools(core.deps), { defaultTimeoutMs: config.toolTimeoutMs });
  const session = await ChatSession.open({
    model: core.model,
    tools,
    workspace: core.place.repo,
    log: ChatLog.inStateDir(core.place.stateDir),
    loop: {
      system: primeSystemPrompt,
      maxIterations: config.maxIterations,
      maxContextMessages: config.maxContextMessages,
    },
    publish: hub.publish,
  });
  const commit = await codeCommit();
  const startedAt = new Date().toISOString();
  const stats = async (): Promise<PrimeStats> => ({
    model: config.primeModel,
    supervisorUrl: core.place.supervisorUrl,
    startedAt,
    turns: session.turns,
    busy: session.busy,
    tokens: session.usage,
    totalTokens: totalTokens(session.usage),
    autonomous: await runner.snapshot(),
  });
  let server: PrimeServer;
  try {
    server = await startPrimeServer({
      host: options.host,
      port: options.port,
      token: config.supervisorToken,
      limits,
      session,
      hub,
      stats,
      health: () => ({ ok: true, ...(commit ? { commit } : {}) }),
      log,
    });
  } catch (err) {
    hub.close();
    throw err;
  }
  await runner.resumeIfActive().catch((err: unknown) => {
    say(`autonomous loop: cannot resume: ${errorMessage(err)}`);
  });
  return {
    url: server.url,
    port: server.port,
    session,
    core,
    close: async () => {
      await runner.suspend();
      await server.close();
    },
  };
}

/** `--repo`, `--state`, `--supervisor` over the configuration (relative paths from the working directory). */
export function primePlace(
  config: Config,
  flags: { repo?: string; state?: string; supervisor?: string },
): PrimePlace {
  const repo = flags.repo ? path.resolve(flags.repo) : config.repoPath;
  return {
    repo,
    stateDir: flags.state ? path.resolve(flags.state) : config.stateDir,
    supervisorUrl: flags.supervisor ?? config.supervisorUrl,
  };
}
