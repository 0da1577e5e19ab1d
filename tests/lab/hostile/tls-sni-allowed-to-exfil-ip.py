# backends: all
# include: tls
# what: TLS with SNI allowed.test sent to exfil.attacker.example's address (198.18.1.66:443): proxyd connects where IT resolved allowed.test
# expect-allowed: allowed.test tls
# inet: allow allowed.test
# expect-stdout: LANDED: .*hello from allowed.test
text = tls_get("198.18.1.66", "allowed.test",
               b"GET / HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
if text is not None:
    print("LANDED:", text.split("\r\n\r\n", 1)[-1].strip())
