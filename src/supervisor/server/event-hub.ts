import { SseHub } from "../../shared/http/sse.ts";
import type { SupervisorEvent } from "../lifecycle/events.ts";

/** Fans Supervisor events out to SSE clients; a new client first gets the recent history. */
export class EventHub extends SseHub<SupervisorEvent> {}
