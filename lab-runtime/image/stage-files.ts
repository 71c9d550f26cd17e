import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { LoomError } from "../../src/shared/errors.ts";

/** What runs in the image: the built bundle (`dist/lab.mjs`) or the sources through tsx (`bin/loom.js`). */
export type EntryMode = "auto" | "bundle" | "source";

export interface StageFile {
  /** Absolute path on the host. */
  from: string;
  /** Path below /opt/loom in the image (posix). */
  to: string;
}

export interface StagePlan {
  /** The entry script, relative to /opt/loom. */
  entry: string;
  mode: "bundle" | "source";
  files: StageFile[];
}

const BUNDLE_ENTRY = "dist/lab.mjs";
const SOURCE_ENTRY = "bin/loom.js";
// What the sources need at run time; the image builder itself and its Containerfile stay out.
const SOURCE_DIRS = ["bin", "src", "schemas", "lab-runtime"];
const SOURCE_SKIP = new Set(["lab-runtime/image", "lab-runtime/Containerfile"]);

/**
 * Lists the files the image carries: package.json, the bundle's dist/ (or the sources), and the production
 * node_modules: exactly the lockfile's non-dev packages (what `npm ci --omit=dev` would install), copied
 * from this checkout's node_modules so no npm registry is needed.
 */
export async function planStage(repoRoot: string, mode: EntryMode): Promise<StagePlan> {
  const root = path.resolve(repoRoot);
  const hasBundle = await isFile(path.join(root, BUNDLE_ENTRY));
  if (mode === "bundle" && !hasBundle) {
    throw new LoomError(
      "BUNDLE_MISSING",
      `--entry bundle needs ${BUNDLE_ENTRY} in ${root}: run \`npm run build\` first, or use --entry source (runs the sources through tsx) or --entry auto`,
    );
  }
  const chosen = mode === "auto" ? (hasBundle ? "bundle" : "source") : mode;
  const files: StageFile[] = [{ from: path.join(root, "package.json"), to: "package.json" }];
  if (chosen === "bundle") {
    files.push(...(await walk(root, "dist")).filter((f) => isLabDistFile(f.to)));
  } else {
    for (const dir of SOURCE_DIRS) files.push(...(await walk(root, dir, SOURCE_SKIP)));
    if (await isFile(path.join(root, "tsconfig.json")))
      files.push({ from: path.join(root, "tsconfig.json"), to: "tsconfig.json" });
  }
  files.push(...(await productionModules(root)));
  files.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
  return { entry: chosen === "bundle" ? BUNDLE_ENTRY : SOURCE_ENTRY, mode: chosen, files };
}

/**
 * dist/ also holds the Prime and Supervisor bundles; a Lab must not carry those (they can modify Loom
 * itself), nor the build's metafiles. Anything else in dist/ (assets the Lab bundle loads) goes in.
 */
function isLabDistFile(to: string): boolean {
  const name = to.slice("dist/".length);
  if (name.endsWith(".meta.json")) return false;
  const bundle = /^([^/]+)\.mjs(\.map)?$/.exec(name);
  // Code-split chunks are named after their bundle (`chunks/<bundle>-…`): only the Lab's go in.
  const chunk = /^chunks\/([a-z]+)-/.exec(name);
  if (chunk) return chunk[1] === "lab";
  return !bundle || bundle[1] === "lab";
}

