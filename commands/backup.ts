// `backup ...`: backup locations, given as network URIs (locations only for now).

import { backupLocations, shown } from '../net/locations.js';
import { formatUri, uriArg, type NetworkUri } from '../net/uri.js';
import { name } from './argtypes.js';
import { json, messageShape } from './json-shape.js';
import { badInput, reply, type ArgType, type Command, type Group } from './types.js';

const location: ArgType<string> = { ...name('<location-name>'), complete: (ctx) => backupLocations(ctx.store).map((l) => l.name) };

/** A location as JSON; the URI with its secrets hidden. */
const locationShape = json.object({ name: json.string(), uri: json.string() });

const commands: Command[] = [
  {
    words: ['backup', 'add'],
    summary: 'Add a backup location: backup add <name> <sftp|scp|ftp|file URI>',
    json: locationShape,
    args: [
      { name: 'name', type: location },
      { name: 'uri', type: uriArg('<uri>', ['sftp', 'scp', 'ftp', 'file']) },
    ],
    run(ctx, args) {
      const uri = args.uri as NetworkUri;
      const exists = ctx.store.db.prepare('SELECT 1 FROM backup_locations WHERE name = ?').get(args.name);
      if (exists) throw badInput('duplicate-location', `a backup location named ${args.name as string} exists; delete it first`);
      ctx.store.tx(() => ctx.store.db.prepare('INSERT INTO backup_locations (name, uri) VALUES (?, ?)').run(args.name, formatUri(uri)));
      return reply.tree({ [args.name as string]: shown(uri) }, { name: args.name as string, uri: shown(uri) });
    },
  },
  {
    words: ['backup', 'list'],
    summary: 'List the backup locations',
    json: json.object({ locations: json.array(locationShape) }),
    run(ctx) {
      const list = backupLocations(ctx.store);
      return reply.tree(
        { locations: list.length ? Object.fromEntries(list.map((l) => [l.name, shown(l.uri)])) : 'none' },
        { locations: list.map((l) => ({ name: l.name, uri: shown(l.uri) })) },
      );
    },
  },
  {
    words: ['backup', 'del'],
    summary: 'Delete a backup location',
    json: messageShape,
    args: [{ name: 'name', type: location }],
    run(ctx, args) {
      const removed = ctx.store.db.prepare('DELETE FROM backup_locations WHERE name = ?').run(args.name).changes;
      if (!removed) throw badInput('no-such-location', `no backup location named ${args.name as string}; see "backup list"`);
      return reply.text(`deleted backup location ${args.name as string}`);
    },
  },
];

export const backupGroup: Group = { word: 'backup', summary: 'manage backups', commands };
