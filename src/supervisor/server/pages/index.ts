export type { PageOptions } from "./actions.ts";
export { renderDashboard } from "./dashboard-page.ts";
export { type HeldGeneration, renderHeld } from "./gate-hold-view.ts";
export { renderGenerationPage, renderMissingGenerationPage } from "./generation-page.ts";
export { wantsHtml } from "./send-html.ts";
