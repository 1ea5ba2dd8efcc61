# A consumer group member with a Python client: subscribe, consume `count` records, commit them,
# close; prints the values read as a JSON list. argv: client (kafka-python | confluent) bootstrap
# topic group count. Run twice with the same group, the second resumes from the first's commit.
import sys, json, time
client, b, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
deadline = time.time() + 60
out = []
if client == 'kafka-python':
    from kafka import KafkaConsumer
    c = KafkaConsumer(bootstrap_servers=b, group_id=group, auto_offset_reset='earliest', enable_auto_commit=False,
                      session_timeout_ms=6000, heartbeat_interval_ms=1000)
    c.subscribe([topic])
    while len(out) < count and time.time() < deadline:
        for tp, records in c.poll(timeout_ms=500).items():
            out.extend(r.value.decode() for r in records)
    c.commit()
    c.close()
else:
    from confluent_kafka import Consumer
    c = Consumer({'bootstrap.servers': b, 'group.id': group, 'auto.offset.reset': 'earliest', 'enable.auto.commit': False,
                  'session.timeout.ms': 6000, 'heartbeat.interval.ms': 1000})
    c.subscribe([topic])
    while len(out) < count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        out.append(m.value().decode())
    c.commit(asynchronous=False)
    c.close()
print(json.dumps(out))
