import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local STS answering AssumeRoleWithWebIdentity the way @aws-sdk/client-sts v3 calls it: the awsQuery
 * protocol, a form POST with `Action=AssumeRoleWithWebIdentity&Version=2011-06-15&...`, and an XML answer
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html).
 * The test sets `mode` to make it fail, and sets the credentials' lifetime relative to its fake clock.
 */
export interface StsCall {
  readonly action: string | null;
  readonly roleArn: string | null;
  readonly token: string | null;
  readonly sessionName: string | null;
}

export interface FakeSts {
  readonly url: URL;
  readonly calls: StsCall[];
  /** `ok`, or `down` (HTTP 503) or `denied` (400 InvalidIdentityToken). */
  mode: 'ok' | 'down' | 'denied';
  /** Expiration of the credentials handed out next. */
  expiresAt: Date;
  close(): Promise<void>;
}

const escapeXml = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

function successXml(n: number, expiresAt: Date): string {
  return `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:monitoring:scopegate</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/amp/scopegate</Arn><AssumedRoleId>AROA:scopegate</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIASTS${n}</AccessKeyId>
      <SecretAccessKey>sts-secret-${n}</SecretAccessKey>
      <SessionToken>sts-session-${n}</SessionToken>
      <Expiration>${expiresAt.toISOString()}</Expiration>
    </Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-${n}</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`;
}

const DENIED_XML = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>token rejected</Message></Error>
  <RequestId>req-denied</RequestId>
</ErrorResponse>`;

export async function startFakeSts(expiresAt: Date): Promise<FakeSts> {
  const calls: StsCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      calls.push({
        action: form.get('Action'),
        roleArn: form.get('RoleArn'),
        token: form.get('WebIdentityToken'),
        sessionName: form.get('RoleSessionName'),
      });
      if (sts.mode === 'down') {
        res.writeHead(503).end();
      } else if (sts.mode === 'denied') {
        res.writeHead(400, { 'content-type': 'text/xml' }).end(DENIED_XML);
      } else if (form.get('Action') !== 'AssumeRoleWithWebIdentity') {
        res.writeHead(400, { 'content-type': 'text/xml' }).end(DENIED_XML.replace('InvalidIdentityToken', escapeXml('InvalidAction')));
      } else {
        res.writeHead(200, { 'content-type': 'text/xml' }).end(successXml(calls.length, sts.expiresAt));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const sts: FakeSts = {
    url: new URL(`http://127.0.0.1:${port}`),
    calls,
    mode: 'ok',
    expiresAt,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return sts;
}
