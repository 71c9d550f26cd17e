// Records the V8 code cache the Lab's TypeScript thread reads (src/lab/compile-cache.ts): ts-morph
// loaded and run over `loom demo`'s repository — a type check and a rename — so the functions a Lab's
// first ts_* calls need are in the cache compiled. Run by `npm run build`: node --import tsx this <dir>.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { demoRepoFiles } from "../src/demo/demo-repo.ts";
import { useCompileCache } from "../src/lab/compile-cache.ts";

const out = process.argv[2];
if (!out) {
  process.stderr.write("record-compile-cache: pass the folder to write, e.g. dist/compile-cache\n");
  process.exit(2);
}
await rm(out, { recursive: true, force: true });
const cache = useCompileCache(out, { record: true });
const { Project } = await import("ts-morph");
const root = await mkdtemp(path.join(os.tmpdir(), "loom-compile-cache-"));
try {
  const modules = fileURLToPath(new URL("../node_modules", import.meta.url));
  await symlink(modules, path.join(root, "node_modules"));
  for (const [file, text] of Object.entries(demoRepoFiles)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  // What a Lab's first structural calls do: a type check, a rename with its importers, again a check.
  const project = new Project({ tsConfigFilePath: path.join(root, "tsconfig.json") });
  const greet = project.getSourceFileOrThrow(path.join(root, "src", "greet.ts"));
  project.getPreEmitDiagnostics();
  const fn = greet.getFunctionOrThrow("greet");
  const name = fn.getNameNode();
  if (name) project.getLanguageService().findRenameLocations(name);
  fn.rename("greetUser");
  project.getPreEmitDiagnostics();
  greet.getFullText();
  process.stdout.write(`compile cache: ${cache.save()} files in ${out}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
