#!/usr/bin/env python3
"""scan_workload.py: a random scan workload for test_server_analytics.sh.

    scan_workload.py PORT N SEED CODES...

N requests over one keep-alive connection, each at random: a lookup, a
landing page or a claim of a code from the CODES files (one code a line;
claims for a handful of members, so some are awarded, some refused as
already claimed), a typo, or a code of another keyring (not genuine). Each
comes "from" an address given in X-Forwarded-For (the server trusts
127.0.0.1 as a proxy): networks of Zhejiang, Guangdong, California, the US
without a subdivision (tests/integration/make_geoip.pl) and addresses in no
network, with one of a few User-Agents, so scanners repeat. Prints the
number of requests sent, all of them scans (no HEAD, no preview bots, no
malformed claim)."""
import http.client
import json
import os
import random
import sys


def main():
    port, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    files = sys.argv[4:]
    rnd = random.Random(seed)
    genuine = []
    for f in files[:-1]:
        with open(f) as fh:
            genuine += [line.split(',')[0].strip() for line in fh if line.strip()]
    with open(files[-1]) as fh:
        forged = [line.strip() for line in fh if line.strip()]
    nets = ['198.51.100.%d' % i for i in range(0, 128, 9)] + \
           ['198.51.100.%d' % i for i in range(128, 256, 11)] + \
           ['203.0.113.%d' % i for i in range(1, 250, 13)] + \
           ['192.0.2.%d' % i for i in range(1, 250, 31)] + \
           ['100.64.%d.%d' % (i, i * 7 % 250) for i in range(1, 9)]
    agents = ['Mozilla/5.0 (iPhone) MicroMessenger/8.0', 'Mozilla/5.0 (Linux; Android 14)',
              'AlipayClient/10.5']
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    sent = 0
    for i in range(n):
        r = rnd.random()
        headers = {'X-Forwarded-For': rnd.choice(nets), 'User-Agent': rnd.choice(agents)}
        body = None
        if r < 0.35:
            method, path = 'GET', '/api/v1/codes/' + rnd.choice(genuine)
        elif r < 0.6:
            method, path = 'GET', '/c/' + rnd.choice(genuine)
            headers['Accept'] = 'text/html'
        elif r < 0.8:
            method, path = 'POST', '/api/v1/claims'
            body = json.dumps({'code': rnd.choice(genuine), 'member': 'm%d' % rnd.randrange(12)})
            headers['Content-Type'] = 'application/json'
            # claims name a member only with a claims-scoped token (the harness's)
            if os.environ.get('LOADGEN_HEADER'):
                name, _, value = os.environ['LOADGEN_HEADER'].partition(': ')
                headers[name] = value
        elif r < 0.9:
            method, path = 'GET', '/api/v1/codes/typo%d' % rnd.randrange(1000)
        else:
            method, path = 'GET', '/api/v1/codes/' + rnd.choice(forged)
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status >= 500:
            sys.exit('scan_workload.py: %s %s: %d' % (method, path, resp.status))
        if resp.getheader('Connection', '').lower() == 'close':
            conn.close()
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        sent += 1
    print(sent)


if __name__ == '__main__':
    main()
