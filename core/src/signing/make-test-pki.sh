#!/bin/sh
# Makes a test ICP-Brasil-like PKI with openssl, at test time, in OUTDIR:
#   ca.pem/ca.der/ca.key    test root CA ("AC Raiz de Teste Vistoria")
#   ecpf.pem/ecpf.der/ecpf.key  e-CPF-like certificate: subjectAltName otherName 2.16.76.1.3.1
#                           carrying the CPF at characters 9-19, key usage digitalSignature
#                           + nonRepudiation (unless --no-digital-signature)
# and, with --softhsm, a SoftHSM2 token in OUTDIR/tokens (config OUTDIR/softhsm2.conf,
# label "e-CPF", user PIN 123456, SO PIN 87654321) holding the key and both certificates;
# the PKCS#11 module path is written to OUTDIR/module.txt.
#
# usage: make-test-pki.sh OUTDIR CPF [--ec] [--encoding octet|printable|utf8]
#                         [--no-digital-signature] [--softhsm] [--name "HOLDER NAME"]
#                         [--days N]
#
# Run through `vistoria_core::signing::test_pki` (tests, demo mode), which embeds this file.
set -eu
out=$1; cpf=$2; shift 2
key="rsa"; enc="OCTETSTRING"; ku="critical,digitalSignature,nonRepudiation,keyEncipherment"; hsm=0
name="FULANO DE TAL"; days=730
while [ $# -gt 0 ]; do
  case $1 in
    --ec) key="ec" ;;
    --encoding) shift; case $1 in octet) enc=OCTETSTRING;; printable) enc=PRINTABLESTRING;; utf8) enc=UTF8;; *) echo "bad encoding $1" >&2; exit 2;; esac ;;
    --no-digital-signature) ku="critical,keyEncipherment" ;;
    --softhsm) hsm=1 ;;
    --name) shift; name=$1 ;;
    --days) shift; days=$1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$out"; cd "$out"

cat > openssl.cnf <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ecpf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = $ku
extendedKeyUsage = clientAuth,emailProtection
subjectAltName = otherName:2.16.76.1.3.1;$enc:01011980${cpf}00000000000000000000000000SSPMT,email:vistoriador@example.invalid
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -config openssl.cnf -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
  -days 3650 -sha256 -subj "/C=BR/O=ICP-Brasil/OU=Teste Vistoria/CN=AC Raiz de Teste Vistoria" \
  -extensions ca_ext 2>/dev/null
if [ "$key" = ec ]; then
  newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256"
else
  newkey="-newkey rsa:2048"
fi
# shellcheck disable=SC2086
openssl req -config openssl.cnf -new $newkey -nodes -keyout ecpf.key -out ecpf.csr \
  -subj "/C=BR/O=ICP-Brasil/OU=Teste Vistoria/CN=${name}:${cpf}" 2>/dev/null
openssl x509 -req -in ecpf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
  -extfile openssl.cnf -extensions ecpf_ext -out ecpf.pem 2>/dev/null
openssl x509 -in ca.pem -outform DER -out ca.der
openssl x509 -in ecpf.pem -outform DER -out ecpf.der

if [ $hsm = 1 ]; then
  module=""
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
    [ -e "$m" ] && { module=$m; break; }
  done
  [ -n "$module" ] || { echo "libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 3; }
  mkdir -p tokens
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$PWD" > softhsm2.conf
  export SOFTHSM2_CONF="$PWD/softhsm2.conf"
  softhsm2-util --init-token --free --label e-CPF --pin 123456 --so-pin 87654321 >/dev/null
  softhsm2-util --import ecpf.key --token e-CPF --label ecpf --id 01 --pin 123456 >/dev/null
  pkcs11-tool --module "$module" --token-label e-CPF --login --pin 123456 \
    --write-object ecpf.der --type cert --id 01 --label ecpf >/dev/null 2>&1
  pkcs11-tool --module "$module" --token-label e-CPF --login --pin 123456 \
    --write-object ca.der --type cert --id 02 --label "AC Raiz de Teste" >/dev/null 2>&1
  printf '%s' "$module" > module.txt
fi
