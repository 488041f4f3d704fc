/*
 * petrel - the control command of a Petrel instance (as Postfix's postfix(1)):
 * "petrel [-c config_dir] COMMAND". Today it knows "dev": set up the
 * development instance under ./run (loopback port 2525, queue, mailboxes and
 * log under that one folder) and print its effective configuration. The
 * daemon commands (start, stop, reload, ...) arrive with the master daemon.
 */
import { join } from 'node:path';
import { ConfigSource } from '../global/config/config-source.js';
import { readMasterCf } from '../global/config/master-cf-read.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';
import { setUpDevInstance } from './petrel-dev.js';

const USAGE = 'usage: petrel [-d dev_root] [-p dev_port] dev';

async function main(argv: string[]): Promise<number> {
  const parsed = getoptOrUsage(argv, 'd:p:', USAGE);
  const [command] = parsed.operands;
  if (command !== 'dev') msg.fatal(USAGE);
  const root = parsed.options.findLast((o) => o.letter === 'd')?.value ?? 'run';
  const port = Number(parsed.options.findLast((o) => o.letter === 'p')?.value ?? '2525');
  if (!Number.isInteger(port) || port <= 0 || port > 65535) msg.fatal(`bad port: ${port}`);
  const instance = await setUpDevInstance(root, port);
  const source = new ConfigSource({ configDir: instance.configDir });
  const settings = [...source.mainCf.settings.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  process.stdout.write(`Petrel development instance in ${instance.root}\n`);
  process.stdout.write(`configuration: ${instance.configDir} (use -c ${instance.configDir} or MAIL_CONFIG with every command)\n\n`);
  process.stdout.write(`main.cf settings (postconf -n):\n${settings.map((s) => `  ${s.name} = ${s.value}`).join('\n')}\n\n`);
  const services = readMasterCf(join(instance.configDir, 'master.cf'));
  process.stdout.write(`master.cf services: ${services.map((s) => `${s.service}/${s.type} (${s.command})`).join(', ')}\n\n`);
  process.stdout.write('The mail daemons (master, smtpd, queue, delivery) are not built yet, so nothing is started.\n');
  process.stdout.write(`Try: ./bin/postconf -c ${instance.configDir} -n   or   ./bin/postalias -c ${instance.configDir} -q postmaster hash:${join(instance.configDir, 'aliases')}\n`);
  return 0;
}

runCommand('petrel', main);
