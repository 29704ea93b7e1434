import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLabelPolicy, FULL_ACCESS, type LabelPolicy } from '../../policy/label-policy.js';
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
            labels: { namespace: 'minio', severity: 'page' },
            alerts: [
              { labels: { alertname: 'MinioDown', namespace: 'minio' }, state: 'firing' },
              { labels: { alertname: 'MinioDown', namespace: 'other' }, state: 'firing' },
            ],
          },
          { type: 'alerting', name: 'OtherDown', labels: { namespace: 'mongo' }, alerts: [] },
          { type: 'recording', name: 'job:up', query: 'sum(up)' },
        ],
      },
      { name: 'foreign', file: 'b.yml', rules: [{ type: 'recording', name: 'x', labels: { namespace: 'kube' } }] },
      { name: 'stolon', file: 'c.yml', rules: [{ type: 'recording', name: 'y', labels: { namespace: 'stolon' } }] },
    ],
  },
};

describe('filterRulesResponse', () => {
  it('keeps only rules (and their alerts) inside the policy and drops empty groups', () => {
    const out = JSON.parse(filterRulesResponse(json(RULES), POLICY).toString());
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
                labels: { namespace: 'minio', severity: 'page' },
                alerts: [{ labels: { alertname: 'MinioDown', namespace: 'minio' }, state: 'firing' }],
              },
            ],
          },
          { name: 'stolon', file: 'c.yml', rules: [{ type: 'recording', name: 'y', labels: { namespace: 'stolon' } }] },
        ],
      },
    });
  });

  it('returns the body unchanged for full access', () => {
    const body = json(RULES);
    assert.equal(filterRulesResponse(body, FULL_ACCESS), body);
  });

  it('throws on unparsable JSON or an unexpected shape', () => {
    assert.throws(() => filterRulesResponse(Buffer.from('{"status":"success",'), POLICY), UnsupportedInput);
    assert.throws(() => filterRulesResponse(json({ status: 'success', data: { groups: {} } }), POLICY), UnsupportedInput);
  });

  it('drops data from a non-success envelope', () => {
    const out = JSON.parse(filterRulesResponse(json({ status: 'error', error: 'x', data: RULES.data }), POLICY).toString());
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
    assert.deepEqual(out.data.alerts.map((a: { labels: { alertname: string } }) => a.labels.alertname), ['A', 'D']);
  });
});
