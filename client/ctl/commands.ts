// The command tree of tetcdctl: names, flags and a lazy import of each command's implementation. Names, flags and
// their defaults are etcdctl 3.4's (plus get --count-only and watch --progress-notify from etcdctl 3.5); the help
// wording is our own.
import type { Context } from './context.js';
import type { FlagSpec } from './flags.js';

export interface CommandModule {
  default(context: Context): Promise<number>;
}

export interface CommandSpec {
  name: string;
  path: string;
  summary: string;
  usage: string;
  flags?: FlagSpec[];
  children?: CommandSpec[];
  run?: () => Promise<CommandModule>;
  /** false: the command never talks to a server (version, snapshot status). */
  needsClient?: boolean;
}

const bool = (name: string, help: string, short?: string): FlagSpec => ({ name, kind: 'bool', default: false, help, ...(short ? { short } : {}) });
const str = (name: string, def: string, help: string): FlagSpec => ({ name, kind: 'string', default: def, help });
const int = (name: string, def: bigint, help: string): FlagSpec => ({ name, kind: 'int', default: def, help });

export const getFlags: FlagSpec[] = [
  str('consistency', 'l', 'Linearizable(l) or Serializable(s)'),
  str('order', '', 'Order of results; ASCEND or DESCEND (ASCEND by default)'),
  str('sort-by', '', 'Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION'),
  int('limit', 0n, 'Maximum number of results'),
  bool('prefix', 'Get keys with matching prefix'),
  bool('from-key', 'Get keys that are greater than or equal to the given key using byte compare'),
  int('rev', 0n, 'Specify the kv revision'),
  bool('keys-only', 'Get only the keys'),
  bool('count-only', 'Get only the count (with --write-out=fields)'),
  bool('print-value-only', 'Only write values when using the "simple" output format'),
];

export const putFlags: FlagSpec[] = [
  str('lease', '0', 'lease ID (in hexadecimal) to attach to the key'),
  bool('prev-kv', 'return the previous key-value pair before modification'),
  bool('ignore-value', 'updates the key using its current value'),
  bool('ignore-lease', 'updates the key using its current lease'),
];

export const delFlags: FlagSpec[] = [
  bool('prefix', 'delete keys with matching prefix'),
  bool('prev-kv', 'return deleted key-value pairs'),
  bool('from-key', 'delete keys that are greater than or equal to the given key using byte compare'),
];

export const watchFlags: FlagSpec[] = [
  bool('interactive', 'Interactive mode', 'i'),
  bool('prefix', 'Watch on a prefix if prefix is set'),
  int('rev', 0n, 'Revision to start watching'),
  bool('prev-kv', 'get the previous key-value pair before the event happens'),
  bool('progress-notify', 'get periodic watch progress notification from server'),
];

const leaf = (name: string, path: string, summary: string, usage: string, flags: FlagSpec[], run: () => Promise<CommandModule>, needsClient = true): CommandSpec => ({
  name,
  path,
  summary,
  usage,
  flags,
  run,
  needsClient,
});

