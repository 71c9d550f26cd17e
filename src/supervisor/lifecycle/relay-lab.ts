import { createHash } from "node:crypto";
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { runGit } from "../../shared/git/run-git.ts";
import type { Gateway } from "../gateway/gateway.ts";
import { startGitHttp } from "../git-http/index.ts";
import type { LabSockets } from "./lab-sockets.ts";

export interface RelayedLab {
  readonly relay: { readonly url: string; readonly token: string };
  close(): Promise<void>;
}

/**
 * A Lab that reaches its generation through the gateway: the workspace served over git from its own
 * endpoint (git.sock in the socket folder; push of lab/gen-N only, which updates the workspace's
 * checkout), the folder's sockets tunnelled. Everything else (fetching the branch, reading the report)
 * reads the workspace as for a mounted Lab.
 */
export async function relayLab(
  gateway: Gateway,
  g: { generation: number; sockets: LabSockets; workspace: string; packages: string | undefined },
): Promise<RelayedLab> {
  const branch = `lab/gen-${g.generation}`;
  await runGit(g.workspace, ["config", "receive.denyCurrentBranch", "updateInstead"]);
  const git = await startGitHttp({ repoPath: g.workspace });
  try {
    await git.listenSocket(path.join(g.sockets.dir, "git.sock"));
    const gitToken = git.grant({ generation: g.generation, push: branch });
    const token = await gateway.register({
      generation: g.generation,
      dir: g.sockets.dir,
      secretsFile: g.sockets.secretsFile,
      gitToken,
      branch,
      workspace: g.workspace,
      ...(g.packages ? { packages: g.packages, packagesKey: await packagesKey(g.packages) } : {}),
    });
    return {
      relay: { url: gateway.url, token },
      close: async () => {
        await gateway.unregister(g.generation);
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
