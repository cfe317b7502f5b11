#!/usr/bin/python3
"""one-py.py — one OpenNebula XML-RPC call made with Python's own xmlrpc.client, a client that
shares no code with the lab endpoint or themis-trigger. Usage:

    one-py.py URL SESSION METHOD [ARG...]     ARG = i:N | b:0/1 | s:TEXT

Prints the answer's items one per line, item 0 as 1/0; a document (item 1 of an info call) is
written to the file named by $ONE_PY_DOC instead when that is set. Exit 0 when OpenNebula
answered (success or failure array), 2 on an XML-RPC fault or transport error.
"""
import os
import sys
import xmlrpc.client


def arg(a):
    kind, _, val = a.partition(":")
    if kind == "i":
        return int(val)
    if kind == "b":
        return val == "1"
    if kind == "s":
        return val
    raise SystemExit("one-py: bad argument %r" % a)


def main():
    url, session, method = sys.argv[1:4]
    proxy = xmlrpc.client.ServerProxy(url)
    try:
        answer = getattr(proxy, method)(session, *[arg(a) for a in sys.argv[4:]])
    except (xmlrpc.client.Fault, OSError, xmlrpc.client.ProtocolError) as e:
        print("one-py: %s: %s" % (method, e), file=sys.stderr)
        return 2
    items = list(answer)
    print(1 if items[0] else 0)
    doc = os.environ.get("ONE_PY_DOC")
    for i, item in enumerate(items[1:], 1):
        if i == 1 and doc and isinstance(item, str) and item.startswith("<"):
            with open(doc, "w") as f:
                f.write(item)
            print("(document in %s)" % doc)
        else:
            print(item)
    return 0


if __name__ == "__main__":
    sys.exit(main())
