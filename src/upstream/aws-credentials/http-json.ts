import { request, type Dispatcher } from 'undici';
import { CredentialSourceError } from './credentials.js';

export interface JsonRequest {
  readonly method: 'GET' | 'POST';
  readonly headers: Record<string, string>;
  readonly body?: string;
  readonly signal: AbortSignal;
  readonly dispatcher?: Dispatcher;
}

/**
 * One JSON call to a credential source (Vault, an OIDC token endpoint). A non-2xx answer becomes a
 * CredentialSourceError with the status only: the body may echo a token or hold a secret, so it is not kept.
 */
export async function requestJson(url: URL, init: JsonRequest, source: string): Promise<unknown> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, {
      method: init.method,
      headers: init.headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: init.signal,
      ...(init.dispatcher === undefined ? {} : { dispatcher: init.dispatcher }),
    });
  } catch (error) {
    throw new CredentialSourceError(`${source}_unreachable`, `${source} at ${url.origin} is unreachable`, { cause: error });
  }
  if (response.statusCode < 200 || response.statusCode > 299) {
    await response.body.dump();
    throw new CredentialSourceError(`${source}_http_${response.statusCode}`, `${source} answered HTTP ${response.statusCode}`);
  }
  try {
    return await response.body.json();
  } catch (error) {
    throw new CredentialSourceError(`${source}_bad_response`, `${source} answered with invalid JSON`, { cause: error });
  }
}
