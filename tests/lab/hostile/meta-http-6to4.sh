# what: metadata IP spelled as a 6to4 IPv6 address (2002:a9fe:a9fe::1) as an http:// URL host, with curl
# The session has no IPv6 address: the connect fails in the sandbox
# (EADDRNOTAVAIL; the microvm guest has no IPv6 at all: EAFNOSUPPORT), no
# packet is sent, so there is nothing to audit.
# expect-stdout: ^BLOCKED: .*(Errno 99|Errno 97|curl exit 7,)
code=$(curl -s -o /tmp/body -w '%{http_code}' --max-time 10 -g 'http://[2002:a9fe:a9fe::1]/latest/meta-data/iam/security-credentials/')
rc=$?
if grep -q . /tmp/body 2>/dev/null && [ "$code" = 200 ]; then echo "LEAK: $(head -c 200 /tmp/body)"; fi
echo "BLOCKED: curl exit $rc, status $code: $(head -c 200 /tmp/body 2>/dev/null)"
