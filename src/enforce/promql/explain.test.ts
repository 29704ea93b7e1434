import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, type LabelPolicy } from '../../policy/label-policy.js';
import { QueryParseError } from '../errors.js';
import { describeQueryEnforcement, explainQuery } from './explain.js';

const POLICY = buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy;

describe('explainQuery', () => {
  it('returns exactly what would be sent upstream', () => {
    assert.equal(explainQuery('sum(rate(x[5m]))', POLICY), 'sum(rate(x{namespace="team-a"}[5m]))');
  });
  it('reports policy, received and upstream query', () => {
    assert.equal(describeQueryEnforcement('up', POLICY), 'policy:   namespace="team-a"\nreceived: up\nupstream: up{namespace="team-a"}');
  });
  it('throws QueryParseError for an unparsable query', () => {
    assert.throws(() => explainQuery('up{', POLICY), QueryParseError);
  });
});
