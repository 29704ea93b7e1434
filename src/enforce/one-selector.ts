import { singleSelector, type LabelSelector, type LimitedPolicy } from '../policy/label-policy.js';
import { InexpressiblePolicy } from './errors.js';

/**
 * The one selector of a policy, for an enforcer (or a form of a request) that can only AND matchers: a policy
 * of several selectors throws InexpressiblePolicy (403 `policy_not_expressible`), never a per-label merge that
 * would be wider than the union. `what` names the request form in the message.
 */
export function onlySelector(policy: LimitedPolicy, what: string): LabelSelector {
  const selector = singleSelector(policy);
  if (selector === undefined) {
    throw new InexpressiblePolicy(`${what} cannot be limited exactly to a label policy of ${policy.selectors.length} selectors`);
  }
  return selector;
}
