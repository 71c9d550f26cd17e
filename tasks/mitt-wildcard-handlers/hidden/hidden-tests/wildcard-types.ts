import mitt, {
  type EventHandlerMap,
  type EventType,
  type WildCardEventHandlerList,
  type WildcardHandler,
} from "../src/index.ts";

const emitter = mitt();
emitter.on("*", (type, e) => {
  const t: EventType = type;
  console.log(t, e);
});
const handler: WildcardHandler = (type: EventType, event?: unknown) => {
  console.log(type, event);
};
emitter.on("*", handler);
emitter.off("*", handler);
emitter.emit("foo", { a: 1 });

const list: WildCardEventHandlerList = [handler];
const map: EventHandlerMap = new Map();
map.set("*", list);
mitt(map);

// a wildcard handler takes the event type first: a handler wanting a number there must not be accepted
// @ts-expect-error
const wrong: WildcardHandler = (type: number) => console.log(type);
console.log(wrong);
