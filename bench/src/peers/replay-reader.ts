/**
 * A full-speed replay from the bucket in its own process, so that the produce-latency load generator
 * measured beside it does not share an event loop with it: reads every partition of a topic from
 * offset 0 to its remote end, over and over, until SIGTERM; then prints what it read as one JSON line.
 * `node replay-reader.js <broker url> <topic> <remote end of partition 0>,<of 1>,...`
 */
import { replay } from '../tier-bench.js';

const [url, topic, endsArg] = process.argv.slice(2);
if (!url || !topic || !endsArg) {
  console.error('usage: replay-reader <broker url> <topic> <end,end,...>');
  process.exit(2);
}
const ends = endsArg.split(',').map(Number);
let stopping = false;
process.on('SIGTERM', () => (stopping = true));

let bytes = 0;
let passes = 0;
const started = performance.now();
console.log('ready');
while (!stopping) {
  bytes += (await replay(url, topic, ends)).bytes;
  passes++;
}
console.log(JSON.stringify({ bytes, passes, seconds: (performance.now() - started) / 1000 }));
