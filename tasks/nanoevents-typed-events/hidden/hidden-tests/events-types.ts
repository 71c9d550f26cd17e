// Type-level checks for index.d.ts: compiled with tsc, never run.
import { createNanoEvents, type Emitter, type EmitterMixin, type Unsubscribe } from "../index.js";

interface Events {
  tick: (n: number) => void;
  set: (name: string, value: number) => void;
  done: () => void;
}

const emitter: Emitter<Events> = createNanoEvents<Events>();
emitter.emit("tick", 1);
emitter.emit("set", "width", 2);
emitter.emit("done");
// @ts-expect-error the argument does not match the listener's parameter
emitter.emit("tick", "1");
// @ts-expect-error an argument is missing
emitter.emit("set", "width");
// @ts-expect-error too many arguments
emitter.emit("done", 1);
// @ts-expect-error not an event of the map
emitter.emit("tock", 1);

export const unbind: Unsubscribe = emitter.on("tick", (n) => {
  const asNumber: number = n;
  // @ts-expect-error the listener's parameter is a number
  const asString: string = n;
  return [asNumber, asString];
});
emitter.on("set", (name, value) => {
  const key: string = name;
  const amount: number = value;
  return [key, amount];
});
// @ts-expect-error the listener does not fit the event
emitter.on("tick", (n: string) => n);
// @ts-expect-error not an event of the map
emitter.on("tock", () => {});

// Without a map, any event name and arguments are accepted
const loose = createNanoEvents();
loose.emit("anything", 1, "two", { three: 3 });
loose.on("anything", (...args) => args);

// A mixin exposes a typed `on` too
class Ticker implements EmitterMixin<Events> {
  emitter = createNanoEvents<Events>();
  on<K extends keyof Events>(event: K, cb: Events[K]): Unsubscribe {
    return this.emitter.on(event, cb);
  }
}
const mixin: EmitterMixin<Events> = new Ticker();
mixin.on("done", () => {});
// @ts-expect-error not an event of the map
mixin.on("tock", () => {});
// @ts-expect-error the listener does not fit the event
mixin.on("set", (name: number) => name);
