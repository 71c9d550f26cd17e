import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { type GitHttpServer, startGitHttp } from "../../../src/supervisor/git-http/index.ts";
import { commitFiles, makeFixture, sh } from "../git-repo-fixture.ts";

export interface GitHttpFixture {
  readonly root: string;
  readonly repo: string;
  readonly server: GitHttpServer;
  readonly logs: string[];
  cleanup(): Promise<void>;
}

/** A repository with two commits on main, served over loopback. */
export async function startFixture(options: { maxPushBytes?: number } = {}): Promise<GitHttpFixture> {
  const { root, repo, cleanup } = await makeFixture();
  await commitFiles(repo, { "src/app.ts": "export const app = 2;\n" }, "second");
  const logs: string[] = [];
  const server = await startGitHttp({ repoPath: repo, ...options, log: (l) => logs.push(l) });
  return {
    root,
    repo,
    server,
    logs,
    cleanup: async () => {
      await server.close();
      await cleanup();
    },
  };
}

/** Every ref of the repository with its commit: what a refused push must leave as it was. */
export async function refs(repo: string): Promise<string> {
  return sh(repo, ["for-each-ref", "--format=%(refname) %(objectname)"]);
}

/** Plain git with the token as a header on its command line: a test client, never how Loom runs git. */
export async function gitAs(cwd: string, token: string | undefined, args: string[]) {
  const header = token
    ? ["-c", `http.extraHeader=Authorization: Basic ${Buffer.from(`loom:${token}`).toString("base64")}`]
    : [];
  return execa(
    "git",
    [
      "-c",
      "user.name=Test",
      "-c",
      "user.email=test@loom.invalid",
      "-c",
      "credential.helper=",
      ...header,
      ...args,
    ],
    { cwd, reject: false, stdin: "ignore", env: { GIT_TERMINAL_PROMPT: "0" } },
  );
}

/** Processes of this machine whose environment serves `repo` (git-http-backend and what it started). */
export async function backendProcesses(repo: string): Promise<number[]> {
  const marker = `GIT_PROJECT_ROOT=${repo}\0`;
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(path.join("/proc", entry, "environ"), "latin1").catch(() => "");
    if (`${environ}\0`.includes(marker)) found.push(Number(entry));
  }
  return found;
}
