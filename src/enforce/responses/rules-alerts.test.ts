import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, buildSelectorsPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { filterAlertsResponse, filterRulesResponse } from './rules-alerts.js';

const POLICY = buildLabelPolicy({ values: ['min.*', 'stolon'] }) as LabelPolicy;

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

const RULES = {
  status: 'success',
  data: {
    groups: [
      {
        name: 'mixed',
        file: 'a.yml',
        interval: 30,
        rules: [
          {
            type: 'alerting',
            name: 'MinioDown',
            query: 'up{namespace="minio"} == 0',
            labels: { namespace: 'minio', severity: 'page' },
            alerts: [
              { labels: { alertname: 'MinioDown', namespace: 'minio' }, state: 'firing' },
              { labels: { alertname: 'MinioDown', namespace: 'other' }, state: 'firing' },
            ],
          },
          { type: 'alerting', name: 'OtherDown', query: 'up{namespace="minio"} == 0', labels: { namespace: 'mongo' }, alerts: [] },
          // Labelled inside the policy, but its query reads another namespace: not shown.
          { type: 'alerting', name: 'Peek', query: 'up{namespace="mongo"} == 0', labels: { namespace: 'minio' }, alerts: [] },
          { type: 'recording', name: 'job:up', query: 'sum(up)' },
        ],
      },
      {
        name: 'foreign',
        file: 'b.yml',
        rules: [{ type: 'recording', name: 'x', query: 'x{namespace="kube"}', labels: { namespace: 'kube' } }],
      },
      {
        name: 'stolon',
        file: 'c.yml',
        rules: [{ type: 'recording', name: 'y', query: 'y{namespace="stolon"}', labels: { namespace: 'stolon' } }],
      },
      { name: 'unlabelled', file: 'd.yml', rules: [{ type: 'recording', name: 'z', query: 'sum(z{namespace="stolon"})' }] },
    ],
  },
};

describe('filterRulesResponse', () => {
  it('keeps only rules (and their alerts) inside the policy and drops empty groups', () => {
    const out = JSON.parse(filterRulesResponse(json(RULES), POLICY, 'promql').toString());
    assert.deepEqual(out, {
      status: 'success',
      data: {
        groups: [
          {
            name: 'mixed',
            file: 'a.yml',
            interval: 30,
            rules: [
              {
                type: 'alerting',
                name: 'MinioDown',
                query: 'up{namespace="minio"} == 0',
                labels: { namespace: 'minio', severity: 'page' },
                alerts: [{ labels: { alertname: 'MinioDown', namespace: 'minio' }, state: 'firing' }],
              },
            ],
          },
          {
            name: 'stolon',
            file: 'c.yml',
            rules: [{ type: 'recording', name: 'y', query: 'y{namespace="stolon"}', labels: { namespace: 'stolon' } }],
          },
          { name: 'unlabelled', file: 'd.yml', rules: [{ type: 'recording', name: 'z', query: 'sum(z{namespace="stolon"})' }] },
        ],
      },
    });
  });

  it('reads Loki rules as LogQL: a LogQL selector inside the policy is shown, PromQL-only syntax is not', () => {
    const rules = (query: string) =>
      json({ status: 'success', data: { groups: [{ name: 'g', rules: [{ type: 'recording', name: 'r', query }] }] } });
    const kept = (body: Buffer) => JSON.parse(filterRulesResponse(body, POLICY, 'logql').toString()).data.groups.length;
    assert.equal(kept(rules('sum(rate({namespace="stolon"} |= "x" [5m]))')), 1);
    assert.equal(kept(rules('sum(rate({namespace="other"}[5m]))')), 0);
    assert.equal(kept(rules('rate(y{namespace="stolon"}[5m])')), 0);
  });

  it('returns the body unchanged for full access', () => {
    const body = json(RULES);
    assert.equal(filterRulesResponse(body, FULL_ACCESS, 'promql'), body);
  });

  it('throws on unparsable JSON or an unexpected shape', () => {
    assert.throws(() => filterRulesResponse(Buffer.from('{"status":"success",'), POLICY, 'promql'), UnsupportedInput);
    assert.throws(() => filterRulesResponse(json({ status: 'success', data: { groups: {} } }), POLICY, 'promql'), UnsupportedInput);
  });

  it('drops data from a non-success envelope', () => {
    const out = JSON.parse(filterRulesResponse(json({ status: 'error', error: 'x', data: RULES.data }), POLICY, 'promql').toString());
    assert.deepEqual(out, { status: 'error', error: 'x' });
  });
});

describe('filterAlertsResponse', () => {
  it('keeps only alerts whose labels satisfy the policy', () => {
    const body = json({
      status: 'success',
      data: {
        alerts: [
          { labels: { alertname: 'A', namespace: 'minio' } },
          { labels: { alertname: 'B', namespace: 'secret' } },
          { labels: { alertname: 'C' } },
          { labels: { alertname: 'D', namespace: 'stolon' } },
        ],
      },
    });
    const out = JSON.parse(filterAlertsResponse(body, POLICY).toString());
    assert.deepEqual(
      out.data.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname),
      ['A', 'D'],
    );
  });
});

describe('rules and alerts under a policy of several selectors (DNF)', () => {
  const DNF = buildSelectorsPolicy([{ namespace: 'a', env: 'prod' }, { namespace: 'shared' }]) as LabelPolicy;
  const rule = (name: string, query: string, labels?: Record<string, string>) => ({
    type: 'recording',
    name,
    query,
    ...(labels ? { labels } : {}),
  });
  const shown = (rules: unknown[], language: 'promql' | 'logql' = 'promql') =>
    JSON.parse(
      filterRulesResponse(json({ status: 'success', data: { groups: [{ name: 'g', rules }] } }), DNF, language).toString(),
    ).data.groups.flatMap((g: { rules: { name: string }[] }) => g.rules.map((r) => r.name));

  it('a rule is shown when each of its selectors reads inside one policy selector', () => {
    assert.deepEqual(
      shown([
        rule('one', 'up{namespace="a", env="prod"}'),
        rule('both', 'up{namespace="a", env="prod"} + on() group_left sum(up{namespace="shared"})'),
        rule('mixed', 'up{namespace="a"}'), // namespace a without env="prod" is outside
        rule('widening', 'up{namespace="shared"} or up{env="prod"}'),
        rule('claims-other', 'up{namespace="shared"}', { namespace: 'a', env: 'dev' }),
        rule('claims-own', 'up{namespace="shared"}', { namespace: 'shared' }),
        rule('nothing-labelled', 'vector(1)', { namespace: 'a', env: 'prod' }),
        rule('nothing-half-labelled', 'vector(1)', { namespace: 'a' }),
      ]),
      ['one', 'both', 'claims-own', 'nothing-labelled'],
    );
    assert.deepEqual(shown([rule('l', 'sum(rate({namespace="shared"}[5m]))'), rule('m', 'sum(rate({namespace="a"}[5m]))')], 'logql'), [
      'l',
    ]);
  });

  it('an alert is kept when its labels satisfy one selector', () => {
    const body = json({
      status: 'success',
      data: {
        alerts: [
          { labels: { alertname: 'A', namespace: 'a', env: 'prod' } },
          { labels: { alertname: 'B', namespace: 'a', env: 'dev' } },
          { labels: { alertname: 'C', namespace: 'shared' } },
        ],
      },
    });
    assert.deepEqual(
      JSON.parse(filterAlertsResponse(body, DNF).toString()).data.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname),
      ['A', 'C'],
    );
  });
});
