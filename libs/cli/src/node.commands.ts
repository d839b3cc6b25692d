import { Command } from 'commander';
import { Bind, positiveInt } from './key.commands';
import { nodeBlock, nodeTable, toJson } from './output.format';
import { WireCreatedNode, WireNode } from './wire.types';

interface AddOptions {
  group?: string;
  host: string;
  port: number;
  security?: string;
  type?: string;
  flow?: string;
  sni?: string;
  pbk?: string;
  sid?: string;
  fp?: string;
  disabled?: boolean;
}

/** The agent's own variables next to the token, so the operator can start it as shown. */
function joinText(created: WireCreatedNode): string {
  return [
    nodeBlock(created.node),
    '',
    "Start its agent next to the node's core with (the token works once, and is not shown again):",
    '  KEYD_ROLE=agent',
    "  KEYD_CONTROL_ADDR=<this control plane's public host>:<port of KEYD_FLEET_LISTEN>",
    `  KEYD_JOIN_TOKEN=${created.join_token}`,
  ].join('\n');
}

/**
 * node add, list, get, rm: NodeManager calls. The daemon validates every
 * field, so a bad value exits 2 with the daemon's own message.
 */
export function nodeCommands(program: Command, bind: Bind): void {
  const node = program.command('node').description("the fleet's nodes: cores enforced by a keyd agent next to them");

  node
    .command('add')
    .description('register a node and print its one-time join token')
    .argument('<name>', 'letters, digits and . _ - only')
    .requiredOption('--host <host>', 'the public host clients connect to')
    .requiredOption('--port <port>', 'the public port of its VLESS inbound', positiveInt)
    .option('--group <group>', 'its group; a key is held by every enabled node of its group (default: default)')
    .option('--security <security>', "reality, tls or none (default: the control plane's KEYD_LINK_SECURITY)")
    .option('--type <type>', 'transport: tcp, ws, grpc, httpupgrade, xhttp, kcp (default: KEYD_LINK_TYPE)')
    .option('--flow <flow>', 'flow in its share links, for example xtls-rprx-vision')
    .option('--sni <name>', 'server name')
    .option('--pbk <key>', 'REALITY public key')
    .option('--sid <id>', 'REALITY short id')
    .option('--fp <fingerprint>', 'TLS fingerprint, for example chrome')
    .option('--disabled', 'register it without keys until it is enabled')
    .action(
      bind(async (ctx, name, opts) => {
        const o = opts as AddOptions;
        const created = await ctx.keyd().call<WireCreatedNode>(
          'CreateNode',
          {
            name,
            group: o.group ?? '',
            public_host: o.host,
            public_port: o.port,
            link: {
              security: o.security ?? '',
              type: o.type ?? '',
              flow: o.flow ?? '',
              sni: o.sni ?? '',
              pbk: o.pbk ?? '',
              sid: o.sid ?? '',
              fp: o.fp ?? '',
            },
            ...(o.disabled ? { enabled: false } : {}),
          },
          'NodeManager',
        );
        ctx.print(toJson(created), () => joinText(created));
      }),
    );

  node
    .command('list')
    .description('every node: connected, revision lag, pending keys, its core')
    .action(
      bind(async (ctx) => {
        const { nodes } = await ctx.keyd().call<{ nodes: WireNode[] }>('ListNodes', {}, 'NodeManager');
        ctx.print(toJson({ nodes }), () => nodeTable(nodes));
      }),
    );

  node
    .command('get')
    .description('one node in full')
    .argument('<name>', 'node name')
    .action(
      bind(async (ctx, name) => {
        const n = await ctx.keyd().call<WireNode>('GetNode', { name }, 'NodeManager');
        ctx.print(toJson(n), () => nodeBlock(n));
      }),
    );

  node
    .command('rm')
    .description('drain the node (its agent removes every key from its core), then forget it')
    .argument('<name>', 'node name')
    .option('--force', 'forget it now, without waiting for its agent (a node gone for good): its core keeps its keys')
    .action(
      bind(async (ctx, name, opts) => {
        const force = (opts as { force?: boolean }).force === true;
        const n = await ctx.keyd().call<WireNode>('DeleteNode', { name, force }, 'NodeManager');
        ctx.print(toJson(n), () => `${n.draining ? 'draining' : 'deleted'} ${n.name}`);
      }),
    );
}
