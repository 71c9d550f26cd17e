import { createHash } from "node:crypto";
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { runGit } from "../../shared/git/run-git.ts";
import { startGitHttp } from "../git-http/index.ts";
import type { Gateway, GatewayRegistration } from "./gateway.ts";

/** A task reached through the gateway: what its spec carries, and how its way in is closed. */
export interface RelayedTask {
  readonly relay: { readonly url: string; readonly token: string };
  close(): Promise<void>;
}

export interface RelayTaskInput extends Omit<GatewayRegistration, "gitToken" | "packagesKey"> {
  /** The repository the task clones (a Lab's workspace, a verification clone). */
  readonly repoPath: string;
  /** A Lab's branch, which its relay pushes back (updating the repository's checkout); else read-only. */
  readonly push?: string;
}

/**
 * Opens a task's way in: a git endpoint of its own on `<dir>/git.sock` serving `repoPath` (a push only
 * of `push`, and only when given), registered with the gateway with what the relay needs.
 */
export async function relayTask(gateway: Gateway, input: RelayTaskInput): Promise<RelayedTask> {
  const { repoPath, push, ...reg } = input;
  if (push) await runGit(repoPath, ["config", "receive.denyCurrentBranch", "updateInstead"]);
  const git = await startGitHttp({ repoPath });
  try {
    await git.listenSocket(path.join(reg.dir, "git.sock"));
    // A push grant names its generation (lab/gen-N); a fetch-only one carries no right a number changes.
    const generation = Number(/^lab\/gen-(\d+)$/.exec(push ?? "")?.[1] ?? 1);
    const gitToken = git.grant({ generation, ...(push ? { push } : {}) });
    const token = await gateway.register({
      ...reg,
      gitToken,
      ...(reg.packages ? { packagesKey: await packagesKey(reg.packages) } : {}),
    });
    return {
      relay: { url: gateway.url, token },
      close: async () => {
        await gateway.unregister(reg.key);
        await git.close();
      },
    };
  } catch (err) {
    await git.close();
    throw err;
  }
}

/** Names a packages folder's content: its real path and npm's record of what is installed there. */
async function packagesKey(dir: string): Promise<string> {
  const real = await realpath(dir);
  const lock = await readFile(path.join(real, ".package-lock.json")).catch(() => Buffer.from(""));
  return createHash("sha256").update(real).update("\0").update(lock).digest("hex").slice(0, 24);
}
