/**
 * Bounded cardinality for per-identity metrics: per tenant, the `topN` identities with the highest cost keep
 * their own label value; every other one is counted under `other`. A tenant's identities are ranked by a
 * score (the cost they ran), halved every `halfLifeMs` so yesterday's heavy user yields to today's.
 *
 * An identity outside the top N takes a place once its score is over twice the lowest labelled one's (so two
 * close identities do not swap on every request); the one it displaces is reported to `onEvicted`, which
 * removes its series (their counts are in `other` from then on). Identities outside the top N are tracked up
 * to `8 × topN` per tenant, the lowest forgotten first: memory is bounded by tenants × 9N.
 */
export interface IdentityFolding {
  /** The label value to count this request under, after adding `score` to the identity's. */
  labelFor(tenant: string, identity: string, score: number): string;
}

export const OTHER_IDENTITIES = 'other';

interface TenantRanking {
  readonly labelled: Map<string, number>;
  readonly tracked: Map<string, number>;
  halvedAt: number;
}

export function createIdentityFolding(options: {
  readonly topN: number;
  readonly halfLifeMs: number;
  readonly now: () => number;
  readonly onEvicted: (tenant: string, identity: string) => void;
}): IdentityFolding {
  const tenants = new Map<string, TenantRanking>();
  const maxTracked = 8 * options.topN;

  function rankingOf(tenant: string): TenantRanking {
    let ranking = tenants.get(tenant);
    if (ranking === undefined) {
      ranking = { labelled: new Map(), tracked: new Map(), halvedAt: options.now() };
      tenants.set(tenant, ranking);
    }
    const now = options.now();
    while (now - ranking.halvedAt >= options.halfLifeMs) {
      for (const scores of [ranking.labelled, ranking.tracked]) for (const [id, score] of scores) scores.set(id, score / 2);
      ranking.halvedAt += options.halfLifeMs;
    }
    return ranking;
  }

  return {
    labelFor(tenant, identity, score) {
      if (identity === OTHER_IDENTITIES) return OTHER_IDENTITIES;
      const { labelled, tracked } = rankingOf(tenant);
      const held = labelled.get(identity);
      if (held !== undefined) {
        labelled.set(identity, held + score);
        return identity;
      }
      const total = (tracked.get(identity) ?? 0) + score;
      if (labelled.size < options.topN) {
        tracked.delete(identity);
        labelled.set(identity, total);
        return identity;
      }
      const [lowest, lowestScore] = lowestOf(labelled);
      if (lowest !== undefined && total > 2 * lowestScore) {
        labelled.delete(lowest);
        tracked.set(lowest, lowestScore);
        tracked.delete(identity);
        labelled.set(identity, total);
        options.onEvicted(tenant, lowest);
        return identity;
      }
      tracked.set(identity, total);
      if (tracked.size > maxTracked) {
        const [forgotten] = lowestOf(tracked);
        if (forgotten !== undefined) tracked.delete(forgotten);
      }
      return OTHER_IDENTITIES;
    },
  };
}

function lowestOf(scores: ReadonlyMap<string, number>): [string | undefined, number] {
  let lowest: string | undefined;
  let lowestScore = Infinity;
  for (const [id, score] of scores) {
    if (score < lowestScore) {
      lowest = id;
      lowestScore = score;
    }
  }
  return [lowest, lowestScore];
}
