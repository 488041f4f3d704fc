/*
 * petrel - the control command of a Petrel instance (postfix(1)):
 * "petrel [-c config_dir] start | start-fg | stop | abort | reload | status |
 * check | flush", "petrel [-d dir] [-p port] dev", which sets up the
 * development instance (loopback port, queue, mailboxes and log under one
 * folder, ./run by default) and runs it in the foreground, and "petrel
 * saslpasswd ...", which edits the users of the petrel SASL type.
 */
import { join } from 'node:path';
import { resolveConfigDir } from '../global/config/config-dir.js';
import { runCommand } from '../util/command-main.js';
import { getoptOrUsage } from '../util/getopt.js';
import { msg } from '../util/msg.js';
import { checkInstance, controlConfig, flushQueue, masterStatus, runMasterForeground, signalMaster, startMaster } from './petrel-control.js';
import { setUpDevInstance } from './petrel-dev.js';
import { runSaslpasswd, SASLPASSWD_USAGE } from './petrel-saslpasswd.js';

const COMMANDS = ['dev', 'start', 'start-fg', 'stop', 'abort', 'reload', 'status', 'check', 'flush'];
const USAGE = `usage: petrel [-c config_dir] start|start-fg|stop|abort|reload|status|check|flush\n       petrel [-d dev_root] [-p dev_port] dev\n       ${SASLPASSWD_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const parsed = getoptOrUsage(argv, 'c:d:p:', USAGE);
  const value = (letter: string): string | undefined => parsed.options.findLast((o) => o.letter === letter)?.value;
  const [command, ...rest] = parsed.operands;
  if (command === 'saslpasswd') return runSaslpasswd(rest);
  if (command === undefined || rest.length > 0 || !COMMANDS.includes(command)) return msg.fatal(USAGE);
  if (command === 'dev') {
    const port = Number(value('p') ?? '2525');
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return msg.fatal(`bad port: ${value('p') ?? ''}`);
    const instance = await setUpDevInstance(value('d') ?? 'run', port);
    process.stdout.write(`Petrel development instance in ${instance.root}: SMTP on 127.0.0.1:${port}\n`);
    process.stdout.write(`configuration ${instance.configDir}; mail in ${join(instance.root, 'mail')}; log ${join(instance.root, 'log', 'maillog')}\n`);
    process.stdout.write(`other commands: ./bin/postqueue -c ${instance.configDir} -p   (Ctrl-C stops)\n`);
    return runMasterForeground(controlConfig(instance.configDir));
  }
  const config = controlConfig(resolveConfigDir(value('c')));
  switch (command) {
    case 'start':
      return startMaster(config);
    case 'start-fg':
      return runMasterForeground(config);
    case 'stop':
      return signalMaster(config, 'SIGTERM');
    case 'abort':
      return signalMaster(config, 'SIGKILL');
    case 'reload':
      return signalMaster(config, 'SIGHUP');
    case 'status':
      return masterStatus(config);
    case 'check':
      return checkInstance(config);
    case 'flush':
      return flushQueue(config);
    default:
      return msg.fatal(USAGE);
  }
}

runCommand('petrel', main);
