#!/bin/sh
# Makes a test ICP-Brasil-like PKI with openssl, at test time, in OUTDIR:
#   ca.pem/ca.der/ca.key    test root CA ("AC Raiz de Teste Vistoria")
#   ecpf.pem/ecpf.der/ecpf.key  e-CPF-like certificate: subjectAltName otherName 2.16.76.1.3.1
#                           carrying the CPF at characters 9-19, key usage digitalSignature
#                           + nonRepudiation (unless --no-digital-signature)
# and, with --softhsm, a SoftHSM2 token in OUTDIR/tokens (config OUTDIR/softhsm2.conf,
# label "e-CPF", user PIN 123456, SO PIN 87654321) holding the key and both certificates;
# the PKCS#11 module path is written to OUTDIR/module.txt. OUTDIR/roots/ holds the root alone
# (what a central's `--icp-roots` or a station's `icp-brasil/` folder takes).
#
# With --hierarchy BASE_URL, OUTDIR/h/ also gets a two-level ICP-Brasil-like PKI whose CRL
# distribution points are BASE_URL/raiz.crl (root's LCR) and BASE_URL/ac.crl (intermediate's):
#   ac.pem            intermediate CA (cA, keyCertSign+cRLSign, pathLen 0), issued by the root
#   leaf.pem/.key     e-CPF for CPF issued by the intermediate (digitalSignature+nonRepudiation)
#   revoked.pem       same holder and key, another serial, listed in ac.crl
#   ac.crl, raiz.crl  the LCRs (DER), next update in 7 days
#   selfsigned.pem    self-signed e-CPF with the right CPF
#   expired.pem       issued by the intermediate, valid 2017-2019, keyEncipherment only
#   notca.pem         "CA" without cA nor keyCertSign issued by the root; notca-leaf.pem under it
#   nokcs.pem         a CA (cA) without keyCertSign issued by the root; nokcs-leaf.pem under it
#   deep.pem          a CA under the intermediate (pathLen 0 exceeded); deep-leaf.pem under it
# Every leaf of h/ uses leaf.key and every CA below the root ac.key: a test PKI needs no more.
#
# usage: make-test-pki.sh OUTDIR CPF [--ec] [--encoding octet|printable|utf8]
#                         [--no-digital-signature] [--softhsm] [--name "HOLDER NAME"]
#                         [--days N]
#                         [--hierarchy BASE_URL]
#
# Run through `vistoria_core::signing::test_pki` (tests, demo mode), which embeds this file.
set -eu
out=$1; cpf=$2; shift 2
key="rsa"; enc="OCTETSTRING"; ku="critical,digitalSignature,nonRepudiation,keyEncipherment"; hsm=0
name="FULANO DE TAL"; days=730; hierarchy=""
while [ $# -gt 0 ]; do
  case $1 in
    --ec) key="ec" ;;
    --encoding) shift; case $1 in octet) enc=OCTETSTRING;; printable) enc=PRINTABLESTRING;; utf8) enc=UTF8;; *) echo "bad encoding $1" >&2; exit 2;; esac ;;
    --no-digital-signature) ku="critical,keyEncipherment" ;;
    --softhsm) hsm=1 ;;
    --name) shift; name=$1 ;;
    --days) shift; days=$1 ;;
    --hierarchy) shift; hierarchy=$1 ;;
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
mkdir -p roots; cp ca.pem roots/ca.pem

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

if [ -n "$hierarchy" ]; then
  mkdir -p h; cd h
  : > index.txt; echo 1000 > serial; echo 1000 > crlnumber; mkdir -p newcerts
  san="otherName:2.16.76.1.3.1;$enc:01011980${cpf}00000000000000000000000000SSPMT"
  cat > ca.cnf <<CNF
