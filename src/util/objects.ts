/**
 * `{ ...base, ...extra }`, made so that the objects it makes share one hidden class.
 *
 * In the V8 of Node 20, an object literal that spreads an object and then adds a property the
 * object did not have (`{ ...image, seq }`) gets a hidden class of its own every time once its
 * inline cache is warm (the test shows it): each image of a survey then carries maps of its own
 * through the stream, every property read on it misses V8's caches, and each such literal cost
 * ~2 µs a new property. `Object.assign` onto a fresh object takes the shared transitions (~0.2 µs).
 * The objects given are the stream's own records (no `__proto__` key, which `Object.assign` would
 * set rather than copy).
 * @example withFields(image, { seq: 7 })  // { name: 'IMG_0001.JPG', path: '…', seq: 7 }
 */
export function withFields<B extends object, E extends object>(base: B, extra: E): B & E {
  return Object.assign({}, base, extra);
}

/**
 * A field whose value is built when first read, for records that may wait long before anyone reads
 * it: a run's annotated images wait for their turn to be written, and points built at once lived
 * long enough for the collector to copy and promote them all. To whoever reads it, it is an
 * ordinary enumerable property — spread, `Object.assign`, `JSON.stringify` and deep equality read
 * the value; writing it replaces the value. Every object gets the same getter and setter, and keeps
 * what they need in a hidden (non-enumerable, symbol-keyed) property: records keep one shared hidden
 * class. (Kept in a `WeakMap` instead, the built values were promoted as before: bench/README.md.)
 * @example
 * const classified = lazyField<ClassifiedPoint[], 'classified'>('classified');
 * const outcome = classified(withFields(planned, { ok: true }), () => pointsOf(result));
 */
export function lazyField<V, K extends string = string>(key: K): <T extends object>(target: T, build: () => V) => T & Record<K, V> {
  const STATE = Symbol(key);
  interface State {
    build?: () => V;
    value?: V;
  }
  const hide = (target: object, state: State): void => hideField(target, STATE, state);
  const descriptor: PropertyDescriptor = {
    get(this: Record<symbol, State | undefined>): V | undefined {
      const state = this[STATE];
      if (state === undefined) throw new Error(`${key}: nothing to read`);
      if (state.build) {
        state.value = state.build();
        state.build = undefined;
      }
      return state.value;
    },
    set(this: object, value: V) {
      hide(this, { value });
    },
    enumerable: true,
    configurable: true,
  };
  return <T extends object>(target: T, build: () => V): T & Record<K, V> => {
    hide(target, { build });
    Object.defineProperty(target, key, descriptor);
    return target as T & Record<K, V>;
  };
}

/**
 * Sets a property that only its key's holder reads: symbol-keyed and not enumerable, so that spread,
 * `Object.assign`, `JSON.stringify` and deep equality pass it by; objects given the same keys in the
 * same order keep one shared hidden class.
 * @example hideField(image, BUILD_POINTS, () => pointsOf(packed, 0))
 */
export function hideField(target: object, key: symbol, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true });
}
