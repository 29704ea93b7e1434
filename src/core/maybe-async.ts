/**
 * A value now, or a promise of it. The request path's steps return one where they usually need not wait
 * (a static token, no limit rule, nothing to read before forwarding): an async function allocates its
 * frame and promises on every call, and that was the bulk of what a request allocated in the gateway's own
 * code. Steps that truly wait (a JWT signature, a body, Redis) still return promises.
 */
export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `next(value)`: at once when the value is here, once it is otherwise. A throw in `next` stays a throw. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return isPromise(value) ? value.then(next) : next(value);
}
