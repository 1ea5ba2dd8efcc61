# kafka-python (Debian's python3-kafka): create a 2-partition topic with the admin client, produce
# 10 keyed records with a header each (acks=all), read them back with assign() (no consumer group)
# from the beginning, and print them as JSON sorted by key. argv: bootstrap topic
import sys, json
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
b = sys.argv[1]; topic = sys.argv[2]
admin = KafkaAdminClient(bootstrap_servers=b)
admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
p = KafkaProducer(bootstrap_servers=b, acks='all')
for i in range(10):
    p.send(topic, key=('k%d' % i).encode(), value=('v%d' % i).encode(), headers=[('h', ('x%d' % i).encode())])
p.flush()
c = KafkaConsumer(bootstrap_servers=b, enable_auto_commit=False, consumer_timeout_ms=3000)
tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
c.assign(tps); c.seek_to_beginning(*tps)
out = []
for m in c:
    out.append({'p': m.partition, 'o': m.offset, 'k': m.key.decode(), 'v': m.value.decode(), 'h': [[k, v.decode()] for k, v in m.headers]})
    if len(out) == 10: break
print(json.dumps(sorted(out, key=lambda r: r['k'])))
