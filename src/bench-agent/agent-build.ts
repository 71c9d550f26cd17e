import { randomBytes } from "node:crypto";
import { mkdir, readFile, realpath, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { LoomError } from "../shared/errors.ts";
import { runGit, tryGit } from "../shared/git/run-git.ts";

/** The Lab agent as it is at one commit: its sources on disk, and its image when Labs run in containers. */
export interface AgentBuild {
  /** What the user asked for (`HEAD`, `main`, `lab/gen-4`, a sha). */
  readonly ref: string;
  readonly commit: string;
  /** The commit's tree with node_modules: what a `local` Lab runs (`bin/loom.js` through tsx). */
  readonly root: string;
  /** The Lab image built from `root` (engine runtimes only). */
  readonly image?: string;
}

/** A ref that names no commit of the repository: bad input, said with what is accepted. */
export class BenchInputError extends LoomError {
  constructor(message: string) {
    super("BENCH_INPUT", message);
  }
}

/** `ref` as a full commit sha in `repo`, or a BenchInputError naming it. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  if (ref.trim() === "" || ref.startsWith("-")) {
    throw new BenchInputError(
      `--ref ${JSON.stringify(ref)} is not a ref; accepted: a branch, tag or commit of ${repo}`,
    );
  }
  const r = await tryGit(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (r.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(r.stdout.trim())) {
    throw new BenchInputError(
      `--ref ${JSON.stringify(ref)} does not exist in ${repo}; accepted: a branch, tag or commit (e.g. HEAD, main, lab/gen-3)`,
    );
  }
  return r.stdout.trim();
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/**
 * The agent's tree at `commit` under `<cacheDir>/<commit>`, made once and reused: `git archive` of the
 * commit (never a checkout of the user's repo), and node_modules linked to this installation's when the
 * lockfiles match (else `npm ci`, offline first). No code of the commit runs here: a `local` Lab runs
 * its sources inside its sandbox, an image is built from them by this installation's builder.
 */
export async function agentTree(
  repo: string,
  commit: string,
  cacheDir: string,
  modules: string,
): Promise<string> {
  const root = path.join(cacheDir, commit);
  if (await exists(path.join(root, ".loom-agent.json"))) return root;
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${root}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(tmp);
    const tar = path.join(tmp, ".tree.tar");
    await runGit(repo, ["archive", "--format=tar", "-o", tar, commit]);
    await execa("tar", ["-xf", tar, "-C", tmp]);
    await rm(tar);
    if (!(await exists(path.join(tmp, "bin", "loom.js")))) {
      throw new BenchInputError(
        `commit ${commit.slice(0, 12)} has no bin/loom.js: it is not a Loom checkout, so it has no Lab agent to measure`,
      );
    }
    const [mine, theirs] = await Promise.all([
      readFile(path.join(path.dirname(modules), "package-lock.json"), "utf8").catch(() => ""),
      readFile(path.join(tmp, "package-lock.json"), "utf8").catch(() => undefined),
    ]);
    if (theirs !== undefined && theirs === mine)
      await symlink(await realpath(modules), path.join(tmp, "node_modules"));
    else {
      const r = await execa(
        "npm",
        ["ci", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
        {
          cwd: tmp,
          reject: false,
          all: true,
        },
      );
      if (r.exitCode !== 0) {
        throw new LoomError(
          "AGENT_BUILD_FAILED",
          `npm ci for commit ${commit.slice(0, 12)} failed (exit ${r.exitCode}): ${String(r.all).slice(-800)}`,
        );
      }
    }
    await writeFile(path.join(tmp, ".loom-agent.json"), `${JSON.stringify({ commit })}\n`);
    await rename(tmp, root).catch(async (err: NodeJS.ErrnoException) => {
      // Another run made it meanwhile: theirs is as good as ours.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
      await rm(tmp, { recursive: true, force: true });
    });
    return root;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** The image tag of the agent at `commit`: one per commit, so two refs never share a stale image. */
export const agentImageTag = (commit: string): string => `loom-lab:agent-${commit.slice(0, 12)}`;

/**
 * The Lab image of the agent at `root`: this installation's image builder over that tree's sources
 * (run through tsx, as `--entry source`), on the base `loom-lab:latest` was built on, so no registry is
 * needed. Reused while the tree's content is the same (the builder's content hash).
 */
export async function agentImage(
  root: string,
  commit: string,
  log: (line: string) => void,
  docker = "docker",
): Promise<string> {
  const [{ buildLabImage }, { DEFAULT_LAB_IMAGE }] = await Promise.all([
    import("../../lab-runtime/image/build-lab-image.ts"),
    import("../supervisor/lifecycle/lab-spec.ts"),
  ]);
  const inspected = await execa(
    docker,
    ["image", "inspect", "--format", '{{index .Config.Labels "org.loom.base"}}', DEFAULT_LAB_IMAGE],
    {
      reject: false,
    },
  );
  const base = inspected.exitCode === 0 ? inspected.stdout.trim() : "";
  if (!base || base === "<no value>") {
    throw new LoomError(
      "LAB_IMAGE_MISSING",
      `${DEFAULT_LAB_IMAGE} is not here (or carries no base label), and an agent's image is built on its base: run \`npm run image\` first, or LOOM_RUNTIME=local`,
    );
  }
  const tag = agentImageTag(commit);
  await buildLabImage({
    repoRoot: root,
    tag,
    base,
    registryBase: base,
    debianTag: base,
    suite: "bookworm",
    packages: [],
    entry: "source",
    uid: 10001,
    docker,
    debootstrap: "debootstrap",
    nodeBinary: process.execPath,
    pullTimeoutMs: 1000,
    force: false,
    log,
  });
  return tag;
}
