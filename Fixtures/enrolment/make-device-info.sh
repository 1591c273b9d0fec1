#!/usr/bin/env bash
# Makes the device-information fixtures of the enrolment tests in DIR (created), with the openssl
# command only: a stand-in for Apple's device PKI and the CMS-signed plists devices send
# (PROTOCOLS.md §1.2 and §2.1).
#
#   root.pem                   the trust anchor (stands in for the Apple Root CA)
#   intermediate.pem           the device CA, signed by the root; valid 2010-2014 only, as Apple's old
#                              "Apple iPhone Device CA" (expired) is
#   device.pem/.key            a device identity, issued by the intermediate in 2012 (also expired)
#   other-root.pem             an unrelated CA; other-device.pem/.key a device identity it issued
#   machineinfo.plist          ADE MachineInfo: UDID, SERIAL, PRODUCT, VERSION, OS_VERSION, LANGUAGE,
#                              MDM_CAN_REQUEST_SOFTWARE_UPDATE
#   machineinfo.p7             machineinfo.plist signed by the device (DER, content attached, chain included)
#   machineinfo.b64            the same, standard base64 on one line (the x-apple-aspen-deviceinfo header)
#   machineinfo-unknown-ca.p7  signed by other-device (chains to other-root, not root)
#   machineinfo-tampered.p7    machineinfo.p7 with one byte of the signed content changed
#   machineinfo-truncated.p7   machineinfo.p7 cut in half
#   not-base64.txt             a header value that is not base64
#   user.p7                    a User Enrolment first POST body: LANGUAGE, PRODUCT, VERSION
#   user-with-udid.p7          the same carrying UDID and SERIAL (which user enrolment forbids)
#
# Usage: Fixtures/enrolment/make-device-info.sh DIR
set -euo pipefail
DIR=${1:?usage: make-device-info.sh DIR}
mkdir -p "$DIR"
cd "$DIR"
quiet() { "$@" >/dev/null 2>&1 || { echo "make-device-info: failed: $*" >&2; "$@" >&2; exit 1; }; }

# A CA configuration for `openssl ca`, which (unlike `openssl x509` in OpenSSL 3.0) sets any validity.
mkdir -p ca
: >ca/index.txt
echo 1000 >ca/serial
cat >ca.cnf <<CNF
[ca]
default_ca = ca
[ca]
database = ca/index.txt
serial = ca/serial
new_certs_dir = ca
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[intermediate]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
[device]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
CNF

# The root must have been valid when the intermediate was issued (2010): self-signed by `openssl ca`.
quiet openssl req -newkey rsa:2048 -nodes -keyout root.key -out root.csr -subj "/CN=Tessera Test Device Root CA"
quiet openssl ca -batch -config ca.cnf -selfsign -keyfile root.key -in root.csr -out root.pem \
    -startdate 20090101000000Z -enddate 20391231000000Z -extensions intermediate -notext

quiet openssl req -newkey rsa:2048 -nodes -keyout intermediate.key -out intermediate.csr \
    -subj "/CN=Tessera Test Device CA"
quiet openssl ca -batch -config ca.cnf -keyfile root.key -cert root.pem -in intermediate.csr -out intermediate.pem \
    -startdate 20100101000000Z -enddate 20141231000000Z -extensions intermediate -notext

quiet openssl req -newkey rsa:2048 -nodes -keyout device.key -out device.csr -subj "/CN=TESTDEVICE0001"
quiet openssl ca -batch -config ca.cnf -keyfile intermediate.key -cert intermediate.pem -in device.csr \
    -out device.pem -startdate 20120101000000Z -enddate 20140101000000Z -extensions device -notext

quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout other-root.key -out other-root.pem -days 30 \
    -subj "/CN=Someone Else's CA"
quiet openssl req -newkey rsa:2048 -nodes -keyout other-device.key -out other-device.csr -subj "/CN=OTHERDEVICE"
quiet openssl x509 -req -in other-device.csr -CA other-root.pem -CAkey other-root.key -CAcreateserial -days 30 \
    -out other-device.pem

plist() {   # plist KEY VALUE… (VALUE "true" is <true/>)
    printf '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n'
    while [ $# -gt 0 ]; do
        printf '\t<key>%s</key>\n' "$1"
        if [ "$2" = true ]; then printf '\t<true/>\n'; else printf '\t<string>%s</string>\n' "$2"; fi
        shift 2
    done
    printf '</dict>\n</plist>\n'
}
sign() {   # sign IN OUT CERT KEY [CHAIN]
    quiet openssl cms -sign -binary -nodetach -md sha256 -outform DER -in "$1" -out "$2" -signer "$3" -inkey "$4" \
        ${5:+-certfile "$5"}
}

plist UDID 00008030-001A2B3C4D5E6F70 SERIAL C02TEST0001 PRODUCT iPhone15,2 VERSION 21E236 OS_VERSION 17.4.1 \
    LANGUAGE en-GB MDM_CAN_REQUEST_SOFTWARE_UPDATE true >machineinfo.plist
sign machineinfo.plist machineinfo.p7 device.pem device.key intermediate.pem
base64 -w0 machineinfo.p7 >machineinfo.b64
sign machineinfo.plist machineinfo-unknown-ca.p7 other-device.pem other-device.key
python3 - <<'PY'
data = bytearray(open("machineinfo.p7", "rb").read())
at = data.find(b"C02TEST0001")
assert at > 0, "serial not found in the signed content"
data[at] ^= 0x01
open("machineinfo-tampered.p7", "wb").write(data)
whole = open("machineinfo.p7", "rb").read()
open("machineinfo-truncated.p7", "wb").write(whole[: len(whole) // 2])
PY
printf 'this is not base64!\n' >not-base64.txt

plist LANGUAGE en-GB PRODUCT iPhone15,2 VERSION 21E236 >user.plist
sign user.plist user.p7 device.pem device.key intermediate.pem
plist LANGUAGE en-GB PRODUCT iPhone15,2 VERSION 21E236 UDID 00008030-001A2B3C4D5E6F70 SERIAL C02TEST0001 \
    >user-with-udid.plist
sign user-with-udid.plist user-with-udid.p7 device.pem device.key intermediate.pem