async function productionModules(root: string): Promise<StageFile[]> {
  const lockPath = path.join(root, "package-lock.json");
  const lockText = await fs.readFile(lockPath, "utf8").catch(() => undefined);
  if (lockText === undefined) {
    throw new LoomError(
      "LOCKFILE_MISSING",
      `${lockPath} is missing: the image's node_modules are taken from it (run \`npm install\`)`,
    );
  }
  const lock = JSON.parse(lockText) as {
    packages?: Record<string, { dev?: boolean; devOptional?: boolean; optional?: boolean; link?: boolean }>;
  };
  if (!lock.packages) {
    throw new LoomError(
      "LOCKFILE_UNSUPPORTED",
      `${lockPath} has no "packages" map: npm 7 or later writes one (lockfileVersion 2 or 3)`,
    );
  }
  const files: StageFile[] = [];
  const missing: string[] = [];
  for (const [key, info] of Object.entries(lock.packages)) {
    if (!key.startsWith("node_modules/") || info.dev || info.devOptional || info.link) continue;
    if (!(await isDir(path.join(root, key)))) {
      // Optional packages for other platforms (esbuild's, fsevents) are legitimately absent.
      if (!info.optional) missing.push(key);
      continue;
    }
    // Nested node_modules are lockfile entries of their own, staged (or not) by their own flags.
    files.push(...(await walk(root, key, new Set([`${key}/node_modules`]))));
  }
  if (missing.length > 0) {
    throw new LoomError(
      "DEPENDENCIES_MISSING",
      `production packages listed in package-lock.json are not installed: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ` and ${missing.length - 10} more` : ""}; run \`npm ci\` first`,
    );
  }
  return files;
}

async function walk(root: string, rel: string, skip: ReadonlySet<string> = new Set()): Promise<StageFile[]> {
  const out: StageFile[] = [];
  const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const child = `${rel}/${entry.name}`;
    if (skip.has(child)) continue;
    if (entry.isDirectory()) out.push(...(await walk(root, child, skip)));
    else if (entry.isFile() || entry.isSymbolicLink()) out.push({ from: path.join(root, child), to: child });
  }
  return out;
}

/** A digest of every staged path, its kind, exec bit and content (symlinks by target). */
export async function hashStage(plan: StagePlan): Promise<string> {
  const hash = createHash("sha256").update(`entry ${plan.entry}\n`);
  // Read in parallel batches (thousands of small files in node_modules), combine in plan order.
  const BATCH = 32;
  for (let i = 0; i < plan.files.length; i += BATCH) {
    const lines = await Promise.all(plan.files.slice(i, i + BATCH).map(describeFile));
    for (const line of lines) hash.update(line);
  }
  return hash.digest("hex");
}

async function describeFile(file: StageFile): Promise<string> {
  const st = await fs.lstat(file.from);
  if (st.isSymbolicLink()) return `link ${file.to} -> ${await fs.readlink(file.from)}\n`;
  const digest = createHash("sha256")
    .update(await fs.readFile(file.from))
    .digest("hex");
  return `file ${file.to} ${st.mode & 0o111 ? "x" : "-"} ${digest}\n`;
}

/**
 * Where a staged file goes below the stage dir: node_modules under deps/, the rest under app/, so the
 * Containerfile copies them as two layers and a source-only change reuses the (large) dependency layer.
 */
export function stagePath(to: string): string {
  // npm (see stage-npm.ts) is a layer of its own, copied to /opt/npm.
  if (to.startsWith("npm/")) return to;
  return to.startsWith("node_modules/") ? `deps/${to}` : `app/${to}`;
}

/**
 * Puts the plan into `dir` (see stagePath), keeping symlinks and exec bits. Files already world-readable
 * are hard-linked (the stage lives in the same checkout, so this is nearly free); others are copied and
 * made readable for the image's non-root user whatever the host's umask was.
 */
export async function writeStage(plan: StagePlan, dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const file of plan.files) {
    const dest = path.join(dir, stagePath(file.to));
    await fs.mkdir(path.dirname(dest), { recursive: true });
    const st = await fs.lstat(file.from);
    if (st.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(file.from), dest);
      continue;
    }
    const want = st.mode & 0o111 ? 0o755 : 0o644;
    if (
      (st.mode & 0o7777) === want &&
      (await fs.link(file.from, dest).then(
        () => true,
        () => false,
      ))
    )
      continue;
    await fs.copyFile(file.from, dest);
    await fs.chmod(dest, want);
  }
  // The image's fixed ENTRYPOINT script; dangling here, it resolves inside the image.
  await fs.mkdir(path.join(dir, "app"), { recursive: true });
  await fs.symlink(`/opt/loom/${plan.entry}`, path.join(dir, "app/entry.mjs"));
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function isDir(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
