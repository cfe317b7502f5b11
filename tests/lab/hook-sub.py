#!/usr/bin/python3
"""hook-sub.py — a subscriber to oned's hook-manager events written with pyzmq (python3-zmq),
sharing no code with the lab endpoint. Usage:

    hook-sub.py ENDPOINT OUTDIR COUNT SECONDS

Subscribes by prefix to "EVENT STATE VM/" and "EVENT VM " on ENDPOINT, creates OUTDIR/ready
once its subscription has reached the publisher's side of the connection, then takes COUNT
messages (or gives up after SECONDS): each must have two frames, the second strict base64
(standard alphabet, padded, no line breaks). Writes OUTDIR/keys (one key per line, between
'|' so the trailing space shows) and OUTDIR/NNN.xml (the decoded document of message NNN,
from 001). Exits 0 with COUNT messages, 1 otherwise.
"""
import base64
import binascii
import os
import sys
import time

import zmq


def main():
    endpoint, outdir, count, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    os.makedirs(outdir, exist_ok=True)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    monitor = sub.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    sub.setsockopt(zmq.SUBSCRIBE, b"EVENT STATE VM/")
    sub.setsockopt(zmq.SUBSCRIBE, b"EVENT VM ")
    sub.connect(endpoint)
    # the subscriptions go out right after the handshake; leave the publisher a moment to apply them
    if not monitor.poll(int(seconds * 1000)):
        print("hook-sub: no connection to %s" % endpoint, file=sys.stderr)
        return 1
    time.sleep(0.3)
    open(os.path.join(outdir, "ready"), "w").close()
    deadline = time.monotonic() + seconds
    got = 0
    with open(os.path.join(outdir, "keys"), "w") as keys:
        while got < count:
            left = deadline - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000)):
                print("hook-sub: %d of %d messages after %g s" % (got, count, seconds), file=sys.stderr)
                return 1
            frames = sub.recv_multipart()
            got += 1
            if len(frames) != 2:
                print("hook-sub: message %d has %d frames" % (got, len(frames)), file=sys.stderr)
                return 1
            key, payload = frames
            try:
                doc = base64.b64decode(payload, validate=True)
            except binascii.Error as e:
                print("hook-sub: message %d: payload is not base64: %s" % (got, e), file=sys.stderr)
                return 1
            if base64.b64encode(doc) != payload:
                print("hook-sub: message %d: base64 not in canonical form" % got, file=sys.stderr)
                return 1
            keys.write("|%s|\n" % key.decode())
            keys.flush()
            with open(os.path.join(outdir, "%03d.xml" % got), "wb") as f:
                f.write(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
