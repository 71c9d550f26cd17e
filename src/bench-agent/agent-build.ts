import { randomBytes } from "node:crypto";
import {
  copyFile,
  cp,
  mkdir,
  readFile,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { LoomError } from "../shared/errors.ts";
import { runGit, tryGit } from "../shared/git/run-git.ts";
import { loomRoot } from "../shared/loom-root.ts";
import { localLabEntry } from "../supervisor/lifecycle/local-lab-entry.ts";

/** The Lab agent as it is at one commit: its sources on disk, and its image when Labs run in containers. */
export interface AgentBuild {
  /** What the user asked for (`HEAD`, `main`, `lab/gen-4`, a sha). */
  readonly ref: string;
  readonly commit: string;
  /**
   * The commit's tree with node_modules: what a `local` Lab runs, its Lab bundle (`dist/lab.mjs`) when
   * one could be built, else `bin/loom.js` through tsx.
   */
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

export const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false,
  );

/** `paths` (all when none) of `commit` written under `dest` by `git archive`: never a checkout of `repo`. */
export async function unpackCommit(
  repo: string,
  commit: string,
  dest: string,
  paths: readonly string[] = [],
) {
  const tar = path.join(dest, ".tree.tar");
  await runGit(repo, ["archive", "--format=tar", "-o", tar, commit, ...paths]);
  await execa("tar", ["-xf", tar, "-C", dest]);
  await rm(tar);
}

/**
 * The files that make a Lab bundle. The agent's bundle is built by this installation's builder, which
 * builds the tree's own sources (its entry, its TypeScript worker, its eval worker) the same way only
 * while these files are the same in both; a tree that changes them runs from its sources instead.
 */
export const BUILD_FILES = [
  "src/build/bundles.ts",
  "lab-runtime/eval/worker-source.ts",
  "src/agent/ts/worker/worker-file.ts",
] as const;

/** How the agent's Lab starts: from its bundle, or from its sources (with why). */
export type AgentEntry = { readonly lab: "bundle" } | { readonly lab: "sources"; readonly why: string };

/**
 * Builds the Lab bundle of the tree at `root` into `<root>/dist` with esbuild (which runs none of the
 * tree's code): the Lab then starts in about a second instead of compiling its sources through tsx in
 * every sandbox. ts-morph's V8 code cache is copied from this installation's build when it has one (keyed
 * by each package file's content, so it only ever saves time). Any failure leaves the sources to run.
 */
export async function buildAgentBundle(root: string, home = loomRoot()): Promise<AgentEntry> {
  if (!home) return { lab: "sources", why: "this installation's own folder is not known" };
  for (const file of BUILD_FILES) {
    const [mine, theirs] = await Promise.all(
      [home, root].map((r) => readFile(path.join(r, file), "utf8").catch(() => undefined)),
    );
    if (mine === undefined || mine !== theirs)
      return { lab: "sources", why: `its ${file} is not this installation's, so its own build is not known` };
  }
  const dist = path.join(root, "dist");
  try {
    const [{ build }, { buildBundles }] = await Promise.all([
      import("esbuild"),
      import("../build/bundles.ts"),
    ]);
    // The tree's eval worker, bundled as its worker-source.ts (the same as this installation's) would.
    const worker = await build({
      entryPoints: [path.join(root, "lab-runtime", "eval", "worker", "entry.ts")],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      write: false,
      logLevel: "silent",
    });
    const code = worker.outputFiles[0]?.text;
    if (code === undefined) throw new Error("the eval worker's bundle is empty");
    await buildBundles({
      outdir: dist,
      workingDir: root,
      evalWorker: code,
      bundles: [
        {
          name: "lab",
          entry: path.join(root, "src", "entries", "lab.ts"),
          tsWorker: path.join(root, "src", "agent", "ts", "worker", "ts-worker-main.ts"),
        },
      ],
    });
    const cache = path.join(home, "dist", "compile-cache");
    if (await exists(cache)) await cp(cache, path.join(dist, "compile-cache"), { recursive: true });
    // The same check a local Lab's start makes: a bundle it would not use is no bundle.
    if (localLabEntry(root) !== path.join(dist, "lab.mjs")) throw new Error("the bundle is not fresh");
    return { lab: "bundle" };
  } catch (err) {
    await rm(dist, { recursive: true, force: true });
    return { lab: "sources", why: `its bundle could not be built: ${(err as Error).message.split("\n")[0]}` };
  }
}

/**
 * The agent's tree at `commit` under `<cacheDir>/<commit>`, made once and reused: `git archive` of the
 * commit (never a checkout of the user's repo), node_modules linked to this installation's when the
 * lockfiles match (else `npm ci`, offline first), and its Lab bundle (buildAgentBundle). No code of the
 * commit runs here: a `local` Lab runs it inside its sandbox, an image is built from it by this
 * installation's builder.
 */
export async function agentTree(
  repo: string,
  commit: string,
  cacheDir: string,
  modules: string,
  log: (line: string) => void = () => {},
): Promise<string> {
  const root = path.join(cacheDir, commit);
  if (await exists(path.join(root, ".loom-agent.json"))) return root;
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${root}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(tmp);
    await unpackCommit(repo, commit, tmp);
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
    const entry = await buildAgentBundle(tmp);
    log(
      entry.lab === "bundle"
        ? `the agent's Lab runs its bundle (dist/lab.mjs)`
        : `the agent's Lab runs its sources through tsx (slower to start): ${entry.why}`,
    );
    await writeFile(path.join(tmp, ".loom-agent.json"), `${JSON.stringify({ commit, ...entry })}\n`);
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

/**
 * An agent's image is made from this installation's Containerfile and .dockerignore, never the measured
 * commit's: a candidate's RUN lines would run in `docker build`, which has a network.
 */
export async function useInstalledBuildFiles(
  root: string,
  installed = loomRoot() ?? process.cwd(),
): Promise<void> {
  for (const file of ["lab-runtime/Containerfile", ".dockerignore"]) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await copyFile(path.join(installed, file), path.join(root, file)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT" || file === "lab-runtime/Containerfile") throw err;
    });
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
  await useInstalledBuildFiles(root);
  const tag = agentImageTag(commit);
  await buildLabImage({
    repoRoot: root,
    tag,
    base,
    registryBase: base,
    debianTag: base,
    suite: "bookworm",
    packages: [],
    // The bundle when agentTree could build one (a Lab up in about a second), else the sources.
    entry: "auto",
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
