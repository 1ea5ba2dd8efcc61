# confluent-kafka (Debian's python3-confluent-kafka, on librdkafka): create a 2-partition topic with
# the admin client, produce 10 keyed records with a header each (gzip, murmur2 partitioner,
# acks=all), read them back with assign() (no group coordination is used: no subscribe, no commits),
# and print them as JSON sorted by key. argv: bootstrap topic
import sys, json
from confluent_kafka import Producer, Consumer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic
b = sys.argv[1]; topic = sys.argv[2]
admin = AdminClient({'bootstrap.servers': b})
for t, f in admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)]).items():
    f.result(timeout=30)
p = Producer({'bootstrap.servers': b, 'acks': 'all', 'partitioner': 'murmur2_random', 'compression.codec': 'gzip'})
for i in range(10):
    p.produce(topic, key=('k%d' % i).encode(), value=('v%d' % i).encode(), headers=[('h', ('x%d' % i).encode())])
assert p.flush(30) == 0
c = Consumer({'bootstrap.servers': b, 'group.id': 'unused', 'enable.auto.commit': False})
c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING), TopicPartition(topic, 1, OFFSET_BEGINNING)])
out = []
for _ in range(100):
    m = c.poll(1.0)
    if m is None: 
        if len(out) >= 10: break
        continue
    if m.error(): print('err', m.error(), file=sys.stderr); continue
    out.append({'p': m.partition(), 'o': m.offset(), 'k': m.key().decode(), 'v': m.value().decode(), 'h': [[k, v.decode()] for k, v in (m.headers() or [])]})
    if len(out) == 10: break
c.close()
print(json.dumps(sorted(out, key=lambda r: r['k'])))
