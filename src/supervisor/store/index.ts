export { formatGenerations } from "./format-generations.ts";
export { costSummary, formatLineageTree, PROMOTED_MARK } from "./format-lineage-tree.ts";
export { type AllocateInput, GenerationPatch, GenerationStore } from "./generation-store.ts";
export { Intent, type IntentInput, IntentJournal } from "./intent-journal.ts";
export { LineageEvent, readLineage } from "./lineage-log.ts";
export {
  deriveLineageTree,
  type LineageNode,
  type LineageRow,
  type LineageTree,
  lineageRows,
} from "./lineage-tree.ts";
export { CURRENT_RECORD_VERSION, migrate } from "./migrate.ts";
export { StoreError, type StoreErrorCode } from "./store-error.ts";
export { allowedFrom, canTransition, isTerminal, PROMOTION_REVERT } from "./transitions.ts";