[ca]
default_ca = ca_default
[ca_default]
dir = .
database = index.txt
serial = serial
crlnumber = crlnumber
new_certs_dir = newcerts
default_md = sha256
default_days = $days
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
countryName = optional
organizationName = optional
organizationalUnitName = optional
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[crl_ext]
authorityKeyIdentifier = keyid
[ac_ext]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$hierarchy/raiz.crl
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment
subjectAltName = $san
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:$hierarchy/ac.crl
[expired_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,keyEncipherment
subjectAltName = $san
crlDistributionPoints = URI:$hierarchy/ac.crl
[self_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectAltName = $san
[notca_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[nokcs_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,cRLSign
[deep_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[plain_leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
subjectAltName = $san
CNF
  subj() { printf '/C=BR/O=ICP-Brasil/OU=Teste Vistoria/CN=%s' "$1"; }
  # ca_sign CA_CERT CA_KEY CSR OUT EXT [extra openssl ca args]
  ca_sign() {
    c=$1; k=$2; r=$3; o=$4; e=$5; shift 5
    openssl ca -batch -config ca.cnf -cert "$c" -keyfile "$k" -in "$r" -out "$o" \
      -extfile ca.cnf -extensions "$e" -notext "$@" 2>/dev/null
  }
  openssl req -config ca.cnf -new -newkey rsa:2048 -nodes -keyout ac.key -out ac.csr \
    -subj "$(subj 'AC Intermediaria de Teste Vistoria')" 2>/dev/null
  openssl req -config ca.cnf -new -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr \
    -subj "$(subj "${name}:${cpf}")" 2>/dev/null
  ca_sign ../ca.pem ../ca.key ac.csr ac.pem ac_ext
  ca_sign ac.pem ac.key leaf.csr leaf.pem leaf_ext
  ca_sign ac.pem ac.key leaf.csr revoked.pem leaf_ext
  ca_sign ac.pem ac.key leaf.csr expired.pem expired_ext \
    -startdate 20170101000000Z -enddate 20191231235959Z
  openssl ca -batch -config ca.cnf -cert ac.pem -keyfile ac.key -revoke revoked.pem \
    -crl_reason keyCompromise 2>/dev/null
  openssl ca -batch -config ca.cnf -cert ac.pem -keyfile ac.key -gencrl -crlexts crl_ext \
    -out ac.crl.pem 2>/dev/null
  openssl crl -in ac.crl.pem -outform DER -out ac.crl
  # The root's LCR, from a database of its own (it lists nothing).
  mkdir -p raiz; : > raiz/index.txt; echo 1000 > raiz/crlnumber
  sed -e 's|^database = index.txt|database = raiz/index.txt|' \
      -e 's|^crlnumber = crlnumber|crlnumber = raiz/crlnumber|' ca.cnf > raiz.cnf
  openssl ca -batch -config raiz.cnf -cert ../ca.pem -keyfile ../ca.key -gencrl \
    -crlexts crl_ext -out raiz.crl.pem 2>/dev/null
  openssl crl -in raiz.crl.pem -outform DER -out raiz.crl
  openssl x509 -req -in leaf.csr -signkey leaf.key -days "$days" -sha256 \
    -extfile ca.cnf -extensions self_ext -out selfsigned.pem 2>/dev/null
  openssl req -config ca.cnf -new -key ac.key -out notca.csr -subj "$(subj 'AC Sem Poderes')" 2>/dev/null
  ca_sign ../ca.pem ../ca.key notca.csr notca.pem notca_ext
  ca_sign notca.pem ac.key leaf.csr notca-leaf.pem plain_leaf_ext
  openssl req -config ca.cnf -new -key ac.key -out nokcs.csr -subj "$(subj 'AC Sem keyCertSign')" 2>/dev/null
  ca_sign ../ca.pem ../ca.key nokcs.csr nokcs.pem nokcs_ext
  ca_sign nokcs.pem ac.key leaf.csr nokcs-leaf.pem plain_leaf_ext
  openssl req -config ca.cnf -new -key ac.key -out deep.csr -subj "$(subj 'AC Funda Demais')" 2>/dev/null
  ca_sign ac.pem ac.key deep.csr deep.pem deep_ext
  ca_sign deep.pem ac.key leaf.csr deep-leaf.pem plain_leaf_ext
  for f in ac leaf revoked expired selfsigned notca notca-leaf nokcs nokcs-leaf deep deep-leaf; do
    openssl x509 -in $f.pem -outform DER -out $f.der
  done
fi
