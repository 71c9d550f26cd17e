// Records the V8 code cache the Lab's TypeScript thread reads (src/shared/compile-cache.ts): ts-morph
// loaded and run over a small Node project — a type check and a rename — so the functions a Lab's first
// ts_* calls need are in the cache compiled. Run by `npm run build`: node --import tsx this <dir>.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { useCompileCache } from "../src/shared/compile-cache.ts";

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
  await mkdir(path.join(root, "src"));
  const compilerOptions = {
    target: "ES2022",
    lib: ["ES2022"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    types: ["node"],
  };
  await writeFile(path.join(root, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["src"] }));
  await writeFile(
    path.join(root, "src", "greet.ts"),
    'export interface Named { name: string }\nexport function greet(who: Named): string {\n  return "Hello, " + who.name + "!";\n}\n',
  );
  await writeFile(
    path.join(root, "src", "banner.ts"),
    'import { readFileSync } from "node:fs";\nimport { greet } from "./greet.ts";\n\nexport class Banner {\n  constructor(private readonly names: string[]) {}\n  render(): string {\n    return this.names.map((name) => greet({ name })).join("\\n") + readFileSync("x", "utf8");\n  }\n}\n',
  );
  const project = new Project({ tsConfigFilePath: path.join(root, "tsconfig.json") });
  const greet = project.getSourceFileOrThrow(path.join(root, "src", "greet.ts"));
  project.getPreEmitDiagnostics();
  const fn = greet.getFunctionOrThrow("greet");
  project.getLanguageService().findRenameLocations(fn.getNameNode());
  fn.rename("greetUser");
  project.getPreEmitDiagnostics();
  greet.getFullText();
  process.stdout.write(`compile cache: ${cache.save()} files in ${out}\n`);
} finally {
  await rm(root, { recursive: true, force: true });
}
