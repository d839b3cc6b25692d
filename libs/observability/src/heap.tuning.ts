import { setFlagsFromString } from 'node:v8';

let cap = 0;
let bulk = 0;

const growBy = (percent: number) => setFlagsFromString(`--heap-growing-percent=${percent}`);

/**
 * Caps how far V8 lets the heap grow between full collections. Left to its
 * own factor, a daemon under steady load lets short-lived request garbage
 * pile up to several times its live heap before collecting it: measured at
 * 100k keys and 16 grants in flight, RSS went from about 180 MB to 360-390 MB
 * while the live heap stayed near 50-60 MB. V8 reads this factor each time it
 * sizes the heap after a collection, so setting it at start takes effect (it
 * cannot be given in NODE_OPTIONS). There is no fixed limit, so a larger live
 * heap still fits.
 */
export function capHeapGrowth(percent: number): void {
  cap = Math.trunc(percent);
  if (cap > 0 && bulk === 0) growBy(cap);
}

/**
 * Lifts the cap while bulk work (an import) holds a large live set: with it,
 * V8 would mark that whole set every time the heap grew by a fifth, and an
 * import of 100k rows took 1.8 times its raw adds instead of 1.4-1.6.
 * Returns the function that ends the bulk work; the cap is back once none is
 * running.
 */
export function liftHeapCap(): () => void {
  // 0 is V8's own factor.
  if (bulk++ === 0 && cap > 0) growBy(0);
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--bulk === 0 && cap > 0) growBy(cap);
  };
}
