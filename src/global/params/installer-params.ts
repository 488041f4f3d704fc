/*
 * installer-params - parameters Postfix installers (postfix-install, the
 * Debian package) always write into main.cf and that ask Petrel to do
 * nothing: where programs and documents were installed, and switches for
 * features that only an installer or a debugger uses. Declared so that such
 * a main.cf loads without "unused parameter" warnings; each doc says why
 * Petrel needs no action. Defaults are Postfix's (postconf(5)), with
 * Petrel's names where Postfix names itself.
 */
import { defineParams } from './param-types.js';

/** Installer-written parameters that need no action. */
export const INSTALLER_PARAMS = defineParams({
  biff: { kind: 'bool', default: 'yes', doc: 'Notify the comsat (biff) service of local deliveries; Petrel never does, and biff is unused on current systems' },
  command_directory: { kind: 'string', default: '/usr/sbin', doc: 'Where the commands are installed; Petrel finds its programs beside itself' },
  data_directory: { kind: 'string', default: '/var/lib/petrel', doc: 'Where daemons keep caches (the smtp TLS session cache); petrel start creates it for mail_owner' },
  mailq_path: { kind: 'string', default: '/usr/bin/mailq', doc: 'Where mailq is installed (for the installer only)' },
  newaliases_path: { kind: 'string', default: '/usr/bin/newaliases', doc: 'Where newaliases is installed (for the installer only)' },
  sendmail_path: { kind: 'string', default: '/usr/sbin/sendmail', doc: 'Where sendmail is installed (for the installer only)' },
  setgid_group: { kind: 'string', default: 'postdrop', doc: 'The group of the set-gid submission programs; Petrel installs none' },
  shlib_directory: { kind: 'string', default: 'no', doc: 'Where shared libraries are installed; Petrel has none' },
  meta_directory: { kind: 'string', default: '/etc/petrel', doc: 'Where the installer keeps its file lists; Petrel has none' },
  openssl_path: { kind: 'string', default: 'openssl', doc: 'The openssl command for certificate scripts; Petrel uses Node\'s TLS' },
  debugger_command: { kind: 'string', raw: true, default: '', doc: 'The command a daemon started with -D runs; Petrel\'s master never passes -D' },
});