export const commandTree: CommandSpec = {
  name: '',
  path: '',
  summary: 'A command line client for tetcd (and etcd), speaking etcdctl.',
  usage: '[global options] command [command options] [arguments...]',
  children: [
    leaf('get', 'get', 'Gets the key or a range of keys', 'get [options] <key> [range_end]', getFlags, () => import('./cmd-kv.js').then((m) => ({ default: m.get }))),
    leaf('put', 'put', 'Puts the given key into the store', 'put [options] <key> <value> (<value> can also be given from stdin)', putFlags, () => import('./cmd-kv.js').then((m) => ({ default: m.put }))),
    leaf('del', 'del', 'Removes the specified key or range of keys [key, range_end)', 'del [options] <key> [range_end]', delFlags, () => import('./cmd-kv.js').then((m) => ({ default: m.del }))),
    leaf('txn', 'txn', 'Txn processes all the requests in one transaction', 'txn [options] (read from stdin)', [bool('interactive', 'Input transaction in interactive mode', 'i')], () => import('./cmd-txn.js')),
    leaf('compaction', 'compaction', 'Compacts the event history in etcd', 'compaction [options] <revision>', [bool('physical', "'true' to wait for compaction to physically remove all old revisions")], () => import('./cmd-kv.js').then((m) => ({ default: m.compaction }))),
    leaf('watch', 'watch', 'Watches events stream on keys or prefixes', 'watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]', watchFlags, () => import('./cmd-watch.js')),
    {
      name: 'lease',
      path: 'lease',
      summary: 'Lease related commands',
      usage: 'lease <subcommand> [flags]',
      children: [
        leaf('grant', 'lease grant', 'Creates leases', 'lease grant <ttl>', [], () => import('./cmd-lease.js').then((m) => ({ default: m.grant }))),
        leaf('revoke', 'lease revoke', 'Revokes leases', 'lease revoke <leaseID>', [], () => import('./cmd-lease.js').then((m) => ({ default: m.revoke }))),
        leaf('timetolive', 'lease timetolive', 'Get lease information', 'lease timetolive <leaseID> [options]', [bool('keys', 'Get keys attached to this lease')], () => import('./cmd-lease.js').then((m) => ({ default: m.timeToLive }))),
        leaf('list', 'lease list', 'List all active leases', 'lease list', [], () => import('./cmd-lease.js').then((m) => ({ default: m.list }))),
        leaf('keep-alive', 'lease keep-alive', 'Keeps leases alive (renew)', 'lease keep-alive [options] <leaseID>', [bool('once', 'Resets the keep-alive time to its original value and exits immediately')], () => import('./cmd-lease.js').then((m) => ({ default: m.keepAlive }))),
      ],
    },
    {
      name: 'member',
      path: 'member',
      summary: 'Membership related commands',
      usage: 'member <subcommand> [flags]',
      children: [
        leaf('add', 'member add', 'Adds a member into the cluster', 'member add <memberName> [options]', [str('peer-urls', '', 'comma separated peer URLs for the new member.'), bool('learner', 'indicates if the new member is raft learner')], () => import('./cmd-member.js').then((m) => ({ default: m.add }))),
        leaf('remove', 'member remove', 'Removes a member from the cluster', 'member remove <memberID>', [], () => import('./cmd-member.js').then((m) => ({ default: m.remove }))),
        leaf('update', 'member update', 'Updates a member in the cluster', 'member update <memberID> [options]', [str('peer-urls', '', 'comma separated peer URLs for the updated member.')], () => import('./cmd-member.js').then((m) => ({ default: m.update }))),
        leaf('list', 'member list', 'Lists all members in the cluster', 'member list', [], () => import('./cmd-member.js').then((m) => ({ default: m.list }))),
        leaf('promote', 'member promote', 'Promotes a non-voting member in the cluster', 'member promote <memberID>', [], () => import('./cmd-member.js').then((m) => ({ default: m.promote }))),
      ],
    },
    {
      name: 'endpoint',
      path: 'endpoint',
      summary: 'Endpoint related commands',
      usage: 'endpoint <subcommand> [flags]',
      children: [
        leaf('health', 'endpoint health', 'Checks the healthiness of endpoints specified in `--endpoints` flag', 'endpoint health', [bool('cluster', 'use all endpoints from the cluster member list')], () => import('./cmd-endpoint.js').then((m) => ({ default: m.health }))),
        leaf('status', 'endpoint status', 'Prints out the status of endpoints specified in `--endpoints` flag', 'endpoint status', [bool('cluster', 'use all endpoints from the cluster member list')], () => import('./cmd-endpoint.js').then((m) => ({ default: m.status }))),
        leaf('hashkv', 'endpoint hashkv', 'Prints the KV history hash for each endpoint in --endpoints', 'endpoint hashkv', [bool('cluster', 'use all endpoints from the cluster member list'), int('rev', 0n, 'maximum revision to hash (default: all revisions)')], () => import('./cmd-endpoint.js').then((m) => ({ default: m.hashKV }))),
      ],
    },
    {
      name: 'snapshot',
      path: 'snapshot',
      summary: 'Manages etcd node snapshots',
      usage: 'snapshot <subcommand> [flags]',
      children: [
        leaf('save', 'snapshot save', 'Stores an etcd node backend snapshot to a given file', 'snapshot save <filename>', [], () => import('./cmd-snapshot.js').then((m) => ({ default: m.save }))),
        leaf('restore', 'snapshot restore', 'Restores an etcd member snapshot to an etcd directory', 'snapshot restore <filename> [options]', [
          str('data-dir', '', 'Path to the data directory'),
          str('wal-dir', '', 'Path to the WAL directory (use --data-dir if none given)'),
          str('initial-cluster', 'default=http://localhost:2380', 'Initial cluster configuration for restore bootstrap'),
          str('initial-cluster-token', 'etcd-cluster', 'Initial cluster token for the etcd cluster during restore bootstrap'),
          str('initial-advertise-peer-urls', 'http://localhost:2380', 'List of this member\'s peer URLs to advertise to the rest of the cluster'),
          str('name', 'default', 'Human-readable name for this member'),
          bool('skip-hash-check', 'Ignore snapshot integrity hash value (required if copied from data directory)'),
        ], () => import('./cmd-snapshot.js').then((m) => ({ default: m.restore })), false),
        leaf('status', 'snapshot status', 'Gets backend snapshot status of a given file', 'snapshot status <filename>', [], () => import('./cmd-snapshot.js').then((m) => ({ default: m.status })), false),
      ],
    },
    {
      name: 'alarm',
      path: 'alarm',
      summary: 'Alarm related commands',
      usage: 'alarm <subcommand> [flags]',
      children: [
        leaf('disarm', 'alarm disarm', 'Disarms all alarms', 'alarm disarm', [], () => import('./cmd-misc.js').then((m) => ({ default: m.alarmDisarm }))),
        leaf('list', 'alarm list', 'Lists all alarms', 'alarm list', [], () => import('./cmd-misc.js').then((m) => ({ default: m.alarmList }))),
      ],
    },
    leaf('defrag', 'defrag', 'Defragments the storage of the etcd members with given endpoints', 'defrag', [bool('cluster', 'use all endpoints from the cluster member list'), str('data-dir', '', 'Optional. If present, defragments a data directory not in use by etcd.')], () => import('./cmd-misc.js').then((m) => ({ default: m.defrag }))),
    leaf('move-leader', 'move-leader', 'Transfers leadership to another etcd cluster member.', 'move-leader <transferee-member-id>', [], () => import('./cmd-misc.js').then((m) => ({ default: m.moveLeader }))),
    leaf('version', 'version', 'Prints the version of etcdctl', 'version', [], () => import('./cmd-misc.js').then((m) => ({ default: m.version })), false),
    leaf('lock', 'lock', 'Acquires a named lock', 'lock <lockname> [exec-command arg1 arg2 ...]', [int('ttl', 10n, 'timeout for session')], () => import('./cmd-lock.js')),
    leaf('elect', 'elect', 'Observes and participates in leader election', 'elect <election-name> [proposal]', [bool('listen', 'observation mode', 'l')], () => import('./cmd-elect.js')),
  ],
};

