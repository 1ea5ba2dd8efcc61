/**
 * The baseline the broker is measured against: a plain node:http server that appends each POST
 * body to one file and serves byte ranges of it back. It does what a log must do at the least
 * (receive, write, answer; read, send) and nothing else: no validation, offsets or indexes.
 * Run as its own process: `node baseline-server.js <port> <file>`.
 */
import { createServer } from 'node:http';
import { open } from 'node:fs/promises';

const [portArg, fileArg] = process.argv.slice(2);
if (!portArg || !fileArg) {
  console.error('usage: baseline-server <port> <file>');
  process.exit(2);
}
const file = await open(fileArg, 'w+');
let size = 0;
let queue: Promise<unknown> = Promise.resolve();
/** `/append?p=N` appends to file N+1 (`<file>.N`), each with its own queue: a log of several partitions. */
// The file's open is the queue's first step: appends that arrive before it completes wait in the
// queue instead of each opening (and truncating) the file again.
const partitions = new Map<string, { file: Promise<Awaited<ReturnType<typeof open>>>; size: number; queue: Promise<unknown> }>();

function appendTo(partition: string, body: Buffer): Promise<number> {
  let target = partitions.get(partition);
  if (target === undefined) {
    const opened = open(`${fileArg}.${partition}`, 'w+');
    partitions.set(partition, (target = { file: opened, size: 0, queue: opened }));
  }
  const p = target;
  const done = p.queue.then(async () => {
    const position = p.size;
    p.size += body.length;
    await (await p.file).write(body, 0, body.length, position);
    return position;
  });
  p.queue = done;
  return done;
}

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/cpu') {
    // The server's own CPU time (µs), so that a benchmark can report CPU seconds per GB beside MB/s.
    const { user, system } = process.cpuUsage();
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ user, system }));
    return;
  }
  if (request.method === 'POST') {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const partition = new URL(request.url ?? '/', 'http://x').searchParams.get('p');
      if (partition !== null) {
        void appendTo(partition, body).then((position) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(`{"position":${position}}`);
        });
        return;
      }
      // One writer at a time, as a log's appends must be.
      queue = queue.then(async () => {
        const position = size;
        size += body.length;
        await file.write(body, 0, body.length, position);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(`{"position":${position}}`);
      });
    });
    return;
  }
  const url = new URL(request.url ?? '/', 'http://x');
  const position = Number(url.searchParams.get('position') ?? 0);
  const length = Math.max(0, Math.min(Number(url.searchParams.get('length') ?? 1 << 20), size - position));
  const buffer = Buffer.allocUnsafe(length);
  void file.read(buffer, 0, length, position).then(({ bytesRead }) => {
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'x-size': String(size) });
    response.end(buffer.subarray(0, bytesRead));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portArg), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
