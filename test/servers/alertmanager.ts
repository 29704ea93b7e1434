import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort, retryOnPortClash } from './free-port.js';
import { makeTempDir, startManagedProcess } from './managed-process.js';

/** Every alert goes to a receiver that sends nothing: tests read alerts and silences through the API. */
const DEFAULT_CONFIG = `route:
  receiver: blackhole
  group_by: [namespace]
receivers:
  - name: blackhole
`;

export interface AlertmanagerOptions {
  /** alertmanager.yml content; default a single no-op receiver. */
  readonly configYaml?: string;
}

export interface AlertmanagerServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** Runs /usr/bin/prometheus-alertmanager on 127.0.0.1 with clustering off and a temp storage dir. */
export async function startAlertmanager(options: AlertmanagerOptions = {}): Promise<AlertmanagerServer> {
  return retryOnPortClash(async () => {
    const dir = await makeTempDir('alertmanager');
    await writeFile(join(dir, 'alertmanager.yml'), options.configYaml ?? DEFAULT_CONFIG);
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startManagedProcess(
      '/usr/bin/prometheus-alertmanager',
      [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // An empty address disables the gossip listener (no second port, no peers).
        '--cluster.listen-address=',
        '--log.level=warn',
      ],
      dir,
    );
    await proc.waitUntilOk(`${url}/-/ready`);
    return { url, stop: proc.stop };
  });
}
