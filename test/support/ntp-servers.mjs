// NTP servers for tests and benchmarks, in a process of their own:
//   node ntp-servers.mjs ADDRESS:PORT... [--silent ADDRESS:PORT...]
// Each address before --silent answers every client request as a
// stratum-2 server (port 0: a free port); each after it only listens and
// never answers. Prints the answering ports, as JSON, once all are bound.

import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';

const NTP_EPOCH_OFFSET = 2208988800;
const args = process.argv.slice(2);
const cut = args.includes('--silent') ? args.indexOf('--silent') : args.length;
const split = (text) => {
  const at = text.lastIndexOf(':');
  return [text.slice(0, at).replace(/^\[|\]$/g, ''), Number(text.slice(at + 1))];
};

function bind([address, port], answer) {
  const socket = createSocket(isIPv6(address) ? 'udp6' : 'udp4');
  socket.on('message', (query, from) => {
    if (!answer) return;
    const reply = Buffer.alloc(48);
    reply[0] = (4 << 3) | 4; // version 4, server mode
    reply[1] = 2; // stratum 2
    query.copy(reply, 24, 40, 48); // the client's transmit time, as our origin time
    reply.writeUInt32BE(Math.floor(Date.now() / 1000) + NTP_EPOCH_OFFSET, 40);
    socket.send(reply, from.port, from.address);
  });
  return new Promise((resolve) => socket.bind(port, address, () => resolve(socket.address().port)));
}

const answering = await Promise.all(args.slice(0, cut).map((a) => bind(split(a), true)));
await Promise.all(args.slice(cut + 1).map((a) => bind(split(a), false)));
console.log(JSON.stringify(answering));
