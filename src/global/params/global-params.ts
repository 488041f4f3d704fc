/*
 * global-params - the parameters every part of Petrel shares: directories, identity,
 * names and networks, the worker process limits and thread pool size, and
 * the table defaults (petrel_io_threads and petrel_table_cache_time are
 * Petrel's own).
 * Defaults are Postfix's (postconf(5)) except where Petrel names itself
 * (mail_name, directories, accounts) or takes a modern default.
 */
import {
  domainOfHost,
  installedDaemonDirectory,
  networksForStyle,
  packageVersion,
  systemHostName,
} from './param-computed.js';
import { defineParams } from './param-types.js';

/** Parameters shared by every daemon and command. */
export const GLOBAL_PARAMS = defineParams({
  config_directory: { kind: 'string', default: '/etc/petrel', doc: 'The directory that holds main.cf, master.cf and table sources' },
  queue_directory: { kind: 'string', default: '/var/spool/petrel', doc: 'The root of the mail queue' },
  daemon_directory: { kind: 'string', default: () => installedDaemonDirectory(), doc: 'The directory that holds the compiled daemon programs' },
  mail_owner: { kind: 'string', default: 'petrel', doc: 'The unprivileged account that owns the queue and runs the daemons' },
  default_privs: { kind: 'string', default: 'nobody', doc: 'The account local delivery uses for commands and files of aliases owned by root' },
  mail_name: { kind: 'string', default: 'Petrel', doc: 'The mail system name in the SMTP banner and in generated headers' },
  mail_version: { kind: 'string', default: () => packageVersion(), doc: 'The software version' },
  compatibility_level: { kind: 'string', default: '3.6', doc: 'The backwards-compatibility level of defaults' },
  multi_instance_name: { kind: 'string', default: '', doc: 'The name of this instance in a multi-instance setup' },
  service_name: { kind: 'string', default: '', doc: 'The master.cf service name of the running daemon (set by the master)' },
  syslog_name: { kind: 'string', default: '${multi_instance_name?{$multi_instance_name}:{postfix}}', doc: 'The name that log lines carry before /daemon[pid]' },
  maillog_file: { kind: 'string', default: '', doc: 'The file daemons log to instead of syslog (empty: stderr of the master)' },
  stress: { kind: 'string', default: '', doc: 'Set by master to yes when a service is overloaded' },
  myhostname: { kind: 'string', default: () => systemHostName(), doc: 'The fully qualified host name of this system' },
  mydomain: { kind: 'string', default: (get) => domainOfHost(get('myhostname')), doc: 'The internet domain of this system' },
  myorigin: { kind: 'string', default: '$myhostname', doc: 'The domain that locally posted mail appears to come from' },
  mydestination: { kind: 'list', default: '$myhostname, localhost.$mydomain, localhost', fileItems: true, doc: 'The domains delivered locally by the local transport' },
  mynetworks: { kind: 'list', default: (get) => networksForStyle(get('mynetworks_style')), fileItems: true, doc: 'The trusted networks that may relay' },
  mynetworks_style: { kind: 'string', default: '${{$compatibility_level} <level {2} ? {subnet} : {host}}', doc: 'How mynetworks is computed when not set: host, subnet or class' },
  inet_interfaces: { kind: 'list', default: 'all', doc: 'The network addresses this system receives mail on' },
  inet_protocols: { kind: 'list', default: 'all', doc: 'The IP protocols used: ipv4, ipv6 or all' },
  proxy_interfaces: { kind: 'list', default: '', fileItems: true, doc: 'Network addresses that forward mail to this system through a proxy or NAT' },
  relay_domains: { kind: 'list', default: '${{$compatibility_level} <level {2} ? {$mydestination} : {}}', fileItems: true, doc: 'Domains this system relays mail to from anywhere' },
  relayhost: { kind: 'string', default: '', doc: 'The next hop of non-local mail whose transport names none' },
  sender_dependent_relayhost_maps: { kind: 'tables', default: '', doc: 'relayhost by envelope sender (the address, then @domain; DUNNO: the global relayhost)' },
  sender_dependent_default_transport_maps: { kind: 'tables', default: '', doc: 'default_transport by envelope sender (the address, then @domain; DUNNO: the global one)' },
  max_idle: { kind: 'time', default: '100s', timeUnit: 's', min: 0, doc: 'How long a worker waits idle before it exits' },
  // Postfix's default is 100; a new Node worker costs ~0.3 s of CPU to start and about as much again compiling its
  // code during its first few thousand requests (bench/README.md), which 10000 requests a life made ~5 % of the CPU
  // per message: Petrel's default is 100000.
  max_use: { kind: 'int', default: '100000', min: 0, doc: 'How many requests a worker serves before it exits' },
  service_throttle_time: { kind: 'time', default: '60s', timeUnit: 's', min: 0, doc: 'How long master waits before restarting a service that failed at start' },
  ipc_idle: { kind: 'time', default: '5s', timeUnit: 's', min: 0, doc: 'The time after which a client closes an idle internal connection it keeps for reuse' },
  ipc_timeout: { kind: 'time', default: '3600s', timeUnit: 's', min: 0, doc: 'The time limit on reading or writing an internal socket' },
  daemon_timeout: { kind: 'time', default: '18000s', timeUnit: 's', min: 0, doc: 'How long a daemon may spend on one request before it is killed' },
  petrel_io_threads: {
    kind: 'int',
    default: '32',
    min: 1,
    max: 1024,
    doc: "Petrel's own: the threads each daemon process has for the file system calls that wait for the disk (fsync of queue files and mailboxes): that many messages of one process are made durable side by side, which a journaling file system commits together (libuv's UV_THREADPOOL_SIZE, set by the master when it starts the process; each thread reserves an 8 MB stack of address space)",
  },
  default_process_limit: { kind: 'int', default: '100', min: 0, doc: 'The default maxproc of master.cf services' },
  export_environment: { kind: 'list', default: 'TZ MAIL_CONFIG LANG', doc: 'Environment variables passed to external commands' },
  readme_directory: { kind: 'string', default: 'no', doc: 'Where the README files are installed (no: not installed)' },
  html_directory: { kind: 'string', default: 'no', doc: 'Where the HTML documentation is installed (no: not installed)' },
  manpage_directory: { kind: 'string', default: '/usr/local/man', doc: 'Where the manual pages are installed' },
  sample_directory: { kind: 'string', default: '/etc/petrel', doc: 'Where the sample configuration files are installed' },
  default_database_type: { kind: 'string', default: 'hash', doc: 'The table type postmap and postalias use when none is given' },
  alias_maps: { kind: 'tables', default: 'hash:/etc/aliases', doc: 'The alias tables the local delivery agent consults' },
  alias_database: { kind: 'tables', default: 'hash:/etc/aliases', doc: 'The alias tables newaliases builds' },
  petrel_table_cache_time: {
    kind: 'time',
    default: '5s',
    timeUnit: 's',
    min: 0,
    doc: "Petrel's own: how long a process reuses an answer (found or not; never an error) of a mysql, pgsql, sqlite, redis, socketmap or tcp table, so a change on the server is seen within it (0: every lookup asks the server)",
  },
  parent_domain_matches_subdomains: { kind: 'list', default: 'debug_peer_list,fast_flush_domains,mynetworks,permit_mx_backup_networks,qmqpd_authorized_clients,relay_domains,smtpd_access_maps', doc: 'Features in which a domain also matches its subdomains' },
});
