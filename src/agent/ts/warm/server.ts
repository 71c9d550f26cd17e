import { statSync, unlinkSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { listen } from "../../../shared/net/listen.ts";
import { findTool } from "../../tool-groups.ts";
import { ToolRegistry } from "../../tool-registry.ts";
import { disposeProjects, projectsBuilt } from "../project/project-cache.ts";
import { codeStamp, MAX_LINE_BYTES, type WarmAnswer, type WarmRequest } from "./socket.ts";

/**
 * The warm TypeScript server behind `loom tool ts_*`: one process per workspace keeps the ts-morph
 * Project (synced with the disk on every call, as in a Lab) between calls, so only the first call pays
 * for building it. Listens on a private unix socket, runs one call at a time through the same registry
 * as an in-process call, and exits after `idleMs` without a call (or on a stop request, or SIGTERM).
 */

export interface WarmServerOptions {
  readonly workspace: string;
  readonly socketPath: string;
  readonly idleMs: number;
}

/** Whether something answers on the socket (a live server), rather than a file left by a dead one. */
function answers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Serves until idle; resolves when it has stopped and removed its socket. False if another server was live. */
export async function serveWarm(opts: WarmServerOptions): Promise<boolean> {
  const workspace = path.resolve(opts.workspace);
  const code = codeStamp();
  let calls = 0;
  let inFlight = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let idleTimer: NodeJS.Timeout | undefined;
  const sockets = new Set<net.Socket>();
  const controllers = new Set<AbortController>();
  let stopping: Promise<void> | undefined;
  let stopped!: () => void;
  const done = new Promise<void>((r) => {
    stopped = r;
  });

  const answer = (socket: net.Socket, a: WarmAnswer): void => {
    socket.end(`${JSON.stringify(a)}\n`);
  };

  const run = async (req: WarmRequest, signal: AbortSignal): Promise<WarmAnswer> => {
    if ("stop" in req) return { stopped: true };
    if ("tool" in req && req.code !== code) return { stale: true };
    if ("status" in req) {
      return {
        status: { pid: process.pid, workspace, calls, projectsBuilt: projectsBuilt(), idleMs: opts.idleMs },
      };
    }
    const tool =
      typeof req.tool === "string" && req.tool.startsWith("ts_") ? await findTool(req.tool) : undefined;
    if (!tool) {
      return {
        error: { code: "UNKNOWN_TOOL", message: `the warm TypeScript server has no tool "${req.tool}"` },
      };
    }
    calls++;
    const result = await new ToolRegistry([tool]).execute(tool.name, req.input, { workspace, signal });
    return { result };
  };

  const armIdle = (): void => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (inFlight === 0) void stop();
    }, opts.idleMs);
  };

  const handle = (socket: net.Socket): void => {
    sockets.add(socket);
    clearTimeout(idleTimer);
    inFlight++;
    const controller = new AbortController();
    let buffered = "";
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      inFlight--;
      if (inFlight === 0 && !stopping) armIdle();
    };
    // A caller that goes away (Ctrl-C on `loom tool`) cancels its call; an edit not yet written is dropped.
    socket.on("close", () => {
      sockets.delete(socket);
      controller.abort(new Error("the caller went away"));
      finish();
    });
    socket.on("error", () => {});
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      if (settled || buffered.includes("\n")) return;
      buffered += chunk;
      if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
        answer(socket, {
          error: { code: "BAD_INPUT", message: `request longer than ${MAX_LINE_BYTES} bytes` },
        });
        return;
      }
      const nl = buffered.indexOf("\n");
      if (nl < 0) return;
      let req: WarmRequest;
      try {
        req = JSON.parse(buffered.slice(0, nl)) as WarmRequest;
        if (typeof req !== "object" || req === null) throw new Error("not a JSON object");
      } catch (err) {
        answer(socket, {
          error: { code: "BAD_INPUT", message: `request is not JSON: ${(err as Error).message}` },
        });
        return;
      }
      controllers.add(controller);
      // One call at a time: the Project is shared state, and an edit must see the one before it.
      const turn = queue.then(() =>
        controller.signal.aborted
          ? ({ error: { code: "ABORTED", message: "the caller went away" } } as WarmAnswer)
          : run(req, controller.signal),
      );
      queue = turn.catch(() => {});
      void turn
        .then(
          (a) => a,
          (err: unknown): WarmAnswer => ({
            error: {
              code: (err as { code?: string }).code ?? "WARM_SERVER_ERROR",
              message: (err as Error).message ?? String(err),
            },
          }),
        )
        .then((a) => {
          controllers.delete(controller);
          if (!socket.destroyed) answer(socket, a);
          if ("stopped" in a || "stale" in a) void stop();
        });
    });
  };

  const server = net.createServer(handle);
  try {
    await listen(server, opts.socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    if (await answers(opts.socketPath)) return false;
    // A socket file left by a server that died: take its place.
    unlinkSync(opts.socketPath);
    await listen(server, opts.socketPath);
  }
  const inode = statSync(opts.socketPath).ino;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearTimeout(idleTimer);
      for (const c of controllers) c.abort(new Error("the warm TypeScript server is stopping"));
      await queue;
      await new Promise<void>((r) => {
        server.close(() => r());
        for (const s of sockets) s.end();
      });
      // Only our own socket: a newer server may have taken the path after a race.
      try {
        if (statSync(opts.socketPath).ino === inode) unlinkSync(opts.socketPath);
      } catch {}
      // The log (beside the socket) matters only when a server fails to start or dies.
      const log = opts.socketPath.replace(/\.sock$/, ".log");
      try {
        if (log !== opts.socketPath && statSync(log).size === 0) unlinkSync(log);
      } catch {}
      disposeProjects();
      stopped();
    })();
    return stopping;
  };
  const onSignal = (): void => void stop();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  armIdle();
  await done;
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  return true;
}
