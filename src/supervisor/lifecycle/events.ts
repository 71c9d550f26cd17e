import type { SupervisorEvent } from "../../../schemas/events.ts";

/** Where the Supervisor's parts report what they do (`GET /logs` streams it; schemas/events.ts). */
export type SupervisorEmit = (event: SupervisorEvent) => void;
