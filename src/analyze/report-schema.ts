import { z } from "zod";

/** The single definition of `loom analyze --json` output; paths are posix, relative to the analyzed root. */

export const DeclarationKindSchema = z.enum([
  "function",
  "method",
  "constructor",
  "accessor",
  "arrow",
  "class",
]);

export const DeclarationMetricSchema = z.object({
  file: z.string(),
  /** Dotted path of enclosing names, e.g. `Loop.run` or `readTool.run`; `<anonymous>` when unnamed. */
  name: z.string(),
  kind: DeclarationKindSchema,
  line: z.number().int().positive(),
  lines: z.number().int().positive(),
  /** 1 + decision points; for a class, the sum over its members (weighted methods per class). */
  complexity: z.number().int().positive(),
});

export const ExportKindSchema = z.enum([
  "function",
  "class",
  "interface",
  "type",
  "enum",
  "variable",
  "namespace",
  "re-export",
]);

export const ExportEntrySchema = z.object({
  /** The name other files import (`default` for default exports, `*` for `export * from`). */
  name: z.string(),
  kind: ExportKindSchema,
  line: z.number().int().positive(),
  /** One-line header text (parameters, return type, heritage), whitespace collapsed and bounded. */
  signature: z.string(),
});

export const ImportEdgeSchema = z.object({
  specifier: z.string(),
  /** Resolved project file, or null when a relative import points at no analyzed file. */
  target: z.string().nullable(),
  typeOnly: z.boolean(),
});

export const FileInfoSchema = z.object({
  path: z.string(),
  lines: z.number().int().nonnegative(),
  /** A test file the runner runs (*.test.*, *.spec.*, under __tests__), fixtures excluded. */
  isTest: z.boolean(),
  /** Not a test but there for tests: fixtures and helpers under test folders. Neither test nor source. */
  testSupport: z.boolean(),
  exports: z.array(ExportEntrySchema),
  /** Relative imports only; bare package specifiers are not part of the project graph. */
  imports: z.array(ImportEdgeSchema),
});

export const CycleSchema = z.object({
  /** Every file of the strongly connected component, sorted. */
  files: z.array(z.string()).min(1),
  /** One concrete loop through the component, first file repeated at the end. */
  path: z.array(z.string()).min(2),
});

export const TestCoverageSchema = z.object({
  test: z.string(),
  direct: z.array(z.string()),
  /** Sources reached only through other sources (excludes `direct`). */
  transitive: z.array(z.string()),
});

export const UnusedExportSchema = z.object({
  file: z.string(),
  name: z.string(),
  kind: ExportKindSchema,
  line: z.number().int().positive(),
});

export const AnalysisReportSchema = z.object({
  version: z.literal(1),
  root: z.string(),
  /** tsconfig used to pick files (relative to root), or null when files were found by walking the tree. */
  tsconfig: z.string().nullable(),
  durationMs: z.number().nonnegative(),
  summary: z.object({
    files: z.number().int().nonnegative(),
    testFiles: z.number().int().nonnegative(),
    testSupportFiles: z.number().int().nonnegative(),
    lines: z.number().int().nonnegative(),
    declarations: z.number().int().nonnegative(),
    exports: z.number().int().nonnegative(),
    importEdges: z.number().int().nonnegative(),
    cycles: z.number().int().nonnegative(),
    typeOnlyCycles: z.number().int().nonnegative(),
    unusedExports: z.number().int().nonnegative(),
  }),
  files: z.array(FileInfoSchema),
  declarations: z.array(DeclarationMetricSchema),
  largest: z.array(DeclarationMetricSchema),
  mostComplex: z.array(DeclarationMetricSchema),
  /** Import cycles through runtime edges only (what module loading actually goes round). */
  cycles: z.array(CycleSchema),
  /** Cycles that close only through `import type` / `export type` edges: harmless at run time. */
  typeOnlyCycles: z.array(CycleSchema),
  tests: z.array(TestCoverageSchema),
  /** Non-test sources that no test file reaches, directly or transitively. */
  untested: z.array(z.string()),
  unusedExports: z.array(UnusedExportSchema),
});

export type DeclarationKind = z.infer<typeof DeclarationKindSchema>;
export type DeclarationMetric = z.infer<typeof DeclarationMetricSchema>;
export type ExportKind = z.infer<typeof ExportKindSchema>;
export type ExportEntry = z.infer<typeof ExportEntrySchema>;
export type ImportEdge = z.infer<typeof ImportEdgeSchema>;
export type FileInfo = z.infer<typeof FileInfoSchema>;
export type Cycle = z.infer<typeof CycleSchema>;
export type TestCoverage = z.infer<typeof TestCoverageSchema>;
export type UnusedExport = z.infer<typeof UnusedExportSchema>;
export type AnalysisReport = z.infer<typeof AnalysisReportSchema>;
