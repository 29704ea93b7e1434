import type { BalancePolicy } from '../../config/sections/backends.js';

/** What a policy reads of a backend. */
export interface Candidate {
  readonly key: string;
  readonly weight: number;
  readonly inFlight: number;
  /** Smooth weighted round robin's running weight (nginx's `current_weight`), kept by the balancer. */
  currentWeight: number;
}

/**
 * Picks one backend among those that can take a request (the balancer has already left out the ones down,
 * draining or already tried by this request). Backends of weight 0 are standbys: picked only when no other is
 * available. `key` is the hash policy's request key (tenant or query text).
 *
 * - `round_robin`: smooth weighted round robin (nginx), so weights 3:1 give a a b a, not a a a b.
 * - `least_loaded`: fewest requests in flight per unit of weight; ties go to the first in round-robin order.
 * - `first_available`: the first in configuration order (an HA pair: the primary, then the next).
 * - `hash`: weighted rendezvous hashing (HRW) of the key with each backend: a key stays on its backend, and only
 *   the keys of a backend that leaves move.
 */
export function pickBackend<T extends Candidate>(policy: BalancePolicy, available: readonly T[], key: string): T | undefined {
  if (available.length === 0) return undefined;
  const weighted = hasStandbys(available) ? available.filter((c) => c.weight > 0) : available;
  switch (policy) {
    case 'first_available':
      return weighted[0];
    case 'round_robin':
      return smoothWeighted(weighted);
    case 'least_loaded':
      return leastLoaded(weighted);
    case 'hash':
      return rendezvous(weighted, key);
  }
}

/** Some of weight 0 and some above: the standbys are left out. Without allocating (the usual case). */
function hasStandbys(candidates: readonly Candidate[]): boolean {
  let zero = false;
  let positive = false;
  for (const c of candidates) {
    if (c.weight === 0) zero = true;
    else positive = true;
  }
  return zero && positive;
}

function smoothWeighted<T extends Candidate>(candidates: readonly T[]): T {
  let total = 0;
  let best = candidates[0] as T;
  for (const c of candidates) {
    const weight = Math.max(c.weight, 1);
    c.currentWeight += weight;
    total += weight;
    if (c.currentWeight > best.currentWeight) best = c;
  }
  best.currentWeight -= total;
  return best;
}

function leastLoaded<T extends Candidate>(candidates: readonly T[]): T {
  let best: T | undefined;
  let bestLoad = Infinity;
  // Start from the round-robin choice so equal loads still spread.
  const start = smoothWeighted(candidates);
  const offset = candidates.indexOf(start);
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[(offset + i) % candidates.length] as T;
    const load = c.inFlight / Math.max(c.weight, 1);
    if (load < bestLoad) {
      best = c;
      bestLoad = load;
    }
  }
  return best as T;
}

function rendezvous<T extends Candidate>(candidates: readonly T[], key: string): T {
  let best = candidates[0] as T;
  let bestScore = -Infinity;
  for (const c of candidates) {
    // A uniform draw in (0, 1) from the pair; -w / ln(u) is weighted HRW (Schindelhauer & Schomaker).
    const u = (fnv1a(`${c.key}\u0000${key}`) + 0.5) / 4_294_967_296;
    const score = -Math.max(c.weight, 1) / Math.log(u);
    if (score > bestScore) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

/** 32-bit FNV-1a with a final avalanche (murmur3's fmix32), enough to spread keys; not for security. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
