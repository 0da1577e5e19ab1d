# what: metadata IP spelled dotted quad (169.254.169.254) as an http:// URL host, with curl
# expect-denied: 169.254.169.254 80 http blocked_range
# expect-stdout: ^BLOCKED
code=$(curl -s -o /tmp/body -w '%{http_code}' --max-time 10 -g 'http://169.254.169.254/latest/meta-data/iam/security-credentials/')
rc=$?
if grep -q . /tmp/body 2>/dev/null && [ "$code" = 200 ]; then echo "LEAK: $(head -c 200 /tmp/body)"; fi
echo "BLOCKED: curl exit $rc, status $code: $(head -c 200 /tmp/body 2>/dev/null)"
