#!/usr/bin/python3
"""A real XMPP client running the gateway's ad-hoc commands (XEP-0050) with slixmpp's xep_0050 plugin.

usage: slixmpp_commands.py JID PASSWORD HOST PORT GATEWAY STEPS
STEPS is a JSON list; each step is {"list": true} (the command list from disco#items) or
{"run": NODE, "fields": {VAR: VALUE}} (execute; when the answer is a form and fields are given, submit them with
"complete"). Prints one JSON result per step. Certificate checks are off: the test servers' certificate is self-signed.
"""
import asyncio
import json
import ssl
import sys

import slixmpp
from slixmpp.plugins.xep_0004.stanza import Form
from slixmpp.exceptions import IqError, IqTimeout


def describe(iq):
    command = iq['command']
    # The received form itself: command['form'] would add an empty one where the plugin did not map it.
    x = command.xml.find('{jabber:x:data}x')
    form = Form(xml=x) if x is not None else Form()
    fields = {}
    found = form['fields']
    # A dict by name for a form, a list for a result form with a table.
    for var, field in (found.items() if hasattr(found, 'items') else [(f['var'], f) for f in found]):
        fields[var] = {'type': field['type'], 'value': field['value'],
                       'options': [option['value'] for option in field['options']]}
    return {
        'status': command['status'],
        'notes': [text for _, text in command['notes']],
        'fields': fields,
        'items': form['items'],
    }


class Controller(slixmpp.ClientXMPP):
    def __init__(self, jid, password, gateway, steps):
        super().__init__(jid, password)
        for plugin in ('xep_0030', 'xep_0004', 'xep_0050'):
            self.register_plugin(plugin)
        self.gateway, self.steps, self.results = gateway, steps, []
        self.add_event_handler('session_start', self.start)

    async def start(self, _):
        try:
            for step in self.steps:
                self.results.append(await self.run(step))
        finally:
            self.disconnect()

    async def run(self, step):
        adhoc = self['xep_0050']
        try:
            if step.get('list'):
                answer = await adhoc.get_commands(self.gateway, timeout=10)
                return {'commands': [node for _, node, _ in answer['disco_items']['items']]}
            first = await adhoc.send_command(self.gateway, step['run'], timeout=10)
            result = {'first': describe(first)}
            if first['command']['status'] == 'executing' and 'fields' in step:
                form = self['xep_0004'].make_form(ftype='submit')
                for var, value in step['fields'].items():
                    form.add_field(var=var, value=value)
                final = await adhoc.send_command(self.gateway, step['run'], action='complete', payload=form,
                                                 sessionid=first['command']['sessionid'], timeout=10)
                result['final'] = describe(final)
            return result
        except IqError as error:
            return {'error': error.iq['error']['condition']}
        except IqTimeout:
            return {'error': 'timeout'}


def main():
    jid, password, host, port, gateway, steps = sys.argv[1:7]
    controller = Controller(jid, password, gateway, json.loads(steps))
    controller.ssl_context.check_hostname = False
    controller.ssl_context.verify_mode = ssl.CERT_NONE
    controller.connect((host, int(port)))
    loop = asyncio.get_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(controller.disconnected, 60))
    except asyncio.TimeoutError:
        pass
    print(json.dumps(controller.results))
    return 0 if len(controller.results) == len(controller.steps) else 1


if __name__ == '__main__':
    sys.exit(main())
