// One kafkajs group member as its own process, so a test can kill it with SIGKILL (no LeaveGroup,
// no commit: its session must expire). Prints one JSON line per event on stdout:
//   {"assigned": [partition, ...]}   after each join (GROUP_JOIN); [] once it stopped consuming: a
//                                    rebalance starts, the coordinator forgot its member id, or it crashed
//                                    (kafkajs then restarts it as a new member)
// argv: bootstrap (host:port, comma-separated for several) group topic [session timeout ms, 3000].
//   {"record": "<partition>/<offset>", "value": "..."}   per record processed
//   {"committed": [[partition, offset], ...]}   after each acknowledged offset commit (the next offset to read)
//   {"ready": true}   once running
//   {"log": "..."}   kafkajs's warnings and errors, its crashes and joins (member id, leader), for a failing test to print
// SIGTERM disconnects cleanly (commits, LeaveGroup).
import process from 'node:process';
import kafkajs from 'kafkajs';

const [bootstrap, group, topic, sessionMs = '3000'] = process.argv.slice(2);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const log = (text) => say({ log: `${new Date().toISOString()} ${text}` });
// kafkajs has no event for two ways it stops consuming: a crash (it reached no coordinator within its
// retries; it restarts later under a new member id, the CRASH event comes only after it disconnected)
// and a fetch that found its member id unknown (it rejoins). Its log says both first.
const STOPPED = [/^Crash: /, /^The coordinator is not aware of this member/];
const logCreator = () => ({ level, log: entry }) => {
  const { message, timestamp: _t, logger: _l, ...rest } = entry;
  if (STOPPED.some((re) => re.test(message))) say({ assigned: [] });
  log(`${level === kafkajs.logLevel.ERROR ? 'ERROR' : 'WARN'} ${message} ${JSON.stringify(rest)}`);
};
const kafka = new kafkajs.Kafka({ clientId: 'strata-group-test', brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.WARN, logCreator, retry: { retries: 10, initialRetryTime: 100 } });
const consumer = kafka.consumer({ groupId: group, sessionTimeout: Number(sessionMs), rebalanceTimeout: Math.max(20000, Number(sessionMs)), heartbeatInterval: 300, maxWaitTimeInMs: 200 });
// Eager rebalancing: kafkajs stops consuming before it rejoins, so it owns nothing until the next join.
consumer.on(consumer.events.REBALANCING, () => say({ assigned: [] }));
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const assigned = (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b);
  log(`joined as ${e.payload.memberId} (leader ${e.payload.leaderId}): ${JSON.stringify(assigned)}`);
  say({ assigned });
});
consumer.on(consumer.events.COMMIT_OFFSETS, (e) => {
  const committed = e.payload.topics.filter((t) => t.topic === topic).flatMap((t) => t.partitions.map((p) => [p.partition, Number(p.offset)]));
  if (committed.length > 0) say({ committed });
});
consumer.on(consumer.events.CRASH, (e) => log(`crash (restart: ${e.payload.restart}): ${e.payload.error?.message}`));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommitInterval: 100,
  eachMessage: async ({ partition, message }) => say({ record: `${partition}/${message.offset}`, value: message.value?.toString() ?? null }),
});
say({ ready: true });
process.on('SIGTERM', () => {
  consumer.disconnect().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
