#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the seed corpus of fuzz-varlink-server into corpus/varlink-server/ (run from anywhere; the
# files are committed, this is how they were made). A seed is a header (flags, three chunk sizes - 1:
# see fuzz-varlink-server.c) and what the client sends: every method of io.procwatch.varlink and
# org.varlink.service with valid parameters, then malformed calls.
import json
import os

NARROW, HIDEPID, NOBODY = 0x01, 0x02, 0x04
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'varlink-server')


def call(method, params=None, **kw):
    m = {'method': method}
    if params is not None:
        m['parameters'] = params
    m.update(kw)
    return json.dumps(m, separators=(',', ':')).encode() + b'\0'


def seed(name, body, flags=0, chunks=(0, 6, 254)):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes([flags, *chunks]) + body)


P = 'io.procwatch.'
S = 'org.varlink.service.'
seed('get-info', call(S + 'GetInfo'))
seed('get-interface-description', call(S + 'GetInterfaceDescription', {'interface': 'io.procwatch'}) +
     call(S + 'GetInterfaceDescription', {'interface': 'org.varlink.service'}))
seed('get-interface-description-too-big', call(S + 'GetInterfaceDescription', {'interface': 'io.procwatch'}),
     flags=NARROW)
seed('show-by-pid', call(P + 'Show', {'pid': 201}) + call(P + 'Show', {'pid': 202}) + call(P + 'Show', {'pid': 300}))
seed('show-by-id', call(P + 'Show', {'id': '300:150000000'}) + call(P + 'Show', {'id': '200:100000000', 'pid': 200}) +
     call(P + 'Show', {'id': '4294967297:1000000'}))
seed('show-hidden-as-nobody', call(P + 'Show', {'pid': 200}) + call(P + 'Show', {'pid': 201}),
     flags=HIDEPID | NOBODY)
seed('list', call(P + 'List'))
seed('list-filters', call(P + 'List', {'uid': 1000, 'state': 'alive'}) + call(P + 'List', {'comm': 'sleep'}) +
     call(P + 'List', {'unit': 'user@1000.service', 'state': 'exited'}) + call(P + 'List', {'state': 'all'}))
seed('list-narrow-hidepid', call(P + 'List'), flags=NARROW | HIDEPID | NOBODY, chunks=(2, 0, 40))
seed('tree', call(P + 'Tree') + call(P + 'Tree', {'include_exited': True}) +
     call(P + 'Tree', {'root': 100, 'depth': 1}) + call(P + 'Tree', {'root': 2, 'depth': 0}))
seed('tree-narrow', call(P + 'Tree', {'include_exited': True}), flags=NARROW)
seed('stats', call(P + 'Stats'))
seed('events', call(P + 'Events', more=True))
seed('events-filtered', call(P + 'Events', {'kinds': ['fork', 'exit', 'comm'], 'pid': 100, 'uid': 1000,
                                           'comm': 'sleep', 'unit': 'user@1000.service', 'threads': True},
                             more=True))
seed('events-narrow-nobody', call(P + 'Events', {'threads': True}, more=True) + b'ignored after\0',
     flags=NARROW | HIDEPID | NOBODY)
seed('events-without-more', call(P + 'Events') + call(P + 'Events', oneway=True, more=True))
seed('drop-retained', call(P + 'DropRetained') + call(P + 'List', {'state': 'exited'}))
seed('drop-retained-nobody', call(P + 'DropRetained'), flags=NOBODY)
seed('reload', call(P + 'Reload') + call(P + 'Reload'), flags=NOBODY)
seed('reload-root', call(P + 'Reload'))
seed('oneway', call(P + 'List', oneway=True) + call(P + 'Show', {'pid': 1}, oneway=True) +
     call(S + 'GetInfo'))
seed('pipelined-byte-chunks', call(S + 'GetInfo') + call(P + 'Stats') + call(P + 'Show', {'pid': 1}),
     chunks=(0, 0, 0))

# Malformed.
seed('bad-json', b'{"method":\0' + b'[1,2]\0' + b'"str"\0' + b'\0' + call(S + 'GetInfo'))
seed('bad-method', call('io.procwatch.Nope') + call('com.example.Thing') + call('') +
     b'{"method":5}\0' + b'{"parameters":{}}\0')
seed('bad-parameters', call(P + 'Show', {'pid': 'x'}) + call(P + 'Show', {'pid': -1}) + call(P + 'Show', {}) +
     call(P + 'List', {'state': 'zombie'}) + call(P + 'List', {'bogus': 1}) +
     call(P + 'Tree', {'depth': -1}) + call(P + 'Tree', {'root': 99999}) +
     call(P + 'Events', {'kinds': ['ack']}, more=True) + call(P + 'Events', {'kinds': 'fork'}, more=True))
seed('bad-call-fields', b'{"method":"io.procwatch.Stats","parameters":[]}\0' +
     b'{"method":"io.procwatch.Stats","oneway":1}\0' + b'{"method":"io.procwatch.Stats","more":"yes"}\0' +
     call(P + 'Stats', upgrade=True))
seed('deep', b'{"method":"io.procwatch.Stats","parameters":{"x":' + b'[' * 100 + b']' * 100 + b'}}\0',
     flags=NARROW)
seed('oversized', call(P + 'Show', {'id': 'x' * 2000}) + call(S + 'GetInfo'), flags=NARROW, chunks=(99, 199, 255))
seed('no-final-nul', call(S + 'GetInfo') + b'{"method":"io.procwatch.Stats"}')
seed('nul-in-string', b'{"method":"io.procwatch.Show","parameters":{"id":"1:1000000\\u0000x"}}\0' +
     b'{"method":"io.procwatch.List","parameters":{"comm":"\\udcff"}}\0')
seed('invalid-utf8', b'{"method":"io.procwatch.List","parameters":{"comm":"\xff\xfe"}}\0')
