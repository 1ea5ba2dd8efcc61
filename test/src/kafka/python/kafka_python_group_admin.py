"""kafka-python's KafkaAdminClient: list_consumer_groups (ListGroups) and delete_consumer_groups
(DeleteGroups) against Strata's Kafka listener. Prints one JSON line with what each answered.
Usage: kafka_python_group_admin.py <bootstrap> <group to delete> <group with members> <unknown group>
"""
import json
import sys

from kafka.admin import KafkaAdminClient

bootstrap, to_delete, busy, unknown = sys.argv[1:5]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="strata-group-admin", request_timeout_ms=20000)
try:
    listed = admin.list_consumer_groups()
    deleted = admin.delete_consumer_groups([to_delete, busy, unknown])
    after = admin.list_consumer_groups()
    print(json.dumps({
        "listed": [[g, t] for g, t in listed],
        # kafka-python answers each group with an error class (NoError for success).
        "deleted": [[g, getattr(e, "__name__", type(e).__name__)] for g, e in deleted],
        "after": [g for g, _ in after],
    }))
finally:
    admin.close()
