import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files on disk (paths) and their contents, as the gateway's config and a test client need them. */
export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly caFile: string;
  readonly ca: string;
  /** Issues a certificate for `cn`, valid for 127.0.0.1 and localhost (server and client use). */
  issue(cn: string): Promise<CertFiles>;
  remove(): Promise<void>;
}

/** A throwaway CA made with the openssl CLI (Debian's), in a temp directory. */
export async function createTestPki(name = 'scopegate-test-ca'): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  );
  let serial = 1;
  return {
    caFile: join(dir, 'ca.pem'),
    ca: await readFile(join(dir, 'ca.pem'), 'utf8'),
    async issue(cn) {
      const base = `${cn}-${serial}`;
      await writeFile(
        join(dir, `${base}.ext`),
        ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth,clientAuth', 'basicConstraints=CA:FALSE'].join('\n'),
      );
      openssl(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-subj',
        `/CN=${cn}`,
        '-keyout',
        `${base}.key`,
        '-out',
        `${base}.csr`,
      );
      openssl(
        'x509',
        '-req',
        '-in',
        `${base}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        String(serial),
        '-days',
        '2',
        '-extfile',
        `${base}.ext`,
        '-out',
        `${base}.pem`,
      );
      serial += 1;
      const certFile = join(dir, `${base}.pem`);
      const keyFile = join(dir, `${base}.key`);
      return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
