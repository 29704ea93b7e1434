import { ServiceUnavailable } from '../../core/http-errors.js';

/** Every backend of the upstream is down (or draining): answered at once, no request waits on one. */
export function noBackendAvailable(upstream: string): ServiceUnavailable {
  return new ServiceUnavailable('no_backend_available', `every backend of upstream ${upstream} is down; retry later`);
}