export interface Found {
  command: CommandSpec | undefined;
  /** argv without the command words. */
  rest: string[];
  /** A top-level word that is no command. */
  unknown?: string;
}

/** Finds the command words among argv (flags may come first), as cobra does. */
export function findCommand(argv: readonly string[], globalFlags: readonly FlagSpec[]): Found {
  const valueFlags = new Set<string>();
  for (const f of globalFlags) {
    if (f.kind === 'bool') continue;
    valueFlags.add('--' + f.name);
    if (f.short) valueFlags.add('-' + f.short);
  }
  let node: CommandSpec = commandTree;
  const wordIndexes: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-') && arg.length > 1) {
      if (valueFlags.has(arg)) i++;
      continue;
    }
    if (!node.children) break;
    const child = node.children.find((c) => c.name === arg);
    if (!child) {
      if (node === commandTree) return { command: undefined, rest: [], unknown: arg };
      break; // an unknown subcommand of a group shows the group's help, as etcdctl does
    }
    node = child;
    wordIndexes.push(i);
  }
  if (node === commandTree) return { command: undefined, rest: [...argv] };
  return { command: node, rest: argv.filter((_, i) => !wordIndexes.includes(i)) };
}

function flagLines(flags: readonly FlagSpec[]): string {
  return flags
    .map((f) => {
      const name = (f.short ? `-${f.short}, ` : '    ') + `--${f.name}`;
      const def = Array.isArray(f.default) ? f.default.join(',') : typeof f.default === 'number' ? `${f.default / 1e9}s` : String(f.default);
      return `  ${name.padEnd(30)} ${f.help} (default ${JSON.stringify(def)})\n`;
    })
    .join('');
}

export function helpText(program: string, command: CommandSpec, globals: readonly FlagSpec[]): string {
  let out = `${program} ${command.path}`.trim() + ` - ${command.summary}\n\nUsage:\n  ${program} ${command.usage}\n`;
  if (command.children) {
    out += '\nCommands:\n';
    for (const c of command.children) out += `  ${c.name.padEnd(14)} ${c.summary}\n`;
  }
  if (command.flags && command.flags.length > 0) out += '\nOptions:\n' + flagLines(command.flags);
  out += '\nGlobal options:\n' + flagLines(globals);
  return out + '\n';
}
