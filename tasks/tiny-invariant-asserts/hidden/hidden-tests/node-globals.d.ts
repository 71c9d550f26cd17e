// The one Node global the package's source reads, so this check needs no @types/node.
declare const process: { env: Record<string, string | undefined> };
