# what: TLS to allowed.test with SNI allowed.test but Host: exfil.attacker.example inside: it can only reach allowed.test's server
# include: tls
# expect-allowed: allowed.test dns
# expect-allowed: allowed.test tls
# inet: allow allowed.test
# expect-stdout: ANSWER:
text = tls_get("allowed.test", "allowed.test",
               b"GET /host HTTP/1.1\r\nHost: exfil.attacker.example\r\nConnection: close\r\n\r\n")
if text is not None:
    print("ANSWER:", text.split("\r\n", 1)[0], "|",
          text.split("\r\n\r\n", 1)[-1].strip()[:200])
