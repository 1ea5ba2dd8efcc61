#!/bin/sh
# Certificates and the cluster secret for docker-compose.tls.yml, made with openssl into DIR
# (default infra/tls/out, which git ignores):
#   ca.crt, ca.key              a private CA (keep ca.key off the brokers)
#   strata-N.crt, strata-N.key  one certificate per broker (N = 1..BROKERS), for its service name,
#                               localhost and 127.0.0.1 (the host ports of docker-compose.yml)
#   redis.crt, redis.key        Redis' certificate (rediss://redis:6379)
#   haproxy.pem                 HAProxy's certificate and key in one file, for :8443
#   cluster-secret              the secret brokers derive their credentials from (a compose secret)
# Run it again to renew the certificates (brokers reload them on SIGHUP or when the files change);
# an existing CA and cluster secret are kept. Keys are 0644 so the containers' users (root for
# the brokers, uid 999 for Redis) can read them from the bind mount: fine on a laptop, not elsewhere.
#
#   infra/tls/make-certs.sh [DIR] [BROKERS]
set -eu
DIR=${1:-$(dirname "$0")/out}
BROKERS=${2:-3}
DAYS=${DAYS:-365}
mkdir -p "$DIR"
cd "$DIR"

if [ ! -f ca.key ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days "$DAYS" -subj "/CN=strata-local-ca" 2>/dev/null
fi

# leaf NAME: a certificate for NAME (and localhost, 127.0.0.1) signed by the CA, for server and client use.
leaf() {
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' "$1" > "$1.ext"
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days "$DAYS" -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
  chmod 0644 "$1.key" "$1.crt"
}

i=1
while [ "$i" -le "$BROKERS" ]; do
  leaf "strata-$i"
  i=$((i + 1))
done
leaf redis
leaf haproxy
cat haproxy.crt haproxy.key > haproxy.pem
chmod 0644 haproxy.pem ca.crt

if [ ! -f cluster-secret ]; then
  openssl rand -base64 32 > cluster-secret
  chmod 0644 cluster-secret
fi
echo "certificates and cluster secret in $DIR"
