import { filterRuleConfig, type RuleConfigShape, type RuleLanguage } from '../../enforce/responses/rule-config.js';
import { NotFound } from '../../core/http-errors.js';
import type { Endpoint } from '../endpoint.js';

/**
 * The ruler's configuration API as read rows (Loki `/loki/api/v1/rules`, Mimir `/prometheus/config/v1/rules`;
 * Cortex/Mimir ruler "Get rule groups": `GET <base>`, `<base>/{namespace}`, `<base>/{namespace}/{groupName}`,
 * YAML). For an identity limited by a label policy the answer is cut to the groups all of whose rules read
 * and claim inside the policy (enforce/responses/rule-config.ts); when none is left the answer is the ruler's
 * own for no groups, 404 (`rule_group_not_found`), so a limited identity cannot tell another namespace's
 * groups from missing ones. An unreadable answer is a 502. Without a policy the tenant header isolates and
 * the answer is relayed as it is.
 */
export function rulerConfigReadRows(name: string, base: string, component: string, language: RuleLanguage): Endpoint[] {
  const escaped = base.replace(/[/.]/g, (c) => `\\${c}`);
  const row = (path: RegExp, shape: RuleConfigShape): Endpoint => ({
    name,
    methods: ['GET'],
    path,
    scope: 'read',
    component,
    filterResponse: (body, ctx) => {
      if (ctx.policy === undefined) return body;
      const filtered = filterRuleConfig(body, ctx.policy, language, shape);
      if (filtered === undefined) throw new NotFound('rule_group_not_found', 'no rule groups found');
      return filtered;
    },
  });
  return [row(new RegExp(`^${escaped}(?:\\/[^/]+)?$`), 'namespaces'), row(new RegExp(`^${escaped}\\/[^/]+\\/[^/]+$`), 'group')];
}
