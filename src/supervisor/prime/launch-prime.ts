import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import type { Config } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { stopAndRemove } from "../lifecycle/lab-cleanup.ts";
import { shareReadable, shareWorkspace } from "../lifecycle/share-workspace.ts";
import type { HostRuntime } from "../runtime/index.ts";
import { waitForPrimeHealth } from "./prime-health.ts";
import { type PrimeSource, prepareCheckout } from "./prime-source.ts";
import { primeSpec } from "./prime-spec.ts";

export interface LaunchContext {
  /** Prime runs beside the Supervisor: its repo, code and state are mounted, its port is on this host. */
  readonly runtime: HostRuntime;
  readonly config: Config;
  readonly image: string;
  readonly port: number;
  readonly healthTimeoutMs: number;
  readonly pollMs: number;
  readonly source: PrimeSource;
  readonly supervisorUrl: string;
  /** Aborting cuts the health wait short (the Prime is then removed). */
  readonly signal: AbortSignal;
  readonly log: (text: string) => void;
}

export interface RunningPrime {
  readonly id: string;
  readonly commit: string;
  readonly url: string;
}

export type Launch =
  | { readonly ok: true; readonly running: RunningPrime; readonly ms: number }
  | { readonly ok: false; readonly why: string };

const short = (sha: string): string => sha.slice(0, 12);
/** True when something accepts connections on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (yes: boolean) => {
      socket.destroy();
      resolve(yes);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Prime's code for `commit`: a checkout of it (self-hosting) or the installed Loom, shared with the container's user. */
async function prepareCode(
  ctx: LaunchContext,
  commit: string,
): Promise<{ code: string; nodeModules: string | undefined; primeState: string }> {
  const local = ctx.runtime.name === "local";
  let code = ctx.source.kind === "installed" ? ctx.source.loomRoot : "";
  let nodeModules: string | undefined;
  if (ctx.source.kind === "repo") {
    const checkout = await prepareCheckout({
      repo: ctx.source.repo,
      stateDir: ctx.source.stateDir,
      commit,
      nodeModules: local ? "link" : "mountpoint",
    });
    code = checkout.dir;
    nodeModules = checkout.nodeModules;
    if (!local) await shareReadable(code);
  }
  const primeState = path.join(ctx.config.stateDir, "prime-state");
  await mkdir(primeState, { recursive: true });
  if (!local) await shareWorkspace(primeState);
  return { code, nodeModules, primeState };
}

/**
 * Starts one Prime on `commit` and waits for its health. Never throws for Prime's failure, and an
 * unhealthy Prime is removed before this returns, so nothing is left running on a failure.
 */
export async function launchPrime(ctx: LaunchContext, commit: string): Promise<Launch> {
  const { runtime, config, port } = ctx;
  if (ctx.signal.aborted) return { ok: false, why: "the Supervisor shut down" };
  let prepared: Awaited<ReturnType<typeof prepareCode>>;
  try {
    prepared = await prepareCode(ctx, commit);
  } catch (err) {
    return { ok: false, why: `could not prepare Prime's code for ${short(commit)}: ${errorMessage(err)}` };
  }
  // Otherwise a Prime left running (or anything else on the port) would pass the new one's health check.
  if (await answers(port)) {
    return {
      ok: false,
      why: `something already listens on 127.0.0.1:${port} (LOOM_PRIME_PORT); stop it or choose another port`,
    };
  }
  let id: string;
  let url: string;
  try {
    const { spec, host } = primeSpec({
      runtime: runtime.name,
      config,
      image: ctx.image,
      ...prepared,
      port,
      supervisorUrl: ctx.supervisorUrl,
      commit,
    });
    const handle = await runtime.runOnHost(spec, host);
    id = handle.id;
    for (const w of handle.warnings) ctx.log(`Prime: ${w}`);
    const endpoint = handle.endpoints.find((e) => e.containerPort === port) ?? { host: "127.0.0.1", port };
    url = `http://${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
  } catch (err) {
    return { ok: false, why: `could not start Prime: ${errorMessage(err)}` };
  }
  const health = await waitForPrimeHealth({
    runtime,
    id,
    url,
    timeoutMs: ctx.healthTimeoutMs,
    pollMs: ctx.pollMs,
    signal: ctx.signal,
  });
  if (!health.ok) {
    for (const p of await stopAndRemove(runtime, id, 1000)) ctx.log(`cleanup: ${p}`);
    return { ok: false, why: health.why };
  }
  return { ok: true, running: { id, commit, url }, ms: health.ms };
}
