#!/bin/sh
# Throwaway certificates for the TLS integration test (test_tls_live.c):
#   make-certs.sh DIR
# writes into DIR (P-256 keys, valid for two days):
#   ca.pem ca.key               the test CA
#   other-ca.pem other-ca.key   an unrelated CA
#   server.pem server.key       CN=localhost, SAN DNS:localhost IP:127.0.0.1, from ca
#   rogue.pem rogue.key         the same names, from other-ca
#   wrongname.pem wrongname.key CN=other.example, SAN DNS:other.example only, from ca
#   client.pem client.key       CN=test-hub (clientAuth), from ca
#   stranger.pem stranger.key   CN=test-hub (clientAuth), from other-ca
#   expired.pem expired.key     like server, from ca, expired yesterday
#   selfsigned.pem selfsigned.key  like server, signed by its own key
# Keys are mode 0644: mosquitto reads them after dropping root for its own
# user. They protect nothing; the directory is the test's own.
set -eu

dir=${1:?usage: make-certs.sh DIR}
cd "$dir"
umask 022
export OPENSSL_CONF=/dev/null   # the system's openssl.cnf must not add anything

ca() {  # name subject
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$1.key" -out "$1.pem" -days 2 -subj "$2" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() {  # name ca subject extensions [days]
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
                -keyout "$1.key" -out "$1.csr" -subj "$3" 2>/dev/null
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature" "$4" >"$1.ext"
        openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "0x$(openssl rand -hex 8)" \
                -days "${5:-2}" -sha256 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
        rm -f "$1.csr" "$1.ext"
}

ca ca "/O=anju test/CN=anju test CA"
ca other-ca "/O=somebody else/CN=unrelated CA"
leaf server ca "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf rogue other-ca "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf wrongname ca "/CN=other.example" "extendedKeyUsage=serverAuth
subjectAltName=DNS:other.example"
leaf expired ca "/CN=localhost" "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1" -1
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout selfsigned.key -out selfsigned.pem -days 2 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
leaf client ca "/CN=test-hub" "extendedKeyUsage=clientAuth"
leaf stranger other-ca "/CN=test-hub" "extendedKeyUsage=clientAuth"
chmod 0644 ./*.key ./*.pem
chmod 0755 .
