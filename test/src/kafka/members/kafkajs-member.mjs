// One kafkajs group member as its own process, so a test can kill it with SIGKILL (no LeaveGroup,
// no commit: its session must expire). Prints one JSON line per event on stdout:
//   {"assigned": [partition, ...]}   after each join (GROUP_JOIN); [] when a rebalance starts
// argv: bootstrap (host:port, comma-separated for several) group topic [session timeout ms, 3000].
//   {"record": "<partition>/<offset>", "value": "..."}   per record processed
//   {"ready": true}   once running
// SIGTERM disconnects cleanly (commits, LeaveGroup).
import process from 'node:process';
import kafkajs from 'kafkajs';

const [bootstrap, group, topic, sessionMs = '3000'] = process.argv.slice(2);
const kafka = new kafkajs.Kafka({ clientId: 'strata-group-test', brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
const consumer = kafka.consumer({ groupId: group, sessionTimeout: Number(sessionMs), rebalanceTimeout: Math.max(20000, Number(sessionMs)), heartbeatInterval: 300, maxWaitTimeInMs: 200 });
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
// Eager rebalancing: kafkajs stops consuming before it rejoins, so it owns nothing until the next join.
consumer.on(consumer.events.REBALANCING, () => say({ assigned: [] }));
consumer.on(consumer.events.GROUP_JOIN, (e) => say({ assigned: (e.payload.memberAssignment[topic] ?? []).slice().sort((a, b) => a - b) }));
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
